//! Faults and hostile input: a full disk, a read-only file system, and odd
//! or malicious names, files and flags. Each gets a clear error or correct
//! handling; never a panic, never a changed queue. (tests/README.md lists
//! them all.)

mod common;

use common::{Env, names, parse_lines, skip, stdout_of};
use predicates::prelude::*;
use std::path::PathBuf;
use std::process::Command;

/// A small tmpfs, unmounted when dropped (also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(env: &Env, size: &str) -> Option<Tmpfs> {
        let dir = env.path("mnt");
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        st.success().then_some(Tmpfs(dir))
    }

    fn remount_ro(&self) {
        let st = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn no_panic(out: &std::process::Output) {
    no_panic_text(&out.stderr);
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
}

#[test]
fn disk_full_fails_clearly_and_keeps_what_was_written() {
    let env = Env::new();
    let Some(fs) = Tmpfs::mount(&env, "64k") else {
        return skip(
            "disk_full_fails_clearly_and_keeps_what_was_written",
            "cannot mount a tmpfs (needs root)",
        );
    };
    let q = fs.0.join("q.jsonl");
    let pad = "x".repeat(200);
    let mut pushed = 0;
    let err = loop {
        let out = env
            .cq()
            .env("CQ_QUEUE", &q)
            .args(["push", "-n", &format!("job-{pushed}-{pad}"), "-e", "0"])
            .output()
            .unwrap();
        no_panic(&out);
        if !out.status.success() {
            break out;
        }
        pushed += 1;
        assert!(pushed < 10_000, "the disk never filled");
    };
    assert_eq!(err.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&err.stderr);
    assert!(
        msg.starts_with("cq: ")
            && msg.contains("No space left on device")
            && msg.lines().count() == 1,
        "{msg}"
    );
    // Everything acknowledged is there, whole; no half record at the end.
    let text = std::fs::read_to_string(&q).unwrap();
    assert!(text.ends_with('\n'));
    let recs = parse_lines(&text);
    assert_eq!(recs.len(), pushed);
    env.cq()
        .env("CQ_QUEUE", &q)
        .args(["list", "--count"])
        .assert()
        .success()
        .stdout(format!("{pushed}\n"));
    // Pulling needs no new space: it flips bytes in place.
    let out = env
        .cq()
        .env("CQ_QUEUE", &q)
        .args(["pull", "--limit", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(parse_lines(&stdout_of(&out)).len(), 3);

    // A job that fills the disk itself: its status survives, and its record
    // is printed on stderr since it cannot be stored.
    std::fs::remove_file(&q).unwrap();
    let out = env
        .cq()
        .env("CQ_QUEUE", &q)
        .args(["wrap", "-n", "filler", "--", "sh", "-c"])
        .arg(format!(
            "cat /dev/zero > {}/fill 2>/dev/null; exit 3",
            fs.0.display()
        ))
        .output()
        .unwrap();
    no_panic(&out);
    assert_eq!(out.status.code(), Some(3));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(msg.contains("No space left on device"), "{msg}");
    let unsaved = msg
        .lines()
        .find_map(|l| l.strip_prefix("cq: unsaved record: "))
        .expect("record on stderr");
    let rec: serde_json::Value = serde_json::from_str(unsaved).unwrap();
    assert_eq!(rec["name"], "filler");
    assert_eq!(rec["exit_code"], 3);
}

#[test]
fn read_only_file_system_fails_writers_and_serves_readers() {
    let env = Env::new();
    let Some(fs) = Tmpfs::mount(&env, "1m") else {
        return skip(
            "read_only_file_system_fails_writers_and_serves_readers",
            "cannot mount a tmpfs (needs root)",
        );
    };
    let q = fs.0.join("q.jsonl");
    for n in ["a", "b", "c"] {
        env.cq()
            .env("CQ_QUEUE", &q)
            .args(["push", "-n", n, "-e", "0"])
            .assert()
            .success();
    }
    let ids: Vec<String> = parse_lines(&std::fs::read_to_string(&q).unwrap())
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    fs.remount_ro();
    let before = std::fs::read(&q).unwrap();
    let marker = env.path("ran");
    let writers: Vec<(Vec<String>, i32)> = vec![
        (
            vec![
                "push".into(),
                "-n".into(),
                "x".into(),
                "-e".into(),
                "0".into(),
            ],
            1,
        ),
        (
            vec![
                "wrap".into(),
                "--".into(),
                "touch".into(),
                marker.display().to_string(),
            ],
            125,
        ),
        (vec!["pull".into()], 1),
        (vec!["ack".into(), ids[0].clone()], 1),
        (
            vec!["compact".into(), "--older-than".into(), "0s".into()],
            1,
        ),
    ];
    for (args, code) in writers {
        let out = env.cq().env("CQ_QUEUE", &q).args(&args).output().unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        if code != 0 {
            let msg = String::from_utf8_lossy(&out.stderr);
            assert!(
                msg.starts_with("cq: ") && msg.contains("Read-only file system"),
                "{args:?}: {msg}"
            );
        }
    }
    assert!(!marker.exists(), "wrap ran CMD on a read-only queue");
    assert_eq!(std::fs::read(&q).unwrap(), before);
    // Readers still work.
    let out = env
        .cq()
        .env("CQ_QUEUE", &q)
        .args(["list", "--pending"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["a", "b", "c"]);
    env.cq()
        .env("CQ_QUEUE", &q)
        .args(["stats", "--json"])
        .assert()
        .success();
    env.cq()
        .env("CQ_QUEUE", &q)
        .args(["list", "--running"])
        .assert()
        .success();
    env.cq()
        .env("CQ_QUEUE", &q)
        .args(["wait", "a"])
        .assert()
        .success();
}

#[test]
fn hostile_names_and_values_round_trip() {
    let env = Env::new();
    let nasty = [
        "line\nbreak",
        "quote\"back\\slash",
        "ctl\u{1}\u{7f}\u{1b}[31m",
        "tab\tcr\r",
        "ünïcödé ☃ \u{202e}rtl",
        "{\"pulled\":false}",
    ];
    for n in nasty {
        env.cq()
            .args([
                "push",
                "-n",
                n,
                "-e",
                "1",
                "--meta",
                &format!("k={n}"),
                "--meta",
                "pulled=false",
            ])
            .assert()
            .success();
    }
    let big = "y".repeat(100 * 1024);
    env.cq()
        .args(["push", "-n", &big, "-e", "0"])
        .assert()
        .success();
    let text = env.text();
    assert_eq!(text.lines().count(), nasty.len() + 1, "one line per record");
    let recs = parse_lines(&text);
    for (r, n) in recs.iter().zip(nasty) {
        assert_eq!(r["name"], n);
        assert_eq!(r["meta"]["k"], n);
        assert_eq!(r["pulled"], false);
    }
    // A table escapes them all; JSONL is the stored line.
    let out = env
        .cq()
        .args(["list", "--format", "table"])
        .output()
        .unwrap();
    let table = stdout_of(&out);
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "{table:?}"
    );
    assert_eq!(table.lines().count(), nasty.len() + 2);
    let out = env.cq().arg("pull").output().unwrap();
    assert_eq!(stdout_of(&out), text);
    env.cq().arg("pull").assert().stdout("");
}

#[test]
fn jsonl_on_a_terminal_escapes_raw_c1_controls() {
    if !common::have("script") {
        return skip(
            "jsonl_on_a_terminal_escapes_raw_c1_controls",
            "script (util-linux) is not installed",
        );
    }
    let env = Env::new();
    env.push("csi\u{9b}31mred\u{7f}", 0);
    // In a pipe: the line as stored, byte for byte.
    let out = env.cq().args(["list", "--json"]).output().unwrap();
    assert!(stdout_of(&out).contains("csi\u{9b}31mred\u{7f}"));
    // On a terminal (script gives it one): the same JSON, escaped.
    let out = Command::new("script")
        .args(["-qec", &format!("{} list --json", common::CQ), "/dev/null"])
        .env("CQ_QUEUE", &env.location)
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        !text.contains('\u{9b}') && !text.contains('\u{7f}'),
        "{text:?}"
    );
    let line = text.lines().next().unwrap().trim_end_matches('\r');
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["name"], "csi\u{9b}31mred\u{7f}");
}

#[test]
fn invalid_utf8_is_refused_in_names_and_kept_lossless_for_cmd() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let bad = std::ffi::OsStr::from_bytes(b"bad\xffname");
    env.cq()
        .args(["push", "-n"])
        .arg(bad)
        .args(["-e", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("UTF-8"));
    assert!(!env.queue.exists());
    // CMD gets the exact bytes; the record stores them with U+FFFD.
    let out = env
        .cq()
        .args(["wrap", "--", "printf", "%s"])
        .arg(bad)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"bad\xffname");
    let r = &env.records()[0];
    assert_eq!(r["command"][2], "bad\u{fffd}name");
}

