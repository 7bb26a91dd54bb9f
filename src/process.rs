//! Running CMD for `cq wrap`: resolving it (126/127 as a shell would),
//! forwarding signals, mapping its end to an exit status, and dying of the
//! same signal CMD died of.
//!
//! cq stays in the caller's process group, so the terminal's Ctrl-C, Ctrl-\
//! and hangup reach CMD directly; cq only survives them (a handler, not
//! SIG_IGN, which CMD would inherit) and forwards signals sent to its own pid
//! by `kill`. Nothing is blocked before the spawn: CMD inherits the mask.

use crate::error::code;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open};
use signal_hook::iterator::backend::SignalDelivery;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const FORWARDED: [i32; 6] = [
    Signal::INT.as_raw(),
    Signal::TERM.as_raw(),
    Signal::HUP.as_raw(),
    Signal::QUIT.as_raw(),
    Signal::USR1.as_raw(),
    Signal::USR2.as_raw(),
];

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
        for sig in FORWARDED {
            // SAFETY: the action calls only async-signal-safe functions
            // (see `on_signal`). The signals are handled already (just
            // above), so this adds an action and sets no disposition: no
            // system call.
            unsafe {
                signal_hook_registry::register_sigaction(sig, move |info| {
                    on_signal(sig, info.si_code == libc::SI_KERNEL);
                })?;
            }
        }
        Ok(Forwarder { delivery })
    }

    /// Sends the signals received so far on to `pid`; returns the first
    /// one sent.
    fn forward(&mut self, pid: Pid) -> Option<i32> {
        let mut first = None;
        for origin in self.delivery.pending() {
            // The kernel sends the terminal's signals (Ctrl-C, Ctrl-\,
            // hangup) to the whole foreground group: CMD has it already.
            if origin.cause != Cause::Kernel {
                send(pid, origin.signal);
                first = first.or(Some(origin.signal));
            }
        }
        first
    }
}

/// The append of a record after CMD ended, under the signals of
/// [`FORWARDED`]: the first one gives the append a second to finish, and
/// then ends cq with the record on stderr (the running entry left, so
/// readers record the job as lost); a second one ends it at once. Without
/// this a wrapper blocked on its append (a lock held by a stopped process,
/// a server gone) swallowed SIGTERM and Ctrl-C and waited on.
///
/// Done in the signal handler itself, with async-signal-safe calls only
/// (atomics, write(2), sigaction, alarm, raise), since the main thread may
/// be blocked in any system call of any tier. Arming costs no system call:
/// the handlers are cq's already, and the alarm is set only by a signal.
pub struct Ending;

/// What to print when the append is cut short: prepared before arming.
static UNSAVED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
static ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// The signal that asked cq to end; 0 for none yet.
static ENDING: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// Where CMD is, for the signal action: running (the signal is CMD's, and
/// forwarded from the main thread), maybe ended (the main thread is looking:
/// a signal `kill` sent may have found CMD gone), or ended.
static PHASE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(RUNNING);
const RUNNING: u8 = 0;
const PROBING: u8 = 1;
const ENDED: u8 = 2;
/// A signal that came while probing or once CMD ended, before arming.
static LATE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

impl Ending {
    /// Arms it for the append of `unsaved` (the record, as printed when it
    /// cannot be saved): a signal received from now on, or since CMD
    /// ended, counts. `fwd` must stay installed until [`Ending::disarm`].
    pub fn arm(_fwd: &Forwarder, outcome: &Outcome, unsaved: Vec<u8>) -> Ending {
        use std::sync::atomic::Ordering::SeqCst;
        let _ = UNSAVED.set(unsaved);
        PHASE.store(ENDED, SeqCst);
        ARMED.store(true, SeqCst);
        // CMD's last round's, and those that came since, before arming.
        let late = LATE.swap(0, SeqCst);
        if let Some(sig) = outcome.ending.or((late != 0).then_some(late)) {
            start_ending(sig);
        }
        Ending
    }

