//! Running jobs as leases, and the waiter (XREAD BLOCK on a connection of
//! its own).

use super::RedisQueue;
use super::entries::{Eid, entries, items, stream_entries, text};
use crate::error::Result;
use crate::queue::running;
use crate::queue::store::Waiter;
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use redis::{Connection, Value};
use std::time::Duration;

/// How long past its BLOCK time a waiter waits for the server's answer.
const LATE: Duration = Duration::from_secs(5);

/// Running jobs are a hash of their JSON (`STREAM:running`) with a lease
/// key each (`STREAM:lease:ID`, a TTL the wrapper renews); a dead job is
/// claimed by setting `STREAM:lost:ID` if absent: one reader on one host
/// wins, the others only tidy up.
impl running::Registry for RedisQueue {
    fn registered(&self, dl: Deadline) -> Result<Vec<Job>> {
        let _call = self.during(dl);
        let v = self.cmd(redis::cmd("HVALS").arg(self.key("running")))?;
        Ok(items(&v)
            .iter()
            .filter_map(text)
            .filter_map(|t| match serde_json::from_str(&t) {
                Ok(j) => Some(j),
                // Noted (the queue names it once) and skipped, as a bad
                // entry is.
                Err(e) => {
                    self.bad.note(
                        format!("{} {t}", self.key("running")),
                        format!("a running job that is not one ({e})"),
                    );
                    None
                }
            })
            .collect())
    }

    fn lease_expired(&self, job: &Job) -> Result<bool> {
        let lease = self.key(&format!("lease:{}", job.id));
        Ok(matches!(
            self.cmd(redis::cmd("EXISTS").arg(lease))?,
            Value::Int(0)
        ))
    }

    fn claim_each(
        &self,
        dl: Deadline,
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn running::Claim) -> Result<()>,
    ) -> Result<()> {
        let _call = self.during(dl);
        for job in dead {
            let won = self.cmd(
                redis::cmd("SET")
                    .arg(self.key(&format!("lost:{}", job.id)))
                    .arg(1)
                    .arg("NX")
                    .arg("EX")
                    .arg(7 * 86400),
            )?;
            if matches!(won, Value::Okay) {
                lost(&job, self)?;
            }
            self.cmd(redis::cmd("HDEL").arg(self.key("running")).arg(&job.id))?;
        }
        Ok(())
    }
}

impl running::Claim for RedisQueue {
    fn has_record(&self, id: &str) -> Result<bool> {
        let known = self.cmd(
            redis::cmd("HEXISTS")
                .arg(self.key("ids"))
                .arg(format!("id:{id}")),
        )?;
        Ok(!matches!(known, Value::Int(0)))
    }

    fn append(&self, rec: &Stored) -> Result<()> {
        self.add(std::slice::from_ref(rec))
    }
}

impl RedisQueue {
    pub(super) fn watch(&self, dl: Deadline) -> Result<Box<dyn Waiter + '_>> {
        let _call = self.during(dl);
        let mut conn = self.connect()?;
        let last = redis::cmd("XREVRANGE")
            .arg(&self.stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query::<Value>(&mut conn)
            .map_err(|e| self.failed("redis error on", e, dl))?;
        let last = entries(&last).first().map(|e| e.eid).unwrap_or_default();
        Ok(Box::new(RedisWaiter {
            q: self,
            conn: Some(conn),
            last,
            dl,
        }))
    }
}

/// Blocks in XREAD on its own connection until an entry newer than the
/// last one seen arrives; wakes every few seconds so that readers notice
/// expired leases.
pub(super) struct RedisWaiter<'a> {
    pub(super) q: &'a RedisQueue,
    /// None after a read that timed out: its answer may still come, so
    /// the next wait connects again.
    pub(super) conn: Option<Connection>,
    pub(super) last: Eid,
    /// The command's deadline.
    pub(super) dl: Deadline,
}

impl Waiter for RedisWaiter<'_> {
    fn wait(&mut self, deadline: Option<std::time::Instant>) -> Result<bool> {
        let cap = running::WAKE_CAP;
        let left = deadline.map_or(cap, |d| {
            d.saturating_duration_since(std::time::Instant::now())
                .min(cap)
        });
        if left.is_zero() {
            return Ok(false);
        }
        let _call = self.q.during(self.dl);
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(self.q.connect()?),
        };
        // The server answers BLOCK's end itself; a late answer is waited
        // for a while, but not half a second past the command's deadline
        // (a stopped server never answers).
        let late = self.dl.cap(left + LATE).max(left) + Duration::from_millis(500);
        let _ = conn.set_read_timeout(Some(late.min(left + LATE)));
        let r = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(left.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.q.stream)
            .arg(self.last.text())
            .query::<Value>(conn);
        let v = match r {
            Ok(v) => v,
            Err(e) => {
                self.conn = None;
                if (e.is_timeout() || e.is_io_error()) && self.dl.expired() {
                    return Ok(false);
                }
                return Err(self.q.failed("redis error on", e, self.dl));
            }
        };
        let got = stream_entries(&v);
        if let Some(max) = got.iter().map(|e| e.eid).max() {
            self.last = max;
        }
        Ok(!got.is_empty() || deadline.is_none_or(|d| std::time::Instant::now() < d))
    }
}
