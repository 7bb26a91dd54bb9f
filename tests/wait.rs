//! Waiting and watching: woken by other processes' pushes, timeouts on
//! time, follow delivering exactly once, no CPU while idle, a killed
//! wrapper turned into exactly one lost record, and stats on synthetic
//! queues.

mod common;

use common::{Env, names, parse_lines, stdout_of};
use predicates::prelude::*;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Waits for one child and returns its exit code and the CPU it used
/// (wait4's rusage: this child only, whatever other tests run meanwhile).
fn wait_with_cpu(child: std::process::Child) -> (Option<i32>, Duration) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let mut status = 0;
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(pid, child.id() as i32);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, tv(ru.ru_utime) + tv(ru.ru_stime))
}

#[test]
fn wait_wakes_on_a_push_from_another_process() {
    let env = Env::new();
    let waiter = env
        .cq_std()
        .args(["wait", "build", "test", "--timeout", "30s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    env.push("build", 0);
    std::thread::sleep(Duration::from_millis(100));
    let pushed = Instant::now();
    env.push("test", 4);
    let out = waiter.wait_with_output().unwrap();
    let latency = pushed.elapsed();
    assert_eq!(out.status.code(), Some(4), "exit code of the failed job");
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["build", "test"]);
    eprintln!("wait woke {latency:?} after the push started");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
}

#[test]
fn wait_counts_pending_records_and_returns_at_once() {
    let env = Env::new();
    env.push("done", 0);
    env.cq().args(["wait", "done"]).assert().success();
    // --pull consumes it; a second wait then needs a new record.
    env.cq().args(["wait", "done", "--pull"]).assert().success();
    env.cq()
        .args(["list", "--pending", "--count"])
        .assert()
        .stdout("0\n");
    // Pulled, and completed before the wait began (records have second
    // precision, so step into the next second): it takes a new record.
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis();
    std::thread::sleep(Duration::from_millis(u64::from(1000 - ms) + 20));
    env.cq()
        .args(["wait", "done", "--timeout", "1s"])
        .assert()
        .code(124);
    env.push("done", 0);
    env.cq()
        .args(["wait", "done", "--timeout", "1s"])
        .assert()
        .success();
}

#[test]
fn timeouts_exit_124_on_time() {
    let env = Env::new();
    for args in [
        &["wait", "never", "--timeout", "1s"][..],
        &["pull", "--wait", "--timeout", "1s"],
        &["pull", "--follow", "--timeout", "1s"],
    ] {
        let t = Instant::now();
        env.cq()
            .args(args)
            .timeout(Duration::from_secs(60))
            .assert()
            .code(124)
            .stdout("");
        let took = t.elapsed();
        // Not before its time; after it, by how much is the machine's load.
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_secs(10),
            "{args:?} took {took:?}"
        );
    }
    env.cq().args(["pull", "--timeout", "1s"]).assert().code(2);
}

#[test]
fn idle_wait_uses_no_cpu() {
    let env = Env::new();
    env.push("other", 0);
    let child = env
        .cq_std()
        .args(["wait", "nothing", "--timeout", "3s"])
        .spawn()
        .unwrap();
    let (code, used) = wait_with_cpu(child);
    assert_eq!(code, Some(124));
    eprintln!("3 s idle wait used {used:?} of CPU");
    // A wait that polled would use about its 3 s. An optimized cq starts
    // and sleeps in a few ms; a debug build's start alone may cost more
    // on a loaded machine, so there only a third of the wait is the bound.
    let bound = if cfg!(debug_assertions) {
        Duration::from_secs(1)
    } else {
        Duration::from_millis(50)
    };
    assert!(used < bound, "{used:?}");
}

#[test]
fn pull_follow_delivers_new_records_in_order_exactly_once() {
    let env = Env::new();
    env.push("before", 0);
    let (mut follower, mut lines) = env.follow(&["pull", "--follow", "--json"]);
    let mut got = vec![lines.next_line()];
    for i in 0..5 {
        env.push(&format!("r{i}"), 0);
        got.push(lines.next_line());
    }
    // A concurrent compaction does not make it deliver anything again.
    std::thread::sleep(Duration::from_millis(1100));
    env.cq()
        .args(["compact", "--older-than", "0s"])
        .assert()
        .success();
    env.push("last", 0);
    got.push(lines.next_line());
    // Printed comes before marked: let the follower mark what it printed
    // before stopping it, or that is rightly delivered again (at-least-once).
    env.await_no_pending();
    unsafe { libc::kill(follower.id() as i32, libc::SIGTERM) };
    let st = follower.wait().unwrap();
    assert_eq!(st.signal(), Some(libc::SIGTERM));
    let got = names(&parse_lines(&got.join("\n")));
    assert_eq!(got, ["before", "r0", "r1", "r2", "r3", "r4", "last"]);
    env.cq().arg("pull").assert().stdout("");
}

