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
//! `concurrency` at a time. Each peer has one deadline, `timeout` from its
//! start, for name resolution, connect, handshake and the wait after it: a
//! peer that answers a byte at a time ends with "deadline exceeded after
//! N s" instead of holding the probe.
//!
//! After the handshake the probe waits briefly (as long as the handshake
//! took, at least 100 ms, at most `timeout`) for a refusal that comes only
//! then: in TLS 1.3 a server checks the client certificate after the client
//! has finished (the alert certificate_required arrives afterwards), and
//! nginx's stream module with `ssl_verify_client on` closes the connection
//! after the handshake. nginx reads either instead of a response (502).
//!
//! Checked against a real nginx 1.22.1 with OpenSSL 3.0 (tests/probe.rs):
//! SNI required / wrong / absent, client certificates, expired and
//! wrongly named certificates, protocol mismatches, and chains. The verify
//! depth counts the intermediate certificates: with depth N a chain of
//! leaf, N intermediates and the trusted root passes, N+1 intermediates do
//! not (depth 0 fails with one intermediate; the default 1 fails with two).
//!
//! # Where the probe and nginx differ
//!
//! - An nginx *http* server with `ssl_verify_client on` (or `optional` and
//!   a certificate it rejects) completes every handshake and refuses the
//!   request with HTTP 400 ("No required SSL certificate was sent", "The
//!   SSL certificate error"). nginx passes that 400 on; the probe, which
//!   sends no request, reports a working hop. A TLS client cannot tell
//!   this server from one with `ssl_verify_client optional`, and whether
//!   the server asked for a certificate at all is not available through
//!   the safe `openssl` API (the crate forbids `unsafe`).
//! - A refusal that arrives later than the wait above is missed.
//! - nginx logs only the last verification error (a chain longer than the
//!   depth shows as "20:unable to get local issuer certificate"); the probe
//!   lists every error in order, and says "chain too long for verify
//!   depth N" first.
//! - nginx reuses TLS sessions per peer (`*_ssl_session_reuse on`): a
//!   resumed session is not verified again and may carry the SNI of an
//!   earlier handshake. The probe always makes a full handshake.
//! - A host name that resolves to several addresses is one peer per address
//!   for nginx; the probe contacts the first address only.
//! - CRLs, password files and per-request (variable) names, certificates
//!   and targets are left out, with a note.
//!
//! # Files the configuration names
//!
//! Client certificates and keys, CA and CRL files and `unix:` peers are
//! used only when they are this machine's ([`LocalFiles`]): a tree loaded
//! from disk, or `--local-files`. A dump, standard input, a server over ssh
//! or the demo name another machine's files; using them here would present
//! this machine's client key to a peer the configuration chose. They are
//! left out, with a note per peer, and unix peers are not contacted.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openssl::ssl::{
    HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode,
    SslVersion,
};
use openssl::x509::{X509Ref, X509VerifyResult};
use serde::Serialize;

use crate::conf::Origin;
use crate::model::{Hop, Model, Module};
use crate::visible::visible;

/// Whether the files and unix sockets a configuration names are this
/// machine's.
///
/// A configuration that came from elsewhere (an `nginx -T` dump, standard
/// input, a server over ssh, the demo) names paths on *its* machine. Using
/// them here would present this machine's client key (say
/// `/home/op/.ssh/id_client.key`) to a peer that configuration chose, and
/// connect to this machine's sockets (`unix:/run/docker.sock`). So the probe
/// reads certificate, key and CA files and connects to unix sockets only
/// for a tree loaded from disk, or when the operator says the files are
/// local (`--local-files`); otherwise it leaves them out and says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalFiles {
    /// The named files and sockets are this machine's: use them.
    Use,
    /// They are not known to be: leave them out, saying where the
    /// configuration came from.
    Refuse(Source),
}

