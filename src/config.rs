//! Every environment variable cq reads, read once (the first time any is
//! asked for) and checked here, so that a bad value has one wording and a
//! newcomer finds every knob in one list: the CQ_* variables, the XDG and
//! HOME paths, NO_COLOR and Claude Code's. tests/source.rs fails on an
//! `env::var` anywhere else in src/.
//!
//! One exception: `CQ_QUEUE` is read by clap, as the fallback of `--queue`
//! (cli/), so that `--help` names it and `cq where` can tell it from the
//! flag. Variables cq sets for the commands it runs (`CQ_ID`, `CQ_NAME`,
//! `CQ_META_FILE`, `CQ_STATUS`, ...) are written, not read, elsewhere.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Every variable cq reads and what it does, in the words of the man
/// pages' ENVIRONMENT (`backticks` are bold there). A test checks that
/// [`read`] asks for exactly these (CQ_QUEUE aside, which clap reads).
pub const VARS: &[(&str, &str)] = &[
    ("CQ_QUEUE", "The queue, as for `--queue`."),
    (
        "XDG_STATE_HOME",
        "Where the default queue lives: `$XDG_STATE_HOME/cq/queue.jsonl` (a relative value is ignored, as the XDG spec says); the Claude Code hooks' and Kafka's state is in `$XDG_STATE_HOME/cq/` too.",
    ),
    (
        "HOME",
        "The default queue is `~/.local/state/cq/queue.jsonl` when XDG_STATE_HOME is unset; a queue path starting with `~/` is read from here.",
    ),
    (
        "CQ_REDIS_CA",
        "For a `rediss://` queue: a PEM file of the CA that signed the server's certificate, trusted instead of the public roots.",
    ),
    (
        "CQ_HOST",
        "The host name cq records and judges running jobs by (default: the machine's). Set it where several machines or containers share one name.",
    ),
    (
        "CQ_LEASE_TTL",
        "On the redis and kafka tiers: how long a running job's lease lives without renewal (a duration; default 15s). The wrapper renews it at a third of that; a reader on another host turns a job whose lease expired into its lost record.",
    ),
    (
        "CQ_KAFKA_DEBUG",
        "On the kafka tier: librdkafka's debug contexts (e.g. `cgrp,fetch` or `all`), logged on standard error.",
    ),
    ("CQ_NAME", "The job name when `-n` is not given."),
    (
        "CQ_OUTPUT_DIR",
        "The output directory when `-o` is not given.",
    ),
    (
        "CQ_APPEND_RETRY",
        "On the redis and kafka tiers: how long a wrapper whose job ended keeps trying to append its record when the server cannot be reached (a duration; default 60s). Each attempt takes at most 10 s, so the wait is at most this plus 10 s; then the record is printed on standard error and cq exits with CMD's status.",
    ),
    (
        "CQ_META_FILE",
        "Set by `cq wrap` for CMD: the job's private file (mode 0600, a random name in `$TMPDIR`, made before CMD starts) where the pairs go; without it, or once the job has ended, cq meta refuses.",
    ),
    (
        "NO_COLOR",
        "When set and not empty, tables are not coloured (unless `--color always`).",
    ),
    (
        "COLUMNS",
        "On a terminal, the width tables fit (else the terminal's, else 80); a value that is not a positive number is ignored, as ls(1) does.",
    ),
    (
        "CLAUDE_CONFIG_DIR",
        "Where `cq init claude --install` finds the user's Claude Code settings: `$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/settings.json`.",
    ),
    (
        "CLAUDE_CODE_SESSION_ID",
        "Set by Claude Code for every command of a session: a job started there records the session, whose hooks deliver it.",
    ),
];

/// What the environment says, checked. An empty value counts as unset
/// (as `CQ_NAME= cq wrap ...` means in a shell), except where noted.
#[derive(Debug, Default)]
pub struct Config {
    /// `CQ_NAME`: the job name when `--name` is not given.
    pub name: Option<String>,
    /// `CQ_OUTPUT_DIR`: the output directory when `-o` is not given (its
    /// UTF-8 check, shared with `-o`, is in cmd/).
    pub output_dir: Option<OsString>,
    /// `CQ_HOST`: the host name records carry (a blank one is unset).
    pub host: Option<String>,
    /// `CQ_LEASE_TTL`: a running job's lease on the networked tiers.
    pub lease_ttl: Option<Duration>,
    /// `CQ_APPEND_RETRY`: how long a wrapper retries its append (0: once).
    pub append_retry: Option<Duration>,
    /// `CQ_REDIS_CA`: a PEM file trusted for `rediss://`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub redis_ca: Option<OsString>,
    /// `CQ_KAFKA_DEBUG`: librdkafka's debug contexts.
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub kafka_debug: Option<String>,
    /// `CQ_META_FILE`, set by `cq wrap` for its job; `Some("")` (set but
    /// empty) means the wrapper could not make one, which differs from unset.
    pub meta_file: Option<OsString>,
    /// `XDG_STATE_HOME`, only when absolute (the XDG spec says relative
    /// values are to be ignored).
    pub state_home: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// `CLAUDE_CONFIG_DIR`: where Claude Code keeps the user's settings.
    pub claude_config_dir: Option<OsString>,
    /// `CLAUDE_CODE_SESSION_ID`, only when it looks like one
    /// ([`is_session_id`]): it names files of the session's hooks.
    pub session: Option<String>,
    /// `NO_COLOR` set and not empty.
    pub no_color: bool,
    /// `COLUMNS`, when a positive number (shells export it to say the
    /// terminal's width; anything else is ignored, not refused).
    pub columns: Option<usize>,
    /// The first bad value, as the one line a user reads.
    problem: Option<String>,
}

