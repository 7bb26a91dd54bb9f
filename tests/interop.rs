//! cq and the seed article's bash + jq queue on the same file: the legacy
//! writer and reader are kept as fixtures (tests/fixtures/), equivalent to
//! the article's Phase G block and its jq read path.

mod common;

use common::{Env, fixture, have, names, parse_lines, skip, stdout_of};
use std::process::Command;

fn legacy_write(env: &Env, name: &str, code: i32) {
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    let st = Command::new("bash")
        .arg(fixture("seed-phase-g.sh"))
        .arg(&env.queue)
        .arg(name)
        .arg(code.to_string())
        .env("ORIG_HOME", "/home/u")
        .status()
        .unwrap();
    assert!(st.success());
}

fn legacy_read(env: &Env) -> Vec<String> {
    let out = Command::new("bash")
        .arg(fixture("seed-reader.sh"))
        .arg(&env.queue)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    names(&parse_lines(&stdout_of(&out)))
}

fn pull(env: &Env) -> Vec<String> {
    let out = env.cq().arg("pull").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    names(&parse_lines(&stdout_of(&out)))
}

fn need_jq(test: &str) -> bool {
    if have("jq") {
        return true;
    }
    skip(test, "jq is not installed");
    false
}

#[test]
fn cq_pulls_what_the_legacy_writer_writes() {
    if !need_jq("cq_pulls_what_the_legacy_writer_writes") {
        return;
    }
    let env = Env::new();
    legacy_write(&env, "seed-ok", 0);
    legacy_write(&env, "seed-bad", 2);
    env.push("cq-own", 0);
    let out = env.cq().arg("pull").output().unwrap();
    let recs = parse_lines(&stdout_of(&out));
    assert_eq!(names(&recs), ["seed-ok", "seed-bad", "cq-own"]);
    assert_eq!(recs[0]["output_dir"], "/home/u/cc-remote-output/seed-ok");
    assert_eq!(recs[1]["status"], "failure");
    assert!(pull(&env).is_empty());
    // The legacy reader agrees that nothing is left.
    assert!(legacy_read(&env).is_empty());
}

#[test]
fn legacy_reader_sees_cq_pending_records_and_none_cq_pulled() {
    if !need_jq("legacy_reader_sees_cq_pending_records_and_none_cq_pulled") {
        return;
    }
    let env = Env::new();
    env.push("first", 0);
    env.cq()
        .args([
            "wrap",
            "-n",
            "second",
            "--meta",
            "pulled=false",
            "--",
            "true",
        ])
        .assert()
        .success();
    assert_eq!(pull(&env), ["first", "second"]);
    env.push("third", 1);
    env.cq()
        .args(["wrap", "-n", "fourth", "--", "false"])
        .assert()
        .code(1);
    assert_eq!(legacy_read(&env), ["third", "fourth"]);
    // After the legacy rewrite (new inode, re-serialised lines) cq delivers
    // nothing again, and new records still flow.
    assert!(pull(&env).is_empty());
    env.push("fifth", 0);
    assert_eq!(pull(&env), ["fifth"]);
}

#[test]
fn legacy_append_after_a_cq_pull_is_delivered() {
    if !need_jq("legacy_append_after_a_cq_pull_is_delivered") {
        return;
    }
    let env = Env::new();
    for i in 0..5 {
        env.push(&format!("r{i}"), 0);
    }
    assert_eq!(pull(&env).len(), 5);
    legacy_write(&env, "legacy", 0);
    // A plain `>>` without a trailing newline, then a cq append.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&env.queue)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(br#"{"name":"echoed","status":"success","pulled":false}"#)
        })
        .unwrap();
    env.push("after", 0);
    assert_eq!(pull(&env), ["legacy", "echoed", "after"]);
    assert!(pull(&env).is_empty());
}

#[test]
fn cq_reads_records_in_the_seed_format_it_never_wrote() {
    let env = Env::new();
    std::fs::create_dir_all(env.queue.parent().unwrap()).unwrap();
    // What `jq -c` prints, and what a hand edit might leave: spaces, CRLF, a BOM.
    let text = concat!(
        "\u{feff}{\"name\":\"bom\",\"completed_at\":\"2026-04-07T17:58:52Z\",\"output_dir\":\"/o\",\"status\":\"success\",\"pulled\":false}\n",
        "{ \"name\" : \"spaced\", \"status\" : \"failure\", \"pulled\" : false }\r\n",
        "{\"name\":\"done\",\"status\":\"success\",\"pulled\":true}\n",
        "{\"name\":\"unknown\",\"status\":\"success\"}\n",
    );
    std::fs::write(&env.queue, text).unwrap();
    let out = env.cq().arg("pull").output().unwrap();
    let got = stdout_of(&out);
    assert_eq!(names(&parse_lines(&got)), ["bom", "spaced"]);
    assert!(!got.contains('\u{feff}') && !got.contains('\r'));
    let after = env.text();
    assert!(after.contains("\"pulled\":true ,") || after.contains("\"pulled\":true }"));
    assert!(after.contains("\"pulled\" : true  }\r\n"), "{after:?}");
    assert!(pull(&env).is_empty());
    let out = env.cq().arg("list").output().unwrap();
    assert_eq!(names(&parse_lines(&stdout_of(&out))).len(), 4);
}
