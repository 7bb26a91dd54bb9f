//! The JSONL file tier and its locking protocol; man page cq-queue(5) is the
//! same protocol written for other programs.
//!
//! - `Q.lock`, never renamed, is the lock: appenders and plain readers take
//!   it shared, `pull`, `ack` and `compact` exclusive (flock).
//! - An append opens `Q` with O_APPEND after taking the lock, writes the whole
//!   line in one write, then fdatasyncs. When the file does not end in `\n`
//!   the appender retakes the lock exclusive (another appender's write may
//!   be in flight) and, if it is still so, prefixes its line with `\n`, so a
//!   torn tail never swallows it.
//! - A pull flips `"pulled":false` to `"pulled":true ` in place (same length)
//!   after its records were printed and flushed, then fdatasyncs.
//! - `Q.cursor` holds an offset below which every record is pulled, with the
//!   file's identity, so a pull reads only the tail; a cursor that does not
//!   match the file costs a full scan, never a record.
//! - Compaction is the only rewrite: temp file, fsync, rename, fsync dir.
//! - `Q.running/ID.json` is a job whose wrapper runs; a reader that finds
//!   its wrapper dead appends its `"lost":true` record under the exclusive
//!   lock, once, and removes the file.

use super::files::{self, open_or_create, sync_dir};
use super::running;
use super::store::{CompactReport, Mark, Tier, Waiter};
use super::store::{Found, Nothing, Scan, Store, Taken};
use crate::error::{Error, Result};
use crate::record::{self, PULLED_FALSE, PULLED_TRUE, Pulled, View};
use crate::record::{Job, Stored};
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

mod cursor;
mod facts;
mod lines;
mod replay;

use lines::{Line, LineReader, Parsed, Pos, copy_range, parse};

pub struct JsonlQueue {
    path: PathBuf,
    lock_path: PathBuf,
    cursor_path: PathBuf,
    running_dir: PathBuf,
    bad: super::bad::BadEntries,
}

pub(super) use files::side_path;

/// How much longer than the queue's name its longest side file's name is
/// (`Q.cursor.tmp`), and than its path the longest side path
/// (`Q.running/.ID.tmp`): see [`files::fits_side_names`].
pub const SIDE_SUFFIX_MAX: usize = ".cursor.tmp".len();
pub const SIDE_TAIL_MAX: usize = ".running/.".len() + 36 + ".tmp".len();

