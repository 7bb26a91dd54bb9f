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
/// is the one failure that may happen (its stderr holds it).
fn run_checked(
    env: &Env,
    args: &[&str],
    rng: &mut Rng,
    odds: u64,
    kills: &Mutex<u64>,
    allowed: Option<&str>,
) {
    let (killed, out) = spawn_maybe_killed(env, args, rng, odds, kills);
    if killed {
        return;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let excused = out.status.code() == Some(1) && allowed.is_some_and(|a| err.contains(a));
    assert!(
        out.status.success() || excused,
        "cq {} failed without being killed: {:?}: {err}",
        args.join(" "),
        out.status
    );
}

#[derive(Default)]
struct Seen {
    acknowledged: HashSet<String>,
    clean_pulls: Vec<String>,
    delivered: HashSet<String>,
    ack_attempted: HashSet<String>,
}

#[test]
fn sigkill_at_any_moment_loses_nothing() {
    let scale = common::stress() as u32;
    let env = Arc::new(Env::new());
    let deadline = Instant::now() + Duration::from_secs(8) * scale;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let kills = Arc::new(Mutex::new(0u64));
    let mut handles = Vec::new();

    for w in 0..3u64 {
        let (env, seen, kills) = (Arc::clone(&env), Arc::clone(&seen), Arc::clone(&kills));
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(w);
            let mut i = 0;
            while Instant::now() < deadline {
                let name = format!("w{w}-{i}");
                i += 1;
                // Records of up to two pages: a write killed at a page
                // boundary tears its line, the case appenders must survive.
                let pad = format!("pad={}", "x".repeat(rng.below(8000) as usize));
                let (killed, _, ok) = run(
                    &env,
                    &["push", "-n", &name, "-e", "0", "--meta", &pad],
                    &mut rng,
                    3,
                    &kills,
                );
                if ok && !killed {
                    seen.lock().unwrap().acknowledged.insert(name);
                }
            }
        }));
    }
    {
        let (env, seen, kills) = (Arc::clone(&env), Arc::clone(&seen), Arc::clone(&kills));
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(10);
            while Instant::now() < deadline {
                let (killed, out, ok) = run(&env, &["pull", "--json"], &mut rng, 2, &kills);
                assert!(killed || ok, "a pull failed");
                let names = delivered(&out, killed);
                let mut s = seen.lock().unwrap();
                s.delivered.extend(names.iter().cloned());
                if !killed {
                    s.clean_pulls.extend(names);
                }
            }
        }));
    }
    {
        let (env, seen, kills) = (Arc::clone(&env), Arc::clone(&seen), Arc::clone(&kills));
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(20);
            while Instant::now() < deadline {
                let (killed, out, _) = run(
                    &env,
                    &["list", "--pending", "--json"],
                    &mut rng,
                    1_000_000,
                    &kills,
                );
                let recs: Vec<Value> = String::from_utf8_lossy(&out)
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .take(3)
                    .collect();
                if killed || recs.is_empty() {
                    continue;
                }
                let ids: Vec<String> = recs
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_string())
                    .collect();
                // The consumer processed these before acknowledging them.
                seen.lock()
                    .unwrap()
                    .ack_attempted
                    .extend(recs.iter().map(|r| r["name"].as_str().unwrap().to_string()));
                let mut args = vec!["ack"];
                args.extend(ids.iter().map(String::as_str));
                // A puller may have taken them and a compaction removed
                // them since the listing: then the id is unknown.
                run_checked(&env, &args, &mut rng, 2, &kills, Some("no record with id"));
            }
        }));
    }
    {
        let (env, kills) = (Arc::clone(&env), Arc::clone(&kills));
        handles.push(thread::spawn(move || {
            let mut rng = Rng::new(30);
            while Instant::now() < deadline {
                run_checked(
                    &env,
                    &["compact", "--older-than", "0s"],
                    &mut rng,
                    2,
                    &kills,
                    None,
                );
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
    // Nothing lost: each acknowledged push was delivered, acknowledged by a
    // consumer, or is still in the file (pulled by a killed puller that had
    // printed it: then it is in `delivered`).
    let lost: Vec<&String> = seen
        .acknowledged
        .iter()
        .filter(|n| !seen.delivered.contains(*n) && !seen.ack_attempted.contains(*n))
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
        .filter(|n| !seen.delivered.contains(*n) && !seen.ack_attempted.contains(*n))
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
    eprintln!(
        "{} kills injected; {} acknowledged pushes checked, {} delivered, {} records and {torn} torn tails ({glued} continued by an append) in the file",
        kills.lock().unwrap(),
        seen.acknowledged.len(),
        seen.delivered.len(),
        in_file.len()
    );
}