fn seed_queue(env: &Env, text: &[u8]) {
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, text).unwrap();
}

#[test]
fn odd_queue_paths_get_clear_errors() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("dir")).unwrap();
    let fifo = env.path("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for q in [env.path("dir"), fifo.clone()] {
        for args in [
            &["list"][..],
            &["pull"],
            &["push", "-n", "x", "-e", "0"],
            &["compact"],
            &["stats"],
        ] {
            let out = env
                .cq()
                .env("CQ_QUEUE", &q)
                .args(args)
                .timeout(std::time::Duration::from_secs(10))
                .output()
                .unwrap();
            no_panic(&out);
            assert_eq!(out.status.code(), Some(1), "{q:?} {args:?}: {out:?}");
            let msg = String::from_utf8_lossy(&out.stderr);
            assert!(msg.starts_with("cq: ") && msg.lines().count() == 1, "{msg}");
        }
        env.cq()
            .env("CQ_QUEUE", &q)
            .args(["wrap", "true"])
            .timeout(std::time::Duration::from_secs(10))
            .assert()
            .code(125);
    }
    // A symlink is followed: compaction replaces the target, not the link.
    let target = env.path("real.jsonl");
    let link = env.path("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::write(
        &target,
        "{\"name\":\"old\",\"completed_at\":\"2020-01-01T00:00:00Z\",\"status\":\"success\",\"pulled\":true}\n",
    )
    .unwrap();
    env.cq()
        .env("CQ_QUEUE", &link)
        .args(["push", "-n", "new", "-e", "0"])
        .assert()
        .success();
    env.cq()
        .env("CQ_QUEUE", &link)
        .arg("compact")
        .assert()
        .success()
        .stdout(predicate::str::contains("removed 1"));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        names(&parse_lines(&std::fs::read_to_string(&target).unwrap())),
        ["new"]
    );
}

