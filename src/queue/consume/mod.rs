//! Consumers that act (`cq pull --exec`): the rules of the loop that runs
//! a handler per record, written once for every tier.
//!
//! - An attempt is written to the fact log, durably, *before* its handler
//!   runs: a consumer killed mid-handler leaves the attempt counted and the
//!   record pending, to be handled again.
//! - A record is acknowledged only after its handler exited 0, then noted
//!   done. A failure is noted with its exit code and tried again after a
//!   backoff (`backoff × 2^(n-1)`, at most an hour); after `retries + 1`
//!   attempts in a row that did not succeed (a killed consumer's included)
//!   the record is parked: noted dead, then acknowledged, so that plain
//!   pulls pass it by. `cq retry` notes it revived, and the consumer takes
//!   it again although it is pulled.
//! - Records of one order key (the job name by default) are handled one at
//!   a time, oldest first: a record waiting for its retry holds back the
//!   later records of its key until it is done or dead.
//! - An attempt begun and never ended (its consumer was killed, or on
//!   Kafka a later acknowledgement swept its offset) is open: the record is
//!   handled again even if it reads pulled.
//! - Where an acknowledgement marks every earlier record of a partition
//!   (Kafka), a finished record is acknowledged only once every record
//!   before it is finished too: one waiting for its retry, or not started
//!   yet, is never swept along.
//! - Consumers side by side: an attempt is a claim, numbered from what its
//!   consumer has read; the first claim of a number in the log wins, a
//!   later one of the same number lost and its consumer leaves the record.
//!   A record (and its key) that a live consumer holds (runs, waits to
//!   retry, or finished and has yet to acknowledge) is left to it; a dead
//!   consumer's records are taken over. Alive: on this host, its process
//!   runs; on another, it renewed its hold (`hold` facts) within four
//!   lease TTLs.
//! - Compaction keeps every record whose handling is not over (dead, open
//!   or revived): see [`Ledger::keeps`].
//!
//! The facts are JSON objects, one per event, kept by each store as given
//! (`Q.attempts` next to a JSONL queue; cq-queue(5) documents them):
//! `{"fact":"attempt"|"failed"|"done"|"dead"|"retry"|"hold","id":ID,
//! "at":TS,"attempt":N,"exit_code":C,"by":"HOST:PID"}` with `"lost":true`
//! for a lost record (which shares its id with the returning wrapper's
//! real one), and `replay` facts.

use super::{Queue, Stored};
use crate::error::{Result, warn};
use crate::record::Pulled;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Whatever the backoff, a retry waits at most this long.
const BACKOFF_CAP: Duration = Duration::from_secs(3600);

/// How a consumer retries and orders.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts after the first before a record is parked.
    pub retries: u32,
    /// The wait after the first failure; doubled after each further one.
    pub backoff: Duration,
    /// The record key whose equal values are handled one at a time, in
    /// order: `name` (the default), any top-level key, or `meta.KEY`.
    pub key: String,
}

mod admin;
mod ledger;

use ledger::Fact;
pub use ledger::{Key, Ledger};

/// A record handed to a handler.
pub struct Work {
    pub rec: Stored,
    /// Its attempt number, counting every attempt ever (1 for the first).
    pub attempt: u32,
    key: Key,
    order: String,
}

/// What became of a record after its handler ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Acked,
    /// Tried again after this wait.
    Retry(Duration),
    Dead,
}

/// The consumer's state between rounds: the ledger, the records its
/// handlers hold, and the retries it waits for.
pub struct Consumer<'q> {
    q: &'q Queue,
    policy: Policy,
    ledger: Ledger,
    /// Order keys of records being handled now.
    busy: HashMap<Key, String>,
    /// Records waiting for their retry, and when it is due.
    waiting: HashMap<Key, Instant>,
    /// Unfinished keys a full scan did not find (compacted, or in no
    /// record of this queue): not searched for again.
    missing: HashSet<Key>,
    /// The candidates the last scan found, in queue order: handled before
    /// the queue is read again (new records come after them), so a round
    /// costs a scan only when none of them can start.
    cache: Vec<Stored>,
    /// Finished records whose acknowledgement waits for the records before
    /// them (where an acknowledgement sweeps earlier ones: Kafka).
    deferred: HashSet<Key>,
    warned_no_id: bool,
    /// This consumer, as its facts name it: `HOST:PID`.
    me: String,
    pub acked: usize,
    pub parked: usize,
}