    /// The append is over (saved or not): nothing ends cq from here on but
    /// its own exit. Returns the signal that asked cq to end, if any, for
    /// cq to die of once its record is dealt with.
    pub fn disarm(self) -> Option<i32> {
        use std::sync::atomic::Ordering::SeqCst;
        ARMED.store(false, SeqCst);
        let sig = ENDING.load(SeqCst);
        if sig == 0 {
            return None;
        }
        // SAFETY: cancels our own alarm; no memory is involved.
        unsafe { libc::alarm(0) };
        Some(sig)
    }
}

/// The first ending signal: a second for the append, then [`on_alarm`].
/// Async-signal-safe.
fn start_ending(sig: i32) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    if ENDING.compare_exchange(0, sig, SeqCst, SeqCst).is_err() {
        return false;
    }
    // SAFETY: sigaction and alarm are async-signal-safe; the action is a
    // plain function, the struct zeroed and then filled.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        // A system call the alarm interrupts after a disarm goes on.
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut());
        libc::alarm(1);
    }
    true
}

/// Every forwarded signal, in the handler. Armed: the first starts the
/// second of grace, a second one ends cq now. Before that it is kept for
/// [`Ending::arm`] when CMD may have ended (the terminal's, which reached
/// CMD itself, only once it has). Async-signal-safe.
fn on_signal(sig: i32, from_kernel: bool) {
    use std::sync::atomic::Ordering::SeqCst;
    if ARMED.load(SeqCst) {
        if !start_ending(sig) {
            end_now();
        }
        return;
    }
    let keep = match PHASE.load(SeqCst) {
        PROBING => !from_kernel,
        ENDED => true,
        _ => false,
    };
    if keep {
        let _ = LATE.compare_exchange(0, sig, SeqCst, SeqCst);
    }
}

extern "C" fn on_alarm(_: libc::c_int) {
    use std::sync::atomic::Ordering::SeqCst;
    if ARMED.load(SeqCst) {
        end_now();
    }
}

/// Prints the record and dies of the ending signal. Async-signal-safe:
/// the text was prepared before arming; write(2) on fd 2 takes no lock.
fn end_now() {
    use std::sync::atomic::Ordering::SeqCst;
    let sig = ENDING.load(SeqCst);
    let name = match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGUSR1 => "SIGUSR1",
        _ => "SIGUSR2",
    };
    let stderr = rustix::stdio::stderr();
    for part in [
        b"cq: ".as_slice(),
        name.as_bytes(),
        b" while appending the record; it may not be in the queue\n",
        UNSAVED.get().map_or(&[][..], Vec::as_slice),
    ] {
        let mut rest = part;
        while !rest.is_empty() {
            match rustix::io::write(stderr, rest) {
                Ok(n) if n > 0 => rest = &rest[n..],
                Err(rustix::io::Errno::INTR) => {}
                _ => break,
            }
        }
    }
    die_of(sig);
}

/// A process id as the kernel gives it (`Child::id`, a record's `pid`):
/// none for 0 or one too large to be a pid (a kill(2) of 0 or of a
/// negative number would reach a whole process group).
pub fn pid(n: u32) -> Option<Pid> {
    i32::try_from(n).ok().and_then(Pid::from_raw)
}

/// Whether a process of this pid exists (kill with no signal; a process
/// of another user exists too).
pub fn exists(n: u32) -> bool {
    pid(n).is_some_and(|p| rustix::process::test_kill_process(p) != Err(rustix::io::Errno::SRCH))
}