/// Held for as long as it lives; the kernel drops the flock with the fd.
struct Lock(#[allow(dead_code)] Option<File>);

/// A running job's file holds one job's JSON: its command line, at most
/// what the kernel lets a command line be (2 MiB), and a little more.
const JOB_FILE_MAX: u64 = 4 << 20;

impl JsonlQueue {
    pub fn new(path: PathBuf) -> Self {
        // A queue that is a symlink is the file it points to: compaction
        // must replace that file, not the link, and the side files belong
        // next to it.
        let path = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => resolve_link(path),
            _ => path,
        };
        Self {
            lock_path: side_path(&path, ".lock"),
            cursor_path: side_path(&path, ".cursor"),
            running_dir: side_path(&path, ".running"),
            path,
            bad: Default::default(),
        }
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// The queue file (a symlink's target).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn dir(&self) -> PathBuf {
        files::parent(&self.path)
    }

    fn ensure_dir(&self) -> Result<()> {
        files::ensure_dir(&self.dir(), &self.shown())
    }

    /// Takes the lock. Writers create the lock file; readers that may not
    /// (a read-only queue) fall back to reading it, or to no lock at all when
    /// nobody can write there either.
    fn lock(&self, exclusive: bool, write: bool) -> Result<Lock> {
        let fail = |e| Error::io(format!("cannot lock {}", self.lock_path.display()), e);
        let mut o = OpenOptions::new();
        o.read(true).write(true);
        let file = if write {
            match o.open(&self.lock_path) {
                Ok(f) => Some(f),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // The first lock of this queue: make sure it is one
                    // before leaving a side file next to it (`--queue
                    // /dev/null` once created /dev/null.lock).
                    // Nor beside a path that cannot be a queue (a symlink
                    // loop, a path through a file).
                    match fs::metadata(&self.path) {
                        Ok(m) => self.regular(&m)?,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(Error::io(format!("cannot write {}", self.shown()), e));
                        }
                    }
                    Some(open_or_create(&self.lock_path, &o).map_err(fail)?.0)
                }
                Err(e) => return Err(fail(e)),
            }
        } else {
            // Readers never create it: no lock file means no writer yet.
            File::open(&self.lock_path).ok()
        };
        if let Some(f) = &file {
            self.take_lock(f, exclusive)?;
        }
        Ok(Lock(file))
    }

    /// Takes the lock, waiting while another process holds it: on a
    /// terminal it says so (as cargo's "Blocking waiting for file lock"),
    /// and a command's `--timeout` bounds the wait (exit 124). A holder
    /// that was stopped (SIGSTOP, Ctrl-Z) holds it until it resumes.
    fn take_lock(&self, f: &File, exclusive: bool) -> Result<()> {
        use std::fs::TryLockError;
        let fail = |e| Error::io(format!("cannot lock {}", self.lock_path.display()), e);
        let mut pause = std::time::Duration::from_millis(1);
        let mut said = false;
        loop {
            let r = if exclusive {
                f.try_lock()
            } else {
                f.try_lock_shared()
            };
            match r {
                Ok(()) => return Ok(()),
                Err(TryLockError::Error(e)) => return Err(fail(e)),
                Err(TryLockError::WouldBlock) => {}
            }
            if !said && pause == std::time::Duration::from_millis(1) {
                self.refuse_own_hold(f)?;
            }
            if crate::watch::waits_expired() {
                return Err(Error::new(format!(
                    "timed out waiting for the lock on {} (another process holds it)",
                    self.shown()
                ))
                .with_code(crate::error::code::TIMEOUT));
            }
            if !said && pause >= std::time::Duration::from_millis(100) {
                said = true;
                crate::notice::status_line(&format!(
                    "waiting for the lock on {} (another process holds it; a stopped one holds it until it resumes)",
                    self.shown()
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(100));
        }
    }

    /// Refuses to wait for a lock this very process holds: through a
    /// descriptor it inherited (`exec 9>>Q.lock; flock 9; cq wrap -- make`),
    /// the lock is held by an open file of cq's own, which no wait can
    /// release. Looked for only once the lock was found taken, so an
    /// uncontended lock costs nothing more.
    fn refuse_own_hold(&self, mine: &File) -> Result<()> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let Ok(m) = mine.metadata() else {
            return Ok(());
        };
        let Ok(fds) = fs::read_dir("/proc/self/fd") else {
            return Ok(());
        };
        for e in fds.flatten() {
            let Some(fd) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            if fd == mine.as_raw_fd() {
                continue;
            }
            let same =
                fs::metadata(e.path()).is_ok_and(|t| t.dev() == m.dev() && t.ino() == m.ino());
            // The kernel lists the locks held through an open file in its
            // fdinfo ("lock: 1: FLOCK ADVISORY WRITE ...").
            let holds = same
                && fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).is_ok_and(|t| {
                    t.lines()
                        .any(|l| l.starts_with("lock:") && l.contains("FLOCK"))
                });
            if holds {
                return Err(Error::new(format!(
                    "cannot lock {}: cq holds that lock already, through file descriptor {fd} it inherited from its caller, so it would wait for itself forever; release it first (flock -u {fd}) or do not pass it on ({fd}>&-)",
                    self.lock_path.display()
                )));
            }
        }
        Ok(())
    }

    /// The queue file for reading, or `None` when there is no queue yet.
    fn open_read(&self, write: bool) -> Result<Option<File>> {
        // O_NONBLOCK: opening a FIFO must not hang; it is refused below.
        let mut o = OpenOptions::new();
        o.read(true).write(write).custom_flags(files::NONBLOCK);
        match o.open(&self.path) {
            Ok(f) => {
                self.check_regular(&f)?;
                Ok(Some(f))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("cannot open {}", self.shown()), e)),
        }
    }

    /// The queue opened for appending, its length, and whether it was just
    /// created. The caller has made sure its directory exists.
    fn open_append(&self) -> Result<(File, u64, bool)> {
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
    fn refuse_foreign(&self, f: &File, len: u64) -> Result<()> {
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

    /// Refuses a queue that is not a regular file; returns its length.
    fn check_regular(&self, f: &File) -> Result<u64> {
        let m = f.metadata().map_err(|e| Error::io(self.shown(), e))?;
        self.regular(&m)?;
        Ok(m.len())
    }

    /// Refuses what is not a regular file: the one wording for it.
    fn regular(&self, m: &fs::Metadata) -> Result<()> {
        if m.is_dir() {
            return Err(Error::new(format!(
                "{}: is a directory, not a queue file",
                self.shown()
            )));
        }
        if !m.is_file() {
            return Err(Error::new(format!("{}: not a regular file", self.shown())));
        }
        Ok(())
    }

    /// Reads from `start`, reporting bad lines, until `f` says stop or the
    /// last complete line. Returns the position after the last line seen.
    fn read_lines(
        &self,
        file: &File,
        start: Pos,
        mut f: impl FnMut(&Line, &[u8], Parsed) -> Result<bool>,
    ) -> Result<Pos> {
        let rd = file.try_clone().map_err(|e| Error::io(self.shown(), e))?;
        let mut r = LineReader::new(rd, start).map_err(|e| Error::io(self.shown(), e))?;
        let mut end = start;
        while let Some(line) = r
            .next()
            .map_err(|e| Error::io(format!("cannot read {}", self.shown()), e))?
        {
            if !line.complete {
                // A writer that is still writing or that crashed: not ours to
                // read until the next append terminates it.
                break;
            }
            let parsed = parse(&r.buf, line.too_long);
            if let Parsed::Bad(why) = &parsed {
                self.bad.note(format!("line {}", line.lineno), why);
            }
            if !f(&line, &r.buf, parsed)? {
                break;
            }
            end = r.pos;
        }
        Ok(end)
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
    fn append_locked(&self, line: &str, exclusive: bool) -> Result<bool> {
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
    fn append_once(&self, line: &str, exclusive: bool) -> Result<bool> {
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

    // ---- running jobs ----------------------------------------------------

    /// The running jobs' files. No directory means no job; a directory
    /// that cannot be read is an error, never "nothing runs".
    fn jobs(&self) -> Result<Vec<(PathBuf, Job)>> {
        let rd = match fs::read_dir(&self.running_dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read {}", self.running_dir.display()),
                    e,
                ));
            }
        };
        // In no order: `queue::running` orders jobs, for every tier. What is
        // not a job is said once and skipped, as a bad line of the queue is:
        // only `ID.json` files cq wrote, and its own `.ID.tmp` in flight.
        let jobs: Vec<(PathBuf, Job)> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter_map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned())?;
                let skip = |why: &str| {
                    crate::error::warn_once(
                        &p.to_string_lossy(),
                        &format!("{}: {why}; skipped", p.display()),
                    );
                };
                if name.starts_with('.') && name.ends_with(".tmp") {
                    return None;
                }
                if !name.ends_with(".json") {
                    skip("not a running job's file (ID.json)");
                    return None;
                }
                // Untrusted: a FIFO, a symlink to /dev/zero or a huge file
                // here once hung or swelled every reader.
                let text = match files::read_side_file(&p, JOB_FILE_MAX) {
                    Ok(t) => t?,
                    Err(why) => {
                        skip(&why);
                        return None;
                    }
                };
                match serde_json::from_slice::<Job>(&text) {
                    Ok(job) => Some((p, job)),
                    Err(e) => {
                        skip(&format!("not a running job ({e})"));
                        None
                    }
                }
            })
            .collect();
        Ok(jobs)
    }

    fn has_id(&self, id: &str) -> Result<bool> {
        let Some(f) = self.open_read(false)? else {
            return Ok(false);
        };
        let mut found = false;
        self.read_lines(&f, Pos::default(), |_, _, parsed| {
            if let Parsed::Record(s) = parsed
                && s.view.id.as_deref() == Some(id)
            {
                found = true;
            }
            Ok(!found)
        })?;
        Ok(found)
    }

    // ---- follow marks ----------------------------------------------------

    fn mark(&self, f: &File, end: Pos, last: &Option<(Option<String>, Option<String>)>) -> Mark {
        let (dev, ino, born) = f
            .metadata()
            .map(|m| cursor::identity(&m))
            .unwrap_or_default();
        let (id, at) = match last {
            Some((id, at)) => (id.clone(), at.clone()),
            None => (None, None),
        };
        Mark(format!(
            "{dev} {ino} {born} {} {} {} {}",
            end.offset,
            end.lines,
            id.unwrap_or_else(|| "-".into()),
            at.unwrap_or_else(|| "-".into())
        ))
    }

    fn flip(&self, f: &File, spans: &[u64]) -> Result<()> {
        let fail = |e| Error::io(format!("cannot mark records pulled in {}", self.shown()), e);
        for &at in spans {
            f.write_all_at(PULLED_TRUE, at).map_err(fail)?;
        }
        if !spans.is_empty() {
            f.sync_data().map_err(fail)?;
        }
        Ok(())
    }
}

