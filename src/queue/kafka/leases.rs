//! Running jobs on Kafka: leases in the side topic `TOPIC-cq-running`, and
//! the claim by which exactly one reader, on any host, writes a dead job's
//! `"lost":true` record.

use super::msg::Msg;
use super::queue::KafkaQueue;
use crate::error::Result;
use crate::queue::running;
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One entry of the running-jobs topic.
#[derive(Serialize, Deserialize)]
struct Lease {
    job: Job,
    /// Wall-clock ms after which, without renewal, the wrapper is gone.
    until_ms: u64,
    /// Set on a reader's claim to write the job's lost record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
    #[serde(default)]
    claimed_ms: u64,
}

enum LeaseState {
    Running(Lease),
    Claimed(Lease),
}

/// The running-jobs log, in its order, as each job's state: the first
/// claim after a lease wins; a renewal cannot undo it; a claim older than
/// `stale_ms` (its claimer died before writing) may be taken over; a
/// tombstone ends the job. Every reader folds the same log the same way,
/// which is what makes one claim the winner everywhere.
fn fold(msgs: Vec<Msg>, stale_ms: u64) -> HashMap<String, LeaseState> {
    let mut state: HashMap<String, LeaseState> = HashMap::new();
    for m in msgs {
        let Some(v) = m.value else {
            if let Some(k) = m.key {
                state.remove(String::from_utf8_lossy(&k).as_ref());
            }
            continue;
        };
        let Ok(l) = serde_json::from_slice::<Lease>(&v) else {
            continue;
        };
        let id = l.job.id.clone();
        let next = match (state.remove(&id), &l.claim) {
            (None | Some(LeaseState::Running(_)), None) => LeaseState::Running(l),
            (Some(LeaseState::Claimed(c)), None) => LeaseState::Claimed(c),
            (None | Some(LeaseState::Running(_)), Some(_)) => LeaseState::Claimed(l),
            (Some(LeaseState::Claimed(c)), Some(_)) => {
                if l.claimed_ms > c.claimed_ms + stale_ms {
                    LeaseState::Claimed(l)
                } else {
                    LeaseState::Claimed(c)
                }
            }
        };
        state.insert(id, next);
    }
    state
}

/// How old a claim must be before another reader may take it over: its
/// claimer died between claiming and writing.
fn stale_ms() -> u64 {
    running::claim_stale_after().as_millis() as u64
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl KafkaQueue {
    /// The running-jobs topic folded into each job's state.
    fn leases(&self) -> Result<HashMap<String, LeaseState>> {
        let topic = self.lease_topic();
        let Some(parts) = self.partitions(&topic)? else {
            return Ok(HashMap::new());
        };
        let c = self.reader()?;
        let starts = parts.iter().map(|&p| (p, 0)).collect();
        let (msgs, _) = self.read(c, &topic, &starts)?;
        Ok(fold(msgs, stale_ms()))
    }

    pub(super) fn put_lease(&self, job: &Job) -> Result<()> {
        let l = Lease {
            job: job.clone(),
            until_ms: now_ms() + running::lease_ttl().as_millis() as u64,
            claim: None,
            claimed_ms: 0,
        };
        let body = serde_json::to_vec(&l).expect("a lease always serialises");
        self.produce(&self.lease_topic(), &[(job.id.as_str(), Some(&body))])
            .map(|_| ())
    }
}

/// A dead job is claimed by producing a claim to the lease topic and
/// reading it back: the first claim in the partition's order wins on every
/// reader and host (see [`fold`]); the winner's tombstone unregisters it.
impl running::Registry for KafkaQueue {
    /// Jobs with a lease, and jobs whose claimer died before finishing
    /// (a stale claim: theirs to take over). A job freshly claimed is
    /// being turned into its lost record and is not listed.
    fn registered(&self, dl: Deadline) -> Result<Vec<Job>> {
        self.during(dl);
        let now = now_ms();
        let mut leased = self.leased.borrow_mut();
        leased.clear();
        let mut jobs = Vec::new();
        for s in self.leases()?.into_values() {
            match s {
                LeaseState::Running(l) => {
                    leased.insert(l.job.id.clone(), l.until_ms);
                    jobs.push(l.job);
                }
                LeaseState::Claimed(l) if now > l.claimed_ms + stale_ms() => {
                    leased.insert(l.job.id.clone(), 0);
                    jobs.push(l.job);
                }
                LeaseState::Claimed(_) => {}
            }
        }
        Ok(jobs)
    }

    fn lease_expired(&self, job: &Job) -> Result<bool> {
        Ok(self
            .leased
            .borrow()
            .get(&job.id)
            .is_some_and(|&until| now_ms() > until))
    }

    fn claim_each(
        &self,
        dl: Deadline,
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn running::Claim) -> Result<()>,
    ) -> Result<()> {
        self.during(dl);
        let topic = self.lease_topic();
        let now = now_ms();
        for job in &dead {
            let claim = Lease {
                job: job.clone(),
                until_ms: 0,
                claim: Some(self.me.clone()),
                claimed_ms: now,
            };
            let body = serde_json::to_vec(&claim).expect("a lease always serialises");
            self.produce(&topic, &[(job.id.as_str(), Some(&body))])?;
        }
        let after = self.leases()?;
        for job in &dead {
            let Some(LeaseState::Claimed(l)) = after.get(&job.id) else {
                continue;
            };
            if l.claim.as_deref() != Some(self.me.as_str()) || l.claimed_ms != now {
                continue; // another reader's claim came first
            }
            lost(job, self)?;
            self.produce(&topic, &[(job.id.as_str(), None)])?;
        }
        Ok(())
    }
}

