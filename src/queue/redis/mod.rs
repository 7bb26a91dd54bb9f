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

mod url;

pub use url::Url;

use super::running;
use super::store::{CompactReport, Mark, Tier, Waiter};
use super::store::{Found, Scan, Store, Taken};
use crate::error::{Error, Result};
use crate::record::{self, View};
use crate::record::{Job, Stored};
use redis::{Connection, Value};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const GROUP: &str = "cq";

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

/// A stream entry id, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
struct Eid(u64, u64);

impl Eid {
    fn parse(s: &str) -> Option<Eid> {
        let (a, b) = s.split_once('-').unwrap_or((s, "0"));
        Some(Eid(a.parse().ok()?, b.parse().ok()?))
    }
    fn text(self) -> String {
        format!("{}-{}", self.0, self.1)
    }
}

struct Entry {
    eid: Eid,
    line: Vec<u8>,
}

pub struct RedisQueue {
    url: Url,
    shown: String,
    stream: String,
    conn: RefCell<Option<Connection>>,
    bad: super::bad::BadEntries,
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    bytes(v).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

/// Entries of an XRANGE / XCLAIM reply (deleted entries come back as nil).
fn entries(v: &Value) -> Vec<Entry> {
    let mut out = Vec::new();
    for e in items(v) {
        let parts = items(e);
        let (Some(id), Some(fields)) = (parts.first().and_then(text), parts.get(1)) else {
            continue;
        };
        let Some(eid) = Eid::parse(&id) else { continue };
        let f = items(fields);
        let mut line = None;
        for kv in f.chunks(2) {
            if kv.len() == 2 && bytes(&kv[0]).as_deref() == Some(b"record") {
                line = bytes(&kv[1]);
            }
        }
        if let Some(line) = line {
            out.push(Entry { eid, line });
        }
    }
    out
}

/// Entries of an XREAD / XREADGROUP reply, over its streams (an array in
/// RESP2, a map in RESP3).
fn stream_entries(v: &Value) -> Vec<Entry> {
    let mut out = Vec::new();
    for s in items(v) {
        if let Some(es) = items(s).get(1) {
            out.extend(entries(es));
        }
    }
    if let Value::Map(m) = v {
        for (_, es) in m {
            out.extend(entries(es));
        }
    }
    out
}

/// What the default group knows: which entries count as pulled.
struct GroupState {
    last: Eid,
    pel: HashMap<Eid, String>,
    acked: HashSet<Eid>,
}

impl GroupState {
    fn pulled(&self, e: Eid) -> bool {
        self.acked.contains(&e) || (e <= self.last && !self.pel.contains_key(&e))
    }
}

impl RedisQueue {
    pub fn new(url: Url) -> Self {
        Self {
            shown: url.shown(),
            stream: url.stream.clone(),
            url,
            conn: RefCell::new(None),
            bad: Default::default(),
        }
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.stream)
    }

