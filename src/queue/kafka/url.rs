//! The `kafka://` URL: brokers, topic, group and the security options, and
//! how it may be printed (never with its password).

/// The consumer group a URL without `?group=` names.
pub(super) const GROUP: &str = "cq";
use crate::error::{Error, Result};

/// The parts of a `kafka://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    pub brokers: String,
    pub topic: String,
    pub group: String,
    pub partitions: i32,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) sasl: Option<String>,
    pub(super) tls: bool,
    pub(super) ca: Option<String>,
}

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::usage("invalid %-escape in the kafka:// URL"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::usage("the kafka:// URL is not valid UTF-8"))
}

/// Kafka's rule for topic and group names: letters, digits, `.`, `_`, `-`.
pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Debug output is the printable URL: no `{:?}` can leak the password.
impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Url {
    /// Parses the URL; errors never echo it (it may hold a password).
    pub fn parse(raw: &str) -> Result<Url> {
        let rest = raw
            .strip_prefix("kafka://")
            .ok_or_else(|| Error::usage("a Kafka queue URL starts with kafka://"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, topic) = rest.split_once('/').unwrap_or((rest, ""));
        let (auth, hosts) = match authority.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, authority),
        };
        let (user, password) = match auth {
            Some(a) => {
                let (u, p) = a.split_once(':').unwrap_or((a, ""));
                (
                    Some(percent_decode(u)?),
                    Some(percent_decode(p)?).filter(|p| !p.is_empty()),
                )
            }
            None => (None, None),
        };
        if hosts.is_empty()
            || hosts.split(',').any(|h| {
                h.rsplit_once(':')
                    .is_none_or(|(n, p)| n.is_empty() || p.parse::<u16>().is_err())
            })
        {
            return Err(Error::usage(
                "a kafka:// URL needs brokers as host:port[,host:port...]",
            ));
        }
        if !valid_name(topic) {
            return Err(Error::usage(
                "a kafka:// URL needs a topic: kafka://host:port/TOPIC (letters, digits, '.', '_', '-')",
            ));
        }
        let mut url = Url {
            brokers: hosts.to_string(),
            topic: topic.to_string(),
            group: GROUP.to_string(),
            partitions: 1,
            user,
            password,
            sasl: None,
            tls: false,
            ca: None,
        };
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            url.set(k, percent_decode(v)?)?;
        }
        Ok(url)
    }

    /// Applies one `?key=value` option of the URL.
    fn set(&mut self, k: &str, v: String) -> Result<()> {
        match k {
            "group" if valid_name(&v) => self.group = v,
            "partitions" => {
                self.partitions = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        Error::usage("partitions= in a kafka:// URL must be a number from 1")
                    })?
            }
            "sasl" if !v.is_empty() => self.sasl = Some(v.to_ascii_uppercase()),
            "tls" => {
                self.tls = match v.as_str() {
                    "" | "1" | "true" | "yes" => true,
                    "0" | "false" | "no" => false,
                    _ => return Err(Error::usage("tls= in a kafka:// URL is true or false")),
                }
            }
            "ca" if !v.is_empty() => {
                self.ca = Some(v);
                self.tls = true;
            }
            _ => {
                return Err(Error::usage(format!(
                    "unknown or empty option '{k}' in the kafka:// URL (known: group, partitions, sasl, tls, ca)"
                )));
            }
        }
        Ok(())
    }

    /// The URL as it may be printed.
    pub(super) fn shown(&self) -> String {
        let auth = match &self.user {
            Some(u) if self.password.is_some() => format!("{u}:***@"),
            Some(u) => format!("{u}@"),
            None => String::new(),
        };
        format!("kafka://{auth}{}/{}", self.brokers, self.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse(
            "kafka://u:s%40cret@h1:9092,h2:9093/jobs?group=audit&sasl=scram-sha-256&tls=1",
        )
        .unwrap();
        assert_eq!(u.brokers, "h1:9092,h2:9093");
        assert_eq!(u.topic, "jobs");
        assert_eq!(u.group, "audit");
        assert_eq!(u.password.as_deref(), Some("s@cret"));
        assert_eq!(u.sasl.as_deref(), Some("SCRAM-SHA-256"));
        assert!(u.tls);
        assert_eq!(u.shown(), "kafka://u:***@h1:9092,h2:9093/jobs");
        assert!(!format!("{u:?}").contains("cret"));
        assert_eq!(Url::parse("kafka://h:1/t").unwrap().group, "cq");
        for bad in [
            "kafka://h:1",
            "kafka://h/t",
            "kafka://h:1/t?x=1",
            "kafka://u:hunter2@h:x/t",
            "kafka://h:1/a b",
            "kafka://h:1/t?partitions=0",
        ] {
            let e = Url::parse(bad).unwrap_err();
            assert_eq!(e.code, 2, "{bad}");
            assert!(!e.msg.contains("hunter2"));
        }
    }
}
