//! `cq list`: show records (or running jobs), change nothing.

use super::{Exit, Run};
use crate::cli::{Format, ListArgs};
use crate::error::{Error, Result};
use crate::output;
use crate::queue::{self, Filter, Stored, Where};
use crate::time::{self, Cutoff};
use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};

impl Run for ListArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        if self.limit == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        let fmt = output::format(self.format.chosen());
        let q = queue::open(loc)?;
        let stdout = io::stdout();
        if self.running {
            let jobs = q.running()?;
            let mut out = stdout.lock();
            let r = match (self.count, fmt) {
                (true, _) => writeln!(out, "{}", jobs.len()),
                (false, Format::Table | Format::Brief) => output::jobs_table(&mut out, &jobs),
                (false, Format::Jsonl) => jobs.iter().try_for_each(|j| {
                    writeln!(
                        out,
                        "{}",
                        serde_json::to_string(j).expect("a job serialises")
                    )
                }),
            };
            return r
                .and_then(|()| out.flush())
                .map(|()| Exit::Code(0))
                .map_err(Error::output);
        }
        let filter = Filter {
            pending: self.pending,
            pulled: self.pulled,
            name: self.name,
            status: self.status,
            since: self
                .since
                .as_deref()
                .map(time::parse_since)
                .transpose()?
                .map(Cutoff::new),
        };
        let mut out = BufWriter::with_capacity(64 << 10, stdout.lock());
        if self.dead {
            let mut dead = Vec::new();
            q.dead_letters(&mut |s| {
                if filter.matches(&s.view) {
                    dead.push(s);
                }
                Ok(())
            })?;
            if let Some(n) = self.limit {
                dead.drain(..dead.len().saturating_sub(n));
            }
            let done = if self.count {
                writeln!(out, "{}", dead.len()).and_then(|()| out.flush())
            } else {
                output::print(&mut out, fmt, &dead, true)
            };
            return done.map(|()| Exit::Code(0)).map_err(Error::output);
        }
        if self.follow {
            // Each batch as it arrives: JSONL lines, or table rows (columns
            // aligned within a batch).
            let mut waiter = q.waiter()?;
            let mut mark = None;
            loop {
                let mut batch = Vec::new();
                mark = Some(q.list(&filter, mark.as_ref(), &mut |s| {
                    batch.push(s);
                    Ok(())
                })?);
                if !batch.is_empty() {
                    output::print(&mut out, fmt, &batch, true).map_err(Error::output)?;
                }
                waiter.wait(None)?;
            }
        }
        // JSONL streams in constant memory; a table needs its rows for the
        // column widths, and --limit keeps only the newest N.
        let mut kept: VecDeque<Stored> = VecDeque::new();
        let stream = fmt == Format::Jsonl && self.limit.is_none();
        let mut count = 0usize;
        q.list(&filter, None, &mut |s| {
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
        done.map(|()| Exit::Code(0)).map_err(Error::output)
    }
}
