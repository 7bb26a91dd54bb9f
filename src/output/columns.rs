//! What a record table can show: the columns (`cq list --columns`), their
//! headings, which of them may shrink, and what each says of a record.

use super::escape::escape;
use crate::record::Stored;
use crate::time;

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
    pub fn head(self) -> &'static str {
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
    pub fn is_path(self) -> bool {
        matches!(self, Column::Output | Column::Cwd | Column::Log)
    }

    /// Cells that may lose their middle to fit the terminal: the long free
    /// text. Ids, numbers and times stay whole (an id is copied from here).
    pub fn shrinks(self) -> bool {
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

/// One cell of a record's row; `full` holds the record's line parsed, for
/// the keys the view does not keep, once a row.
pub fn cell(
    r: &Stored,
    col: Column,
    now: jiff::Timestamp,
    full: &mut Option<serde_json::Value>,
) -> String {
    let v = &r.view;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
