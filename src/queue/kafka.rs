//! The Kafka tier (`kafka://host:port[,host:port…]/TOPIC[?group=NAME]`):
//! the rubric's "millions per second" row, through librdkafka (the
//! `rdkafka` crate, librdkafka built from source).
//!
//! Each record is one message: the record line (`"pulled":false`) as value,
//! the job name as key, so one job's records stay in one partition and in
//! order. A push is an idempotent produce with `acks=all`. "Pulled" means
//! below the consumer group's committed offset: a pull joins the group
//! (default `cq`, or `?group=`), reads its partitions to their ends, prints
//! and flushes, then commits (at-least-once). Kafka acknowledges by offset,
//! so `cq ack ID` commits past that record and so acknowledges every earlier
//! record of its partition. The broker's retention removes records, not
//! `cq compact`.
//!
//! Running jobs live in a side topic, `TOPIC-cq-running` (one partition,
//! compacted, keyed by job id): the wrapper produces its job with a lease
//! deadline and renews it; its end is a tombstone. A reader that finds a
//! lease expired (or, on the wrapper's own host, its process gone) produces
//! a claim, reads the partition back, and only the first claim in the log's
//! order writes the `"lost":true` record: the partition's total order is
//! the set-if-absent that decides, across readers and hosts.

use super::{CompactReport, Deliver, Each, Filter, Job, Mark, Queue, Stored, Waiter, running};
use crate::error::{Error, Result};
use crate::record;
use crate::time::Cutoff;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const GROUP: &str = "cq";
/// How long a broker may take to answer a metadata or offset request.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a produce may take before it counts as failed.
const DELIVERY: Duration = Duration::from_secs(30);
/// A member that stops heartbeating leaves the group after this long; a
/// pull that finds a SIGKILLed puller's partitions waits at most this.
const SESSION_MS: u64 = 10_000;
/// How long a pull assigned no partition waits for a rebalance that gives
/// it one before it reports nothing.
const EMPTY_GRACE: Duration = Duration::from_millis(500);

/// The parts of a `kafka://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub partitions: i32,
    user: Option<String>,
    password: Option<String>,
    sasl: Option<String>,
    tls: bool,
    ca: Option<String>,
}

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::usage("invalid %-escape in the kafka:// URL"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::usage("the kafka:// URL is not valid UTF-8"))
}

/// Kafka's rule for topic and group names: letters, digits, `.`, `_`, `-`.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

impl Url {
    /// Parses the URL; errors never echo it (it may hold a password).
    pub fn parse(raw: &str) -> Result<Url> {
        let rest = raw
            .strip_prefix("kafka://")
            .ok_or_else(|| Error::usage("a Kafka queue URL starts with kafka://"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, topic) = rest.split_once('/').unwrap_or((rest, ""));
        let (auth, hosts) = match authority.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, authority),
        };
        let (user, password) = match auth {
            Some(a) => {
                let (u, p) = a.split_once(':').unwrap_or((a, ""));
                (
                    Some(percent_decode(u)?),
                    Some(percent_decode(p)?).filter(|p| !p.is_empty()),
                )
            }
            None => (None, None),
        };
        if hosts.is_empty()
            || hosts.split(',').any(|h| {
                h.rsplit_once(':')
                    .is_none_or(|(n, p)| n.is_empty() || p.parse::<u16>().is_err())
            })
        {
            return Err(Error::usage(
                "a kafka:// URL needs brokers as host:port[,host:port...]",
            ));
        }
        if !valid_name(topic) {
            return Err(Error::usage(
                "a kafka:// URL needs a topic: kafka://host:port/TOPIC (letters, digits, '.', '_', '-')",
            ));
        }
        let mut url = Url {
            brokers: hosts.to_string(),
            topic: topic.to_string(),
            group: GROUP.to_string(),
            partitions: 1,
            user,
            password,
            sasl: None,
            tls: false,
            ca: None,
        };
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = percent_decode(v)?;
            match k {
                "group" if valid_name(&v) => url.group = v,
                "partitions" => {
                    url.partitions = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| {
                            Error::usage("partitions= in a kafka:// URL must be a number from 1")
                        })?
                }
                "sasl" if !v.is_empty() => url.sasl = Some(v.to_ascii_uppercase()),
                "tls" => {
                    url.tls = match v.as_str() {
                        "" | "1" | "true" | "yes" => true,
                        "0" | "false" | "no" => false,
                        _ => return Err(Error::usage("tls= in a kafka:// URL is true or false")),
                    }
                }
                "ca" if !v.is_empty() => {
                    url.ca = Some(v);
                    url.tls = true;
                }
                _ => {
                    return Err(Error::usage(format!(
                        "unknown or empty option '{k}' in the kafka:// URL (known: group, partitions, sasl, tls, ca)"
                    )));
                }
            }
        }
        Ok(url)
    }

    /// The URL as it may be printed.
    fn shown(&self) -> String {
        let auth = match &self.user {
            Some(u) if self.password.is_some() => format!("{u}:***@"),
            Some(u) => format!("{u}@"),
            None => String::new(),
        };
        format!("kafka://{auth}{}/{}", self.brokers, self.topic)
    }
}

/// What librdkafka tells cq from its own threads: deliveries, the last
/// error, and rebalances.
#[derive(Default)]
struct Ctx {
    delivered: AtomicUsize,
    failed: Mutex<Option<String>>,
    placed: Mutex<Vec<(i32, i64)>>,
    last_error: Mutex<Option<String>>,
    /// Bumped on every rebalance; the assignment it produced.
    epoch: AtomicU64,
    assigned: Mutex<Option<Vec<i32>>>,
}