impl running::Claim for KafkaQueue {
    /// A claim can come after an earlier winner's end, or after the
    /// wrapper appended and died: look at the records.
    fn has_record(&self, id: &str) -> Result<bool> {
        Ok(self
            .records_from(None, false)?
            .0
            .iter()
            .any(|(_, s)| s.view.id.as_deref() == Some(id)))
    }

    fn append(&self, rec: &Stored) -> Result<()> {
        self.add(std::slice::from_ref(rec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> Job {
        Job {
            id: id.into(),
            name: "n".into(),
            host: "h".into(),
            pid: 1,
            pid_start: None,
            boot_id: None,
            started_at: "2026-01-01T00:00:00Z".into(),
            command: vec![],
            cwd: "/".into(),
            output_dir: "/".into(),
            meta: Default::default(),
            log: None,
            session: None,
        }
    }

    fn msg(id: &str, claim: Option<&str>, at: u64) -> Msg {
        let l = Lease {
            job: job(id),
            until_ms: 100,
            claim: claim.map(String::from),
            claimed_ms: at,
        };
        Msg {
            part: 0,
            offset: 0,
            key: Some(id.as_bytes().to_vec()),
            value: Some(serde_json::to_vec(&l).unwrap()),
        }
    }

    fn claimer(s: &HashMap<String, LeaseState>, id: &str) -> Option<String> {
        match s.get(id)? {
            LeaseState::Claimed(l) => l.claim.clone(),
            LeaseState::Running(_) => Some("running".into()),
        }
    }

    #[test]
    fn the_first_claim_wins_everywhere() {
        let log = || {
            vec![
                msg("j", None, 0),
                msg("j", Some("a"), 200),
                msg("j", Some("b"), 201),
                msg("j", None, 0), // a late renewal cannot undo a claim
            ]
        };
        assert_eq!(claimer(&fold(log(), 1000), "j").as_deref(), Some("a"));
        // A claim long after the first (whose claimer died) takes over.
        let mut l = log();
        l.push(msg("j", Some("c"), 5000));
        assert_eq!(claimer(&fold(l, 1000), "j").as_deref(), Some("c"));
        // A tombstone ends the job.
        let mut l = log();
        l.push(Msg {
            part: 0,
            offset: 0,
            key: Some(b"j".to_vec()),
            value: None,
        });
        assert!(fold(l, 1000).is_empty());
        assert_eq!(
            claimer(&fold(vec![msg("k", None, 0)], 1000), "k").as_deref(),
            Some("running")
        );
    }
}
