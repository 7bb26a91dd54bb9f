//! The Redis Streams tier (`redis://…?stream=NAME`, `rediss://` for TLS):
//! the rubric's "thousands per second" row, and machines on a network.
//!
//! Each record is one stream entry (`XADD`) with fields `id`, `name` and
//! `record` (the JSON line cq wrote, `"pulled":false`). "Pulled" means
//! acknowledged by the default consumer group, `cq`: a pull is
//! `XREADGROUP` + print + `XACK` (at-least-once), and entries a killed
//! puller left pending are claimed back (`XCLAIM`) as soon as its process is
//! known dead (same host) or after four lease TTLs (another host). `cq ack ID` of an
//! entry not yet delivered notes it in `STREAM:acked`, which pulls honour.
//! `--group NAME` reads as an independent group. Side keys: `STREAM:ids`
//! (record id → its first entry id, also what makes `cq migrate`
//! idempotent), `STREAM:more` (record id → its later entries, for the
//! rare id that has several: a lost record and its wrapper's real one),
//! `STREAM:running` (jobs whose wrapper runs) and `STREAM:lease:ID` (renewed
//! by the wrapper, with a TTL), `STREAM:lost:ID` (set-if-absent: which reader
//! writes a dead job's lost record, once across all hosts).

mod conn;
mod entries;
mod group;
mod jobs;
mod url;

use crate::watch::Deadline;
use entries::{Eid, bytes, entries, items, text};

pub use url::Url;

use super::running;
use super::store::{CompactReport, Decided, Mark, Tier, Waiter};
use super::store::{Found, Hit, Pos, Scan, Store, Taken};
use crate::error::{Error, Result};
use crate::record::{self, View};
use crate::record::{Job, Stored};
use redis::{Connection, Value};
use std::cell::RefCell;
use std::collections::HashSet;

pub(super) const GROUP: &str = "cq";

/// Appends one record and indexes it, atomically: the entry (fields `id`,
/// `name`, `record`), its identity's first entry in `STREAM:ids` or, when
/// that is taken, its place in the identity's list in `STREAM:more`, and
/// `STREAM:acked` for a record given as pulled.
const APPEND_SCRIPT: &str = r#"
local eid = redis.call('XADD', KEYS[1], '*', 'id', ARGV[2], 'name', ARGV[3], 'record', ARGV[4])
if redis.call('HSETNX', KEYS[2], ARGV[1], eid) == 0 then
  local cur = redis.call('HGET', KEYS[3], ARGV[1])
  if cur then cur = cur .. ' ' .. eid else cur = eid end
  redis.call('HSET', KEYS[3], ARGV[1], cur)
end
if ARGV[5] == '1' then redis.call('SADD', KEYS[4], eid) end
return eid
"#;

pub struct RedisQueue {
    url: Url,
    shown: String,
    stream: String,
    conn: RefCell<Option<Connection>>,
    /// The deadline of the store call in progress (see `during`).
    call: std::cell::Cell<Deadline>,
    bad: super::bad::BadEntries,
}

impl RedisQueue {
    pub fn new(url: Url) -> Self {
        Self {
            shown: url.shown(),
            stream: url.stream.clone(),
            url,
            conn: RefCell::new(None),
            call: Default::default(),
            bad: Default::default(),
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.stream)
    }

    /// Appends records, none skipped: a wrapper whose lease expired
    /// appends its job's real record after the lost one, with the same id,
    /// and both are delivered. `STREAM:ids` maps an id to its first entry
    /// (what `cq migrate` and the lost-record claim ask: is it here?);
    /// later entries of the id go to `STREAM:more` (entry ids, oldest
    /// first), so that `find` sees every entry of an id. Each entry and its
    /// index are written by one script, in one transaction per slice: a
    /// writer killed midway leaves no entry that `find` cannot see.
    fn add(&self, recs: &[Stored]) -> Result<()> {
        for chunk in recs.chunks(500) {
            let mut p = redis::pipe();
            p.atomic();
            for s in chunk {
                p.cmd("EVAL")
                    .arg(APPEND_SCRIPT)
                    .arg(4)
                    .arg(&self.stream)
                    .arg(self.key("ids"))
                    .arg(self.key("more"))
                    .arg(self.key("acked"))
                    .arg(s.identity())
                    .arg(s.view.id.as_deref().unwrap_or(""))
                    .arg(&s.view.name)
                    .arg(record::pending_form(&s.line))
                    .arg(if s.view.pulled() == record::Pulled::Yes {
                        "1"
                    } else {
                        "0"
                    })
                    .ignore();
            }
            self.run(|c| p.query::<()>(c))?;
        }
        Ok(())
    }

