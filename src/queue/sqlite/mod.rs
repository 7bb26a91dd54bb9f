//! The SQLite tier (`sqlite:PATH`): the same records in a WAL-mode
//! database, for the rubric's "hundreds per minute" row.
//!
//! One table holds each record's JSON exactly as cq wrote it (with
//! `"pulled":false`) plus the columns queries need; `pulled` is a column, and
//! a pulled record is printed with its flag flipped in place, byte for byte
//! what the JSONL tier prints. A pull selects and marks in one IMMEDIATE
//! transaction (the write lock), printing before it commits: a puller killed
//! before the commit leaves its records pending (at-least-once), and two
//! pullers never get the same record. Commits are durable
//! (`synchronous=FULL`); a busy handler makes concurrent writers wait their
//! turn instead of failing, for a minute or until the call's deadline
//! (busy.rs).

use crate::error::{Error, Result};
use crate::queue::files;
use crate::queue::store::{CompactReport, Decided, Mark, Tier, Waiter};
use crate::queue::store::{Found, Scan, Store, Taken};
use crate::record::{self, Pulled, View};
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use std::cell::RefCell;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

mod busy;
mod jobs;
mod turn;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    id TEXT,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    completed_at TEXT,
    pulled INTEGER NOT NULL DEFAULT 0,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_pending ON records(pulled, seq);
CREATE INDEX IF NOT EXISTS records_id ON records(id);
CREATE TABLE IF NOT EXISTS running (id TEXT PRIMARY KEY, job TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS facts (seq INTEGER PRIMARY KEY AUTOINCREMENT, fact TEXT NOT NULL);
";

pub struct SqliteQueue {
    path: PathBuf,
    conn: RefCell<Option<Connection>>,
    bad: crate::queue::bad::BadEntries,
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| {
        // The busy handler gave up at the call's deadline: exit 124.
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
            && let Some(t) = busy::timed_out()
        {
            return t;
        }
        Error::new(format!("{}: {e}", path.display()))
    }
}

impl SqliteQueue {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            conn: RefCell::new(None),
            bad: Default::default(),
        }
    }

    fn shown(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    /// The connection; `None` for a reader when there is no database yet.
    fn db(&self, create: bool) -> Result<Option<std::cell::RefMut<'_, Connection>>> {
        if self.conn.borrow().is_none() {
            let exists = files::present(&self.path)?;
            if !exists && !create {
                return Ok(None);
            }
            let err = db_err(&self.path);
            let mut conn = if exists {
                Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)
                    .or_else(|_| {
                        Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    })
                    .map_err(&err)?
            } else {
                files::ensure_dir(&files::parent(&self.path), &self.shown())?;
                let c = Connection::open(&self.path).map_err(&err)?;
                // Records hold command lines; SQLite gives its -wal and -shm
                // files the database's mode.
                std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| Error::io(self.shown(), e))?;
                c
            };
            conn.busy_handler(Some(busy::busy)).map_err(&err)?;
            if !conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
                // Another process may be creating the same database right
                // now: switching to WAL does not wait on the busy handler, so
                // retry it; the schema goes in a transaction, which does.
                let mut tries = 0;
                while let Err(e) = conn.pragma_update(None, "journal_mode", "WAL") {
                    tries += 1;
                    if tries > 500
                        || e.sqlite_error_code() != Some(rusqlite::ErrorCode::DatabaseBusy)
                    {
                        return Err(err(e));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))
                    .map_err(&err)?;
            }
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(&err)?;
            *self.conn.borrow_mut() = Some(conn);
        }
        Ok(Some(std::cell::RefMut::map(self.conn.borrow_mut(), |c| {
            c.as_mut().expect("opened above")
        })))
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        db_err(&self.path)
    }

    fn insert(tx: &rusqlite::Transaction, s: &Stored) -> rusqlite::Result<usize> {
        let pulled = s.view.pulled() == Pulled::Yes;
        let line = record::pending_form(&s.line);
        tx.execute(
            "INSERT INTO records (uid, id, name, status, completed_at, pulled, line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                // A row's own key, never the record's id: two records may
                // share an id (a returning wrapper's), and both are kept.
                record::new_id(),
                s.view.id,
                s.view.name,
                s.view.status,
                s.view.completed_at,
                pulled,
                String::from_utf8_lossy(&line)
            ],
        )
    }

    fn jobs(&self, db: &Connection) -> Result<Vec<Job>> {
        let err = self.err();
        let mut st = db
            .prepare("SELECT job FROM running ORDER BY rowid")
            .map_err(&err)?;
        let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(&err)?;
        let mut jobs = Vec::new();
        for r in rows {
            let text = r.map_err(&err)?;
            match serde_json::from_str::<Job>(&text) {
                Ok(j) => jobs.push(j),
                // Noted (the queue names it once) and skipped, as a bad row is.
                Err(e) => self.bad.note(
                    format!("running job {text}"),
                    format!("a running job that is not one ({e})"),
                ),
            }
        }
        Ok(jobs)
    }
}

