//! Fixes: what a rule proposes, as data, and the engine that turns a
//! proposal into text edits, a diff and a safe save.
//!
//! A rule never writes text. It proposes [`Change`]s ("make
//! `proxy_ssl_server_name` `on` for this hop"); the engine decides where
//! the line goes (the hop's own block, or the block that defines the value
//! today), renders it with the indentation of its neighbours, and reports
//! every other hop the edit affects.

use crate::model::Module;

/// How safe a fix is to apply without a person looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// Changes only what the finding is about.
    Safe,
    /// May change behaviour beyond the finding (e.g. enabling verification
    /// breaks a hop whose upstream has a bad certificate): review it.
    NeedsReview,
    /// Shown as advice; never applied automatically.
    DisplayOnly,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::NeedsReview => "needs-review",
            Applicability::DisplayOnly => "display-only",
        }
    }
}

/// A value in a fix: known, or to be supplied by a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixValue {
    Literal(String),
    /// Asked for by `key` (`--set sni-name=api.example.com`, a text field
    /// in the TUI). `proposal` is used when the person gives nothing, except
    /// by `fix_all` for a rule the person did not name (a guess is never
    /// written unasked).
    Input {
        key: &'static str,
        prompt: String,
        proposal: Option<String>,
    },
}

impl FixValue {
    pub fn literal(v: impl Into<String>) -> FixValue {
        FixValue::Literal(v.into())
    }
}

/// One change a fix makes to the effective settings of a hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Make a scalar directive (`proxy_ssl_verify`) take this value.
    Set { directive: String, value: FixValue },
    /// Make one header of an array directive (`proxy_set_header Host …`)
    /// take this value. Because a block with any such line drops all
    /// inherited ones, the engine carries inherited lines along.
    SetHeader {
        directive: String,
        header: String,
        value: FixValue,
    },
}

/// A proposed fix for one finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// One line: what the fix does.
    pub summary: String,
    pub applicability: Applicability,
    pub changes: Vec<Change>,
}

impl Fix {
    pub fn new(
        summary: impl Into<String>,
        applicability: Applicability,
        changes: Vec<Change>,
    ) -> Fix {
        Fix {
            summary: summary.into(),
            applicability,
            changes,
        }
    }
}

/// Convenience for rules: `set(Module::Proxy, "_server_name", "on")`.
pub fn set(module: Module, suffix: &str, value: FixValue) -> Change {
    Change::Set {
        directive: format!("{}_ssl{}", module.prefix(), suffix),
        value,
    }
}

pub mod diff;
pub mod edit;
pub mod engine;
pub mod plan;
pub mod save;
pub mod validate;

pub use edit::Edit;
pub use engine::{fix_all, Applied, FixError, Outcome, Selection, Skipped};
pub use plan::{Missing, Placement, Values};

/// A finding's fix as contract edits, placed in the hop's own block with
/// proposed values: `[{"file", "line", "column", "start", "end", "delete",
/// "insert"}]` (byte offsets into the file as loaded; `delete` is the text
/// replaced, empty for an insertion). Empty when the fix needs a value a
/// person must give (see [`needs`]) or is not about a hop.
pub fn edits_json(
    model: &crate::model::Model,
    finding: &crate::rules::Finding,
) -> serde_json::Value {
    let (Some(fix), Some(h)) = (&finding.fix, finding.hop) else {
        return serde_json::Value::Array(Vec::new());
    };
    let edits = plan::edits(
        model,
        &model.hops[h],
        fix,
        Placement::Hop,
        &Values::default(),
    )
    .unwrap_or_default();
    serde_json::Value::Array(
        edits
            .iter()
            .map(|e| {
                let f = model.config.file(e.file);
                let (line, column) = f.line_col(e.range.start);
                serde_json::json!({
                    "file": f.name,
                    "line": line,
                    "column": column,
                    "start": e.range.start,
                    "end": e.range.end,
                    "delete": f.str(e.range),
                    "insert": e.text,
                })
            })
            .collect(),
    )
}

/// The values a person must give before a finding's fix can be written.
pub fn needs(model: &crate::model::Model, finding: &crate::rules::Finding) -> Vec<Missing> {
    let (Some(fix), Some(h)) = (&finding.fix, finding.hop) else {
        return Vec::new();
    };
    let hop = &model.hops[h];
    fix.changes
        .iter()
        .filter_map(|c| match c {
            Change::Set { value, .. } | Change::SetHeader { value, .. } => {
                plan::resolve(value, &hop.id, &Values::default()).err()
            }
        })
        .collect()
}
