//! The one error printer: `hopscope: error: …` on stderr, and the exit
//! status 2 that goes with it.

use std::fmt::Display;
use std::process::ExitCode;

use crate::model::Model;

/// Says what went wrong, as `hopscope: error: MESSAGE` on stderr.
pub fn error(message: impl Display) {
    say!("hopscope: error: {message}");
}

/// Says what went wrong and gives the exit status for it (2).
pub fn fail(message: impl Display) -> ExitCode {
    error(message);
    ExitCode::from(2)
}

/// Says each problem that kept part of the configuration from loading.
pub fn print_load_errors(model: &Model) {
    for e in model.errors() {
        error(e);
    }
}

/// Exit code for a finished analysis: load errors make it 2.
pub fn load_status(model: &Model) -> ExitCode {
    if model.errors().next().is_some() {
        print_load_errors(model);
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Why a hop id given on the command line names no hop: ids are
/// `FILE:LINE`, and a pass directive reached through several include
/// paths has one id per path, which the message lists.
pub fn no_hop(model: &Model, id: &str) -> String {
    let paths = model.ids_at(id);
    if paths.is_empty() {
        format!("no hop \"{id}\" (ids are FILE:LINE, see `hopscope hops`)")
    } else {
        format!(
            "\"{id}\" is reached through {} include paths, one hop each: name one of {}",
            paths.len(),
            paths.join(", ")
        )
    }
}
