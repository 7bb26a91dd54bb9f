//! Every byte cq prints goes through this module: records for people
//! (tables, one-line sentences, text escaped) and for programs (the record
//! lines as stored), the choice between them, and stdout and stderr
//! themselves (notices only on a terminal, a closed or full stream handled
//! in one place). What a table looks like is `table` and `columns`; the
//! one-line forms are `brief`; which characters are escaped is `escape`.

mod brief;
mod columns;
mod escape;
mod table;

pub use brief::{brief, sparkline};
pub use columns::{Column, columns_of};
pub use escape::escape;
pub use table::{ColorChoice, init_color};

use crate::record::{Job, Stored};
use clap::ValueEnum;
use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people
    Table,
    /// The record lines as stored, one per line
    Jsonl,
    /// One plain sentence per record (name, status, exit code, when,
    /// duration, output directory): for agent sessions and notifications
    Brief,
}

/// The format asked for (`--json` / `--format`), else table on a terminal
/// and JSONL in a pipe.
pub fn format(chosen: Option<Format>) -> Format {
    chosen.unwrap_or_else(|| {
        if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Jsonl
        }
    })
}

/// The record line as stored. JSON already escapes C0 controls, but allows
/// DEL and the C1 controls raw (U+009B is a terminal's CSI): on a terminal
/// those are written as `\u` escapes, which mean the same JSON.
pub fn write_jsonl(out: &mut impl Write, s: &Stored) -> io::Result<()> {
    static TTY: OnceLock<bool> = OnceLock::new();
    let tty = *TTY.get_or_init(|| io::stdout().is_terminal());
    if tty && let Ok(text) = std::str::from_utf8(&s.line) {
        // Only inside strings can they be (C0 controls are escaped there
        // already, and a tab between tokens must stay a tab).
        let raw = |c: char| matches!(c, '\u{7f}'..='\u{9f}');
        if text.chars().any(raw) {
            let mut esc = String::with_capacity(text.len() + 16);
            for c in text.chars() {
                if raw(c) {
                    esc.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    esc.push(c);
                }
            }
            out.write_all(esc.as_bytes())?;
            return out.write_all(b"\n");
        }
    }
    out.write_all(&s.line)?;
    out.write_all(b"\n")
}

/// Whether stdout is a terminal (where `cq stats` draws its chart).
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether stderr is a terminal (where notices and progress go).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// `cq: MSG` as a whole line on stderr, only when stderr is a terminal
/// (scripts get no noise): what cq is waiting for, and the like.
pub fn notice(msg: &str) {
    let err = io::stderr();
    if err.is_terminal() {
        let _ = writeln!(err.lock(), "cq: {msg}");
    }
}

/// One line on stderr, whatever it is: errors and warnings (a closed or
/// full stderr is ignored, as nobody is left to tell).
pub fn error_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Text for a program on stderr (the session hook's words to the model),
/// flushed; a failure is the caller's to judge.
pub fn stderr_text(text: &[u8]) -> io::Result<()> {
    let mut err = io::stderr().lock();
    err.write_all(text).and_then(|()| err.flush())
}

/// Text on stdout as it is (generated scripts and pages, an id, a count),
/// flushed.
pub fn stdout_text(text: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text).and_then(|()| out.flush())
}

/// Flushes whatever is still buffered for stdout (before an exit that
/// skips the runtime's own flush).
pub fn flush_stdout() {
    let _ = io::stdout().flush();
}

/// A buffered writer on stdout, for the printers here that stream many
/// records; only this module writes to it.
pub struct Out(io::BufWriter<io::StdoutLock<'static>>);

impl Out {
    pub fn new() -> Out {
        Out(io::BufWriter::with_capacity(64 << 10, io::stdout().lock()))
    }

    /// One record line as stored (see [`write_jsonl`]), not yet flushed.
    pub fn jsonl(&mut self, s: &Stored) -> io::Result<()> {
        write_jsonl(&mut self.0, s)
    }

    /// Records in the chosen format, a table with these columns; flushed.
    pub fn records(&mut self, fmt: Format, recs: &[Stored], cols: &[Column]) -> io::Result<()> {
        match fmt {
            Format::Table => {
                table::record_table(&mut self.0, recs, cols)?;
                self.0.flush()
            }
            _ => print(&mut self.0, fmt, recs, true),
        }
    }

    /// A number on a line of its own (`--count`), flushed.
    pub fn count(&mut self, n: usize) -> io::Result<()> {
        writeln!(self.0, "{n}").and_then(|()| self.0.flush())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The bar of long work (see `notice::Progress`): on stderr, only when
/// that is a terminal.
pub fn progress_bar(what: &'static str) -> Option<indicatif::ProgressBar> {
    io::stderr().is_terminal().then(|| {
        let b =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "cq: {msg}: {pos} records ({per_sec}) {spinner}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.set_message(what);
        b
    })
}

/// Records on stdout in the chosen format, flushed.
pub fn print_records(fmt: Format, recs: &[Stored]) -> io::Result<()> {
    print(&mut io::stdout().lock(), fmt, recs, false)
}

/// Running jobs on stdout: a table, or one JSON object per line.
pub fn print_jobs(fmt: Format, jobs: &[Job]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match fmt {
        Format::Table | Format::Brief => table::jobs_table(&mut out, jobs),
        Format::Jsonl => {
            for j in jobs {
                serde_json::to_writer(&mut out, j).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        }
    }
}

/// Prints records in the chosen format and flushes.
pub fn print(out: &mut impl Write, fmt: Format, recs: &[Stored], state: bool) -> io::Result<()> {
    match fmt {
        Format::Jsonl => {
            for r in recs {
                write_jsonl(out, r)?;
            }
        }
        Format::Table => table::table(out, recs, state)?,
        Format::Brief => {
            for r in recs {
                writeln!(out, "{}", brief(r))?;
            }
        }
    }
    out.flush()
}