    /// Every entry of each identity still in the stream, oldest first.
    fn entries_of(&self, identities: &[String]) -> Result<Vec<Vec<Eid>>> {
        if identities.is_empty() {
            return Ok(Vec::new());
        }
        let first = self.cmd(redis::cmd("HMGET").arg(self.key("ids")).arg(identities))?;
        let more = self.cmd(redis::cmd("HMGET").arg(self.key("more")).arg(identities))?;
        Ok(items(&first)
            .iter()
            .zip(items(&more).iter().chain(std::iter::repeat(&Value::Nil)))
            .map(|(f, m)| {
                let mut all: Vec<Eid> = text(f).and_then(|t| Eid::parse(&t)).into_iter().collect();
                if let Some(m) = text(m) {
                    all.extend(m.split_whitespace().filter_map(Eid::parse));
                }
                all
            })
            .collect())
    }

    /// Trims the stream through `last`, and forgets the trimmed entries'
    /// index keys and acknowledged marks. An id whose later entries stay
    /// keeps them findable: the first that stays becomes its first.
    fn trim_through(&self, last: Eid, ids: &[String], eids: &[String]) -> Result<()> {
        // Up to the last entry the scan judged removable, never by length:
        // an entry pushed after the scan has a greater id and stays (MAXLEN
        // 0 here once deleted a push that had exited 0).
        let Eid(ms, seq) = last;
        let below = Eid(ms, seq + 1).text();
        self.cmd(
            redis::cmd("XTRIM")
                .arg(&self.stream)
                .arg("MINID")
                .arg(below),
        )?;
        let all = self.entries_of(ids)?;
        let mut p = redis::pipe();
        p.atomic();
        for (id, entries) in ids.iter().zip(all) {
            let left: Vec<String> = entries
                .into_iter()
                .filter(|e| *e > last)
                .map(|e| e.text())
                .collect();
            match left.split_first() {
                None => {
                    p.cmd("HDEL").arg(self.key("ids")).arg(id).ignore();
                    p.cmd("HDEL").arg(self.key("more")).arg(id).ignore();
                }
                Some((first, rest)) => {
                    p.cmd("HSET")
                        .arg(self.key("ids"))
                        .arg(id)
                        .arg(first)
                        .ignore();
                    if rest.is_empty() {
                        p.cmd("HDEL").arg(self.key("more")).arg(id).ignore();
                    } else {
                        p.cmd("HSET")
                            .arg(self.key("more"))
                            .arg(id)
                            .arg(rest.join(" "))
                            .ignore();
                    }
                }
            }
        }
        p.cmd("SREM").arg(self.key("acked")).arg(eids).ignore();
        self.run(|c| p.query::<()>(c))?;
        Ok(())
    }

    fn entries_from(
        &self,
        from: Eid,
        pending_only: bool,
        mut f: impl FnMut(Eid, Stored) -> Result<bool>,
    ) -> Result<Eid> {
        let st = self.group_state(GROUP)?;
        let mut start = if from == Eid::default() {
            "-".to_string()
        } else {
            format!("({}", from.text())
        };
        if pending_only && from == Eid::default() {
            // Nothing before the oldest entry still pending can be pending.
            let first = st
                .pel
                .keys()
                .min()
                .copied()
                .unwrap_or(Eid(u64::MAX, 0))
                .min(Eid(st.last.0, st.last.1 + 1));
            start = first.text();
        }
        let mut last = from;
        loop {
            let v = self.cmd(
                redis::cmd("XRANGE")
                    .arg(&self.stream)
                    .arg(&start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(1000),
            )?;
            let es = entries(&v);
            if es.is_empty() {
                return Ok(last);
            }
            for e in &es {
                last = e.eid;
                let pulled = st.pulled(e.eid);
                if pending_only && pulled {
                    continue;
                }
                match Stored::from_store(e.line.clone(), pulled) {
                    Ok(s) => {
                        if !f(e.eid, s)? {
                            return Ok(last);
                        }
                    }
                    Err(why) => self.bad.note(format!("entry {}", e.eid.text()), why),
                }
            }
            start = format!("({}", last.text());
        }
    }
}

impl Store for RedisQueue {
    fn bad_entries(&self) -> Vec<super::bad::Bad> {
        self.bad.take()
    }

    fn side_files(&self) -> Vec<String> {
        let s = &self.stream;
        vec![
            format!("{s}:ids, {s}:more (records by id), {s}:acked (acknowledged before delivery)"),
            format!("{s}:running, {s}:lease:ID, {s}:lost:ID (running jobs and their leases)"),
            format!("{s}:facts (what cq pull --exec knows: attempts, dead letters)"),
        ]
    }

