//! `cq where`: which queue this cq uses, why (`--queue`, `CQ_QUEUE`, the
//! default), whether it exists, and what cq keeps beside it.

use super::{Exit, Run, print_text};
use crate::cli::WhereArgs;
use crate::error::Result;
use crate::queue::{self, Source, Where};

impl Run for WhereArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = at.resolve()?;
        let from = match at.1 {
            Source::Flag => "the --queue flag".to_string(),
            Source::Env => "the CQ_QUEUE variable".to_string(),
            Source::Default => match crate::config::get().state_home {
                Some(_) => "the default, $XDG_STATE_HOME/cq/queue.jsonl".to_string(),
                _ => "the default, ~/.local/state/cq/queue.jsonl (XDG_STATE_HOME is not set)"
                    .to_string(),
            },
        };
        let q = queue::open(&loc)?;
        let mut text = format!("queue   {} ({} tier)\n", q.describe(), q.tier());
        text.push_str(&format!("from    {from}\n"));
        if q.missing() {
            text.push_str("state   does not exist yet (the first cq wrap or cq push creates it)\n");
        }
        for f in q.side_files() {
            text.push_str(&format!("beside  {f}\n"));
        }
        print_text(text.as_bytes())
    }
}
