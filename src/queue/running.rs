//! Running jobs: what `cq wrap` registers while CMD runs, and how a reader
//! tells that the wrapper is gone (SIGKILL, reboot) so the job becomes a
//! `"lost":true` failure record instead of a wait that never ends.

use crate::error::Result;
pub use crate::process::{host, proc_start, this_boot};
pub use crate::record::Job;
use crate::record::NewRecord;
use crate::watch::Deadline;

impl Job {
    /// Whether the wrapper is known to be gone. Jobs of other hosts cannot
    /// be checked from here and count as alive.
    pub fn is_dead(&self, host: &str, boot: Option<&str>) -> bool {
        if self.host != host {
            return false;
        }
        if let (Some(a), Some(b)) = (self.boot_id.as_deref(), boot)
            && a != b
        {
            return true;
        }
        match proc_start(self.pid) {
            None => true,
            Some(start) => self.pid_start.is_some_and(|s| s != start),
        }
    }

    /// The networked tiers' rule: on the wrapper's own host its process
    /// decides; elsewhere a pid means nothing, and the lease decides
    /// (`lease_expired` is asked only then).
    pub fn is_gone<E>(
        &self,
        boot: Option<&str>,
        lease_expired: impl FnOnce() -> std::result::Result<bool, E>,
    ) -> std::result::Result<bool, E> {
        if self.host == host() {
            Ok(self.is_dead(host(), boot))
        } else {
            lease_expired()
        }
    }
}

/// A tier's store of running jobs, as the lost-record rule ([`reap`]) needs
/// it: primitives only, no rule.
pub trait Registry {
    /// The jobs registered as running.
    fn registered(&self, dl: Deadline) -> Result<Vec<Job>>;
    /// Whether the lease of a job of another host expired. Tiers without
    /// leases (a file, a database on one machine) cannot tell: false.
    fn lease_expired(&self, job: &Job) -> Result<bool> {
        let _ = job;
        Ok(false)
    }
    /// For each of `dead`, once among every reader on every host (the
    /// tier's exclusion: a lock, a transaction, a set-if-absent key, the
    /// first claim in a log's order): if the job is still registered, calls
    /// `lost` with the job and a [`Claim`] on the store, then unregisters
    /// the job.
    fn claim_each(
        &self,
        dl: Deadline,
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn Claim) -> Result<()>,
    ) -> Result<()>;
}

/// What the winner of a dead job's claim may do, inside the claim.
pub trait Claim {
    /// Whether a record with this id is stored (the wrapper appended its
    /// record, then died before unregistering).
    fn has_record(&self, id: &str) -> Result<bool>;
    /// Appends a record, durably.
    fn append(&self, rec: &crate::record::Stored) -> Result<()>;
}

/// The lost-record rule, the same on every tier: a job whose wrapper is
/// gone (on its own host: no such process, another start time or another
/// boot; elsewhere: its lease expired) becomes exactly one `"lost":true`
/// failure record, unless its real record is already there, and is no
/// longer running. Returns the jobs still running (one read of the
/// registry serves both).
pub fn reap(r: &dyn Registry, dl: Deadline) -> Result<Vec<Job>> {
    let boot = this_boot();
    let (mut dead, mut alive) = (Vec::new(), Vec::new());
    for job in r.registered(dl)? {
        if job.is_gone(boot.as_deref(), || r.lease_expired(&job))? {
            dead.push(job);
        } else {
            alive.push(job);
        }
    }
    if !dead.is_empty() {
        r.claim_each(dl, dead, &mut |job, claim| {
            if !claim.has_record(&job.id)? {
                claim.append(&crate::record::Stored::parse(
                    &NewRecord::lost(job).to_line(),
                )?)?;
            }
            Ok(())
        })?;
    }
    Ok(alive)
}

/// How often a wrapper renews its job's lease: three times a TTL, so one
/// or two lost renewals do not make a live job look dead.
pub fn renew_every() -> std::time::Duration {
    lease_ttl() / 3
}

/// When a puller of another host that holds delivered entries counts as
/// dead (a pid there means nothing here; only time tells): four TTLs.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub fn puller_dead_after() -> std::time::Duration {
    lease_ttl() * 4
}

/// When a claim to write a dead job's lost record counts as abandoned (its
/// claimer died before writing it) and may be taken over: two TTLs.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub fn claim_stale_after() -> std::time::Duration {
    lease_ttl() * 2
}

