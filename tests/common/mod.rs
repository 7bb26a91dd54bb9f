//! Helpers shared by the integration tests: a private queue per test, the
//! real cq binary, and reading the queue file back.
#![allow(dead_code)]

pub mod hosts;

/// `tiered!(test_a, test_b)`: each `fn test_a(tier: Tier)` becomes one
/// test per tier (`jsonl::test_a`, `sqlite::test_a`, `redis::test_a`,
/// `kafka::test_a`), Redis and Kafka skipping, saying why, without their
/// server (a failure under CQ_NO_SKIP). The Kafka ones exist only in a
/// build with the `kafka` feature (`cargo test --all-features`). A test
/// file takes it with `#[macro_use] mod common;`.
#[allow(unused_macros)]
macro_rules! tiered {
    ($($test:ident),* $(,)?) => {
        mod jsonl {
            $( #[test] fn $test() { super::$test(super::Tier::Jsonl) } )*
        }
        mod sqlite {
            $( #[test] fn $test() { super::$test(super::Tier::Sqlite) } )*
        }
        mod redis {
            $( #[test] fn $test() {
                if !crate::common::have("redis-server") {
                    return crate::common::skip(stringify!($test), "redis-server is not installed");
                }
                super::$test(super::Tier::Redis)
            } )*
        }
        #[cfg(feature = "kafka")]
        mod kafka {
            $( #[test] fn $test() {
                if !crate::common::have("tansu") {
                    return crate::common::skip(stringify!($test), "tansu (a Kafka-protocol broker) is not installed");
                }
                super::$test(super::Tier::Kafka)
            } )*
        }
    };
}

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub const CQ: &str = env!("CARGO_BIN_EXE_cq");

pub struct Env {
    /// A private redis-server for the Redis tier, stopped with the Env.
    pub redis: Option<RedisServer>,
    /// A private Kafka-protocol broker (tansu) for the Kafka tier.
    pub kafka: Option<KafkaServer>,
    pub dir: TempDir,
    /// The queue file (JSONL tier) or database (SQLite tier).
    pub queue: PathBuf,
    /// What CQ_QUEUE says.
    pub location: String,
    /// Fails the test run, naming the test, when it outlives its time.
    pub watchdog: Watchdog,
}

/// The tiers every tier-parametrised test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Jsonl,
    Sqlite,
    Redis,
    Kafka,
}

impl Env {
    pub fn new() -> Env {
        Env::tier(Tier::Jsonl)
    }

    pub fn tier(tier: Tier) -> Env {
        let watchdog = Watchdog::start(DEFAULT_LIMIT);
        let dir = tempfile::tempdir().expect("tempdir");
        let (queue, location) = match tier {
            Tier::Jsonl => {
                let q = dir.path().join("state/queue.jsonl");
                let l = q.display().to_string();
                (q, l)
            }
            Tier::Sqlite => {
                let q = dir.path().join("state/queue.db");
                let l = format!("sqlite:{}", q.display());
                (q, l)
            }
            Tier::Redis => {
                let server = RedisServer::start().expect("redis-server did not start");
                let l = format!(
                    "redis://127.0.0.1:{}/0?stream={}",
                    server.port,
                    unique_name(&dir)
                );
                return Env {
                    redis: Some(server),
                    kafka: None,
                    queue: dir.path().join("no-file"),
                    dir,
                    location: l,
                    watchdog,
                };
            }
            Tier::Kafka => {
                let server = KafkaServer::start().expect("tansu did not start");
                let l = format!("kafka://127.0.0.1:{}/{}", server.port, unique_name(&dir));
                return Env {
                    redis: None,
                    kafka: Some(server),
                    queue: dir.path().join("no-file"),
                    dir,
                    location: l,
                    watchdog,
                };
            }
        };
        Env {
            redis: None,
            kafka: None,
            dir,
            queue,
            location,
            watchdog,
        }
    }

    /// `cq` with this test's queue, run from the test's directory; a cq
    /// that crashes (dies of SIGSEGV, SIGABRT, ...) fails the test with the
    /// signal and its stderr.
    pub fn cq(&self) -> Cq {
        let mut c = assert_cmd::Command::new(CQ);
        c.env("CQ_QUEUE", &self.location)
            .env_remove("CQ_NAME")
            .env_remove("CQ_OUTPUT_DIR")
            .env_remove("CQ_ID")
            .current_dir(self.dir.path());
        self.hygiene(&mut c);
        Cq(c)
    }

