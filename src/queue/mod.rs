//! The queue seen from the commands: [`Queue`], the one type that owns
//! every rule of the queue, over the [`Store`] primitives each tier provides
//! (see store.rs for the seam). [`Filter`] is what readers select, and
//! [`open`] turns a location (`--queue`, `CQ_QUEUE`, or the XDG default)
//! into a queue.
//!
//! The rules, each decided here once for all tiers:
//! - a record is built in record/ only; appends never de-duplicate;
//! - a pull prints before it marks ([`Queue::pull`]);
//! - an acknowledgement is all or nothing ([`Queue::ack`]);
//! - compaction removes only pulled records completed before the cut-off
//!   ([`removable`]);
//! - a dead wrapper becomes exactly one lost record (`running::reap`,
//!   run before every pull, listing and wait);
//! - running jobs have one order ([`Queue::running`]);
//! - migration is the only de-duplication, and carries pulled state
//!   forward ([`Queue::migrate_to`]);
//! - a consumer that acts (`pull --exec`) counts attempts before each
//!   handler, acknowledges only on success, retries, parks dead letters,
//!   and compaction keeps what it has not finished (consume/).

pub mod bad;
pub mod consume;
pub(crate) mod files;
mod filter;
pub mod jsonl;
#[cfg(feature = "kafka")]
pub mod kafka;
pub(crate) mod location;
mod migrate;
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
use crate::watch::Deadline;
pub use filter::Filter;
#[cfg(feature = "kafka")]
pub use location::kafka_in_process;
pub use location::{Location, Source, Where};
pub use running::Job;
use std::collections::{HashMap, HashSet};
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
    /// The command's `--timeout`, handed to every store call that can
    /// block.
    deadline: std::cell::Cell<Deadline>,
    /// Bad entries already named by this process.
    named: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Queue {
    pub fn new(store: Box<dyn Store>) -> Queue {
        Queue {
            store,
            deadline: Default::default(),
            named: Default::default(),
        }
    }

    /// Bounds every wait of this queue's calls from now on (a lock another
    /// process holds, a busy database, a server that does not answer) by
    /// `deadline`: such a call fails with exit 124 once it has passed.
    pub fn set_deadline(&self, deadline: Deadline) {
        self.deadline.set(deadline);
    }

    pub fn deadline(&self) -> Deadline {
        self.deadline.get()
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

    /// Appends one record line (as record/ built it), durably. Never
    /// de-duplicates: a returning wrapper's real record follows its lost
    /// one, with the same id, and both are delivered.
    pub fn append(&self, line: &str) -> Result<()> {
        self.store.append(self.deadline(), &[Stored::parse(line)?])
    }

    /// Appends record lines (as record/ built them) in one go, durably:
    /// `cq push --batch`.
    pub fn append_many(&self, lines: &[String]) -> Result<()> {
        let recs = lines
            .iter()
            .map(|l| Stored::parse(l))
            .collect::<Result<Vec<_>>>()?;
        self.store.append(self.deadline(), &recs)
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
        self.check_group(group)?;
        self.pull_as(Some(group), limit, deliver)
    }

    /// The one `--group` check, for every command that takes one: a name,
    /// and a tier with consumer groups.
    fn check_group(&self, group: &str) -> Result<()> {
        if group.is_empty() {
            return Err(Error::usage("a group name must not be empty"));
        }
        if !self.store.has_groups() {
            let (tiers, forms) = Tier::with_groups();
            return Err(Error::usage(format!(
                "consumer groups (--group {group}) need the {tiers} tier (CQ_QUEUE={forms}); this queue is on the {} tier",
                self.store.tier()
            )));
        }
        Ok(())
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
        running::reap(&*self.store, self.deadline())?;
        self.say_if_missing();
        let mut left = limit.unwrap_or(usize::MAX);
        let mut total = 0;
        while left > 0 {
            let want = left.min(self.store.pull_slice());
            let taken = self.store.take(self.deadline(), group, want);
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
                e.reworded(msg)
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
        let found = self
            .store
            .find(self.deadline(), ids, &mut every_id_pending(ids))?;
        let chosen = oldest_pending(found.hits());
        if let Some(id) = ids.iter().find(|i| !chosen.contains_key(i.as_str())) {
            // `cq ack build`: a name where an id belongs.
            let hint = if uuid::Uuid::parse_str(id).is_err() {
                " (cq ack takes record ids, as cq list --pending --columns name,id shows them; cq wait --pull NAME acknowledges by name)"
            } else {
                ""
            };
            return Err(Error::no_record(format!(
                "no record with id {id} in {}; nothing marked{hint}",
                self.store.describe()
            )));
        }
        let at: Vec<store::Pos> = chosen.values().flatten().copied().collect();
        let swept = found.also_marks(&at);
        found.mark(&at)?;
        if !swept.is_empty() {
            crate::error::warn(&format!(
                "{} acknowledges by offset: {} earlier pending record(s) of the same partition marked pulled too ({})",
                self.store.describe(),
                swept.len(),
                swept.join(", ")
            ));
        }
        Ok(at.len())
    }

    /// Streams the records matching `filter`, oldest first: all of them when
    /// `from` is `None`, else those appended since the listing that returned
    /// `from`. Returns the mark to continue from (for `--follow`).
    pub fn list(&self, filter: &Filter, from: Option<&Mark>, each: &mut Each) -> Result<Mark> {
        // A listing still answers when the lost records cannot be written.
        let _ = running::reap(&*self.store, self.deadline());
        self.say_if_missing();
        let mark = self
            .store
            .scan(self.deadline(), from, filter.pending, &mut |s| {
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
        let r = self.store.remove(self.deadline(), &|v| {
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
        let jobs = running::reap(&*self.store, self.deadline());
        self.report_bad("skipped");
        let mut jobs = jobs?;
        jobs.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
        Ok(jobs)
    }

    /// Something to sleep on until the queue may have changed.
    pub fn waiter(&self) -> Result<Box<dyn Waiter + '_>> {
        self.store.waiter(self.deadline())
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
        if left.is_zero() || e.kind() == crate::error::Kind::Usage {
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
    crate::config::get()
        .append_retry
        .unwrap_or(std::time::Duration::from_secs(60))
}

/// Which record an acknowledgement of an id reaches: the oldest pending one
/// (a lost record and its wrapper's real one share an id, and each ack
/// reaches the next). Per id found: that record's position, or `None` when
/// every record of it is pulled. The one owner of this rule: stores only
/// report what they found, in store order.
fn oldest_pending(hits: &[store::Hit]) -> HashMap<&str, Option<store::Pos>> {
    let mut chosen: HashMap<&str, Option<store::Pos>> = HashMap::new();
    for h in hits {
        let at = chosen.entry(h.id.as_str()).or_default();
        if at.is_none() && !h.pulled {
            *at = Some(h.pos);
        }
    }
    chosen
}

/// Told the hits oldest first: whether they already hold a pending record
/// of every id. Then no later record can change what [`oldest_pending`]
/// chooses, and a store may stop reading (an ack of the oldest record of a
/// 100,000-line file read all of it). Keeps the ids still without one, so
/// each hit costs one lookup (an ack of 20,000 ids that looked at every hit
/// again took 24 s).
fn every_id_pending(ids: &[String]) -> impl FnMut(&store::Hit) -> bool + '_ {
    let mut left: HashSet<&str> = ids.iter().map(String::as_str).collect();
    move |h| {
        if !h.pulled {
            left.remove(h.id.as_str());
        }
        left.is_empty()
    }
}

/// Refuses an empty id before anything is looked up (`cq ack ""`).
pub fn check_ids(ids: &[String]) -> Result<()> {
    match ids.iter().find(|i| i.trim().is_empty()) {
        Some(bad) => Err(Error::usage(format!("invalid record id '{bad}'"))),
        None => Ok(()),
    }
}

pub fn open(loc: &Location) -> Result<Queue> {
    crate::config::check()?;
    Ok(Queue::new(location::open_store(loc)?))
}

#[cfg(test)]
mod tests;
