//! Words on the terminal about work in progress: what cq waits for, and
//! how far long work got. What the queue and its tiers report through;
//! the bytes themselves are written by src/output/ (near a leaf too: it
//! depends on the record, the clock and the configuration only), and only
//! to a terminal's stderr.

/// A word on the terminal about what cq is waiting for: on stderr, and
/// only when stderr is a terminal (scripts get no noise).
pub fn status_line(msg: &str) {
    crate::output::notice(msg);
}

/// A line of a debug stream the user asked for (librdkafka's log, from
/// `CQ_KAFKA_DEBUG`): on stderr whether or not it is a terminal, since it
/// is read from a file as often as on a screen.
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub fn debug_line(msg: &str) {
    crate::output::error_line(&format!("cq: {msg}"));
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
        let bar = self
            .bar
            .get_or_init(|| crate::output::progress_bar(self.what));
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
