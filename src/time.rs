//! Timestamps and durations: the record's RFC 3339 UTC format (second
//! precision, `Z`) and the `90s` / `10m` / `2h` / `7d` durations of flags.

use crate::error::{Error, Result};
use jiff::Timestamp;
use std::time::Duration;

/// Second-precision RFC 3339 in UTC, as the seed's `date -u +%Y-%m-%dT%H:%M:%SZ`.
pub fn format(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

/// A duration flag: `90s`, `10m`, `2h`, `7d`, or combinations like `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::usage("empty duration (use e.g. 90s, 10m, 2h, 7d)"));
    }
    humantime::parse_duration(t).map_err(|e| {
        Error::usage(format!(
            "invalid duration '{s}': {e} (use e.g. 90s, 10m, 2h, 7d)"
        ))
    })
}

/// An RFC 3339 timestamp such as `2026-04-07T17:58:52Z`.
pub fn parse_timestamp(s: &str) -> Result<Timestamp> {
    rfc3339(s).ok_or_else(|| {
        Error::usage(format!(
            "invalid timestamp '{s}' (use RFC 3339, e.g. 2026-04-07T17:58:52Z)"
        ))
    })
}

/// An RFC 3339 timestamp, its UTC offset within RFC 3339's range (jiff
/// alone takes offsets up to ±25:59).
fn rfc3339(s: &str) -> Option<Timestamp> {
    let t = s.trim();
    let ts = t.parse::<Timestamp>().ok()?;
    let b = t.as_bytes();
    let n = b.len();
    if !t.ends_with(['Z', 'z']) && n >= 6 && matches!(b[n - 6], b'+' | b'-') && b[n - 3] == b':' {
        let hh: u32 = t.get(n - 5..n - 3)?.parse().ok()?;
        let mm: u32 = t.get(n - 2..)?.parse().ok()?;
        if hh > 23 || mm > 59 {
            return None;
        }
    }
    Some(ts)
}

/// `--since`: a duration back from now, or an absolute timestamp.
pub fn parse_since(s: &str) -> Result<Timestamp> {
    if let Some(ts) = rfc3339(s) {
        return Ok(ts);
    }
    if s.trim().parse::<Timestamp>().is_ok() {
        return Err(Error::usage(format!(
            "invalid --since '{s}': its UTC offset is out of range (at most ±23:59)"
        )));
    }
    let d = parse_duration(s).map_err(|_| {
        Error::usage(format!(
            "invalid --since '{s}' (use a duration like 2h or 7d, or a timestamp like 2026-04-07T17:58:52Z)"
        ))
    })?;
    before_now(d)
}

/// `now - d`, refusing durations that reach before the representable range.
pub fn before_now(d: Duration) -> Result<Timestamp> {
    let sd = jiff::SignedDuration::try_from(d).map_err(|_| Error::usage("duration is too long"))?;
    now()
        .checked_sub(sd)
        .map_err(|_| Error::usage("duration is too long"))
}

/// Whether a record's timestamp text is at or after `cutoff`. Timestamps cq
/// writes compare as text; anything else is parsed. `None` when unparseable.
pub fn at_or_after(text: &str, cutoff: &Cutoff) -> Option<bool> {
    if is_canonical(text) {
        return Some(text >= cutoff.text.as_str());
    }
    text.parse::<Timestamp>().ok().map(|t| t >= cutoff.ts)
}

/// A point in time kept both ways, so most comparisons are a string compare.
pub struct Cutoff {
    pub ts: Timestamp,
    text: String,
}

impl Cutoff {
    pub fn new(ts: Timestamp) -> Self {
        Self {
            text: format(ts),
            ts,
        }
    }
}

fn is_canonical(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16 | 19) || c.is_ascii_digit())
}

/// "3m ago"-style rendering of the time since `ts`, for tables.
pub fn ago(text: &str, now: Timestamp) -> String {
    let Ok(ts) = text.parse::<Timestamp>() else {
        return text.to_string();
    };
    let secs = now.duration_since(ts).as_secs();
    if secs < 0 {
        return "in future".to_string();
    }
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `462113` ms as `7m42s`.
pub fn human_ms(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..=59 => format!("{}.{}s", s, (ms % 1000) / 100),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_seed() {
        let ts: Timestamp = "2026-04-07T17:58:52.734Z".parse().unwrap();
        assert_eq!(format(ts), "2026-04-07T17:58:52Z");
    }

    #[test]
    fn offsets_stay_in_rfc3339s_range() {
        for ok in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00+23:59",
            "2026-01-01T00:00:00-12:00",
            "2026-01-01T00:00:00.5+05:30",
        ] {
            assert!(parse_timestamp(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2026-01-01T00:00:00+24:00",
            "2026-01-01T00:00:00-25:00",
            "2026-01-01T00:00:00+05:60",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("10m").unwrap().as_secs(), 600);
        assert_eq!(parse_duration("2h").unwrap().as_secs(), 7200);
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 86400);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn cutoff_compares_text_and_parsed() {
        let c = Cutoff::new("2026-04-07T17:58:52Z".parse().unwrap());
        assert_eq!(at_or_after("2026-04-07T17:58:52Z", &c), Some(true));
        assert_eq!(at_or_after("2026-04-07T17:58:51Z", &c), Some(false));
        assert_eq!(at_or_after("2026-04-07T19:58:52+02:00", &c), Some(true));
        assert_eq!(at_or_after("yesterday", &c), None);
    }
}
