//! `cq stats` for people and in flat memory (issue 29's 80 columns, issue
//! 27's memory): the report wraps at words within 80 columns, prints the
//! checklist item behind the advice once (every item with `-v`), never
//! shows a mean above the peak and says what window the mean covers;
//! distinct writers are exact up to a bound, then estimated and said to be,
//! with the peak RSS bounded at 300,000 writers.

mod common;

use common::{Env, stdout_of};
use serde_json::Value;

/// `n` records, one per writer (host `h{i % hosts}`, pid `i`), completed
/// `step` seconds apart from `start`, written straight into the file.
fn synthetic(env: &Env, n: i64, start: i64, step: i64, hosts: i64) {
    let mut text = String::with_capacity(n as usize * 160);
    for i in 0..n {
        let t = jiff::Timestamp::from_second(start + i * step).unwrap();
        text.push_str(&format!(
            "{{\"name\":\"j{i}\",\"completed_at\":\"{}\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":true,\"host\":\"h{}\",\"pid\":{i}}}\n",
            t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            i % hosts,
        ));
    }
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    std::fs::write(&env.queue, text).unwrap();
}

fn json(env: &Env, args: &[&str]) -> Value {
    let out = env
        .cq()
        .arg("stats")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&stdout_of(&out)).unwrap()
}

fn report(env: &Env, args: &[&str]) -> String {
    let out = env.cq().arg("stats").args(args).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    stdout_of(&out)
}

/// The text of the paragraph a label starts, its lines joined by spaces.
fn paragraph(report: &str, label: &str) -> String {
    let mut lines = report.lines().skip_while(|l| !l.starts_with(label));
    let mut text = lines.next().expect(label)[12..].to_string();
    for l in lines.take_while(|l| l.starts_with("            ")) {
        text.push(' ');
        text.push_str(l.trim_start());
    }
    text
}

