//! `cq init SHELL [--wrap CMD]...`: what a user evals in an rc file — how
//! to run cq, the snippet from shell/ (embedded), completions, and one
//! function per --wrap CMD.

use super::completions;
use super::{Exit, Run, print_text, sh_quote};
use crate::cli::{InitArgs, InitShell};
use crate::error::{Error, Result};
use crate::queue::Where;
use clap_complete::Shell;
use std::path::PathBuf;

const BASH: &str = include_str!("../../shell/cq.bash");
const ZSH: &str = include_str!("../../shell/cq.zsh");
const FISH: &str = include_str!("../../shell/cq.fish");
/// The Phase G drop-in, as shipped in shell/ (a test compares the two).
const PHASE_G: &str = include_str!("../../shell/phase-g.bash");

impl Run for InitArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        if matches!(self.shell, InitShell::PhaseG | InitShell::Claude) && !self.wrap.is_empty() {
            return Err(Error::usage(
                "--wrap defines shell functions: give a shell (bash, zsh or fish)",
            ));
        }
        for w in &self.wrap {
            check_wrap_name(w)?;
        }
        // A queue given to init (-q, or CQ_QUEUE when init runs) is pinned
        // into what it generates; without one the helpers follow CQ_QUEUE
        // as it is when they run. Checked now: a typo fails here, not at
        // every prompt.
        let pinned =
            match &at.0 {
                Some(q) => {
                    crate::queue::Location::parse(q)?;
                    Some(q.to_str().map(str::to_string).ok_or_else(|| {
                        Error::usage("a queue pinned by cq init must be valid UTF-8")
                    })?)
                }
                None => None,
            };
        if self.shell == InitShell::Claude {
            if self.project && !(self.install || self.uninstall) {
                return Err(Error::usage("--project goes with --install or --uninstall"));
            }
            if self.uninstall {
                let msg = super::settings::uninstall(&super::settings::path(self.project)?)?;
                crate::error::warn(&msg);
                return Ok(Exit::Code(0));
            }
            let wake_for = self.wake_for.as_deref().unwrap_or("1d");
            let text = claude_settings(pinned.as_deref(), self.own_only, wake_for)?;
            if self.install {
                let ours: serde_json::Value =
                    serde_json::from_str(&text).expect("cq's own settings parse");
                let msg = super::settings::install(&super::settings::path(self.project)?, &ours)?;
                crate::error::warn(&msg);
                return Ok(Exit::Code(0));
            }
            return print_text(text.as_bytes());
        }
        if self.own_only
            || self.wake_for.is_some()
            || self.install
            || self.uninstall
            || self.project
        {
            return Err(Error::usage(
                "--own-only, --wake-for, --install, --uninstall and --project set up Claude Code's hooks: use them with cq init claude",
            ));
        }
        let run = cq_path();
        print_text(render(self.shell, &self.wrap, run.as_deref(), pinned.as_deref()).as_bytes())
    }
}

/// Claude Code settings (hooks as documented at
/// https://docs.claude.com/en/docs/claude-code/hooks: settings.json,
/// "hooks" → event → [{"matcher", "hooks": [{"type": "command", ...}]}])
/// under which a session hears of its jobs (claude.rs has the rules):
///
/// - SessionStart and Stop start the waiter, an `asyncRewake` hook: it
///   exits 2 with the records, which wakes an idle session at once. Stop
///   re-arms it after every turn, the woken one included, and a woken
///   turn's records are in flight then, so it waits for the next record:
///   no loop. Its own deadline is `wake_for`; the hook's timeout a minute
///   more, so the client never kills it (a killed hook wakes nothing).
/// - SessionStart, UserPromptSubmit and SessionEnd acknowledge what
///   reached the client; a prompt (and the start of a session that cannot
///   be woken, plain `claude -p`) takes the records as context.
///
/// Commands name this cq by its absolute path (a hook's PATH may not have
/// it) and the queue when one was given to init. The prompt hooks end in
/// `|| true`: no failure of cq may block a prompt.
fn claude_settings(queue: Option<&str>, own_only: bool, wake_for: &str) -> Result<String> {
    let window = crate::time::parse_duration(wake_for)
        .map_err(|e| Error::usage(format!("--wake-for: {}", e.msg)))?;
    let me = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::io("cannot find this cq's own path", e))?;
    let mut cmd = sh_quote(&me.to_string_lossy());
    if let Some(q) = queue {
        cmd.push_str(&format!(" --queue {}", sh_quote(q)));
    }
    cmd.push_str(" hook claude");
    if own_only {
        cmd.push_str(" --own-only");
    }
    let secs = window.as_secs();
    let settle = serde_json::json!({
        "type": "command",
        "command": format!("{cmd} || true"),
        "timeout": 30
    });
    let waiter = serde_json::json!({
        "type": "command",
        "command": format!("{cmd} --wake --wake-for {secs}s"),
        "asyncRewake": true,
        "rewakeMessage": "cq: background jobs ended.",
        "rewakeSummary": "cq: a background job ended",
        "timeout": secs + 60
    });
    let group = |hooks: serde_json::Value| serde_json::json!([{ "matcher": "", "hooks": hooks }]);
    let settings = serde_json::json!({
        "hooks": {
            "SessionStart": group(serde_json::json!([settle, waiter])),
            "UserPromptSubmit": group(serde_json::json!([settle])),
            "Stop": group(serde_json::json!([waiter])),
            "SessionEnd": group(serde_json::json!([settle])),
        }
    });
    let mut text = serde_json::to_string_pretty(&settings).expect("settings serialise");
    text.push('\n');
    Ok(text)
}

