//! Hostile inputs to the newest features (issue 30, and issue 28's class
//! 9): a detached job's descriptors, log and failed registration; `cq meta`
//! under many updates, late calls and its channel's privacy; `push --batch`
//! with bytes that are not UTF-8, lines no reader could read and records
//! that contradict themselves; brief and table output with Unicode line
//! separators and format characters. Each case runs on every tier where
//! its feature exists, through `tiered!` as in tiers.rs.

#[macro_use]
mod common;

use common::{CQ, Env, Tier, names, parse_lines, stdout_of};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The same, without Kafka: for faults only the other tiers can stage.
macro_rules! tiered_but_kafka {
    ($($test:ident),* $(,)?) => {
        mod but_kafka {
            mod jsonl {
                $( #[test] fn $test() { super::super::$test(super::super::Tier::Jsonl) } )*
            }
            mod sqlite {
                $( #[test] fn $test() { super::super::$test(super::super::Tier::Sqlite) } )*
            }
            mod redis {
                $( #[test] fn $test() {
                    if !crate::common::have("redis-server") {
                        return crate::common::skip(stringify!($test), "redis-server is not installed");
                    }
                    super::super::$test(super::super::Tier::Redis)
                } )*
            }
        }
    };
}

tiered_but_kafka!(a_failed_registration_leaves_nothing_behind);

tiered!(
    a_detached_job_holds_only_its_own_descriptors,
    a_detached_jobs_log_is_private_never_blocks_and_gets_its_directory,
    push_batch_skips_each_bad_line_and_keeps_the_rest,
    what_no_reader_could_deliver_is_refused_at_the_door,
    cq_meta_bounds_what_is_kept_not_the_calls,
    cq_meta_is_private_and_refuses_a_late_call,
    brief_and_table_output_escape_separators_and_format_characters,
);

/// Waits up to `secs` for `f` to hold.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A shell command line word, single-quoted.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The open descriptors of a process, by number.
fn fds_of(pid: i32) -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort();
    fds
}

/// Ends a detached job of the test's own (by its pid) and waits for its
/// record, so that nothing outlives the test.
fn end_job(env: &Env, pid: i32, id: &str) {
    // SAFETY: kill has no memory-safety conditions; the job is ours.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let out = env
        .cq()
        .args(["wait", "--timeout", "20s", "--json", id])
        .output()
        .unwrap();
    let recs = parse_lines(&stdout_of(&out));
    assert_eq!(recs.len(), 1, "{out:?}");
    assert_eq!(recs[0]["signal"], "SIGTERM", "{recs:?}");
}

/// Class 1: a caller that holds other descriptors (here fd 7, a copy of
/// the pipe its own caller reads to EOF, as an agent's tool runner does)
/// gets EOF as soon as `cq wrap -d` returns, not when the job ends; the
/// job holds 0, 1 and 2 only.
fn a_detached_job_holds_only_its_own_descriptors(tier: Tier) {
    let env = Env::tier(tier);
    let pidfile = env.path("job.pid");
    let script = format!(
        "exec 7>&1 8</dev/null; {} wrap -d -n fds -- sh -c {}",
        quoted(CQ),
        quoted(&format!(
            "echo $$ > {}; exec sleep 30",
            quoted(pidfile.to_str().unwrap())
        ))
    );
    let started = Instant::now();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(&script)
        .env("CQ_QUEUE", &env.location)
        .env("XDG_STATE_HOME", env.path("xdg-state"))
        .env("TMPDIR", env.dir.path())
        .env_remove("CQ_NAME")
        .env_remove("CQ_META_FILE")
        .current_dir(env.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut sh = sh.spawn().unwrap();
    let mut out = sh.stdout.take().unwrap();
    // Read to EOF on a thread: the deadline is ours, not the pipe's.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let text = rx.recv_timeout(Duration::from_secs(20));
    let eof_after = started.elapsed();
    assert!(sh.wait().unwrap().success());
    eventually(10, "the job wrote its pid", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
    });
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eventually(10, "the job is sleep", || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c == "sleep\n")
    });
    let held = fds_of(pid);
    let Ok(text) = text else {
        // SAFETY: kill has no memory-safety conditions; the job is ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("the caller's pipe stayed open while the job ran");
    };
    end_job(&env, pid, text.trim());
    assert_eq!(text.trim().len(), 36, "the job id: {text:?}");
    assert!(
        eof_after < Duration::from_secs(10),
        "EOF came after {eof_after:?}, with the job"
    );
    assert_eq!(held, [0, 1, 2], "the job's descriptors");
}

