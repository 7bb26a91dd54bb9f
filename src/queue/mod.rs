//! The queue seen from the commands: [`Queue`], the one type that owns
//! every rule of the queue, over the [`Store`] primitives each tier provides
//! (see store.rs for the seam). [`Filter`] is what readers select, and
//! [`open`] turns a location (`--queue`, `CQ_QUEUE`, or the XDG default)
//! into a queue.
//!
//! The rules, each decided here once for all tiers:
//! - a record is built in record.rs only; appends never de-duplicate;
//! - a pull prints before it marks ([`Queue::pull`]);
//! - an acknowledgement is all or nothing ([`Queue::ack`]);
//! - compaction removes only pulled records completed before the cut-off
//!   ([`removable`]);
//! - a dead wrapper becomes exactly one lost record (`running::reap`,
//!   run before every pull, listing and wait);
//! - running jobs have one order ([`Queue::running`]);
//! - migration is the only de-duplication, and carries pulled state
//!   forward ([`migrate`]);
//! - a consumer that acts (`pull --exec`) counts attempts before each
//!   handler, acknowledges only on success, retries, parks dead letters,
//!   and compaction keeps what it has not finished (consume.rs).

pub mod consume;
pub(crate) mod files;
pub mod jsonl;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "redis")]
pub mod redis;
pub mod running;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;

use crate::error::{Error, Result};
use crate::record::{Pulled, View};
use crate::time::{self, Cutoff};
pub use running::Job;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Instant;
pub use store::Store;

/// One stored record as a reader sees it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The line as stored, without its newline, BOM or trailing `\r`.
    pub line: Vec<u8>,
    pub view: View,
}

impl Stored {
    /// A record line as cq wrote it (with or without its newline).
    pub fn parse(line: &str) -> Result<Stored> {
        let line = line.trim_end_matches('\n').as_bytes().to_vec();
        Stored::from_store(line, false).map_err(|e| Error::new(format!("not a record: {e}")))
    }

    /// A record as a store keeps it (its line with `"pulled":false`), in
    /// the state the store says it is in.
    pub fn from_store(
        line: Vec<u8>,
        pulled: bool,
    ) -> std::result::Result<Stored, crate::record::LineError> {
        let line = if pulled {
            crate::record::pulled_form(&line)
        } else {
            line
        };
        let view = crate::record::parse_line(&line)?;
        Ok(Stored { line, view })
    }
}

/// Called with the records a pull selected; it must print and flush them.
/// Only when it returns `Ok` are they marked pulled.
pub type Deliver<'a> = dyn FnMut(&[Stored]) -> io::Result<()> + 'a;

/// Called for each record a listing matches, oldest first.
pub type Each<'a> = dyn FnMut(Stored) -> io::Result<()> + 'a;

pub struct CompactReport {
    pub removed: usize,
    pub kept: usize,
    /// What the tier wants said about compaction there (Kafka: retention
    /// is the broker's).
    pub note: Option<String>,
}

/// Whether compaction may remove a record: only a pulled one, completed
/// (by a time that parses) before the cut-off.
pub fn removable(v: &View, cutoff: &Cutoff) -> bool {
    v.pulled() == Pulled::Yes
        && v.completed_at
            .as_deref()
            .and_then(|t| time::at_or_after(t, cutoff))
            == Some(false)
}

/// The queue: one store, and every rule over it.
pub struct Queue {
    store: Box<dyn Store>,
}

impl Queue {
    pub fn new(store: Box<dyn Store>) -> Queue {
        Queue { store }
    }

    /// Fails unless a record could be appended now (wrap checks this before
    /// running CMD). Creates the queue when it does not exist.
    pub fn check_writable(&self) -> Result<()> {
        self.store.check_writable()
    }

    /// Appends one record line (as record.rs built it), durably. Never
    /// de-duplicates: a returning wrapper's real record follows its lost
    /// one, with the same id, and both are delivered.
    pub fn append(&self, line: &str) -> Result<()> {
        self.store.append(&[Stored::parse(line)?])
    }

    /// Appends record lines (as record.rs built them) in one go, durably:
    /// `cq push --batch`.
    pub fn append_many(&self, lines: &[String]) -> Result<()> {
        let recs = lines
            .iter()
            .map(|l| Stored::parse(l))
            .collect::<Result<Vec<_>>>()?;
        self.store.append(&recs)
    }

