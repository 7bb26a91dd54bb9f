//! The consumer's fact log on the file tier: `Q.attempts`, next to the
//! queue, append-only JSON lines (cq-queue(5) gives the format). The queue
//! file itself never changes for it, so `cat`, `jq` and the seed's reader
//! see the records exactly as before.
//!
//! An append takes the queue's lock exclusive (facts are few and short:
//! one per attempt), writes its lines in one `write(2)` with O_APPEND,
//! prefixed by a newline when a killed writer left the tail torn, and
//! fdatasyncs before returning. A reader needs no lock: it reads complete
//! lines only.

use super::{JsonlQueue, side_path};
use crate::error::{Error, Result};
use crate::queue::files::{self, open_or_create, sync_dir};
use crate::queue::store::FactScan;
use crate::queue::store::Mark;
use crate::watch::Deadline;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;

impl JsonlQueue {
    pub(super) fn facts_path(&self) -> PathBuf {
        side_path(&self.path, ".attempts")
    }

    pub(super) fn add_facts(&self, dl: Deadline, facts: &[String]) -> Result<()> {
        if facts.is_empty() {
            return Ok(());
        }
        let path = self.facts_path();
        let fail = |e| Error::io(format!("cannot append to {}", path.display()), e);
        self.ensure_dir()?;
        let _lock = self.lock(true, true, dl)?;
        let mut o = OpenOptions::new();
        o.read(true).append(true).custom_flags(files::UNTRUSTED);
        let (mut f, created) = open_or_create(&path, &o).map_err(fail)?;
        let m = f.metadata().map_err(fail)?;
        if !m.is_file() {
            return Err(Error::new(format!(
                "{}: not a regular file",
                path.display()
            )));
        }
        let mut buf = Vec::new();
        if m.len() > 0 {
            let mut last = [0u8];
            f.read_exact_at(&mut last, m.len() - 1).map_err(fail)?;
            if last[0] != b'\n' {
                buf.push(b'\n');
            }
        }
        for fact in facts {
            buf.extend_from_slice(fact.as_bytes());
            buf.push(b'\n');
        }
        f.write_all(&buf).map_err(fail)?;
        f.sync_data().map_err(fail)?;
        if created {
            sync_dir(&self.dir()).map_err(fail)?;
        }
        Ok(())
    }

    pub(super) fn read_facts(&self, from: Option<&Mark>, each: &mut FactScan) -> Result<Mark> {
        let path = self.facts_path();
        let fail = |e| Error::io(format!("cannot read {}", path.display()), e);
        let mut o = OpenOptions::new();
        o.read(true).custom_flags(files::UNTRUSTED);
        let mut f = match o.open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(from.cloned().unwrap_or_default());
            }
            Err(e) => return Err(fail(e)),
        };
        let m = f.metadata().map_err(fail)?;
        if !m.is_file() {
            return Err(Error::new(format!(
                "{}: not a regular file",
                path.display()
            )));
        }
        let mut start: u64 = from.and_then(|Mark(m)| m.parse().ok()).unwrap_or(0);
        if start > m.len() {
            // Not the file that mark was taken on: read it all.
            start = 0;
        }
        f.seek(SeekFrom::Start(start)).map_err(fail)?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(fail)?;
        // Only complete lines: a tail without its newline is a write in
        // flight, or a torn one that the next append terminates.
        let end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut lineno = 0;
        for line in buf[..end].split(|&b| b == b'\n') {
            lineno += 1;
            if line.is_empty() {
                continue;
            }
            if serde_json::from_slice::<serde_json::Value>(line).is_err() {
                self.bad.note(
                    format!("{} line {lineno} after byte {start}", path.display()),
                    "not JSON",
                );
                continue;
            }
            each(line)?;
        }
        Ok(Mark((start + end as u64).to_string()))
    }
}
