//! The edges that remain (issue 28): names and paths at the file system's
//! limits, paths that are not UTF-8, an empty command, typos of a scheme,
//! junk among the running jobs, a dangling symlink as the queue, a lock the
//! caller holds or a signal while a wrapper appends, and writers no record
//! names. One test per class, each failing before its fix; tests/README.md
//! has the table.

mod common;

use common::{Env, Tier, have, parse_lines, skip};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn stderr_of(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The names in `dir`, sorted; none when it does not exist.
fn listing(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn records_in(path: &Path) -> Vec<serde_json::Value> {
    parse_lines(&std::fs::read_to_string(path).unwrap_or_default())
}

// ---- 1. names and paths at the file system's limits ------------------------

#[test]
fn a_queue_name_at_the_limit_takes_every_command_and_one_past_it_is_refused() {
    let env = Env::new();
    let dir = env.path("long");
    std::fs::create_dir_all(&dir).unwrap();
    // 244 bytes: its longest side file, `Q.cursor.tmp`, is 255.
    let q = dir.join("q".repeat(244));
    let cq = || {
        let mut c = env.cq();
        c.env("CQ_QUEUE", &q);
        c
    };
    cq().args(["push", "-n", "a", "--exit-code", "0"])
        .assert()
        .success();
    cq().args(["wrap", "--", "true"]).assert().success();
    let out = cq().args(["pull", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(parse_lines(&String::from_utf8_lossy(&out.stdout)).len(), 2);
    // The pull left its cursor (a `.tmp` of it, renamed), and compact
    // writes its temp file beside the queue: both fit.
    assert!(listing(&dir).iter().any(|n| n.ends_with(".cursor")));
    std::thread::sleep(Duration::from_millis(1100));
    let out = cq()
        .args(["compact", "--older-than", "0s"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert!(records_in(&q).is_empty(), "compact removed nothing");
    assert!(
        !listing(&dir).iter().any(|n| n.starts_with(".cq-compact")),
        "{:?}",
        listing(&dir)
    );

    // One byte more: refused before anything is created, on every command.
    let long = env.path("longer");
    std::fs::create_dir_all(&long).unwrap();
    let q = long.join("q".repeat(245));
    for args in [
        &["push", "-n", "a", "--exit-code", "0"][..],
        &["list"],
        &["compact"],
    ] {
        let out = env.cq().env("CQ_QUEUE", &q).args(args).output().unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("queue name too long"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let marker = env.path("ran");
    env.cq()
        .env("CQ_QUEUE", &q)
        .args(["wrap", "--", "touch"])
        .arg(&marker)
        .assert()
        .code(125);
    assert!(!marker.exists(), "CMD ran");
    assert!(listing(&long).is_empty(), "{:?}", listing(&long));

    // SQLite names its own side files (`Q-journal`): 247 bytes, not 248.
    let q = env.path(&"d".repeat(247));
    env.cq()
        .env("CQ_QUEUE", format!("sqlite:{}", q.display()))
        .args(["push", "-n", "a", "--exit-code", "0"])
        .assert()
        .success();
    let out = env
        .cq()
        .env(
            "CQ_QUEUE",
            format!("sqlite:{}", env.path(&"d".repeat(248)).display()),
        )
        .args(["push", "-n", "a", "--exit-code", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));

    // A path so long that `Q.running/.ID.tmp` would pass PATH_MAX (4095).
    let mut deep = env.path("deep");
    while deep.as_os_str().len() < 3900 {
        deep.push("p".repeat(200));
    }
    std::fs::create_dir_all(&deep).unwrap();
    let fill = |len: usize| {
        let name = "x".repeat(len - deep.as_os_str().len() - 1);
        deep.join(name)
    };
    let ok = fill(4045);
    env.cq()
        .env("CQ_QUEUE", &ok)
        .args(["wrap", "--", "true"])
        .assert()
        .success();
    assert_eq!(records_in(&ok).len(), 1);
    let out = env
        .cq()
        .env("CQ_QUEUE", fill(4046))
        .args(["push", "-n", "a", "--exit-code", "0"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("queue path too long"), "{err}");
}

// ---- 2. paths that are not UTF-8 ------------------------------------------

#[test]
fn paths_that_are_not_utf8_are_refused_not_changed() {
    let env = Env::new();
    let bad = env.dir.path().join(OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(&bad).unwrap();
    let marker = env.path("ran");
    // -o DIR and $CQ_OUTPUT_DIR: a usage error, like a name's bad bytes.
    let out = env
        .cq()
        .args(["push", "-n", "a", "--exit-code", "0", "-o"])
        .arg(&bad)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not valid UTF-8") && err.contains("\\xE9"),
        "{err}"
    );
    env.cq()
        .args(["wrap", "-o"])
        .arg(&bad)
        .args(["--", "touch"])
        .arg(&marker)
        .assert()
        .code(2);
    env.cq()
        .env("CQ_OUTPUT_DIR", &bad)
        .args(["push", "-n", "a", "--exit-code", "0"])
        .assert()
        .code(2);
    // The working directory: push fails, wrap does not start CMD.
    env.cq()
        .current_dir(&bad)
        .args(["push", "-n", "a", "--exit-code", "0"])
        .assert()
        .code(1);
    let out = env
        .cq()
        .current_dir(&bad)
        .args(["wrap", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("working directory"), "{err}");
    assert!(!marker.exists(), "CMD ran");
    assert!(!env.queue.exists(), "the queue changed");
    // A UTF-8 directory is stored as it is.
    let good = env.path("caf\u{e9}");
    std::fs::create_dir_all(&good).unwrap();
    env.cq()
        .current_dir(&good)
        .args(["push", "-n", "a", "--exit-code", "0"])
        .assert()
        .success();
    let r = &env.records()[0];
    assert_eq!(r["cwd"].as_str(), good.to_str());
    assert_eq!(r["output_dir"].as_str(), good.to_str());
    assert!(Path::new(r["output_dir"].as_str().unwrap()).is_dir());
}

// ---- 3. an empty command ---------------------------------------------------

#[test]
fn every_job_has_a_name_that_wait_can_ask_for() {
    let env = Env::new();
    let out = env.cq().args(["wrap", "--", ""]).output().unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--name"), "{err}");
    assert!(!env.queue.exists(), "the queue changed");
    // Named, it runs as a shell would run it: not found, and recorded.
    env.cq()
        .args(["wrap", "-n", "e", "--", ""])
        .assert()
        .code(127);
    // A command without a base name is its own name.
    env.cq().args(["wrap", "--", "/"]).assert().code(126);
    let names: Vec<String> = env
        .records()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["e", "/"]);
    for (n, code) in [("e", 127), ("/", 126)] {
        let out = env
            .cq()
            .args(["wait", n, "--timeout", "5s", "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr_of(&out));
        assert_eq!(
            parse_lines(&String::from_utf8_lossy(&out.stdout))[0]["name"],
            n
        );
    }
}

// ---- 4. typos of a scheme --------------------------------------------------

#[test]
fn a_scheme_with_a_typo_is_a_usage_error_and_creates_nothing() {
    let env = Env::new();
    let work = env.path("work");
    std::fs::create_dir_all(&work).unwrap();
    for (q, hint) in [
        ("SQLITE:/tmp/x.db", "did you mean sqlite:"),
        ("Sqlite:q.db", "did you mean sqlite:"),
        ("kafka:/h:9092/t", "did you mean kafka://"),
        ("redis:localhost", "did you mean redis://"),
        ("FILE:q.jsonl", "did you mean file:"),
        ("ftp:/h/q", "./NAME or file:NAME"),
    ] {
        for args in [
            &["push", "-n", "a", "--exit-code", "0"][..],
            &["wrap", "--", "true"],
        ] {
            let out = env
                .cq()
                .env("CQ_QUEUE", q)
                .current_dir(&work)
                .args(args)
                .output()
                .unwrap();
            let err = stderr_of(&out);
            assert_eq!(out.status.code(), Some(2), "{q} {args:?}: {err}");
            assert!(
                err.contains("unknown queue scheme") && err.contains(hint),
                "{q}: {err}"
            );
        }
    }
    assert!(listing(&work).is_empty(), "{:?}", listing(&work));
    // A file whose name holds a colon, said so.
    for q in ["./notes:q.jsonl", "file:other:q.jsonl"] {
        env.cq()
            .env("CQ_QUEUE", q)
            .current_dir(&work)
            .args(["push", "-n", "a", "--exit-code", "0"])
            .assert()
            .success();
    }
    assert!(work.join("notes:q.jsonl").is_file() && work.join("other:q.jsonl").is_file());
}

// ---- 5. junk among the running jobs ----------------------------------------

#[test]
fn what_is_not_a_running_job_is_named_once_and_skipped() {
    let env = Env::new();
    env.push("a", 0);
    let running = env.path("state/queue.jsonl.running");
    std::fs::create_dir_all(running.join("sub")).unwrap();
    let big = std::fs::File::create(running.join("big")).unwrap();
    big.set_len(1 << 30).unwrap();
    std::fs::write(running.join("notes.txt"), "hello").unwrap();
    std::fs::write(running.join("junk.json"), "{not json").unwrap();
    // cq's own file in flight is not junk.
    std::fs::write(
        running.join(".0190f6c2-0000-7000-8000-000000000000.tmp"),
        "{",
    )
    .unwrap();
    let junk = ["big", "notes.txt", "junk.json", "sub"];
    let out = env.cq().args(["list", "--running"]).output().unwrap();
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    for j in junk {
        let n = err
            .lines()
            .filter(|l| l.contains(&format!("running/{j}:")))
            .count();
        assert_eq!(n, 1, "{j}: {err}");
    }
    assert!(!err.contains(".0190f6c2"), "{err}");
    assert_eq!(err.lines().count(), junk.len(), "{err}");
    // A waiter reads them at every wake, and says each once.
    let waiter = env
        .cq_std()
        .args(["wait", "never", "--timeout", "3s"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for i in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        env.push(&format!("wake{i}"), 0);
    }
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(124));
    let err = stderr_of(&out);
    assert_eq!(err.matches("running/big:").count(), 1, "{err}");
    assert!(running.join("big").exists(), "junk is not cq's to remove");
}

#[test]
fn a_running_entry_that_is_not_a_job_is_named_once_on_sqlite_and_redis() {
    for tier in [Tier::Sqlite, Tier::Redis] {
        if tier == Tier::Redis && !(have("redis-server") && have("redis-cli")) {
            skip(
                "a_running_entry_that_is_not_a_job (redis)",
                "no redis-server",
            );
            continue;
        }
        let env = Env::tier(tier);
        env.push("a", 0);
        let planted = match tier {
            Tier::Sqlite => Command::new("sqlite3")
                .arg(&env.queue)
                .arg("INSERT INTO running (id, job) VALUES ('junk', '{not a job')")
                .status()
                .unwrap(),
            _ => Command::new("redis-cli")
                .args(["-p", &env.redis.as_ref().unwrap().port.to_string()])
                .args([
                    "HSET",
                    &format!("{}:running", stream_of(&env)),
                    "junk",
                    "{not a job",
                ])
                .stdout(Stdio::null())
                .status()
                .unwrap(),
        };
        assert!(planted.success());
        let out = env.cq().args(["list", "--running"]).output().unwrap();
        let err = stderr_of(&out);
        assert!(out.status.success(), "{tier:?}: {err}");
        assert_eq!(
            err.matches("a running job that is not one").count(),
            1,
            "{tier:?}: {err}"
        );
    }
}

// ---- 6. a dangling symlink as the queue ------------------------------------

#[test]
fn a_dangling_symlink_queue_is_created_as_append_would() {
    let env = Env::new();
    let d = env.path("links");
    std::fs::create_dir_all(d.join("target")).unwrap();
    std::os::unix::fs::symlink("target/q.jsonl", d.join("q")).unwrap();
    let out = env
        .cq()
        .env("CQ_QUEUE", d.join("q"))
        .args(["push", "-n", "a", "--exit-code", "0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(records_in(&d.join("target/q.jsonl")).len(), 1);
    assert!(
        std::fs::symlink_metadata(d.join("q"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Side files belong to the target, beside it.
    assert_eq!(listing(&d), ["q", "target"]);
    assert_eq!(listing(&d.join("target")), ["q.jsonl", "q.jsonl.lock"]);
    env.cq()
        .env("CQ_QUEUE", d.join("q"))
        .args(["wrap", "--", "true"])
        .assert()
        .success();
    assert_eq!(records_in(&d.join("target/q.jsonl")).len(), 2);

    // A link whose target's directory is missing: made, 0700, as any queue's.
    std::os::unix::fs::symlink("made/q.jsonl", d.join("q2")).unwrap();
    env.cq()
        .env("CQ_QUEUE", d.join("q2"))
        .args(["push", "-n", "a", "--exit-code", "0"])
        .assert()
        .success();
    assert_eq!(records_in(&d.join("made/q.jsonl")).len(), 1);

    // A loop: refused with one line, and nothing left beside it.
    std::os::unix::fs::symlink("l2", d.join("l1")).unwrap();
    std::os::unix::fs::symlink("l1", d.join("l2")).unwrap();
    let before = listing(&d);
    let out = env
        .cq()
        .env("CQ_QUEUE", d.join("l1"))
        .args(["push", "-n", "a", "--exit-code", "0"])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("symbolic links"), "{err}");
    assert_eq!(listing(&d), before);
}

// ---- 7. a lock the caller holds; a signal while appending ------------------

#[test]
fn a_lock_held_through_an_inherited_descriptor_is_said_not_waited_for() {
    let env = Env::new();
    if !have("flock") {
        return skip("a_lock_held_through_an_inherited_descriptor", "no flock(1)");
    }
    env.push("a", 0);
    let lock = env.path("state/queue.jsonl.lock");
    let t = Instant::now();
    let out = Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-c",
            // Bounded: the wrapper once waited here forever.
            "exec 9>>\"$1\"; flock 9; timeout -s KILL 20 \"$2\" wrap -- sh -c 'exit 3'; echo \"wrap=$?\"; timeout -s KILL 20 \"$2\" pull; echo \"pull=$?\"",
            "-",
        ])
        .arg(&lock)
        .arg(common::CQ)
        .env("CQ_QUEUE", &env.queue)
        .env("XDG_STATE_HOME", env.path("xdg"))
        .env_remove("CQ_NAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let (so, err) = (String::from_utf8_lossy(&out.stdout), stderr_of(&out));
    assert!(t.elapsed() < Duration::from_secs(8), "waited: {so} {err}");
    // CMD's status kept; the record on stderr; the job left running, so
    // a reader records it as lost once the lock is free.
    assert!(so.contains("wrap=3"), "{so} {err}");
    assert!(so.contains("pull=1"), "{so} {err}");
    assert!(
        err.contains("file descriptor 9") && err.contains("inherited"),
        "{err}"
    );
    assert!(err.contains("unsaved record"), "{err}");
    let running = env.path("state/queue.jsonl.running");
    assert_eq!(listing(&running).len(), 1);
    let listed = env.listed();
    assert!(listed.iter().any(|r| r["lost"] == true), "{listed:?}");
}

/// `flock -o LOCK sleep 60`: holds the queue's lock until dropped.
struct Holder(std::process::Child);

impl Holder {
    /// Returns once the lock is held.
    fn start(env: &Env) -> Holder {
        let lock = env.path("state/queue.jsonl.lock");
        std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
        // -o: the sleep does not hold the lock; flock(1) does, until it
        // ends with its sleep.
        let holder = Holder(
            Command::new("flock")
                .arg("-o")
                .arg(&lock)
                .args(["sleep", "60"])
                .spawn()
                .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let st = Command::new("flock")
                .args(["-n", "-s"])
                .arg(&lock)
                .arg("true")
                .status()
                .unwrap();
            if !st.success() {
                return holder;
            }
            assert!(Instant::now() < deadline, "the holder never took the lock");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // Our own processes, by pid: the sleep, then flock(1).
        common::kill_all(&common::children_of(self.0.id()));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_signal_ends_a_wrapper_blocked_on_its_append_within_a_second() {
    use std::os::unix::process::ExitStatusExt;
    let env = Env::new();
    if !have("flock") {
        return skip(
            "a_signal_ends_a_wrapper_blocked_on_its_append",
            "no flock(1)",
        );
    }
    env.push("a", 0);
    let holder = Holder::start(&env);
    let running = env.path("state/queue.jsonl.running");
    // SIGTERM and SIGINT alone; then SIGTERM and another at once.
    for (signals, within) in [
        (&[15][..], Duration::from_millis(2500)),
        (&[2][..], Duration::from_millis(2500)),
        (&[15, 2][..], Duration::from_millis(700)),
    ] {
        let jobs_before = listing(&running).len();
        let mut w = env
            .cq_std()
            .args(["wrap", "--", "true"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // CMD is done at once; the wrapper then waits for the lock.
        std::thread::sleep(Duration::from_millis(400));
        assert!(w.try_wait().unwrap().is_none(), "did not wait for the lock");
        let t = Instant::now();
        for s in signals {
            rustix::process::kill_process(
                rustix::process::Pid::from_raw(w.id() as i32).unwrap(),
                rustix::process::Signal::from_named_raw(*s).unwrap(),
            )
            .unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = loop {
            if let Some(s) = w.try_wait().unwrap() {
                break s;
            }
            if t.elapsed() > Duration::from_secs(10) {
                let _ = w.kill();
                let _ = w.wait();
                panic!("{signals:?}: the wrapper swallowed the signal");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = t.elapsed();
        let mut err = String::new();
        std::io::Read::read_to_string(w.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(!err.contains("panicked"), "{err}");
        assert!(took < within, "{signals:?}: took {took:?}");
        // It dies of the first signal, as an interrupted process does.
        assert_eq!(status.signal(), Some(signals[0]), "{signals:?}: {err}");
        assert!(err.contains("unsaved record: {"), "{err}");
        assert_eq!(listing(&running).len(), jobs_before + 1, "{err}");
    }
    drop(holder);
    // The lock is free: each of the three jobs is recorded lost, once.
    let listed = env.listed();
    let lost = listed.iter().filter(|r| r["lost"] == true).count();
    assert_eq!(lost, 3, "{listed:?}");
}

#[test]
fn a_signal_after_cmd_ended_is_obeyed_once_the_record_is_saved() {
    use std::os::unix::process::ExitStatusExt;
    let env = Env::new();
    if !have("flock") {
        return skip("a_signal_after_cmd_ended_is_obeyed", "no flock(1)");
    }
    env.push("a", 0);
    let holder = Holder::start(&env);
    let mut w = env
        .cq_std()
        .args(["wrap", "--", "true"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let pid = rustix::process::Pid::from_raw(w.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    // The lock comes free inside the second of grace: the record is saved,
    // and then the wrapper dies of the signal all the same.
    std::thread::sleep(Duration::from_millis(200));
    drop(holder);
    let status = w.wait().unwrap();
    assert_eq!(status.signal(), Some(15));
    let recs = env.records();
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[1]["name"], "true");
    assert!(listing(&env.path("state/queue.jsonl.running")).is_empty());
}

/// A networked queue that goes away after CMD started: the wrapper's
/// append retries for `CQ_APPEND_RETRY` (here 60 s), and a SIGTERM ends it
/// within about a second, the record on stderr.
fn a_signal_ends_a_wrapper_retrying_its_append(tier: Tier) {
    use std::os::unix::process::ExitStatusExt;
    let mut env = Env::tier(tier);
    env.push("a", 0);
    let mut w = env
        .cq_std()
        .env("CQ_APPEND_RETRY", "60s")
        .args(["wrap", "--", "sleep", "1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    match tier {
        Tier::Redis => env.redis.as_mut().unwrap().stop(),
        _ => env.kafka.as_mut().unwrap().stop(),
    }
    // CMD ends at 1 s; the append then fails and is tried again.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(w.try_wait().unwrap().is_none(), "{tier:?}: did not retry");
    let t = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(w.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = loop {
        if let Some(s) = w.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = w.kill();
            let _ = w.wait();
            panic!("{tier:?}: the wrapper swallowed SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = t.elapsed();
    let mut err = String::new();
    std::io::Read::read_to_string(w.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        took < Duration::from_millis(2500),
        "{tier:?}: took {took:?}: {err}"
    );
    assert_eq!(status.signal(), Some(15), "{tier:?}: {err}");
    assert!(err.contains("unsaved record: {"), "{tier:?}: {err}");
}

#[test]
fn a_signal_ends_a_wrapper_retrying_its_append_to_redis() {
    if !have("redis-server") {
        return skip(
            "a_signal_ends_a_wrapper_retrying_its_append_to_redis",
            "no redis-server",
        );
    }
    a_signal_ends_a_wrapper_retrying_its_append(Tier::Redis);
}

#[cfg(feature = "kafka")]
#[test]
fn a_signal_ends_a_wrapper_retrying_its_append_to_kafka() {
    if !have("tansu") {
        return skip(
            "a_signal_ends_a_wrapper_retrying_its_append_to_kafka",
            "tansu (a Kafka-protocol broker) is not installed",
        );
    }
    a_signal_ends_a_wrapper_retrying_its_append(Tier::Kafka);
}

// ---- 8. writers no record names --------------------------------------------

#[test]
fn stats_counts_only_the_writers_records_name() {
    let env = Env::new();
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    // The Phase G block's records: no pid, no host.
    let legacy: String = (0..3)
        .map(|i| {
            format!("{{\"name\":\"g{i}\",\"completed_at\":\"2026-04-07T17:58:52Z\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":false}}\n")
        })
        .collect();
    std::fs::write(&env.queue, legacy).unwrap();
    env.push("a", 0);
    env.push("b", 0);
    let out = env.cq().args(["stats", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["writers"], 2, "{v}");
    assert_eq!(v["unattributed"], 3, "{v}");
    assert_eq!(v["hosts"], 1, "{v}");
    let out = env.cq().arg("stats").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("writers     2 (pid@host), 1 host; 3 record(s) name no writer"),
        "{text}"
    );
    // Only legacy records: no writer at all.
    std::fs::write(
        &env.queue,
        "{\"name\":\"g\",\"status\":\"success\",\"pulled\":false}\n",
    )
    .unwrap();
    let out = env.cq().args(["stats", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["writers"], 0, "{v}");
}

// ---- the matrix: every class's hostile inputs, on every command ------------

/// Each class's inputs against the commands that read or write a queue:
/// one line on stderr at most per refusal, an exit code cq documents, and
/// never a panic.
#[test]
fn no_edge_reaches_a_panic() {
    let env = Env::new();
    env.push("a", 0);
    let bad_dir = env.dir.path().join(OsStr::from_bytes(b"b\xffd"));
    std::fs::create_dir_all(&bad_dir).unwrap();
    std::os::unix::fs::symlink("nowhere/q", env.path("dangling")).unwrap();
    let long: PathBuf = env.path(&"n".repeat(255));
    let queues: Vec<std::ffi::OsString> = vec![
        long.into_os_string(),
        env.path(&"n".repeat(300)).into_os_string(),
        "SQLITE:/x.db".into(),
        "kafka:/h:9092/t".into(),
        "sqlite3:q.db".into(),
        "a:".into(),
        ":".into(),
        "-:x".into(),
        env.path("dangling").into_os_string(),
    ];
    let commands: &[&[&str]] = &[
        &["push", "-n", "a", "--exit-code", "0"],
        &["wrap", "--", "true"],
        &["wrap", "--", ""],
        &["pull"],
        &["list", "--running"],
        &["compact"],
        &["stats"],
        &["wait", "a", "--timeout", "1s"],
        &["ack", "x"],
    ];
    for q in &queues {
        for args in commands {
            let out = env
                .cq()
                .env("CQ_QUEUE", q)
                .args(*args)
                .timeout(Duration::from_secs(20))
                .output()
                .unwrap();
            let err = stderr_of(&out);
            let code = out.status.code().expect("killed by a signal");
            assert!(
                [0, 1, 2, 124, 125, 126, 127].contains(&code),
                "{q:?} {args:?}: {code} {err}"
            );
        }
    }
    for args in commands {
        let out = env
            .cq()
            .current_dir(&bad_dir)
            .args(*args)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        stderr_of(&out);
        assert!(out.status.code().is_some());
    }
}

/// The Redis stream of `env`'s queue (each test has its own).
fn stream_of(env: &Env) -> String {
    env.location
        .split("stream=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .unwrap_or("cq")
        .to_string()
}
