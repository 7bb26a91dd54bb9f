//! Running jobs in the `running` table, claimed once in an immediate
//! transaction, and the waiter (inotify on the database's files, and the
//! wrappers of this host's running jobs).

use super::{SqliteQueue, db_err};
use crate::error::{Error, Result};
use crate::queue::store::Waiter;
use crate::queue::{files, running};
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use rusqlite::{OptionalExtension, TransactionBehavior};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

impl SqliteQueue {
    pub(super) fn watch(&self, dl: Deadline) -> Result<Box<dyn Waiter + '_>> {
        let dir = files::parent(&self.path);
        files::ensure_dir(&dir, &self.shown())?;
        let fail = |e| Error::io(format!("cannot watch {}", dir.display()), e);
        let mut watch = crate::watch::Watch::new().map_err(fail)?;
        // Every commit writes the database or its WAL.
        let name = self
            .path
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let mut wal = name.clone();
        wal.extend_from_slice(b"-wal");
        watch.add_dir(&dir, Some(vec![name, wal])).map_err(fail)?;
        let mut w = SqliteWaiter {
            q: self,
            watch,
            recheck: None,
            dl,
        };
        w.refresh();
        Ok(Box::new(w))
    }
}

pub(super) struct SqliteWaiter<'a> {
    pub(super) q: &'a SqliteQueue,
    pub(super) watch: crate::watch::Watch,
    /// A commit's last WAL write can wake us a moment before the commit is
    /// visible (SQLite then updates the WAL index, a shared mapping inotify
    /// does not see): after each event, look once more a little later.
    pub(super) recheck: Option<std::time::Instant>,
    /// The command's deadline: reading the running jobs waits no longer.
    pub(super) dl: Deadline,
}

impl SqliteWaiter<'_> {
    /// The wrappers of this host's running jobs: their death must wake us.
    pub(super) fn refresh(&mut self) {
        let _call = super::busy::during(self.dl, &self.q.shown());
        let pids: Vec<u32> = match self.q.db(false) {
            Ok(Some(db)) => self
                .q
                .jobs(&db)
                .unwrap_or_default()
                .into_iter()
                .filter(|j| j.host == running::host())
                .map(|j| j.pid)
                .collect(),
            _ => Vec::new(),
        };
        self.watch.set_pids(&pids);
    }
}

impl Waiter for SqliteWaiter<'_> {
    fn wait(&mut self, deadline: Option<std::time::Instant>) -> Result<bool> {
        let until = match (deadline, self.recheck.take()) {
            (Some(d), Some(r)) => Some(d.min(r)),
            (d, r) => d.or(r),
        };
        let woke = self
            .watch
            .wait(until)
            .map_err(|e| Error::io(format!("cannot watch {}", self.q.path.display()), e))?;
        if woke {
            self.recheck = Some(std::time::Instant::now() + std::time::Duration::from_millis(50));
        }
        self.refresh();
        // The re-check's wake-up is not the caller's deadline.
        Ok(woke || deadline.is_none_or(|d| std::time::Instant::now() < d))
    }
}

/// The running jobs are a table; a dead job is claimed in one immediate
/// transaction, and its row's presence says whether another reader was
/// first.
impl running::Registry for SqliteQueue {
    fn registered(&self, dl: Deadline) -> Result<Vec<Job>> {
        let _call = super::busy::during(dl, &self.shown());
        match self.db(false)? {
            Some(db) => self.jobs(&db),
            None => Ok(Vec::new()),
        }
    }

    fn claim_each(
        &self,
        dl: Deadline,
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn running::Claim) -> Result<()>,
    ) -> Result<()> {
        let _call = super::busy::during(dl, &self.shown());
        let Some(mut db) = self.db(false)? else {
            return Ok(());
        };
        let err = self.err();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        for job in dead {
            let still: Option<String> = tx
                .query_row("SELECT id FROM running WHERE id = ?1", [&job.id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(&err)?;
            if still.is_none() {
                continue;
            }
            lost(
                &job,
                &SqliteClaim {
                    tx: &tx,
                    path: &self.path,
                },
            )?;
            tx.execute("DELETE FROM running WHERE id = ?1", [&job.id])
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }
}

/// A claim is the reaper's transaction.
struct SqliteClaim<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl running::Claim for SqliteClaim<'_> {
    fn has_record(&self, id: &str) -> Result<bool> {
        self.tx
            .query_row("SELECT 1 FROM records WHERE id = ?1 LIMIT 1", [id], |_| {
                Ok(())
            })
            .optional()
            .map(|r| r.is_some())
            .map_err(db_err(self.path))
    }

    fn append(&self, rec: &Stored) -> Result<()> {
        SqliteQueue::insert(self.tx, rec)
            .map(|_| ())
            .map_err(db_err(self.path))
    }
}
