//! A pull on Kafka, streamed: one group session across a pull's slices.
//! Each take hands on at most a slice of records (oldest first across
//! partitions) and its mark commits past them; the member stays in the
//! group, its partitions and read positions kept, for the next slice, so a
//! pull of a million records joins once and holds a slice at a time (one
//! take of everything held them all: 82 MiB and more). The session ends
//! (the group is left, the turn given back) when a take finds the
//! partitions' ends, when a slice goes unmarked, and with the queue.

use super::client::BUFFERED;
use super::ctx::{Ctx, SESSION_MS, TIMEOUT, leave, why};
use super::queue::{KafkaQueue, Msg};
use super::{EMPTY_GRACE, older};
use crate::error::Result;
use crate::queue::store::{Nothing, Taken};
use crate::record::Stored;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

type Item = (Msg, Option<Stored>);

/// A member of a consumer group, between the slices of one pull.
pub(super) struct Session {
    group: String,
    /// This machine's turn at the group (see turn.rs), held until the end.
    _turn: std::fs::File,
    c: BaseConsumer<Ctx>,
    /// The rebalance count this member's reading belongs to.
    epoch: u64,
    assigned: Vec<i32>,
    bufs: HashMap<i32, VecDeque<Item>>,
    ended: HashSet<i32>,
    paused: HashSet<i32>,
}

impl Session {
    fn one(&self, topic: &str, p: i32) -> TopicPartitionList {
        let mut t = TopicPartitionList::new();
        t.add_partition(topic, p);
        t
    }

    /// After a rebalance what was read may be another member's: start
    /// again from the new assignment's committed offsets. Returns None
    /// without one, else since when no partition is assigned, if none is.
    fn follow_rebalance(&mut self, topic: &str) -> Option<Option<Instant>> {
        let now_epoch = self.c.context().epoch.load(Ordering::SeqCst);
        if now_epoch == self.epoch {
            return None;
        }
        self.epoch = now_epoch;
        for p in std::mem::take(&mut self.paused) {
            let _ = self.c.resume(&self.one(topic, p));
        }
        self.bufs.clear();
        self.ended.clear();
        let now = self
            .c
            .context()
            .assigned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let empty = now.as_ref().is_some_and(Vec::is_empty);
        self.assigned = now.unwrap_or_default();
        Some(empty.then(Instant::now))
    }

    /// Whether every assigned partition has a message waiting or ended.
    fn orderable(&self) -> bool {
        self.assigned
            .iter()
            .all(|p| self.ended.contains(p) || self.bufs.get(p).is_some_and(|b| !b.is_empty()))
    }

    /// The oldest message waiting, when it can be known.
    fn pop(&mut self, topic: &str) -> Result<Option<Item>, KafkaError> {
        if !self.orderable() {
            return Ok(None);
        }
        let pick = self
            .bufs
            .iter()
            .filter_map(|(&p, b)| Some((p, b.front()?)))
            .reduce(|a, b| if older(b.1, a.1) { b } else { a })
            .map(|(p, _)| p);
        let Some(p) = pick else { return Ok(None) };
        let item = self.bufs.get_mut(&p).and_then(VecDeque::pop_front);
        if self.paused.contains(&p) && self.bufs.get(&p).map_or(0, VecDeque::len) < BUFFERED / 2 {
            self.c.resume(&self.one(topic, p))?;
            self.paused.remove(&p);
        }
        Ok(item)
    }

    /// Every assigned partition read to its end and handed on.
    fn drained(&self) -> bool {
        !self.assigned.is_empty()
            && self
                .assigned
                .iter()
                .all(|p| self.ended.contains(p) && self.bufs.get(p).is_none_or(VecDeque::is_empty))
    }
}

impl KafkaQueue {
    /// The session of `group` a previous slice left, else a new one (this
    /// machine's turn taken, the group joined).
    fn session(&self, group: &str) -> Result<Session> {
        if let Some(s) = self.session.borrow_mut().take() {
            if s.group == group {
                return Ok(s);
            }
            leave(s.c);
        }
        let turn = self.local_turn(group)?;
        let c = self.consumer(group, true)?;
        c.subscribe(&[&self.url.topic])
            .map_err(|e| self.fail("cannot join the consumer group on", e))?;
        Ok(Session {
            group: group.to_string(),
            _turn: turn,
            c,
            epoch: u64::MAX,
            assigned: Vec::new(),
            bufs: HashMap::new(),
            ended: HashSet::new(),
            paused: HashSet::new(),
        })
    }

