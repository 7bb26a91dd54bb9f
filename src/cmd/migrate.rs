//! `cq migrate --to Q2`: copy every record to another queue, of any tier.

use super::{Exit, Run};
use crate::cli::MigrateArgs;
use crate::error::{Error, Result};
use crate::queue::{self, Location, Where};

impl Run for MigrateArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let to = Location::parse(&self.to)?;
        if &to == loc {
            return Err(Error::usage("--to names the queue being migrated"));
        }
        let source = queue::open(loc)?;
        let target = queue::open(&to)?;
        let m = source.migrate_to(&target)?;
        let mut line = format!(
            "copied {} of {} records from {} to {}",
            m.copied,
            m.total,
            source.describe(),
            target.describe()
        );
        if m.copied < m.total {
            line.push_str(" (the others were there already)");
        }
        if m.marked > 0 {
            line.push_str(&format!(
                "; marked {} pulled there, as they were pulled here since",
                m.marked
            ));
        }
        line.push('\n');
        super::print_text(line.as_bytes())
    }
}
