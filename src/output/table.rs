//! Tables for people: aligned columns, the status painted, and on a
//! terminal fitted to its width (paths from `~`, long cells losing their
//! middle); in a pipe every cell whole.

use super::columns::{Column, cell, columns_of};
use super::escape::escape;
use crate::record::{Job, Stored};
use crate::time;
use clap::ValueEnum;
use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;

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

/// Records as a table of the default columns (`state` adds PULLED).
pub fn table(out: &mut impl Write, recs: &[Stored], state: bool) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
