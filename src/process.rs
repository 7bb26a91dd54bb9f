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
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

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
static HANDLED: [std::sync::atomic::AtomicBool; FORWARDED.len()] =
    [const { std::sync::atomic::AtomicBool::new(false) }; FORWARDED.len()];

/// Whether the caller ignored SIGPIPE (cq ignores it for itself, and CMD
/// gets the caller's disposition back): see [`ignore_sigpipe`].
static CALLER_IGNORES_PIPE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Ignores SIGPIPE, as the Rust runtime would: a closed pipe is an EPIPE
/// error, not a death. The caller's disposition is noted for CMD.
pub fn ignore_sigpipe() {
    // SAFETY: setting a signal disposition has no memory-safety conditions.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    CALLER_IGNORES_PIPE.store(old == libc::SIG_IGN, std::sync::atomic::Ordering::SeqCst);
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

    /// Sends the signals received so far on to `pid`; returns the first
    /// one sent.
    fn forward(&mut self, pid: Pid) -> Option<i32> {
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

/// CMD, ready to start: everything its start needs, made before the
/// clone, since the child runs in cq's memory until its exec and must not
/// allocate or take a lock.
struct Spawn {
    program: CString,
    /// argv and envp as execve takes them, null-terminated, pointing into
    /// `_strings` and the process's environment.
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// `/bin/sh PROGRAM ARGS...`, for a file the kernel cannot exec
    /// (ENOEXEC: a script without `#!`), as execvp and shells run it.
    sh_argv: Vec<*const libc::c_char>,
    _strings: Vec<CString>,
    wrapper: libc::pid_t,
    /// The caller's descriptors CMD inherits (see [`INHERITED`]).
    keep: Option<Vec<i32>>,
    /// The caller's signal mask, which CMD gets (cq's is all-blocked
    /// across the clone).
    mask: libc::sigset_t,
    /// Why the exec failed (its errno), 0 if it did not.
    errno: std::sync::atomic::AtomicI32,
}

/// Starts `program` (found by [`resolve`]) with argv[0] as the user typed
/// it, the caller's environment plus `env`, and returns its pid.
///
/// A vfork-style clone (CLONE_VM | CLONE_VFORK), as posix_spawn does, not a
/// fork: no copy of cq's page tables, and no copy-on-write faults in cq
/// afterwards (0.1-0.2 ms of a `cq wrap`). posix_spawn itself cannot set
/// the death signal, so this is its core, with the prctl in the child.
///
/// No job outlives its wrapper unrecorded: when the wrapper dies (SIGKILL,
/// the OOM killer), CMD gets SIGTERM (PR_SET_PDEATHSIG), so the job's
/// `"lost":true` record tells the truth: it ended with its wrapper. A CMD
/// that ignores SIGTERM is on its own, and so is anything it started in a
/// session of its own.
fn spawn(program: &Path, argv: &[OsString], env: &[(&str, &str)]) -> Result<Pid, NotStarted> {
    use std::os::unix::ffi::OsStrExt;
    let shown = || argv[0].to_string_lossy().into_owned();
    let c = |b: &[u8]| {
        CString::new(b).map_err(|_| NotStarted {
            exit_code: code::NOT_EXECUTABLE,
            why: format!("{}: an argument holds a NUL byte", shown()),
        })
    };
    let program = c(program.as_os_str().as_bytes())?;
    let mut strings = Vec::with_capacity(argv.len() + env.len());
    for a in argv {
        strings.push(c(a.as_bytes())?);
    }
    for (k, v) in env {
        strings.push(c(format!("{k}={v}").as_bytes())?);
    }
    let (args, ours) = strings.split_at(argv.len());
    let mut envp: Vec<*const libc::c_char> = ours.iter().map(|e| e.as_ptr()).collect();
    // The caller's environment but the names of `env`, as pointers into
    // it: no copy of each variable (std's Command copied them all into a
    // map, a tenth of a wrap's instructions). Nothing in cq changes its
    // environment, so they stay valid.
    // SAFETY: `environ` is the null-terminated array of C strings the
    // process got, read on this thread only.
    unsafe {
        unsafe extern "C" {
            static environ: *const *const libc::c_char;
        }
        let mut e = environ;
        while !e.is_null() && !(*e).is_null() {
            let var = std::ffi::CStr::from_ptr(*e).to_bytes();
            let named = |(k, _): &(&str, &str)| {
                var.strip_prefix(k.as_bytes())
                    .is_some_and(|rest| rest.starts_with(b"="))
            };
            if !env.iter().any(named) {
                envp.push(*e);
            }
            e = e.add(1);
        }
    }
    envp.push(std::ptr::null());
    let mut argvp: Vec<_> = args.iter().map(|a| a.as_ptr()).collect();
    argvp.push(std::ptr::null());
    let mut sh_argv = vec![SH.as_ptr(), program.as_ptr()];
    sh_argv.extend(&argvp[1..]);
    let mut sp = Spawn {
        program,
        argv: argvp,
        envp,
        sh_argv,
        _strings: Vec::new(),
        wrapper: rustix::process::getpid().as_raw_nonzero().get(),
        keep: INHERITED.get().cloned(),
        // SAFETY: sigset_t is plain data; zeroed, then filled below.
        mask: unsafe { std::mem::zeroed() },
        errno: std::sync::atomic::AtomicI32::new(0),
    };
    sp._strings = strings;
    // The child's stack: 64 KiB, 16-byte aligned, for a few libc calls;
    // left unwritten (zeroing it was a sixth of the spawn's instructions,
    // and a page fault a page).
    let mut stack: Vec<u128> = Vec::with_capacity(4096);
    // SAFETY: all signals are blocked across the clone, so no handler of
    // cq's runs in the child (its memory is cq's); the child resets them
    // before restoring the caller's mask (`child_exec`). The child gets a
    // stack of its own and `sp`, which outlives it: CLONE_VFORK returns
    // only once the child has exec'd or exited.
    let (pid, clone_errno) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut sp.mask);
        let top = stack
            .as_mut_ptr()
            .add(stack.capacity())
            .cast::<libc::c_void>();
        let pid = libc::clone(
            child_exec,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::from_mut(&mut sp).cast::<libc::c_void>(),
        );
        let clone_errno = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &sp.mask, std::ptr::null_mut());
        (pid, clone_errno)
    };
    drop(stack);
    let Some(pid) = Pid::from_raw(pid) else {
        return Err(spawn_error(&argv[0], &clone_errno));
    };
    match sp.errno.load(std::sync::atomic::Ordering::SeqCst) {
        0 => Ok(pid),
        errno => {
            // The child exited at once (127): reap it.
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            Err(spawn_error(&argv[0], &io::Error::from_raw_os_error(errno)))
        }
    }
}

