//! Rendering records for people (aligned table, control characters escaped)
//! and for programs (the record lines as stored), and choosing between them.

use crate::record::{Job, Stored};
use crate::time;
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

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when printing a table to a terminal and NO_COLOR is unset
    Auto,
    /// Always colour tables
    Always,
    /// Never colour
    Never,
}

static COLOR: OnceLock<bool> = OnceLock::new();

/// Decides once whether tables are coloured: `--color`, then NO_COLOR
/// (any non-empty value disables), then whether stdout is a terminal.
pub fn init_color(choice: ColorChoice) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !crate::config::get().no_color && io::stdout().is_terminal(),
    };
    let _ = COLOR.set(on);
}

fn color() -> bool {
    COLOR.get().copied().unwrap_or(false)
}

fn paint(cell: &str, status: &str) -> String {
    if !color() {
        return cell.to_string();
    }
    match status {
        "success" => format!("\x1b[32m{cell}\x1b[0m"),
        "failure" => format!("\x1b[31m{cell}\x1b[0m"),
        _ => cell.to_string(),
    }
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

/// Whether a character of record text is printed as an escape: the
/// controls (Cc: C0, DEL, C1 with NEL), the line and paragraph separators
/// (Zl, Zp: U+2028, U+2029) and every format character (Cf: bidi marks
/// and overrides, U+061C, zero-widths, U+FEFF, tags, ...). A reader that
/// splits lines the Unicode way would see a name with a separator as two
/// records; an invisible one can disguise what a line says. The Cf list
/// is Unicode 15's, complete.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

/// Record text made safe for a terminal or an agent's context: every
/// [`hidden`] character as an escape (`\u{2028}`), the one rule for
/// tables, `--format brief` and running jobs.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
/// records; only output.rs writes to it.
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
                record_table(&mut self.0, recs, cols)?;
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
        Format::Table | Format::Brief => jobs_table(&mut out, jobs),
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
        Format::Table => table(out, recs, state)?,
        Format::Brief => {
            for r in recs {
                writeln!(out, "{}", brief(r))?;
            }
        }
    }
    out.flush()
}

/// `build: failure (exit 2), completed 2026-04-07T17:58:52Z after 7m 42s,
/// output /home/u/out/build, log /home/u/out/build/build.ID.log, id ID`:
/// the record as one plain line (where to look, and the id that `cq wait`
/// and `cq ack` take), its text
/// escaped (an agent's context or a terminal gets no control characters).
pub fn brief(r: &Stored) -> String {
    let v = &r.view;
    let exit = match (&v.exit_code, &v.signal) {
        (Some(c), Some(sig)) => format!(" (exit {c}, {})", escape(sig)),
        (Some(c), None) => format!(" (exit {c})"),
        _ if v.lost => " (lost: its wrapper died)".to_string(),
        _ => String::new(),
    };
    let mut s = format!("{}: {}{exit}", escape(&v.name), escape(&v.status));
    if let Some(t) = &v.completed_at {
        s.push_str(&format!(", completed {}", escape(t)));
    }
    if let Some(ms) = v.duration_ms {
        s.push_str(&format!(" after {}", time::human_ms(ms)));
    }
    if let Some(d) = &v.output_dir {
        s.push_str(&format!(", output {}", escape(d)));
    }
    if let Some(l) = &v.log {
        s.push_str(&format!(", log {}", escape(l)));
    }
    if let Some(id) = &v.id {
        s.push_str(&format!(", id {}", escape(id)));
    }
    s
}

/// A column `cq list --columns` can show: its name there, its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Status,
    Exit,
    Completed,
    Started,
    Duration,
    Output,
    Pulled,
    Id,
    Host,
    Pid,
    Cwd,
    Command,
    Log,
}

