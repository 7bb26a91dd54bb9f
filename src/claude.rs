//! Claude Code sessions: what `cq hook claude` does at each hook event, and
//! the one rule by which a record reaches a session's model once and is
//! never lost between cq and the client.
//!
//! A record is *handed over* (printed for the client, its id written down
//! with a random token that is part of the text), never marked pulled on
//! the spot. It is marked (acknowledged) by a later hook of any session
//! once the client's transcript holds the token: only then does the
//! client have it. A hand-over whose client process is gone without the
//! token in its transcript is void, and its records are pending again. So
//! a waiter orphaned by a closed session, a client killed between reading
//! the hook and writing its transcript, or a cq killed mid-way marks
//! nothing.
//!
//! Records go to the session named in them (`"session"`, from
//! `CLAUDE_CODE_SESSION_ID` when the job started) and, unless the hooks
//! were set up with `--own-only`, records naming no session go to whichever
//! session takes them first. Hand-overs are kept in one directory for all
//! sessions, under one lock, so two sessions never take one record.

use crate::error::{Error, Result};
use crate::queue::{Filter, Queue, Stored};
use crate::record::{Pulled, is_session_id};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// At most this many records in one hand-over (one wake, one prompt's
/// context): the rest come with the next.
pub const MAX_RECORDS: usize = 50;

/// The longest a hook waits for the hand-overs' lock, or for the queue
/// (a lock another program holds) in a prompt hook: well inside the 30 s
/// the client gives a prompt hook.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// What a hook gets on stdin (Claude Code's hook input), the parts cq uses.
#[derive(Deserialize, Debug)]
pub struct HookInput {
    pub session_id: String,
    #[serde(default)]
    pub transcript_path: Option<PathBuf>,
    #[serde(default)]
    pub hook_event_name: String,
}

impl HookInput {
    /// Reads and checks the hook input (at most 1 MiB of JSON).
    pub fn read(from: impl Read) -> Result<HookInput> {
        let mut buf = Vec::new();
        from.take(1 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("cannot read the hook's input", e))?;
        let input: HookInput = serde_json::from_slice(&buf).map_err(|e| {
            Error::usage(format!(
                "the hook's input is not Claude Code's hook JSON ({e}); cq hook claude is run by Claude Code's hooks (see cq init claude)"
            ))
        })?;
        if !is_session_id(&input.session_id) {
            return Err(Error::usage(
                "the hook's session_id is not a session id (letters, digits, '-', '_')",
            ));
        }
        Ok(input)
    }
}

/// The Claude Code process a hook runs under, and whether it can be woken
/// (an `asyncRewake` hook that exits 2 starts a turn). In plain
/// `claude -p TEXT` it cannot: there an async hook runs in the foreground,
/// so a waiter would hold the whole run up.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub pid: u32,
    pub start: Option<u64>,
    pub can_wake: bool,
}

/// Shells that stand between a hook's command and the client
/// (`/bin/sh -c CMD` and what it runs).
const SHELLS: &[&str] = &["sh", "dash", "bash", "zsh", "fish", "busybox", "env"];

impl Client {
    /// The nearest ancestor of this process that is not a shell.
    pub fn find() -> Option<Client> {
        let mut pid = rustix::process::getppid()?.as_raw_nonzero().get() as u32;
        for _ in 0..16 {
            let (comm, ppid) = comm_and_parent(pid)?;
            if !SHELLS.contains(&comm.as_str()) {
                let args = cmdline(pid);
                return Some(Client {
                    pid,
                    start: crate::process::proc_start(pid),
                    can_wake: can_wake(&args),
                });
            }
            if ppid <= 1 {
                return None;
            }
            pid = ppid;
        }
        None
    }

    pub fn alive(pid: u32, start: Option<u64>) -> bool {
        match crate::process::proc_start(pid) {
            None => false,
            Some(s) => start.is_none_or(|want| want == s),
        }
    }
}

/// `-p`/`--print` without `--input-format stream-json` is the one mode
/// in which the client cannot be woken.
fn can_wake(args: &[String]) -> bool {
    let print = args.iter().skip(1).any(|a| {
        a == "-p"
            || a == "--print"
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('p'))
    });
    let stream = args
        .windows(2)
        .any(|w| w[0] == "--input-format" && w[1] == "stream-json")
        || args.iter().any(|a| a == "--input-format=stream-json");
    !print || stream
}

fn comm_and_parent(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let ppid = stat
        .get(close + 1..)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((comm, ppid))
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Records handed to a session's client, not yet known to have reached it.
#[derive(Serialize, Deserialize, Debug)]
struct Handover {
    token: String,
    /// The queue, as `Queue::describe` names it.
    queue: String,
    ids: Vec<String>,
    session: String,
    transcript: Option<PathBuf>,
    /// The transcript's length when handed over: the token can only be
    /// after it.
    offset: u64,
    client_pid: u32,
    client_start: Option<u64>,
}

/// The hand-overs of every session: `$XDG_STATE_HOME/cq/claude/`, one file
/// per hand-over, changed only under its lock file.
pub struct Sessions {
    dir: PathBuf,
    queue: String,
}

/// Held while hand-overs are read and written.
pub struct Locked<'a> {
    s: &'a Sessions,
    _lock: File,
}