#[test]
fn odd_files_are_read_without_changing_a_byte() {
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("empty", b"".to_vec(), vec![]),
        ("garbage", b"\x00\x01\xff\xfe garbage\n]]]{{{\nnull\n42\n\"str\"\n".to_vec(), vec![]),
        (
            "crlf and bom",
            b"\xef\xbb\xbf{\"name\":\"a\",\"status\":\"success\",\"pulled\":false}\r\n{\"name\":\"b\",\"status\":\"success\",\"pulled\":false}\r\n".to_vec(),
            vec!["a", "b"],
        ),
        (
            "duplicate keys",
            b"{\"name\":\"x\",\"name\":\"dup\",\"status\":\"success\",\"pulled\":true,\"pulled\":false}\n".to_vec(),
            vec!["dup"],
        ),
        (
            "pulled odd",
            b"{\"name\":\"s\",\"status\":\"success\",\"pulled\":\"false\"}\n{\"name\":\"m\",\"status\":\"success\"}\n{\"name\":\"n\",\"status\":\"success\",\"pulled\":null}\n".to_vec(),
            vec![],
        ),
        (
            "nested pulled",
            b"{\"name\":\"meta\",\"status\":\"success\",\"meta\":{\"pulled\":false},\"pulled\":false}\n".to_vec(),
            vec!["meta"],
        ),
        ("no newline at all", b"{\"name\":\"t\",\"status\":\"success\",\"pulled\":false}".to_vec(), vec![]),
    ];
    for (what, text, pending) in cases {
        let env = Env::new();
        seed_queue(&env, &text);
        for args in [
            &["list"][..],
            &["list", "--pending"],
            &["stats"],
            &["list", "--format", "table"],
        ] {
            let out = env.cq().args(args).output().unwrap();
            no_panic(&out);
            assert!(out.status.success(), "{what} {args:?}: {out:?}");
        }
        assert_eq!(
            std::fs::read(&env.queue).unwrap(),
            text,
            "{what}: a reader changed the file"
        );
        let out = env.cq().arg("pull").output().unwrap();
        no_panic(&out);
        assert!(out.status.success(), "{what}: {out:?}");
        assert_eq!(names(&parse_lines(&stdout_of(&out))), pending, "{what}");
        // Only the flags of what was delivered changed.
        let after = std::fs::read(&env.queue).unwrap();
        assert_eq!(after.len(), text.len(), "{what}");
        let diff = after.iter().zip(&text).filter(|(a, b)| a != b).count();
        assert!(diff <= 5 * pending.len(), "{what}: {diff} bytes changed");
        env.cq()
            .args(["compact", "--older-than", "0s"])
            .assert()
            .success();
    }
}