/// Every column, by the name `--columns` takes (the order `--help` shows).
pub const COLUMNS: [(&str, Column); 14] = [
    ("name", Column::Name),
    ("status", Column::Status),
    ("exit", Column::Exit),
    ("completed", Column::Completed),
    ("started", Column::Started),
    ("duration", Column::Duration),
    ("output", Column::Output),
    ("pulled", Column::Pulled),
    ("id", Column::Id),
    ("host", Column::Host),
    ("pid", Column::Pid),
    ("cwd", Column::Cwd),
    ("command", Column::Command),
    ("log", Column::Log),
];

impl Column {
    fn head(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::Status => "STATUS",
            Column::Exit => "EXIT",
            Column::Completed => "COMPLETED",
            Column::Started => "STARTED",
            Column::Duration => "DURATION",
            Column::Output => "OUTPUT",
            Column::Pulled => "PULLED",
            Column::Id => "ID",
            Column::Host => "HOST",
            Column::Pid => "PID",
            Column::Cwd => "CWD",
            Column::Command => "COMMAND",
            Column::Log => "LOG",
        }
    }

    /// Paths, shown from `~` on a terminal.
    fn is_path(self) -> bool {
        matches!(self, Column::Output | Column::Cwd | Column::Log)
    }

    /// Cells that may lose their middle to fit the terminal: the long free
    /// text. Ids, numbers and times stay whole (an id is copied from here).
    fn shrinks(self) -> bool {
        matches!(
            self,
            Column::Name
                | Column::Output
                | Column::Cwd
                | Column::Command
                | Column::Log
                | Column::Host
        )
    }
}

/// The columns of a record table: the default (`state` adds PULLED), or
/// what `--columns` chose: `name,status,id` exactly those, in that order;
/// `+id,host` the default and those after it.
pub fn columns_of(spec: Option<&str>, state: bool) -> Result<Vec<Column>, String> {
    let mut cols = vec![
        Column::Name,
        Column::Status,
        Column::Exit,
        Column::Completed,
        Column::Duration,
        Column::Output,
    ];
    if state {
        cols.push(Column::Pulled);
    }
    let Some(spec) = spec else {
        return Ok(cols);
    };
    let list = match spec.strip_prefix('+') {
        Some(more) => more,
        None => {
            cols.clear();
            spec
        }
    };
    for word in list.split(',').map(str::trim) {
        let Some((_, c)) = COLUMNS.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)) else {
            let names: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "--columns: no column '{}' (the columns: {})",
                escape(word),
                names.join(",")
            ));
        };
        if !cols.contains(c) {
            cols.push(*c);
        }
    }
    Ok(cols)
}