/// The longest a waiter on a networked tier sleeps before it looks again
/// (readers must notice expired leases, which no message announces).
#[cfg_attr(not(any(feature = "redis", feature = "kafka")), allow(dead_code))]
pub const WAKE_CAP: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a running job's lease lives on the networked tiers without
/// renewal (the wrapper renews at a third of it): `$CQ_LEASE_TTL` as a
/// duration, else 15 s. Longer tolerates slower networks; shorter turns a
/// killed wrapper on another host into its lost record sooner.
#[cfg_attr(not(any(feature = "redis", feature = "kafka")), allow(dead_code))]
pub fn lease_ttl() -> std::time::Duration {
    crate::config::get()
        .lease_ttl
        .unwrap_or(std::time::Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(pid: u32, host: &str) -> Job {
        Job {
            id: "i".into(),
            name: "n".into(),
            host: host.into(),
            pid,
            pid_start: proc_start(pid),
            boot_id: this_boot(),
            started_at: "2026-01-01T00:00:00Z".into(),
            command: vec![],
            cwd: "/".into(),
            output_dir: "/".into(),
            meta: serde_json::Map::new(),
            log: None,
            session: None,
        }
    }

    /// The rule over an in-memory registry: only dead jobs are claimed,
    /// a job whose record is stored gets no lost record, and the others
    /// exactly one each. (Every tier's own registry runs under the same
    /// rule in tests/tiers.rs, against real stores.)
    #[test]
    fn reap_writes_one_lost_record_per_dead_job_without_one() {
        use std::cell::RefCell;
        struct Mem {
            jobs: RefCell<Vec<Job>>,
            records: RefCell<Vec<String>>,
        }
        impl Registry for Mem {
            fn registered(&self, _dl: Deadline) -> Result<Vec<Job>> {
                Ok(self.jobs.borrow().clone())
            }
            fn claim_each(
                &self,
                _dl: Deadline,
                dead: Vec<Job>,
                lost: &mut dyn FnMut(&Job, &dyn Claim) -> Result<()>,
            ) -> Result<()> {
                for j in dead {
                    lost(&j, self)?;
                    self.jobs.borrow_mut().retain(|k| k.id != j.id);
                }
                Ok(())
            }
        }
        impl Claim for Mem {
            fn has_record(&self, id: &str) -> Result<bool> {
                Ok(self.records.borrow().iter().any(|r| r.contains(id)))
            }
            fn append(&self, rec: &crate::queue::Stored) -> Result<()> {
                self.records
                    .borrow_mut()
                    .push(String::from_utf8_lossy(&rec.line).into_owned());
                Ok(())
            }
        }
        let here = host();
        let mut alive = job(std::process::id(), here);
        alive.id = "alive".into();
        let mut dead = job(u32::MAX - 1, here);
        dead.id = "dead".into();
        let mut recorded = job(u32::MAX - 1, here);
        recorded.id = "recorded".into();
        let mut remote = job(u32::MAX - 1, "another-host");
        remote.id = "remote".into();
        let mem = Mem {
            jobs: RefCell::new(vec![alive, dead, recorded, remote]),
            records: RefCell::new(vec!["{\"id\":\"recorded\"}".into()]),
        };
        let alive: Vec<String> = reap(&mem, Deadline::default())
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(alive, ["alive", "remote"]);
        reap(&mem, Deadline::default()).unwrap();
        let recs = mem.records.borrow();
        assert_eq!(recs.len(), 2, "{recs:?}");
        assert!(recs[1].contains("\"id\":\"dead\"") && recs[1].contains("\"lost\":true"));
        let left: Vec<String> = mem.jobs.borrow().iter().map(|j| j.id.clone()).collect();
        // Without leases another host's job cannot be judged: it stays.
        assert_eq!(left, ["alive", "remote"]);
    }

    #[test]
    fn liveness() {
        let boot = this_boot();
        let me = job(std::process::id(), "h");
        assert!(!me.is_dead("h", boot.as_deref()));
        assert!(
            !me.is_dead("other", boot.as_deref()),
            "other hosts count as alive"
        );
        let mut reused = me.clone();
        reused.pid_start = Some(1);
        assert!(reused.is_dead("h", boot.as_deref()));
        let mut rebooted = me.clone();
        rebooted.boot_id = Some("another-boot".into());
        assert!(rebooted.is_dead("h", boot.as_deref()));
        assert!(job(u32::MAX - 1, "h").is_dead("h", boot.as_deref()));
    }
}