#[test]
fn a_big_file_is_streamed() {
    // 64 MiB by default; CQ_STRESS=16 makes it 1 GiB.
    let scale = common::stress() as u64;
    let env = Env::new();
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    let line = format!(
        "{{\"name\":\"big\",\"completed_at\":\"2026-01-01T00:00:00Z\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":true,\"pad\":\"{}\"}}\n",
        "p".repeat(900)
    );
    let target = (64u64 << 20) * scale;
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&env.queue).unwrap());
        let mut n = 0u64;
        while n < target {
            f.write_all(line.as_bytes()).unwrap();
            n += line.len() as u64;
        }
        // And one line far longer than any record: reported and skipped.
        f.write_all(b"{\"name\":\"huge\",\"status\":\"success\",\"pulled\":false,\"pad\":\"")
            .unwrap();
        f.write_all(&vec![b'z'; 20 << 20]).unwrap();
        f.write_all(b"\"}\n").unwrap();
    }
    env.push("after", 0);
    let out = env
        .cq()
        .args(["list", "--pending", "--count"])
        .output()
        .unwrap();
    no_panic(&out);
    assert_eq!(stdout_of(&out), "1\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("longer than 16 MiB"));
    let out = env.cq().arg("pull").output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["after"]);
}

#[test]
fn bad_flags_and_durations_change_nothing() {
    let env = Env::new();
    env.push("keep", 0);
    let before = env.text();
    let cases: &[&[&str]] = &[
        &["list", "--since", "-5m"],
        &["list", "--since", "5 parsecs"],
        &["list", "--since", "2026-13-45T99:00:00Z"],
        &["compact", "--older-than", ""],
        &["compact", "--older-than", "9999999999999999999d"],
        &["wait", "x", "--timeout", "never"],
        &["pull", "--wait", "--timeout", "1fortnight"],
        &["list", "--limit", "-1"],
        &["push", "-n", "x", "-e", "1e3"],
        &["push", "-n", "x", "--status", "maybe"],
        &["--color", "sometimes", "list"],
        &["init", "bash", "--wrap", "rm -rf /"],
        &["init", "bash", "--wrap", "cq"],
        &["init", "tcsh"],
        &["completions", "cmd.exe"],
        &["wait", ""],
    ];
    for args in cases {
        let out = env.cq().args(*args).output().unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let msg = String::from_utf8_lossy(&out.stderr);
        assert!(
            msg.starts_with("cq: ") && msg.lines().count() == 1,
            "{args:?}: {msg}"
        );
    }
    assert_eq!(env.text(), before);
}

