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

pub mod bad;
pub mod consume;
pub(crate) mod files;
pub mod jsonl;
#[cfg(feature = "kafka")]
pub mod kafka;
pub(crate) mod location;
#[cfg(feature = "redis")]
pub mod redis;
pub mod running;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod store;

use crate::error::{Error, Result};
pub use crate::record::Stored;
use crate::record::{Pulled, View};
use crate::time::{self, Cutoff};
#[cfg(feature = "kafka")]
pub use location::kafka_in_process;
pub use location::{Location, Source, Where};
pub use running::Job;
use std::io;
use std::time::Instant;
pub use store::{CompactReport, Mark, Store, Tier, Waiter};

/// Called with the records a pull selected; it must print and flush them.
/// Only when it returns `Ok` are they marked pulled.
pub type Deliver<'a> = dyn FnMut(&[Stored]) -> io::Result<()> + 'a;

/// Called for each record a listing matches, oldest first.
pub type Each<'a> = dyn FnMut(Stored) -> io::Result<()> + 'a;

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
    /// Bad entries already named by this process.
    named: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Queue {
    pub fn new(store: Box<dyn Store>) -> Queue {
        Queue {
            store,
            named: Default::default(),
        }
    }

    /// Names each entry that is not a record once, on stderr, in one
    /// wording on every tier: `QUEUE: WHERE: WHY; skipped` (`kept` by a
    /// compaction). Readers skip it; nothing removes or rewrites it.
    fn report_bad(&self, done: &str) {
        for b in self.store.bad_entries() {
            if self.named.borrow_mut().insert(b.at.clone()) {
                crate::error::warn(&format!(
                    "{}: {}: {}; {done}",
                    self.store.describe(),
                    b.at,
                    b.why
                ));
            }
        }
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
        if group.is_empty() {
            return Err(Error::usage("a group name must not be empty"));
        }
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
        self.say_if_missing();
        let mut left = limit.unwrap_or(usize::MAX);
        let mut total = 0;
        while left > 0 {
            let want = left.min(self.store.pull_slice());
            let taken = self.store.take(group, want);
            self.report_bad("skipped");
            let taken = taken?;
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
                    // `cq ack build`: a name where an id belongs.
                    let hint = if uuid::Uuid::parse_str(id).is_err() {
                        " (cq ack takes record ids, as cq list --pending --json shows them; cq wait --pull NAME acknowledges by name)"
                    } else {
                        ""
                    };
                    return Err(Error::new(format!(
                        "no record with id {id} in {}; nothing marked{hint}",
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
        self.say_if_missing();
        let mark = self.store.scan(from, filter.pending, &mut |s| {
            if filter.matches(&s.view) {
                each(s).map_err(Error::output)?;
            }
            Ok(true)
        });
        self.report_bad("skipped");
        mark
    }

    /// Removes pulled records completed before `cutoff` ([`removable`]).
    /// Dead letters, and records a consumer has not finished with, stay.
    pub fn compact(&self, cutoff: &Cutoff) -> Result<CompactReport> {
        let ledger = self.ledger()?;
        let p = crate::notice::Progress::new("compacting");
        let r = self.store.remove(&|v| {
            p.tick();
            removable(v, cutoff) && !ledger.keeps(v)
        });
        p.finish();
        self.report_bad("kept");
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

    /// How often the wrapper renews its job's lease, where jobs are leases.
    pub fn lease_interval(&self) -> Option<std::time::Duration> {
        self.store.leased().then(running::renew_every)
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

    /// What the tier keeps besides the records.
    pub fn side_files(&self) -> Vec<String> {
        self.store.side_files()
    }

    /// Whether the queue was never created.
    pub fn missing(&self) -> bool {
        self.store.missing()
    }

    /// A read of a queue that does not exist is empty, and says so once:
    /// a mistyped path must not read as "nothing pending" in silence.
    fn say_if_missing(&self) {
        if self.store.missing() && self.named.borrow_mut().insert(String::new()) {
            crate::error::warn(&format!(
                "{} does not exist (yet): nothing to read; the first cq wrap or cq push creates it",
                self.store.describe()
            ));
        }
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
    let p = crate::notice::Progress::new("migrating");
    let r = copy_missing(source, target, &p);
    p.finish();
    // What is not a record stays behind, named.
    source.report_bad("not copied");
    target.report_bad("skipped");
    let (total, copied, pulled) = r?;
    let marked = carry_pulled(target, &pulled)?;
    Ok(Migrated {
        total,
        copied,
        marked,
    })
}

/// The second half of [`migrate`]: marks pulled here the pending records
/// that were pulled in the source (`pulled`: what the target held, and
/// which of those the source has pulled), by id, in acknowledgements of
/// at most 10,000 ids (50,000 cost 8 MiB more at a million, for no speed),
/// each round reading the pending records again, so memory stays bounded
/// however many were pulled. An ack marks an id's oldest pending record:
/// of records sharing an id (a lost record, then the real one), a source
/// pulls or acks the oldest first, and they were copied in its order, so a
/// round marks an id's first pending copy only if it was pulled there, and
/// the next round its next one.
fn carry_pulled(target: &Queue, pulled: &PulledThere) -> Result<usize> {
    const ROUND: usize = 10_000;
    if pulled.bits.iter().all(|&b| b == 0) {
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
            let was_pulled = pulled.contains(&copy_key(&s));
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
/// which records the target held already were pulled in the source: one
/// bit beside each digest the target's records have (a digest of each
/// pulled record besides them made a migrate of a million pulled records
/// 38 MiB). A record is the same in both by its [`copy_key`], as for
/// copying: a returning wrapper's real record shares its lost record's
/// id, and one of them may be pulled while the other is not.
fn copy_missing(
    source: &Queue,
    target: &Queue,
    p: &crate::notice::Progress,
) -> Result<(usize, usize, PulledThere)> {
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
    let mut bits = vec![0u64; have.0.len().div_ceil(64)];
    let (mut total, mut copied) = (0, 0);
    let mut slice = Vec::new();
    source.store.scan(None, false, &mut |s| {
        p.tick();
        total += 1;
        let d = copy_key(&s);
        // A record copied now carries its pulled flag; only those the
        // target held already may need theirs carried forward.
        if s.view.pulled() == Pulled::Yes
            && let Ok(i) = have.0.binary_search(&d)
        {
            bits[i / 64] |= 1 << (i % 64);
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
    Ok((total, copied, PulledThere { have, bits }))
}

/// The target's records before a migrate (digests of their [`copy_key`])
/// and, one bit each, whether the source has that record pulled.
struct PulledThere {
    have: Digests,
    bits: Vec<u64>,
}

impl PulledThere {
    fn contains(&self, d: &u128) -> bool {
        self.have
            .0
            .binary_search(d)
            .is_ok_and(|i| self.bits[i / 64] & (1 << (i % 64)) != 0)
    }
}

/// What migrate copies once: a record's [`identity`], except that a lost
/// record and the returning wrapper's real one, which share an id, are two
/// records (copying one would lose the other).
fn copy_key(s: &Stored) -> u128 {
    match s.view.lost {
        true => digest(format!("lost {}", s.identity()).as_bytes()),
        false => digest(s.identity().as_bytes()),
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

pub fn open(loc: &Location) -> Result<Queue> {
    running::check_lease_ttl()?;
    if let Ok(v) = std::env::var("CQ_APPEND_RETRY")
        && let Err(e) = time::parse_duration(&v)
    {
        return Err(Error::usage(format!("CQ_APPEND_RETRY: {}", e.msg)));
    }
    Ok(Queue::new(location::open_store(loc)?))
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
    use std::ffi::OsStr;

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
        // `word:` at the start is a scheme, whatever follows: one slash, a
        // case, no slash at all. A colon after a slash is a file's.
        for (bad, hint) in [
            ("SQLITE:/x.db", "did you mean sqlite:"),
            ("kafka:/h:9092/t", "did you mean kafka://"),
            ("redis:h", "did you mean redis://"),
            ("File:q", "did you mean file:"),
            ("notes:q.jsonl", "./NAME or file:NAME"),
        ] {
            let e = Location::parse(OsStr::new(bad)).unwrap_err();
            assert_eq!(e.code, crate::error::code::USAGE, "{bad}");
            assert!(e.msg.contains(hint), "{bad}: {}", e.msg);
        }
        for good in [
            "./notes:q",
            "file:notes:q",
            "/a/b:c",
            "2026-01-01T10:00.jsonl",
        ] {
            assert!(
                matches!(Location::parse(OsStr::new(good)), Ok(Location::File(_))),
                "{good}"
            );
        }
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
