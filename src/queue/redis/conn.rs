//! The connection: opened once per queue (TLS, a CA of the user's), each
//! command's bound, and the one wording of a Redis error (never with the
//! password).

use super::RedisQueue;
use crate::error::{Error, Result};
use crate::watch::Deadline;
use redis::{Connection, Value};
use std::cell::Cell;
use std::time::Duration;

/// How long a connection may take to open.
const CONNECT: Duration = Duration::from_secs(5);
/// One command's bound without a deadline (a wrapper retries its record's
/// append: see `Queue::append_retrying`).
const COMMAND: Duration = Duration::from_secs(10);

/// Sets a connection's read and write bounds for a command under `dl`.
pub(super) fn bound(conn: &Connection, dl: Deadline) {
    let t = dl.cap(COMMAND).max(Duration::from_millis(1));
    let _ = conn.set_read_timeout(Some(t));
    let _ = conn.set_write_timeout(Some(t));
}

/// Puts the outer call's bound back when dropped.
pub(super) struct During<'a>(&'a Cell<Deadline>, Deadline);

impl Drop for During<'_> {
    fn drop(&mut self) {
        self.0.set(self.1);
    }
}

impl RedisQueue {
    /// A message about this queue that never holds the password.
    pub(super) fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        crate::error::scrubbed(
            &format!("{what} {}: {e}", self.shown),
            self.url.password.as_deref(),
        )
    }

    pub(super) fn connect(&self) -> Result<Connection> {
        #[cfg(feature = "redis")]
        let _ = rustls::crypto::ring::default_provider().install_default();
        // rediss:// trusts the webpki roots, or the CA in $CQ_REDIS_CA (a
        // PEM file) for servers with a certificate of their own.
        let ca = crate::config::get().redis_ca.clone();
        // No CLIENT SETINFO on connecting: a round trip less, and fewer
        // reads the deadline must cover.
        let info = redis::IntoConnectionInfo::into_connection_info(self.url.client.as_str())
            .map_err(|e| self.fail("invalid queue URL", e))?;
        let settings = info.redis_settings().clone().set_skip_set_lib_name();
        let info = info.set_redis_settings(settings);
        let client = match ca {
            Some(path) if self.url.tls => {
                let pem = std::fs::read(&path).map_err(|e| {
                    Error::io(
                        format!(
                            "cannot read CQ_REDIS_CA {}",
                            std::path::Path::new(&path).display()
                        ),
                        e,
                    )
                })?;
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                };
                redis::Client::build_with_tls(info, certs)
            }
            _ => redis::Client::open(info),
        }
        .map_err(|e| self.fail("invalid queue URL", e))?;
        let dl = self.call.get();
        // Each read of the handshake (AUTH, SELECT) has this bound: a third
        // of what is left, so that all of it ends by the deadline.
        let each = (dl.cap(CONNECT * 3) / 3).max(Duration::from_millis(1));
        let conn = client
            .get_connection_with_timeout(each)
            .map_err(|e| self.failed("cannot connect to", e, dl))?;
        bound(&conn, dl);
        Ok(conn)
    }

    /// The failure of a command: the call's deadline when it passed while
    /// the server did not answer (exit 124), else the server's error.
    pub(super) fn failed(&self, what: &str, e: redis::RedisError, dl: Deadline) -> Error {
        // The server's own error code, not its words.
        if e.code() == Some("BUSYGROUP") {
            return Error::exists(self.fail(what, e).msg);
        }
        if (e.is_timeout() || e.is_io_error()) && dl.expired() {
            return Deadline::timed_out(&format!(
                "the redis server at {} (it does not answer)",
                self.shown
            ));
        }
        self.fail(what, e)
    }

    /// Bounds this queue's commands by `dl` until dropped (the bound of
    /// the call in progress, read by [`run`](RedisQueue::run)).
    pub(super) fn during(&self, dl: Deadline) -> During<'_> {
        During(&self.call, self.call.replace(dl))
    }

    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let dl = self.call.get();
        if dl.expired() {
            return Err(Deadline::timed_out(&format!(
                "the redis server at {}",
                self.shown
            )));
        }
        let mut slot = self.conn.borrow_mut();
        match slot.as_ref() {
            Some(conn) => bound(conn, dl),
            None => *slot = Some(self.connect()?),
        }
        let conn = slot.as_mut().expect("connected above");
        f(conn).map_err(|e| {
            // A connection that failed (a timeout, a reset) is not reused:
            // the next command connects again.
            if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                *slot = None;
            }
            self.failed("redis error on", e, dl)
        })
    }

    pub(super) fn cmd(&self, c: &mut redis::Cmd) -> Result<Value> {
        self.run(|conn| c.query::<Value>(conn))
    }
}