#[test]
fn a_queue_url_password_is_never_printed() {
    let env = Env::new();
    // A loopback port nobody listens on, no name to resolve: the answer
    // is "refused" whatever the machine's DNS and services.
    let port = common::free_port().unwrap();
    for url in [
        format!("redis://u:s3cr3t-pw@127.0.0.1:{port}/0"),
        format!("rediss://:s3cr3t-pw@127.0.0.1:{port}/0"),
        format!("kafka://u:s3cr3t-pw@127.0.0.1:{port}/t"),
    ] {
        let url = url.as_str();
        for args in [
            &["list"][..],
            &["push", "-n", "x", "-e", "0"],
            &["stats"],
            &["wrap", "true"],
        ] {
            let out = env.cq().env("CQ_QUEUE", url).args(args).output().unwrap();
            assert!(!out.status.success());
            let all = format!(
                "{}{}",
                stdout_of(&out),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains("s3cr3t-pw"), "{url} {args:?}: {all}");
        }
    }
    let help = env
        .cq()
        .env(
            "CQ_QUEUE",
            format!("redis://u:s3cr3t-pw@127.0.0.1:{port}/0"),
        )
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        !stdout_of(&help).contains("s3cr3t-pw"),
        "--help shows CQ_QUEUE's value"
    );
}

/// Runs cq through sh with the given redirections (`>&-` closes stdout).
fn cq_redirected(env: &Env, args: &str, redirect: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$CQ\" {args} {redirect}"))
        .env("CQ", common::CQ)
        .env("CQ_QUEUE", &env.location)
        .current_dir(env.dir.path())
        .output()
        .unwrap()
}

/// Closed standard streams never cost a record: cq's own files never take
/// fds 0-2 (a pull once printed its records into the lock file, which took
/// fd 1, and marked them pulled), a command whose answer is its output
/// refuses to run without stdout, and wrap runs CMD with the stream as
/// closed as it was.
#[test]
fn closed_standard_streams_lose_nothing() {
    let env = Env::new();
    env.push("kept", 0);
    for redirect in [">&-", ">&- 2>&-", "<&- >&- 2>&-"] {
        for args in ["pull", "pull --json", "list --pending", "wait kept --pull"] {
            let out = cq_redirected(&env, args, redirect);
            no_panic(&out);
            assert_eq!(out.status.code(), Some(1), "{args} {redirect}: {out:?}");
            if !redirect.contains("2>&-") {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("standard output is closed"), "{err}");
            }
        }
    }
    let lock = std::fs::read(env.path("state/queue.jsonl.lock")).unwrap_or_default();
    assert!(lock.is_empty(), "nothing written into the lock file");
    let recs = env.records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["pulled"], false, "still pending");
    // wrap and push work with every stream closed; CMD finds stdout closed
    // as it would without cq.
    let out = cq_redirected(
        &env,
        "wrap -n closed -- sh -c 'echo out 2>/dev/null || exit 9'",
        "<&- >&- 2>&-",
    );
    assert_eq!(out.status.code(), Some(9), "{out:?}");
    let out = cq_redirected(&env, "push -n pushed -e 0", "<&- >&- 2>&-");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        names(&env.records()),
        ["kept", "closed", "pushed"],
        "each record once, nothing else in the queue"
    );
    let out = env.cq().args(["pull", "--json"]).output().unwrap();
    assert_eq!(
        names(&parse_lines(&stdout_of(&out))),
        ["kept", "closed", "pushed"]
    );
}

