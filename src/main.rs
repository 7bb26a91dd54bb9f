//! `cq`: see the library (src/lib.rs). This file is only the entry point.
//!
//! `cq push` and `cq wrap` run once per job, so cq's own start-up is on every
//! job's path. `no_main` skips the Rust runtime's start-up work that cq does
//! not need — finding the main thread's stack guard by parsing
//! /proc/self/maps was a fifth of a whole `cq push`'s instructions.
#![no_main]

/// The C entry point. Arguments and environment reach std through glibc
/// as usual.
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    cq::entry()
}
