//! Waiting for another connection's write lock. SQLite calls its busy
//! handler as a plain function, with no way to hand it a value, so the
//! deadline of the store call in progress reaches it through this thread's
//! slot, set for that call's duration by [`during`].

use crate::error::Error;
use crate::watch::{Blocked, Deadline};
use std::cell::RefCell;

/// The store call in progress on this thread.
#[derive(Default)]
struct Call {
    deadline: Deadline,
    /// What a wait is for, as [`Blocked`] says it.
    what: String,
    /// The wait of the statement that is blocked, if one is.
    blocked: Option<Blocked>,
}

thread_local! {
    static CALL: RefCell<Call> = RefCell::new(Call::default());
}

/// Bounds this thread's waits by `deadline` until dropped; `what` names the
/// lock (`sqlite:PATH`).
pub(super) fn during(deadline: Deadline, what: &str) -> During {
    let call = Call {
        deadline,
        what: format!("the lock on {what} (another process holds it)"),
        blocked: None,
    };
    During(Some(CALL.with(|c| c.replace(call))))
}

/// Puts the outer call's bound back (a call may make another).
pub(super) struct During(Option<Call>);

impl Drop for During {
    fn drop(&mut self) {
        if let Some(outer) = self.0.take() {
            CALL.with(|c| c.replace(outer));
        }
    }
}

/// SQLite's busy handler: whether to try again. Without a deadline a lock
/// is waited for a minute, then the statement fails busy; with one, until
/// it passes (then [`timed_out`] words the failure, exit 124). `count` is
/// how often it was called for this statement; the pauses grow from 1 ms
/// to 50 ms.
pub(super) fn busy(count: i32) -> bool {
    const MINUTE_OF_PAUSES: i32 = 60_000 / 50 + 6;
    if count > MINUTE_OF_PAUSES {
        return false;
    }
    let go_on = CALL.with(|c| {
        let mut c = c.borrow_mut();
        if count == 0 || c.blocked.is_none() {
            let (deadline, what) = (c.deadline, c.what.clone());
            c.blocked = Some(Blocked::new(deadline, what));
        }
        c.blocked.as_mut().is_none_or(|b| b.again().is_ok())
    });
    if go_on {
        let ms = 1u64 << count.clamp(0, 5) as u32;
        std::thread::sleep(std::time::Duration::from_millis(ms.min(50)));
    }
    go_on
}

/// The error of a statement that failed busy because the call's deadline
/// passed, if that is why.
pub(super) fn timed_out() -> Option<Error> {
    CALL.with(|c| {
        let c = c.borrow();
        c.deadline.expired().then(|| Deadline::timed_out(&c.what))
    })
}
