//! bench/run must keep working: run it in its tiny mode against the test
//! build. (Timings are not asserted anywhere: they belong to bench/run.)

mod common;

use common::{CQ, have, skip};
use std::process::Command;

#[test]
fn bench_script_runs_in_quick_mode() {
    for tool in ["hyperfine", "jq"] {
        if !have(tool) {
            return skip(
                "bench_script_runs_in_quick_mode",
                &format!("{tool} is not installed"),
            );
        }
    }
    if !std::path::Path::new("/usr/bin/time").exists() {
        return skip(
            "bench_script_runs_in_quick_mode",
            "GNU time (/usr/bin/time) is not installed",
        );
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/run"))
        .arg("--quick")
        .env("CQ_BENCH_BIN", CQ)
        // The same binary as its own baseline: the rows are there.
        .env("CQ_BENCH_BASELINE", CQ)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "cq push",
        "seed Phase G block",
        "cq wrap -- true",
        "cq push, baseline binary",
        "cq wrap -- true, baseline binary",
        "pull 5 new",
        "first pull, legacy",
        "list --json",
        "writers x",
        "pull --exec true, 20 records, jsonl",
        "pull --exec true, 20 records, sqlite",
    ] {
        assert!(
            text.contains(row),
            "bench/run printed no '{row}' row:\n{text}"
        );
    }
    assert!(text.contains("40 of 40 delivered once"), "{text}");
    // Issue 27's goals: the floor, cq and tsp in the same run, and what
    // bounds cq against the floor.
    for row in [
        "goals (issue 27)",
        "cq push / bash -c 'echo >> f'",
        "cq push / seed Phase G block",
    ] {
        assert!(
            text.contains(row),
            "bench/run printed no '{row}' row:\n{text}"
        );
    }
    if have("cc") && have("tsp") {
        for row in [
            "floor (C: fork, exec, flock, append, fdatasync)",
            "cq wrap -- true / the floor",
            "bound: cq's start over a C program's",
            "cq wrap -- true / tsp -f true",
        ] {
            assert!(
                text.contains(row),
                "bench/run printed no '{row}' row:\n{text}"
            );
        }
    } else {
        skip("bench floor and tsp rows", "cc or tsp is not installed");
    }
    if have("sqlite3") && have("redis-server") && have("redis-cli") {
        assert!(
            text.contains("cq push, sqlite tier") && text.contains("cq push, redis tier"),
            "{text}"
        );
    } else {
        skip(
            "bench tiers rows",
            "sqlite3, redis-server or redis-cli is not installed",
        );
    }
}

/// bench/interleave (issue 27's goal ratios in interleaved rounds) must
/// keep working: three rounds against the test build, every ratio line
/// printed.
#[test]
fn interleave_script_runs() {
    for tool in ["cc", "python3"] {
        if !have(tool) {
            return skip(
                "interleave_script_runs",
                &format!("{tool} is not installed"),
            );
        }
    }
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/interleave"))
        .arg("3")
        .env("CQ_BENCH_BIN", CQ)
        .env("CQ_BENCH_BASELINE", CQ)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "3 interleaved rounds",
        "wrap / floor: ",
        "push / echo: ",
        "push / seed: ",
        "wrap / wrap, baseline: ",
        "push / push, baseline: ",
    ] {
        assert!(
            text.contains(row),
            "bench/interleave printed no '{row}':\n{text}"
        );
    }
    let tsp = if have("tsp") {
        "wrap / tsp: "
    } else {
        "wrap / tsp: skipped"
    };
    assert!(text.contains(tsp), "{text}");
}