fn send(pid: Pid, sig: i32) {
    // Only FORWARDED signals come here, and they all have names.
    if let Some(sig) = Signal::from_named_raw(sig) {
        let _ = rustix::process::kill_process(pid, sig);
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
    use rustix::process::{getpid, getppid, kill_process, set_parent_process_death_signal};
    let wrapper = getpid();
    let keep = INHERITED.get().cloned();
    // SAFETY: pre_exec's closure runs between fork and exec: rustix makes
    // these calls as raw system calls, close_range by number (no safe
    // wrapper has it) is one too (async-signal-safe), and nothing here
    // allocates or takes a lock (`keep` was read before the fork; each of
    // its fds is the caller's, open in the child).
    unsafe {
        c.pre_exec(move || {
            // Every descriptor but the caller's closes at exec: CMD holds
            // what it would hold without cq. (std's own error pipe is
            // close-on-exec already.) Without close_range (Linux < 5.11)
            // nothing is changed.
            if let Some(keep) = &keep
                && libc::syscall(
                    libc::SYS_close_range,
                    3u32,
                    u32::MAX,
                    libc::CLOSE_RANGE_CLOEXEC,
                ) == 0
            {
                for &n in keep {
                    let n = std::os::fd::BorrowedFd::borrow_raw(n);
                    let _ = rustix::io::fcntl_setfd(n, rustix::io::FdFlags::empty());
                }
            }
            set_parent_process_death_signal(Some(Signal::TERM))?;
            // The wrapper died before the prctl: act as if it had come after.
            if getppid() != Some(wrapper) {
                kill_process(getpid(), Signal::TERM)?;
            }
            Ok(())
        });
    }
}

/// The descriptors above 2 this process has open.
pub fn open_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter(|&fd| fd > 2)
                .collect()
        })
        .unwrap_or_default()
}

/// The caller's descriptors that CMD inherits, noted before a client
/// library could open any (`note_inherited_fds`); unset, nothing is
/// changed.
static INHERITED: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();

/// Notes the descriptors this wrapper inherited without close-on-exec
/// (those CMD must inherit too), but `consumed` (cq's own ready pipe):
/// called before the queue is opened where its client (librdkafka, whose
/// threads open descriptors of their own at any moment, without
/// close-on-exec) would leak them into CMD.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub fn note_inherited_fds(consumed: Option<i32>) {
    let fds = open_fds()
        .into_iter()
        // Not the listing's own descriptor (gone now: no fdinfo).
        .filter(|&fd| Some(fd) != consumed && cloexec(fd) == Some(false))
        .collect();
    let _ = INHERITED.set(fds);
}

/// Whether a descriptor of this process is close-on-exec (fdinfo's
/// "flags:", octal open flags: O_CLOEXEC is 02000000); None when it is
/// not open.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
fn cloexec(fd: i32) -> Option<bool> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .map(|f| f & 0o2000000 != 0)
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
    let pid = pid(child.id()).ok_or_else(|| NotStarted {
        exit_code: code::ERROR,
        why: format!("{}: no process id", argv[0].to_string_lossy()),
    })?;
    fwd.forward(pid);
    // Sleep until a signal arrives or the child ends (its pidfd turns
    // readable); without pidfds (Linux < 5.3), check every 10 ms.
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).ok();
    let mut last_tick = std::time::Instant::now();
    let (status, last_sent) = loop {
        let signals = fwd.delivery.get_read().as_fd();
        let child_fd = pidfd.as_ref().map_or(signals, |p| p.as_fd());
        let mut fds = [
            PollFd::from_borrowed_fd(signals, PollFlags::IN),
            PollFd::from_borrowed_fd(child_fd, PollFlags::IN),
        ];
        let watched = 1 + usize::from(pidfd.is_some());
        // Wake for the periodic work too (a lease to renew), if any.
        let every = tick.as_ref().map(|(d, _)| *d);
        let timeout = match (pidfd.is_some(), every) {
            (true, e) => e,
            (false, None) => Some(std::time::Duration::from_millis(10)),
            (false, Some(e)) => Some(e.min(std::time::Duration::from_millis(10))),
        };
        let timeout = timeout.and_then(|t| Timespec::try_from(t).ok());
        // EINTR, or any error: the checks below run either way.
        let _ = poll(&mut fds[..watched], timeout.as_ref());
        // From here until CMD is found running, a signal sent to cq may
        // find it gone: the action keeps it too (the pipe would be read only
        // by the next round's forward, which never comes).
        {
            use std::sync::atomic::Ordering::SeqCst;
            LATE.store(0, SeqCst);
            PHASE.store(PROBING, SeqCst);
        }
        let sent = fwd.forward(pid);
        if let Some((d, f)) = tick.as_mut()
            && last_tick.elapsed() >= *d
        {
            f();
            last_tick = std::time::Instant::now();
        }
        match child.try_wait() {
            // What was just forwarded, or came since, may have found CMD
            // gone already.
            Ok(Some(s)) => {
                use std::sync::atomic::Ordering::SeqCst;
                PHASE.store(ENDED, SeqCst);
                let late = LATE.swap(0, SeqCst);
                break (s, sent.or((late != 0).then_some(late)));
            }
            Ok(None) => PHASE.store(RUNNING, std::sync::atomic::Ordering::SeqCst),
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
    })
}

