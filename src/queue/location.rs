//! Where the queue is: `--queue` / `CQ_QUEUE` (or the XDG default) parsed
//! into a [`Location`], and a location opened into its tier's store. The
//! one place that knows every tier's name and URL form.

use super::files;
use super::jsonl;
#[cfg(feature = "kafka")]
use super::kafka;
#[cfg(feature = "redis")]
use super::redis;
#[cfg(feature = "sqlite")]
use super::sqlite;
use super::store::{Store, Tier};
use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `--queue` / `CQ_QUEUE` as given, resolved into a [`Location`] only by
/// the commands that use the queue.
pub struct Where(pub Option<OsString>, pub Source);

/// Where `--queue`'s value came from, for `cq where`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Default,
}

impl Where {
    pub fn resolve(&self) -> Result<Location> {
        Location::resolve(self.0.as_ref())
    }
}

/// Where the queue is, parsed from `--queue` / `CQ_QUEUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Sqlite(PathBuf),
    /// The URL, parsed (its password is never printed).
    #[cfg(feature = "redis")]
    Redis(redis::Url),
    /// The URL, parsed (its password is never printed).
    #[cfg(feature = "kafka")]
    Kafka(kafka::Url),
}

/// The scheme of a location that has one: `SCHEME:` before any `/`
/// (letters, digits, `+`, `-`, `.`, starting with a letter, as RFC 3986
/// has it). Like scp, rsync and git, cq reads `word:` at the start as a
/// scheme, never as a file name: `SQLITE:/x.db` or `kafka:/h:9092/t` (one
/// slash) once made directories named `SQLITE:` and `kafka:` where a
/// queue on another tier was meant. A file whose name holds a colon is
/// written `./NAME` or `file:NAME`.
fn scheme_of(q: &[u8]) -> Option<String> {
    let end = q.iter().position(|&c| c == b':' || c == b'/')?;
    let s = &q[..end];
    let ok = q[end] == b':'
        && s.first().is_some_and(u8::is_ascii_alphabetic)
        && s.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    ok.then(|| String::from_utf8_lossy(s).into_owned())
}

impl Location {
    pub fn parse(q: &OsStr) -> Result<Location> {
        let b = q.as_bytes();
        if b.is_empty() {
            return Err(Error::usage("empty queue location"));
        }
        if let Some(rest) = b.strip_prefix(b"file:") {
            if rest.is_empty() {
                return Err(Error::usage("empty path in queue location 'file:'"));
            }
            return Ok(Location::File(home_path(rest)?));
        }
        if let Some(rest) = b.strip_prefix(b"sqlite:") {
            if rest.is_empty() {
                return Err(Error::usage("empty path in queue location 'sqlite:'"));
            }
            if !cfg!(feature = "sqlite") {
                return Err(not_built("SQLite", "sqlite"));
            }
            return Ok(Location::Sqlite(home_path(rest)?));
        }
        if b.starts_with(b"redis://") || b.starts_with(b"rediss://") {
            #[cfg(not(feature = "redis"))]
            return Err(not_built("Redis", "redis"));
            #[cfg(feature = "redis")]
            {
                let Some(url) = q.to_str() else {
                    return Err(Error::usage("a redis:// queue URL must be valid UTF-8"));
                };
                return Ok(Location::Redis(redis::Url::parse(url)?));
            }
        }
        if b.starts_with(b"kafka://") {
            #[cfg(not(feature = "kafka"))]
            return Err(not_built("Kafka", "kafka"));
            #[cfg(feature = "kafka")]
            {
                let Some(url) = q.to_str() else {
                    return Err(Error::usage("a kafka:// queue URL must be valid UTF-8"));
                };
                // Parsed here so a bad URL is a usage error before anything runs.
                return Ok(Location::Kafka(kafka::Url::parse(url)?));
            }
        }
        // Anything else with a scheme is a mistake, not a file name: a
        // push to `Redis://h/0` once created directories named after it.
        if let Some(scheme) = scheme_of(b) {
            let known: Vec<&str> = Tier::ALL
                .iter()
                .flat_map(|t| t.schemes())
                .copied()
                .collect();
            let lower = scheme.to_ascii_lowercase();
            let hint = known
                .iter()
                .find(|k| k.trim_end_matches([':', '/']) == lower)
                .map(|k| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            let forms: Vec<String> = known
                .iter()
                .map(|k| match k.ends_with(':') {
                    true => format!("{k}PATH"),
                    false => k.to_string(),
                })
                .collect();
            let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
            return Err(Error::usage(format!(
                "unknown queue scheme '{scheme}:'{hint}; a queue is a path, {} (a file whose name holds a colon: ./NAME or file:NAME)",
                or_list(&forms)
            )));
        }
        Ok(Location::File(home_path(b)?))
    }

    /// `$XDG_STATE_HOME/cq/queue.jsonl`, else `~/.local/state/cq/queue.jsonl`.
    pub fn default_location() -> Result<Location> {
        Ok(Location::File(files::state_dir()?.join("queue.jsonl")))
    }

    pub fn resolve(flag: Option<&OsString>) -> Result<Location> {
        match flag {
            Some(q) => Location::parse(q),
            None => Location::default_location(),
        }
    }
}

/// What cq knows about each tier, asked here instead of matched on in
/// place (the rubric's advice, `cq stats`' suggestion, the `--queue` help,
/// the scheme list, the `--group` message): a fifth tier adds one arm to
/// each method.
impl Tier {
    /// Every tier, in the rubric's order.
    pub const ALL: [Tier; 4] = [Tier::Jsonl, Tier::Sqlite, Tier::Redis, Tier::Kafka];

