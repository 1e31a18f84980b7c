//! `nginx -t` on the fixed configuration, before anything is written.
//!
//! The configuration is not trusted: nginx -t runs as the current user
//! (often root) and, while testing, loads modules, opens log files and the
//! pid file, creates temporary and cache directories and binds unix
//! sockets. So nginx tests a copy, never the originals:
//!
//! - The prefix directory is mirrored into a temporary directory with
//!   symbolic links (certificates and other files relative to the prefix
//!   are still found), and every configuration file hopscope loaded is
//!   written into it (the fixed text for changed files; a file outside the
//!   prefix under `.hopscope-outside/`). Each `include` names the copies
//!   of exactly the files hopscope loaded (a glob becomes the list of its
//!   matches), so nginx reads the checked copies and nothing else.
//! - Every path nginx would create or open for writing (`error_log`,
//!   `access_log`, `pid`, `lock_file`, `*_temp_path`, `*_cache_path`,
//!   `listen unix:`) points into the temporary directory, and so do the
//!   defaults of those (`-e`, and explicit directives where none is set).
//! - `load_module` loads only modules in nginx's own module directory
//!   (`--modules-path`, or `modules` in its prefix; a relative name is
//!   resolved against nginx's prefix, as nginx does); any other module is
//!   not loaded, and `ssl_engine` (which loads a library) is left out, with
//!   a note saying directives of those then fail. Configurations that run
//!   Perl, Lua or njs code while nginx reads them are not validated.
//!
//! The real files are never touched.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::conf::FileId;
use crate::model::Model;
use crate::visible::visible;

use super::Edit;

/// Why `nginx -t` could not test the fixed configuration, or what it
/// said against it.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The main file's path does not start with the prefix, so the test
    /// copy has no place for it.
    #[error("the main file is not in its prefix directory")]
    MainOutsidePrefix,
    /// The temporary directory for the test copy could not be made.
    #[error("cannot create a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    /// A directory of the test copy could not be made.
    #[error("cannot create {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The prefix directory could not be mirrored into the test copy.
    #[error("cannot mirror {}: {source}", .path.display())]
    Mirror {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The directories leading to a file's copy could not be made.
    #[error("cannot prepare {}: {source}", .path.display())]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file's copy could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A directive that runs code while nginx reads the configuration
    /// (Perl, Lua): it is not tested. `file` is shown escaped.
    #[error(
        "cannot validate: {}:{line} runs code from the configuration while nginx -t reads it ({directive})",
        visible(.file)
    )]
    RunsCode {
        file: String,
        line: usize,
        directive: String,
    },
    /// The text to test has an include directive the loaded file did not.
    #[error(
        "cannot validate: {} has more include directives than were loaded",
        visible(.file)
    )]
    MoreIncludes { file: String },
    /// nginx could not be started.
    #[error("cannot run {}: {source}", .nginx.display())]
    Run {
        nginx: PathBuf,
        source: std::io::Error,
    },
    /// nginx -t ran past its time limit and was killed.
    #[error("nginx -t did not finish within {seconds} s (a file the configuration names may never end, such as a FIFO)")]
    TimedOut { seconds: u64 },
    /// nginx -t rejected the configuration: what it said (paths of the
    /// test copy taken out), and the notes on what the test left out.
    #[error("nginx -t rejects the fixed configuration: {message}{}", notes_suffix(.notes))]
    Rejected { message: String, notes: Vec<String> },
}

fn notes_suffix(notes: &[String]) -> String {
    notes.iter().map(|n| format!("; note: {n}")).collect()
}

/// Finds the nginx binary: `$HOPSCOPE_NGINX`, `/usr/sbin/nginx`, or PATH.
mod copy;
mod verdict;

use copy::*;
pub use verdict::{before_write, Verdict};

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