/// The environment, read on first use.
pub fn get() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| read(|k| std::env::var_os(k)))
}

/// Refuses a bad value of any variable above, before a command touches a
/// queue (commands that need none, such as `cq man`, run beside one).
pub fn check() -> Result<()> {
    match &get().problem {
        Some(p) => Err(Error::usage(p.clone())),
        None => Ok(()),
    }
}

fn read(var: impl Fn(&str) -> Option<OsString>) -> Config {
    let mut problem = None;
    let nonempty_var = |k: &str| var(k).filter(|v| !v.is_empty());
    let mut text = |k: &str| utf8(k, nonempty_var(k), &mut problem);
    let name = text("CQ_NAME");
    let host = text("CQ_HOST").filter(|h| !h.trim().is_empty());
    let kafka_debug = text("CQ_KAFKA_DEBUG");
    let lease_text = text("CQ_LEASE_TTL");
    let retry_text = text("CQ_APPEND_RETRY");
    let lease_ttl = duration("CQ_LEASE_TTL", lease_text, false, &mut problem);
    let append_retry = duration("CQ_APPEND_RETRY", retry_text, true, &mut problem);
    Config {
        name,
        output_dir: nonempty_var("CQ_OUTPUT_DIR"),
        host,
        lease_ttl,
        append_retry,
        redis_ca: nonempty_var("CQ_REDIS_CA"),
        kafka_debug,
        meta_file: var("CQ_META_FILE"),
        state_home: var("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute()),
        home: nonempty_var("HOME"),
        claude_config_dir: nonempty_var("CLAUDE_CONFIG_DIR"),
        session: var("CLAUDE_CODE_SESSION_ID")
            .and_then(|v| v.into_string().ok())
            .filter(|s| is_session_id(s)),
        no_color: nonempty_var("NO_COLOR").is_some(),
        columns: var("COLUMNS")
            .and_then(|c| c.into_string().ok())
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&w| w > 0),
        problem,
    }
}

/// `v` as text; a value that is not UTF-8 is a problem, not unset.
fn utf8(k: &str, v: Option<OsString>, problem: &mut Option<String>) -> Option<String> {
    match v?.into_string() {
        Ok(s) => Some(s),
        Err(_) => {
            problem.get_or_insert(format!("{k} is not valid UTF-8"));
            None
        }
    }
}

/// `v` as a duration (`90s`, `10m`, ...); zero only where it means something.
fn duration(
    k: &str,
    v: Option<String>,
    zero_ok: bool,
    problem: &mut Option<String>,
) -> Option<Duration> {
    let why = match crate::time::parse_duration(&v?) {
        Ok(d) if zero_ok || !d.is_zero() => return Some(d),
        Ok(_) => format!("{k} must be longer than 0s"),
        Err(e) => format!("{k}: {}", e.msg),
    };
    problem.get_or_insert(why);
    None
}

/// Whether `s` can be a Claude Code session id: letters, digits, `-`,
/// `_`, at most 128 bytes (it names files; the hook's input is checked
/// with it too).
pub fn is_session_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn of(pairs: &[(&str, &str)]) -> Config {
        read(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn empty_is_unset_and_good_values_are_kept() {
        let c = of(&[
            ("CQ_NAME", ""),
            ("CQ_LEASE_TTL", "2s"),
            ("CQ_APPEND_RETRY", "0s"),
            ("CQ_HOST", "  "),
            ("CQ_META_FILE", ""),
            ("XDG_STATE_HOME", "relative/dir"),
            ("NO_COLOR", "1"),
        ]);
        assert_eq!(c.name, None);
        assert_eq!(c.lease_ttl, Some(Duration::from_secs(2)));
        assert_eq!(c.append_retry, Some(Duration::ZERO));
        assert_eq!(c.host, None);
        assert_eq!(c.meta_file, Some(OsString::new()));
        assert_eq!(c.state_home, None);
        assert!(c.no_color);
        assert_eq!(c.problem, None);
    }

    #[test]
    fn a_bad_value_is_one_line_naming_the_variable() {
        let first = |pairs: &[(&str, &str)]| of(pairs).problem.unwrap_or_default();
        assert_eq!(
            first(&[("CQ_LEASE_TTL", "0s")]),
            "CQ_LEASE_TTL must be longer than 0s"
        );
        assert!(first(&[("CQ_LEASE_TTL", "soon")]).starts_with("CQ_LEASE_TTL: "));
        assert!(first(&[("CQ_APPEND_RETRY", "-1")]).starts_with("CQ_APPEND_RETRY: "));
        let c = read(|k| (k == "CQ_NAME").then(|| OsString::from_vec(vec![0xff])));
        assert_eq!(c.problem.as_deref(), Some("CQ_NAME is not valid UTF-8"));
        let c = of(&[("CLAUDE_CODE_SESSION_ID", "../x")]);
        assert_eq!(
            c.session, None,
            "not a session id: ignored, as Claude Code sets it"
        );
    }

    /// The list the man pages print is the list read, no more, no less.
    #[test]
    fn every_variable_read_is_documented() {
        let asked = std::cell::RefCell::new(Vec::new());
        read(|k| {
            asked.borrow_mut().push(k.to_string());
            None
        });
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = VARS
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| k != "CQ_QUEUE")
            .collect();
        listed.sort();
        assert_eq!(asked, listed);
    }
}