    /// The schemes a location of this tier starts with.
    pub fn schemes(self) -> &'static [&'static str] {
        match self {
            Tier::Jsonl => &["file:"],
            Tier::Sqlite => &["sqlite:"],
            Tier::Redis => &["redis://", "rediss://"],
            Tier::Kafka => &["kafka://"],
        }
    }

    /// A location of this tier as `--queue`'s help writes it.
    pub fn form(self) -> &'static str {
        match self {
            Tier::Jsonl => "a path, file:PATH",
            Tier::Sqlite => "sqlite:PATH",
            Tier::Redis => "redis://HOST[:PORT][/DB][?stream=NAME]",
            Tier::Kafka => "kafka://HOST:PORT[,...]/TOPIC[?group=NAME]",
        }
    }

    /// A location of this tier to suggest, next to `base` (the current
    /// queue's file, when it is one).
    pub fn example(self, base: &Path) -> String {
        match self {
            Tier::Jsonl => base.with_extension("jsonl").display().to_string(),
            Tier::Sqlite => format!("sqlite:{}", base.with_extension("db").display()),
            Tier::Redis => "redis://127.0.0.1:6379/0?stream=cq".to_string(),
            Tier::Kafka => "kafka://127.0.0.1:9092/cq".to_string(),
        }
    }

    /// Whether independent consumer groups (`--group`) exist here.
    pub fn has_groups(self) -> bool {
        matches!(self, Tier::Redis | Tier::Kafka)
    }

    /// Whether a person reads the queue in a text editor.
    pub fn readable_by_hand(self) -> bool {
        self == Tier::Jsonl
    }

    /// The rubric's durability item, for this tier.
    pub fn durability(self) -> &'static str {
        match self {
            Tier::Jsonl => {
                "What's your tolerance for data loss? A JSONL file on a local disk is as durable as the disk (cq fdatasyncs every append)."
            }
            Tier::Sqlite => {
                "What's your tolerance for data loss? SQLite commits each record durably (WAL, synchronous=FULL), as durable as the disk."
            }
            Tier::Redis => {
                "What's your tolerance for data loss? Redis is in-memory by default: run it with appendonly yes and appendfsync always to keep every push that returned."
            }
            Tier::Kafka => {
                "What's your tolerance for data loss? Kafka with acks=all (what cq asks for) gives replicated durability on a replicated topic."
            }
        }
    }

    /// `--queue`'s help: every tier's form.
    pub fn queue_help() -> String {
        let forms: Vec<&str> = Tier::ALL.iter().map(|t| t.form()).collect();
        format!(
            "Queue: {}; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]",
            or_list(&forms)
        )
    }

    /// The tiers with consumer groups, and their locations, for the
    /// message that refuses `--group` elsewhere.
    pub fn with_groups() -> (String, String) {
        let t: Vec<Tier> = Tier::ALL.into_iter().filter(|t| t.has_groups()).collect();
        let names: Vec<&str> = t.iter().map(|t| t.name()).collect();
        let forms: Vec<&str> = t.iter().map(|t| t.form()).collect();
        (or_list(&names), or_list(&forms))
    }
}

