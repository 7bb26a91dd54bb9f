//! Helpers shared by the integration tests: a private queue per test, the
//! real cq binary, and reading the queue file back.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub const CQ: &str = env!("CARGO_BIN_EXE_cq");

pub struct Env {
    pub dir: TempDir,
    /// The queue file (JSONL tier) or database (SQLite tier).
    pub queue: PathBuf,
    /// What CQ_QUEUE says.
    pub location: String,
}

/// The tiers every tier-parametrised test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Jsonl,
    Sqlite,
}

impl Env {
    pub fn new() -> Env {
        Env::tier(Tier::Jsonl)
    }

    pub fn tier(tier: Tier) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let (queue, location) = match tier {
            Tier::Jsonl => {
                let q = dir.path().join("state/queue.jsonl");
                let l = q.display().to_string();
                (q, l)
            }
            Tier::Sqlite => {
                let q = dir.path().join("state/queue.db");
                let l = format!("sqlite:{}", q.display());
                (q, l)
            }
        };
        Env {
            dir,
            queue,
            location,
        }
    }

    /// `cq` with this test's queue, run from the test's directory.
    pub fn cq(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(CQ);
        c.env("CQ_QUEUE", &self.location)
            .env_remove("CQ_NAME")
            .env_remove("CQ_OUTPUT_DIR")
            .env_remove("CQ_ID")
            .current_dir(self.dir.path());
        c
    }

    /// The same as a std Command, for processes the test spawns and signals.
    pub fn cq_std(&self) -> Command {
        let mut c = Command::new(CQ);
        c.env("CQ_QUEUE", &self.location)
            .env_remove("CQ_NAME")
            .env_remove("CQ_OUTPUT_DIR")
            .env_remove("CQ_ID")
            .current_dir(self.dir.path());
        c
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.queue).unwrap_or_default()
    }

    /// Every line of the queue file parsed as JSON (panics on a bad line).
    pub fn records(&self) -> Vec<Value> {
        parse_lines(&self.text())
    }

    /// Every record, read through `cq list --json` (any tier).
    pub fn listed(&self) -> Vec<Value> {
        let out = self.cq().args(["list", "--json"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        parse_lines(&stdout_of(&out))
    }

    pub fn push(&self, name: &str, code: i32) {
        self.cq()
            .args(["push", "-n", name, "-e", &code.to_string()])
            .assert()
            .success();
    }
}

pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

pub fn names(recs: &[Value]) -> Vec<String> {
    recs.iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect()
}

pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Whether a program is on PATH; tests that need it skip, saying so, when not.
pub fn have(prog: &str) -> bool {
    which(prog).is_some()
}

pub fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

/// Says why a test is skipped. Under `CQ_NO_SKIP=1` (set by .ci/run, which
/// installs everything) a skip is a failure instead.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("CQ_NO_SKIP").is_some_and(|v| v == "1") {
        panic!("{test} would be skipped ({why}), and CQ_NO_SKIP=1 forbids skips");
    }
    eprintln!("SKIPPED: {test}: {why}");
}