impl Store for SqliteQueue {
    fn bad_entries(&self) -> Vec<crate::queue::bad::Bad> {
        self.bad.take()
    }

    fn missing(&self) -> bool {
        matches!(files::present(&self.path), Ok(false))
    }

    fn side_files(&self) -> Vec<String> {
        let p = self.path.display();
        vec![
            format!("{p}-wal, {p}-shm (SQLite's write-ahead log)"),
            format!("{p}: table running (running jobs)"),
            format!("{p}: table facts (what cq pull --exec knows: attempts, dead letters)"),
        ]
    }

    fn tier(&self) -> Tier {
        Tier::Sqlite
    }

    fn describe(&self) -> String {
        self.shown()
    }

    fn check_writable(&self) -> Result<()> {
        let mut db = self.db(true)?.expect("created");
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        tx.commit().map_err(self.err())
    }

    fn append(&self, dl: Deadline, recs: &[Stored]) -> Result<()> {
        let _call = busy::during(dl, &self.shown());
        let mut db = self.db(true)?.expect("created");
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        for r in recs {
            Self::insert(&tx, r).map_err(self.err())?;
        }
        tx.commit().map_err(self.err())
    }

    fn scan(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        pending_hint: bool,
        each: &mut Scan,
    ) -> Result<Mark> {
        let _call = busy::during(dl, &self.shown());
        let Some(db) = self.db(false)? else {
            return Ok(from.cloned().unwrap_or_default());
        };
        let err = self.err();
        let after: i64 = from.and_then(|Mark(m)| m.parse().ok()).unwrap_or(0);
        // The first listing of pending records uses the index; its mark is
        // the newest row at that moment (taken before the query), so a
        // follow-up listing starts after everything this one could see.
        let pending_only = pending_hint && from.is_none();
        let mut last = after;
        if pending_only {
            let max: Option<i64> = db
                .query_row("SELECT max(seq) FROM records", [], |r| r.get(0))
                .map_err(&err)?;
            last = max.unwrap_or(0);
        }
        let sql = if pending_only {
            "SELECT seq, line, pulled FROM records WHERE seq > ?1 AND pulled = 0 ORDER BY seq"
        } else {
            "SELECT seq, line, pulled FROM records WHERE seq > ?1 ORDER BY seq"
        };
        let mut st = db.prepare(sql).map_err(&err)?;
        let rows = st
            .query_map([after], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .map_err(&err)?;
        for row in rows {
            let (seq, line, pulled) = row.map_err(&err)?;
            last = last.max(seq);
            match Stored::from_store(line.into_bytes(), pulled) {
                Ok(s) => {
                    if !each(s)? {
                        break;
                    }
                }
                Err(why) => self.bad.note(format!("row {seq}"), why),
            }
        }
        Ok(Mark(last.to_string()))
    }

    fn take(
        &self,
        dl: Deadline,
        _group: Option<&str>,
        limit: usize,
    ) -> Result<Box<dyn Taken + '_>> {
        let _call = busy::during(dl, &self.shown());
        self.select(limit)
    }

