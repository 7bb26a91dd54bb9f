//! `cq stats`: measure the queue's load and place it in the rubric.

use super::{Exit, Run};
use crate::cli::StatsArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::queue::{self, Filter, Location, Tier, Where};
use crate::record::Pulled;
use crate::rubric::{self, Load};
use crate::time::{self, Cutoff};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, IsTerminal, Write};

#[derive(Serialize, Default)]
struct Stats {
    records: u64,
    pending: u64,
    failures: u64,
    failure_rate: f64,
    first: Option<String>,
    last: Option<String>,
    /// What the means cover: --since to now, else the first record to the
    /// last.
    window_start: Option<String>,
    window_end: Option<String>,
    window_seconds: i64,
    /// Records per clock hour and minute over every hour and minute the
    /// window touches (`mean_hours`, `mean_minutes`): a mean over units
    /// that hold every record is never above the peak (a mean over the
    /// window's seconds, stretched to an hour, once was: 1200/hour beside
    /// a peak of 20).
    mean_per_hour: f64,
    mean_per_minute: f64,
    mean_hours: i64,
    mean_minutes: i64,
    peak_per_second: u64,
    peak_per_minute: u64,
    peak_per_hour: u64,
    /// The peaks were counted with the latest units only, and a record came
    /// later than those (far out of time order): a peak may be low.
    peaks_estimated: bool,
    writers: u64,
    /// `writers` is an estimate (HyperLogLog, within about 2%): there were
    /// more distinct writers than cq counts one by one.
    writers_estimated: bool,
    /// Records that name no writer (no `pid` or no `host`: the Phase G
    /// block's and other legacy writers'): in no count of writers.
    unattributed: u64,
    hosts: u64,
    hosts_estimated: bool,
    lost: u64,
    /// Dead letters: records `cq pull --exec` parked after their last
    /// retry (the whole queue's, whatever --since).
    dead: u64,
    /// Records without a `completed_at` (a legacy writer's): counted, but
    /// in no throughput.
    undated: u64,
    tier: Tier,
    reason: String,
    checklist: &'static str,
    /// The checklist's other items, as the advised tier answers them.
    also: Vec<&'static str>,
    /// The queue now, and when the rubric says to move: where, and how.
    current_tier: Tier,
    #[serde(skip_serializing_if = "Option::is_none")]
    switch_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    migrate: Option<String>,
}

