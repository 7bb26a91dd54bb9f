//! One file per subcommand. Each reads its options, talks to the queue
//! through [`Queue`](crate::queue::Queue), and prints.

mod ack;
mod candidates;
mod compact;
mod completions;
mod detach;
mod exec;
mod hook;
mod init;
mod list;
mod man;
mod meta;
mod migrate;
mod pull;
mod push;
mod retry;
mod settings;
mod stats;
mod wait;
#[path = "where_.rs"]
mod where_;
mod wrap;

use crate::cli::Command;
use crate::error::{Error, Result};
use crate::queue::Where;
use std::path::{Path, PathBuf};

/// How cq should end.
pub enum Exit {
    Code(u8),
    /// Die of this signal, as the wrapped command did.
    Signal(i32),
}

pub trait Run {
    /// `queue` is resolved only by the commands that use one, so that
    /// `cq completions`, `cq man` and `cq init` work without a HOME or
    /// with a CQ_QUEUE they cannot parse.
    fn run(self, queue: &Where) -> Result<Exit>;
}

pub fn run(cmd: Command, queue: &Where) -> Result<Exit> {
    match cmd {
        Command::Wrap(a) => a.run(queue),
        Command::Push(a) => a.run(queue),
        Command::Pull(a) => a.run(queue),
        Command::Ack(a) => a.run(queue),
        Command::Retry(a) => a.run(queue),
        Command::List(a) => a.run(queue),
        Command::Compact(a) => a.run(queue),
        Command::Wait(a) => a.run(queue),
        Command::Stats(a) => a.run(queue),
        Command::Migrate(a) => a.run(queue),
        Command::Meta(a) => a.run(queue),
        Command::Completions(a) => a.run(queue),
        Command::Man(a) => a.run(queue),
        Command::Init(a) => a.run(queue),
        Command::Hook(a) => a.run(queue),
        Command::Where(a) => a.run(queue),
        Command::Candidates(a) => a.run(queue),
    }
}

/// Whether the command's answer is what it prints on stdout (so that with
/// stdout closed it must not run). wrap and push print nothing there; ack,
/// compact and migrate do their work and only report it.
pub fn answers_on_stdout(cmd: &Command) -> bool {
    // A consumer with --exec prints nothing; its handlers' output is theirs.
    matches!(cmd, Command::Pull(a) if a.exec.is_none())
        || matches!(
            cmd,
            Command::List(_)
                | Command::Wait(_)
                | Command::Stats(_)
                | Command::Completions(_)
                | Command::Man(_)
                | Command::Init(_)
                | Command::Where(_)
        )
        || matches!(cmd, Command::Wrap(a) if a.detach)
}

/// `'it'\''s`: one word, literally, in bash, zsh and fish alike.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Writes generated text to stdout; a closed pipe is not an error.
fn print_text(text: &[u8]) -> Result<Exit> {
    crate::output::stdout_text(text)
        .map(|()| Exit::Code(0))
        .map_err(Error::output)
}

/// `--timeout DUR` as a deadline.
fn deadline(timeout: Option<&str>) -> Result<Option<std::time::Instant>> {
    let d = timeout.map(crate::time::parse_duration).transpose()?;
    Ok(crate::watch::Deadline::after(d).instant())
}

/// The working directory, as records hold it (`cwd`). A record is JSON,
/// which holds only UTF-8: a directory whose name is not UTF-8 would be
/// written as another name (U+FFFD for its bytes) naming no directory, so
/// it is refused, as names and meta are (not usage: exit 1, or 125 before
/// `wrap` runs CMD).
fn cwd() -> Result<String> {
    let d =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working directory", e))?;
    utf8_path(&d, "the working directory")
        .map(str::to_string)
        .map_err(|e| Error::new(format!("{}; run cq from another directory", e.msg)))
}

/// `p` as text, or the one error for a path a record cannot hold.
fn utf8_path<'a>(p: &'a Path, what: &str) -> Result<&'a str> {
    p.to_str().ok_or_else(|| {
        Error::usage(format!(
            "{what} {:?} is not valid UTF-8, which a record (JSON) cannot hold",
            p.as_os_str()
        ))
    })
}

/// `-o DIR`, else `$CQ_OUTPUT_DIR`, else the working directory; absolute.
/// Refused (exit 2) when not UTF-8, like a name: see [`cwd`].
fn output_dir(flag: Option<&Path>, cwd: &str) -> Result<String> {
    let dir = match flag {
        Some(d) => {
            utf8_path(d, "--output-dir")?;
            d.to_path_buf()
        }
        None => match crate::config::get().output_dir.clone() {
            Some(d) => {
                utf8_path(Path::new(&d), "CQ_OUTPUT_DIR")?;
                PathBuf::from(d)
            }
            None => PathBuf::from(cwd),
        },
    };
    let abs = if dir.is_absolute() {
        dir
    } else {
        Path::new(cwd).join(dir)
    };
    // Both parts are UTF-8, so the whole is.
    Ok(abs.to_string_lossy().into_owned())
}
