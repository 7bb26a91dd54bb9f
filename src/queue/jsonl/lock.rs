//! The queue's lock: `Q.lock`, a side file that is never renamed, taken
//! shared by appenders and plain readers and exclusive by `pull`, `ack`
//! and `compact` (flock); waiting for it, and refusing to wait for a lock
//! cq holds itself.

use crate::error::{Error, Result};
use crate::watch::{Blocked, Deadline};
use std::fs::{self, File};
use std::path::Path;

/// Held for as long as it lives; the kernel drops the flock with the fd.
pub(super) struct Lock(#[allow(dead_code)] pub(super) Option<File>);

/// Takes the lock, waiting while another process holds it, until
/// `dl` (exit 124); a wait that lasts is said on a terminal (see
/// [`Blocked`]). A holder that was stopped (SIGSTOP, Ctrl-Z) holds it
/// until it resumes.
pub(super) fn take(
    f: &File,
    exclusive: bool,
    dl: Deadline,
    lock_path: &Path,
    queue: &str,
) -> Result<()> {
    use std::fs::TryLockError;
    let fail = |e| Error::io(format!("cannot lock {}", lock_path.display()), e);
    let mut pause = std::time::Duration::from_millis(1);
    let mut blocked: Option<Blocked> = None;
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
        match &mut blocked {
            Some(b) => b.again()?,
            None => {
                refuse_own_hold(f, lock_path)?;
                let what = format!("the lock on {} (another process holds it)", queue);
                blocked.insert(Blocked::new(dl, what)).again()?;
            }
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
pub(super) fn refuse_own_hold(mine: &File, lock_path: &Path) -> Result<()> {
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
        let same = fs::metadata(e.path()).is_ok_and(|t| t.dev() == m.dev() && t.ino() == m.ino());
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
                lock_path.display()
            )));
        }
    }
    Ok(())
}
