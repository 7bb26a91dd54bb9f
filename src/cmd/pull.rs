//! `cq pull`: print the pending records, then mark them pulled; with
//! `--wait` block until there are some, with `--follow` keep going.

use super::{Exit, Run, deadline};
use crate::cli::PullArgs;
use crate::error::{Error, Result, code};
use crate::output;
use crate::queue::{self, Where};
use std::time::Instant;

impl Run for PullArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        if let Some(cmd) = self.exec.clone() {
            return super::exec::consume(self, cmd, loc);
        }
        if self.limit == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        if self.timeout.is_some() && !self.wait && !self.follow {
            return Err(Error::usage("--timeout needs --wait or --follow"));
        }
        let until = deadline(self.timeout.as_deref())?;
        let fmt = output::format(self.format.chosen());
        let q = queue::open(loc)?;
        q.set_deadline(crate::watch::Deadline::at(until));
        if let Some(point) = &self.from {
            q.replay(self.group.as_deref(), point)?;
        }
        let pull = |limit: Option<usize>| {
            let mut deliver = |recs: &[crate::queue::Stored]| output::print_records(fmt, recs);
            match &self.group {
                Some(g) => q.pull_group(g, limit, &mut deliver),
                None => q.pull(limit, &mut deliver),
            }
        };
        if !self.wait && !self.follow {
            pull(self.limit)?;
            return Ok(Exit::Code(0));
        }
        // Watch before looking, so a record appended in between wakes us.
        let mut waiter = q.waiter()?;
        // With --follow, --limit counts every record pulled: N in all, then
        // done (exit 0).
        let mut left = self.limit;
        loop {
            let n = pull(left)?;
            if n > 0 && self.wait {
                return Ok(Exit::Code(0));
            }
            if let Some(l) = &mut left {
                *l = l.saturating_sub(n);
                if *l == 0 {
                    return Ok(Exit::Code(0));
                }
            }
            let expired = until.is_some_and(|d| Instant::now() >= d);
            if expired || !waiter.wait(until)? {
                return Ok(Exit::Code(code::TIMEOUT));
            }
        }
    }
}