/// Where a configuration came from, when not from this machine's disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `nginx -T` output (a file or standard input).
    Dump,
    /// A configuration file on standard input.
    Stdin,
    /// A server's configuration over ssh.
    Remote,
    /// The built-in demo.
    Demo,
}

impl Source {
    fn says(self) -> &'static str {
        match self {
            Source::Dump => "the config came from a dump",
            Source::Stdin => "the config came from standard input",
            Source::Remote => "the config came from the server over ssh",
            Source::Demo => "the config is the built-in demo",
        }
    }
}

impl LocalFiles {
    /// What the model's origin allows: a tree loaded from this machine's
    /// disk uses its files; a dump, standard input or the demo do not.
    /// (A model loaded over ssh is a dump; callers that know the
    /// configuration came over ssh say so with [`LocalFiles::remote`].)
    pub fn of(model: &Model) -> LocalFiles {
        match model.config.origin {
            Origin::Disk if model.config.files.first().is_some_and(|f| f.on_disk) => {
                LocalFiles::Use
            }
            Origin::Disk => LocalFiles::Refuse(Source::Stdin),
            Origin::Dump => LocalFiles::Refuse(Source::Dump),
            Origin::Demo => LocalFiles::Refuse(Source::Demo),
        }
    }

    /// For a configuration fetched from a server over ssh.
    pub fn remote() -> LocalFiles {
        LocalFiles::Refuse(Source::Remote)
    }

    /// The policy for a probe: `asked` (`--local-files`) wins; otherwise a
    /// configuration over ssh never uses local files, and anything else
    /// follows [`LocalFiles::of`].
    pub fn choose(model: &Model, remote: bool, asked: bool) -> LocalFiles {
        if asked {
            LocalFiles::Use
        } else if remote {
            LocalFiles::remote()
        } else {
            LocalFiles::of(model)
        }
    }
}

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
    /// The handshake succeeded and the upstream did not refuse the client
    /// right after it (protocol and chain are filled in either way).
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
                .map_or(true, |v| !v.enabled || v.would_pass)
    }

    /// The peer as the configuration names it, then the address it
    /// resolved to; control characters shown as escapes (the configuration
    /// is written by others).
    pub fn peer_label(&self) -> String {
        match &self.address {
            Some(a) => format!("{} ({})", visible(&self.peer), visible(a)),
            None => visible(&self.peer).into_owned(),
        }
    }

    /// `SNI name`, or `no SNI`; control characters shown as escapes.
    pub fn sni_label(&self) -> String {
        self.sni
            .as_deref()
            .map_or("no SNI".to_string(), |s| format!("SNI {}", visible(s)))
    }
}

