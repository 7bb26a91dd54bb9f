//! What commands other than the consumer ask of the fact log: `list
//! --dead`, `pull --from` (replay) and `cq retry`.

use super::ledger::{Dead, Fact, Handling, Key, Ledger};
use crate::error::{Error, Result};
use crate::queue::{Queue, Stored};
use crate::record::{Pulled, View};
use std::collections::HashSet;

impl Queue {
    /// The fact log, folded.
    pub fn ledger(&self) -> Result<Ledger> {
        let mut l = Ledger::default();
        l.refresh(self)?;
        Ok(l)
    }

    /// The parked records, oldest first, each with `"attempts"` and
    /// `"dead":{"exit_code":C,"at":TS}` added to the line printed (the
    /// stored line is not changed).
    pub fn dead_letters(&self, each: &mut dyn FnMut(Stored) -> Result<()>) -> Result<usize> {
        let ledger = self.ledger()?;
        if ledger.dead_count() == 0 {
            return Ok(0);
        }
        let mut seen = HashSet::new();
        self.store.scan(self.deadline(), None, false, &mut |s| {
            if let Some(k) = Key::of(&s)
                && let Some(h) = ledger.map.get(&k)
                && let Some(d) = &h.dead
                && seen.insert(k)
            {
                each(with_dead(s, h, d))?;
            }
            Ok(true)
        })?;
        Ok(seen.len())
    }

    /// Replays from `point` (`cq pull --from`): a time (RFC 3339, or a
    /// duration ago) or a record id. Every record from the point on (the
    /// first record completed at or after the time, or the record with the
    /// id) is made pending again for `group` (the default consumer when
    /// `None`), and a `replay` fact records it, so the earlier pulls are
    /// replayed, not forgotten. Where a store has partitions with no
    /// common order (Kafka), an id replays its own partition from that
    /// record and the others from the first record completed in its second
    /// or later. Returns how many records became pending.
    pub fn replay(&self, group: Option<&str>, point: &str) -> Result<usize> {
        if let Some(g) = group {
            self.check_group(g)?;
        }
        let n = match crate::time::parse_since(point) {
            Ok(ts) => {
                let cut = crate::time::Cutoff::new(ts);
                self.store.replay(self.deadline(), group, &|v: &View| {
                    v.completed_at
                        .as_deref()
                        .and_then(|t| crate::time::at_or_after(t, &cut))
                        == Some(true)
                })?
            }
            Err(_) => {
                super::super::check_ids(&[point.to_string()])?;
                let mut at: Option<Option<String>> = None;
                self.store.scan(self.deadline(), None, false, &mut |s| {
                    if s.view.id.as_deref() == Some(point) {
                        at = Some(s.view.completed_at.clone());
                        return Ok(false);
                    }
                    Ok(true)
                })?;
                self.report_bad("skipped");
                let Some(at) = at else {
                    return Err(Error::usage(format!(
                        "--from {point}: neither a time (RFC 3339 or a duration such as 2h) nor the id of a record in {}",
                        self.describe()
                    )));
                };
                let cut = at
                    .as_deref()
                    .and_then(|t| crate::time::parse_timestamp(t).ok())
                    .map(crate::time::Cutoff::new);
                let partitioned = self.store.ack_sweeps_earlier();
                self.store.replay(self.deadline(), group, &|v: &View| {
                    v.id.as_deref() == Some(point)
                        || (partitioned
                            && cut.as_ref().is_some_and(|c| {
                                v.completed_at
                                    .as_deref()
                                    .and_then(|t| crate::time::at_or_after(t, c))
                                    == Some(true)
                            }))
                })?
            }
        };
        // Records another program marked pulled, which replay cannot change.
        self.report_bad("left pulled");
        let mut f = Fact::new(
            "replay",
            &Key {
                id: String::new(),
                lost: false,
            },
        );
        f.from = Some(point.to_string());
        f.group = group.map(str::to_string);
        f.count = Some(n);
        self.store.append_facts(self.deadline(), &[f.line()])?;
        Ok(n)
    }

    /// Puts parked records back for the consumer (`cq retry`): all of
    /// them, or those with these ids, all or nothing (an id that is not a
    /// dead letter changes nothing and fails). Returns how many.
    pub fn retry(&self, ids: &[String], all: bool) -> Result<usize> {
        super::super::check_ids(ids)?;
        let ledger = self.ledger()?;
        let dead: Vec<&Key> = ledger
            .map
            .iter()
            .filter(|(_, h)| h.dead.is_some())
            .map(|(k, _)| k)
            .collect();
        let mut pick: Vec<&Key> = Vec::new();
        if all {
            pick = dead;
        } else {
            for id in ids {
                let of_id: Vec<&Key> = dead.iter().copied().filter(|k| &k.id == id).collect();
                if of_id.is_empty() {
                    return Err(Error::no_record(format!(
                        "no dead letter with id {id} in {} (see cq list --dead); nothing changed",
                        self.describe()
                    )));
                }
                pick.extend(of_id);
            }
        }
        let facts: Vec<String> = pick.iter().map(|k| Fact::new("retry", k).line()).collect();
        self.store.append_facts(self.deadline(), &facts)?;
        Ok(facts.len())
    }
}

/// The record line with its dead-letter state added, for `list --dead`.
fn with_dead(s: Stored, h: &Handling, d: &Dead) -> Stored {
    let text = String::from_utf8_lossy(&s.line);
    let trimmed = text.trim_end();
    let Some(body) = trimmed.strip_suffix('}') else {
        return s;
    };
    let dead = serde_json::json!({"exit_code": d.exit_code, "at": d.at});
    let line = format!(
        "{body},\"attempts\":{},\"dead\":{dead}}}",
        h.attempts.max(d.attempts)
    );
    match Stored::from_store(line.into_bytes(), s.view.pulled() == Pulled::Yes) {
        Ok(n) => n,
        Err(_) => s,
    }
}
