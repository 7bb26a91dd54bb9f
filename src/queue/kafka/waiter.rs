//! Waiting on Kafka: the consumer's poll, not a busy loop.

use super::ctx::{Ctx, TIMEOUT};
use super::queue::KafkaQueue;
use crate::error::Result;
use crate::queue::store::Waiter;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// Sleeps in the consumer's poll, on every partition from the end as of
/// its start, until a message arrives; wakes every few seconds so readers
/// notice expired leases.
pub(super) struct KafkaWaiter<'a> {
    pub(super) q: &'a KafkaQueue,
    pub(super) c: Option<BaseConsumer<Ctx>>,
}

impl KafkaWaiter<'_> {
    pub(super) fn attach(&mut self) -> Result<()> {
        let topic = &self.q.url.topic;
        let Some(parts) = self.q.partitions(topic)? else {
            return Ok(());
        };
        let c = self.q.consumer(&self.q.url.group, false)?;
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            let (_, hi) = c
                .fetch_watermarks(topic, p, self.q.bound(TIMEOUT))
                .map_err(|e| self.q.ran_out(self.q.fail("cannot read offsets from", e)))?;
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
        let cap = crate::queue::running::WAKE_CAP;
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
