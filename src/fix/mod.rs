//! Fixes: the engine that turns what a rule proposes (a
//! [`Fix`](crate::diagnostic::Fix), plain data in [`crate::diagnostic`])
//! into text edits, a diff and a safe save.
//!
//! A rule never writes text. It proposes [`Change`]s ("make
//! `proxy_ssl_server_name` `on` for this hop"); the engine decides where
//! the line goes (the hop's own block, or the block that defines the value
//! today), renders it with the indentation of its neighbours, and reports
//! every other hop the edit affects.

use crate::diagnostic::{Change, Finding};
use crate::model::Model;

pub mod diff;
pub mod edit;
pub mod engine;
pub mod followup;
mod hop_keys;
pub mod plan;
pub mod preview;
mod reach;
pub mod save;
pub mod validate;
mod value_check;
pub mod values;

pub use edit::Edit;
pub use engine::{fix_all, Applied, FixError, Outcome, Selection, Skipped};
pub use plan::{Missing, Placement, ValueError, Values};
pub use preview::{preview, Preview};
pub use values::{SetSpec, Unbound};

/// The values a person must give before a finding's fix can be written.
pub fn needs(model: &Model, finding: &Finding) -> Vec<Missing> {
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

/// The files a fix changes, as every writer takes them: the configuration's
/// name of each, its path on this machine, what was loaded and the new
/// bytes.
pub fn changed_files(
    model: &Model,
    changed: &[(crate::conf::FileId, Vec<u8>)],
) -> Vec<crate::changed::ChangedFile<std::path::PathBuf>> {
    changed
        .iter()
        .map(|(id, new)| {
            let f = model.config.file(*id);
            crate::changed::ChangedFile {
                name: f.name.clone(),
                path: f.path.clone(),
                loaded: f.text.clone(),
                new: new.clone(),
            }
        })
        .collect()
}
