//! `cq migrate --to Q2`: copy every record to another queue, of any tier.

use super::{Exit, Run};
use crate::cli::MigrateArgs;
use crate::error::{Error, Result};
use crate::queue::{self, Location};

impl Run for MigrateArgs {
    fn run(self, loc: &Location) -> Result<Exit> {
        let to = Location::parse(&self.to)?;
        if &to == loc {
            return Err(Error::usage("--to names the queue being migrated"));
        }
        let source = queue::open(loc)?;
        let target = queue::open(&to)?;
        // One import: the target checks what it already has once.
        let mut recs = Vec::new();
        source.export(&mut |s| {
            recs.push(s);
            Ok(())
        })?;
        let added = target.import(&recs)?;
        println!(
            "copied {added} of {} records from {} to {}{}",
            recs.len(),
            source.describe(),
            target.describe(),
            if added < recs.len() {
                " (the others were there already)"
            } else {
                ""
            }
        );
        Ok(Exit::Code(0))
    }
}