/// Absolute offset of a pending record's `false`, checked to be exactly that.
fn false_at(line: &Line, buf: &[u8]) -> Option<u64> {
    let (a, b) = record::pulled_span(buf)?;
    (&buf[a..b] == PULLED_FALSE).then_some(line.offset + a as u64)
}

impl Store for JsonlQueue {
    fn bad_entries(&self) -> Vec<super::bad::Bad> {
        self.bad.take()
    }

    fn missing(&self) -> bool {
        matches!(files::present(&self.path), Ok(false))
    }

    fn side_files(&self) -> Vec<String> {
        vec![
            format!("{} (the lock)", self.lock_path.display()),
            format!("{} (the pull cursor)", self.cursor_path.display()),
            format!("{}/ (running jobs)", self.running_dir.display()),
            format!(
                "{} (what cq pull --exec knows: attempts, dead letters)",
                self.facts_path().display()
            ),
        ]
    }

    fn tier(&self) -> Tier {
        Tier::Jsonl
    }

    fn describe(&self) -> String {
        self.shown()
    }

    fn check_writable(&self) -> Result<()> {
        // Never waits for the lock: CMD starts at once even while another
        // process holds it (a stopped puller). Opening, or creating, the
        // file for appending without it changes nothing a holder relies on.
        self.ensure_dir()?;
        let (f, len, _) = self.open_append()?;
        self.refuse_foreign(&f, len)
    }

