//! Consumers that act (`cq pull --exec`), the same on every tier: a handler
//! per record, acknowledgement only on success, attempts counted before
//! each handler runs, retries, dead letters and `cq retry`, order per key,
//! and a consumer SIGKILLed at random moments while writers push. Each test
//! is a function of the tier, run once per tier by `tiered!` (tests/common).

#[macro_use]
mod common;

use common::{Env, Tier, parse_lines, stdout_of};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

tiered!(
    handler_gets_the_record_and_its_fields,
    fails_twice_then_succeeds_acked_once_with_three_attempts,
    always_failing_is_parked_after_n_plus_one_attempts,
    same_key_never_at_once_nor_out_of_order,
    killed_consumer_with_eight_writers_loses_nothing,
    replay_redelivers_exactly_the_records_after_the_point,
    retry_reaches_a_following_consumer,
    consumers_side_by_side_handle_each_record_once,
);

/// The handler's log, one line per event, in the order written.
fn log_lines(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn count(env: &Env, args: &[&str]) -> usize {
    let out = env.cq().args(args).arg("--count").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    stdout_of(&out).trim().parse().unwrap()
}

/// The record on stdin is the line `list --json` prints; the environment
/// has its fields; only exit 0 acknowledges; `--follow` takes records
/// pushed later and `--timeout` ends it (124).
fn handler_gets_the_record_and_its_fields(tier: Tier) {
    let env = Env::tier(tier);
    env.cq()
        .args(["push", "-n", "build", "-e", "2", "-o", "/tmp/out"])
        .assert()
        .success();
    let listed = stdout_of(&env.cq().args(["list", "--json"]).output().unwrap());
    let h = format!(
        "cat > {d}/stdin; env | grep '^CQ_' | grep -v CQ_QUEUE | sort > {d}/env",
        d = env.dir.path().display()
    );
    env.cq()
        .args(["pull", "--exec", &h])
        .assert()
        .success()
        .stdout("");
    let stdin = std::fs::read_to_string(env.path("stdin")).unwrap();
    let rec: Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(stdin.trim()).unwrap(),
        rec,
        "the record line on stdin"
    );
    let envs = std::fs::read_to_string(env.path("env")).unwrap();
    let want = format!(
        "CQ_ATTEMPT=1\nCQ_EXIT_CODE=2\nCQ_ID={}\nCQ_NAME=build\nCQ_OUTPUT_DIR=/tmp/out\nCQ_STATUS=failure\n",
        rec["id"].as_str().unwrap()
    );
    assert_eq!(envs, want);
    assert_eq!(count(&env, &["list", "--pending"]), 0, "acknowledged");

    // --follow: a record pushed while it waits is handled; the deadline
    // ends it with 124.
    let log = env.path("log");
    let mut c = env
        .cq_std()
        .args([
            "pull",
            "--exec",
            &format!("echo $CQ_NAME >> {}", log.display()),
            "--follow",
            "--timeout",
            "4s",
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    env.push("later", 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = c.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "--timeout did not end --follow");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(124));
    assert_eq!(log_lines(&env), ["later"]);
    assert_eq!(count(&env, &["list", "--pending"]), 0);
}

/// A handler that fails twice and then succeeds: three attempts (its
/// CQ_ATTEMPT says 1, 2, 3), acknowledged once, not handled again; the
/// next record of its name waits for it, even with --jobs 4.
fn fails_twice_then_succeeds_acked_once_with_three_attempts(tier: Tier) {
    let env = Env::tier(tier);
    env.push("job", 0);
    env.push("job", 0);
    env.push("other", 0);
    let d = env.dir.path().display();
    let h = format!(
        "echo \"$CQ_NAME $CQ_ATTEMPT\" >> {d}/log; n=$(cat {d}/n.$CQ_ID 2>/dev/null || echo 0); \
         n=$((n+1)); echo $n > {d}/n.$CQ_ID; [ $CQ_NAME != job ] || [ $n -ge 3 ] || [ -e {d}/first-done ] || exit 7; \
         [ $CQ_NAME != job ] || touch {d}/first-done"
    );
    let out = env
        .cq()
        .args(["pull", "--exec", &h, "--jobs", "4", "--backoff", "50ms"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = log_lines(&env);
    let jobs: Vec<&String> = log.iter().filter(|l| l.starts_with("job")).collect();
    assert_eq!(
        jobs,
        ["job 1", "job 2", "job 3", "job 1"],
        "the first job three times, then the second: {log:?}"
    );
    assert!(log.contains(&"other 1".to_string()), "{log:?}");
    assert_eq!(count(&env, &["list", "--pending"]), 0);
    assert_eq!(count(&env, &["list", "--dead"]), 0);
    // Acknowledged once: nothing left to handle.
    env.cq().args(["pull", "--exec", &h]).assert().success();
    assert_eq!(log_lines(&env).len(), log.len(), "nothing handled twice");
    let pulled: Vec<bool> = env.listed().iter().map(|r| r["pulled"] == true).collect();
    assert_eq!(pulled, [true, true, true], "each record once, pulled");
    if tier == Tier::Jsonl {
        // The cursor followed the acknowledgements: a pull reads nothing
        // of what the consumer handled.
        let cursor = std::fs::read_to_string(env.path("state/queue.jsonl.cursor")).unwrap();
        let offset: usize = cursor.split(' ').nth(5).unwrap().parse().unwrap();
        assert_eq!(offset, env.text().len(), "{cursor}");
    }
}

/// A handler that always fails: N+1 attempts, then a dead letter that
/// `list --dead` shows with its attempts and last exit code, that `stats`
/// counts, that compaction keeps and a further consumer passes by, and
/// that `cq retry` puts back.
fn always_failing_is_parked_after_n_plus_one_attempts(tier: Tier) {
    let env = Env::tier(tier);
    env.push("bad", 1);
    env.push("good", 0);
    let d = env.dir.path().display();
    let fail = format!("echo \"$CQ_NAME $CQ_ATTEMPT\" >> {d}/log; [ $CQ_NAME = good ] || exit 3");
    let out = env
        .cq()
        .args([
            "pull",
            "--exec",
            &fail,
            "--retries",
            "2",
            "--backoff",
            "10ms",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 record(s) failed 3 time(s)"),
        "{out:?}"
    );
    let bad: Vec<String> = log_lines(&env)
        .into_iter()
        .filter(|l| l.starts_with("bad"))
        .collect();
    assert_eq!(bad, ["bad 1", "bad 2", "bad 3"]);
    let dead = parse_lines(&stdout_of(
        &env.cq()
            .args(["list", "--dead", "--json"])
            .output()
            .unwrap(),
    ));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["name"], "bad");
    assert_eq!(dead[0]["attempts"], 3);
    assert_eq!(dead[0]["dead"]["exit_code"], 3);
    let id = dead[0]["id"].as_str().unwrap().to_string();
    let stats: Value = serde_json::from_str(&stdout_of(
        &env.cq().args(["stats", "--json"]).output().unwrap(),
    ))
    .unwrap();
    assert_eq!(stats["dead"], 1);
    // Parked: a plain pull and a further consumer pass it by.
    assert_eq!(count(&env, &["list", "--pending"]), 0);
    env.cq().args(["pull", "--exec", &fail]).assert().success();
    assert_eq!(log_lines(&env).len(), 4);
    // Compaction keeps it (on Kafka it removes nothing at all).
    env.cq()
        .args(["compact", "--older-than", "0s"])
        .assert()
        .success();
    assert_eq!(count(&env, &["list", "--dead"]), 1);
    // An id that is not a dead letter changes nothing.
    env.cq().args(["retry", "nope", &id]).assert().code(1);
    assert_eq!(count(&env, &["list", "--dead"]), 1);
    env.cq().args(["retry", &id]).assert().success();
    assert_eq!(count(&env, &["list", "--dead"]), 0);
    let ok = format!("echo \"$CQ_NAME $CQ_ATTEMPT\" >> {d}/log");
    env.cq().args(["pull", "--exec", &ok]).assert().success();
    assert_eq!(log_lines(&env).last().unwrap(), "bad 4");
    env.cq().args(["pull", "--exec", &ok]).assert().success();
    assert_eq!(log_lines(&env).len(), 5, "handled once after the retry");
    env.cq().args(["retry", "--all"]).assert().success();
}

/// With --jobs 4, records of one name never run at once and run in order;
/// records of different names do run at once. `--key meta.K` orders by a
/// meta value instead.
fn same_key_never_at_once_nor_out_of_order(tier: Tier) {
    let env = Env::tier(tier);
    for i in 0..4 {
        for n in ["a", "b", "c"] {
            env.cq()
                .args(["push", "-n", n, "-e", "0", "--meta", &format!("i={i}")])
                .assert()
                .success();
        }
    }
    let d = env.dir.path().display();
    let h = format!(
        "i=$(jq -r .meta.i); echo \"start $CQ_NAME $i\" >> {d}/log; sleep 0.2; echo \"end $CQ_NAME $i\" >> {d}/log"
    );
    let out = env
        .cq()
        .args(["pull", "--exec", &h, "--jobs", "4"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = log_lines(&env);
    assert_eq!(log.len(), 24, "{log:?}");
    let mut running: HashSet<String> = HashSet::new();
    let mut next: HashMap<String, usize> = HashMap::new();
    let mut most = 0;
    for l in &log {
        let w: Vec<&str> = l.split(' ').collect();
        let (what, name, i) = (w[0], w[1].to_string(), w[2].parse::<usize>().unwrap());
        if what == "start" {
            assert!(
                running.insert(name.clone()),
                "{name} twice at once: {log:?}"
            );
            let n = next.entry(name.clone()).or_default();
            assert_eq!(*n, i, "{name} out of order: {log:?}");
            *n += 1;
            most = most.max(running.len());
        } else {
            running.remove(&name);
        }
    }
    assert!(most >= 2, "different names ran side by side: {log:?}");

    // Ordered by meta.i instead: the three records of one i in turn.
    let env = Env::tier(tier);
    for n in ["a", "b", "c"] {
        env.cq()
            .args(["push", "-n", n, "-e", "0", "--meta", "i=0"])
            .assert()
            .success();
    }
    let h = format!(
        "echo \"start $CQ_NAME\" >> {d}/log; sleep 0.1; echo \"end $CQ_NAME\" >> {d}/log",
        d = env.dir.path().display()
    );
    env.cq()
        .args(["pull", "--exec", &h, "--jobs", "4", "--key", "meta.i"])
        .assert()
        .success();
    assert_eq!(
        log_lines(&env),
        ["start a", "end a", "start b", "end b", "start c", "end c"]
    );
}

/// Eight writers push while a consumer (--jobs 4) is SIGKILLed at moments
/// spread over its handlers' run, again and again; then one runs to the
/// end. Every record is handled to its end at least once, ends pulled
/// (once in the queue: acknowledging never duplicates or drops one), none
/// is parked, and every handler run saw an attempt number of its own, in
/// increasing order per record: each attempt was on record before its
/// handler started, whatever the kill interrupted.
fn killed_consumer_with_eight_writers_loses_nothing(tier: Tier) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let env = Arc::new(Env::tier(tier));
    let (writers, per) = (8, 15 * common::stress());
    let d = env.dir.path().display().to_string();
    let h = Arc::new(format!(
        "echo \"start $CQ_ID $CQ_ATTEMPT\" >> {d}/log; sleep 0.02; echo \"end $CQ_ID\" >> {d}/log"
    ));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let env = Arc::clone(&env);
            std::thread::spawn(move || {
                for j in 0..per {
                    let out = env
                        .cq_std()
                        .args(["push", "-n", &format!("w{w}-{j}"), "-e", "0"])
                        .output()
                        .unwrap();
                    assert!(out.status.success(), "{out:?}");
                }
            })
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let (env, stop, h) = (Arc::clone(&env), Arc::clone(&stop), Arc::clone(&h));
        std::thread::spawn(move || {
            let span = match tier {
                Tier::Jsonl | Tier::Sqlite => 150_000,
                Tier::Redis => 200_000,
                Tier::Kafka => 2_000_000,
            };
            let (mut n, mut kills) = (0u64, 0);
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                use std::os::unix::process::CommandExt;
                // In a process group of its own, which the kill takes
                // whole: the consumer and the handlers it runs die at
                // once, as in a crash (a handler left running would finish
                // its record and hide a record acknowledged too early).
                let mut c = env
                    .cq_std()
                    .args(["pull", "--exec", &h, "--jobs", "4", "--retries", "1000"])
                    .args(["--backoff", "10ms", "--follow"])
                    .stdout(std::process::Stdio::null())
                    .process_group(0)
                    .spawn()
                    .unwrap();
                std::thread::sleep(Duration::from_micros(n * 7919 % span));
                // Our own child's group, by its pid.
                unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
                let st = c.wait().unwrap();
                use std::os::unix::process::ExitStatusExt;
                if st.signal() == Some(libc::SIGKILL) {
                    kills += 1;
                }
            }
            kills
        })
    };
    for w in handles {
        w.join().unwrap();
    }
    // A few more kills once every record is in.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let kills = killer.join().unwrap();
    assert!(kills > 3, "the consumer was killed only {kills} times");
    let out = env
        .cq()
        .args(["pull", "--exec", &h, "--jobs", "4", "--retries", "1000"])
        .args(["--backoff", "10ms"])
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let recs = env.listed();
    assert_eq!(recs.len(), writers * per, "every push once in the queue");
    assert!(recs.iter().all(|r| r["pulled"] == true), "all acknowledged");
    assert_eq!(count(&env, &["list", "--dead"]), 0);
    let log = log_lines(&env);
    let mut ended = HashSet::new();
    let mut attempts: HashMap<String, Vec<u64>> = HashMap::new();
    for l in &log {
        let w: Vec<&str> = l.split(' ').collect();
        match w[0] {
            "start" => attempts
                .entry(w[1].to_string())
                .or_default()
                .push(w[2].parse().unwrap()),
            _ => {
                ended.insert(w[1].to_string());
            }
        }
    }
    for r in &recs {
        let id = r["id"].as_str().unwrap();
        assert!(ended.contains(id), "{} never handled to its end", r["name"]);
        let a = &attempts[id];
        assert!(
            a.windows(2).all(|w| w[0] < w[1]),
            "{}: attempt numbers {a:?} not each its own",
            r["name"]
        );
    }
    let runs: usize = attempts.values().map(Vec::len).sum();
    eprintln!(
        "{tier:?}: {} records, {kills} kills, {runs} handler runs",
        recs.len()
    );
    // Nothing is left to handle.
    let before = log_lines(&env).len();
    env.cq().args(["pull", "--exec", &h]).assert().success();
    assert_eq!(log_lines(&env).len(), before);
}

/// Replay from an id or a time makes exactly the records from that point
/// on pending again, for the default consumer (every tier) and for a group
/// (Redis, Kafka); the record lines' content never changes (on the JSONL
/// tier only the flag flips back, in place); a consumer with --exec
/// handles the replayed records again, as new attempts.
fn replay_redelivers_exactly_the_records_after_the_point(tier: Tier) {
    let env = Env::tier(tier);
    let pull = |args: &[&str]| -> Vec<String> {
        let out = env
            .cq()
            .arg("pull")
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        common::names(&parse_lines(&stdout_of(&out)))
    };
    env.push("a", 0);
    env.push("b", 0);
    // A second apart, so that a time falls between b and c (records say
    // when they completed to the second).
    std::thread::sleep(Duration::from_millis(1100));
    let t = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    for n in ["c", "d", "e"] {
        env.push(n, 0);
    }
    let original = env.text();
    let ids: HashMap<String, String> = env
        .listed()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(pull(&[]), ["a", "b", "c", "d", "e"]);
    assert_eq!(pull(&["--from", &ids["c"]]), ["c", "d", "e"], "from an id");
    assert_eq!(pull(&["--from", &t]), ["c", "d", "e"], "from a time");
    // Kafka's partitions have no common order: an id replays the other
    // partitions from the first record of its second, so which of c and d
    // come again depends on whether they completed in e's second (on a
    // loaded machine three pushes to a broker can straddle one).
    let from_e: Vec<String> = match tier {
        Tier::Kafka => {
            let second = |n: &str| -> String {
                let r = env.listed();
                let r = r.iter().find(|r| r["name"] == n).unwrap();
                r["completed_at"].as_str().unwrap()[..19].to_string()
            };
            let e_second = second("e");
            ["c", "d", "e"]
                .into_iter()
                .filter(|n| second(n) >= e_second)
                .map(String::from)
                .collect()
        }
        _ => vec!["e".to_string()],
    };
    assert_eq!(pull(&["--from", &ids["e"]]), from_e);
    assert_eq!(pull(&[]), Vec::<String>::new(), "nothing else pending");
    if tier == Tier::Jsonl {
        // Every record pulled again: the file as pushed, but for the
        // flags, flipped in place.
        let want = original.replace("\"pulled\":false", "\"pulled\":true ");
        assert_eq!(env.text(), want, "content untouched, flags in place");
        for l in env.text().lines() {
            serde_json::from_str::<Value>(l).expect("jq-readable");
        }
    }
    // Bad points change nothing.
    env.cq().args(["pull", "--from", "nope"]).assert().code(2);
    assert_eq!(pull(&[]), Vec::<String>::new());
    // A consumer that acts handles the replayed records again.
    let d = env.dir.path().display();
    let h = format!("echo \"$CQ_NAME $CQ_ATTEMPT\" >> {d}/log");
    env.cq()
        .args(["pull", "--from", &ids["c"], "--exec", &h])
        .assert()
        .success();
    assert_eq!(log_lines(&env), ["c 1", "d 1", "e 1"]);
    env.cq()
        .args(["pull", "--from", &t, "--exec", &h])
        .assert()
        .success();
    assert_eq!(log_lines(&env), ["c 1", "d 1", "e 1", "c 2", "d 2", "e 2"]);
    match tier {
        Tier::Jsonl | Tier::Sqlite => {
            env.cq()
                .args(["pull", "--group", "g", "--from", &ids["c"]])
                .assert()
                .code(2);
        }
        Tier::Redis | Tier::Kafka => {
            assert_eq!(pull(&["--group", "g"]), ["a", "b", "c", "d", "e"]);
            assert_eq!(
                pull(&["--group", "g", "--from", &ids["c"]]),
                ["c", "d", "e"]
            );
            assert_eq!(pull(&["--group", "g", "--from", &t]), ["c", "d", "e"]);
            assert_eq!(pull(&["--group", "g"]), Vec::<String>::new());
            // The default consumer was not moved by the group's replay.
            assert_eq!(pull(&[]), Vec::<String>::new());
        }
    }
}

/// Bad flags are usage errors (exit 2) that change nothing: no record is
/// handled, no fact written.
#[test]
fn bad_consumer_flags_change_nothing() {
    let env = Env::new();
    env.push("a", 0);
    let before = env.text();
    for args in [
        &["--jobs", "0"][..],
        &["--backoff", "soon"],
        &["--key", ""],
        &["--retries", "-1"],
        &["--timeout", "1s"],
        &["--wait"],
        &["--limit", "1"],
        &["--group", "g"],
        &["--from", "no-such-id"],
    ] {
        env.cq()
            .args(["pull", "--exec", "touch handled"])
            .args(args)
            .assert()
            .code(2);
    }
    env.cq().args(["pull", "--exec", ""]).assert().code(2);
    env.cq().args(["retry"]).assert().code(2);
    assert_eq!(env.text(), before);
    assert!(!env.path("handled").exists());
    assert!(!env.path("state/queue.jsonl.attempts").exists());
}

/// A following consumer parks a record that fails, and handles it again
/// once `cq retry` puts it back, without being restarted.
fn retry_reaches_a_following_consumer(tier: Tier) {
    let env = Env::tier(tier);
    env.push("flaky", 0);
    let d = env.dir.path().display();
    let h = format!("[ -e {d}/ok ] || exit 4; echo \"$CQ_NAME $CQ_ATTEMPT\" >> {d}/log");
    let mut c = env
        .cq_std()
        .args(["pull", "--follow", "--exec", &h, "--retries", "0"])
        .args(["--timeout", "60s"])
        .spawn()
        .unwrap();
    let until = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until("never parked", &|| count(&env, &["list", "--dead"]) == 1);
    std::fs::write(env.path("ok"), "").unwrap();
    env.cq().args(["retry", "--all"]).assert().success();
    until("never handled again", &|| !log_lines(&env).is_empty());
    // Our own child, by pid.
    let _ = c.kill();
    let _ = c.wait();
    assert_eq!(log_lines(&env), ["flaky 2"]);
    assert_eq!(count(&env, &["list", "--dead"]), 0);
    assert_eq!(count(&env, &["list", "--pending"]), 0);
}

/// After a consumer parked one record and acknowledged the others, and a
/// replay had it handle one again, the file is still the seed's: its jq
/// reader delivers exactly the record pushed since, and the dead letters
/// (kept in the side file, by id) survive the reader's jq + mv rewrite.
#[test]
fn the_seed_reader_reads_a_consumed_and_replayed_queue() {
    if !common::have("jq") {
        return common::skip(
            "the_seed_reader_reads_a_consumed_and_replayed_queue",
            "no jq",
        );
    }
    let env = Env::new();
    for n in ["a", "b", "c"] {
        env.push(n, 0);
    }
    let ids: HashMap<String, String> = env
        .listed()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().into(),
                r["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    env.cq()
        .args(["pull", "--exec", "[ $CQ_NAME != b ]", "--retries", "0"])
        .assert()
        .code(1);
    env.cq()
        .args([
            "pull",
            "--from",
            &ids["c"],
            "--exec",
            "exit 1",
            "--retries",
            "0",
        ])
        .assert()
        .code(1);
    // c, replayed, failed and is parked too; everything reads pulled.
    let out = std::process::Command::new("jq")
        .args(["-c", "select(.pulled==false)"])
        .arg(&env.queue)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(stdout_of(&out), "", "everything pulled");
    env.push("d", 0);
    let out = std::process::Command::new("bash")
        .arg(common::fixture("seed-reader.sh"))
        .arg(&env.queue)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(common::names(&parse_lines(&stdout_of(&out))), ["d"]);
    let dead = parse_lines(&stdout_of(
        &env.cq()
            .args(["list", "--dead", "--json"])
            .output()
            .unwrap(),
    ));
    assert_eq!(common::names(&dead), ["b", "c"]);
    // `cq where` names the side file.
    let out = env.cq().arg("where").output().unwrap();
    assert!(
        stdout_of(&out).contains(".attempts (what cq pull --exec knows"),
        "{out:?}"
    );
}

/// The deadline of `--follow --timeout` passing while a handler runs: the
/// handler is waited for and its record acknowledged, then exit 124.
#[test]
fn a_deadline_waits_for_the_running_handler() {
    let env = Env::new();
    env.push("slow", 0);
    let d = env.dir.path().display();
    let started = Instant::now();
    env.cq()
        .args(["pull", "--follow", "--timeout", "1s", "--exec"])
        .arg(format!("sleep 2; touch {d}/finished"))
        .assert()
        .code(124);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(env.path("finished").exists());
    assert_eq!(count(&env, &["list", "--pending"]), 0, "acknowledged");
}

/// Three consumers started together on one queue (a cron job that
/// overlaps itself, or consumers scaled out): each record is handled once,
/// by one of them, and records of one name never at once anywhere.
fn consumers_side_by_side_handle_each_record_once(tier: Tier) {
    let env = Env::tier(tier);
    for i in 0..30 {
        env.push(&format!("n{}", i % 10), 0);
    }
    let d = env.dir.path().display();
    let h = format!(
        "echo \"start $CQ_NAME $CQ_ID\" >> {d}/log; sleep 0.05; echo \"end $CQ_NAME $CQ_ID\" >> {d}/log"
    );
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            env.cq_std()
                .args(["pull", "--exec", &h, "--jobs", "2"])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in consumers {
        let st = c.wait().unwrap();
        assert!(st.success(), "{st:?}");
    }
    // One more, in case the three saw a record's attempt race the end of
    // their last scan: nothing left.
    env.cq().args(["pull", "--exec", &h]).assert().success();
    let log = log_lines(&env);
    let mut started: HashMap<String, usize> = HashMap::new();
    let mut running: HashSet<String> = HashSet::new();
    for l in &log {
        let w: Vec<&str> = l.split(' ').collect();
        if w[0] == "start" {
            *started.entry(w[2].to_string()).or_default() += 1;
            assert!(
                running.insert(w[1].to_string()),
                "{} twice at once: {log:?}",
                w[1]
            );
        } else {
            running.remove(w[1]);
        }
    }
    assert_eq!(started.len(), 30, "{log:?}");
    let twice: Vec<_> = started.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    assert_eq!(count(&env, &["list", "--pending"]), 0);
}
