//! Unified diffs of fixed files, git-style (`a/` and `b/` paths relative to
//! the prefix), which `patch -p1` applies from the prefix directory.

use similar::TextDiff;

use crate::conf::{FileId, SourceFile};
use crate::model::Model;

/// The path used in diff headers.
pub fn diff_path(model: &Model, f: &SourceFile) -> String {
    let p = crate::conf::loader::normalize(&f.path);
    match p.strip_prefix(&model.config.prefix) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => p.to_string_lossy().trim_start_matches('/').to_string(),
    }
}

/// The diff of every changed file, in file order.
pub fn unified(model: &Model, changed: &[(FileId, Vec<u8>)]) -> String {
    let mut out = String::new();
    for (id, new) in changed {
        let f = model.config.file(*id);
        let old = String::from_utf8_lossy(&f.text);
        let new = String::from_utf8_lossy(new);
        let path = diff_path(model, f);
        let diff = TextDiff::from_lines(old.as_ref(), new.as_ref());
        out.push_str(&format!("diff --git a/{path} b/{path}\n"));
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), &format!("b/{path}"))
                .to_string(),
        );
    }
    out
}