    /// The same as a std Command, for processes the test spawns and signals.
    pub fn cq_std(&self) -> Command {
        let mut c = Command::new(CQ);
        c.env("CQ_QUEUE", &self.location)
            .env_remove("CQ_NAME")
            .env_remove("CQ_OUTPUT_DIR")
            .env_remove("CQ_ID")
            .current_dir(self.dir.path());
        self.hygiene(&mut c);
        c
    }

    /// What every cq a test runs gets: none of the variables cq reads from
    /// the developer's shell, and a state directory of the test's own (cq
    /// keeps side files under it, e.g. Kafka's pull-turn locks), so that no
    /// test writes to the real HOME.
    fn hygiene<C: EnvSet>(&self, c: &mut C) {
        for var in [
            // The suite's own switches: cq never reads them, and a handler
            // cq runs must not see them either.
            "CQ_NO_SKIP",
            "CQ_STRESS",
            "CQ_HOST",
            "CQ_LEASE_TTL",
            "CQ_REDIS_CA",
            "CQ_KAFKA_DEBUG",
            "CQ_META_FILE",
            "NO_COLOR",
        ] {
            c.unset(var);
        }
        c.set("XDG_STATE_HOME", &self.dir.path().join("xdg-state"));
        // Where `cq meta` files go: the test's own directory.
        c.set("TMPDIR", self.dir.path());
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.queue).unwrap_or_default()
    }

    /// Every line of the queue file parsed as JSON (panics on a bad line).
    pub fn records(&self) -> Vec<Value> {
        parse_lines(&self.text())
    }

    /// Every record, read through `cq list --json` (any tier).
    pub fn listed(&self) -> Vec<Value> {
        let out = self.cq().args(["list", "--json"]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        parse_lines(&stdout_of(&out))
    }

    /// Starts a `--follow` of some kind, with its stdout as lines read
    /// with a deadline.
    pub fn follow(&self, args: &[&str]) -> (std::process::Child, Lines) {
        let mut child = self
            .cq_std()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Lines::of(
            child.stdout.take().unwrap(),
            &format!("cq {}", args.join(" ")),
        );
        (child, lines)
    }

    /// Waits (5 s at most) until no record is pending.
    pub fn await_no_pending(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let out = self
                .cq()
                .args(["list", "--pending", "--count"])
                .output()
                .unwrap();
            if stdout_of(&out) == "0\n" {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "records stayed pending"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn push(&self, name: &str, code: i32) {
        self.cq()
            .args(["push", "-n", name, "-e", &code.to_string()])
            .assert()
            .success();
    }
}

/// A stream or topic name of the test's own (from its temporary
/// directory's unique name): were two tests ever to reach one server,
/// they would still not see each other's records.
fn unique_name(dir: &TempDir) -> String {
    let tail: String = dir
        .path()
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("cq-test-{tail}")
}

/// A child's output, line by line, each awaited for 20 s at most: a line
/// that never comes fails the test saying whose line it waited for.
pub struct Lines {
    rx: std::sync::mpsc::Receiver<std::io::Result<String>>,
    what: String,
}

impl Lines {
    pub fn of(from: impl std::io::Read + Send + 'static, what: &str) -> Lines {
        use std::io::BufRead;
        let (tx, rx) = std::sync::mpsc::channel();
        // The thread ends with the stream (the child exits or is killed).
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(from).lines() {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Lines {
            rx,
            what: what.to_string(),
        }
    }

    /// The next line; fails the test when none comes within 20 s or the
    /// stream ends.
    pub fn next_line(&mut self) -> String {
        self.next_within(std::time::Duration::from_secs(20))
    }

    pub fn next_within(&mut self, limit: std::time::Duration) -> String {
        use std::sync::mpsc::RecvTimeoutError;
        match self.rx.recv_timeout(limit) {
            Ok(l) => l.unwrap_or_else(|e| panic!("reading {}: {e}", self.what)),
            Err(RecvTimeoutError::Timeout) => {
                panic!("no line from {} within {limit:?}", self.what)
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("{} ended its output before the line awaited", self.what)
            }
        }
    }
}

/// How long a test may run before its watchdog ends the test binary.
pub const DEFAULT_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// A per-test deadline: when the test outlives it, the watchdog says which
/// test it was, SIGKILLs every process the test binary started (servers,
/// stuck cq's) and aborts the binary, so that CI fails with a name instead
/// of running into its own limit. Dropping it (the test ended) disarms it.
/// `CQ_STRESS=N` multiplies every limit.
pub struct Watchdog(std::sync::mpsc::Sender<std::time::Duration>);

impl Watchdog {
    /// Armed for `limit`, named after the current test (libtest names
    /// each test's thread after it; with one test thread, run in the
    /// main thread, the name is the binary's).
    pub fn start(limit: std::time::Duration) -> Watchdog {
        let name = std::thread::current()
            .name()
            .filter(|n| *n != "main")
            .map(str::to_string)
            .unwrap_or_else(|| {
                std::env::args()
                    .next()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
        let (tx, rx) = std::sync::mpsc::channel::<std::time::Duration>();
        let started = std::time::Instant::now();
        let scale = stress() as u32;
        std::thread::spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            let mut limit = limit * scale;
            loop {
                let left = limit.saturating_sub(started.elapsed());
                match rx.recv_timeout(left) {
                    Ok(new) => limit = new * scale,
                    Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => {
                        // Straight to fd 2: eprintln! in a test's thread
                        // goes to libtest's capture, lost with the abort.
                        use std::io::Write;
                        let _ = writeln!(
                            std::io::stderr(),
                            "\nWATCHDOG: test {name} still running after {:.0?}: killing what it started and aborting",
                            started.elapsed()
                        );
                        kill_descendants(std::process::id());
                        std::process::abort();
                    }
                }
            }
        });
        Watchdog(tx)
    }

    /// Gives the test `limit` in all (from the watchdog's start) instead.
    pub fn allow(&self, limit: std::time::Duration) {
        let _ = self.0.send(limit);
    }
}

/// Runs `f` (a blocking read, a wait) on a thread of its own and returns
/// what it returns; fails the test, saying `what` it waited for, when that
/// takes longer than `limit`. (The stuck thread is left behind, blocked on
/// a pipe or a child of the failed test.)
pub fn within<T: Send + 'static>(
    limit: std::time::Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: still waiting after {limit:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: failed (the panic above)"),
    }
}

/// Waits for a child of the test's own for `limit` at most; a child that
/// is still running then is SIGKILLed and the test fails, saying `what`
/// it waited for.
pub fn wait_within(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}, killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits (5 s at most) until process `pid` has been asleep for three
/// looks in a row, 30 ms apart: a `--wait` that has started waiting rather
/// than still starting up. Only a likelihood (a process also sleeps on a
/// read of its own); tests use it to make the case they want likely, never
/// to decide what is right.
pub fn until_asleep(pid: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut asleep = 0;
    while asleep < 3 && std::time::Instant::now() < deadline {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.trim_start().starts_with('S'))
            });
        asleep = if state == Some(true) { asleep + 1 } else { 0 };
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
}

