//! `--exec CMD`: any command that prints `nginx -T` (`kubectl exec … --
//! nginx -T`, `docker exec web nginx -T`), run through `sh -c` on this
//! machine with the bounds of an ssh run, its output read as `--ssh`'s is.
//!
//! The command is the operator's own, trusted like a script they run: it
//! is handed to `sh -c` as written. What it prints is not trusted: it is a
//! dump like any other, and its messages are shown escaped.

use std::process::Command;
use std::time::Duration;

use super::error::{ErrorKind, RemoteError, Via};
use super::fetch::DumpRun;
use super::nginx_output::one_line_excerpt;
use super::process::{run_bounded, run_failure};
use super::target::DEFAULT_TIMEOUT;

/// A command that prints `nginx -T` output, and how long it may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exec {
    /// The command line, for `sh -c`.
    pub command: String,
    /// Bound of one run.
    pub timeout: Duration,
}

/// Why a command cannot be run as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("--exec needs a command that prints nginx -T output, e.g. --exec 'docker exec web nginx -T'")]
    Empty,
    #[error("--exec: the command holds a NUL byte")]
    Nul,
}

impl Exec {
    /// `command` with the default timeout, refused when empty or holding
    /// a NUL byte (no shell can be given one).
    pub fn new(command: &str) -> Result<Exec, ExecError> {
        if command.trim().is_empty() {
            return Err(ExecError::Empty);
        }
        if command.contains('\0') {
            return Err(ExecError::Nul);
        }
        Ok(Exec {
            command: command.to_string(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// How messages name the command: in backquotes, as given.
    pub fn label(&self) -> String {
        format!("`{}`", self.command)
    }

    /// The local `sh -c CMD` invocation.
    pub fn shell_command(&self) -> Command {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(&self.command);
        cmd
    }

    fn error(&self, kind: ErrorKind, message: String) -> RemoteError {
        RemoteError {
            host: self.label(),
            kind,
            message,
            via: Via::Exec,
        }
    }
}

/// Hints for the usual failures of a command that should print a dump.
fn exec_hint(text: &str) -> &'static str {
    if text.contains(": not found") || text.contains("command not found") {
        " (is the program on PATH?)"
    } else if text.contains("Permission denied") && !text.contains("[emerg]") {
        " (nginx may need root to read its files)"
    } else {
        ""
    }
}

/// Runs the command and returns its `nginx -T` output, as
/// [`super::fetch_dump`] does for a server: led by nginx's version line
/// when the command printed one (`nginx -v -T` prints it on standard
/// error), or the error that says why there is none.
pub fn fetch_exec(exec: &Exec) -> Result<Vec<u8>, RemoteError> {
    let error = |kind, message| exec.error(kind, message);
    let finished = run_bounded(exec.shell_command(), None, exec.timeout).map_err(|f| {
        run_failure(
            f,
            "sh",
            " (a POSIX shell `sh` must be on PATH)",
            exec.timeout,
            "--exec-timeout",
            error,
        )
    })?;
    if finished.code.is_none() {
        return Err(exec.error(
            ErrorKind::Command,
            format!(
                "the command was killed by a signal: {}",
                one_line_excerpt(&String::from_utf8_lossy(&finished.stderr))
            ),
        ));
    }
    DumpRun {
        what: "the command",
        hint: &exec_hint,
        error: &error,
    }
    .read(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_run_by_sh_as_written() {
        let e = Exec::new("docker exec web nginx -T").unwrap();
        let cmd = e.shell_command();
        assert_eq!(cmd.get_program(), "sh");
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["-c", "docker exec web nginx -T"]);
        assert_eq!(Exec::new("  "), Err(ExecError::Empty));
        assert_eq!(Exec::new("a\0b"), Err(ExecError::Nul));
    }

    #[test]
    fn a_dump_with_its_version_on_stderr() {
        let e = Exec::new("printf '# configuration file /e/n.conf:\\nhttp {}\\n\\n'; echo 'nginx version: nginx/1.24.0' >&2").unwrap();
        let dump = fetch_exec(&e).unwrap();
        assert!(dump.starts_with(b"nginx version: nginx/1.24.0\n# configuration file /e/n.conf:\n"));
    }

    #[test]
    fn a_failing_command_says_its_exit_and_stderr() {
        let e = Exec::new("echo 'Error from server (NotFound): pods \"x\" not found' >&2; exit 1")
            .unwrap();
        let err = fetch_exec(&e).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Command);
        let shown = err.to_string();
        assert!(shown.starts_with("--exec `echo"), "{shown}");
        assert!(
            shown.contains("failed (exit 1): Error from server (NotFound)"),
            "{shown}"
        );
        let mut slow = Exec::new("sleep 5").unwrap();
        slow.timeout = Duration::from_millis(200);
        let err = fetch_exec(&slow).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert!(err.to_string().contains("--exec-timeout"), "{err}");
    }
}
