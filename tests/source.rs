//! A rule on the source itself that clippy cannot state: cq makes its
//! system calls through rustix's safe wrappers (issue 14, class 8), so
//! `unsafe` and direct `libc::` calls stay in the places listed here, each
//! for something no safe wrapper covers. A new one must be added here, with
//! its reason, on purpose. And every byte cq prints goes through
//! src/output/: no other file names stdout or stderr but those listed, each
//! with its reason.

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
        "src/process/signals.rs",
        9,
        "the caller's mask and SIGPIPE put back before cq becomes cq-kafka (std's exec resets them; a pre_exec hook); SIGPIPE ignored as the runtime would, the caller's disposition kept; the forwarded signals' handler (pipe2, sigaction with the old action, errno kept); dying of CMD's signal (SIG_DFL, unblock); a wrapper's append under signals: a SIGALRM handler and alarm(2), which no safe wrapper sets",
    ),
    (
        "src/process/spawn.rs",
        5,
        "starting CMD by clone(CLONE_VM|CLONE_VFORK) with PR_SET_PDEATHSIG in the child (the caller's environ read in place, the signal mask blocked across, a sigset zeroed, the child's function)",
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
const LIBC: &[&str] = &[
    "src/process/signals.rs",
    "src/process/spawn.rs",
    "src/cmd/detach.rs",
];

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
    // The graph is real: record/ is imported, output/ imports it, and
    // output/mod.rs names the children it declares.
    let line = |file: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{file}:")))
            .unwrap_or_else(|| panic!("no line for {file}: {text}"))
    };
    assert!(line("output/table.rs").contains("record/mod.rs"), "{text}");
    assert!(line("output/mod.rs").contains("output/table.rs"), "{text}");
}

fn common_have(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

/// Every environment variable is read in src/config.rs, once, and checked
/// there: an `env::var` elsewhere would be a knob with its own wording for
/// a bad value, or none.
#[test]
fn environment_variables_are_read_only_in_config() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        if rel == "src/config.rs" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (i, l) in text.lines().enumerate() {
            let c = code(l);
            if ["env::var", "env::vars", "getenv"]
                .iter()
                .any(|w| c.contains(w))
            {
                found.push(format!("{rel}:{}: {}", i + 1, l.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "read the variable through crate::config (src/config.rs) instead:\n{}",
        found.join("\n")
    );
}

/// The most lines a file under src/ may have, and a function.
const FILE_MAX: usize = 600;
const FN_MAX: usize = 80;

/// Files over [`FILE_MAX`] on purpose, each with its reason. (None: a file
/// that grows past it holds two things; split it.)
const LONG_FILES: &[(&str, &str)] = &[];

/// Functions over [`FN_MAX`] on purpose, as "file:name", each with its
/// reason.
const LONG_FNS: &[(&str, &str)] = &[];

/// Every function of a rustfmt-formatted file as (name, first line, lines):
/// a body ends at the first line that closes it at the indentation of its
/// `fn`, which is how rustfmt lays out every body.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        let sig = [
            "pub ",
            "pub(crate) ",
            "pub(super) ",
            "const ",
            "async ",
            "unsafe ",
        ]
        .iter()
        .fold(t, |t, p| t.strip_prefix(p).unwrap_or(t));
        let Some(rest) = sig.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body ends in `;` before any `{`.
        let Some(open) = lines[i..]
            .iter()
            .position(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'))
        else {
            continue;
        };
        if lines[i + open].trim_end().ends_with(';') {
            continue;
        }
        if lines[i + open].trim_end().ends_with('}') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i + open..].iter().position(|l| *l == close) {
            found.push((name, i + 1, open + end + 1));
        }
    }
    found
}