    /// Selects up to `limit` pending records, oldest first, hands them to
    /// `deliver`, and marks them pulled only once it returned `Ok`: a
    /// reader that went away, or a puller killed before the mark, leaves
    /// them pending (at least once, never lost).
    pub fn pull(&self, limit: Option<usize>, deliver: &mut Deliver) -> Result<usize> {
        self.pull_as(None, limit, deliver)
    }

    /// [`pull`](Queue::pull) as an independent consumer group.
    pub fn pull_group(
        &self,
        group: &str,
        limit: Option<usize>,
        deliver: &mut Deliver,
    ) -> Result<usize> {
        if !self.store.has_groups() {
            return Err(Error::usage(format!(
                "consumer groups (--group {group}) need the redis or kafka tier (CQ_QUEUE=redis://HOST:6379/0?stream=NAME or kafka://HOST:9092/TOPIC); this queue is on the {} tier",
                self.store.tier()
            )));
        }
        self.pull_as(Some(group), limit, deliver)
    }

    /// Slice by slice (`Store::pull_slice` records at a time), each
    /// printed before it is marked: memory stays flat however many records
    /// are pending, and a pull cut short has marked only what it printed.
    fn pull_as(
        &self,
        group: Option<&str>,
        limit: Option<usize>,
        deliver: &mut Deliver,
    ) -> Result<usize> {
        running::reap(&*self.store)?;
        let mut left = limit.unwrap_or(usize::MAX);
        let mut total = 0;
        while left > 0 {
            let want = left.min(self.store.pull_slice());
            let taken = self.store.take(group, want)?;
            let n = taken.records().len();
            if n > 0 {
                deliver(taken.records()).map_err(Error::output)?;
            }
            taken.mark().map_err(|e| {
                if n == 0 {
                    return e;
                }
                let msg = format!(
                    "printed {n} record(s) but could not mark them pulled (they will be delivered again): {}",
                    e.msg
                );
                Error { msg, ..e }
            })?;
            total += n;
            left -= n;
            if n < want {
                break;
            }
        }
        Ok(total)
    }

    /// Marks the records with these ids pulled, all or nothing: one unknown
    /// id marks nothing and fails. Returns how many were pending
    /// (acknowledging twice is not an error). Of records sharing an id, the
    /// oldest pending one is marked.
    pub fn ack(&self, ids: &[String]) -> Result<usize> {
        check_ids(ids)?;
        let found = self.store.find(ids)?;
        let mut pending = std::collections::HashSet::new();
        for id in ids {
            match found.pending(id) {
                None => {
                    return Err(Error::new(format!(
                        "no record with id {id} in {}; nothing marked",
                        self.store.describe()
                    )));
                }
                Some(true) => {
                    pending.insert(id.as_str());
                }
                Some(false) => {}
            }
        }
        found.mark()?;
        Ok(pending.len())
    }

    /// Streams the records matching `filter`, oldest first: all of them when
    /// `from` is `None`, else those appended since the listing that returned
    /// `from`. Returns the mark to continue from (for `--follow`).
    pub fn list(&self, filter: &Filter, from: Option<&Mark>, each: &mut Each) -> Result<Mark> {
        // A listing still answers when the lost records cannot be written.
        let _ = running::reap(&*self.store);
        self.store.scan(from, filter.pending, &mut |s| {
            if filter.matches(&s.view) {
                each(s).map_err(Error::output)?;
            }
            Ok(true)
        })
    }

    /// Removes pulled records completed before `cutoff` ([`removable`]).
    /// Dead letters, and records a consumer has not finished with, stay.
    pub fn compact(&self, cutoff: &Cutoff) -> Result<CompactReport> {
        let ledger = self.ledger()?;
        let p = crate::output::Progress::new("compacting");
        let r = self.store.remove(&|v| {
            p.tick();
            removable(v, cutoff) && !ledger.keeps(v)
        });
        p.finish();
        r
    }

    /// Registers a job whose wrapper is about to run CMD.
    pub fn start(&self, job: &Job) -> Result<()> {
        self.store.start(job)
    }

    /// Forgets a running job once its record is appended (best effort).
    pub fn finish(&self, id: &str) {
        self.store.finish(id)
    }

    pub fn lease_interval(&self) -> Option<std::time::Duration> {
        self.store.lease_interval()
    }

    pub fn renew(&self, id: &str) {
        self.store.renew(id)
    }

