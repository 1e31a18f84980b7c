//! One ssh connection to the server for a probe run: byte streams to the
//! peers opened FROM the server (`ssh -W host:port`, each a channel of the
//! one master connection), and the files the configuration names, read on
//! the server.
//!
//! The master is `ssh -N` with `ControlMaster=yes`, its control socket in
//! a private (0700) temporary directory, kept in the foreground
//! (`ControlPersist=no`) as this process's child: it ends when the run
//! does (on drop), and nothing else on this machine can use it.
//!
//! `ClearAllForwardings=yes` stays on both the master and every `-W`
//! client: it clears the `LocalForward`/`RemoteForward`/`DynamicForward`
//! a person's ssh configuration may set, and `-W` is a stdio forward it
//! does not touch (ssh has long turned it on itself for `-W`; the
//! namespace test in tests/probe_ssh.rs dials through it). So the only
//! forwarding that ever happens is the one channel to the one peer. The
//! server must allow TCP forwarding (`AllowTcpForwarding`, the default):
//! when it does not, each peer says so.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::error::{ErrorKind, RemoteError};
use super::process::{run_command, ssh_failed, ssh_message, PipeReader};
use super::target::{check_host, shell_quote, Remote};

/// Most bytes of one CA or CRL file read from the server.
pub const MAX_SERVER_FILE: u64 = 4 << 20;

/// A master connection to a server, closed on drop.
pub struct Tunnel {
    remote: Remote,
    /// The private directory of the control socket and the files fetched.
    dir: tempfile::TempDir,
    socket: PathBuf,
    master: Option<Child>,
}

/// A byte stream to a peer through the server: this end of a socket pair
/// whose other end is the `ssh -W` child's standard input and output.
pub struct Channel {
    /// This side (timeouts apply to it as to any socket).
    pub stream: UnixStream,
    child: Child,
    stderr: PipeReader,
    target: String,
}

impl Tunnel {
    /// Connects to the server (at most `remote.timeout`).
    pub fn open(remote: &Remote) -> Result<Tunnel, RemoteError> {
        remote
            .validate()
            .map_err(|e| remote.error(ErrorKind::Ssh, e.to_string()))?;
        // A unix socket's path has at most 107 bytes, and ssh binds a
        // longer temporary name first: a long TMPDIR gives way to /tmp.
        let base = std::env::temp_dir();
        let base = if base.as_os_str().len() > 60 {
            PathBuf::from("/tmp")
        } else {
            base
        };
        let dir = tempfile::Builder::new()
            .prefix("hopscope-ssh-")
            .tempdir_in(base)
            .map_err(|e| remote.error(ErrorKind::Ssh, format!("cannot make a temp dir: {e}")))?;
        // tempfile makes it 0700 already; say it here too.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| remote.error(ErrorKind::Ssh, format!("cannot protect a temp dir: {e}")))?;
        let socket = dir.path().join("master");
        let mut cmd = master_command(remote, &socket);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            remote.error(
                ErrorKind::Ssh,
                format!("cannot run ssh: {e} (the OpenSSH client must be on PATH)"),
            )
        })?;
        let stderr = PipeReader::spawn(child.stderr.take().expect("piped stderr"), 64 << 10);
        let mut tunnel = Tunnel {
            remote: remote.clone(),
            dir,
            socket,
            master: Some(child),
        };
        let started = Instant::now();
        // The master makes its socket once it has logged in.
        while !tunnel.socket.exists() {
            let exited = tunnel
                .master
                .as_mut()
                .map_or(Ok(None), |c| c.try_wait())
                .map_err(|e| remote.error(ErrorKind::Ssh, format!("waiting for ssh: {e}")))?;
            if exited.is_some() {
                tunnel.master = None;
                let said = stderr.bytes_by(Instant::now() + Duration::from_secs(1));
                return Err(remote.error(ErrorKind::Ssh, ssh_message(&said)));
            }
            if started.elapsed() > remote.timeout {
                return Err(remote.error(
                    ErrorKind::Timeout,
                    format!(
                        "no connection within {} s (raise it with --ssh-timeout)",
                        remote.timeout.as_secs_f64()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(tunnel)
    }

    /// How the server is named in messages (`--ssh` value).
    pub fn host(&self) -> &str {
        &self.remote.host
    }

    /// A private directory of this run (0700), removed on drop.
    pub fn private_dir(&self) -> &Path {
        self.dir.path()
    }

    fn client(&self) -> std::process::Command {
        client_command(&self.remote, &self.socket)
    }

    /// A byte stream to `host:port`, opened by the server (which resolves
    /// the name). Only host names and IP addresses pass ([`check_host`]).
    pub fn dial(&self, host: &str, port: u16) -> Result<Channel, String> {
        check_host(host).map_err(|e| format!("not probed through the server: {e}"))?;
        let target = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| format!("cannot make a socket pair: {e}"))?;
        let theirs_out = theirs
            .try_clone()
            .map_err(|e| format!("cannot make a socket pair: {e}"))?;
        let mut cmd = channel_command(&self.remote, &self.socket, &target);
        cmd.stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::from(OwnedFd::from(theirs_out)))
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| format!("cannot run ssh: {e}"))?;
        let stderr = PipeReader::spawn(child.stderr.take().expect("piped stderr"), 16 << 10);
        Ok(Channel {
            stream: ours,
            child,
            stderr,
            target,
        })
    }

    /// The bytes of `path` on the server (`cat`, under `sudo -n` when
    /// nginx runs under it), at most [`MAX_SERVER_FILE`].
    pub fn read_file(&self, path: &Path) -> Result<Vec<u8>, String> {
        let sudo = if self.remote.sudo { "sudo -n " } else { "" };
        let p = path.to_string_lossy();
        let mut cmd = self.client();
        cmd.args(["-T", "--"])
            .arg(&self.remote.destination)
            .arg(format!("{sudo}cat -- {}", shell_quote(&p)));
        let finished =
            run_command(&self.remote, cmd, None, MAX_SERVER_FILE).map_err(|e| e.message)?;
        if let Some(e) = ssh_failed(&self.remote, &finished) {
            return Err(e.message);
        }
        if finished.code != Some(0) {
            return Err(format!(
                "cannot read it on {}: {}",
                self.remote.host,
                ssh_message(&finished.stderr)
            ));
        }
        Ok(finished.stdout)
    }
}

