//! Unified diffs of fixed files, git-style (`a/` and `b/` paths relative to
//! the prefix), which `patch -p1` applies from the prefix directory.
//!
//! The diff is made of the files' bytes, split into lines exactly where
//! `patch` splits them (after each `\n`; a `\r` is content), so a file
//! with CRLF endings, a stray `\r` or bytes that are not UTF-8 (a Latin-1
//! comment) patches back to exactly the fixed bytes.

use std::path::PathBuf;

use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffTag};

use crate::conf::{FileId, SourceFile};
use crate::model::Model;
use crate::visible::visible;

/// Why a diff cannot be made: a file's name cannot be written in a diff
/// header safely. The names are kept as loaded; the message shows them
/// with control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// The name leads out of the prefix (`..`), so `patch -p1` would
    /// write outside the tree it is applied in.
    #[error(
        "cannot make a diff of \"{}\": its name leads out of {} (patch -p1 would write outside the tree)",
        visible(.name),
        visible(&.prefix.to_string_lossy())
    )]
    LeadsOutOfTree { name: String, prefix: PathBuf },
    /// The name has no file name part (it is empty or the prefix itself).
    #[error("cannot make a diff of \"{}\": it has no file name", visible(.name))]
    NoFileName { name: String },
}

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The path used in diff headers: the file's path relative to the prefix
/// (a file elsewhere by its absolute path without the leading `/`, so that
/// `patch -p1` from the prefix never reaches it), with control characters
/// escaped. A name that would lead out of the tree (a relative `nginx -T`
/// name starting with `..`) is refused: a diff header naming it would make
/// `patch -p1` write outside the directory it is applied in.
pub fn diff_path(model: &Model, f: &SourceFile) -> Result<String, DiffError> {
    use std::path::Component;
    let p = crate::conf::loader::normalize(&f.path);
    let rel = p.strip_prefix(&model.config.prefix).unwrap_or(&p);
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_string_lossy()),
            Component::RootDir => {}
            _ => {
                return Err(DiffError::LeadsOutOfTree {
                    name: f.name.clone(),
                    prefix: model.config.prefix.clone(),
                })
            }
        }
    }
    if parts.is_empty() {
        return Err(DiffError::NoFileName {
            name: f.name.clone(),
        });
    }
    Ok(visible(&parts.join("/")).into_owned())
}

/// A hunk range as `diff -u` writes it: `START,LEN`, `START` alone for one
/// line, and the line before the range for an empty one.
fn range(r: std::ops::Range<usize>) -> String {
    match r.len() {
        1 => format!("{}", r.start + 1),
        0 => format!("{},0", r.start),
        n => format!("{},{n}", r.start + 1),
    }
}

fn line(out: &mut Vec<u8>, tag: u8, l: &[u8]) {
    out.push(tag);
    out.extend_from_slice(l);
    if !l.ends_with(b"\n") {
        out.extend_from_slice(b"\n\\ No newline at end of file\n");
    }
}

/// The diff of every changed file, in file order, byte for byte; refused
/// (with why) when a file's name cannot be written in a header safely.
pub fn unified_bytes(model: &Model, changed: &[(FileId, Vec<u8>)]) -> Result<Vec<u8>, DiffError> {
    let mut out = Vec::new();
    for (id, new) in changed {
        let f = model.config.file(*id);
        let path = diff_path(model, f)?;
        let old: Vec<&[u8]> = f.text.split_inclusive(|&b| b == b'\n').collect();
        let new: Vec<&[u8]> = new.split_inclusive(|&b| b == b'\n').collect();
        let ops = capture_diff_slices(Algorithm::Myers, &old, &new);
        out.extend_from_slice(format!("diff --git a/{path} b/{path}\n").as_bytes());
        for (i, group) in group_diff_ops(ops, CONTEXT).iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(format!("--- a/{path}\n+++ b/{path}\n").as_bytes());
            }
            let (first, last) = (group[0], group[group.len() - 1]);
            let o = first.old_range().start..last.old_range().end;
            let n = first.new_range().start..last.new_range().end;
            out.extend_from_slice(format!("@@ -{} +{} @@\n", range(o), range(n)).as_bytes());
            for op in group {
                let (tag, o, n) = op.as_tag_tuple();
                match tag {
                    DiffTag::Equal => old[o].iter().for_each(|l| line(&mut out, b' ', l)),
                    DiffTag::Delete => old[o].iter().for_each(|l| line(&mut out, b'-', l)),
                    DiffTag::Insert => new[n].iter().for_each(|l| line(&mut out, b'+', l)),
                    DiffTag::Replace => {
                        old[o].iter().for_each(|l| line(&mut out, b'-', l));
                        new[n].iter().for_each(|l| line(&mut out, b'+', l));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The diff as text, for showing it (bytes that are not UTF-8 become
/// U+FFFD); write [`unified_bytes`] wherever it is to be applied.
pub fn unified(model: &Model, changed: &[(FileId, Vec<u8>)]) -> Result<String, DiffError> {
    unified_bytes(model, changed).map(|b| String::from_utf8_lossy(&b).into_owned())
}
