//! The sshd harness shared by tests/ssh.rs and tests/security_remote.rs:
//! a real OpenSSH server on 127.0.0.1 per test, and a config tree for the
//! "remote" nginx. Without sshd (or ssh, or root) the tests print
//! `skipping` locally and fail under CI (env `CI` set).
#![allow(dead_code)]

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, hopscope_run, is_root, HopscopeRun, Prefix};

/// Bound of one hopscope run in these tests.
pub const RUN: Duration = Duration::from_secs(40);
/// How long sshd may take to listen.
pub const SSHD_START: Duration = Duration::from_secs(5);

pub fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

pub fn which(name: &str, preferred: &[&str]) -> Option<PathBuf> {
    preferred
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
}

/// A reason to skip (`None`), or a failure under CI.
pub fn skip<T>(why: &str) -> Option<T> {
    super::required::required("the ssh tests", Some(why.to_string()));
    None
}

/// A running sshd, killed and reaped on drop.
pub struct Sshd {
    pub child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub ports: Vec<u16>,
    /// Client configuration that logs in as root with the authorized key.
    pub config: PathBuf,
    /// Client configuration with a key the server does not accept.
    pub bad_config: PathBuf,
}

pub fn keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "hopscope-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Sshd {
    /// Starts sshd listening on `n` ports, or `None` to skip.
    pub fn start(n: usize) -> Option<Sshd> {
        Sshd::start_with(n, false)
    }

    /// Starts sshd that allows TCP forwarding (`ssh -W`, as a probe over
    /// ssh needs), or `None` to skip.
    pub fn start_forwarding(n: usize) -> Option<Sshd> {
        Sshd::start_with(n, true)
    }

    fn start_with(n: usize, forwarding: bool) -> Option<Sshd> {
        let bin = which("sshd", &["/usr/sbin/sshd"])
            .or_else(|| skip("sshd is not installed (Debian package openssh-server)"))?;
        if which("ssh", &["/usr/bin/ssh"]).is_none() || which("ssh-keygen", &[]).is_none() {
            return skip("the ssh client is not installed (Debian package openssh-client)");
        }
        if !is_root() {
            return skip("sshd tests run as root");
        }
        // sshd's privilege separation directory (made by the init script).
        if !Path::new("/run/sshd").is_dir() {
            fs::create_dir_all("/run/sshd").expect("create /run/sshd");
            fs::set_permissions("/run/sshd", fs::Permissions::from_mode(0o755)).ok();
        }
        let dir = tempfile::Builder::new()
            .prefix("hopscope-sshd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        keygen(&d.join("stranger_key"));
        fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).expect("authorized_keys");
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut conf = String::from("ListenAddress 127.0.0.1\n");
        for p in &ports {
            conf.push_str(&format!("Port {p}\n"));
        }
        conf.push_str(&format!(
            "HostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n\
             PidFile {d}/sshd.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             AllowTcpForwarding {fwd}\nX11Forwarding no\nPrintMotd no\nMaxStartups 100\n",
            d = d.display(),
            fwd = if forwarding { "local" } else { "no" }
        ));
        fs::write(d.join("sshd_config"), conf).expect("sshd_config");
        let client = |key: &str| {
            format!(
                "Host *\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}/{key}\n  \
                 IdentitiesOnly yes\n  IdentityAgent none\n  StrictHostKeyChecking no\n  \
                 UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                ports[0],
                d.display()
            )
        };
        fs::write(d.join("ssh_config"), client("client_key")).expect("ssh_config");
        fs::write(d.join("bad_ssh_config"), client("stranger_key")).expect("bad_ssh_config");
        let log = fs::File::create(d.join("sshd.log")).expect("sshd log");
        let child = Command::new(&bin)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn sshd");
        let mut sshd = Sshd {
            child: Some(child),
            config: d.join("ssh_config"),
            bad_config: d.join("bad_ssh_config"),
            dir,
            ports,
        };
        let deadline = Instant::now() + SSHD_START;
        let mut pending = sshd.ports.clone();
        while !pending.is_empty() {
            if let Some(Ok(Some(st))) = sshd.child.as_mut().map(|c| c.try_wait()) {
                sshd.child = None;
                panic!("sshd exited ({st}):\n{}", sshd.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen on {pending:?} within {SSHD_START:?}:\n{}",
                sshd.log()
            );
            pending.retain(|&p| {
                let addr = SocketAddr::from(([127, 0, 0, 1], p));
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(sshd)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `[SUBCOMMAND] --ssh HOST --ssh-config CONFIG REST…` (the subcommand,
    /// when `rest` starts with one, comes first).
    pub fn args(&self, host: &str, rest: &[&str]) -> Vec<String> {
        let (sub, rest) = match rest.split_first() {
            Some((first, tail)) if !first.starts_with('-') => (vec![first.to_string()], tail),
            _ => (Vec::new(), rest),
        };
        let mut v = sub;
        v.extend([
            "--ssh".into(),
            host.into(),
            "--ssh-config".into(),
            self.config.display().to_string(),
        ]);
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A config tree with absolute paths (the remote nginx runs without `-p`):
/// two upstream pools reached without SNI, one of them with verification
/// off, in an included file.
pub struct Tree {
    pub prefix: Prefix,
    pub ports: [u16; 2],
}

impl Tree {
    pub fn new(label: &str) -> Tree {
        let prefix = Prefix::new(label);
        let p = prefix.path().display().to_string();
        let ports = [free_port(), free_port()];
        let up = free_port();
        prefix.write(
            "nginx.conf",
            &format!(
                "worker_processes 1;
error_log {p}/logs/error.log info;
pid {p}/logs/nginx.pid;
events {{
    worker_connections 64;
}}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/client_body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    upstream backend {{
        server 127.0.0.1:{up};
    }}
    include conf.d/*.conf;
    server {{
        listen 127.0.0.1:{a};
        server_name app.test;
        location /api/ {{
            proxy_pass https://backend;
        }}
    }}
}}
",
                a = ports[0]
            ),
        );
        prefix.write(
            "conf.d/api.conf",
            &format!(
                "upstream api_pool {{
    server 127.0.0.1:{up};
}}
server {{
    listen 127.0.0.1:{b};
    server_name api.test;
    location / {{
        proxy_ssl_verify off;
        proxy_pass https://api_pool;
    }}
}}
",
                b = ports[1]
            ),
        );
        Tree { prefix, ports }
    }

    pub fn path(&self) -> &Path {
        self.prefix.path()
    }

    pub fn conf(&self) -> String {
        self.prefix.conf_path().display().to_string()
    }

    /// `--set HOP:KEY=VALUE` for both hops, as read over SSH: the ids name
    /// the files as the server's `nginx -T` does (absolute paths), at the
    /// lines their pass directives are on now (a fix moves them). Each hop
    /// gets its own: `KEY=VALUE` is refused when two hops need the key.
    #[allow(dead_code)]
    pub fn remote_sets(&self, key_value: &str) -> [String; 2] {
        let id = |file: &str, pass: &str| {
            let path = self.path().join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            let line = text.lines().position(|l| l.contains(pass)).unwrap() + 1;
            format!("{}:{line}:{key_value}", path.display())
        };
        [
            id("nginx.conf", "proxy_pass https://backend;"),
            id("conf.d/api.conf", "proxy_pass https://api_pool;"),
        ]
    }

    /// Every file below the prefix except logs and temp dirs: (relative name, bytes).
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let p = e.path();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                if rel == "logs" || rel == "tmp" || rel == "pki" {
                    continue;
                }
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    out.push((rel, fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.path(), self.path(), &mut out);
        out
    }

    pub fn names(&self) -> Vec<String> {
        self.snapshot().into_iter().map(|(n, _)| n).collect()
    }
}

pub fn hs<S: AsRef<str>>(args: &[S]) -> HopscopeRun {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let run = hopscope_run(&args, None, RUN);
    assert!(
        !run.timed_out,
        "hopscope {args:?} timed out:\n{}",
        run.stderr
    );
    run
}

pub fn sudo_available() -> bool {
    let missing = which("sudo", &["/usr/bin/sudo"])
        .is_none()
        .then(|| "sudo is not installed".to_string());
    super::required::required("the --sudo checks", missing)
}
