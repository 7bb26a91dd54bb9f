//! Reading Redis's answers: entry ids, stream entries and the values they
//! hold.

use redis::Value;

/// A stream entry id, ordered as Redis orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(super) struct Eid(pub(super) u64, pub(super) u64);

impl Eid {
    pub(super) fn parse(s: &str) -> Option<Eid> {
        let (a, b) = s.split_once('-').unwrap_or((s, "0"));
        Some(Eid(a.parse().ok()?, b.parse().ok()?))
    }
    pub(super) fn text(self) -> String {
        format!("{}-{}", self.0, self.1)
    }
}

pub(super) struct Entry {
    pub(super) eid: Eid,
    pub(super) line: Vec<u8>,
}

pub(super) fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        Value::Int(i) => Some(i.to_string().into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        _ => None,
    }
}

pub(super) fn text(v: &Value) -> Option<String> {
    bytes(v).map(|b| String::from_utf8_lossy(&b).into_owned())
}

pub(super) fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        _ => &[],
    }
}

/// Entries of an XRANGE / XCLAIM reply (deleted entries come back as nil).
pub(super) fn entries(v: &Value) -> Vec<Entry> {
    let mut out = Vec::new();
    for e in items(v) {
        let parts = items(e);
        let (Some(id), Some(fields)) = (parts.first().and_then(text), parts.get(1)) else {
            continue;
        };
        let Some(eid) = Eid::parse(&id) else { continue };
        let f = items(fields);
        let mut line = None;
        for kv in f.chunks(2) {
            if kv.len() == 2 && bytes(&kv[0]).as_deref() == Some(b"record") {
                line = bytes(&kv[1]);
            }
        }
        if let Some(line) = line {
            out.push(Entry { eid, line });
        }
    }
    out
}

/// Entries of an XREAD / XREADGROUP reply, over its streams (an array in
/// RESP2, a map in RESP3).
pub(super) fn stream_entries(v: &Value) -> Vec<Entry> {
    let mut out = Vec::new();
    for s in items(v) {
        if let Some(es) = items(s).get(1) {
            out.extend(entries(es));
        }
    }
    if let Value::Map(m) = v {
        for (_, es) in m {
            out.extend(entries(es));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_order() {
        assert!(Eid::parse("5-1").unwrap() > Eid::parse("4-9").unwrap());
    }
}