/// `a, b or c`.
fn or_list(items: &[&str]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// How `cq-kafka` opens a Kafka queue; unset in `cq`, which must not link
/// the Kafka client at all (a reference here would).
#[cfg(feature = "kafka")]
static KAFKA: std::sync::OnceLock<OpenKafka> = std::sync::OnceLock::new();
#[cfg(feature = "kafka")]
type OpenKafka = fn(&kafka::Url) -> Box<dyn Store>;

/// Called by `cq-kafka` before anything else.
#[cfg(feature = "kafka")]
pub fn kafka_in_process() {
    let _ = KAFKA.set(|u| Box::new(kafka::KafkaQueue::new(u.clone())));
}

/// `cq` with a `kafka://` queue: becomes `cq-kafka`, next to it, with the
/// same arguments and environment (nothing was read, written or printed
/// yet). Returns only when that fails.
#[cfg(feature = "kafka")]
fn exec_kafka() -> Error {
    use std::os::unix::process::CommandExt;
    let me = std::env::current_exe().ok();
    let helper = me
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("cq-kafka"));
    let Some(helper) = helper else {
        return Error::new("cannot find cq's own executable, next to which cq-kafka is");
    };
    let mut c = std::process::Command::new(&helper);
    c.args(std::env::args_os().skip(1));
    crate::process::keep_callers_signals(&mut c);
    let e = c.exec();
    Error::new(format!(
        "the kafka tier runs in cq-kafka, installed next to cq: cannot run {}: {}",
        helper.display(),
        crate::error::describe_io(&e)
    ))
}

/// The store of the tier `loc` names (in `cq`, a `kafka://` location
/// becomes `cq-kafka` here).
pub fn open_store(loc: &Location) -> Result<Box<dyn Store>> {
    let store: Box<dyn Store> = match loc {
        Location::File(p) => {
            let q = jsonl::JsonlQueue::new(p.clone());
            files::fits_side_names(q.path(), jsonl::SIDE_SUFFIX_MAX, jsonl::SIDE_TAIL_MAX)?;
            Box::new(q)
        }
        #[cfg(feature = "sqlite")]
        Location::Sqlite(p) => {
            // SQLite's own side files: `-journal`, `-wal`, `-shm`.
            files::fits_side_names(p, "-journal".len(), "-journal".len())?;
            Box::new(sqlite::SqliteQueue::new(p.clone()))
        }
        #[cfg(not(feature = "sqlite"))]
        Location::Sqlite(_) => return Err(not_built("SQLite", "sqlite")),
        #[cfg(feature = "redis")]
        Location::Redis(u) => Box::new(redis::RedisQueue::new(u.clone())),
        #[cfg(feature = "kafka")]
        Location::Kafka(u) => match KAFKA.get() {
            Some(open) => open(u),
            None => return Err(exec_kafka()),
        },
    };
    Ok(store)
}

/// A queue on a tier this build left out (Kafka is off by default: its C
/// client was most of a `cargo install`'s time): what to type to get it.
/// A usage error, raised before anything is opened.
fn not_built(tier: &str, feature: &str) -> Error {
    Error::usage(format!(
        "this cq was built without the {tier} tier; install it with: cargo install --locked --path . --features {feature} (in cq's source directory)"
    ))
}

