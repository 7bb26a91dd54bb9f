//! The real binary against a private queue: exit codes, record fields,
//! signals, and the file's guarantees.

mod common;

use common::{CQ, Env, names, parse_lines, stdout_of};
use predicates::prelude::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

fn only_record(env: &Env) -> Value {
    let recs = env.records();
    assert_eq!(recs.len(), 1, "expected one record, got {recs:?}");
    recs.into_iter().next().unwrap()
}

#[test]
fn wrap_success_records_every_field() {
    let env = Env::new();
    env.cq()
        .args([
            "wrap", "-n", "job1", "-o", "out", "--meta", "k=v", "--meta", "pulled=x", "--",
        ])
        .args(["sh", "-c", "echo out-$CQ_NAME; echo err >&2"])
        .assert()
        .code(0)
        .stdout("out-job1\n")
        .stderr("err\n");
    let r = only_record(&env);
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "name",
            "completed_at",
            "output_dir",
            "status",
            "pulled",
            "id",
            "exit_code",
            "started_at",
            "duration_ms",
            "command",
            "cwd",
            "host",
            "pid",
            "meta"
        ]
    );
    let cwd = env.dir.path().canonicalize().unwrap();
    assert_eq!(r["name"], "job1");
    assert_eq!(r["status"], "success");
    assert_eq!(r["pulled"], false);
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["output_dir"], cwd.join("out").to_str().unwrap());
    assert_eq!(r["cwd"], cwd.to_str().unwrap());
    assert_eq!(
        r["command"],
        serde_json::json!(["sh", "-c", "echo out-$CQ_NAME; echo err >&2"])
    );
    assert_eq!(r["meta"], serde_json::json!({"k": "v", "pulled": "x"}));
    assert!(r["pid"].as_u64().unwrap() > 0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(r["host"], host.trim());
    assert!(r.get("signal").is_none());
    for k in ["completed_at", "started_at"] {
        let t = r[k].as_str().unwrap();
        assert_eq!(t.len(), 20, "{k}={t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{k}={t}");
    }
    assert!(r["started_at"].as_str() <= r["completed_at"].as_str());
    let id = r["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "7", "UUIDv7: {id}");
}

#[test]
fn wrap_sees_its_id_and_inherits_stdin() {
    let env = Env::new();
    let out = env
        .cq()
        .args(["wrap", "--", "sh", "-c", "echo $CQ_ID; cat"])
        .write_stdin("from stdin\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let text = stdout_of(&out);
    let mut lines = text.lines();
    let id = lines.next().unwrap();
    assert_eq!(lines.next(), Some("from stdin"));
    let r = only_record(&env);
    assert_eq!(r["id"], id);
    assert_eq!(r["name"], "sh", "name defaults to the basename of CMD");
}

#[test]
fn wrap_name_and_output_dir_from_environment() {
    let env = Env::new();
    env.cq()
        .env("CQ_NAME", "from-env")
        .env("CQ_OUTPUT_DIR", "/srv/out")
        .args(["wrap", "/bin/true"])
        .assert()
        .success();
    let r = only_record(&env);
    assert_eq!(r["name"], "from-env");
    assert_eq!(r["output_dir"], "/srv/out");
}

#[test]
fn wrap_passes_exit_codes_through() {
    let env = Env::new();
    for code in [1, 2, 42, 255] {
        env.cq()
            .args(["wrap", "--", "sh", "-c", &format!("exit {code}")])
            .assert()
            .code(code);
    }
    let recs = env.records();
    let codes: Vec<i64> = recs
        .iter()
        .map(|r| r["exit_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [1, 2, 42, 255]);
    assert!(recs.iter().all(|r| r["status"] == "failure"));
}

#[test]
fn wrap_command_not_found_is_127_and_recorded() {
    let env = Env::new();
    env.cq()
        .args(["wrap", "--", "cq-no-such-command", "arg"])
        .assert()
        .code(127)
        .stdout("")
        .stderr(predicate::str::contains(
            "cq: cq-no-such-command: command not found",
        ));
    let r = only_record(&env);
    assert_eq!(r["exit_code"], 127);
    assert_eq!(r["status"], "failure");
}

#[test]
fn wrap_not_executable_is_126_and_recorded() {
    let env = Env::new();
    let script = env.path("script.sh");
    std::fs::write(&script, "#!/bin/sh\necho no\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.cq()
        .args(["wrap", "--", "./script.sh"])
        .assert()
        .code(126)
        .stdout("")
        .stderr(predicate::str::contains("permission denied"));
    env.cq().args(["wrap", "--", "/"]).assert().code(126);
    let recs = env.records();
    assert_eq!(recs.len(), 2);
    assert!(
        recs.iter()
            .all(|r| r["exit_code"] == 126 && r["status"] == "failure")
    );
}

/// A script without `#!` runs through /bin/sh, as execvp and shells run
/// it (the kernel refuses it: ENOEXEC), with its arguments.
#[test]
fn wrap_runs_a_script_without_shebang_through_sh() {
    let env = Env::new();
    let script = env.path("plain.sh");
    std::fs::write(&script, "echo \"from sh: $*\"; exit 3\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.cq()
        .args(["wrap", "--", "./plain.sh", "a", "b c"])
        .assert()
        .code(3)
        .stdout("from sh: a b c\n");
    assert_eq!(only_record(&env)["exit_code"], 3);
}

/// A wrap inside a wrap: CMD's CQ_ID, CQ_NAME and CQ_META_FILE are its
/// own, each once, whatever the caller's were; the rest of the caller's
/// environment reaches it unchanged.
#[test]
fn wrap_replaces_the_callers_cq_variables_once_each() {
    let env = Env::new();
    let out = env
        .cq()
        .env("CQ_ID", "outer-id")
        .env("CQ_META_FILE", "/outer/meta")
        .env("CQ_KEEP_ME", "a=b c")
        .args(["wrap", "-n", "inner", "--", "env"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let ours = |name: &str| -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .collect()
    };
    let id = only_record(&env)["id"].as_str().unwrap().to_string();
    assert_eq!(ours("CQ_ID"), [id.as_str()]);
    assert_eq!(ours("CQ_NAME"), ["inner"]);
    let meta = ours("CQ_META_FILE");
    assert_eq!(meta.len(), 1, "{text}");
    assert_ne!(meta[0], "/outer/meta");
    assert_eq!(ours("CQ_KEEP_ME"), ["a=b c"]);
}

/// CMD starts with the caller's signal mask and ignored signals, not
/// cq's: cq blocks every signal across its spawn, ignores SIGPIPE and
/// handles SIGHUP, and none of it may leak into CMD, nor undo what the
/// caller ignored (`nohup`). The caller here blocks SIGWINCH and ignores
/// SIGTSTP, SIGHUP and SIGPIPE, then the same with SIGPIPE at its default;
/// the same `cat` run without cq is the reference.
#[test]
fn wrap_gives_cmd_the_callers_signal_mask_and_dispositions() {
    callers_signals_reach_cmd(&Env::new());
}

/// On a Kafka queue `cq` becomes `cq-kafka` by exec, which std makes with
/// an empty mask and SIGPIPE at its default: the caller's are put back.
#[cfg(feature = "kafka")]
#[test]
fn wrap_on_kafka_gives_cmd_the_callers_signal_mask_and_dispositions() {
    if !common::have("tansu") {
        return common::skip(
            "wrap_on_kafka_gives_cmd_the_callers_signal_mask_and_dispositions",
            "tansu (a Kafka-protocol broker) is not installed",
        );
    }
    callers_signals_reach_cmd(&Env::tier(common::Tier::Kafka));
}

fn callers_signals_reach_cmd(env: &Env) {
    use std::os::unix::process::CommandExt;
    let sig_lines = |mut c: std::process::Command, pipe: libc::sighandler_t| {
        // SAFETY: between fork and exec, only sigprocmask and signal,
        // both async-signal-safe, on a zeroed and then filled sigset.
        unsafe {
            c.pre_exec(move || {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGWINCH);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                libc::signal(libc::SIGTSTP, libc::SIG_IGN);
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                libc::signal(libc::SIGPIPE, pipe);
                Ok(())
            });
        }
        let out = c.stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("SigBlk:") || l.starts_with("SigIgn:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for pipe in [libc::SIG_IGN, libc::SIG_DFL] {
        let mut direct = std::process::Command::new("cat");
        direct.arg("/proc/self/status");
        let expected = sig_lines(direct, pipe);
        assert_eq!(expected.len(), 2, "{expected:?}");
        assert_ne!(
            expected[0], "SigBlk:\t0000000000000000",
            "the caller's mask"
        );
        let mut wrapped = env.cq_std();
        wrapped.args(["wrap", "--", "cat", "/proc/self/status"]);
        assert_eq!(sig_lines(wrapped, pipe), expected);
    }
}

#[test]
fn wrap_unwritable_queue_is_125_and_cmd_never_runs() {
    let env = Env::new();
    let marker = env.path("ran");
    std::fs::write(env.path("file"), "").unwrap();
    // A parent that is a regular file: unwritable even for root.
    for q in [env.path("file/queue.jsonl"), env.dir.path().to_path_buf()] {
        env.cq()
            .env("CQ_QUEUE", &q)
            .args(["wrap", "--", "touch"])
            .arg(&marker)
            .assert()
            .code(125)
            .stderr(
                predicate::str::starts_with("cq: ").and(predicate::str::contains("\n").count(1)),
            );
        assert!(
            !marker.exists(),
            "CMD ran although the queue is not writable"
        );
    }
}

#[test]
fn wrap_child_killed_by_signal_is_recorded_and_reraised() {
    let env = Env::new();
    let st = env
        .cq_std()
        .args(["wrap", "--", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(
        st.signal(),
        Some(libc::SIGTERM),
        "cq must die of the same signal: {st:?}"
    );
    let r = only_record(&env);
    assert_eq!(r["exit_code"], 143);
    assert_eq!(r["signal"], "SIGTERM");
    assert_eq!(r["status"], "failure");
}

#[test]
fn wrap_shell_sees_128_plus_n() {
    let env = Env::new();
    let st = env
        .cq_std()
        .env("CQ", CQ)
        .args([
            "wrap",
            "-n",
            "outer",
            "--",
            "sh",
            "-c",
            "\"$CQ\" wrap -- sh -c 'kill -USR1 $$'; echo $?",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&st), "138\n");
    let recs = env.records();
    assert_eq!(recs[0]["signal"], "SIGUSR1");
    assert_eq!(recs[1]["name"], "outer");
}

fn wait_for_record_file_then_signal(
    env: &Env,
    sig: i32,
    child_script: &str,
) -> (std::process::ExitStatus, Value) {
    let ready = env.path("ready");
    let mut child = env
        .cq_std()
        .args(["wrap", "-n", "sig", "--", "sh", "-c", child_script])
        .env("READY", &ready)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..500 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ready.exists(), "child never started");
    unsafe { libc::kill(child.id() as i32, sig) };
    let st = child.wait().unwrap();
    (st, only_record(env))
}

#[test]
fn term_sent_to_cq_is_forwarded_and_recorded() {
    let env = Env::new();
    let (st, r) =
        wait_for_record_file_then_signal(&env, libc::SIGTERM, "touch \"$READY\"; exec sleep 30");
    assert_eq!(st.signal(), Some(libc::SIGTERM), "{st:?}");
    assert_eq!(r["exit_code"], 143);
    assert_eq!(r["signal"], "SIGTERM");
    assert!(r["duration_ms"].as_u64().unwrap() < 20_000);
}

#[test]
fn forwarded_signal_the_child_handles_keeps_its_exit_code() {
    let env = Env::new();
    for sig in [libc::SIGUSR2, libc::SIGHUP, libc::SIGINT] {
        let _ = std::fs::remove_file(env.path("ready"));
        let _ = std::fs::remove_file(&env.queue);
        let script = "trap 'exit 7' HUP INT USR2; touch \"$READY\"; while :; do sleep 0.05; done";
        let (st, r) = wait_for_record_file_then_signal(&env, sig, script);
        assert_eq!(st.code(), Some(7), "signal {sig}: {st:?}");
        assert_eq!(r["exit_code"], 7);
        assert!(r.get("signal").is_none());
    }
}

#[test]
fn push_records_a_finished_job() {
    let env = Env::new();
    env.cq()
        .args([
            "push",
            "-n",
            "build",
            "-e",
            "3",
            "-o",
            "/tmp/out",
            "--started-at",
            "2026-01-01T00:00:00Z",
        ])
        .assert()
        .success()
        .stdout("");
    env.cq()
        .args(["push", "-n", "deploy", "--status", "success"])
        .assert()
        .success();
    let recs = env.records();
    assert_eq!(recs[0]["status"], "failure");
    assert_eq!(recs[0]["exit_code"], 3);
    assert_eq!(recs[0]["output_dir"], "/tmp/out");
    assert_eq!(recs[0]["started_at"], "2026-01-01T00:00:00Z");
    assert!(recs[0]["duration_ms"].as_u64().unwrap() > 1000);
    assert_eq!(recs[1]["status"], "success");
    assert!(recs[1].get("exit_code").is_none());
}

#[test]
fn bad_input_is_one_line_exit_2_and_changes_nothing() {
    let env = Env::new();
    env.push("keep", 0);
    let before = env.text();
    let cases: &[&[&str]] = &[
        &["push", "-n", "x"],
        &["push", "-n", "x", "-e", "0", "--status", "success"],
        &["push", "-n", "x", "-e", "256"],
        &["push", "-n", "x", "-e", "-1"],
        &["push", "-n", "", "-e", "0"],
        &["push", "-n", "x", "-e", "0", "--meta", "novalue"],
        &["push", "-n", "x", "-e", "0", "--started-at", "yesterday"],
        &["wrap"],
        &["wrap", "--meta", "=v", "--", "true"],
        &["pull", "--limit", "0"],
        &["pull", "--limit", "many"],
        &["list", "--since", "soon"],
        &["list", "--pending", "--pulled"],
        &["list", "--status", "maybe"],
        &["compact", "--older-than", "forever"],
        &["ack"],
        &["ack", ""],
        &["frobnicate"],
        &["pull", "--format", "xml"],
    ];
    for args in cases {
        env.cq().args(*args).assert().code(2).stdout("").stderr(
            predicate::str::starts_with("cq: ").and(predicate::str::contains("\n").count(1)),
        );
    }
    assert_eq!(env.text(), before);
}

#[test]
fn a_bad_lease_ttl_is_a_usage_error() {
    let env = Env::new();
    for bad in ["soon", "0s"] {
        env.cq()
            .env("CQ_LEASE_TTL", bad)
            .args(["push", "-n", "a", "-e", "0"])
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with("cq: CQ_LEASE_TTL"));
    }
    assert_eq!(env.text(), "");
}

/// A variable that is not UTF-8 is refused by name (src/config.rs), not
/// taken as unset: a CQ_NAME of other bytes would have named the job after
/// its command, a CQ_HOST the machine.
#[test]
fn a_variable_that_is_not_utf8_is_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new();
    let marker = env.path("ran");
    let bad = std::ffi::OsStr::from_bytes(b"job\xff");
    for var in ["CQ_NAME", "CQ_HOST", "CQ_LEASE_TTL"] {
        env.cq()
            .env(var, bad)
            .args(["wrap", "--", "touch"])
            .arg(&marker)
            .assert()
            .code(125)
            .stderr(format!("cq: {var} is not valid UTF-8\n"));
        env.cq()
            .env(var, bad)
            .args(["push", "-n", "a", "-e", "0"])
            .assert()
            .code(2)
            .stderr(format!("cq: {var} is not valid UTF-8\n"));
    }
    assert!(!marker.exists(), "CMD did not run");
    assert_eq!(env.text(), "");
    // Commands that need no queue do not read it.
    env.cq().env("CQ_NAME", bad).arg("man").assert().success();
}

#[test]
fn a_bad_append_retry_is_refused_before_cmd_runs() {
    let env = Env::new();
    let marker = env.path("ran");
    env.cq()
        .env("CQ_APPEND_RETRY", "forever")
        .args(["wrap", "--", "touch"])
        .arg(&marker)
        .assert()
        .code(125)
        .stderr(predicate::str::starts_with("cq: CQ_APPEND_RETRY"));
    assert!(!marker.exists(), "CMD did not run");
    env.cq()
        .env("CQ_APPEND_RETRY", "forever")
        .args(["push", "-n", "a", "-e", "0"])
        .assert()
        .code(2);
    assert_eq!(env.text(), "");
}

/// `cq ARGS` with a queue URL it must refuse: exit 2, one line naming the
/// scheme, never the password.
fn refuses_url(env: &Env, bad: &str, args: &[&str], scheme: &str) {
    env.cq()
        .env("CQ_QUEUE", bad)
        .args(args)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::starts_with("cq: ")
                .and(predicate::str::contains("hunter2").not())
                .and(predicate::str::contains(scheme))
                .and(predicate::function(|e: &str| e.lines().count() == 1)),
        );
}

/// (The URL is parsed by the Kafka tier, in a build with it.)
#[cfg(feature = "kafka")]
#[test]
fn bad_kafka_urls_are_usage_errors_without_echoing_secrets() {
    let env = Env::new();
    for bad in [
        "kafka://user:hunter2@localhost/jobs",
        "kafka://user:hunter2@localhost:9092",
        "kafka://user:hunter2@localhost:9092/jobs?bogus=1",
        "kafka://user:hunter2@localhost:9092/no spaces",
    ] {
        refuses_url(&env, bad, &["list"], "kafka://");
    }
}

#[test]
fn bad_redis_urls_are_usage_errors_without_echoing_secrets() {
    let env = Env::new();
    for bad in [
        "redis://user:hunter2@",
        "redis://user:hunter2@localhost:port/0",
        "rediss://user:hunter2@localhost:6379/zero",
        "redis://user:hunter2@localhost:6379/0?bogus=1",
        "redis://user:hunter2@localhost:6379/0?stream=",
    ] {
        refuses_url(&env, bad, &["push", "-n", "a", "-e", "0"], "redis://");
    }
    assert_eq!(env.text(), "", "nothing written anywhere");
}

#[test]
fn io_errors_exit_1_with_one_line() {
    let env = Env::new();
    std::fs::create_dir_all(&env.queue).unwrap();
    for args in [["list"], ["pull"]] {
        env.cq()
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with("cq: ").and(predicate::str::contains("directory")));
    }
    env.cq()
        .args(["push", "-n", "x", "-e", "0"])
        .assert()
        .code(1);
    env.cq().args(["ack", "nope"]).assert().code(1);
}

#[test]
fn pull_delivers_once_oldest_first_and_respects_limit() {
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.push(n, 0);
    }
    let out = env.cq().args(["pull", "--limit", "2"]).output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["a", "b"]);
    env.push("d", 1);
    let out = env.cq().args(["pull", "--json"]).output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["c", "d"]);
    env.cq().arg("pull").assert().success().stdout("");
    let text = env.text();
    assert_eq!(text.matches("\"pulled\":true ,").count(), 4, "{text}");
    // JSONL output is the line as stored (pulled:false at the time of the pull).
    let out = env.cq().args(["list", "--json"]).output().unwrap();
    assert_eq!(stdout_of(&out), text);
}

#[test]
fn ack_marks_by_id_all_or_nothing() {
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.push(n, 0);
    }
    let ids: Vec<String> = env
        .records()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    env.cq()
        .args(["ack", &ids[0], "no-such-id"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no-such-id"));
    assert_eq!(
        env.records()
            .iter()
            .filter(|r| r["pulled"] == false)
            .count(),
        3
    );
    env.cq()
        .args(["ack", &ids[0], &ids[2]])
        .assert()
        .success()
        .stdout("");
    env.cq().args(["ack", &ids[0]]).assert().success();
    let out = env.cq().args(["list", "--pending"]).output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["b"]);
    let out = env.cq().arg("pull").output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["b"]);
}