/// Classes 2 and 3, and issue 28's class 9: the log is 0600 whatever the
/// umask; `-o DIR` that does not exist is made (0700) as the log's home; a
/// `--log` that is a FIFO nobody reads is refused at once instead of
/// hanging, with nothing queued or running.
fn a_detached_jobs_log_is_private_never_blocks_and_gets_its_directory(tier: Tier) {
    let env = Env::tier(tier);
    let dir = env.path("out/deeper");
    let run = |args: &[&str]| {
        let line: Vec<String> = args.iter().map(|a| quoted(a)).collect();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask 022; exec {} {}", quoted(CQ), line.join(" ")))
            .env("CQ_QUEUE", &env.location)
            .env("XDG_STATE_HOME", env.path("xdg-state"))
            .env("TMPDIR", env.dir.path())
            .env_remove("CQ_NAME")
            .env_remove("CQ_OUTPUT_DIR")
            .current_dir(env.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cq {args:?} blocked for 15 s");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().unwrap()
    };
    let out = run(&[
        "wrap",
        "-d",
        "-n",
        "private",
        "-o",
        dir.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "echo secret",
    ]);
    assert!(out.status.success(), "{out:?}");
    let id = stdout_of(&out).trim().to_string();
    env.cq()
        .args(["wait", "--timeout", "20s", &id])
        .assert()
        .success();
    let log = dir.join(format!("private.{id}.log"));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "secret\n");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o600, "the log under umask 022");
    assert_eq!(mode(&dir), 0o700, "the output directory made for the log");
    assert_eq!(mode(&env.path("out")), 0o700);
    // An explicit --log is private too.
    let mine = env.path("mine.log");
    let out = run(&["wrap", "-d", "--log", mine.to_str().unwrap(), "--", "true"]);
    assert!(out.status.success(), "{out:?}");
    env.cq()
        .args(["wait", "--timeout", "20s", stdout_of(&out).trim()])
        .assert()
        .success();
    assert_eq!(mode(&mine), 0o600);

    let fifo = env.path("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let before = env.listed().len();
    let started = Instant::now();
    let out = run(&["wrap", "-d", "--log", fifo.to_str().unwrap(), "--", "true"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("cq: cannot open the log")
            && err.contains("FIFO")
            && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(env.listed().len(), before, "nothing queued");
    let running = env
        .cq()
        .args(["list", "--running", "--count"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&running), "0\n");
    // With a reader, the FIFO is the job's output, as a blocking
    // descriptor (O_NONBLOCK, 04000, was only for the open).
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let out = run(&[
        "wrap",
        "-d",
        "--log",
        fifo.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "grep ^flags: /proc/self/fdinfo/1",
    ]);
    assert!(out.status.success(), "{out:?}");
    env.cq()
        .args(["wait", "--timeout", "20s", stdout_of(&out).trim()])
        .assert()
        .success();
    let mut said = Vec::new();
    let _ = reader.read_to_end(&mut said);
    let said = String::from_utf8_lossy(&said);
    let flags = said
        .trim()
        .strip_prefix("flags:")
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .unwrap_or_else(|| panic!("{said:?}"));
    assert_eq!(
        flags & 0o4000,
        0,
        "O_NONBLOCK left on the job's stdout: {flags:o}"
    );
}

/// Class 10: a registration that fails (a full disk under the file tiers,
/// a Redis out of memory) leaves no temp file, no empty log, and no output
/// directory made for the log. (A Kafka broker cannot be made to refuse
/// the registration's produce while it accepts the check before it; the
/// cleanup is the same code on every tier.)
fn a_failed_registration_leaves_nothing_behind(tier: Tier) {
    let env = Env::tier(tier);
    let mut _fs = None;
    let mut queue_dir = None;
    match tier {
        Tier::Jsonl => {
            let Some(fs) = Tmpfs::mount(&env, "256k") else {
                return common::skip(
                    "a_failed_registration_leaves_nothing_behind",
                    "cannot mount a tmpfs (needs root)",
                );
            };
            let q = fs.0.join("q.jsonl").display().to_string();
            // The queue exists, then the disk fills up.
            env.cq()
                .env("CQ_QUEUE", &q)
                .args(["push", "-n", "first", "-e", "0"])
                .assert()
                .success();
            let _ = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "cat /dev/zero > {} 2>/dev/null",
                    fs.0.join("fill").display()
                ))
                .status();
            queue_dir = Some((fs.0.clone(), q));
            _fs = Some(fs);
        }
        Tier::Sqlite => {
            // A full disk fails SQLite's own check before anything starts;
            // a trigger fails the registration alone, as a disk filling
            // in between would.
            if !common::have("sqlite3") {
                return common::skip(
                    "a_failed_registration_leaves_nothing_behind",
                    "sqlite3 is not installed",
                );
            }
            env.push("first", 0);
            let st = std::process::Command::new("sqlite3")
                .arg(&env.queue)
                .arg(
                    "CREATE TRIGGER full BEFORE INSERT ON running \
                     BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
                )
                .status()
                .unwrap();
            assert!(st.success());
        }
        Tier::Redis => {
            let port = env.redis.as_ref().unwrap().port;
            redis_command(port, "CONFIG SET maxmemory 1");
        }
        Tier::Kafka => unreachable!("not staged on Kafka"),
    }
    let location = queue_dir
        .as_ref()
        .map_or(env.location.clone(), |(_, q)| q.clone());
    let logs = env.path("logs");
    std::fs::create_dir(&logs).unwrap();
    let marker = env.path("ran");
    // Into a directory that exists, then one made for the log.
    for out_dir in [logs.clone(), logs.join("new/deeper")] {
        let out = env
            .cq()
            .env("CQ_QUEUE", &location)
            .args(["wrap", "-d", "-n", "nospace", "-o"])
            .arg(&out_dir)
            .args(["--", "touch"])
            .arg(&marker)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("cq: ") && err.lines().count() == 1, "{err}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!marker.exists(), "CMD did not run");
        let left: Vec<_> = walk(&logs);
        assert!(
            left.is_empty(),
            "no log, no directory made for it: {left:?}"
        );
    }
    if let Some((dir, _)) = &queue_dir {
        let mut left = Vec::new();
        for e in walk(dir) {
            let name = e.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                left.push(e);
            }
        }
        assert!(left.is_empty(), "{left:?}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// One inline command to a Redis of the test's own; panics unless `+OK`.
fn redis_command(port: u16, cmd: &str) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"+OK\r\n");
}

