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
    let all = rules::check(&model);
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
