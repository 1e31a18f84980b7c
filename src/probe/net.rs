//! The byte stream to a peer (TCP or a unix socket from this machine, or
//! a channel opened by the server over ssh), under one deadline per peer
//! (and the run's) for resolving, connecting and every read and write.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::result::*;
pub(crate) use super::via::Dial;
use crate::remote::Channel;

/// The one deadline of a peer: connect, handshake and the wait after it
/// all fit in `timeout` from the start of the peer's probe. A per-read
/// timeout alone let a peer that trickles a byte at a time hold the probe
/// forever.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) timeout: Duration,
    /// The run's deadline (its length) when it ends before the peer's.
    pub(crate) run: Option<Duration>,
}

impl Deadline {
    /// `timeout` from `start`, or the run's end (`run`: when, and the
    /// run's length) when that comes first.
    pub(crate) fn new(
        start: Instant,
        timeout: Duration,
        run: Option<(Instant, Duration)>,
    ) -> Deadline {
        let own = start + timeout;
        match run {
            Some((end, len)) if end < own => Deadline {
                at: end,
                timeout,
                run: Some(len),
            },
            _ => Deadline {
                at: own,
                timeout,
                run: None,
            },
        }
    }

    /// The time left, or None when it has passed.
    pub(crate) fn left(&self) -> Option<Duration> {
        self.at
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// The result of a peer that ran out of time, and what it was doing.
    pub(crate) fn exceeded(&self, doing: &str) -> String {
        if let Some(run) = self.run {
            let t = run.as_secs_f32();
            return format!(
                "the run's deadline of {t} s passed: {doing} by then (--deadline bounds the whole probe run)"
            );
        }
        let t = self.timeout.as_secs_f32();
        format!(
            "deadline exceeded after {t} s: {doing} within {t} s (the probe gives each peer {t} s in all: connect, handshake and the wait after it)"
        )
    }
}

/// A stream to the peer: TCP, a unix socket, or a channel through the
/// server (its `ssh -W` child is killed when the stream is dropped).
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
    Ssh(Channel),
}

/// Reads and writes, whatever the stream.
trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

impl Stream {
    fn io(&mut self) -> &mut dyn Io {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
            Stream::Ssh(c) => &mut c.stream,
        }
    }
}

/// A stream whose every read and write ends by `until`: each one waits at
/// most for the time left, and none starts once it has passed.
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) until: Instant,
}

impl Conn {
    /// The time left before `until`, set as the socket's timeouts.
    pub(crate) fn arm(&self) -> std::io::Result<()> {
        let left = self
            .until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "the peer's deadline passed")
            })?;
        match &self.stream {
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(left))?;
                s.set_write_timeout(Some(left))
            }
            Stream::Unix(s) | Stream::Ssh(Channel { stream: s, .. }) => {
                s.set_read_timeout(Some(left))?;
                s.set_write_timeout(Some(left))
            }
        }
    }

    /// What ssh said about a channel through the server that ended (the
    /// server could not connect, forwarding is refused), waiting at most
    /// until the deadline and 2 s.
    pub(crate) fn ssh_failure(&mut self) -> Option<String> {
        let Stream::Ssh(c) = &mut self.stream else {
            return None;
        };
        let left = self
            .until
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        c.failure(left.min(Duration::from_secs(2)))
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.stream.io().read(buf)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.stream.io().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.io().flush()
    }
}

/// The first address of `peer`, within the deadline: a name is resolved on
/// its own thread, so a slow resolver (a name the configuration chose)
/// cannot hold the peer past it.
pub(crate) fn resolve(peer: &str, deadline: Deadline) -> Result<SocketAddr, String> {
    if let Ok(addr) = peer.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let left = deadline
        .left()
        .ok_or_else(|| deadline.exceeded(&format!("{peer} was not resolved")))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let name = peer.to_string();
    std::thread::Builder::new()
        .name("probe-resolve".into())
        .spawn(move || {
            let _ = tx.send(
                name.to_socket_addrs()
                    .map(|a| a.collect::<Vec<SocketAddr>>()),
            );
        })
        .map_err(|e| format!("cannot resolve {peer}: {e}"))?;
    let addrs = match rx.recv_timeout(left) {
        Ok(r) => r.map_err(|e| format!("cannot resolve {peer}: {e}"))?,
        Err(_) => return Err(deadline.exceeded(&format!("{peer} was not resolved"))),
    };
    addrs
        .first()
        .copied()
        .ok_or_else(|| format!("{peer} resolves to no address"))
}