    fn tier(&self) -> Tier {
        Tier::Redis
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn check_writable(&self) -> Result<()> {
        match self.cmd(&mut redis::cmd("PING"))? {
            Value::SimpleString(_) | Value::Okay | Value::BulkString(_) => Ok(()),
            other => Err(self.fail("unexpected reply from", format!("{other:?}"))),
        }
    }

    fn append(&self, dl: Deadline, recs: &[Stored]) -> Result<()> {
        let _call = self.during(dl);
        self.add(recs)
    }

    fn scan(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        pending_hint: bool,
        each: &mut Scan,
    ) -> Result<Mark> {
        let _call = self.during(dl);
        let from = from.and_then(|Mark(m)| Eid::parse(m)).unwrap_or_default();
        let last = self.entries_from(from, pending_hint, |_, s| each(s))?;
        Ok(Mark(last.text()))
    }

    fn take(&self, dl: Deadline, group: Option<&str>, limit: usize) -> Result<Box<dyn Taken + '_>> {
        let _call = self.during(dl);
        let group = match group {
            None => GROUP,
            Some(g) => g,
        };
        Ok(Box::new(self.select(group, limit)?))
    }

    fn find(&self, dl: Deadline, ids: &[String], _: Decided) -> Result<Box<dyn Found + '_>> {
        let _call = self.during(dl);
        let mut asked = HashSet::new();
        let ids: Vec<&String> = ids.iter().filter(|i| asked.insert(*i)).collect();
        let keys: Vec<String> = ids.iter().map(|i| format!("id:{i}")).collect();
        let all = self.entries_of(&keys)?;
        let st = self.group_state(GROUP)?;
        let mut hits: Vec<Hit> = Vec::new();
        let mut delivered = HashSet::new();
        for (id, entries) in ids.into_iter().zip(all) {
            for e in entries {
                if st.pel.contains_key(&e) {
                    delivered.insert(e);
                }
                hits.push(Hit {
                    pos: Pos(e.0, e.1),
                    id: id.clone(),
                    pulled: st.pulled(e),
                });
            }
        }
        // An entry id is its place in the stream: store order.
        hits.sort_by_key(|h| h.pos);
        Ok(Box::new(RedisFound {
            q: self,
            hits,
            delivered,
        }))
    }

    fn remove(&self, dl: Deadline, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
        let _call = self.during(dl);
        // Removed in slices of 10,000 as the scan goes, so memory stays flat
        // (a million removable entries, gathered first, took 186 MiB).
        const SLICE: usize = 10_000;
        let mut ids: Vec<String> = Vec::new();
        let mut eids: Vec<String> = Vec::new();
        let mut removed = 0;
        // A stream is trimmed from its head: remove the pulled entries older
        // than the cut-off up to the first one that must stay.
        let mut last = None;
        self.entries_from(Eid::default(), false, |eid, s| {
            if !may_go(&s.view) {
                return Ok(false);
            }
            ids.push(s.identity());
            eids.push(eid.text());
            last = Some(eid);
            removed += 1;
            if ids.len() >= SLICE {
                self.trim_through(eid, &ids, &eids)?;
                ids.clear();
                eids.clear();
            }
            Ok(true)
        })?;
        if let (Some(eid), false) = (last, ids.is_empty()) {
            self.trim_through(eid, &ids, &eids)?;
        }
        let len = self.cmd(redis::cmd("XLEN").arg(&self.stream))?;
        let kept = match len {
            Value::Int(n) => n as usize,
            _ => 0,
        };
        Ok(CompactReport {
            removed,
            kept,
            note: None,
        })
    }

    fn start(&self, job: &Job) -> Result<()> {
        let text = serde_json::to_string(job).expect("a job always serialises");
        let mut p = redis::pipe();
        p.atomic()
            .cmd("HSET")
            .arg(self.key("running"))
            .arg(&job.id)
            .arg(text)
            .ignore()
            .cmd("SET")
            .arg(self.key(&format!("lease:{}", job.id)))
            .arg(1)
            .arg("PX")
            .arg(running::lease_ttl().as_millis() as u64)
            .ignore();
        self.run(|c| p.query::<()>(c))
    }

    fn renew(&self, id: &str) {
        let _ = self.cmd(
            redis::cmd("SET")
                .arg(self.key(&format!("lease:{id}")))
                .arg(1)
                .arg("PX")
                .arg(running::lease_ttl().as_millis() as u64),
        );
    }

