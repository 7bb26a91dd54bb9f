//! Entries a store holds that are not records (a torn or foreign line, a
//! stream entry written by another program, a row edited by hand): stores
//! note them here as facts (where, what), and the queue names each once,
//! in one wording for every tier ([`super::Queue`]), and leaves it in place.

use std::cell::RefCell;
use std::fmt::Display;

/// Where a bad entry is (`line 12`, `entry 1712-0`, `row 5`, `partition 0
/// offset 7`) and why it is not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub at: String,
    pub why: String,
}

/// The bad entries a store met since the queue last asked.
#[derive(Default)]
pub struct BadEntries(RefCell<Vec<Bad>>);

impl BadEntries {
    pub fn note(&self, at: impl Into<String>, why: impl Display) {
        self.0.borrow_mut().push(Bad {
            at: at.into(),
            why: why.to_string(),
        });
    }

    pub fn take(&self) -> Vec<Bad> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}