    fn append(&self, recs: &[Stored]) -> Result<()> {
        let mut buf = String::new();
        for r in recs {
            buf.push_str(&String::from_utf8_lossy(&r.line));
            buf.push('\n');
        }
        self.ensure_dir()?;
        {
            let _shared = self.lock(false, true)?;
            if self.append_locked(&buf, false)? {
                return Ok(());
            }
        }
        // The last line looked unterminated: settle it alone.
        let _exclusive = self.lock(true, true)?;
        self.append_locked(&buf, true).map(|_| ())
    }

    fn scan(&self, from: Option<&Mark>, pending_hint: bool, each: &mut Scan) -> Result<Mark> {
        if !files::present(&self.path)? {
            return Ok(from.cloned().unwrap_or_default());
        }
        let _lock = self.lock(false, false)?;
        let Some(f) = self.open_read(false)? else {
            return Ok(Mark::default());
        };
        // Where to start, and which already-seen records to skip when the
        // file was rewritten (compaction) since the mark was taken.
        let mut start = if pending_hint && from.is_none() {
            cursor::load(&self.cursor_path, &f).0
        } else {
            Pos::default()
        };
        let mut skip_until: Option<(Option<String>, Option<String>)> = None;
        if let Some(Mark(m)) = from {
            let p: Vec<&str> = m.split(' ').collect();
            let (dev, ino, born) = f
                .metadata()
                .map(|m| cursor::identity(&m))
                .unwrap_or_default();
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let same = p.len() == 7
                && p[0] == dev.to_string()
                && p[1] == ino.to_string()
                && p[2] == born.to_string()
                && p[3].parse::<u64>().is_ok_and(|o| o <= len);
            if same {
                start = Pos {
                    offset: p[3].parse().unwrap_or(0),
                    lines: p[4].parse().unwrap_or(0),
                };
            } else if p.len() == 7 {
                let opt = |s: &str| (s != "-").then(|| s.to_string());
                skip_until = Some((opt(p[5]), opt(p[6])));
            }
        }
        let mut last = from.and_then(|Mark(m)| {
            let p: Vec<&str> = m.split(' ').collect();
            let opt = |s: &str| (s != "-").then(|| s.to_string());
            (p.len() == 7).then(|| (opt(p[5]), opt(p[6])))
        });
        // After a rewrite: skip through the last record seen when it is still
        // there, else skip what completed no later than it.
        let seen_id = skip_until.as_ref().and_then(|(id, _)| id.clone());
        let seen_present = match &seen_id {
            Some(id) => self.has_id(id)?,
            None => false,
        };
        let mut passed_seen = !seen_present;
        let end = self.read_lines(&f, start, |_, _, parsed| {
            let Parsed::Record(s) = parsed else {
                return Ok(true);
            };
            if let Some((_, at)) = &skip_until {
                if !passed_seen {
                    passed_seen = s.view.id.is_some() && s.view.id == seen_id;
                    return Ok(true);
                }
                if !seen_present && s.view.completed_at.as_deref() <= at.as_deref() {
                    return Ok(true);
                }
            }
            last = Some((s.view.id.clone(), s.view.completed_at.clone()));
            each(s)
        })?;
        Ok(self.mark(&f, end, &last))
    }

