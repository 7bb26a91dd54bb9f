//! Starting CMD: finding it as a shell would (126/127), and the
//! vfork-style clone whose child sets itself up and execs, in cq's memory.

use super::fds::INHERITED;
use super::signals::{CALLER_IGNORES_PIPE, FORWARDED, HANDLED};
use crate::error::code;
use rustix::process::Pid;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

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

impl Spawn {
    /// CMD's program, argv and environment as C strings and the pointer
    /// arrays execve takes: a NUL byte in any is refused (126).
    fn new(program: &Path, argv: &[OsString], env: &[(&str, &str)]) -> Result<Spawn, NotStarted> {
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
        callers_environ(&mut envp, env);
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
            // SAFETY: sigset_t is plain data; zeroed, then filled by the
            // spawn.
            mask: unsafe { std::mem::zeroed() },
            errno: std::sync::atomic::AtomicI32::new(0),
        };
        sp._strings = strings;
        Ok(sp)
    }
}

/// Adds the caller's environment but the names of `env` to `envp`, as
/// pointers into it: no copy of each variable (std's Command copied them
/// all into a map, a tenth of a wrap's instructions). Nothing in cq
/// changes its environment, so they stay valid.
fn callers_environ(envp: &mut Vec<*const libc::c_char>, env: &[(&str, &str)]) {
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
pub(super) fn spawn(
    program: &Path,
    argv: &[OsString],
    env: &[(&str, &str)],
) -> Result<Pid, NotStarted> {
    let mut sp = Spawn::new(program, argv, env)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
