//! The flat-memory counters `cq stats` fills as it reads the queue: a
//! distinct count exact up to a bound then estimated (HyperLogLog), the
//! busiest second, minute and hour over a bounded number of units, and the
//! activity histogram in a fixed number of buckets. Each keeps its memory
//! bounded however long the history (a million records by a million
//! wrappers once kept every writer: 42 MiB at 300,000).

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Distinct values (writers, hosts), by a 64-bit hash of each: counted one
/// by one up to [`Distinct::EXACT_MAX`], then estimated by a HyperLogLog of
/// 2^14 one-byte registers (standard error 0.8%), so that memory stays
/// flat: 16 KiB plus the exact set's 1 MiB at most.
pub struct Distinct {
    exact: Option<HashSet<u64>>,
    registers: Box<[u8]>,
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct {
            exact: Some(HashSet::new()),
            registers: vec![0; 1 << Distinct::P].into_boxed_slice(),
        }
    }
}

impl Distinct {
    const P: u32 = 14;
    const EXACT_MAX: usize = 100_000;

    pub fn insert(&mut self, v: &impl Hash) {
        // SipHash with fixed keys: the same value, the same hash, every run.
        let mut hasher = DefaultHasher::new();
        v.hash(&mut hasher);
        let h = hasher.finish();
        let i = (h >> (64 - Self::P)) as usize;
        // The rank of the first 1 bit after the index bits (a set bit at
        // the end bounds it).
        let rank = ((h << Self::P) | (1 << (Self::P - 1))).leading_zeros() as u8 + 1;
        if rank > self.registers[i] {
            self.registers[i] = rank;
        }
        if let Some(set) = &mut self.exact {
            set.insert(h);
            if set.len() > Self::EXACT_MAX {
                self.exact = None;
            }
        }
    }

    /// The count, and whether it is an estimate.
    pub fn count(&self) -> (u64, bool) {
        if let Some(set) = &self.exact {
            return (set.len() as u64, false);
        }
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let e = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        (e.round() as u64, true)
    }
}

/// Records per clock unit (second, minute or hour), for the busiest unit.
/// Records come roughly in time order, so the counts of the latest
/// [`Busiest::UNITS_MAX`] units are kept and older ones folded into the
/// peak; a record for a unit already folded (far out of order) is counted
/// anew and marks the peak `late` (an estimate that may be low).
pub struct Busiest {
    unit: i64,
    counts: BTreeMap<i64, u64>,
    folded_peak: u64,
    folded_upto: Option<i64>,
    late: bool,
}

impl Busiest {
    const UNITS_MAX: usize = 1 << 15;

    pub fn new(unit: i64) -> Busiest {
        Busiest {
            unit,
            counts: BTreeMap::new(),
            folded_peak: 0,
            folded_upto: None,
            late: false,
        }
    }

    pub fn add(&mut self, t: i64) {
        let k = t.div_euclid(self.unit);
        if self.folded_upto.is_some_and(|f| k <= f) {
            self.late = true;
        }
        *self.counts.entry(k).or_default() += 1;
        if self.counts.len() > Self::UNITS_MAX
            && let Some((k0, c0)) = self.counts.pop_first()
        {
            self.folded_peak = self.folded_peak.max(c0);
            self.folded_upto = Some(self.folded_upto.map_or(k0, |f| f.max(k0)));
        }
    }

    /// Whether a record came for a unit already folded: the peak may be
    /// low.
    pub fn late(&self) -> bool {
        self.late
    }

    pub fn peak(&self) -> u64 {
        self.counts
            .values()
            .copied()
            .max()
            .unwrap_or(0)
            .max(self.folded_peak)
    }
}

/// Completions over time in a fixed number of buckets whose width doubles
/// (neighbours merged) whenever a record falls outside their range: the
/// activity chart, in bounded memory whatever the history's span.
pub struct Histogram {
    lo: i64,
    width: i64,
    counts: Vec<u64>,
    seen: Option<(i64, i64)>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            lo: 0,
            width: 1,
            counts: vec![0; Histogram::N],
            seen: None,
        }
    }
}

impl Histogram {
    const N: usize = 1024;

    pub fn add(&mut self, t: i64) {
        if self.seen.is_none() {
            self.lo = t;
        }
        self.seen = Some(self.seen.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        let n = Self::N as i64;
        while t < self.lo || t >= self.lo.saturating_add(self.width.saturating_mul(n)) {
            let mut merged = vec![0; Self::N];
            // Growing left, the old range becomes the right half.
            let (shift, lo) = if t < self.lo {
                (Self::N / 2, self.lo - self.width * n)
            } else {
                (0, self.lo)
            };
            for (i, c) in self.counts.iter().enumerate() {
                merged[shift + i / 2] += c;
            }
            self.counts = merged;
            self.lo = lo;
            self.width *= 2;
        }
        self.counts[((t - self.lo) / self.width) as usize] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The counts from the first record's minute to the last's, in up to
    /// `max` equal buckets.
    pub fn buckets(&self, max: i64) -> Vec<u64> {
        let Some((first, last)) = self.seen else {
            return Vec::new();
        };
        let (a, b) = (first.div_euclid(60), last.div_euclid(60));
        let span = (b - a + 1).max(1);
        let n = span.min(max);
        let mut out = vec![0u64; n as usize];
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                let m = (self.lo + i as i64 * self.width).max(first).div_euclid(60);
                out[((m - a) * n / span).clamp(0, n - 1) as usize] += c;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_is_exact_to_its_bound_then_an_estimate_within_two_percent() {
        let mut d = Distinct::default();
        for i in 0..Distinct::EXACT_MAX as u64 {
            d.insert(&("h", i));
            d.insert(&("h", i));
        }
        assert_eq!(d.count(), (Distinct::EXACT_MAX as u64, false));
        let n = 1_000_000u64;
        for i in 0..n {
            d.insert(&("h", i));
        }
        let (e, estimated) = d.count();
        assert!(estimated);
        assert!((e as f64 - n as f64).abs() / (n as f64) < 0.02, "{e}");
        assert!(d.exact.is_none(), "the exact set is dropped past its bound");
    }

    #[test]
    fn busiest_folds_old_units_and_marks_a_late_record() {
        let mut b = Busiest::new(1);
        b.add(5);
        b.add(5);
        b.add(5);
        for t in 10..10 + Busiest::UNITS_MAX as i64 + 10 {
            b.add(t);
        }
        assert!(b.counts.len() <= Busiest::UNITS_MAX);
        assert_eq!(b.peak(), 3, "the folded unit's count is kept");
        assert!(!b.late);
        b.add(5);
        assert!(
            b.late,
            "a record for a folded unit makes the peak an estimate"
        );
    }

    #[test]
    fn the_histogram_widens_both_ways_and_keeps_every_count() {
        let mut h = Histogram::default();
        let ts = [1_000_000, 1_000_001, 999_000, 5_000_000, -86_400, 1_000_000];
        for t in ts {
            h.add(t);
        }
        assert_eq!(h.total(), ts.len() as u64);
        assert_eq!(h.counts.len(), Histogram::N);
        assert_eq!(h.buckets(60).iter().sum::<u64>(), ts.len() as u64);
        assert_eq!(h.buckets(60).len(), 60);
    }
}
