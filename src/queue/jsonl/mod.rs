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
//!
//! One file each: the lock (lock.rs), appending (append.rs), running jobs
//! and the waiter (jobs.rs), compaction (compaction.rs), the pull cursor
//! (cursor.rs), following the file (follow.rs), the consumer's fact log
//! (facts.rs) and replay (replay.rs); this file holds the store itself.

use super::files::{self, open_or_create};
use super::store::{CompactReport, Decided, Mark, Tier, Waiter};
use super::store::{Found, Nothing, Scan, Store, Taken};
use crate::error::{Error, Result};
use crate::record::{self, PULLED_FALSE, PULLED_TRUE, Pulled, View};
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

mod append;
mod compaction;
mod cursor;
mod facts;
mod follow;
mod found;
mod jobs;
mod lines;
mod lock;
mod replay;

use lines::{Line, LineReader, Parsed, Pos, parse};
use lock::Lock;

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
    fn lock(&self, exclusive: bool, write: bool, dl: Deadline) -> Result<Lock> {
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
            lock::take(f, exclusive, dl, &self.lock_path, &self.shown())?;
        }
        Ok(Lock(file))
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

    fn append(&self, dl: Deadline, recs: &[Stored]) -> Result<()> {
        let mut buf = String::new();
        for r in recs {
            buf.push_str(&String::from_utf8_lossy(&r.line));
            buf.push('\n');
        }
        self.ensure_dir()?;
        {
            let _shared = self.lock(false, true, dl)?;
            if self.append_locked(&buf, false)? {
                return Ok(());
            }
        }
        // The last line looked unterminated: settle it alone.
        let _exclusive = self.lock(true, true, dl)?;
        self.append_locked(&buf, true).map(|_| ())
    }

    fn scan(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        pending_hint: bool,
        each: &mut Scan,
    ) -> Result<Mark> {
        self.scan_from(dl, from, pending_hint, each)
    }

    fn take(
        &self,
        dl: Deadline,
        _group: Option<&str>,
        limit: usize,
    ) -> Result<Box<dyn Taken + '_>> {
        if !files::present(&self.path)? {
            return Ok(Box::new(Nothing));
        }
        let lock = self.lock(true, true, dl)?;
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

    fn find(&self, dl: Deadline, ids: &[String], decided: Decided) -> Result<Box<dyn Found + '_>> {
        self.found(dl, ids, decided)
    }

    fn remove(&self, dl: Deadline, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
        self.compact(dl, may_go)
    }

    fn start(&self, job: &Job) -> Result<()> {
        self.start_job(job)
    }

    fn finish(&self, id: &str) {
        self.finish_job(id)
    }

    fn append_facts(&self, dl: Deadline, facts: &[String]) -> Result<()> {
        self.add_facts(dl, facts)
    }

    fn replay(
        &self,
        dl: Deadline,
        _group: Option<&str>,
        from: &dyn Fn(&View) -> bool,
    ) -> Result<usize> {
        self.unpull(dl, from)
    }

    /// A pull of nothing: it moves the cursor to the first pending line.
    fn settle(&self, dl: Deadline) -> Result<()> {
        self.take(dl, None, 0)?.mark()
    }

    fn scan_facts(
        &self,
        _dl: Deadline,
        from: Option<&Mark>,
        each: &mut super::store::FactScan,
    ) -> Result<Mark> {
        self.read_facts(from, each)
    }

    fn waiter(&self, _dl: Deadline) -> Result<Box<dyn Waiter + '_>> {
        self.watch()
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

#[cfg(test)]
mod tests {
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
