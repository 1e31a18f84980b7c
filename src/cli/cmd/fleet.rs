//! `hopscope check --ssh-hosts`: many servers over SSH, one report.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::args::{CheckArgs, Format};
use crate::cli::error::{error, fail};
use crate::cli::output::emit_raw;
use crate::jobs::Source;
use crate::report::text::Paint;
use crate::rules;

/// `check --ssh-hosts FILE`: every host audited (a bounded number at a
/// time), one report; exit 2 when a host could not be audited.
pub fn run(args: &CheckArgs, file: &std::path::Path) -> ExitCode {
    use crate::report::fleet::{self, Audited, HostAudit};
    if matches!(args.format, Format::Github | Format::Gitlab) {
        return fail("--format github and gitlab report one configuration; with --ssh-hosts use text, json or sarif");
    }
    if args.profile.is_some() {
        return fail("--profile reports one configuration; run it per host with --ssh HOST");
    }
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let inventory = match crate::remote::Inventory::parse(&text) {
        Ok(i) => i,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    let base = match args.load.remote.base("fleet") {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let targets = match inventory.targets(args.fleet.ssh_group.as_deref(), &base) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    if targets.is_empty() {
        return fail(format!("{}: no hosts to audit", file.display()));
    }
    let version = args.load.nginx_version;
    let audits =
        crate::parallel::map_bounded(targets, usize::from(args.fleet.parallel), |r| HostAudit {
            host: r.host.clone(),
            result: Source::Ssh(r.clone())
                .load(version)
                .map_err(|e| e.to_string())
                .map(|model| {
                    let findings = rules::check(&model)
                        .into_iter()
                        .filter(|f| args.keeps(f))
                        .collect();
                    Audited { model, findings }
                }),
        });
    let selected = args.selected_rules();
    match args.format {
        Format::Text => {
            let color = args.color.resolve(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            emit_raw(&fleet::text(&audits, &selected, Paint::new(color)));
        }
        Format::Json | Format::Sarif | Format::Github | Format::Gitlab => {
            let doc = if args.format == Format::Json {
                fleet::json(&audits)
            } else {
                fleet::sarif(&audits, &selected)
            };
            emit_raw(&format!("{doc:#}\n"));
            for a in &audits {
                match &a.result {
                    Err(e) => error(e),
                    Ok(done) => {
                        for e in done.model.errors() {
                            error(format_args!("{}: {e}", a.host));
                        }
                    }
                }
            }
        }
    }
    ExitCode::from(fleet::status(&audits))
}
