//! File-system helpers the file-backed tiers share: private directories and
//! files whatever the umask, and directory fsync.

use crate::error::{Error, Result};
use rustix::fs::OFlags;
use rustix::io::Errno;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The directory a queue file lives in.
pub fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The longest file name (NAME_MAX) and path (PATH_MAX, less its NUL)
/// Linux file systems take.
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4095;

/// Refuses a queue path whose side files could not be named: cq names them
/// after the queue (`Q.lock`, `Q.cursor.tmp`, SQLite's `Q-journal`), up to
/// `suffix` bytes longer than its name and `tail` bytes longer than its
/// path. A name near the limit once took pushes and pulls but not
/// `compact`, and left the cursor unwritten; refused at the door, nothing
/// is half-done. Checked on the text alone: no system call.
pub fn fits_side_names(path: &Path, suffix: usize, tail: usize) -> Result<()> {
    let name = path.file_name().map_or(0, |n| n.len());
    let shown = path.display();
    if name + suffix > NAME_MAX {
        return Err(Error::usage(format!(
            "queue name too long: {} bytes in {shown}; cq names its side files after it, up to {suffix} bytes longer, and a file name holds at most {NAME_MAX}: use a name of at most {} bytes",
            name,
            NAME_MAX - suffix
        )));
    }
    let len = path.as_os_str().len();
    if len + tail > PATH_MAX {
        return Err(Error::usage(format!(
            "queue path too long: {len} bytes; cq's side files need it {tail} bytes longer, and a path holds at most {PATH_MAX}: use a path of at most {} bytes",
            PATH_MAX - tail
        )));
    }
    Ok(())
}

/// Whether the queue at `path` exists. Only "no such file" means no queue
/// (an empty answer); a symlink loop, a path component that is a file, a
/// directory nobody may search is an error, never an empty queue.
pub fn present(path: &Path) -> Result<bool> {
    match fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
}

/// Open flags for a file cq does not trust (a side file, a job's meta):
/// no blocking, so a FIFO planted there cannot hang cq, and no symlink
/// followed in its place. (std opens every file close-on-exec already.)
pub const UNTRUSTED: i32 = (OFlags::NONBLOCK.bits() | OFlags::NOFOLLOW.bits()) as i32;

/// Open flags for the queue file itself: no blocking (a FIFO there is
/// refused after the open), and a symlink followed, as a user may link it.
pub const NONBLOCK: i32 = OFlags::NONBLOCK.bits() as i32;

/// Reads a side file (a running job, the cursor) as untrusted input: only
/// a regular file, not through a symlink, of at most `max` bytes; opened
/// without blocking (a FIFO must not hang a reader). `Ok(None)` when it is
/// gone; `Err` with why it was skipped otherwise.
pub fn read_side_file(path: &Path, max: u64) -> std::result::Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let mut o = OpenOptions::new();
    o.read(true).custom_flags(UNTRUSTED);
    let f = match o.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) => {
            return Err("a symlink, not a file cq wrote".to_string());
        }
        Err(e) => return Err(crate::error::describe_io(&e)),
    };
    let m = f.metadata().map_err(|e| crate::error::describe_io(&e))?;
    if !m.is_file() {
        return Err("not a regular file".to_string());
    }
    if m.len() > max {
        return Err(format!(
            "{} bytes, more than the {max} a side file may hold",
            m.len()
        ));
    }
    let mut buf = Vec::with_capacity(m.len() as usize);
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| crate::error::describe_io(&e))?;
    if buf.len() as u64 > max {
        return Err(format!("more than the {max} bytes a side file may hold"));
    }
    Ok(Some(buf))
}

/// Creates `dir` and its missing parents, mode 0700 whatever the umask.
pub fn ensure_dir(dir: &Path, queue: &str) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => {
                fs::set_permissions(d, fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(format!("cannot create {}", d.display()), e))?;
                let _ = sync_dir(&parent(d));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(format!("cannot create {}", d.display()), e)),
        }
    }
    if !dir.is_dir() {
        return Err(Error::new(format!(
            "cannot use queue {queue}: {} is not a directory",
            dir.display()
        )));
    }
    Ok(())
}

/// Opens `path`, creating it mode 0600 (whatever the umask) when missing;
/// also says whether it was created.
pub fn open_or_create(path: &Path, opts: &OpenOptions) -> io::Result<(File, bool)> {
    match opts.open(path) {
        Ok(f) => return Ok((f, false)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut create = opts.clone();
    create.create_new(true).mode(0o600);
    match create.open(path) {
        Ok(f) => {
            // Records hold command lines, which can hold secrets.
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
            Ok((f, true))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => opts.open(path).map(|f| (f, false)),
        Err(e) => Err(e),
    }
}

/// Creates `dir` and its missing parents, each mode 0700 whatever the
/// umask; returns the ones it created, outermost first, so that a caller
/// that gives up can remove them again.
pub fn make_private_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut d = dir;
    loop {
        match fs::symlink_metadata(d) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(d.to_path_buf()),
            Err(e) => return Err(e),
        }
        match d.parent() {
            Some(p) if !p.as_os_str().is_empty() => d = p,
            _ => break,
        }
    }
    let mut made = Vec::new();
    for d in missing.into_iter().rev() {
        let step = match fs::DirBuilder::new().mode(0o700).create(&d) {
            Ok(()) => {
                made.push(d.clone());
                fs::set_permissions(&d, fs::Permissions::from_mode(0o700))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = step {
            remove_dirs(&made);
            return Err(e);
        }
    }
    Ok(made)
}

/// Removes directories [`make_private_dirs`] made, innermost first, each
/// only if still empty.
pub fn remove_dirs(made: &[PathBuf]) {
    for d in made.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `PATH` + `suffix`: a side file named after the queue.
pub fn side_path(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// cq's state directory: `$XDG_STATE_HOME/cq`, else `~/.local/state/cq`
/// (the default queue's home, and the Claude hooks' and Kafka turns').
pub fn state_dir() -> Result<PathBuf> {
    let config = crate::config::get();
    let base = match &config.state_home {
        Some(x) => x.clone(),
        None => match &config.home {
            Some(h) => PathBuf::from(h).join(".local/state"),
            None => {
                return Err(Error::usage(
                    "cannot find the default queue: neither XDG_STATE_HOME nor HOME is set (use --queue)",
                ));
            }
        },
    };
    Ok(base.join("cq"))
}