impl ClientContext for Ctx {
    fn error(&self, error: KafkaError, reason: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(format!("{error}: {reason}"));
    }
    fn log(&self, _: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        // Only asked for by CQ_KAFKA_DEBUG; librdkafka is silent otherwise.
        if debug().is_some() {
            static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            let ms = T0.get_or_init(Instant::now).elapsed().as_millis();
            eprintln!("cq: librdkafka +{ms}ms {fac}: {msg}");
        }
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        match r {
            Ok(m) => self
                .placed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((m.partition(), m.offset())),
            Err((e, _)) => {
                *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string())
            }
        }
        self.delivered.fetch_add(1, Ordering::SeqCst);
    }
}

impl ConsumerContext for Ctx {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let mut a = self.assigned.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Rebalance::Assign(tpl) => {
                *a = Some(tpl.elements().iter().map(|e| e.partition()).collect());
            }
            Rebalance::Revoke(_) => *a = None,
            Rebalance::Error(e) => {
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string())
            }
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs a future of librdkafka's admin API to completion on this thread
/// (its results arrive from librdkafka's own thread; no runtime needed).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

/// librdkafka's `debug` contexts from `$CQ_KAFKA_DEBUG` (e.g. `cgrp,fetch`
/// or `all`), for seeing what a broker does to cq.
fn debug() -> Option<String> {
    std::env::var("CQ_KAFKA_DEBUG")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Why a client got nowhere: `e`, and librdkafka's last error if any.
fn why(last: &Mutex<Option<String>>, e: impl std::fmt::Display) -> String {
    match last.lock().unwrap_or_else(|e| e.into_inner()).take() {
        Some(l) => format!("{e} ({l})"),
        None => e.to_string(),
    }
}

/// Leaves the consumer group at once. (Dropping the consumer does too, but
/// waits in 100 ms polls that a finished close does not cut short.)
fn leave(c: BaseConsumer<Ctx>) {
    if c.close_queue().is_ok() {
        let deadline = Instant::now() + TIMEOUT;
        while !c.closed() && Instant::now() < deadline {
            c.poll(Duration::from_millis(2));
        }
    }
    drop(c);
}

/// A message as read: partition, offset, key, value (None: a tombstone).
struct Msg {
    part: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

/// Records with where they are, oldest first, and each partition's end.
type Scanned = (Vec<(Msg, Stored)>, HashMap<i32, i64>);

/// One entry of the running-jobs topic.
#[derive(Serialize, Deserialize)]
struct Lease {
    job: Job,
    /// Wall-clock ms after which, without renewal, the wrapper is gone.
    until_ms: u64,
    /// Set on a reader's claim to write the job's lost record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
    #[serde(default)]
    claimed_ms: u64,
}

enum LeaseState {
    Running(Lease),
    Claimed(Lease),
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub struct KafkaQueue {
    url: Url,
    shown: String,
    producer: OnceCell<BaseProducer<Ctx>>,
    /// A consumer of the default group that never joins it: it reads by
    /// assignment and commits for `ack` and `migrate`.
    reader: OnceCell<BaseConsumer<Ctx>>,
    /// Whether librdkafka was nudged to fetch its producer id now.
    kicked: std::cell::Cell<bool>,
    /// The job this process runs, for renewing its lease.
    job: RefCell<Option<Job>>,
    /// A random name for this reader's claims.
    me: String,
}

impl KafkaQueue {
    pub fn new(raw: &str) -> Result<Self> {
        let url = Url::parse(raw)?;
        Ok(Self {
            shown: url.shown(),
            url,
            producer: OnceCell::new(),
            reader: OnceCell::new(),
            kicked: std::cell::Cell::new(false),
            job: RefCell::new(None),
            me: uuid::Uuid::now_v7().to_string(),
        })
    }

    fn lease_topic(&self) -> String {
        format!("{}-cq-running", self.url.topic)
    }

    /// A message about this queue that never holds the password.
    fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        let mut msg = format!("{what} {}: {e}", self.shown);
        if let Some(p) = &self.url.password {
            msg = msg.replace(p.as_str(), "***");
        }
        Error::new(msg)
    }

    fn config(&self) -> ClientConfig {
        let u = &self.url;
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &u.brokers)
            .set("client.id", "cq")
            .set("allow.auto.create.topics", "false")
            .set("socket.nagle.disable", "true")
            .set("topic.metadata.refresh.interval.ms", "-1")
            // librdkafka waits half of this before connecting to the broker
            // a bootstrap server names (50 ms of every command by default).
            .set("reconnect.backoff.ms", "10");
        let protocol = match (u.user.is_some(), u.tls) {
            (true, true) => "sasl_ssl",
            (true, false) => "sasl_plaintext",
            (false, true) => "ssl",
            (false, false) => "plaintext",
        };
        c.set("security.protocol", protocol);
        if let Some(d) = debug() {
            c.set("debug", d)
                .set_log_level(rdkafka::config::RDKafkaLogLevel::Debug);
        }
        if let Some(user) = &u.user {
            c.set("sasl.mechanisms", u.sasl.as_deref().unwrap_or("PLAIN"))
                .set("sasl.username", user)
                .set("sasl.password", u.password.as_deref().unwrap_or(""));
        }
        if let Some(ca) = &u.ca {
            c.set("ssl.ca.location", ca);
        }
        c
    }

    fn producer(&self) -> Result<&BaseProducer<Ctx>> {
        if let Some(p) = self.producer.get() {
            return Ok(p);
        }
        let p: BaseProducer<Ctx> = self
            .config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            // One record per batch: a broker seen here (tansu 0.6) cannot
            // fetch from an offset inside a multi-record batch, so a pull
            // that committed half a batch (cq migrate wrote one) would
            // never read the rest. Only bulk copies pay for it.
            .set("batch.num.messages", "1")
            .set("message.timeout.ms", DELIVERY.as_millis().to_string())
            .create_with_context(Ctx::default())
            .map_err(|e| self.fail("cannot set up a Kafka producer for", e))?;
        Ok(self.producer.get_or_init(|| p))
    }

    fn reader(&self) -> Result<&BaseConsumer<Ctx>> {
        if let Some(c) = self.reader.get() {
            return Ok(c);
        }
        let c = self.consumer(&self.url.group, true)?;
        Ok(self.reader.get_or_init(|| c))
    }

    fn consumer(&self, group: &str, eof: bool) -> Result<BaseConsumer<Ctx>> {
        self.config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", if eof { "true" } else { "false" })
            .set("session.timeout.ms", SESSION_MS.to_string())
            .set("heartbeat.interval.ms", "1000")
            // Readers read to the end and stop; some brokers (tansu) hold
            // every fetch for its whole max wait, so keep it short here.
            // The waiter sets its own, longer wait.
            .set("fetch.wait.max.ms", if eof { "10" } else { "200" })
            .set("fetch.error.backoff.ms", "50")
            .create_with_context(Ctx::default())
            .map_err(|e| self.fail("cannot set up a Kafka consumer for", e))
    }

    /// The topic's partitions, or None when it does not exist.
    fn partitions(&self, topic: &str) -> Result<Option<Vec<i32>>> {
        let p = self.producer()?;
        let md = p
            .client()
            .fetch_metadata(Some(topic), TIMEOUT)
            .map_err(|e| {
                let why = why(&p.context().last_error, e);
                self.fail("cannot reach Kafka at", why)
            })?;
        let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
            return Ok(None);
        };
        match t.error() {
            None => Ok(Some(t.partitions().iter().map(|p| p.id()).collect())),
            Some(e)
                if RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopicOrPartition
                    || RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopic =>
            {
                Ok(None)
            }
            Some(e) => Err(self.fail(
                &format!("cannot read topic {topic} of"),
                RDKafkaErrorCode::from(e),
            )),
        }
    }

    /// Creates the topic if it does not exist yet; returns its partitions.
    fn ensure_topic(&self, topic: &str, running: bool) -> Result<Vec<i32>> {
        if let Some(p) = self.partitions(topic)? {
            return Ok(p);
        }
        let admin: AdminClient<DefaultClientContext> = self
            .config()
            .create()
            .map_err(|e| self.fail("cannot set up a Kafka admin client for", e))?;
        let parts = if running { 1 } else { self.url.partitions };
        let mut t = NewTopic::new(topic, parts, TopicReplication::Fixed(1));
        if running {
            t = t.set("cleanup.policy", "compact");
        }
        let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
        let r = block_on(admin.create_topics([&t], &opts))
            .map_err(|e| self.fail(&format!("cannot create topic {topic} on"), e))?;
        for r in r {
            if let Err((_, code)) = r
                && code != RDKafkaErrorCode::TopicAlreadyExists
            {
                return Err(self.fail(&format!("cannot create topic {topic} on"), code));
            }
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(p) = self.partitions(topic)?
                && !p.is_empty()
            {
                return Ok(p);
            }
            if Instant::now() > deadline {
                return Err(self.fail(&format!("topic {topic} did not appear on"), "timed out"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Produces messages (key, value; None is a tombstone) and waits until
    /// the broker acknowledged every one; returns where each landed.
    fn produce(&self, topic: &str, msgs: &[(&str, Option<&[u8]>)]) -> Result<Vec<(i32, i64)>> {
        let p = self.producer()?;
        let ctx = p.context();
        let before = ctx.delivered.load(Ordering::SeqCst);
        ctx.placed.lock().unwrap_or_else(|e| e.into_inner()).clear();
        *ctx.failed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        for (key, value) in msgs {
            loop {
                let sent = match value {
                    Some(v) => p.send(BaseRecord::<str, [u8]>::to(topic).key(*key).payload(*v)),
                    None => p.send(BaseRecord::<str, [u8]>::to(topic).key(*key)),
                };
                match sent {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        p.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => return Err(self.fail("cannot produce to", e)),
                }
            }
        }
        if !self.kicked.replace(true) {
            // librdkafka asks for an idempotent producer id only on a
            // metadata reply or a 500 ms timer; a reply now saves the wait.
            let _ = p.client().fetch_metadata(Some(topic), TIMEOUT);
        }
        let deadline = Instant::now() + DELIVERY + TIMEOUT;
        while ctx.delivered.load(Ordering::SeqCst) - before < msgs.len() {
            if Instant::now() > deadline {
                return Err(self.fail("no acknowledgement from", "timed out"));
            }
            // A delivery report does not always wake a long poll at once
            // (seen: a whole 100 ms after the broker answered); poll short.
            p.poll(Duration::from_millis(2));
        }
        if let Some(e) = ctx.failed.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(self.fail("cannot produce to", e));
        }
        Ok(std::mem::take(
            &mut *ctx.placed.lock().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    /// The group's committed offset per partition (0 where none).
    fn committed(
        &self,
        c: &BaseConsumer<Ctx>,
        topic: &str,
        parts: &[i32],
    ) -> Result<HashMap<i32, i64>> {
        let mut tpl = TopicPartitionList::new();
        for &p in parts {
            tpl.add_partition(topic, p);
        }
        let got = c
            .committed_offsets(tpl, TIMEOUT)
            .map_err(|e| self.fail("cannot read committed offsets from", e))?;
        Ok(got
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(n) => (e.partition(), n),
                _ => (e.partition(), 0),
            })
            .collect())
    }

    /// Reads partitions from the given offsets up to their ends (the high
    /// watermarks of the fetches: librdkafka's end-of-partition events).
    /// Returns the messages and the next offset of each partition.
    ///
    /// Not `fetch_watermarks`: a broker seen here (tansu 0.6) answers
    /// ListOffsets with the last batch's base offset + 1, which cuts a
    /// multi-record batch short; its fetches carry the right watermark.
    fn read(
        &self,
        c: &BaseConsumer<Ctx>,
        topic: &str,
        starts: &HashMap<i32, i64>,
    ) -> Result<(Vec<Msg>, HashMap<i32, i64>)> {
        let mut next = starts.clone();
        let mut out = Vec::new();
        if starts.is_empty() {
            return Ok((out, next));
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &start) in starts {
            tpl.add_partition_offset(topic, p, Offset::Offset(start))
                .map_err(|e| self.fail("cannot read", e))?;
        }
        c.assign(&tpl).map_err(|e| self.fail("cannot read", e))?;
        let mut left: HashSet<i32> = starts.keys().copied().collect();
        let mut idle = Instant::now();
        while !left.is_empty() {
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    idle = Instant::now();
                    let (p, o) = (m.partition(), m.offset());
                    next.insert(p, o + 1);
                    out.push(Msg {
                        part: p,
                        offset: o,
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                    });
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    left.remove(&p);
                }
                Some(Err(e)) => return Err(self.fail("cannot read from", e)),
                None if idle.elapsed() > TIMEOUT * 2 => {
                    let why = why(&c.context().last_error, "timed out");
                    return Err(self.fail("cannot read from", why));
                }
                None => {}
            }
        }
        let _ = c.unassign();
        Ok((out, next))
    }

    /// Every record of the main topic from `starts`, oldest first, with its
    /// pulled state, and the next offsets.
    fn scan(&self, from: Option<&Mark>, pending_only: bool) -> Result<Scanned> {
        let Some(parts) = self.partitions(&self.url.topic)? else {
            return Ok((Vec::new(), HashMap::new()));
        };
        let c = self.reader()?;
        let committed = self.committed(c, &self.url.topic, &parts)?;
        let marked = from.map(|Mark(m)| parse_mark(m)).unwrap_or_default();
        let starts: HashMap<i32, i64> = parts
            .iter()
            .map(|&p| {
                let s = match marked.get(&p) {
                    Some(&o) => o,
                    None if from.is_some() => 0,
                    None if pending_only => committed.get(&p).copied().unwrap_or(0),
                    None => 0,
                };
                (p, s)
            })
            .collect();
        let (msgs, ends) = self.read(c, &self.url.topic, &starts)?;
        let mut out = Vec::new();
        for m in msgs {
            let pulled = m.offset < committed.get(&m.part).copied().unwrap_or(0);
            if pending_only && pulled {
                continue;
            }
            if let Some(s) = self.stored(&m, pulled) {
                out.push((m, s));
            }
        }
        Ok((merge(out), ends))
    }

    fn stored(&self, m: &Msg, pulled: bool) -> Option<Stored> {
        let v = m.value.as_deref()?;
        let line = if pulled {
            record::pulled_form(v)
        } else {
            v.to_vec()
        };
        match record::parse_line(&line) {
            Ok(view) => Some(Stored { line, view }),
            Err(e) => {
                eprintln!(
                    "cq: {} partition {} offset {}: not a record ({e}); skipped",
                    self.shown, m.part, m.offset
                );
                None
            }
        }
    }

    fn pull_as(&self, group: &str, limit: Option<usize>, deliver: &mut Deliver) -> Result<usize> {
        self.reap()?;
        let topic = self.url.topic.clone();
        if self.partitions(&topic)?.is_none() {
            return Ok(0);
        }
        let _turn = self.local_turn(group)?;
        let c = self.consumer(group, true)?;
        c.subscribe(&[&topic])
            .map_err(|e| self.fail("cannot join the consumer group on", e))?;
        let ctx = c.context();
        let deadline = Instant::now() + Duration::from_millis(SESSION_MS) + TIMEOUT * 2;
        let mut epoch = u64::MAX;
        let mut got: BTreeMap<i32, Vec<Msg>> = BTreeMap::new();
        let mut done: HashSet<i32> = HashSet::new();
        let mut assigned: Vec<i32> = Vec::new();
        let mut empty_since: Option<Instant> = None;
        loop {
            let now_epoch = ctx.epoch.load(Ordering::SeqCst);
            if now_epoch != epoch {
                // A rebalance: what was read may now be another member's.
                epoch = now_epoch;
                got.clear();
                done.clear();
                let now = ctx
                    .assigned
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                empty_since = now.as_ref().is_some_and(Vec::is_empty).then(Instant::now);
                assigned = now.unwrap_or_default();
            }
            if !assigned.is_empty() && assigned.iter().all(|p| done.contains(p)) {
                break;
            }
            // Joined, but other members hold every partition. That can
            // change at once (a member that was leaving), so give the group
            // a moment before reporting nothing.
            if empty_since.is_some_and(|t| t.elapsed() > EMPTY_GRACE) {
                leave(c);
                return Ok(0);
            }
            if Instant::now() > deadline {
                let why = why(&ctx.last_error, "timed out");
                return Err(self.fail(&format!("cannot join consumer group {group} on"), why));
            }
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => got.entry(m.partition()).or_default().push(Msg {
                    part: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                }),
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    done.insert(p);
                }
                Some(Err(e)) => return Err(self.fail("cannot read from", e)),
                None => {}
            }
        }
        // Oldest first across partitions, each partition in offset order,
        // so that what is committed is always a prefix of each partition.
        let limit = limit.unwrap_or(usize::MAX);
        let mut heads: Vec<std::collections::VecDeque<Msg>> =
            got.into_values().map(Into::into).collect();
        let mut next: HashMap<i32, i64> = HashMap::new();
        let mut batch = Vec::new();
        while batch.len() < limit {
            let pick = heads
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.front().map(|m| (i, order_key(m))))
                .min_by(|a, b| a.1.cmp(&b.1))
                .map(|(i, _)| i);
            let Some(i) = pick else { break };
            let m = heads[i].pop_front().expect("picked a non-empty head");
            next.insert(m.part, m.offset + 1);
            if let Some(s) = self.stored(&m, false) {
                batch.push(s);
            }
        }
        if !batch.is_empty()
            && let Err(e) = deliver(&batch)
        {
            return Err(Error::output(e));
        }
        if !next.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (p, o) in &next {
                tpl.add_partition_offset(&topic, *p, Offset::Offset(*o))
                    .map_err(|e| self.fail("cannot commit to", e))?;
            }
            c.commit(&tpl, CommitMode::Sync).map_err(|e| {
                self.fail(
                    &format!(
                        "printed {} record(s) but could not mark them pulled (they will be delivered again) on",
                        batch.len()
                    ),
                    e,
                )
            })?;
        }
        leave(c);
        Ok(batch.len())
    }

    /// Pulls of one group on this machine take turns, holding a lock file
    /// (`$XDG_STATE_HOME/cq/kafka/HASH.lock`) from joining the group to
    /// leaving it. A broker may hand a partition to a new member before
    /// the old one committed what it printed (seen with tansu under load):
    /// across machines that is Kafka's at-least-once; on one machine the
    /// turn makes it never.
    fn local_turn(&self, group: &str) -> Result<std::fs::File> {
        let key = format!("{}\n{}\n{}", self.url.brokers, self.url.topic, group);
        // FNV-1a: a short, stable file name for the triple.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let state = match super::Location::default_location() {
            Ok(super::Location::File(p)) => super::files::parent(&p),
            _ => std::env::temp_dir(),
        };
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        let mut last = None;
        for dir in [
            state.join("kafka"),
            std::env::temp_dir().join(format!("cq-{uid}")),
        ] {
            let path = dir.join(format!("{hash:016x}.lock"));
            let opened = super::files::ensure_dir(&dir, &self.shown).and_then(|()| {
                let mut o = std::fs::OpenOptions::new();
                o.read(true).write(true);
                super::files::open_or_create(&path, &o)
                    .map(|(f, _)| f)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
            });
            match opened {
                Ok(f) => {
                    f.lock()
                        .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
                    return Ok(f);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried at least one directory"))
    }

    /// The running-jobs topic folded into each job's state.
    fn leases(&self) -> Result<HashMap<String, LeaseState>> {
        let topic = self.lease_topic();
        let Some(parts) = self.partitions(&topic)? else {
            return Ok(HashMap::new());
        };
        let c = self.reader()?;
        let starts = parts.iter().map(|&p| (p, 0)).collect();
        let (msgs, _) = self.read(c, &topic, &starts)?;
        let mut state: HashMap<String, LeaseState> = HashMap::new();
        for m in msgs {
            let Some(v) = m.value else {
                // A tombstone: the job ended (its record is written).
                if let Some(k) = m.key {
                    state.remove(String::from_utf8_lossy(&k).as_ref());
                }
                continue;
            };
            let Ok(l) = serde_json::from_slice::<Lease>(&v) else {
                continue;
            };
            let id = l.job.id.clone();
            let prev = state.remove(&id);
            // The first claim after the lease wins; a renewal cannot undo
            // it; a claim whose claimer died long ago may be taken over.
            let next = match (prev, &l.claim) {
                (None | Some(LeaseState::Running(_)), None) => LeaseState::Running(l),
                (Some(LeaseState::Claimed(c)), None) => LeaseState::Claimed(c),
                (None | Some(LeaseState::Running(_)), Some(_)) => LeaseState::Claimed(l),
                (Some(LeaseState::Claimed(c)), Some(_)) => {
                    if l.claimed_ms > c.claimed_ms + 2 * running::lease_ttl().as_millis() as u64 {
                        LeaseState::Claimed(l)
                    } else {
                        LeaseState::Claimed(c)
                    }
                }
            };
            state.insert(id, next);
        }
        Ok(state)
    }

    /// Turns jobs whose wrapper is gone into lost records, once.
    fn reap(&self) -> Result<()> {
        let states = self.leases()?;
        if states.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let boot = running::this_boot();
        let ttl = 2 * running::lease_ttl().as_millis() as u64;
        let dead: Vec<&Lease> = states
            .values()
            .filter_map(|s| match s {
                LeaseState::Running(l) => {
                    let gone = if l.job.host == running::host() {
                        l.job.is_dead(running::host(), boot.as_deref())
                    } else {
                        now > l.until_ms
                    };
                    gone.then_some(l)
                }
                LeaseState::Claimed(l) => (now > l.claimed_ms + ttl).then_some(l),
            })
            .collect();
        if dead.is_empty() {
            return Ok(());
        }
        let topic = self.lease_topic();
        // A wrapper killed after writing its record only needs tidying.
        let known: HashSet<String> = self
            .scan(None, false)?
            .0
            .into_iter()
            .filter_map(|(_, s)| s.view.id)
            .collect();
        let mut claims = Vec::new();
        for l in &dead {
            if known.contains(&l.job.id) {
                self.produce(&topic, &[(l.job.id.as_str(), None)])?;
                continue;
            }
            let claim = Lease {
                job: l.job.clone(),
                until_ms: l.until_ms,
                claim: Some(self.me.clone()),
                claimed_ms: now,
            };
            let body = serde_json::to_vec(&claim).expect("a lease always serialises");
            self.produce(&topic, &[(l.job.id.as_str(), Some(&body))])?;
            claims.push(l.job.id.clone());
        }
        if claims.is_empty() {
            return Ok(());
        }
        let after = self.leases()?;
        for id in claims {
            let Some(LeaseState::Claimed(l)) = after.get(&id) else {
                continue;
            };
            if l.claim.as_deref() != Some(self.me.as_str()) || l.claimed_ms != now {
                continue; // another reader's claim came first
            }
            // A claim can come after an earlier winner's end: look again.
            let written = self
                .scan(None, false)?
                .0
                .iter()
                .any(|(_, s)| s.view.id.as_deref() == Some(id.as_str()));
            if !written {
                self.ensure_topic(&self.url.topic, false)?;
                let line = l.job.lost_record().to_line();
                let body = line.trim_end().as_bytes();
                self.produce(&self.url.topic, &[(l.job.name.as_str(), Some(body))])?;
            }
            self.produce(&topic, &[(id.as_str(), None)])?;
        }
        Ok(())
    }

    fn put_lease(&self, job: &Job) -> Result<()> {
        let l = Lease {
            job: job.clone(),
            until_ms: now_ms() + running::lease_ttl().as_millis() as u64,
            claim: None,
            claimed_ms: 0,
        };
        let body = serde_json::to_vec(&l).expect("a lease always serialises");
        self.produce(&self.lease_topic(), &[(job.id.as_str(), Some(&body))])
            .map(|_| ())
    }

    /// Adds records not already here; returns how many were added.
    fn add(&self, recs: &[Stored]) -> Result<usize> {
        let parts = self.ensure_topic(&self.url.topic, false)?;
        let (have, ends) = self.scan(None, false)?;
        let known: HashSet<String> = have.iter().map(|(_, s)| super::identity(s)).collect();
        let mut seen = HashSet::new();
        let fresh: Vec<&Stored> = recs
            .iter()
            .filter(|s| {
                let id = super::identity(s);
                !known.contains(&id) && seen.insert(id)
            })
            .collect();
        if fresh.is_empty() {
            return Ok(0);
        }
        let lines: Vec<Vec<u8>> = fresh
            .iter()
            .map(|s| record::pending_form(&s.line))
            .collect();
        let msgs: Vec<(&str, Option<&[u8]>)> = fresh
            .iter()
            .zip(&lines)
            .map(|(s, l)| (s.view.name.as_str(), Some(l.as_slice())))
            .collect();
        let placed = self.produce(&self.url.topic, &msgs)?;
        // Kafka marks by offset: records arriving pulled are marked only
        // where they extend the committed prefix of their partition.
        if fresh.iter().any(|s| s.view.pulled() == record::Pulled::Yes)
            && placed.len() == fresh.len()
        {
            let c = self.reader()?;
            let committed = self.committed(c, &self.url.topic, &parts)?;
            let mut by_part: BTreeMap<i32, Vec<(i64, bool)>> = BTreeMap::new();
            for ((p, o), s) in placed.iter().zip(&fresh) {
                by_part
                    .entry(*p)
                    .or_default()
                    .push((*o, s.view.pulled() == record::Pulled::Yes));
            }
            let mut tpl = TopicPartitionList::new();
            for (p, mut v) in by_part {
                v.sort();
                let mut next = committed.get(&p).copied().unwrap_or(0);
                if next < ends.get(&p).copied().unwrap_or(0) {
                    continue; // pending records already here come first
                }
                for (o, pulled) in v {
                    if o == next && pulled {
                        next = o + 1;
                    } else {
                        break;
                    }
                }
                if next > committed.get(&p).copied().unwrap_or(0) {
                    tpl.add_partition_offset(&self.url.topic, p, Offset::Offset(next))
                        .map_err(|e| self.fail("cannot commit to", e))?;
                }
            }
            if tpl.count() > 0 {
                c.commit(&tpl, CommitMode::Sync)
                    .map_err(|e| self.fail("cannot mark imported records pulled on", e))?;
            }
        }
        Ok(fresh.len())
    }
}

/// The order records are delivered in across partitions.
fn order_key(m: &Msg) -> (String, i32, i64) {
    let t = m
        .value
        .as_deref()
        .and_then(|v| record::parse_line(v).ok())
        .and_then(|v| v.completed_at)
        .unwrap_or_default();
    (t, m.part, m.offset)
}

/// Interleaves partitions by completion time, each in offset order.
fn merge(items: Vec<(Msg, Stored)>) -> Vec<(Msg, Stored)> {
    let mut parts: BTreeMap<i32, std::collections::VecDeque<(Msg, Stored)>> = BTreeMap::new();
    for it in items {
        parts.entry(it.0.part).or_default().push_back(it);
    }
    if parts.len() <= 1 {
        return parts.into_values().flatten().collect();
    }
    let mut out = Vec::new();
    loop {
        let pick = parts
            .iter()
            .filter_map(|(p, q)| {
                q.front().map(|(m, s)| {
                    (
                        *p,
                        (
                            s.view.completed_at.clone().unwrap_or_default(),
                            m.part,
                            m.offset,
                        ),
                    )
                })
            })
            .min_by(|a, b| a.1.cmp(&b.1))
            .map(|(p, _)| p);
        let Some(p) = pick else { return out };
        out.extend(parts.get_mut(&p).and_then(|q| q.pop_front()));
    }
}

/// `0:12,1:7` → next offset per partition.
fn parse_mark(m: &str) -> HashMap<i32, i64> {
    m.split(',')
        .filter_map(|kv| {
            let (p, o) = kv.split_once(':')?;
            Some((p.parse().ok()?, o.parse().ok()?))
        })
        .collect()
}

fn mark_of(next: &HashMap<i32, i64>) -> Mark {
    let mut v: Vec<_> = next.iter().collect();
    v.sort();
    Mark(
        v.iter()
            .map(|(p, o)| format!("{p}:{o}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

impl Queue for KafkaQueue {
    fn check_writable(&self) -> Result<()> {
        self.ensure_topic(&self.url.topic, false).map(|_| ())
    }

    fn append(&self, line: &str) -> Result<()> {
        let body = line.trim_end_matches('\n').as_bytes();
        let view =
            record::parse_line(body).map_err(|e| Error::new(format!("not a record: {e}")))?;
        self.ensure_topic(&self.url.topic, false)?;
        self.produce(&self.url.topic, &[(view.name.as_str(), Some(body))])
            .map(|_| ())
    }

    fn pull(&self, limit: Option<usize>, deliver: &mut Deliver) -> Result<usize> {
        let group = self.url.group.clone();
        self.pull_as(&group, limit, deliver)
    }

    fn pull_group(
        &self,
        group: &str,
        limit: Option<usize>,
        deliver: &mut Deliver,
    ) -> Result<usize> {
        if !valid_name(group) {
            return Err(Error::usage(
                "a group name is letters, digits, '.', '_' or '-'",
            ));
        }
        self.pull_as(group, limit, deliver)
    }

    fn ack(&self, ids: &[String]) -> Result<usize> {
        super::check_ids(ids)?;
        let topic = self.url.topic.clone();
        let (all, _) = self.scan(None, false)?;
        let mut at: HashMap<&str, (i32, i64, bool)> = HashMap::new();
        for (m, s) in &all {
            if let Some(id) = &s.view.id {
                at.entry(id.as_str()).or_insert((
                    m.part,
                    m.offset,
                    s.view.pulled() == record::Pulled::Yes,
                ));
            }
        }
        if let Some(missing) = ids.iter().find(|i| !at.contains_key(i.as_str())) {
            return Err(Error::new(format!(
                "no record with id {missing} in {}; nothing marked",
                self.shown
            )));
        }
        let mut next: HashMap<i32, i64> = HashMap::new();
        let mut marked = HashSet::new();
        for id in ids {
            let (p, o, pulled) = at[id.as_str()];
            if pulled {
                continue;
            }
            marked.insert(id.as_str());
            let n = next.entry(p).or_insert(0);
            *n = (*n).max(o + 1);
        }
        if next.is_empty() {
            return Ok(0);
        }
        // Everything pending before the acknowledged offset goes with it.
        let swept: Vec<&str> = all
            .iter()
            .filter(|(m, s)| {
                s.view.pulled() == record::Pulled::No
                    && next.get(&m.part).is_some_and(|&n| m.offset < n)
                    && !s.view.id.as_deref().is_some_and(|i| marked.contains(i))
            })
            .map(|(_, s)| s.view.name.as_str())
            .collect();
        let c = self.reader()?;
        let mut tpl = TopicPartitionList::new();
        for (p, o) in &next {
            tpl.add_partition_offset(&topic, *p, Offset::Offset(*o))
                .map_err(|e| self.fail("cannot commit to", e))?;
        }
        c.commit(&tpl, CommitMode::Sync).map_err(|e| {
            self.fail(
                &format!(
                    "cannot commit the offsets of group {} (while a pull of the group is in progress this fails: run it again) on",
                    self.url.group
                ),
                e,
            )
        })?;
        if !swept.is_empty() {
            eprintln!(
                "cq: Kafka acknowledges by offset: {} earlier pending record(s) of the same partition marked pulled too ({})",
                swept.len(),
                swept.join(", ")
            );
        }
        Ok(marked.len())
    }

    fn list(&self, filter: &Filter, from: Option<&Mark>, each: &mut Each) -> Result<Mark> {
        let _ = self.reap();
        let (recs, ends) = self.scan(from, filter.pending)?;
        for (_, s) in recs {
            if filter.matches(&s.view) {
                each(s).map_err(Error::output)?;
            }
        }
        match (ends.is_empty(), from) {
            (true, Some(m)) => Ok(m.clone()),
            _ => Ok(mark_of(&ends)),
        }
    }

    fn compact(&self, _: &Cutoff) -> Result<CompactReport> {
        let (recs, _) = self.scan(None, false)?;
        let retention = self
            .retention()
            .unwrap_or_else(|| "the broker's default".into());
        Ok(CompactReport {
            removed: 0,
            kept: recs.len(),
            note: Some(format!(
                "Kafka keeps records for the topic's retention (retention.ms={retention}), which the broker applies; cq compact removes nothing on this tier"
            )),
        })
    }

    fn start(&self, job: &Job) -> Result<()> {
        self.ensure_topic(&self.lease_topic(), true)?;
        self.put_lease(job)?;
        *self.job.borrow_mut() = Some(job.clone());
        Ok(())
    }

    fn renew(&self, id: &str) {
        let job = self.job.borrow().clone();
        if let Some(job) = job.filter(|j| j.id == id) {
            let _ = self.put_lease(&job);
        }
    }

    fn lease_interval(&self) -> Option<Duration> {
        Some(running::lease_ttl() / 3)
    }

    fn finish(&self, id: &str) {
        let job = self.job.borrow_mut().take();
        if job.is_some_and(|j| j.id == id) {
            // A tombstone: compaction keeps nothing of an ended job.
            let _ = self.produce(&self.lease_topic(), &[(id, None)]);
        }
    }

    fn running(&self) -> Result<Vec<Job>> {
        self.reap()?;
        let mut jobs: Vec<Job> = self
            .leases()?
            .into_values()
            .filter_map(|s| match s {
                LeaseState::Running(l) => Some(l.job),
                LeaseState::Claimed(_) => None,
            })
            .collect();
        jobs.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
        Ok(jobs)
    }

    fn waiter(&self) -> Result<Box<dyn Waiter + '_>> {
        let mut w = KafkaWaiter { q: self, c: None };
        w.attach()?;
        Ok(Box::new(w))
    }

    fn export(&self, each: &mut Each) -> Result<()> {
        for (_, s) in self.scan(None, false)?.0 {
            each(s).map_err(|e| Error::io("cannot export", e))?;
        }
        Ok(())
    }

    fn import(&self, recs: &[Stored]) -> Result<usize> {
        self.add(recs)
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn tier(&self) -> &'static str {
        "kafka"
    }
}

impl KafkaQueue {
    /// The topic's retention.ms as the broker reports it.
    fn retention(&self) -> Option<String> {
        let admin: AdminClient<DefaultClientContext> = self.config().create().ok()?;
        let opts = AdminOptions::new().request_timeout(Some(TIMEOUT));
        let r =
            block_on(admin.describe_configs([&ResourceSpecifier::Topic(&self.url.topic)], &opts))
                .ok()?;
        let res = r.into_iter().next()?.ok()?;
        res.get("retention.ms")?.value.clone()
    }
}

impl Drop for KafkaQueue {
    fn drop(&mut self) {
        // Every produce already waited for the broker's acknowledgement:
        // tearing librdkafka's threads down would only add ~100 ms to each
        // command's exit, so the process ending does it.
        if let Some(p) = self.producer.take() {
            std::mem::forget(p);
        }
        if let Some(c) = self.reader.take() {
            std::mem::forget(c);
        }
    }
}

/// Sleeps in the consumer's poll, on every partition from the end as of
/// its start, until a message arrives; wakes every few seconds so readers
/// notice expired leases.
struct KafkaWaiter<'a> {
    q: &'a KafkaQueue,
    c: Option<BaseConsumer<Ctx>>,
}

impl KafkaWaiter<'_> {
    fn attach(&mut self) -> Result<()> {
        let topic = &self.q.url.topic;
        let Some(parts) = self.q.partitions(topic)? else {
            return Ok(());
        };
        let c = self.q.consumer(&self.q.url.group, false)?;
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            let (_, hi) = c
                .fetch_watermarks(topic, p, TIMEOUT)
                .map_err(|e| self.q.fail("cannot read offsets from", e))?;
            tpl.add_partition_offset(topic, p, Offset::Offset(hi))
                .map_err(|e| self.q.fail("cannot read", e))?;
        }
        c.assign(&tpl).map_err(|e| self.q.fail("cannot read", e))?;
        self.c = Some(c);
        Ok(())
    }
}

impl Waiter for KafkaWaiter<'_> {
    fn wait(&mut self, deadline: Option<Instant>) -> Result<bool> {
        let cap = Duration::from_secs(5);
        let left = deadline.map_or(cap, |d| {
            d.saturating_duration_since(Instant::now()).min(cap)
        });
        if left.is_zero() {
            return Ok(false);
        }
        match &self.c {
            None => {
                // No topic yet: look again in a second.
                std::thread::sleep(left.min(Duration::from_secs(1)));
                self.attach()?;
            }
            Some(c) => {
                // Any event wakes the caller, whose re-check reports errors.
                if c.poll(left).is_some() {
                    while c.poll(Duration::ZERO).is_some() {}
                }
            }
        }
        Ok(deadline.is_none_or(|d| Instant::now() < d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse(
            "kafka://u:s%40cret@h1:9092,h2:9093/jobs?group=audit&sasl=scram-sha-256&tls=1",
        )
        .unwrap();
        assert_eq!(u.brokers, "h1:9092,h2:9093");
        assert_eq!(u.topic, "jobs");
        assert_eq!(u.group, "audit");
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert_eq!(u.sasl.as_deref(), Some("SCRAM-SHA-256"));
        assert!(u.tls);
        assert_eq!(u.shown(), "kafka://u:***@h1:9092,h2:9093/jobs");
        assert_eq!(Url::parse("kafka://h:1/t").unwrap().group, "cq");
        for bad in [
            "kafka://h:1",
            "kafka://h/t",
            "kafka://h:1/t?x=1",
            "kafka://u:hunter2@h:x/t",
            "kafka://h:1/a b",
            "kafka://h:1/t?partitions=0",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert_eq!(e.code, 2, "{bad}");
            assert!(!e.msg.contains("hunter2"));
        }
        assert_eq!(parse_mark("0:12,1:7")[&1], 7);
        assert_eq!(mark_of(&parse_mark("1:7,0:12")).0, "0:12,1:7");
    }
}
