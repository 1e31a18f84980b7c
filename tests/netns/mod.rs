//! A network namespace for the tests that need a server this machine
//! cannot reach except through its sshd: a veth pair to it, processes run
//! inside it, and everything killed and deleted on drop.
#![allow(dead_code)]

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::is_root;

/// The server namespace and everything running in it; gone on drop.
pub struct Server {
    ns: String,
    veth: String,
    children: Vec<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .stderr(Stdio::null())
            .status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    pub fn new() -> Server {
        let id = std::process::id() % 100_000;
        let s = Server {
            ns: format!("hsprobe{id}"),
            veth: format!("hsp{id}a"),
            children: Vec::new(),
        };
        let peer = format!("hsp{id}b");
        let net = 1 + id % 250;
        ip(&["netns", "add", &s.ns]);
        ip(&[
            "link", "add", &s.veth, "type", "veth", "peer", "name", &peer,
        ]);
        ip(&["link", "set", &peer, "netns", &s.ns]);
        ip(&["addr", "add", &format!("10.213.{net}.1/30"), "dev", &s.veth]);
        ip(&["link", "set", &s.veth, "up"]);
        let inside = |a: &[&str]| {
            let mut v = vec!["netns", "exec", s.ns.as_str(), "ip"];
            v.extend_from_slice(a);
            ip(&v);
        };
        inside(&["addr", "add", &format!("10.213.{net}.2/30"), "dev", &peer]);
        inside(&["link", "set", &peer, "up"]);
        inside(&["link", "set", "lo", "up"]);
        s
    }

    pub fn address(&self) -> String {
        let id = std::process::id() % 100_000;
        format!("10.213.{}.2", 1 + id % 250)
    }

    /// Runs `argv` in the namespace, kept until drop.
    pub fn spawn(&mut self, argv: &[&str], log: &Path) {
        let log = fs::File::create(log).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn in the namespace");
        self.children.push(child);
    }

    /// Waits until `addr` (host:port, in the namespace) accepts.
    pub fn wait_listening(&self, addr: &str, what: &str, log: &Path) {
        let (h, p) = addr.rsplit_once(':').unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let ok = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.ns,
                    "perl",
                    "-MIO::Socket::INET",
                    "-e",
                ])
                .arg(format!(
                    "exit(IO::Socket::INET->new(PeerAddr=>'{h}',PeerPort=>{p},Timeout=>1)?0:1)"
                ))
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < until,
                "{what} did not listen on {addr}:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Why the test cannot run here, if so.
pub fn missing() -> Option<String> {
    if !is_root() {
        return Some("network namespaces need root".into());
    }
    for (bin, pkg) in [
        ("/usr/sbin/sshd", "openssh-server"),
        ("/usr/bin/ssh", "openssh-client"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/perl", "perl-base"),
    ] {
        if !Path::new(bin).is_file() {
            return Some(format!("{bin} is missing ({pkg})"));
        }
    }
    let ok = Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| "`ip netns` is not available (iproute2)".into())
}