#[test]
fn list_follow_prints_each_record_once_across_compaction() {
    let env = Env::new();
    env.push("a", 0);
    let (mut follower, mut lines) = env.follow(&["list", "--follow", "--json"]);
    let mut got = vec![lines.next_line()];
    env.push("b", 0);
    got.push(lines.next_line());
    env.cq().arg("pull").assert().success();
    std::thread::sleep(Duration::from_millis(1100));
    env.cq()
        .args(["compact", "--older-than", "0s"])
        .assert()
        .success();
    env.push("c", 0);
    got.push(lines.next_line());
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(names(&parse_lines(&got.join("\n"))), ["a", "b", "c"]);
}

#[test]
fn killed_wrapper_becomes_exactly_one_lost_record() {
    let env = Env::new();
    let mut wrapper = env
        .cq_std()
        .args(["wrap", "-n", "doomed", "--", "sleep", "30"])
        .spawn()
        .unwrap();
    // Visible while it runs.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = env
            .cq()
            .args(["list", "--running", "--json"])
            .output()
            .unwrap();
        if stdout_of(&out).contains("\"doomed\"") {
            let job: serde_json::Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
            assert_eq!(job["pid"], wrapper.id());
            assert_eq!(job["command"], serde_json::json!(["sleep", "30"]));
            break;
        }
        assert!(Instant::now() < deadline, "never listed as running");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A waiter already blocked on it must be woken by the wrapper's death.
    let waiter = env
        .cq_std()
        .args(["wait", "doomed", "--timeout", "20s", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let job = common::children_of(wrapper.id());
    assert!(!job.is_empty(), "the wrapper has no child");
    wrapper.kill().unwrap();
    wrapper.wait().unwrap();
    // Three readers race to notice.
    let readers: Vec<_> = (0..3)
        .map(|i| {
            let args: &[&str] = match i {
                0 => &["list", "--running"],
                1 => &["pull", "--limit", "1000"],
                _ => &["list"],
            };
            env.cq_std()
                .args(args)
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in readers {
        assert!(r.wait().unwrap().success());
    }
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let rec = &parse_lines(&stdout_of(&out))[0];
    assert_eq!(rec["lost"], true);
    assert_eq!(rec["status"], "failure");
    env.cq()
        .args(["list", "--running", "--count"])
        .assert()
        .stdout("0\n");
    let lost: Vec<_> = env
        .records()
        .into_iter()
        .filter(|r| r["name"] == "doomed")
        .collect();
    assert_eq!(lost.len(), 1, "{lost:?}");
    // The orphaned job is ours to end.
    common::kill_all(&job);
}

#[test]
fn color_follows_flag_and_no_color() {
    let env = Env::new();
    env.push("ok", 0);
    env.push("bad", 1);
    env.cq()
        .args(["list", "--format", "table", "--color", "always"])
        .assert()
        .stdout(
            predicate::str::contains("\u{1b}[32msuccess")
                .and(predicate::str::contains("\u{1b}[31mfailure")),
        );
    env.cq()
        .env("NO_COLOR", "1")
        .args(["list", "--format", "table"])
        .assert()
        .stdout(predicate::str::contains("\u{1b}").not());
    env.cq()
        .args(["list", "--format", "table", "--color", "never"])
        .assert()
        .stdout(predicate::str::contains("\u{1b}").not());
}

/// A queue of `n` pulled records spaced `step` seconds apart, ending now.
fn synthetic(env: &Env, n: usize, step: i64, hosts: usize) -> String {
    let now = jiff::Timestamp::now().as_second();
    let mut text = String::new();
    for i in 0..n {
        let t = jiff::Timestamp::from_second(now - (n - 1 - i) as i64 * step).unwrap();
        text.push_str(&format!(
            "{{\"name\":\"j{i}\",\"completed_at\":\"{}\",\"output_dir\":\"/o\",\"status\":\"{}\",\"pulled\":{},\"host\":\"h{}\",\"pid\":{}}}\n",
            t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            if i % 5 == 0 { "failure" } else { "success" },
            i % 2 == 0,
            i % hosts,
            1000 + i
        ));
    }
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, &text).unwrap();
    text
}

fn stats(env: &Env) -> serde_json::Value {
    let out = env.cq().args(["stats", "--json"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&stdout_of(&out)).unwrap()
}

#[test]
fn stats_places_ten_a_day_in_jsonl() {
    let env = Env::new();
    let text = synthetic(&env, 10, 86400 / 10, 1);
    let s = stats(&env);
    let recs = parse_lines(&text);
    assert_eq!(s["records"], recs.len());
    assert_eq!(
        s["pending"],
        recs.iter().filter(|r| r["pulled"] == false).count()
    );
    assert_eq!(
        s["failures"],
        recs.iter().filter(|r| r["status"] == "failure").count()
    );
    assert_eq!(s["peak_per_hour"], 1);
    assert_eq!(s["hosts"], 1);
    assert_eq!(s["writers"], 10);
    assert_eq!(s["tier"], "jsonl");
    assert!(s["reason"].as_str().unwrap().contains("busiest minute 1"));
    assert!(s.get("migrate").is_none(), "no move advised: {s}");
    // The other checklist items, as the file answers them.
    let also: Vec<&str> = s["also"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(also.len(), 3, "{also:?}");
    assert!(also[0].contains("consumer groups or replay"), "{also:?}");
    assert!(also[1].contains("as durable as the disk"), "{also:?}");
    assert!(also[2].contains("Yes: cat the file"), "{also:?}");
    env.cq()
        .args(["stats", "-v"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "            Can you read the queue state",
        ));
}

#[test]
fn stats_places_three_hundred_a_minute_above_jsonl() {
    let env = Env::new();
    // 300 records in each of 5 minutes: one every 0.2 s is finer than the
    // records' seconds, so put 5 records per second.
    let now = jiff::Timestamp::now().as_second() / 60 * 60 - 60;
    let mut text = String::new();
    for i in 0..1500i64 {
        let t = jiff::Timestamp::from_second(now - 300 + i / 5).unwrap();
        text.push_str(&format!(
            "{{\"name\":\"j{i}\",\"completed_at\":\"{}\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":true}}\n",
            t.strftime("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, &text).unwrap();
    let s = stats(&env);
    assert_eq!(s["records"], 1500);
    assert_eq!(s["peak_per_minute"], 300);
    assert_eq!(s["tier"], "sqlite");
    assert_eq!(s["current_tier"], "jsonl");
    // The advice names the queue to switch to and the command that moves.
    let db = env.queue.with_extension("db");
    assert_eq!(s["switch_to"], format!("CQ_QUEUE=sqlite:{}", db.display()));
    assert_eq!(
        s["migrate"],
        format!("cq migrate --to sqlite:{}", db.display())
    );
    // Following the advice works, and the new queue measures the same.
    let to = format!("sqlite:{}", db.display());
    env.cq()
        .args(["migrate", "--to", &to])
        .assert()
        .success()
        .stdout(predicate::str::contains("copied 1500 of 1500"));
    let out = env
        .cq()
        .env("CQ_QUEUE", &to)
        .args(["stats", "--json"])
        .output()
        .unwrap();
    let moved: serde_json::Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    assert_eq!(moved["records"], 1500);
    assert_eq!(moved["current_tier"], "sqlite");
    assert!(moved.get("migrate").is_none(), "{moved}");
    // 1500 records over the 5 clock minutes from first to last (a mean
    // over the 299 s between them, 301/minute, was above the peak).
    assert_eq!(s["mean_minutes"], 5, "{s}");
    assert_eq!(s["mean_per_minute"], 300.0, "{s}");
}

#[test]
fn stats_sends_several_hosts_to_a_networked_tier() {
    let env = Env::new();
    synthetic(&env, 12, 3600, 3);
    let s = stats(&env);
    assert_eq!(s["hosts"], 3);
    assert_eq!(s["tier"], "redis");
    assert!(s["checklist"].as_str().unwrap().contains("writers"));
    // On Redis: no groups item (it has them), its durability and the cost
    // of not reading it by hand.
    let also = s["also"].to_string();
    assert!(!also.contains("consumer groups"), "{also}");
    assert!(also.contains("appendfsync always"), "{also}");
    assert!(also.contains("cq list shows it"), "{also}");
    // The report for people says the same.
    env.cq()
        .arg("stats")
        .assert()
        .success()
        .stdout(predicate::str::contains("tier        redis"));
}

/// 3,000 records in one second are the rubric's Redis row although no
/// minute reaches it, and the advised move pastes into bash, zsh and fish
/// (the Redis URL's `?` is a glob to zsh and fish unless quoted).
#[test]
fn stats_sees_the_busiest_second_and_its_move_line_pastes_into_every_shell() {
    let env = Env::new();
    let t = jiff::Timestamp::now().as_second() / 60 * 60 - 120;
    let ts = jiff::Timestamp::from_second(t)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "{{\"name\":\"b{i}\",\"completed_at\":\"{ts}\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":true}}\n"
        ));
    }
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, &text).unwrap();
    let s = stats(&env);
    assert_eq!(s["peak_per_second"], 3000);
    assert_eq!(s["tier"], "redis", "{s}");
    assert!(
        s["reason"]
            .as_str()
            .unwrap()
            .contains("busiest second 3000")
    );
    let report = env.cq().arg("stats").output().unwrap();
    let report = stdout_of(&report);
    // The move line and its continuation (broken after `&&` past 80
    // columns), as a user pastes them.
    let mut lines = report.lines().skip_while(|l| !l.starts_with("move"));
    let mut line = lines.next().expect("a move line")[4..].trim().to_string();
    for l in lines.take_while(|l| l.starts_with("              ")) {
        line.push('\n');
        line.push_str(l.trim());
    }
    let url = "redis://127.0.0.1:6379/0?stream=cq";
    let want = format!("migrate\n--to\n{url}\n{url}\n");
    for (shell, args, fake) in [
        (
            "bash",
            vec!["--norc", "-c"],
            "cq() { printf '%s\\n' \"$@\"; }",
        ),
        ("zsh", vec!["-f", "-c"], "cq() { printf '%s\\n' \"$@\"; }"),
        (
            "fish",
            vec!["--no-config", "-c"],
            "function cq; printf '%s\\n' $argv; end",
        ),
    ] {
        if !common::have(shell) {
            common::skip(
                "stats_sees_the_busiest_second_and_its_move_line_pastes_into_every_shell",
                &format!("{shell} is not installed"),
            );
            continue;
        }
        let out = std::process::Command::new(shell)
            .args(&args)
            .arg(format!("{fake}; {line}; echo $CQ_QUEUE"))
            .env_remove("CQ_QUEUE")
            .output()
            .unwrap();
        assert_eq!(stdout_of(&out), want, "{shell}: {line}: {out:?}");
    }
}

/// `pull --follow --limit N` does what its help says: N records in all,
/// then exit 0, the rest left pending (it once pulled everything).
#[test]
fn follow_with_a_limit_stops_after_that_many() {
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.push(n, 0);
    }
    let out = env
        .cq()
        .args([
            "pull",
            "--follow",
            "--limit",
            "2",
            "--json",
            "--timeout",
            "20s",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["a", "b"]);
    env.cq()
        .args(["list", "--pending", "--count"])
        .assert()
        .stdout("1\n");
}

/// Records without `completed_at` (a legacy writer's) are counted and
/// said, but in no throughput: ten of them and one dated record make a
/// mean of one record, not eleven.
#[test]
fn stats_counts_undated_records_apart() {
    let env = Env::new();
    let mut text = String::new();
    for i in 0..10 {
        text.push_str(&format!(
            "{{\"name\":\"old{i}\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":true}}\n"
        ));
    }
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, &text).unwrap();
    env.push("dated", 0);
    let s = stats(&env);
    assert_eq!(s["records"], 11);
    assert_eq!(s["undated"], 10);
    assert_eq!(s["peak_per_minute"], 1);
    // One record over the minimum window of a minute.
    assert_eq!(s["mean_per_minute"].as_f64().unwrap(), 1.0, "{s}");
    let out = env.cq().arg("stats").output().unwrap();
    assert!(
        stdout_of(&out).contains("10 without completed_at"),
        "{out:?}"
    );
}