/// How often a consumer notes that it still holds its records; one that
/// has not for four lease TTLs loses them (on another host: no pid to judge).
pub fn hold_interval() -> Duration {
    super::running::renew_every()
}

/// Whether the consumer `HOST:PID` that wrote a fact at `at` is alive: on
/// this host, its process; on another, a renewal within four lease TTLs.
fn alive(who: &str, at: &str) -> bool {
    let (host, pid) = who.rsplit_once(':').unwrap_or((who, ""));
    if host == super::running::host() {
        return pid.parse().is_ok_and(crate::process::exists);
    }
    let ttl = super::running::puller_dead_after();
    let Ok(at) = crate::time::parse_timestamp(at) else {
        return false;
    };
    crate::time::before_now(ttl).is_ok_and(|cut| at >= cut)
}

impl Queue {
    /// A consumer that runs handlers under `policy`.
    pub fn consumer(&self, policy: Policy) -> Result<Consumer<'_>> {
        let ledger = self.ledger()?;
        Ok(Consumer {
            q: self,
            policy,
            ledger,
            busy: HashMap::new(),
            waiting: HashMap::new(),
            missing: HashSet::new(),
            cache: Vec::new(),
            deferred: HashSet::new(),
            warned_no_id: false,
            me: format!("{}:{}", super::running::host(), std::process::id()),
            acked: 0,
            parked: 0,
        })
    }
}