impl Sessions {
    pub fn new(dir: PathBuf, q: &Queue) -> Sessions {
        Sessions {
            dir,
            queue: q.describe(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the lock (a short wait: holders only read and write small
    /// files and acknowledge).
    pub fn lock(&self) -> Result<Locked<'_>> {
        crate::queue::files::ensure_dir(&self.dir, &self.dir.display().to_string())?;
        let path = self.dir.join("lock");
        let mut o = std::fs::OpenOptions::new();
        o.read(true).write(true);
        let (f, _) = crate::queue::files::open_or_create(&path, &o)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        // Holders are hooks that read and write small files and ack; one
        // stuck on the queue's own lock gives up at its deadline. Wait as
        // long, never without a bound.
        let until = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(Locked { s: self, _lock: f }),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::new(format!(
                        "timed out waiting for the lock on {} (another hook holds it)",
                        path.display()
                    ))
                    .with_code(crate::error::code::TIMEOUT));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock {}", path.display()), e));
                }
            }
        }
    }
}

impl Locked<'_> {
    fn handovers(&self) -> Vec<(PathBuf, Handover)> {
        let Ok(rd) = std::fs::read_dir(&self.s.dir) else {
            return Vec::new();
        };
        rd.filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "handover"))
            .filter_map(|p| {
                let text = crate::queue::files::read_side_file(&p, 1 << 20).ok()??;
                let h: Handover = serde_json::from_slice(&text).ok()?;
                Some((p, h))
            })
            .filter(|(_, h)| h.queue == self.s.queue)
            .collect()
    }

    /// Acknowledges every hand-over whose token reached its client's
    /// transcript, and voids those whose client is gone without it.
    /// Returns the ids still in flight (handed to a live client).
    pub fn settle(&self, q: &Queue) -> HashSet<String> {
        let mut in_flight = HashSet::new();
        for (path, h) in self.handovers() {
            if delivered(&h) {
                if ack_all(q, &h.ids) {
                    let _ = std::fs::remove_file(&path);
                } else {
                    in_flight.extend(h.ids);
                }
            } else if !Client::alive(h.client_pid, h.client_start) {
                let _ = std::fs::remove_file(&path);
            } else {
                in_flight.extend(h.ids);
            }
        }
        in_flight
    }

    /// The pending records this session may take now, oldest first.
    pub fn candidates(
        &self,
        q: &Queue,
        session: &str,
        own_only: bool,
        in_flight: &HashSet<String>,
    ) -> Result<Vec<Stored>> {
        let filter = Filter {
            pending: true,
            ..Filter::default()
        };
        let mut out = Vec::new();
        q.list(&filter, None, &mut |s| {
            let v = &s.view;
            let mine = match v.session.as_deref() {
                Some(id) => id == session,
                None => !own_only,
            };
            if mine
                && v.pulled() == Pulled::No
                && out.len() < MAX_RECORDS
                && v.id.as_ref().is_some_and(|id| !in_flight.contains(id))
            {
                out.push(s);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Writes down that `recs` go to `input`'s client now; returns the
    /// token that the text handed over must carry.
    pub fn hand_over(&self, input: &HookInput, client: &Client, recs: &[Stored]) -> Result<String> {
        // v7: 74 random bits, enough that no transcript holds it by chance.
        let token = uuid::Uuid::now_v7().simple().to_string();
        let offset = input
            .transcript_path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        let h = Handover {
            token: token.clone(),
            queue: self.s.queue.clone(),
            ids: recs.iter().filter_map(|r| r.view.id.clone()).collect(),
            session: input.session_id.clone(),
            transcript: input.transcript_path.clone(),
            offset,
            client_pid: client.pid,
            client_start: client.start,
        };
        let path = self.s.dir.join(format!("{token}.handover"));
        let json = serde_json::to_vec(&h).expect("a hand-over serialises");
        write_atomically(&self.s.dir, &path, &json)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(token)
    }
}

/// Whether the hand-over's token is in its transcript, after the length
/// the transcript had when it was handed over.
fn delivered(h: &Handover) -> bool {
    let Some(path) = &h.transcript else {
        return false;
    };
    let Ok(mut f) = File::open(path) else {
        return false;
    };
    let len = f.metadata().map_or(0, |m| m.len());
    // A transcript rewritten shorter (compacted) is read whole.
    let from = if h.offset <= len { h.offset } else { 0 };
    if f.seek(SeekFrom::Start(from)).is_err() {
        return false;
    }
    let mut text = Vec::new();
    // Transcripts grow by whole turns; 64 MiB after the hand-over is far
    // more than the turn that carries it.
    if f.take(64 << 20).read_to_end(&mut text).is_err() {
        return false;
    }
    let token = h.token.as_bytes();
    text.windows(token.len()).any(|w| w == token)
}

/// Acknowledges `ids`; an id no longer in the queue (removed by hand) does
/// not hold the others back. False when the queue could not be reached.
fn ack_all(q: &Queue, ids: &[String]) -> bool {
    if ids.is_empty() || q.ack(ids).is_ok() {
        return true;
    }
    let mut ok = true;
    for id in ids {
        if let Err(e) = q.ack(std::slice::from_ref(id))
            && e.kind() != crate::error::Kind::NoRecord
        {
            ok = false;
        }
    }
    ok
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = tempfile::Builder::new()
        .prefix(".handover")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    crate::queue::files::sync_dir(dir)
}

/// The text handed to the model: one `brief` line per record (where to
/// look: output directory, log, exit code, id) and the token.
pub fn text(recs: &[Stored], token: &str) -> String {
    let n = recs.len();
    let mut s = format!(
        "{n} background job{} ended (cq):\n",
        if n == 1 { "" } else { "s" }
    );
    for r in recs {
        s.push_str("- ");
        s.push_str(&crate::output::brief(r));
        s.push('\n');
    }
    s.push_str(&format!("(cq delivery {token})\n"));
    s
}

/// The session's waiter lock: one waiter per session. `None` when another
/// process holds it.
pub fn waiter_lock(dir: &Path, session: &str) -> Result<Option<File>> {
    crate::queue::files::ensure_dir(dir, &dir.display().to_string())?;
    let path = dir.join(format!("{session}.waiter"));
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true);
    let (f, _) = crate::queue::files::open_or_create(&path, &o)
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    match f.try_lock() {
        Ok(()) => {
            use std::io::Write;
            let me = std::process::id();
            let start = crate::process::proc_start(me).unwrap_or(0);
            let _ = f.set_len(0);
            let _ = (&f).write_all(format!("{me} {start}\n").as_bytes());
            Ok(Some(f))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::io(format!("cannot lock {}", path.display()), e))
        }
    }
}

/// Ends the session's waiter, if one runs (SessionEnd): SIGTERM to the pid
/// its lock file names, when that process is still the one that wrote it.
pub fn stop_waiter(dir: &Path, session: &str) {
    let path = dir.join(format!("{session}.waiter"));
    let Ok(Some(text)) = crate::queue::files::read_side_file(&path, 4096) else {
        return;
    };
    let text = String::from_utf8_lossy(&text);
    let mut it = text.split_whitespace();
    let (Some(pid), Some(start)) = (
        it.next().and_then(|p| p.parse::<u32>().ok()),
        it.next().and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return;
    };
    if pid != std::process::id()
        && crate::process::proc_start(pid) == Some(start)
        && let Some(p) = crate::process::pid(pid)
    {
        let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
    }
}

/// Exits this process as soon as `client` is gone, or has read the end
/// of its input (`claude -p --input-format stream-json` whose stdin was
/// closed waits for its running hooks before it ends): a waiter never
/// outlives its session. (It has marked nothing; what it handed over to a
/// client that died is void.)
pub fn exit_with(client: Client) {
    use rustix::event::{PollFd, PollFlags, poll};
    use rustix::fs::{Mode, OFlags, open};
    use rustix::process::{PidfdFlags, pidfd_open};
    let Some(pid) = crate::process::pid(client.pid) else {
        return;
    };
    let pidfd = pidfd_open(pid, PidfdFlags::empty());
    // The client's stdin, when it is a pipe: a second reader that never
    // reads, only sees the writers go (POLLHUP; no events asked, so
    // unread input does not wake it).
    let input = open(
        format!("/proc/{}/fd/0", client.pid),
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
    .filter(|fd| {
        rustix::fs::fstat(fd).is_ok_and(|st| {
            rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Fifo
        })
    });
    std::thread::spawn(move || {
        match pidfd {
            Ok(pidfd) => {
                let mut fds = vec![PollFd::new(&pidfd, PollFlags::IN)];
                if let Some(i) = &input {
                    fds.push(PollFd::new(i, PollFlags::empty()));
                }
                while !matches!(poll(&mut fds, None), Ok(n) if n > 0) {}
            }
            // Without pidfds (Linux < 5.3): look once a second.
            Err(_) => {
                while Client::alive(client.pid, client.start) {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
        std::process::exit(0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn which_modes_can_wake() {
        assert!(can_wake(&args("claude")));
        assert!(can_wake(&args("claude --resume abc")));
        assert!(!can_wake(&args("claude -p hello")));
        assert!(!can_wake(&args("claude --print hello")));
        assert!(can_wake(&args(
            "claude -p --input-format stream-json --output-format stream-json"
        )));
        assert!(can_wake(&args("claude --print --input-format=stream-json")));
    }
}