/// Every line fits 80 columns, and wrapping breaks lines only between
/// words: each paragraph, joined again, is the sentence --json gives.
#[test]
fn the_report_wraps_at_words_within_80_columns() {
    let env = Env::new();
    let now = jiff::Timestamp::now().as_second();
    // Three hosts: the Redis row, whose reason is long.
    synthetic(&env, 30, now - 3600, 60, 3);
    let s = json(&env, &[]);
    for args in [&[][..], &["-v"][..]] {
        let text = report(&env, args);
        for l in text.lines() {
            assert!(l.chars().count() <= 80, "{} columns: {l:?}", l.len());
        }
        let tier = paragraph(&text, "tier");
        assert_eq!(
            tier,
            format!(
                "{}: {}",
                s["tier"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            )
        );
        assert!(paragraph(&text, "checklist").starts_with(s["checklist"].as_str().unwrap()));
        assert!(tier.len() > 68, "the case must need wrapping: {tier}");
    }
}

/// The checklist item behind the advice once; the others only with -v,
/// each once; without -v one line says how to see them.
#[test]
fn the_checklist_is_printed_once_and_the_rest_with_v() {
    let env = Env::new();
    let now = jiff::Timestamp::now().as_second();
    synthetic(&env, 10, now - 86400, 8640, 1);
    let s = json(&env, &[]);
    let item = s["checklist"].as_str().unwrap();
    let also: Vec<&str> = s["also"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(also.len(), 3, "{s}");
    let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let short = flat(&report(&env, &[]));
    assert_eq!(short.matches(item).count(), 1, "{short}");
    for a in &also {
        assert!(!short.contains(a), "without -v: {a}");
    }
    assert!(short.contains("cq stats -v"), "{short}");
    for args in [["-v"], ["--verbose"]] {
        let long = flat(&report(&env, &args));
        assert_eq!(long.matches(item).count(), 1, "{long}");
        for a in &also {
            assert_eq!(long.matches(a).count(), 1, "with -v: {a}");
        }
        assert!(!long.contains("cq stats -v"), "{long}");
    }
}

/// Twenty records in one minute: the mean is 20 over the window's one
/// clock hour, not 1200/hour extrapolated from the minute (it was,
/// beside a peak of 20/hour). Across layouts (a burst, a spread, a
/// window given by --since), no mean is above its peak, and the report
/// says what the mean covers.
#[test]
fn no_mean_is_above_its_peak_and_the_window_is_said() {
    let env = Env::new();
    let now = jiff::Timestamp::now().as_second();
    let minute = now / 60 * 60 - 120;
    synthetic(&env, 20, minute, 1, 1);
    let s = json(&env, &[]);
    assert_eq!(s["peak_per_hour"], 20, "{s}");
    assert_eq!(s["mean_per_hour"], 20.0, "{s}");
    assert_eq!(s["mean_per_minute"], 20.0, "{s}");
    let text = report(&env, &[]);
    assert!(
        paragraph(&text, "mean").starts_with(
            "20.00/hour over the window's 1 clock hour, 20.00/minute over its 1 clock minute"
        ),
        "{text}"
    );
    assert!(
        paragraph(&text, "window").ends_with("(first record to last)"),
        "{text}"
    );
    let since = report(&env, &["--since", "3h"]);
    assert!(
        paragraph(&since, "window").ends_with("(--since to now)"),
        "{since}"
    );
    for (n, start, step, args) in [
        (20, minute, 1, &[][..]),
        (20, minute + 50, 1, &[][..]),
        (500, now - 7200, 13, &[][..]),
        (500, now - 7200, 13, &["--since", "30m"][..]),
        (7, now - 86400 * 3, 30000, &[][..]),
        (1, now - 10, 1, &["--since", "1d"][..]),
    ] {
        synthetic(&env, n, start, step, 1);
        let s = json(&env, args);
        for unit in ["hour", "minute"] {
            let mean = s[format!("mean_per_{unit}")].as_f64().unwrap();
            let peak = s[format!("peak_per_{unit}")].as_f64().unwrap();
            assert!(mean <= peak, "{n} records every {step}s {args:?}: {s}");
        }
        assert!(s["mean_minutes"].as_i64().unwrap() >= 1, "{s}");
    }
}

/// 300,000 records by 300,000 wrappers (one pid each, as `cq wrap` writes
/// them) peaked at 42 MiB, keeping every writer. Now the count is an
/// estimate past 100,000, said to be one ("about", `writers_estimated`),
/// within 2%, and the peak RSS stays under 32 MiB; below the bound the
/// count is exact and said plainly.
#[test]
fn many_writers_are_estimated_in_flat_memory() {
    let env = Env::new();
    let n = 300_000;
    synthetic(&env, n, 1_700_000_000, 1, 1);
    if !std::path::Path::new("/usr/bin/time").exists() {
        return common::skip(
            "many_writers_are_estimated_in_flat_memory",
            "GNU time (/usr/bin/time) is not installed",
        );
    }
    let rss = env.path("rss");
    let mut c = std::process::Command::new("/usr/bin/time");
    // As Env::cq would: none of the developer's CQ_* variables.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CQ_") {
            c.env_remove(k);
        }
    }
    let out = c
        .args(["-f", "%M", "-o"])
        .arg(&rss)
        .arg(common::CQ)
        .args(["--queue"])
        .arg(&env.queue)
        .args(["stats", "--json"])
        .env("XDG_STATE_HOME", env.path("xdg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let s: Value = serde_json::from_str(&stdout_of(&out)).unwrap();
    let kib: u64 = std::fs::read_to_string(&rss)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(kib <= 32 * 1024, "peak RSS {kib} KiB for {n} writers");
    assert_eq!(s["records"], n);
    assert_eq!(s["writers_estimated"], true, "{s}");
    let w = s["writers"].as_f64().unwrap();
    assert!(
        (w - n as f64).abs() / (n as f64) < 0.02,
        "{w} writers for {n}"
    );
    assert_eq!(s["hosts"], 1);
    assert_eq!(s["hosts_estimated"], false);
    // Exact peaks all the same (one record a second, in order).
    assert_eq!(s["peak_per_second"], 1);
    assert_eq!(s["peak_per_minute"], 60);
    assert_eq!(s["peaks_estimated"], false);
    let text = report(&env, &[]);
    let writers = paragraph(&text, "writers");
    assert!(writers.starts_with("about "), "{writers}");
    assert!(writers.contains("estimated"), "{writers}");
    // Under the bound: exact, and no "about".
    synthetic(&env, 1000, 1_700_000_000, 1, 1);
    let s = json(&env, &[]);
    assert_eq!(s["writers"], 1000);
    assert_eq!(s["writers_estimated"], false);
    let text = report(&env, &[]);
    assert!(
        paragraph(&text, "writers").starts_with("1000 (pid@host)"),
        "{text}"
    );
}