/// A waiter keeps hearing pushes after the queue's directory is removed
/// and made again (`rm -r` of the state directory): it used to sleep on a
/// watch of a directory that no longer existed, until its timeout.
#[test]
fn waiters_hear_pushes_after_the_queue_directory_is_made_again() {
    let env = Env::new();
    env.push("first", 0);
    let waiter = env
        .cq_std()
        .args(["wait", "late", "--timeout", "30s", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    std::fs::remove_dir_all(env.path("state")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pushed = Instant::now();
    env.push("late", 0);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(names(&parse_lines(&stdout_of(&out))), ["late"]);
    // Woken by the push (a second's look for the directory), not by the
    // 30 s timeout.
    assert!(
        pushed.elapsed() < Duration::from_secs(20),
        "{:?}",
        pushed.elapsed()
    );
}

/// A name nothing can answer (a typo, a record someone already pulled)
/// ends the wait after its 10 s grace with exit 1 and a line that says so,
/// with the closest known name, in a pipe as on a terminal; a running job
/// of that name keeps it waiting past the grace; --new-only waits for a
/// job not started yet.
#[test]
fn a_wait_that_nothing_can_answer_says_so() {
    let env = Env::new();
    env.push("build", 0);
    env.cq().args(["pull"]).assert().success();
    let t = Instant::now();
    let out = env
        .cq()
        .args(["wait", "biuld", "--timeout", "60s"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing to wait for") && err.contains("did you mean 'build'?"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(30),
        "{took:?}"
    );
    // The pulled record's own name: said so too, with the id that still
    // answers a wait.
    let id = env.records()[0]["id"].as_str().unwrap().to_string();
    let out = env
        .cq()
        .args(["wait", "build", "--timeout", "60s"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was pulled") && err.contains(&format!("cq wait {id} prints it again")),
        "{err}"
    );
    env.cq()
        .args(["wait", "--timeout", "20s", "--json", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains(id.as_str()));
    // A running job answers: the wait goes past the grace to its end.
    let id = String::from_utf8(
        env.cq()
            .args(["wrap", "-d", "-n", "slow", "--", "sleep", "12"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(!id.trim().is_empty());
    let out = env
        .cq()
        .args(["wait", "slow", "--timeout", "60s"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // --new-only: no check; the timeout ends it.
    env.cq()
        .args(["wait", "future", "--new-only", "--timeout", "11s"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(124);
}

/// On a terminal (`script` gives one) the wait says what it waits for as
/// a whole line, so that the job's own output on the same terminal starts
/// a line of its own (`cq: waiting for build (0ms)done` was seen); the
/// line is said again only when the names waited for change.
#[test]
fn the_wait_status_line_ends_before_the_jobs_output() {
    if !common::have("script") {
        return common::skip(
            "the_wait_status_line_ends_before_the_jobs_output",
            "script (util-linux) is not installed",
        );
    }
    let env = Env::new();
    let go = env.path("go");
    // The job prints to the terminal once the test has seen the status
    // line (or after 30 s, so that a failed test leaves nothing running),
    // and the wait prints its record to a file, not the terminal.
    let inner = format!(
        "'{cq}' wrap -n build -- sh -c 'i=0; while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; echo done' & \
         '{cq}' wait build --timeout 60s --json > {out}; wait",
        cq = common::CQ,
        go = go.display(),
        out = env.path("waited").display(),
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env("CQ_QUEUE", &env.location)
        .env("XDG_STATE_HOME", env.path("xdg"))
        .env_remove("CQ_NAME")
        .env_remove("CQ_OUTPUT_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = common::Lines::of(child.stdout.take().unwrap(), "the terminal");
    let mut seen = Vec::new();
    loop {
        let l = lines.next_line();
        seen.push(l.clone());
        if l.contains("waiting for") {
            assert_eq!(l.trim_end(), "cq: waiting for build", "{seen:?}");
            break;
        }
    }
    std::fs::write(&go, "").unwrap();
    loop {
        let l = lines.next_line();
        seen.push(l.clone());
        if l.contains("done") {
            assert_eq!(
                l.trim_end(),
                "done",
                "the job's output on a line of its own: {seen:?}"
            );
            break;
        }
    }
    let status = common::wait_within(&mut child, Duration::from_secs(30), "script");
    assert!(status.success(), "{seen:?}");
    let waited = std::fs::read_to_string(env.path("waited")).unwrap();
    assert_eq!(names(&parse_lines(&waited)), ["build"], "{waited}");
    let said = seen.iter().filter(|l| l.contains("waiting for")).count();
    assert_eq!(said, 1, "said once: {seen:?}");
}
