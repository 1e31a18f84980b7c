//! Saving fixed files without ever losing or half-writing one.
//!
//! For each file: refuse if it changed on disk since it was loaded; keep a
//! backup (`FILE.hopscope.bak`, or the next free `.bak.N`: a backup is never
//! overwritten); write the new bytes to a temporary file in the same
//! directory, created readable by its owner only, fsync it, give it the
//! original's permissions and owner through its open handle (never by name:
//! a name another user swapped for a symlink gets no chmod or chown), check
//! the name is still that file, and rename it over the original (atomic on
//! POSIX); then fsync the directory.
//! A symlinked file is written through to its target. With several files,
//! every temporary file is written before any is renamed, and a failure
//! while renaming puts back the files already replaced (atomically, from
//! their backups; a backup is kept, and named in the error, if that fails).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::changed::ChangedFile;

/// What a save did, per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The file written (a symlink's target).
    pub path: PathBuf,
    pub backup: PathBuf,
}

#[derive(Debug)]
pub enum SaveError {
    /// The file on disk is not what was loaded.
    Changed(PathBuf),
    Io {
        path: PathBuf,
        op: &'static str,
        err: io::Error,
    },
    /// Saving several files failed after some were replaced, and putting
    /// those back failed too: they hold the complete fixed bytes, and their
    /// originals are kept in their backups.
    Partial {
        cause: Box<SaveError>,
        replaced: Vec<Saved>,
    },
}

