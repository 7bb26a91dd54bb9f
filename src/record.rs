//! The completion record, schema v1: the one place that decides its keys,
//! their order and how a stored line is read back.
//!
//! Writing goes through [`NewRecord`], whose field order is the seed's five
//! keys (`name`, `completed_at`, `output_dir`, `status`, `pulled`) followed by
//! cq's own. Reading goes through [`View`], which accepts any JSON object with
//! a string `name` and `status` (records from the seed's Phase G block, from
//! a plain `>>`, from older or newer cq), tolerates duplicate keys (the last
//! wins, as in jq) and ignores keys it does not know; the line itself is never
//! re-serialised, so unknown keys survive every read.

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The literal a pull writes over `false`: same length, so the flip is done
/// in place (JSON allows the trailing space).
pub const PULLED_TRUE: &[u8; 5] = b"true ";
pub const PULLED_FALSE: &[u8; 5] = b"false";

#[derive(Serialize, Debug, Clone)]
pub struct NewRecord {
    pub name: String,
    pub completed_at: String,
    pub output_dir: String,
    pub status: Status,
    pub pulled: bool,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    pub cwd: String,
    pub host: String,
    pub pid: u32,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub meta: Map<String, Value>,
    /// A detached job's log file (`cq wrap --detach`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// The Claude Code session the job was started from
    /// (`CLAUDE_CODE_SESSION_ID`), whose hooks deliver it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Only on the record a reader writes for a job whose wrapper died.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
    /// Only when `command` or `meta` were cut to fit [`RECORD_MAX`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// The longest record line cq writes, so that every reader reads every
/// record cq wrote: the file tier reads lines up to 16 MiB, and Kafka's
/// default message limit is 1 MB. Only a command line or `--meta` values
/// of hundreds of KiB come near it (the kernel takes 128 KiB per argument,
/// and any number of them under `ulimit -s unlimited`).
pub const RECORD_MAX: usize = 512 << 10;

/// The most a name may take in a record, and a path (`output_dir`, `cwd`,
/// `log`), as stored: JSON-escaped, where a control character takes six
/// bytes. Only `command` and `meta` can be cut to fit [`RECORD_MAX`]; a
/// name or path is the job's identity and is never cut, so one too long
/// is refused before anything is recorded (a 100 KiB name of plain text,
/// near the 128 KiB the kernel allows an argument, is fine). Together they
/// leave room for everything else.
pub const NAME_MAX: usize = 128 << 10;
pub const PATH_MAX: usize = 64 << 10;

/// Refuses a name or path that would take more than `max` bytes stored.
pub fn check_text(what: &str, s: &str, max: usize) -> Result<(), String> {
    let stored = json_len(s);
    if stored > max {
        return Err(format!(
            "{what} takes {stored} bytes in a record, more than {max}"
        ));
    }
    Ok(())
}

/// The door every new record passes: its name, `output_dir` and `cwd`
/// within their bounds.
pub fn check_job_text(name: &str, output_dir: &str, cwd: &str) -> Result<(), String> {
    check_text("the job name", name, NAME_MAX)?;
    check_text("the output directory", output_dir, PATH_MAX)?;
    check_text("the working directory", cwd, PATH_MAX)
}

/// Bytes of `s` inside a JSON string, escaped as serde_json writes it.
fn json_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum()
}

/// A command line kept to `budget` bytes, each argument to `piece`, saying
/// what was cut. (The running job's file keeps one too: readers skip side
/// files over 4 MiB.)
pub fn cut_args(cmd: &[String], budget: usize, piece: usize) -> Vec<String> {
    let mut kept = Vec::new();
    let mut used = 0;
    for (i, a) in cmd.iter().enumerate() {
        let a = cut(a, piece);
        if used + a.len() > budget {
            kept.push(format!("…[cq: {} more arguments]", cmd.len() - i));
            break;
        }
        used += a.len();
        kept.push(a);
    }
    kept
}

/// Keeps at most `max` bytes of `s`, on a character boundary, saying how
/// much was cut.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[cq: {} more bytes]", &s[..end], s.len() - end)
}

/// A record's outcome: the seed's two values.
#[derive(clap::ValueEnum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Exit code 0
    Success,
    /// Any other exit code
    Failure,
}

impl Status {
    /// Exit code 0 is success, anything else (a signal's 128+N too) failure.
    pub fn of_exit(exit_code: i32) -> Status {
        if exit_code == 0 {
            Status::Success
        } else {
            Status::Failure
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failure => "failure",
        }
    }
}