/// One cell of a record's row.
fn cell(
    r: &Stored,
    col: Column,
    now: jiff::Timestamp,
    full: &mut Option<serde_json::Value>,
) -> String {
    let v = &r.view;
    // The keys the view does not keep are read from the line, once a row.
    let mut from_line = |key: &str| -> Option<serde_json::Value> {
        full.get_or_insert_with(|| serde_json::from_slice(&r.line).unwrap_or_default())
            .get(key)
            .cloned()
    };
    let text = |o: Option<&str>| o.map_or("-".into(), escape);
    match col {
        Column::Name => escape(&v.name),
        Column::Status => escape(&v.status),
        Column::Exit => escape(&match (&v.exit_code, &v.signal) {
            (Some(c), Some(sig)) => format!("{c} {sig}"),
            (Some(c), None) => c.to_string(),
            _ if v.lost => "lost".to_string(),
            _ => "-".to_string(),
        }),
        Column::Completed => v
            .completed_at
            .as_deref()
            .map_or("-".into(), |t| escape(&time::ago(t, now))),
        Column::Started => from_line("started_at")
            .as_ref()
            .and_then(|t| t.as_str())
            .map_or("-".into(), |t| escape(&time::ago(t, now))),
        Column::Duration => v.duration_ms.map_or("-".into(), time::human_ms),
        Column::Output => text(v.output_dir.as_deref()),
        Column::Pulled => match v.pulled {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        }
        .into(),
        Column::Id => text(v.id.as_deref()),
        Column::Host => text(v.host.as_deref()),
        Column::Pid => v.pid.map_or("-".into(), |p| p.to_string()),
        Column::Cwd => text(from_line("cwd").as_ref().and_then(|c| c.as_str())),
        Column::Command => match from_line("command") {
            Some(serde_json::Value::Array(words)) => escape(
                &words
                    .iter()
                    .map(|w| w.as_str().map_or_else(|| w.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => "-".into(),
        },
        Column::Log => text(v.log.as_deref()),
    }
}

fn table(out: &mut impl Write, recs: &[Stored], state: bool) -> io::Result<()> {
    let cols = columns_of(None, state).map_err(io::Error::other)?;
    record_table(out, recs, &cols)
}

/// Records as a table of the given columns: on a terminal, paths from `~`
/// and long cells shortened in the middle to fit its width; in a pipe,
/// every cell whole.
pub fn record_table(out: &mut impl Write, recs: &[Stored], cols: &[Column]) -> io::Result<()> {
    let now = time::now();
    let fit = terminal_width();
    let home = fit
        .and_then(|_| crate::config::get().home.clone()?.into_string().ok())
        .filter(|h| h.len() > 1);
    let rows: Vec<Vec<String>> = recs
        .iter()
        .map(|r| {
            let mut full = None;
            cols.iter()
                .map(|&c| {
                    let s = cell(r, c, now, &mut full);
                    match &home {
                        Some(h) if c.is_path() => tilde(&s, h),
                        _ => s,
                    }
                })
                .collect()
        })
        .collect();
    let head: Vec<&str> = cols.iter().map(|c| c.head()).collect();
    let status = cols.iter().position(|c| *c == Column::Status);
    let shrinks: Vec<bool> = cols.iter().map(|c| c.shrinks()).collect();
    write_columns(
        out,
        &head,
        &rows,
        status,
        fit.map(|w| (w, shrinks.as_slice())),
    )
}

/// `/home/u/out` as `~/out` when HOME is `/home/u`.
fn tilde(path: &str, home: &str) -> String {
    match path.strip_prefix(home.trim_end_matches('/')) {
        Some("") => "~".into(),
        Some(rest) if rest.starts_with('/') => format!("~{rest}"),
        _ => path.into(),
    }
}

/// The width to fit tables to when stdout is a terminal: `COLUMNS` when
/// set (as ls honours it), else the terminal's, else 80. None in a pipe.
fn terminal_width() -> Option<usize> {
    static WIDTH: OnceLock<Option<usize>> = OnceLock::new();
    *WIDTH.get_or_init(|| {
        let out = io::stdout();
        if !out.is_terminal() {
            return None;
        }
        let from_env = crate::config::get().columns;
        let from_tty = terminal_size::terminal_size_of(&out)
            .map(|(w, _)| usize::from(w.0))
            .filter(|&w| w > 0);
        Some(from_env.or(from_tty).unwrap_or(80))
    })
}

/// `text` cut to `width` characters by taking out its middle (`/home/u/…/build/out`):
/// both ends of a path or a name usually say the most.
fn middle_ellipsis(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.into();
    }
    if width <= 1 {
        return "…".chars().take(width).collect();
    }
    let keep = width - 1;
    let tail = keep / 2;
    let head = keep - tail;
    let mut s: String = chars[..head].iter().collect();
    s.push('…');
    s.extend(&chars[chars.len() - tail..]);
    s
}

/// Running jobs as a table (on a terminal, fitted to its width).
pub fn jobs_table(out: &mut impl Write, jobs: &[Job]) -> io::Result<()> {
    let now = time::now();
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                escape(&j.name),
                j.pid.to_string(),
                escape(&j.host),
                escape(&time::ago(&j.started_at, now)),
                escape(&j.command.join(" ")),
            ]
        })
        .collect();
    // Fitted to a terminal as records are: long names, hosts and command
    // lines lose their middle.
    let shrinks = [true, false, true, false, true];
    write_columns(
        out,
        &["NAME", "PID", "HOST", "STARTED", "COMMAND"],
        &rows,
        None,
        terminal_width().map(|w| (w, shrinks.as_slice())),
    )?;
    out.flush()
}

