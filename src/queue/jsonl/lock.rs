//! The queue's lock: `Q.lock`, a side file that is never renamed, taken
//! shared by appenders and plain readers and exclusive by `pull`, `ack`
//! and `compact` (flock).

use super::JsonlQueue;
use crate::error::{Error, Result};
use crate::queue::files::open_or_create;
use std::fs::{self, File, OpenOptions};
use std::io;

/// Held for as long as it lives; the kernel drops the flock with the fd.
pub(super) struct Lock(#[allow(dead_code)] Option<File>);

impl JsonlQueue {
    /// Takes the lock. Writers create the lock file; readers that may not
    /// (a read-only queue) fall back to reading it, or to no lock at all when
    /// nobody can write there either.
    pub(super) fn lock(&self, exclusive: bool, write: bool) -> Result<Lock> {
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
    pub(super) fn take_lock(&self, f: &File, exclusive: bool) -> Result<()> {
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
    pub(super) fn refuse_own_hold(&self, mine: &File) -> Result<()> {
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
}
