//! Running CMD for `cq wrap`: starting it (126/127 as a shell would),
//! forwarding signals, mapping its end to an exit status, and dying of the
//! same signal CMD died of; and the process facts cq records (pids, start
//! times, the boot, the host).
//!
//! One thing a file: spawn.rs starts CMD, signals.rs holds cq's handlers
//! and the [`Ending`] of an append, fds.rs the descriptors, probes.rs the
//! facts read from /proc and the kernel; this file waits for CMD to end.

mod fds;
mod probes;
mod signals;
mod spawn;

#[cfg(feature = "kafka")]
pub use fds::note_inherited_fds;
pub use fds::{open_fds, reserve_std_fds};
pub use probes::{exists, host, pid, proc_start, this_boot};
#[cfg(feature = "kafka")]
pub use signals::keep_callers_signals;
pub use signals::{Ending, Forwarder, die_of, ignore_sigpipe, signal_name};
pub use spawn::{NotStarted, resolve};

use crate::error::code;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{PidfdFlags, WaitOptions, WaitStatus, pidfd_open, waitpid};
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// How CMD ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The status a shell would put in `$?`: the exit code, or 128+N.
    pub exit_code: i32,
    pub signal: Option<i32>,
    /// A signal sent to cq (by `kill`) as CMD ended, that CMD did not die
    /// of: forwarded to a CMD already gone, it is cq's to obey (see
    /// [`Ending`]), not to swallow.
    pub ending: Option<i32>,
}

/// Runs `program` (found by [`resolve`]) until it ends, forwarding the
/// signals sent to cq, and calls `tick`'s function each time its interval
/// has passed (a lease to renew).
pub fn run(
    program: &Path,
    argv: &[OsString],
    env: &[(&str, &str)],
    fwd: &mut Forwarder,
    mut tick: Option<(Duration, &mut dyn FnMut())>,
) -> Result<Outcome, NotStarted> {
    let pid = spawn::spawn(program, argv, env)?;
    fwd.forward(pid);
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).ok();
    let mut last_tick = Instant::now();
    loop {
        sleep(fwd, pidfd.as_ref(), tick.as_ref().map(|(d, _)| *d));
        // From here until CMD is found running, a signal sent to cq may
        // find it gone: the action keeps it too (the pipe would be read only
        // by the next round's forward, which never comes).
        signals::probing();
        let sent = fwd.forward(pid);
        if let Some((d, f)) = tick.as_mut()
            && last_tick.elapsed() >= *d
        {
            f();
            last_tick = Instant::now();
        }
        match waitpid(Some(pid), WaitOptions::NOHANG) {
            // What was just forwarded, or came since, may have found CMD
            // gone already.
            Ok(Some((_, s))) => return Ok(ended(s, sent.or(signals::found_ended()))),
            Ok(None) => signals::found_running(),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(NotStarted {
                    exit_code: code::ERROR,
                    why: format!(
                        "cannot wait for {}: {}",
                        argv[0].to_string_lossy(),
                        crate::error::describe_io(&e.into()).to_lowercase()
                    ),
                });
            }
        }
    }
}

/// Sleeps until a signal arrives or the child ends (its pidfd turns
/// readable), or `every` has passed; without pidfds (Linux < 5.3), 10 ms
/// at most.
fn sleep(fwd: &Forwarder, pidfd: Option<&OwnedFd>, every: Option<Duration>) {
    let signals = fwd.wake_fd();
    let child_fd = pidfd.map_or(signals, |p| p.as_fd());
    let mut fds = [
        PollFd::from_borrowed_fd(signals, PollFlags::IN),
        PollFd::from_borrowed_fd(child_fd, PollFlags::IN),
    ];
    let watched = 1 + usize::from(pidfd.is_some());
    let timeout = match (pidfd.is_some(), every) {
        (true, e) => e,
        (false, None) => Some(Duration::from_millis(10)),
        (false, Some(e)) => Some(e.min(Duration::from_millis(10))),
    };
    let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
    // EINTR, or any error: the caller's checks run either way.
    let _ = poll(&mut fds[..watched], timeout.as_ref());
}

/// The outcome of CMD's wait status; `last_sent`, a signal cq forwarded as
/// it ended, is cq's to obey if CMD did not die of a signal.
fn ended(status: WaitStatus, last_sent: Option<i32>) -> Outcome {
    match (status.exit_status(), status.terminating_signal()) {
        (Some(c), _) => Outcome {
            exit_code: c,
            signal: None,
            ending: last_sent,
        },
        (None, Some(sig)) => Outcome {
            exit_code: 128 + sig,
            signal: Some(sig),
            ending: None,
        },
        (None, None) => Outcome {
            exit_code: code::ERROR as i32,
            signal: None,
            ending: last_sent,
        },
    }
}
