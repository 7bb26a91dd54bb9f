//! An acknowledgement's half of the file tier: every record of the ids
//! asked, under the exclusive lock, and the flip of exactly the `false`s
//! the queue chose.

use super::lines::{Line, Parsed, Pos};
use super::lock::Lock;
use super::{JsonlQueue, cursor, false_at};
use crate::error::{Error, Result};
use crate::queue::files;
use crate::queue::store::{Decided, Found, Hit, Pos as StorePos};
use crate::record::Pulled;
use crate::watch::Deadline;
use std::collections::HashSet;
use std::fs::File;
use std::io;

impl JsonlQueue {
    pub(super) fn found(
        &self,
        dl: Deadline,
        ids: &[String],
        decided: Decided,
    ) -> Result<Box<dyn Found + '_>> {
        let mut found = JsonlFound {
            q: self,
            _lock: None,
            f: None,
            hits: Vec::new(),
            flippable: HashSet::new(),
        };
        if !files::present(&self.path)? {
            return Ok(Box::new(found));
        }
        found._lock = Some(self.lock(true, true, dl)?);
        let Some(f) = self.open_read(true)? else {
            return Ok(Box::new(found));
        };
        let want: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let cursor = cursor::load(&self.cursor_path, &f).0;
        let mut after = Vec::new();
        self.read_lines(&f, cursor, |line, raw, parsed| {
            let n = after.len();
            found.note(&want, line, raw, parsed, &mut after);
            Ok(after.len() == n || !decided(&after[n]))
        })?;
        // Every record before the cursor is pulled (what the cursor means),
        // so that part is read only for an id with no record past it: to
        // tell "pulled" from "no such record" without reading the whole
        // file at every ack.
        let seen: HashSet<&str> = after.iter().map(|h: &Hit| h.id.as_str()).collect();
        if cursor.offset > 0 && want.iter().any(|i| !seen.contains(i)) {
            let mut before = Vec::new();
            self.read_lines(&f, Pos::default(), |line, raw, parsed| {
                if line.offset >= cursor.offset {
                    return Ok(false);
                }
                found.note(&want, line, raw, parsed, &mut before);
                Ok(true)
            })?;
            found.hits = before;
        }
        found.hits.extend(after);
        found.f = Some(f);
        Ok(Box::new(found))
    }
}

/// An acknowledgement's records, holding the exclusive lock.
struct JsonlFound<'a> {
    q: &'a JsonlQueue,
    _lock: Option<Lock>,
    f: Option<File>,
    hits: Vec<Hit>,
    /// Where a pending record's `false` is, checked byte for byte: the only
    /// places `mark` writes to.
    flippable: HashSet<u64>,
}

impl JsonlFound<'_> {
    fn note(
        &mut self,
        want: &HashSet<&str>,
        line: &Line,
        raw: &[u8],
        parsed: Parsed,
        to: &mut Vec<Hit>,
    ) {
        let Parsed::Record(s) = parsed else {
            return;
        };
        let Some(id) = s.view.id.as_deref().filter(|i| want.contains(i)) else {
            return;
        };
        let at = (s.view.pulled() == Pulled::No)
            .then(|| false_at(line, raw))
            .flatten();
        self.flippable.extend(at);
        to.push(Hit {
            pos: StorePos(at.unwrap_or(line.offset), 0),
            id: id.to_string(),
            pulled: at.is_none(),
        });
    }
}

impl Found for JsonlFound<'_> {
    fn hits(&self) -> &[Hit] {
        &self.hits
    }

    fn mark(self: Box<Self>, at: &[StorePos]) -> Result<()> {
        let spans: Vec<u64> = at.iter().map(|p| p.0).collect();
        if let Some(p) = spans.iter().find(|p| !self.flippable.contains(p)) {
            return Err(Error::io(
                format!("cannot mark records pulled in {}", self.q.shown()),
                io::Error::other(format!("byte {p} is not a pending record's pulled field")),
            ));
        }
        match &self.f {
            Some(f) => self.q.flip(f, &spans),
            None => Ok(()),
        }
    }
}
