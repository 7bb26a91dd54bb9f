//! `cq push`: the record of a job that already finished.

use super::{Exit, Run, cwd, output_dir};
use crate::cli::PushArgs;
use crate::error::{Error, Result};
use crate::queue::{self, Where};
use crate::record::{self, NewRecord};
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
            (Some(c), _) => record::status_for(c),
            (None, Some(s)) => s.as_str(),
            (None, None) => unreachable!("clap requires --exit-code or --status"),
        };
        let cwd = cwd()?;
        let rec = NewRecord {
            name: self.name,
            completed_at: time::format(now),
            output_dir: output_dir(self.output_dir.as_deref(), &cwd),
            status,
            pulled: false,
            id: record::new_id(),
            exit_code: self.exit_code,
            signal: None,
            started_at,
            duration_ms,
            command: None,
            cwd: cwd.to_string_lossy().into_owned(),
            host: crate::queue::running::host().to_string(),
            pid: std::process::id(),
            meta,
            lost: false,
            truncated: false,
        };
        queue::open(loc)?.append(&rec.to_line())?;
        Ok(Exit::Code(0))
    }
}
