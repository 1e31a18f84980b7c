//! Probing: open TLS to every peer of a hop exactly as nginx would for that
//! hop, and report what the upstream answers.
//!
//! The handshake uses OpenSSL, the library nginx itself uses, configured
//! from the hop's effective settings: the predicted SNI (or none), the
//! effective protocols and ciphers, the client certificate and key, ALPN
//! `h2` for grpc, and verification against the effective
//! `*_ssl_trusted_certificate` with the effective depth and the verify name
//! (OpenSSL's host check, which is what nginx's `ngx_ssl_check_host` calls).
//! Verification problems are collected rather than fatal, so a probe also
//! says whether the hop *would* pass with verification on.
//!
//! Only the peers the configuration names are contacted, at most
//! `concurrency` at a time, each within `timeout`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openssl::ssl::{
    HandshakeError, Ssl, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509Ref, X509VerifyResult};
use serde::Serialize;

use crate::model::{Hop, Model, Module};

/// How to probe.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(5),
            concurrency: 32,
        }
    }
}

/// One certificate of the chain the upstream presented.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Cert {
    pub subject: String,
    pub sans: Vec<String>,
    pub issuer: String,
    pub not_after: String,
    pub expired: bool,
}

/// Verification of the presented chain with the hop's CA, depth and name.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Verification {
    /// Whether the handshake would succeed with `*_ssl_verify on`.
    pub would_pass: bool,
    /// Whether verification is on for this hop today.
    pub enabled: bool,
    /// What the chain was checked against.
    pub against: String,
    /// Problems in plain words (empty when it passes).
    pub problems: Vec<String>,
}

/// The result for one peer of one hop.
#[derive(Clone, Debug, Serialize)]
pub struct PeerResult {
    pub hop: String,
    /// The peer as the configuration names it.
    pub peer: String,
    pub address: Option<String>,
    /// False when the hop cannot be probed statically (variables).
    pub probeable: bool,
    pub sni: Option<String>,
    pub verify_name: Option<String>,
    pub connected: bool,
    /// What went wrong, in plain words.
    pub error: Option<String>,
    pub protocol: Option<String>,
    pub cipher: Option<String>,
    pub chain: Vec<Cert>,
    /// Whether the verify name matches the certificate (None: not checked).
    pub name_matches: Option<bool>,
    pub verification: Option<Verification>,
    /// Notes about what could not be reproduced (e.g. a missing key file).
    pub notes: Vec<String>,
    pub millis: u64,
}

impl PeerResult {
    fn new(hop: &Hop, peer: String) -> PeerResult {
        PeerResult {
            hop: hop.id.clone(),
            peer,
            address: None,
            probeable: true,
            sni: None,
            verify_name: None,
            connected: false,
            error: None,
            protocol: None,
            cipher: None,
            chain: Vec::new(),
            name_matches: None,
            verification: None,
            notes: Vec::new(),
            millis: 0,
        }
    }

    /// Whether nginx's hop would work with this peer as configured: the
    /// handshake succeeds and, where verification is on, it passes.
    pub fn ok(&self) -> bool {
        self.connected
            && self
                .verification
                .as_ref()
                .is_none_or(|v| !v.enabled || v.would_pass)
    }
}

/// The peers of a hop: each server of its `upstream {}` pool, or the
/// target itself. None when the target has variables.
pub fn peers(model: &Model, hop: &Hop) -> Option<Vec<String>> {
    if hop.target.dynamic {
        return None;
    }
    if let Some(u) = hop.upstream {
        return Some(model.upstreams[u].servers.clone());
    }
    if hop.target.unix {
        return Some(vec![format!("unix:{}", hop.target.host)]);
    }
    let port = hop.target.port.clone().or_else(|| match hop.module {
        Module::Proxy | Module::Grpc => Some("443".to_string()),
        _ => None,
    });
    Some(vec![match port {
        Some(p) => format!("{}:{p}", hop.target.host),
        None => hop.target.host.clone(),
    }])
}

