//! The `pulled` flag, flipped in place: a pull overwrites `false` with
//! `true ` (same length), so the JSONL tier never rewrites a file to mark a
//! record. Finding the top-level value takes a small scanner of its own:
//! serde does not give byte positions, and a `meta.pulled` or a string
//! holding `"pulled"` must never be matched.

use super::read::bom_len;

/// The literal a pull writes over `false`: same length, so the flip is done
/// in place (JSON allows the trailing space).
pub const PULLED_TRUE: &[u8; 5] = b"true ";
pub const PULLED_FALSE: &[u8; 5] = b"false";

/// A stored line with its top-level `pulled` set back to `false` (undoing
/// cq's in-place `true ` or jq's `true`).
pub fn pending_form(line: &[u8]) -> Vec<u8> {
    let mut l = line.to_vec();
    if let Some((a, b)) = pulled_span(&l)
        && &l[a..b] == b"true"
    {
        let end = if l.get(b) == Some(&b' ') { b + 1 } else { b };
        l.splice(a..end, PULLED_FALSE.iter().copied());
    }
    l
}

/// A pending line as it reads once pulled: `false` becomes `true `, in
/// place, as the JSONL tier flips it, so every tier prints the same bytes.
#[cfg_attr(not(any(feature = "redis", feature = "kafka")), allow(dead_code))]
pub fn pulled_form(line: &[u8]) -> Vec<u8> {
    let mut l = line.to_vec();
    if let Some((a, b)) = pulled_span(&l)
        && &l[a..b] == PULLED_FALSE
    {
        l[a..b].copy_from_slice(PULLED_TRUE);
    }
    l
}

/// Byte range of the value of the last top-level `"pulled"` key in a line
/// that already parsed as a JSON object (the same key jq and [`super::View`] read;
/// a `meta.pulled` or a string containing `"pulled"` is never matched).
pub fn pulled_span(line: &[u8]) -> Option<(usize, usize)> {
    let mut s = Scan {
        b: line,
        i: bom_len(line),
    };
    s.ws();
    s.eat(b'{')?;
    let mut found = None;
    loop {
        s.ws();
        if s.peek()? == b'}' {
            return found;
        }
        let (ks, ke) = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        let vs = s.i;
        s.value()?;
        if key_is(&line[ks..ke], "pulled") {
            found = Some((vs, s.i));
        }
        s.ws();
        match s.peek()? {
            b',' => s.i += 1,
            b'}' => return found,
            _ => return None,
        }
    }
}

fn key_is(quoted: &[u8], want: &str) -> bool {
    if !quoted.contains(&b'\\') {
        return &quoted[1..quoted.len() - 1] == want.as_bytes();
    }
    serde_json::from_slice::<String>(quoted).is_ok_and(|k| k == want)
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// A string starting at the cursor; returns its range including quotes.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some((start, self.i));
                }
                _ => self.i += 1,
            }
        }
    }
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek()?,
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'
                ) {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Pulled, parse_line};

    fn span_text(line: &str) -> Option<&str> {
        pulled_span(line.as_bytes()).map(|(a, b)| &line[a..b])
    }

    #[test]
    fn span_ignores_nested_and_string_pulled() {
        let l = r#"{"name":"pulled","meta":{"pulled":false},"note":"\"pulled\":false","pulled" : true ,"status":"x"}"#;
        assert_eq!(span_text(l), Some("true"));
        let v = parse_line(l.as_bytes()).unwrap();
        assert_eq!(v.pulled(), Pulled::Yes);
    }

    #[test]
    fn flag_forms_round_trip() {
        let pending = br#"{"name":"a","status":"s","pulled":false,"x":1}"#;
        let pulled = pulled_form(pending);
        assert_eq!(
            &pulled[..],
            br#"{"name":"a","status":"s","pulled":true ,"x":1}"#
        );
        assert_eq!(pending_form(&pulled), pending);
        // jq's `true` (no space) reads back as the same pending line.
        assert_eq!(
            pending_form(br#"{"name":"a","status":"s","pulled":true,"x":1}"#),
            pending
        );
    }

    #[test]
    fn escaped_key_is_matched() {
        let l = r#"{"name":"a","status":"s","pull\u0065d":false}"#;
        assert_eq!(span_text(l), Some("false"));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::record::{Pulled, parse_line};
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// JSON values with keys that matter to cq, nested, so that `pulled`
    /// appears at every depth and in strings.
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("pulled".to_string()),
                Just("\"pulled\":false".to_string()),
                ".*"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("pulled".to_string()),
            Just("name".to_string()),
            Just("status".to_string()),
            Just("meta".to_string()),
            "[a-z\\\\\"]{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn flipping_changes_only_the_top_level_flag(
            name in ".*",
            extra in prop::collection::vec((key(), value()), 0..5),
            spaced in any::<bool>(),
        ) {
            let mut obj = Map::new();
            for (k, v) in extra {
                obj.insert(k, v);
            }
            obj.insert("name".into(), Value::String(name));
            obj.insert("status".into(), Value::String("success".into()));
            obj.insert("pulled".into(), Value::Bool(false));
            let mut line = serde_json::to_string(&Value::Object(obj.clone())).unwrap();
            if spaced {
                line = serde_json::to_string_pretty(&Value::Object(obj.clone())).unwrap().replace('\n', " ");
            }
            let v = parse_line(line.as_bytes()).unwrap();
            prop_assert_eq!(v.pulled(), Pulled::No);
            let (a, b) = pulled_span(line.as_bytes()).unwrap();
            prop_assert_eq!(&line[a..b], "false");
            let mut flipped = line.clone().into_bytes();
            flipped[a..b].copy_from_slice(PULLED_TRUE);
            prop_assert_eq!(parse_line(&flipped).unwrap().pulled(), Pulled::Yes);
            let mut after: Map<String, Value> = serde_json::from_slice(&flipped).unwrap();
            prop_assert_eq!(after.insert("pulled".into(), Value::Bool(false)), Some(Value::Bool(true)));
            prop_assert_eq!(after, obj);
        }
    }
}