    fn find(&self, dl: Deadline, ids: &[String], _: Decided) -> Result<Box<dyn Found + '_>> {
        let _call = busy::during(dl, &self.shown());
        self.found(ids)
    }

    fn remove(&self, dl: Deadline, may_go: &dyn Fn(&View) -> bool) -> Result<CompactReport> {
        let _call = busy::during(dl, &self.shown());
        self.compact(may_go)
    }

    fn start(&self, job: &Job) -> Result<()> {
        let db = self.db(true)?.expect("created");
        let text = serde_json::to_string(job).expect("a job always serialises");
        db.execute(
            "INSERT OR REPLACE INTO running (id, job) VALUES (?1, ?2)",
            params![job.id, text],
        )
        .map_err(self.err())?;
        Ok(())
    }

    fn finish(&self, id: &str) {
        if let Ok(Some(db)) = self.db(false) {
            let _ = db.execute("DELETE FROM running WHERE id = ?1", [id]);
        }
    }

    fn append_facts(&self, dl: Deadline, facts: &[String]) -> Result<()> {
        let _call = busy::during(dl, &self.shown());
        let mut db = self.db(true)?.expect("created");
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err())?;
        for f in facts {
            tx.execute("INSERT INTO facts (fact) VALUES (?1)", [f])
                .map_err(self.err())?;
        }
        tx.commit().map_err(self.err())
    }

    fn replay(
        &self,
        dl: Deadline,
        _group: Option<&str>,
        from: &dyn Fn(&View) -> bool,
    ) -> Result<usize> {
        let _call = busy::during(dl, &self.shown());
        let Some(mut db) = self.db(false)? else {
            return Ok(0);
        };
        let err = self.err();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let mut first = None;
        {
            let mut st = tx
                .prepare("SELECT seq, line, pulled FROM records ORDER BY seq")
                .map_err(&err)?;
            let mut rows = st.query([]).map_err(&err)?;
            while let Some(r) = rows.next().map_err(&err)? {
                let (seq, line, pulled): (i64, String, bool) = (
                    r.get(0).map_err(&err)?,
                    r.get(1).map_err(&err)?,
                    r.get(2).map_err(&err)?,
                );
                if let Ok(s) = Stored::from_store(line.into_bytes(), pulled)
                    && from(&s.view)
                {
                    first = Some(seq);
                    break;
                }
            }
        }
        let Some(first) = first else {
            return Ok(0);
        };
        let n = tx
            .execute(
                "UPDATE records SET pulled = 0 WHERE seq >= ?1 AND pulled = 1",
                [first],
            )
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(n)
    }

    fn scan_facts(
        &self,
        dl: Deadline,
        from: Option<&Mark>,
        each: &mut crate::queue::store::FactScan,
    ) -> Result<Mark> {
        let _call = busy::during(dl, &self.shown());
        let after: i64 = from.and_then(|Mark(m)| m.parse().ok()).unwrap_or(0);
        let Some(db) = self.db(false)? else {
            return Ok(Mark(after.to_string()));
        };
        let err = self.err();
        // A read-only database from before the fact log has no table: no
        // facts.
        let Ok(mut st) = db.prepare("SELECT seq, fact FROM facts WHERE seq > ?1 ORDER BY seq")
        else {
            return Ok(Mark(after.to_string()));
        };
        let rows = st
            .query_map([after], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        let mut last = after;
        for row in rows {
            let (seq, fact) = row.map_err(&err)?;
            last = seq;
            each(fact.as_bytes())?;
        }
        Ok(Mark(last.to_string()))
    }

    fn waiter(&self, dl: Deadline) -> Result<Box<dyn Waiter + '_>> {
        self.watch(dl)
    }
}
