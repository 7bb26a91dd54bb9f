//! bench/run must keep working: run it in its tiny mode against the test
//! build. (Timings are not asserted anywhere: they belong to bench/run.)

mod common;

use common::{CQ, have, skip, within};
use std::process::Command;
use std::time::Duration;

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
    let text = run_script("bench/run", "--quick");
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
    let text = run_script("bench/interleave", "3");
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

/// Runs one of bench/'s scripts against the test build (its own baseline
/// too: the baseline rows are there), five minutes at most; fails on a
/// non-zero exit. Its standard output.
fn run_script(script: &'static str, arg: &'static str) -> String {
    let out = within(Duration::from_secs(300), script, move || {
        Command::new(format!("{}/{script}", env!("CARGO_MANIFEST_DIR")))
            .arg(arg)
            .env("CQ_BENCH_BIN", CQ)
            .env("CQ_BENCH_BASELINE", CQ)
            .output()
            .unwrap()
    });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}
