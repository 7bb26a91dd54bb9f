//! Sleeping until something happens, without polling: inotify on
//! directories (the queue's, so a compaction's rename is seen too) and
//! pidfds on processes (a running job's wrapper), waited on with poll(2).

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A watched directory: its path, and the file names that matter in it
/// (None: all). Our own lock file's open/close must not wake us, or we
/// would spin.
type Dir = (std::path::PathBuf, Option<Vec<Vec<u8>>>);

pub struct Watch {
    inotify: OwnedFd,
    pids: HashMap<u32, OwnedFd>,
    /// Per watch descriptor, its directory.
    dirs: HashMap<i32, Dir>,
    /// Directories removed while watched (`rm -r` of the queue's): looked
    /// for again every second, and watched again once they are back, so a
    /// waiter keeps hearing pushes that create them anew.
    lost: Vec<Dir>,
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Watch {
    pub fn new() -> io::Result<Watch> {
        // SAFETY: inotify_init1 takes flags only; the fd is owned below.
        let fd = cvt(unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) })?;
        Ok(Watch {
            // SAFETY: fd was just returned to us and is open.
            inotify: unsafe { OwnedFd::from_raw_fd(fd) },
            pids: HashMap::new(),
            dirs: HashMap::new(),
            lost: Vec::new(),
        })
    }

    /// Wakes on files created, written, renamed or removed in `dir`, when
    /// their name is one of `names` (or any, for `None`).
    pub fn add_dir(&mut self, dir: &Path, names: Option<Vec<Vec<u8>>>) -> io::Result<()> {
        let c = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // Not IN_CLOSE_WRITE: closing a file opened for writing fires it
        // even without a write, and readers open the queue read-write.
        let mask = libc::IN_MODIFY
            | libc::IN_CREATE
            | libc::IN_DELETE
            | libc::IN_MOVED_TO
            | libc::IN_MOVED_FROM;
        // SAFETY: c is a valid NUL-terminated path for the call's duration.
        let wd =
            cvt(unsafe { libc::inotify_add_watch(self.inotify.as_raw_fd(), c.as_ptr(), mask) })?;
        self.dirs.insert(wd, (dir.to_path_buf(), names));
        Ok(())
    }

    /// Wakes when one of these processes exits; forgets the others.
    pub fn set_pids(&mut self, pids: &[u32]) {
        self.pids.retain(|p, _| pids.contains(p));
        for &pid in pids {
            if self.pids.contains_key(&pid) {
                continue;
            }
            // SAFETY: pidfd_open takes a pid and flags; the fd is owned below.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
            if fd >= 0 {
                // SAFETY: fd was just returned to us and is open.
                self.pids
                    .insert(pid, unsafe { OwnedFd::from_raw_fd(fd as i32) });
            }
        }
    }

    /// Sleeps until a relevant event or `deadline`; false on the deadline.
    pub fn wait(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        loop {
            // A removed directory that is back: watch it, and wake (what
            // made it again may have written the queue already).
            if !self.lost.is_empty() {
                let lost = std::mem::take(&mut self.lost);
                let mut back = false;
                for (dir, names) in lost {
                    if self.add_dir(&dir, names.clone()).is_ok() {
                        back = true;
                    } else {
                        self.lost.push((dir, names));
                    }
                }
                if back {
                    return Ok(true);
                }
            }
            let mut fds = vec![libc::pollfd {
                fd: self.inotify.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            fds.extend(self.pids.values().map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }));
            let mut timeout = match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    // Round up, so a deadline is never reported early.
                    let ms = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 != 0);
                    ms.min(i32::MAX as u128) as i32
                }
            };
            // Nothing tells us when a removed directory is made again.
            if !self.lost.is_empty() && !(0..=1000).contains(&timeout) {
                timeout = 1000;
            }
            // SAFETY: fds is a valid array of pollfd for its length.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                if !self.lost.is_empty() && deadline.is_none_or(|d| Instant::now() < d) {
                    continue;
                }
                return Ok(false);
            }
            // A pidfd stays readable once its process is gone: forget it.
            let before = self.pids.len();
            self.pids
                .retain(|_, fd| !fds.iter().any(|p| p.fd == fd.as_raw_fd() && p.revents != 0));
            let relevant = self.drain();
            if relevant || self.pids.len() != before {
                return Ok(true);
            }
        }
    }

    /// Reads the pending inotify events; true if one concerns a file we
    /// care about (or the kernel's queue overflowed: assume it did).
    fn drain(&mut self) -> bool {
        let mut relevant = false;
        let mut buf = [0u8; 8192];
        let head = std::mem::size_of::<libc::inotify_event>();
        loop {
            // SAFETY: buf is valid for writes of its length.
            let r =
                unsafe { libc::read(self.inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if r <= 0 {
                break;
            }
            let mut i = 0usize;
            while i + head <= r as usize {
                // SAFETY: the kernel wrote a whole event header at i; read it
                // unaligned, as the buffer has no alignment guarantee.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf.as_ptr().add(i).cast()) };
                let name_bytes = &buf[i + head..(i + head + ev.len as usize).min(r as usize)];
                let name: &[u8] = name_bytes.split(|&b| b == 0).next().unwrap_or(&[]);
                if ev.mask & libc::IN_IGNORED != 0 {
                    // The directory is gone: wake, and look for it again.
                    if let Some(d) = self.dirs.remove(&ev.wd) {
                        self.lost.push(d);
                    }
                    relevant = true;
                }
                relevant |= ev.mask & libc::IN_Q_OVERFLOW != 0
                    || match self.dirs.get(&ev.wd) {
                        Some((_, Some(names))) => names.iter().any(|n| n == name),
                        _ => true,
                    };
                i += head + ev.len as usize;
            }
        }
        relevant
    }
}

/// `now + d`, for deadlines from `--timeout`.
pub fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    // A timeout too long for the clock (`--timeout 999999999d`) is none.
    let d = timeout.and_then(|d| Instant::now().checked_add(d));
    if let Some(d) = d {
        let _ = WAIT_DEADLINE.set(d);
    }
    d
}

/// The command's `--timeout` as a bound on every wait inside the queue
/// too (a lock held by a stopped process), set once per process.
static WAIT_DEADLINE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Whether the command's `--timeout` has passed.
pub fn waits_expired() -> bool {
    WAIT_DEADLINE.get().is_some_and(|d| Instant::now() >= *d)
}
