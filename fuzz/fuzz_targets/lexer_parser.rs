#![no_main]
//! See `hopscope_fuzz::lexer_parser` (tests/fuzz_checks/mod.rs).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hopscope_fuzz::lexer_parser(data));
