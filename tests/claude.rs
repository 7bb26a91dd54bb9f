//! The agent session's last mile against the real Claude Code client
//! (pinned in .ci/run, installed from the npm registry), offline: a
//! stand-in for the model API on 127.0.0.1 (common/model.rs) is the only
//! thing not real. The client runs in its terminal UI under a tmux server
//! of the test's own, or in `-p --input-format stream-json` mode, with
//! the settings `cq init claude` prints, in a throwaway HOME.
//!
//! Without the client (`claude` on PATH, or `CQ_CLAUDE`) these tests skip
//! saying so; under `CQ_NO_SKIP` they fail.

mod common;
#[path = "common/model.rs"]
mod model;

use common::*;
use model::{Model, Reply, Request, Script};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The version .ci/run installs.
const PINNED: &str = "2.1.197";
/// Any key: the stand-in checks none. The client asks to approve a key
/// it has not seen; `.claude.json` approves its last 20 characters.
const KEY: &str = "sk-ant-api03-cq-test-key-0123456789abcdefghij";

fn claude(test: &str) -> Option<PathBuf> {
    let bin = std::env::var_os("CQ_CLAUDE")
        .map(PathBuf::from)
        .or_else(|| which("claude"));
    match bin {
        Some(b) => Some(b),
        None => {
            skip(
                test,
                &format!(
                    "the Claude Code client is not installed (npm install -g @anthropic-ai/claude-code@{PINNED}, or set CQ_CLAUDE)"
                ),
            );
            None
        }
    }
}

/// A random session id in the form the client takes (`--session-id`).
fn new_session_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    let a = h.finish();
    h.write_u64(a);
    let b = h.finish();
    let x = (u128::from(a) << 64) | u128::from(b);
    let s = format!("{x:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &s[0..8],
        &s[8..12],
        &s[13..16],
        &s[17..20],
        &s[20..32]
    )
}

/// A HOME with the client set up, the queue of `env`, and the hooks of
/// `cq init claude`.
struct Home {
    env: Env,
    bin: PathBuf,
    home: PathBuf,
    proj: PathBuf,
}

impl Home {
    fn new(bin: PathBuf, env: Env) -> Home {
        let home = env.path("home");
        let proj = env.path("proj");
        std::fs::create_dir_all(home.join(".claude")).unwrap();
        std::fs::create_dir_all(&proj).unwrap();
        let proj = proj.canonicalize().unwrap();
        let mut projects = serde_json::Map::new();
        projects.insert(
            proj.display().to_string(),
            json!({"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true, "allowedTools": []}),
        );
        let state = json!({
            "hasCompletedOnboarding": true,
            "lastOnboardingVersion": PINNED,
            "theme": "dark",
            "customApiKeyResponses": {"approved": [&KEY[KEY.len() - 20..]], "rejected": []},
            "projects": projects,
        });
        std::fs::write(home.join(".claude.json"), state.to_string()).unwrap();
        let out = env
            .cq()
            .args(["--queue", &env.location, "init", "claude"])
            .output()
            .unwrap();
        assert!(out.status.success(), "cq init claude: {out:?}");
        let mut settings: Value = serde_json::from_slice(&out.stdout).unwrap();
        settings["permissions"] = json!({"allow": ["Bash"]});
        std::fs::write(
            home.join(".claude/settings.json"),
            serde_json::to_string_pretty(&settings).unwrap(),
        )
        .unwrap();
        Home {
            env,
            bin,
            home,
            proj,
        }
    }

    /// The client's environment, and so its hooks' and its tools': this
    /// test's HOME, state and queue, the stand-in model, nothing of the
    /// developer's (no CQ_*, no outer Claude Code session).
    fn client_env(&self, model: &Model) -> Vec<(String, String)> {
        let cq_dir = Path::new(CQ).parent().unwrap().display().to_string();
        vec![
            ("HOME".into(), self.home.display().to_string()),
            (
                "PATH".into(),
                format!("{cq_dir}:/usr/local/bin:/usr/bin:/bin"),
            ),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("SHELL".into(), "/bin/bash".into()),
            ("ANTHROPIC_BASE_URL".into(), model.url()),
            ("ANTHROPIC_API_KEY".into(), KEY.into()),
            ("DISABLE_TELEMETRY".into(), "1".into()),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            ("CQ_QUEUE".into(), self.env.location.clone()),
            (
                "XDG_STATE_HOME".into(),
                self.env.path("xdg-state").display().to_string(),
            ),
            ("TMPDIR".into(), self.env.dir.path().display().to_string()),
            ("CQ_TEST_SESSION".into(), model.port.to_string()),
        ]
    }

    /// The session in the terminal UI, under a tmux server of its own,
    /// ready for input.
    fn tui(&self, script: Arc<Script>, args: &[&str]) -> Session {
        let model = Model::start(script);
        let sock = self.env.path(&format!("tmux-{}.sock", model.port));
        let mut cmd = format!("exec '{}'", self.bin.display());
        for a in args {
            cmd.push_str(&format!(" '{a}'"));
        }
        let st = Command::new("tmux")
            .env_clear()
            .envs(self.client_env(&model))
            .current_dir(&self.proj)
            .args(["-S"])
            .arg(&sock)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                &cmd,
            ])
            .status()
            .expect("tmux runs");
        assert!(st.success(), "tmux new-session");
        let marker = model.port.to_string();
        let s = Session {
            model,
            how: How::Tui(sock),
            marker,
        };
        s.await_screen("? for shortcuts", Duration::from_secs(60));
        s
    }