    fn leased(&self) -> bool {
        true
    }

    fn finish(&self, id: &str) {
        let _ = self.cmd(redis::cmd("HDEL").arg(self.key("running")).arg(id));
        let _ = self.cmd(redis::cmd("DEL").arg(self.key(&format!("lease:{id}"))));
    }

    /// Moves the group's last-delivered id back to just before the first
    /// entry `from` matches (never forward); for the default group, entries
    /// noted acknowledged from there on are un-noted.
    fn replay(
        &self,
        dl: Deadline,
        group: Option<&str>,
        from: &dyn Fn(&View) -> bool,
    ) -> Result<usize> {
        let _call = self.during(dl);
        let group = match group {
            None => GROUP,
            Some("") => return Err(Error::usage("a group name must not be empty")),
            Some(g) => g,
        };
        let st = self.group_state(group)?;
        let (mut prev, mut first, mut replayed) = (Eid::default(), None, Vec::new());
        self.entries_from(Eid::default(), false, |eid, s| {
            if first.is_none() {
                if from(&s.view) {
                    first = Some(eid);
                } else {
                    prev = eid;
                }
            }
            if first.is_some() && st.pulled(eid) {
                replayed.push(eid);
            }
            Ok(true)
        })?;
        if first.is_none() || replayed.is_empty() {
            return Ok(0);
        }
        self.ensure_group(group)?;
        let to = prev.min(st.last);
        let mut p = redis::pipe();
        p.atomic()
            .cmd("XGROUP")
            .arg("SETID")
            .arg(&self.stream)
            .arg(group)
            .arg(if to == Eid::default() {
                "0".to_string()
            } else {
                to.text()
            })
            .ignore();
        if group == GROUP {
            let noted: Vec<String> = replayed
                .iter()
                .filter(|e| st.acked.contains(e))
                .map(|e| e.text())
                .collect();
            if !noted.is_empty() {
                p.cmd("SREM").arg(self.key("acked")).arg(noted).ignore();
            }
        }
        self.run(|c| p.query::<()>(c))?;
        Ok(replayed.len())
    }

    /// The fact log is a list, `STREAM:facts`, appended with RPUSH; a scan
    /// continues from a list index (the list is never trimmed).
    fn append_facts(&self, dl: Deadline, facts: &[String]) -> Result<()> {
        let _call = self.during(dl);
        if facts.is_empty() {
            return Ok(());
        }
        self.cmd(redis::cmd("RPUSH").arg(self.key("facts")).arg(facts))
            .map(|_| ())
    }

    fn scan_facts(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        each: &mut super::store::FactScan,
    ) -> Result<Mark> {
        let _call = self.during(dl);
        const SLICE: i64 = 10_000;
        let mut at: i64 = from.and_then(|Mark(m)| m.parse().ok()).unwrap_or(0);
        loop {
            let v = self.cmd(
                redis::cmd("LRANGE")
                    .arg(self.key("facts"))
                    .arg(at)
                    .arg(at + SLICE - 1),
            )?;
            let got = items(&v);
            for f in got {
                if let Some(b) = bytes(f) {
                    each(&b)?;
                }
            }
            at += got.len() as i64;
            if (got.len() as i64) < SLICE {
                return Ok(Mark(at.to_string()));
            }
        }
    }

    fn waiter(&self, dl: Deadline) -> Result<Box<dyn Waiter + '_>> {
        self.watch(dl)
    }

    fn has_groups(&self) -> bool {
        true
    }
}

/// An acknowledgement: entries delivered to the group are acknowledged
/// (`XACK`), the others noted in `STREAM:acked` for pulls to pass over.
struct RedisFound<'a> {
    q: &'a RedisQueue,
    hits: Vec<Hit>,
    /// The entries found that the group has delivered (its PEL).
    delivered: HashSet<Eid>,
}

impl Found for RedisFound<'_> {
    fn hits(&self) -> &[Hit] {
        &self.hits
    }

    fn mark(self: Box<Self>, at: &[Pos]) -> Result<()> {
        let mut p = redis::pipe();
        p.atomic();
        for e in at.iter().map(|p| Eid(p.0, p.1)) {
            if self.delivered.contains(&e) {
                p.cmd("XACK")
                    .arg(&self.q.stream)
                    .arg(GROUP)
                    .arg(e.text())
                    .ignore();
            } else {
                p.cmd("SADD")
                    .arg(self.q.key("acked"))
                    .arg(e.text())
                    .ignore();
            }
        }
        self.q.run(|c| p.query::<()>(c))
    }
}
