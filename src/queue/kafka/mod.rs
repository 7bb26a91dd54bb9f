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

mod client;
mod ctx;
mod leases;
mod msg;
mod pull;
mod queue;
mod session;
mod turn;
mod url;
mod waiter;

pub use queue::KafkaQueue;
pub use url::Url;

use crate::watch::Deadline;
use ctx::TIMEOUT;
use msg::{Msg, older};

use ctx::{block_on, leave};
use url::valid_name;
use waiter::KafkaWaiter;

use super::store::{CompactReport, Decided, Mark, Tier, Waiter};
use super::store::{Found, Hit, Pos, Scan, Store, Taken};
use crate::error::{Error, Result};
use crate::record::{self, View};
use crate::record::{Job, Stored};
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Records with where they are, oldest first, and each partition's end.
type Scanned = (Vec<(Msg, Stored)>, HashMap<i32, i64>);

impl KafkaQueue {
    /// Every record of the main topic from `from` (else the start, or
    /// the committed offsets when `pending_only`), oldest first across
    /// partitions, with its pulled state, handed to `each` one at a time
    /// (streamed: memory stays flat however long the topic) until it says
    /// stop. Returns the next offsets.
    fn records_each(
        &self,
        from: Option<&Mark>,
        pending_only: bool,
        each: &mut dyn FnMut(Msg, Stored) -> Result<bool>,
    ) -> Result<HashMap<i32, i64>> {
        let Some(parts) = self.partitions(&self.url.topic)? else {
            return Ok(HashMap::new());
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
        self.read_merged(
            c,
            &self.url.topic,
            &starts,
            &mut |m| {
                let pulled = m.offset < committed.get(&m.part).copied().unwrap_or(0);
                if pending_only && pulled {
                    return None;
                }
                let s = self.stored(&m, pulled);
                Some((m, s))
            },
            &older,
            &mut |(m, s)| match s {
                Some(s) => each(m, s),
                None => Ok(true),
            },
        )
    }

    /// Every record, as [`records_each`](Self::records_each), in memory.
    fn records_from(&self, from: Option<&Mark>, pending_only: bool) -> Result<Scanned> {
        let mut recs = Vec::new();
        let ends = self.records_each(from, pending_only, &mut |m, s| {
            recs.push((m, s));
            Ok(true)
        })?;
        Ok((recs, ends))
    }

    /// Appends records, none skipped; those given as pulled are marked
    /// where they extend the committed prefix of their partition.
    fn add(&self, fresh: &[Stored]) -> Result<()> {
        let parts = self.ensure_topic(&self.url.topic, false)?;
        let any_pulled = fresh.iter().any(|s| s.view.pulled() == record::Pulled::Yes);
        // Each partition's end before these, when marking needs it.
        let ends = if any_pulled {
            self.records_each(None, false, &mut |_, _| Ok(true))?
        } else {
            HashMap::new()
        };
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
        if any_pulled && placed.len() == fresh.len() {
            let c = self.reader()?;
            let committed = self.committed(c, &self.url.topic, &parts)?;
            let mut by_part: BTreeMap<i32, Vec<(i64, bool)>> = BTreeMap::new();
            for ((p, o), s) in placed.iter().zip(fresh) {
                by_part
                    .entry(*p)
                    .or_default()
                    .push((*o, s.view.pulled() == record::Pulled::Yes));
            }
            let mut advanced = HashMap::new();
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
                    advanced.insert(p, next);
                }
            }
            let what = "cannot mark imported records pulled on";
            self.commit(c, &self.url.topic, &advanced, what)?;
        }
        Ok(())
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

impl Store for KafkaQueue {
    fn bad_entries(&self) -> Vec<super::bad::Bad> {
        self.bad.take()
    }

    fn side_files(&self) -> Vec<String> {
        let t = &self.url.topic;
        vec![
            format!("topic {t}-cq-running (running jobs and their leases)"),
            format!("topic {t}-cq-facts (what cq pull --exec knows: attempts, dead letters)"),
            "$XDG_STATE_HOME/cq/kafka/ (the lock files by which pulls of one group on this machine take turns)".to_string(),
        ]
    }

    fn tier(&self) -> Tier {
        Tier::Kafka
    }

    fn describe(&self) -> String {
        self.shown.clone()
    }

    fn check_writable(&self) -> Result<()> {
        self.ensure_topic(&self.url.topic, false).map(|_| ())
    }

    fn append(&self, dl: Deadline, recs: &[Stored]) -> Result<()> {
        self.during(dl);
        self.add(recs)
    }

