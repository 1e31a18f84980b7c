//! Writes a deterministic, realistic nginx configuration tree for
//! benchmarks:
//!
//! ```sh
//! cargo run --release --example gen -- --directives 100000 --files 500 --seed 1 --out /tmp/tree
//! ```
//!
//! Prints one line of JSON describing the tree (files, bytes, directives,
//! hops, …). See `benches/support/generator.rs` for what the tree holds and
//! how to check it with `nginx -t`.

#[path = "../benches/support/generator.rs"]
mod generator;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: gen --directives N --files F --seed S --out DIR [--tls-dir PATH] [--no-load-module]";

fn main() -> ExitCode {
    let mut opts = generator::Options::new(10_000, 10, 1);
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        let number = |s: Result<String, String>| -> Result<u64, String> {
            let s = s?;
            s.parse::<u64>()
                .map_err(|_| format!("not a number: {s}\n{USAGE}"))
        };
        let r = match a.as_str() {
            "--directives" => number(value(&a)).map(|n| opts.directives = n as usize),
            "--files" => number(value(&a)).map(|n| opts.files = (n as usize).max(1)),
            "--seed" => number(value(&a)).map(|n| opts.seed = n),
            "--out" => value(&a).map(|v| out = Some(PathBuf::from(v))),
            "--tls-dir" => value(&a).map(|v| opts.tls_dir = v),
            "--no-load-module" => {
                opts.stream_module = None;
                Ok(())
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other}\n{USAGE}")),
        };
        if let Err(e) = r {
            eprintln!("gen: {e}");
            return ExitCode::from(2);
        }
    }
    let Some(out) = out else {
        eprintln!("gen: --out is required\n{USAGE}");
        return ExitCode::from(2);
    };
    let tree = generator::generate(&opts);
    if let Err(e) = tree.write_to(&out) {
        eprintln!("gen: cannot write {}: {e}", out.display());
        return ExitCode::from(1);
    }
    println!("{}", tree.summary_json());
    ExitCode::SUCCESS
}