/// A path as given, with a leading `~/` (or a lone `~`) read as the home
/// directory, as the shell would have: a quoted `sqlite:~/q.db` once made
/// a directory named `~` in the working directory. `~user` is refused.
fn home_path(p: &[u8]) -> Result<PathBuf> {
    if !p.starts_with(b"~") {
        return Ok(PathBuf::from(OsStr::from_bytes(p)));
    }
    let rest = &p[1..];
    if !(rest.is_empty() || rest.starts_with(b"/")) {
        return Err(Error::usage(
            "a queue path starting with ~user is not expanded: give the home directory's path",
        ));
    }
    match crate::config::get().home.clone() {
        Some(h) => {
            let mut full = h.into_encoded_bytes();
            full.extend_from_slice(rest);
            Ok(PathBuf::from(OsStr::from_bytes(&full)))
        }
        None => Err(Error::usage(
            "a queue path starts with ~ but HOME is not set: give the full path",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is said about the tiers is built from `Tier`, word for word as
    /// it was written by hand.
    #[test]
    fn tier_prose() {
        assert_eq!(
            Tier::queue_help(),
            "Queue: a path, file:PATH, sqlite:PATH, redis://HOST[:PORT][/DB][?stream=NAME] or kafka://HOST:PORT[,...]/TOPIC[?group=NAME]; a leading WORD: is a scheme, so a file whose name holds a colon is ./NAME or file:NAME [default: $XDG_STATE_HOME/cq/queue.jsonl]"
        );
        let e = Location::parse(OsStr::new("ftp://h/q")).unwrap_err();
        assert!(
            e.msg.ends_with("a queue is a path, file:PATH, sqlite:PATH, redis://, rediss:// or kafka:// (a file whose name holds a colon: ./NAME or file:NAME)"),
            "{}",
            e.msg
        );
        assert_eq!(Tier::with_groups().0, "redis or kafka");
        assert_eq!(
            Tier::Sqlite.example(Path::new("/s/q.jsonl")),
            "sqlite:/s/q.db"
        );
    }

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse(OsStr::new("file:/a/b")).unwrap(),
            Location::File("/a/b".into())
        );
        assert_eq!(
            Location::parse(OsStr::new("q.jsonl")).unwrap(),
            Location::File("q.jsonl".into())
        );
        for bad in ["Redis://h/0", "reddis://h", "ftp://h/q", "KAFKA://h:1/t"] {
            let e = Location::parse(OsStr::new(bad)).unwrap_err();
            assert_eq!(e.code, crate::error::code::USAGE, "{bad}");
        }
        let e = Location::parse(OsStr::new("Redis://h/0")).unwrap_err();
        assert!(e.msg.contains("did you mean redis://"), "{}", e.msg);
        // `word:` at the start is a scheme, whatever follows: one slash, a
        // case, no slash at all. A colon after a slash is a file's.
        for (bad, hint) in [
            ("SQLITE:/x.db", "did you mean sqlite:"),
            ("kafka:/h:9092/t", "did you mean kafka://"),
            ("redis:h", "did you mean redis://"),
            ("File:q", "did you mean file:"),
            ("notes:q.jsonl", "./NAME or file:NAME"),
        ] {
            let e = Location::parse(OsStr::new(bad)).unwrap_err();
            assert_eq!(e.code, crate::error::code::USAGE, "{bad}");
            assert!(e.msg.contains(hint), "{bad}: {}", e.msg);
        }
        for good in [
            "./notes:q",
            "file:notes:q",
            "/a/b:c",
            "2026-01-01T10:00.jsonl",
        ] {
            assert!(
                matches!(Location::parse(OsStr::new(good)), Ok(Location::File(_))),
                "{good}"
            );
        }
        // A relative path with "://" further in is still a path.
        assert!(matches!(
            Location::parse(OsStr::new("./a://b")).unwrap(),
            Location::File(_)
        ));
        let e = Location::parse(OsStr::new("kafka://u:hunter2@h/0")).unwrap_err();
        assert!(!e.msg.contains("hunter2"));
        #[cfg(feature = "kafka")]
        assert!(matches!(
            Location::parse(OsStr::new("kafka://h:9092/jobs")).unwrap(),
            Location::Kafka(_)
        ));
    }
}