/// A small tmpfs, unmounted when dropped (also when the test fails).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(env: &Env, size: &str) -> Option<Tmpfs> {
        let dir = env.path("mnt");
        std::fs::create_dir_all(&dir).unwrap();
        let st = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        st.success().then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// `cq push --batch` reading the file `input`: its exit code, stderr and
/// peak RSS (KiB), as GNU time reports it. Not from this process's own
/// wait4: a child forked from the test binary keeps the binary's
/// high-water mark across exec, and other tests running beside this one
/// (in threads of the same process) make that large. `time` is small, and
/// its child is forked from it.
fn batch(env: &Env, input: &std::path::Path) -> (Option<i32>, String, i64) {
    let cq = env.cq_std();
    let rss_file = env.path("batch.rss");
    let mut c = std::process::Command::new("/usr/bin/time");
    c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(CQ);
    for (k, v) in cq.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(d) = cq.get_current_dir() {
        c.current_dir(d);
    }
    let out = c
        .args(["push", "--batch"])
        .stdin(std::fs::File::open(input).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code();
    assert!(code.is_some(), "cq died of a signal: {err}");
    let rss = std::fs::read_to_string(&rss_file)
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("GNU time's report");
    (code, err, rss)
}

/// Classes 4, 5 and 9 through `push --batch`: a line that is not UTF-8, a
/// line of 100 MB, a name or output directory past its bound, and an exit
/// code that contradicts its status are each named by line number and
/// skipped; every good line, before and after them, is kept; the memory
/// stays bounded.
fn push_batch_skips_each_bad_line_and_keeps_the_rest(tier: Tier) {
    let env = Env::tier(tier);
    use std::io::Write;
    let path = env.path("input");
    let mut input = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    input.write_all(b"one 0\n").unwrap();
    input.write_all(b"bad\xff\xfe 0\n").unwrap();
    input.write_all(b"two 1\n").unwrap();
    input
        .write_all(b"{\"name\":\"liar\",\"exit_code\":0,\"status\":\"failure\"}\n")
        .unwrap();
    input
        .write_all(b"{\"name\":\"three\",\"exit_code\":0,\"status\":\"success\"}\n")
        .unwrap();
    // 100 MB of name, written a MiB at a time.
    input.write_all(b"{\"name\":\"").unwrap();
    let mib = vec![b'x'; 1 << 20];
    for _ in 0..100 {
        input.write_all(&mib).unwrap();
    }
    input.write_all(b"\",\"exit_code\":0}\n").unwrap();
    let long_name = format!(
        "{{\"name\":\"{}\",\"exit_code\":0}}\n",
        "\\u0001".repeat(30 << 10)
    );
    input.write_all(long_name.as_bytes()).unwrap();
    let long_dir = format!(
        "{{\"name\":\"d\",\"exit_code\":0,\"output_dir\":\"/{}\"}}\n",
        "d".repeat(100 << 10)
    );
    input.write_all(long_dir.as_bytes()).unwrap();
    let fine = format!("{} 0\n", "y".repeat(100 << 10));
    input.write_all(fine.as_bytes()).unwrap();
    input.write_all(b"four 0").unwrap();
    input.flush().unwrap();
    drop(input);
    let (code, err, rss) = batch(&env, &path);
    assert_eq!(code, Some(1), "{err}");
    let said: Vec<&str> = err.lines().collect();
    assert_eq!(said.len(), 5, "{err}");
    for (line, what) in [
        (2, "not UTF-8"),
        (4, "contradict"),
        (6, "longer than"),
        (7, "the job name takes"),
        (8, "the output directory takes"),
    ] {
        assert!(
            said.iter().any(
                |l| l.starts_with(&format!("cq: standard input line {line}: "))
                    && l.contains(what)
                    && l.ends_with("; skipped")
            ),
            "line {line}: {what}: {err}"
        );
    }
    eprintln!("push --batch: peak RSS {rss} KiB with a 100 MB line");
    assert!(rss < 64 << 10, "peak RSS {rss} KiB for a 100 MB line");
    let recs = env.listed();
    let y = "y".repeat(100 << 10);
    assert_eq!(
        names(&recs),
        ["one", "two", "three", y.as_str(), "four"],
        "every good line, in order"
    );
    assert_eq!(recs[2]["status"], "success");
    // What was accepted is delivered, every byte of it.
    let out = env.cq().args(["pull", "--json"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert_eq!(parse_lines(&stdout_of(&out)).len(), 5);
}

/// Class 5 at the other doors: a name or output directory that would not
/// fit the 512 KiB every reader reads is refused by `push` and `wrap`
/// (exit 2, nothing run, nothing queued); a 100 KiB name of plain text
/// is kept whole and delivered.
fn what_no_reader_could_deliver_is_refused_at_the_door(tier: Tier) {
    let env = Env::tier(tier);
    // 100 KiB of control characters: 600 KiB escaped.
    let controls = "\u{1}".repeat(100 << 10);
    let marker = env.path("ran");
    env.cq()
        .args(["push", "-n", &controls, "-e", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("the job name takes"));
    env.cq()
        .args(["push", "-n", "x", "-e", "0", "-o"])
        .arg(format!("/{controls}"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("the output directory takes"));
    for detach in [false, true] {
        let mut c = env.cq();
        c.args(["wrap", "-n", &controls]);
        if detach {
            c.arg("-d");
        }
        c.arg("--").arg("touch").arg(&marker);
        c.assert()
            .code(2)
            .stderr(predicates::str::contains("the job name takes"));
    }
    assert!(!marker.exists(), "CMD did not run");
    assert!(env.listed().is_empty(), "nothing queued");
    let plain = "p".repeat(100 << 10);
    env.cq()
        .args(["push", "-n", &plain, "-e", "0"])
        .assert()
        .success();
    env.cq()
        .args(["wrap", "-n", &plain, "--", "true"])
        .assert()
        .success();
    let out = env.cq().args(["pull", "--json"]).output().unwrap();
    assert!(out.stderr.is_empty(), "{out:?}");
    let recs = parse_lines(&stdout_of(&out));
    assert_eq!(names(&recs), [plain.as_str(), plain.as_str()]);
    for r in &recs {
        assert!(r.get("truncated").is_none(), "{r:?}");
    }
}

/// Class 6: `cq meta`'s 64 KiB bound is on the pairs kept. One 4 KB key
/// updated 20 times, a 1 KB progress key updated 200 times (the file is
/// rewritten as it grows), and four children updating keys of their own
/// at once: every call succeeds and the record holds each key's last
/// value; new keys past the bound are still refused.
fn cq_meta_bounds_what_is_kept_not_the_calls(tier: Tier) {
    let env = Env::tier(tier);
    let script = format!(
        "big=$(head -c 4000 /dev/zero | tr '\\0' b); k=$(head -c 1000 /dev/zero | tr '\\0' p); \
         fails=0; \
         for i in $(seq 1 20); do {cq} meta big=$i$big || fails=$((fails+1)); done; \
         for i in $(seq 1 200); do {cq} meta progress=$i$k || fails=$((fails+1)); done; \
         for c in a b c d; do \
           (for i in $(seq 1 40); do {cq} meta $c=$i$k || echo x >> failed; done) & \
         done; wait; \
         [ -e failed ] && fails=$((fails+1)); \
         n=0; for i in $(seq 1 20); do {cq} meta n$i=$big 2>>err || n=$((n+1)); done; \
         echo $fails $n > counts",
        cq = quoted(CQ)
    );
    env.cq()
        .args(["wrap", "-n", "progress", "--", "sh", "-c", &script])
        .assert()
        .success();
    let counts = std::fs::read_to_string(env.path("counts")).unwrap();
    let k = "p".repeat(1000);
    // 9,065 bytes kept (4 KB + 1 KB + 4 x 1 KB): 14 more new 4 KB keys
    // fit in 65,536, 6 do not.
    assert_eq!(counts.trim(), "0 6", "failed updates, refused new keys");
    let err = std::fs::read_to_string(env.path("err")).unwrap();
    assert_eq!(err.lines().count(), 6, "{err}");
    assert!(
        err.lines().all(|l| l.contains("would exceed 65536")),
        "{err}"
    );
    let recs = env.listed();
    assert_eq!(recs.len(), 1);
    let meta = recs[0]["meta"].as_object().unwrap();
    assert_eq!(meta["big"], format!("20{}", "b".repeat(4000)));
    assert_eq!(meta["progress"], format!("200{k}"));
    for c in ["a", "b", "c", "d"] {
        assert_eq!(meta[c], format!("40{k}"), "{c}");
    }
    assert_eq!(meta.len(), 6 + 14, "{:?}", meta.keys().collect::<Vec<_>>());
    assert!(recs[0].get("truncated").is_none());
}

/// Class 7: the job's meta file exists, private, before the job runs, under
/// a name nobody can guess from the job id (so nobody can make it first);
/// a call after the job ended (a background child) fails, saying so.
fn cq_meta_is_private_and_refuses_a_late_call(tier: Tier) {
    let env = Env::tier(tier);
    let script = format!(
        "printf '%s\\n' \"$CQ_META_FILE\" \"$CQ_ID\" > seen; \
         stat -c '%a %u %F' \"$CQ_META_FILE\" >> seen; \
         {cq} meta early=1 || exit 9; \
         (sleep 1; {cq} meta late=1 2> late-err; echo $? > late-status) > /dev/null 2>&1 &",
        cq = quoted(CQ)
    );
    env.cq()
        .args(["wrap", "-n", "m", "--", "sh", "-c", &script])
        .assert()
        .success();
    let seen = std::fs::read_to_string(env.path("seen")).unwrap();
    let seen: Vec<&str> = seen.lines().collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let (path, id) = (seen[0], seen[1]);
    assert!(!path.contains(id), "the job id names the meta file: {path}");
    assert!(
        path.starts_with(env.dir.path().to_str().unwrap()),
        "in TMPDIR: {path}"
    );
    let me = std::fs::metadata(env.dir.path()).unwrap().uid();
    assert_eq!(
        seen[2],
        format!("600 {me} regular empty file"),
        "made before CMD"
    );
    eventually(15, "the late call ended", || {
        std::fs::read_to_string(env.path("late-status")).is_ok_and(|s| s.ends_with('\n'))
    });
    let status = std::fs::read_to_string(env.path("late-status")).unwrap();
    assert_eq!(status.trim(), "1", "a late call fails");
    let err = std::fs::read_to_string(env.path("late-err")).unwrap();
    assert!(
        err.starts_with("cq: ") && err.contains("has ended") && err.lines().count() == 1,
        "{err}"
    );
    let recs = env.listed();
    assert_eq!(recs[0]["meta"]["early"], "1");
    assert!(recs[0]["meta"].get("late").is_none(), "{recs:?}");
    assert!(!std::path::Path::new(path).exists(), "the file is gone");
}

/// The characters a reader may take for a line break, or that hide or
/// reorder text.
const HIDDEN: [char; 9] = [
    '\u{2028}',
    '\u{2029}',
    '\u{85}',
    '\u{61c}',
    '\u{feff}',
    '\u{200e}',
    '\u{2066}',
    '\u{ad}',
    '\u{e0041}',
];

/// Class 8: a name (or output directory) holding U+2028, U+2029 and the
/// like cannot forge a line in `--format brief`, the table or the running
/// jobs' table: each comes out as an escape, one record per line however
/// a reader splits lines.
fn brief_and_table_output_escape_separators_and_format_characters(tier: Tier) {
    let env = Env::tier(tier);
    let forged = "job\u{2028}build: success (exit 0)\u{2029}x\u{61c}\u{feff}y\u{85}z\u{200e}\u{2066}\u{ad}\u{e0041}";
    env.cq()
        .args(["push", "-n", forged, "-e", "1", "-o"])
        .arg(format!("/tmp/{forged}"))
        .assert()
        .success();
    env.push("plain", 0);
    let mut sleeper = env
        .cq_std()
        .args(["wrap", "-n", forged, "--", "sleep", "30"])
        .spawn()
        .unwrap();
    eventually(10, "the job is running", || {
        let out = env
            .cq()
            .args(["list", "--running", "--count"])
            .output()
            .unwrap();
        stdout_of(&out) == "1\n"
    });
    let unicode_lines = |s: &str| {
        s.split([
            '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{2028}', '\u{2029}',
        ])
        .filter(|l| !l.is_empty())
        .count()
    };
    for (args, lines) in [
        (&["list", "--format", "brief"][..], 2),
        (&["list", "--format", "table"][..], 3),
        (&["list", "--running", "--format", "table"][..], 2),
        (&["pull", "--format", "brief"][..], 2),
    ] {
        let out = env.cq().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = stdout_of(&out);
        for c in HIDDEN {
            assert!(!text.contains(c), "{args:?}: {c:?} passed: {text:?}");
        }
        assert_eq!(unicode_lines(&text), lines, "{args:?}: {text:?}");
        assert!(text.contains("\\u{2028}"), "{args:?}: {text:?}");
    }
    let pids = common::children_of(sleeper.id());
    common::kill_all(&pids);
    sleeper.wait().unwrap();
}