/// Probes the given hops (all when `only` is empty), bounded in concurrency.
pub fn probe(model: &Model, only: &[String], opts: Options) -> Vec<PeerResult> {
    let mut jobs: Vec<(usize, String)> = Vec::new();
    let mut out: Vec<PeerResult> = Vec::new();
    for (i, hop) in model.hops.iter().enumerate() {
        if !only.is_empty() && !only.contains(&hop.id) {
            continue;
        }
        match peers(model, hop) {
            Some(ps) => jobs.extend(ps.into_iter().map(|p| (i, p))),
            None => {
                let mut r = PeerResult::new(hop, hop.target.raw.clone());
                r.probeable = false;
                r.error = Some(
                    "the target has variables: the peer is known only per request, so it cannot be probed"
                        .into(),
                );
                out.push(r);
            }
        }
    }
    let plans: Vec<(usize, String, Plan)> = jobs
        .into_iter()
        .map(|(i, p)| {
            let plan = Plan::for_hop(model, &model.hops[i]);
            (i, p, plan)
        })
        .collect();
    let next = Arc::new(Mutex::new(0usize));
    let results: Arc<Mutex<Vec<(usize, PeerResult)>>> = Arc::new(Mutex::new(Vec::new()));
    let workers = opts.concurrency.clamp(1, 256).min(plans.len().max(1));
    let plans = Arc::new(plans);
    let hops: Arc<Vec<(String, Option<String>, Option<String>)>> = Arc::new(
        model
            .hops
            .iter()
            .map(|h| (h.id.clone(), h.sni.name.clone(), h.verify_name.clone()))
            .collect(),
    );
    std::thread::scope(|s| {
        for _ in 0..workers {
            let next = Arc::clone(&next);
            let results = Arc::clone(&results);
            let plans = Arc::clone(&plans);
            let _hops = Arc::clone(&hops);
            s.spawn(move || loop {
                let job = {
                    let Ok(mut n) = next.lock() else { return };
                    let j = *n;
                    *n += 1;
                    j
                };
                let Some((i, peer, plan)) = plans.get(job) else { return };
                let r = probe_peer(plan, peer, opts);
                if let Ok(mut res) = results.lock() {
                    res.push((job * 1_000_000 + i, r));
                }
            });
        }
    });
    let mut done = match Arc::try_unwrap(results) {
        Ok(m) => m.into_inner().unwrap_or_default(),
        Err(a) => a.lock().map(|v| v.clone()).unwrap_or_default(),
    };
    done.sort_by_key(|(k, _)| *k);
    out.extend(done.into_iter().map(|(_, r)| r));
    out.sort_by(|a, b| {
        let pos = |id: &str| model.hops.iter().position(|h| h.id == id).unwrap_or(usize::MAX);
        pos(&a.hop).cmp(&pos(&b.hop))
    });
    out
}

/// Everything needed to reproduce a hop's handshake, resolved up front so
/// workers need no model.
#[derive(Clone, Debug)]
struct Plan {
    hop: String,
    sni: Option<String>,
    sni_note: Option<String>,
    verify_name: Option<String>,
    verify_on: bool,
    protocols: Vec<String>,
    ciphers: Option<String>,
    ca: Option<PathBuf>,
    depth: u32,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    alpn_h2: bool,
    notes: Vec<String>,
}

fn file_setting(model: &Model, hop: &Hop, suffix: &str, notes: &mut Vec<String>) -> Option<PathBuf> {
    let s = hop.setting(suffix)?;
    let v = s.value.as_deref().filter(|v| !v.is_empty())?;
    if v.contains('$') {
        notes.push(format!("{} has variables ({v}): left out", s.name));
        return None;
    }
    let path = if Path::new(v).is_absolute() {
        PathBuf::from(v)
    } else {
        model.config.prefix.join(v)
    };
    if path.is_file() {
        Some(path)
    } else {
        notes.push(format!("{} {} is not on this machine: left out", s.name, path.display()));
        None
    }
}

impl Plan {
    fn for_hop(model: &Model, hop: &Hop) -> Plan {
        let mut notes = Vec::new();
        let value = |suffix: &str| hop.setting(suffix).and_then(|s| s.value.clone());
        let (sni, sni_note) = match (&hop.sni.name, hop.sni.sent, hop.sni.dynamic) {
            (Some(n), true, false) => (Some(n.clone()), None),
            (Some(n), true, true) => (
                None,
                Some(format!("the SNI is computed per request ({n}); probed without SNI")),
            ),
            _ => (None, None),
        };
        let verify_name = hop.verify_name.clone().filter(|n| !n.contains('$'));
        let depth = value("_verify_depth")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        let ca = file_setting(model, hop, "_trusted_certificate", &mut notes);
        if file_setting(model, hop, "_crl", &mut notes).is_some() {
            notes.push("the probe does not check the CRL: a revoked certificate still passes here".into());
        }
        let cert = file_setting(model, hop, "_certificate", &mut notes);
        let key = file_setting(model, hop, "_certificate_key", &mut notes);
        if hop.setting("_password_file").and_then(|s| s.value.as_ref()).is_some() {
            notes.push("password files are not used by the probe: an encrypted key fails to load".into());
        }
        Plan {
            hop: hop.id.clone(),
            sni,
            sni_note,
            verify_name,
            verify_on: hop.setting("_verify").is_some_and(|s| s.is_on()),
            protocols: value("_protocols")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ciphers: value("_ciphers"),
            ca,
            depth,
            cert,
            key,
            alpn_h2: hop.module == Module::Grpc,
            notes,
        }
    }
}

