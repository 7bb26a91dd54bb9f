//! `cq compact`: drop old pulled records.

use super::{Exit, Run};
use crate::cli::CompactArgs;
use crate::error::Result;
use crate::queue::{self, Where};
use crate::time::{self, Cutoff};

impl Run for CompactArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let age = time::parse_duration(&self.older_than)?;
        let cutoff = Cutoff::new(time::before_now(age)?);
        let r = queue::open(loc)?.compact(&cutoff)?;
        let mut text = format!(
            "removed {} pulled record{} older than {}, kept {}\n",
            r.removed,
            if r.removed == 1 { "" } else { "s" },
            self.older_than,
            r.kept
        );
        if let Some(note) = r.note {
            text.push_str(&note);
            text.push('\n');
        }
        // The queue is compacted: a report nobody reads is no error, one
        // that could not be written is (exit 1), never a panic.
        super::print_text(text.as_bytes())
    }
}
