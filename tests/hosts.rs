//! The networked tiers across real hosts (tests/common/hosts.rs): a server
//! on host a, wrappers and readers on b, c and d, each host with its own
//! host name and pid space. Each scenario runs on Redis and on Kafka.

mod common;

use common::hosts::{Net, unavailable};
use common::{CQ, parse_lines, which};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
enum Tier {
    Redis,
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    Kafka,
}

/// A network of `names` with the tier's server on the first host, and the
/// queue's location; None (after saying why) when this machine cannot.
fn network(
    test: &str,
    tier: Tier,
    names: &[&str],
) -> Option<(Net, String, tempfile::TempDir, Reaped)> {
    network_with(test, tier, names, false)
}

/// The same, with the server keeping its data on disk (`durable`): Redis
/// with `appendonly yes` and `appendfsync always`, tansu on SQLite.
fn network_with(
    test: &str,
    tier: Tier,
    names: &[&str],
    durable: bool,
) -> Option<(Net, String, tempfile::TempDir, Reaped)> {
    if let Some(why) = unavailable() {
        common::skip(test, &why);
        return None;
    }
    let (server, why) = match tier {
        Tier::Redis => ("redis-server", "redis-server is not installed"),
        Tier::Kafka => ("tansu", "tansu (a Kafka-protocol broker) is not installed"),
    };
    if which(server).is_none() {
        common::skip(test, why);
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new(names).expect("hosts");
    let (server, location) = start_server(&net, tier, &dir, durable);
    Some((net, location, dir, server))
}

/// Starts the tier's server on the first host (again, after a restart,
/// on the same data) and waits until it answers; with its location.
fn start_server(net: &Net, tier: Tier, dir: &tempfile::TempDir, durable: bool) -> (Reaped, String) {
    let a = net.hosts[0].addr.clone();
    let (mut cmd, port, location) = match tier {
        Tier::Redis => {
            let mut c = net.on(&net.hosts[0].name, "redis-server");
            c.args(["--bind", &a, "--port", "6379", "--save", ""])
                .args(["--protected-mode", "no"])
                .args(["--appendonly", if durable { "yes" } else { "no" }])
                .args(["--appendfsync", "always"])
                .arg("--dir")
                .arg(dir.path());
            (c, 6379, format!("redis://{a}:6379/0?stream=jobs"))
        }
        Tier::Kafka => {
            let url = format!("tcp://{a}:9092");
            let mut c = net.on(&net.hosts[0].name, "tansu");
            // tansu reads a sqlite:// path relative to its directory.
            let storage = if durable {
                "sqlite://tansu.db"
            } else {
                "memory://tansu/"
            };
            c.args(["broker", "--listener-url", &url])
                .args(["--advertised-listener-url", &url])
                .args(["--storage-engine", storage])
                .current_dir(dir.path());
            (c, 9092, format!("kafka://{a}:9092/jobs"))
        }
    };
    // The server ends with its host (the Net's drop kills the host's init).
    let server = Reaped(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        net.await_port(&net.hosts[1].name, &a, port),
        "the server did not start on {a}"
    );
    (server, location)
}

/// `cq ARGS` on `host`, with a state directory per host and short leases.
fn cq(net: &Net, host: &str, location: &str, dir: &tempfile::TempDir) -> Command {
    let mut c = net.on(host, CQ);
    let state = dir.path().join(host);
    c.env("CQ_QUEUE", location)
        .env("CQ_LEASE_TTL", "2s")
        .env("XDG_STATE_HOME", &state)
        .env("TMPDIR", dir.path());
    for var in [
        "CQ_HOST",
        "CQ_NAME",
        "CQ_ID",
        "CQ_OUTPUT_DIR",
        "CQ_META_FILE",
        "CQ_REDIS_CA",
        "CQ_KAFKA_DEBUG",
        "NO_COLOR",
    ] {
        c.env_remove(var);
    }
    c
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What `cq list --running --count` says on `host`.
fn running(net: &Net, host: &str, location: &str, dir: &tempfile::TempDir) -> String {
    let out = cq(net, host, location, dir)
        .args(["list", "--running", "--count"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{host}: {out:?}");
    text(&out)
}

fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(secs), "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// Kills a child of the test's own when dropped (nsenter; the host's own
/// processes end with the host).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cq wrap -n NAME -- sh -c SCRIPT` on b, its stderr kept, once c sees
/// the job running.
fn wrapper_on_b(
    net: &Net,
    loc: &str,
    dir: &tempfile::TempDir,
    env: &[(&str, &str)],
    name: &str,
    script: &str,
) -> Reaped {
    let mut c = cq(net, "b", loc, dir);
    c.envs(env.iter().copied())
        .args(["wrap", "-n", name, "--", "sh", "-c", script])
        .stderr(Stdio::piped());
    let wrapper = Reaped(c.spawn().unwrap());
    eventually(30, "c sees the job running", || {
        running(net, "c", loc, dir) == "1\n"
    });
    wrapper
}

/// A job that runs until [`go`] (the hosts share the file system), then
/// exits with `code`: it ends after the cut however long the wrapper took
/// to be seen running, instead of after a sleep that a slow start eats.
fn job_until_go(dir: &tempfile::TempDir, code: i32) -> String {
    format!(
        "while [ ! -e '{}' ]; do sleep 0.05; done; exit {code}",
        dir.path().join("go").display()
    )
}

fn go(dir: &tempfile::TempDir) {
    std::fs::write(dir.path().join("go"), "").unwrap();
}

/// Waits for a wrapper: its exit code and what it said on stderr.
fn ended(wrapper: &mut Reaped) -> (Option<i32>, String) {
    use std::io::Read;
    // Reading stderr first: a child blocked on a full stderr pipe would
    // never end. Both bounded (the longest scenario gives up after 30 s).
    let err = wrapper.0.stderr.take().map(|mut e| {
        common::within(Duration::from_secs(180), "a cq's stderr", move || {
            let mut err = String::new();
            e.read_to_string(&mut err).unwrap();
            err
        })
    });
    let st = common::wait_within(&mut wrapper.0, Duration::from_secs(60), "a cq's exit");
    (st.code(), err.unwrap_or_default())
}

/// How long a scenario may run before its watchdog fails the run (the
/// longest waits out partitions and session timeouts: about 60 s).
const LIMIT: Duration = Duration::from_secs(300);

/// Runs a scenario on Redis and on Kafka (with the `kafka` feature).
macro_rules! on_both {
    ($($test:ident),* $(,)?) => {
        $(
            mod $test {
                #[test] fn redis() {
                    let _dog = crate::common::Watchdog::start(super::LIMIT);
                    super::$test(stringify!($test), super::Tier::Redis)
                }
                #[cfg(feature = "kafka")]
                #[test] fn kafka() {
                    let _dog = crate::common::Watchdog::start(super::LIMIT);
                    super::$test(stringify!($test), super::Tier::Kafka)
                }
            }
        )*
    };
}

on_both!(
    a_wrapper_killed_on_one_host_is_one_lost_record_for_readers_racing_on_two_others,
    a_partitioned_wrappers_real_record_follows_its_lost_one_after_the_partition_heals,
    a_wrapper_cut_off_at_its_end_retries_until_the_network_heals,
    a_wrapper_cut_off_for_good_keeps_its_status_and_prints_the_record,
    a_puller_cut_off_between_printing_and_marking_costs_a_redelivery_not_a_record,
    a_puller_killed_on_another_host_leaves_its_records_to_be_claimed_after_the_delay,
    a_server_restart_mid_run_loses_no_acknowledged_push,
);

fn a_wrapper_killed_on_one_host_is_one_lost_record_for_readers_racing_on_two_others(
    test: &str,
    tier: Tier,
) {
    let Some((net, loc, dir, _server)) = network(test, tier, &["a", "b", "c", "d"]) else {
        return;
    };
    let wrapper = cq(&net, "b", &loc, &dir)
        .args(["wrap", "-n", "victim", "--", "sleep", "60"])
        .spawn()
        .unwrap();
    let wrapper = Reaped(wrapper);
    eventually(30, "c sees the job running", || {
        running(&net, "c", &loc, &dir) == "1\n"
    });
    let waiter = cq(&net, "c", &loc, &dir)
        .args(["wait", "victim", "--timeout", "60s", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = net.pid_of(wrapper.0.id(), "cq").expect("the wrapper on b");
    // SAFETY: kill has no memory-safety conditions; the process is ours.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // Readers on c and d race to find the lease expired.
    std::thread::scope(|s| {
        for host in ["c", "d"] {
            let (net, loc, dir) = (&net, &loc, &dir);
            s.spawn(move || {
                eventually(30, "the job is no longer running", || {
                    running(net, host, loc, dir) == "0\n"
                })
            });
        }
    });
    let out = waiter.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "wait ends with the failure: {out:?}"
    );
    let recs = parse_lines(&text(&out));
    assert_eq!(recs[0]["lost"], true, "{recs:?}");
    assert_eq!(recs[0]["host"], "b", "the job's own host: {recs:?}");
    let all = cq(&net, "d", &loc, &dir)
        .args(["list", "--json"])
        .output()
        .unwrap();
    let recs = parse_lines(&text(&all));
    assert_eq!(recs.len(), 1, "exactly one lost record: {recs:?}");
}

fn a_partitioned_wrappers_real_record_follows_its_lost_one_after_the_partition_heals(
    test: &str,
    tier: Tier,
) {
    let Some((net, loc, dir, _server)) = network(test, tier, &["a", "b", "c"]) else {
        return;
    };
    let mut wrapper = wrapper_on_b(&net, &loc, &dir, &[], "cut-off", "sleep 12; exit 3");
    net.cut("b");
    let lost_after = eventually(10, "c finds the lease expired", || {
        running(&net, "c", &loc, &dir) == "0\n"
    });
    net.heal("b");
    let (code, err) = ended(&mut wrapper);
    assert_eq!(code, Some(3), "the job's own status: {err}");
    assert!(
        !err.contains("unsaved record"),
        "the record was written: {err}"
    );
    let out = cq(&net, "c", &loc, &dir)
        .args(["pull", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let recs = parse_lines(&text(&out));
    assert_eq!(
        recs.len(),
        2,
        "the lost record, then the real one: {recs:?}"
    );
    assert_eq!(recs[0]["lost"], true);
    assert_eq!(recs[1]["exit_code"], 3);
    assert_eq!(recs[0]["id"], recs[1]["id"]);
    eprintln!("{test} {tier:?}: lost record {lost_after:?} after the cut");
}

/// The wrapper's job ends while its host is cut off; the cable is plugged
/// back in within CQ_APPEND_RETRY: the record arrives, late, and the
/// wrapper exits with the job's status.
fn a_wrapper_cut_off_at_its_end_retries_until_the_network_heals(test: &str, tier: Tier) {
    let Some((net, loc, dir, _server)) = network(test, tier, &["a", "b", "c"]) else {
        return;
    };
    let retry = [("CQ_APPEND_RETRY", "60s")];
    let mut wrapper = wrapper_on_b(&net, &loc, &dir, &retry, "late", &job_until_go(&dir, 4));
    net.cut("b");
    go(&dir);
    // Longer than one attempt may take (10 s): the first one fails.
    std::thread::sleep(Duration::from_secs(14));
    net.heal("b");
    let healed = Instant::now();
    let (code, err) = ended(&mut wrapper);
    let waited = healed.elapsed();
    assert_eq!(code, Some(4), "{err}");
    assert!(
        err.contains("trying again for up to 1m"),
        "said it retries: {err}"
    );
    assert!(!err.contains("unsaved record"), "{err}");
    let out = cq(&net, "c", &loc, &dir)
        .args(["list", "--json"])
        .output()
        .unwrap();
    let recs = parse_lines(&text(&out));
    assert!(
        recs.iter().any(|r| r["exit_code"] == 4),
        "the real record arrived: {recs:?}"
    );
    eprintln!("{test} {tier:?}: the record landed {waited:?} after the heal");
}

/// Cut off for good: after CQ_APPEND_RETRY the wrapper gives up, prints
/// the record on stderr (nothing is lost: a person or a script can push
/// it) and exits with the job's status.
fn a_wrapper_cut_off_for_good_keeps_its_status_and_prints_the_record(test: &str, tier: Tier) {
    let Some((net, loc, dir, _server)) = network(test, tier, &["a", "b", "c"]) else {
        return;
    };
    let retry = [("CQ_APPEND_RETRY", "2s")];
    let mut wrapper = wrapper_on_b(&net, &loc, &dir, &retry, "stranded", &job_until_go(&dir, 5));
    net.cut("b");
    let cut = Instant::now();
    go(&dir);
    let (code, err) = ended(&mut wrapper);
    let took = cut.elapsed();
    assert_eq!(code, Some(5), "{err}");
    let unsaved = err
        .lines()
        .find_map(|l| l.strip_prefix("cq: unsaved record: "))
        .unwrap_or_else(|| panic!("the record on stderr: {err}"));
    let rec: serde_json::Value = serde_json::from_str(unsaved).unwrap();
    assert_eq!(rec["exit_code"], 5);
    assert_eq!(rec["name"], "stranded");
    // The bound: a renewal and a first attempt (10 s each at most), the
    // window (2 s) and a last attempt (10 s), and some slack.
    assert!(took < Duration::from_secs(40), "{took:?}");
    eprintln!("{test} {tier:?}: gave up {took:?} after the cut");
}

/// Pushes r0..r{n-1} from `host`, one `cq push` each.
fn push_many(net: &Net, host: &str, loc: &str, dir: &tempfile::TempDir, n: usize) {
    for i in 0..n {
        let out = cq(net, host, loc, dir)
            .args(["push", "-n", &format!("r{i}"), "-e", "0"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

/// A `cq pull --json` on b whose stdout is a 4 KiB pipe the test reads:
/// once the test has read the first KiB, the puller is mid-print, nothing
/// of it marked pulled, for as long as the test does not read on.
fn held_puller(
    net: &Net,
    loc: &str,
    dir: &tempfile::TempDir,
) -> (Reaped, std::io::PipeReader, Vec<u8>) {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (mut rx, tx) = std::io::pipe().unwrap();
    // SAFETY: fcntl on a pipe of ours.
    unsafe { libc::fcntl(rx.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    let child = cq(net, "b", loc, dir)
        .args(["pull", "--json"])
        .stdout(tx)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let child = Reaped(child);
    let (rx, first) = common::within(
        Duration::from_secs(60),
        "the puller's first KiB",
        move || {
            let mut first = vec![0u8; 1024];
            rx.read_exact(&mut first).unwrap();
            (rx, first)
        },
    );
    (child, rx, first)
}

/// Pulls on `host` until every one of `want` names was delivered there,
/// or `secs` pass; the names in delivery order, and when the first came.
fn pull_until(
    net: &Net,
    host: &str,
    loc: &str,
    dir: &tempfile::TempDir,
    want: usize,
    secs: u64,
) -> (Vec<String>, Option<Duration>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut first = None;
    while got.len() < want && start.elapsed() < Duration::from_secs(secs) {
        let out = cq(net, host, loc, dir)
            .args(["pull", "--json"])
            .output()
            .unwrap();
        let recs = parse_lines(&text(&out));
        if !recs.is_empty() && first.is_none() {
            first = Some(start.elapsed());
        }
        got.extend(recs.iter().map(|r| r["name"].as_str().unwrap().to_string()));
        if recs.is_empty() {
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    (got, first)
}

fn a_puller_cut_off_between_printing_and_marking_costs_a_redelivery_not_a_record(
    test: &str,
    tier: Tier,
) {
    use std::io::Read;
    let Some((net, loc, dir, _server)) = network(test, tier, &["a", "b", "c"]) else {
        return;
    };
    push_many(&net, "c", &loc, &dir, 60);
    let (mut puller, mut rx, first_kib) = held_puller(&net, &loc, &dir);
    net.cut("b");
    let cut = Instant::now();
    let rest = common::within(
        Duration::from_secs(120),
        "the cut-off puller's output",
        move || {
            let mut rest = Vec::new();
            rx.read_to_end(&mut rest).unwrap();
            rest
        },
    );
    let printed = String::from_utf8([first_kib, rest].concat()).unwrap();
    let (code, err) = ended(&mut puller);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("could not mark them pulled"), "{err}");
    assert_eq!(parse_lines(&printed).len(), 60, "b printed everything");
    let (got, first) = pull_until(&net, "c", &loc, &dir, 60, 60);
    let mut names = got.clone();
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        60,
        "every record delivered again on c: {got:?}"
    );
    assert_eq!(got.len(), 60, "none twice on c: {got:?}");
    eprintln!(
        "{test} {tier:?}: b failed {:?} after the cut; c got the records {:?} after",
        cut.elapsed(),
        first
    );
}

fn a_puller_killed_on_another_host_leaves_its_records_to_be_claimed_after_the_delay(
    test: &str,
    tier: Tier,
) {
    let Some((net, loc, dir, _server)) = network(test, tier, &["a", "b", "c"]) else {
        return;
    };
    push_many(&net, "c", &loc, &dir, 60);
    let (puller, rx, _) = held_puller(&net, &loc, &dir);
    let pid = net.pid_of(puller.0.id(), "cq").expect("the puller on b");
    // SAFETY: kill has no memory-safety conditions; the process is ours.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let killed = Instant::now();
    drop(rx);
    let (got, first) = pull_until(&net, "c", &loc, &dir, 60, 60);
    let mut names = got.clone();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 60, "every record delivered on c: {got:?}");
    assert_eq!(got.len(), 60, "none twice on c: {got:?}");
    let after = killed.elapsed();
    // The documented delays: four lease TTLs of 2 s on Redis (from the
    // last delivery to b), the group's session timeout (10 s) on Kafka.
    let delay = match tier {
        Tier::Redis => Duration::from_secs(8),
        Tier::Kafka => Duration::from_secs(10),
    };
    let first = first.expect("c got records");
    assert!(
        first + Duration::from_secs(1) >= delay.saturating_sub(Duration::from_secs(2)),
        "claimed before the delay: {first:?}"
    );
    assert!(
        first < delay + Duration::from_secs(15),
        "claimed too late: {first:?}"
    );
    eprintln!("{test} {tier:?}: c got the records {first:?} after the kill (all by {after:?})");
}

/// The server is killed (SIGKILL, with persistence on) and started again
/// while b pushes and c pulls: every push that exited 0 is delivered, and
/// none twice except what a pull cut mid-flight printed.
fn a_server_restart_mid_run_loses_no_acknowledged_push(test: &str, tier: Tier) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    let Some((net, loc, dir, server)) = network_with(test, tier, &["a", "b", "c"], true) else {
        return;
    };
    let (stop_writer, stop_reader) = (AtomicBool::new(false), AtomicBool::new(false));
    let (acked_n, tried_n) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (acked, delivered, cut_prints) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut acked = Vec::new();
            let mut i = 0;
            while !stop_writer.load(SeqCst) {
                let ok = cq(&net, "b", &loc, &dir)
                    .args(["push", "-n", &format!("w{i}"), "-e", "0"])
                    .stderr(Stdio::null())
                    .status()
                    .unwrap()
                    .success();
                if ok {
                    acked.push(format!("w{i}"));
                    acked_n.fetch_add(1, SeqCst);
                }
                i += 1;
                tried_n.store(i, SeqCst);
            }
            acked
        });
        let reader = s.spawn(|| {
            let (mut delivered, mut cut) = (Vec::new(), Vec::new());
            while !stop_reader.load(SeqCst) {
                let out = cq(&net, "c", &loc, &dir)
                    .args(["pull", "--json"])
                    .output()
                    .unwrap();
                let names: Vec<String> = parse_lines(&text(&out))
                    .iter()
                    .map(|r| r["name"].as_str().unwrap().to_string())
                    .collect();
                if !out.status.success() {
                    cut.extend(names.iter().cloned());
                }
                delivered.extend(names);
                std::thread::sleep(Duration::from_millis(50));
            }
            (delivered, cut)
        });
        eventually(60, "20 pushes before the restart", || {
            acked_n.load(SeqCst) >= 20
        });
        let mut server = server;
        let pid = match tier {
            Tier::Redis => net.pid_of(server.0.id(), "redis-server"),
            Tier::Kafka => net.pid_of(server.0.id(), "tansu"),
        }
        .expect("the server");
        // SAFETY: kill has no memory-safety conditions; the process is ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = server.0.wait();
        let down = Instant::now();
        std::thread::sleep(Duration::from_secs(1));
        let (again, _) = start_server(&net, tier, &dir, true);
        let back = down.elapsed();
        let before = acked_n.load(SeqCst);
        eventually(60, "20 pushes after the restart", || {
            acked_n.load(SeqCst) >= before + 20
        });
        stop_writer.store(true, SeqCst);
        let acked = writer.join().unwrap();
        std::thread::sleep(Duration::from_secs(1));
        stop_reader.store(true, SeqCst);
        let (mut delivered, cut) = reader.join().unwrap();
        // What is left, once nothing is in flight.
        let (rest, _) = pull_until(&net, "c", &loc, &dir, usize::MAX, 3);
        delivered.extend(rest);
        eprintln!("{test} {tier:?}: the server was back {back:?} after the kill");
        drop(again);
        (acked, delivered, cut)
    });
    for name in &acked {
        let n = delivered.iter().filter(|d| *d == name).count();
        assert!(n >= 1, "{name} was acknowledged and never delivered");
        assert!(
            n == 1 || cut_prints.contains(name),
            "{name} delivered {n} times"
        );
    }
    eprintln!(
        "{test} {tier:?}: {} of {} pushes acknowledged, all delivered, none twice; {} records printed by pulls cut mid-flight",
        acked.len(),
        tried_n.load(SeqCst),
        cut_prints.len()
    );
}
