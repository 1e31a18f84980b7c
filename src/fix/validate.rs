//! `nginx -t` on the fixed configuration, before anything is written.
//!
//! The prefix directory is mirrored into a temporary directory with
//! symbolic links (so certificates and other files relative to the prefix
//! are still found), the directories on the way to each changed file are
//! made real, and the changed files are written there. nginx then tests the
//! mirror; the real files are never touched.

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

/// Runs `nginx -t` on the configuration with `changed` applied.
pub fn nginx_test(
    model: &Model,
    changed: &[(FileId, Vec<u8>)],
    nginx: &Path,
) -> Result<(), String> {
    let prefix = &model.config.prefix;
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
    for (id, bytes) in changed {
        let f = model.config.file(*id);
        let rel = f.path.strip_prefix(prefix).map_err(|_| {
            format!(
                "cannot validate a change to {}: it is outside the prefix {}",
                f.path.display(),
                prefix.display()
            )
        })?;
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
