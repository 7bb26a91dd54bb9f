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
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::BaseProducer;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

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
