//! The checks of every fuzz target. They live with the test suite
//! (tests/fuzz_checks/mod.rs), which replays the seeds and every input a
//! fuzzer found with the same checks; this crate only wraps them.
#![allow(clippy::all)]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

pub use checks::*;