impl Run for StatsArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let since = self.since.as_deref().map(time::parse_since).transpose()?;
        let filter = Filter {
            since: since.map(Cutoff::new),
            ..Filter::default()
        };
        let q = queue::open(loc)?;
        let mut st = Stats::default();
        let (mut first, mut last): (Option<Timestamp>, Option<Timestamp>) = (None, None);
        // Memory stays flat however long the history: distinct counts are
        // exact up to a bound, then estimated, and the per-unit counts keep
        // a bounded number of units (a million records by a million
        // wrappers kept every writer: 42 MiB at 300,000).
        let mut writers = Distinct::default();
        let mut hosts = Distinct::default();
        let mut per_second = Busiest::new(1);
        let mut per_minute = Busiest::new(60);
        let mut per_hour = Busiest::new(3600);
        let mut activity = Histogram::default();
        q.list(&filter, None, &mut |s| {
            let v = &s.view;
            st.records += 1;
            st.pending += u64::from(v.pulled() == Pulled::No);
            st.failures += u64::from(v.status != "success");
            st.lost += u64::from(v.lost);
            // A writer is a pid on a host; a record that names neither is
            // no evidence of one (counting it made every legacy queue one
            // writer more).
            match (&v.host, v.pid) {
                (Some(h), Some(p)) => writers.insert(&(h, p)),
                _ => st.unattributed += 1,
            }
            if let Some(h) = &v.host {
                hosts.insert(h);
            }
            if let Some(ts) = v
                .completed_at
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
            {
                let t = ts.as_second();
                // Records have second precision: the busiest second is
                // measured, and thousands in one is the Redis row.
                per_second.add(t);
                per_minute.add(t);
                per_hour.add(t);
                activity.add(t);
                first = Some(first.map_or(ts, |f| f.min(ts)));
                last = Some(last.map_or(ts, |l| l.max(ts)));
            } else {
                st.undated += 1;
            }
            Ok(())
        })?;
        let now = time::now();
        // The window the means cover: --since to now, else the first
        // record to the last (widened to hold every record, whose clocks
        // may be ahead of this one's).
        let span = match (since, first, last) {
            (Some(s), f, l) => Some((
                f.map_or(s, |f| f.min(s)).as_second(),
                l.map_or(now, |l| l.max(now)).as_second(),
            )),
            (None, Some(f), Some(l)) => Some((f.as_second(), l.as_second())),
            _ => None,
        };
        let units =
            |unit: i64| span.map_or(1, |(a, b)| b.div_euclid(unit) - a.div_euclid(unit) + 1);
        st.window_seconds = span.map_or(0, |(a, b)| b - a);
        let stamp = |t: i64| Timestamp::from_second(t).ok().map(time::format);
        st.window_start = span.and_then(|(a, _)| stamp(a));
        st.window_end = span.and_then(|(_, b)| stamp(b));
        st.mean_hours = units(3600);
        st.mean_minutes = units(60);
        st.dead = q.ledger()?.dead_count() as u64;
        st.first = first.map(time::format);
        st.last = last.map(time::format);
        st.failure_rate = if st.records == 0 {
            0.0
        } else {
            st.failures as f64 / st.records as f64
        };
        // Throughput is of the records that say when they completed.
        let dated = (st.records - st.undated) as f64;
        st.mean_per_hour = dated / st.mean_hours as f64;
        st.mean_per_minute = dated / st.mean_minutes as f64;
        st.peak_per_second = per_second.peak();
        st.peak_per_minute = per_minute.peak();
        st.peak_per_hour = per_hour.peak();
        st.peaks_estimated = per_second.late || per_minute.late || per_hour.late;
        (st.writers, st.writers_estimated) = writers.count();
        (st.hosts, st.hosts_estimated) = hosts.count();
        let advice = rubric::advise(&Load {
            peak_per_second: st.peak_per_second,
            peak_per_minute: st.peak_per_minute,
            peak_per_hour: st.peak_per_hour,
            hosts: st.hosts,
        });
        st.tier = advice.tier;
        st.reason = if st.records == 0 {
            "no records yet: start with the JSONL file".to_string()
        } else {
            advice.reason
        };
        st.checklist = advice.checklist;
        st.also = advice.also;
        st.current_tier = q.tier();
        if st.records > 0 && st.tier != st.current_tier {
            // Quoted, so that the line pastes into bash, zsh and fish alike
            // (a Redis URL's `?` is a glob to zsh and fish).
            let to = shell_word(&suggest(loc, st.tier));
            st.migrate = Some(format!("cq migrate --to {to}"));
            st.switch_to = Some(format!("CQ_QUEUE={to}"));
        }
        let mut out = io::stdout().lock();
        let r = if self.json {
            writeln!(
                out,
                "{}",
                serde_json::to_string(&st).expect("stats serialise")
            )
        } else {
            let chart = io::stdout().is_terminal().then_some(&activity);
            report(&mut out, &st, since.is_some(), self.verbose, chart)
        };
        r.and_then(|()| out.flush())
            .map(|()| Exit::Code(0))
            .map_err(Error::output)
    }
}

/// The report's width: it reads on an 80-column terminal.
const WIDTH: usize = 80;
/// Where each line's text starts, after its label.
const INDENT: usize = 12;