/// `host:port` or `[v6]:port` as (host, port).
pub(crate) fn host_port(peer: &str) -> Option<(&str, u16)> {
    let (host, port) = match peer.strip_prefix('[') {
        Some(rest) => {
            let (h, p) = rest.split_once("]:")?;
            (h, p)
        }
        None => peer.rsplit_once(':')?,
    };
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    (!host.is_empty()).then_some((host, port))
}

/// Opens the peer from where `dial` says, within the deadline.
pub(crate) fn connect(
    peer: &str,
    deadline: Deadline,
    r: &mut PeerResult,
    dial: &Dial,
) -> Result<Conn, String> {
    let Dial::ViaSsh(tunnel) = dial else {
        return connect_here(peer, deadline, r);
    };
    if peer.starts_with("unix:") {
        r.probeable = false;
        return Err(format!(
            "not probed: {peer} is a unix socket on {}, and ssh -W reaches TCP ports only",
            tunnel.host()
        ));
    }
    let Some((host, port)) = host_port(peer) else {
        return Err(format!(
            "not probed: {peer} names no port, and the server is asked for host:port"
        ));
    };
    deadline
        .left()
        .ok_or_else(|| deadline.exceeded("no channel was opened"))?;
    let channel = tunnel.dial(host, port)?;
    Ok(Conn {
        stream: Stream::Ssh(channel),
        until: deadline.at,
    })
}

fn connect_here(peer: &str, deadline: Deadline, r: &mut PeerResult) -> Result<Conn, String> {
    if let Some(path) = peer.strip_prefix("unix:") {
        let s = std::os::unix::net::UnixStream::connect(path)
            .map_err(|e| format!("cannot connect to {path}: {e}"))?;
        r.address = Some(format!("unix:{path}"));
        return Ok(Conn {
            stream: Stream::Unix(s),
            until: deadline.at,
        });
    }
    let addr = resolve(peer, deadline)?;
    r.address = Some(addr.to_string());
    let no_answer = || deadline.exceeded(&format!("no answer from {addr}"));
    let left = deadline.left().ok_or_else(no_answer)?;
    let s = TcpStream::connect_timeout(&addr, left).map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused by {addr}: nothing listens there")
        }
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => no_answer(),
        _ => format!("cannot connect to {addr}: {e}"),
    })?;
    Ok(Conn {
        stream: Stream::Tcp(s),
        until: deadline.at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_as_host_and_port() {
        assert_eq!(host_port("api.internal:8443"), Some(("api.internal", 8443)));
        assert_eq!(host_port("[::1]:443"), Some(("::1", 443)));
        assert_eq!(host_port("10.0.0.1:0"), None);
        assert_eq!(host_port("api.internal"), None);
        assert_eq!(host_port(":443"), None);
        assert_eq!(host_port("[::1]"), None);
    }

    #[test]
    fn the_run_deadline_ends_a_peer_first() {
        let start = Instant::now();
        let own = Deadline::new(start, Duration::from_secs(5), None);
        assert!(own.exceeded("x").starts_with("deadline exceeded after 5 s"));
        let run = Deadline::new(
            start,
            Duration::from_secs(5),
            Some((start + Duration::from_secs(1), Duration::from_secs(1))),
        );
        assert_eq!(run.at, start + Duration::from_secs(1));
        assert!(run
            .exceeded("the handshake did not finish")
            .starts_with("the run's deadline of 1 s passed"));
        // A run deadline later than the peer's own changes nothing.
        let late = Deadline::new(
            start,
            Duration::from_secs(1),
            Some((start + Duration::from_secs(9), Duration::from_secs(9))),
        );
        assert_eq!(late.at, start + Duration::from_secs(1));
        assert!(late.run.is_none());
    }
}
