//! The README's examples are run, so that they cannot drift from cq.
//!
//! Every fenced block tagged `console` in README.md is a session on a
//! terminal: lines starting with `$ ` are commands, the lines under a
//! command are what the terminal shows after it (stdout and stderr, as a
//! user sees them). Blocks that cannot run here (installing, starting
//! Claude Code) are tagged `sh` instead and are not run; keep those few.
//!
//! How a block runs: all its commands, in order, in one
//! `bash --noprofile --norc` on a terminal of 80 columns (`script` gives it
//! one, so cq prints what a user's terminal shows: tables, not JSON lines),
//! with an empty scratch HOME as the working directory, no `CQ_*`, `XDG_*`
//! or `CLAUDE_*` variable, and this build's cq first on PATH. Each block
//! starts from a new HOME; commands of one block share the shell (a
//! variable set by one is there for the next).
//!
//! How output compares, line by line, after the terminal is rendered
//! (carriage returns and erased lines applied, colours dropped):
//! - the scratch HOME's path reads `/home/you`;
//! - an id (a UUID) stands for any id, an RFC 3339 time (`…T…Z`) for any
//!   time;
//! - a run of spaces equals any run of spaces (table columns are padded to
//!   their content);
//! - `…` inside a line matches any text within that line, and a line that
//!   is only `…` matches any number of lines, none included;
//! - trailing blank lines do not count.
//!
//! The other tests here keep the README honest where no block can: the
//! `cq` commands in its `sh` blocks still parse, every variable cq reads
//! is in its configuration table, its test command is the one `.ci/run`
//! runs, its links lead to files that exist, and it stays short.

mod common;

use common::{CQ, have, skip};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// One `$ ` command of a block and the lines shown under it.
#[derive(Clone, Debug)]
struct Step {
    line: usize,
    cmd: String,
    expected: Vec<String>,
}

/// The README's fenced blocks tagged `tag`, as (first line number, lines).
fn fenced(text: &str, tag: &str) -> Vec<(usize, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Vec<String>)> = None;
    // A block inside a list item is indented; its lines lose that indent.
    let mut indent = 0;
    for (i, line) in text.lines().enumerate() {
        match open.as_mut() {
            None if line.trim_start().starts_with("```") => {
                indent = line.len() - line.trim_start().len();
                let t = line.trim_start().trim_start_matches('`').trim();
                if t == tag {
                    open = Some((i + 2, Vec::new()));
                } else {
                    // A block of another kind: skip to its end.
                    open = Some((0, Vec::new()));
                }
            }
            None => {}
            Some(_) if line.trim_start().starts_with("```") => {
                let (at, lines) = open.take().unwrap();
                if at != 0 {
                    blocks.push((at, lines));
                }
            }
            Some((_, lines)) => {
                let cut = line.len() - line.trim_start().len();
                lines.push(line[cut.min(indent)..].to_string())
            }
        }
    }
    assert!(open.is_none(), "README.md: a fenced block is never closed");
    blocks
}

fn steps(first: usize, lines: &[String]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: first + i,
                cmd: cmd.to_string(),
                expected: Vec::new(),
            });
        } else {
            let step = steps.last_mut().unwrap_or_else(|| {
                panic!(
                    "README.md line {}: output before any `$ ` command",
                    first + i
                )
            });
            step.expected.push(line.clone());
        }
    }
    steps
}

/// What a terminal shows for `bytes`: `\r` goes back to the line's start,
/// `ESC [ K` erases to its end, other escape sequences (colours) show
/// nothing.
fn render(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = Vec::new();
    let mut cur: Vec<char> = Vec::new();
    let mut col = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                lines.push(cur.iter().collect::<String>());
                cur.clear();
                col = 0;
            }
            '\r' => col = 0,
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut last = ' ';
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            last = c;
                            break;
                        }
                    }
                    if last == 'K' {
                        cur.truncate(col);
                    }
                }
            }
            c => {
                if col < cur.len() {
                    cur[col] = c;
                } else {
                    cur.push(c);
                }
                col += 1;
            }
        }
    }
    lines.push(cur.iter().collect());
    lines.join("\n")
}

