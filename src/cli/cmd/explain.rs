//! `hopscope explain`: a rule's teaching text, or the list of rules.

use std::process::ExitCode;

use crate::cli::args::unknown_rule;
use crate::cli::error::fail;
use crate::cli::output::emit;
use crate::report;
use crate::rules;

/// `hopscope explain [RULE | --list]`.
pub fn run(rule: Option<&'static str>, list: bool) -> ExitCode {
    if list {
        emit(&report::text::rule_list(rules::registry()));
        return ExitCode::SUCCESS;
    }
    match rule.and_then(rules::find) {
        Some(r) => {
            emit(&format!(
                "{}{}",
                r.explain(),
                report::compliance::explain_items(r.id)
            ));
            ExitCode::SUCCESS
        }
        None => fail(unknown_rule(rule.unwrap_or(""))),
    }
}
