//! Running CMD for `cq wrap`: resolving it (126/127 as a shell would),
//! forwarding signals, mapping its end to an exit status, and dying of the
//! same signal CMD died of.
//!
//! cq stays in the caller's process group, so the terminal's Ctrl-C, Ctrl-\
//! and hangup reach CMD directly; cq only survives them (a handler, not
//! SIG_IGN, which CMD would inherit) and forwards signals sent to its own pid
//! by `kill`. Nothing is blocked before the spawn: CMD inherits the mask.

use crate::error::code;
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const FORWARDED: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// How CMD ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The status a shell would put in `$?`: the exit code, or 128+N.
    pub exit_code: i32,
    pub signal: Option<i32>,
}

/// Why CMD could not be started: the exit status and the words for stderr.
#[derive(Debug)]
pub struct NotStarted {
    pub exit_code: u8,
    pub why: String,
}

/// Finds CMD as `execvp` would, telling "not found" (127) from "found but
/// not executable" (126).
pub fn resolve(cmd: &OsStr) -> Result<PathBuf, NotStarted> {
    let shown = Path::new(cmd).display().to_string();
    let has_slash = cmd.as_encoded_bytes().contains(&b'/');
    match which::which(cmd) {
        Ok(p) => Ok(p),
        Err(_) if has_slash => {
            let p = Path::new(cmd);
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() => Err(NotStarted {
                    exit_code: code::NOT_EXECUTABLE,
                    why: format!("{shown}: is a directory"),
                }),
                Ok(_) => Err(NotStarted {
                    exit_code: code::NOT_EXECUTABLE,
                    why: format!("{shown}: permission denied"),
                }),
                Err(_) => Err(NotStarted {
                    exit_code: code::NOT_FOUND,
                    why: format!("{shown}: no such file or directory"),
                }),
            }
        }
        Err(_) => Err(NotStarted {
            exit_code: code::NOT_FOUND,
            why: format!("{shown}: command not found"),
        }),
    }
}

/// Receives the signals of [`FORWARDED`] sent to cq, for forwarding to the
/// child from the main thread (no helper thread: `cq wrap` must cost about
/// one process start).
pub struct Forwarder {
    delivery: SignalDelivery<UnixStream, WithOrigin>,
}

impl Forwarder {
    /// Installs the handlers; call before spawning, so no signal finds cq
    /// with its default action (death, and no record).
    pub fn install() -> io::Result<Forwarder> {
        let (read, write) = UnixStream::pair()?;
        let delivery = SignalDelivery::with_pipe(read, write, WithOrigin::default(), FORWARDED)?;
        Ok(Forwarder { delivery })
    }

    /// Sends the signals received so far on to `pid`.
    fn forward(&mut self, pid: i32) {
        for origin in self.delivery.pending() {
            // The kernel sends the terminal's signals (Ctrl-C, Ctrl-\,
            // hangup) to the whole foreground group: CMD has it already.
            if origin.cause != Cause::Kernel {
                send(pid, origin.signal);
            }
        }
    }
}

fn send(pid: i32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Runs `program` (found by [`resolve`]) with argv[0] as the user typed it,
/// and waits for it.
/// No job outlives its wrapper unrecorded: when the wrapper dies (SIGKILL,
/// the OOM killer), CMD gets SIGTERM (PR_SET_PDEATHSIG), so the job's
/// `"lost":true` record tells the truth: it ended with its wrapper. A CMD
/// that ignores SIGTERM is on its own, and so is anything it started in a
/// session of its own.
fn orphan_guard(c: &mut Command) {
    // SAFETY: getpid cannot fail.
    let wrapper = unsafe { libc::getpid() };
    // SAFETY: prctl, getppid and raise are async-signal-safe, and nothing
    // here allocates.
    unsafe {
        c.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The wrapper died before the prctl: act as if it had come after.
            if libc::getppid() != wrapper {
                libc::raise(libc::SIGTERM);
            }
            Ok(())
        });
    }
}

