//! Rules that hold on every tier because the queue owns them, not the
//! tier (issue 24's conformance cases, added as each defect is fixed).

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `--timeout` bounds a wait for a lock held by another program: exit 124
/// within the timeout and a second, and the pull that timed out marked
/// nothing. (SQLite used a fixed 60 s busy timeout: this pull waited until
/// the lock was released and exited 0.)
#[test]
fn timeout_bounds_a_wait_for_a_lock_another_program_holds() {
    for tier in [Tier::Jsonl, Tier::Sqlite] {
        let env = Env::tier(tier);
        env.push("held", 0);
        // The other program: sqlite3 inside BEGIN EXCLUSIVE, or flock(1)
        // on the file's lock, each until its stdin closes.
        let (prog, args): (&str, Vec<String>) = match tier {
            Tier::Sqlite => ("sqlite3", vec![env.queue.display().to_string()]),
            _ => (
                "flock",
                vec![
                    "-x".into(),
                    format!("{}.lock", env.queue.display()),
                    "cat".into(),
                ],
            ),
        };
        if !have(prog) {
            skip(
                "timeout_bounds_a_wait_for_a_lock_another_program_holds",
                &format!("{prog} is not installed"),
            );
            continue;
        }
        let mut holder = Command::new(prog)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        if tier == Tier::Sqlite {
            use std::io::Write;
            let stdin = holder.stdin.as_mut().unwrap();
            stdin.write_all(b"BEGIN EXCLUSIVE;\nSELECT 1;\n").unwrap();
            stdin.flush().unwrap();
        }
        std::thread::sleep(Duration::from_millis(500));
        let began = Instant::now();
        let out = env
            .cq()
            .args(["pull", "--wait", "--timeout", "2s"])
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let took = began.elapsed();
        drop(holder.stdin.take());
        let _ = holder.wait();
        assert_eq!(out.status.code(), Some(124), "{tier:?}: {out:?}");
        assert!(
            took < Duration::from_secs(3),
            "{tier:?}: exit 124 after {took:?}, not within the 2 s timeout and a second"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("timed out waiting for the lock"),
            "{tier:?}: {out:?}"
        );
        assert!(out.stdout.is_empty(), "{tier:?}: printed nothing");
        let pending = env
            .cq()
            .args(["list", "--pending", "--json"])
            .output()
            .unwrap();
        assert_eq!(
            names(&parse_lines(&String::from_utf8_lossy(&pending.stdout))),
            ["held"],
            "{tier:?}: the pull that timed out marked nothing"
        );
    }
}
