//! The write lock a pull or an acknowledgement holds (`BEGIN IMMEDIATE`),
//! and what it marks before it commits.

use super::SqliteQueue;
use crate::error::Result;
use crate::queue::store::{CompactReport, Found, Hit, Nothing, Pos, Taken};
use crate::record::{Stored, View};
use rusqlite::{Connection, params};
use std::collections::HashSet;

/// The write lock (`BEGIN IMMEDIATE`) until committed; rolled back when
/// dropped uncommitted, so a pull whose printing failed marks nothing.
pub(super) struct SqliteTurn<'a> {
    pub(super) q: &'a SqliteQueue,
    pub(super) db: std::cell::RefMut<'a, Connection>,
    open: bool,
    pub(super) batch: Vec<Stored>,
    /// The pending rows a pull selected, first and last.
    pub(super) range: Option<(i64, i64)>,
}

impl<'a> SqliteTurn<'a> {
    pub(super) fn begin(q: &'a SqliteQueue, db: std::cell::RefMut<'a, Connection>) -> Result<Self> {
        db.execute_batch("BEGIN IMMEDIATE").map_err(q.err())?;
        Ok(SqliteTurn {
            q,
            db,
            open: true,
            batch: Vec::new(),
            range: None,
        })
    }

    pub(super) fn commit(&mut self) -> Result<()> {
        self.db.execute_batch("COMMIT").map_err(self.q.err())?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteTurn<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.execute_batch("ROLLBACK");
        }
    }
}

impl Taken for SqliteTurn<'_> {
    fn records(&self) -> &[Stored] {
        &self.batch
    }

    fn mark(mut self: Box<Self>) -> Result<()> {
        if let Some((first, last)) = self.range {
            // We hold the write lock: the pending rows in [first, last] are
            // exactly the ones selected.
            self.db
                .execute(
                    "UPDATE records SET pulled = 1 WHERE pulled = 0 AND seq BETWEEN ?1 AND ?2",
                    params![first, last],
                )
                .map_err(self.q.err())?;
        }
        self.commit()
    }
}

pub(super) struct SqliteFound<'a> {
    pub(super) turn: Option<SqliteTurn<'a>>,
    pub(super) hits: Vec<Hit>,
}

impl Found for SqliteFound<'_> {
    fn hits(&self) -> &[Hit] {
        &self.hits
    }

    fn mark(self: Box<Self>, at: &[Pos]) -> Result<()> {
        let Some(mut t) = self.turn else {
            return Ok(());
        };
        {
            let mut st =
                t.db.prepare_cached("UPDATE records SET pulled = 1 WHERE seq = ?1")
                    .map_err(t.q.err())?;
            // A position is a row's seq, as `found` gave it.
            for p in at {
                st.execute([p.0 as i64]).map_err(t.q.err())?;
            }
        }
        t.commit()
    }
}

impl SqliteQueue {
    pub(super) fn select(&self, limit: usize) -> Result<Box<dyn Taken + '_>> {
        let Some(db) = self.db(false)? else {
            return Ok(Box::new(Nothing));
        };
        let err = self.err();
        let limit = limit.min(i64::MAX as usize) as i64;
        // The write lock until the mark (or the rollback when dropped).
        let mut t = SqliteTurn::begin(self, db)?;
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        {
            let mut st = t
                .db
                .prepare("SELECT seq, line FROM records WHERE pulled = 0 ORDER BY seq LIMIT ?1")
                .map_err(&err)?;
            let rows = st
                .query_map([limit], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(&err)?;
            for row in rows {
                let (seq, line) = row.map_err(&err)?;
                first = first.min(seq);
                last = last.max(seq);
                match Stored::from_store(line.into_bytes(), false) {
                    Ok(s) => t.batch.push(s),
                    Err(why) => self.bad.note(format!("row {seq}"), why),
                }
            }
        }
        t.range = (first <= last).then_some((first, last));
        Ok(Box::new(t))
    }

    pub(super) fn found(&self, ids: &[String]) -> Result<Box<dyn Found + '_>> {
        let Some(db) = self.db(false)? else {
            return Ok(Box::new(SqliteFound {
                turn: None,
                hits: Vec::new(),
            }));
        };
        let err = self.err();
        let t = SqliteTurn::begin(self, db)?;
        let mut hits = Vec::new();
        {
            // INDEXED BY: left to itself, SQLite may find an id's rows by
            // walking the pending index in order and testing each id, which
            // made acknowledging n ids cost n^2 (an ack of 100,000 ids took
            // 7 minutes).
            let mut st =
                t.db.prepare_cached(
                    "SELECT seq, pulled FROM records INDEXED BY records_id
                     WHERE id = ?1 ORDER BY seq",
                )
                .map_err(&err)?;
            let mut asked = HashSet::new();
            for id in ids.iter().filter(|i| asked.insert(i.as_str())) {
                let rows = st
                    .query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)))
                    .map_err(&err)?;
                for row in rows {
                    let (seq, pulled) = row.map_err(&err)?;
                    hits.push(Hit {
                        pos: Pos(seq as u64, 0),
                        id: id.clone(),
                        pulled,
                    });
                }
            }
        }
        // Store order across ids, as `Found` promises.
        hits.sort_by_key(|h| h.pos);
        Ok(Box::new(SqliteFound {
            turn: Some(t),
            hits,
        }))
    }

    pub(super) fn compact(&self, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
        let Some(db) = self.db(false)? else {
            return Ok(CompactReport {
                removed: 0,
                kept: 0,
                note: None,
            });
        };
        let err = self.err();
        let mut t = SqliteTurn::begin(self, db)?;
        let mut gone = Vec::new();
        {
            let mut st =
                t.db.prepare("SELECT seq, line FROM records WHERE pulled = 1 ORDER BY seq")
                    .map_err(&err)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(&err)?;
            for row in rows {
                let (seq, line) = row.map_err(&err)?;
                if Stored::from_store(line.into_bytes(), true).is_ok_and(|s| may_go(&s.view)) {
                    gone.push(seq);
                }
            }
        }
        {
            let mut del =
                t.db.prepare("DELETE FROM records WHERE seq = ?1")
                    .map_err(&err)?;
            for seq in &gone {
                del.execute([seq]).map_err(&err)?;
            }
        }
        let kept: i64 =
            t.db.query_row("SELECT count(*) FROM records", [], |r| r.get(0))
                .map_err(&err)?;
        t.commit()?;
        Ok(CompactReport {
            removed: gone.len(),
            kept: kept as usize,
            note: None,
        })
    }
}
