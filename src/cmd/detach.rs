//! `cq wrap --detach`: the wrapper itself runs in the background.
//!
//! cq starts itself again (`/proc/self/exe wrap --detached-id ID
//! --ready-fd N ...`) in a new session (setsid: no controlling terminal, so
//! closing the terminal sends it no SIGHUP), with stdin from /dev/null and
//! stdout and stderr appended to the log. That second cq is an ordinary
//! wrapper (registration, signals, lease, record, lost-job detection); it
//! writes `ok` to the pipe N once the job is registered as running, or why
//! it could not. The first cq waits for that word, prints the id and exits
//! 0, so an immediate `cq wait ID` or `cq list --running` sees the job.
//! Re-executing rather than forking: a fork of a process with threads
//! (a Kafka client's) may not run Rust code.
//!
//! The second cq keeps none of the caller's descriptors but 0, 1, 2 and the
//! pipe: a caller that reads a pipe to its end must not wait for the job.
//! The log is private (0600), in a directory made for it if missing, and
//! opened without blocking; a job that is never registered leaves neither.

use super::Exit;
use crate::cli::WrapArgs;
use crate::error::{Error, Result};
use crate::queue::Where;
use crate::queue::files;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// How long the first cq waits for the job to be registered.
const REGISTER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// `DIR/NAME.ID.log`, the name made one path component.
fn default_log(dir: &Path, name: &str, id: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let mut file = format!("{safe}.{id}.log");
    // NAME_MAX is 255 bytes; the id and suffix take 41.
    while file.len() > 255 {
        let cut = file.floor_char_boundary(file.len() - 41 - 1);
        file = format!("{}.{id}.log", &file[..cut]);
    }
    dir.join(file)
}

/// Where a log goes when `--log` is not given: the output directory the
/// user chose (`-o` or `CQ_OUTPUT_DIR`), else cq's state directory
/// (`$XDG_STATE_HOME/cq/logs`), never the working directory by default:
/// that is often a repository an agent works in, and a log there is an
/// untracked file in every `git status`. Without HOME or XDG_STATE_HOME
/// there is no state directory, and the output directory is the one place
/// left.
fn log_dir(args: &WrapArgs, output_dir: &str) -> PathBuf {
    let chosen = args.output_dir.is_some() || crate::config::get().output_dir.is_some();
    match files::state_dir() {
        Ok(state) if !chosen => state.join("logs"),
        _ => PathBuf::from(output_dir),
    }
}

/// What a detached start made before the job was registered: removed
/// again if it never is (a full disk must not leave an empty log and the
/// directories made for it).
struct Made {
    log: Option<PathBuf>,
    dirs: Vec<PathBuf>,
    keep: bool,
}

impl Drop for Made {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
        files::remove_dirs(&self.dirs);
    }
}

/// Opens (creating it mode 0600, whatever the umask: job output often
/// holds secrets) the log, appending. Never blocks: a FIFO nobody reads is
/// refused rather than waited on; one with a reader is written as usual.
fn open_log(log: &Path) -> Result<(File, bool)> {
    let mut o = OpenOptions::new();
    o.append(true).custom_flags(files::NONBLOCK);
    let fail = |e| Error::io(format!("cannot open the log {}", log.display()), e);
    let (f, created) = files::open_or_create(log, &o).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::NXIO.raw_os_error()) {
            Error::new(format!(
                "cannot open the log {}: a FIFO that nobody reads",
                log.display()
            ))
        } else {
            fail(e)
        }
    })?;
    let flags = rustix::fs::fcntl_getfl(&f).map_err(|e| fail(e.into()))?;
    rustix::fs::fcntl_setfl(&f, flags - rustix::fs::OFlags::NONBLOCK)
        .map_err(|e| fail(e.into()))?;
    Ok((f, created))
}

/// Starts the detached wrapper, waits until it has registered the job, and
/// prints the job's id.
pub fn start(args: &WrapArgs, at: &Where, name: &str, output_dir: &str) -> Result<Exit> {
    let id = crate::record::new_id();
    let log = log_path(args, name, output_dir, &id)?;
    let (mut made, out, err) = prepare_log(&log)?;
    let (rx, tx) = std::io::pipe().map_err(|e| Error::io("cannot make a pipe", e))?;
    let fd = tx.as_raw_fd();
    let mut c = wrapper_command(args, at, name, output_dir, &id, &log, fd)?;
    c.stdin(Stdio::null()).stdout(out).stderr(err);
    detach_at_exec(&mut c, fd);
    let child = c
        .spawn()
        .map_err(|e| Error::io("cannot start the detached wrapper", e))?;
    drop(tx);
    drop(c);
    let Some(word) = ready_word(rx) else {
        // It may still register and run: what it made stays.
        made.keep = true;
        return Err(Error::new(format!(
            "the detached job was not registered within {}s; it may still start (see {})",
            REGISTER_WITHIN.as_secs(),
            log.display()
        )));
    };
    answer(&word, child, &mut made, &log, &id)
}

/// The log `--log` names (made absolute: the wrapper may change
/// directory), else `NAME.ID.log` in [`log_dir`].
fn log_path(args: &WrapArgs, name: &str, output_dir: &str, id: &str) -> Result<PathBuf> {
    match &args.log {
        Some(l) => std::path::absolute(l)
            .map_err(|e| Error::io(format!("cannot use the log {}", l.display()), e)),
        None => Ok(default_log(&log_dir(args, output_dir), name, id)),
    }
}

