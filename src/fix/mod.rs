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
    /// in the TUI). `proposal` is used when the person gives nothing.
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

pub use edit::Edit;
pub use engine::{fix_all, Applied, FixError, Outcome, Selection, Skipped};
pub use plan::{Missing, Placement, Values};