fn spawn_error(cmd: &OsStr, e: &io::Error) -> NotStarted {
    let shown = cmd.to_string_lossy();
    let exit_code = match e.raw_os_error() {
        Some(e) if e == rustix::io::Errno::NOENT.raw_os_error() => code::NOT_FOUND,
        _ => code::NOT_EXECUTABLE,
    };
    NotStarted {
        exit_code,
        why: format!("{shown}: {}", crate::error::describe_io(e).to_lowercase()),
    }
}

/// `SIGTERM` for 15.
pub fn signal_name(sig: i32) -> String {
    // The two Linux names signal-hook's portable table leaves out.
    const STKFLT: i32 = 16;
    const PWR: i32 = 30;
    match (signal_hook::low_level::signal_name(sig), sig) {
        (Some(name), _) => name.to_string(),
        (None, STKFLT) => "SIGSTKFLT".to_string(),
        (None, PWR) => "SIGPWR".to_string(),
        (None, _) => format!("SIG{sig}"),
    }
}

/// Ends cq the way CMD ended: by the same signal (default action, no core
/// dump), so the caller's shell sees 128+N and a Ctrl-C stops its loop.
/// Returns only if the signal did not kill us.
pub fn die_of(sig: i32) {
    let no_core = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    let _ = rustix::process::setrlimit(rustix::process::Resource::Core, no_core);
    // No safe wrapper sets a disposition or the signal mask (rustix keeps
    // them for runtimes, signal-hook's emulation aborts when it fails).
    // SAFETY: libc calls on our own process, with a zeroed and then filled
    // sigset; nothing is borrowed.
    unsafe {
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
    use rustix::fs::{Mode, OFlags};
    use rustix::stdio::{stderr, stdin, stdout};
    let std_fds = [stdin(), stdout(), stderr()];
    for (n, fd) in std_fds.into_iter().enumerate() {
        if rustix::io::fcntl_getfd(fd) == Err(rustix::io::Errno::BADF) {
            stdout_closed |= n == 1;
            // The lowest free fd is this one, as 0..n are open by now; it
            // stays open for the life of the process on purpose.
            if let Ok(null) =
                rustix::fs::open("/dev/null", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            {
                std::mem::forget(null);
            }
        }
    }
    stdout_closed
}

/// The boot this process runs in (a reboot makes every pid new).
pub fn this_boot() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks.
pub fn proc_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The host name once per process: `$CQ_HOST` when set (containers that
/// share a host name, tests of leases across hosts), else the machine's.
pub fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| match std::env::var("CQ_HOST") {
        Ok(h) if !h.trim().is_empty() => h,
        _ => hostname(),
    })
}

/// The machine's host name, as `hostname` prints it.
pub fn hostname() -> String {
    // gethostname(2) is uname's nodename on Linux.
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
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
