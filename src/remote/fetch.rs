//! Fetching the configuration: `nginx -T` over ssh, and what its output
//! means (a dump, or why there is none).

use super::error::{ErrorKind, RemoteError};
use super::nginx_output::{failure_hint, nginx_errors, one_line_excerpt};
use super::process::{run_ssh, ssh_failed, Finished};
use super::target::{shell_quote, Remote};

impl Remote {
    /// `nginx [-c PATH] ARGS`, each word quoted for a POSIX shell.
    pub(super) fn nginx_command_line(&self, args: &[&str]) -> String {
        let mut quoted = vec![shell_quote(&self.nginx)];
        if let Some(c) = &self.nginx_conf {
            quoted.push("-c".into());
            quoted.push(shell_quote(c));
        }
        quoted.extend(args.iter().map(|a| shell_quote(a)));
        quoted.join(" ")
    }

    /// The remote command line of [`fetch_dump`]: `-v` makes nginx print
    /// its version before it tests and dumps the configuration, so one
    /// run over one connection tells both.
    pub fn dump_command(&self) -> String {
        let sudo = if self.sudo { "sudo -n " } else { "" };
        format!("{sudo}{} 2>&1", self.nginx_command_line(&["-v", "-T"]))
    }
}

/// The dump from its first `# configuration file PATH:` line on: what
/// comes before (nginx's warnings in either form, a chatty login shell) is
/// not configuration.
fn from_first_marker(out: &[u8]) -> Option<&[u8]> {
    const MARKER: &[u8] = b"# configuration file ";
    let mut at = 0;
    while at < out.len() {
        let end = out[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(out.len(), |i| at + i);
        let line = &out[at..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(MARKER) && line.ends_with(b":") {
            let dump = &out[at..];
            return crate::conf::dump::is_dump(dump).then_some(dump);
        }
        at = end + 1;
    }
    None
}

/// The dump as the loader reads it: nginx's `nginx version:` line (when
/// it printed one in `chatter`, what came before the first file or on
/// standard error), then the dump from its first marker on.
fn with_version_line(chatter: &[u8], dump: &[u8]) -> Vec<u8> {
    let line = crate::conf::dump::version_line(chatter);
    let mut kept = Vec::with_capacity(dump.len() + 80);
    if let Some(line) = line {
        kept.extend_from_slice(line.as_bytes());
        kept.push(b'\n');
    }
    kept.extend_from_slice(dump);
    kept
}

/// How a run that should have printed `nginx -T` is read: what ran (for
/// messages), hints for its usual failures, and how its errors are made.
pub(super) struct DumpRun<'a> {
    /// The command as messages show it (in backquotes, or "the command").
    pub(super) what: &'a str,
    /// A hint for the output of a failed run ("" for none).
    pub(super) hint: &'a dyn Fn(&str) -> &'static str,
    pub(super) error: &'a dyn Fn(ErrorKind, String) -> RemoteError,
}

impl DumpRun<'_> {
    /// The dump a finished run printed (led by nginx's version line when it
    /// printed one, on either stream), or why there is none: nginx's own
    /// errors when it rejected the configuration, else the run's exit
    /// status and output. The one reading of `--ssh` and `--exec` output.
    pub(super) fn read(&self, finished: Finished) -> Result<Vec<u8>, RemoteError> {
        let mut out = finished.stdout;
        if finished.code == Some(0) {
            if let Some(dump) = from_first_marker(&out) {
                let mut chatter = out[..out.len() - dump.len()].to_vec();
                chatter.extend_from_slice(&finished.stderr);
                return Ok(with_version_line(&chatter, dump));
            }
        }
        out.extend_from_slice(&finished.stderr);
        // The version line says nothing about the failure.
        let text: String = String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.starts_with(crate::conf::dump::VERSION_LINE))
            .map(|l| format!("{l}\n"))
            .collect();
        if let Some(msg) = nginx_errors(&text) {
            return Err((self.error)(
                ErrorKind::Rejected,
                format!(
                    "nginx rejects the configuration: {msg}{}",
                    (self.hint)(&text)
                ),
            ));
        }
        let what = self.what;
        match finished.code {
            Some(0) => Err((self.error)(
                ErrorKind::Command,
                format!(
                    "{what} printed no configuration (nginx 1.9.2 or newer is needed for -T): {}",
                    one_line_excerpt(&text)
                ),
            )),
            code => Err((self.error)(
                ErrorKind::Command,
                format!(
                    "{what} failed (exit {}): {}{}",
                    code.map_or("?".to_string(), |c| c.to_string()),
                    one_line_excerpt(&text),
                    (self.hint)(&text)
                ),
            )),
        }
    }
}

/// Runs `nginx -v -T` on the server and returns its output, a dump the
/// `nginx -T` loader reads ([`crate::conf::from_bytes`]), led by nginx's
/// version line (see [`crate::conf::Config::version_line`]).
pub fn fetch_dump(remote: &Remote) -> Result<Vec<u8>, RemoteError> {
    let finished = run_ssh(remote, &remote.dump_command(), None)?;
    if let Some(e) = ssh_failed(remote, &finished) {
        return Err(e);
    }
    let what = format!("`{}`", remote.dump_command());
    DumpRun {
        what: &what,
        hint: &|text| failure_hint(remote, text),
        error: &|kind, message| remote.error(kind, message),
    }
    .read(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dump_starts_at_its_first_marker() {
        let out = b"Welcome to web1\n2026/01/02 03:04:05 [warn] 7#7: conflicting server name\n\
                    nginx: the configuration file /e/n.conf syntax is ok\n\
                    # configuration file /e/n.conf:\nhttp {}\n\n";
        let dump = from_first_marker(out).unwrap();
        assert!(dump.starts_with(b"# configuration file /e/n.conf:\n"));
        assert!(from_first_marker(b"nginx: [emerg] x\n").is_none());
    }

    #[test]
    fn the_version_line_leads_the_kept_dump() {
        let out = b"Welcome\r\nnginx version: nginx/1.22.1\r\nnginx: the configuration file /e/n.conf syntax is ok\n\
                    # configuration file /e/n.conf:\nhttp {}\n\n";
        let dump = from_first_marker(out).unwrap();
        let kept = with_version_line(&out[..out.len() - dump.len()], dump);
        assert!(kept.starts_with(b"nginx version: nginx/1.22.1\n# configuration file /e/n.conf:\n"));
        let cfg = crate::conf::from_bytes(kept, None).unwrap();
        assert_eq!(
            cfg.version_line.as_deref(),
            Some("nginx version: nginx/1.22.1")
        );
        let bare = b"# configuration file /e/n.conf:\nhttp {}\n";
        assert_eq!(
            with_version_line(b"", from_first_marker(bare).unwrap()),
            bare.to_vec()
        );
    }
}
