//! cq: a completion queue for background jobs, as a library for its two
//! programs: `cq` (src/main.rs) and `cq-kafka` (src/bin/cq-kafka.rs). They
//! are the same tool; only `cq-kafka` links the Kafka client (librdkafka
//! and OpenSSL, built in), whose loading was a third of every `cq push`'s
//! and `cq wrap`'s start-up. `cq` hands a `kafka://` queue to `cq-kafka`,
//! installed next to it, by exec (see `queue::open`).
// Every byte cq prints goes through code that handles a closed or full
// stream: print!/eprintln! would panic on a write error.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod claude;
mod cli;
mod cmd;
mod config;
mod error;
mod notice;
mod output;
mod process;
mod queue;
mod record;
mod rubric;
mod time;
mod watch;

use clap::error::ErrorKind;
use error::{Error, code};

/// What both programs' `main` run: parse, dispatch, and the exit status.
pub fn entry() -> i32 {
    // As the runtime would: a closed pipe is an EPIPE error, not a death
    // (CMD under `cq wrap` gets the caller's disposition back; std's spawn
    // resets it to the default for other children).
    process::ignore_sigpipe();
    let stdout_closed = process::reserve_std_fds();
    error::warn_to(output::error_line);
    let code = run(stdout_closed);
    // Without the runtime nothing flushes stdout at exit.
    output::flush_stdout();
    i32::from(code)
}

/// `cq-kafka`'s entry: the Kafka tier in this process.
#[cfg(feature = "kafka")]
pub fn entry_with_kafka() -> i32 {
    queue::kafka_in_process();
    entry()
}

fn run(stdout_closed: bool) -> u8 {
    let cli = match parse() {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };
    output::init_color(cli.color);
    let result = if stdout_closed && cmd::answers_on_stdout(&cli.command) {
        // Its answer would go nowhere (a pull's records would be marked
        // pulled unread): refuse before touching the queue.
        Err(Error::new(
            "standard output is closed: nothing to print the answer to (nothing was read or changed)",
        ))
    } else {
        cmd::run(cli.command, &queue::Where(cli.queue, queue_source()))
    };
    match result {
        Ok(cmd::Exit::Code(c)) => c,
        Ok(cmd::Exit::Signal(sig)) => {
            output::flush_stdout();
            process::die_of(sig);
            (128 + sig).clamp(0, 255) as u8
        }
        Err(e) => {
            // A reader that went away (`cq list | head`) is told nothing.
            if e.kind() != error::Kind::BrokenPipe && !e.msg.is_empty() {
                output::error_line(&format!("cq: {e}"));
            }
            e.code
        }
    }
}

/// Parses argv with the derive definitions of cli/. The clap command
/// tree and the matches are deliberately leaked: freeing them was a tenth of
/// the instructions of a whole `cq push`, which runs once per job.
fn parse() -> Result<cli::Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let cmd = Box::leak(Box::new(cli::Cli::command()));
    let matches = Box::leak(Box::new(cmd.try_get_matches_from_mut(std::env::args_os())?));
    let _ = MATCHES.set(matches);
    cli::Cli::from_arg_matches(matches).map_err(|e| e.format(cmd))
}

static MATCHES: std::sync::OnceLock<&'static clap::ArgMatches> = std::sync::OnceLock::new();

/// Whether `--queue` was given, came from CQ_QUEUE, or is the default.
fn queue_source() -> queue::Source {
    use clap::parser::ValueSource;
    // A global flag given after the subcommand is in the subcommand's matches.
    let mut m = MATCHES.get().copied();
    let mut found = None;
    while let Some(x) = m {
        if let Some(src) = x.value_source("queue") {
            found = Some(src);
        }
        m = x.subcommand().map(|(_, s)| s);
    }
    match found {
        Some(ValueSource::CommandLine) => queue::Source::Flag,
        Some(ValueSource::EnvVariable) => queue::Source::Env,
        _ => queue::Source::Default,
    }
}

/// Help and version go to stdout as clap prints them; a usage error is one
/// line on stderr (clap's first line, plus where to find help), exit 2.
fn clap_exit(e: clap::Error) -> u8 {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            code::USAGE
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
            // clap's tips ("a similar argument exists: '--name'") stay.
            let tips: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| l.starts_with("tip:") && l.contains("similar"))
                .collect();
            // The subcommand whose help says more: "Usage: cq wrap [OPTIONS]".
            let sub: Vec<&str> = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Usage: "))
                .map(|u| {
                    u.split_whitespace()
                        .take_while(|w| !w.starts_with(['[', '<', '-']))
                        .collect()
                })
                .unwrap_or_default();
            let help = if sub.len() > 1 {
                sub.join(" ")
            } else {
                "cq".to_string()
            };
            let mut line = format!("cq: {}", Error::usage(first));
            for t in tips {
                line.push_str(&format!("; {t}"));
            }
            // `cq push deploy`: the name is an option there.
            if sub.get(1) == Some(&"push") && e.kind() == ErrorKind::UnknownArgument {
                line.push_str("; give the job's name with -n: cq push -n NAME --exit-code N");
            }
            output::error_line(&format!("{line} (see {help} --help)"));
            code::USAGE
        }
    }
}
