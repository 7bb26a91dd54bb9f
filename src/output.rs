//! Rendering records for people (aligned table, control characters escaped)
//! and for programs (the record lines as stored), and choosing between them.

use crate::cli::{Format, FormatArgs};
use crate::queue::Stored;
use crate::time;
use std::io::{self, IsTerminal, Write};

/// `--json` / `--format`, else table on a terminal and JSONL in a pipe.
pub fn format(args: FormatArgs) -> Format {
    if args.json {
        return Format::Jsonl;
    }
    args.format.unwrap_or_else(|| {
        if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Jsonl
        }
    })
}

/// Record text made safe for a terminal: control characters (and the
/// invisible bidi/format ones that could disguise text) as escapes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn write_jsonl(out: &mut impl Write, s: &Stored) -> io::Result<()> {
    out.write_all(&s.line)?;
    out.write_all(b"\n")
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
    }
    out.flush()
}

fn table(out: &mut impl Write, recs: &[Stored], state: bool) -> io::Result<()> {
    let now = time::now();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(recs.len() + 1);
    let mut head = vec!["NAME", "STATUS", "EXIT", "COMPLETED", "DURATION", "OUTPUT"];
    if state {
        head.push("PULLED");
    }
    rows.push(head.iter().map(|s| s.to_string()).collect());
    for r in recs {
        let v = &r.view;
        let exit = match (&v.exit_code, &v.signal) {
            (Some(c), Some(sig)) => format!("{c} {sig}"),
            (Some(c), None) => c.to_string(),
            _ => "-".to_string(),
        };
        let mut row = vec![
            escape(&v.name),
            escape(&v.status),
            escape(&exit),
            v.completed_at
                .as_deref()
                .map_or("-".into(), |t| escape(&time::ago(t, now))),
            v.duration_ms.map_or("-".into(), time::human_ms),
            v.output_dir.as_deref().map_or("-".into(), escape),
        ];
        if state {
            row.push(
                match v.pulled {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "?",
                }
                .into(),
            );
        }
        rows.push(row);
    }
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(
                    ' ',
                    widths[c] - cell.chars().count() + 2,
                ));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls() {
        assert_eq!(escape("a\nb\x1b[31m\t"), "a\\nb\\u{1b}[31m\\t");
        assert_eq!(escape("plain ü"), "plain ü");
    }
}
