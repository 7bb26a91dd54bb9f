//! `cq completions SHELL`: clap_complete's script for the CLI of cli/.

use super::{Exit, Run, print_text};
use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;
use crate::queue::Where;
use clap::CommandFactory;
use clap_complete::Shell;

/// What clap's static scripts cannot know, in the shells that have it:
/// job names and ids from the queue (`cq __candidates`) and the command
/// after `cq wrap --`.
const BASH: &str = include_str!("../../shell/complete/complete.bash");
const ZSH: &str = include_str!("../../shell/complete/complete.zsh");
const FISH: &str = include_str!("../../shell/complete/complete.fish");

/// The completion script, as committed under shell/completions/: clap's,
/// and in bash, zsh and fish the queue's names and ids and the wrapped
/// command around it.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    if shell == Shell::Bash {
        // clap's script fills arrays from command output by design.
        buf.extend_from_slice(b"# shellcheck shell=bash disable=SC2207\n");
    }
    clap_complete::generate(shell, &mut Cli::command(), "cq", &mut buf);
    match shell {
        Shell::Bash => {
            buf.push(b'\n');
            // Its own shellcheck line is for the file alone.
            buf.extend_from_slice(
                BASH.trim_start_matches("# shellcheck shell=bash\n")
                    .as_bytes(),
            );
        }
        Shell::Fish => {
            buf.push(b'\n');
            buf.extend_from_slice(FISH.as_bytes());
        }
        Shell::Zsh => {
            // clap's _cq becomes __cq_clap, which ours calls for all it
            // does not complete itself; clap's ending (autoloaded from
            // fpath: complete now; sourced: register) stays the ending.
            let text = String::from_utf8_lossy(&buf).into_owned();
            let end = text
                .rfind("if [ \"$funcstack[1]\" = \"_cq\" ]; then")
                .unwrap_or(text.len());
            let (body, ending) = text.split_at(end);
            let body = body.replacen("\n_cq() {", "\n__cq_clap() {", 1);
            buf = format!("{body}{ZSH}\n{ending}").into_bytes();
        }
        _ => {}
    }
    buf
}

impl Run for CompletionsArgs {
    fn run(self, _: &Where) -> Result<Exit> {
        print_text(&script(self.shell))
    }
}
