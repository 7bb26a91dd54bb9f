//! Reading a stored line back: [`parse_line`] accepts any JSON object with
//! a string `name` and `status` (records from the seed's Phase G block, from
//! a plain `>>`, from older or newer cq), tolerates duplicate keys (the last
//! wins, as in jq) and ignores keys it does not know; the line itself is
//! never re-serialised, so unknown keys survive every read.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Whether a stored record is waiting for a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    /// `"pulled":false`: pending. Only this literal makes a record pending,
    /// exactly as the seed's `select(.pulled==false)`.
    No,
    Yes,
    /// Missing or not a boolean: shown by `list`, never delivered by `pull`.
    Unknown,
}

/// What readers need of a stored line; the line itself stays the truth.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub name: String,
    pub status: String,
    pub pulled: Option<bool>,
    pub id: Option<String>,
    pub completed_at: Option<String>,
    pub output_dir: Option<String>,
    pub exit_code: Option<i64>,
    pub duration_ms: Option<u64>,
    pub signal: Option<String>,
    pub lost: bool,
    pub host: Option<String>,
    pub pid: Option<u64>,
    pub log: Option<String>,
    pub session: Option<String>,
}

impl View {
    pub fn pulled(&self) -> Pulled {
        match self.pulled {
            Some(false) => Pulled::No,
            Some(true) => Pulled::Yes,
            None => Pulled::Unknown,
        }
    }
}

/// Why a line is not a record; readers report it with its line number.
#[derive(Debug, PartialEq, Eq)]
pub enum LineError {
    Blank,
    NotJson(String),
    NotRecord,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Blank => write!(f, "blank line"),
            LineError::NotJson(e) => write!(f, "not valid JSON ({e})"),
            LineError::NotRecord => {
                write!(
                    f,
                    "not a record (needs a JSON object with string name and status)"
                )
            }
        }
    }
}

/// Bytes a UTF-8 byte-order mark occupies at the start of a line, if any.
pub fn bom_len(line: &[u8]) -> usize {
    if line.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    }
}

/// Parses one stored line (without its `\n`; a trailing `\r` is JSON
/// whitespace and a leading BOM is skipped).
pub fn parse_line(line: &[u8]) -> Result<View, LineError> {
    let body = &line[bom_len(line)..];
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(LineError::Blank);
    }
    let raw: RawView = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            LineError::NotRecord
        } else {
            LineError::NotJson(e.to_string())
        }
    })?;
    match (raw.name, raw.status) {
        (Some(name), Some(status)) => Ok(View {
            name,
            status,
            pulled: raw.pulled,
            id: raw.id,
            completed_at: raw.completed_at,
            output_dir: raw.output_dir,
            exit_code: raw.exit_code,
            duration_ms: raw.duration_ms,
            signal: raw.signal,
            lost: raw.lost,
            host: raw.host,
            pid: raw.pid,
            log: raw.log,
            session: raw.session,
        }),
        _ => Err(LineError::NotRecord),
    }
}

#[derive(Default)]
struct RawView {
    name: Option<String>,
    status: Option<String>,
    pulled: Option<bool>,
    id: Option<String>,
    completed_at: Option<String>,
    output_dir: Option<String>,
    exit_code: Option<i64>,
    duration_ms: Option<u64>,
    signal: Option<String>,
    lost: bool,
    host: Option<String>,
    pid: Option<u64>,
    log: Option<String>,
    session: Option<String>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Name,
    Status,
    Pulled,
    Id,
    CompletedAt,
    OutputDir,
    ExitCode,
    DurationMs,
    Signal,
    Lost,
    Host,
    Pid,
    Log,
    Session,
    #[serde(other)]
    Other,
}

fn string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for RawView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawView;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawView, A::Error> {
                let mut r = RawView::default();
                // Each known key is read as a Value so that a wrongly typed
                // one makes that field absent instead of the line invalid;
                // a repeated key overwrites, as jq does.
                while let Some(k) = m.next_key::<Field>()? {
                    match k {
                        Field::Name => r.name = string(m.next_value()?),
                        Field::Status => r.status = string(m.next_value()?),
                        Field::Pulled => r.pulled = m.next_value::<Value>()?.as_bool(),
                        Field::Id => r.id = string(m.next_value()?),
                        Field::CompletedAt => r.completed_at = string(m.next_value()?),
                        Field::OutputDir => r.output_dir = string(m.next_value()?),
                        Field::ExitCode => r.exit_code = m.next_value::<Value>()?.as_i64(),
                        Field::DurationMs => r.duration_ms = m.next_value::<Value>()?.as_u64(),
                        Field::Signal => r.signal = string(m.next_value()?),
                        Field::Lost => r.lost = m.next_value::<Value>()?.as_bool() == Some(true),
                        Field::Host => r.host = string(m.next_value()?),
                        Field::Pid => r.pid = m.next_value::<Value>()?.as_u64(),
                        Field::Log => r.log = string(m.next_value()?),
                        Field::Session => r.session = string(m.next_value()?),
                        Field::Other => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::pulled_span;

    #[test]
    fn seed_line_parses() {
        let l = r#"{"name":"a","completed_at":"2026-04-07T17:58:52Z","output_dir":"/x","status":"success","pulled":false}"#;
        let v = parse_line(l.as_bytes()).unwrap();
        assert_eq!(v.name, "a");
        assert_eq!(v.pulled(), Pulled::No);
        assert_eq!(
            pulled_span(l.as_bytes()).map(|(a, b)| &l[a..b]),
            Some("false")
        );
    }

    #[test]
    fn duplicate_keys_last_wins_like_jq() {
        let l = r#"{"name":"a","status":"success","pulled":true,"pulled":false}"#;
        assert_eq!(parse_line(l.as_bytes()).unwrap().pulled(), Pulled::No);
        let (a, _) = pulled_span(l.as_bytes()).unwrap();
        assert_eq!(a, l.rfind("false").unwrap());
    }

    #[test]
    fn odd_lines() {
        assert_eq!(parse_line(b"   ").unwrap_err(), LineError::Blank);
        assert!(matches!(
            parse_line(b"{\"name\":"),
            Err(LineError::NotJson(_))
        ));
        assert_eq!(parse_line(b"[1,2]").unwrap_err(), LineError::NotRecord);
        assert_eq!(
            parse_line(b"{\"name\":1,\"status\":\"x\"}").unwrap_err(),
            LineError::NotRecord
        );
        let v = parse_line(b"\xEF\xBB\xBF{\"name\":\"a\",\"status\":\"s\",\"pulled\":\"no\"}\r")
            .unwrap();
        assert_eq!(v.pulled(), Pulled::Unknown);
        assert_eq!(
            pulled_span(b"\xEF\xBB\xBF{\"pulled\":false}"),
            Some((13, 18))
        );
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_line(&bytes);
            let _ = pulled_span(&bytes);
        }
    }
}
