//! cq's own signal handling for `cq wrap`: the handler that forwards the
//! signals sent to cq on to CMD, the [`Ending`] of an append cut short by
//! one, and dying of CMD's signal.
//!
//! cq stays in the caller's process group, so the terminal's Ctrl-C, Ctrl-\
//! and hangup reach CMD directly; cq only survives them (a handler, not
//! SIG_IGN, which CMD would inherit) and forwards signals sent to its own pid
//! by `kill`. Nothing is blocked before the spawn: CMD inherits the mask.

use rustix::process::{Pid, Signal};
use std::io;

pub(super) const FORWARDED: [i32; 6] = [
    Signal::INT.as_raw(),
    Signal::TERM.as_raw(),
    Signal::HUP.as_raw(),
    Signal::QUIT.as_raw(),
    Signal::USR1.as_raw(),
    Signal::USR2.as_raw(),
];

/// Receives the signals of [`FORWARDED`] sent to cq, for forwarding to the
/// child from the main thread (no helper thread: `cq wrap` must cost about
/// one process start). cq's own handler, one sigaction a signal: the
/// signal-hook registry it replaces asked for each old action first and
/// copied its table at each registration (13 system calls and a twentieth
/// of a wrap's instructions where 7 calls do).
pub struct Forwarder {
    /// The read end of the handler's wake-up pipe (its write end is
    /// [`WAKE`], open until cq exits).
    read: std::os::fd::OwnedFd,
}

/// For each of [`FORWARDED`]: cq's handler is installed (the caller did
/// not ignore the signal).
pub(super) static HANDLED: [std::sync::atomic::AtomicBool; FORWARDED.len()] =
    [const { std::sync::atomic::AtomicBool::new(false) }; FORWARDED.len()];

/// Whether the caller ignored SIGPIPE (cq ignores it for itself, and CMD
/// gets the caller's disposition back): see [`ignore_sigpipe`].
pub(super) static CALLER_IGNORES_PIPE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Ignores SIGPIPE, as the Rust runtime would: a closed pipe is an EPIPE
/// error, not a death. The caller's disposition is noted for CMD.
pub fn ignore_sigpipe() {
    // SAFETY: setting a signal disposition has no memory-safety conditions.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    CALLER_IGNORES_PIPE.store(old == libc::SIG_IGN, std::sync::atomic::Ordering::SeqCst);
}

/// For a program cq becomes by exec (`cq-kafka`): std's exec empties the
/// signal mask and sets SIGPIPE to its default before it execs; this puts
/// the caller's back, so that CMD under `cq wrap` on a Kafka queue gets the
/// caller's mask and dispositions, as on every other tier.
#[cfg(feature = "kafka")]
pub fn keep_callers_signals(c: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    let ignores_pipe = CALLER_IGNORES_PIPE.load(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: a sigset_t is plain data; the query fills it (nothing blocks
    // or handles a signal in cq before a queue is opened).
    let mask = unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut mask);
        mask
    };
    // SAFETY: the hook runs after std's reset, just before execvp, and
    // calls only pthread_sigmask and signal (async-signal-safe), on a copy.
    unsafe {
        c.pre_exec(move || {
            libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut());
            if ignores_pipe {
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}

/// The write end of the wake-up pipe, for the handler; -1 before install.
static WAKE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
/// For each of [`FORWARDED`]: sent by a process (kill) since the last
/// forward. The terminal's signals (si_code SI_KERNEL) went to CMD's whole
/// process group already, and are not.
static SENT: [std::sync::atomic::AtomicBool; FORWARDED.len()] =
    [const { std::sync::atomic::AtomicBool::new(false) }; FORWARDED.len()];

impl Forwarder {
    /// Installs the handlers; call before spawning, so no signal finds cq
    /// with its default action (death, and no record).
    pub fn install() -> io::Result<Forwarder> {
        use std::os::fd::FromRawFd;
        let mut ends = [0; 2];
        // SAFETY: pipe2 fills the two ints it is given; each fd is owned
        // once: the read end by the Forwarder, the write end by WAKE.
        let read = unsafe {
            if libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) != 0 {
                return Err(io::Error::last_os_error());
            }
            std::os::fd::OwnedFd::from_raw_fd(ends[0])
        };
        WAKE.store(ends[1], std::sync::atomic::Ordering::SeqCst);
        for (sig, handled) in FORWARDED.into_iter().zip(&HANDLED) {
            // SAFETY: the handler calls only async-signal-safe functions
            // (see `on_forwarded`); the structs are zeroed, then filled.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_forwarded
                    as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
                    as libc::sighandler_t;
                libc::sigemptyset(&mut sa.sa_mask);
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &sa, &mut old) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // A signal the caller ignores (`nohup`, `trap '' HUP`)
                // stays ignored, by cq and by CMD, as without cq: a handler
                // would have given CMD its default action at the exec.
                if old.sa_sigaction == libc::SIG_IGN {
                    libc::sigaction(sig, &old, std::ptr::null_mut());
                } else {
                    handled.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
        Ok(Forwarder { read })
    }

    /// What turns readable when a signal comes for forwarding.
    pub(super) fn wake_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.read.as_fd()
    }

    /// Sends the signals received so far on to `pid`; returns the first
    /// one sent.
    pub(super) fn forward(&mut self, pid: Pid) -> Option<i32> {
        // Emptied first: a signal that comes after is forwarded now or
        // wakes the next round.
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.read, &mut buf), Ok(n) if n > 0) {}
        let mut first = None;
        for (sig, sent) in FORWARDED.into_iter().zip(&SENT) {
            if sent.swap(false, std::sync::atomic::Ordering::SeqCst) {
                send(pid, sig);
                first = first.or(Some(sig));
            }
        }
        first
    }
}

