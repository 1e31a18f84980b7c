#![no_main]
//! See `hopscope_fuzz::dump` (tests/fuzz_checks/mod.rs).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hopscope_fuzz::dump(data));