/// A report that cannot be written (a full device) is one line and exit 1,
/// never a panic; the work itself is done.
#[test]
fn reports_to_a_full_device_fail_in_one_line() {
    if !std::path::Path::new("/dev/full").exists() {
        return skip("reports_to_a_full_device_fail_in_one_line", "no /dev/full");
    }
    let env = Env::new();
    env.push("a", 0);
    let db = env.path("copy.db");
    for args in [
        "compact".to_string(),
        format!("migrate --to sqlite:{}", db.display()),
        "stats".to_string(),
        "list".to_string(),
    ] {
        let out = cq_redirected(&env, &args, ">/dev/full");
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1), "{args}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("No space left") && err.lines().count() == 1,
            "{args}: {err}"
        );
    }
    let out = env
        .cq()
        .env("CQ_QUEUE", format!("sqlite:{}", db.display()))
        .args(["list", "--count"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "1\n", "the migrate was done");
}

/// Only a queue that does not exist reads as empty. A symlink loop, a path
/// through a file, or a directory nobody may search is an error on every
/// reading command (it used to be an empty answer that hid the records).
#[test]
fn an_unreadable_queue_is_an_error_not_an_empty_answer() {
    let env = Env::new();
    std::os::unix::fs::symlink(env.path("loop-b"), env.path("loop-a")).unwrap();
    std::os::unix::fs::symlink(env.path("loop-a"), env.path("loop-b")).unwrap();
    std::fs::write(env.path("a-file"), b"").unwrap();
    let reads: [&[&str]; 7] = [
        &["list"],
        &["list", "--count"],
        &["list", "--running"],
        &["pull"],
        &["stats"],
        &["compact"],
        &["wait", "x", "--timeout", "1s"],
    ];
    for (q, why) in [
        (env.path("loop-a").display().to_string(), "symbolic links"),
        (
            env.path("a-file/q.jsonl").display().to_string(),
            "Not a directory",
        ),
        (
            format!("sqlite:{}", env.path("loop-a").display()),
            "symbolic links",
        ),
    ] {
        for args in reads {
            let out = env.cq().env("CQ_QUEUE", &q).args(args).output().unwrap();
            no_panic(&out);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{q} {args:?}: {out:?}");
            assert!(
                err.to_lowercase().contains(&why.to_lowercase()) && err.lines().count() == 1,
                "{q} {args:?}: {err}"
            );
        }
    }
    // A queue that does not exist yet reads as empty, exit 0; a read
    // says so once, with its path (a typo must not read as "nothing
    // pending" in silence).
    let none = env.path("not-yet/q.jsonl").display().to_string();
    for (args, says) in [
        (&["list"][..], true),
        (&["pull"], true),
        (&["list", "--running"], false),
        (&["compact"], false),
    ] {
        let out = env.cq().env("CQ_QUEUE", &none).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        if says {
            assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {out:?}");
            assert!(
                err.contains(&format!("{none} does not exist")),
                "{args:?}: {out:?}"
            );
        } else {
            assert!(err.is_empty(), "{args:?}: {out:?}");
        }
    }
}

