//! `cq completions SHELL`: clap_complete's script for the CLI of cli.rs.

use super::{Exit, Run, print_text};
use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;
use crate::queue::Where;
use clap::CommandFactory;
use clap_complete::Shell;

/// The completion script, as committed under shell/completions/.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    if shell == Shell::Bash {
        // clap's script fills arrays from command output by design.
        buf.extend_from_slice(b"# shellcheck shell=bash disable=SC2207\n");
    }
    clap_complete::generate(shell, &mut Cli::command(), "cq", &mut buf);
    buf
}

impl Run for CompletionsArgs {
    fn run(self, _: &Where) -> Result<Exit> {
        print_text(&script(self.shell))
    }
}
