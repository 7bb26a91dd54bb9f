//! What `cq stats` measures: the [`Stats`] it reports (its fields in the
//! order of the JSON), and the [`Tally`] that reads each record once and
//! keeps only flat-memory counts, then derives the window, the means and
//! the peaks from them.

use super::count::{Busiest, Distinct, Histogram};
use crate::queue::Tier;
use crate::record::{Pulled, View};
use crate::time;
use jiff::Timestamp;
use serde::Serialize;

#[derive(Serialize, Default)]
pub struct Stats {
    pub records: u64,
    pub pending: u64,
    pub failures: u64,
    pub failure_rate: f64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// What the means cover: --since to now, else the first record to the
    /// last.
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    pub window_seconds: i64,
    /// Records per clock hour and minute over every hour and minute the
    /// window touches (`mean_hours`, `mean_minutes`): a mean over units
    /// that hold every record is never above the peak (a mean over the
    /// window's seconds, stretched to an hour, once was: 1200/hour beside
    /// a peak of 20).
    pub mean_per_hour: f64,
    pub mean_per_minute: f64,
    pub mean_hours: i64,
    pub mean_minutes: i64,
    pub peak_per_second: u64,
    pub peak_per_minute: u64,
    pub peak_per_hour: u64,
    /// The peaks were counted with the latest units only, and a record came
    /// later than those (far out of time order): a peak may be low.
    pub peaks_estimated: bool,
    pub writers: u64,
    /// `writers` is an estimate (HyperLogLog, within about 2%): there were
    /// more distinct writers than cq counts one by one.
    pub writers_estimated: bool,
    /// Records that name no writer (no `pid` or no `host`: the Phase G
    /// block's and other legacy writers'): in no count of writers.
    pub unattributed: u64,
    pub hosts: u64,
    pub hosts_estimated: bool,
    pub lost: u64,
    /// Dead letters: records `cq pull --exec` parked after their last
    /// retry (the whole queue's, whatever --since).
    pub dead: u64,
    /// Records without a `completed_at` (a legacy writer's): counted, but
    /// in no throughput.
    pub undated: u64,
    pub tier: Tier,
    pub reason: String,
    pub checklist: &'static str,
    /// The checklist's other items, as the advised tier answers them.
    pub also: Vec<&'static str>,
    /// The queue now, and when the rubric says to move: where, and how.
    pub current_tier: Tier,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrate: Option<String>,
}

/// The counts of the records read so far. Memory stays flat however long
/// the history: distinct counts are exact up to a bound, then estimated,
/// and the per-unit counts keep a bounded number of units.
pub struct Tally {
    st: Stats,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    writers: Distinct,
    hosts: Distinct,
    per_second: Busiest,
    per_minute: Busiest,
    per_hour: Busiest,
    activity: Histogram,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            st: Stats::default(),
            first: None,
            last: None,
            writers: Distinct::default(),
            hosts: Distinct::default(),
            per_second: Busiest::new(1),
            per_minute: Busiest::new(60),
            per_hour: Busiest::new(3600),
            activity: Histogram::default(),
        }
    }
}

impl Tally {
    pub fn add(&mut self, v: &View) {
        let st = &mut self.st;
        st.records += 1;
        st.pending += u64::from(v.pulled() == Pulled::No);
        st.failures += u64::from(v.status != "success");
        st.lost += u64::from(v.lost);
        // A writer is a pid on a host; a record that names neither is no
        // evidence of one (counting it made every legacy queue one writer
        // more).
        match (&v.host, v.pid) {
            (Some(h), Some(p)) => self.writers.insert(&(h, p)),
            _ => st.unattributed += 1,
        }
        if let Some(h) = &v.host {
            self.hosts.insert(h);
        }
        match v
            .completed_at
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
        {
            Some(ts) => self.add_time(ts),
            None => st.undated += 1,
        }
    }

    fn add_time(&mut self, ts: Timestamp) {
        let t = ts.as_second();
        // Records have second precision: the busiest second is measured,
        // and thousands in one is the Redis row.
        self.per_second.add(t);
        self.per_minute.add(t);
        self.per_hour.add(t);
        self.activity.add(t);
        self.first = Some(self.first.map_or(ts, |f| f.min(ts)));
        self.last = Some(self.last.map_or(ts, |l| l.max(ts)));
    }

    /// The stats of the records added, over `--since` (if given) to `now`,
    /// and the histogram of their completions for the activity chart. The
    /// rubric's fields and `dead` are the caller's to fill.
    pub fn finish(self, since: Option<Timestamp>, now: Timestamp) -> (Stats, Histogram) {
        let mut st = self.st;
        let span = window(since, self.first, self.last, now);
        let units =
            |unit: i64| span.map_or(1, |(a, b)| b.div_euclid(unit) - a.div_euclid(unit) + 1);
        st.window_seconds = span.map_or(0, |(a, b)| b - a);
        let stamp = |t: i64| Timestamp::from_second(t).ok().map(time::format);
        st.window_start = span.and_then(|(a, _)| stamp(a));
        st.window_end = span.and_then(|(_, b)| stamp(b));
        st.mean_hours = units(3600);
        st.mean_minutes = units(60);
        st.first = self.first.map(time::format);
        st.last = self.last.map(time::format);
        st.failure_rate = if st.records == 0 {
            0.0
        } else {
            st.failures as f64 / st.records as f64
        };
        // Throughput is of the records that say when they completed.
        let dated = (st.records - st.undated) as f64;
        st.mean_per_hour = dated / st.mean_hours as f64;
        st.mean_per_minute = dated / st.mean_minutes as f64;
        st.peak_per_second = self.per_second.peak();
        st.peak_per_minute = self.per_minute.peak();
        st.peak_per_hour = self.per_hour.peak();
        st.peaks_estimated =
            self.per_second.late() || self.per_minute.late() || self.per_hour.late();
        (st.writers, st.writers_estimated) = self.writers.count();
        (st.hosts, st.hosts_estimated) = self.hosts.count();
        (st, self.activity)
    }
}

/// The window the means cover, in seconds: `--since` to now, else the
/// first record to the last (widened to hold every record, whose clocks
/// may be ahead of this one's); none without a dated record or `--since`.
fn window(
    since: Option<Timestamp>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    now: Timestamp,
) -> Option<(i64, i64)> {
    match (since, first, last) {
        (Some(s), f, l) => Some((
            f.map_or(s, |f| f.min(s)).as_second(),
            l.map_or(now, |l| l.max(now)).as_second(),
        )),
        (None, Some(f), Some(l)) => Some((f.as_second(), l.as_second())),
        _ => None,
    }
}