/// No file under src/ over 600 lines and no function over 80 (issue 24):
/// past that a file holds two things and a function does two steps.
/// Enabled at merge: the files of src/queue/ and the wrap path are split
/// on their own branches (s24q, s27w); until those land it fails on them
/// only.
#[test]
fn no_file_over_600_lines_and_no_function_over_80() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut over = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        let n = text.lines().count();
        if n > FILE_MAX && !LONG_FILES.iter().any(|(p, _)| *p == rel) {
            over.push(format!("{rel}: {n} lines"));
        }
        for (name, at, len) in functions(&text) {
            let id = format!("{rel}:{name}");
            if len > FN_MAX && !LONG_FNS.iter().any(|(p, _)| *p == id) {
                over.push(format!("{rel}:{at}: fn {name}: {len} lines"));
            }
        }
    }
    assert!(
        over.is_empty(),
        "split these (or list them in tests/source.rs with a reason):\n{}",
        over.join("\n")
    );
}

/// The scan itself finds a long function and its length.
#[test]
fn the_function_scan_measures_bodies() {
    let text = "fn a() {\n    x;\n}\n\nimpl B {\n    pub fn c(\n        d: u8,\n    ) -> u8 {\n        if d {\n        }\n        d\n    }\n    fn e();\n}\n";
    assert_eq!(
        functions(text),
        vec![("a".to_string(), 1, 3), ("c".to_string(), 6, 7)]
    );
}

/// What writes to cq's own stdout or stderr: the std handles, rustix's
/// fds 0-2, the print macros, and the paths and progress targets that reach
/// them.
const PRINTS: &[&str] = &[
    "stdout()",
    "stderr()",
    "print!(",
    "println!(",
    "eprint!(",
    "eprintln!(",
    "dbg!(",
    "StdoutLock",
    "StderrLock",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
    "ProgressDrawTarget::",
];

/// The places outside src/output/ that may name one, each with its reason.
const PRINTS_ELSEWHERE: &[(&str, &str, &str)] = &[
    (
        "src/process/signals.rs",
        "stderr()",
        "a wrapper that a signal ends mid-append says so and prints its record from the signal handler: write(2) on fd 2, the one async-signal-safe way (no lock, no allocation)",
    ),
    (
        "src/process/fds.rs",
        "stderr()",
        "reserve_std_fds checks fds 0-2 are open at start (prints nothing)",
    ),
    (
        "src/process/fds.rs",
        "stdout()",
        "reserve_std_fds checks fds 0-2 are open at start, so that no file cq opens becomes its stdout (prints nothing)",
    ),
    (
        "src/error.rs",
        "eprintln!(",
        "#[cfg(test)] only: the unit tests' captured warnings; the binary's go through output::error_line",
    ),
];

/// Every byte cq prints goes through src/output/ (issue 24): one place
/// handles a closed or full stream, escaping, terminals and pipes. Clippy's
/// print lints miss `writeln!(stdout())`, so the rule reads the source.
/// CMD under `cq wrap` inherits cq's descriptors, which is not cq printing.
#[test]
fn every_printed_byte_goes_through_output_rs() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        // The module that prints, and only it (a file beside it such as
        // src/output_x.rs is not part of it).
        if rel.starts_with("src/output/") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let line = code(line);
            for p in PRINTS {
                // As a name of its own: `flush_stdout()` is not `stdout()`.
                let named = line.match_indices(p).any(|(i, _)| {
                    !line[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if named {
                    found.push((rel.clone(), *p, n + 1));
                }
            }
        }
    }
    let unlisted: Vec<String> = found
        .iter()
        .filter(|(f, p, _)| {
            !PRINTS_ELSEWHERE
                .iter()
                .any(|(lf, lp, _)| lf == f && lp == p)
        })
        .map(|(f, p, n)| format!("{f}:{n}: {p}"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "printing outside src/output/: {unlisted:?}; add a function to src/output/ (or list the place here with its reason)"
    );
    let stale: Vec<String> = PRINTS_ELSEWHERE
        .iter()
        .filter(|(lf, lp, _)| !found.iter().any(|(f, p, _)| f == lf && p == lp))
        .map(|(f, p, _)| format!("{f}: {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "listed in PRINTS_ELSEWHERE but no longer there (delete the row): {stale:?}"
    );
}
