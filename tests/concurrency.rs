//! Many writers, two pullers (one SIGKILLed at random moments) and
//! compaction on one JSONL queue: every record delivered, none torn, none
//! delivered twice by a puller that was not killed.
//!
//! `CQ_STRESS=N` multiplies the pushes per writer (default 1 = 100 each).

mod common;

use common::{Env, delivered};
use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        Rng(t.as_nanos() as u64 | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The pullers start this late, while writers and compaction run: records
/// pending for over a second (timestamps have whole seconds) are what a
/// compaction that removed pending records would take.
const PULLERS_LATE: Duration = Duration::from_millis(1500);

#[test]
fn writers_pullers_and_compaction_lose_nothing() {
    let env = Arc::new(Env::new());
    let writers = 8;
    let per = 100 * common::stress();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    // Kills that landed while a puller was delivering (it printed a
    // record), and compactions that removed records: the paths this test
    // is about. Writers go on past `per` (up to 10 times) until both ran.
    let mid_delivery = Arc::new(AtomicU64::new(0));
    let removing = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for w in 0..writers {
        let (env, mid_delivery, removing) = (
            Arc::clone(&env),
            Arc::clone(&mid_delivery),
            Arc::clone(&removing),
        );
        handles.push(thread::spawn(move || {
            let mut j = 0;
            while j < per
                || (j < 10 * per
                    && (mid_delivery.load(Ordering::SeqCst) == 0
                        || removing.load(Ordering::SeqCst) == 0))
            {
                let st = env
                    .cq_std()
                    .args(["push", "-n", &format!("w{w}-{j}"), "-e", "0"])
                    .status()
                    .unwrap();
                assert!(st.success(), "push failed: {st:?}");
                j += 1;
            }
            j
        }));
    }

    // Puller A: never killed; its deliveries must be unique.
    let clean_a = {
        let (env, stop) = (Arc::clone(&env), Arc::clone(&stop));
        thread::spawn(move || {
            thread::sleep(PULLERS_LATE);
            let mut got = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let out = env.cq_std().args(["pull", "--json"]).output().unwrap();
                assert!(out.status.success(), "{out:?}");
                got.extend(delivered(&out.stdout, false));
            }
            got
        })
    };

    // Puller B: SIGKILLed at random moments; only its unkilled runs count as clean.
    let b = {
        let (env, stop, mid_delivery) = (
            Arc::clone(&env),
            Arc::clone(&stop),
            Arc::clone(&mid_delivery),
        );
        thread::spawn(move || {
            thread::sleep(PULLERS_LATE);
            let mut rng = Rng::new();
            let (mut clean, mut dirty, mut kills) = (Vec::new(), Vec::new(), 0);
            // Kill moments spread over a pull's length; a loaded machine
            // starts cq slower than that, so while no kill has landed
            // mid-delivery the window widens.
            let mut span = 4_000;
            while !stop.load(Ordering::SeqCst) {
                // Every third kill waits for the first byte printed.
                let out = if kills % 3 == 2 {
                    common::pull_killed_at_first_output(&env)
                } else {
                    common::pull_killed_after(&env, Duration::from_micros(rng.below(span)))
                };
                let killed = out.status.signal() == Some(libc::SIGKILL);
                let names = delivered(&out.stdout, killed);
                if killed {
                    kills += 1;
                    if !names.is_empty() {
                        mid_delivery.fetch_add(1, Ordering::SeqCst);
                    }
                    if kills % 16 == 0 && mid_delivery.load(Ordering::SeqCst) == 0 {
                        span = (span * 2).min(500_000);
                    }
                    dirty.extend(names);
                } else {
                    assert!(out.status.success(), "{out:?}");
                    clean.extend(names);
                }
            }
            (clean, dirty, kills)
        })
    };

    let compactor = {
        let (env, stop, removing) = (Arc::clone(&env), Arc::clone(&stop), Arc::clone(&removing));
        thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(Ordering::SeqCst) {
                let out = env
                    .cq_std()
                    .args(["compact", "--older-than", "0s"])
                    .stderr(Stdio::inherit())
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{out:?}");
                if !String::from_utf8_lossy(&out.stdout).starts_with("removed 0 ") {
                    removing.fetch_add(1, Ordering::SeqCst);
                }
                runs += 1;
                thread::sleep(Duration::from_millis(50));
            }
            runs
        })
    };

    let pushed: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::SeqCst);
    let mut clean = clean_a.join().unwrap();
    let (b_clean, dirty, kills) = b.join().unwrap();
    let compactions = compactor.join().unwrap();
    clean.extend(b_clean);
    let last = env.cq_std().args(["pull", "--json"]).output().unwrap();
    assert!(last.status.success());
    clean.extend(delivered(&last.stdout, false));

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for n in &clean {
        *seen.entry(n).or_default() += 1;
    }
    let dups: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        dups.is_empty(),
        "delivered twice by unkilled pullers: {dups:?}"
    );
    let all: HashSet<&str> = clean
        .iter()
        .chain(dirty.iter())
        .map(String::as_str)
        .collect();
    let missing: Vec<String> = (0..writers)
        .flat_map(|w| (0..pushed[w]).map(move |j| format!("w{w}-{j}")))
        .filter(|n| !all.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "never delivered: {} e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // Every line left in the file is whole, and no append added a blank line.
    assert!(!env.text().contains("\n\n"), "blank line in the queue");
    let recs = env.records();
    assert!(recs.iter().all(|r| r["pulled"] == true));
    let (mid_delivery, removing) = (
        mid_delivery.load(Ordering::SeqCst),
        removing.load(Ordering::SeqCst),
    );
    eprintln!(
        "{} records, {} puller kills ({mid_delivery} mid-delivery), {} compactions ({removing} removed records), {} redelivered after a kill, in {:.1}s",
        pushed.iter().sum::<usize>(),
        kills,
        compactions,
        dirty
            .iter()
            .filter(|n| seen.contains_key(n.as_str()))
            .count(),
        started.elapsed().as_secs_f64()
    );
    assert!(mid_delivery > 0, "no puller was killed while delivering");
    assert!(removing > 0, "no compaction removed a record");
}
