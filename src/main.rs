use clap::Parser;

fn main() -> std::process::ExitCode {
    hopscope::cli::run(hopscope::cli::Cli::parse())
}
