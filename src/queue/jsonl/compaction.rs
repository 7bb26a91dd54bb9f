//! Compaction, the only rewrite: under the exclusive lock, the kept lines
//! (bad ones byte for byte) go to a temp file in the same directory, which
//! is fsynced and renamed over the queue; then the directory is fsynced and
//! the cursor reset.

use super::JsonlQueue;
use super::cursor;
use super::lines::{LineReader, Parsed, Pos, copy_range, parse};
use crate::error::{Error, Result};
use crate::queue::files::{self, sync_dir};
use crate::queue::store::CompactReport;
use crate::record::{Pulled, View};
use crate::watch::Deadline;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;

impl JsonlQueue {
    pub(super) fn compact(
        &self,
        dl: Deadline,
        may_go: &dyn Fn(&View) -> bool,
    ) -> Result<CompactReport> {
        let none = CompactReport {
            removed: 0,
            kept: 0,
            note: None,
        };
        if !files::present(&self.path)? {
            return Ok(none);
        }
        let _lock = self.lock(true, true, dl)?;
        let Some(f) = self.open_read(true)? else {
            return Ok(none);
        };
        let dir = self.dir();
        let fail = |e| Error::io(format!("cannot compact {}", self.shown()), e);
        let mut tmp = tempfile::Builder::new()
            .prefix(&self.clear_leftovers())
            .tempfile_in(&dir)
            .map_err(fail)?;
        let mode = f.metadata().map_err(fail)?.permissions().mode() & 0o7777;
        let copy = self
            .copy_kept(&f, tmp.as_file_mut(), may_go)
            .map_err(fail)?;
        let report = CompactReport {
            removed: copy.removed,
            kept: copy.kept,
            note: None,
        };
        if copy.removed == 0 {
            return Ok(report);
        }
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        let new = tmp.persist(&self.path).map_err(|e| fail(e.error))?;
        sync_dir(&dir).map_err(fail)?;
        let at = copy.first_pending.unwrap_or(copy.written);
        cursor::store(&self.cursor_path, &new, at, None);
        Ok(report)
    }

    /// Removes what killed compactions left, and returns the prefix of this
    /// one's temp file. Holding the exclusive lock, any temp file of ours
    /// is a leftover. Its name has a fixed length whatever the queue's (one
    /// built from a name near NAME_MAX was too long); the older form, with
    /// the whole name, is still cleaned up.
    fn clear_leftovers(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.as_bytes())
            .unwrap_or_default();
        let prefix = format!(".cq-compact-{:016x}-", fnv1a(name));
        let mut older = b".cq-compact-".to_vec();
        older.extend_from_slice(name);
        older.push(b'-');
        if let Ok(rd) = fs::read_dir(self.dir()) {
            for e in rd.flatten() {
                let n = e.file_name();
                if n.as_bytes().starts_with(prefix.as_bytes()) || n.as_bytes().starts_with(&older) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        prefix
    }

    /// Writes the lines of `f` that stay to `out`, byte for byte (bad
    /// lines and a torn tail too), and counts what went and what stayed.
    fn copy_kept(
        &self,
        f: &File,
        out: &mut File,
        may_go: &dyn Fn(&View) -> bool,
    ) -> io::Result<Copied> {
        let mut out = io::BufWriter::new(out);
        let mut c = Copied::default();
        let mut r = LineReader::new(f.try_clone()?, Pos::default())?;
        while let Some(line) = r.next()? {
            let parsed = line.complete.then(|| parse(&r.buf, line.too_long));
            let drop = match &parsed {
                Some(Parsed::Record(s)) => may_go(&s.view),
                Some(Parsed::Bad(why)) => {
                    self.bad.note(format!("line {}", line.lineno), why);
                    false
                }
                _ => false,
            };
            if drop {
                c.removed += 1;
                continue;
            }
            if let Some(Parsed::Record(s)) = &parsed {
                c.kept += 1;
                if c.first_pending.is_none() && s.view.pulled() == Pulled::No {
                    c.first_pending = Some(c.written);
                }
            }
            // A too-long line was not buffered, so it is copied from the file.
            let len = r.pos.offset - line.offset;
            if line.too_long {
                copy_range(f, line.offset, len, &mut out)?;
            } else {
                out.write_all(&r.buf)?;
                if line.complete {
                    out.write_all(b"\n")?;
                }
            }
            c.written.offset += len;
            c.written.lines += 1;
        }
        out.flush()?;
        Ok(c)
    }
}

/// What [`JsonlQueue::copy_kept`] did.
#[derive(Default)]
struct Copied {
    removed: usize,
    kept: usize,
    /// Where the first pending record is in the copy.
    first_pending: Option<Pos>,
    /// The copy's end.
    written: Pos,
}

/// FNV-1a, 64 bits: a name's stable digest (std's hasher may change
/// between releases, and a leftover must be found by the next cq).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
