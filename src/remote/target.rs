//! The server to reach: its ssh destination and the checks on it, and the
//! `ssh` command line, with the options every run gets.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::error::{ErrorKind, RemoteError, TargetError};

/// Default bound of one ssh run (connect, run, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The ssh options of every ssh run, before any other: no prompt, and
/// nothing of this machine (agent, X display) is handed to the server.
pub const ALWAYS_SSH_OPTIONS: &[&str] = &["BatchMode=yes", "ForwardAgent=no", "ForwardX11=no"];

/// One server to reach over SSH, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// How the server is named in messages and reports: the `--ssh` value
    /// or the inventory name.
    pub host: String,
    /// What is given to `ssh` as the destination (`[user@]host`).
    pub destination: String,
    /// Run nginx (and the apply script) under `sudo -n`.
    pub sudo: bool,
    /// `ssh -F FILE`.
    pub ssh_config: Option<PathBuf>,
    /// `ssh -o OPT` each, in order (ssh keeps the first value of an option).
    pub ssh_options: Vec<String>,
    /// The nginx binary on the server.
    pub nginx: String,
    /// `nginx -c PATH` on the server (default: nginx's own).
    pub nginx_conf: Option<String>,
    /// Bound of one ssh run.
    pub timeout: Duration,
}

impl Remote {
    /// A server reached as `destination` (`[user@]host`), with defaults.
    pub fn new(destination: &str) -> Remote {
        Remote {
            host: destination.to_string(),
            destination: destination.to_string(),
            sudo: false,
            ssh_config: None,
            ssh_options: Vec::new(),
            nginx: "nginx".to_string(),
            nginx_conf: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Refuses destinations that are not `[user@]host` ([`check_destination`]).
    pub fn validate(&self) -> Result<(), TargetError> {
        check_destination(&self.destination)?;
        if self.nginx.is_empty() {
            return Err(TargetError::NoNginx);
        }
        for o in &self.ssh_options {
            if o.contains('\n') {
                return Err(TargetError::OptionLineBreak(o.clone()));
            }
        }
        Ok(())
    }

    /// The local `ssh` invocation that runs `remote_command` on the server.
    pub fn ssh_command(&self, remote_command: &str) -> Command {
        let mut cmd = self.ssh_with(&[]);
        cmd.args(["-T", "--"]);
        cmd.arg(&self.destination).arg(remote_command);
        cmd
    }

    /// `ssh` with the options of every run, `first` (`-o` values that must
    /// win over the person's: ssh keeps the first value) right after
    /// hopscope's own, then the person's, then the defaults. The caller
    /// adds the rest (`-T -- DESTINATION COMMAND`, `-W`, `-N`).
    pub(super) fn ssh_with(&self, first: &[String]) -> Command {
        let mut cmd = Command::new("ssh");
        // First value wins in ssh: batch mode and no agent or X11
        // forwarding cannot be turned off (by an ssh config with
        // `ForwardAgent yes`: the audited server would get the agent), the
        // person's options come before hopscope's defaults.
        cmd.args(ALWAYS_SSH_OPTIONS.iter().flat_map(|o| ["-o", o]));
        for o in first {
            cmd.arg("-o").arg(o);
        }
        if let Some(f) = &self.ssh_config {
            cmd.arg("-F").arg(f);
        }
        for o in &self.ssh_options {
            cmd.arg("-o").arg(o);
        }
        let secs = self.timeout.as_secs().clamp(1, 10);
        cmd.arg("-o").arg(format!("ConnectTimeout={secs}"));
        cmd.args(["-o", "ClearAllForwardings=yes"]);
        cmd
    }

    /// An error of this server's run.
    pub(super) fn error(&self, kind: ErrorKind, message: impl Into<String>) -> RemoteError {
        RemoteError {
            host: self.host.clone(),
            kind,
            message: message.into(),
            via: super::error::Via::Ssh,
        }
    }
}

/// Refuses what is not a host name or an IP address. ssh takes a leading
/// `-` for an option, and a person's ssh configuration may hand the host
/// to a shell (`ProxyCommand … %h`): only the characters of host names
/// (letters, digits, `-`, `.`, `_`) and IP literals pass.
pub fn check_host(host: &str) -> Result<(), TargetError> {
    let ip = |h: &str| h.parse::<std::net::IpAddr>().is_ok();
    // An IPv6 address with its zone: fe80::1%eth0.
    let scoped = |h: &str| {
        h.split_once('%').is_some_and(|(a, zone)| {
            a.parse::<std::net::Ipv6Addr>().is_ok()
                && !zone.is_empty()
                && zone
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        })
    };
    let name = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if name || ip(host) || scoped(host) {
        Ok(())
    } else {
        Err(TargetError::NotAHost(host.to_string()))
    }
}

/// Refuses what is not a user name (letters, digits, `-`, `.`, `_`, and
/// `@` for domain accounts; not starting with `-`): ssh's configuration
/// may hand the user to a shell too (`%r`).
pub fn check_user(user: &str) -> Result<(), TargetError> {
    let ok = !user.is_empty()
        && user.len() <= 256
        && !user.starts_with('-')
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(TargetError::NotAUser(user.to_string()))
    }
}

/// Refuses what is not an ssh destination: `[user@]host`, or
/// `ssh://[user@]host[:port]`, checked by [`check_user`] and
/// [`check_host`]. The one check for `--ssh`, inventory hosts and their
/// `ansible_host` and `ansible_user`.
pub fn check_destination(destination: &str) -> Result<(), TargetError> {
    let uri = destination.strip_prefix("ssh://");
    let rest = uri.unwrap_or(destination);
    let (user, host) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let host = match uri {
        None => Some(host),
        // ssh://host:port and ssh://[v6]:port
        Some(_) => {
            let (h, port) = match host.strip_prefix('[') {
                Some(v6) => v6.split_once(']').map_or((None, ""), |(h, p)| (Some(h), p)),
                None => match host.rfind(':') {
                    Some(i) => (Some(&host[..i]), &host[i..]),
                    None => (Some(host), ""),
                },
            };
            let port_ok = port.is_empty()
                || port
                    .strip_prefix(':')
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            h.filter(|_| port_ok)
        }
    };
    let why = match host {
        None => Err(TargetError::NotUserAtHost),
        Some(h) => user.map_or(Ok(()), check_user).and_then(|()| check_host(h)),
    };
    why.map_err(|why| TargetError::NotADestination {
        destination: destination.to_string(),
        why: Box::new(why),
    })
}

/// Quotes a word for a POSIX shell (left bare when nothing in it is special).
pub(super) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:=@,+%".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/usr/sbin/nginx"), "/usr/sbin/nginx");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
        let mut r = Remote::new("web1");
        assert_eq!(r.dump_command(), "nginx -v -T 2>&1");
        r.sudo = true;
        r.nginx = "/opt/my nginx/sbin/nginx".into();
        r.nginx_conf = Some("/etc/nginx/x;y.conf".into());
        assert_eq!(
            r.dump_command(),
            "sudo -n '/opt/my nginx/sbin/nginx' -c '/etc/nginx/x;y.conf' -v -T 2>&1"
        );
    }

    #[test]
    fn the_ssh_command_line() {
        let mut r = Remote::new("deploy@web1");
        r.ssh_config = Some(PathBuf::from("/tmp/cfg"));
        r.ssh_options = vec!["Port=2222".into()];
        let cmd = r.ssh_command("nginx -T 2>&1");
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(cmd.get_program(), "ssh");
        assert_eq!(
            args,
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "ForwardAgent=no",
                "-o",
                "ForwardX11=no",
                "-F",
                "/tmp/cfg",
                "-o",
                "Port=2222",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "ClearAllForwardings=yes",
                "-T",
                "--",
                "deploy@web1",
                "nginx -T 2>&1"
            ]
        );
        assert!(Remote::new("-oProxyCommand=x").validate().is_err());
        assert!(Remote::new("a b").validate().is_err());
        // Also when the person's options ask for forwarding: the first
        // value wins in ssh, and hopscope's come first.
        r.ssh_options = vec!["ForwardAgent=yes".into()];
        let args: Vec<String> = r
            .ssh_command("x")
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let first = |opt: &str| {
            args.iter()
                .find(|a| {
                    a.to_ascii_lowercase()
                        .starts_with(&opt.to_ascii_lowercase())
                })
                .cloned()
        };
        assert_eq!(first("ForwardAgent=").as_deref(), Some("ForwardAgent=no"));
        assert_eq!(first("ForwardX11=").as_deref(), Some("ForwardX11=no"));
    }

    #[test]
    fn destinations_hosts_and_users() {
        for ok in [
            "web1",
            "deploy@web1.example.com",
            "a_b-c.d",
            "10.0.0.1",
            "root@::1",
            "fe80::1%eth0",
            "first.last@corp.example@web1",
            "ssh://deploy@web1:2222",
            "ssh://[::1]:22",
            "ssh://web1",
        ] {
            assert_eq!(check_destination(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-oProxyCommand=x",
            "a b",
            "$(touch x)",
            "web1;id",
            "`id`",
            "web1|x",
            "x\nProxyCommand y",
            "@web1",
            "-u@web1",
            "deploy@",
            "de'ploy@web1",
            ".web1",
            "ssh://web1:x",
            "ssh://[::1",
        ] {
            let e = check_destination(bad).unwrap_err().to_string();
            assert!(e.contains("is not an ssh destination"), "{bad}: {e}");
        }
        assert!(check_host("$(touch /tmp/x)")
            .unwrap_err()
            .to_string()
            .contains("is not a host name or an IP address"));
        assert!(check_user("x y")
            .unwrap_err()
            .to_string()
            .contains("is not a user name"));
        // Control characters are shown escaped.
        assert!(check_host("a\x1b[2Jb")
            .unwrap_err()
            .to_string()
            .contains("\\x1b"));
        assert_eq!(
            check_destination("deploy@").unwrap_err(),
            TargetError::NotADestination {
                destination: "deploy@".into(),
                why: Box::new(TargetError::NotAHost(String::new())),
            }
        );
    }
}
