//! The command line: `run` parses nothing itself (clap does, from
//! [`args`]) and hands each command to its file under [`cmd`]. Text for
//! people goes out through [`output`] only, errors through [`error`] only.

#[macro_use]
pub mod output;
pub mod args;
pub mod cmd;
pub mod error;

use std::io::IsTerminal;
use std::process::ExitCode;

pub use args::{
    CheckArgs, Cli, ColorChoice, Command, FixArgs, FleetArgs, Format, LoadArgs, PlacementArg,
    ProbeArgs, ProbeFormat, RemoteArgs,
};
pub use cmd::check::{check, check_status};
pub use output::{emit, emit_bytes, emit_raw, emit_with, say_text, Stdout};

/// Runs the command the person asked for; the exit status says how it went.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None if std::io::stdout().is_terminal() => cmd::tui::run(&cli),
        // Not a terminal (a pipe, CI): print what the TUI would show first.
        None => cmd::hops::table(&cli.load),
        Some(Command::Hops { load, json }) => cmd::hops::run(&load, json),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Explain { rule, list }) => cmd::explain::run(rule, list),
        Some(Command::Fix(args)) => cmd::fix::run(&args),
        Some(Command::Probe(args)) => cmd::probe::run(&args),
        Some(Command::Completions { shell }) => cmd::completions(shell),
        Some(Command::Man) => cmd::man(),
    }
}