    /// The running jobs, after turning those whose wrapper died into
    /// `"lost":true` failure records (each exactly once), on every tier in
    /// one order: oldest start first, then by id (UUIDv7, so start order
    /// within a second).
    pub fn running(&self) -> Result<Vec<Job>> {
        let mut jobs = running::reap(&*self.store)?;
        jobs.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
        Ok(jobs)
    }

    /// Something to sleep on until the queue may have changed.
    pub fn waiter(&self) -> Result<Box<dyn Waiter + '_>> {
        self.store.waiter()
    }

    /// How to name this queue in messages (never with a password).
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    pub fn tier(&self) -> Tier {
        self.store.tier()
    }
}

/// [`Queue::append`], for a wrapper whose job already ran: where the queue
/// is on the network (a lease tier), a failed append is tried again, with
/// pauses of up to 2 s, for `CQ_APPEND_RETRY` (a duration; default 60s)
/// after the first failure, so a broker that restarts or a partition that
/// heals costs a delay, not the record. Each retry opens the queue afresh
/// (a new connection; a new Kafka producer, as an idempotent one whose
/// send timed out cannot send again), and each attempt has the tier's own
/// bound (10 s), so the whole wait is at most the window plus one attempt.
/// `retrying` is told once, with the first error and the window. A local
/// queue is tried once. Returns the queue that answered last.
pub fn append_retrying(
    loc: &Location,
    mut q: Queue,
    line: &str,
    retrying: &mut dyn FnMut(&Error, std::time::Duration),
) -> (Queue, Result<()>) {
    let window = match q.lease_interval() {
        None => std::time::Duration::ZERO,
        Some(_) => append_retry(),
    };
    let mut first: Option<Instant> = None;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        let e = match q.append(line) {
            Ok(()) => return (q, Ok(())),
            Err(e) => e,
        };
        let since = *first.get_or_insert_with(Instant::now);
        let left = window.saturating_sub(since.elapsed());
        if left.is_zero() || e.code == crate::error::code::USAGE {
            return (q, Err(e));
        }
        if pause == std::time::Duration::from_millis(100) {
            retrying(&e, window);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
        match open(loc) {
            Ok(fresh) => q = fresh,
            Err(e) => return (q, Err(e)),
        }
    }
}

/// `CQ_APPEND_RETRY`: how long a wrapper keeps trying to append its record
/// to a networked queue it cannot reach (default 60s; `0` tries once).
fn append_retry() -> std::time::Duration {
    std::env::var("CQ_APPEND_RETRY")
        .ok()
        .and_then(|v| time::parse_duration(&v).ok())
        .unwrap_or(std::time::Duration::from_secs(60))
}

/// What `cq migrate` did.
pub struct Migrated {
    /// Records in the source.
    pub total: usize,
    /// Records copied (the rest were in the target already).
    pub copied: usize,
    /// Records the target had pending, marked pulled because they were
    /// pulled in the source since an earlier migrate.
    pub marked: usize,
}

/// `cq migrate`, on every tier alike: copies the records of `source` that
/// `target` lacks (ids and pulled state kept; the target skips what it has,
/// the only place a record is ever de-duplicated), then carries over what
/// was pulled in the source since: a record pulled there and still pending
/// in the target is marked pulled (by id), and nothing is ever made pending
/// again. Where an acknowledgement also takes every earlier record (Kafka's
/// offsets), only records before the first one that must stay pending are
/// marked, so no record nobody pulled is swept along. Records without an
/// id (a legacy writer's) keep the state of their first copy.
pub fn migrate(source: &Queue, target: &Queue) -> Result<Migrated> {
    let p = crate::output::Progress::new("migrating");
    let r = copy_missing(source, target, &p);
    p.finish();
    let (total, copied, pulled) = r?;
    let marked = carry_pulled(target, &pulled)?;
    Ok(Migrated {
        total,
        copied,
        marked,
    })
}

