//! `cq migrate`: copying a queue to another tier, the only place a record
//! is ever de-duplicated, and carrying pulled state forward.

use super::Queue;
use crate::error::Result;
use crate::record::{Pulled, Stored};

/// What `cq migrate` did.
pub struct Migrated {
    /// Records in the source.
    pub total: usize,
    /// Records copied (the rest were in the target already).
    pub copied: usize,
    /// Records the target had pending, marked pulled because they were
    /// pulled in the source since an earlier migrate.
    pub marked: usize,
}

/// `cq migrate`, on every tier alike: copies the records of `source` that
/// `target` lacks (ids and pulled state kept; the target skips what it has,
/// the only place a record is ever de-duplicated), then carries over what
/// was pulled in the source since: a record pulled there and still pending
/// in the target is marked pulled (by id), and nothing is ever made pending
/// again. Where an acknowledgement also takes every earlier record (Kafka's
/// offsets), only records before the first one that must stay pending are
/// marked, so no record nobody pulled is swept along. Records without an
/// id (a legacy writer's) keep the state of their first copy.
impl Queue {
    /// [`migrate`] from this queue to `target`.
    pub fn migrate_to(&self, target: &Queue) -> Result<Migrated> {
        migrate(self, target)
    }
}

fn migrate(source: &Queue, target: &Queue) -> Result<Migrated> {
    let p = crate::notice::Progress::new("migrating");
    let r = copy_missing(source, target, &p);
    p.finish();
    // What is not a record stays behind, named.
    source.report_bad("not copied");
    target.report_bad("skipped");
    let (total, copied, pulled) = r?;
    let marked = carry_pulled(target, &pulled)?;
    Ok(Migrated {
        total,
        copied,
        marked,
    })
}

/// The second half of [`migrate`]: marks pulled here the pending records
/// that were pulled in the source (`pulled`: what the target held, and
/// which of those the source has pulled), by id, in acknowledgements of
/// at most 10,000 ids (50,000 cost 8 MiB more at a million, for no speed),
/// each round reading the pending records again, so memory stays bounded
/// however many were pulled. An ack marks an id's oldest pending record:
/// of records sharing an id (a lost record, then the real one), a source
/// pulls or acks the oldest first, and they were copied in its order, so a
/// round marks an id's first pending copy only if it was pulled there, and
/// the next round its next one.
fn carry_pulled(target: &Queue, pulled: &PulledThere) -> Result<usize> {
    const ROUND: usize = 10_000;
    if pulled.bits.iter().all(|&b| b == 0) {
        return Ok(0);
    }
    let sweeps = target.store.ack_sweeps_earlier();
    let mut marked = 0;
    loop {
        let mut ids: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        target.store.scan(target.deadline(), None, true, &mut |s| {
            if s.view.pulled() != Pulled::No {
                return Ok(true);
            }
            let was_pulled = pulled.contains(&copy_key(&s));
            if !was_pulled && sweeps {
                return Ok(false);
            }
            if let Some(id) = &s.view.id
                && seen.insert(digest(id.as_bytes()))
                && was_pulled
            {
                ids.push(id.clone());
            }
            Ok(ids.len() < ROUND)
        })?;
        if ids.is_empty() {
            return Ok(marked);
        }
        match target.ack(&ids)? {
            // Pulled here meanwhile: nothing left to carry.
            0 => return Ok(marked),
            n => marked += n,
        }
    }
}

/// The first half of [`migrate`], streamed: reads what `target` holds (as
/// digests of [`identity`]), then the source twice: once for the digests
/// of what the target lacks, to find those the source holds more than once
/// (copied once), and once to append what the target lacks in slices of
/// 1,000 (each durable before the next; a migrate cut short is completed
/// by running it again). Digests sit in sorted vectors, 16 bytes each, not
/// a hash table that doubles: a million records cost 16 MiB, whatever
/// their size. Returns the source's count, how many were copied, and
/// which records the target held already were pulled in the source: one
/// bit beside each digest the target's records have (a digest of each
/// pulled record besides them made a migrate of a million pulled records
/// 38 MiB). A record is the same in both by its [`copy_key`], as for
/// copying: a returning wrapper's real record shares its lost record's
/// id, and one of them may be pulled while the other is not.
fn copy_missing(
    source: &Queue,
    target: &Queue,
    p: &crate::notice::Progress,
) -> Result<(usize, usize, PulledThere)> {
    let mut have = Vec::new();
    target
        .store
        .scan(target.deadline(), None, false, &mut |s| {
            p.tick();
            have.push(copy_key(&s));
            Ok(true)
        })?;
    let have = Digests::from(have);
    let mut missing = Vec::new();
    source
        .store
        .scan(source.deadline(), None, false, &mut |s| {
            p.tick();
            let d = copy_key(&s);
            if !have.contains(&d) {
                missing.push(d);
            }
            Ok(true)
        })?;
    missing.sort_unstable();
    let twice: std::collections::HashSet<u128> = missing
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    drop(missing);
    let mut copied_twice = std::collections::HashSet::new();
    let mut bits = vec![0u64; have.0.len().div_ceil(64)];
    let (mut total, mut copied) = (0, 0);
    let mut slice = Vec::new();
    source
        .store
        .scan(source.deadline(), None, false, &mut |s| {
            p.tick();
            total += 1;
            let d = copy_key(&s);
            // A record copied now carries its pulled flag; only those the
            // target held already may need theirs carried forward.
            if s.view.pulled() == Pulled::Yes
                && let Ok(i) = have.0.binary_search(&d)
            {
                bits[i / 64] |= 1 << (i % 64);
            }
            // A record appended to the source since the first read, whose
            // identity was already there, is copied again: the price of not
            // holding every identity in memory (it is a redelivery at worst).
            let copy = !have.contains(&d) && (!twice.contains(&d) || copied_twice.insert(d));
            if copy {
                slice.push(s);
            }
            if slice.len() >= 1000 {
                target.store.append(target.deadline(), &slice)?;
                copied += slice.len();
                slice.clear();
            }
            Ok(true)
        })?;
    if !slice.is_empty() {
        target.store.append(target.deadline(), &slice)?;
        copied += slice.len();
    }
    Ok((total, copied, PulledThere { have, bits }))
}

