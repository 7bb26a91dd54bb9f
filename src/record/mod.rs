//! The completion record, schema v1: the one place that decides its keys,
//! their order and how a stored line is read back.
//!
//! Writing goes through [`NewRecord`], whose field order is the seed's five
//! keys (`name`, `completed_at`, `output_dir`, `status`, `pulled`) followed by
//! cq's own, kept within the bounds of [`bounds`]. Reading goes through
//! [`read`]; the in-place `pulled` flip through [`flip`]; `--meta` pairs
//! through [`meta`].

mod bounds;
mod flip;
mod meta;
mod read;

pub use crate::config::is_session_id;
pub use bounds::{PATH_MAX, RECORD_MAX, check_job_text, check_text, cut_args};
pub use flip::{PULLED_FALSE, PULLED_TRUE, pending_form, pulled_form, pulled_span};
pub use meta::parse_meta;
pub use read::{LineError, Pulled, View, bom_len, parse_line};

use bounds::cut;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    crate::config::get().session.clone()
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

#[cfg(test)]
mod tests {
    use super::bounds::{NAME_MAX, json_len};
    use super::*;

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
}
