//! The fact log folded: each record's handling (attempts, failures,
//! dead letters, holds), read on from where it was last read.

use crate::error::Result;
use crate::queue::{Mark, Queue, Stored};
use crate::record::View;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One fact of the log.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub(super) struct Fact {
    pub(super) fact: String,
    pub(super) id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) lost: bool,
    #[serde(default)]
    pub(super) at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) exit_code: Option<i64>,
    /// A replay's point, group and how many records it made pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) count: Option<usize>,
    /// The consumer that wrote it: `HOST:PID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) by: Option<String>,
}

impl Fact {
    pub(super) fn new(kind: &str, key: &Key) -> Fact {
        Fact {
            fact: kind.to_string(),
            id: key.id.clone(),
            lost: key.lost,
            at: crate::time::format(crate::time::now()),
            attempt: None,
            exit_code: None,
            from: None,
            group: None,
            count: None,
            by: None,
        }
    }

    pub(super) fn line(&self) -> String {
        serde_json::to_string(self).expect("a fact always serialises")
    }
}

/// Which record a fact is about: its id, and whether it is a lost record
/// (a returning wrapper's real record shares the id and is handled apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub id: String,
    pub lost: bool,
}

impl Key {
    pub fn of(s: &Stored) -> Option<Key> {
        Key::of_view(&s.view)
    }

    pub fn of_view(v: &View) -> Option<Key> {
        v.id.as_ref().map(|id| Key {
            id: id.clone(),
            lost: v.lost,
        })
    }
}

/// A parked record: its last exit code (none when its consumer was
/// killed), when, and after how many attempts in all.
#[derive(Debug, Clone)]
pub struct Dead {
    pub exit_code: Option<i64>,
    pub at: String,
    pub attempts: u32,
}

/// One record's handling, folded from the fact log.
#[derive(Debug, Clone, Default)]
pub struct Handling {
    /// Every attempt ever begun.
    pub attempts: u32,
    /// Attempts since the last success or retry: what the budget counts.
    pub round: u32,
    pub last_exit: Option<i64>,
    pub dead: Option<Dead>,
    /// An attempt begun and not yet ended by success or parking.
    pub open: bool,
    /// Put back by `cq retry`, not handled since.
    pub revived: bool,
    /// The consumer whose attempt is the latest (`HOST:PID`), and when it
    /// claimed or last renewed it.
    pub owner: Option<String>,
    pub held_at: String,
    /// Who noted it done last (who acknowledges it, where that waits).
    pub done_by: Option<String>,
}

/// The fact log folded into each record's handling, read on from where it
/// was last read.
#[derive(Default)]
pub struct Ledger {
    pub map: HashMap<Key, Handling>,
    pub(super) mark: Option<Mark>,
    /// The records that the facts read by the last refresh ended (done or
    /// parked), and by whom.
    pub(super) ended: Vec<(Key, Option<String>)>,
}

impl Ledger {
    pub(super) fn apply(&mut self, f: Fact) {
        // A replay's fact, or a kind a newer cq wrote: not a record's
        // handling, not ours to judge.
        if !matches!(
            f.fact.as_str(),
            "attempt" | "failed" | "done" | "dead" | "retry" | "hold"
        ) {
            return;
        }
        let key = Key {
            id: f.id,
            lost: f.lost,
        };
        let h = self.map.entry(key.clone()).or_default();
        match f.fact.as_str() {
            "attempt" => {
                // Consumers side by side may claim one record at once:
                // each numbers its attempt from what it has read, and the
                // first claim of a number wins; a later one of the same
                // number lost the race and does not count.
                if f.attempt.is_some_and(|n| n <= h.attempts) {
                    return;
                }
                h.attempts = f.attempt.unwrap_or(h.attempts + 1);
                h.round += 1;
                h.open = true;
                h.owner = f.by;
                h.held_at = f.at;
                h.done_by = None;
            }
            "hold" if h.open && h.owner == f.by => h.held_at = f.at,
            "failed" => h.last_exit = f.exit_code,
            "done" => {
                h.open = false;
                h.round = 0;
                h.revived = false;
                h.dead = None;
                h.held_at = f.at;
                h.done_by = f.by.clone();
                self.ended.push((key, f.by));
            }
            "dead" => {
                h.dead = Some(Dead {
                    exit_code: f.exit_code,
                    at: f.at,
                    attempts: f.attempt.unwrap_or(h.attempts),
                });
                h.open = false;
                h.revived = false;
                self.ended.push((key, f.by));
            }
            "retry" if h.dead.is_some() => {
                h.dead = None;
                h.round = 0;
                h.revived = true;
            }
            _ => {}
        }
    }

    pub(super) fn refresh(&mut self, q: &Queue) -> Result<()> {
        let mut facts = Vec::new();
        let mark = q
            .store
            .scan_facts(q.deadline(), self.mark.as_ref(), &mut |b| {
                // A fact this cq cannot read is skipped, as a bad line is.
                if let Ok(f) = serde_json::from_slice::<Fact>(b) {
                    facts.push(f);
                }
                Ok(())
            })?;
        q.report_bad("skipped");
        for f in facts {
            self.apply(f);
        }
        self.mark = Some(mark);
        Ok(())
    }

    /// Whether compaction must keep this record: its handling is not over.
    pub fn keeps(&self, v: &View) -> bool {
        Key::of_view(v)
            .and_then(|k| self.map.get(&k))
            .is_some_and(|h| h.dead.is_some() || h.open || h.revived)
    }

    pub fn dead_count(&self) -> usize {
        self.map.values().filter(|h| h.dead.is_some()).count()
    }

    pub(super) fn unfinished(&self, k: &Key) -> bool {
        self.map
            .get(k)
            .is_some_and(|h| h.dead.is_none() && (h.open || h.revived))
    }
}