/// `label` and `text`, the text wrapped at words to [`WIDTH`] under a
/// hanging indent (a word longer than a line stays whole).
fn para(out: &mut impl Write, label: &str, text: &str) -> io::Result<()> {
    let mut line = format!("{label:INDENT$}");
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > WIDTH {
            writeln!(out, "{}", line.trim_end())?;
            line = " ".repeat(INDENT);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(out, "{}", line.trim_end())
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn report(
    out: &mut impl Write,
    st: &Stats,
    since: bool,
    verbose: bool,
    chart: Option<&Histogram>,
) -> io::Result<()> {
    let mut extra = String::new();
    if st.lost > 0 {
        extra.push_str(&format!(", {} lost", st.lost));
    }
    if st.dead > 0 {
        extra.push_str(&format!(", {} dead letters", st.dead));
    }
    if st.undated > 0 {
        extra.push_str(&format!(", {} without completed_at", st.undated));
    }
    para(
        out,
        "records",
        &format!(
            "{} ({} pending, {} failed = {:.1}%{extra})",
            st.records,
            st.pending,
            st.failures,
            st.failure_rate * 100.0,
        ),
    )?;
    if let (Some(a), Some(b)) = (&st.window_start, &st.window_end) {
        let what = if since {
            "--since to now"
        } else {
            "first record to last"
        };
        para(out, "window", &format!("{a} .. {b} ({what})"))?;
    }
    para(
        out,
        "peak",
        &format!(
            "{}/hour, {}/minute, {}/second{}",
            st.peak_per_hour,
            st.peak_per_minute,
            st.peak_per_second,
            if st.peaks_estimated {
                " (estimated: records far out of time order)"
            } else {
                ""
            }
        ),
    )?;
    para(
        out,
        "mean",
        &format!(
            "{:.2}/hour over the window's {}, {:.2}/minute over its {}",
            st.mean_per_hour,
            plural(st.mean_hours, "clock hour"),
            st.mean_per_minute,
            plural(st.mean_minutes, "clock minute"),
        ),
    )?;
    let about = |estimated: bool| if estimated { "about " } else { "" };
    para(
        out,
        "writers",
        &format!(
            "{}{} (pid@host), {}{} host{}{}{}",
            about(st.writers_estimated),
            st.writers,
            about(st.hosts_estimated),
            st.hosts,
            if st.hosts == 1 { "" } else { "s" },
            if st.unattributed == 0 {
                String::new()
            } else {
                format!("; {} record(s) name no writer", st.unattributed)
            },
            if st.writers_estimated || st.hosts_estimated {
                "; estimated (HyperLogLog, within about 2%): too many to count one by one"
            } else {
                ""
            }
        ),
    )?;
    para(out, "tier", &format!("{}: {}", st.tier, st.reason))?;
    para(out, "checklist", st.checklist)?;
    if verbose {
        for item in &st.also {
            para(out, "", item)?;
        }
    } else if !st.also.is_empty() {
        para(out, "", "(cq stats -v: the checklist's other items)")?;
    }
    if let (Some(m), Some(sw)) = (&st.migrate, &st.switch_to) {
        // A command to paste: broken, if at all, only after its `&&`,
        // where bash, zsh and fish all read on.
        let one = format!("{:INDENT$}{m} && export {sw}", "move");
        if one.chars().count() <= WIDTH {
            writeln!(out, "{one}")?;
        } else {
            writeln!(out, "{:INDENT$}{m} &&", "move")?;
            writeln!(out, "{:w$}export {sw}", "", w = INDENT + 2)?;
        }
    }
    if let Some(h) = chart
        && h.total() > 0
    {
        writeln!(
            out,
            "{:INDENT$}|{}|",
            "activity",
            output::sparkline(&h.buckets(60))
        )?;
    }
    Ok(())
}

/// Distinct values (writers, hosts), by a 64-bit hash of each: counted one
/// by one up to [`Distinct::EXACT_MAX`], then estimated by a HyperLogLog of
/// 2^14 one-byte registers (standard error 0.8%), so that memory stays
/// flat: 16 KiB plus the exact set's 1 MiB at most.
struct Distinct {
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

    fn insert(&mut self, v: &impl Hash) {
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
    fn count(&self) -> (u64, bool) {
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
struct Busiest {
    unit: i64,
    counts: BTreeMap<i64, u64>,
    folded_peak: u64,
    folded_upto: Option<i64>,
    late: bool,
}

impl Busiest {
    const UNITS_MAX: usize = 1 << 15;

    fn new(unit: i64) -> Busiest {
        Busiest {
            unit,
            counts: BTreeMap::new(),
            folded_peak: 0,
            folded_upto: None,
            late: false,
        }
    }

    fn add(&mut self, t: i64) {
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

    fn peak(&self) -> u64 {
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
struct Histogram {
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

    fn add(&mut self, t: i64) {
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

    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The counts from the first record's minute to the last's, in up to
    /// `max` equal buckets.
    fn buckets(&self, max: i64) -> Vec<u64> {
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

/// `s` as one word for bash, zsh and fish: as it is when that is safe
/// (a plain path), else quoted.
fn shell_word(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-:".contains(&b))
    {
        s.to_string()
    } else {
        super::sh_quote(s)
    }
}

/// Where a queue of `tier` could live, next to the current one.
fn suggest(loc: &Location, tier: Tier) -> String {
    let base = match loc {
        Location::File(p) | Location::Sqlite(p) => p.clone(),
        #[cfg(any(feature = "redis", feature = "kafka"))]
        _ => std::path::PathBuf::from("$XDG_STATE_HOME/cq/queue.jsonl"),
    };
    tier.example(&base)
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
