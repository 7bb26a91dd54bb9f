//! Replay on the file tier: `"pulled":true ` flipped back to
//! `"pulled":false` in place (the same length, as a pull flips it), from
//! the first record the replay point matches to the end, under the
//! exclusive lock. The cursor goes first: it says everything before it is
//! pulled, which is no longer so.

use super::JsonlQueue;
use super::lines::{Parsed, Pos};
use crate::error::{Error, Result};
use crate::queue::files;
use crate::record::{self, PULLED_FALSE, Pulled, View};
use crate::watch::Deadline;
use std::os::unix::fs::FileExt;

impl JsonlQueue {
    pub(super) fn unpull(&self, dl: Deadline, from: &dyn Fn(&View) -> bool) -> Result<usize> {
        if !files::present(&self.path)? {
            return Ok(0);
        }
        let _lock = self.lock(true, true, dl)?;
        let Some(f) = self.open_read(true)? else {
            return Ok(0);
        };
        let (mut started, mut spans, mut other) = (false, Vec::new(), 0usize);
        self.read_lines(&f, Pos::default(), |line, raw, parsed| {
            if let Parsed::Record(s) = parsed {
                started = started || from(&s.view);
                if started && s.view.pulled() == Pulled::Yes {
                    match record::pulled_span(raw) {
                        Some((a, b)) if &raw[a..b] == b"true" && raw.get(b) == Some(&b' ') => {
                            spans.push(line.offset + a as u64);
                        }
                        _ => other += 1,
                    }
                }
            }
            Ok(true)
        })?;
        if other > 0 {
            // `"pulled":true` without the space (jq's) is one byte short of
            // `false`: only a rewrite could change it, and replay never
            // rewrites.
            self.bad.note(
                format!("{other} record(s)"),
                "marked pulled by another program (\"pulled\":true without cq's space), they cannot be made pending in place",
            );
        }
        if spans.is_empty() {
            return Ok(0);
        }
        let fail = |e| Error::io(format!("cannot replay {}", self.shown()), e);
        match std::fs::remove_file(&self.cursor_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
        for &at in &spans {
            f.write_all_at(PULLED_FALSE, at).map_err(fail)?;
        }
        f.sync_data().map_err(fail)?;
        Ok(spans.len())
    }
}
