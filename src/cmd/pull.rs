//! `cq pull`: print the pending records, then mark them pulled.

use super::{Exit, Run};
use crate::cli::PullArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::queue::{self, Location};
use std::io;

impl Run for PullArgs {
    fn run(self, loc: &Location) -> Result<Exit> {
        if self.limit == Some(0) {
            return Err(Error::usage("--limit must be at least 1"));
        }
        let fmt = output::format(self.format);
        let q = queue::open(loc)?;
        let stdout = io::stdout();
        q.pull(self.limit, &mut |recs| {
            output::print(&mut stdout.lock(), fmt, recs, false)
        })?;
        Ok(Exit::Code(0))
    }
}
