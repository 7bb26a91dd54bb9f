//! A pull on Kafka, streamed: one group session across a pull's slices.
//! Each take hands on at most a slice of records (oldest first across
//! partitions) and its mark commits past them; the member stays in the
//! group, its partitions and read positions kept, for the next slice, so a
//! pull of a million records joins once and holds a slice at a time (one
//! take of everything held them all: 82 MiB and more). The session ends
//! (the group is left, the turn given back) when a take finds the
//! partitions' ends, when a slice goes unmarked, and with the queue.

use super::ctx::{Idle, SESSION_MS, TIMEOUT, leave, why};
use super::msg::{BUFFERED, Msg};
use super::queue::KafkaQueue;
use super::session::Session;
use crate::error::{Error, Result};
use crate::queue::store::{Nothing, Taken};
use crate::record::Stored;
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long a pull assigned no partition waits for a rebalance that gives
/// it one before it reports nothing.
const EMPTY_GRACE: Duration = Duration::from_millis(500);

impl KafkaQueue {
    /// The session of `group` a previous slice left, else a new one (this
    /// machine's turn taken, the group joined).
    fn session(&self, group: &str) -> Result<Session> {
        if let Some(s) = self.session.borrow_mut().take() {
            if s.group == group {
                return Ok(s);
            }
            leave(s.c, self.bound(TIMEOUT));
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
        // A join may take a dead member's session to time out.
        let mut idle = Idle::new(
            s.c.context(),
            Duration::from_millis(SESSION_MS) + TIMEOUT * 2,
        );
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
                leave(s.c, self.bound(TIMEOUT));
                return Ok(Box::new(Nothing));
            }
            if self.expired() || idle.over(s.c.context(), &self.brokers()) {
                return Err(self.stuck(s, group));
            }
            if let Err(e) = self.receive(&mut s, &topic, &mut idle)? {
                leave(s.c, self.bound(TIMEOUT));
                return Err(e);
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

impl KafkaQueue {
    /// Waits a moment for the next message of `s`'s partitions and files
    /// it: Err(e) when the session must end with `e` (the outer error is
    /// one the session survives, as before).
    fn receive(&self, s: &mut Session, topic: &str, idle: &mut Idle) -> Result<Result<(), Error>> {
        match s.c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle.moved(s.c.context());
                let msg = Msg::of(&m);
                let p = msg.part;
                let r = self.stored(&msg, false);
                let buf = s.bufs.entry(p).or_default();
                buf.push_back((msg, r));
                if buf.len() >= BUFFERED && s.paused.insert(p) {
                    let one = s.one(topic, p);
                    s.c.pause(&one)
                        .map_err(|e| self.fail("cannot read from", e))?;
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                idle.moved(s.c.context());
                s.ended.insert(p);
            }
            Some(Err(e)) => return Ok(Err(self.fail("cannot read from", e))),
            None => {}
        }
        Ok(Ok(()))
    }

    /// Ends a session whose partitions did not all reach their end in
    /// time, and says why: the command's deadline (exit 124), a join that
    /// never completed, or partitions that could not be read.
    fn stuck(&self, s: Session, group: &str) -> Error {
        let why = why(&s.c.context().last_error, "timed out");
        // Joined, but a partition never reached its end: a broker that
        // answers fetches with nothing (tansu 0.6 after records of another
        // producer's batch format) must not read as a failure to join.
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
        leave(s.c, self.bound(TIMEOUT));
        self.ran_out(self.fail(&what, why))
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
            leave(s.c, self.q.bound(TIMEOUT));
        }
        r
    }
}

impl Drop for KafkaTaken<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            leave(s.c, self.q.bound(TIMEOUT));
        }
    }
}

/// Ends a session a pull left (its last slice was full): called as the
/// queue goes.
pub(super) fn end(s: Option<Session>, within: Duration) {
    if let Some(s) = s {
        leave(s.c, within);
    }
}
