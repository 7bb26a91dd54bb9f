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
            return print_text(claude_settings(pinned.as_deref())?.as_bytes());
        }
        let run = cq_path();
        print_text(render(self.shell, &self.wrap, run.as_deref(), pinned.as_deref()).as_bytes())
    }
}

/// Claude Code settings whose hooks pull finished jobs into the session:
/// at SessionStart and at each UserPromptSubmit, a command's stdout (exit
/// 0) is added to the model's context. Format and events as documented at
/// https://docs.claude.com/en/docs/claude-code/hooks (settings.json,
/// "hooks" → event → [{"matcher", "hooks": [{"type": "command", ...}]}]).
///
/// The command pulls (each record reaches the session once), prints one
/// plain line per record (`--format brief`) and nothing when nothing is
/// pending, and never fails the hook: an unreachable queue is one line on
/// stderr and exit 0. It names this cq by its absolute path (a hook's PATH
/// may not have it) and the queue when one was given to init.
fn claude_settings(queue: Option<&str>) -> Result<String> {
    let me = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| Error::io("cannot find this cq's own path", e))?;
    let mut cmd = sh_quote(&me.to_string_lossy());
    if let Some(q) = queue {
        cmd.push_str(&format!(" --queue {}", sh_quote(q)));
    }
    cmd.push_str(" pull --format brief </dev/null || true");
    let hook = serde_json::json!([{
        "matcher": "",
        "hooks": [{ "type": "command", "command": cmd, "timeout": 30 }]
    }]);
    let settings = serde_json::json!({
        "hooks": { "SessionStart": hook, "UserPromptSubmit": hook }
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