fn version(name: &str) -> Option<SslVersion> {
    match name {
        "TLSv1" => Some(SslVersion::TLS1),
        "TLSv1.1" => Some(SslVersion::TLS1_1),
        "TLSv1.2" => Some(SslVersion::TLS1_2),
        "TLSv1.3" => Some(SslVersion::TLS1_3),
        _ => None,
    }
}

/// Builds the client context as nginx's `ngx_ssl_create` + the module's
/// `set_ssl` would.
fn context(plan: &Plan, errors: Arc<Mutex<Vec<(i32, u32, String)>>>) -> Result<openssl::ssl::SslContext, String> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    let order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    let enabled: Vec<&str> = order
        .iter()
        .copied()
        .filter(|p| plan.protocols.iter().any(|q| q == p))
        .collect();
    if let (Some(first), Some(last)) = (enabled.first(), enabled.last()) {
        b.set_min_proto_version(version(first)).map_err(|e| e.to_string())?;
        b.set_max_proto_version(version(last)).map_err(|e| e.to_string())?;
        let gaps = [
            ("TLSv1", SslOptions::NO_TLSV1),
            ("TLSv1.1", SslOptions::NO_TLSV1_1),
            ("TLSv1.2", SslOptions::NO_TLSV1_2),
            ("TLSv1.3", SslOptions::NO_TLSV1_3),
        ];
        for (p, opt) in gaps {
            if !enabled.contains(&p) {
                b.set_options(opt);
            }
        }
    }
    if let Some(c) = &plan.ciphers {
        b.set_cipher_list(c)
            .map_err(|e| format!("OpenSSL rejects the cipher list \"{c}\": {e}"))?;
    }
    match &plan.ca {
        Some(ca) => b
            .set_ca_file(ca)
            .map_err(|e| format!("cannot load {}: {e}", ca.display()))?,
        None => b.set_default_verify_paths().map_err(|e| e.to_string())?,
    }
    b.set_verify_depth(plan.depth);
    b.set_verify_callback(SslVerifyMode::PEER, move |ok, ctx| {
        if !ok {
            let e = ctx.error();
            if let Ok(mut v) = errors.lock() {
                v.push((e.as_raw(), ctx.error_depth(), e.error_string().to_string()));
            }
        }
        // Keep going: the probe reports verification, it does not enforce it.
        true
    });
    if let (Some(cert), Some(key)) = (&plan.cert, &plan.key) {
        b.set_certificate_chain_file(cert)
            .map_err(|e| format!("cannot load client certificate {}: {e}", cert.display()))?;
        b.set_private_key_file(key, openssl::ssl::SslFiletype::PEM)
            .map_err(|e| format!("cannot load client key {}: {e}", key.display()))?;
    }
    if plan.alpn_h2 {
        b.set_alpn_protos(b"\x02h2").map_err(|e| e.to_string())?;
    }
    Ok(b.build())
}