fn is_hex(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_hexdigit())
}

/// A line with ids and times replaced by `<id>` and `<time>`, and runs of
/// spaces by one.
fn normal(line: &str) -> String {
    let b: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let rest: String = b[i..].iter().take(36).collect();
        let uuid = rest.len() == 36
            && rest.split('-').map(str::len).eq([8usize, 4, 4, 4, 12])
            && is_hex(&rest.replace('-', ""));
        if uuid {
            out.push_str("<id>");
            i += 36;
            continue;
        }
        let t: String = b[i..].iter().take(20).collect();
        let time = t.len() == 20
            && t.chars().enumerate().all(|(k, c)| match k {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                19 => c == 'Z',
                _ => c.is_ascii_digit(),
            });
        if time {
            out.push_str("<time>");
            i += 20;
            continue;
        }
        if b[i] == ' ' {
            while i < b.len() && b[i] == ' ' {
                i += 1;
            }
            out.push(' ');
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out.trim_end().to_string()
}

/// Whether `line` matches the glob `pat` (`…` for any text).
fn glob(pat: &str, line: &str) -> bool {
    let parts: Vec<&str> = pat.split('…').collect();
    if parts.len() == 1 {
        return pat == line;
    }
    let mut rest = match line.strip_prefix(parts[0]) {
        Some(r) => r,
        None => return false,
    };
    let last = parts[parts.len() - 1];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(k) => rest = &rest[k + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether the shown lines match the expected ones (the rules at the top).
fn matches(expected: &[String], shown: &[String]) -> bool {
    fn go(e: &[String], s: &[String]) -> bool {
        match e.first() {
            None => s.is_empty(),
            Some(p) if p == "…" => (0..=s.len()).any(|k| go(&e[1..], &s[k..])),
            Some(p) => !s.is_empty() && glob(p, &s[0]) && go(&e[1..], &s[1..]),
        }
    }
    let trim = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|l| normal(l)).collect();
        while v.last().is_some_and(|l| l.is_empty()) {
            v.pop();
        }
        v
    };
    go(&trim(expected), &trim(shown))
}

/// A marker the shell prints before each command, to cut its output.
fn marker(i: usize) -> String {
    format!("\u{1e}cq-readme-{i}\u{1e}")
}

/// Runs one block's commands in one shell on a terminal, in a new HOME;
/// returns what the terminal showed after each command.
fn run(steps: &[Step]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&home).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    // The marker keeps `$?`, so that `echo $?` shows the command's status.
    let mut script = String::from(
        "stty cols 80 rows 24 2>/dev/null\n__cq_readme() { local r=$?; printf '%s\\n' \"$1\"; return $r; }\n",
    );
    for (i, s) in steps.iter().enumerate() {
        script.push_str(&format!("__cq_readme '{}'\n{}\n", marker(i), s.cmd));
    }
    script.push_str(&format!("__cq_readme '{}'\n", marker(steps.len())));
    let file = dir.path().join("block.bash");
    std::fs::write(&file, script).unwrap();
    let bin = Path::new(CQ).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("script")
        .args([
            "-qec",
            &format!("bash --noprofile --norc '{}'", file.display()),
            "/dev/null",
        ])
        .env_clear()
        .env("HOME", &home)
        .env("PATH", path)
        .env("TERM", "xterm")
        .env("LANG", "C.UTF-8")
        .env("TMPDIR", &tmp)
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut b).unwrap();
        b
    });
    common::wait_within(
        &mut child,
        Duration::from_secs(90),
        &format!("the README block at line {}", steps[0].line),
    );
    let shown = render(&common::within(
        Duration::from_secs(10),
        "the terminal's output",
        move || reader.join().unwrap(),
    ))
    .replace(&home.display().to_string(), "/home/you");
    let mut outs = Vec::new();
    for i in 0..steps.len() {
        let from = shown
            .find(&marker(i))
            .unwrap_or_else(|| panic!("no output cut for step {i}: {shown}"))
            + marker(i).len();
        let to = shown[from..]
            .find(&marker(i + 1))
            .map(|k| from + k)
            .unwrap_or(shown.len());
        let part = shown[from..to]
            .strip_prefix('\n')
            .unwrap_or(&shown[from..to]);
        outs.push(part.lines().map(str::to_string).collect());
    }
    outs
}

