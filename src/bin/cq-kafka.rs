//! `cq-kafka`: cq with its Kafka tier in process. `cq` runs it (by exec,
//! with the same arguments) for a `kafka://` queue; run directly, it is cq.
#![no_main]

/// The C entry point, as `cq`'s (src/main.rs).
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    cq::entry_with_kafka()
}