/// The second half of [`migrate`]: marks pulled here the pending records
/// that were pulled in the source (`pulled`: digests of their text with
/// `pulled` unset), by id, in acknowledgements of at most 50,000 ids, each
/// round reading the pending records again, so memory stays bounded
/// however many were pulled. An ack marks an id's oldest pending record:
/// of records sharing an id (a lost record, then the real one), a source
/// pulls or acks the oldest first, and they were copied in its order, so a
/// round marks an id's first pending copy only if it was pulled there, and
/// the next round its next one.
fn carry_pulled(target: &Queue, pulled: &Digests) -> Result<usize> {
    const ROUND: usize = 50_000;
    if pulled.0.is_empty() {
        return Ok(0);
    }
    let sweeps = target.store.ack_sweeps_earlier();
    let mut marked = 0;
    loop {
        let mut ids: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        target.store.scan(None, true, &mut |s| {
            if s.view.pulled() != Pulled::No {
                return Ok(true);
            }
            let was_pulled = pulled.contains(&digest(&crate::record::pending_form(&s.line)));
            if !was_pulled && sweeps {
                return Ok(false);
            }
            if let Some(id) = &s.view.id
                && seen.insert(digest(id.as_bytes()))
                && was_pulled
            {
                ids.push(id.clone());
            }
            Ok(ids.len() < ROUND)
        })?;
        if ids.is_empty() {
            return Ok(marked);
        }
        match target.ack(&ids)? {
            // Pulled here meanwhile: nothing left to carry.
            0 => return Ok(marked),
            n => marked += n,
        }
    }
}

/// The first half of [`migrate`], streamed: reads what `target` holds (as
/// digests of [`identity`]), then the source twice: once for the digests
/// of what the target lacks, to find those the source holds more than once
/// (copied once), and once to append what the target lacks in slices of
/// 1,000 (each durable before the next; a migrate cut short is completed
/// by running it again). Digests sit in sorted vectors, 16 bytes each, not
/// a hash table that doubles: a million records cost 16 MiB, whatever
/// their size. Returns the source's count, how many were copied, and
/// digests of the exact records pulled in the source that the target held
/// already (their text with `pulled` unset: a returning wrapper's real
/// record shares its lost record's id, and one of them may be pulled while
/// the other is not).
fn copy_missing(
    source: &Queue,
    target: &Queue,
    p: &crate::output::Progress,
) -> Result<(usize, usize, Digests)> {
    let mut have = Vec::new();
    target.store.scan(None, false, &mut |s| {
        p.tick();
        have.push(copy_key(&s));
        Ok(true)
    })?;
    let have = Digests::from(have);
    let mut missing = Vec::new();
    source.store.scan(None, false, &mut |s| {
        p.tick();
        let d = copy_key(&s);
        if !have.contains(&d) {
            missing.push(d);
        }
        Ok(true)
    })?;
    missing.sort_unstable();
    let twice: std::collections::HashSet<u128> = missing
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(missing);
    let mut copied_twice = std::collections::HashSet::new();
    let mut pulled = Vec::new();
    let (mut total, mut copied) = (0, 0);
    let mut slice = Vec::new();
    source.store.scan(None, false, &mut |s| {
        p.tick();
        total += 1;
        let d = copy_key(&s);
        // A record copied now carries its pulled flag; only those the
        // target held already may need theirs carried forward.
        if s.view.pulled() == Pulled::Yes && have.contains(&d) {
            pulled.push(digest(&crate::record::pending_form(&s.line)));
        }
        // A record appended to the source since the first read, whose
        // identity was already there, is copied again: the price of not
        // holding every identity in memory (it is a redelivery at worst).
        let copy = !have.contains(&d) && (!twice.contains(&d) || copied_twice.insert(d));
        if copy {
            slice.push(s);
        }
        if slice.len() >= 1000 {
            target.store.append(&slice)?;
            copied += slice.len();
            slice.clear();
        }
        Ok(true)
    })?;
    if !slice.is_empty() {
        target.store.append(&slice)?;
        copied += slice.len();
    }
    Ok((total, copied, Digests::from(pulled)))
}

/// What migrate copies once: a record's [`identity`], except that a lost
/// record and the returning wrapper's real one, which share an id, are two
/// records (copying one would lose the other).
fn copy_key(s: &Stored) -> u128 {
    match s.view.lost {
        true => digest(format!("lost {}", identity(s)).as_bytes()),
        false => digest(identity(s).as_bytes()),
    }
}

/// A set of digests as a sorted vector: 16 bytes a member, and no peak
/// while it grows (a large vector's realloc moves pages, not bytes).
struct Digests(Vec<u128>);

impl Digests {
    fn from(mut v: Vec<u128>) -> Digests {
        v.sort_unstable();
        v.dedup();
        v.shrink_to_fit();
        Digests(v)
    }

