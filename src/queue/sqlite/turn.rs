//! The write lock a pull or an acknowledgement holds (`BEGIN IMMEDIATE`),
//! and what it marks before it commits.

use super::SqliteQueue;
use crate::error::Result;
use crate::queue::store::{Found, Taken};
use crate::record::Stored;
use rusqlite::{Connection, params};
use std::collections::HashMap;

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
    pub(super) state: HashMap<String, bool>,
}

impl Found for SqliteFound<'_> {
    fn pending(&self, id: &str) -> Option<bool> {
        self.state.get(id).copied()
    }

    fn mark(self: Box<Self>) -> Result<()> {
        let Some(mut t) = self.turn else {
            return Ok(());
        };
        {
            // INDEXED BY: left to itself, SQLite may find the oldest pending
            // record of an id by walking the pending index in order and
            // testing each id, which made acknowledging n ids cost n^2 (an
            // ack of 100,000 ids took 7 minutes).
            let mut st =
                t.db.prepare_cached(
                    "UPDATE records SET pulled = 1 WHERE seq =
                       (SELECT min(seq) FROM records INDEXED BY records_id
                        WHERE id = ?1 AND pulled = 0)",
                )
                .map_err(t.q.err())?;
            for (id, _) in self.state.iter().filter(|(_, p)| **p) {
                st.execute([id]).map_err(t.q.err())?;
            }
        }
        t.commit()
    }
}