    fn take(&self, _group: Option<&str>, limit: usize) -> Result<Box<dyn Taken + '_>> {
        if !files::present(&self.path)? {
            return Ok(Box::new(Nothing));
        }
        let lock = self.lock(true, true)?;
        let Some(f) = self.open_read(true)? else {
            return Ok(Box::new(Nothing));
        };
        let (start, witness) = cursor::load(&self.cursor_path, &f);
        let mut batch = Vec::new();
        let mut spans = Vec::new();
        // The cursor may move past a line only when it is not pending once
        // this pull is done; it stops at the first pending line left behind.
        let mut stop_at: Option<Pos> = None;
        let end = self.read_lines(&f, start, |line, raw, parsed| {
            if let Parsed::Record(s) = parsed
                && s.view.pulled() == Pulled::No
            {
                if batch.len() >= limit {
                    stop_at = Some(Pos {
                        offset: line.offset,
                        lines: line.lineno - 1,
                    });
                    return Ok(false);
                }
                // Only a literal `false` can be flipped in place.
                if let Some(at) = false_at(line, raw) {
                    spans.push(at);
                    batch.push(s);
                }
            }
            Ok(true)
        })?;
        let stop = stop_at.unwrap_or(end);
        Ok(Box::new(JsonlTaken {
            q: self,
            _lock: lock,
            f,
            batch,
            spans,
            stop,
            witness,
        }))
    }

    fn find(&self, ids: &[String]) -> Result<Box<dyn Found + '_>> {
        let mut found = JsonlFound {
            q: self,
            _lock: None,
            f: None,
            state: HashMap::new(),
            spans: Vec::new(),
        };
        if !files::present(&self.path)? {
            return Ok(Box::new(found));
        }
        found._lock = Some(self.lock(true, true)?);
        let Some(f) = self.open_read(true)? else {
            return Ok(Box::new(found));
        };
        let want: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let (state, spans) = (&mut found.state, &mut found.spans);
        // Pending ones can only be past the cursor; the others are searched
        // from the start, to tell "already pulled" from "no such record".
        for start in [cursor::load(&self.cursor_path, &f).0, Pos::default()] {
            self.read_lines(&f, start, |line, raw, parsed| {
                if let Parsed::Record(s) = parsed
                    && let Some(id) = s.view.id.as_deref()
                    && want.contains(id)
                    && state.get(id) != Some(&true)
                {
                    let at = (s.view.pulled() == Pulled::No)
                        .then(|| false_at(line, raw))
                        .flatten();
                    spans.extend(at);
                    state.insert(id.to_string(), at.is_some());
                }
                Ok(!want.iter().all(|i| state.get(*i) == Some(&true)))
            })?;
            if want.iter().all(|i| state.contains_key(*i)) {
                break;
            }
        }
        found.f = Some(f);
        Ok(Box::new(found))
    }

    fn remove(&self, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
        if !files::present(&self.path)? {
            return Ok(CompactReport {
                removed: 0,
                kept: 0,
                note: None,
            });
        }
        let _lock = self.lock(true, true)?;
        let Some(f) = self.open_read(true)? else {
            return Ok(CompactReport {
                removed: 0,
                kept: 0,
                note: None,
            });
        };
        let dir = self.dir();
        let fail = |e| Error::io(format!("cannot compact {}", self.shown()), e);
        // Holding the exclusive lock, any temp file of ours is a leftover of
        // a compaction that was killed. Its name has a fixed length whatever
        // the queue's (one built from a name near NAME_MAX was too long);
        // the older form, with the whole name, is still cleaned up.
        let name = self
            .path
            .file_name()
            .map(|n| n.as_bytes())
            .unwrap_or_default();
        let prefix = format!(".cq-compact-{:016x}-", fnv1a(name));
        let mut older = b".cq-compact-".to_vec();
        older.extend_from_slice(name);
        older.push(b'-');
        if let Ok(rd) = fs::read_dir(&dir) {
            for e in rd.flatten() {
                let n = e.file_name();
                if n.as_bytes().starts_with(prefix.as_bytes()) || n.as_bytes().starts_with(&older) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .tempfile_in(&dir)
            .map_err(fail)?;
        let mode = f.metadata().map_err(fail)?.permissions().mode() & 0o7777;
        let mut out = io::BufWriter::new(tmp.as_file_mut());
        let (mut removed, mut kept) = (0usize, 0usize);
        let mut first_pending: Option<Pos> = None;
        let mut written = Pos::default();
        let rd = f.try_clone().map_err(fail)?;
        let mut r = LineReader::new(rd, Pos::default()).map_err(fail)?;
        while let Some(line) = r.next().map_err(fail)? {
            let parsed = if line.complete {
                Some(parse(&r.buf, line.too_long))
            } else {
                None
            };
            let drop = match &parsed {
                Some(Parsed::Record(s)) => may_go(&s.view),
                Some(Parsed::Bad(why)) => {
                    self.bad.note(format!("line {}", line.lineno), why);
                    false
                }
                _ => false,
            };
            if drop {
                removed += 1;
                continue;
            }
            if let Some(Parsed::Record(s)) = &parsed {
                kept += 1;
                if first_pending.is_none() && s.view.pulled() == Pulled::No {
                    first_pending = Some(written);
                }
            }
            // Kept byte for byte; a too-long line was not buffered, so it is
            // copied from the file.
            let len = r.pos.offset - line.offset;
            if line.too_long {
                copy_range(&f, line.offset, len, &mut out).map_err(fail)?;
            } else {
                out.write_all(&r.buf).map_err(fail)?;
                if line.complete {
                    out.write_all(b"\n").map_err(fail)?;
                }
            }
            written.offset += len;
            written.lines += 1;
        }
        if removed == 0 {
            return Ok(CompactReport {
                removed,
                kept,
                note: None,
            });
        }
        out.flush().map_err(fail)?;
        drop(out);
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        let new = tmp.persist(&self.path).map_err(|e| fail(e.error))?;
        sync_dir(&dir).map_err(fail)?;
        cursor::store(
            &self.cursor_path,
            &new,
            first_pending.unwrap_or(written),
            None,
        );
        Ok(CompactReport {
            removed,
            kept,
            note: None,
        })
    }

    fn start(&self, job: &Job) -> Result<()> {
        let fail = |e| {
            Error::io(
                format!(
                    "cannot register the running job in {}",
                    self.running_dir.display()
                ),
                e,
            )
        };
        match fs::DirBuilder::new().mode(0o700).create(&self.running_dir) {
            Ok(()) => fs::set_permissions(&self.running_dir, fs::Permissions::from_mode(0o700))
                .map_err(fail)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e)),
        }
        let text = serde_json::to_vec(job).expect("a job always serialises");
        let tmp = self.running_dir.join(format!(".{}.tmp", job.id));
        let mut o = OpenOptions::new();
        o.write(true).create(true).truncate(true).mode(0o600);
        o.open(&tmp)
            .and_then(|mut f| f.write_all(&text))
            .and_then(|()| fs::rename(&tmp, self.running_dir.join(format!("{}.json", job.id))))
            .map_err(|e| {
                // A full disk must not leave a half-written entry behind.
                let _ = fs::remove_file(&tmp);
                fail(e)
            })
    }

    fn finish(&self, id: &str) {
        let _ = fs::remove_file(self.running_dir.join(format!("{id}.json")));
    }

    fn append_facts(&self, facts: &[String]) -> Result<()> {
        self.add_facts(facts)
    }

    fn replay(&self, _group: Option<&str>, from: &dyn Fn(&View) -> bool) -> Result<usize> {
        self.unpull(from)
    }

    /// A pull of nothing: it moves the cursor to the first pending line.
    fn settle(&self) -> Result<()> {
        self.take(None, 0)?.mark()
    }

    fn scan_facts(&self, from: Option<&Mark>, each: &mut super::store::FactScan) -> Result<Mark> {
        self.read_facts(from, each)
    }

    fn waiter(&self) -> Result<Box<dyn Waiter + '_>> {
        self.ensure_dir()?;
        let fail = |e| Error::io(format!("cannot watch {}", self.dir().display()), e);
        let mut w = crate::watch::Watch::new().map_err(fail)?;
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.as_bytes().to_vec())
                .unwrap_or_default()
        };
        w.add_dir(
            &self.dir(),
            // The fact log too: `cq retry` wakes a following consumer.
            Some(vec![
                name(&self.path),
                name(&self.running_dir),
                name(&self.facts_path()),
            ]),
        )
        .map_err(fail)?;
        // The running directory may not exist yet; its creation shows in the
        // queue directory, and the next wait watches it.
        let mut jw = JsonlWaiter {
            q: self,
            watch: w,
            watching_running: false,
        };
        jw.refresh();
        Ok(Box::new(jw))
    }
}

