//! `cq meta KEY=VALUE...`: a running job adds to its own record.
//!
//! `cq wrap` makes the job a private file before CMD starts (a random name
//! in `$TMPDIR`, created exclusively, mode 0600: nobody else can make it
//! first, read it or write it) and gives CMD its path in `CQ_META_FILE`.
//! `cq meta` takes the file's lock, merges what is there with its pairs
//! (a later value of a key replaces an earlier one), and refuses them when
//! the merged pairs would pass [`FILE_MAX`]: the bound is on what is kept,
//! so a job may update a progress key as often as it likes. It appends one
//! JSON object per call, and rewrites the file as the merged object when
//! the appends have doubled it. When CMD ends, the wrapper takes the lock,
//! reads the pairs into the record and removes the file under the lock: a
//! later call (a background child outliving its job) finds the file gone
//! or unlinked and fails, rather than succeed and be lost.

use super::{Exit, Run};
use crate::cli::MetaArgs;
use crate::error::{Error, Result};
use crate::queue::Where;
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest key, value, and all of a job's pairs together, merged (its
/// record stays far below the 512 KiB a record may be).
pub const KEY_MAX: usize = 64;
pub const VALUE_MAX: usize = 4 << 10;
pub const FILE_MAX: u64 = 64 << 10;

/// The most the file holds before it is rewritten as its merged pairs.
const APPENDS_MAX: u64 = 2 * FILE_MAX;

/// How long a call, or the wrapper, waits for another to let go of the
/// file (each holds it for one read and one write).
const LOCK_WITHIN: Duration = Duration::from_secs(10);

impl Run for MetaArgs {
    fn run(self, _: &Where) -> Result<Exit> {
        let path = match crate::config::get().meta_file.clone() {
            None => {
                return Err(Error::usage(
                    "cq meta works inside cq wrap (CQ_META_FILE is not set)",
                ));
            }
            Some(p) if p.is_empty() => {
                return Err(Error::new(
                    "this job has no meta file (its wrapper could not create one); nothing added",
                ));
            }
            Some(p) => p,
        };
        let pairs = checked_pairs(&self.pairs)?;
        let path = Path::new(&path);
        let fail = |e| Error::io(format!("cannot add to {}", path.display()), e);
        let ended = || {
            Error::new(format!(
                "cannot add to {}: its job has ended and its record is written; nothing added",
                path.display()
            ))
        };
        let f = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(crate::queue::files::UNTRUSTED)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ended()),
            Err(e) => return Err(fail(e)),
        };
        mine(&f).map_err(|why| Error::new(format!("{}: {why}", path.display())))?;
        if !lock(&f) {
            return Err(Error::new(format!(
                "cannot add to {}: another cq meta held it for {}s",
                path.display(),
                LOCK_WITHIN.as_secs()
            )));
        }
        // Unlinked while we waited: the wrapper has taken the pairs.
        if f.metadata().map_err(fail)?.nlink() == 0 {
            return Err(ended());
        }
        let (old, size) = read(&f).map_err(fail)?;
        let mut merged = old;
        merged.extend(pairs.clone());
        let whole = serde_json::to_string(&Value::Object(merged)).expect("a map serialises");
        if whole.len() as u64 > FILE_MAX {
            return Err(Error::new(format!(
                "this job's meta would exceed {FILE_MAX} bytes (it would be {}); nothing added",
                whole.len()
            )));
        }
        let mut line = serde_json::to_string(&Value::Object(pairs)).expect("a map serialises");
        line.push('\n');
        if size + line.len() as u64 <= APPENDS_MAX {
            f.write_all_at(line.as_bytes(), size).map_err(fail)?;
        } else {
            // The merged pairs are at most FILE_MAX, less than the file:
            // written over its start, then the rest cut. Killed between the
            // two, the old lines left after it are a tail of the file,
            // whose values are its latest: read in order, the same pairs.
            let whole = whole + "\n";
            f.write_all_at(whole.as_bytes(), 0).map_err(fail)?;
            f.set_len(whole.len() as u64).map_err(fail)?;
        }
        Ok(Exit::Code(0))
    }
}

/// The pairs given, each key and value within its bound.
fn checked_pairs(given: &[String]) -> Result<Map<String, Value>> {
    let pairs = crate::record::parse_meta(given).map_err(Error::usage)?;
    for (k, v) in &pairs {
        if k.len() > KEY_MAX {
            return Err(Error::usage(format!(
                "a meta key is {} bytes, more than {KEY_MAX}",
                k.len()
            )));
        }
        let len = v.as_str().map_or(0, str::len);
        if len > VALUE_MAX {
            return Err(Error::usage(format!(
                "the value of meta key '{k}' is {len} bytes, more than {VALUE_MAX}"
            )));
        }
    }
    Ok(pairs)
}

/// Takes the file's lock, waiting at most [`LOCK_WITHIN`].
fn lock(f: &File) -> bool {
    let deadline = Instant::now() + LOCK_WITHIN;
    loop {
        match f.try_lock() {
            Ok(()) => return true,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => return false,
        }
    }
}

/// The pairs in the file, merged in order (a line that is not an object,
/// a torn one, is skipped), and the file's size.
fn read(f: &File) -> io::Result<(Map<String, Value>, u64)> {
    let mut text = Vec::new();
    f.take(APPENDS_MAX + FILE_MAX).read_to_end(&mut text)?;
    let mut pairs = Map::new();
    for line in text.split(|&b| b == b'\n') {
        if let Ok(Value::Object(p)) = serde_json::from_slice::<Value>(line) {
            pairs.extend(p);
        }
    }
    Ok((pairs, text.len() as u64))
}

/// Checks that a meta file is a regular file of this user's.
fn mine(f: &File) -> std::result::Result<(), String> {
    let m = f.metadata().map_err(|e| crate::error::describe_io(&e))?;
    let me = rustix::process::getuid().as_raw();
    if !m.is_file() {
        return Err("not a regular file".into());
    }
    if m.uid() != me {
        return Err("owned by another user; not read".into());
    }
    Ok(())
}

/// A job's meta file, made before CMD starts.
pub struct Channel(tempfile::NamedTempFile);

impl Channel {
    /// A new private file in `$TMPDIR`; `Err` says why there is none (the
    /// job then runs without one, and `cq meta` says so).
    pub fn open() -> io::Result<Channel> {
        tempfile::Builder::new()
            .prefix("cq-meta-")
            .suffix(".jsonl")
            .tempfile()
            .map(Channel)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// The wrapper's side, once CMD ended: the pairs the job added, merged
    /// into `meta`, and the file removed while locked, so that no later
    /// call can add to it.
    pub fn collect(self, meta: &mut Map<String, Value>) {
        let f = self.0.as_file();
        if !lock(f) {
            crate::error::warn(&format!(
                "{}: a cq meta held it for {}s; reading it anyway",
                self.path().display(),
                LOCK_WITHIN.as_secs()
            ));
        }
        let (pairs, _) = read(f).unwrap_or_else(|e| {
            crate::error::warn(&format!(
                "{}: {}; the job's cq meta pairs are not recorded",
                self.path().display(),
                crate::error::describe_io(&e)
            ));
            (Map::new(), 0)
        });
        meta.extend(pairs);
        // Removed, then closed (which lets go of the lock).
        let _ = self.0.close();
    }
}
