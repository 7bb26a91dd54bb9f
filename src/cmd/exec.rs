//! `cq pull --exec CMD`: run a handler per record. The rules (when an
//! attempt is counted, when a record is acknowledged, retried or parked,
//! which records may run side by side) are the queue's, in
//! queue/consume/; this file runs the processes and waits.

use super::{Exit, deadline};
use crate::cli::PullArgs;
use crate::error::{Error, Result, code};
use crate::queue::consume::{Policy, Work};
use crate::queue::{self, Location};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The options of `--exec`, checked before anything is read.
fn policy(args: &PullArgs, cmd: &str) -> Result<Policy> {
    if args.jobs == 0 {
        return Err(Error::usage("--jobs must be at least 1"));
    }
    if cmd.trim().is_empty() {
        return Err(Error::usage("--exec needs a command"));
    }
    let backoff = crate::time::parse_duration(&args.backoff)?;
    if args.key.is_empty() || args.key == "meta." {
        return Err(Error::usage(
            "--key needs a record key, such as name or meta.KEY",
        ));
    }
    if args.timeout.is_some() && !args.follow {
        return Err(Error::usage("--timeout needs --follow"));
    }
    Ok(Policy {
        retries: args.retries,
        backoff,
        key: args.key.clone(),
    })
}

pub(super) fn consume(args: PullArgs, cmd: String, loc: &Location) -> Result<Exit> {
    let policy = policy(&args, &cmd)?;
    let until = deadline(args.timeout.as_deref())?;
    let q = queue::open(loc)?;
    q.set_deadline(crate::watch::Deadline::at(until));
    if let Some(point) = &args.from {
        q.replay(None, point)?;
    }
    // Watch before looking, so a record appended in between wakes us.
    let mut waiter = if args.follow { Some(q.waiter()?) } else { None };
    let mut c = q.consumer(policy)?;
    let (tx, rx) = mpsc::channel::<(usize, i32)>();
    let mut running: std::collections::HashMap<usize, Work> = Default::default();
    let mut slot = 0usize;
    let mut timed_out = false;
    let hold = crate::queue::consume::hold_interval();
    let mut next_hold = Instant::now() + hold;
    loop {
        if Instant::now() >= next_hold {
            // Consumers on other hosts see these records still held.
            c.renew()?;
            next_hold = Instant::now() + hold;
        }
        let room = args.jobs - running.len();
        let (works, due) = if room > 0 && !timed_out {
            c.ready(room)?
        } else {
            (Vec::new(), None)
        };
        for w in works {
            slot += 1;
            spawn(&cmd, &w, slot, tx.clone());
            running.insert(slot, w);
        }
        let now = Instant::now();
        if until.is_some_and(|d| now >= d) {
            timed_out = true;
        }
        if running.is_empty() {
            if timed_out {
                return Ok(Exit::Code(code::TIMEOUT));
            }
            match &mut waiter {
                Some(w) => {
                    let wake = [due, until, Some(next_hold)].into_iter().flatten().min();
                    if !w.wait(wake)? && until.is_some_and(|d| Instant::now() >= d) {
                        return Ok(Exit::Code(code::TIMEOUT));
                    }
                }
                None if c.has_waiting() => {
                    let pause = due.map_or(Duration::from_millis(100), |d| {
                        d.min(next_hold).saturating_duration_since(Instant::now())
                    });
                    std::thread::sleep(pause);
                }
                None => break,
            }
            continue;
        }
        let look = args.follow && running.len() < args.jobs;
        let wake = wake_at(look, timed_out, due, until, next_hold);
        let ended = ends(&rx, wake)
            .into_iter()
            .filter_map(|(s, exit)| running.remove(&s).map(|w| (w, exit)))
            .collect();
        c.end_all(ended)?;
    }
    if c.parked > 0 {
        return Err(Error::new(format!(
            "{} record(s) failed {} time(s) and were parked as dead letters (see cq list --dead; cq retry puts them back)",
            c.parked,
            args.retries + 1
        )));
    }
    Ok(Exit::Code(0))
}

/// Until when to wait for a handler's end: a retry falls due, the
/// deadline passes, the hold needs renewing, or (`look`: room left,
/// following) it is time to look for new records. Past the deadline, only
/// the running handlers' ends matter.
fn wake_at(
    look: bool,
    timed_out: bool,
    due: Option<Instant>,
    until: Option<Instant>,
    next_hold: Instant,
) -> Option<Instant> {
    if timed_out {
        return Some(next_hold);
    }
    let tick = look.then(|| Instant::now() + Duration::from_millis(500));
    [due, tick, until, Some(next_hold)]
        .into_iter()
        .flatten()
        .min()
}

/// The handlers that ended (slot, exit status) by `wake`, or by the first
/// end when nothing else can happen.
fn ends(rx: &mpsc::Receiver<(usize, i32)>, wake: Option<Instant>) -> Vec<(usize, i32)> {
    let got = match wake {
        Some(w) => match rx.recv_timeout(w.saturating_duration_since(Instant::now())) {
            Ok(m) => Some(m),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("we hold a sender"),
        },
        None => Some(rx.recv().expect("we hold a sender")),
    };
    let mut ended: Vec<(usize, i32)> = got.into_iter().collect();
    ended.extend(rx.try_iter());
    ended
}

/// Starts the handler for one record on a thread of its own, which feeds
/// it the record, waits for it and reports its exit status (128+N for a
/// signal, as a shell would; 127 when it could not start at all).
fn spawn(cmd: &str, w: &Work, slot: usize, tx: mpsc::Sender<(usize, i32)>) {
    let v = &w.rec.view;
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .env("CQ_ID", v.id.as_deref().unwrap_or_default())
        .env("CQ_NAME", &v.name)
        .env("CQ_STATUS", &v.status)
        .env("CQ_ATTEMPT", w.attempt.to_string());
    match v.exit_code {
        Some(e) => c.env("CQ_EXIT_CODE", e.to_string()),
        None => c.env_remove("CQ_EXIT_CODE"),
    };
    match &v.output_dir {
        Some(d) => c.env("CQ_OUTPUT_DIR", d),
        None => c.env_remove("CQ_OUTPUT_DIR"),
    };
    let mut line = w.rec.line.clone();
    line.push(b'\n');
    let child = c.spawn();
    std::thread::spawn(move || {
        let exit = match child {
            Err(e) => {
                crate::error::warn(&format!(
                    "cannot run the handler (sh -c): {}",
                    crate::error::describe_io(&e)
                ));
                127
            }
            Ok(mut child) => {
                if let Some(mut stdin) = child.stdin.take() {
                    // A handler that does not read its input is no error.
                    let _ = stdin.write_all(&line);
                }
                match child.wait() {
                    Ok(st) => {
                        use std::os::unix::process::ExitStatusExt;
                        st.code()
                            .or_else(|| st.signal().map(|s| 128 + s))
                            .unwrap_or(1)
                    }
                    Err(_) => 1,
                }
            }
        };
        let _ = tx.send((slot, exit));
    });
}
