//! cq's descriptors: the standard three kept taken, and the caller's that
//! CMD inherits.

/// The descriptors above 2 this process has open.
pub fn open_fds() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .filter(|&fd| fd > 2)
                .collect()
        })
        .unwrap_or_default()
}

/// The caller's descriptors that CMD inherits, noted before a client
/// library could open any (`note_inherited_fds`); unset, nothing is
/// changed.
pub(super) static INHERITED: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();

/// Notes the descriptors this wrapper inherited without close-on-exec
/// (those CMD must inherit too), but `consumed` (cq's own ready pipe):
/// called before the queue is opened where its client (librdkafka, whose
/// threads open descriptors of their own at any moment, without
/// close-on-exec) would leak them into CMD.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub fn note_inherited_fds(consumed: Option<i32>) {
    let fds = open_fds()
        .into_iter()
        // Not the listing's own descriptor (gone now: no fdinfo).
        .filter(|&fd| Some(fd) != consumed && cloexec(fd) == Some(false))
        .collect();
    let _ = INHERITED.set(fds);
}

/// Whether a descriptor of this process is close-on-exec (fdinfo's
/// "flags:", octal open flags: O_CLOEXEC is 02000000); None when it is
/// not open.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
fn cloexec(fd: i32) -> Option<bool> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .map(|f| f & 0o2000000 != 0)
}

/// Gives each closed standard fd (0, 1, 2) /dev/null, opened read-only;
/// says whether stdout was closed. cq's own files must never take those
/// numbers: with stdout closed, the lock file opened next became fd 1, and
/// a pull printed its records into it and marked them pulled. Read-only,
/// a write to the stand-in fails (EBADF) instead of landing anywhere, and
/// close-on-exec, so CMD under `cq wrap` finds the fd closed as it was.
/// (The Rust runtime does this too, read-write; cq skips that runtime.)
pub fn reserve_std_fds() -> bool {
    let mut stdout_closed = false;
    use rustix::fs::{Mode, OFlags};
    use rustix::stdio::{stderr, stdin, stdout};
    let std_fds = [stdin(), stdout(), stderr()];
    for (n, fd) in std_fds.into_iter().enumerate() {
        if rustix::io::fcntl_getfd(fd) == Err(rustix::io::Errno::BADF) {
            stdout_closed |= n == 1;
            // The lowest free fd is this one, as 0..n are open by now; it
            // stays open for the life of the process on purpose.
            if let Ok(null) =
                rustix::fs::open("/dev/null", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            {
                std::mem::forget(null);
            }
        }
    }
    stdout_closed
}
