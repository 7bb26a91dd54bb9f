//! `cq push`: the record of a job that already finished.

use super::{Exit, Run, cwd, output_dir};
use crate::cli::PushArgs;
use crate::error::{Error, Result};
use crate::queue::{self, Where};
use crate::record::{self, NewRecord, Pushed, Status};
use crate::time;

impl Run for PushArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        if self.name.is_empty() {
            return Err(Error::usage("the job name must not be empty"));
        }
        let meta = record::parse_meta(&self.meta).map_err(Error::usage)?;
        let now = time::now();
        let (started_at, duration_ms) = match &self.started_at {
            Some(s) => {
                let ts = time::parse_timestamp(s)?;
                let ms = now.duration_since(ts).as_millis().max(0) as u64;
                (Some(time::format(ts)), Some(ms))
            }
            None => (None, None),
        };
        let status = match (self.exit_code, self.status) {
            (Some(c), _) => Status::of_exit(c),
            (None, Some(s)) => s,
            (None, None) => unreachable!("clap requires --exit-code or --status"),
        };
        let cwd = cwd()?;
        let rec = NewRecord::pushed(Pushed {
            name: self.name,
            output_dir: output_dir(self.output_dir.as_deref(), &cwd),
            cwd: cwd.to_string_lossy().into_owned(),
            status,
            exit_code: self.exit_code,
            started_at,
            duration_ms,
            meta,
        });
        queue::open(loc)?.append(&rec.to_line())?;
        Ok(Exit::Code(0))
    }
}