const SH: &std::ffi::CStr = c"/bin/sh";

/// The child, from the clone to its exec. Only async-signal-safe libc
/// calls, no allocation: it runs in cq's memory, on its own stack, with
/// every signal blocked.
extern "C" fn child_exec(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `Spawn` of `spawn`, alive until the child execs
    // or exits (CLONE_VFORK); every call below is async-signal-safe and
    // gets pointers into it or to locals.
    unsafe {
        let sp = &*arg.cast::<Spawn>();
        // cq's handlers must not run here, and CMD starts with the
        // dispositions it would have without cq: the signals cq handles
        // (an exec resets them anyway) back to their default, and SIGPIPE,
        // which cq ignores, too unless the caller ignored it.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for (sig, handled) in FORWARDED.into_iter().zip(&HANDLED) {
            if handled.load(std::sync::atomic::Ordering::SeqCst) {
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
        if !CALLER_IGNORES_PIPE.load(std::sync::atomic::Ordering::SeqCst) {
            libc::sigaction(libc::SIGPIPE, &dfl, std::ptr::null_mut());
        }
        // Every descriptor but the caller's closes at exec: CMD holds
        // what it would hold without cq. Without close_range (Linux <
        // 5.11) nothing is changed.
        if let Some(keep) = &sp.keep
            && libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) == 0
        {
            for &n in keep {
                libc::fcntl(n, libc::F_SETFD, 0);
            }
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
            sp.errno.store(
                *libc::__errno_location(),
                std::sync::atomic::Ordering::SeqCst,
            );
            libc::_exit(127);
        }
        // The wrapper died before the prctl: act as if it had come after
        // (the signal is pending until the mask is restored).
        if libc::getppid() != sp.wrapper {
            libc::kill(libc::getpid(), libc::SIGTERM);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &sp.mask, std::ptr::null_mut());
        libc::execve(sp.program.as_ptr(), sp.argv.as_ptr(), sp.envp.as_ptr());
        if *libc::__errno_location() == libc::ENOEXEC {
            libc::execve(SH.as_ptr(), sp.sh_argv.as_ptr(), sp.envp.as_ptr());
        }
        sp.errno.store(
            *libc::__errno_location(),
            std::sync::atomic::Ordering::SeqCst,
        );
        libc::_exit(127)
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
    let pid = spawn(program, argv, env)?;
    fwd.forward(pid);
    // Sleep until a signal arrives or the child ends (its pidfd turns
    // readable); without pidfds (Linux < 5.3), check every 10 ms.
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).ok();
    let mut last_tick = std::time::Instant::now();
    let (status, last_sent) = loop {
        let signals = fwd.read.as_fd();
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
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
            // What was just forwarded, or came since, may have found CMD
            // gone already.
            Ok(Some((_, s))) => {
                use std::sync::atomic::Ordering::SeqCst;
                PHASE.store(ENDED, SeqCst);
                let late = LATE.swap(0, SeqCst);
                break (s, sent.or((late != 0).then_some(late)));
            }
            Ok(None) => PHASE.store(RUNNING, std::sync::atomic::Ordering::SeqCst),
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
    };
    Ok(match (status.exit_status(), status.terminating_signal()) {
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
    let mut buf = [0u8; 64];
    let text = read_small("/proc/sys/kernel/random/boot_id", &mut buf, |t| {
        t.ends_with(b"\n")
    })?;
    Some(std::str::from_utf8(text).ok()?.trim().to_string())
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks.
pub fn proc_start(pid: u32) -> Option<u64> {
    // A stat line is at most about 1,100 bytes (a name of 15 bytes, 50
    // numbers of at most 20 digits and their spaces).
    let mut buf = [0u8; 1536];
    let stat = read_small(&format!("/proc/{pid}/stat"), &mut buf, |t| {
        t.ends_with(b"\n") && start_field(t).is_some()
    })?;
    start_field(stat)?.parse().ok()
}

fn start_field(stat: &[u8]) -> Option<&str> {
    // The command name (field 2) may hold spaces, parentheses and even a
    // newline: the fields that count come after its last ')'.
    let rest = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    std::str::from_utf8(rest).ok()?.split_whitespace().nth(19)
}

/// A one-line file of /proc, read with open, read and close only (std's
/// read_to_string adds a statx and reads in growing steps: nine system
/// calls where three do, on every `cq wrap`). procfs hands over such a
/// file whole in one read; until `complete` says the text is whole, it is
/// read on, to its end or a full buffer (then None).
fn read_small<'b>(
    path: &str,
    buf: &'b mut [u8],
    complete: impl Fn(&[u8]) -> bool,
) -> Option<&'b [u8]> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if complete(&buf[..len]) {
                    return Some(&buf[..len]);
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return None,
        }
    }
    (len < buf.len()).then_some(&buf[..len])
}

/// The host name once per process: `$CQ_HOST` when set (containers that
/// share a host name, tests of leases across hosts), else the machine's.
pub fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| crate::config::get().host.clone().unwrap_or_else(hostname))
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

    /// The start time is field 22 whatever the command name holds; and
    /// this process's is read in one piece.
    #[test]
    fn start_time_after_the_last_parenthesis() {
        let rest: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        let line = format!("7 (a) b\n(c) {}\n", rest.join(" "));
        assert_eq!(start_field(line.as_bytes()), Some("22"));
        assert_eq!(start_field(b"7 (short) S 1 2\n"), None);
        assert!(proc_start(std::process::id()).is_some());
        assert_eq!(this_boot().map(|b| b.len()), Some(36));
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