#[test]
fn list_filters() {
    let env = Env::new();
    env.push("build-a", 0);
    env.push("build-b", 1);
    env.push("test-a", 0);
    env.cq().args(["pull", "--limit", "1"]).assert().success();
    let list = |args: &[&str]| {
        let out = env.cq().arg("list").args(args).output().unwrap();
        assert!(out.status.success());
        names(&parse_lines(&stdout_of(&out)))
    };
    assert_eq!(list(&[]), ["build-a", "build-b", "test-a"]);
    assert_eq!(list(&["--pending"]), ["build-b", "test-a"]);
    assert_eq!(list(&["--pulled"]), ["build-a"]);
    assert_eq!(list(&["--name", "build-*"]), ["build-a", "build-b"]);
    assert_eq!(list(&["--name", "?est-a"]), ["test-a"]);
    assert_eq!(list(&["--status", "failure"]), ["build-b"]);
    assert_eq!(list(&["--limit", "2"]), ["build-b", "test-a"]);
    assert_eq!(list(&["--since", "1h"]).len(), 3);
    assert_eq!(list(&["--since", "2999-01-01T00:00:00Z"]).len(), 0);
    // Nothing changed.
    assert_eq!(list(&["--pending"]), ["build-b", "test-a"]);
}

#[test]
fn table_escapes_control_characters() {
    let env = Env::new();
    env.push("evil\u{1b}[31mred\nline", 0);
    let out = env
        .cq()
        .args(["list", "--format", "table"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("evil\\u{1b}[31mred\\nline"), "{text:?}");
    assert_eq!(text.lines().count(), 2, "header and one row: {text:?}");
    assert!(text.starts_with("NAME"));
}

#[test]
fn broken_pipe_exits_zero_quietly() {
    let env = Env::new();
    for i in 0..3 {
        env.push(&format!("j{i}"), 0);
    }
    let long = "x".repeat(4000);
    for _ in 0..40 {
        env.cq()
            .args(["push", "-n", &long, "-e", "0"])
            .assert()
            .success();
    }
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            "set -o pipefail; \"$CQ\" list | head -c 10 >/dev/null; echo \"rc=$?\"",
        ])
        .env("CQ", CQ)
        .env("CQ_QUEUE", &env.queue)
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "rc=0\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn files_are_private_whatever_the_umask() {
    for umask in ["000", "022", "077"] {
        let env = Env::new();
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("umask {umask}; exec \"$CQ\" push -n x -e 0")])
            .env("CQ", CQ)
            .env("CQ_QUEUE", &env.queue)
            .output()
            .unwrap();
        assert!(out.status.success());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&env.queue), 0o600, "umask {umask}");
        assert_eq!(mode(&env.queue.with_extension("jsonl.lock")), 0o600);
        assert_eq!(mode(env.queue.parent().unwrap()), 0o700);
    }
}

