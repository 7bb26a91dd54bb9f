//! Appending: one write(2) of whole lines with O_APPEND under the shared
//! lock, a torn tail repaired only under the exclusive one, then fdatasync.

use super::JsonlQueue;
use crate::error::{Error, Result};
use crate::queue::files::{self, open_or_create, sync_dir};
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};

impl JsonlQueue {
    /// The queue opened for appending, its length, and whether it was just
    /// created. The caller has made sure its directory exists.
    pub(super) fn open_append(&self) -> Result<(File, u64, bool)> {
        let mut o = OpenOptions::new();
        o.read(true).append(true).custom_flags(files::NONBLOCK);
        let (f, created) = open_or_create(&self.path, &o).map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) {
                // A FIFO without a reader.
                Error::new(format!("cannot write {}: not a regular file", self.shown()))
            } else {
                Error::io(format!("cannot write {}", self.shown()), e)
            }
        })?;
        let len = self.check_regular(&f)?;
        Ok((f, len, created))
    }

    /// Refuses to append to a SQLite database named without `sqlite:`,
    /// naming the right form. (Not every file with odd bytes: a machine
    /// crash can leave NULs where an append was in flight, and that queue
    /// must stay writable; readers skip the bad line.)
    pub(super) fn refuse_foreign(&self, f: &File, len: u64) -> Result<()> {
        if len < 16 {
            return Ok(());
        }
        let mut head = [0u8; 16];
        f.read_exact_at(&mut head, 0)
            .map_err(|e| Error::io(format!("cannot read {}", self.shown()), e))?;
        if head.starts_with(b"SQLite format 3\0") {
            return Err(Error::new(format!(
                "{} is a SQLite database, not a JSONL queue: use --queue sqlite:{}",
                self.shown(),
                self.shown()
            )));
        }
        Ok(())
    }

    /// The append itself; the caller holds the lock. Under a shared lock a
    /// tail without its newline may be another appender's write in flight
    /// (the file's size grows page by page while it copies), so only the
    /// exclusive holder repairs a torn tail: `Ok(false)` asks for it.
    ///
    /// Checking the tail before writing is not enough under a shared lock:
    /// an appender killed inside its write(2) between our check and our
    /// write leaves a torn line that ours would continue. So the check is
    /// made again after writing, on the byte before our line; a glued line
    /// (unparseable, skipped by readers, like any torn line) also answers
    /// `Ok(false)`, and the record is written again under the exclusive
    /// lock, where only a writer outside the protocol can tear the tail.
    pub(super) fn append_locked(&self, line: &str, exclusive: bool) -> Result<bool> {
        const TRIES: usize = 3;
        for _ in 0..TRIES {
            if self.append_once(line, exclusive)? {
                return Ok(true);
            }
            if !exclusive {
                return Ok(false);
            }
        }
        Err(Error::new(format!(
            "cannot append to {}: another writer keeps leaving torn lines",
            self.shown()
        )))
    }

    /// One try; false when the tail was open (nothing written) or our line
    /// continued a torn one (written, to be written again).
    pub(super) fn append_once(&self, line: &str, exclusive: bool) -> Result<bool> {
        let (mut f, len, created) = self.open_append()?;
        let fail = |e| Error::io(format!("cannot append to {}", self.shown()), e);
        let mut buf = Vec::with_capacity(line.len() + 1);
        if len > 0 {
            let mut last = [0u8];
            self.refuse_foreign(&f, len)?;
            f.read_exact_at(&mut last, len - 1).map_err(fail)?;
            if last[0] != b'\n' {
                if !exclusive {
                    return Ok(false);
                }
                buf.push(b'\n');
            }
        }
        buf.extend_from_slice(line.as_bytes());
        // Reserve the blocks first, so a full disk fails the append before a
        // byte is written instead of leaving half a record behind. (File
        // systems without fallocate just skip this.)
        use rustix::fs::{FallocateFlags, fallocate};
        use rustix::io::Errno;
        match fallocate(&f, FallocateFlags::KEEP_SIZE, len, buf.len() as u64) {
            Ok(()) | Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => {}
            Err(e) => return Err(fail(e.into())),
        }
        if !write_line(&mut f, &buf).map_err(fail)? {
            return Ok(false);
        }
        f.sync_data().map_err(fail)?;
        if created {
            sync_dir(&self.dir()).map_err(fail)?;
        }
        Ok(true)
    }
}

/// Appends `buf` (a line, or a newline and a line) to `f`, opened with
/// O_APPEND, in one write; false when the byte before it is no newline, so
/// that the line continues a torn one.
fn write_line(f: &mut File, buf: &[u8]) -> io::Result<bool> {
    f.write_all(buf)?;
    if buf.first() == Some(&b'\n') {
        return Ok(true);
    }
    // With O_APPEND the offset after the write is the end of ours.
    let start = f.stream_position()? - buf.len() as u64;
    let mut before = [b'\n'];
    if start > 0 {
        f.read_exact_at(&mut before, start - 1)?;
    }
    Ok(before[0] == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_line_written_after_a_torn_one_is_seen_glued_and_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let q = crate::queue::Queue::new(Box::new(JsonlQueue::new(path.clone())));
        q.append("{\"name\":\"a\",\"status\":\"success\",\"pulled\":false}\n")
            .unwrap();
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        // What the race leaves: a push killed mid-write after our tail check.
        f.write_all(b"{\"name\":\"torn").unwrap();
        let b = b"{\"name\":\"b\",\"status\":\"success\",\"pulled\":false}\n";
        assert!(!write_line(&mut f, b).unwrap());
        assert!(write_line(&mut f, b).unwrap());
        assert!(write_line(&mut f, b"\n").unwrap());
        // The exclusive holder repairs a torn tail and writes past it.
        f.write_all(b"{\"name\":\"torn").unwrap();
        q.append("{\"name\":\"c\",\"status\":\"success\",\"pulled\":false}\n")
            .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let last = text.lines().last().unwrap();
        assert!(last.starts_with("{\"name\":\"c\""), "{text}");
    }
}
