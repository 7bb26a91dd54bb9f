//! Running jobs: `Q.running/ID.json`, one file per job whose wrapper runs;
//! a reader that finds its wrapper dead claims it under the exclusive lock
//! (the file's existence says whether another reader was first). And the
//! waiter, which watches those wrappers too.

use super::JsonlQueue;
use crate::error::{Error, Result};
use crate::queue::files;
use crate::queue::running;
use crate::queue::store::Waiter;
use crate::record::{Job, Stored};
use crate::watch::Deadline;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A running job's file holds one job's JSON: its command line, at most
/// what the kernel lets a command line be (2 MiB), and a little more.
const JOB_FILE_MAX: u64 = 4 << 20;

impl JsonlQueue {
    /// The running jobs' files. No directory means no job; a directory
    /// that cannot be read is an error, never "nothing runs".
    pub(super) fn jobs(&self) -> Result<Vec<(PathBuf, Job)>> {
        let rd = match fs::read_dir(&self.running_dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::io(
                    format!("cannot read {}", self.running_dir.display()),
                    e,
                ));
            }
        };
        // In no order: `queue::running` orders jobs, for every tier. What is
        // not a job is noted (the queue names it once) and skipped, as a bad
        // line is: only `ID.json` files cq wrote, and its own `.ID.tmp` in
        // flight, are jobs.
        let jobs: Vec<(PathBuf, Job)> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter_map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned())?;
                let skip = |why: &str| self.bad.note(p.display().to_string(), why);
                if name.starts_with('.') && name.ends_with(".tmp") {
                    return None;
                }
                if !name.ends_with(".json") {
                    skip("not a running job's file (ID.json)");
                    return None;
                }
                // Untrusted: a FIFO, a symlink to /dev/zero or a huge file
                // here once hung or swelled every reader.
                let text = match files::read_side_file(&p, JOB_FILE_MAX) {
                    Ok(t) => t?,
                    Err(why) => {
                        skip(&why);
                        return None;
                    }
                };
                match serde_json::from_slice::<Job>(&text) {
                    Ok(job) => Some((p, job)),
                    Err(e) => {
                        skip(&format!("not a running job ({e})"));
                        None
                    }
                }
            })
            .collect();
        Ok(jobs)
    }

    pub(super) fn start_job(&self, job: &Job) -> Result<()> {
        let fail = |e| {
            Error::io(
                format!(
                    "cannot register the running job in {}",
                    self.running_dir.display()
                ),
                e,
            )
        };
        match fs::DirBuilder::new().mode(0o700).create(&self.running_dir) {
            Ok(()) => fs::set_permissions(&self.running_dir, fs::Permissions::from_mode(0o700))
                .map_err(fail)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(fail(e)),
        }
        let text = serde_json::to_vec(job).expect("a job always serialises");
        let tmp = self.running_dir.join(format!(".{}.tmp", job.id));
        let mut o = OpenOptions::new();
        o.write(true).create(true).truncate(true).mode(0o600);
        o.open(&tmp)
            .and_then(|mut f| f.write_all(&text))
            .and_then(|()| fs::rename(&tmp, self.running_dir.join(format!("{}.json", job.id))))
            .map_err(|e| {
                // A full disk must not leave a half-written entry behind.
                let _ = fs::remove_file(&tmp);
                fail(e)
            })
    }

    pub(super) fn finish_job(&self, id: &str) {
        let _ = fs::remove_file(self.running_dir.join(format!("{id}.json")));
    }

    pub(super) fn watch(&self) -> Result<Box<dyn Waiter + '_>> {
        self.ensure_dir()?;
        let fail = |e| Error::io(format!("cannot watch {}", self.dir().display()), e);
        let mut w = crate::watch::Watch::new().map_err(fail)?;
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.as_bytes().to_vec())
                .unwrap_or_default()
        };
        w.add_dir(
            &self.dir(),
            // The fact log too: `cq retry` wakes a following consumer.
            Some(vec![
                name(&self.path),
                name(&self.running_dir),
                name(&self.facts_path()),
            ]),
        )
        .map_err(fail)?;
        // The running directory may not exist yet; its creation shows in the
        // queue directory, and the next wait watches it.
        let mut jw = JsonlWaiter {
            q: self,
            watch: w,
            watching_running: false,
        };
        jw.refresh();
        Ok(Box::new(jw))
    }
}

struct JsonlWaiter<'a> {
    q: &'a JsonlQueue,
    watch: crate::watch::Watch,
    watching_running: bool,
}

impl JsonlWaiter<'_> {
    /// Watches the running directory once it exists, and the wrappers of
    /// this host's running jobs, whose death must wake us too.
    fn refresh(&mut self) {
        if !self.watching_running && self.q.running_dir.is_dir() {
            self.watching_running = self.watch.add_dir(&self.q.running_dir, None).is_ok();
        }
        let host = running::host();
        // Unreadable now: the next command that lists jobs says so.
        let pids: Vec<u32> = self
            .q
            .jobs()
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, j)| j.host == host)
            .map(|(_, j)| j.pid)
            .collect();
        self.watch.set_pids(&pids);
    }
}

impl Waiter for JsonlWaiter<'_> {
    fn wait(&mut self, deadline: Option<std::time::Instant>) -> Result<bool> {
        let woke = self
            .watch
            .wait(deadline)
            .map_err(|e| Error::io(format!("cannot watch {}", self.q.dir().display()), e))?;
        self.refresh();
        Ok(woke)
    }
}

/// The running jobs are files in `QUEUE.running/`; a dead job is claimed
/// under the exclusive lock, and the file's existence says whether another
/// reader was first.
impl running::Registry for JsonlQueue {
    fn registered(&self, _dl: Deadline) -> Result<Vec<Job>> {
        // A queue path that cannot be resolved is an error here too, not
        // "nothing runs" (jobs can run before the queue file exists).
        files::present(&self.path)?;
        Ok(self.jobs()?.into_iter().map(|(_, j)| j).collect())
    }

    fn claim_each(
        &self,
        dl: Deadline,
        dead: Vec<Job>,
        lost: &mut dyn FnMut(&Job, &dyn running::Claim) -> Result<()>,
    ) -> Result<()> {
        let _lock = self.lock(true, true, dl)?;
        let paths: std::collections::HashMap<String, PathBuf> =
            self.jobs()?.into_iter().map(|(p, j)| (j.id, p)).collect();
        for job in dead {
            let Some(path) = paths.get(&job.id) else {
                continue; // another reader was first
            };
            lost(&job, self)?;
            let _ = fs::remove_file(path);
        }
        Ok(())
    }
}

/// Inside a claim the exclusive lock is held.
impl running::Claim for JsonlQueue {
    fn has_record(&self, id: &str) -> Result<bool> {
        self.has_id(id)
    }

    fn append(&self, rec: &Stored) -> Result<()> {
        let line = format!("{}\n", String::from_utf8_lossy(&rec.line));
        self.append_locked(&line, true).map(|_| ())
    }
}