#[test]
fn default_queue_follows_xdg_state_home_then_home() {
    let env = Env::new();
    let xdg = env.path("xdg");
    env.cq()
        .env_remove("CQ_QUEUE")
        .env("XDG_STATE_HOME", &xdg)
        .args(["push", "-n", "x", "-e", "0"])
        .assert()
        .success();
    assert!(xdg.join("cq/queue.jsonl").is_file());
    let home = env.path("home");
    env.cq()
        .env_remove("CQ_QUEUE")
        .env_remove("XDG_STATE_HOME")
        .env("HOME", &home)
        .args(["push", "-n", "x", "-e", "0"])
        .assert()
        .success();
    assert!(home.join(".local/state/cq/queue.jsonl").is_file());
    let f = env.path("explicit.jsonl");
    env.cq()
        .arg("--queue")
        .arg(format!("file:{}", f.display()))
        .args(["push", "-n", "x", "-e", "0"])
        .assert()
        .success();
    assert!(f.is_file());
}

#[test]
fn corrupt_line_is_reported_skipped_and_kept_byte_for_byte() {
    let env = Env::new();
    env.push("a", 0);
    let garbage = "{this is not json \"pulled\":false}";
    let mut text = env.text();
    text.push_str(garbage);
    text.push('\n');
    std::fs::write(&env.queue, &text).unwrap();
    env.push("b", 0);
    env.cq()
        .arg("pull")
        .assert()
        .success()
        .stderr(predicate::str::contains("line 2: not valid JSON"))
        .stdout(predicate::str::contains("\"a\"").and(predicate::str::contains("\"b\"")));
    // Record times have second precision: let them be older than 0s.
    std::thread::sleep(Duration::from_millis(1100));
    env.cq()
        .args(["compact", "--older-than", "0s"])
        .assert()
        .success()
        .stderr(predicate::str::contains("line 2: not valid JSON"));
    assert_eq!(env.text(), format!("{garbage}\n"));
}