    fn contains(&self, d: &u128) -> bool {
        self.0.binary_search(d).is_ok()
    }
}

/// A 128-bit digest (two SipHashes) standing for a record's identity or
/// text in migrate's sets: a collision is as likely as guessing a UUID.
fn digest(bytes: &[u8]) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        bytes.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// Refuses an empty id before anything is looked up (`cq ack ""`).
pub fn check_ids(ids: &[String]) -> Result<()> {
    match ids.iter().find(|i| i.trim().is_empty()) {
        Some(bad) => Err(Error::usage(format!("invalid record id '{bad}'"))),
        None => Ok(()),
    }
}

/// What makes a record the same record in two queues: its id, or for a
/// record without one (a legacy writer's), its text with `pulled` unset.
pub fn identity(s: &Stored) -> String {
    match &s.view.id {
        Some(id) => format!("id:{id}"),
        None => format!(
            "line:{}",
            String::from_utf8_lossy(&crate::record::pending_form(&s.line))
        ),
    }
}

/// Where a listing stopped, in a form only its tier understands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark(pub String);

pub trait Waiter {
    /// Sleeps until the queue may have changed (a record, a pull, a running
    /// job started or died) or until `deadline`; false on the deadline.
    /// Spurious wake-ups are allowed: callers re-check.
    fn wait(&mut self, deadline: Option<Instant>) -> Result<bool>;
}

/// The four kinds of store, as the rubric names them. The one list of
/// tiers: the rubric, `cq stats` and every message name a tier through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Jsonl,
    Sqlite,
    Redis,
    Kafka,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Jsonl => "jsonl",
            Tier::Sqlite => "sqlite",
            Tier::Redis => "redis",
            Tier::Kafka => "kafka",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `--queue` / `CQ_QUEUE` as given, resolved into a [`Location`] only by
/// the commands that use the queue.
pub struct Where(pub Option<OsString>);

impl Where {
    pub fn resolve(&self) -> Result<Location> {
        Location::resolve(self.0.as_ref())
    }
}

/// Where the queue is, parsed from `--queue` / `CQ_QUEUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Sqlite(PathBuf),
    /// The URL, parsed (its password is never printed).
    #[cfg(feature = "redis")]
    Redis(redis::Url),
    /// The URL, parsed (its password is never printed).
    #[cfg(feature = "kafka")]
    Kafka(kafka::Url),
}

/// The scheme of `SCHEME://…` (letters, digits, `+`, `-`, `.`, starting
/// with a letter, as RFC 3986 has it), if `q` has one.
fn scheme_of(q: &[u8]) -> Option<String> {
    let end = q.windows(3).position(|w| w == b"://")?;
    let s = &q[..end];
    let ok = s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    ok.then(|| String::from_utf8_lossy(s).into_owned())
}

impl Location {
    pub fn parse(q: &OsStr) -> Result<Location> {
        let b = q.as_bytes();
        if b.is_empty() {
            return Err(Error::usage("empty queue location"));
        }
        if let Some(rest) = b.strip_prefix(b"file:") {
            if rest.is_empty() {
                return Err(Error::usage("empty path in queue location 'file:'"));
            }
            return Ok(Location::File(PathBuf::from(OsStr::from_bytes(rest))));
        }
        if let Some(rest) = b.strip_prefix(b"sqlite:") {
            if rest.is_empty() {
                return Err(Error::usage("empty path in queue location 'sqlite:'"));
            }
            if !cfg!(feature = "sqlite") {
                return Err(Error::usage("this cq was built without the sqlite feature"));
            }
            return Ok(Location::Sqlite(PathBuf::from(OsStr::from_bytes(rest))));
        }
        if b.starts_with(b"redis://") || b.starts_with(b"rediss://") {
            #[cfg(not(feature = "redis"))]
            return Err(Error::usage("this cq was built without the redis feature"));
            #[cfg(feature = "redis")]
            {
                let Some(url) = q.to_str() else {
                    return Err(Error::usage("a redis:// queue URL must be valid UTF-8"));
                };
                return Ok(Location::Redis(redis::Url::parse(url)?));
            }
        }
        if b.starts_with(b"kafka://") {
            #[cfg(not(feature = "kafka"))]
            return Err(Error::usage("this cq was built without the kafka feature"));
            #[cfg(feature = "kafka")]
            {
                let Some(url) = q.to_str() else {
                    return Err(Error::usage("a kafka:// queue URL must be valid UTF-8"));
                };
                // Parsed here so a bad URL is a usage error before anything runs.
                return Ok(Location::Kafka(kafka::Url::parse(url)?));
            }
        }
        // Anything else with a scheme is a mistake, not a file name: a
        // push to `Redis://h/0` once created directories named after it.
        if let Some(scheme) = scheme_of(b) {
            let known = ["file:", "sqlite:", "redis://", "rediss://", "kafka://"];
            let lower = scheme.to_ascii_lowercase();
            let hint = known
                .iter()
                .find(|k| k.trim_end_matches([':', '/']) == lower)
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            return Err(Error::usage(format!(
                "unknown queue scheme '{scheme}:'{hint}; a queue is a path, file:PATH, sqlite:PATH, redis://, rediss:// or kafka://"
            )));
        }
        Ok(Location::File(PathBuf::from(q)))
    }

