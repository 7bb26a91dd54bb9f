//! `cq list`: show records, change nothing.

use super::{Exit, Run};
use crate::cli::{Format, ListArgs};
use crate::error::{Error, Result};
use crate::output;
use crate::queue::{self, Filter, Location, Stored};
use crate::time::{self, Cutoff};
use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};

impl Run for ListArgs {
    fn run(self, loc: &Location) -> Result<Exit> {
        if self.limit == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        let filter = Filter {
            pending: self.pending,
            pulled: self.pulled,
            name: self.name,
            status: self.status.map(|s| s.as_str()),
            since: self
                .since
                .as_deref()
                .map(time::parse_since)
                .transpose()?
                .map(Cutoff::new),
        };
        let fmt = output::format(self.format);
        let q = queue::open(loc)?;
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(64 << 10, stdout.lock());
        // JSONL streams in constant memory; a table needs its rows for the
        // column widths, and --limit keeps only the newest N.
        let mut kept: VecDeque<Stored> = VecDeque::new();
        let stream = fmt == Format::Jsonl && self.limit.is_none();
        let mut count = 0usize;
        q.list(&filter, &mut |s| {
            if self.count {
                count += 1;
                return Ok(());
            }
            if stream {
                return output::write_jsonl(&mut out, &s);
            }
            if self.limit.is_some_and(|n| kept.len() == n) {
                kept.pop_front();
            }
            kept.push_back(s);
            Ok(())
        })?;
        let done = if self.count {
            let n = self.limit.map_or(count, |l| count.min(l));
            writeln!(out, "{n}").and_then(|()| out.flush())
        } else if stream {
            out.flush()
        } else {
            output::print(&mut out, fmt, kept.make_contiguous(), true)
        };
        match done {
            Ok(()) => Ok(Exit::Code(0)),
            Err(e) if Error::is_broken_pipe(&e) => Ok(Exit::Code(0)),
            Err(e) => Err(Error::io("cannot write output", e)),
        }
    }
}