/// A job whose wrapper is running (or was, if it died): what `cq wrap`
/// registers while CMD runs, and what its record is built from.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Job {
    /// The id its completion record will have.
    pub id: String,
    pub name: String,
    pub host: String,
    /// The wrapper's pid, its start time in clock ticks since boot, and the
    /// boot it ran in: together they survive pid reuse and reboots.
    pub pid: u32,
    #[serde(default)]
    pub pid_start: Option<u64>,
    #[serde(default)]
    pub boot_id: Option<String>,
    pub started_at: String,
    pub command: Vec<String>,
    pub cwd: String,
    pub output_dir: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map<String, Value>,
    /// A detached job's log file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// The Claude Code session that started it ([`session_of_env`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// How a wrapped command ended, for its record.
pub struct Ended {
    pub exit_code: i32,
    /// The signal's name (`TERM`) when CMD died of one.
    pub signal: Option<String>,
    pub duration_ms: u64,
}

/// What `cq push` says of a job that already finished.
pub struct Pushed {
    pub name: String,
    pub output_dir: String,
    pub cwd: String,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub started_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub meta: Map<String, Value>,
    pub session: Option<String>,
}

/// The agent session a job is started from: Claude Code gives every
/// command it runs `CLAUDE_CODE_SESSION_ID`. Kept only when it looks like
/// one (letters, digits, `-`, `_`; at most 128 bytes): it names files of
/// the session's hooks.
pub fn session_of_env() -> Option<String> {
    std::env::var("CLAUDE_CODE_SESSION_ID")
        .ok()
        .filter(|s| is_session_id(s))
}

/// Whether `s` can be a session id (see [`session_of_env`]).
pub fn is_session_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl NewRecord {
    /// The record of `job`, completed now: the fields every builder shares.
    fn of_job(job: &Job, status: Status) -> NewRecord {
        NewRecord {
            name: job.name.clone(),
            completed_at: crate::time::format(crate::time::now()),
            output_dir: job.output_dir.clone(),
            status,
            pulled: false,
            id: job.id.clone(),
            exit_code: None,
            signal: None,
            started_at: Some(job.started_at.clone()),
            duration_ms: None,
            command: Some(job.command.clone()),
            cwd: job.cwd.clone(),
            host: job.host.clone(),
            pid: job.pid,
            meta: job.meta.clone(),
            log: job.log.clone(),
            session: job.session.clone(),
            lost: false,
            truncated: false,
        }
    }

    /// `cq wrap`'s record: `job` ran `command` (given whole: [`to_line`]
    /// cuts it and says so) and ended so.
    ///
    /// [`to_line`]: NewRecord::to_line
    pub fn wrapped(job: &Job, command: Vec<String>, end: Ended) -> NewRecord {
        NewRecord {
            exit_code: Some(end.exit_code),
            signal: end.signal,
            duration_ms: Some(end.duration_ms),
            command: Some(command),
            ..NewRecord::of_job(job, Status::of_exit(end.exit_code))
        }
    }

    /// `cq push`'s record: a fresh id, this process as its writer.
    pub fn pushed(p: Pushed) -> NewRecord {
        NewRecord {
            name: p.name,
            completed_at: crate::time::format(crate::time::now()),
            output_dir: p.output_dir,
            status: p.status,
            pulled: false,
            id: new_id(),
            exit_code: p.exit_code,
            signal: None,
            started_at: p.started_at,
            duration_ms: p.duration_ms,
            command: None,
            cwd: p.cwd,
            host: crate::process::host().to_string(),
            pid: std::process::id(),
            meta: p.meta,
            log: None,
            session: p.session,
            lost: false,
            truncated: false,
        }
    }

    /// The failure record a reader writes for a job whose wrapper died:
    /// no exit code, `"lost":true`, the job's own host and pid.
    pub fn lost(job: &Job) -> NewRecord {
        NewRecord {
            lost: true,
            ..NewRecord::of_job(job, Status::Failure)
        }
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl NewRecord {
    /// This record with `command` and `meta` kept to `budget` bytes each,
    /// every piece to `piece` bytes, marked `"truncated":true`.
    fn cut_to(&self, budget: usize, piece: usize) -> NewRecord {
        let mut r = self.clone();
        r.truncated = true;
        if let Some(cmd) = &self.command {
            r.command = Some(cut_args(cmd, budget, piece));
        }
        let mut meta = Map::new();
        let mut used = 0;
        for (k, v) in &self.meta {
            let k = cut(k, piece);
            let v = match v {
                Value::String(v) => Value::String(cut(v, piece)),
                other => other.clone(),
            };
            used += k.len() + v.to_string().len();
            if used > budget {
                break;
            }
            meta.insert(k, v);
        }
        r.meta = meta;
        r
    }

    /// The stored form: one line of JSON, `\n`-terminated, at most
    /// [`RECORD_MAX`] bytes: a record that would be longer keeps its
    /// command's and meta's first parts (each piece cut to 4 KiB, 256 KiB of
    /// each in all, less if escaping swells them) and says
    /// `"truncated":true`.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("a record always serialises");
        // Escaping can make the JSON of a piece up to six times its bytes:
        // shrink the budgets until the line fits.
        let mut budget = 256 << 10;
        while s.len() > RECORD_MAX {
            let r = self.cut_to(budget, (4 << 10).min(budget));
            s = serde_json::to_string(&r).expect("a record always serialises");
            if budget == 0 {
                break;
            }
            budget /= 4;
        }
        if s.len() > RECORD_MAX {
            // Only a record that no door checked gets here (a lost job's
            // running entry is a side file anyone may have written; a
            // host name comes from CQ_HOST): its text is cut too, since a
            // line readers skip would be a record lost.
            let mut r = self.cut_to(0, 0);
            for field in [&mut r.name, &mut r.output_dir, &mut r.cwd, &mut r.host] {
                *field = cut(field, 8 << 10);
            }
            r.log = r.log.map(|l| cut(&l, 8 << 10));
            s = serde_json::to_string(&r).expect("a record always serialises");
        }
        s.push('\n');
        s
    }
}

/// `KEY=VALUE` pairs from `--meta`, in the order given; a repeated key keeps
/// its first position and its last value.
pub fn parse_meta(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut meta = Map::new();
    for p in pairs {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                meta.insert(k.to_string(), Value::String(v.to_string()));
            }
            _ => return Err(format!("invalid --meta '{p}': expected KEY=VALUE")),
        }
    }
    Ok(meta)
}

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

