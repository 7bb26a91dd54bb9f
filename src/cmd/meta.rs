//! `cq meta KEY=VALUE...`: a running job adds to its own record.
//!
//! `cq wrap` gives CMD `CQ_META_FILE`, a path that does not exist yet (so
//! a job that never calls `cq meta` costs the wrapper nothing). `cq meta`
//! appends one JSON object per call to it (O_APPEND, one write, created
//! 0600, never through a symlink, refused when another user owns it); the
//! wrapper reads it when CMD ends, merges it into the record's `meta` (a
//! later value of a key replaces an earlier one) and removes it.

use super::{Exit, Run};
use crate::cli::MetaArgs;
use crate::error::{Error, Result};
use crate::queue::Where;
use serde_json::{Map, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The longest key, value, and all of a job's pairs together (its record
/// stays far below the 512 KiB a record may be).
pub const KEY_MAX: usize = 64;
pub const VALUE_MAX: usize = 4 << 10;
pub const FILE_MAX: u64 = 64 << 10;

impl Run for MetaArgs {
    fn run(self, _: &Where) -> Result<Exit> {
        let Some(path) = std::env::var_os("CQ_META_FILE").filter(|p| !p.is_empty()) else {
            return Err(Error::usage(
                "cq meta works inside cq wrap (CQ_META_FILE is not set)",
            ));
        };
        let pairs = crate::record::parse_meta(&self.pairs).map_err(Error::usage)?;
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
        let mut line = serde_json::to_string(&Value::Object(pairs)).expect("a map serialises");
        line.push('\n');
        let path = Path::new(&path);
        let fail = |e| Error::io(format!("cannot add to {}", path.display()), e);
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(crate::queue::files::UNTRUSTED)
            .open(path)
            .map_err(fail)?;
        let size = mine(&f).map_err(|why| Error::new(format!("{}: {why}", path.display())))?;
        if size + line.len() as u64 > FILE_MAX {
            return Err(Error::new(format!(
                "this job's meta would exceed {FILE_MAX} bytes; nothing added"
            )));
        }
        f.write_all(line.as_bytes()).map_err(fail)?;
        Ok(Exit::Code(0))
    }
}

/// The size of a meta file that is a regular file of this user's.
fn mine(f: &File) -> std::result::Result<u64, String> {
    let m = f.metadata().map_err(|e| crate::error::describe_io(&e))?;
    let me = rustix::process::getuid().as_raw();
    if !m.is_file() {
        return Err("not a regular file".into());
    }
    if m.uid() != me {
        return Err("owned by another user; not read".into());
    }
    Ok(m.len())
}

/// Where a job's `cq meta` pairs go: nothing is created until it calls it.
pub fn file_for(id: &str) -> std::path::PathBuf {
    let uid = rustix::process::getuid().as_raw();
    std::env::temp_dir().join(format!("cq-meta-{uid}-{id}.jsonl"))
}

/// The wrapper's side: the pairs the job added, merged into `meta`, and
/// the file removed. A file that is not the job's own is skipped with a
/// warning; a line that is not an object (a torn one) is skipped.
pub fn collect(path: &Path, meta: &mut Map<String, Value>) {
    let f = match OpenOptions::new()
        .read(true)
        .custom_flags(crate::queue::files::UNTRUSTED)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            crate::error::warn(&format!(
                "{}: {}; the job's cq meta pairs are not recorded",
                path.display(),
                crate::error::describe_io(&e)
            ));
            return;
        }
    };
    let mut text = Vec::new();
    let read = mine(&f).and_then(|_| {
        f.take(FILE_MAX)
            .read_to_end(&mut text)
            .map_err(|e| crate::error::describe_io(&e))
    });
    if let Err(why) = read {
        crate::error::warn(&format!(
            "{}: {why}; the job's cq meta pairs are not recorded",
            path.display()
        ));
        return;
    }
    let _ = std::fs::remove_file(path);
    for line in text.split(|&b| b == b'\n') {
        if let Ok(Value::Object(pairs)) = serde_json::from_slice::<Value>(line) {
            meta.extend(pairs);
        }
    }
}