impl Consumer<'_> {
    /// A fact signed by this consumer.
    fn fact(&self, kind: &str, key: &Key) -> Fact {
        let mut f = Fact::new(kind, key);
        f.by = Some(self.me.clone());
        f
    }

    /// Reads the facts written since, and forgets the records another
    /// consumer finished meanwhile.
    fn refresh(&mut self) -> Result<()> {
        self.ledger.refresh(self.q)?;
        for (k, by) in std::mem::take(&mut self.ledger.ended) {
            if by.as_deref() != Some(self.me.as_str()) {
                self.cache.retain(|s| Key::of(s).as_ref() != Some(&k));
                self.waiting.remove(&k);
            }
        }
        Ok(())
    }

    /// Whether another consumer, still alive, holds the record: it runs
    /// or waits to retry it, or finished it and has yet to acknowledge it.
    fn held_elsewhere(&self, key: &Key) -> bool {
        let Some(h) = self.ledger.map.get(key) else {
            return false;
        };
        let other = match (h.open, &h.owner, &h.done_by) {
            (true, Some(o), _) | (false, _, Some(o)) => o,
            _ => return false,
        };
        other != &self.me && alive(other, &h.held_at)
    }

    /// Whether another consumer, still alive, finished the record and has
    /// its acknowledgement to make (acknowledging past it is harmless).
    fn done_elsewhere(&self, key: &Key) -> bool {
        self.ledger.map.get(key).is_some_and(|h| {
            !h.open
                && h.done_by
                    .as_deref()
                    .is_some_and(|o| o != self.me && alive(o, &h.held_at))
        })
    }

    /// Notes, for every record this consumer holds, that it still does
    /// (consumers on other hosts judge it by time).
    pub fn renew(&mut self) -> Result<()> {
        let facts: Vec<String> = self
            .busy
            .keys()
            .chain(self.waiting.keys())
            .map(|k| self.fact("hold", k).line())
            .collect();
        if !facts.is_empty() {
            self.q.store.append_facts(self.q.deadline(), &facts)?;
        }
        Ok(())
    }

    /// The value of the order key in a record.
    fn order_of(&self, s: &Stored) -> String {
        if self.policy.key == "name" {
            return s.view.name.clone();
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&s.line) else {
            return String::new();
        };
        let got = match self.policy.key.strip_prefix("meta.") {
            Some(k) => v.get("meta").and_then(|m| m.get(k)),
            None => v.get(&self.policy.key),
        };
        match got {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            // Records without the key are each their own.
            None => format!("\0{}", s.view.id.as_deref().unwrap_or_default()),
        }
    }

    /// The records to hand to handlers now, at most `room`, oldest first,
    /// none of an order key being handled or waiting for its retry; each
    /// attempt is on record (durably) before this returns. Also says when
    /// the next retry is due. Parks, on the way, records whose attempts a
    /// killed consumer used up.
    pub fn ready(&mut self, room: usize) -> Result<(Vec<Work>, Option<Instant>)> {
        self.refresh()?;
        if !self.deferred.is_empty() {
            // Records before them may have been finished elsewhere since.
            self.acknowledge(&[])?;
        }
        let now = Instant::now();
        // The cached candidates first; the queue is read again when none
        // of them can start (all running, waiting, or behind one of their
        // key that is), or when there are none.
        let mut fresh = self.cache.is_empty();
        if fresh {
            self.cache = self.candidates()?;
        }
        let (picked, park, next_due) = loop {
            let (picked, park, next_due) = self.select(room, now, fresh);
            if !picked.is_empty() || !park.is_empty() || fresh {
                break (picked, park, next_due);
            }
            self.cache = self.candidates()?;
            fresh = true;
        };
        for (s, key) in park {
            self.park(&s, &key, None)?;
        }
        let mut facts = Vec::new();
        let mut works = Vec::new();
        for (rec, key, order) in picked {
            let attempt = self.ledger.map.get(&key).map_or(0, |h| h.attempts) + 1;
            let mut f = self.fact("attempt", &key);
            f.attempt = Some(attempt);
            facts.push(f.line());
            self.waiting.remove(&key);
            works.push(Work {
                rec,
                attempt,
                key,
                order,
            });
        }
        if !facts.is_empty() {
            // Durable before any handler starts.
            self.q.store.append_facts(self.q.deadline(), &facts)?;
            self.refresh()?;
        }
        // A claim another consumer made first (the same attempt number,
        // earlier in the log) is not ours to run.
        let me = self.me.as_str();
        works.retain(|w| {
            self.ledger
                .map
                .get(&w.key)
                .is_some_and(|h| h.owner.as_deref() == Some(me) && h.attempts == w.attempt)
        });
        for w in &works {
            self.busy.insert(w.key.clone(), w.order.clone());
        }
        Ok((works, next_due))
    }

    /// Picks from the cached candidates, in order: up to `room` records to
    /// start, those to park, and when the next retry is due.
    #[allow(clippy::type_complexity)]
    fn select(
        &mut self,
        room: usize,
        now: Instant,
        fresh: bool,
    ) -> (
        Vec<(Stored, Key, String)>,
        Vec<(Stored, Key)>,
        Option<Instant>,
    ) {
        if fresh {
            // A retry whose record was acknowledged elsewhere meanwhile is
            // not waited for.
            let present: HashSet<Key> = self.cache.iter().filter_map(Key::of).collect();
            self.waiting.retain(|k, _| present.contains(k));
        }
        let mut blocked: HashSet<String> = self.busy.values().cloned().collect();
        let mut next_due: Option<Instant> = None;
        let mut picked: Vec<(Stored, Key, String)> = Vec::new();
        let mut park: Vec<(Stored, Key)> = Vec::new();
        for s in &self.cache {
            if picked.len() >= room {
                break;
            }
            let Some(key) = Key::of(s) else { continue };
            if self.busy.contains_key(&key) || self.deferred.contains(&key) {
                continue;
            }
            let order = self.order_of(s);
            if !blocked.insert(order.clone()) {
                continue;
            }
            if self.held_elsewhere(&key) {
                continue;
            }
            let (dead, round) = self
                .ledger
                .map
                .get(&key)
                .map_or((false, 0), |h| (h.dead.is_some(), h.round));
            if dead {
                // Parked, but its acknowledgement did not happen (the
                // consumer was killed in between): finish parking it.
                park.push((s.clone(), key));
                blocked.remove(&order);
                continue;
            }
            if let Some(&due) = self.waiting.get(&key)
                && due > now
            {
                next_due = Some(next_due.map_or(due, |n: Instant| n.min(due)));
                continue;
            }
            if round > self.policy.retries {
                // Killed consumers used up its attempts.
                park.push((s.clone(), key));
                continue;
            }
            picked.push((s.clone(), key, order));
        }
        (picked, park, next_due)
    }

    /// Pending records and, when some handling is unfinished elsewhere (a
    /// killed consumer's open attempt whose record reads pulled, a revived
    /// dead letter), those too: the full history is read only then.
    fn candidates(&mut self) -> Result<Vec<Stored>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut no_id = 0usize;
        self.q.store.scan(self.q.deadline(), None, true, &mut |s| {
            if s.view.pulled() == Pulled::No {
                match Key::of(&s) {
                    Some(k) => {
                        seen.insert(k);
                        out.push(s);
                    }
                    None => no_id += 1,
                }
            }
            Ok(true)
        })?;
        if no_id > 0 && !self.warned_no_id {
            self.warned_no_id = true;
            warn(&format!(
                "{no_id} pending record(s) without an id (a legacy writer's) cannot be acknowledged one by one and are left for cq pull"
            ));
        }
        let orphans: HashSet<Key> = self
            .ledger
            .map
            .keys()
            .filter(|k| {
                self.ledger.unfinished(k)
                    && !seen.contains(*k)
                    && !self.busy.contains_key(*k)
                    && !self.missing.contains(*k)
            })
            .cloned()
            .collect();
        if orphans.is_empty() {
            return Ok(out);
        }
        // One pass over everything, in queue order.
        let mut all = Vec::new();
        let mut found = HashSet::new();
        self.q
            .store
            .scan(self.q.deadline(), None, false, &mut |s| {
                if let Some(k) = Key::of(&s) {
                    let take = if s.view.pulled() == Pulled::No {
                        true
                    } else if orphans.contains(&k) && !found.contains(&k) {
                        found.insert(k);
                        true
                    } else {
                        false
                    };
                    if take {
                        all.push(s);
                    }
                }
                Ok(true)
            })?;
        self.missing
            .extend(orphans.into_iter().filter(|k| !found.contains(k)));
        Ok(all)
    }

    /// [`end`](Consumer::end) for handlers that ended together: the
    /// successes noted done in one write and acknowledged in one go.
    pub fn end_all(&mut self, ended: Vec<(Work, i32)>) -> Result<()> {
        let (ok, failed): (Vec<_>, Vec<_>) = ended.into_iter().partition(|(_, e)| *e == 0);
        if !ok.is_empty() {
            let mut facts = Vec::new();
            let mut done = Vec::new();
            for (w, _) in &ok {
                self.busy.remove(&w.key);
                let mut f = self.fact("done", &w.key);
                f.attempt = Some(w.attempt);
                facts.push(f.line());
                done.push((w.key.clone(), w.rec.view.pulled() == Pulled::No));
            }
            self.finish(&facts, &done)?;
            self.acked += ok.len();
        }
        for (w, e) in failed {
            self.end(w, e)?;
        }
        Ok(())
    }

    /// Notes records done and acknowledges them: acknowledged first, so
    /// that no other consumer takes a record noted done for pending (one
    /// killed in between leaves it pulled with its attempt open, and it is
    /// handled again); where acknowledgements wait for earlier records
    /// (Kafka), noted first, and other consumers leave a record that a
    /// live one noted done to it.
    fn finish(&mut self, facts: &[String], done: &[(Key, bool)]) -> Result<()> {
        if self.q.store.ack_sweeps_earlier() {
            self.q.store.append_facts(self.q.deadline(), facts)?;
            self.acknowledge(done)
        } else {
            self.acknowledge(done)?;
            self.q.store.append_facts(self.q.deadline(), facts)
        }
    }

    /// Acknowledges finished records (done or parked; the flag: whether it
    /// reads pending). Where an acknowledgement marks every earlier record
    /// of its partition too (Kafka's offsets), only the finished head of
    /// the candidates is acknowledged, so that no record waiting for its
    /// retry or not yet started is swept along; the others wait in
    /// `deferred` (a consumer killed meanwhile handles them again).
    fn acknowledge(&mut self, done: &[(Key, bool)]) -> Result<()> {
        let mut ids: Vec<String> = Vec::new();
        let mut gone: HashSet<Key> = HashSet::new();
        if self.q.store.ack_sweeps_earlier() {
            self.deferred.extend(done.iter().map(|(k, _)| k.clone()));
            for s in &self.cache {
                let Some(k) = Key::of(s) else { continue };
                if self.deferred.contains(&k) {
                    if s.view.pulled() == Pulled::No {
                        ids.push(k.id.clone());
                    }
                    gone.insert(k);
                } else if s.view.pulled() == Pulled::No && !self.done_elsewhere(&k) {
                    // Unfinished: acknowledging past it would sweep it.
                    break;
                }
            }
            self.deferred.retain(|k| !gone.contains(k));
        } else {
            for (k, pending) in done {
                if *pending {
                    ids.push(k.id.clone());
                }
                gone.insert(k.clone());
            }
        }
        // Two records of one id (a lost one and the returning wrapper's
        // real one) take an acknowledgement each: one marks the oldest.
        let mut rounds: Vec<Vec<String>> = Vec::new();
        for id in ids {
            match rounds.iter_mut().find(|r| !r.contains(&id)) {
                Some(r) => r.push(id),
                None => rounds.push(vec![id]),
            }
        }
        let acked = !rounds.is_empty();
        for r in rounds {
            self.q.ack(&r)?;
        }
        if acked {
            // Acknowledgements flip flags where they are; the store's index
            // of where pending records begin follows them here.
            self.q.store.settle(self.q.deadline())?;
        }
        self.cache
            .retain(|s| !Key::of(s).is_some_and(|k| gone.contains(&k)));
        Ok(())
    }

    /// Acts on a handler's exit status: acknowledges on 0, else counts the
    /// failure and schedules the retry, or parks the record.
    pub fn end(&mut self, w: Work, exit: i32) -> Result<Outcome> {
        self.busy.remove(&w.key);
        if exit == 0 {
            let mut f = self.fact("done", &w.key);
            f.attempt = Some(w.attempt);
            let done = [(w.key.clone(), w.rec.view.pulled() == Pulled::No)];
            self.finish(&[f.line()], &done)?;
            self.acked += 1;
            return Ok(Outcome::Acked);
        }
        self.refresh()?;
        let round = self.ledger.map.get(&w.key).map_or(1, |h| h.round);
        if round > self.policy.retries {
            self.park(&w.rec, &w.key, Some(i64::from(exit)))?;
            return Ok(Outcome::Dead);
        }
        let mut f = self.fact("failed", &w.key);
        f.attempt = Some(w.attempt);
        f.exit_code = Some(i64::from(exit));
        self.q.store.append_facts(self.q.deadline(), &[f.line()])?;
        let factor = 1u32 << (round - 1).min(20);
        let wait = self.policy.backoff.saturating_mul(factor).min(BACKOFF_CAP);
        self.waiting.insert(w.key, Instant::now() + wait);
        Ok(Outcome::Retry(wait))
    }

    /// Notes the record dead, then acknowledges it (a consumer killed in
    /// between finishes the job at its next round).
    fn park(&mut self, s: &Stored, key: &Key, exit: Option<i64>) -> Result<()> {
        let h = self.ledger.map.get(key).cloned().unwrap_or_default();
        if h.dead.is_none() {
            let mut facts = Vec::new();
            if let Some(c) = exit {
                let mut f = self.fact("failed", key);
                f.attempt = Some(h.attempts);
                f.exit_code = Some(c);
                facts.push(f.line());
            }
            let mut f = self.fact("dead", key);
            f.attempt = Some(h.attempts);
            // None when its consumer was killed: no status is known.
            f.exit_code = exit;
            facts.push(f.line());
            self.q.store.append_facts(self.q.deadline(), &facts)?;
            self.parked += 1;
        }
        self.waiting.remove(key);
        self.acknowledge(&[(key.clone(), s.view.pulled() == Pulled::No)])?;
        self.refresh()?;
        Ok(())
    }

    /// Whether records wait for a retry, or finished ones for their
    /// acknowledgement (behind records another consumer holds).
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty() || !self.deferred.is_empty()
    }
}
