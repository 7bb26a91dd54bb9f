//! Facts about processes and this machine, read once or cheaply: whether a
//! pid exists, when a process started, the boot, the host name.

use rustix::process::Pid;

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
fn hostname() -> String {
    // gethostname(2) is uname's nodename on Linux.
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
