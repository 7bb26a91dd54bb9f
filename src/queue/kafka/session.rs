//! A member of a consumer group between the slices of one pull (see
//! pull.rs): its partitions, what it read of each, and the oldest first
//! order across them.

use super::ctx::Ctx;
use super::msg::{BUFFERED, Msg, older};
use crate::error::Result;
use crate::record::Stored;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Instant;

pub(super) type Item = (Msg, Option<Stored>);

/// A member of a consumer group, between the slices of one pull.
pub(super) struct Session {
    pub(super) group: String,
    /// This machine's turn at the group (see turn.rs), held until the end.
    pub(super) _turn: std::fs::File,
    pub(super) c: BaseConsumer<Ctx>,
    /// The rebalance count this member's reading belongs to.
    pub(super) epoch: u64,
    pub(super) assigned: Vec<i32>,
    pub(super) bufs: HashMap<i32, VecDeque<Item>>,
    pub(super) ended: HashSet<i32>,
    pub(super) paused: HashSet<i32>,
}

impl Session {
    pub(super) fn one(&self, topic: &str, p: i32) -> TopicPartitionList {
        let mut t = TopicPartitionList::new();
        t.add_partition(topic, p);
        t
    }

    /// After a rebalance what was read may be another member's: start
    /// again from the new assignment's committed offsets. Returns None
    /// without one, else since when no partition is assigned, if none is.
    pub(super) fn follow_rebalance(&mut self, topic: &str) -> Option<Option<Instant>> {
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
    pub(super) fn orderable(&self) -> bool {
        self.assigned
            .iter()
            .all(|p| self.ended.contains(p) || self.bufs.get(p).is_some_and(|b| !b.is_empty()))
    }

    /// The oldest message waiting, when it can be known.
    pub(super) fn pop(&mut self, topic: &str) -> Result<Option<Item>, KafkaError> {
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
    pub(super) fn drained(&self) -> bool {
        !self.assigned.is_empty()
            && self
                .assigned
                .iter()
                .all(|p| self.ended.contains(p) && self.bufs.get(p).is_none_or(VecDeque::is_empty))
    }
}