/// A pull's selection, holding the exclusive lock.
struct JsonlTaken<'a> {
    q: &'a JsonlQueue,
    _lock: Lock,
    f: File,
    batch: Vec<Stored>,
    spans: Vec<u64>,
    /// Where the cursor may go: before the first pending line left.
    stop: Pos,
    witness: Option<u64>,
}

impl Taken for JsonlTaken<'_> {
    fn records(&self) -> &[Stored] {
        &self.batch
    }

    fn mark(self: Box<Self>) -> Result<()> {
        self.q.flip(&self.f, &self.spans)?;
        // The newest flip below the new cursor, else the one before.
        let newest = self
            .spans
            .iter()
            .copied()
            .filter(|&at| at < self.stop.offset)
            .max()
            .or(self.witness);
        cursor::store(&self.q.cursor_path, &self.f, self.stop, newest);
        Ok(())
    }
}

/// An acknowledgement's records, holding the exclusive lock.
struct JsonlFound<'a> {
    q: &'a JsonlQueue,
    _lock: Option<Lock>,
    f: Option<File>,
    /// Per id found: whether a pending record of it will be flipped.
    state: HashMap<String, bool>,
    spans: Vec<u64>,
}

impl Found for JsonlFound<'_> {
    fn pending(&self, id: &str) -> Option<bool> {
        self.state.get(id).copied()
    }

    fn mark(self: Box<Self>) -> Result<()> {
        match &self.f {
            Some(f) => self.q.flip(f, &self.spans),
            None => Ok(()),
        }
    }
}

