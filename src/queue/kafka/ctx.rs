//! librdkafka's side of the Kafka tier: the client context (its log and
//! delivery callbacks), the client's timings, and the calls that wrap its
//! blocking and its teardown. Knows nothing of the queue.

/// How long a broker may take to answer a metadata or offset request.
/// Every bound here is cut to what is left of the command's `--timeout`
/// (`KafkaQueue::bound`), which then ends the call with exit 124.
pub(super) const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a produce may take before it counts as failed (one attempt;
/// a wrapper retries its record's append, see `Queue::append_retrying`).
pub(super) const DELIVERY: Duration = Duration::from_secs(10);
/// A member that stops heartbeating leaves the group after this long; a
/// pull that finds a SIGKILLed puller's partitions waits at most this.
pub(super) const SESSION_MS: u64 = 10_000;
/// How long a read waits for its next message from brokers that reported
/// nothing wrong: a broker that is slow, not gone. tansu 0.6 holding a
/// million records took over 10 s over single fetches on a loaded machine,
/// which the old bound (`TIMEOUT * 2` for every read) turned into "timed
/// out" a fifth of the way through a `cq list`. librdkafka fails a request
/// itself after its `socket.timeout.ms`, also 60 s.
pub(super) const STALL: Duration = Duration::from_secs(60);

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one metadata request may wait before cq looks at librdkafka's
/// errors again.
pub(super) const SLICE: Duration = Duration::from_millis(250);

/// What librdkafka tells cq from its own threads: deliveries, the last
/// error, and rebalances.
#[derive(Default)]
pub(super) struct Ctx {
    pub(super) delivered: AtomicUsize,
    pub(super) failed: Mutex<Option<String>>,
    pub(super) placed: Mutex<Vec<(i32, i64)>>,
    pub(super) last_error: Mutex<Option<String>>,
    /// Errors librdkafka reported so far (see [`Idle`]).
    pub(super) errors: AtomicUsize,
    /// Set by an error no retry can mend (TLS, authentication).
    pub(super) fatal: AtomicBool,
    /// Bumped on every rebalance; the assignment it produced.
    pub(super) epoch: AtomicU64,
    pub(super) assigned: Mutex<Option<Vec<i32>>>,
}

impl ClientContext for Ctx {
    fn error(&self, error: KafkaError, reason: &str) {
        use rdkafka::types::RDKafkaErrorCode as Code;
        if matches!(
            error.rdkafka_error_code(),
            Some(Code::SSL | Code::Authentication | Code::SaslAuthenticationFailed)
        ) {
            self.fatal.store(true, Ordering::SeqCst);
        }
        self.errors.fetch_add(1, Ordering::SeqCst);
        let mut last = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        // "All brokers are down" follows every failed connection; the
        // failure before it (a certificate nobody vouches for, a refused
        // password) is the one that says what to fix.
        if last.is_none() || error.rdkafka_error_code() != Some(Code::AllBrokersDown) {
            *last = Some(format!("{error}: {reason}"));
        }
    }
    fn log(&self, _: rdkafka::config::RDKafkaLogLevel, fac: &str, msg: &str) {
        // Only asked for by CQ_KAFKA_DEBUG; librdkafka is silent otherwise.
        if debug().is_some() {
            static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            let ms = T0.get_or_init(Instant::now).elapsed().as_millis();
            crate::notice::debug_line(&format!("librdkafka +{ms}ms {fac}: {msg}"));
        }
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        match r {
            Ok(m) => self
                .placed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((m.partition(), m.offset())),
            Err((e, _)) => {
                *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string())
            }
        }
        self.delivered.fetch_add(1, Ordering::SeqCst);
    }
}

impl ConsumerContext for Ctx {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        let mut a = self.assigned.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Rebalance::Assign(tpl) => {
                *a = Some(tpl.elements().iter().map(|e| e.partition()).collect());
            }
            Rebalance::Revoke(_) => *a = None,
            Rebalance::Error(e) => {
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string())
            }
        }
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// A read's wait for its next message. It gives up after `quick` without
/// one once librdkafka has reported an error since the last message (a
/// broker gone, a refused connection), else after [`STALL`]; on a
/// terminal it says so once the wait has lasted [`TIMEOUT`]. The
/// command's `--timeout` is checked beside it, by the caller.
pub(super) struct Idle {
    quick: Duration,
    since: Instant,
    errors: usize,
    said: bool,
}

impl Idle {
    pub(super) fn new(c: &Ctx, quick: Duration) -> Idle {
        Idle {
            quick,
            since: Instant::now(),
            errors: c.errors.load(Ordering::SeqCst),
            said: false,
        }
    }

    /// A message came.
    pub(super) fn moved(&mut self, c: &Ctx) {
        self.since = Instant::now();
        self.errors = c.errors.load(Ordering::SeqCst);
    }

    /// Whether the read gives up now; `what` names the brokers.
    pub(super) fn over(&mut self, c: &Ctx, what: &str) -> bool {
        let idle = self.since.elapsed();
        let failed = c.errors.load(Ordering::SeqCst) != self.errors;
        if !failed && !self.said && idle >= TIMEOUT {
            self.said = true;
            crate::notice::status_line(&format!(
                "waiting for {what}: no message for {} s; they answer, slowly (given up after {} s without one; --timeout bounds it)",
                idle.as_secs(),
                STALL.as_secs()
            ));
        }
        idle > if failed { self.quick } else { STALL }
    }
}

/// Runs a future of librdkafka's admin API to completion on this thread
/// (its results arrive from librdkafka's own thread; no runtime needed).
pub(super) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

/// librdkafka's `debug` contexts from `$CQ_KAFKA_DEBUG` (e.g. `cgrp,fetch`
/// or `all`), for seeing what a broker does to cq.
pub(super) fn debug() -> Option<String> {
    crate::config::get().kafka_debug.clone()
}

/// Why a client got nowhere: `e`, and librdkafka's last error if any.
pub(super) fn why(last: &Mutex<Option<String>>, e: impl std::fmt::Display) -> String {
    match last.lock().unwrap_or_else(|e| e.into_inner()).take() {
        Some(l) => format!("{e} ({l})"),
        None => e.to_string(),
    }
}

/// Leaves the consumer group at once, and destroys the consumer, its
/// threads joined (issue 12: none may outlive cq's exit). Dropping it would
/// do both, but waits in 100 ms polls, and forever when the group's
/// coordinator cannot be reached (a puller cut off from the network hung
/// so): after `within` (`TIMEOUT`, or what is left of the command's
/// deadline), the client is destroyed without the group close.
pub(super) fn leave(c: BaseConsumer<Ctx>, within: Duration) {
    if c.close_queue().is_ok() {
        let deadline = Instant::now() + within;
        while !c.closed() && Instant::now() < deadline {
            c.poll(Duration::from_millis(2));
        }
    }
    if !c.closed() {
        let rk = c.client().native_ptr();
        // SAFETY: `rk` is `c`'s live client; `c` is forgotten right after,
        // so nothing destroys it twice or uses it again.
        unsafe {
            rdkafka::bindings::rd_kafka_destroy_flags(
                rk,
                rdkafka::bindings::RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE,
            );
        }
        std::mem::forget(c);
    }
}
