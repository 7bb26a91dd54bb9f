//! `cq ack`: mark records pulled by id.

use super::{Exit, Run};
use crate::cli::AckArgs;
use crate::error::Result;
use crate::queue::{self, Where};

impl Run for AckArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        queue::open(loc)?.ack(&self.ids)?;
        Ok(Exit::Code(0))
    }
}
