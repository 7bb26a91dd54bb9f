//! Generated files (completions, man pages) must match what the binary
//! generates now, and every file in shell/ and man/ must pass its linter.
//! Regenerate with `CQ_REGEN=1 cargo test --test generated`.

mod common;

use common::{CQ, have, skip};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn regen() -> bool {
    std::env::var_os("CQ_REGEN").is_some_and(|v| v == "1")
}

fn check(committed: &Path, generated: &[u8]) -> Option<String> {
    let old = std::fs::read(committed).unwrap_or_default();
    if old == generated {
        return None;
    }
    if regen() {
        std::fs::write(committed, generated).unwrap();
        return None;
    }
    Some(
        committed
            .strip_prefix(root())
            .unwrap_or(committed)
            .display()
            .to_string(),
    )
}

fn fail_on_drift(drift: Vec<String>) {
    assert!(
        drift.is_empty(),
        "generated files differ from the CLI: {drift:?}; run `CQ_REGEN=1 cargo test --test generated` and commit"
    );
}

#[test]
fn completions_match_the_cli() {
    let mut drift = Vec::new();
    for (shell, file) in [
        ("bash", "cq.bash"),
        ("zsh", "_cq"),
        ("fish", "cq.fish"),
        ("elvish", "cq.elv"),
        ("powershell", "_cq.ps1"),
    ] {
        let out = Command::new(CQ)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!out.stdout.is_empty());
        drift.extend(check(
            &root().join("shell/completions").join(file),
            &out.stdout,
        ));
    }
    fail_on_drift(drift);
}

#[test]
fn man_pages_match_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new(CQ)
        .args(["man", "--out"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut drift = Vec::new();
    let mut generated: Vec<String> = Vec::new();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read(e.path()).unwrap();
        drift.extend(check(&root().join("man").join(&name), &text));
        generated.push(name);
    }
    for page in [
        "cq.1",
        "cq-wrap.1",
        "cq-push.1",
        "cq-pull.1",
        "cq-ack.1",
        "cq-list.1",
        "cq-compact.1",
        "cq-queue.5",
    ] {
        assert!(
            generated.iter().any(|g| g == page),
            "cq man --out did not write {page}"
        );
    }
    // A page for a command that no longer exists is drift too.
    for e in std::fs::read_dir(root().join("man")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if !generated.contains(&name) {
            if regen() {
                std::fs::remove_file(root().join("man").join(&name)).unwrap();
            } else {
                drift.push(format!("man/{name} (no longer generated)"));
            }
        }
    }
    fail_on_drift(drift);
    // Without --out, cq(1) itself.
    let out = Command::new(CQ).arg("man").output().unwrap();
    assert_eq!(out.stdout, std::fs::read(root().join("man/cq.1")).unwrap());
}

