//! `cq wait NAME...`: block until every job has a record, woken by the
//! queue changing (or a waited-for wrapper dying), never by polling.

use super::{Exit, Run, deadline};
use crate::cli::WaitArgs;
use crate::error::{Error, Result, code};
use crate::output;
use crate::queue::{self, Filter, Stored, Where};
use crate::record::Pulled;
use crate::time::{self, Cutoff};
use std::collections::HashMap;
use std::time::{Duration, Instant};

impl Run for WaitArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let loc = &at.resolve()?;
        if self.names.iter().any(String::is_empty) {
            return Err(Error::usage("a job name must not be empty"));
        }
        let until = deadline(self.timeout.as_deref())?;
        // Second precision, like the records: a job that completed in the
        // second the wait began counts as new.
        let began = Cutoff::new(time::parse_timestamp(&time::format(time::now()))?);
        let fmt = output::format(self.format.chosen());
        let q = queue::open(loc)?;
        q.set_deadline(crate::watch::Deadline::at(until));
        let mut waiter = q.waiter()?;
        let filter = Filter::default();
        let status = Status::new();
        loop {
            // Keyed by the argument: a name, or a job id (`cq wrap --detach`
            // prints one), which any record of that job answers.
            let mut found: HashMap<String, Stored> = HashMap::new();
            q.list(&filter, None, &mut |s| {
                let new = s
                    .view
                    .completed_at
                    .as_deref()
                    .and_then(|t| time::at_or_after(t, &began))
                    == Some(true);
                if let Some(id) = &s.view.id
                    && self.names.contains(id)
                {
                    found.insert(id.clone(), s.clone());
                }
                if (new || s.view.pulled() == Pulled::No) && self.names.contains(&s.view.name) {
                    found.insert(s.view.name.clone(), s);
                }
                Ok(())
            })?;
            if self.names.iter().all(|n| found.contains_key(n)) {
                return self.finish(&q, fmt, found);
            }
            let waiting: Vec<&str> = self
                .names
                .iter()
                .filter(|n| !found.contains_key(*n))
                .map(String::as_str)
                .collect();
            status.show(&waiting);
            if until.is_some_and(|d| Instant::now() >= d) {
                return Ok(Exit::Code(code::TIMEOUT));
            }
            let checked = status.start + GRACE;
            if !self.new_only
                && Instant::now() >= checked
                && let Some(msg) = nothing_answers(&q, &waiting)?
            {
                return Err(Error::new(msg));
            }
            // Woken by the queue, and once when the grace ends.
            let grace = (!self.new_only && Instant::now() < checked).then_some(checked);
            let wake = [until, grace].into_iter().flatten().min();
            waiter.wait(wake)?;
        }
    }
}

/// How long a NAME may go unanswerable before the wait says so.
const GRACE: Duration = Duration::from_secs(10);

/// Why the wait cannot end, if it cannot: some NAME is neither a running
/// job's name or id (on a networked tier, any host's) nor answered yet.
fn nothing_answers(q: &queue::Queue, waiting: &[&str]) -> Result<Option<String>> {
    let running = q.running()?;
    let lost: Vec<&str> = waiting
        .iter()
        .copied()
        .filter(|n| !running.iter().any(|j| j.name == *n || j.id == *n))
        .collect();
    let Some(first) = lost.first() else {
        return Ok(None);
    };
    // The names the queue knows, for "did you mean".
    let mut known: Vec<String> = running.iter().map(|j| j.name.clone()).collect();
    let mut pulled_last = None;
    q.list(&Filter::default(), None, &mut |s| {
        if s.view.name == *first {
            pulled_last = Some((s.view.completed_at.clone(), s.view.id.clone()));
        }
        known.push(s.view.name);
        Ok(())
    })?;
    let names: Vec<String> = lost
        .iter()
        .map(|n| format!("'{}'", output::escape(n)))
        .collect();
    let mut msg = format!(
        "nothing to wait for: no job named {} is running, has a pending record or ended since the wait began",
        names.join(", ")
    );
    if let Some((t, id)) = pulled_last {
        let when = t.map_or(String::new(), |t| format!(" at {}", output::escape(&t)));
        // Its id answers a wait however often it was pulled.
        let by_id = id.map_or(String::new(), |id| {
            format!("; cq wait {} prints it again", output::escape(&id))
        });
        msg.push_str(&format!(
            " ('{}' last ended{when}, and that record was pulled{by_id}; cq list --name shows it)",
            output::escape(first)
        ));
    } else if let Some(close) = closest(first, &known) {
        msg.push_str(&format!(" (did you mean '{}'?)", output::escape(&close)));
    }
    msg.push_str(
        "; wait by the id cq wrap -d printed, or for a job not started yet with --new-only",
    );
    Ok(Some(msg))
}

/// The known name nearest to `name` (edit distance at most 2), if any.
fn closest(name: &str, known: &[String]) -> Option<String> {
    let a: Vec<char> = name.chars().collect();
    let dist = |b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != cb);
                cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
            }
            prev = cur;
        }
        prev[b.len()]
    };
    known
        .iter()
        .filter(|k| k.as_str() != name)
        .map(|k| (dist(k), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k.clone())
}

impl WaitArgs {
    fn finish(
        &self,
        q: &queue::Queue,
        fmt: crate::cli::Format,
        mut found: HashMap<String, Stored>,
    ) -> Result<Exit> {
        let recs: Vec<Stored> = self.names.iter().filter_map(|n| found.remove(n)).collect();
        output::print_records(fmt, &recs).map_err(Error::output)?;
        if self.pull {
            let ids: Vec<String> = recs
                .iter()
                .filter(|r| r.view.pulled() == Pulled::No)
                .filter_map(|r| r.view.id.clone())
                .collect();
            if !ids.is_empty() {
                q.ack(&ids)?;
            }
        }
        let failed = recs.iter().find(|r| r.view.status != "success");
        Ok(Exit::Code(match failed {
            None => 0,
            Some(r) => match r.view.exit_code {
                Some(c) if (1..=255).contains(&c) => c as u8,
                _ => code::ERROR,
            },
        }))
    }
}

/// "cq: waiting for build, test" on stderr, only on a terminal, as a
/// whole line, again only when the names waited for change: the jobs
/// waited for often print to the same terminal, and a line left open
/// (to update an elapsed time in place) runs into their output.
struct Status {
    tty: bool,
    start: Instant,
    shown: std::cell::RefCell<Vec<String>>,
}

impl Status {
    fn new() -> Status {
        Status {
            tty: output::stderr_is_terminal(),
            start: Instant::now(),
            shown: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn show(&self, waiting: &[&str]) {
        let mut shown = self.shown.borrow_mut();
        if !self.tty || *shown == waiting {
            return;
        }
        *shown = waiting.iter().map(|n| n.to_string()).collect();
        let names: Vec<String> = waiting.iter().map(|n| output::escape(n)).collect();
        output::notice(&format!("waiting for {}", names.join(", ")));
    }
}