    /// `$XDG_STATE_HOME/cq/queue.jsonl`, else `~/.local/state/cq/queue.jsonl`.
    pub fn default_location() -> Result<Location> {
        let base = match std::env::var_os("XDG_STATE_HOME") {
            // The XDG spec says relative values are to be ignored.
            Some(x) if PathBuf::from(&x).is_absolute() => PathBuf::from(x),
            _ => match std::env::var_os("HOME") {
                Some(h) if !h.is_empty() => PathBuf::from(h).join(".local/state"),
                _ => {
                    return Err(Error::usage(
                        "cannot find the default queue: neither XDG_STATE_HOME nor HOME is set (use --queue)",
                    ));
                }
            },
        };
        Ok(Location::File(base.join("cq/queue.jsonl")))
    }

    pub fn resolve(flag: Option<&OsString>) -> Result<Location> {
        match flag {
            Some(q) => Location::parse(q),
            None => Location::default_location(),
        }
    }
}

pub fn open(loc: &Location) -> Result<Queue> {
    running::check_lease_ttl()?;
    if let Ok(v) = std::env::var("CQ_APPEND_RETRY")
        && let Err(e) = time::parse_duration(&v)
    {
        return Err(Error::usage(format!("CQ_APPEND_RETRY: {}", e.msg)));
    }
    let store: Box<dyn Store> = match loc {
        Location::File(p) => Box::new(jsonl::JsonlQueue::new(p.clone())),
        #[cfg(feature = "sqlite")]
        Location::Sqlite(p) => Box::new(sqlite::SqliteQueue::new(p.clone())),
        #[cfg(not(feature = "sqlite"))]
        Location::Sqlite(_) => {
            return Err(Error::usage("this cq was built without the sqlite feature"));
        }
        #[cfg(feature = "redis")]
        Location::Redis(u) => Box::new(redis::RedisQueue::new(u.clone())),
        #[cfg(feature = "kafka")]
        Location::Kafka(u) => match KAFKA.get() {
            Some(open) => open(u),
            None => return Err(exec_kafka()),
        },
    };
    Ok(Queue::new(store))
}

/// How `cq-kafka` opens a Kafka queue; unset in `cq`, which must not link
/// the Kafka client at all (a reference here would).
#[cfg(feature = "kafka")]
static KAFKA: std::sync::OnceLock<OpenKafka> = std::sync::OnceLock::new();
#[cfg(feature = "kafka")]
type OpenKafka = fn(&kafka::Url) -> Box<dyn Store>;

/// Called by `cq-kafka` before anything else.
#[cfg(feature = "kafka")]
pub fn kafka_in_process() {
    let _ = KAFKA.set(|u| Box::new(kafka::KafkaQueue::new(u.clone())));
}

/// `cq` with a `kafka://` queue: becomes `cq-kafka`, next to it, with the
/// same arguments and environment (nothing was read, written or printed
/// yet). Returns only when that fails.
#[cfg(feature = "kafka")]
fn exec_kafka() -> Error {
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().ok();
    let helper = me
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("cq-kafka"));
    let Some(helper) = helper else {
        return Error::new("cannot find cq's own executable, next to which cq-kafka is");
    };
    let e = std::process::Command::new(&helper)
        .args(std::env::args_os().skip(1))
        .exec();
    Error::new(format!(
        "the kafka tier runs in cq-kafka, installed next to cq: cannot run {}: {}",
        helper.display(),
        crate::error::describe_io(&e)
    ))
}