struct JsonlWaiter<'a> {
    q: &'a JsonlQueue,
    watch: crate::watch::Watch,
    watching_running: bool,
}

impl JsonlWaiter<'_> {
    /// Watches the running directory once it exists, and the wrappers of
    /// this host's running jobs, whose death must wake us too.
    fn refresh(&mut self) {
        if !self.watching_running && self.q.running_dir.is_dir() {
            self.watching_running = self.watch.add_dir(&self.q.running_dir, None).is_ok();
        }
        let host = running::host();
        // Unreadable now: the next command that lists jobs says so.
        let pids: Vec<u32> = self
            .q
            .jobs()
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, j)| j.host == host)
            .map(|(_, j)| j.pid)
            .collect();
        self.watch.set_pids(&pids);
    }
}

impl Waiter for JsonlWaiter<'_> {
    fn wait(&mut self, deadline: Option<std::time::Instant>) -> Result<bool> {
        let woke = self
            .watch
            .wait(deadline)
            .map_err(|e| Error::io(format!("cannot watch {}", self.q.dir().display()), e))?;
        self.refresh();
        Ok(woke)
    }
}

/// The file a symlinked queue names, also when it does not exist yet: a
/// push then creates it, as `>>` would (a dangling link once failed with
/// "No such file or directory" and left `Q.lock` next to the link). A
/// loop, or a link that cannot be read, is left to the open that follows
/// to report.
fn resolve_link(link: PathBuf) -> PathBuf {
    if let Ok(p) = fs::canonicalize(&link) {
        return p;
    }
    let mut p = link.clone();
    // The kernel's own bound on links followed in one lookup.
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {}
            // The end of the chain: a target that does not exist yet.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = files::parent(&p);
                return match (fs::canonicalize(&dir), p.file_name()) {
                    (Ok(d), Some(n)) => d.join(n),
                    // Its directory is missing too: made like any queue's.
                    _ => p,
                };
            }
            _ => return link,
        }
        let Ok(to) = fs::read_link(&p) else {
            return link;
        };
        p = files::parent(&p).join(to);
    }
    link
}

