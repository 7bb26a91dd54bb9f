//! The error type and the exit codes of SPEC.md's table: the one place that
//! decides which failure exits with which code (process/ maps a child's
//! status; everything else goes through here).

use std::fmt;
use std::io;

/// Exit codes of SPEC.md's table that cq itself decides.
pub mod code {
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const TIMEOUT: u8 = 124;
    pub const WRAP_FAILED: u8 = 125;
    pub const NOT_EXECUTABLE: u8 = 126;
    pub const NOT_FOUND: u8 = 127;

    /// What each code means, in the words of cq(1)'s EXIT STATUS (which
    /// is generated from this table; 128+N, a signal's, is process/'s).
    pub const MEANINGS: &[(u8, &str)] = &[
        (0, "success (also when the reader of cq's output went away)"),
        (
            ERROR,
            "error (I/O, unreadable queue, unknown id, ...), one line on standard error",
        ),
        (USAGE, "usage error; nothing in the queue changed"),
        (TIMEOUT, "`--timeout` reached"),
        (
            WRAP_FAILED,
            "`cq wrap` failed before CMD ran (queue not writable, ...)",
        ),
        (
            NOT_EXECUTABLE,
            "CMD found but not executable (recorded as a failure)",
        ),
        (NOT_FOUND, "CMD not found (recorded as a failure)"),
    ];
}

/// What kind of failure an [`Error`] is, for callers that act on it: a
/// caller asks the kind, never the message's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// I/O, data or a server's refusal (exit 1).
    Failed,
    /// Bad input from the user; nothing was changed (exit 2).
    Usage,
    /// A wait reached the command's `--timeout` (exit 124).
    Timeout,
    /// No record has the id asked for (`cq ack`, `cq retry`).
    NoRecord,
    /// What was to be created exists already (a Redis consumer group).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    Exists,
    /// The reader went away (`cq list | head`): exit 0, nothing said.
    BrokenPipe,
}

/// A failure that ends a command: one line for stderr, an exit code, its
/// [`Kind`], and the error behind it, if any (an OS error: kept for
/// callers to inspect; only `msg` is ever printed).
#[derive(Debug)]
pub struct Error {
    pub code: u8,
    pub msg: String,
    kind: Kind,
    source: Option<io::Error>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn of(kind: Kind, code: u8, msg: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            kind,
            source: None,
        }
    }

    /// An I/O or data error (exit 1).
    pub fn new(msg: impl Into<String>) -> Self {
        Self::of(Kind::Failed, code::ERROR, msg)
    }

    /// Bad input from the user (exit 2); nothing was changed.
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::of(Kind::Usage, code::USAGE, msg)
    }

    /// A wait that reached the command's `--timeout` (exit 124).
    pub fn timeout(msg: impl Into<String>) -> Self {
        Self::of(Kind::Timeout, code::TIMEOUT, msg)
    }

    /// No record has the id asked for (exit 1).
    pub fn no_record(msg: impl Into<String>) -> Self {
        Self::of(Kind::NoRecord, code::ERROR, msg)
    }

    /// What was to be created exists already (exit 1).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn exists(msg: impl Into<String>) -> Self {
        Self::of(Kind::Exists, code::ERROR, msg)
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The same failure, said otherwise (`printed 3 records but ...: MSG`).
    pub fn reworded(self, msg: impl Into<String>) -> Self {
        Self {
            msg: msg.into(),
            ..self
        }
    }

    /// `what failed: why`, for an OS error on a path or an operation.
    pub fn io(what: impl fmt::Display, err: io::Error) -> Self {
        let msg = format!("{what}: {}", describe_io(&err));
        Self {
            source: Some(err),
            ..Self::new(msg)
        }
    }

    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    pub fn is_broken_pipe(err: &io::Error) -> bool {
        err.kind() == io::ErrorKind::BrokenPipe
    }

    /// A failure to write cq's output: a reader that went away (`| head`)
    /// ends the command quietly with 0; anything else is an error.
    pub fn output(err: io::Error) -> Self {
        if Self::is_broken_pipe(&err) {
            Self::broken_pipe()
        } else {
            Self::io("cannot write output", err)
        }
    }
}

/// The OS's words for an error without Rust's " (os error N)" suffix.
pub fn describe_io(err: &io::Error) -> String {
    let s = err.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: a message built from user data must not break
        // it. Built whole, then written once: stderr is unbuffered, and a
        // write per character made one system call each.
        let mut line = String::with_capacity(self.msg.len());
        for c in self.msg.chars() {
            if c.is_control() {
                line.extend(c.escape_default());
            } else {
                line.push(c);
            }
        }
        f.write_str(&line)
    }
}

impl Error {
    /// The reader went away (`cq list | head`): exit 0, say nothing.
    pub fn broken_pipe() -> Self {
        Self::of(Kind::BrokenPipe, 0, "")
    }
}

/// An error whose text never holds `secret` (a password given in a queue's
/// URL, which a client library's own message may repeat): the one place
/// that scrubs it.
#[cfg_attr(not(any(feature = "redis", feature = "kafka")), allow(dead_code))]
pub fn scrubbed(msg: &str, secret: Option<&str>) -> Error {
    match secret {
        Some(s) if !s.is_empty() => Error::new(msg.replace(s, "***")),
        _ => Error::new(msg),
    }
}

/// Set by a process whose stderr is an answer (the session's waiter: what
/// it writes there becomes the model's text): warnings are not said.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn quiet() {
    QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Where [`warn`] writes: output/'s stderr line, handed over by lib.rs
/// at start (output/ depends on this file, so it cannot be called here
/// directly).
static WARN_TO: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

pub fn warn_to(print: fn(&str)) {
    let _ = WARN_TO.set(print);
}

/// A warning that does not stop the command (a skipped line), on stderr.
pub fn warn(msg: &str) {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let e = Error::new(msg);
    // Unit tests capture it; the binary must not panic if stderr is gone,
    // which eprintln! would.
    #[cfg(test)]
    #[allow(clippy::print_stderr)]
    {
        eprintln!("cq: {e}");
    }
    #[cfg(not(test))]
    if let Some(print) = WARN_TO.get() {
        print(&format!("cq: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// Each kind has its exit code; an OS error is kept as the source; a
    /// reworded error keeps its kind, code and source.
    #[test]
    fn kinds_codes_and_sources() {
        let cases = [
            (Error::new("x"), Kind::Failed, code::ERROR),
            (Error::usage("x"), Kind::Usage, code::USAGE),
            (Error::timeout("x"), Kind::Timeout, code::TIMEOUT),
            (Error::no_record("x"), Kind::NoRecord, code::ERROR),
            (Error::exists("x"), Kind::Exists, code::ERROR),
            (Error::broken_pipe(), Kind::BrokenPipe, 0),
        ];
        for (e, kind, code) in cases {
            assert_eq!((e.kind(), e.code), (kind, code), "{e:?}");
            assert!(e.source().is_none());
        }
        let e = Error::io("cannot read q", io::Error::from(io::ErrorKind::NotFound))
            .with_code(code::WRAP_FAILED)
            .reworded("printed 1 record(s) but: cannot read q");
        assert_eq!((e.kind(), e.code), (Kind::Failed, code::WRAP_FAILED));
        let src = e.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(src.map(io::Error::kind), Some(io::ErrorKind::NotFound));
        assert_eq!(Error::new("a\nb").to_string(), "a\\nb");
    }
}
