//! Running jobs as leases, and the waiter (XREAD BLOCK on a connection of
//! its own).

use super::RedisQueue;
use super::entries::{Eid, items, stream_entries, text};
use crate::error::Result;
use crate::queue::running;
use crate::queue::store::Waiter;
use crate::record::{Job, Stored};
use redis::{Connection, Value};
use std::time::Duration;

/// Running jobs are a hash of their JSON (`STREAM:running`) with a lease
/// key each (`STREAM:lease:ID`, a TTL the wrapper renews); a dead job is
/// claimed by setting `STREAM:lost:ID` if absent: one reader on one host
/// wins, the others only tidy up.
impl running::Registry for RedisQueue {
    fn registered(&self) -> Result<Vec<Job>> {
        let v = self.cmd(redis::cmd("HVALS").arg(self.key("running")))?;
        Ok(items(&v)
            .iter()
            .filter_map(text)
            .filter_map(|t| match serde_json::from_str(&t) {
                Ok(j) => Some(j),
                // Said once and skipped, as a bad line of a file queue is.
                Err(e) => {
                    crate::error::warn_once(
                        &format!("redis running {t}"),
                        &format!(
                            "{}: a running job that is not one ({e}); skipped",
                            self.key("running")
                        ),
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
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn running::Claim) -> Result<()>,
    ) -> Result<()> {
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

/// Blocks in XREAD on its own connection until an entry newer than the
/// last one seen arrives; wakes every few seconds so that readers notice
/// expired leases.
pub(super) struct RedisWaiter<'a> {
    pub(super) q: &'a RedisQueue,
    pub(super) conn: Connection,
    pub(super) last: Eid,
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
        let _ = self
            .conn
            .set_read_timeout(Some(left + Duration::from_secs(5)));
        let v = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(left.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.q.stream)
            .arg(self.last.text())
            .query::<Value>(&mut self.conn)
            .map_err(|e| self.q.fail("redis error on", e))?;
        let got = stream_entries(&v);
        if let Some(max) = got.iter().map(|e| e.eid).max() {
            self.last = max;
        }
        Ok(!got.is_empty() || deadline.is_none_or(|d| std::time::Instant::now() < d))
    }
}