/// A mis-spelt or unknown scheme is a usage error, never a file name: a
/// push once created directories named after `Redis://host`.
#[test]
fn unknown_queue_schemes_are_usage_errors() {
    let env = Env::new();
    for q in [
        "Redis://u:hunter2@h:6379/0",
        "reddis://h/0",
        "ftp://h/q",
        "KAFKA://h:9092/t",
    ] {
        let out = env
            .cq()
            .env("CQ_QUEUE", q)
            .args(["push", "-n", "a", "-e", "0"])
            .output()
            .unwrap();
        no_panic(&out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{q}: {out:?}");
        assert!(
            err.contains("unknown queue scheme") && !err.contains("hunter2"),
            "{q}: {err}"
        );
    }
    let made: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(made.is_empty(), "nothing created: {made:?}");
}

/// cq never appends JSON to a SQLite database named without `sqlite:`:
/// it is refused with a message naming the right form, wrap exits 125
/// without running CMD, and not a byte changes. (Other odd bytes are
/// appended after: a crash can leave NULs in a real queue.)
#[test]
fn a_file_that_is_no_queue_is_never_appended_to() {
    let env = Env::new();
    let db = env.path("jobs.db");
    env.cq()
        .env("CQ_QUEUE", format!("sqlite:{}", db.display()))
        .args(["push", "-n", "in-sqlite", "-e", "0"])
        .assert()
        .success();
    let (path, want) = (&db, "sqlite:");
    let before = std::fs::read(path).unwrap();
    let q = path.display().to_string();
    let out = env
        .cq()
        .env("CQ_QUEUE", &q)
        .args(["push", "-n", "a", "-e", "0"])
        .output()
        .unwrap();
    no_panic(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{q}: {out:?}");
    assert!(err.contains(want) && err.lines().count() == 1, "{q}: {err}");
    let out = env
        .cq()
        .env("CQ_QUEUE", &q)
        .args(["wrap", "--", "sh", "-c", "echo ran"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{q}: {out:?}");
    assert_eq!(stdout_of(&out), "", "CMD did not run");
    assert_eq!(std::fs::read(path).unwrap(), before, "{q} unchanged");
}

/// A lock held by another process (a stopped puller, `flock` in another
/// tool; here the test itself) never stops a job from starting, and
/// `--timeout` bounds the wait for it.
#[test]
fn a_held_lock_neither_stops_jobs_nor_outlasts_a_timeout() {
    use std::io::BufRead;
    let env = Env::new();
    env.push("before", 0);
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(env.path("state/queue.jsonl.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut wrap = env
        .cq_std()
        .args(["wrap", "-n", "started", "--", "sh", "-c", "echo ran"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::io::BufReader::new(wrap.stdout.take().unwrap());
    // Were wrap to wait for the lock before starting CMD (the regression
    // this guards), this read would wait as long as the lock is held.
    let (_out, line) = common::within(
        std::time::Duration::from_secs(10),
        "CMD's line under a held lock",
        move || {
            let mut out = out;
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            (out, line)
        },
    );
    assert_eq!(line, "ran\n", "CMD ran while the lock was held");
    for args in [
        &["pull", "--wait", "--timeout", "1s"][..],
        &["wait", "before", "--timeout", "1s"],
    ] {
        let out = env.cq().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(124), "{args:?}: {out:?}");
        assert!(err.contains("lock") && err.lines().count() == 1, "{err}");
    }
    drop(lock);
    assert!(wrap.wait().unwrap().success());
    assert_eq!(names(&env.records()), ["before", "started"]);
}

/// A `--timeout` longer than the clock can count waits (it once overflowed
/// into a panic): the waiter is still waiting after a moment.
#[test]
fn a_huge_timeout_waits_instead_of_panicking() {
    let env = Env::new();
    for args in [
        &["wait", "never", "--timeout", "99999999999d"][..],
        &["pull", "--wait", "--timeout", "5000000000000d"],
    ] {
        let mut child = env
            .cq_std()
            .args(args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let still = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert!(still, "{args:?} ended: {out:?}");
        no_panic_text(&out.stderr);
    }
}

fn no_panic_text(stderr: &[u8]) {
    let err = String::from_utf8_lossy(stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs cq and fails the test if it does not end within 20 s (a reader
/// that hangs on a FIFO), killing it.
fn bounded(mut c: std::process::Command) -> std::process::Output {
    let mut child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("cq hung: {:?}", child.wait_with_output());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Side files are untrusted input: a FIFO, a symlink to /dev/zero or a
/// huge sparse file among the running jobs is skipped with a warning (one
/// hung, one swelled every reader), and a path that is no queue file gets
/// no side files next to it.
#[test]
fn hostile_side_files_are_skipped_with_a_warning() {
    let env = Env::new();
    env.push("a", 0);
    let running = env.path("state/queue.jsonl.running");
    std::fs::create_dir_all(&running).unwrap();
    let fifo = running.join("fifo.json");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    std::os::unix::fs::symlink("/dev/zero", running.join("zero.json")).unwrap();
    let sparse = std::fs::File::create(running.join("sparse.json")).unwrap();
    sparse.set_len(1 << 30).unwrap();
    for args in [
        &["list", "--running"][..],
        &["list", "--running", "--count"],
        &["pull", "--json"],
        &["list"],
    ] {
        let mut c = env.cq_std();
        c.args(args);
        let out = bounded(c);
        no_panic(&out);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        for bad in ["fifo.json", "zero.json", "sparse.json"] {
            assert!(
                err.contains(bad) && err.contains("skipped"),
                "{args:?}: {err}"
            );
        }
    }
    // /dev/null is no queue: refused, and no /dev/null.lock is made. Seen
    // through strace (a lock file left by an older cq, or by anything
    // else, would hide one this cq makes from an existence check).
    let trace = common::have("strace");
    if !trace {
        common::skip("/dev/null.lock under strace", "strace is not installed");
    }
    for args in [&["list"][..], &["pull"], &["push", "-n", "x", "-e", "0"]] {
        let log = env.path("strace.log");
        let mut c = if trace {
            let mut c = std::process::Command::new("strace");
            c.args([
                "-f",
                "-qq",
                "-e",
                "trace=openat,creat,mknodat,linkat,renameat2",
                "-o",
            ])
            .arg(&log)
            .arg(common::CQ);
            c
        } else {
            std::process::Command::new(common::CQ)
        };
        let out = c
            .args(args)
            .env("CQ_QUEUE", "/dev/null")
            .env("XDG_STATE_HOME", env.path("xdg-state"))
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        if trace {
            let log = std::fs::read_to_string(&log).unwrap();
            let made: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains("/dev/null.") && (l.contains("O_CREAT") || !l.contains("openat("))
                })
                .collect();
            assert!(
                made.is_empty(),
                "{args:?} made a file next to /dev/null: {made:?}"
            );
        }
    }
}

/// The cursor keeps its promise when another program rewrites the queue in
/// place: restoring a backup taken before a pull (`cat bak > Q`, same
/// inode, same tail bytes) makes the restored pending records deliverable
/// again instead of hiding them behind the cursor.
#[test]
fn a_queue_rewritten_in_place_from_a_backup_loses_no_pending_record() {
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.push(n, 0);
    }
    let backup = std::fs::read(&env.queue).unwrap();
    let out = env.cq().args(["pull", "--json"]).output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["a", "b", "c"]);
    env.push("d", 0);
    // In place, as `cat bak > Q` does: truncate and write the same inode.
    std::fs::write(&env.queue, &backup).unwrap();
    let out = env.cq().args(["pull", "--json"]).output().unwrap();
    assert_eq!(
        names(&parse_lines(&stdout_of(&out))),
        ["a", "b", "c"],
        "the restored file's pending records are delivered"
    );
    let cursor = std::fs::read_to_string(env.path("state/queue.jsonl.cursor")).unwrap();
    assert!(cursor.starts_with("cq-cursor 2 "), "{cursor}");
}

/// Every record cq writes, cq reads: a command line of megabytes of control
/// characters (each escaped to six bytes of JSON, past the readers' 16 MiB
/// line limit) is kept to its first parts, marked `"truncated":true`.
#[test]
fn a_huge_command_line_makes_a_record_readers_read() {
    let env = Env::new();
    let script = r#"ulimit -s unlimited 2>/dev/null || exit 77
        big=$(head -c 100000 /dev/zero | tr '\0' '\001')
        args=(); for i in $(seq 50); do args+=("$big"); done
        exec "$CQ" wrap -n huge -- true "${args[@]}""#;
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", script])
        .env("CQ", common::CQ)
        .env("CQ_QUEUE", &env.location)
        .output()
        .unwrap();
    if out.status.code() == Some(77) {
        return skip(
            "a_huge_command_line_makes_a_record_readers_read",
            "the stack limit cannot be raised for a 5 MB command line",
        );
    }
    no_panic(&out);
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&env.queue).unwrap();
    assert!(text.len() <= (512 << 10) + 1, "{} bytes", text.len());
    let recs = env.listed();
    assert_eq!(names(&recs), ["huge"]);
    assert_eq!(recs[0]["truncated"], true);
    assert_eq!(recs[0]["command"][0], "true");
}