/// SIGKILLs every descendant of `pid` (children first found, then theirs).
fn kill_descendants(pid: u32) {
    for child in children_of(pid) {
        // Stop it first, so that it spawns nothing more while its own
        // children are killed.
        // SAFETY: kill has no memory-safety conditions.
        unsafe { libc::kill(child, libc::SIGSTOP) };
        kill_descendants(child as u32);
        // SAFETY: as above.
        unsafe { libc::kill(child, libc::SIGKILL) };
    }
}

pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// Names in one puller's output; a killed puller may end mid-line (only
/// there, and only unterminated), anything else torn fails the test.
pub fn delivered(out: &[u8], killed: bool) -> Vec<String> {
    let text = String::from_utf8_lossy(out);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut names = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match serde_json::from_str::<Value>(l) {
            Ok(v) => names.push(v["name"].as_str().unwrap().to_string()),
            Err(e) => assert!(
                killed && i + 1 == lines.len() && !l.ends_with('\n'),
                "torn output line from a puller {l:?}: {e}"
            ),
        }
    }
    names
}

/// `cq pull --json` SIGKILLed `after` its start (if still running then).
/// A `cq pull --json` SIGKILLed as soon as it printed its first byte (or
/// after 2 s without one): the kill lands mid-delivery however slowly a
/// loaded machine starts cq, which a kill at a random moment may never do.
/// A pull that printed nothing and ended is not killed.
pub fn pull_killed_at_first_output(env: &Env) -> std::process::Output {
    use std::io::Read;
    let mut child = env
        .cq_std()
        .args(["pull", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut first = [0u8; 1];
        let n = out.read(&mut first).unwrap_or(0);
        let _ = tx.send(());
        let mut all = first[..n].to_vec();
        let _ = out.read_to_end(&mut all);
        all
    });
    let _ = rx.recv_timeout(std::time::Duration::from_secs(2));
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    std::process::Output {
        status,
        stdout,
        stderr: Vec::new(),
    }
}

