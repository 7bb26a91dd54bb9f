//! Words on the terminal about work in progress: what cq waits for, and
//! how far long work got. A leaf: the queue and its tiers report through
//! it without depending on output.rs (which depends on them), and it
//! prints only to a terminal's stderr.

use std::io::{self, IsTerminal, Write};

/// A word on the terminal about what cq is waiting for: on stderr, and
/// only when stderr is a terminal (scripts get no noise).
pub fn status_line(msg: &str) {
    let err = io::stderr();
    if err.is_terminal() {
        let _ = writeln!(err.lock(), "cq: {msg}");
    }
}

/// Progress of long work (`cq compact`, `cq migrate` on big queues): a
/// line on stderr, only on a terminal and only once the work has taken a
/// moment (a small queue gets no flicker); nothing at all when piped.
pub struct Progress {
    what: &'static str,
    start: std::time::Instant,
    done: std::cell::Cell<u64>,
    bar: std::cell::OnceCell<Option<indicatif::ProgressBar>>,
}

impl Progress {
    pub fn new(what: &'static str) -> Progress {
        Progress {
            what,
            start: std::time::Instant::now(),
            done: std::cell::Cell::new(0),
            bar: std::cell::OnceCell::new(),
        }
    }

    /// One more record done.
    pub fn tick(&self) {
        let n = self.done.get() + 1;
        self.done.set(n);
        if !n.is_multiple_of(256) {
            return;
        }
        if self.bar.get().is_none() && self.start.elapsed() < std::time::Duration::from_millis(300)
        {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            io::stderr().is_terminal().then(|| {
                let b = indicatif::ProgressBar::with_draw_target(
                    None,
                    indicatif::ProgressDrawTarget::stderr(),
                );
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "cq: {msg}: {pos} records ({per_sec}) {spinner}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                b.set_message(self.what);
                b
            })
        });
        if let Some(b) = bar {
            b.set_position(n);
        }
    }

    /// Clears the line.
    pub fn finish(&self) {
        if let Some(Some(b)) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}