pub fn run(
    program: &Path,
    argv: &[OsString],
    env: &[(&str, &str)],
    fwd: &mut Forwarder,
    mut tick: Option<(std::time::Duration, &mut dyn FnMut())>,
) -> Result<Outcome, NotStarted> {
    let mut c = Command::new(program);
    c.arg0(&argv[0]).args(&argv[1..]);
    for (k, v) in env {
        c.env(k, v);
    }
    orphan_guard(&mut c);
    let mut child = c.spawn().map_err(|e| spawn_error(&argv[0], &e))?;
    let pid = child.id() as i32;
    fwd.forward(pid);
    // Sleep until a signal arrives or the child ends (its pidfd turns
    // readable); without pidfds (Linux < 5.3), check every 10 ms.
    // SAFETY: pidfd_open takes a pid and flags; the fd is owned below.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd as i32) });
    let mut last_tick = std::time::Instant::now();
    let status = loop {
        let mut fds = [
            libc::pollfd {
                fd: fwd.delivery.get_read().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pidfd.as_ref().map_or(-1, |f| f.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // Wake for the periodic work too (a lease to renew), if any.
        let every = tick
            .as_ref()
            .map_or(-1, |(d, _)| d.as_millis().min(i32::MAX as u128) as i32);
        let timeout = match (pidfd.is_some(), every) {
            (true, e) => e,
            (false, -1) => 10,
            (false, e) => e.min(10),
        };

        // SAFETY: fds is a valid array of pollfd for its length.
        unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
        fwd.forward(pid);
        if let Some((d, f)) = tick.as_mut()
            && last_tick.elapsed() >= *d
        {
            f();
            last_tick = std::time::Instant::now();
        }
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(NotStarted {
                    exit_code: code::ERROR,
                    why: format!("cannot wait for {}: {e}", argv[0].to_string_lossy()),
                });
            }
        }
    };
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => Outcome {
            exit_code: c,
            signal: None,
        },
        (None, Some(sig)) => Outcome {
            exit_code: 128 + sig,
            signal: Some(sig),
        },
        (None, None) => Outcome {
            exit_code: code::ERROR as i32,
            signal: None,
        },
    })
}

fn spawn_error(cmd: &OsStr, e: &io::Error) -> NotStarted {
    let shown = cmd.to_string_lossy();
    let exit_code = match e.raw_os_error() {
        Some(libc::ENOENT) => code::NOT_FOUND,
        _ => code::NOT_EXECUTABLE,
    };
    NotStarted {
        exit_code,
        why: format!("{shown}: {}", crate::error::describe_io(e).to_lowercase()),
    }
}

/// `SIGTERM` for 15.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("SIG{sig}"),
    };
    name.to_string()
}

/// Ends cq the way CMD ended: by the same signal (default action, no core
/// dump), so the caller's shell sees 128+N and a Ctrl-C stops its loop.
/// Returns only if the signal did not kill us.
pub fn die_of(sig: i32) {
    // SAFETY: plain libc calls on our own process; nothing is borrowed.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
}

/// Gives each closed standard fd (0, 1, 2) /dev/null, opened read-only;
/// says whether stdout was closed. cq's own files must never take those
/// numbers: with stdout closed, the lock file opened next became fd 1, and
/// a pull printed its records into it and marked them pulled. Read-only,
/// a write to the stand-in fails (EBADF) instead of landing anywhere, and
/// close-on-exec, so CMD under `cq wrap` finds the fd closed as it was.
/// (The Rust runtime does this too, read-write; cq skips that runtime.)
pub fn reserve_std_fds() -> bool {
    let mut stdout_closed = false;
    for fd in 0..=2 {
        // SAFETY: F_GETFD only asks whether the fd is open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            stdout_closed |= fd == 1;
            // The lowest free fd is this one, as 0..fd are open by now.
            // SAFETY: a constant NUL-terminated path; the fd is kept open
            // for the life of the process on purpose.
            unsafe {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            }
        }
    }
    stdout_closed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(64), "SIG64");
    }

    #[test]
    fn resolves_like_a_shell() {
        assert!(resolve(OsStr::new("sh")).is_ok());
        assert_eq!(
            resolve(OsStr::new("no-such-cmd-cq")).unwrap_err().exit_code,
            127
        );
        assert_eq!(resolve(OsStr::new("/")).unwrap_err().exit_code, 126);
        assert_eq!(resolve(OsStr::new("./nope/x")).unwrap_err().exit_code, 127);
    }
}
