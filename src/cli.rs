//! The command line: argument parsing and the scriptable commands.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::conf::{self, Input};
use crate::model::{Model, Version};
use crate::report;

const EXAMPLES: &str = "\
Examples:
  hopscope                              explore the built-in demo in the terminal UI
  hopscope /etc/nginx                   explore a live configuration
  nginx -T | hopscope -                 explore what nginx really loaded (works over SSH)
  hopscope hops /etc/nginx --json       every upstream TLS hop with effective settings
  hopscope hops --nginx-version 1.22.1  the demo with nginx 1.22's defaults";

#[derive(Parser, Debug)]
#[command(
    name = "hopscope",
    version,
    about = "Audit the TLS hops nginx makes to its upstreams: effective settings, the SNI nginx really sends, risks that teach, safe fixes.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// nginx.conf, a directory holding one, a file with `nginx -T` output, or
    /// `-` for standard input. Without it: the built-in demo.
    pub path: Option<PathBuf>,
    /// The nginx version whose defaults and directives apply.
    #[arg(long, value_name = "X.Y.Z", default_value_t = Version::NEWEST_STABLE, value_parser = parse_version, global = true)]
    pub nginx_version: Version,
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse()
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every upstream TLS hop with the effective value and origin of each *_ssl_* directive.
    Hops {
        #[command(flatten)]
        load: LoadArgs,
        /// Print the JSON document of the output contract (hopscope.hops/1).
        #[arg(long)]
        json: bool,
    },
}

impl LoadArgs {
    pub fn input(&self) -> Input {
        match &self.path {
            None => Input::Demo,
            Some(p) if p.as_os_str() == "-" => Input::Stdin,
            Some(p) => Input::Path(p.clone()),
        }
    }

    /// Loads and analyses, or explains on stderr why it cannot.
    pub fn model(&self) -> Result<Model, ExitCode> {
        match conf::load(&self.input()) {
            Ok(cfg) => Ok(Model::build(cfg, self.nginx_version)),
            Err(e) => {
                eprintln!("hopscope: error: {e}");
                Err(ExitCode::from(2))
            }
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Exit code for a finished analysis: load errors make it 2.
fn load_status(model: &Model) -> ExitCode {
    if model.errors().next().is_some() {
        for e in model.errors() {
            eprintln!("hopscope: error: {e}");
        }
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        None => {
            let model = match cli.load.model() {
                Ok(m) => m,
                Err(code) => return code,
            };
            emit(&report::hops::table(&model, |_| Vec::new()));
            load_status(&model)
        }
        Some(Command::Hops { load, json }) => {
            let model = match load.model() {
                Ok(m) => m,
                Err(code) => return code,
            };
            if json {
                let doc = report::hops::document(&model, |_| Vec::new());
                emit(&format!("{doc:#}\n"));
            } else {
                emit(&report::hops::table(&model, |_| Vec::new()));
            }
            load_status(&model)
        }
    }
}
