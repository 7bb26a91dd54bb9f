//! How the Kafka tier's queue makes its clients (producer, reader, group
//! consumers) and asks the brokers about topics and offsets.

use super::ctx::{Ctx, DELIVERY, Idle, SESSION_MS, SLICE, TIMEOUT, block_on, debug, why};
use super::msg::{BUFFERED, Msg};
use super::queue::KafkaQueue;
use crate::error::{Error, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl KafkaQueue {
    pub(super) fn config(&self) -> ClientConfig {
        let u = &self.url;
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &u.brokers)
            .set("client.id", "cq")
            .set("allow.auto.create.topics", "false")
            .set("socket.nagle.disable", "true")
            .set("topic.metadata.refresh.interval.ms", "-1")
            // librdkafka waits half of this before connecting to the broker
            // a bootstrap server names (50 ms of every command by default).
            .set("reconnect.backoff.ms", "10")
            // Connect to each broker as soon as it is known. Sparse
            // connections (the default) wait for a "connect any" slot,
            // suppressed for reconnect.backoff.ms after the bootstrap
            // connection is retired for the learned broker: 12 of a push's
            // 18 ms. A cq run is short; a connection per broker is cheap.
            .set("enable.sparse.connections", "false");
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

    pub(super) fn producer(&self) -> Result<&BaseProducer<Ctx>> {
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

    pub(super) fn reader(&self) -> Result<&BaseConsumer<Ctx>> {
        if let Some(c) = self.reader.get() {
            return Ok(c);
        }
        let c = self.consumer(&self.url.group, true)?;
        Ok(self.reader.get_or_init(|| c))
    }

    pub(super) fn consumer(&self, group: &str, eof: bool) -> Result<BaseConsumer<Ctx>> {
        self.config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", if eof { "true" } else { "false" })
            .set("session.timeout.ms", SESSION_MS.to_string())
            .set("heartbeat.interval.ms", "1000")
            // Readers read to the end and stop; some brokers (tansu) hold
            // every fetch for its whole max wait, and the end is known only
            // from a fetch that finds nothing, so keep it at 1 ms here (at
            // 10 ms, a pull spent 20 of its 35 ms in two fetches). The
            // waiter sets its own, longer wait.
            .set("fetch.wait.max.ms", if eof { "1" } else { "200" })
            .set("fetch.error.backoff.ms", "50")
            // What librdkafka fetches ahead: by default up to 64 MiB (and a
            // fetch of 50 MiB), which a read of a million records filled.
            // 8 MiB a fetch keeps the fetches few: a broker seen here
            // (tansu 0.6) takes long per fetch, and 1 MiB fetches made a
            // read of 100,000 records four times slower.
            .set("queued.max.messages.kbytes", "8192")
            .set("fetch.max.bytes", "8388608")
            .set("max.partition.fetch.bytes", "8388608")
            .create_with_context(Ctx::default())
            .map_err(|e| self.fail("cannot set up a Kafka consumer for", e))
    }

    /// The topic's partitions, or None when it does not exist.
    pub(super) fn partitions(&self, topic: &str) -> Result<Option<Vec<i32>>> {
        let p = self.producer()?;
        if let Some(msg) = self.unreachable.get() {
            return Err(Error::new(msg.clone()));
        }
        // In slices, so that a failure no retry can mend (a certificate
        // nobody vouches for, a refused password) ends the wait at once.
        // Error events wait in the main queue until a poll serves them.
        let deadline = Instant::now() + self.bound(TIMEOUT);
        let md = loop {
            let slice = self.bound(SLICE);
            match p.client().fetch_metadata(Some(topic), slice) {
                Ok(md) => break md,
                Err(e) => {
                    p.poll(Duration::from_millis(1));
                    if self.expired() {
                        return Err(self.ran_out(self.fail("cannot reach Kafka at", e)));
                    }
                    if p.context().fatal.load(Ordering::SeqCst) || Instant::now() >= deadline {
                        let why = why(&p.context().last_error, e);
                        let err = self.fail("cannot reach Kafka at", why);
                        // Later calls of this command fail alike, at once.
                        let _ = self.unreachable.set(err.to_string());
                        return Err(err);
                    }
                }
            }
        };
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

    /// Creates the topic if it does not exist yet (once per process);
    /// returns its partitions.
    pub(super) fn ensure_topic(&self, topic: &str, running: bool) -> Result<Vec<i32>> {
        if let Some(p) = self.topics.borrow().get(topic) {
            return Ok(p.clone());
        }
        let parts = self.created(topic, running)?;
        self.topics
            .borrow_mut()
            .insert(topic.to_string(), parts.clone());
        Ok(parts)
    }

    fn created(&self, topic: &str, running: bool) -> Result<Vec<i32>> {
        if let Some(p) = self.partitions(topic)? {
            return Ok(p);
        }
        let admin: AdminClient<DefaultClientContext> = self
            .config()
            .create()
            .map_err(|e| self.fail("cannot set up a Kafka admin client for", e))?;
        let parts = if running { 1 } else { self.url.partitions };
        // -1: the broker's default replication factor (Kafka 2.4+), so a
        // topic cq creates is as durable as the cluster is set up to make it.
        let mut t = NewTopic::new(topic, parts, TopicReplication::Fixed(-1));
        if running {
            t = t.set("cleanup.policy", "compact");
        }
        let opts = AdminOptions::new()
            .operation_timeout(Some(self.bound(TIMEOUT)))
            .request_timeout(Some(self.bound(TIMEOUT)));
        let r = block_on(admin.create_topics([&t], &opts))
            .map_err(|e| self.ran_out(self.fail(&format!("cannot create topic {topic} on"), e)))?;
        for r in r {
            if let Err((_, code)) = r
                && code != RDKafkaErrorCode::TopicAlreadyExists
            {
                return Err(self.fail(&format!("cannot create topic {topic} on"), code));
            }
        }
        let deadline = Instant::now() + self.bound(TIMEOUT);
        loop {
            if let Some(p) = self.partitions(topic)?
                && !p.is_empty()
            {
                return Ok(p);
            }
            if Instant::now() > deadline {
                let e = self.fail(&format!("topic {topic} did not appear on"), "timed out");
                return Err(self.ran_out(e));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Produces messages (key, value; None is a tombstone) and waits until
    /// the broker acknowledged every one; returns where each landed.
    pub(super) fn produce(
        &self,
        topic: &str,
        msgs: &[(&str, Option<&[u8]>)],
    ) -> Result<Vec<(i32, i64)>> {
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
            let _ = p.client().fetch_metadata(Some(topic), self.bound(TIMEOUT));
        }
        let deadline = Instant::now() + self.bound(DELIVERY + TIMEOUT);
        while ctx.delivered.load(Ordering::SeqCst) - before < msgs.len() {
            if Instant::now() > deadline {
                return Err(self.ran_out(self.fail("no acknowledgement from", "timed out")));
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
    pub(super) fn committed(
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
            .committed_offsets(tpl, self.bound(TIMEOUT))
            .map_err(|e| self.ran_out(self.fail("cannot read committed offsets from", e)))?;
        Ok(got
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(n) => (e.partition(), n),
                _ => (e.partition(), 0),
            })
            .collect())
    }

    /// Points `c` at the given offsets of `topic`'s partitions.
    fn assign(&self, c: &BaseConsumer<Ctx>, topic: &str, starts: &HashMap<i32, i64>) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for (&p, &start) in starts {
            tpl.add_partition_offset(topic, p, Offset::Offset(start))
                .map_err(|e| self.fail("cannot read", e))?;
        }
        c.assign(&tpl).map_err(|e| self.fail("cannot read", e))
    }

    /// Reads partitions from the given offsets up to their ends (the high
    /// watermarks of the fetches: librdkafka's end-of-partition events).
    /// Returns the messages and the next offset of each partition.
    ///
    /// Not `fetch_watermarks`: a broker seen here (tansu 0.6) answers
    /// ListOffsets with the last batch's base offset + 1, which cuts a
    /// multi-record batch short; its fetches carry the right watermark.
    pub(super) fn read(
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
        self.assign(c, topic, starts)?;
        let mut left: HashSet<i32> = starts.keys().copied().collect();
        let mut idle = Idle::new(c.context(), TIMEOUT * 2);
        while !left.is_empty() {
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    idle.moved(c.context());
                    next.insert(m.partition(), m.offset() + 1);
                    out.push(Msg::of(&m));
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    idle.moved(c.context());
                    left.remove(&p);
                }
                Some(Err(e)) => return Err(self.fail("cannot read from", e)),
                None => self.read_goes_on(c, &mut idle)?,
            }
        }
        let _ = c.unassign();
        Ok((out, next))
    }

    /// Reads partitions from the given offsets up to their ends, as
    /// [`read`](Self::read), but streamed: each message is turned into an
    /// item by `conv` (None: passed over) and handed to `each` oldest first
    /// across partitions by `older` (each partition in offset order), until
    /// `each` says stop. At most [`BUFFERED`] items wait per partition (a
    /// full partition is paused until it drains), and librdkafka's own
    /// prefetch is bounded (`consumer`): a read of a million records held
    /// them all, 82 MiB and more. Returns the next offset of each partition.
    pub(super) fn read_merged<T>(
        &self,
        c: &BaseConsumer<Ctx>,
        topic: &str,
        starts: &HashMap<i32, i64>,
        conv: &mut dyn FnMut(Msg) -> Option<T>,
        older: &dyn Fn(&T, &T) -> bool,
        each: &mut dyn FnMut(T) -> Result<bool>,
    ) -> Result<HashMap<i32, i64>> {
        let mut next = starts.clone();
        if starts.is_empty() {
            return Ok(next);
        }
        self.assign(c, topic, starts)?;
        let one = |p: i32| {
            let mut t = TopicPartitionList::new();
            t.add_partition(topic, p);
            t
        };
        let mut bufs: HashMap<i32, VecDeque<T>> =
            starts.keys().map(|&p| (p, VecDeque::new())).collect();
        let mut ended: HashSet<i32> = HashSet::new();
        let mut paused: HashSet<i32> = HashSet::new();
        let mut idle = Idle::new(c.context(), TIMEOUT * 2);
        'read: loop {
            // Hand on what can be ordered: every partition has an item
            // waiting or has ended.
            while bufs.iter().all(|(p, b)| !b.is_empty() || ended.contains(p)) {
                let pick = bufs
                    .iter()
                    .filter_map(|(&p, b)| Some((p, b.front()?)))
                    .reduce(|a, b| if older(b.1, a.1) { b } else { a })
                    .map(|(p, _)| p);
                let Some(p) = pick else { break 'read };
                let buf = bufs.get_mut(&p).expect("a partition read");
                let item = buf.pop_front().expect("an item waiting");
                if paused.contains(&p) && buf.len() < BUFFERED / 2 {
                    c.resume(&one(p)).map_err(|e| self.fail("cannot read", e))?;
                    paused.remove(&p);
                }
                if !each(item)? {
                    break 'read;
                }
            }
            match c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    idle.moved(c.context());
                    let p = m.partition();
                    next.insert(p, m.offset() + 1);
                    if let Some(item) = conv(Msg::of(&m)) {
                        let buf = bufs.entry(p).or_default();
                        buf.push_back(item);
                        if buf.len() >= BUFFERED && paused.insert(p) {
                            c.pause(&one(p)).map_err(|e| self.fail("cannot read", e))?;
                        }
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    idle.moved(c.context());
                    ended.insert(p);
                }
                Some(Err(e)) => return Err(self.fail("cannot read from", e)),
                None => self.read_goes_on(c, &mut idle)?,
            }
        }
        let _ = c.unassign();
        Ok(next)
    }

    /// A read with no message this poll: Err once it has waited too long
    /// (the command's deadline, or `idle`'s bound), saying why.
    fn read_goes_on(&self, c: &BaseConsumer<Ctx>, idle: &mut Idle) -> Result<()> {
        if self.expired() || idle.over(c.context(), &self.brokers()) {
            let why = why(&c.context().last_error, "timed out");
            return Err(self.ran_out(self.fail("cannot read from", why)));
        }
        Ok(())
    }

    /// Commits `next` (partition → next offset) for `c`'s group; nothing
    /// when empty. `what` says what failed.
    pub(super) fn commit(
        &self,
        c: &BaseConsumer<Ctx>,
        topic: &str,
        next: &HashMap<i32, i64>,
        what: &str,
    ) -> Result<()> {
        if next.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (p, o) in next {
            tpl.add_partition_offset(topic, *p, Offset::Offset(*o))
                .map_err(|e| self.fail(what, e))?;
        }
        // The result on a queue of its own, waited for with a bound: a
        // synchronous commit waits forever for a broker that cannot be
        // reached (a puller cut off after printing hung so).
        use rdkafka::bindings as rd;
        let rk = c.client().native_ptr();
        let wait = self.bound(TIMEOUT * 2);
        // SAFETY: `rk` is `c`'s live client and `tpl` outlives the call (the
        // list is copied); the queue and the event are destroyed here, once.
        let (err, why) = unsafe {
            let q = rd::rd_kafka_queue_new(rk);
            let mut err = rd::rd_kafka_commit_queue(rk, tpl.ptr(), q, None, std::ptr::null_mut());
            let mut why = None;
            if err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let ev = rd::rd_kafka_queue_poll(q, wait.as_millis() as i32);
                if ev.is_null() {
                    why = Some(format!("no answer within {}s", wait.as_secs()));
                } else {
                    err = rd::rd_kafka_event_error(ev);
                    rd::rd_kafka_event_destroy(ev);
                }
            }
            rd::rd_kafka_queue_destroy(q);
            (err, why)
        };
        if let Some(why) = why {
            return Err(self.ran_out(self.fail(what, why)));
        }
        if err != rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(self.fail(what, KafkaError::ConsumerCommit(err.into())));
        }
        Ok(())
    }
}