/// The master: logs in, runs nothing (`-N`), serves channels on `socket`
/// until it is killed (`ControlPersist=no`: it stays in the foreground, a
/// child of this process). Its options come first: ssh keeps the first.
fn master_command(remote: &Remote, socket: &Path) -> std::process::Command {
    let mut cmd = remote.ssh_with(&[
        "ControlMaster=yes".into(),
        format!("ControlPath={}", socket.display()),
        "ControlPersist=no".into(),
    ]);
    cmd.args(["-N", "-T", "--"]).arg(&remote.destination);
    cmd
}

/// A client of the master: the same options, this run's socket, and never
/// a master of its own.
fn client_command(remote: &Remote, socket: &Path) -> std::process::Command {
    remote.ssh_with(&[
        "ControlMaster=no".into(),
        format!("ControlPath={}", socket.display()),
    ])
}

/// A channel of the master to `target` (`host:port`), on standard input
/// and output.
fn channel_command(remote: &Remote, socket: &Path, target: &str) -> std::process::Command {
    let mut cmd = client_command(remote, socket);
    cmd.arg("-W").arg(target).args(["-T", "--"]);
    cmd.arg(&remote.destination);
    cmd
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        if let Some(mut c) = self.master.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Channel {
    /// Why the channel ended, when ssh says so: waits at most `wait` for
    /// the `ssh -W` child to end (it does, when the server could not
    /// connect), then reads what it printed.
    pub fn failure(&mut self, wait: Duration) -> Option<String> {
        let until = Instant::now() + wait;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
                _ => return None,
            }
        };
        if status.success() {
            return None;
        }
        let said = self
            .stderr
            .bytes_by(Instant::now() + Duration::from_millis(200));
        let text = ssh_message(&said);
        let low = text.to_ascii_lowercase();
        let why = if low.contains("administratively prohibited") {
            "the server refuses to open connections for ssh (AllowTcpForwarding no in its sshd_config): nothing can be probed through it".to_string()
        } else if low.contains("connect failed") {
            let reason = text
                .rsplit_once("connect failed: ")
                .map_or(text.as_str(), |(_, r)| r)
                .split(';')
                .next()
                .unwrap_or("")
                .trim();
            format!("the server cannot connect to {}: {reason}", self.target)
        } else if low.contains("open refused") || low.contains("open failed") {
            // Through the master, ssh tells no more than that.
            format!(
                "the server cannot connect to {}: it refused the channel (nothing listens there, the name does not resolve on the server, or its sshd does not allow forwarding) [{text}]",
                self.target
            )
        } else {
            format!("ssh ended the channel to {}: {text}", self.target)
        };
        Some(why)
    }
}

impl Drop for Channel {
    /// The `ssh -W` child ends with the stream, whatever the peer does.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &std::process::Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_master_and_its_channels() {
        let mut r = Remote::new("deploy@web1");
        r.ssh_options = vec!["ControlMaster=auto".into(), "ControlPersist=yes".into()];
        let sock = Path::new("/tmp/hopscope-ssh-x/master");
        let m = args(&master_command(&r, sock));
        let first = |a: &[String], opt: &str| {
            a.iter()
                .find(|x| x.starts_with(opt))
                .cloned()
                .unwrap_or_default()
        };
        // Ours win over the person's (ssh keeps the first value).
        assert_eq!(first(&m, "ControlMaster="), "ControlMaster=yes");
        assert_eq!(first(&m, "ControlPersist="), "ControlPersist=no");
        assert_eq!(
            first(&m, "ControlPath="),
            "ControlPath=/tmp/hopscope-ssh-x/master"
        );
        assert_eq!(first(&m, "ForwardAgent="), "ForwardAgent=no");
        assert!(m.contains(&"ClearAllForwardings=yes".to_string()));
        assert!(m.ends_with(&["-N".into(), "-T".into(), "--".into(), "deploy@web1".into()]));
        let c = args(&channel_command(&r, sock, "[::1]:443"));
        assert_eq!(first(&c, "ControlMaster="), "ControlMaster=no");
        assert!(c.contains(&"ClearAllForwardings=yes".to_string()));
        assert!(c.ends_with(&[
            "-W".into(),
            "[::1]:443".into(),
            "-T".into(),
            "--".into(),
            "deploy@web1".into()
        ]));
    }
}
