//! `cq __candidates wait|ack|list` (hidden): what the completion scripts
//! offer for `cq wait`, `cq ack` and `cq list --name`: the names and ids of
//! running jobs and pending records, one a line, a tab before what it is.
//! Pending, not the history: its cost follows what is waiting (as a
//! pull's does), so a TAB stays quick on a long queue.

use super::{Exit, Run};
use crate::cli::{CandidatesArgs, CandidatesFor};
use crate::error::{Error, Kind, Result};
use crate::output;
use crate::queue::{self, Filter, Where};
use crate::watch::Deadline;
use std::time::Duration;

impl Run for CandidatesArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let q = queue::open(loc)?;
        // A TAB must not hang the shell behind a lock another cq holds
        // (`cq pull | less`) or a server that does not answer: after half
        // a second it offers what it has found, or nothing.
        q.set_deadline(Deadline::after(Some(Duration::from_millis(500))));
        match self.offer(&q) {
            Err(e) if e.kind() == Kind::Timeout => Ok(Exit::Code(0)),
            r => r,
        }
    }
}

impl CandidatesArgs {
    fn offer(&self, q: &queue::Queue) -> Result<Exit> {
        let mut seen = std::collections::HashSet::new();
        let mut lines = Vec::new();
        let mut offer = |word: &str, what: String| {
            // A candidate is one word on one line: what cannot be typed
            // back (a newline, a tab) is not offered.
            if !word.is_empty() && !word.contains(['\n', '\t']) && seen.insert(word.to_string()) {
                lines.push(format!("{word}\t{}", output::escape(&what)));
            }
        };
        if self.what != CandidatesFor::Ack {
            for j in q.running()? {
                match self.what {
                    CandidatesFor::Wait => {
                        offer(&j.name, "running".into());
                        offer(&j.id, format!("{} (running)", j.name));
                    }
                    _ => offer(&j.name, "running".into()),
                }
            }
        }
        let pending = Filter {
            pending: true,
            ..Filter::default()
        };
        q.list(&pending, None, &mut |s| {
            let v = &s.view;
            let what = format!("{}, pending", v.status);
            match (self.what, &v.id) {
                (CandidatesFor::Wait, Some(id)) => {
                    offer(&v.name, what.clone());
                    offer(id, format!("{} ({what})", v.name));
                }
                (CandidatesFor::Ack, Some(id)) => offer(id, format!("{} ({what})", v.name)),
                (CandidatesFor::Ack, None) => {}
                _ => offer(&v.name, what),
            }
            Ok(())
        })?;
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        output::stdout_text(text.as_bytes()).map_err(Error::output)?;
        Ok(Exit::Code(0))
    }
}
