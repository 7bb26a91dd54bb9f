//! The Kafka tier's queue: the connection state one process keeps
//! (producer, reader, topics seen, its job's lease), shared by the files of
//! kafka/ that implement it.

use super::ctx::Ctx;
use super::msg::Msg;
use super::session::Session;
use super::url::Url;
use crate::error::Error;
use crate::queue::bad::BadEntries;
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::BaseProducer;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

pub struct KafkaQueue {
    pub(super) url: Url,
    pub(super) shown: String,
    pub(super) producer: OnceCell<BaseProducer<Ctx>>,
    /// A consumer of the default group that never joins it: it reads by
    /// assignment and commits for `ack` and `migrate`.
    pub(super) reader: OnceCell<BaseConsumer<Ctx>>,
    /// Topics this process saw exist, with their partitions: a wrap checks
    /// its topic before CMD and appends after, one metadata request.
    pub(super) topics: RefCell<HashMap<String, Vec<i32>>>,
    /// Whether librdkafka was nudged to fetch its producer id now.
    pub(super) kicked: std::cell::Cell<bool>,
    /// The job this process runs, for renewing its lease.
    pub(super) job: RefCell<Option<Job>>,
    /// A random name for this reader's claims.
    pub(super) me: String,
    /// Why the brokers could not be reached, once they could not.
    pub(super) unreachable: OnceCell<String>,
    /// The lease deadlines (ms) of the jobs last read as registered.
    pub(super) leased: RefCell<HashMap<String, u64>>,
    pub(super) bad: BadEntries,
    /// The group session a pull keeps between its slices (pull.rs).
    pub(super) session: RefCell<Option<Session>>,
    /// The command's deadline, as the last store call was handed it:
    /// every librdkafka bound is cut to what is left of it (see `bound`).
    pub(super) call: Cell<Deadline>,
}

impl KafkaQueue {
    pub fn new(url: Url) -> Self {
        Self {
            shown: url.shown(),
            url,
            producer: OnceCell::new(),
            reader: OnceCell::new(),
            topics: RefCell::new(HashMap::new()),
            kicked: std::cell::Cell::new(false),
            job: RefCell::new(None),
            me: uuid::Uuid::now_v7().to_string(),
            unreachable: OnceCell::new(),
            leased: RefCell::new(HashMap::new()),
            bad: Default::default(),
            session: RefCell::new(None),
            call: Cell::new(Deadline::default()),
        }
    }
}

impl KafkaQueue {
    pub(super) fn lease_topic(&self) -> String {
        format!("{}-cq-running", self.url.topic)
    }

    pub(super) fn facts_topic(&self) -> String {
        format!("{}-cq-facts", self.url.topic)
    }

    /// Bounds this queue's calls by `dl` from now on. Not put back after
    /// the call: a command has one deadline, and the calls without one of
    /// their own (a wrapper's lease, the teardown) keep to it too.
    pub(super) fn during(&self, dl: Deadline) {
        self.call.set(dl);
    }

    /// `bound`, or what is left of the command's deadline when that comes
    /// sooner; at least 1 ms, so that an answer already there is still read.
    pub(super) fn bound(&self, bound: Duration) -> Duration {
        self.call.get().cap(bound).max(Duration::from_millis(1))
    }

    /// Whether the command's deadline has passed.
    pub(super) fn expired(&self) -> bool {
        self.call.get().expired()
    }

    /// The failure of a call cut short: the deadline's when it passed
    /// (exit 124), else `e`.
    pub(super) fn ran_out(&self, e: Error) -> Error {
        if self.expired() {
            return Deadline::timed_out(&format!("{} (they do not answer)", self.brokers()));
        }
        e
    }

    /// The brokers, as a wait names them.
    pub(super) fn brokers(&self) -> String {
        format!("the Kafka brokers at {}", self.shown)
    }

    /// A message about this queue that never holds the password.
    pub(super) fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        crate::error::scrubbed(
            &format!("{what} {}: {e}", self.shown),
            self.url.password.as_deref(),
        )
    }

    /// The record a message holds, or None (the bad entry noted).
    pub(super) fn stored(&self, m: &Msg, pulled: bool) -> Option<Stored> {
        Stored::from_store(m.value.clone()?, pulled)
            .map_err(|why| {
                self.bad
                    .note(format!("partition {} offset {}", m.part, m.offset), why)
            })
            .ok()
    }
}