/// Every message of mandoc's lint, down to style (a source line over 80
/// bytes, a blank at a line's end), fails.
#[test]
fn man_pages_pass_mandoc_lint() {
    if !have("mandoc") {
        return skip("man_pages_pass_mandoc_lint", "mandoc is not installed");
    }
    for e in std::fs::read_dir(root().join("man")).unwrap() {
        let p = e.unwrap().path();
        let out = Command::new("mandoc")
            .args(["-T", "lint", "-W", "style"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stdout.is_empty(),
            "mandoc lint {}: {}{}",
            p.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// What groff says rendering every page at 80 columns, as `man` does
/// (issue 29: three "cannot adjust line" warnings, from an unbreakable
/// Kafka URL, which was also hyphenated).
#[test]
fn man_pages_render_without_groff_warnings() {
    if !have("man") || !have("groff") {
        return skip(
            "man_pages_render_without_groff_warnings",
            "man or groff is not installed",
        );
    }
    for e in std::fs::read_dir(root().join("man")).unwrap() {
        let p = e.unwrap().path();
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&p)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MAN_KEEP_FORMATTING", "")
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "man --warnings {}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains('`'), "{}: a literal backtick", p.display());
        // A URL split at a hyphen would read as another URL.
        assert!(!text.contains("kaf-\n"), "{}: hyphenated URL", p.display());
    }
}

/// Each page's SYNOPSIS names every option of `cq SUB --help` with its
/// value, and every argument in the order `Usage:` gives them; `cq wrap`'s
/// command comes after `--`.
#[test]
fn every_synopsis_matches_its_command() {
    let subs = [
        "wrap",
        "push",
        "pull",
        "ack",
        "retry",
        "list",
        "wait",
        "compact",
        "stats",
        "migrate",
        "meta",
        "completions",
        "man",
        "init",
        "where",
    ];
    for sub in subs {
        let page = std::fs::read_to_string(root().join(format!("man/cq-{sub}.1"))).unwrap();
        // Its text lines, up to the next request, as roff joins them.
        let synopsis = page
            .split(".SH SYNOPSIS\n")
            .nth(1)
            .unwrap_or_else(|| panic!("cq-{sub}.1 has no SYNOPSIS"))
            .lines()
            .take_while(|l| !l.starts_with('.'))
            .collect::<Vec<_>>()
            .join(" ");
        let help = Command::new(CQ).args([sub, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&help.stdout);
        for line in help.lines().map(str::trim_start) {
            let Some(opt) = line.split(", ").last().filter(|o| o.starts_with("--")) else {
                continue;
            };
            let mut words = opt.split_whitespace();
            let long = words.next().unwrap().replace('-', "\\-");
            let want = match words.next() {
                Some(v) => format!("{long}\\fR \\fI{}\\fR", v.trim_matches(['<', '>'])),
                None => format!("{long}\\fR"),
            };
            assert!(
                synopsis.contains(&want),
                "cq-{sub}.1's SYNOPSIS lacks {want}: {synopsis}"
            );
        }
        // The arguments: `<CMD>...` and `[ID]...` under "Arguments:".
        let args = help
            .split("Arguments:\n")
            .nth(1)
            .map(|a| a.split("\n\n").next().unwrap_or(""))
            .unwrap_or("");
        let names = args
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.starts_with(['<', '[']) && !w.starts_with("[possible"));
        for arg in names {
            let name = arg.trim_matches(['<', '>', '[', ']', '.']);
            let want = format!("\\fI{name}\\fR");
            assert!(
                synopsis.contains(&want),
                "cq-{sub}.1's SYNOPSIS lacks {name}: {synopsis}"
            );
        }
    }
    let wrap = std::fs::read_to_string(root().join("man/cq-wrap.1")).unwrap();
    assert!(
        wrap.replace("\n", " ")
            .contains("\\fB\\-\\-\\fR \\fICMD\\fR [\\fIARGS\\fR]... .ie"),
        "cq-wrap(1)'s SYNOPSIS ends with -- CMD [ARGS]..."
    );
}

#[test]
fn every_page_has_the_sections_users_look_for() {
    for e in std::fs::read_dir(root().join("man")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "5") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for sec in [".SH \"EXIT STATUS\"", ".SH EXAMPLES", ".SH \"SEE ALSO\""] {
            assert!(text.contains(sec), "{} lacks {sec}", p.display());
        }
        let name = p.file_name().unwrap().to_string_lossy();
        if name == "cq-meta.1" {
            // It never touches the queue: its file is the job's own.
            assert!(text.contains(".SH ENVIRONMENT") && text.contains("CQ_META_FILE"));
            continue;
        }
        if !["cq-completions.1", "cq-man.1", "cq-init.1"].contains(&name.as_ref()) {
            assert!(
                text.contains(".SH ENVIRONMENT") && text.contains("CQ_QUEUE"),
                "{name}"
            );
            assert!(text.contains(".SH FILES"), "{name}");
        }
    }
    let wrap = std::fs::read_to_string(root().join("man/cq-wrap.1")).unwrap();
    for var in [
        "CQ_QUEUE",
        "CQ_NAME",
        "CQ_OUTPUT_DIR",
        "CQ_ID",
        "XDG_STATE_HOME",
    ] {
        assert!(wrap.contains(var), "cq-wrap(1) does not mention {var}");
    }
}

#[test]
fn man_documents_every_flag_of_wrap() {
    if !have("man") {
        return skip(
            "man_documents_every_flag_of_wrap",
            "man (man-db) is not installed",
        );
    }
    let out = Command::new("man")
        .arg("-l")
        .arg(root().join("man/cq-wrap.1"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8_lossy(&out.stdout).replace('\u{2010}', "-");
    let help = Command::new(CQ).args(["wrap", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: Vec<&str> = help
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(flags.len() >= 5, "{flags:?}");
    for f in flags {
        assert!(page.contains(f), "man cq-wrap does not document {f}");
    }
}

#[test]
fn shell_files_pass_shellcheck() {
    if !have("shellcheck") {
        return skip("shell_files_pass_shellcheck", "shellcheck is not installed");
    }
    let mut files = Vec::new();
    for dir in ["shell", "shell/completions", "tests/fixtures"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "bash" || x == "sh") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 3, "{files:?}");
    let out = Command::new("shellcheck").args(&files).output().unwrap();
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // What `cq init bash` prints, as a whole.
    let init = Command::new(CQ)
        .args(["init", "bash", "--wrap", "claude"])
        .output()
        .unwrap();
    // An empty script would pass shellcheck: it must be cq's script.
    assert!(init.status.success(), "cq init bash: {init:?}");
    assert!(
        String::from_utf8_lossy(&init.stdout).contains("function claude {"),
        "cq init bash --wrap claude printed no wrapper for claude"
    );
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &init.stdout).unwrap();
    let out = Command::new("shellcheck")
        .args(["-s", "bash"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "shellcheck cq init bash:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Commands that need no queue never look for one: they work with an empty
/// environment, without HOME, and beside a CQ_QUEUE they could not parse.
#[test]
fn commands_without_a_queue_need_no_queue() {
    let dir = tempfile::tempdir().unwrap();
    for (vars, args) in [
        (vec![], vec!["completions", "bash"]),
        (vec![], vec!["init", "zsh"]),
        (vec![("CQ_QUEUE", "kafka://nohost:1/t")], vec!["man"]),
        (vec![("CQ_QUEUE", "kafka://")], vec!["man"]),
        (vec![("CQ_QUEUE", "redis://")], vec!["completions", "fish"]),
    ] {
        let out = Command::new(CQ)
            .env_clear()
            .envs(vars.iter().copied())
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "{vars:?} cq {args:?}: {out:?}"
        );
    }
    // A command that does need the queue still says what is missing.
    let out = Command::new(CQ)
        .env_clear()
        .arg("list")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("HOME"));
}

/// `cq --help`, `cq help` and the completions of zsh, fish, elvish and
/// PowerShell describe every subcommand in a line (the deferred argument
/// building once left them all blank).
#[test]
fn every_subcommand_has_a_description() {
    let mut subs = Vec::new();
    for args in [&["--help"][..], &["help"][..]] {
        let out = Command::new(CQ).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let listed: Vec<(String, String)> = text
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| {
                let l = l.trim();
                let (name, desc) = l.split_once(' ').unwrap_or((l, ""));
                (name.to_string(), desc.trim().to_string())
            })
            .collect();
        assert!(listed.len() >= 12, "cq {args:?} lists {listed:?}");
        for (name, desc) in &listed {
            assert!(!desc.is_empty(), "cq {args:?}: {name} has no description");
        }
        subs = listed.into_iter().map(|(n, _)| n).collect();
    }
    let read = |f: &str| std::fs::read_to_string(root().join("shell/completions").join(f)).unwrap();
    let (zsh, fish, elv, ps1) = (
        read("_cq"),
        read("cq.fish"),
        read("cq.elv"),
        read("_cq.ps1"),
    );
    for name in subs.iter().filter(|n| *n != "help") {
        let described = |text: &str, prefix: &str| {
            text.lines().any(|l| {
                l.split_once(prefix.replace("NAME", name).as_str())
                    .is_some_and(|(_, rest)| rest.chars().take_while(|c| *c != '\'').count() > 3)
            })
        };
        assert!(described(&zsh, "'NAME:"), "zsh: {name}");
        assert!(described(&fish, "-a \"NAME\" -d '"), "fish: {name}");
        assert!(described(&elv, "cand NAME '"), "elvish: {name}");
        assert!(
            described(
                &ps1,
                "::new('NAME', 'NAME', [CompletionResultType]::ParameterValue, '"
            ),
            "powershell: {name}"
        );
    }
}
