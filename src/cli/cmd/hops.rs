//! `hopscope hops`, and `hopscope` with a pipe for output: every hop
//! with its effective settings and findings.

use std::process::ExitCode;

use super::exit_without_freeing;
use crate::cli::args::LoadArgs;
use crate::cli::error::load_status;
use crate::cli::output::{emit, emit_with};
use crate::diagnostic::{self, Finding};
use crate::model::Model;
use crate::report;
use crate::rules;

/// The hops table with each hop's unsuppressed findings.
fn hops_table(model: &Model, findings: &[Finding]) -> String {
    let by_hop = diagnostic::by_hop(model, findings);
    report::hops::table(model, |i, _| {
        by_hop
            .get(i)
            .into_iter()
            .flatten()
            .map(|&k| &findings[k])
            .filter(|f| f.suppressed.is_none())
            .map(|f| (format!("{}[{}]", f.severity, f.rule), f.message.clone()))
            .collect()
    })
}

/// `hopscope` with a pipe or a file for output: the hops table the
/// terminal UI would show first.
pub fn table(load: &LoadArgs) -> ExitCode {
    let model = match load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    emit(&hops_table(&model, &rules::check(&model)));
    load_status(&model)
}

/// `hopscope hops`: the table, or the JSON document (hopscope.hops/1).
pub fn run(load: &LoadArgs, json: bool) -> ExitCode {
    let model = match load.model() {
        Ok(m) => m,
        Err(code) => return code,
    };
    let findings = rules::check(&model);
    if json {
        emit_with(|out| report::hops::write_document(&model, &findings, out));
    } else {
        emit(&hops_table(&model, &findings));
    }
    let code = load_status(&model);
    exit_without_freeing(model, findings);
    code
}
