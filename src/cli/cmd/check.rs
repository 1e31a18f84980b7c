//! `hopscope check`: findings at or above a severity, as text, JSON,
//! SARIF, GitHub workflow commands or GitLab Code Quality, and a
//! compliance profile's verdicts per hop.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::exit_without_freeing;
use crate::cli::args::{CheckArgs, Format, ProfileArg};
use crate::cli::error::print_load_errors;
use crate::cli::output::{emit, emit_raw, emit_with};
use crate::diagnostic::Finding;
use crate::model::Model;
use crate::report;
use crate::report::text::Paint;
use crate::rules;

/// `check`: findings at or above the threshold, in the chosen format.
pub fn check(args: &CheckArgs) -> ExitCode {
    if let Some(file) = &args.fleet.ssh_hosts {
        return super::fleet::run(args, file);
    }
    if args.profile.is_some() && matches!(args.format, Format::Github | Format::Gitlab) {
        return crate::cli::error::fail(
            "--profile reports in text, json or sarif; --format github and gitlab carry findings only",
        );
    }
    let model = match args.load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let selected = args.selected_rules();
    let mut all = rules::check(&model);
    if args.probe {
        if let Err(code) = probe_first(args, &model, &mut all) {
            return code;
        }
    }
    // The profile judges every hop on every rule, whatever --rule,
    // --ignore and --min-severity leave in the report.
    let profile = args
        .profile
        .map(|ProfileArg::CisNginx| rules::cis::evaluate(&model, &all));
    let findings: Vec<Finding> = all.into_iter().filter(|f| args.keeps(f)).collect();
    let cwd = std::env::current_dir().ok();
    match args.format {
        Format::Text => {
            let color = args.color.resolve(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            emit_raw(&report::text::render(&model, &findings, Paint::new(color)));
            if let Some(items) = &profile {
                emit(&report::compliance::text(&model, items));
            }
        }
        Format::Json => {
            match &profile {
                None => {
                    emit_with(|out| report::findings::write_check_document(&model, &findings, out))
                }
                Some(items) => {
                    let mut buf = Vec::new();
                    let _ = report::findings::write_check_document(&model, &findings, &mut buf);
                    let mut doc: serde_json::Value =
                        serde_json::from_slice(&buf).unwrap_or_default();
                    doc["profile"] = report::compliance::json(&model, items);
                    emit_raw(&format!("{doc:#}\n"));
                }
            }
            print_load_errors(&model);
        }
        Format::Sarif => {
            let mut doc = report::sarif::to_json(&model, &selected, &findings, cwd.as_deref());
            let profile = profile
                .as_ref()
                .map(|items| report::compliance::json(&model, items));
            report::compliance::annotate_sarif(&mut doc, profile);
            emit_raw(&format!("{doc:#}\n"));
            print_load_errors(&model);
        }
        Format::Github => {
            emit_raw(&report::ci::github(&model, &findings, cwd.as_deref()));
            print_load_errors(&model);
        }
        Format::Gitlab => {
            let doc = report::ci::gitlab(&model, &findings, cwd.as_deref());
            emit_raw(&format!("{doc:#}\n"));
            print_load_errors(&model);
        }
    }
    let code = ExitCode::from(check_status(&model, &findings));
    exit_without_freeing(model, findings);
    code
}

/// `check --probe`: probes the hops whose selected findings a handshake
/// can back, at most 32 peers at a time and `--probe-timeout` each, and
/// gives those findings the evidence and the severity it calls for.
fn probe_first(args: &CheckArgs, model: &Model, findings: &mut [Finding]) -> Result<(), ExitCode> {
    let t = args.probe_timeout;
    if !(t.is_finite() && t > 0.0 && t <= 600.0) {
        return Err(crate::cli::error::fail(format_args!(
            "--probe-timeout must be between 0 and 600 seconds, got {t}"
        )));
    }
    let source = args.load.source().map_err(crate::cli::error::fail)?;
    let selected: Vec<Finding> = findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .filter(|f| {
            (args.rules.is_empty() || args.rules.contains(&f.rule))
                && !args.ignore.contains(&f.rule)
        })
        .cloned()
        .collect();
    let ids = crate::evidence::hops_to_probe(model, &selected);
    if ids.is_empty() {
        return Ok(());
    }
    let from = match (source.remote(), source.exec()) {
        (Some(r), _) => format!(" from this machine, not from {}", r.host),
        (None, Some(e)) => format!(" from this machine, not from where {} runs", e.label()),
        (None, None) => String::new(),
    };
    say!(
        "probing {}{from} before weighing the findings…",
        crate::report::labels::count(ids.len(), "hop")
    );
    let opts = crate::probe::Options {
        timeout: std::time::Duration::from_secs_f64(t),
        concurrency: 32,
    };
    let results = crate::probe::prepare(model, &ids, source.local_files(model, false)).run(opts);
    crate::evidence::attach(model, findings, &results);
    crate::evidence::weigh(findings);
    Ok(())
}

/// 2 when part of the configuration could not be loaded, else 1 when an
/// unsuppressed finding remains, else 0.
pub fn check_status(model: &Model, findings: &[Finding]) -> u8 {
    if model.errors().next().is_some() {
        2
    } else if findings.iter().any(|f| f.suppressed.is_none()) {
        1
    } else {
        0
    }
}
