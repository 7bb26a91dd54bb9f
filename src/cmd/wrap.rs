//! `cq wrap`: run CMD invisibly, then append its record; with `--detach`,
//! do that in a session of its own and return once the job is registered.

use super::{Exit, Run, cwd, detach, output_dir};
use crate::cli::WrapArgs;
use crate::error::{Error, Result, code};
use crate::process::{self, Forwarder, Outcome};
use crate::queue::{self, Job, Queue, Where};
use crate::record::{self, Ended, NewRecord};
use crate::time;
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Instant;

impl Run for WrapArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        let checked = self.check()?;
        #[cfg(feature = "kafka")]
        if matches!(loc, queue::Location::Kafka(_)) {
            crate::process::note_inherited_fds(self.ready_fd);
        }
        let q = queue::open(loc).map_err(wrap_failed)?;
        // Before CMD runs, not after: a job whose completion cannot be
        // recorded should not start.
        q.check_writable().map_err(wrap_failed)?;
        if self.detach {
            return detach::start(&self, at, &checked.name, &checked.output_dir)
                .map_err(wrap_failed);
        }
        let mut ready = self.ready_fd.and_then(detach::Ready::from_fd);
        let mut fwd = Forwarder::install().map_err(|e| {
            Error::io("cannot install signal handlers", e).with_code(code::WRAP_FAILED)
        })?;

        let id = self.detached_id.clone().unwrap_or_else(record::new_id);
        let started = time::now();
        let clock = Instant::now();
        let command: Vec<String> = self
            .cmd
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let mut job = self.job(checked, id, started, &command);
        // Visible to `cq list --running` while CMD runs; if cq is killed the
        // entry stays, and a reader turns it into a lost record.
        if let Err(e) = q.start(&job) {
            if let Some(r) = ready.take() {
                r.failed(&e.msg);
            }
            return Err(wrap_failed(e));
        }
        // `cq wrap --detach` returns now: the job is visible as running.
        if let Some(r) = ready.take() {
            r.registered();
        }
        // Made now, so that it is the job's alone from its first instant.
        let meta_file = super::meta::Channel::open();
        let outcome = self.run_cmd(&q, &job, &meta_file, &mut fwd);
        let duration_ms = clock.elapsed().as_millis() as u64;
        if let Ok(c) = meta_file {
            c.collect(&mut job.meta);
        }
        let ended = Ended {
            exit_code: outcome.exit_code,
            signal: outcome.signal.map(process::signal_name),
            duration_ms,
        };
        let rec = NewRecord::wrapped(&job, command, ended);
        let asked_to_end = append_record(loc, q, &rec, &outcome, &fwd);
        // A signal sent to cq once CMD had ended is obeyed, not swallowed.
        Ok(match outcome.signal.or(asked_to_end) {
            Some(sig) => Exit::Signal(sig),
            None => Exit::Code(outcome.exit_code.clamp(0, 255) as u8),
        })
    }
}

/// What the arguments say of the job, checked before the queue is opened.
struct Checked {
    name: String,
    cwd: String,
    output_dir: String,
    meta: Map<String, Value>,
}

fn wrap_failed(e: Error) -> Error {
    e.with_code(code::WRAP_FAILED)
}

impl WrapArgs {
    /// Checks the arguments (usage errors, 2) and finds the job's name,
    /// directory and output directory; nothing is opened yet.
    fn check(&self) -> Result<Checked> {
        let meta = record::parse_meta(&self.meta).map_err(Error::usage)?;
        if self.log.is_some() && !self.detach && self.detached_id.is_none() {
            return Err(Error::usage("--log goes with --detach"));
        }
        let name = match self
            .name
            .clone()
            .or_else(|| crate::config::get().name.clone())
        {
            Some(n) if n.is_empty() => return Err(Error::usage("the job name must not be empty")),
            Some(n) => n,
            None => command_name(&self.cmd[0])?,
        };
        let cwd = cwd().map_err(wrap_failed)?;
        let output_dir = output_dir(self.output_dir.as_deref(), &cwd)?;
        record::check_job_text(&name, &output_dir, &cwd).map_err(Error::usage)?;
        if let Some(l) = &self.log {
            record::check_text("the log's path", &l.to_string_lossy(), record::PATH_MAX)
                .map_err(Error::usage)?;
        }
        Ok(Checked {
            name,
            cwd,
            output_dir,
            meta,
        })
    }