/// FNV-1a, 64 bits: a name's stable digest (std's hasher may change
/// between releases, and a leftover must be found by the next cq).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
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

/// The running jobs are files in `QUEUE.running/`; a dead job is claimed
/// under the exclusive lock, and the file's existence says whether another
/// reader was first.
impl running::Registry for JsonlQueue {
    fn registered(&self) -> Result<Vec<Job>> {
        // A queue path that cannot be resolved is an error here too, not
        // "nothing runs" (jobs can run before the queue file exists).
        files::present(&self.path)?;
        Ok(self.jobs()?.into_iter().map(|(_, j)| j).collect())
    }

    fn claim_each(
        &self,
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn running::Claim) -> Result<()>,
    ) -> Result<()> {
        let _lock = self.lock(true, true)?;
        let paths: std::collections::HashMap<String, PathBuf> =
            self.jobs()?.into_iter().map(|(p, j)| (j.id, p)).collect();
        for job in dead {
            let Some(path) = paths.get(&job.id) else {
                continue; // another reader was first
            };
            lost(&job, self)?;
            let _ = fs::remove_file(path);
        }
        Ok(())
    }
}

/// Inside a claim the exclusive lock is held.
impl running::Claim for JsonlQueue {
    fn has_record(&self, id: &str) -> Result<bool> {
        self.has_id(id)
    }

    fn append(&self, rec: &Stored) -> Result<()> {
        let line = format!("{}\n", String::from_utf8_lossy(&rec.line));
        self.append_locked(&line, true).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// A line of a queue file: a pending or pulled record, or junk.
    fn line() -> impl Strategy<Value = (Vec<u8>, Option<String>)> {
        prop_oneof![
            ("[a-z]{1,8}", any::<bool>(), "[ \\t]{0,2}").prop_map(|(n, pulled, ws)| {
                let l = format!(
                    "{{\"name\":\"{n}\",{ws}\"status\":\"success\",\"meta\":{{\"pulled\":false}},\"pulled\":{ws}{pulled}}}"
                );
                (l.into_bytes(), (!pulled).then_some(n))
            }),
            prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..80)
                .prop_map(|b| (b, None)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn pull_finds_every_valid_pending_record_and_alters_nothing_else(
            lines in prop::collection::vec(line(), 0..20),
            torn_tail in prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..20),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("q.jsonl");
            let mut text = Vec::new();
            let mut want = Vec::new();
            for (l, pending) in &lines {
                text.extend_from_slice(l);
                text.push(b'\n');
                // Junk that happens to be a pending record counts too.
                match (pending, record::parse_line(l)) {
                    (Some(n), _) => want.push(n.clone()),
                    (None, Ok(v)) if v.pulled() == Pulled::No && false_at(&Line { offset: 0, lineno: 0, complete: true, too_long: false }, l).is_some() => want.push(v.name),
                    _ => {}
                }
            }
            text.extend_from_slice(&torn_tail);
            fs::write(&path, &text).unwrap();
            let q = crate::queue::Queue::new(Box::new(JsonlQueue::new(path.clone())));
            let mut got = Vec::new();
            q.pull(None, &mut |recs| {
                got.extend(recs.iter().map(|r| r.view.name.clone()));
                Ok(())
            }).unwrap();
            prop_assert_eq!(&got, &want);
            let after = fs::read(&path).unwrap();
            prop_assert_eq!(after.len(), text.len());
            // Only `false` -> `true ` flips, five bytes per delivered record.
            let changed = after.iter().zip(&text).filter(|(a, b)| a != b).count();
            prop_assert!(changed <= 5 * want.len());
            let mut again = Vec::new();
            q.pull(None, &mut |recs| {
                again.extend(recs.iter().map(|r| r.view.name.clone()));
                Ok(())
            }).unwrap();
            prop_assert!(again.is_empty(), "delivered twice: {:?}", again);
        }
    }
}
