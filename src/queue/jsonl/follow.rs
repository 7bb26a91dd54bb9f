//! Following the file: where a listing stopped ([`Follow`], the typed form
//! of the [`Mark`] a `--follow` hands back), and the scan that continues
//! from it, also after a compaction rewrote the file under it.

use super::JsonlQueue;
use super::cursor;
use super::lines::{Parsed, Pos};
use crate::error::Result;
use crate::queue::files;
use crate::queue::store::{Mark, Scan};
use crate::watch::Deadline;
use std::fs::File;

/// The last record a listing handed out: enough to find the place again
/// in a rewritten file (by its id, else by its completion time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Seen {
    id: Option<String>,
    completed_at: Option<String>,
}

/// Where a listing of one file stopped: the file (device, inode, birth
/// time), the position after the last line read, and the last record seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Follow {
    dev: u64,
    ino: u64,
    born: i64,
    end: Pos,
    last: Option<Seen>,
}

impl Follow {
    /// As a mark: seven space-separated fields, `-` for a missing id or
    /// time (neither holds a space: ids are UUIDs, times RFC 3339).
    fn to_mark(&self) -> Mark {
        let seen = self.last.clone().unwrap_or_default();
        Mark(format!(
            "{} {} {} {} {} {} {}",
            self.dev,
            self.ino,
            self.born,
            self.end.offset,
            self.end.lines,
            seen.id.unwrap_or_else(|| "-".into()),
            seen.completed_at.unwrap_or_else(|| "-".into())
        ))
    }

    /// A mark this tier wrote, or `None` for any other (the default mark).
    fn parse(m: &Mark) -> Option<Follow> {
        let p: Vec<&str> = m.0.split(' ').collect();
        let [dev, ino, born, offset, lines, id, at] = p[..] else {
            return None;
        };
        let opt = |s: &str| (s != "-").then(|| s.to_string());
        Some(Follow {
            dev: dev.parse().ok()?,
            ino: ino.parse().ok()?,
            born: born.parse().ok()?,
            end: Pos {
                offset: offset.parse().ok()?,
                lines: lines.parse().ok()?,
            },
            last: Some(Seen {
                id: opt(id),
                completed_at: opt(at),
            }),
        })
    }

    /// Where `f` is now, before anything is read from it.
    fn of(f: &File, end: Pos, last: Option<Seen>) -> Follow {
        let (dev, ino, born) = f
            .metadata()
            .map(|m| cursor::identity(&m))
            .unwrap_or_default();
        Follow {
            dev,
            ino,
            born,
            end,
            last,
        }
    }

    /// Whether this position is in `f` as it is (not rewritten since).
    fn is_in(&self, f: &File) -> bool {
        let now = Follow::of(f, Pos::default(), None);
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        (self.dev, self.ino, self.born) == (now.dev, now.ino, now.born) && self.end.offset <= len
    }
}

impl JsonlQueue {
    /// [`Store::scan`](crate::queue::store::Store::scan) of the file.
    pub(super) fn scan_from(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        pending_hint: bool,
        each: &mut Scan,
    ) -> Result<Mark> {
        if !files::present(&self.path)? {
            return Ok(from.cloned().unwrap_or_default());
        }
        let _lock = self.lock(false, false, dl)?;
        let Some(f) = self.open_read(false)? else {
            return Ok(Mark::default());
        };
        let follow = from.and_then(Follow::parse);
        // Where to start, and, when the file was rewritten (compaction)
        // since the mark was taken, which records were seen already.
        let (start, rewritten) = match &follow {
            Some(p) if p.is_in(&f) => (p.end, None),
            Some(p) => (Pos::default(), p.last.clone()),
            None if pending_hint && from.is_none() => (cursor::load(&self.cursor_path, &f).0, None),
            None => (Pos::default(), None),
        };
        let mut last = follow.and_then(|p| p.last);
        // After a rewrite: skip through the last record seen when it is still
        // there, else skip what completed no later than it.
        let seen_id = rewritten.as_ref().and_then(|s| s.id.clone());
        let seen_present = match &seen_id {
            Some(id) => self.has_id(id)?,
            None => false,
        };
        let mut passed_seen = !seen_present;
        let end = self.read_lines(&f, start, |_, _, parsed| {
            let Parsed::Record(s) = parsed else {
                return Ok(true);
            };
            if let Some(seen) = &rewritten {
                if !passed_seen {
                    passed_seen = s.view.id.is_some() && s.view.id == seen_id;
                    return Ok(true);
                }
                if !seen_present
                    && no_later(s.view.completed_at.as_deref(), seen.completed_at.as_deref())
                {
                    return Ok(true);
                }
            }
            last = Some(Seen {
                id: s.view.id.clone(),
                completed_at: s.view.completed_at.clone(),
            });
            each(s)
        })?;
        Ok(Follow::of(&f, end, last).to_mark())
    }
}

/// Whether a record completed at `t` completed no later than `seen`, by
/// time, not by text (a time another writer spelt otherwise, with an
/// offset or fractions, is still the same moment); no time counts as
/// earliest.
fn no_later(t: Option<&str>, seen: Option<&str>) -> bool {
    let at = |x: Option<&str>| x.and_then(|x| crate::time::parse_timestamp(x).ok());
    at(t) <= at(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_follow_position_reads_back_as_written() {
        let p = Follow {
            dev: 1,
            ino: 2,
            born: -3,
            end: Pos {
                offset: 40,
                lines: 2,
            },
            last: Some(Seen {
                id: Some("0190f6c2".into()),
                completed_at: None,
            }),
        };
        assert_eq!(Follow::parse(&p.to_mark()), Some(p));
        assert_eq!(Follow::parse(&Mark::default()), None);
        assert_eq!(Follow::parse(&Mark("1 2 3 x 5 - -".into())), None);
    }

    #[test]
    fn times_compare_as_times() {
        let seen = Some("2026-01-01T10:00:00Z");
        assert!(no_later(Some("2026-01-01T11:00:00+02:00"), seen));
        assert!(!no_later(Some("2026-01-01T10:00:01Z"), seen));
        assert!(no_later(None, seen));
        assert!(!no_later(seen, None));
    }
}