/// Turns OpenSSL's error text into what a person needs to hear.
pub fn explain_failure(text: &str, sni_sent: bool) -> String {
    let t = text.to_ascii_lowercase();
    let plain = if t.contains("unrecognized name") && !sni_sent {
        "the upstream wants SNI and none was sent (alert 112 unrecognized_name): it picks its certificate by name"
    } else if t.contains("unrecognized name") {
        "the upstream does not serve the name that was sent (alert 112 unrecognized_name)"
    } else if t.contains("handshake failure") && !sni_sent {
        "handshake failure (alert 40) with no SNI sent: the upstream most likely wants SNI (or a client certificate, or a protocol/cipher nginx does not offer)"
    } else if t.contains("certificate required") || t.contains("alert bad certificate") {
        "the upstream wants a client certificate (alert certificate_required / bad_certificate)"
    } else if t.contains("handshake failure") {
        "handshake failure (alert 40): the upstream wants SNI, a client certificate, or a protocol/cipher nginx does not offer"
    } else if t.contains("protocol version") || t.contains("unsupported protocol") || t.contains("no protocols available") {
        "no TLS version in common with the upstream"
    } else if t.contains("wrong version number") || t.contains("packet length too long") || t.contains("record layer failure") {
        "the upstream does not speak TLS on this port (plain HTTP?)"
    } else if t.contains("internal error") {
        "the upstream aborted the handshake (alert internal_error)"
    } else if t.contains("unexpected eof") || t.contains("connection reset") || t.contains("broken pipe") {
        "the upstream closed the connection during the handshake (some servers do this when SNI is missing)"
    } else if t.contains("no shared cipher") || t.contains("insufficient security") {
        "no cipher suite in common with the upstream"
    } else {
        return format!("handshake failed: {text}");
    };
    format!("{plain} [{}]", text.trim())
}

fn describe(cert: &X509Ref) -> Cert {
    let name = |n: &openssl::x509::X509NameRef| {
        n.entries()
            .map(|e| {
                let k = e.object().nid().short_name().unwrap_or("?");
                let v = e.data().to_string().unwrap_or_default();
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sans = cert
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| {
                    n.dnsname().map(|d| format!("DNS:{d}")).or_else(|| {
                        n.ipaddress().map(|ip| match ip.len() {
                            4 => format!("IP:{}", std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])),
                            16 => {
                                let mut b = [0u8; 16];
                                b.copy_from_slice(ip);
                                format!("IP:{}", std::net::Ipv6Addr::from(b))
                            }
                            _ => "IP:?".to_string(),
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let expired = openssl::asn1::Asn1Time::days_from_now(0)
        .ok()
        .is_some_and(|now| cert.not_after() < now);
    Cert {
        subject: name(cert.subject_name()),
        sans,
        issuer: name(cert.issuer_name()),
        not_after: cert.not_after().to_string(),
        expired,
    }
}

/// `X509_V_ERR_HOSTNAME_MISMATCH`.
const HOSTNAME_MISMATCH: i32 = 62;

fn probe_peer(plan: &Plan, peer: &str, opts: Options) -> PeerResult {
    let start = Instant::now();
    let mut r = PeerResult {
        hop: plan.hop.clone(),
        peer: peer.to_string(),
        address: None,
        probeable: true,
        sni: plan.sni.clone(),
        verify_name: plan.verify_name.clone(),
        connected: false,
        error: None,
        protocol: None,
        cipher: None,
        chain: Vec::new(),
        name_matches: None,
        verification: None,
        notes: plan.notes.clone(),
        millis: 0,
    };
    if let Some(n) = &plan.sni_note {
        r.notes.push(n.clone());
    }
    let result = handshake(plan, peer, opts, &mut r);
    if let Err(e) = result {
        r.error = Some(e);
    }
    r.millis = start.elapsed().as_millis() as u64;
    r
}

/// A stream to the peer: TCP, or a unix socket.
enum Conn {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Unix(s) => s.flush(),
        }
    }
}

fn connect(peer: &str, timeout: Duration, r: &mut PeerResult) -> Result<Conn, String> {
    if let Some(path) = peer.strip_prefix("unix:") {
        let s = std::os::unix::net::UnixStream::connect(path).map_err(|e| format!("cannot connect to {path}: {e}"))?;
        let _ = s.set_read_timeout(Some(timeout));
        let _ = s.set_write_timeout(Some(timeout));
        r.address = Some(format!("unix:{path}"));
        return Ok(Conn::Unix(s));
    }
    let addrs: Vec<SocketAddr> = peer
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {peer}: {e}"))?
        .collect();
    let addr = *addrs.first().ok_or_else(|| format!("{peer} resolves to no address"))?;
    r.address = Some(addr.to_string());
    let s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}: nothing listens there"),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            format!("no answer from {addr} within {} s", timeout.as_secs_f32())
        }
        _ => format!("cannot connect to {addr}: {e}"),
    })?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    Ok(Conn::Tcp(s))
}

