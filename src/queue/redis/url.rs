//! The `redis://` / `rediss://` URL: the server, database and stream, and
//! how it may be printed (never with its password). Parsed when the queue
//! location is, so a malformed URL is a usage error before anything runs.

use crate::error::{Error, Result};

/// The parts of a `redis://[user:pass@]host[:port][/db][?stream=NAME]` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    /// The URL for the client: the given one without cq's own options.
    pub(super) client: String,
    pub(super) tls: bool,
    pub(super) stream: String,
    pub(super) password: Option<String>,
    shown: String,
}

/// Debug output is the printable URL: no `{:?}` can leak the password.
impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Url {
    /// Parses the URL; errors never echo it (it may hold a password).
    pub fn parse(raw: &str) -> Result<Url> {
        let (tls, rest) = if let Some(r) = raw.strip_prefix("rediss://") {
            (true, r)
        } else if let Some(r) = raw.strip_prefix("redis://") {
            (false, r)
        } else {
            return Err(Error::usage(
                "a Redis queue URL starts with redis:// or rediss://",
            ));
        };
        let after_scheme = rest;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (auth, hostport) = match authority.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, authority),
        };
        let password = auth
            .and_then(|a| a.split_once(':'))
            .map(|(_, p)| p.to_string())
            .filter(|p| !p.is_empty());
        check_host(hostport, path)?;
        let (stream, passed) = options(query)?;
        let base = &raw[..raw.len() - query.len() - usize::from(!query.is_empty())];
        let client = if passed.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", passed.join("&"))
        };
        // The authority is a prefix of what follows the scheme, so what
        // follows it is cut by length: a password holding '@' or ':' never
        // shows, not even in part.
        let shown = match (auth, auth.and_then(|a| a.split_once(':'))) {
            (Some(a), Some((user, _))) => {
                let scheme = if tls { "rediss" } else { "redis" };
                format!("{scheme}://{user}:***@{}", &after_scheme[a.len() + 1..])
            }
            _ => raw.to_string(),
        };
        Ok(Url {
            client,
            tls,
            stream,
            password,
            shown,
        })
    }

    /// The URL as it may be printed: the password replaced.
    pub fn shown(&self) -> String {
        self.shown.clone()
    }
}

/// Refuses a host, port or database the client would misread.
fn check_host(hostport: &str, path: &str) -> Result<()> {
    // [v6]:port or host:port.
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return Err(Error::usage("an unclosed [ in the redis:// URL's host")),
        },
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    if host.is_empty() {
        return Err(Error::usage(
            "a redis:// URL needs a host: redis://HOST[:PORT][/DB][?stream=NAME]",
        ));
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(Error::usage(
            "the redis:// URL's port is not a port number (1-65535)",
        ));
    }
    if !(path.is_empty() || path.parse::<u32>().is_ok()) {
        return Err(Error::usage(
            "the redis:// URL's path is a database number (/0, /1, ...)",
        ));
    }
    Ok(())
}

/// The URL's options: the stream's name, and those passed to the client.
fn options(query: &str) -> Result<(String, Vec<&str>)> {
    let mut stream = "cq".to_string();
    let mut passed = Vec::new();
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("stream", v)) if !v.is_empty() => stream = v.to_string(),
            Some(("stream", _)) => {
                return Err(Error::usage("an empty stream name in the redis:// URL"));
            }
            // The client's own option.
            Some(("protocol", _)) => passed.push(kv),
            _ => {
                let key = kv.split_once('=').map_or(kv, |(k, _)| k);
                return Err(Error::usage(format!(
                    "unknown option '{key}' in the redis:// URL (known: stream, protocol)"
                )));
            }
        }
    }
    Ok((stream, passed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("redis://u:s3cret@h:6379/2?stream=jobs").unwrap();
        assert_eq!(u.client, "redis://u:s3cret@h:6379/2");
        assert_eq!(u.stream, "jobs");
        assert_eq!(u.password.as_deref(), Some("s3cret"));
        assert_eq!(u.shown(), "redis://u:***@h:6379/2?stream=jobs");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = Url::parse("redis://u:p@ss:w%rd@h:1/0?stream=s").unwrap();
        assert_eq!(u.password.as_deref(), Some("p@ss:w%rd"));
        assert_eq!(u.shown(), "redis://u:***@h:1/0?stream=s");
        let u = Url::parse("rediss://:pw@[::1]:6380").unwrap();
        assert!(u.tls);
        assert_eq!(u.stream, "cq");
        assert_eq!(u.shown(), "rediss://:***@[::1]:6380");
        assert_eq!(
            Url::parse("redis://h/0?protocol=resp3&stream=s")
                .unwrap()
                .client,
            "redis://h/0?protocol=resp3"
        );
        for bad in [
            "redis://",
            "redis://:s3cret@",
            "redis://h:notaport",
            "redis://h:0",
            "redis://h/db",
            "redis://h?stream=",
            "redis://u:s3cret@h?streem=x",
            "redis://[::1",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert!(!e.msg.contains("s3cret"), "{bad}: {}", e.msg);
            assert_eq!(e.code, crate::error::code::USAGE, "{bad}");
        }
    }
}
