//! A rule on the source itself that clippy cannot state: cq makes its
//! system calls through rustix's safe wrappers (issue 14, class 8), so
//! `unsafe` and direct `libc::` calls stay in the places listed here, each
//! for something no safe wrapper covers. A new one must be added here, with
//! its reason, on purpose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per file: how many times `unsafe` appears in code, and why.
const UNSAFE: &[(&str, usize, &str)] = &[
    (
        "src/main.rs",
        1,
        "#[unsafe(no_mangle)] on the C entry point (no_main)",
    ),
    (
        "src/bin/cq-kafka.rs",
        1,
        "#[unsafe(no_mangle)] on the C entry point (no_main)",
    ),
    (
        "src/process.rs",
        12,
        "SIGPIPE ignored as the runtime would, the caller's disposition kept; the forwarded signals' handler (pipe2, sigaction with the old action, errno kept); starting CMD by clone(CLONE_VM|CLONE_VFORK) with PR_SET_PDEATHSIG in the child (the caller's environ read in place, the signal mask blocked across, a sigset zeroed, the child's function); dying of CMD's signal (SIG_DFL, unblock); a wrapper's append under signals: a SIGALRM handler and alarm(2), which no safe wrapper sets",
    ),
    (
        "src/cmd/detach.rs",
        2,
        "Command::pre_exec (setsid, the caller's descriptors close-on-exec by close_range, the pipe kept across exec); taking the inherited pipe by number",
    ),
    (
        "src/queue/kafka/client.rs",
        1,
        "a librdkafka call rdkafka does not wrap: a bounded commit",
    ),
    (
        "src/queue/kafka/ctx.rs",
        1,
        "a librdkafka call rdkafka does not wrap: destroy without the group close",
    ),
];

/// The files that may call libc directly, for the same reasons.
const LIBC: &[&str] = &["src/process.rs", "src/cmd/detach.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line: what comes before a `//` comment.
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

fn count_word(text: &str, word: &str) -> usize {
    text.lines()
        .map(code)
        .map(|l| {
            l.match_indices(word)
                .filter(|(i, _)| {
                    let before = l[..*i].chars().next_back();
                    let after = l[i + word.len()..].chars().next();
                    let ident =
                        |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    !ident(before) && !ident(after)
                })
                .count()
        })
        .sum()
}

#[test]
fn unsafe_code_and_libc_calls_stay_where_listed() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    assert!(files.len() > 10, "the source was found");
    let mut unsafe_found = BTreeMap::new();
    let mut libc_found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        let n = count_word(&text, "unsafe");
        if n > 0 {
            unsafe_found.insert(rel.clone(), n);
        }
        if text.lines().map(code).any(|l| l.contains("libc::")) {
            libc_found.push(rel);
        }
    }
    let listed: BTreeMap<String, usize> =
        UNSAFE.iter().map(|(f, n, _)| (f.to_string(), *n)).collect();
    assert_eq!(
        unsafe_found, listed,
        "`unsafe` moved: use a safe wrapper (rustix), or list it in tests/source.rs with its reason"
    );
    libc_found.sort();
    let mut allowed: Vec<String> = LIBC.iter().map(|s| s.to_string()).collect();
    allowed.sort();
    assert_eq!(
        libc_found, allowed,
        "direct libc calls moved: use rustix, or list the file in tests/source.rs"
    );
}

/// No two files of src/ import each other, directly or through others:
/// `python3 tests/imports.py` prints the graph and fails on a circle.
#[test]
fn no_file_of_src_imports_itself_through_others() {
    if !common_have("python3") {
        if std::env::var_os("CQ_NO_SKIP").is_some_and(|v| !v.is_empty()) {
            panic!("python3 is not installed, and CQ_NO_SKIP forbids skips");
        }
        eprintln!(
            "SKIPPED: no_file_of_src_imports_itself_through_others: python3 is not installed"
        );
        return;
    }
    let out = std::process::Command::new("python3")
        .arg(root().join("tests/imports.py"))
        .arg(root().join("src"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.ends_with("no cycles\n"), "{text}");
    // The graph is real: record.rs is imported, and output.rs imports it.
    assert!(
        text.lines()
            .any(|l| l.starts_with("output.rs:") && l.contains("record.rs")),
        "{text}"
    );
}

fn common_have(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}
