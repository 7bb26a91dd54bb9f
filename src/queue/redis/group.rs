//! Consumer groups: what a group has delivered and acknowledged, the
//! entries a dead puller left pending, and a pull's selection.

use super::entries::{Eid, Entry, entries, items, stream_entries, text};
use super::{GROUP, RedisQueue};
use crate::error::Result;
use crate::queue::running;
use crate::queue::store::Taken;
use crate::record::Stored;
use redis::Value;
use std::collections::{HashMap, HashSet};

/// What the default group knows: which entries count as pulled.
pub(super) struct GroupState {
    pub(super) last: Eid,
    pub(super) pel: HashMap<Eid, String>,
    pub(super) acked: HashSet<Eid>,
}

impl GroupState {
    pub(super) fn pulled(&self, e: Eid) -> bool {
        self.acked.contains(&e) || (e <= self.last && !self.pel.contains_key(&e))
    }
}

impl RedisQueue {
    pub(super) fn ensure_group(&self, group: &str) -> Result<()> {
        let r = self.run(|c| {
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&self.stream)
                .arg(group)
                .arg("0")
                .arg("MKSTREAM")
                .query::<Value>(c)
        });
        match r {
            Err(e) if e.kind() == crate::error::Kind::Exists => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub(super) fn group_state(&self, group: &str) -> Result<GroupState> {
        let mut st = GroupState {
            last: Eid::default(),
            pel: HashMap::new(),
            acked: HashSet::new(),
        };
        let exists = self.cmd(redis::cmd("EXISTS").arg(&self.stream))?;
        if !matches!(exists, Value::Int(1)) {
            return Ok(st);
        }
        let groups = self.cmd(redis::cmd("XINFO").arg("GROUPS").arg(&self.stream))?;
        for g in items(&groups) {
            let fields: Vec<&Value> = match g {
                Value::Map(m) => m.iter().flat_map(|(k, v)| [k, v]).collect(),
                other => items(other).iter().collect(),
            };
            let mut name = None;
            let mut last = None;
            for kv in fields.chunks(2) {
                match text(kv[0]).as_deref() {
                    Some("name") => name = text(kv[1]),
                    Some("last-delivered-id") => last = text(kv[1]).and_then(|t| Eid::parse(&t)),
                    _ => {}
                }
            }
            if name.as_deref() == Some(group) {
                st.last = last.unwrap_or_default();
            }
        }
        // A group that does not exist yet has nothing pending.
        if let Ok(pel) = self.pending(group, 100_000) {
            st.pel = pel.into_iter().map(|(e, owner, _)| (e, owner)).collect();
        }
        if group == GROUP {
            let acked = self.cmd(redis::cmd("SMEMBERS").arg(self.key("acked")))?;
            st.acked = items(&acked)
                .iter()
                .filter_map(text)
                .filter_map(|t| Eid::parse(&t))
                .collect();
        }
        Ok(st)
    }

    /// A group's delivered-but-unacknowledged entries: id, consumer, idle ms.
    pub(super) fn pending(&self, group: &str, count: usize) -> Result<Vec<(Eid, String, u64)>> {
        let v = self.run(|c| {
            redis::cmd("XPENDING")
                .arg(&self.stream)
                .arg(group)
                .arg("-")
                .arg("+")
                .arg(count)
                .query::<Value>(c)
        })?;
        Ok(items(&v)
            .iter()
            .filter_map(|p| {
                let f = items(p);
                let id = Eid::parse(&f.first().and_then(text)?)?;
                let owner = f.get(1).and_then(text)?;
                let idle = f
                    .get(2)
                    .and_then(text)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                Some((id, owner, idle))
            })
            .collect())
    }

    pub(super) fn consumer() -> String {
        format!("{}:{}", running::host(), std::process::id())
    }

    /// Whether the consumer named "host:pid" is known to be gone.
    pub(super) fn consumer_gone(name: &str, idle_ms: u64) -> bool {
        match name.rsplit_once(':') {
            Some((host, pid)) if host == running::host() => match pid.parse::<u32>() {
                Ok(pid) => !crate::process::exists(pid),
                Err(_) => true,
            },
            _ => idle_ms >= running::puller_dead_after().as_millis() as u64,
        }
    }

    pub(super) fn select(&self, group: &str, limit: usize) -> Result<RedisTaken<'_>> {
        self.ensure_group(group)?;
        let me = Self::consumer();
        // Entries a dead puller left pending come first: they are older.
        let mut got: Vec<Entry> = Vec::new();
        let mut orphans = Vec::new();
        for (id, owner, idle) in self.pending(group, 1000)? {
            if owner == me || Self::consumer_gone(&owner, idle) {
                orphans.push(id.text());
            }
            if orphans.len() >= limit {
                break;
            }
        }
        if !orphans.is_empty() {
            let claimed = self.run(|c| {
                redis::cmd("XCLAIM")
                    .arg(&self.stream)
                    .arg(group)
                    .arg(&me)
                    .arg(0)
                    .arg(&orphans)
                    .query::<Value>(c)
            })?;
            got.extend(entries(&claimed));
        }
        if got.len() < limit {
            let count = (limit - got.len()).min(10_000);
            let v = self.run(|c| {
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(group)
                    .arg(&me)
                    .arg("COUNT")
                    .arg(count)
                    .arg("STREAMS")
                    .arg(&self.stream)
                    .arg(">")
                    .query::<Value>(c)
            })?;
            got.extend(stream_entries(&v));
        }
        got.sort_by_key(|e| e.eid);
        // Entries acknowledged by id before any pull delivered them.
        let acked: HashSet<Eid> = if group == GROUP && !got.is_empty() {
            let v = self.cmd(redis::cmd("SMEMBERS").arg(self.key("acked")))?;
            items(&v)
                .iter()
                .filter_map(text)
                .filter_map(|t| Eid::parse(&t))
                .collect()
        } else {
            HashSet::new()
        };
        let batch: Vec<Stored> = got
            .iter()
            .filter(|e| !acked.contains(&e.eid))
            .filter_map(|e| {
                Stored::from_store(e.line.clone(), false)
                    .map_err(|why| self.bad.note(format!("entry {}", e.eid.text()), why))
                    .ok()
            })
            .collect();
        Ok(RedisTaken {
            q: self,
            group: group.to_string(),
            eids: got.iter().map(|e| e.eid.text()).collect(),
            batch,
        })
    }
}

/// A pull's entries: read into the group, acknowledged by the mark.
pub(super) struct RedisTaken<'a> {
    q: &'a RedisQueue,
    group: String,
    /// Every entry read, records or not: all are acknowledged.
    eids: Vec<String>,
    batch: Vec<Stored>,
}

impl Taken for RedisTaken<'_> {
    fn records(&self) -> &[Stored] {
        &self.batch
    }

    fn mark(self: Box<Self>) -> Result<()> {
        if self.eids.is_empty() {
            return Ok(());
        }
        let mut p = redis::pipe();
        p.atomic()
            .cmd("XACK")
            .arg(&self.q.stream)
            .arg(&self.group)
            .arg(&self.eids)
            .ignore();
        if self.group == GROUP {
            p.cmd("SREM")
                .arg(self.q.key("acked"))
                .arg(&self.eids)
                .ignore();
        }
        self.q.run(|c| p.query::<()>(c))
    }
}