/// The handler of every forwarded signal. Async-signal-safe: atomics,
/// write(2), and errno kept as the interrupted code left it.
extern "C" fn on_forwarded(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: errno is this thread's; `info` is the kernel's siginfo for
    // this delivery (SA_SIGINFO), or null.
    unsafe {
        let errno = *libc::__errno_location();
        let from_kernel = !info.is_null() && (*info).si_code == libc::SI_KERNEL;
        if !from_kernel && let Some(i) = FORWARDED.iter().position(|&s| s == sig) {
            SENT[i].store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let fd = WAKE.load(std::sync::atomic::Ordering::SeqCst);
        if fd >= 0 {
            libc::write(fd, [1u8].as_ptr().cast(), 1);
        }
        on_signal(sig, from_kernel);
        *libc::__errno_location() = errno;
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

/// The main thread is about to look whether CMD ended: a signal that comes
/// from now on is kept (see [`on_signal`]).
pub(super) fn probing() {
    use std::sync::atomic::Ordering::SeqCst;
    LATE.store(0, SeqCst);
    PHASE.store(PROBING, SeqCst);
}

/// CMD is found running: its signals are forwarded again.
pub(super) fn found_running() {
    PHASE.store(RUNNING, std::sync::atomic::Ordering::SeqCst);
}

/// CMD is found ended: the signal kept while looking, if any.
pub(super) fn found_ended() -> Option<i32> {
    use std::sync::atomic::Ordering::SeqCst;
    PHASE.store(ENDED, SeqCst);
    let late = LATE.swap(0, SeqCst);
    (late != 0).then_some(late)
}

impl Ending {
    /// Arms it for the append of `unsaved` (the record, as printed when it
    /// cannot be saved): a signal received from now on, or since CMD
    /// ended, counts, and so does `ending` (the [`Outcome`]'s: one sent as
    /// CMD ended). `fwd` must stay installed until [`Ending::disarm`].
    ///
    /// [`Outcome`]: super::Outcome
    pub fn arm(_fwd: &Forwarder, ending: Option<i32>, unsaved: Vec<u8>) -> Ending {
        use std::sync::atomic::Ordering::SeqCst;
        let _ = UNSAVED.set(unsaved);
        PHASE.store(ENDED, SeqCst);
        ARMED.store(true, SeqCst);
        // CMD's last round's, and those that came since, before arming.
        let late = LATE.swap(0, SeqCst);
        if let Some(sig) = ending.or((late != 0).then_some(late)) {
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

fn send(pid: Pid, sig: i32) {
    // Only FORWARDED signals come here, and they all have names.
    if let Some(sig) = Signal::from_named_raw(sig) {
        let _ = rustix::process::kill_process(pid, sig);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(64), "SIG64");
    }
}
