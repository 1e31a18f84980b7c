//! One rule for tests that need a real component (nginx, tmux, patch,
//! root, a debug build's fault hook): where it is missing, the test says
//! why and is skipped on a developer's machine, and fails under CI (env
//! `CI` set, as `.ci/run` does), which must provide every component.
#![allow(dead_code)]

/// True when the test can run. `missing` is `None` when the component is
/// here, else why it is not; under CI a missing component panics.
pub fn required(what: &str, missing: Option<String>) -> bool {
    let Some(why) = missing else { return true };
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{what} cannot run here ({why}), but CI is set: .ci/run must provide it");
    }
    eprintln!("skipping {what}: {why}");
    false
}
