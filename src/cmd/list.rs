//! `cq list`: show records (or running jobs), change nothing.

use super::{Exit, Run};
use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::output::{Column, Format};
use crate::queue::{self, Filter, Queue, Stored, Where};
use crate::time::{self, Cutoff};
use std::collections::VecDeque;

impl Run for ListArgs {
    fn run(mut self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        if self.limit == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        // Columns asked for are a table's, in a pipe too (as `ps -o`):
        // `cq list --columns name,id | grep build` is how an id is found.
        let chosen = self.format.chosen();
        let fmt = match (chosen, &self.columns) {
            (None, Some(_)) => Format::Table,
            _ => output::format(chosen),
        };
        let cols = output::columns_of(self.columns.as_deref(), true).map_err(Error::usage)?;
        let q = queue::open(loc)?;
        if self.running {
            return self.running_jobs(&q, fmt);
        }
        let filter = self.filter()?;
        let mut out = output::Out::new();
        if self.dead {
            return self.dead_letters(&q, &filter, &mut out, fmt, &cols);
        }
        if self.follow {
            return follow(&q, &filter, &mut out, fmt, &cols);
        }
        self.records(&q, &filter, &mut out, fmt, &cols)
    }
}

/// What was printed, as the command's answer: exit 0, or the write that
/// failed (a reader gone away is exit 0 too, see [`Error::output`]).
fn shown(done: std::io::Result<()>) -> Result<Exit> {
    done.map(|()| Exit::Code(0)).map_err(Error::output)
}

impl ListArgs {
    /// The records the options ask for (`--name` and `--status` are taken
    /// out of the options).
    fn filter(&mut self) -> Result<Filter> {
        Ok(Filter {
            pending: self.pending,
            pulled: self.pulled,
            name: self.name.take(),
            status: self.status.take(),
            since: self
                .since
                .as_deref()
                .map(time::parse_since)
                .transpose()?
                .map(Cutoff::new),
        })
    }

    /// `--running`: the jobs running now, or how many.
    fn running_jobs(&self, q: &Queue, fmt: Format) -> Result<Exit> {
        let jobs = q.running()?;
        shown(if self.count {
            output::Out::new().count(jobs.len())
        } else {
            output::print_jobs(fmt, &jobs)
        })
    }

    /// `--dead`: the records their consumers gave up on (the newest
    /// `--limit`), or how many.
    fn dead_letters(
        &self,
        q: &Queue,
        filter: &Filter,
        out: &mut output::Out,
        fmt: Format,
        cols: &[Column],
    ) -> Result<Exit> {
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
        shown(if self.count {
            out.count(dead.len())
        } else {
            out.records(fmt, &dead, cols)
        })
    }

    /// The records there are now (the newest `--limit`), or how many.
    fn records(
        &self,
        q: &Queue,
        filter: &Filter,
        out: &mut output::Out,
        fmt: Format,
        cols: &[Column],
    ) -> Result<Exit> {
        // JSONL streams in constant memory; a table needs its rows for the
        // column widths, and --limit keeps only the newest N.
        let mut kept: VecDeque<Stored> = VecDeque::new();
        let stream = fmt == Format::Jsonl && self.limit.is_none();
        let mut count = 0usize;
        q.list(filter, None, &mut |s| {
            if self.count {
                count += 1;
                return Ok(());
            }
            if stream {
                return out.jsonl(&s);
            }
            if self.limit.is_some_and(|n| kept.len() == n) {
                kept.pop_front();
            }
            kept.push_back(s);
            Ok(())
        })?;
        shown(if self.count {
            let n = self.limit.map_or(count, |l| count.min(l));
            out.count(n)
        } else if stream {
            out.flush()
        } else {
            out.records(fmt, kept.make_contiguous(), cols)
        })
    }
}

/// `--follow`: each batch as it arrives, JSONL lines or table rows (columns
/// aligned within a batch), until cq is stopped or a write fails.
fn follow(
    q: &Queue,
    filter: &Filter,
    out: &mut output::Out,
    fmt: Format,
    cols: &[Column],
) -> Result<Exit> {
    let mut waiter = q.waiter()?;
    let mut mark = None;
    loop {
        let mut batch = Vec::new();
        mark = Some(q.list(filter, mark.as_ref(), &mut |s| {
            batch.push(s);
            Ok(())
        })?);
        if !batch.is_empty() {
            out.records(fmt, &batch, cols).map_err(Error::output)?;
        }
        waiter.wait(None)?;
    }
}