/// How long nginx -t may take: `$HOPSCOPE_VALIDATE_SECONDS`, or 60 s.
fn time_limit() -> Duration {
    let secs = std::env::var("HOPSCOPE_VALIDATE_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Runs nginx -t: (accepted, stderr). A file the configuration names may
/// never end or never open (a FIFO): past `limit`, nginx is killed and
/// the test fails.
fn run_bounded(
    mut cmd: Command,
    nginx: &Path,
    limit: Duration,
) -> Result<(bool, String), ValidateError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ValidateError::Run {
            nginx: nginx.to_path_buf(),
            source,
        })?;
    let mut pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ValidateError::TimedOut {
                    seconds: limit.as_secs(),
                });
            }
        }
    };
    let stderr = reader.join().unwrap_or_default();
    Ok((
        status.success(),
        String::from_utf8_lossy(&stderr).into_owned(),
    ))
}

/// Runs `nginx -t` on a test copy of the configuration with `changed`
/// applied; returns notes on what the test left out.
pub fn nginx_test(
    model: &Model,
    changed: &[(FileId, Vec<u8>)],
    nginx: &Path,
) -> Result<Vec<String>, ValidateError> {
    let cfg = &model.config;
    let prefix = &cfg.prefix;
    let main_rel = cfg.files[0]
        .path
        .strip_prefix(prefix)
        .map_err(|_| ValidateError::MainOutsidePrefix)?
        .to_path_buf();
    let tmp = tempfile::Builder::new()
        .prefix("hopscope-validate-")
        .tempdir()
        .map_err(ValidateError::TempDir)?;
    let root = tmp.path().join("prefix");
    let written = tmp.path().join("written");
    fs::create_dir_all(&written).map_err(|source| ValidateError::Create {
        path: written.clone(),
        source,
    })?;
    if prefix.is_dir() {
        mirror(prefix, &root).map_err(|source| ValidateError::Mirror {
            path: prefix.clone(),
            source,
        })?;
    } else {
        fs::create_dir_all(&root).map_err(|source| ValidateError::Create {
            path: root.clone(),
            source,
        })?;
    }
    let build = build_info(nginx);
    let mut copy = Copy {
        model,
        build: &build,
        root: &root,
        sink: Sink {
            dir: written.clone(),
            names: HashMap::new(),
        },
        notes: Vec::new(),
    };
    for (i, f) in cfg.files.iter().enumerate() {
        let id = FileId(i as u32);
        let text = changed
            .iter()
            .find(|(c, _)| *c == id)
            .map_or(&f.text, |(_, t)| t);
        let bytes = copy.file(id, text)?;
        let dest = mirror_of(&f.path, prefix, &root);
        match f.path.strip_prefix(prefix) {
            Ok(rel) => {
                materialize(&root, prefix, rel).map_err(|source| ValidateError::Prepare {
                    path: rel.to_path_buf(),
                    source,
                })?
            }
            Err(_) => {
                if let Some(parent) = dest.parent() {
                    fs::create_dir_all(parent).map_err(|source| ValidateError::Prepare {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
            }
        }
        let _ = fs::remove_file(&dest);
        fs::write(&dest, bytes).map_err(|source| ValidateError::Write {
            path: dest.clone(),
            source,
        })?;
    }
    let notes = copy.notes;
    let mut cmd = Command::new(nginx);
    cmd.arg("-t")
        .arg("-q")
        .arg("-p")
        .arg(format!("{}/", root.display()));
    if build.takes_e {
        cmd.arg("-e").arg(written.join("startup.log"));
    }
    cmd.arg("-c").arg(root.join(&main_rel));
    let (success, stderr) = run_bounded(cmd, nginx, time_limit())?;
    if success {
        Ok(notes)
    } else {
        let msg = stderr
            .replace(&format!("{}/.hopscope-outside", root.display()), "")
            .replace(&format!("{}/", root.display()), "");
        Err(ValidateError::Rejected {
            message: msg.trim().to_string(),
            notes,
        })
    }
}
