//! Jobs cq runs for you: `cq wrap --detach`, no orphan behind a lost
//! record (PR_SET_PDEATHSIG), and `cq meta` from inside a job. Real
//! processes, real signals.

mod common;

use common::{CQ, Env, children_of, parse_lines, stdout_of};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits up to `secs` for `f` to hold.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a pid is gone or a zombie nobody reaped yet.
fn ended(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_detached_job_is_running_when_cq_returns_and_its_record_names_its_log() {
    let env = Env::new();
    let out = env
        .cq()
        .args(["wrap", "-d", "-n", "dj", "--", "sh", "-c"])
        .arg("echo to-out; echo to-err >&2; sleep 1; exit 3")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = stdout_of(&out).trim().to_string();
    assert_eq!(id.len(), 36, "one job id on stdout: {id:?}");
    // At once: no wait between the id and the job being listed.
    let running = env
        .cq()
        .args(["list", "--running", "--json"])
        .output()
        .unwrap();
    let jobs = parse_lines(&stdout_of(&running));
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["id"], id.as_str());
    // Without -o the log is kept under cq's state directory, not in the
    // working directory (often a repository an agent works in).
    let log = env.path(&format!("xdg-state/cq/logs/dj.{id}.log"));
    assert_eq!(jobs[0]["log"], log.to_str().unwrap());
    // `cq wait ID` ends with the job, with its status.
    let waited = env
        .cq()
        .args(["wait", "--timeout", "20s", "--json", &id])
        .output()
        .unwrap();
    assert_eq!(waited.status.code(), Some(3), "{waited:?}");
    let recs = parse_lines(&stdout_of(&waited));
    assert_eq!(recs[0]["id"], id.as_str());
    assert_eq!(recs[0]["exit_code"], 3);
    assert_eq!(recs[0]["log"], log.to_str().unwrap());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("to-out") && text.contains("to-err"), "{text}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(log.parent().unwrap()), 0o700, "the logs directory");
    let here: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".log"))
        .collect();
    assert!(here.is_empty(), "a log in the working directory: {here:?}");
}

/// The output directory the user chose (-o, or CQ_OUTPUT_DIR) is where a
/// detached job's log goes; with no state directory at all (neither HOME
/// nor XDG_STATE_HOME) the output directory is the one place left.
#[test]
fn a_detached_jobs_log_follows_a_chosen_output_directory() {
    let env = Env::new();
    let run = |c: &mut common::Cq| {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let id = stdout_of(&out).trim().to_string();
        env.cq()
            .args(["wait", "--timeout", "20s", &id])
            .assert()
            .success();
        id
    };
    let out = env.path("out");
    let id = run(env
        .cq()
        .args(["wrap", "-d", "-n", "a", "-o", "out", "--", "echo", "a"]));
    assert_eq!(
        std::fs::read_to_string(out.join(format!("a.{id}.log"))).unwrap(),
        "a\n"
    );
    let id = run(env
        .cq()
        .env("CQ_OUTPUT_DIR", &out)
        .args(["wrap", "-d", "-n", "b", "--", "echo", "b"]));
    assert_eq!(
        std::fs::read_to_string(out.join(format!("b.{id}.log"))).unwrap(),
        "b\n"
    );
    let id = run(env
        .cq()
        .env_remove("XDG_STATE_HOME")
        .env_remove("HOME")
        .args(["wrap", "-d", "-n", "c", "--", "echo", "c"]));
    assert_eq!(
        std::fs::read_to_string(env.path(&format!("c.{id}.log"))).unwrap(),
        "c\n"
    );
}

