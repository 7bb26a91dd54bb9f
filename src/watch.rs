//! Sleeping until something happens, without polling: inotify on
//! directories (the queue's, so a compaction's rename is seen too) and
//! pidfds on processes (a running job's wrapper), waited on with poll(2).

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;
use rustix::process::{PidfdFlags, pidfd_open};
use std::collections::HashMap;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
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

impl Watch {
    pub fn new() -> io::Result<Watch> {
        Ok(Watch {
            inotify: inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?,
            pids: HashMap::new(),
            dirs: HashMap::new(),
            lost: Vec::new(),
        })
    }

    /// Wakes on files created, written, renamed or removed in `dir`, when
    /// their name is one of `names` (or any, for `None`).
    pub fn add_dir(&mut self, dir: &Path, names: Option<Vec<Vec<u8>>>) -> io::Result<()> {
        // Not IN_CLOSE_WRITE: closing a file opened for writing fires it
        // even without a write, and readers open the queue read-write.
        let mask = WatchFlags::MODIFY
            | WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_TO
            | WatchFlags::MOVED_FROM;
        let wd = inotify::add_watch(&self.inotify, dir, mask)?;
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
            // Without pidfds (Linux < 5.3) or for a pid already gone, the
            // queue's own changes still wake us.
            let fd = crate::process::pid(pid).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
            if let Some(fd) = fd {
                self.pids.insert(pid, fd);
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
            let pids: Vec<(u32, &OwnedFd)> = self.pids.iter().map(|(p, fd)| (*p, fd)).collect();
            let mut fds = vec![PollFd::new(&self.inotify, PollFlags::IN)];
            fds.extend(pids.iter().map(|(_, fd)| PollFd::new(*fd, PollFlags::IN)));
            let mut timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            // Nothing tells us when a removed directory is made again.
            if !self.lost.is_empty() {
                timeout =
                    Some(timeout.map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1))));
            }
            // A timeout too long for a timespec is no timeout.
            let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
            let n = match poll(&mut fds, timeout.as_ref()) {
                Ok(n) => n,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                if !self.lost.is_empty() && deadline.is_none_or(|d| Instant::now() < d) {
                    continue;
                }
                return Ok(false);
            }
            // A pidfd stays readable once its process is gone: forget it.
            let gone: Vec<u32> = pids
                .iter()
                .zip(&fds[1..])
                .filter(|(_, p)| !p.revents().is_empty())
                .map(|((pid, _), _)| *pid)
                .collect();
            drop(fds);
            self.pids.retain(|p, _| !gone.contains(p));
            let relevant = self.drain();
            if relevant || !gone.is_empty() {
                return Ok(true);
            }
        }
    }

    /// Reads the pending inotify events; true if one concerns a file we
    /// care about (or the kernel's queue overflowed: assume it did).
    fn drain(&mut self) -> bool {
        let mut relevant = false;
        let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
        let mut events = inotify::Reader::new(self.inotify.as_fd(), &mut buf);
        // Until EAGAIN (nothing more), or any other error.
        while let Ok(ev) = events.next() {
            let name = ev.file_name().map_or(&[][..], |n| n.to_bytes());
            if ev.events().contains(ReadFlags::IGNORED) {
                // The directory is gone: wake, and look for it again.
                if let Some(d) = self.dirs.remove(&ev.wd()) {
                    self.lost.push(d);
                }
                relevant = true;
            }
            relevant |= ev.events().contains(ReadFlags::QUEUE_OVERFLOW)
                || match self.dirs.get(&ev.wd()) {
                    Some((_, Some(names))) => names.iter().any(|n| n == name),
                    _ => true,
                };
        }
        relevant
    }
}

/// The moment a command stops waiting (its `--timeout`), or none. Handed
/// to every call that can block on another party: a lock another process
/// holds, a busy database, a server that does not answer, a group join.
/// The default is none: waits are bounded only by each tier's own limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// `now + timeout`; none for no timeout, or one too long for the
    /// clock (`--timeout 999999999d`).
    pub fn after(timeout: Option<Duration>) -> Deadline {
        Deadline(timeout.and_then(|d| Instant::now().checked_add(d)))
    }

    pub fn at(when: Option<Instant>) -> Deadline {
        Deadline(when)
    }

    pub fn instant(self) -> Option<Instant> {
        self.0
    }

    pub fn expired(self) -> bool {
        self.0.is_some_and(|d| Instant::now() >= d)
    }

    /// `bound`, or less when the deadline comes sooner.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn cap(self, bound: Duration) -> Duration {
        self.0.map_or(bound, |d| {
            d.saturating_duration_since(Instant::now()).min(bound)
        })
    }

    /// The error of a wait for `what` that reached the deadline (exit 124).
    pub fn timed_out(what: &str) -> crate::error::Error {
        crate::error::Error::timeout(format!("timed out waiting for {what}"))
    }
}

/// A wait for something another party holds, from its first retry on: the
/// one place that gives up at the deadline (exit 124) and that, on a
/// terminal, says what cq waits for once the wait has lasted a moment (as
/// cargo's "Blocking waiting for file lock"). `what` names it: "the lock on
/// Q (another process holds it)".
pub struct Blocked {
    deadline: Deadline,
    what: String,
    since: Instant,
    said: bool,
}

/// How long a wait goes on before a terminal hears of it.
const SAY_AFTER: Duration = Duration::from_millis(100);

impl Blocked {
    pub fn new(deadline: Deadline, what: String) -> Blocked {
        Blocked {
            deadline,
            what,
            since: Instant::now(),
            said: false,
        }
    }

    /// Called before each further try: fails once the deadline passed.
    pub fn again(&mut self) -> crate::error::Result<()> {
        if self.deadline.expired() {
            return Err(Deadline::timed_out(&self.what));
        }
        if !self.said && self.since.elapsed() >= SAY_AFTER {
            self.said = true;
            crate::notice::status_line(&format!(
                "waiting for {}; a stopped process holds on until it resumes",
                self.what
            ));
        }
        Ok(())
    }
}