    /// A message about this queue that never holds the password.
    fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        crate::error::scrubbed(
            &format!("{what} {}: {e}", self.shown),
            self.url.password.as_deref(),
        )
    }

    fn connect(&self) -> Result<Connection> {
        #[cfg(feature = "redis")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        // rediss:// trusts the webpki roots, or the CA in $CQ_REDIS_CA (a
        // PEM file) for servers with a certificate of their own.
        let ca = crate::config::get().redis_ca.clone();
        let client = match ca {
            Some(path) if self.url.tls => {
                let pem = std::fs::read(&path).map_err(|e| {
                    Error::io(
                        format!(
                            "cannot read CQ_REDIS_CA {}",
                            std::path::Path::new(&path).display()
                        ),
                        e,
                    )
                })?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                redis::Client::build_with_tls(self.url.client.as_str(), certs)
            }
            _ => redis::Client::open(self.url.client.as_str()),
        }
        .map_err(|e| self.fail("invalid queue URL", e))?;
        let conn = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| self.fail("cannot connect to", e))?;
        // One attempt's bound (a wrapper retries its record's append, see
        // `Queue::append_retrying`).
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
        Ok(conn)
    }

    fn run<T>(&self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        let mut slot = self.conn.borrow_mut();
        if slot.is_none() {
            *slot = Some(self.connect()?);
        }
        let conn = slot.as_mut().expect("connected above");
        f(conn).map_err(|e| {
            // A connection that failed (a timeout, a reset) is not reused:
            // the next command connects again.
            if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                *slot = None;
            }
            self.fail("redis error on", e)
        })
    }

    fn cmd(&self, c: &mut redis::Cmd) -> Result<Value> {
        self.run(|conn| c.query::<Value>(conn))
    }

    fn ensure_group(&self, group: &str) -> Result<()> {
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
            Err(e) if e.msg.contains("BUSYGROUP") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn group_state(&self, group: &str) -> Result<GroupState> {
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
    fn pending(&self, group: &str, count: usize) -> Result<Vec<(Eid, String, u64)>> {
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

    fn consumer() -> String {
        format!("{}:{}", running::host(), std::process::id())
    }

    /// Whether the consumer named "host:pid" is known to be gone.
    fn consumer_gone(name: &str, idle_ms: u64) -> bool {
        match name.rsplit_once(':') {
            Some((host, pid)) if host == running::host() => match pid.parse::<u32>() {
                Ok(pid) => !crate::process::exists(pid),
                Err(_) => true,
            },
            _ => idle_ms >= running::puller_dead_after().as_millis() as u64,
        }
    }

    fn select(&self, group: &str, limit: usize) -> Result<RedisTaken<'_>> {
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

    fn append(&self, recs: &[Stored]) -> Result<()> {
        self.add(recs)
    }

    fn scan(&self, from: Option<&Mark>, pending_hint: bool, each: &mut Scan) -> Result<Mark> {
        let from = from.and_then(|Mark(m)| Eid::parse(m)).unwrap_or_default();
        let last = self.entries_from(from, pending_hint, |_, s| each(s))?;
        Ok(Mark(last.text()))
    }

    fn take(&self, group: Option<&str>, limit: usize) -> Result<Box<dyn Taken + '_>> {
        let group = match group {
            None => GROUP,
            Some(g) => g,
        };
        Ok(Box::new(self.select(group, limit)?))
    }

    fn find(&self, ids: &[String]) -> Result<Box<dyn Found + '_>> {
        let keys: Vec<String> = ids.iter().map(|i| format!("id:{i}")).collect();
        let all = self.entries_of(&keys)?;
        let st = self.group_state(GROUP)?;
        let mut found = RedisFound {
            q: self,
            state: HashMap::new(),
            acks: Vec::new(),
            notes: Vec::new(),
        };
        for (id, entries) in ids.iter().zip(all) {
            if entries.is_empty() {
                continue;
            }
            // The oldest pending entry of the id, if any.
            let pending = entries.into_iter().find(|e| !st.pulled(*e));
            let already = found.state.get(id) == Some(&true);
            found.state.insert(id.clone(), pending.is_some() || already);
            if let (Some(e), false) = (pending, already) {
                if st.pel.contains_key(&e) {
                    found.acks.push(e.text());
                } else {
                    found.notes.push(e.text());
                }
            }
        }
        Ok(Box::new(found))
    }

    fn remove(&self, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
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
    fn replay(&self, group: Option<&str>, from: &dyn Fn(&View) -> bool) -> Result<usize> {
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
    fn append_facts(&self, facts: &[String]) -> Result<()> {
        if facts.is_empty() {
            return Ok(());
        }
        self.cmd(redis::cmd("RPUSH").arg(self.key("facts")).arg(facts))
            .map(|_| ())
    }

    fn scan_facts(&self, from: Option<&Mark>, each: &mut super::store::FactScan) -> Result<Mark> {
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

    fn waiter(&self) -> Result<Box<dyn Waiter + '_>> {
        let mut conn = self.connect()?;
        let last = redis::cmd("XREVRANGE")
            .arg(&self.stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query::<Value>(&mut conn)
            .map_err(|e| self.fail("redis error on", e))?;
        let last = entries(&last).first().map(|e| e.eid).unwrap_or_default();
        Ok(Box::new(RedisWaiter {
            q: self,
            conn,
            last,
        }))
    }

    fn has_groups(&self) -> bool {
        true
    }
}

/// A pull's entries: read into the group, acknowledged by the mark.
struct RedisTaken<'a> {
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

/// An acknowledgement: entries delivered to the group are acknowledged
/// (`XACK`), the others noted in `STREAM:acked` for pulls to pass over.
struct RedisFound<'a> {
    q: &'a RedisQueue,
    state: HashMap<String, bool>,
    acks: Vec<String>,
    notes: Vec<String>,
}

impl Found for RedisFound<'_> {
    fn pending(&self, id: &str) -> Option<bool> {
        self.state.get(id).copied()
    }

    fn mark(self: Box<Self>) -> Result<()> {
        let mut p = redis::pipe();
        p.atomic();
        for e in &self.acks {
            p.cmd("XACK").arg(&self.q.stream).arg(GROUP).arg(e).ignore();
        }
        for e in &self.notes {
            p.cmd("SADD").arg(self.q.key("acked")).arg(e).ignore();
        }
        self.q.run(|c| p.query::<()>(c))
    }
}

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
struct RedisWaiter<'a> {
    q: &'a RedisQueue,
    conn: Connection,
    last: Eid,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_order() {
        assert!(Eid::parse("5-1").unwrap() > Eid::parse("4-9").unwrap());
    }
}