/// The peers of a hop: each server of its `upstream {}` pool, or the
/// target itself. None when the target has variables.
pub fn peers(model: &Model, hop: &Hop) -> Option<Vec<String>> {
    if hop.target.dynamic {
        return None;
    }
    if let Some(u) = hop.upstream {
        let up = &model.upstreams[u];
        // An http `server` line without a port means port 80
        // (ngx_http_upstream_server sets default_port 80, even for
        // https:// passes); stream servers must name a port.
        return Some(
            up.servers
                .iter()
                .map(|s| {
                    if up.stream || s.starts_with("unix:") || has_port(s) {
                        s.clone()
                    } else {
                        format!("{s}:80")
                    }
                })
                .collect(),
        );
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

/// Whether `host:port` or `[v6]:port` names a port.
fn has_port(addr: &str) -> bool {
    match addr.strip_prefix('[') {
        Some(rest) => rest
            .split_once(']')
            .is_some_and(|(_, p)| p.starts_with(':')),
        None => addr.contains(':'),
    }
}

/// One peer to probe: hop index, peer, the hop's plan and context.
type Job = (usize, String, Arc<Plan>, Arc<Result<SslContext, String>>);

/// Probes the given hops (all when `only` is empty), bounded in concurrency,
/// using the files the configuration names only when the model's origin
/// allows it ([`LocalFiles::of`]).
pub fn probe(model: &Model, only: &[String], opts: Options) -> Vec<PeerResult> {
    prepare(model, only, LocalFiles::of(model)).run(opts)
}

/// The work of a probe, resolved from the model up front: it owns
/// everything it needs, so it can run on another thread (the TUI probes
/// in the background) while the model stays where it is.
pub struct Prepared {
    jobs: Vec<Job>,
    /// Results known without contacting anyone (targets with variables).
    known: Vec<PeerResult>,
    /// Hop ids in the model's order, to sort the results.
    order: Vec<String>,
}

/// Resolves what probing the given hops (all when `only` is empty) takes;
/// `files` says whether the files and unix sockets the configuration names
/// may be used on this machine.
pub fn prepare(model: &Model, only: &[String], files: LocalFiles) -> Prepared {
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
    // One plan per hop, and one OpenSSL context per distinct set of
    // context settings: loading a CA bundle costs tens of milliseconds of
    // CPU, which a context per peer paid again for every peer (the peers of
    // a 200-server pool took longer than their own timeouts).
    let mut by_hop: HashMap<usize, Arc<Plan>> = HashMap::new();
    let mut contexts: HashMap<String, Arc<Result<SslContext, String>>> = HashMap::new();
    let plans: Vec<Job> = jobs
        .into_iter()
        .map(|(i, p)| {
            let plan = Arc::clone(
                by_hop
                    .entry(i)
                    .or_insert_with(|| Arc::new(Plan::for_hop(model, &model.hops[i], files))),
            );
            let ctx = Arc::clone(
                contexts
                    .entry(plan.context_key())
                    .or_insert_with(|| Arc::new(context(&plan))),
            );
            (i, p, plan, ctx)
        })
        .collect();
    Prepared {
        jobs: plans,
        known: out,
        order: model.hops.iter().map(|h| h.id.clone()).collect(),
    }
}

impl Prepared {
    /// Contacts the peers, at most `opts.concurrency` at a time.
    pub fn run(self, opts: Options) -> Vec<PeerResult> {
        let Prepared {
            jobs: plans,
            known: mut out,
            order,
        } = self;
        let next = Arc::new(Mutex::new(0usize));
        let results: Arc<Mutex<Vec<(usize, PeerResult)>>> = Arc::new(Mutex::new(Vec::new()));
        let workers = opts.concurrency.clamp(1, 256).min(plans.len().max(1));
        let plans = Arc::new(plans);
        std::thread::scope(|s| {
            for _ in 0..workers {
                let next = Arc::clone(&next);
                let results = Arc::clone(&results);
                let plans = Arc::clone(&plans);
                s.spawn(move || loop {
                    let job = {
                        let Ok(mut n) = next.lock() else { return };
                        let j = *n;
                        *n += 1;
                        j
                    };
                    let Some((i, peer, plan, ctx)) = plans.get(job) else {
                        return;
                    };
                    let r = probe_peer(plan, ctx, peer, opts);
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
        let pos = |id: &str| order.iter().position(|h| h == id).unwrap_or(usize::MAX);
        out.sort_by_key(|r| pos(&r.hop));
        out
    }
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
    /// Why the hop's CA is not used (the configuration is not local).
    ca_left_out: Option<String>,
    depth: u32,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    alpn_h2: bool,
    /// Whether the named files and unix sockets may be used.
    files: LocalFiles,
    notes: Vec<String>,
}

/// A file setting of a hop, as the probe may use it.
enum FileSetting {
    /// Not set (or empty).
    Unset,
    /// Set, but left out; a note says why.
    LeftOut,
    /// Set, and not read: the configuration is not local. (name, path)
    NotLocal(String, PathBuf),
    /// A file on this machine.
    Path(PathBuf),
}

/// A file a hop's setting names. Nothing on this machine is looked at
/// unless `files` allows it.
fn file_setting(
    model: &Model,
    hop: &Hop,
    suffix: &str,
    files: LocalFiles,
    notes: &mut Vec<String>,
) -> FileSetting {
    let Some(s) = hop.setting(suffix) else {
        return FileSetting::Unset;
    };
    let Some(v) = s.value.as_deref().filter(|v| !v.is_empty()) else {
        return FileSetting::Unset;
    };
    if v.contains('$') {
        notes.push(format!("{} has variables ({v}): left out", s.name));
        return FileSetting::LeftOut;
    }
    let path = if Path::new(v).is_absolute() {
        PathBuf::from(v)
    } else {
        model.config.prefix.join(v)
    };
    if let LocalFiles::Refuse(_) = files {
        return FileSetting::NotLocal(s.name.to_string(), path);
    }
    if path.is_file() {
        FileSetting::Path(path)
    } else {
        notes.push(format!(
            "{} {} is not on this machine: left out",
            s.name,
            path.display()
        ));
        FileSetting::LeftOut
    }
}

impl FileSetting {
    fn path(self) -> Option<PathBuf> {
        match self {
            FileSetting::Path(p) => Some(p),
            _ => None,
        }
    }
}

impl Plan {
    fn for_hop(model: &Model, hop: &Hop, files: LocalFiles) -> Plan {
        let mut notes = Vec::new();
        let value = |suffix: &str| {
            hop.setting(suffix)
                .and_then(|s| s.value.as_deref().map(str::to_string))
        };
        let (sni, sni_note) = match (&hop.sni.name, hop.sni.sent, hop.sni.dynamic) {
            (Some(n), true, false) => (Some(n.clone()), None),
            (Some(n), true, true) => (
                None,
                Some(format!(
                    "the SNI is computed per request ({n}); probed without SNI"
                )),
            ),
            _ => (None, None),
        };
        let verify_name = hop.verify_name.clone().filter(|n| !n.contains('$'));
        let depth = value("_verify_depth")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        let why = match files {
            LocalFiles::Use => "",
            LocalFiles::Refuse(source) => source.says(),
        };
        let mut ca_left_out = None;
        let ca = match file_setting(model, hop, "_trusted_certificate", files, &mut notes) {
            FileSetting::NotLocal(name, path) => {
                notes.push(format!(
                    "{name} {} not read: {why}; verification is checked against the system CA bundle instead (pass --local-files to use this machine's files)",
                    path.display()
                ));
                ca_left_out = Some(format!("the hop's CA was not read: {why}"));
                None
            }
            other => other.path(),
        };
        match file_setting(model, hop, "_crl", files, &mut notes) {
            FileSetting::Path(_) | FileSetting::NotLocal(..) => notes.push(
                "the probe does not check the CRL: a revoked certificate still passes here".into(),
            ),
            FileSetting::Unset | FileSetting::LeftOut => {}
        }
        let cert = file_setting(model, hop, "_certificate", files, &mut notes);
        let key = file_setting(model, hop, "_certificate_key", files, &mut notes);
        let named: Vec<String> = [&cert, &key]
            .iter()
            .filter_map(|f| match f {
                FileSetting::NotLocal(name, path) => Some(format!("{name} {}", path.display())),
                _ => None,
            })
            .collect();
        if !named.is_empty() {
            notes.push(format!(
                "client certificate not presented: {why}; pass --local-files to use this machine's files ({})",
                named.join(", ")
            ));
        }
        let (cert, key) = (cert.path(), key.path());
        if hop
            .setting("_password_file")
            .and_then(|s| s.value.as_ref())
            .is_some()
        {
            notes.push(
                "password files are not used by the probe: an encrypted key fails to load".into(),
            );
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
            ca_left_out,
            depth,
            cert,
            key,
            alpn_h2: hop.module == Module::Grpc,
            files,
            notes,
        }
    }
}

impl Plan {
    /// Everything [`context`] reads from the plan.
    fn context_key(&self) -> String {
        format!(
            "{:?}",
            (
                &self.protocols,
                &self.ciphers,
                &self.ca,
                self.depth,
                &self.cert,
                &self.key,
                self.alpn_h2
            )
        )
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
fn context(plan: &Plan) -> Result<SslContext, String> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    let order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    let enabled: Vec<&str> = order
        .iter()
        .copied()
        .filter(|p| plan.protocols.iter().any(|q| q == p))
        .collect();
    if let (Some(first), Some(last)) = (enabled.first(), enabled.last()) {
        b.set_min_proto_version(version(first))
            .map_err(|e| e.to_string())?;
        b.set_max_proto_version(version(last))
            .map_err(|e| e.to_string())?;
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
        "the upstream does not serve the name sent as SNI (alert 112 unrecognized_name)"
    } else if t.contains("handshake failure") && !sni_sent {
        "handshake failure (alert 40) with no SNI sent: the upstream most likely wants SNI (or a client certificate, or a protocol/cipher nginx does not offer)"
    } else if t.contains("certificate required") || t.contains("alert bad certificate") {
        "the upstream wants a client certificate (alert certificate_required / bad_certificate)"
    } else if t.contains("handshake failure") {
        "handshake failure (alert 40): the upstream wants SNI, a client certificate, or a protocol/cipher nginx does not offer"
    } else if t.contains("protocol version")
        || t.contains("unsupported protocol")
        || t.contains("no protocols available")
    {
        "no TLS protocol version in common with the upstream"
    } else if t.contains("wrong version number")
        || t.contains("packet length too long")
        || t.contains("record layer failure")
    {
        "the upstream does not speak TLS on this port (plain HTTP?)"
    } else if t.contains("internal error") {
        "the upstream aborted the handshake (alert internal_error)"
    } else if t.contains("unexpected eof")
        || t.contains("connection reset")
        || t.contains("broken pipe")
    {
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
                            4 => format!(
                                "IP:{}",
                                std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])
                            ),
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
/// `X509_V_ERR_CERT_CHAIN_TOO_LONG`.
const CHAIN_TOO_LONG: i32 = 22;

fn probe_peer(
    plan: &Plan,
    ctx: &Result<SslContext, String>,
    peer: &str,
    opts: Options,
) -> PeerResult {
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
    if let (LocalFiles::Refuse(source), true) = (plan.files, peer.starts_with("unix:")) {
        r.probeable = false;
        r.error = Some(format!(
            "not probed: {peer} is a unix socket on the machine the config describes, and {}; pass --local-files to connect to this machine's sockets",
            source.says()
        ));
        r.millis = start.elapsed().as_millis() as u64;
        return r;
    }
    let deadline = Deadline::new(start, opts.timeout);
    let result = match ctx {
        Ok(ctx) => handshake(plan, ctx, peer, deadline, &mut r),
        Err(e) => Err(e.clone()),
    };
    if let Err(e) = result {
        r.error = Some(e);
    }
    r.millis = start.elapsed().as_millis() as u64;
    r
}

/// The one deadline of a peer: connect, handshake and the wait after it
/// all fit in `timeout` from the start of the peer's probe. A per-read
/// timeout alone let a peer that trickles a byte at a time hold the probe
/// forever.
#[derive(Clone, Copy, Debug)]
struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    fn new(start: Instant, timeout: Duration) -> Deadline {
        Deadline {
            at: start + timeout,
            timeout,
        }
    }

    /// The time left, or None when it has passed.
    fn left(&self) -> Option<Duration> {
        self.at
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    /// The result of a peer that ran out of time, and what it was doing.
    fn exceeded(&self, doing: &str) -> String {
        let t = self.timeout.as_secs_f32();
        format!(
            "deadline exceeded after {t} s: {doing} within {t} s (the probe gives each peer {t} s in all: connect, handshake and the wait after it)"
        )
    }
}

/// A stream to the peer: TCP, or a unix socket.
enum Stream {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

/// A stream whose every read and write ends by `until`: each one waits at
/// most for the time left, and none starts once it has passed.
struct Conn {
    stream: Stream,
    until: Instant,
}

impl Conn {
    /// The time left before `until`, set as the socket's timeouts.
    fn arm(&self) -> std::io::Result<()> {
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
            Stream::Unix(s) => {
                s.set_read_timeout(Some(left))?;
                s.set_write_timeout(Some(left))
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        match &mut self.stream {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        match &mut self.stream {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.stream {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

/// The first address of `peer`, within the deadline: a name is resolved on
/// its own thread, so a slow resolver (a name the configuration chose)
/// cannot hold the peer past it.
fn resolve(peer: &str, deadline: Deadline) -> Result<SocketAddr, String> {
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

fn connect(peer: &str, deadline: Deadline, r: &mut PeerResult) -> Result<Conn, String> {
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

fn handshake(
    plan: &Plan,
    ctx: &SslContext,
    peer: &str,
    deadline: Deadline,
    r: &mut PeerResult,
) -> Result<(), String> {
    // Only the address part names the peer (`host:port weight=2` is split
    // by the model already; parameters never reach here).
    let errors: Arc<Mutex<Vec<(i32, u32, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut ssl = Ssl::new(ctx).map_err(|e| e.to_string())?;
    let seen = Arc::clone(&errors);
    ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, x| {
        if !ok {
            let e = x.error();
            if let Ok(mut v) = seen.lock() {
                v.push((e.as_raw(), x.error_depth(), e.error_string().to_string()));
            }
        }
        // Keep going: the probe reports verification, it does not enforce it.
        true
    });
    if let Some(sni) = &plan.sni {
        ssl.set_hostname(sni).map_err(|e| e.to_string())?;
    }
    if let Some(name) = &plan.verify_name {
        ssl.param_mut().set_host(name).map_err(|e| e.to_string())?;
    }
    let start = Instant::now();
    let conn = connect(peer, deadline, r)?;
    let mut attempt = ssl.connect(conn);
    // A read that timed out early (before the deadline) goes on.
    while let Err(HandshakeError::WouldBlock(mid)) = attempt {
        if deadline.left().is_none() {
            attempt = Err(HandshakeError::WouldBlock(mid));
            break;
        }
        attempt = mid.handshake();
    }
    let mut stream = match attempt {
        Ok(s) => s,
        Err(HandshakeError::Failure(mid)) => {
            let timed_out = mid.error().io_error().is_some_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                )
            });
            if timed_out || deadline.left().is_none() {
                return Err(deadline.exceeded("the handshake did not finish"));
            }
            let text = mid
                .error()
                .ssl_error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| mid.error().to_string());
            return Err(explain_failure(&text, plan.sni.is_some()));
        }
        Err(HandshakeError::WouldBlock(_)) => {
            return Err(deadline.exceeded("the handshake did not finish"))
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
        None => match &plan.ca_left_out {
            Some(why) => format!("the system CA bundle ({why}), depth {}", plan.depth),
            None => format!(
                "the system CA bundle (the hop names no CA), depth {}",
                plan.depth
            ),
        },
    };
    let mut problems: Vec<String> = errs
        .iter()
        .map(|(code, depth, text)| {
            if *code == HOSTNAME_MISMATCH {
                format!(
                    "the certificate is not for \"{}\" (nginx: upstream SSL certificate does not match)",
                    plan.verify_name.as_deref().unwrap_or("")
                )
            } else if *code == CHAIN_TOO_LONG {
                // nginx logs the last error instead: (20:unable to get local issuer certificate)
                format!(
                    "{text} for verify depth {} (certificate {depth} of the chain): the depth must be at least the number of intermediate certificates",
                    plan.depth
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
    // The handshake is over on this side, but the upstream may still refuse
    // the client: in TLS 1.3 the server checks the client's certificate
    // only after the client has finished (a rejection arrives as an alert),
    // and nginx's stream module with `ssl_verify_client on` closes the
    // connection after the handshake. nginx sends its request and reads
    // that refusal (502), so wait briefly for it: about as long as the
    // handshake took (a round trip or more), at least 100 ms.
    // The wait ends by the peer's deadline too.
    let wanted = start
        .elapsed()
        .max(Duration::from_millis(100))
        .min(deadline.timeout);
    let wait = deadline.left().unwrap_or_default().min(wanted);
    if wait < wanted {
        r.notes.push(format!(
            "the wait for a refusal after the handshake was cut to {} ms by the peer's deadline ({} s)",
            wait.as_millis(),
            deadline.timeout.as_secs_f32()
        ));
    }
    if let Some(e) = refused_after_handshake(&mut stream, wait, plan.sni.is_some()) {
        r.connected = false;
        return Err(e);
    }
    Ok(())
}

/// Reads once, for at most `wait`: the refusal an upstream sends right
/// after the handshake (an alert, or closing the connection), or None when
/// it waits for a request as a server should (or speaks first).
fn refused_after_handshake(
    stream: &mut openssl::ssl::SslStream<Conn>,
    wait: Duration,
    sni_sent: bool,
) -> Option<String> {
    use openssl::ssl::ErrorCode;
    let conn = stream.get_mut();
    conn.until = conn.until.min(Instant::now() + wait);
    let mut buf = [0u8; 1];
    let e = match stream.ssl_read(&mut buf) {
        Ok(_) => return None,
        Err(e) => e,
    };
    const CLOSED: &str = "the upstream accepted the handshake, then closed the connection before any request: it refuses this client, most likely for a missing or unaccepted client certificate (nginx's stream module with ssl_verify_client on does this)";
    match e.code() {
        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => None,
        ErrorCode::ZERO_RETURN => Some(format!("{CLOSED} [close_notify]")),
        ErrorCode::SSL => {
            let text = e
                .ssl_error()
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            Some(format!(
                "after the handshake: {}",
                explain_failure(&text, sni_sent)
            ))
        }
        _ => match e.io_error() {
            Some(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Some(io) => Some(format!("{CLOSED} [{io}]")),
            None => Some(format!("{CLOSED} [end of stream]")),
        },
    }
}

/// The text report. Everything a peer sent (certificate names, error
/// text) and everything the configuration names (hops, peers, names,
/// paths in notes) is shown with control characters as visible escapes.
pub fn text(results: &[PeerResult]) -> String {
    use std::fmt::Write as _;
    let v = |s: &str| visible(s).into_owned();
    let mut out = String::new();
    let mut last = "";
    for r in results {
        if r.hop != last {
            let _ = writeln!(out, "\n{}", v(&r.hop));
            last = &r.hop;
        }
        let verdict = if !r.probeable {
            "not probeable"
        } else if r.ok() {
            "ok"
        } else {
            "FAILS"
        };
        let _ = writeln!(
            out,
            "  {verdict:<13} {}, {}, {} ms",
            r.peer_label(),
            r.sni_label(),
            r.millis
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "    error: {}", v(e));
        }
        if r.connected {
            let _ = writeln!(
                out,
                "    {} {}",
                v(r.protocol.as_deref().unwrap_or("")),
                v(r.cipher.as_deref().unwrap_or(""))
            );
        }
        for (i, c) in r.chain.iter().enumerate() {
            let exp = if c.expired { "  EXPIRED" } else { "" };
            let _ = writeln!(
                out,
                "    cert {i}: {} (issuer {}) until {}{exp}",
                v(&c.subject),
                v(&c.issuer),
                v(&c.not_after)
            );
            if !c.sans.is_empty() {
                let sans: Vec<String> = c.sans.iter().map(|s| v(s)).collect();
                let _ = writeln!(out, "            {}", sans.join(" "));
            }
        }
        if let (Some(name), Some(m)) = (&r.verify_name, r.name_matches) {
            let _ = writeln!(
                out,
                "    verify name {}: {}",
                v(name),
                if m {
                    "matches the certificate"
                } else {
                    "does NOT match the certificate"
                }
            );
        }
        if let Some(ver) = &r.verification {
            let state = if ver.enabled { "on" } else { "off" };
            let pass = if ver.would_pass { "passes" } else { "fails" };
            let _ = writeln!(
                out,
                "    verification ({state} for this hop) {pass} against {}",
                v(&ver.against)
            );
            for p in &ver.problems {
                let _ = writeln!(out, "      - {}", v(p));
            }
        }
        for n in &r.notes {
            let _ = writeln!(out, "    note: {}", v(n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_upstream_servers() {
        assert!(has_port("127.0.0.1:8443"));
        assert!(has_port("backend.example:443"));
        assert!(has_port("[::1]:443"));
        assert!(!has_port("[::1]"));
        assert!(!has_port("127.0.0.1"));
        assert!(!has_port("backend.example"));
    }

    #[test]
    fn text_and_labels_escape_control_characters() {
        let mut r = PeerResult {
            hop: "evil\u{1b}[2J.conf:3".into(),
            peer: "a\u{202e}b:443".into(),
            address: Some("127.0.0.1:443".into()),
            probeable: true,
            sni: Some("s\u{7}ni".into()),
            verify_name: Some("v\u{9b}n".into()),
            connected: true,
            error: Some("e\u{1b}]52;c;x\u{7}".into()),
            protocol: Some("TLSv1.3".into()),
            cipher: Some("C".into()),
            chain: vec![Cert {
                subject: "CN=s\u{1b}".into(),
                sans: vec!["DNS:x\u{2066}".into()],
                issuer: "CN=i\u{202e}".into(),
                not_after: "n\u{7f}".into(),
                expired: false,
            }],
            name_matches: Some(true),
            verification: Some(Verification {
                would_pass: false,
                enabled: true,
                against: "/ca\u{1b}.pem".into(),
                problems: vec!["p\u{1b}".into()],
            }),
            notes: vec!["n\u{1b}".into()],
            millis: 1,
        };
        let t = text(std::slice::from_ref(&r));
        assert!(
            !t.chars().any(|c| c != '\n' && crate::visible::is_unsafe(c)),
            "{t:?}"
        );
        for shown in [
            "evil\\x1b[2J.conf:3",
            "a\\u{202e}b:443",
            "SNI s\\x07ni",
            "v\\x9bn",
            "e\\x1b]52;c;x\\x07",
            "CN=s\\x1b",
            "DNS:x\\u{2066}",
            "CN=i\\u{202e}",
            "n\\x7f",
            "/ca\\x1b.pem",
            "- p\\x1b",
            "note: n\\x1b",
        ] {
            assert!(t.contains(shown), "{shown} in {t}");
        }
        assert_eq!(r.peer_label(), "a\\u{202e}b:443 (127.0.0.1:443)");
        assert_eq!(r.sni_label(), "SNI s\\x07ni");
        r.address = None;
        assert_eq!(r.peer_label(), "a\\u{202e}b:443");
    }

    #[test]
    fn plain_words() {
        let no_sni = explain_failure("tlsv1 unrecognized name", false);
        assert!(no_sni.contains("wants SNI and none was sent"), "{no_sni}");
        let wrong = explain_failure("tlsv1 unrecognized name", true);
        assert!(wrong.contains("name sent as SNI"), "{wrong}");
        let proto = explain_failure("tlsv1 alert protocol version", true);
        assert!(proto.contains("TLS protocol version"), "{proto}");
        let cert = explain_failure("tlsv13 alert certificate required", true);
        assert!(cert.contains("client certificate"), "{cert}");
    }
}
