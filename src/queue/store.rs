//! The seam between the rules and the tiers: [`Store`], the primitives one
//! tier provides. No rule lives behind it. What a record is, when one is
//! marked pulled, which record an acknowledgement reaches and what it may
//! fail on, which records a compaction may remove, when a dead wrapper
//! becomes a lost record, what a migration copies: all of that is decided
//! once, in `queue/mod.rs` (and `running.rs`), and every tier inherits it.
//!
//! Every call that can block on another party (a lock, a busy database, a
//! server, a group join) is handed the command's [`Deadline`] and waits no
//! longer; a store never prints and never waits without one.
//!
//! A fifth tier is one file implementing [`Store`] (with
//! [`running::Registry`](super::running::Registry) for its running jobs),
//! one [`Tier`] arm and one [`Location`](super::Location) arm; the
//! conformance suite in tests/tiers.rs then proves it keeps the rules.

use super::running::Registry;
use crate::error::Result;
use crate::record::View;
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use std::time::Instant;

/// Called for each stored record a scan meets, oldest first; `Ok(false)`
/// stops the scan.
pub type Scan<'a> = dyn FnMut(Stored) -> Result<bool> + 'a;

pub trait Store: Registry {
    fn tier(&self) -> Tier;
    /// The entries that were not records met since the last call (the
    /// queue names them; a store never prints).
    fn bad_entries(&self) -> Vec<super::bad::Bad>;
    /// What this tier keeps besides the records (side files, side keys),
    /// as a person would look for them: for `cq where`.
    fn side_files(&self) -> Vec<String>;
    /// Whether the queue is known not to exist yet (a local file that was
    /// never created); a networked tier answers false.
    fn missing(&self) -> bool {
        false
    }
    /// How to name this queue in messages (never with a password).
    fn describe(&self) -> String;
    /// Fails unless a record could be appended now; creates the queue when
    /// it does not exist. Never waits for a lock.
    fn check_writable(&self) -> Result<()>;
    /// Appends the records in order, durably, each as given: never skips
    /// one (two records may share an id). A record given as pulled is
    /// stored pulled (where marking goes by position, as far as the
    /// position allows: see [`ack_sweeps_earlier`](Store::ack_sweeps_earlier)).
    fn append(&self, dl: Deadline, recs: &[Stored]) -> Result<()>;
    /// Every record oldest first, pulled ones in their pulled form, from
    /// the start or from where the scan that returned `from` stopped.
    /// `pending_hint` lets the store skip what it knows to be pulled.
    /// Returns the mark to continue from.
    fn scan(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        pending_hint: bool,
        each: &mut Scan,
    ) -> Result<Mark>;
    /// Takes the pull turn of `group` (the default consumer when `None`):
    /// a lock, a transaction, a consumer-group member; and selects up to
    /// `limit` pending records, oldest first. Nothing is marked until
    /// [`Taken::mark`]; dropping the [`Taken`] gives the turn back.
    fn take(&self, dl: Deadline, group: Option<&str>, limit: usize) -> Result<Box<dyn Taken + '_>>;
    /// How many records a pull takes at a time (see `Queue::pull`).
    fn pull_slice(&self) -> usize {
        10_000
    }
    /// Reports every record with these ids (see [`Found`]), holding what
    /// marking them needs (a lock, a transaction) until [`Found::mark`].
    /// A store that reads its records in order may tell `decided` each hit
    /// and stop once it says the hits so far settle every choice (the
    /// queue's rule, handed in: later records could change none).
    fn find(&self, dl: Deadline, ids: &[String], decided: Decided) -> Result<Box<dyn Found + '_>>;
    /// Removes records `may_go` allows; a store that can only cut its head
    /// (a stream) stops at the first record that must stay.
    fn remove(&self, dl: Deadline, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport>;
    /// Registers a job whose wrapper is about to run CMD.
    fn start(&self, job: &Job) -> Result<()>;
    /// Forgets a running job (best effort).
    fn finish(&self, id: &str);
    /// Whether a running job is a lease its wrapper renews (networked
    /// tiers: readers on other hosts cannot judge a pid).
    fn leased(&self) -> bool {
        false
    }
    /// Renews a running job's lease (best effort).
    fn renew(&self, id: &str) {
        let _ = id;
    }
    /// Something to sleep on until the queue may have changed; `dl` is
    /// the command's deadline, which no wait of it outlasts.
    fn waiter(&self, dl: Deadline) -> Result<Box<dyn Waiter + '_>>;
    /// Whether marking a record pulled also marks every earlier record of
    /// its partition (Kafka's offsets).
    fn ack_sweeps_earlier(&self) -> bool {
        false
    }
    /// Whether independent consumer groups exist here.
    fn has_groups(&self) -> bool {
        false
    }
    /// Appends consumer facts (one JSON object each, no newline: an
    /// attempt begun, a failure, a success, a dead letter, a retry) to the
    /// queue's append-only fact log, in order, durably: they are on disk
    /// (or acknowledged by the server) before this returns. The store
    /// keeps them as given; what they mean is decided in `queue/consume/`.
    fn append_facts(&self, dl: Deadline, facts: &[String]) -> Result<()>;
    /// The fact log oldest first, from the start or from where the scan
    /// that returned `from` stopped; returns the mark to continue from.
    fn scan_facts(&self, dl: Deadline, from: Option<&Mark>, each: &mut FactScan) -> Result<Mark>;
    /// Makes records pending again for `group` (the default consumer when
    /// `None`): every record from the first one `from` matches to the end,
    /// in each partition where the store has partitions (Kafka), without
    /// changing a record's content. Returns how many were pulled and are
    /// pending now.
    fn replay(
        &self,
        dl: Deadline,
        group: Option<&str>,
        from: &dyn Fn(&View) -> bool,
    ) -> Result<usize>;
    /// Moves whatever index says where pending records begin (the JSONL
    /// cursor) past the records acknowledged one by one, so that pulls
    /// keep reading only the pending part. Nothing to do elsewhere.
    fn settle(&self, _dl: Deadline) -> Result<()> {
        Ok(())
    }
}

/// Called for each fact a scan meets, oldest first.
pub type FactScan<'a> = dyn FnMut(&[u8]) -> Result<()> + 'a;

/// Pending records selected by a pull, and the turn that holds them.
pub trait Taken {
    fn records(&self) -> &[Stored];
    /// Marks what was selected pulled (also what was passed over, such as
    /// a message that is not a record) and gives the turn back.
    fn mark(self: Box<Self>) -> Result<()>;
}

/// Told each hit `find` meets, in store order: whether the hits so far
/// settle the acknowledgement (see `Store::find`). Called once a hit, so it
/// keeps its own count rather than look at them all again.
pub type Decided<'a> = &'a mut dyn FnMut(&Hit) -> bool;

/// Records found by id for an acknowledgement: facts only. Which of them
/// an acknowledgement marks is the queue's rule (`Queue::ack`), not the
/// store's.
pub trait Found {
    /// Every record whose id was asked, oldest first, each once. (Two
    /// allowances, for records that could change no choice: those an index
    /// of the store's own says are pulled, the part before the JSONL
    /// cursor, may be left out for an id that has a record after them; and
    /// those after the point where `find`'s `decided` held.)
    fn hits(&self) -> &[Hit];
    /// The names of the other pending records that marking these positions
    /// marks too, oldest first: a fact for the queue to report, where a
    /// store marks by offset (Kafka). None elsewhere.
    fn also_marks(&self, at: &[Pos]) -> Vec<String> {
        let _ = at;
        Vec::new()
    }
    /// Marks exactly the records at these positions pulled, all or nothing,
    /// and gives back whatever `find` held (a lock, a transaction).
    fn mark(self: Box<Self>, at: &[Pos]) -> Result<()>;
}

/// A record `find` met: where it is, its id, and whether it is pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub pos: Pos,
    pub id: String,
    /// Also true for a record the store could not mark (a JSONL line whose
    /// `pulled` is not spelt as cq writes it): nothing can flip it.
    pub pulled: bool,
}

/// Where a found record is, in a form only its tier reads: a byte offset
/// (JSONL), a row (SQLite), an entry id's two halves (Redis), a partition
/// and an offset (Kafka). The queue passes it back untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos(pub u64, pub u64);

/// A pull that found nothing to select.
pub struct Nothing;

impl Taken for Nothing {
    fn records(&self) -> &[Stored] {
        &[]
    }
    fn mark(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

/// What a compaction did.
pub struct CompactReport {
    pub removed: usize,
    pub kept: usize,
    /// What the tier wants said about compaction there (Kafka: retention
    /// is the broker's).
    pub note: Option<String>,
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