/// A function name every shell accepts and that needs no quoting.
fn check_wrap_name(w: &str) -> Result<()> {
    let ok = !w.is_empty()
        && !w.starts_with('-')
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b))
        && w != "cq";
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "cannot wrap '{w}': give a command name of letters, digits, '_', '.', '+' or '-' (not cq itself)"
        )))
    }
}

/// The absolute path of this cq when `cq` on PATH is another program (or
/// none), so the snippet runs the cq that printed it.
fn cq_path() -> Option<String> {
    let me = std::env::current_exe().ok()?.canonicalize().ok()?;
    let on_path: Option<PathBuf> = which::which("cq").ok().and_then(|p| p.canonicalize().ok());
    (on_path.as_ref() != Some(&me)).then(|| me.to_string_lossy().into_owned())
}

/// `'it\'s'` for fish.
fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

pub fn render(shell: InitShell, wraps: &[String], cq: Option<&str>, queue: Option<&str>) -> String {
    let mut s = String::new();
    match shell {
        // As it is: it finds cq on PATH itself and works without it.
        InitShell::PhaseG => s.push_str(PHASE_G),
        // JSON, not a snippet (see claude_settings).
        InitShell::Claude => {}
        InitShell::Bash | InitShell::Zsh => {
            let mut run = cq.map_or_else(|| r"\command cq".to_string(), sh_quote);
            if let Some(q) = queue {
                run.push_str(&format!(" --queue {}", sh_quote(q)));
            }
            s.push_str(&format!("__cq_bin() {{\n    {run} \"$@\"\n}}\n\n"));
            s.push_str(if shell == InitShell::Bash { BASH } else { ZSH });
            s.push('\n');
            let comp = String::from_utf8_lossy(&completions::script(if shell == InitShell::Bash {
                Shell::Bash
            } else {
                Shell::Zsh
            }))
            .into_owned();
            if shell == InitShell::Bash {
                s.push_str(&comp);
            } else {
                // compdef exists only after compinit; without it, no completions
                // but no error either.
                s.push_str("if (( ${+functions[compdef]} )); then\n");
                s.push_str(&comp);
                s.push_str("fi\n");
            }
            for w in wraps {
                s.push_str(&format!(
                    "\n# {w}, recorded by cq\nfunction {w} {{\n    __cq_bin wrap -- {w} \"$@\"\n}}\n"
                ));
            }
        }
        InitShell::Fish => {
            let mut run = cq.map_or_else(|| "command cq".to_string(), fish_quote);
            if let Some(q) = queue {
                run.push_str(&format!(" --queue {}", fish_quote(q)));
            }
            s.push_str(&format!("function __cq_bin\n    {run} $argv\nend\n\n"));
            s.push_str(FISH);
            s.push_str("\ncomplete --erase --command cq\n");
            s.push_str(&String::from_utf8_lossy(&completions::script(Shell::Fish)));
            for w in wraps {
                s.push_str(&format!(
                    "\nfunction {w} --wraps {w} --description '{w}, recorded by cq'\n    __cq_bin wrap -- {w} $argv\nend\n"
                ));
            }
        }
    }
    s
}
