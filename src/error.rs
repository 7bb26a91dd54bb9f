//! The error type and the exit codes of SPEC.md's table: the one place that
//! decides which failure exits with which code (process.rs maps a child's
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
}

/// A failure that ends a command: one line for stderr and an exit code.
#[derive(Debug)]
pub struct Error {
    pub code: u8,
    pub msg: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O or data error (exit 1).
    pub fn new(msg: impl Into<String>) -> Self {
        Self {
            code: code::ERROR,
            msg: msg.into(),
        }
    }

    /// Bad input from the user (exit 2); nothing was changed.
    pub fn usage(msg: impl Into<String>) -> Self {
        Self {
            code: code::USAGE,
            msg: msg.into(),
        }
    }

    /// A wait that reached the command's `--timeout` (exit 124).
    pub fn timeout(msg: impl Into<String>) -> Self {
        Self {
            code: code::TIMEOUT,
            msg: msg.into(),
        }
    }

    /// `what failed: why`, for an OS error on a path or an operation.
    pub fn io(what: impl fmt::Display, err: io::Error) -> Self {
        Self::new(format!("{what}: {}", describe_io(&err)))
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, always: a message built from user data must not break it.
        for c in self.msg.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

impl Error {
    /// The reader went away (`cq list | head`): exit 0, say nothing.
    pub fn broken_pipe() -> Self {
        Self {
            code: 0,
            msg: String::new(),
        }
    }
}

/// An error whose text never holds `secret` (a password given in a queue's
/// URL, which a client library's own message may repeat): the one place
/// that scrubs it.
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

/// [`warn`], once per `key` in this process: a waiter reads the running
/// jobs at every wake, and a file it skips is said once, not at each.
pub fn warn_once(key: &str, msg: &str) {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first = match SAID.lock() {
        Ok(mut said) => said
            .get_or_insert_with(HashSet::new)
            .insert(key.to_string()),
        Err(_) => true,
    };
    if first {
        warn(msg);
    }
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
    {
        use std::io::Write;
        let _ = writeln!(std::io::stderr().lock(), "cq: {e}");
    }
}