#[test]
fn torn_tail_never_swallows_the_next_record() {
    let env = Env::new();
    env.push("a", 0);
    let mut text = env.text();
    text.push_str("{\"name\":\"torn\",\"sta");
    std::fs::write(&env.queue, &text).unwrap();
    // Readers leave an unterminated last line alone.
    env.cq().args(["list"]).assert().success().stderr("");
    env.push("b", 0);
    let out = env.cq().arg("pull").output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["a", "b"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: not valid JSON"));
}

#[test]
fn nested_pulled_keys_are_not_flipped() {
    let env = Env::new();
    let line = r#"{"name":"n","completed_at":"2026-01-01T00:00:00Z","output_dir":"/o","status":"success","meta":{"pulled":false},"note":"\"pulled\":false","pulled":false}"#;
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, format!("{line}\n")).unwrap();
    env.cq()
        .arg("pull")
        .assert()
        .success()
        .stdout(format!("{line}\n"));
    let expect = line.replacen(
        "\"note\":\"\\\"pulled\\\":false\",\"pulled\":false",
        "\"note\":\"\\\"pulled\\\":false\",\"pulled\":true ",
        1,
    );
    assert_eq!(env.text(), format!("{expect}\n"));
}

#[test]
fn compact_removes_only_old_pulled_records() {
    let env = Env::new();
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    let old_pulled = r#"{"name":"old","completed_at":"2020-01-01T00:00:00Z","output_dir":"/o","status":"success","pulled":true}"#;
    let old_pending = r#"{"name":"oldp","completed_at":"2020-01-01T00:00:00Z","output_dir":"/o","status":"success","pulled":false}"#;
    let no_time = r#"{"name":"notime","status":"success","pulled":true}"#;
    std::fs::write(
        &env.queue,
        format!("{old_pulled}\n{old_pending}\n{no_time}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&env.queue, std::fs::Permissions::from_mode(0o640)).unwrap();
    env.push("new", 0);
    env.cq()
        .arg("compact")
        .assert()
        .success()
        .stdout(predicate::str::contains("removed 1 "));
    let left = names(&env.records());
    assert_eq!(left, ["oldp", "notime", "new"]);
    // The rewrite keeps the mode the user gave the file.
    assert_eq!(
        std::fs::metadata(&env.queue).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // The pending records are still delivered, once.
    let out = env.cq().arg("pull").output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["oldp", "new"]);
    env.cq().arg("pull").assert().stdout("");
}

#[test]
fn missing_queue_reads_as_empty_and_creates_nothing() {
    let env = Env::new();
    for args in [&["list"][..], &["pull"], &["compact"]] {
        env.cq()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("{").not());
    }
    assert!(!env.queue.parent().unwrap().exists());
}

/// `--format brief`: one plain line per record (name, status, exit code,
/// when, duration, output directory), text escaped, and nothing at all
/// when nothing is pending: what an agent session's hook prints.
#[test]
fn brief_format_is_one_plain_line_per_record() {
    let env = Env::new();
    env.cq()
        .args(["wrap", "-n", "build", "--", "sh", "-c", "exit 2"])
        .assert()
        .code(2);
    env.push("ok", 0);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&env.queue)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(b"{\"name\":\"legacy\\u001b[31m\",\"completed_at\":\"2026-01-01T00:00:00Z\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":false}\n")
        })
        .unwrap();
    let out = env
        .cq()
        .args(["pull", "--format", "brief"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("build: failure (exit 2), completed "),
        "{text}"
    );
    assert!(
        lines[0].contains(" after ")
            && lines[0].contains(&format!(", output {}, id ", env.dir.path().display()))
    );
    assert!(
        lines[1].starts_with("ok: success (exit 0), completed "),
        "{text}"
    );
    assert_eq!(
        lines[2],
        "legacy\\u{1b}[31m: success, completed 2026-01-01T00:00:00Z, output /o"
    );
    assert!(!text.contains('\u{1b}'), "no raw control characters");
    // Nothing pending: nothing printed.
    env.cq()
        .args(["pull", "--format", "brief"])
        .assert()
        .success()
        .stdout("");
}