impl SaveError {
    fn cause(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::Changed(p) => {
                write!(f, "{} changed on disk since it was loaded", p.display())
            }
            SaveError::Io { path, op, err } => write!(f, "cannot {op} {}: {err}", path.display()),
            SaveError::Partial { cause, .. } => cause.cause(f),
        }
    }
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cause(f)?;
        match self {
            SaveError::Changed(_) => write!(
                f,
                "; nothing was written (load it again and re-apply the fix)"
            ),
            SaveError::Io { .. } => write!(f, "; nothing was written"),
            SaveError::Partial { replaced, .. } => {
                write!(
                    f,
                    "; these files were already replaced and could not be put back:"
                )?;
                for s in replaced {
                    write!(
                        f,
                        " {} (original in {})",
                        s.path.display(),
                        s.backup.display()
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SaveError {}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> SaveError + 'a {
    move |err| SaveError::Io {
        path: path.to_path_buf(),
        op,
        err,
    }
}

/// The first free backup name for a file.
pub fn backup_path(target: &Path) -> PathBuf {
    let base = format!("{}.hopscope.bak", target.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.symlink_metadata().is_ok() {
        candidate = PathBuf::from(format!("{base}.{n}"));
        n += 1;
    }
    candidate
}

/// A temporary name next to `target`; `n` > 0 steps past a stale file a
/// killed run left under the same process id.
fn temp_path(target: &Path, tag: &str, n: u32) -> PathBuf {
    let name = target
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    match n {
        0 => target.with_file_name(format!(".{name}.hopscope-{tag}-{pid}")),
        n => target.with_file_name(format!(".{name}.hopscope-{tag}-{pid}-{n}")),
    }
}

/// Runs `make` (which must fail with `AlreadyExists` on a taken name) on
/// the first free temporary name next to `target`.
fn at_free_temp<T>(
    target: &Path,
    tag: &str,
    mut make: impl FnMut(&Path) -> io::Result<T>,
) -> Result<(PathBuf, T), (PathBuf, io::Error)> {
    let mut n = 0;
    loop {
        let tmp = temp_path(target, tag, n);
        match make(&tmp) {
            Ok(v) => return Ok((tmp, v)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err((tmp, e)),
        }
    }
}

/// Puts a replaced file back from its backup, atomically: the backup is
/// linked to a temporary name and renamed over the file.
fn restore(backup: &Path, target: &Path) -> io::Result<()> {
    let (tmp, ()) =
        at_free_temp(target, "restore", |p| fs::hard_link(backup, p)).map_err(|(_, e)| e)?;
    fs::rename(&tmp, target).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// A staged file: its name, and the identity of the file written there
/// (no handle is kept open: a fix may save thousands of files).
struct Temp {
    path: PathBuf,
    id: (u64, u64),
}

impl Temp {
    /// True while the name still refers to the file that was written (and
    /// not something another user put in its place).
    fn still_ours(&self, name: &Path) -> bool {
        fs::symlink_metadata(name)
            .is_ok_and(|n| n.file_type().is_file() && (n.dev(), n.ino()) == self.id)
    }
}

/// Writes bytes to a new file next to `target`, synced, with `target`'s
/// mode and owner; returns its path and handle.
///
/// The file is created readable by its owner only (a 0600 configuration is
/// never readable by others while it is saved), and the final mode and
/// owner are set on the open handle, never by name: another user who can
/// write to the directory may replace the name with a symlink, and that
/// must not hand them a chmod or chown of the file it points to.
fn write_temp(
    target: &Path,
    tag: &str,
    bytes: &[u8],
    meta: &fs::Metadata,
) -> Result<Temp, SaveError> {
    let (tmp, mut f) = at_free_temp(target, tag, |p| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(p)
    })
    .map_err(|(p, e)| io_err(&p, "create")(e))?;
    let result = (|| {
        f.write_all(bytes).map_err(io_err(&tmp, "write"))?;
        f.sync_all().map_err(io_err(&tmp, "sync"))?;
        // Keep the owner (matters when run with sudo); only root may change
        // it. Owner first: a chown clears set-id bits the mode may carry.
        let _ = std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()));
        f.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(io_err(&tmp, "set permissions of"))?;
        let m = f.metadata().map_err(io_err(&tmp, "stat"))?;
        Ok((m.dev(), m.ino()))
    })();
    match result {
        Ok(id) => Ok(Temp { path: tmp, id }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The error for a staged name another user replaced.
fn replaced(path: &Path) -> SaveError {
    SaveError::Io {
        path: path.to_path_buf(),
        op: "keep",
        err: io::Error::other("it was replaced by another file while saving"),
    }
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Saves every file or none.
pub fn save_all(files: &[ChangedFile<PathBuf>]) -> Result<Vec<Saved>, SaveError> {
    // 1. Resolve targets and check nothing changed since loading.
    let mut targets = Vec::with_capacity(files.len());
    for p in files {
        let target = fs::canonicalize(&p.path).map_err(io_err(&p.path, "resolve"))?;
        let now = fs::read(&target).map_err(io_err(&target, "read"))?;
        if now != p.loaded {
            return Err(SaveError::Changed(p.path.to_path_buf()));
        }
        let meta = fs::metadata(&target).map_err(io_err(&target, "stat"))?;
        targets.push((target, meta));
    }
    // 2. Write every backup and temporary file before touching any original.
    let mut staged: Vec<(PathBuf, Temp, PathBuf)> = Vec::new(); // (target, temp, backup)
    let cleanup = |staged: &[(PathBuf, Temp, PathBuf)]| {
        for (_, tmp, bak) in staged {
            let _ = fs::remove_file(&tmp.path);
            let _ = fs::remove_file(bak);
        }
    };
    for (p, (target, meta)) in files.iter().zip(&targets) {
        let step = (|| {
            let backup = backup_path(target);
            let bak_tmp = write_temp(target, "bak", &p.loaded, meta)?;
            // Never replaces an existing backup: link fails if the name exists.
            let linked = fs::hard_link(&bak_tmp.path, &backup)
                .map_err(io_err(&backup, "create backup"))
                .and_then(|()| {
                    // link(2) links a symlink put in the temporary's place
                    // as itself: make sure the backup is the file written.
                    if bak_tmp.still_ours(&backup) {
                        Ok(())
                    } else {
                        let _ = fs::remove_file(&backup);
                        Err(replaced(&bak_tmp.path))
                    }
                });
            let _ = fs::remove_file(&bak_tmp.path);
            linked?;
            let tmp = match write_temp(target, "new", &p.new, meta) {
                Ok(t) => t,
                Err(e) => {
                    let _ = fs::remove_file(&backup);
                    return Err(e);
                }
            };
            Ok((target.clone(), tmp, backup))
        })();
        match step {
            Ok(s) => staged.push(s),
            Err(e) => {
                cleanup(&staged);
                return Err(e);
            }
        }
    }
    // 3. Rename into place; on failure restore what was already replaced.
    for i in 0..staged.len() {
        let (target, tmp, _) = &staged[i];
        let unchanged = fs::read(target)
            .map(|now| now == files[i].loaded)
            .unwrap_or(false);
        let res = if !tmp.still_ours(&tmp.path) {
            Err(replaced(&tmp.path))
        } else if unchanged {
            fs::rename(&tmp.path, target).map_err(io_err(target, "replace"))
        } else {
            Err(SaveError::Changed(files[i].path.to_path_buf()))
        };
        if let Err(e) = res {
            cleanup(&staged[i..]);
            // Put back what was already replaced; a backup whose file could
            // not be put back is kept, and the error says where it is.
            let mut replaced = Vec::new();
            for (t, _, bak) in &staged[..i] {
                match restore(bak, t) {
                    Ok(()) => {
                        let _ = fs::remove_file(bak);
                    }
                    Err(_) => replaced.push(Saved {
                        path: t.clone(),
                        backup: bak.clone(),
                    }),
                }
            }
            if replaced.is_empty() {
                return Err(e);
            }
            return Err(SaveError::Partial {
                cause: Box::new(e),
                replaced,
            });
        }
        sync_dir(target);
    }
    Ok(staged
        .into_iter()
        .map(|(path, _, backup)| Saved { path, backup })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(path: &Path, loaded: &[u8], new: &[u8]) -> ChangedFile<PathBuf> {
        ChangedFile {
            name: path.display().to_string(),
            path: path.to_path_buf(),
            loaded: loaded.to_vec(),
            new: new.to_vec(),
        }
    }

    #[test]
    fn saves_with_backup_and_refuses_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.conf");
        fs::write(&a, b"old\n").unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).unwrap();
        let saved = save_all(&[changed(&a, b"old\n", b"new\n")]).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new\n");
        assert_eq!(fs::read(&saved[0].backup).unwrap(), b"old\n");
        assert_eq!(fs::metadata(&a).unwrap().mode() & 0o777, 0o640);

        // A second save keeps the first backup and picks the next name.
        let saved2 = save_all(&[changed(&a, b"new\n", b"newer\n")]).unwrap();
        assert_ne!(saved2[0].backup, saved[0].backup);
        assert_eq!(fs::read(&saved[0].backup).unwrap(), b"old\n");

        // Loaded content no longer on disk: refused, nothing written.
        let err = save_all(&[changed(&a, b"stale\n", b"x\n")]).unwrap_err();
        assert!(matches!(err, SaveError::Changed(_)));
        assert_eq!(fs::read(&a).unwrap(), b"newer\n");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("hopscope-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        let link = dir.path().join("link.conf");
        fs::write(&real, b"a").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        save_all(&[changed(&link, b"a", b"b")]).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"b");
    }
}
