//! cq: a completion queue for background jobs. This file only parses the
//! command line, dispatches, and turns the result into an exit status.

mod cli;
mod cmd;
mod error;
mod output;
mod process;
mod queue;
mod record;
mod rubric;
mod time;
mod watch;

use clap::Parser;
use clap::error::ErrorKind;
use error::{Error, code};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    output::init_color(cli.color);
    let result =
        queue::Location::resolve(cli.queue.as_ref()).and_then(|q| cmd::run(cli.command, &q));
    match result {
        Ok(cmd::Exit::Code(c)) => ExitCode::from(c),
        Ok(cmd::Exit::Signal(sig)) => {
            process::die_of(sig);
            ExitCode::from((128 + sig).clamp(0, 255) as u8)
        }
        Err(e) => {
            if !e.msg.is_empty() {
                let _ = writeln!(std::io::stderr().lock(), "cq: {e}");
            }
            ExitCode::from(e.code)
        }
    }
}

/// Help and version go to stdout as clap prints them; a usage error is one
/// line on stderr (clap's first line, plus where to find help), exit 2.
fn clap_exit(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(code::USAGE)
        }
        _ => {
            // clap's first paragraph, joined: "required arguments were not
            // provided:" is followed by the arguments on their own lines.
            let text = e.render().to_string();
            let para: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let joined = para.join(" ");
            let first = joined.strip_prefix("error: ").unwrap_or(&joined);
            let _ = writeln!(
                std::io::stderr().lock(),
                "cq: {} (see cq --help)",
                Error::usage(first)
            );
            ExitCode::from(code::USAGE)
        }
    }
}