/// Long work says how far it got on a terminal (`script` gives cq one),
/// and prints nothing extra when piped.
#[test]
fn compact_and_migrate_show_progress_on_a_terminal_only() {
    if !common::have("script") {
        return common::skip(
            "compact_and_migrate_show_progress_on_a_terminal_only",
            "script (util-linux) is not installed",
        );
    }
    let env = Env::new();
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!(
            "{{\"name\":\"j{i}\",\"completed_at\":\"2020-01-01T00:00:00Z\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":true ,\"id\":\"id-{i}\"}}\n"
        ));
    }
    std::fs::write(&env.queue, &text).unwrap();
    let db = env.path("copy.db");
    // Piped: the summary on stdout, nothing on stderr.
    env.cq()
        .args(["migrate", "--to"])
        .arg(format!("sqlite:{}", db.display()))
        .assert()
        .success()
        .stderr("");
    let on_tty = |args: &str| {
        let out = std::process::Command::new("script")
            .args(["-qec", &format!("'{}' {args}", common::CQ), "/dev/null"])
            .env("CQ_QUEUE", &env.location)
            .env("XDG_STATE_HOME", env.path("xdg"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_tty(&format!(
        "migrate --to sqlite:{}",
        env.path("tty.db").display()
    ));
    assert!(shown.contains("cq: migrating: "), "{shown}");
    let shown = on_tty("compact --older-than 1d");
    assert!(shown.contains("cq: compacting: "), "{shown}");
    assert!(shown.contains("removed 100000"), "{shown}");
}

/// `cq push --batch`: one record per good line, the bad ones named by
/// their line number and skipped, exit 1 when any was bad.
#[test]
fn push_batch_keeps_the_good_lines_and_names_the_bad_ones() {
    let env = Env::new();
    let input = "a 0\nb 3\n{\"name\":\"c\",\"status\":\"success\",\"meta\":{\"k\":\"v\"},\"output_dir\":\"out\"}\nbad line here\n{\"name\":\"d\"}\n\ne 256\n";
    let out = env
        .cq()
        .args(["push", "--batch", "-m", "x=1"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for n in [4, 5, 7] {
        assert!(err.contains(&format!("standard input line {n}: ")), "{err}");
    }
    assert_eq!(err.lines().count(), 3, "{err}");
    let recs = env.records();
    let names: Vec<&str> = recs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(recs[1]["status"], "failure");
    assert_eq!(recs[1]["exit_code"], 3);
    assert_eq!(recs[2]["meta"]["x"], "1");
    assert_eq!(recs[2]["meta"]["k"], "v");
    assert!(recs[2]["output_dir"].as_str().unwrap().ends_with("/out"));
    assert_ne!(recs[0]["id"], recs[1]["id"], "each its own id");
    // All good: exit 0. --batch does not go with -n.
    env.cq()
        .args(["push", "--batch"])
        .write_stdin("f 0\n")
        .assert()
        .success();
    env.cq()
        .args(["push", "--batch", "-n", "x"])
        .assert()
        .code(2);
}

/// A producer that writes one line at a time gets each record into the
/// queue before it writes the next: a group is written whenever the input
/// read so far is used up.
#[test]
fn push_batch_writes_what_it_has_before_waiting_for_more() {
    use std::io::Write;
    let env = Env::new();
    let mut child = env
        .cq_std()
        .args(["push", "--batch"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for name in ["first", "second"] {
        writeln!(stdin, "{name} 0").unwrap();
        stdin.flush().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read_to_string(&env.queue).is_ok_and(|t| t.contains(name)) {
            assert!(std::time::Instant::now() < deadline, "{name} never written");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(env.records().len(), 2);
}

/// `cq where`: the queue in use, where it came from (the flag, CQ_QUEUE,
/// the default), whether it exists, and what cq keeps beside it.
#[test]
fn where_says_which_queue_and_why() {
    let env = Env::new();
    let run = |c: &mut common::Cq| {
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        stdout_of(&out)
    };
    let text = run(env.cq().arg("where"));
    assert!(
        text.starts_with(&format!("queue   {} (jsonl tier)\n", env.queue.display())),
        "{text}"
    );
    assert!(text.contains("from    the CQ_QUEUE variable"), "{text}");
    assert!(text.contains("does not exist yet"), "{text}");
    assert!(text.contains(".lock (the lock)"), "{text}");
    let db = env.path("q.db");
    let text = run(env
        .cq()
        .args(["where", "-q"])
        .arg(format!("sqlite:{}", db.display())));
    assert!(
        text.contains("(sqlite tier)") && text.contains("from    the --queue flag"),
        "{text}"
    );
    let text = run(env.cq().env_remove("CQ_QUEUE").arg("where"));
    let state = env.path("xdg-state");
    assert!(
        text.starts_with(&format!("queue   {}/cq/queue.jsonl", state.display())),
        "{text}"
    );
    assert!(
        text.contains("from    the default, $XDG_STATE_HOME"),
        "{text}"
    );
    env.push("a", 0);
    let text = run(env.cq().arg("where"));
    assert!(!text.contains("does not exist"), "{text}");
}

/// A usage error keeps clap's tip and points at the subcommand's own help;
/// `push NAME` and `ack NAME` say what to type instead; the queue is not
/// touched.
#[test]
fn usage_errors_say_what_to_do() {
    let env = Env::new();
    let err = |args: &[&str], code: i32| {
        let out = env.cq().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
        let e = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
        e
    };
    let e = err(&["wrap", "--nmae", "foo", "--", "true"], 2);
    assert!(
        e.contains("tip: a similar argument exists: '--name'"),
        "{e}"
    );
    assert!(e.ends_with("(see cq wrap --help)\n"), "{e}");
    let e = err(&["push", "deploy"], 2);
    assert!(
        e.contains("cq push -n NAME --exit-code N") && e.ends_with("(see cq push --help)\n"),
        "{e}"
    );
    let e = err(&["pul"], 2);
    assert!(
        e.contains("'pull'") && e.ends_with("(see cq --help)\n"),
        "{e}"
    );
    env.push("build", 0);
    let e = err(&["ack", "build"], 1);
    assert!(e.contains("cq ack takes record ids"), "{e}");
    assert!(!env.text().contains("\"pulled\":true"), "nothing marked");
}

/// A queue spec starting with `~` (quoted, so the shell left it) means
/// the home directory, never a directory named `~`; `~user` is refused.
#[test]
fn a_tilde_in_a_queue_spec_is_home_never_a_directory() {
    let env = Env::new();
    let home = env.path("home");
    for spec in ["~/q.jsonl", "file:~/f.jsonl", "sqlite:~/q.db"] {
        env.cq()
            .env("HOME", &home)
            .args(["-q", spec, "push", "-n", "t", "--exit-code", "0"])
            .assert()
            .success();
    }
    assert!(
        home.join("q.jsonl").exists()
            && home.join("f.jsonl").exists()
            && home.join("q.db").exists()
    );
    assert!(!env.path("~").exists(), "no directory named ~");
    env.cq()
        .args(["-q", "~bob/q.jsonl", "push", "-n", "t", "--exit-code", "0"])
        .assert()
        .code(2);
    assert!(!env.path("~bob").exists());
}

/// `cq list` on a terminal (`script` gives one) fits its rows to the
/// width (COLUMNS, else 80): paths under HOME from `~`, long cells cut in
/// the middle; in a pipe every cell is whole. `--columns` chooses the
/// columns and their order (the id among them), `+COL` adds to the default,
/// and a column that does not exist is a usage error.
#[test]
fn list_fits_a_terminal_keeps_a_pipe_whole_and_takes_columns() {
    if !common::have("script") {
        return common::skip(
            "list_fits_a_terminal_keeps_a_pipe_whole_and_takes_columns",
            "script (util-linux) is not installed",
        );
    }
    let env = Env::new();
    let long = "a-really-quite-long-job-name-that-goes-on-and-on-and-on";
    let deep = env.path("home/some/very/deep/output/directory/for/this/job");
    for name in ["short", long] {
        env.cq()
            .args(["wrap", "-n", name, "-o"])
            .arg(deep.join(name))
            .args(["--", "true"])
            .assert()
            .success();
    }
    let ids: Vec<String> = env
        .records()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let on_tty = |args: &str, columns: Option<&str>| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &format!("'{}' {args}", common::CQ), "/dev/null"])
            .env("CQ_QUEUE", &env.location)
            .env("HOME", env.path("home"))
            .env("XDG_STATE_HOME", env.path("xdg"))
            .env("NO_COLOR", "1")
            .env_remove("COLUMNS")
            .stdin(std::process::Stdio::null());
        if let Some(w) = columns {
            c.env("COLUMNS", w);
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).replace('\r', "")
    };
    let fits = |text: &str, width: usize| {
        assert!(text.lines().count() == 3, "{text}");
        for l in text.lines() {
            assert!(
                l.chars().count() <= width,
                "wider than {width}: {l:?}\n{text}"
            );
        }
    };
    let shown = on_tty("list", None);
    fits(&shown, 80);
    assert!(shown.contains("~/some/") && shown.contains('…'), "{shown}");
    assert!(!shown.contains(long), "{shown}");
    let shown = on_tty("list --columns name,status,exit,id,output", Some("72"));
    fits(&shown, 72);
    let head: Vec<&str> = shown.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(head, ["NAME", "STATUS", "EXIT", "ID", "OUTPUT"], "{shown}");
    // Ids are copied from here: never shortened.
    for id in &ids {
        assert!(shown.contains(id.as_str()), "{shown}");
    }
    let shown = on_tty("list --columns name,status,output", Some("40"));
    fits(&shown, 40);
    // In a pipe: whole.
    let piped = env
        .cq()
        .args(["list", "--format", "table", "--columns", "+id"])
        .env("HOME", env.path("home"))
        .output()
        .unwrap();
    let piped = common::stdout_of(&piped);
    assert!(piped.contains(long) && !piped.contains('…'), "{piped}");
    assert!(piped.contains(deep.join(long).to_str().unwrap()), "{piped}");
    let head: Vec<&str> = piped.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
        [
            "NAME",
            "STATUS",
            "EXIT",
            "COMPLETED",
            "DURATION",
            "OUTPUT",
            "PULLED",
            "ID"
        ],
        "{piped}"
    );
    // Columns asked for are a table in a pipe too; --json still wins.
    let piped = env
        .cq()
        .args(["list", "--columns", "name,id"])
        .output()
        .unwrap();
    let piped = common::stdout_of(&piped);
    let head: Vec<&str> = piped.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(head, ["NAME", "ID"], "{piped}");
    assert!(piped.contains(ids[0].as_str()), "{piped}");
    let json = env
        .cq()
        .args(["list", "--columns", "name,id", "--json"])
        .output()
        .unwrap();
    assert!(common::stdout_of(&json).starts_with('{'), "{json:?}");
    // Running jobs too.
    let stop = env.path("stop");
    let out = env
        .cq()
        .args(["wrap", "-d", "-n", long, "--", "sh", "-c"])
        .arg(format!(
            "i=0; while [ ! -e {} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; : {}",
            stop.display(),
            "a long command line ".repeat(5)
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let shown = on_tty("list --running", Some("60"));
    assert_eq!(shown.lines().count(), 2, "{shown}");
    for l in shown.lines() {
        assert!(l.chars().count() <= 60, "{l:?}\n{shown}");
    }
    std::fs::write(&stop, "").unwrap();
    env.cq()
        .args(["wait", "--timeout", "30s", stdout_of(&out).trim()])
        .assert()
        .success();
    let before = std::fs::read(&env.queue).unwrap();
    env.cq()
        .args(["list", "--columns", "name,nmae"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains("no column 'nmae'"));
    assert_eq!(std::fs::read(&env.queue).unwrap(), before);
}