/// Aligned columns; `status_col` is painted by its value. With `fit`
/// (a width, and which columns may shrink), the widest shrinkable columns
/// give up characters until the row fits, their cells losing the middle.
fn write_columns(
    out: &mut impl Write,
    head: &[&str],
    rows: &[Vec<String>],
    status_col: Option<usize>,
    fit: Option<(usize, &[bool])>,
) -> io::Result<()> {
    let cols = head.len();
    let mut widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([head[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    if let Some((width, shrinks)) = fit {
        // Two spaces between columns; a shrunk column keeps room for its
        // heading and a few characters either side of the ellipsis.
        let gaps = 2 * cols.saturating_sub(1);
        let floor = |c: usize| head[c].len().max(8);
        while widths.iter().sum::<usize>() + gaps > width {
            let widest = (0..cols)
                .filter(|&c| shrinks[c] && widths[c] > floor(c))
                .max_by_key(|&c| widths[c]);
            match widest {
                Some(c) => widths[c] -= 1,
                None => break,
            }
        }
    }
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    for (i, row) in std::iter::once(&head).chain(rows).enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let cell = middle_ellipsis(cell, widths[c]);
            let pad = if c + 1 == cols {
                0
            } else {
                widths[c] - cell.chars().count() + 2
            };
            if i > 0 && Some(c) == status_col {
                line.push_str(&paint(&cell, &cell));
            } else {
                line.push_str(&cell);
            }
            line.extend(std::iter::repeat_n(' ', pad));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A one-line chart of counts: ▁▂▃▄▅▆▇█ scaled to the largest.
pub fn sparkline(counts: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| match c {
            0 => ' ',
            _ => BARS[((c * 7).div_ceil(max.max(1))).min(7) as usize],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0, 1, 8]), " ▂█");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn long_cells_lose_their_middle() {
        assert_eq!(middle_ellipsis("abcdefghij", 10), "abcdefghij");
        assert_eq!(middle_ellipsis("abcdefghij", 5), "ab…ij");
        assert_eq!(middle_ellipsis("abcdefghij", 6), "abc…ij");
        assert_eq!(middle_ellipsis("日本語テキスト", 4), "日本…ト");
        assert_eq!(tilde("/home/u/out", "/home/u"), "~/out");
        assert_eq!(tilde("/home/u", "/home/u/"), "~");
        assert_eq!(tilde("/home/user2/x", "/home/u"), "/home/user2/x");
    }

    #[test]
    fn columns_are_chosen_by_name() {
        assert_eq!(
            columns_of(Some("name,ID"), false).unwrap(),
            [Column::Name, Column::Id]
        );
        assert_eq!(columns_of(Some("+id"), false).unwrap().len(), 7);
        assert!(columns_of(Some("name,bogus"), true).is_err());
        assert!(columns_of(Some(""), true).is_err());
    }

    #[test]
    fn escapes_controls() {
        assert_eq!(escape("a\nb\x1b[31m\t"), "a\\nb\\u{1b}[31m\\t");
        assert_eq!(escape("plain ü"), "plain ü");
    }

    /// Separators and format characters, which Unicode line splitting
    /// or bidi rendering would act on, come out as escapes.
    #[test]
    fn escapes_separators_and_format_characters() {
        for c in [
            '\u{85}',
            '\u{2028}',
            '\u{2029}',
            '\u{61c}',
            '\u{feff}',
            '\u{200e}',
            '\u{2067}',
            '\u{ad}',
            '\u{e0041}',
            '\u{13439}',
        ] {
            let e = escape(&format!("a{c}b"));
            assert!(!e.contains(c), "{c:?} -> {e:?}");
            assert!(e.starts_with("a\\u{"), "{c:?} -> {e:?}");
        }
        assert_eq!(escape("x\u{2028}y"), "x\\u{2028}y");
        // Letters of every script, emoji and ordinary spaces stay.
        for s in ["日本語", "مرحبا", "שלום", "🦀", "a b\u{a0}c"] {
            assert_eq!(escape(s), s);
        }
    }
}
