//! Running `ssh` with bounds: a timeout on the whole run, a cap on what is
//! read from it, and what ssh's own failures say.

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::{ErrorKind, RemoteError};
use super::target::Remote;

/// Most bytes read from a remote command (the size of the largest dump).
pub const MAX_OUTPUT: u64 = crate::conf::loader::MAX_FILE_BYTES;

/// What one ssh run produced, once it ended.
pub(super) struct Finished {
    /// The exit code (255: ssh itself failed).
    pub(super) code: Option<i32>,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: Vec<u8>,
}

/// A pipe read on a thread into a shared buffer, at most `cap` bytes (the
/// rest is drained). A background ssh (ControlPersist) may keep a pipe open
/// after the command is done: the buffer is taken all the same.
pub(super) struct PipeReader {
    /// What was read so far.
    bytes: Arc<Mutex<Vec<u8>>>,
    /// Set when the pipe is closed (or failed).
    closed: Arc<AtomicBool>,
}

impl PipeReader {
    pub(super) fn spawn(mut pipe: impl Read + Send + 'static, cap: u64) -> PipeReader {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicBool::new(false));
        let (b, d) = (Arc::clone(&bytes), Arc::clone(&closed));
        std::thread::spawn(move || {
            let mut chunk = [0u8; 64 * 1024];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut v = b.lock().unwrap_or_else(|e| e.into_inner());
                        let room = (cap as usize + 1).saturating_sub(v.len());
                        v.extend_from_slice(&chunk[..n.min(room)]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            d.store(true, Ordering::Release);
        });
        PipeReader { bytes, closed }
    }

    /// What was read, once the pipe is closed or at `until`, whichever
    /// comes first.
    pub(super) fn bytes_by(&self, until: Instant) -> Vec<u8> {
        while !self.closed.load(Ordering::Acquire) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::mem::take(&mut *self.bytes.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Why a bounded run produced no output to read.
pub(super) enum RunFailure {
    /// The program could not be started.
    Spawn(std::io::Error),
    /// Waiting for it failed.
    Wait(std::io::Error),
    /// It did not end within the timeout (it was killed).
    Timeout,
    /// It wrote more than the bytes allowed (the cap, in bytes).
    TooBig(u64),
}

/// Runs `cmd`, feeding it `stdin`: at most `timeout` for the whole run and
/// [`MAX_OUTPUT`] bytes read. The one runner of `ssh` and of `--exec`.
pub(super) fn run_bounded(
    cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Finished, RunFailure> {
    run_capped(cmd, stdin, timeout, MAX_OUTPUT)
}

/// [`run_bounded`] with at most `cap` bytes read from its output.
pub(super) fn run_capped(
    mut cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    cap: u64,
) -> Result<Finished, RunFailure> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(RunFailure::Spawn)?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        std::thread::spawn(move || {
            // The program gone (refused, failed) closes the pipe: its exit
            // says why.
            let _ = pipe.write_all(&data);
        });
    }
    let stdout = PipeReader::spawn(child.stdout.take().expect("piped stdout"), cap);
    let stderr = PipeReader::spawn(child.stderr.take().expect("piped stderr"), 1 << 20);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {}
            Err(e) => return Err(RunFailure::Wait(e)),
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunFailure::Timeout);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let grace = Instant::now() + Duration::from_secs(2);
    let stdout = stdout.bytes_by(grace);
    let stderr = stderr.bytes_by(grace);
    if stdout.len() as u64 > cap {
        return Err(RunFailure::TooBig(cap));
    }
    Ok(Finished {
        code: status.code(),
        stdout,
        stderr,
    })
}

/// The error of a failed bounded run of `program`, made by `error`;
/// `option` names the option that raises the timeout.
pub(super) fn run_failure(
    failure: RunFailure,
    program: &str,
    install_hint: &str,
    timeout: Duration,
    option: &str,
    error: impl Fn(ErrorKind, String) -> RemoteError,
) -> RemoteError {
    match failure {
        RunFailure::Spawn(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                install_hint
            } else {
                ""
            };
            error(ErrorKind::Ssh, format!("cannot run {program}: {e}{hint}"))
        }
        RunFailure::Wait(e) => error(ErrorKind::Ssh, format!("waiting for {program}: {e}")),
        RunFailure::Timeout => error(
            ErrorKind::Timeout,
            format!(
                "no answer within {} s (raise it with {option})",
                timeout.as_secs_f64()
            ),
        ),
        RunFailure::TooBig(cap) => error(
            ErrorKind::Command,
            if cap >= 1 << 20 {
                format!("the answer is over {} MiB", cap >> 20)
            } else {
                format!("the answer is over {} KiB", cap >> 10)
            },
        ),
    }
}

/// Runs `remote_command` on the server over ssh, feeding it `stdin`: at
/// most `remote.timeout` for the whole run and [`MAX_OUTPUT`] bytes read.
pub(super) fn run_ssh(
    remote: &Remote,
    remote_command: &str,
    stdin: Option<Vec<u8>>,
) -> Result<Finished, RemoteError> {
    remote
        .validate()
        .map_err(|e| remote.error(ErrorKind::Ssh, e.to_string()))?;
    run_command(
        remote,
        remote.ssh_command(remote_command),
        stdin,
        MAX_OUTPUT,
    )
}

/// Runs a prepared `ssh` command line (a channel of the probe's master
/// connection): at most `remote.timeout` for the whole run and `cap` bytes
/// read from its output.
pub(super) fn run_command(
    remote: &Remote,
    cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
    cap: u64,
) -> Result<Finished, RemoteError> {
    run_capped(cmd, stdin, remote.timeout, cap).map_err(|f| {
        run_failure(
            f,
            "ssh",
            " (install the OpenSSH client: `ssh` must be on PATH)",
            remote.timeout,
            "--ssh-timeout",
            |k, m| remote.error(k, m),
        )
    })
}

/// ssh's own message, without its `ssh: ` or `user@host: ` prefix.
pub(super) fn ssh_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .map(|l| {
            let l = l.strip_prefix("ssh: ").unwrap_or(l);
            let l = match l.split_once(": ") {
                Some((who, rest)) if who.contains('@') && !who.contains(' ') => rest,
                _ => l,
            };
            l.trim_end_matches('.').to_string()
        })
        .collect();
    if lines.is_empty() {
        "ssh failed without a message".into()
    } else {
        lines.join("; ")
    }
}

/// The error of a run that ssh itself failed (exit 255, or killed).
pub(super) fn ssh_failed(remote: &Remote, finished: &Finished) -> Option<RemoteError> {
    match finished.code {
        Some(255) | None => Some(remote.error(ErrorKind::Ssh, ssh_message(&finished.stderr))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_messages_lose_their_prefix() {
        assert_eq!(
            ssh_message(b"root@127.0.0.1: Permission denied (publickey).\n"),
            "Permission denied (publickey)"
        );
        assert_eq!(
            ssh_message(b"Warning: Permanently added 'x' (ED25519) to the list of known hosts.\r\nssh: connect to host 127.0.0.1 port 1: Connection refused\r\n"),
            "connect to host 127.0.0.1 port 1: Connection refused"
        );
        assert_eq!(ssh_message(b""), "ssh failed without a message");
    }
}