/// The target's records before a migrate (digests of their [`copy_key`])
/// and, one bit each, whether the source has that record pulled.
struct PulledThere {
    have: Digests,
    bits: Vec<u64>,
}

impl PulledThere {
    fn contains(&self, d: &u128) -> bool {
        self.have
            .0
            .binary_search(d)
            .is_ok_and(|i| self.bits[i / 64] & (1 << (i % 64)) != 0)
    }
}

/// What migrate copies once: a record's [`identity`], except that a lost
/// record and the returning wrapper's real one, which share an id, are two
/// records (copying one would lose the other).
fn copy_key(s: &Stored) -> u128 {
    match s.view.lost {
        true => digest(format!("lost {}", s.identity()).as_bytes()),
        false => digest(s.identity().as_bytes()),
    }
}

/// A set of digests as a sorted vector: 16 bytes a member, and no peak
/// while it grows (a large vector's realloc moves pages, not bytes).
struct Digests(Vec<u128>);

impl Digests {
    fn from(mut v: Vec<u128>) -> Digests {
        v.sort_unstable();
        v.dedup();
        v.shrink_to_fit();
        Digests(v)
    }

    fn contains(&self, d: &u128) -> bool {
        self.0.binary_search(d).is_ok()
    }
}

/// A 128-bit digest (two SipHashes) standing for a record's identity or
/// text in migrate's sets: a collision is as likely as guessing a UUID.
fn digest(bytes: &[u8]) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        bytes.hash(&mut h);
        h.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{local_stores, rec};
    use super::*;
    use crate::queue::jsonl;

    /// Migrate copies a lost record and the returning wrapper's real one
    /// (they share an id) and carries the pulled state of each, copies a
    /// record the source holds twice once, and copies nothing on a rerun.
    #[test]
    fn migrate_keeps_both_records_of_a_shared_id() {
        let dir = tempfile::tempdir().unwrap();
        let targets = local_stores(dir.path(), "t");
        let source = Queue::new(Box::new(jsonl::JsonlQueue::new(dir.path().join("s.jsonl"))));
        for line in [
            rec("job", "J", true),
            rec("job", "J", false),
            rec("other", "K", false),
            rec("twice", "D", false),
            rec("twice", "D", false),
        ] {
            source.append(&line).unwrap();
        }
        let ack_once = std::cell::Cell::new(true);
        for target in targets {
            let target = Queue::new(target);
            let tier = target.tier();
            let m = migrate(&source, &target).unwrap();
            // The lost record is pulled in the source after the first
            // migrate to the first target, before the one to the second.
            if ack_once.replace(false) {
                assert_eq!((m.total, m.copied, m.marked), (5, 4, 0), "{tier}");
                assert_eq!(source.ack(&["J".into()]).unwrap(), 1);
                let m = migrate(&source, &target).unwrap();
                assert_eq!(
                    (m.copied, m.marked),
                    (0, 1),
                    "{tier}: its pulled state follows"
                );
            } else {
                assert_eq!(
                    (m.total, m.copied, m.marked),
                    (5, 4, 0),
                    "{tier}: copied pulled"
                );
            }
            let mut got = Vec::new();
            target
                .pull(None, &mut |recs| {
                    got.extend(recs.iter().map(|r| (r.view.name.clone(), r.view.lost)));
                    Ok(())
                })
                .unwrap();
            let want = [("job", false), ("other", false), ("twice", false)];
            let want: Vec<(String, bool)> = want.iter().map(|(n, l)| (n.to_string(), *l)).collect();
            assert_eq!(
                got, want,
                "{tier}: the real record is delivered, the lost one is not again"
            );
            let again = migrate(&source, &target).unwrap();
            assert_eq!(
                (again.copied, again.marked),
                (0, 0),
                "{tier}: a rerun changes nothing"
            );
        }
    }
}