/// The log opened for the wrapper's stdout and stderr, and what was made
/// for it (removed again unless the job is registered).
fn prepare_log(log: &Path) -> Result<(Made, File, File)> {
    // The log's directory is made as its home, private like the queue's.
    let home = files::parent(log);
    let dirs = files::make_private_dirs(&home)
        .map_err(|e| Error::io(format!("cannot create {}", home.display()), e))?;
    let mut made = Made {
        log: None,
        dirs,
        keep: false,
    };
    let (out, created) = open_log(log)?;
    if created {
        made.log = Some(log.to_path_buf());
    }
    let err = out
        .try_clone()
        .map_err(|e| Error::io("cannot duplicate the log's descriptor", e))?;
    Ok((made, out, err))
}

/// `cq [--queue Q] wrap --detached-id ID --ready-fd FD ... -- CMD`: this
/// cq again, as the wrapper that runs in the background.
fn wrapper_command(
    args: &WrapArgs,
    at: &Where,
    name: &str,
    output_dir: &str,
    id: &str,
    log: &Path,
    fd: i32,
) -> Result<Command> {
    let exe =
        std::env::current_exe().map_err(|e| Error::io("cannot find cq's own executable", e))?;
    let mut c = Command::new(exe);
    if let Some(q) = &at.0 {
        c.arg("--queue").arg(q);
    }
    c.args(["wrap", "--detached-id", id, "--ready-fd", &fd.to_string()]);
    c.arg("--name")
        .arg(name)
        .arg("--output-dir")
        .arg(output_dir);
    c.arg("--log").arg(log);
    for m in &args.meta {
        c.arg("--meta").arg(m);
    }
    c.arg("--").args(&args.cmd);
    Ok(c)
}

/// Between fork and exec: a session of its own, none of the caller's
/// descriptors, and the pipe `fd` (the write end) kept open across exec.
fn detach_at_exec(c: &mut Command, fd: i32) {
    // For the child to mark close-on-exec when the kernel has no
    // close_range (before 5.11).
    let inherited = crate::process::open_fds();
    // SAFETY: pre_exec's closure runs between fork and exec: it makes only
    // raw system calls (async-signal-safe: rustix's, and close_range by
    // number, which no safe wrapper offers), allocates nothing (`inherited`
    // was read before the fork), and `fd` is the pipe's write end, open
    // until exec (the caller keeps it until the spawn returns).
    unsafe {
        c.pre_exec(move || {
            rustix::process::setsid()?;
            // Every descriptor the caller let us inherit is closed at exec:
            // a detached job holds 0, 1, 2 and what it opens itself, and
            // never the pipe a caller waits on for EOF. (Close-on-exec,
            // not closed: std's own error pipe must live until exec.)
            let all = libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if all != 0 {
                for &n in &inherited {
                    let n = std::os::fd::BorrowedFd::borrow_raw(n);
                    let _ = rustix::io::fcntl_setfd(n, rustix::io::FdFlags::CLOEXEC);
                }
            }
            // The pipe's write end stays open across exec, for the word.
            let fd = std::os::fd::BorrowedFd::borrow_raw(fd);
            rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            Ok(())
        });
    }
}

/// The wrapper's word (`ok`, or why not), or the end of the pipe when it
/// died first; None after [`REGISTER_WITHIN`], in case a queue server
/// stops answering mid-registration.
fn ready_word(mut rx: std::io::PipeReader) -> Option<String> {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut word = String::new();
        let _ = rx.read_to_string(&mut word);
        let _ = done_tx.send(word);
    });
    done_rx.recv_timeout(REGISTER_WITHIN).ok()
}

/// The id on stdout when the wrapper said `ok`; else the wrapper's reason,
/// or where its last words are.
fn answer(word: &str, mut child: Child, made: &mut Made, log: &Path, id: &str) -> Result<Exit> {
    if word.starts_with("ok") {
        made.keep = true;
        crate::output::stdout_text(format!("{id}\n").as_bytes()).map_err(Error::output)?;
        return Ok(Exit::Code(0));
    }
    // Reap it: it ended without registering the job.
    let _ = child.wait();
    let why = word.trim();
    if !why.is_empty() {
        return Err(Error::new(why.to_string()));
    }
    // Its last words, if any, are in the log: keep that.
    let said = std::fs::metadata(log).is_ok_and(|m| m.len() > 0);
    made.keep = said;
    Err(Error::new(if said {
        format!(
            "the detached wrapper ended before registering the job (see {})",
            log.display()
        )
    } else {
        "the detached wrapper ended before registering the job".to_string()
    }))
}

/// The detached wrapper's end of the pipe.
pub struct Ready(File);

impl Ready {
    /// The pipe `--ready-fd` names; anything else is ignored.
    pub fn from_fd(fd: i32) -> Option<Ready> {
        if fd < 3 {
            return None;
        }
        // Taking an inherited fd by number has no safe form: fstat (plain
        // libc, as rustix's needs a borrowed fd, which a number not yet
        // known to be open is not) proves it open and a pipe first.
        // SAFETY: fstat on any number is harmless (EBADF when closed) and
        // fills a zeroed stat; a pipe nothing else in cq owns becomes this
        // File's.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) != 0 || st.st_mode & libc::S_IFMT != libc::S_IFIFO {
                return None;
            }
            Some(Ready(File::from_raw_fd(fd)))
        }
    }

    pub fn registered(mut self) {
        let _ = self.0.write_all(b"ok\n");
    }

    pub fn failed(mut self, why: &str) {
        let _ = self.0.write_all(why.as_bytes());
    }
}
