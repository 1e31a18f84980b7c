//! One file per command. `completions` and `man`, which print documents
//! about hopscope itself, are the two small ones here.

pub mod check;
pub mod explain;
pub mod fix;
pub mod fleet;
pub mod hops;
pub mod probe;
pub mod tui;

use std::process::ExitCode;

use clap::CommandFactory;

use super::args::Cli;
use super::error::fail;
use super::output::emit_raw;
use crate::diagnostic::Finding;
use crate::model::Model;

/// `hopscope completions SHELL`: a shell completion script.
pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "hopscope", &mut out);
    emit_raw(&String::from_utf8_lossy(&out));
    ExitCode::SUCCESS
}

/// `hopscope man`: the manual page (roff).
pub fn man() -> ExitCode {
    let mut out = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut out) {
        Ok(()) => {
            emit_raw(&String::from_utf8_lossy(&out));
            ExitCode::SUCCESS
        }
        Err(e) => fail(format_args!("cannot render the manual page: {e}")),
    }
}

/// The command is done and the process is about to exit: leave the model
/// and the findings to the OS instead of freeing their millions of small
/// allocations one by one (a tenth of the run on a large configuration).
fn exit_without_freeing(model: Model, findings: Vec<Finding>) {
    std::mem::forget(model);
    std::mem::forget(findings);
}