    /// Up to `limit` records of `group`, oldest first across partitions.
    pub(super) fn select(&self, group: &str, limit: usize) -> Result<Box<dyn Taken + '_>> {
        let topic = self.url.topic.clone();
        if self.partitions(&topic)?.is_none() {
            return Ok(Box::new(Nothing));
        }
        let mut s = self.session(group)?;
        let deadline = Instant::now() + Duration::from_millis(SESSION_MS) + TIMEOUT * 2;
        let mut next: HashMap<i32, i64> = HashMap::new();
        let mut batch = Vec::new();
        let mut empty_since: Option<Instant> = None;
        let more = loop {
            if let Some(since) = s.follow_rebalance(&topic) {
                empty_since = since;
                next.clear();
                batch.clear();
            }
            while batch.len() < limit {
                match s.pop(&topic) {
                    Ok(Some((m, r))) => {
                        // A message that is not a record is passed over,
                        // and committed.
                        next.insert(m.part, m.offset + 1);
                        batch.extend(r);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(self.fail("cannot read from", e)),
                }
            }
            if batch.len() >= limit {
                break true;
            }
            if s.drained() {
                break false;
            }
            // Joined, but other members hold every partition. That can
            // change at once (a member that was leaving), so give the group
            // a moment before reporting nothing.
            if empty_since.is_some_and(|t| t.elapsed() > EMPTY_GRACE) {
                leave(s.c);
                return Ok(Box::new(Nothing));
            }
            if Instant::now() > deadline {
                let why = why(&s.c.context().last_error, "timed out");
                // Joined, but a partition never reached its end: a broker
                // that answers fetches with nothing (tansu 0.6 after records
                // of another producer's batch format) must not read as a
                // failure to join.
                let stuck: Vec<String> = s
                    .assigned
                    .iter()
                    .filter(|p| !s.ended.contains(p))
                    .map(|p| p.to_string())
                    .collect();
                let what = match stuck.is_empty() {
                    true => format!("cannot join consumer group {group} on"),
                    false => format!(
                        "joined group {group}, but partition(s) {} could not be read to their end on",
                        stuck.join(", ")
                    ),
                };
                leave(s.c);
                return Err(self.fail(&what, why));
            }
            match s.c.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let p = m.partition();
                    let msg = Msg {
                        part: p,
                        offset: m.offset(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().map(<[u8]>::to_vec),
                    };
                    let r = self.stored(&msg, false);
                    let buf = s.bufs.entry(p).or_default();
                    buf.push_back((msg, r));
                    if buf.len() >= BUFFERED && s.paused.insert(p) {
                        let one = s.one(&topic, p);
                        s.c.pause(&one)
                            .map_err(|e| self.fail("cannot read from", e))?;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    s.ended.insert(p);
                }
                Some(Err(e)) => {
                    leave(s.c);
                    return Err(self.fail("cannot read from", e));
                }
                None => {}
            }
        };
        Ok(Box::new(KafkaTaken {
            q: self,
            session: Some(s),
            more,
            next,
            batch,
        }))
    }
}

/// A slice of a pull, read as a member of the group: the mark commits past
/// it. A full slice's session is kept for the next take once marked;
/// otherwise the group is left when this goes, marked or not.
struct KafkaTaken<'a> {
    q: &'a KafkaQueue,
    session: Option<Session>,
    /// The slice was full: there may be more to read.
    more: bool,
    next: HashMap<i32, i64>,
    batch: Vec<Stored>,
}

impl Taken for KafkaTaken<'_> {
    fn records(&self) -> &[Stored] {
        &self.batch
    }

    fn mark(mut self: Box<Self>) -> Result<()> {
        let Some(s) = self.session.take() else {
            return Ok(());
        };
        let what = format!("cannot commit the offsets of group {} on", s.group);
        let r = self.q.commit(&s.c, &self.q.url.topic, &self.next, &what);
        if r.is_ok() && self.more {
            *self.q.session.borrow_mut() = Some(s);
        } else {
            leave(s.c);
        }
        r
    }
}

impl Drop for KafkaTaken<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            leave(s.c);
        }
    }
}

/// Ends a session a pull left (its last slice was full): called as the
/// queue goes.
pub(super) fn end(s: Option<Session>) {
    if let Some(s) = s {
        leave(s.c);
    }
}
