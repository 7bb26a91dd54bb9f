//! `cq stats`: measure the queue's load and place it in the rubric. One
//! pass over the records fills flat-memory counts (`count`, through
//! `measure`'s tally), `advice` applies the rubric to them, and `report`
//! words them for people; the JSON form is the measured stats as they are.

mod advice;
mod count;
mod measure;
mod report;

use super::{Exit, Run};
use crate::cli::StatsArgs;
use crate::error::{Error, Result};
use crate::output;
use crate::queue::{self, Filter, Where};
use crate::time::{self, Cutoff};
use measure::Tally;

impl Run for StatsArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let since = self.since.as_deref().map(time::parse_since).transpose()?;
        let filter = Filter {
            since: since.map(Cutoff::new),
            ..Filter::default()
        };
        let q = queue::open(loc)?;
        let mut tally = Tally::default();
        q.list(&filter, None, &mut |s| {
            tally.add(&s.view);
            Ok(())
        })?;
        let (mut st, activity) = tally.finish(since, time::now());
        st.dead = q.ledger()?.dead_count() as u64;
        advice::advise(&mut st, loc, q.tier());
        let text = if self.json {
            format!("{}\n", serde_json::to_string(&st).expect("stats serialise"))
        } else {
            // The chart is for a person: a pipe gets no activity line.
            let chart = output::stdout_is_terminal().then_some(&activity);
            report::report(&st, since.is_some(), self.verbose, chart)
        };
        output::stdout_text(text.as_bytes())
            .map(|()| Exit::Code(0))
            .map_err(Error::output)
    }
}
