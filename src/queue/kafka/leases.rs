//! Running jobs on Kafka: leases in the side topic `TOPIC-cq-running`, and
//! the claim by which exactly one reader, on any host, writes a dead job's
//! `"lost":true` record.

use super::{KafkaQueue, Msg};
use crate::error::Result;
use crate::queue::{Job, running};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
    2 * running::lease_ttl().as_millis() as u64
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

    /// Turns jobs whose wrapper is gone into lost records, once; returns
    /// the jobs still running.
    pub(super) fn reap(&self) -> Result<Vec<Job>> {
        let states = self.leases()?;
        let now = now_ms();
        let boot = running::this_boot();
        let mut alive = Vec::new();
        let mut dead: Vec<&Lease> = Vec::new();
        for s in states.values() {
            match s {
                LeaseState::Running(l) => {
                    let expired = || Ok::<_, std::convert::Infallible>(now > l.until_ms);
                    match l.job.is_gone(boot.as_deref(), expired) {
                        Ok(true) => dead.push(l),
                        _ => alive.push(l.job.clone()),
                    }
                }
                LeaseState::Claimed(l) if now > l.claimed_ms + stale_ms() => dead.push(l),
                LeaseState::Claimed(_) => {}
            }
        }
        if dead.is_empty() {
            return Ok(alive);
        }
        let topic = self.lease_topic();
        // A wrapper killed after writing its record only needs tidying.
        let known: HashSet<String> = self
            .scan(None, false)?
            .0
            .into_iter()
            .filter_map(|(_, s)| s.view.id)
            .collect();
        let mut claims = Vec::new();
        for l in &dead {
            if known.contains(&l.job.id) {
                self.produce(&topic, &[(l.job.id.as_str(), None)])?;
                continue;
            }
            let claim = Lease {
                job: l.job.clone(),
                until_ms: l.until_ms,
                claim: Some(self.me.clone()),
                claimed_ms: now,
            };
            let body = serde_json::to_vec(&claim).expect("a lease always serialises");
            self.produce(&topic, &[(l.job.id.as_str(), Some(&body))])?;
            claims.push(l.job.id.clone());
        }
        if claims.is_empty() {
            return Ok(alive);
        }
        let after = self.leases()?;
        for id in claims {
            let Some(LeaseState::Claimed(l)) = after.get(&id) else {
                continue;
            };
            if l.claim.as_deref() != Some(self.me.as_str()) || l.claimed_ms != now {
                continue; // another reader's claim came first
            }
            // A claim can come after an earlier winner's end: look again.
            let written = self
                .scan(None, false)?
                .0
                .iter()
                .any(|(_, s)| s.view.id.as_deref() == Some(id.as_str()));
            if !written {
                self.ensure_topic(&self.url.topic, false)?;
                let line = l.job.lost_record().to_line();
                let body = line.trim_end().as_bytes();
                self.produce(&self.url.topic, &[(l.job.name.as_str(), Some(body))])?;
            }
            self.produce(&topic, &[(id.as_str(), None)])?;
        }
        Ok(alive)
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