pub fn pull_killed_after(env: &Env, after: std::time::Duration) -> std::process::Output {
    let child = env
        .cq_std()
        .args(["pull", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait_with_output().unwrap()
}

pub fn names(recs: &[Value]) -> Vec<String> {
    recs.iter()
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect()
}

pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Whether a program is on PATH; tests that need it skip, saying so, when not.
pub fn have(prog: &str) -> bool {
    which(prog).is_some()
}

pub fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

/// Says why a test is skipped. Under `CQ_NO_SKIP` (any non-empty value;
/// .ci/run sets it after installing everything) a skip is a failure
/// instead.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("CQ_NO_SKIP").is_some_and(|v| !v.is_empty()) {
        panic!("{test} would be skipped ({why}), and CQ_NO_SKIP forbids skips");
    }
    eprintln!("SKIPPED: {test}: {why}");
}

/// `CQ_STRESS=N`: how many times longer or bigger the long loops run
/// (default 1).
pub fn stress() -> usize {
    std::env::var("CQ_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// A loopback port nobody listens on (yet).
pub fn free_port() -> Option<u16> {
    Some(
        std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port(),
    )
}

fn connects(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Whether a Redis on `port` answers PING.
fn pings(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Whether process `pid` holds a TCP socket listening on `port` (read
/// from /proc: the listening sockets' inodes, then the process's fds).
pub fn listens(pid: u32, port: u16) -> bool {
    let want = format!(":{port:04X}");
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    // local address, state 0A (LISTEN), inode
                    (f.len() > 9 && f[1].ends_with(&want) && f[3] == "0A")
                        .then(|| format!("socket:[{}]", f[9]))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten().any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
            })
        })
        .unwrap_or(false)
}

/// A server process of a test's own, killed and reaped when dropped, also
/// when the test fails.
pub struct Daemon(std::process::Child);

impl Daemon {
    /// Spawns `cmd` (output discarded) and waits up to 10 s until it is
    /// the process listening on `port` and `up` holds; None when it exits
    /// first or never does. Another test's server on the same port (a
    /// free port is free only until someone binds it) is never adopted:
    /// the listening socket must be this process's own.
    fn start(cmd: &mut Command, port: u16, up: impl Fn() -> bool) -> Option<Daemon> {
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let mut d = Daemon(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = d.0.try_wait() {
                return None;
            }
            if listens(d.0.id(), port) && up() {
                return Some(d);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// Stops it now (a server that goes away mid-run).
    pub fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A redis-server of the test's own on a free loopback port, stopped (and
/// its data gone) when dropped.
pub struct RedisServer {
    daemon: Daemon,
    pub port: u16,
    _dir: TempDir,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        Self::start_with(&[], false)
    }

    /// With extra arguments; `tls` puts the port in `--tls-port` (then
    /// readiness is a TCP connect, not a PING).
    pub fn start_with(extra: &[&str], tls: bool) -> Option<RedisServer> {
        which("redis-server")?;
        for _ in 0..5 {
            let dir = tempfile::tempdir().ok()?;
            let port = free_port()?;
            let (plain, secure) = if tls { (0, port) } else { (port, 0) };
            let daemon = Daemon::start(
                Command::new("redis-server")
                    .args(["--port", &plain.to_string()])
                    .args(["--tls-port", &secure.to_string()])
                    .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                    .args(extra)
                    .arg("--dir")
                    .arg(dir.path()),
                port,
                || if tls { connects(port) } else { pings(port) },
            );
            if let Some(daemon) = daemon {
                return Some(RedisServer {
                    daemon,
                    port,
                    _dir: dir,
                });
            }
        }
        None
    }

    /// Stops the server now.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }

    /// A redis-server speaking only TLS, with a certificate from a CA of
    /// the test's own (made in `dir`), and `extra` arguments; with the CA's
    /// path.
    pub fn start_tls(dir: &Path, extra: &[&str]) -> Option<(RedisServer, String)> {
        let (cert, key, ca) = test_certificates(dir);
        let mut args = vec![
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-ca-cert-file",
            &ca,
            "--tls-auth-clients",
            "no",
        ];
        args.extend_from_slice(extra);
        let server = Self::start_with(&args, true)?;
        Some((server, ca))
    }
}

/// A Kafka-protocol broker of the test's own: tansu, in memory, on a free
/// loopback port, stopped when dropped.
pub struct KafkaServer {
    daemon: Daemon,
    pub port: u16,
}

impl KafkaServer {
    pub fn start() -> Option<KafkaServer> {
        Self::start_advertising(None)
    }

    /// A broker that tells clients to reach it at `advertised` (a TLS
    /// proxy in front of it), or at its own port.
    pub fn start_advertising(advertised: Option<u16>) -> Option<KafkaServer> {
        which("tansu")?;
        for _ in 0..5 {
            let port = free_port()?;
            let url = format!("tcp://127.0.0.1:{port}");
            let shown = format!("tcp://127.0.0.1:{}", advertised.unwrap_or(port));
            let daemon = Daemon::start(
                Command::new("tansu")
                    .args(["broker", "--listener-url", &url])
                    .args(["--advertised-listener-url", &shown])
                    .args(["--storage-engine", "memory://tansu/"]),
                port,
                || connects(port),
            );
            if let Some(daemon) = daemon {
                return Some(KafkaServer { daemon, port });
            }
        }
        None
    }

    /// Stops the broker now.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid()
    }
}

/// A CA of our own in `dir`, and a certificate for 127.0.0.1 it signed:
/// the paths of (certificate, key, CA certificate). Needs openssl.
pub fn test_certificates(dir: &Path) -> (String, String, String) {
    let ssl = |args: &str| {
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!("openssl {args} 2>/dev/null"))
            .current_dir(dir)
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args}");
    };
    ssl(
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=cq test CA'",
    );
    ssl("req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1");
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    ssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf",
    );
    let path = |f: &str| dir.join(f).display().to_string();
    (path("server.pem"), path("server.key"), path("ca.pem"))
}

