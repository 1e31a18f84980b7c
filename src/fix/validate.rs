//! `nginx -t` on the fixed configuration, before anything is written.
//!
//! The prefix directory is mirrored into a temporary directory with
//! symbolic links (so certificates and other files relative to the prefix
//! are still found), the directories on the way to each changed file are
//! made real, and the changed files are written there. An `include` that
//! names a file below the prefix by its absolute path is pointed into the
//! mirror (in a copy of the including file), so nginx reads the fixed files
//! however they are included; where that is impossible (an include in a
//! file outside the prefix) validation is refused rather than passed. nginx
//! then tests the mirror; the real files are never touched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::conf::FileId;
use crate::model::Model;

/// Finds the nginx binary: `$HOPSCOPE_NGINX`, `/usr/sbin/nginx`, or PATH.
pub fn find_nginx() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HOPSCOPE_NGINX") {
        return Some(PathBuf::from(p));
    }
    let sbin = PathBuf::from("/usr/sbin/nginx");
    if sbin.is_file() {
        return Some(sbin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nginx"))
            .find(|p| p.is_file())
    })
}

/// Mirrors `src` into `dst` with one symlink per entry.
fn mirror(src: &Path, dst: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        std::os::unix::fs::symlink(entry.path(), dst.join(entry.file_name()))?;
    }
    Ok(())
}

/// Makes every directory from `root` down to `rel`'s parent a real
/// directory of symlinks, so a file can be written there without touching
/// the original.
fn materialize(root: &Path, original: &Path, rel: &Path) -> std::io::Result<()> {
    let mut here = root.to_path_buf();
    let mut orig = original.to_path_buf();
    let parent = rel.parent().unwrap_or(Path::new(""));
    for comp in parent.components() {
        here.push(comp);
        orig.push(comp);
        let meta = fs::symlink_metadata(&here);
        if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&here)?;
            mirror(&orig, &here)?;
        } else if meta.is_err() {
            fs::create_dir_all(&here)?;
        }
    }
    Ok(())
}

/// The mirror path of an absolute path below the prefix (compared as
/// written and through symlinks), or None for a path elsewhere.
fn into_mirror(path: &str, prefix: &Path, real_prefix: &Path, root: &Path) -> Option<PathBuf> {
    let p = crate::conf::loader::normalize(Path::new(path));
    if !p.is_absolute() {
        return None;
    }
    [prefix, real_prefix]
        .iter()
        .find_map(|pre| p.strip_prefix(pre).ok())
        .map(|rel| root.join(rel))
}

/// A file's text with every absolute `include` below the prefix pointed at
/// the mirror, so nginx reads the fixed copies there and not the originals;
/// None when nothing needs to change.
fn redirect_includes(
    text: &[u8],
    ast: &crate::conf::Ast,
    prefix: &Path,
    real_prefix: &Path,
    root: &Path,
) -> Option<Vec<u8>> {
    let mut edits: Vec<super::Edit> = ast
        .nodes
        .iter()
        .filter(|d| d.name() == "include")
        .filter_map(|d| {
            let arg = d.args.first()?;
            let to = into_mirror(&arg.value, prefix, real_prefix, root)?;
            Some(super::Edit::replacement(
                FileId(0),
                arg.range,
                super::plan::quote(&to.to_string_lossy()),
            ))
        })
        .collect();
    if edits.is_empty() {
        return None;
    }
    edits.sort();
    let refs: Vec<&super::Edit> = edits.iter().collect();
    Some(super::edit::apply(text, &refs))
}

/// Refuses to validate when nginx would read a changed file through a path
/// the mirror cannot redirect (an include in a file outside the prefix, or
/// an absolute path that is not below it): `nginx -t` would test the
/// original and accept anything.
fn check_reachable(
    model: &Model,
    changed: &[(FileId, Vec<u8>)],
    real_prefix: &Path,
) -> Result<(), String> {
    let cfg = &model.config;
    for (&(from, node), targets) in &cfg.includes {
        let Some((id, _)) = changed.iter().find(|(id, _)| targets.contains(id)) else {
            continue;
        };
        let f = cfg.file(from);
        let arg = cfg.ast(from).node(node).arg(0).unwrap_or("");
        let inside = f.path.starts_with(&cfg.prefix);
        let redirectable = !Path::new(arg).is_absolute()
            || into_mirror(arg, &cfg.prefix, real_prefix, Path::new("/")).is_some();
        if !inside || !redirectable {
            return Err(format!(
                "cannot validate a change to {}: {} includes it as \"{arg}\", which a test copy of {} cannot redirect",
                cfg.file(*id).name,
                f.name,
                cfg.prefix.display()
            ));
        }
    }
    Ok(())
}

/// Runs `nginx -t` on the configuration with `changed` applied.
pub fn nginx_test(
    model: &Model,
    changed: &[(FileId, Vec<u8>)],
    nginx: &Path,
) -> Result<(), String> {
    let prefix = &model.config.prefix;
    let real_prefix = fs::canonicalize(prefix).unwrap_or_else(|_| prefix.clone());
    check_reachable(model, changed, &real_prefix)?;
    let main = &model.config.files[0];
    let main_rel = main
        .path
        .strip_prefix(prefix)
        .map_err(|_| "the main file is not in its prefix directory".to_string())?
        .to_path_buf();
    let tmp = tempfile::Builder::new()
        .prefix("hopscope-validate-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let root = tmp.path().join("prefix");
    mirror(prefix, &root).map_err(|e| format!("cannot mirror {}: {e}", prefix.display()))?;
    for (id, _) in changed {
        let f = model.config.file(*id);
        if f.path.strip_prefix(prefix).is_err() {
            return Err(format!(
                "cannot validate a change to {}: it is outside the prefix {}",
                f.path.display(),
                prefix.display()
            ));
        }
    }
    // Every file below the prefix that changed, or that includes files by
    // an absolute path into the prefix, gets its own copy in the mirror.
    for (i, f) in model.config.files.iter().enumerate() {
        let Ok(rel) = f.path.strip_prefix(prefix) else {
            continue;
        };
        let new = changed.iter().find(|(id, _)| id.0 as usize == i);
        let parsed;
        let (text, ast) = match new {
            Some((_, b)) => {
                parsed = crate::conf::parser::parse(b);
                (b, &parsed)
            }
            None => (&f.text, model.config.ast(FileId(i as u32))),
        };
        let bytes = match redirect_includes(text, ast, prefix, &real_prefix, &root) {
            Some(b) => b,
            None if new.is_some() => text.clone(),
            None => continue,
        };
        materialize(&root, prefix, rel)
            .map_err(|e| format!("cannot prepare {}: {e}", rel.display()))?;
        let dest = root.join(rel);
        let _ = fs::remove_file(&dest);
        fs::write(&dest, bytes).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    }
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(format!("{}/", root.display()))
        .arg("-c")
        .arg(root.join(&main_rel))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", nginx.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let msg = String::from_utf8_lossy(&out.stderr).replace(&format!("{}/", root.display()), "");
        Err(format!(
            "nginx -t rejects the fixed configuration: {}",
            msg.trim()
        ))
    }
}
