//! The connection: opened once per queue (TLS, a CA of the user's), each
//! command's bound, and the one wording of a Redis error (never with the
//! password).

use super::RedisQueue;
use crate::error::{Error, Result};
use redis::{Connection, Value};
use std::time::Duration;

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
        let ca = std::env::var_os("CQ_REDIS_CA").filter(|v| !v.is_empty());
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
                redis::Client::build_with_tls(self.url.client.as_str(), certs)
            }
            _ => redis::Client::open(self.url.client.as_str()),
        }
        .map_err(|e| self.fail("invalid queue URL", e))?;
        let conn = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| self.fail("cannot connect to", e))?;
        // One attempt's bound (a wrapper retries its record's append, see
        // `Queue::append_retrying`).
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = conn.set_write_timeout(Some(Duration::from_secs(10)));
        Ok(conn)
    }

    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let mut slot = self.conn.borrow_mut();
        if slot.is_none() {
            *slot = Some(self.connect()?);
        }
        let conn = slot.as_mut().expect("connected above");
        f(conn).map_err(|e| {
            // A connection that failed (a timeout, a reset) is not reused:
            // the next command connects again.
            if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                *slot = None;
            }
            self.fail("redis error on", e)
        })
    }

    pub(super) fn cmd(&self, c: &mut redis::Cmd) -> Result<Value> {
        self.run(|conn| c.query::<Value>(conn))
    }
}
