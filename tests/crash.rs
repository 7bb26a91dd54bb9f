//! Crash at every step: `cq push`, `pull`, `ack` and `compact` SIGKILLed at
//! random moments, over and over, while writers keep writing. Afterwards
//! every acknowledged push is in the queue or was delivered, exactly once
//! in the file; every line parses but the torn tails of killed pushes; no
//! unkilled puller delivered a record twice; nothing was marked pulled
//! without being delivered.
//!
//! Runs for 8 s by default; `CQ_STRESS=N` runs N times longer.

mod common;

use common::{Env, delivered};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        Rng((t.as_nanos() as u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Runs cq, SIGKILLing it after a random delay one time in `odds`.
/// Returns (killed, stdout).
fn run(
    env: &Env,
    args: &[&str],
    rng: &mut Rng,
    odds: u64,
    kills: &Mutex<u64>,
) -> (bool, Vec<u8>, bool) {
    let (killed, out) = spawn_maybe_killed(env, args, rng, odds, kills);
    (killed, out.stdout, out.status.success())
}

/// Runs `cq ARGS`, SIGKILLed at a random moment once in `odds` runs;
/// whether the kill landed, and what cq left.
fn spawn_maybe_killed(
    env: &Env,
    args: &[&str],
    rng: &mut Rng,
    odds: u64,
    kills: &Mutex<u64>,
) -> (bool, std::process::Output) {
    let child = env
        .cq_std()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if rng.below(odds) == 0 {
        thread::sleep(Duration::from_micros(rng.below(3000)));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    }
    let out = child.wait_with_output().unwrap();
    let killed = out.status.signal() == Some(libc::SIGKILL);
    if killed {
        *kills.lock().unwrap() += 1;
    }
    common::no_crash(&format!("cq {}", args.join(" ")), out.status, &out.stderr);
    (killed, out)
}

/// Like [`run`], for commands that must succeed unless killed; `allowed`
/// is the one failure that may happen (its stderr holds it). Returns
/// (killed, succeeded, stderr).
fn run_checked(
    env: &Env,
    args: &[&str],
    rng: &mut Rng,
    odds: u64,
    kills: &Mutex<u64>,
    allowed: Option<&str>,
) -> (bool, bool, String) {
    let (killed, out) = spawn_maybe_killed(env, args, rng, odds, kills);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if killed {
        return (true, false, err);
    }
    let excused = out.status.code() == Some(1) && allowed.is_some_and(|a| err.contains(a));
    assert!(
        out.status.success() || excused,
        "cq {} failed without being killed: {:?}: {err}",
        args.join(" "),
        out.status
    );
    (false, out.status.success(), err)
}

#[derive(Default)]
struct Seen {
    acknowledged: HashSet<String>,
    clean_pulls: Vec<String>,
    delivered: HashSet<String>,
    /// Listed, then acknowledged by an `ack` that exited 0 or was killed
    /// (it may have marked them): the consumer has them. Not an ack that
    /// failed with "no record with id": that marked nothing, and a record
    /// that vanished from under it must show up as lost.
    acked: HashSet<String>,
    /// Pushes SIGKILLed: their record may or may not be there.
    killed_pushes: HashSet<String>,
}

/// What the run made happen, counted so that the test knows each fault
/// path ran (and runs longer until each has).
#[derive(Default)]
struct Happened {
    /// Pushes SIGKILLed.
    push_kills: AtomicU64,
    /// Compactions that found a torn line (a push killed inside its write;
    /// rare, about one in a minute here: not required, the tear itself is
    /// made on purpose in cli.rs's `torn_tail_never_swallows_the_next_record`
    /// and the jsonl unit tests).
    tears: AtomicU64,
    /// Pulls SIGKILLed after printing at least one record.
    pull_kills_mid_delivery: AtomicU64,
    /// Acks that exited 0 having marked a record.
    acks: AtomicU64,
    /// Compactions that removed at least one record.
    removing_compactions: AtomicU64,
}

impl Happened {
    fn all(&self) -> bool {
        [
            &self.push_kills,
            &self.pull_kills_mid_delivery,
            &self.acks,
            &self.removing_compactions,
        ]
        .iter()
        .all(|c| c.load(SeqCst) > 0)
    }
}

#[test]
fn sigkill_at_any_moment_loses_nothing() {
    let scale = common::stress() as u32;
    let env = Arc::new(Env::new());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(8) * scale;
    // A tear needs a kill inside a write that crosses a page boundary:
    // about one in 8 s here. Go on past the deadline until every fault
    // path ran, up to this bound.
    let bound = started + Duration::from_secs(60) * scale;
    let happened = Arc::new(Happened::default());
    let go_on = {
        let happened = Arc::clone(&happened);
        move || {
            let now = Instant::now();
            now < deadline || (now < bound && !happened.all())
        }
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let kills = Arc::new(Mutex::new(0u64));
    let mut handles = Vec::new();

    for w in 0..3u64 {
        let (env, seen, kills, happened, go_on) = (
            Arc::clone(&env),
            Arc::clone(&seen),
            Arc::clone(&kills),
            Arc::clone(&happened),
            go_on.clone(),
        );
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(w);
            let mut i = 0;
            while go_on() {
                let name = format!("w{w}-{i}");
                i += 1;
                // Records of up to two pages: a write killed at a page
                // boundary tears its line, the case appenders must survive.
                let pad = format!("pad={}", "x".repeat(rng.below(8000) as usize));
                let args = ["push", "-n", &name, "-e", "0", "--meta", &pad];
                let (killed, out) = spawn_maybe_killed(&env, &args, &mut rng, 3, &kills);
                if killed {
                    happened.push_kills.fetch_add(1, SeqCst);
                    seen.lock().unwrap().killed_pushes.insert(name);
                    continue;
                }
                assert!(
                    out.status.success(),
                    "push {name} failed without being killed: {:?}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                seen.lock().unwrap().acknowledged.insert(name);
            }
        }));
    }
    {
        let (env, seen, kills, happened, go_on) = (
            Arc::clone(&env),
            Arc::clone(&seen),
            Arc::clone(&kills),
            Arc::clone(&happened),
            go_on.clone(),
        );
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(10);
            while go_on() {
                let (killed, out, ok) = run(&env, &["pull", "--json"], &mut rng, 2, &kills);
                assert!(killed || ok, "a pull failed");
                let names = delivered(&out, killed);
                if killed && !names.is_empty() {
                    happened.pull_kills_mid_delivery.fetch_add(1, SeqCst);
                }
                let mut s = seen.lock().unwrap();
                s.delivered.extend(names.iter().cloned());
                if !killed {
                    s.clean_pulls.extend(names);
                }
            }
        }));
    }
    {
        let (env, seen, kills, happened, go_on) = (
            Arc::clone(&env),
            Arc::clone(&seen),
            Arc::clone(&kills),
            Arc::clone(&happened),
            go_on.clone(),
        );
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(20);
            while go_on() {
                let (killed, out, _) = run(
                    &env,
                    &["list", "--pending", "--json"],
                    &mut rng,
                    1_000_000,
                    &kills,
                );
                // Up to three of them, anywhere in the list: an ack that
                // marked records besides its own would mark those between.
                let mut recs: Vec<Value> = String::from_utf8_lossy(&out)
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect();
                while recs.len() > 3 {
                    recs.swap_remove(rng.below(recs.len() as u64) as usize);
                }
                if killed || recs.is_empty() {
                    continue;
                }
                let ids: Vec<String> = recs
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_string())
                    .collect();
                let mut args = vec!["ack"];
                args.extend(ids.iter().map(String::as_str));
                // A puller may have taken them and a compaction removed
                // them since the listing: then the id is unknown, the ack
                // marks nothing, and the puller delivered them.
                let (killed, ok, _) =
                    run_checked(&env, &args, &mut rng, 2, &kills, Some("no record with id"));
                if ok {
                    happened.acks.fetch_add(1, SeqCst);
                }
                if killed || ok {
                    seen.lock()
                        .unwrap()
                        .acked
                        .extend(recs.iter().map(|r| r["name"].as_str().unwrap().to_string()));
                }
            }
        }));
    }
    {
        let (env, kills, happened, go_on) = (
            Arc::clone(&env),
            Arc::clone(&kills),
            Arc::clone(&happened),
            go_on.clone(),
        );
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(30);
            while go_on() {
                let args = ["compact", "--older-than", "0s"];
                let (killed, out) = spawn_maybe_killed(&env, &args, &mut rng, 2, &kills);
                if !killed {
                    let err = String::from_utf8_lossy(&out.stderr);
                    assert!(out.status.success(), "cq compact failed: {out:?}");
                    // A torn line is reported and kept.
                    if err.contains("; kept") {
                        happened.tears.fetch_add(1, SeqCst);
                    }
                    if !String::from_utf8_lossy(&out.stdout).starts_with("removed 0 ") {
                        happened.removing_compactions.fetch_add(1, SeqCst);
                    }
                }
                thread::sleep(Duration::from_millis(20));
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }

    let last = env.cq().args(["pull", "--json"]).output().unwrap();
    assert!(last.status.success(), "{last:?}");
    let mut seen = Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap();
    let final_names = delivered(&last.stdout, false);
    seen.delivered.extend(final_names.iter().cloned());
    seen.clean_pulls.extend(final_names);

    // Every line of the file parses, but for the torn tails of pushes killed
    // mid-write (the kernel cuts a write short at a page boundary when
    // SIGKILL arrives; the next append terminated the line, readers skip it).
    // No record is in the file twice.
    let text = env.text();
    let mut in_file: HashMap<String, usize> = HashMap::new();
    let mut torn = 0;
    let mut glued = 0;
    for l in text.lines().filter(|l| !l.is_empty()) {
        let Ok(v) = serde_json::from_str::<Value>(l) else {
            // A torn push: any prefix of one (the kernel may cut a write
            // right after `{"name":`), possibly continued by a whole record.
            const PUSH: &str = "{\"name\":\"w";
            let head = match l[1..].find(PUSH) {
                Some(i) => &l[..=i],
                None => l,
            };
            assert!(
                head.starts_with(PUSH) || PUSH.starts_with(head),
                "a bad line that is no torn push: {l:?}"
            );
            torn += 1;
            // A torn line an append continued before noticing the tear.
            glued += usize::from(l[1..].contains("{\"name\":\"w"));
            continue;
        };
        *in_file
            .entry(v["name"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert_eq!(v["pulled"], true, "left pending after the final pull: {l}");
    }
    let twice: Vec<_> = in_file.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "in the file twice: {twice:?}");
    // Nothing lost: each acknowledged push was delivered, or acknowledged by
    // a consumer that had listed it (a record still in the file is pulled,
    // above: by a puller that printed it, or by an ack).
    let lost: Vec<&String> = seen
        .acknowledged
        .iter()
        .filter(|n| !seen.delivered.contains(*n) && !seen.acked.contains(*n))
        .collect();
    let lines_of = |n: &String| -> Vec<&str> {
        let needle = format!("\"name\":\"{n}\"");
        text.lines().filter(|l| l.contains(&needle)).collect()
    };
    assert!(
        lost.is_empty(),
        "never delivered: {} e.g. {:?}; in the file as {:?}",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>(),
        lost.iter().take(5).map(|n| lines_of(n)).collect::<Vec<_>>()
    );
    // And nothing marked pulled without having been delivered.
    let silently: Vec<&String> = in_file
        .keys()
        .filter(|n| !seen.delivered.contains(*n) && !seen.acked.contains(*n))
        .collect();
    assert!(
        silently.is_empty(),
        "marked pulled but never delivered: {silently:?}"
    );
    let mut dup: HashMap<&str, usize> = HashMap::new();
    for n in &seen.clean_pulls {
        *dup.entry(n).or_default() += 1;
    }
    let dups: Vec<_> = dup.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dups.is_empty(),
        "delivered twice by unkilled pullers: {dups:?}"
    );
    // Killed compactions leave no temp files behind once one completes.
    env.cq()
        .args(["compact", "--older-than", "0s"])
        .assert()
        .success();
    let leftovers: Vec<_> = std::fs::read_dir(env.queue.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".cq-compact-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Pushes killed after their record was written (it was delivered, or
    // is in the file): the kills reached the write, not only the start.
    let landed = seen
        .killed_pushes
        .iter()
        .filter(|n| seen.delivered.contains(*n) || in_file.contains_key(*n))
        .count();
    let count = |c: &AtomicU64| c.load(SeqCst);
    let report = format!(
        "{} kills injected in {:.1}s: {} pushes killed ({landed} after their record landed), {} compactions saw a torn line, {} pulls killed mid-delivery, {} acks, {} compactions removed records; {} acknowledged pushes checked, {} delivered, {} records and {torn} torn tails ({glued} continued by an append) in the file",
        kills.lock().unwrap(),
        started.elapsed().as_secs_f64(),
        count(&happened.push_kills),
        count(&happened.tears),
        count(&happened.pull_kills_mid_delivery),
        count(&happened.acks),
        count(&happened.removing_compactions),
        seen.acknowledged.len(),
        seen.delivered.len(),
        in_file.len()
    );
    eprintln!("{report}");
    // Each fault path ran, or the checks above proved nothing about it.
    assert!(
        happened.all() && landed > 0,
        "a fault path never ran: {report}"
    );
}

/// `push` exits 0 only once its record is on the disk: the queue's
/// fdatasync comes after the record's write. A SIGKILL cannot show a
/// missing fsync (the page cache outlives the process, only a power cut
/// loses it), so strace shows the order of the system calls instead.
#[test]
fn a_push_is_on_disk_before_it_exits() {
    let test = "a_push_is_on_disk_before_it_exits";
    if !common::have("strace") {
        return common::skip(test, "strace is not installed");
    }
    let env = Env::new();
    // The queue exists: this push creates nothing, it only appends.
    env.push("first", 0);
    let log = env.path("strace.log");
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,write,pwrite64,fdatasync,fsync",
            "-o",
        ])
        .arg(&log)
        .arg(common::CQ)
        .args(["push", "-n", "second", "-e", "0"])
        .env("CQ_QUEUE", &env.location)
        .env("XDG_STATE_HOME", env.path("xdg-state"))
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && (err.contains("PTRACE") || err.contains("Operation not permitted"))
    {
        return common::skip(test, &format!("strace cannot trace here: {err}"));
    }
    assert!(out.status.success(), "{out:?}");
    let log = std::fs::read_to_string(&log).unwrap();
    let queue = format!("\"{}\"", env.queue.display());
    // The queue's fd, then its record's write, then a sync of that fd.
    let fd = log
        .lines()
        .filter(|l| l.contains("openat(") && l.contains(&queue))
        .filter_map(|l| {
            l.rsplit_once("= ")
                .and_then(|(_, fd)| fd.trim().parse::<u32>().ok())
        })
        .next_back()
        .unwrap_or_else(|| panic!("the queue was never opened:\n{log}"));
    let calls: Vec<&str> = log
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, c)| c).trim_start())
        .collect();
    let wrote = calls
        .iter()
        .position(|c| c.starts_with(&format!("write({fd}, \"{{\\\"name\\\":\\\"second")))
        .unwrap_or_else(|| panic!("no write of the record to fd {fd}:\n{log}"));
    let synced = calls[wrote..].iter().any(|c| {
        c.starts_with(&format!("fdatasync({fd})")) || c.starts_with(&format!("fsync({fd})"))
    });
    assert!(
        synced,
        "push exited 0 without syncing the queue after its write:\n{log}"
    );
    assert_eq!(common::names(&env.records()), ["first", "second"]);
}