    /// The running job as readers see it, from its start at `started`.
    fn job(
        &self,
        checked: Checked,
        id: String,
        started: jiff::Timestamp,
        command: &[String],
    ) -> Job {
        let me = std::process::id();
        Job {
            id,
            name: checked.name,
            host: crate::process::host().to_string(),
            pid: me,
            pid_start: crate::process::proc_start(me),
            boot_id: crate::process::this_boot(),
            started_at: time::format(started),
            // Bounded like the record (its JSON well under the 4 MiB a
            // reader reads of a side file, whatever escaping does).
            command: crate::record::cut_args(command, 256 << 10, 4 << 10),
            cwd: checked.cwd,
            output_dir: checked.output_dir,
            meta: checked.meta,
            log: self
                .log
                .as_ref()
                .filter(|_| self.detached_id.is_some())
                .map(|l| l.to_string_lossy().into_owned()),
            session: record::session_of_env(),
        }
    }

    /// Runs CMD to its end, renewing the job's lease meanwhile; a CMD that
    /// could not start ends as a shell's would (126/127, said on stderr).
    fn run_cmd(
        &self,
        q: &Queue,
        job: &Job,
        meta_file: &std::io::Result<super::meta::Channel>,
        fwd: &mut Forwarder,
    ) -> Outcome {
        let meta_env = meta_file
            .as_ref()
            .map(|c| c.path().to_string_lossy().into_owned())
            .unwrap_or_default();
        let outcome = match process::resolve(&self.cmd[0]) {
            Ok(program) => {
                // On networked tiers the job is a lease kept alive while CMD
                // runs; readers elsewhere see it expire if cq dies.
                let mut renew = || q.renew(&job.id);
                let tick = q
                    .lease_interval()
                    .map(|d| (d, &mut renew as &mut dyn FnMut()));
                process::run(
                    &program,
                    &self.cmd,
                    &[
                        ("CQ_ID", &job.id),
                        ("CQ_NAME", &job.name),
                        ("CQ_META_FILE", &meta_env),
                    ],
                    fwd,
                    tick,
                )
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(o) => o,
            Err(ns) => {
                crate::error::warn(&ns.why);
                Outcome {
                    exit_code: i32::from(ns.exit_code),
                    signal: None,
                    ending: None,
                }
            }
        }
    }
}

/// Appends the record (retrying as the tier allows) and ends the job's
/// running entry; a record that cannot be saved goes to stderr. Returns
/// the signal that asked cq to end meanwhile, if any.
fn append_record(
    loc: &queue::Location,
    q: Queue,
    rec: &NewRecord,
    outcome: &Outcome,
    fwd: &Forwarder,
) -> Option<i32> {
    let line = rec.to_line();
    let mut retrying = |e: &Error, window: std::time::Duration| {
        crate::error::warn(&format!(
            "{e}; trying again for up to {}",
            time::human_ms(window.as_millis() as u64)
        ));
    };
    // A signal from here on ends cq within a second, the record on
    // stderr, however long the append would wait.
    let ending = process::Ending::arm(
        fwd,
        outcome.ending,
        format!("cq: unsaved record: {}\n", line.trim_end()).into_bytes(),
    );
    let (q, appended) = queue::append_retrying(loc, q, &line, &mut retrying);
    let asked_to_end = ending.disarm();
    match appended {
        Ok(()) => q.finish(&rec.id),
        Err(e) => {
            // CMD's status wins; the record goes where a person will see
            // it. The running entry stays: a reader that can write again
            // will record the job as lost rather than forget it.
            crate::error::warn(&e.to_string());
            crate::error::warn(&format!("unsaved record: {}", line.trim_end()));
        }
    }
    asked_to_end
}

/// The job's name when none is given: CMD's base name (`/usr/bin/make` is
/// `make`), or CMD itself when it has none (`/`, `..`). A job's name is
/// never empty: `cq wait ''` cannot ask for it, so an empty CMD needs
/// `--name` (and is then run, and recorded as not found, as a shell would).
fn command_name(cmd: &std::ffi::OsStr) -> Result<String> {
    let name = Path::new(cmd)
        .file_name()
        .map_or_else(|| cmd.to_string_lossy(), |b| b.to_string_lossy())
        .into_owned();
    if name.is_empty() {
        return Err(Error::usage(
            "the command is empty, so the job has no name: give one with --name",
        ));
    }
    Ok(name)
}
