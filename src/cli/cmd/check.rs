//! `hopscope check`: findings at or above a severity, as text, JSON,
//! SARIF, GitHub workflow commands or GitLab Code Quality, and a
//! compliance profile's verdicts per hop; with the project file's settings
//! and, when one is given, only the findings that are not in the baseline
//! fail the run.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use super::exit_without_freeing;
use crate::cli::args::{CheckArgs, Format, ProfileArg};
use crate::cli::error::{fail, print_load_errors};
use crate::cli::output::{emit, emit_raw, emit_with};
use crate::diagnostic::{BaselineState, Finding};
use crate::model::Model;
use crate::report;
use crate::report::text::Paint;
use crate::rules;
use crate::settings::baseline::{fingerprints, Baseline, Entry};
use crate::settings::Settings;

/// `check`: findings at or above the threshold, in the chosen format.
pub fn check(args: &CheckArgs) -> ExitCode {
    if let Some(file) = &args.fleet.ssh_hosts {
        return super::fleet::run(args, file);
    }
    if args.profile.is_some() && matches!(args.format, Format::Github | Format::Gitlab) {
        return fail(
            "--profile reports in text, json or sarif; --format github and gitlab carry findings only",
        );
    }
    let settings = match args.load.settings(args.flags()) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if args.show_settings {
        emit_raw(&settings.render());
        return ExitCode::SUCCESS;
    }
    let model = match args.load.model_with(&settings) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let selected = settings.selected_rules();
    // The project's severities first; a probe then weighs from there.
    let mut all = settings.reweigh(rules::check(&model));
    if args.probe {
        if let Err(code) = probe_first(args, &settings, &model, &mut all) {
            return code;
        }
    }
    // The profile judges every hop on every rule, whatever the rule, path
    // and severity settings leave in the report.
    let profile = args
        .profile
        .map(|ProfileArg::CisNginx| rules::cis::evaluate(&model, &all));
    let mut findings: Vec<Finding> = all
        .into_iter()
        .filter(|f| settings.keeps(&model, f))
        .collect();
    if let Some(path) = &args.update_baseline {
        return update_baseline(path, model, findings);
    }
    let baseline = match &settings.baseline.value {
        Some(path) => match Baseline::read(path) {
            Ok(b) => {
                let mut fixed = b.mark(&model, &mut findings);
                // An entry this run's filters (rules, severity, paths) hide
                // still occurs: only what the rules no longer find is fixed.
                let found = fingerprints(&model, &rules::check(&model));
                fixed.retain(|e| !found.contains(&e.fingerprint));
                Some((path.as_path(), fixed))
            }
            Err(e) => return fail(e),
        },
        None => None,
    };
    let cwd = std::env::current_dir().ok();
    match args.format {
        Format::Text => {
            let color = args.color.resolve(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            );
            // The lines after the report: the project file and the baseline.
            let mut after = String::new();
            if let Some(file) = &settings.file {
                // The file is part of the tree: say it is in use, and what it hides.
                let without = Settings::resolve(&args.flags(), None)
                    .apply(&model, rules::check(&model))
                    .len();
                after.push_str(&project_line(file, without.saturating_sub(findings.len())));
            }
            if let Some((path, fixed)) = &baseline {
                after.push_str(&baseline_summary(path, &findings, fixed));
            }
            emit_with(|w| {
                report::text::write(&model, &findings, Paint::new(color), w)?;
                w.write_all(after.as_bytes())
            });
            if let Some(items) = &profile {
                emit(&report::compliance::text(&model, items));
            }
        }
        Format::Json => {
            let summary = baseline.as_ref().map(|(path, fixed)| {
                serde_json::json!({
                    "file": path.display().to_string(),
                    "new": count(&findings, BaselineState::New),
                    "unchanged": count(&findings, BaselineState::Unchanged),
                    "fixed": fixed,
                })
            });
            match &profile {
                None => emit_with(|out| {
                    report::findings::write_check_document_with(
                        &model,
                        &findings,
                        summary.as_ref(),
                        out,
                    )
                }),
                Some(items) => {
                    let mut buf = Vec::new();
                    let _ = report::findings::write_check_document_with(
                        &model,
                        &findings,
                        summary.as_ref(),
                        &mut buf,
                    );
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
            let active: Vec<Finding> = findings.iter().filter(|f| f.is_active()).cloned().collect();
            emit_raw(&report::ci::github(&model, &active, cwd.as_deref()));
            print_load_errors(&model);
        }
        Format::Gitlab => {
            let active: Vec<Finding> = findings.iter().filter(|f| f.is_active()).cloned().collect();
            let doc = report::ci::gitlab(&model, &active, cwd.as_deref());
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
fn probe_first(
    args: &CheckArgs,
    settings: &Settings,
    model: &Model,
    findings: &mut [Finding],
) -> Result<(), ExitCode> {
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
        .filter(|f| settings.selects(model, f))
        .cloned()
        .collect();
    let ids = crate::evidence::hops_to_probe(model, &selected);
    if ids.is_empty() {
        return Ok(());
    }
    // With --ssh the peers are dialled from the server, as `probe --ssh`
    // does; a command's network is not reachable, so --exec probes here.
    let through = args.load.remote.target().map_err(crate::cli::error::fail)?;
    let from = match (&through, source.exec()) {
        (Some(r), _) => format!(" through {} (from the server, over ssh)", r.host),
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
    let results = crate::probe::prepare(model, &ids, source.local_files(model, false))
        .through(through)
        .run(opts);
    crate::evidence::attach(model, findings, &results);
    crate::evidence::weigh(findings);
    Ok(())
}

/// `--update-baseline FILE`: the findings of this run become the baseline.
fn update_baseline(path: &Path, model: Model, findings: Vec<Finding>) -> ExitCode {
    let baseline = Baseline::of(&model, &findings);
    if let Err(e) = baseline.write(path) {
        return fail(e);
    }
    let n = baseline.findings.len();
    say!(
        "hopscope: wrote {n} finding{} to the baseline {}",
        if n == 1 { "" } else { "s" },
        crate::visible::visible(&path.display().to_string())
    );
    print_load_errors(&model);
    let code = if model.errors().next().is_some() {
        2
    } else {
        0
    };
    exit_without_freeing(model, findings);
    ExitCode::from(code)
}

/// `project file: PATH (hides N findings; --no-config shows them)`.
fn project_line(file: &Path, hidden: usize) -> String {
    let file = crate::visible::visible(&crate::settings::shown(file)).into_owned();
    match hidden {
        0 => format!("project file: {file}\n"),
        1 => format!("project file: {file} (hides 1 finding; --no-config shows it)\n"),
        n => format!("project file: {file} (hides {n} findings; --no-config shows them)\n"),
    }
}

fn count(findings: &[Finding], state: BaselineState) -> usize {
    findings
        .iter()
        .filter(|f| f.baseline == Some(state))
        .count()
}

/// The text report's baseline lines: how many findings are new and how
/// many are accepted, then each entry that no longer occurs.
fn baseline_summary(path: &Path, findings: &[Finding], fixed: &[Entry]) -> String {
    use crate::visible::visible;
    let file = path.display().to_string();
    let mut out = format!(
        "baseline {}: {} new, {} unchanged (not shown)\n",
        visible(&file),
        count(findings, BaselineState::New),
        count(findings, BaselineState::Unchanged)
    );
    if !fixed.is_empty() {
        out.push_str(&format!(
            "fixed: {} no longer occur{}; run --update-baseline to shrink the file\n",
            if fixed.len() == 1 {
                "1 entry".to_string()
            } else {
                format!("{} entries", fixed.len())
            },
            if fixed.len() == 1 { "s" } else { "" }
        ));
        for e in fixed {
            let place = e.hop.as_deref().unwrap_or(&e.file);
            out.push_str(&format!(
                "  fixed: {} {}: {}\n",
                visible(&e.rule),
                visible(place),
                visible(&e.message)
            ));
        }
    }
    out
}

/// 2 when part of the configuration could not be loaded, else 1 when a
/// finding remains that is neither suppressed nor in the baseline, else 0.
pub fn check_status(model: &Model, findings: &[Finding]) -> u8 {
    if model.errors().next().is_some() {
        2
    } else if findings.iter().any(Finding::is_active) {
        1
    } else {
        0
    }
}
