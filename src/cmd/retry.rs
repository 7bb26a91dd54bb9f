//! `cq retry`: put dead letters back for the consumer.

use super::{Exit, Run};
use crate::cli::RetryArgs;
use crate::error::Result;
use crate::queue::{self, Where};

impl Run for RetryArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        queue::open(loc)?.retry(&self.ids, self.all)?;
        Ok(Exit::Code(0))
    }
}
