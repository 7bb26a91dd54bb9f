//! The shell integration in real shells: bash (--noprofile --norc -e -u -o
//! pipefail), zsh (-f) and fish (--no-config); and phase-g.bash against the
//! seed's Phase G block (the legacy-writer fixture).

mod common;

use common::{CQ, Env, fixture, have, parse_lines, skip, stdout_of};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory with `mytool` (prints its arguments, exits 3) for --wrap.
fn tool_dir(env: &Env) -> PathBuf {
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let tool = bin.join("mytool");
    std::fs::write(&tool, "#!/bin/sh\necho \"out:$*\"\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn path_with_cq(extra: &Path) -> String {
    let cq_dir = Path::new(CQ).parent().unwrap();
    format!(
        "{}:{}:/usr/local/bin:/usr/bin:/bin",
        cq_dir.display(),
        extra.display()
    )
}

fn run(env: &Env, prog: &str, args: &[&str], script: &str) -> Output {
    let bin = tool_dir(env);
    let out = Command::new(prog)
        .args(args)
        .arg(script)
        .env("PATH", path_with_cq(&bin))
        .env("CQ_QUEUE", &env.queue)
        .env("HOME", env.dir.path())
        .env_remove("CQ_NAME")
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{prog} failed: {}\nstderr: {}",
        stdout_of(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn check_wrapped_record(env: &Env) {
    let recs = env.records();
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["name"], "mytool");
    assert_eq!(recs[0]["exit_code"], 3);
    assert_eq!(
        recs[0]["command"],
        serde_json::json!(["mytool", "a", "b c"])
    );
}

const BASH: &[&str] = &["--noprofile", "--norc", "-e", "-u", "-o", "pipefail", "-c"];

#[test]
fn bash_init_wraps_completes_and_registers_once() {
    let env = Env::new();
    let out = run(
        &env,
        "bash",
        BASH,
        r#"
        snippet=$(cq init bash --wrap mytool)
        quiet=$(eval "$snippet"; eval "$snippet" 2>&1)
        [ -z "$quiet" ] || { echo "sourcing printed: $quiet"; exit 1; }
        eval "$snippet"; eval "$snippet"
        echo "registered=$(complete -p | grep -c ' cq$')"
        set +e; mytool a 'b c'; rc=$?; set -e
        echo "rc=$rc"
        # Completion functions run at the prompt, where -e and -u are off.
        set +eu
        COMP_WORDS=(cq wr); COMP_CWORD=1; COMP_LINE="cq wr"; COMP_POINT=5
        _cq cq wr cq
        echo "reply=${COMPREPLY[*]}"
        set -eu
        echo "pending=$(__cq_pending)"
        set +e; false; __cq_prompt; echo " status=$?"; set -e
        "#,
    );
    assert_eq!(
        stdout_of(&out),
        "registered=1\nout:a b c\nrc=3\nreply=wrap\npending=1\ncq:1  status=1\n"
    );
    check_wrapped_record(&env);
}

#[test]
fn zsh_init_wraps_completes_and_registers_once() {
    if !have("zsh") {
        return skip(
            "zsh_init_wraps_completes_and_registers_once",
            "zsh is not installed",
        );
    }
    let env = Env::new();
    let out = run(
        &env,
        "zsh",
        &["-f", "-c"],
        r#"
        set -e
        autoload -Uz compinit && compinit -u -D
        snippet=$(cq init zsh --wrap mytool)
        quiet=$(eval "$snippet"; eval "$snippet" 2>&1)
        [[ -z $quiet ]] || { print -r -- "sourcing printed: $quiet"; exit 1 }
        eval "$snippet"; eval "$snippet"
        print -r -- "registered=${_comps[cq]}"
        set +e; mytool a 'b c'; rc=$?; set -e
        print -r -- "rc=$rc"
        print -r -- "pending=$(__cq_pending)"
        "#,
    );
    assert_eq!(
        stdout_of(&out),
        "registered=_cq\nout:a b c\nrc=3\npending=1\n"
    );
    check_wrapped_record(&env);
    // Tab completion needs the line editor: drive an interactive zsh in a pty.
    let comp = run(
        &env,
        "zsh",
        &["-f", "-c"],
        r#"
        zmodload zsh/zpty
        zpty -b z 'TERM=dumb PS1="> " zsh -f -i'
        zpty -w z 'autoload -Uz compinit; compinit -u -D; eval "$(cq init zsh)"'
        zpty -w -n z $'cq wr\t'
        out=""
        for i in {1..50}; do
          while zpty -r -t z chunk; do out+=$chunk; done
          [[ $out == *"cq wrap "* ]] && break
          sleep 0.1
        done
        zpty -d z
        [[ $out == *"cq wrap "* ]] && print completed || print -r -- "not completed: ${(q)out}"
        "#,
    );
    assert_eq!(stdout_of(&comp), "completed\n");
}

#[test]
fn fish_init_wraps_completes_and_registers_once() {
    if !have("fish") {
        return skip(
            "fish_init_wraps_completes_and_registers_once",
            "fish is not installed",
        );
    }
    let env = Env::new();
    let out = run(
        &env,
        "fish",
        &["--no-config", "-c"],
        r#"
        set -l quiet (cq init fish --wrap mytool | source; cq init fish --wrap mytool | source)
        test -z "$quiet"; or begin; echo "sourcing printed: $quiet"; exit 1; end
        cq init fish --wrap mytool | source
        set -l once (complete -c cq | count)
        cq init fish --wrap mytool | source
        set -l twice (complete -c cq | count)
        test $once = $twice; and echo registered-once
        mytool a 'b c'
        echo "rc=$status"
        complete -C 'cq wr' | string split -f1 \t
        echo "pending="(__cq_pending)
        "#,
    );
    assert_eq!(
        stdout_of(&out),
        "registered-once\nout:a b c\nrc=3\nwrap\npending=1\n"
    );
    check_wrapped_record(&env);
}

/// Runs phase-g.bash under `set -euo pipefail` with PATH as given; returns
/// the record it appended.
fn phase_g(home: &Path, path: &str, name: &str, code: &str) -> Value {
    let out = Command::new("/bin/bash")
        .args(BASH)
        .arg("source \"$SNIPPET\"; echo \"after=$?\"")
        .env(
            "SNIPPET",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("shell/phase-g.bash"),
        )
        .env("PATH", path)
        .env("ORIG_HOME", home)
        .env("TASK_NAME", name)
        .env("CLAUDE_EXIT", code)
        .env_remove("CQ_QUEUE")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "after=0\n", "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = home.join("cc-remote-output/.completion-queue.jsonl");
    let recs = parse_lines(&std::fs::read_to_string(q).unwrap());
    recs.last().unwrap().clone()
}

fn seed_block(home: &Path, name: &str, code: &str) -> Value {
    let q = home.join("seed.jsonl");
    let st = Command::new("bash")
        .arg(fixture("seed-phase-g.sh"))
        .arg(&q)
        .arg(name)
        .arg(code)
        .env("ORIG_HOME", home)
        .status()
        .unwrap();
    assert!(st.success());
    let recs = parse_lines(&std::fs::read_to_string(q).unwrap());
    recs.last().unwrap().clone()
}

fn first_five(v: &Value) -> Vec<(String, Value)> {
    v.as_object()
        .unwrap()
        .iter()
        .take(5)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn phase_g_matches_the_seed_block_with_and_without_cq() {
    if !have("jq") {
        return skip(
            "phase_g_matches_the_seed_block_with_and_without_cq",
            "jq is not installed",
        );
    }
    let env = Env::new();
    let home = env.dir.path();
    std::fs::create_dir_all(home.join("cc-remote-output")).unwrap();
    let with_cq = path_with_cq(Path::new("/nonexistent"));
    let no_cq = "/usr/local/bin:/usr/bin:/bin".to_string();
    assert!(!Path::new("/usr/bin/cq").exists() && !Path::new("/usr/local/bin/cq").exists());
    // Bash builtins only: no cq, no jq, no date, no flock.
    let bare = "/nonexistent".to_string();
    for (path, rich) in [(&with_cq, true), (&no_cq, false), (&bare, false)] {
        for (name, code) in [
            ("build-claim-registry", "0"),
            ("tricky \"name\"\twith\u{1}ctl", "2"),
            ("big", "300"),
        ] {
            let ours = phase_g(home, path, name, code);
            let seed = seed_block(home, name, code);
            let (mut a, mut b) = (first_five(&ours), first_five(&seed));
            // The two ran a moment apart: compare the times within a second or two.
            let ta: jiff::Timestamp = a[1].1.as_str().unwrap().parse().unwrap();
            let tb: jiff::Timestamp = b[1].1.as_str().unwrap().parse().unwrap();
            assert!(ta.duration_since(tb).as_secs().abs() <= 2, "{ta} vs {tb}");
            a.remove(1);
            b.remove(1);
            assert_eq!(a, b, "PATH={path}");
            assert_eq!(ours.get("id").is_some(), rich, "PATH={path}: {ours}");
            if rich && code != "300" {
                assert_eq!(ours["exit_code"], code.parse::<i64>().unwrap());
            }
        }
    }
    // QUEUE_ENABLE other than "true" appends nothing.
    let q = home.join("cc-remote-output/.completion-queue.jsonl");
    let before = std::fs::read(&q).unwrap();
    let out = Command::new("/bin/bash")
        .args(BASH)
        .arg("QUEUE_ENABLE=false; source \"$SNIPPET\"; echo ok")
        .env(
            "SNIPPET",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("shell/phase-g.bash"),
        )
        .env("ORIG_HOME", home)
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "ok\n");
    assert_eq!(std::fs::read(&q).unwrap(), before);
}

#[test]
fn phase_g_never_aborts_the_runner() {
    let env = Env::new();
    // A home where nothing can be written, unset variables, cq failing.
    std::fs::write(env.path("file"), "").unwrap();
    for (home, vars) in [
        (env.path("file").display().to_string(), ""),
        (
            env.path("h").display().to_string(),
            "unset TASK_NAME CLAUDE_EXIT;",
        ),
    ] {
        let out = Command::new("/bin/bash")
            .args(BASH)
            .arg(format!("{vars} source \"$SNIPPET\"; echo survived"))
            .env(
                "SNIPPET",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("shell/phase-g.bash"),
            )
            .env("PATH", path_with_cq(Path::new("/nonexistent")))
            .env("ORIG_HOME", &home)
            .env("TASK_NAME", "t")
            .env("CLAUDE_EXIT", "1")
            .output()
            .unwrap();
        assert_eq!(stdout_of(&out), "survived\n", "{out:?}");
    }
}

/// The drop-in ships in the binary: `cq init phase-g` prints
/// shell/phase-g.bash byte for byte, and `eval "$(cq init phase-g)"` in a
/// runner under `set -euo pipefail` appends the record and leaves the
/// variables the seed's block left, with its values.
#[test]
fn phase_g_ships_in_the_binary_and_leaves_the_blocks_variables() {
    let shipped =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("shell/phase-g.bash")).unwrap();
    let out = Command::new(CQ).args(["init", "phase-g"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        out.stdout, shipped,
        "cq init phase-g differs from shell/phase-g.bash"
    );
    let cq_dir = Path::new(CQ).parent().unwrap();
    let home = tempfile::tempdir().unwrap();
    for (code, want) in [("0", "success"), ("3", "failure")] {
        let out = Command::new("/bin/bash")
            .args(BASH)
            .arg(
                "eval \"$(cq init phase-g)\"; \
                 echo \"rc=$? QUEUE=$QUEUE status=$status QUEUE_ENABLE=$QUEUE_ENABLE\"",
            )
            .env("PATH", format!("{}:/usr/bin:/bin", cq_dir.display()))
            .env("HOME", home.path())
            .env("ORIG_HOME", home.path())
            .env("TASK_NAME", format!("job-{code}"))
            .env("CLAUDE_EXIT", code)
            .env_remove("QUEUE_ENABLE")
            .env_remove("CQ_QUEUE")
            .output()
            .unwrap();
        let q = home.path().join("cc-remote-output/.completion-queue.jsonl");
        assert_eq!(
            stdout_of(&out),
            format!(
                "rc=0 QUEUE={} status={want} QUEUE_ENABLE=true\n",
                q.display()
            ),
            "{out:?}"
        );
        let recs = parse_lines(&std::fs::read_to_string(&q).unwrap());
        let last = recs.last().unwrap();
        assert_eq!(last["name"], format!("job-{code}"));
        assert_eq!(last["status"], want);
        assert!(last["id"].is_string(), "written by cq push: {last}");
    }
}

/// `cq --queue Q init SHELL` pins Q into what it generates: the wrappers
/// and `__cq_pending` use Q even when CQ_QUEUE says otherwise later (the
/// seed's runner changes HOME, and with it the default queue).
#[test]
fn init_pins_the_queue_it_was_given() {
    let scripts = [
        (
            "bash",
            BASH.to_vec(),
            r#"eval "$(cq --queue "$PINNED" init bash --wrap mytool)"
               export CQ_QUEUE="$PWD/elsewhere.jsonl"
               set +e; mytool a 'b c'; rc=$?; set -e
               echo "rc=$rc pending=$(__cq_pending)""#,
        ),
        (
            "zsh",
            vec!["-f", "-c"],
            r#"set -e
               eval "$(cq --queue "$PINNED" init zsh --wrap mytool)"
               export CQ_QUEUE="$PWD/elsewhere.jsonl"
               set +e; mytool a 'b c'; rc=$?; set -e
               print -r -- "rc=$rc pending=$(__cq_pending)""#,
        ),
        (
            "fish",
            vec!["--no-config", "-c"],
            r#"cq --queue "$PINNED" init fish --wrap mytool | source
               set -gx CQ_QUEUE "$PWD/elsewhere.jsonl"
               mytool a 'b c'; set rc $status
               echo "rc=$rc pending="(__cq_pending)"#,
        ),
    ];
    for (shell, args, script) in scripts {
        if !have(shell) {
            skip(
                "init_pins_the_queue_it_was_given",
                &format!("{shell} is not installed"),
            );
            continue;
        }
        let env = Env::new();
        let bin = tool_dir(&env);
        let out = Command::new(shell)
            .args(&args)
            .arg(script)
            .env("PATH", path_with_cq(&bin))
            .env("PINNED", &env.queue)
            .env_remove("CQ_QUEUE")
            .env("HOME", env.dir.path())
            .env_remove("CQ_NAME")
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        assert_eq!(
            stdout_of(&out),
            "out:a b c\nrc=3 pending=1\n",
            "{shell}: {out:?}"
        );
        check_wrapped_record(&env);
        assert!(!env.path("elsewhere.jsonl").exists(), "{shell}: not pinned");
    }
    // A queue init cannot parse is refused when init runs, not at every
    // prompt.
    let out = Command::new(CQ)
        .args(["--queue", "kafka://", "init", "bash"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// The seed's set-up end to end: the runner changes HOME (why the seed
/// carries ORIG_HOME) and dispatches a `cq wrap`-ed job; the main session,
/// with the real HOME, pulls its record. The one line that makes it work:
/// the runner exports XDG_STATE_HOME before it changes HOME, so cq's
/// default queue stays where the session reads.
#[test]
fn a_runner_that_changes_home_records_where_the_session_reads() {
    let env = Env::new();
    let home = env.path("home");
    let runner_home = env.path("runner-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&runner_home).unwrap();
    let runner = env.path("runner.sh");
    std::fs::write(
        &runner,
        r#"#!/usr/bin/env bash
set -euo pipefail
export XDG_STATE_HOME="${XDG_STATE_HOME:-$HOME/.local/state}"   # the one line
ORIG_HOME=$HOME
export HOME="$RUNNER_HOME"
TASK_NAME=build-claim-registry
cq wrap -n "$TASK_NAME" -o "$ORIG_HOME/cc-remote-output/$TASK_NAME" -- sh -c 'exit 0'
"#,
    )
    .unwrap();
    let cq_dir = Path::new(CQ).parent().unwrap();
    let path = format!("{}:/usr/bin:/bin", cq_dir.display());
    let st = Command::new("bash")
        .arg(&runner)
        .env("PATH", &path)
        .env("HOME", &home)
        .env("RUNNER_HOME", &runner_home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("CQ_QUEUE")
        .status()
        .unwrap();
    assert!(st.success());
    // The main session: the real HOME, no CQ_QUEUE, no XDG_STATE_HOME.
    let out = Command::new(CQ)
        .args(["pull", "--json"])
        .env("HOME", &home)
        .env_remove("XDG_STATE_HOME")
        .env_remove("CQ_QUEUE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let recs = parse_lines(&stdout_of(&out));
    assert_eq!(recs.len(), 1, "{out:?}");
    assert_eq!(recs[0]["name"], "build-claim-registry");
    assert!(
        !runner_home.join(".local").exists(),
        "nothing went under the runner's HOME"
    );
}

/// `cq init claude`: Claude Code settings (valid JSON) whose prompt-time
/// hook, run as Claude Code runs it (bash, the event's JSON on stdin,
/// another working directory, a HOME), hands each finished job over once
/// as one plain line, nothing when nothing is pending or everything is in
/// flight, and exits 0 even when the queue cannot be read. (The session's
/// waiter, and the real client, are tests/claude.rs's.)
#[test]
fn claude_hooks_bring_each_finished_job_once() {
    let env = Env::new();
    env.push("build-claim-registry", 0);
    let settings_for = |queue: &str| -> Value {
        let out = Command::new(CQ)
            .args(["--queue", queue, "init", "claude"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).expect("valid JSON")
    };
    let settings = settings_for(&env.queue.display().to_string());
    let command = |s: &Value, event: &str| -> String {
        let hooks = &s["hooks"][event][0]["hooks"][0];
        assert_eq!(hooks["type"], "command", "{s}");
        hooks["command"].as_str().unwrap().to_string()
    };
    let waiter = &settings["hooks"]["Stop"][0]["hooks"][0];
    assert_eq!(waiter["asyncRewake"], true, "{settings}");
    assert!(
        waiter["timeout"].as_u64() > Some(86400),
        "the hook's timeout is longer than the waiter's own deadline: {settings}"
    );
    let prompt = command(&settings, "UserPromptSubmit");
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |cmd: &str| {
        use std::io::Write;
        let mut child = Command::new("bash")
            .args(["-c", cmd])
            .current_dir(elsewhere.path())
            .env("HOME", elsewhere.path())
            .env_remove("CQ_QUEUE")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(br#"{"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"hi"}"#)
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&prompt);
    assert!(out.status.success(), "{out:?}");
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "1 background job ended (cq):");
    assert!(
        lines[1].starts_with("- build-claim-registry: success (exit 0), completed "),
        "{text}"
    );
    assert!(lines[2].starts_with("(cq delivery "), "{text}");
    // In flight to a live client (this test): not handed over twice.
    let out = run(&prompt);
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    env.push("later", 3);
    let out = run(&prompt);
    let text = stdout_of(&out);
    assert!(text.contains("- later: failure (exit 3)"), "{out:?}");
    assert!(!text.contains("build-claim-registry"), "{out:?}");
    // A queue that cannot be read: one line on stderr, exit 0.
    let broken = settings_for(&env.path("a-dir/").display().to_string());
    std::fs::create_dir_all(env.path("a-dir")).unwrap();
    let out = run(&command(&broken, "UserPromptSubmit"));
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().count(),
        1,
        "{out:?}"
    );
}

/// Completion of what only the queue knows, in the real shells, through
/// `cq init SHELL`: `cq wait` offers the names and ids of running jobs and
/// pending records, `cq ack` the pending ids, `cq list --name` the names;
/// after `cq wrap --` the command, then its own arguments. bash through
/// its completion function (COMP_WORDS), zsh at a real prompt (zpty),
/// fish through `complete -C`.
#[test]
fn completion_offers_job_names_ids_and_commands() {
    let env = Env::new();
    env.push("build", 0);
    env.push("test-all", 1);
    let stop = env.path("stop");
    let out = env
        .cq()
        .env("CQ_QUEUE", &env.queue)
        .args(["wrap", "-d", "-n", "sleeper", "--", "sh", "-c"])
        .arg(format!(
            "i=0; while [ ! -e {} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
            stop.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sleeper = stdout_of(&out).trim().to_string();
    let build = env.records()[0]["id"].as_str().unwrap().to_string();
    // Long enough to tell ids made in the same millisecond apart.
    let prefix = |id: &str| id[..33].to_string();

    let bash = run(
        &env,
        "bash",
        BASH,
        &format!(
            r#"
        eval "$(cq init bash)"
        set +eu
        t() {{
            COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMPREPLY=()
            __cq_complete cq "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
            printf '%s\n' "$(printf '%s ' "${{COMPREPLY[@]}}" | tr ' ' '\n' | sort | tr '\n' ' ')"
        }}
        t cq wait ''
        t cq wait bu
        t cq wait {sp}
        t cq ack ''
        t cq list --name te
        t cq wrap -n x -- mytoo
        t cq wa
        t cq wait --timeout ''
        "#,
            sp = prefix(&sleeper)
        ),
    );
    let mut all = [
        build.clone(),
        env.records()[1]["id"].as_str().unwrap().to_string(),
        sleeper.clone(),
        "build".into(),
        "sleeper".into(),
        "test-all".into(),
    ];
    all.sort();
    let mut pending_ids: Vec<String> = env
        .records()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    pending_ids.sort();
    let lines: Vec<String> = stdout_of(&bash)
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(lines[0], all.join(" "), "{lines:?}");
    assert_eq!(lines[1], "build");
    assert_eq!(lines[2], sleeper);
    assert_eq!(lines[3], pending_ids.join(" "));
    assert_eq!(lines[4], "test-all");
    assert_eq!(lines[5], "mytool");
    assert_eq!(lines[6], "wait");
    assert!(
        !lines[7].contains("build"),
        "a duration is not a name: {lines:?}"
    );

    if have("fish") {
        let fish = run(
            &env,
            "fish",
            &["--no-config", "-c"],
            &format!(
                r#"
            cq init fish | source
            complete -c mytool -l colour -d paint
            for l in 'cq wait bu' 'cq wait {sp}' 'cq ack {bp}' 'cq list --name te' 'cq list -n sl' 'cq wrap -n x -- mytoo' 'cq wrap -- mytool a --col'
                echo (complete -C "$l" | string split -f1 \t | string join ' ')
            end
            "#,
                sp = prefix(&sleeper),
                bp = prefix(&build)
            ),
        );
        let want = [
            "build",
            sleeper.as_str(),
            build.as_str(),
            "test-all",
            "sleeper",
            "mytool",
            "--colour",
        ];
        let fish = stdout_of(&fish);
        let got: Vec<&str> = fish.lines().collect();
        assert_eq!(got, want, "fish");
    } else {
        skip(
            "completion_offers_job_names_ids_and_commands (fish)",
            "fish is not installed",
        );
    }

    if have("zsh") {
        let zsh = run(
            &env,
            "zsh",
            &["-f", "-c"],
            &format!(
                r#"
            zmodload zsh/zpty
            try() {{
                zpty -b z 'TERM=dumb PS1="> " zsh -f -i'
                zpty -w z 'autoload -Uz compinit; compinit -u -D; eval "$(cq init zsh)"'
                zpty -w -n z "$1"$'\t'
                out=""
                for i in {{1..100}}; do
                    while zpty -r -t z chunk; do out+=$chunk; done
                    [[ $out == *"$2"* ]] && break
                    sleep 0.1
                done
                zpty -d z
                [[ $out == *"$2"* ]] && print "ok" || print -r -- "NOT: $1: ${{(q)out}}"
            }}
            try 'cq wait bu' 'cq wait build '
            try 'cq wait {sp}' 'cq wait {s} '
            try 'cq ack {bp}' 'cq ack {b} '
            try 'cq list --name te' 'cq list --name test-all '
            try 'cq wrap -n x -- mytoo' 'cq wrap -n x -- mytool '
            "#,
                sp = prefix(&sleeper),
                s = sleeper,
                bp = prefix(&build),
                b = build
            ),
        );
        assert_eq!(stdout_of(&zsh), "ok\n".repeat(5), "zsh");
    } else {
        skip(
            "completion_offers_job_names_ids_and_commands (zsh)",
            "zsh is not installed",
        );
    }
    std::fs::write(&stop, "").unwrap();
    env.cq()
        .env("CQ_QUEUE", &env.queue)
        .args(["wait", "--timeout", "30s", &sleeper])
        .assert()
        .success();
}