    fn scan(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        pending_hint: bool,
        each: &mut Scan,
    ) -> Result<Mark> {
        self.during(dl);
        let ends = self.records_each(from, pending_hint, &mut |_, s| each(s))?;
        match (ends.is_empty(), from) {
            (true, Some(m)) => Ok(m.clone()),
            _ => Ok(mark_of(&ends)),
        }
    }

    fn take(&self, dl: Deadline, group: Option<&str>, limit: usize) -> Result<Box<dyn Taken + '_>> {
        self.during(dl);
        let group = match group {
            None => self.url.group.clone(),
            Some(g) if valid_name(g) => g.to_string(),
            Some(_) => {
                return Err(Error::usage(
                    "a group name is letters, digits, '.', '_' or '-'",
                ));
            }
        };
        self.select(&group, limit)
    }

    fn find(&self, dl: Deadline, ids: &[String], _: Decided) -> Result<Box<dyn Found + '_>> {
        self.during(dl);
        let (all, _) = self.records_from(None, false)?;
        let want: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let hits = all
            .iter()
            .filter_map(|(m, s)| {
                let id = s.view.id.as_deref().filter(|i| want.contains(i))?;
                Some(Hit {
                    pos: Pos(m.part as u64, m.offset as u64),
                    id: id.to_string(),
                    pulled: s.view.pulled() != record::Pulled::No,
                })
            })
            .collect();
        Ok(Box::new(KafkaFound { q: self, all, hits }))
    }

    fn remove(&self, dl: Deadline, _: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
        self.during(dl);
        let mut kept = 0;
        self.records_each(None, false, &mut |_, _| {
            kept += 1;
            Ok(true)
        })?;
        let retention = self
            .retention()
            .unwrap_or_else(|| "the broker's default".into());
        Ok(CompactReport {
            removed: 0,
            kept,
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

    fn leased(&self) -> bool {
        true
    }

    fn finish(&self, id: &str) {
        let job = self.job.borrow_mut().take();
        if job.is_some_and(|j| j.id == id) {
            // A tombstone: compaction keeps nothing of an ended job.
            let _ = self.produce(&self.lease_topic(), &[(id, None)]);
        }
    }

    /// Commits the group's offsets back, in each partition, to the first
    /// record `from` matches (never forward). Kafka refuses the commit
    /// while a member of the group is active: replay with none running.
    fn replay(
        &self,
        dl: Deadline,
        group: Option<&str>,
        from: &dyn Fn(&View) -> bool,
    ) -> Result<usize> {
        self.during(dl);
        let group = match group {
            None => self.url.group.clone(),
            Some("") => return Err(Error::usage("a group name must not be empty")),
            Some(g) => g.to_string(),
        };
        let topic = self.url.topic.clone();
        let Some(parts) = self.partitions(&topic)? else {
            return Ok(0);
        };
        let c = self.consumer(&group, false)?;
        let committed = self.committed(&c, &topic, &parts)?;
        let starts = parts.iter().map(|&p| (p, 0)).collect();
        let (msgs, _) = self.read(self.reader()?, &topic, &starts)?;
        let mut first: HashMap<i32, i64> = HashMap::new();
        let mut count = 0;
        for m in &msgs {
            let Some(s) = m
                .value
                .clone()
                .and_then(|v| Stored::from_store(v, false).ok())
            else {
                continue;
            };
            if !first.contains_key(&m.part) && from(&s.view) {
                first.insert(m.part, m.offset);
            }
            if first.contains_key(&m.part)
                && m.offset < committed.get(&m.part).copied().unwrap_or(0)
            {
                count += 1;
            }
        }
        let next: HashMap<i32, i64> = first
            .into_iter()
            .filter(|(p, o)| committed.get(p).is_some_and(|c| c > o))
            .collect();
        let what = format!(
            "cannot move the offsets of group {group} back (no consumer of the group may run meanwhile) on"
        );
        self.commit(&c, &topic, &next, &what)?;
        Ok(count)
    }

    /// The fact log is a side topic, `TOPIC-cq-facts`, of one partition
    /// (one order for every reader), each fact under a key of its own so
    /// that the topic's compaction keeps every one.
    fn append_facts(&self, dl: Deadline, facts: &[String]) -> Result<()> {
        self.during(dl);
        if facts.is_empty() {
            return Ok(());
        }
        let topic = self.facts_topic();
        self.ensure_topic(&topic, true)?;
        let keys: Vec<String> = facts
            .iter()
            .map(|_| uuid::Uuid::now_v7().to_string())
            .collect();
        let msgs: Vec<(&str, Option<&[u8]>)> = keys
            .iter()
            .zip(facts)
            .map(|(k, f)| (k.as_str(), Some(f.as_bytes())))
            .collect();
        self.produce(&topic, &msgs).map(|_| ())
    }

    fn scan_facts(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        each: &mut super::store::FactScan,
    ) -> Result<Mark> {
        self.during(dl);
        let topic = self.facts_topic();
        let start: i64 = from.and_then(|Mark(m)| m.parse().ok()).unwrap_or(0);
        let Some(parts) = self.partitions(&topic)? else {
            return Ok(Mark(start.to_string()));
        };
        let starts = parts.iter().map(|&p| (p, start)).collect();
        let c = self.reader()?;
        let (msgs, next) = self.read(c, &topic, &starts)?;
        for m in msgs {
            if let Some(v) = m.value {
                each(&v)?;
            }
        }
        let next = next.values().copied().max().unwrap_or(start);
        Ok(Mark(next.to_string()))
    }

    fn waiter(&self, dl: Deadline) -> Result<Box<dyn Waiter + '_>> {
        self.during(dl);
        let mut w = KafkaWaiter { q: self, c: None };
        w.attach()?;
        Ok(Box::new(w))
    }

    fn ack_sweeps_earlier(&self) -> bool {
        true
    }

    fn has_groups(&self) -> bool {
        true
    }

    /// Slices of 2,000: a pull keeps its group session from one to the
    /// next (pull.rs), so a slice costs a commit, not a join.
    fn pull_slice(&self) -> usize {
        2_000
    }
}

/// An acknowledgement: Kafka marks by offset, so committing past a record
/// also marks every earlier one of its partition (a fact the queue says).
struct KafkaFound<'a> {
    q: &'a KafkaQueue,
    all: Vec<(Msg, Stored)>,
    hits: Vec<Hit>,
}