fn handshake(plan: &Plan, peer: &str, opts: Options, r: &mut PeerResult) -> Result<(), String> {
    // Only the address part names the peer (`host:port weight=2` is split
    // by the model already; parameters never reach here).
    let errors: Arc<Mutex<Vec<(i32, u32, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let ctx = context(plan, Arc::clone(&errors))?;
    let mut ssl = Ssl::new(&ctx).map_err(|e| e.to_string())?;
    if let Some(sni) = &plan.sni {
        ssl.set_hostname(sni).map_err(|e| e.to_string())?;
    }
    if let Some(name) = &plan.verify_name {
        ssl.param_mut().set_host(name).map_err(|e| e.to_string())?;
    }
    let conn = connect(peer, opts.timeout, r)?;
    let stream = match ssl.connect(conn) {
        Ok(s) => s,
        Err(HandshakeError::Failure(mid)) => {
            let text = mid
                .error()
                .ssl_error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| mid.error().to_string());
            return Err(explain_failure(&text, plan.sni.is_some()));
        }
        Err(HandshakeError::WouldBlock(_)) => {
            return Err(format!("the handshake did not finish within {} s", opts.timeout.as_secs_f32()))
        }
        Err(HandshakeError::SetupFailure(e)) => return Err(e.to_string()),
    };
    r.connected = true;
    let s = stream.ssl();
    r.protocol = Some(s.version_str().to_string());
    r.cipher = s.current_cipher().map(|c| c.name().to_string());
    if let Some(chain) = s.peer_cert_chain() {
        r.chain = chain.iter().map(describe).collect();
    }
    let errs = errors.lock().map(|v| v.clone()).unwrap_or_default();
    r.name_matches = plan
        .verify_name
        .as_ref()
        .map(|_| !errs.iter().any(|(code, _, _)| *code == HOSTNAME_MISMATCH));
    let against = match &plan.ca {
        Some(ca) => format!("{} (the hop's CA), depth {}", ca.display(), plan.depth),
        None => format!("the system CA bundle (the hop names no CA), depth {}", plan.depth),
    };
    let mut problems: Vec<String> = errs
        .iter()
        .map(|(code, depth, text)| {
            if *code == HOSTNAME_MISMATCH {
                format!(
                    "the certificate is not for \"{}\" (nginx: upstream SSL certificate does not match)",
                    plan.verify_name.as_deref().unwrap_or("")
                )
            } else {
                format!("{text} (certificate {depth} of the chain)")
            }
        })
        .collect();
    problems.dedup();
    if s.verify_result() != X509VerifyResult::OK && problems.is_empty() {
        problems.push(s.verify_result().error_string().to_string());
    }
    r.verification = Some(Verification {
        would_pass: problems.is_empty(),
        enabled: plan.verify_on,
        against,
        problems,
    });
    Ok(())
}

/// The text report.
pub fn text(results: &[PeerResult]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut last = "";
    for r in results {
        if r.hop != last {
            let _ = writeln!(out, "\n{}", r.hop);
            last = &r.hop;
        }
        let verdict = if !r.probeable {
            "not probeable"
        } else if r.ok() {
            "ok"
        } else {
            "FAILS"
        };
        let addr = r.address.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
        let sni = r.sni.as_deref().map_or("no SNI".to_string(), |s| format!("SNI {s}"));
        let _ = writeln!(out, "  {verdict:<13} {}{addr}, {sni}, {} ms", r.peer, r.millis);
        if let Some(e) = &r.error {
            let _ = writeln!(out, "    error: {e}");
        }
        if r.connected {
            let _ = writeln!(
                out,
                "    {} {}",
                r.protocol.as_deref().unwrap_or(""),
                r.cipher.as_deref().unwrap_or("")
            );
        }
        for (i, c) in r.chain.iter().enumerate() {
            let exp = if c.expired { "  EXPIRED" } else { "" };
            let _ = writeln!(out, "    cert {i}: {} (issuer {}) until {}{exp}", c.subject, c.issuer, c.not_after);
            if !c.sans.is_empty() {
                let _ = writeln!(out, "            {}", c.sans.join(" "));
            }
        }
        if let (Some(name), Some(m)) = (&r.verify_name, r.name_matches) {
            let _ = writeln!(
                out,
                "    verify name {name}: {}",
                if m { "matches the certificate" } else { "does NOT match the certificate" }
            );
        }
        if let Some(v) = &r.verification {
            let state = if v.enabled { "on" } else { "off" };
            let pass = if v.would_pass { "passes" } else { "fails" };
            let _ = writeln!(out, "    verification ({state} for this hop) {pass} against {}", v.against);
            for p in &v.problems {
                let _ = writeln!(out, "      - {p}");
            }
        }
        for n in &r.notes {
            let _ = writeln!(out, "    note: {n}");
        }
    }
    out
}