#[test]
fn detach_takes_a_log_path_and_refuses_what_it_cannot_start() {
    let env = Env::new();
    let log = env.dir.path().join("mine.log");
    let out = env
        .cq()
        .args(["wrap", "--detach", "--log"])
        .arg(&log)
        .args(["-n", "named", "--", "sh", "-c", "echo here"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let id = stdout_of(&out).trim().to_string();
    env.cq()
        .args(["wait", "--timeout", "20s", &id])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "here\n");
    // A log that cannot be opened: 125, nothing started, nothing queued.
    // Its parent is a file of the test's own: no directory made elsewhere
    // (by a root test run, or another test) can make it openable.
    let file = env.path("a-file");
    std::fs::write(&file, "").unwrap();
    env.cq()
        .args(["wrap", "-d", "--log"])
        .arg(file.join("x.log"))
        .args(["--", "true"])
        .assert()
        .code(125)
        .stderr(predicates::str::contains("cannot open the log"));
    // --log alone is a usage error.
    env.cq()
        .args(["wrap", "--log", "x.log", "--", "true"])
        .assert()
        .code(2);
    assert_eq!(env.records().len(), 1, "only the first job's record");
}

#[test]
fn a_detached_job_survives_the_hangup_of_the_session_that_started_it() {
    let env = Env::new();
    let marker = env.dir.path().join("id");
    // A shell in a process group of its own plays the terminal's session:
    // it starts the job, then is hung up, group and all.
    let mut shell = std::process::Command::new("sh");
    shell
        .env("CQ_QUEUE", &env.location)
        .env("XDG_STATE_HOME", env.dir.path().join("xdg-state"))
        .env("TMPDIR", env.dir.path())
        .env_remove("CQ_NAME")
        .current_dir(env.dir.path())
        .arg("-c")
        .arg(format!(
            "'{CQ}' wrap -d -n survivor -- sh -c 'sleep 2; exit 0' > '{}'; exec sleep 30",
            marker.display()
        ))
        .process_group(0)
        .stdin(Stdio::null());
    let mut child = shell.spawn().unwrap();
    let pgid = child.id() as i32;
    eventually(10, "the job id was printed", || {
        std::fs::read_to_string(&marker).is_ok_and(|t| t.trim().len() == 36)
    });
    // SAFETY: kill has no memory-safety conditions; the group is ours.
    unsafe { libc::kill(-pgid, libc::SIGHUP) };
    let st = child.wait().unwrap();
    assert!(st.code().is_none(), "the session died of SIGHUP: {st:?}");
    let id = std::fs::read_to_string(&marker).unwrap().trim().to_string();
    let out = env
        .cq()
        .args(["wait", "--timeout", "20s", "--json", &id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let recs = parse_lines(&stdout_of(&out));
    assert_eq!(recs[0]["exit_code"], 0, "{recs:?}");
    assert!(recs[0].get("signal").is_none(), "{recs:?}");
}

/// SIGKILLs these processes of the test's own when dropped.
struct Reaper(Vec<i32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        common::kill_all(&self.0);
    }
}

#[test]
fn a_killed_wrappers_job_gets_sigterm_and_one_lost_record() {
    let env = Env::new();
    let pidfile = env.dir.path().join("job.pid");
    let caught = env.dir.path().join("job.signal");
    // The job says which signal ended it: SIGTERM is the promise (a job
    // may clean up), not any death. `wait` returns when the trap runs.
    let mut wrapper = env
        .cq_std()
        .args(["wrap", "-n", "orphan", "--", "sh", "-c"])
        .arg(format!(
            "trap 'echo TERM > \"$1\"; kill $!; exit 0' TERM; sleep 30 & echo $$ > '{}'; wait",
            pidfile.display()
        ))
        .arg("sh")
        .arg(&caught)
        .spawn()
        .unwrap();
    eventually(10, "the job wrote its pid", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
    });
    let job: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Should the job outlive the test (the promise broken), it and its
    // sleep are ours to end.
    let _reaper = Reaper([job].into_iter().chain(children_of(job as u32)).collect());
    wrapper.kill().unwrap();
    wrapper.wait().unwrap();
    eventually(5, "the orphaned job ended", || ended(job));
    assert_eq!(
        std::fs::read_to_string(&caught).ok().as_deref(),
        Some("TERM\n"),
        "the orphaned job ended without its SIGTERM"
    );
    let out = env
        .cq()
        .args(["list", "--running", "--count"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "0\n");
    let recs = env.listed();
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["lost"], true);
    assert_eq!(recs[0]["name"], "orphan");
}

#[test]
fn a_job_adds_to_its_own_record_with_cq_meta() {
    let env = Env::new();
    let script = format!(
        "'{CQ}' meta a=1 b=two && '{CQ}' meta a=3 && \
         ! '{CQ}' meta big=$(head -c 5000 /dev/zero | tr '\\0' x) 2>err1 && \
         ! '{CQ}' meta $(head -c 70 /dev/zero | tr '\\0' k)=v 2>err2 && \
         ! '{CQ}' meta novalue 2>err3"
    );
    env.cq()
        .args([
            "wrap", "-n", "m", "--meta", "c=0", "--", "sh", "-c", &script,
        ])
        .assert()
        .success();
    let recs = env.records();
    assert_eq!(recs.len(), 1);
    let meta = recs[0]["meta"].as_object().unwrap();
    let keys: Vec<&str> = meta.keys().map(String::as_str).collect();
    assert_eq!(keys, ["c", "a", "b"], "{meta:?}");
    assert_eq!(meta["a"], "3", "a later value replaces an earlier one");
    assert_eq!(meta["b"], "two");
    for (f, says) in [
        ("err1", "more than 4096"),
        ("err2", "more than 64"),
        ("err3", "KEY=VALUE"),
    ] {
        let text = std::fs::read_to_string(env.dir.path().join(f)).unwrap();
        assert!(text.contains(says), "{f}: {text}");
        assert_eq!(text.lines().count(), 1, "{f}: one line: {text}");
    }
    // The pairs' file is gone with the job.
    let left: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("cq-meta-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn cq_meta_is_bounded_in_all_and_refused_outside_a_job() {
    let env = Env::new();
    // 20 values of 4000 bytes: the 64 KiB bound stops the 17th.
    let script = format!(
        "v=$(head -c 4000 /dev/zero | tr '\\0' y); n=0; \
         for i in $(seq 1 20); do '{CQ}' meta k$i=$v 2>>err && n=$((n+1)); done; echo $n > count"
    );
    env.cq()
        .args(["wrap", "-n", "full", "--", "sh", "-c", &script])
        .assert()
        .success();
    let n: usize = std::fs::read_to_string(env.dir.path().join("count"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(n, 16, "pairs accepted before the bound");
    let err = std::fs::read_to_string(env.dir.path().join("err")).unwrap();
    assert!(err.contains("would exceed"), "{err}");
    let recs = env.records();
    assert_eq!(recs[0]["meta"].as_object().unwrap().len(), 16);
    assert!(recs[0].get("truncated").is_none(), "{:?}", recs[0]);
    env.cq()
        .args(["meta", "a=1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("inside cq wrap"));
}
