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
use std::collections::{HashMap, HashSet};
use std::io::{self, IsTerminal, Write};

#[derive(Serialize, Default)]
struct Stats {
    records: u64,
    pending: u64,
    failures: u64,
    failure_rate: f64,
    first: Option<String>,
    last: Option<String>,
    window_seconds: i64,
    mean_per_hour: f64,
    mean_per_minute: f64,
    peak_per_second: u64,
    peak_per_minute: u64,
    peak_per_hour: u64,
    writers: u64,
    /// Records that name no writer (no `pid` or no `host`: the Phase G
    /// block's and other legacy writers'): in no count of writers.
    unattributed: u64,
    hosts: u64,
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
    #[serde(skip)]
    per_minute: HashMap<i64, u64>,
    #[serde(skip)]
    per_second: HashMap<i64, u64>,
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
        let mut writers: HashSet<(String, u64)> = HashSet::new();
        let mut hosts: HashSet<String> = HashSet::new();
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
                (Some(h), Some(p)) => {
                    writers.insert((h.clone(), p));
                }
                _ => st.unattributed += 1,
            }
            if let Some(h) = &v.host {
                hosts.insert(h.clone());
            }
            if let Some(ts) = v
                .completed_at
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
            {
                *st.per_minute
                    .entry(ts.as_second().div_euclid(60))
                    .or_default() += 1;
                // Records have second precision: the busiest second is
                // measured, and thousands in one is the Redis row.
                *st.per_second.entry(ts.as_second()).or_default() += 1;
                first = Some(first.map_or(ts, |f| f.min(ts)));
                last = Some(last.map_or(ts, |l| l.max(ts)));
            } else {
                st.undated += 1;
            }
            Ok(())
        })?;
        let now = time::now();
        let window = match (since, first, last) {
            (Some(s), _, _) => now.duration_since(s).as_secs(),
            (None, Some(f), Some(l)) => l.duration_since(f).as_secs(),
            _ => 0,
        }
        .max(60);
        st.window_seconds = window;
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
        st.mean_per_hour = dated * 3600.0 / window as f64;
        st.mean_per_minute = dated * 60.0 / window as f64;
        st.peak_per_minute = st.per_minute.values().copied().max().unwrap_or(0);
        st.peak_per_second = st.per_second.values().copied().max().unwrap_or(0);
        let mut per_hour: HashMap<i64, u64> = HashMap::new();
        for (m, c) in &st.per_minute {
            *per_hour.entry(m.div_euclid(60)).or_default() += c;
        }
        st.peak_per_hour = per_hour.values().copied().max().unwrap_or(0);
        st.writers = writers.len() as u64;
        st.hosts = hosts.len() as u64;
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
            report(&mut out, &st, first, last)
        };
        r.and_then(|()| out.flush())
            .map(|()| Exit::Code(0))
            .map_err(Error::output)
    }
}

fn report(
    out: &mut impl Write,
    st: &Stats,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
) -> io::Result<()> {
    writeln!(
        out,
        "records     {} ({} pending, {} failed = {:.1}%{})",
        st.records,
        st.pending,
        st.failures,
        st.failure_rate * 100.0,
        if st.lost > 0 {
            format!(", {} lost", st.lost)
        } else {
            String::new()
        } + &if st.dead > 0 {
            format!(", {} dead letters", st.dead)
        } else {
            String::new()
        } + &if st.undated > 0 {
            format!(", {} without completed_at", st.undated)
        } else {
            String::new()
        }
    )?;
    if let (Some(f), Some(l)) = (&st.first, &st.last) {
        writeln!(out, "window      {f} .. {l}")?;
    }
    writeln!(
        out,
        "throughput  mean {:.2}/hour ({:.3}/minute); peak {}/hour, {}/minute, {}/second",
        st.mean_per_hour,
        st.mean_per_minute,
        st.peak_per_hour,
        st.peak_per_minute,
        st.peak_per_second
    )?;
    writeln!(
        out,
        "writers     {} (pid@host), {} host{}{}",
        st.writers,
        st.hosts,
        if st.hosts == 1 { "" } else { "s" },
        if st.unattributed == 0 {
            String::new()
        } else {
            format!("; {} record(s) name no writer", st.unattributed)
        }
    )?;
    writeln!(out, "tier        {}: {}", st.tier, st.reason)?;
    writeln!(out, "checklist   {}", st.checklist)?;
    for item in &st.also {
        writeln!(out, "            {item}")?;
    }
    if let (Some(m), Some(sw)) = (&st.migrate, &st.switch_to) {
        writeln!(out, "move        {m} && export {sw}")?;
    }
    if io::stdout().is_terminal()
        && let (Some(f), Some(l)) = (first, last)
    {
        // Completions over the window, in up to 60 equal buckets.
        let (a, b) = (f.as_second().div_euclid(60), l.as_second().div_euclid(60));
        let span = (b - a + 1).max(1);
        let n = span.min(60);
        let mut buckets = vec![0u64; n as usize];
        for (m, c) in &st.per_minute {
            let i = ((m - a) * n / span).clamp(0, n - 1);
            buckets[i as usize] += c;
        }
        writeln!(out, "activity    |{}|", output::sparkline(&buckets))?;
    }
    Ok(())
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