/// stunnel accepting TLS on `port` for a plain server on `to`; stopped on
/// drop.
pub fn stunnel(dir: &Path, port: u16, to: u16, cert: &str, key: &str) -> Option<Daemon> {
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\n[tls]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{to}\ncert = {cert}\nkey = {key}\n"
        ),
    )
    .ok()?;
    let bin = which("stunnel4").or_else(|| which("stunnel"))?;
    Daemon::start(Command::new(bin).arg(&conf), port, || connects(port))
}

/// The signals cq never dies of on purpose (`cq wrap` re-raises its
/// child's signal, but no test's child dies of these): a death by one is a
/// crash of cq itself.
const CRASHES: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSYS,
    libc::SIGTRAP,
];

/// Fails the test when cq crashed, saying with which signal and what cq
/// printed on stderr (an assertion on the exit code alone would only say
/// "no code").
pub fn no_crash(what: &str, status: std::process::ExitStatus, stderr: &[u8]) {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal().filter(|s| CRASHES.contains(s)) {
        panic!(
            "{what} died of signal {sig}{}; its stderr:\n{}",
            if status.core_dumped() {
                " (core dumped)"
            } else {
                ""
            },
            String::from_utf8_lossy(stderr)
        );
    }
}

/// `assert_cmd::Command` for cq, checking every run for a crash.
pub struct Cq(assert_cmd::Command);