/// One stored record as a reader sees it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The line as stored, without its newline, BOM or trailing `\r`.
    pub line: Vec<u8>,
    pub view: View,
}

impl Stored {
    /// A record line as cq wrote it (with or without its newline).
    pub fn parse(line: &str) -> crate::error::Result<Stored> {
        let line = line.trim_end_matches('\n').as_bytes().to_vec();
        Stored::from_store(line, false)
            .map_err(|e| crate::error::Error::new(format!("not a record: {e}")))
    }

    /// What makes a record the same record in two queues: its id, or for
    /// a record without one (a legacy writer's), its text with `pulled`
    /// unset.
    pub fn identity(&self) -> String {
        match &self.view.id {
            Some(id) => format!("id:{id}"),
            None => format!(
                "line:{}",
                String::from_utf8_lossy(&pending_form(&self.line))
            ),
        }
    }

    /// A record as a store keeps it (its line with `"pulled":false`), in
    /// the state the store says it is in.
    pub fn from_store(line: Vec<u8>, pulled: bool) -> std::result::Result<Stored, LineError> {
        let line = if pulled { pulled_form(&line) } else { line };
        let view = parse_line(&line)?;
        Ok(Stored { line, view })
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

/// A stored line with its top-level `pulled` set back to `false` (undoing
/// cq's in-place `true ` or jq's `true`).
pub fn pending_form(line: &[u8]) -> Vec<u8> {
    let mut l = line.to_vec();
    if let Some((a, b)) = pulled_span(&l)
        && &l[a..b] == b"true"
    {
        let end = if l.get(b) == Some(&b' ') { b + 1 } else { b };
        l.splice(a..end, PULLED_FALSE.iter().copied());
    }
    l
}

/// A pending line as it reads once pulled: `false` becomes `true `, in
/// place, as the JSONL tier flips it, so every tier prints the same bytes.
#[cfg_attr(not(any(feature = "redis", feature = "kafka")), allow(dead_code))]
pub fn pulled_form(line: &[u8]) -> Vec<u8> {
    let mut l = line.to_vec();
    if let Some((a, b)) = pulled_span(&l)
        && &l[a..b] == PULLED_FALSE
    {
        l[a..b].copy_from_slice(PULLED_TRUE);
    }
    l
}

/// Byte range of the value of the last top-level `"pulled"` key in a line
/// that already parsed as a JSON object (the same key jq and [`View`] read;
/// a `meta.pulled` or a string containing `"pulled"` is never matched).
pub fn pulled_span(line: &[u8]) -> Option<(usize, usize)> {
    let mut s = Scan {
        b: line,
        i: bom_len(line),
    };
    s.ws();
    s.eat(b'{')?;
    let mut found = None;
    loop {
        s.ws();
        if s.peek()? == b'}' {
            return found;
        }
        let (ks, ke) = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        let vs = s.i;
        s.value()?;
        if key_is(&line[ks..ke], "pulled") {
            found = Some((vs, s.i));
        }
        s.ws();
        match s.peek()? {
            b',' => s.i += 1,
            b'}' => return found,
            _ => return None,
        }
    }
}

fn key_is(quoted: &[u8], want: &str) -> bool {
    if !quoted.contains(&b'\\') {
        return &quoted[1..quoted.len() - 1] == want.as_bytes();
    }
    serde_json::from_slice::<String>(quoted).is_ok_and(|k| k == want)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// A string starting at the cursor; returns its range including quotes.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some((start, self.i));
                }
                _ => self.i += 1,
            }
        }
    }
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek()?,
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'
                ) {
                    self.i += 1;
                }
                Some(())
            }
        }
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

    fn span_text(line: &str) -> Option<&str> {
        pulled_span(line.as_bytes()).map(|(a, b)| &line[a..b])
    }

    #[test]
    fn seed_line_parses() {
        let l = r#"{"name":"a","completed_at":"2026-04-07T17:58:52Z","output_dir":"/x","status":"success","pulled":false}"#;
        let v = parse_line(l.as_bytes()).unwrap();
        assert_eq!(v.name, "a");
        assert_eq!(v.pulled(), Pulled::No);
        assert_eq!(span_text(l), Some("false"));
    }

    #[test]
    fn span_ignores_nested_and_string_pulled() {
        let l = r#"{"name":"pulled","meta":{"pulled":false},"note":"\"pulled\":false","pulled" : true ,"status":"x"}"#;
        assert_eq!(span_text(l), Some("true"));
        let v = parse_line(l.as_bytes()).unwrap();
        assert_eq!(v.pulled(), Pulled::Yes);
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

    #[test]
    fn flag_forms_round_trip() {
        let pending = br#"{"name":"a","status":"s","pulled":false,"x":1}"#;
        let pulled = pulled_form(pending);
        assert_eq!(
            &pulled[..],
            br#"{"name":"a","status":"s","pulled":true ,"x":1}"#
        );
        assert_eq!(pending_form(&pulled), pending);
        // jq's `true` (no space) reads back as the same pending line.
        assert_eq!(
            pending_form(br#"{"name":"a","status":"s","pulled":true,"x":1}"#),
            pending
        );
    }

    #[test]
    fn escaped_key_is_matched() {
        let l = r#"{"name":"a","status":"s","pull\u0065d":false}"#;
        assert_eq!(span_text(l), Some("false"));
    }

    fn sample() -> NewRecord {
        NewRecord {
            name: "n".into(),
            completed_at: "t".into(),
            output_dir: "/o".into(),
            status: Status::Success,
            pulled: false,
            id: "i".into(),
            exit_code: Some(0),
            signal: None,
            started_at: None,
            duration_ms: None,
            command: None,
            cwd: "/".into(),
            host: "h".into(),
            pid: 1,
            meta: Map::new(),
            log: None,
            session: None,
            lost: false,
            truncated: false,
        }
    }

    #[test]
    fn new_record_key_order() {
        let r = sample();
        assert!(r.to_line().starts_with(
            r#"{"name":"n","completed_at":"t","output_dir":"/o","status":"success","pulled":false,"id":"i","exit_code":0,"cwd""#
        ));
        assert!(r.to_line().ends_with("}\n"));
    }

    /// A record of any size comes out at most RECORD_MAX long and reads
    /// back, control characters (six bytes each escaped) included.
    #[test]
    fn huge_records_are_cut_to_what_readers_read() {
        let control = "\u{1}".repeat(100 << 10);
        let mut meta = Map::new();
        for i in 0..40 {
            meta.insert(format!("k{i}"), Value::String(control.clone()));
        }
        let r = NewRecord {
            name: "big".into(),
            command: Some(vec![control.clone(); 60]),
            meta,
            ..sample()
        };
        let line = r.to_line();
        assert!(line.len() <= RECORD_MAX + 1, "{}", line.len());
        let v = parse_line(line.trim_end().as_bytes()).unwrap();
        assert_eq!(v.name, "big");
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["truncated"], true);
        assert!(
            json["command"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_str()
                .unwrap()
                .contains("more")
        );
        // A small record is left alone.
        let mut small = r.clone();
        small.command = Some(vec!["true".into()]);
        small.meta = Map::new();
        assert!(!small.to_line().contains("truncated"));
    }

    /// Names and paths at their bounds, of the characters escaping swells
    /// most, still make a record readers read whole; past them the door
    /// refuses, and a record built without the door is cut all the same.
    #[test]
    fn names_and_paths_at_their_bounds_fit_and_beyond_are_refused() {
        let worst = |n: usize| "\u{1}".repeat(n / 6);
        let r = NewRecord {
            name: worst(NAME_MAX),
            output_dir: worst(PATH_MAX),
            cwd: worst(PATH_MAX),
            log: Some(worst(PATH_MAX)),
            command: Some(vec!["\u{1}".repeat(100 << 10); 60]),
            ..sample()
        };
        let line = r.to_line();
        assert!(line.len() <= RECORD_MAX + 1, "{}", line.len());
        assert_eq!(parse_line(line.trim_end().as_bytes()).unwrap().name, r.name);
        assert!(check_text("the name", &r.name, NAME_MAX).is_ok());
        let over = format!("{}\u{1}", r.name);
        let why = check_text("the name", &over, NAME_MAX).unwrap_err();
        assert!(why.contains("more than 131072"), "{why}");
        assert!(check_text("p", &"y".repeat(100 << 10), NAME_MAX).is_ok());
        assert_eq!(json_len("a\"\n\u{1}é"), 1 + 2 + 2 + 6 + 2);
        // Without the door: still a line readers read.
        let r = NewRecord {
            name: "n".repeat(1 << 20),
            host: "h".repeat(1 << 20),
            ..sample()
        };
        let line = r.to_line();
        assert!(line.len() <= RECORD_MAX + 1, "{}", line.len());
        assert!(line.contains("\"truncated\":true"));
    }

    #[test]
    fn meta_pairs() {
        let m = parse_meta(&["a=1".into(), "b=x=y".into(), "a=2".into()]).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"2","b":"x=y"}"#);
        assert!(parse_meta(&["=v".into()]).is_err());
        assert!(parse_meta(&["novalue".into()]).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// JSON values with keys that matter to cq, nested, so that `pulled`
    /// appears at every depth and in strings.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("pulled".to_string()),
                Just("\"pulled\":false".to_string()),
                ".*"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("pulled".to_string()),
            Just("name".to_string()),
            Just("status".to_string()),
            Just("meta".to_string()),
            "[a-z\\\\\"]{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_line(&bytes);
            let _ = pulled_span(&bytes);
        }

        #[test]
        fn flipping_changes_only_the_top_level_flag(
            name in ".*",
            extra in prop::collection::vec((key(), value()), 0..5),
            spaced in any::<bool>(),
        ) {
            let mut obj = Map::new();
            for (k, v) in extra {
                obj.insert(k, v);
            }
            obj.insert("name".into(), Value::String(name));
            obj.insert("status".into(), Value::String("success".into()));
            obj.insert("pulled".into(), Value::Bool(false));
            let mut line = serde_json::to_string(&Value::Object(obj.clone())).unwrap();
            if spaced {
                line = serde_json::to_string_pretty(&Value::Object(obj.clone())).unwrap().replace('\n', " ");
            }
            let v = parse_line(line.as_bytes()).unwrap();
            prop_assert_eq!(v.pulled(), Pulled::No);
            let (a, b) = pulled_span(line.as_bytes()).unwrap();
            prop_assert_eq!(&line[a..b], "false");
            let mut flipped = line.clone().into_bytes();
            flipped[a..b].copy_from_slice(PULLED_TRUE);
            prop_assert_eq!(parse_line(&flipped).unwrap().pulled(), Pulled::Yes);
            let mut after: Map<String, Value> = serde_json::from_slice(&flipped).unwrap();
            prop_assert_eq!(after.insert("pulled".into(), Value::Bool(false)), Some(Value::Bool(true)));
            prop_assert_eq!(after, obj);
        }
    }
}
