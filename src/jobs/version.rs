//! Which nginx version's defaults apply to a load: `--nginx-version` when
//! given; else what the source itself tells — `nginx -v` of the `nginx`
//! on this machine's PATH for a tree on this machine, the server's
//! version line for `--ssh` (its `nginx -v -T`), a dump's version line;
//! else hopscope's default. Nothing is run on this machine for a dump, a
//! server's tree, standard input or the demo, and never a binary the
//! configuration names.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::conf::{Config, LoadedFrom};
use crate::model::{VersionChoice, VersionFrom};

/// How long `nginx -v` on this machine may take.
pub const NGINX_V_TIMEOUT: Duration = Duration::from_secs(3);
/// Most bytes of `nginx -v`'s output read.
const MAX_VERSION_OUTPUT: usize = 4096;

/// Where a loaded configuration came from, as far as its version goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Place {
    /// A path or standard input on this machine.
    Here,
    /// A server's `nginx -T`, over SSH.
    Server,
    /// The `nginx -T` of an `--exec` command.
    Command,
    /// The demo tree.
    Demo,
}

/// The version whose defaults apply to `cfg`, loaded from `place`.
pub(super) fn choose(cfg: &Config, place: Place) -> VersionChoice {
    if let Some(line) = &cfg.version_line {
        let from = match place {
            Place::Server | Place::Command => VersionFrom::Server,
            _ => VersionFrom::Dump,
        };
        return VersionChoice::from_version_line(line, from);
    }
    match (place, cfg.loaded_from) {
        (Place::Server, _) => {
            VersionChoice::default_with(Some("the server's nginx printed no version line".into()))
        }
        (Place::Command, _) => VersionChoice::default_with(Some(
            "the command printed no `nginx version:` line (`nginx -v -T` prints one)".into(),
        )),
        (Place::Demo, _) | (_, LoadedFrom::Demo) => VersionChoice::default_with(None),
        (Place::Here, LoadedFrom::Dump) => VersionChoice::default_with(Some(
            "the dump has no `nginx version:` line (`nginx -v -T 2>&1` writes one)".into(),
        )),
        // A single file on standard input may have come from anywhere.
        (Place::Here, LoadedFrom::Disk) if cfg.from_stdin => VersionChoice::default_with(None),
        (Place::Here, LoadedFrom::Disk) => this_machine(),
    }
}

/// `nginx -v` of the `nginx` on PATH, or the default with why not.
pub fn this_machine() -> VersionChoice {
    let Some(nginx) = nginx_on_path() else {
        return VersionChoice::default_with(None);
    };
    match run_nginx_v(&nginx, NGINX_V_TIMEOUT) {
        Ok(out) => {
            let mut choice = VersionChoice::from_version_output(&out, VersionFrom::ThisMachine);
            if let Some(note) = &mut choice.note {
                *note = format!("{}: {note}", nginx.display());
            }
            choice
        }
        Err(why) => VersionChoice::default_with(Some(format!("{}: {why}", nginx.display()))),
    }
}

/// The first executable regular file named `nginx` in an absolute
/// directory of PATH (a relative entry, such as an empty one, would be
/// the current directory, which may be the audited tree).
pub fn nginx_on_path() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("nginx"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `NGINX -v` (no shell, nothing on standard input, standard output
/// dropped) and returns what it wrote on standard error: at most
/// `timeout` and [`MAX_VERSION_OUTPUT`] bytes.
fn run_nginx_v(nginx: &Path, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(nginx)
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `nginx -v`: {e}"))?;
    let got = Arc::new(Mutex::new(Vec::new()));
    let closed = Arc::new(AtomicBool::new(false));
    if let Some(mut pipe) = child.stderr.take() {
        let (got, closed) = (Arc::clone(&got), Arc::clone(&closed));
        // Reads until the pipe closes; a child of nginx that keeps it
        // open only keeps this thread, never the load.
        std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut v = got.lock().unwrap_or_else(|e| e.into_inner());
                let room = MAX_VERSION_OUTPUT.saturating_sub(v.len());
                v.extend_from_slice(&chunk[..n.min(room)]);
            }
            closed.store(true, Ordering::Release);
        });
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`nginx -v` gave no answer within {} s",
                    timeout.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for `nginx -v`: {e}")),
        }
    }
    // What it wrote before it ended is in the pipe, but on a busy machine
    // the reader may not have run yet: wait for the pipe to close. A child
    // it left behind may hold the pipe open, so a whole line read and a
    // short grace also end the wait, and nothing waits past the deadline.
    let grace = Instant::now() + Duration::from_millis(200);
    let deadline = (started + timeout).max(grace);
    while !closed.load(Ordering::Acquire) {
        let now = Instant::now();
        let has_line = || {
            got.lock()
                .unwrap_or_else(|e| e.into_inner())
                .ends_with(b"\n")
        };
        if now >= deadline || (now >= grace && has_line()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let bytes = std::mem::take(&mut *got.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("nginx");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn nginx_v_is_read_from_stderr_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let nginx = script(dir.path(), "echo 'nginx version: nginx/1.22.1' >&2");
        let out = run_nginx_v(&nginx, NGINX_V_TIMEOUT).unwrap();
        assert_eq!(out, "nginx version: nginx/1.22.1\n");
        let nginx = script(dir.path(), "exec sleep 30");
        let started = Instant::now();
        let err = run_nginx_v(&nginx, Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("no answer"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // A child left behind holding the pipe does not hold the answer.
        let nginx = script(
            dir.path(),
            "echo 'nginx version: nginx/1.24.0' >&2; sleep 5 & exit 0",
        );
        let started = Instant::now();
        let out = run_nginx_v(&nginx, NGINX_V_TIMEOUT).unwrap();
        assert_eq!(out, "nginx version: nginx/1.24.0\n");
        assert!(started.elapsed() < Duration::from_secs(3));
        // Output that reaches the reader late (a starved machine, or a
        // child left behind that prints it) is still waited for.
        let nginx = script(
            dir.path(),
            "(sleep 0.5; echo 'nginx version: nginx/1.26.2' >&2) & exit 0",
        );
        let out = run_nginx_v(&nginx, NGINX_V_TIMEOUT).unwrap();
        assert_eq!(out, "nginx version: nginx/1.26.2\n");
        let nginx = script(dir.path(), "head -c 100000 /dev/zero | tr '\\0' x >&2");
        assert_eq!(
            run_nginx_v(&nginx, NGINX_V_TIMEOUT).unwrap().len(),
            MAX_VERSION_OUTPUT
        );
    }

    #[test]
    fn dumps_and_servers_are_never_asked_here() {
        let dump = crate::conf::from_bytes(
            b"nginx version: nginx/1.24.0\n# configuration file /e/n.conf:\nevents {}\n".to_vec(),
            None,
        )
        .unwrap();
        let c = choose(&dump, Place::Here);
        assert_eq!(
            (c.version.to_string(), c.from),
            ("1.24.0".into(), VersionFrom::Dump)
        );
        let c = choose(&dump, Place::Server);
        assert_eq!(c.from, VersionFrom::Server);
        let bare = crate::conf::from_bytes(
            b"# configuration file /e/n.conf:\nevents {}\n".to_vec(),
            None,
        )
        .unwrap();
        let c = choose(&bare, Place::Here);
        assert_eq!(c.from, VersionFrom::Default);
        assert!(c.note.is_some_and(|n| n.contains("nginx -v -T")));
        assert_eq!(choose(&bare, Place::Server).from, VersionFrom::Default);
    }
}
