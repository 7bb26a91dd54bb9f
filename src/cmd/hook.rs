//! `cq hook claude [--wake]`: what the settings of `cq init claude` run at
//! each Claude Code hook event (the rules are in claude.rs).
//!
//! - `--wake` (SessionStart and Stop, as an `asyncRewake` hook): waits for
//!   this session's next record; exits 2 with the records on stderr, which
//!   wakes the session; exits 0 with nothing taken when the session ends,
//!   when another waiter serves the session, in plain `claude -p`, or after
//!   `--wake-for`.
//! - Otherwise (SessionStart, UserPromptSubmit, SessionEnd): acknowledges
//!   what reached the client, and at a prompt (or at the start of a session
//!   that cannot be woken) prints the records for the model's context.
//!   Always exits 0: a hook that fails must not block a prompt.

use super::{Exit, Run};
use crate::claude::{self, Client, HookInput, Sessions};
use crate::cli::HookArgs;
use crate::error::{Error, Result};
use crate::queue::{self, Queue, Where};
use std::time::{Duration, Instant};

/// After the first record, the waiter waits this long for more (a burst of
/// jobs ending together wakes the session once)...
const GATHER_QUIET: Duration = Duration::from_millis(40);
/// ...but never longer than this in all.
const GATHER_MAX: Duration = Duration::from_millis(120);
/// While a hand-over waits for the transcript to show it, the waiter looks
/// again after 50 ms, doubling up to every 5 s.
const SETTLE_FIRST: Duration = Duration::from_millis(25);
const SETTLE_MAX: Duration = Duration::from_secs(5);

impl Run for HookArgs {
    fn run(self, at: &Where) -> Result<Exit> {
        let wake = self.wake;
        match self.hook(at) {
            Ok(exit) => Ok(exit),
            Err(e) => {
                crate::error::warn(&e.msg);
                // Never 2: a waiter's 2 wakes the session, a prompt hook's 2
                // blocks the prompt.
                Ok(Exit::Code(if wake { 1 } else { 0 }))
            }
        }
    }
}

impl HookArgs {
    fn hook(&self, at: &Where) -> Result<Exit> {
        let input = HookInput::read(std::io::stdin().lock())?;
        let client = Client::find();
        if self.wake && !client.is_some_and(|c| c.can_wake) {
            return Ok(Exit::Code(0));
        }
        let q = queue::open(&at.resolve()?)?;
        let sessions = Sessions::new(claude_dir()?, &q);
        if self.wake {
            let client = client.expect("checked above");
            return self.wait(&input, client, &q, &sessions);
        }
        // A prompt hook never outwaits its prompt: the queue's lock waits
        // give up too.
        q.set_deadline(crate::watch::Deadline::after(Some(claude::LOCK_WAIT)));
        let lock = sessions.lock()?;
        let in_flight = lock.settle(&q);
        let deliver = match input.hook_event_name.as_str() {
            "UserPromptSubmit" => true,
            // Where the client can be woken, the waiter brings them.
            "SessionStart" => !client.is_some_and(|c| c.can_wake),
            "SessionEnd" => {
                claude::stop_waiter(sessions.dir(), &input.session_id);
                false
            }
            _ => false,
        };
        let Some(client) = client.filter(|_| deliver) else {
            return Ok(Exit::Code(0));
        };
        let recs = lock.candidates(&q, &input.session_id, self.own_only, &in_flight)?;
        if recs.is_empty() {
            return Ok(Exit::Code(0));
        }
        let token = lock.hand_over(&input, &client, &recs)?;
        let text = claude::text(&recs, &token);
        crate::output::stdout_text(text.as_bytes()).map_err(Error::output)?;
        Ok(Exit::Code(0))
    }

    /// The waiter: one per session, woken by the queue, never by a timer.
    fn wait(
        &self,
        input: &HookInput,
        client: Client,
        q: &Queue,
        sessions: &Sessions,
    ) -> Result<Exit> {
        let Some(_mine) = claude::waiter_lock(sessions.dir(), &input.session_id)? else {
            return Ok(Exit::Code(0));
        };
        // Its stderr is the model's text when it wakes the session.
        crate::error::quiet();
        claude::exit_with(client);
        let until = self
            .wake_for
            .as_deref()
            .map(crate::time::parse_duration)
            .transpose()?
            .and_then(|d| Instant::now().checked_add(d));
        let mut waiter = q.waiter()?;
        let mut first_seen: Option<Instant> = None;
        let mut settle_in = SETTLE_FIRST;
        loop {
            let lock = sessions.lock()?;
            let in_flight = lock.settle(q);
            let recs = lock.candidates(q, &input.session_id, self.own_only, &in_flight)?;
            let now = Instant::now();
            if !recs.is_empty() {
                let since = *first_seen.get_or_insert(now);
                // Gather a burst: more records may be landing right now.
                if now.duration_since(since) < GATHER_MAX && recs.len() < claude::MAX_RECORDS {
                    drop(lock);
                    let end = (now + GATHER_QUIET).min(since + GATHER_MAX);
                    if !waiter.wait(Some(end))? {
                        first_seen = Some(since - GATHER_MAX);
                    }
                    continue;
                }
                let token = lock.hand_over(input, &client, &recs)?;
                drop(lock);
                let text = claude::text(&recs, &token);
                // Written or not, the exit status wakes the session; what did
                // not reach the client is voided by the next hook.
                let _ = crate::output::stderr_text(text.as_bytes());
                return Ok(Exit::Code(2));
            }
            drop(lock);
            if until.is_some_and(|u| now >= u) {
                return Ok(Exit::Code(0));
            }
            // The client writes its transcript a little after it took a
            // hand-over: look again, less and less often, until the
            // hand-over is settled (or its client gone).
            let wake = if in_flight.is_empty() {
                settle_in = SETTLE_FIRST;
                until
            } else {
                settle_in = (settle_in * 2).min(SETTLE_MAX);
                let next = now + settle_in;
                Some(until.map_or(next, |u| u.min(next)))
            };
            waiter.wait(wake)?;
        }
    }
}

/// `$XDG_STATE_HOME/cq/claude/` (else `~/.local/state/cq/claude/`).
fn claude_dir() -> Result<std::path::PathBuf> {
    Ok(queue::files::state_dir()?.join("claude"))
}