/// What `cq list` selects; shared by every tier.
#[derive(Default)]
pub struct Filter {
    pub pending: bool,
    pub pulled: bool,
    pub name: Option<String>,
    /// Exact names (for `cq wait`); empty means any.
    pub names: Vec<String>,
    pub status: Option<crate::record::Status>,
    pub since: Option<Cutoff>,
}

impl Filter {
    pub fn matches(&self, v: &View) -> bool {
        use crate::record::Pulled;
        if self.pending && v.pulled() != Pulled::No {
            return false;
        }
        if self.pulled && v.pulled() == Pulled::No {
            return false;
        }
        if self.status.is_some_and(|s| v.status != s.as_str()) {
            return false;
        }
        if let Some(p) = &self.name
            && !glob_match(p.as_bytes(), v.name.as_bytes())
        {
            return false;
        }
        if !self.names.is_empty() && !self.names.contains(&v.name) {
            return false;
        }
        if let Some(c) = &self.since {
            match v
                .completed_at
                .as_deref()
                .and_then(|t| time::at_or_after(t, c))
            {
                Some(true) => {}
                _ => return false,
            }
        }
        true
    }
}

/// Shell-style wildcard match: `*` any run, `?` one character, else literal.
pub fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let s: Vec<char> = String::from_utf8_lossy(s).chars().collect();
    let p: Vec<char> = String::from_utf8_lossy(pat).chars().collect();
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The local stores, each real: a file and (when built) a database in
    /// `dir`, named `stem.jsonl` and `stem.db`.
    fn local_stores(dir: &std::path::Path, stem: &str) -> Vec<Box<dyn Store>> {
        let mut stores: Vec<Box<dyn Store>> = vec![Box::new(jsonl::JsonlQueue::new(
            dir.join(format!("{stem}.jsonl")),
        ))];
        #[cfg(feature = "sqlite")]
        stores.push(Box::new(sqlite::SqliteQueue::new(
            dir.join(format!("{stem}.db")),
        )));
        stores
    }

    /// A failed record line with this name, id and lost flag.
    fn rec(name: &str, id: &str, lost: bool) -> String {
        format!(
            "{{\"name\":\"{name}\",\"status\":\"failure\",\"pulled\":false,\"id\":\"{id}\",\"lost\":{lost}}}\n"
        )
    }

    /// The rules over the local stores, each real (a file, a database):
    /// two records with one id (a lost record, then the returning
    /// wrapper's real one) are both kept and delivered in order, and an
    /// acknowledgement marks the oldest pending one.
    #[test]
    fn records_sharing_an_id_are_both_kept_on_every_local_store() {
        let dir = tempfile::tempdir().unwrap();
        for store in local_stores(dir.path(), "q") {
            let q = Queue::new(store);
            let tier = q.tier();
            q.append(&rec("job", "J", true)).unwrap();
            q.append(&rec("job", "J", false)).unwrap();
            q.append(&rec("other", "K", false)).unwrap();
            assert_eq!(q.ack(&["J".into()]).unwrap(), 1, "{tier}");
            let mut got = Vec::new();
            q.pull(None, &mut |recs| {
                got.extend(recs.iter().map(|r| r.view.name.clone()));
                Ok(())
            })
            .unwrap();
            assert_eq!(got, ["job", "other"], "{tier}: the real record is left");
            assert_eq!(q.ack(&["J".into(), "K".into()]).unwrap(), 0, "{tier}");
            let e = q.ack(&["K".into(), "nope".into()]).unwrap_err();
            assert!(
                e.msg.contains("no record with id nope"),
                "{tier}: {}",
                e.msg
            );
            let mut n = 0;
            q.list(&Filter::default(), None, &mut |_| {
                n += 1;
                Ok(())
            })
            .unwrap();
            assert_eq!(n, 3, "{tier}: nothing dropped");
        }
    }

    /// Migrate copies a lost record and the returning wrapper's real one
    /// (they share an id) and carries the pulled state of each, copies a
    /// record the source holds twice once, and copies nothing on a rerun.
    #[test]
    fn migrate_keeps_both_records_of_a_shared_id() {
        let dir = tempfile::tempdir().unwrap();
        let targets = local_stores(dir.path(), "t");
        let source = Queue::new(Box::new(jsonl::JsonlQueue::new(dir.path().join("s.jsonl"))));
        for line in [
            rec("job", "J", true),
            rec("job", "J", false),
            rec("other", "K", false),
            rec("twice", "D", false),
            rec("twice", "D", false),
        ] {
            source.append(&line).unwrap();
        }
        let ack_once = std::cell::Cell::new(true);
        for target in targets {
            let target = Queue::new(target);
            let tier = target.tier();
            let m = migrate(&source, &target).unwrap();
            // The lost record is pulled in the source after the first
            // migrate to the first target, before the one to the second.
            if ack_once.replace(false) {
                assert_eq!((m.total, m.copied, m.marked), (5, 4, 0), "{tier}");
                assert_eq!(source.ack(&["J".into()]).unwrap(), 1);
                let m = migrate(&source, &target).unwrap();
                assert_eq!(
                    (m.copied, m.marked),
                    (0, 1),
                    "{tier}: its pulled state follows"
                );
            } else {
                assert_eq!(
                    (m.total, m.copied, m.marked),
                    (5, 4, 0),
                    "{tier}: copied pulled"
                );
            }
            let mut got = Vec::new();
            target
                .pull(None, &mut |recs| {
                    got.extend(recs.iter().map(|r| (r.view.name.clone(), r.view.lost)));
                    Ok(())
                })
                .unwrap();
            let want = [("job", false), ("other", false), ("twice", false)];
            let want: Vec<(String, bool)> = want.iter().map(|(n, l)| (n.to_string(), *l)).collect();
            assert_eq!(
                got, want,
                "{tier}: the real record is delivered, the lost one is not again"
            );
            let again = migrate(&source, &target).unwrap();
            assert_eq!(
                (again.copied, again.marked),
                (0, 0),
                "{tier}: a rerun changes nothing"
            );
        }
    }

    /// A pull of many records goes slice by slice (each printed, then
    /// marked), honours its limit across slices, and delivers each once.
    #[test]
    fn a_big_pull_goes_in_slices() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let mut text = String::new();
        for i in 0..25_000 {
            text.push_str(&format!(
                "{{\"name\":\"j{i}\",\"status\":\"success\",\"pulled\":false}}\n"
            ));
        }
        std::fs::write(&path, text).unwrap();
        let q = Queue::new(Box::new(jsonl::JsonlQueue::new(path)));
        let mut calls = Vec::new();
        let n = q
            .pull(Some(12_000), &mut |recs| {
                calls.push(recs.len());
                Ok(())
            })
            .unwrap();
        assert_eq!((n, calls.clone()), (12_000, vec![10_000, 2_000]));
        calls.clear();
        let n = q
            .pull(None, &mut |recs| {
                calls.push(recs.len());
                Ok(())
            })
            .unwrap();
        assert_eq!((n, calls.clone()), (13_000, vec![10_000, 3_000]));
        let again = q.pull(None, &mut |_| Ok(())).unwrap();
        assert_eq!(again, 0, "nothing twice");
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"build-*", b"build-claim"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"ac"));
        assert!(glob_match(b"*x*y", b"axbxy"));
        assert!(!glob_match(b"build", b"build-x"));
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse(OsStr::new("file:/a/b")).unwrap(),
            Location::File("/a/b".into())
        );
        assert_eq!(
            Location::parse(OsStr::new("q.jsonl")).unwrap(),
            Location::File("q.jsonl".into())
        );
        for bad in ["Redis://h/0", "reddis://h", "ftp://h/q", "KAFKA://h:1/t"] {
            let e = Location::parse(OsStr::new(bad)).unwrap_err();
            assert_eq!(e.code, crate::error::code::USAGE, "{bad}");
        }
        let e = Location::parse(OsStr::new("Redis://h/0")).unwrap_err();
        assert!(e.msg.contains("did you mean redis://"), "{}", e.msg);
        // A relative path with "://" further in is still a path.
        assert!(matches!(
            Location::parse(OsStr::new("./a://b")).unwrap(),
            Location::File(_)
        ));
        let e = Location::parse(OsStr::new("kafka://u:hunter2@h/0")).unwrap_err();
        assert!(!e.msg.contains("hunter2"));
        #[cfg(feature = "kafka")]
        assert!(matches!(
            Location::parse(OsStr::new("kafka://h:9092/jobs")).unwrap(),
            Location::Kafka(_)
        ));
    }
}