impl Cq {
    pub fn arg(&mut self, a: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.0.arg(a);
        self
    }
    pub fn args<I, S>(&mut self, a: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.0.args(a);
        self
    }
    pub fn env(
        &mut self,
        k: impl AsRef<std::ffi::OsStr>,
        v: impl AsRef<std::ffi::OsStr>,
    ) -> &mut Self {
        self.0.env(k, v);
        self
    }
    pub fn env_remove(&mut self, k: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.0.env_remove(k);
        self
    }
    pub fn current_dir(&mut self, d: impl AsRef<Path>) -> &mut Self {
        self.0.current_dir(d);
        self
    }
    pub fn write_stdin(&mut self, b: impl Into<Vec<u8>>) -> &mut Self {
        self.0.write_stdin(b);
        self
    }
    pub fn timeout(&mut self, t: std::time::Duration) -> &mut Self {
        self.0.timeout(t);
        self
    }
    pub fn output(&mut self) -> std::io::Result<std::process::Output> {
        let out = self.0.output()?;
        no_crash(&format!("{:?}", self.0), out.status, &out.stderr);
        Ok(out)
    }
    pub fn assert(&mut self) -> assert_cmd::assert::Assert {
        use assert_cmd::assert::OutputAssertExt;
        self.output().expect("cq could not be run").assert()
    }
}

/// The two kinds of command a test builds cq with.
pub trait EnvSet {
    fn set(&mut self, k: &str, v: &Path);
    fn unset(&mut self, k: &str);
}

impl EnvSet for Command {
    fn set(&mut self, k: &str, v: &Path) {
        self.env(k, v);
    }
    fn unset(&mut self, k: &str) {
        self.env_remove(k);
    }
}

impl EnvSet for assert_cmd::Command {
    fn set(&mut self, k: &str, v: &Path) {
        self.env(k, v);
    }
    fn unset(&mut self, k: &str) {
        self.env_remove(k);
    }
}

/// The children of a process of the test's own (read before killing it:
/// a SIGKILLed wrapper leaves its job running, and only the test that
/// started it may end it; never `pkill` by name, other tests run alike).
pub fn children_of(pid: u32) -> Vec<i32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .flat_map(|c| {
                    c.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect::<Vec<i32>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// SIGKILLs the given processes of the test's own.
pub fn kill_all(pids: &[i32]) {
    for &pid in pids {
        // SAFETY: kill has no memory-safety conditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Kafka over TLS: tansu behind stunnel, tansu advertising stunnel's port
/// so that every connection cq makes is TLS. Stopped when dropped.
pub struct KafkaTls {
    _kafka: KafkaServer,
    _tunnel: Daemon,
    pub port: u16,
    /// The CA that signed the tunnel's certificate.
    pub ca: String,
}

impl KafkaTls {
    pub fn start(dir: &Path) -> KafkaTls {
        let (cert, key, ca) = test_certificates(dir);
        let port = free_port().unwrap();
        let kafka = KafkaServer::start_advertising(Some(port)).expect("tansu did not start");
        let tunnel = stunnel(dir, port, kafka.port, &cert, &key).expect("stunnel did not start");
        KafkaTls {
            _kafka: kafka,
            _tunnel: tunnel,
            port,
            ca,
        }
    }
}

/// Another program holding a lock of the queue's until dropped: flock(1)
/// on a lock file, or sqlite3 inside `BEGIN EXCLUSIVE`. Started only once
/// it says the lock is held (a line on its stdout, waited for 10 s at
/// most), never after a guessed sleep.
pub struct LockHolder(std::process::Child);

impl LockHolder {
    /// flock(1) holding `lock` exclusively.
    pub fn flock(lock: &Path) -> LockHolder {
        let mut c = Command::new("flock");
        c.arg("-x").arg(lock).args(["sh", "-c", "echo held; cat"]);
        LockHolder::start(c, b"")
    }

    /// sqlite3 holding `db`'s write lock.
    pub fn sqlite(db: &Path) -> LockHolder {
        let mut c = Command::new("sqlite3");
        c.arg(db);
        LockHolder::start(c, b"BEGIN EXCLUSIVE;\nSELECT 'held';\n")
    }

    fn start(mut c: Command, script: &[u8]) -> LockHolder {
        use std::io::{BufRead, Write};
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the lock holder starts");
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(script).unwrap();
        stdin.flush().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let said = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(
            said.as_deref().map(str::trim),
            Ok("held"),
            "the lock holder never held the lock"
        );
        LockHolder(child)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}
