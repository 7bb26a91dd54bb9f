//! `cq ack`: mark records pulled by id.

use super::{Exit, Run};
use crate::cli::AckArgs;
use crate::error::Result;
use crate::queue::{self, Location};

impl Run for AckArgs {
    fn run(self, loc: &Location) -> Result<Exit> {
        queue::open(loc)?.ack(&self.ids)?;
        Ok(Exit::Code(0))
    }
}