fn console_steps() -> Vec<Vec<Step>> {
    fenced(&readme(), "console")
        .into_iter()
        .map(|(at, lines)| steps(at, &lines))
        .filter(|s| !s.is_empty())
        .collect()
}

fn check_block(steps: &[Step]) -> Vec<String> {
    let mut wrong = Vec::new();
    for (s, shown) in steps.iter().zip(run(steps)) {
        if !matches(&s.expected, &shown) {
            wrong.push(format!(
                "README.md line {}: $ {}\n  expected:\n{}\n  shown:\n{}",
                s.line,
                s.cmd,
                s.expected
                    .iter()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                shown
                    .iter()
                    .map(|l| format!("    {l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ));
        }
    }
    wrong
}

fn can_run(test: &str) -> bool {
    for tool in ["script", "bash", "jq", "make"] {
        if !have(tool) {
            skip(test, &format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

#[test]
fn every_console_block_shows_what_the_terminal_shows() {
    if !can_run("every_console_block_shows_what_the_terminal_shows") {
        return;
    }
    let _dog = common::Watchdog::start(Duration::from_secs(300));
    let blocks = console_steps();
    assert!(blocks.len() >= 4, "the README has its console blocks");
    // Blocks are independent (each its own HOME): two at a time.
    let wrong: Vec<String> = blocks
        .chunks(blocks.len().div_ceil(2))
        .map(|chunk| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || {
                chunk
                    .iter()
                    .flat_map(|b| check_block(b))
                    .collect::<Vec<_>>()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect::<Vec<String>>();
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n\n"));
}

/// The comparison can fail: one expected line changed in a real block is
/// caught, and the block as written passes.
#[test]
fn a_changed_expected_line_is_caught() {
    if !can_run("a_changed_expected_line_is_caught") {
        return;
    }
    let _dog = common::Watchdog::start(Duration::from_secs(120));
    let block = console_steps()
        .into_iter()
        .find(|b| b.iter().any(|s| s.cmd.starts_with("cq where")))
        .expect("a block that runs cq where");
    assert!(check_block(&block).is_empty());
    let mut changed = block.clone();
    let s = changed
        .iter_mut()
        .find(|s| s.cmd.starts_with("cq where"))
        .unwrap();
    let line = s.expected.iter_mut().find(|l| l.contains("jsonl")).unwrap();
    *line = line.replace("jsonl", "sqlite");
    let wrong = check_block(&changed);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("sqlite"), "{wrong:?}");
}

#[test]
fn the_matching_rules() {
    let v = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&v(&["a  b"]), &v(&["a b", ""])));
    assert!(!matches(&v(&["a b"]), &v(&["a c"])));
    assert!(!matches(&v(&["a"]), &v(&["a", "b"])));
    assert!(matches(&v(&["x…z"]), &v(&["xyyz"])));
    assert!(!matches(&v(&["x…z"]), &v(&["xyy"])));
    assert!(matches(&v(&["a", "…", "d"]), &v(&["a", "b", "c", "d"])));
    assert!(matches(&v(&["a", "…"]), &v(&["a"])));
    assert!(matches(
        &v(&["0190f6c2-7a1e-7cc3-9a53-2b4f1d3e5a77 2026-04-07T17:58:52Z"]),
        &v(&["01a24c24-e364-775a-96d4-55112ba4e1b2 2030-01-01T00:00:00Z"])
    ));
    assert!(!matches(&v(&["0190f6c2-7a1e"]), &v(&["01a24c24-e364"])));
    assert_eq!(
        render(b"\r\x1b[Kwaiting\r\x1b[KNAME \x1b[32mok\x1b[0m\r\n"),
        "NAME ok\n"
    );
}

/// Every environment variable cq's source names (`CQ_*`, `XDG_*`,
/// `CLAUDE_*`, and whatever it reads with `var`/`var_os`) is in the
/// README, so the configuration table cannot fall behind the code.
#[test]
fn every_variable_cq_reads_is_in_the_readme() {
    let text = readme();
    let mut names = std::collections::BTreeSet::new();
    let mut files = vec![root().join("src")];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let src = std::fs::read_to_string(&p).unwrap();
        for (k, _) in src.match_indices('"') {
            let name: String = src[k + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let read = ["var(", "var_os(", "env_nonempty("]
                .iter()
                .any(|f| src[..k].ends_with(f));
            let ours = ["CQ_", "XDG_", "CLAUDE_"]
                .iter()
                .any(|p| name.starts_with(p) && name.len() > p.len());
            if (ours || (read && name.len() > 1)) && !name.ends_with('_') {
                names.insert(name);
            }
        }
    }
    assert!(
        names.contains("CQ_QUEUE") && names.contains("NO_COLOR"),
        "{names:?}"
    );
    let missing: Vec<_> = names
        .iter()
        .filter(|n| !text.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md does not name (in backticks) these variables cq uses: {missing:?}"
    );
}

/// The README's test commands are the ones CI runs, in its order.
#[test]
fn the_test_command_is_the_one_ci_runs() {
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    let runs: Vec<String> = ci
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo test"))
        .map(str::to_string)
        .collect();
    assert!(!runs.is_empty(), ".ci/run runs cargo test");
    let shown: Vec<String> = fenced(&readme(), "sh")
        .into_iter()
        .flat_map(|(_, l)| l)
        .filter(|l| l.trim_start().starts_with("cargo test"))
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(shown, runs, "README.md's test commands against .ci/run's");
    assert!(ci.contains("CQ_NO_SKIP=1") && readme().contains("CQ_NO_SKIP=1"));
}

/// The `cq` commands in the blocks that are not run (`sh`) still parse:
/// each, with `--help` added, is accepted by this build's cq.
#[test]
fn commands_in_blocks_not_run_still_parse() {
    let mut bad = Vec::new();
    let mut seen = 0;
    for (at, lines) in fenced(&readme(), "sh") {
        for (i, line) in lines.iter().enumerate() {
            let line = line.split(" #").next().unwrap();
            for (k, _) in line.match_indices("cq ") {
                let before = &line[..k];
                if !(before.trim().is_empty() || before.ends_with("$(")) {
                    continue;
                }
                let cmd: String = line[k + 3..]
                    .chars()
                    .take_while(|c| !matches!(c, ')' | '|' | '>' | '&' | ';'))
                    .collect();
                let args: Vec<&str> = cmd.split_whitespace().collect();
                let out = Command::new(CQ)
                    .args(&args)
                    .arg("--help")
                    .env_remove("CQ_QUEUE")
                    .output()
                    .unwrap();
                seen += 1;
                if !out.status.success() {
                    bad.push(format!(
                        "README.md line {}: cq {cmd}: {}",
                        at + i,
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
        }
    }
    assert!(seen >= 4, "only {seen} cq commands found in sh blocks");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Relative links in the README and docs/ lead to files that exist.
#[test]
fn links_lead_to_files() {
    let mut pages = vec![root().join("README.md")];
    pages.extend(
        std::fs::read_dir(root().join("docs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for (k, _) in text.match_indices("](") {
            let target: String = text[k + 2..].chars().take_while(|c| *c != ')').collect();
            let file = target.split('#').next().unwrap();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
}

/// About 200 lines: the depth lives in docs/ and the man pages.
#[test]
fn the_readme_stays_short() {
    let n = readme().lines().count();
    assert!(n <= 220, "README.md has {n} lines; move depth to docs/");
}