impl Found for KafkaFound<'_> {
    fn hits(&self) -> &[Hit] {
        &self.hits
    }

    fn also_marks(&self, at: &[Pos]) -> Vec<String> {
        let (marked, next) = commit_for(at);
        self.all
            .iter()
            .filter(|(m, s)| {
                s.view.pulled() == record::Pulled::No
                    && next.get(&m.part).is_some_and(|&n| m.offset < n)
                    && !marked.contains(&(m.part, m.offset))
            })
            .map(|(_, s)| s.view.name.clone())
            .collect()
    }

    fn mark(self: Box<Self>, at: &[Pos]) -> Result<()> {
        let (_, next) = commit_for(at);
        if next.is_empty() {
            return Ok(());
        }
        let q = self.q;
        let what = format!(
            "cannot commit the offsets of group {} (while a pull of the group is in progress this fails: run it again) on",
            q.url.group
        );
        q.commit(q.reader()?, &q.url.topic, &next, &what)
    }
}

/// The positions to mark (a partition and an offset each, as `find` gave
/// them), and the offsets to commit for them: past the last of each
/// partition.
fn commit_for(at: &[Pos]) -> (HashSet<(i32, i64)>, HashMap<i32, i64>) {
    let marked: HashSet<(i32, i64)> = at.iter().map(|p| (p.0 as i32, p.1 as i64)).collect();
    let mut next: HashMap<i32, i64> = HashMap::new();
    for &(p, o) in &marked {
        let n = next.entry(p).or_insert(0);
        *n = (*n).max(o + 1);
    }
    (marked, next)
}

impl KafkaQueue {
    /// The topic's retention.ms as the broker reports it.
    fn retention(&self) -> Option<String> {
        let admin: AdminClient<DefaultClientContext> = self.config().create().ok()?;
        let opts = AdminOptions::new().request_timeout(Some(self.bound(TIMEOUT)));
        let r =
            block_on(admin.describe_configs([&ResourceSpecifier::Topic(&self.url.topic)], &opts))
                .ok()?;
        let res = r.into_iter().next()?.ok()?;
        res.get("retention.ms")?.value.clone()
    }
}

impl Drop for KafkaQueue {
    fn drop(&mut self) {
        // Every client is destroyed (its threads joined) before cq exits.
        // Leaving them running was a use-after-free: exit() runs OpenSSL's
        // atexit cleanup, which frees the tables a broker thread still in
        // its TLS handshake reads (SIGSEGV or a malloc abort in 1 of 20
        // TLS runs, issue 12). Leave first: the consumer's own drop would
        // wait in 100 ms polls.
        let within = self.bound(TIMEOUT);
        pull::end(self.session.take(), within);
        if let Some(c) = self.reader.take() {
            leave(c, within);
        }
        // Every produce already waited for its acknowledgement, so the
        // producer's drop (purge, flush, destroy) has nothing to send.
        drop(self.producer.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks() {
        assert_eq!(parse_mark("0:12,1:7")[&1], 7);
        assert_eq!(mark_of(&parse_mark("1:7,0:12")).0, "0:12,1:7");
    }
}