    /// The session in `claude -p --input-format stream-json`, its stdin
    /// held open.
    fn stream(&self, script: Arc<Script>, args: &[&str]) -> Session {
        let model = Model::start(script);
        let out =
            std::fs::File::create(self.env.path(&format!("stream-{}.out", model.port))).unwrap();
        let child = Command::new(&self.bin)
            .env_clear()
            .envs(self.client_env(&model))
            .current_dir(&self.proj)
            .args([
                "-p",
                "--input-format",
                "stream-json",
                "--output-format",
                "stream-json",
                "--verbose",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("claude runs");
        let marker = model.port.to_string();
        Session {
            model,
            how: How::Stream(Some(child)),
            marker,
        }
    }

    /// `claude -p TEXT`: returns its output and the requests the model got.
    fn print(&self, script: Arc<Script>, args: &[&str]) -> (std::process::Output, Vec<Request>) {
        let model = Model::start(script);
        let mut child = Command::new(&self.bin)
            .env_clear()
            .envs(self.client_env(&model))
            .current_dir(&self.proj)
            .arg("-p")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("claude runs");
        let end = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > end {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!("claude -p still running after 60 s: {out:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (child.wait_with_output().unwrap(), model.requests())
    }

    /// `cq` as a job started from session `sid` (or from none).
    fn cq_in(&self, sid: Option<&str>) -> Command {
        let mut c = self.env.cq_std();
        c.env_remove("CLAUDECODE");
        match sid {
            Some(s) => c.env("CLAUDE_CODE_SESSION_ID", s),
            None => c.env_remove("CLAUDE_CODE_SESSION_ID"),
        };
        c
    }

    /// Starts a detached job of session `sid`; returns its id.
    fn detach(&self, sid: Option<&str>, name: &str, script: &str) -> String {
        let out = self
            .cq_in(sid)
            .args(["wrap", "-d", "-n", name, "--", "sh", "-c", script])
            .output()
            .unwrap();
        assert!(out.status.success(), "cq wrap -d: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// What the files named *.EXT under `rel` hold (for a failure's message).
    fn files(&self, rel: &str, ext: &str) -> String {
        let mut out = String::new();
        let mut dirs = vec![self.env.path(rel)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == ext) {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    out.push_str(&format!(
                        "\n== {}\n{}",
                        p.display(),
                        text.chars().take(4000).collect::<String>()
                    ));
                }
            }
        }
        out
    }

    /// Waits (30 s at most) until session `sid`'s waiter is armed; its
    /// lock file, which names its pid.
    fn await_waiter(&self, sid: &str) -> PathBuf {
        let waiter = self.env.path(&format!("xdg-state/cq/claude/{sid}.waiter"));
        let end = Instant::now() + Duration::from_secs(30);
        while !waiter.exists() {
            assert!(Instant::now() < end, "no waiter armed for session {sid}");
            std::thread::sleep(Duration::from_millis(50));
        }
        waiter
    }

    fn pending(&self) -> Vec<Value> {
        let out = self
            .env
            .cq()
            .args(["list", "--pending", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        parse_lines(&String::from_utf8_lossy(&out.stdout))
    }

    /// Waits (bounded) until nothing is pending: every record handed to a
    /// session was acknowledged once its transcript showed it.
    fn await_all_acknowledged(&self, limit: Duration) {
        let end = Instant::now() + limit;
        loop {
            let p = self.pending();
            if p.is_empty() {
                return;
            }
            if Instant::now() >= end {
                panic!(
                    "still pending after {limit:?}: {}\nhand-overs: {}\ntranscripts: {}",
                    names(&p).join(", "),
                    self.files("xdg-state/cq/claude", "handover"),
                    self.files("home/.claude/projects", "jsonl"),
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

enum How {
    Tui(PathBuf),
    Stream(Option<Child>),
}

struct Session {
    model: Model,
    how: How,
    /// `CQ_TEST_SESSION` in the environment of every process of this
    /// session's client (the model's port: unique while it runs).
    marker: String,
}

impl Session {
    fn tmux(&self, args: &[&str]) -> String {
        let How::Tui(sock) = &self.how else {
            panic!("not a terminal session")
        };
        let out = Command::new("tmux")
            .arg("-S")
            .arg(sock)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn await_screen(&self, text: &str, limit: Duration) {
        let end = Instant::now() + limit;
        while !self.screen().contains(text) {
            assert!(
                Instant::now() < end,
                "the screen never showed {text:?} in {limit:?}:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types a prompt (terminal UI) or sends a user message (stream-json).
    fn say(&mut self, text: &str) {
        match &mut self.how {
            How::Tui(_) => {
                self.tmux(&["send-keys", "-l", text]);
                std::thread::sleep(Duration::from_millis(300));
                self.tmux(&["send-keys", "Enter"]);
            }
            How::Stream(Some(child)) => {
                use std::io::Write;
                let msg = json!({"type": "user", "message": {"role": "user", "content": text}});
                let stdin = child.stdin.as_mut().unwrap();
                writeln!(stdin, "{msg}").unwrap();
                stdin.flush().unwrap();
            }
            How::Stream(None) => panic!("session closed"),
        }
    }

    /// The first main-loop request whose newest user message holds `text`.
    fn await_request(&self, text: &str, limit: Duration) -> Request {
        self.model
            .wait_for(limit, |r| r.last_user_text().contains(text))
            .unwrap_or_else(|| {
                let got: Vec<String> = self
                    .model
                    .requests()
                    .iter()
                    .map(|r| r.last_user_text().chars().take(300).collect())
                    .collect();
                panic!("the model never got {text:?} in {limit:?}; it got: {got:#?}")
            })
    }

    /// The processes of this test's client: the client, its hooks and
    /// their children (they all carry the test's state directory).
    fn processes(&self) -> Vec<i32> {
        let me = std::process::id() as i32;
        let needle = format!("CQ_TEST_SESSION={}", self.marker);
        let mut pids = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if pid == me {
                continue;
            }
            if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ"))
                && env.split(|b| *b == 0).any(|v| v == needle.as_bytes())
            {
                pids.push(pid);
            }
        }
        pids
    }

    /// Ends the session as a person would (`/exit`, or the end of stdin)
    /// and asserts that nothing of it, its waiter included, is left.
    fn close(&mut self) {
        match &mut self.how {
            How::Tui(_) => {
                self.tmux(&["send-keys", "-l", "/exit"]);
                std::thread::sleep(Duration::from_millis(300));
                self.tmux(&["send-keys", "Enter"]);
            }
            How::Stream(child) => {
                if let Some(mut c) = child.take() {
                    drop(c.stdin.take());
                    let end = Instant::now() + Duration::from_secs(30);
                    while c.try_wait().unwrap().is_none() {
                        assert!(
                            Instant::now() < end,
                            "claude did not end at the end of its input"
                        );
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        }
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let left = self.processes();
            if left.is_empty() {
                return;
            }
            if Instant::now() > end {
                let what: Vec<String> = left
                    .iter()
                    .map(|p| {
                        let c = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                        format!("{p}: {}", String::from_utf8_lossy(&c).replace('\0', " "))
                    })
                    .collect();
                kill_all(&left);
                panic!("processes left after the session ended: {what:#?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let How::Tui(sock) = &self.how {
            let _ = Command::new("tmux")
                .arg("-S")
                .arg(sock)
                .arg("kill-server")
                .output();
        }
        if let How::Stream(Some(c)) = &mut self.how {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Whatever of this test's client is left (a failed test): ours, by pid.
        kill_all(&self.processes());
    }
}

fn says_ok() -> Arc<Script> {
    Arc::new(|_: &Request| Reply::Text("ok".into()))
}

/// The session id the client was started with.
fn session_args(sid: &str) -> Vec<&str> {
    vec!["--session-id", sid]
}

/// An idle session, nothing typed, is woken by a detached job's end; the
/// request names the job, its status and exit code, and the record is
/// acknowledged once the client has it. Then the session ends and leaves
/// no waiter behind.
fn idle_session_wakes(tier: Tier, tui: bool, test: &str) {
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::tier(tier));
    let sid = new_session_id();
    let mut s = if tui {
        h.tui(says_ok(), &session_args(&sid))
    } else {
        h.stream(says_ok(), &session_args(&sid))
    };
    // Let the session settle into idleness: its waiter is armed.
    h.await_waiter(&sid);
    let before = s.model.requests().len();
    let id = h.detach(Some(&sid), "build", "sleep 1; exit 0");
    let r = s.await_request("build: success (exit 0)", Duration::from_secs(30));
    let text = r.last_user_text();
    assert!(text.contains("<task-notification>"), "{text}");
    assert!(text.contains(&format!("id {id}")), "{text}");
    assert!(
        s.model.requests().len() > before,
        "the wake is a request of its own"
    );
    h.await_all_acknowledged(Duration::from_secs(20));
    let rec = h.env.cq().args(["list", "--json"]).output().unwrap();
    let recs = parse_lines(&String::from_utf8_lossy(&rec.stdout));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["session"], json!(sid), "{recs:?}");
    s.close();
}

#[test]
fn an_idle_terminal_session_wakes_when_its_job_ends() {
    idle_session_wakes(
        Tier::Jsonl,
        true,
        "an_idle_terminal_session_wakes_when_its_job_ends",
    );
}

#[test]
fn an_idle_stream_json_session_wakes_when_its_job_ends() {
    idle_session_wakes(
        Tier::Jsonl,
        false,
        "an_idle_stream_json_session_wakes_when_its_job_ends",
    );
}

#[test]
fn an_idle_session_wakes_on_the_redis_tier() {
    if !have("redis-server") {
        skip(
            "an_idle_session_wakes_on_the_redis_tier",
            "redis-server is not installed",
        );
        return;
    }
    idle_session_wakes(
        Tier::Redis,
        false,
        "an_idle_session_wakes_on_the_redis_tier",
    );
}

#[test]
fn an_idle_session_wakes_on_the_sqlite_tier() {
    idle_session_wakes(
        Tier::Sqlite,
        false,
        "an_idle_session_wakes_on_the_sqlite_tier",
    );
}

/// The "model" itself starts `cq wrap -d` through the Bash tool of the
/// real client, and the same session is woken when the job ends: the job
/// inherited the session's id.
#[test]
fn a_job_the_model_starts_wakes_its_own_session() {
    let test = "a_job_the_model_starts_wakes_its_own_session";
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::new());
    let script: Arc<Script> = Arc::new(|r: &Request| {
        let t = r.last_user_text();
        if t.contains("please start the build")
            && !t.contains("tool_use_id")
            && r.messages().len() < 3
        {
            Reply::Bash("cq wrap -d -n modeljob -- sh -c 'sleep 2; exit 4'".into())
        } else {
            Reply::Text("ok".into())
        }
    });
    let sid = new_session_id();
    let mut s = h.tui(script, &session_args(&sid));
    s.say("please start the build");
    let r = s.await_request("modeljob: failure (exit 4)", Duration::from_secs(40));
    assert!(r.last_user_text().contains("<task-notification>"));
    h.await_all_acknowledged(Duration::from_secs(20));
    let out = h.env.cq().args(["list", "--json"]).output().unwrap();
    let recs = parse_lines(&String::from_utf8_lossy(&out.stdout));
    let job: Vec<&Value> = recs.iter().filter(|r| r["name"] == "modeljob").collect();
    assert_eq!(job.len(), 1, "{recs:?}");
    assert_eq!(
        job[0]["session"],
        json!(sid),
        "started from the session: {recs:?}"
    );
    s.close();
}

/// Two sessions side by side, a job each: each is woken for its own, and
/// neither ever hears of the other's.
#[test]
fn two_sessions_each_hear_only_their_own_jobs() {
    let test = "two_sessions_each_hear_only_their_own_jobs";
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::new());
    let (a, b) = (new_session_id(), new_session_id());
    let mut sa = h.tui(says_ok(), &session_args(&a));
    let mut sb = h.stream(says_ok(), &session_args(&b));
    h.await_waiter(&a);
    h.await_waiter(&b);
    h.detach(Some(&a), "alpha", "sleep 1; exit 0");
    h.detach(Some(&b), "beta", "sleep 1; exit 5");
    sa.await_request("alpha: success (exit 0)", Duration::from_secs(30));
    sb.await_request("beta: failure (exit 5)", Duration::from_secs(30));
    h.await_all_acknowledged(Duration::from_secs(20));
    let heard = |s: &Session, what: &str| {
        s.model
            .requests()
            .iter()
            .any(|r| r.user_texts().iter().any(|t| t.contains(what)))
    };
    assert!(!heard(&sa, "beta:"), "a heard b's job");
    assert!(!heard(&sb, "alpha:"), "b heard a's job");
    sa.close();
    sb.close();
}

/// A session closed before its job ends leaves the record pending (no
/// waiter outlives it to take it); resumed, the session is woken with it.
#[test]
fn a_closed_session_gets_its_record_when_resumed() {
    let test = "a_closed_session_gets_its_record_when_resumed";
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::new());
    let sid = new_session_id();
    let mut s = h.tui(says_ok(), &session_args(&sid));
    // A first turn, so there is a conversation to resume.
    s.say("hello");
    s.await_request("hello", Duration::from_secs(30));
    let id = h.detach(Some(&sid), "late", "sleep 3; exit 0");
    s.close();
    let end = Instant::now() + Duration::from_secs(20);
    while h.pending().is_empty() {
        assert!(Instant::now() < end, "the job never ended");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Nothing takes it while the session is closed.
    std::thread::sleep(Duration::from_secs(2));
    let p = h.pending();
    assert_eq!(
        names(&p),
        ["late"],
        "stays pending while the session is closed"
    );
    drop(s);
    let mut s = h.tui(says_ok(), &["--resume", &sid]);
    let r = s.await_request("late: success (exit 0)", Duration::from_secs(30));
    assert!(r.last_user_text().contains(&id));
    h.await_all_acknowledged(Duration::from_secs(20));
    s.close();
}

/// Twenty jobs ending within a second: each record reaches the model
/// exactly once, in a few wakes, and every one is acknowledged.
#[test]
fn a_burst_of_jobs_reaches_the_model_once_each_in_few_wakes() {
    let test = "a_burst_of_jobs_reaches_the_model_once_each_in_few_wakes";
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::new());
    let sid = new_session_id();
    let mut s = h.stream(says_ok(), &session_args(&sid));
    h.await_waiter(&sid);
    let n = 20;
    for i in 0..n {
        h.detach(Some(&sid), &format!("burst{i}"), "sleep 1");
    }
    // A record reaches the model in a wake (a user message) or, when the
    // woken turn's prompt hook finds more, as that turn's context.
    let all = |r: &Request| {
        let texts: Vec<String> = r.messages().iter().map(model::text_of).collect();
        let texts = texts.join("\n");
        (0..n).all(|i| texts.contains(&format!("burst{i}: success")))
    };
    let last = s
        .model
        .wait_for(Duration::from_secs(60), all)
        .unwrap_or_else(|| {
            panic!(
                "not every job reached the model: {:#?}",
                s.model
                    .requests()
                    .iter()
                    .map(|r| r.last_user_text())
                    .collect::<Vec<_>>()
            )
        });
    h.await_all_acknowledged(Duration::from_secs(20));
    // The newest request carries the whole conversation.
    std::thread::sleep(Duration::from_secs(1));
    let newest = s
        .model
        .requests()
        .into_iter()
        .rfind(|r| r.streamed())
        .unwrap_or(last);
    let texts: Vec<String> = newest.messages().iter().map(model::text_of).collect();
    for i in 0..n {
        let needle = format!("burst{i}: success");
        let times: usize = texts.iter().map(|t| t.matches(&needle).count()).sum();
        assert_eq!(times, 1, "{needle} reached the model {times} times");
    }
    let wakes = texts
        .iter()
        .filter(|t| t.contains("<task-notification>") && t.contains("(cq)"))
        .count();
    eprintln!("{n} jobs: {wakes} wakes");
    assert!((1..=6).contains(&wakes), "{wakes} wakes for {n} jobs");
    s.close();
}

/// A failing job and a lost one (its wrapper SIGKILLed) each reach the
/// model as what they are.
#[test]
fn failing_and_lost_jobs_reach_the_model_as_what_they_are() {
    let test = "failing_and_lost_jobs_reach_the_model_as_what_they_are";
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::new());
    let sid = new_session_id();
    let mut s = h.stream(says_ok(), &session_args(&sid));
    let id = h.detach(Some(&sid), "doomed", "exec sleep 60");
    // Its wrapper, found by the id it printed.
    let end = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        let out = h
            .env
            .cq()
            .args(["list", "--running", "--json"])
            .output()
            .unwrap();
        let jobs = parse_lines(&String::from_utf8_lossy(&out.stdout));
        if let Some(j) = jobs.iter().find(|j| j["id"] == json!(id)) {
            break j["pid"].as_i64().unwrap() as i32;
        }
        assert!(Instant::now() < end, "the job never showed as running");
        std::thread::sleep(Duration::from_millis(50));
    };
    kill_all(&[pid]);
    let r = s.await_request("doomed: failure (lost", Duration::from_secs(30));
    assert!(r.last_user_text().contains(&id));
    h.detach(Some(&sid), "broken", "exit 3");
    s.await_request("broken: failure (exit 3)", Duration::from_secs(30));
    h.await_all_acknowledged(Duration::from_secs(20));
    s.close();
}

/// Plain `claude -p TEXT` cannot be woken: its waiter must not hold the
/// run up (an async hook runs in the foreground there), and a pending
/// record reaches the model at the session's start instead, once.
#[test]
fn plain_print_mode_is_not_held_up_and_gets_records_at_its_start() {
    let test = "plain_print_mode_is_not_held_up_and_gets_records_at_its_start";
    let Some(bin) = claude(test) else { return };
    let h = Home::new(bin, Env::new());
    let sid = new_session_id();
    let st = h
        .cq_in(Some(&sid))
        .args(["push", "-n", "earlier", "--exit-code", "0"])
        .status()
        .unwrap();
    assert!(st.success());
    let began = Instant::now();
    let (out, reqs) = h.print(says_ok(), &["--session-id", &sid, "hello"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "claude -p took {:?}",
        began.elapsed()
    );
    let heard = reqs.iter().filter(|r| r.streamed()).any(|r| {
        r.messages()
            .iter()
            .any(|m| model::text_of(m).contains("earlier: success"))
    });
    assert!(heard, "the record reached the model at the start");
    h.await_all_acknowledged(Duration::from_secs(10));
}

/// The hand-over rule without the client (the real client cannot be made
/// to die at the worst moment on cue): a record handed to a client that
/// then dies is pending again and goes to the next hook; one handed to a
/// live client stays in flight (no second hand-over) and is marked pulled
/// only once the client's transcript shows its token.
#[test]
fn a_record_counts_as_delivered_only_once_the_transcript_shows_it() {
    let env = Env::new();
    let sid = new_session_id();
    let st = env
        .cq_std()
        .env("CLAUDE_CODE_SESSION_ID", &sid)
        .args(["push", "-n", "handed", "--exit-code", "0"])
        .status()
        .unwrap();
    assert!(st.success());
    let transcript = env.path("transcript.jsonl");
    std::fs::write(&transcript, "{}\n").unwrap();
    let input = |event: &str| {
        json!({"session_id": sid, "transcript_path": transcript, "hook_event_name": event})
            .to_string()
    };
    let hook = |via: Option<&str>, event: &str, wake: bool| {
        use std::io::Write;
        let mut c = match via {
            Some(p) => {
                let mut c = Command::new(p);
                c.args(["20", CQ]);
                c
            }
            None => Command::new(CQ),
        };
        c.envs(
            env.cq_std()
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .env("CQ_QUEUE", &env.location)
        .args(["hook", "claude"]);
        if wake {
            c.args(["--wake", "--wake-for", "10s"]);
        }
        // From a file: a waiter also watches its client's stdin for the
        // end of the client's input (here the client's stdin is its own).
        let file = env.path("hook-input.json");
        std::fs::File::create(&file)
            .and_then(|mut f| f.write_all(input(event).as_bytes()))
            .unwrap();
        c.stdin(std::fs::File::open(&file).unwrap())
            .output()
            .unwrap()
    };
    let pending = || {
        let out = env
            .cq()
            .args(["list", "--pending", "--json"])
            .output()
            .unwrap();
        names(&parse_lines(&String::from_utf8_lossy(&out.stdout)))
    };
    // Its client (`timeout`, the nearest ancestor that is not a shell)
    // ends with the waiter: the hand-over is void.
    let out = hook(Some("timeout"), "Stop", true);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("handed: success (exit 0)"));
    assert_eq!(pending(), ["handed"], "nothing marked at the hand-over");
    // A live client (this test) takes it again at its prompt.
    let out = hook(None, "UserPromptSubmit", false);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("handed: success (exit 0)"),
        "handed over again: {out:?}"
    );
    let token = text
        .split("(cq delivery ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .expect("a token")
        .to_string();
    // In flight to a live client: not handed over twice, not marked yet.
    let out = hook(None, "UserPromptSubmit", false);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{out:?}");
    assert_eq!(pending(), ["handed"]);
    // The client wrote it down: the next hook marks it.
    std::fs::write(
        &transcript,
        format!("{{}}\n{{\"content\":\"(cq delivery {token})\"}}\n"),
    )
    .unwrap();
    let out = hook(None, "SessionEnd", false);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        pending().is_empty(),
        "acknowledged once the transcript shows it"
    );
}

/// bench/run's measure (ignored in `cargo test`): the time from a job's
/// end to the stand-in API receiving the wake request, over
/// `CQ_WAKE_JOBS` jobs (20), on the JSONL tier and on Redis, and the CPU
/// an idle waiter burns, per minute, over `CQ_IDLE_SECS` (10) seconds.
#[test]
#[ignore = "a benchmark: bench/run runs it"]
fn wake_latency() {
    let Some(bin) = claude("wake_latency") else {
        return;
    };
    let jobs: usize = std::env::var("CQ_WAKE_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let idle: u64 = std::env::var("CQ_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut tiers = vec![("jsonl", Tier::Jsonl), ("sqlite", Tier::Sqlite)];
    if have("redis-server") {
        tiers.push(("redis", Tier::Redis));
    }
    for (label, tier) in tiers {
        let h = Home::new(bin.clone(), Env::tier(tier));
        let sid = new_session_id();
        let mut s = h.stream(says_ok(), &session_args(&sid));
        let waiter = h.await_waiter(&sid);
        let mut ms = Vec::new();
        for i in 0..jobs {
            let t0 = std::time::SystemTime::now();
            let st = h
                .cq_in(Some(&sid))
                .args(["wrap", "-n", &format!("lat{i}"), "--", "true"])
                .status()
                .unwrap();
            assert!(st.success());
            let r = s.await_request(&format!("lat{i}: success"), Duration::from_secs(30));
            ms.push(r.at.duration_since(t0).unwrap_or_default().as_secs_f64() * 1000.0);
            h.await_all_acknowledged(Duration::from_secs(20));
            // The woken turn ends and re-arms the waiter.
            std::thread::sleep(Duration::from_millis(300));
        }
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1];
        println!(
            "wake latency {label}: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (n={jobs}; job end to the model's request)",
            pct(0.5),
            pct(0.95),
            ms[ms.len() - 1]
        );
        // The idle waiter: its pid is in its lock file.
        let text = std::fs::read_to_string(&waiter).unwrap();
        let pid: u32 = text.split_whitespace().next().unwrap().parse().unwrap();
        let cpu = |pid: u32| -> u64 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        };
        let before = cpu(pid);
        std::thread::sleep(Duration::from_secs(idle));
        let ticks = cpu(pid) - before;
        // Clock ticks are 10 ms (USER_HZ 100).
        println!(
            "idle waiter CPU {label}: {:.1} ms per minute (pid {pid}, {idle} s)",
            ticks as f64 * 10.0 * 60.0 / idle as f64
        );
        s.close();
    }
}

/// `cq init claude --install` merges cq's hooks into settings that
/// already hold the user's hooks for the same events: every other key and
/// hook stays, a second run changes nothing, the old file is kept as a
/// backup, and `--uninstall` takes out exactly what was added.
#[test]
fn install_merges_the_hooks_and_uninstall_takes_out_exactly_them() {
    let env = Env::new();
    let home = env.path("home");
    let file = home.join(".claude/settings.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mine = json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(make:*)"]},
        "hooks": {
            "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}],
            "UserPromptSubmit": [{"matcher": "", "hooks": [{"type": "command", "command": "date >> ~/prompts.log"}]}]
        }
    });
    let original = serde_json::to_string_pretty(&mine).unwrap();
    std::fs::write(&file, &original).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let cq = |args: &[&str]| {
        let out = env
            .cq()
            .env("HOME", &home)
            .env_remove("CLAUDE_CONFIG_DIR")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        out
    };
    cq(&["init", "claude", "--install"]);
    let once = std::fs::read_to_string(&file).unwrap();
    let s: Value = serde_json::from_str(&once).unwrap();
    assert_eq!(s["model"], "opus");
    assert_eq!(s["permissions"], mine["permissions"]);
    let commands = |s: &Value, event: &str| -> Vec<String> {
        s["hooks"][event]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["hooks"].as_array().cloned().unwrap_or_default())
            .map(|h| h["command"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let stop = commands(&s, "Stop");
    assert_eq!(stop[0], "notify-send done", "{stop:?}");
    assert!(
        stop.iter().any(|c| c.contains("hook claude --wake")),
        "{stop:?}"
    );
    assert_eq!(commands(&s, "UserPromptSubmit")[0], "date >> ~/prompts.log");
    assert!(!commands(&s, "SessionStart").is_empty());
    assert_eq!(
        std::fs::read_to_string(file.with_extension("json.bak")).unwrap(),
        original,
        "the old file is kept"
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o640,
        "the file keeps its mode"
    );
    cq(&["init", "claude", "--install"]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        once,
        "twice is once"
    );
    cq(&["init", "claude", "--uninstall"]);
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(back, mine, "exactly what was added is gone");
    // Not JSON: refused, nothing changed.
    std::fs::write(&file, "{ not json").unwrap();
    let out = env
        .cq()
        .env("HOME", &home)
        .args(["init", "claude", "--install"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing changed"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{ not json");
}

/// A prompt hook never outwaits its prompt: with the queue's lock held by
/// another program (a stopped puller, say) it gives up within its bound
/// (15 s, inside the 30 s the client allows), exit 0, one line on stderr.
#[test]
fn a_prompt_hook_gives_up_on_a_held_lock_within_its_bound() {
    if !have("flock") {
        skip(
            "a_prompt_hook_gives_up_on_a_held_lock_within_its_bound",
            "flock(1) is not installed",
        );
        return;
    }
    let env = Env::new();
    env.push("held", 0);
    let holder = LockHolder::flock(std::path::Path::new(&format!(
        "{}.lock",
        env.queue.display()
    )));
    let input = json!({"session_id": new_session_id(), "hook_event_name": "UserPromptSubmit"});
    let began = Instant::now();
    let out = env
        .cq()
        .args(["hook", "claude"])
        .write_stdin(input.to_string())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let took = began.elapsed();
    drop(holder);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(took < Duration::from_secs(25), "{took:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("timed out waiting for the lock"),
        "{out:?}"
    );
    let pending = env
        .cq()
        .args(["list", "--pending", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        names(&parse_lines(&String::from_utf8_lossy(&pending.stdout))),
        ["held"]
    );
}
