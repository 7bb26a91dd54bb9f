//! Hosts for tests: network namespaces on a bridge, each host with its own
//! host name and pid space, so that "another host" is not a pretence
//! (`CQ_HOST` on one machine) but a machine's worth of isolation.
//!
//! A [`Net`] has a switch namespace holding a bridge, and one namespace per
//! host, joined to the bridge by a veth pair, at 10.231.0.N/24: an address
//! range used only inside these namespaces (each `Net` has its own switch,
//! so tests running at once do not meet). Each host runs an init process
//! under `unshare --uts --pid --mount --fork --mount-proc` (its host name,
//! its pids, its /proc); commands enter all of its namespaces with
//! `nsenter`. Nothing is created in the machine's own network namespace.
//! Dropping the `Net` kills each host's init (which ends every process of
//! that host) and deletes the namespaces, also when a test fails.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Host {
    pub name: String,
    /// The host's address on the bridge.
    pub addr: String,
    ns: String,
    /// The switch's end of the host's cable.
    port: String,
    init: Child,
    /// The init's pid as seen from here: what nsenter enters.
    init_pid: i32,
}

pub struct Net {
    switch: String,
    pub hosts: Vec<Host>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Why hosts cannot be built here, if they cannot (no iproute2, no
/// permission to make namespaces).
pub fn unavailable() -> Option<String> {
    // Probed once per test process (tests run in parallel threads).
    static WHY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    WHY.get_or_init(|| {
        for tool in ["ip", "unshare", "nsenter"] {
            if super::which(tool).is_none() {
                return Some(format!("{tool} is not installed (iproute2, util-linux)"));
            }
        }
        let probe = format!("cqt-probe-{}", std::process::id());
        match ip(&["netns", "add", &probe]) {
            Ok(()) => {
                let _ = ip(&["netns", "del", &probe]);
                None
            }
            Err(e) => Some(format!("cannot create network namespaces: {e}")),
        }
    })
    .clone()
}

/// Namespaces left by a test process that was killed (SIGKILL runs no
/// destructor): deleted, with their processes, by the next run.
fn sweep_stale() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
            return;
        };
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let ns = line.split_whitespace().next().unwrap_or_default();
            let Some(owner) = ns
                .strip_prefix("cqt-")
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if std::path::Path::new(&format!("/proc/{owner}")).exists() {
                continue;
            }
            let pids = Command::new("ip").args(["netns", "pids", ns]).output();
            for pid in pids
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
            {
                // SAFETY: kill has no memory-safety conditions; these are
                // the processes of a dead test's own namespace.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = ip(&["netns", "del", ns]);
        }
    });
}

impl Net {
    /// Hosts named `names`, at 10.231.0.1, .2, ... in that order.
    pub fn new(names: &[&str]) -> Result<Net, String> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        sweep_stale();
        let tag = format!(
            "cqt-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let switch = format!("{tag}-sw");
        ip(&["netns", "add", &switch])?;
        let mut net = Net {
            switch: switch.clone(),
            hosts: Vec::new(),
        };
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &switch, "link", "set", "br0", "up"])?;
        for (i, name) in names.iter().enumerate() {
            let ns = format!("{tag}-{name}");
            ip(&["netns", "add", &ns])?;
            let port = format!("p{i}");
            let addr = format!("10.231.0.{}", i + 1);
            ip(&[
                "-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ])?;
            ip(&["-n", &switch, "link", "set", &port, "master", "br0", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            let init = Command::new("ip")
                .args(["netns", "exec", &ns, "unshare", "--uts", "--pid", "--mount"])
                .args([
                    "--fork",
                    "--mount-proc",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                ])
                .arg(format!("hostname {name} && exec sleep 100000"))
                .stdin(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start host {name}: {e}"))?;
            let unshare = init.id();
            // unshare forks the init; its pid out here is unshare's child.
            let deadline = Instant::now() + Duration::from_secs(5);
            let init_pid = loop {
                let kids = super::children_of(unshare);
                if let Some(&pid) = kids.first()
                    && std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim() == "sleep")
                {
                    break pid;
                }
                if Instant::now() > deadline {
                    return Err(format!("host {name} did not start"));
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            net.hosts.push(Host {
                name: name.to_string(),
                addr,
                ns,
                port,
                init,
                init_pid,
            });
        }
        Ok(net)
    }

    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name}"))
    }

    /// `prog args...` on `host`: in its network, UTS, pid and mount
    /// namespaces, with the test's environment.
    pub fn on(&self, host: &str, prog: impl AsRef<std::ffi::OsStr>) -> Command {
        let h = self.host(host);
        let mut c = Command::new("nsenter");
        c.args(["-t", &h.init_pid.to_string(), "-n", "-u", "-p", "-m", "--"])
            .arg(prog);
        c
    }

    /// Unplugs `host`'s cable: nothing reaches it, nothing leaves it.
    pub fn cut(&self, host: &str) {
        let p = &self.host(host).port;
        ip(&["-n", &self.switch, "link", "set", p, "down"]).expect("cut");
    }

    /// Plugs it back in.
    pub fn heal(&self, host: &str) {
        let p = &self.host(host).port;
        ip(&["-n", &self.switch, "link", "set", p, "up"]).expect("heal");
    }

    /// The pid, as seen from here, of the first process descending from
    /// `parent` (an nsenter this test started) whose name starts with
    /// `prog` (`cq` also finds `cq-kafka`, which cq becomes for Kafka).
    pub fn pid_of(&self, parent: u32, prog: &str) -> Option<i32> {
        let mut todo = vec![parent as i32];
        while let Some(p) = todo.pop() {
            for kid in super::children_of(p as u32) {
                let comm = std::fs::read_to_string(format!("/proc/{kid}/comm")).unwrap_or_default();
                if comm.trim().starts_with(prog) {
                    return Some(kid);
                }
                todo.push(kid);
            }
        }
        None
    }

    /// Waits until something on `host` accepts TCP connections at
    /// `addr:port`.
    pub fn await_port(&self, host: &str, addr: &str, port: u16) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let ok = self
                .on(host, "bash")
                .arg("-c")
                .arg(format!("exec 3<>/dev/tcp/{addr}/{port}"))
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            // SAFETY: kill has no memory-safety conditions; the pid is the
            // init of a pid namespace of this test's own: its death ends
            // every process of that host.
            unsafe { libc::kill(h.init_pid, libc::SIGKILL) };
            let _ = h.init.kill();
            let _ = h.init.wait();
            let _ = ip(&["netns", "del", &h.ns]);
        }
        let _ = ip(&["netns", "del", &self.switch]);
    }
}
