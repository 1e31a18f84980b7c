//! Issue 8 proof: what `hopscope probe` says about a hop is what a REAL
//! nginx gets when it uses that hop.
//!
//! One upstream nginx (127.0.0.1 only, a throw-away PKI made with the
//! openssl CLI, session cache and tickets off so every handshake is a full
//! one) serves eight TLS upstreams:
//! 1. `sni`: wants SNI (`ssl_reject_handshake on` default server, the
//!    certificate only behind `server_name sni.test`);
//! 2. `mtls-http`: `ssl_verify_client on` in an http server, and
//!    `mtls-stream`: the same in a stream server in front of a plain http
//!    server;
//! 3. `expired`: a certificate valid only in January 2020;
//! 4. `other`: a certificate for `other.test`;
//! 5. `tls13`: `ssl_protocols TLSv1.3` only;
//! 6. `chain1` / `chain2`: leaf ← intermediate ← root (the server sends leaf
//!    and intermediate), and leaf ← intermediate 2 ← intermediate 1 ← root.
//!
//! One front nginx has a location per case: a combination of
//! `proxy_ssl_server_name`/`proxy_ssl_name` (off, right, wrong, from the
//! target), `proxy_ssl_verify` with the right CA, another CA, an
//! intermediate only and depths 0 to 3, client certificates (none, from the
//! upstream's CA, from another CA) and `proxy_ssl_protocols`. For every
//! case the test records what nginx should answer (200, 502, or the
//! upstream's own 400) and, in the same test, asserts
//! - harness: the front really answers that;
//! - hopscope: `hopscope probe FRONT --format json` says ok (connected and,
//!   where verification is on, it passes) exactly when nginx answers 200;
//!   its error or verification problems name the cause; `sni`, `protocol`
//!   (both as the upstream saw them), `name_matches` and the chain (subject,
//!   SANs, expired flag) are right.
//!
//! One divergence cannot be closed by a TLS probe and is asserted as such:
//! an nginx *http* server with `ssl_verify_client on` completes every
//! handshake and refuses a missing or unaccepted client certificate with an
//! HTTP 400 (see the doc comment of `src/probe/mod.rs`).
//!
//! Other tests: the CLI (dynamic targets, `--hop`, exit codes 0/1/2, an
//! upstream server without a port), `fix --set sni-name=… --probe` as a
//! what-if that writes nothing, and timeouts / the concurrency bound
//! against listeners that accept TCP and never answer TLS.

mod common;
mod sshd;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Bound of one hopscope run.
const HOPSCOPE_TIMEOUT: Duration = Duration::from_secs(30);
/// Whole-test budget for the requests to the front.
const REQUEST_BUDGET: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// PKI and upstreams
// ---------------------------------------------------------------------------

struct Pki {
    root: TestCa,
    other: TestCa,
    int1: TestCa,
    sni: LeafCert,
    mtls: LeafCert,
    expired: LeafCert,
    other_name: LeafCert,
    tls13: LeafCert,
    /// chain1.test + intermediate 1
    chain1: LeafCert,
    /// chain2.test + intermediate 2 + intermediate 1
    chain2: LeafCert,
    client: LeafCert,
    client_other: LeafCert,
}

fn concat(out: &Path, parts: &[&Path]) -> PathBuf {
    let text: String = parts
        .iter()
        .map(|p| fs::read_to_string(p).expect("read pem"))
        .collect();
    fs::write(out, text).expect("write chain");
    out.to_path_buf()
}

fn make_pki(dir: &Path) -> Pki {
    let root = TestCa::new(&dir.join("root"));
    let other = TestCa::new(&dir.join("other"));
    let int1 = root.intermediate(&dir.join("int1"), "hopscope test intermediate 1");
    let int2 = int1.intermediate(&dir.join("int2"), "hopscope test intermediate 2");
    let c1 = int1.leaf("chain1", &["chain1.test"]);
    let c2 = int2.leaf("chain2", &["chain2.test"]);
    Pki {
        sni: root.leaf("sni", &["sni.test"]),
        mtls: root.leaf("mtls", &["mtls.test"]),
        expired: root.leaf_dated(
            "expired",
            &["expired.test"],
            "20200101000000Z",
            "20200201000000Z",
        ),
        other_name: root.leaf("other-name", &["other.test"]),
        tls13: root.leaf("tls13", &["tls13.test"]),
        chain1: LeafCert {
            cert: concat(&dir.join("chain1.pem"), &[&c1.cert, &int1.cert]),
            key: c1.key,
        },
        chain2: LeafCert {
            cert: concat(&dir.join("chain2.pem"), &[&c2.cert, &int2.cert, &int1.cert]),
            key: c2.key,
        },
        client: root.leaf("client", &["client.test"]),
        client_other: other.leaf("client-other", &["client.test"]),
        root,
        other,
        int1,
    }
}

#[derive(Clone, Copy)]
struct Ports {
    sni: u16,
    mtls: u16,
    mtls_stream: u16,
    plain: u16,
    expired: u16,
    other: u16,
    tls13: u16,
    chain1: u16,
    chain2: u16,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            sni: free_port(),
            mtls: free_port(),
            mtls_stream: free_port(),
            plain: free_port(),
            expired: free_port(),
            other: free_port(),
            tls13: free_port(),
            chain1: free_port(),
            chain2: free_port(),
        }
    }
    fn all(&self) -> Vec<u16> {
        vec![
            self.sni,
            self.mtls,
            self.mtls_stream,
            self.plain,
            self.expired,
            self.other,
            self.tls13,
            self.chain1,
            self.chain2,
        ]
    }
}

/// The running upstream nginx with its PKI.
struct Upstreams {
    pki: Pki,
    ports: Ports,
    // dropped after `nginx` (fields drop in order): the prefix outlives it
    nginx: Nginx,
    _prefix: Prefix,
}

/// What every TLS upstream answers: which one, and what it saw.
fn echo(label: &str) -> String {
    format!(
        "return 200 \"up={label} proto=[$ssl_protocol] sni=[$ssl_server_name] client=[$ssl_client_verify]\\n\";"
    )
}

fn tls_server(f: &mut ConfFile, port: u16, cert: &LeafCert, label: &str, extra: &[String]) {
    f.open("server");
    f.line(format!("listen 127.0.0.1:{port} ssl;"));
    f.line(format!("ssl_certificate {};", cert.cert.display()));
    f.line(format!("ssl_certificate_key {};", cert.key.display()));
    for l in extra {
        f.line(l);
    }
    f.open("location /");
    f.line(echo(label));
    f.close();
    f.close();
}

fn start_upstreams(nginx: &Path) -> Upstreams {
    let prefix = Prefix::new("probe-up");
    let pki = make_pki(&prefix.path().join("pki"));
    let ports = Ports::new();
    let module = stream_load_module(nginx)
        .expect("the stream module is needed (nginx built --with-stream or the dynamic module)");
    let mut f = ConfFile::new("nginx.conf");
    if !module.is_empty() {
        f.line(&module);
    }
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    // every handshake a full one: nothing the front learnt from one case
    // may leak into another through a resumed session
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    f.line("ssl_protocols TLSv1.2 TLSv1.3;");
    // 1. SNI required
    f.open("server");
    f.line(format!(
        "listen 127.0.0.1:{} ssl default_server;",
        ports.sni
    ));
    f.line("ssl_reject_handshake on;");
    f.close();
    tls_server(
        &mut f,
        ports.sni,
        &pki.sni,
        "sni",
        &["server_name sni.test 127.0.0.1;".into()],
    );
    // 2. client certificate required (http)
    let verify_client = [
        "ssl_verify_client on;".to_string(),
        format!("ssl_client_certificate {};", pki.root.cert.display()),
    ];
    tls_server(&mut f, ports.mtls, &pki.mtls, "mtls-http", &verify_client);
    // 3. expired, 4. another name, 5. TLSv1.3 only, 6. chains
    tls_server(&mut f, ports.expired, &pki.expired, "expired", &[]);
    tls_server(&mut f, ports.other, &pki.other_name, "other", &[]);
    tls_server(
        &mut f,
        ports.tls13,
        &pki.tls13,
        "tls13",
        &["ssl_protocols TLSv1.3;".into()],
    );
    tls_server(&mut f, ports.chain1, &pki.chain1, "chain1", &[]);
    tls_server(&mut f, ports.chain2, &pki.chain2, "chain2", &[]);
    // the plain server behind the stream mTLS upstream
    f.open("server");
    f.line(format!("listen 127.0.0.1:{};", ports.plain));
    f.line("return 200 \"up=mtls-stream\\n\";");
    f.close();
    f.close();
    // 2b. client certificate required (stream: refused after the handshake)
    f.open("stream");
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    f.line("ssl_protocols TLSv1.2 TLSv1.3;");
    f.open("server");
    f.line(format!("listen 127.0.0.1:{} ssl;", ports.mtls_stream));
    f.line(format!("ssl_certificate {};", pki.mtls.cert.display()));
    f.line(format!("ssl_certificate_key {};", pki.mtls.key.display()));
    for l in &verify_client {
        f.line(l);
    }
    f.line(format!("proxy_pass 127.0.0.1:{};", ports.plain));
    f.close();
    f.close();
    prefix.write_conf(&f);
    let (ok, err) = nginx_test(nginx, prefix.path());
    assert!(
        ok,
        "harness bug: nginx -t rejects the upstream config:\n{err}"
    );
    let nginx = Nginx::start(nginx, prefix.path(), &ports.all())
        .unwrap_or_else(|e| panic!("harness bug: upstream nginx: {e}"));
    Upstreams {
        pki,
        ports,
        nginx,
        _prefix: prefix,
    }
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// One certificate of the chain the probe must report.
struct CertExp {
    cn: &'static str,
    san: Option<&'static str>,
    expired: bool,
}

struct Case {
    label: String,
    /// `host:port` or an upstream{} name (proxy_pass https://TARGET/).
    target: String,
    lines: Vec<String>,
    /// What nginx answers: 200, 502, or the upstream's own 400.
    status: u16,
    /// For failures: the probe's error or verification problems contain
    /// one of these (lowercase).
    cause: &'static [&'static str],
    /// The upstream that must answer a 200 (`up=` in the body).
    up: &'static str,
    /// nginx answers the upstream's 400, the probe (TLS only) says ok.
    http_level_refusal: bool,
    name_matches: Option<Option<bool>>,
    protocol: Option<&'static str>,
    chain: Option<Vec<CertExp>>,
    would_pass: Option<bool>,
    // filled while writing the front
    id: String,
    path: String,
}

fn case(label: &str, target: String, lines: Vec<String>) -> Case {
    Case {
        label: label.to_string(),
        target,
        lines,
        status: 200,
        cause: &[],
        up: "",
        http_level_refusal: false,
        name_matches: None,
        protocol: None,
        chain: None,
        would_pass: None,
        id: String::new(),
        path: String::new(),
    }
}

impl Case {
    fn ok(mut self, up: &'static str) -> Case {
        self.status = 200;
        self.up = up;
        self
    }
    fn fails(mut self, cause: &'static [&'static str]) -> Case {
        self.status = 502;
        self.cause = cause;
        self
    }
    /// nginx's http server refuses at the HTTP level (400).
    fn refused_by_http(mut self) -> Case {
        self.status = 400;
        self.http_level_refusal = true;
        self
    }
    fn name(mut self, m: Option<bool>) -> Case {
        self.name_matches = Some(m);
        self
    }
    fn proto(mut self, p: &'static str) -> Case {
        self.protocol = Some(p);
        self
    }
    fn chain(mut self, c: Vec<CertExp>) -> Case {
        self.chain = Some(c);
        self
    }
    fn would_pass(mut self, p: bool) -> Case {
        self.would_pass = Some(p);
        self
    }
}

fn sni(name: &str) -> Vec<String> {
    vec![
        "proxy_ssl_server_name on;".into(),
        format!("proxy_ssl_name {name};"),
    ]
}

fn verify(ca: &Path, name: Option<&str>) -> Vec<String> {
    let mut v = vec![
        "proxy_ssl_verify on;".to_string(),
        format!("proxy_ssl_trusted_certificate {};", ca.display()),
    ];
    if let Some(n) = name {
        v.push(format!("proxy_ssl_name {n};"));
    }
    v
}

fn depth(d: u32) -> String {
    format!("proxy_ssl_verify_depth {d};")
}

fn protocols(p: &str) -> String {
    format!("proxy_ssl_protocols {p};")
}

fn client_cert(c: &LeafCert) -> Vec<String> {
    vec![
        format!("proxy_ssl_certificate {};", c.cert.display()),
        format!("proxy_ssl_certificate_key {};", c.key.display()),
    ]
}

fn cat(parts: &[Vec<String>]) -> Vec<String> {
    parts.concat()
}

/// nginx's default `proxy_ssl_protocols` has TLSv1.3 from 1.23.4 on.
fn default_has_tls13(version: &str) -> bool {
    let v: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    v.as_slice() >= [1, 23, 4].as_slice()
}

fn cases(up: &Upstreams, version: &str) -> Vec<Case> {
    let (p, k) = (&up.ports, &up.pki);
    let at = |port: u16| format!("127.0.0.1:{port}");
    let root = &k.root.cert;
    let other_ca = &k.other.cert;
    // the protocol nginx negotiates by default with an upstream offering 1.2 and 1.3
    let dflt = if default_has_tls13(version) {
        "TLSv1.3"
    } else {
        "TLSv1.2"
    };
    const SNI: &[&str] = &["sni"];
    const CLIENT: &[&str] = &["client certificate"];
    const ISSUER: &[&str] = &["issuer"];
    const EXPIRED: &[&str] = &["expired"];
    const PROTO: &[&str] = &["protocol version"];
    const DEPTH: &[&str] = &["chain too long for verify depth"];
    let mut v = vec![
        // 1. SNI required
        case("sni: no SNI (nginx's default)", at(p.sni), vec![])
            .fails(SNI)
            .name(None),
        case("sni: SNI sni.test", at(p.sni), sni("sni.test"))
            .ok("sni")
            .proto(dflt)
            .name(Some(true))
            .chain(vec![CertExp {
                cn: "sni.test",
                san: Some("DNS:sni.test"),
                expired: false,
            }]),
        case("sni: SNI wrong.test", at(p.sni), sni("wrong.test")).fails(SNI),
        case(
            "sni: server_name on, name from the target (an IP: no SNI)",
            at(p.sni),
            vec!["proxy_ssl_server_name on;".into()],
        )
        .fails(SNI),
        case(
            "sni: upstream{} named sni.test, server_name on",
            "sni.test".into(),
            vec!["proxy_ssl_server_name on;".into()],
        )
        .ok("sni")
        .name(Some(true)),
        case(
            "sni: upstream{} named sni.test, server_name off",
            "sni.test".into(),
            vec![],
        )
        .fails(SNI),
        case(
            "sni: SNI + verify with the right CA",
            at(p.sni),
            cat(&[sni("sni.test"), verify(root, None)]),
        )
        .ok("sni")
        .would_pass(true),
        case(
            "sni: SNI + verify with another CA",
            at(p.sni),
            cat(&[sni("sni.test"), verify(other_ca, None)]),
        )
        .fails(ISSUER)
        .would_pass(false),
        case(
            "sni: verify on with the right name but no SNI",
            at(p.sni),
            verify(root, Some("sni.test")),
        )
        .fails(SNI),
        case(
            "sni: SNI + TLSv1.2 only",
            at(p.sni),
            cat(&[sni("sni.test"), vec![protocols("TLSv1.2")]]),
        )
        .ok("sni")
        .proto("TLSv1.2"),
        case(
            "sni: SNI + TLSv1.2 TLSv1.3",
            at(p.sni),
            cat(&[sni("sni.test"), vec![protocols("TLSv1.2 TLSv1.3")]]),
        )
        .ok("sni")
        .proto("TLSv1.3"),
        // 2. client certificate required: http server (refuses with a 400)
        case("mtls-http: no client certificate", at(p.mtls), vec![]).refused_by_http(),
        case(
            "mtls-http: no client certificate, TLSv1.3",
            at(p.mtls),
            vec![protocols("TLSv1.2 TLSv1.3")],
        )
        .refused_by_http(),
        case(
            "mtls-http: client certificate from another CA",
            at(p.mtls),
            client_cert(&k.client_other),
        )
        .refused_by_http(),
        case(
            "mtls-http: client certificate from the upstream's CA",
            at(p.mtls),
            client_cert(&k.client),
        )
        .ok("mtls-http"),
        case(
            "mtls-http: client certificate + verify",
            at(p.mtls),
            cat(&[client_cert(&k.client), verify(root, Some("mtls.test"))]),
        )
        .ok("mtls-http")
        .name(Some(true)),
        // 2b. client certificate required: stream server (closes after the handshake)
        case(
            "mtls-stream: no client certificate",
            at(p.mtls_stream),
            vec![],
        )
        .fails(CLIENT),
        case(
            "mtls-stream: no client certificate, TLSv1.3",
            at(p.mtls_stream),
            vec![protocols("TLSv1.2 TLSv1.3")],
        )
        .fails(CLIENT),
        case(
            "mtls-stream: client certificate from another CA",
            at(p.mtls_stream),
            client_cert(&k.client_other),
        )
        .fails(CLIENT),
        case(
            "mtls-stream: client certificate from another CA, TLSv1.3",
            at(p.mtls_stream),
            cat(&[
                client_cert(&k.client_other),
                vec![protocols("TLSv1.2 TLSv1.3")],
            ]),
        )
        .fails(CLIENT),
        case(
            "mtls-stream: client certificate from the upstream's CA",
            at(p.mtls_stream),
            client_cert(&k.client),
        )
        .ok("mtls-stream"),
        case(
            "mtls-stream: client certificate, TLSv1.3, verify",
            at(p.mtls_stream),
            cat(&[
                client_cert(&k.client),
                vec![protocols("TLSv1.3")],
                verify(root, Some("mtls.test")),
            ]),
        )
        .ok("mtls-stream")
        .proto("TLSv1.3"),
        // 3. expired
        case("expired: verify off", at(p.expired), vec![])
            .ok("expired")
            .would_pass(false)
            .chain(vec![CertExp {
                cn: "expired.test",
                san: Some("DNS:expired.test"),
                expired: true,
            }]),
        case(
            "expired: verify on",
            at(p.expired),
            verify(root, Some("expired.test")),
        )
        .fails(EXPIRED)
        .name(Some(true))
        .would_pass(false),
        case(
            "expired: verify on, depth 2, SNI",
            at(p.expired),
            cat(&[sni("expired.test"), verify(root, None), vec![depth(2)]]),
        )
        .fails(EXPIRED),
        // 4. a certificate for another name
        case(
            "other: verify off, name wanted.test",
            at(p.other),
            vec!["proxy_ssl_name wanted.test;".into()],
        )
        .ok("other")
        .name(Some(false))
        .would_pass(false),
        case(
            "other: verify on, name wanted.test",
            at(p.other),
            verify(root, Some("wanted.test")),
        )
        .fails(&["not for \"wanted.test\""])
        .name(Some(false)),
        case(
            "other: verify on, SNI wanted.test",
            at(p.other),
            cat(&[sni("wanted.test"), verify(root, None)]),
        )
        .fails(&["not for \"wanted.test\""])
        .name(Some(false)),
        case(
            "other: verify on, name from the target (127.0.0.1)",
            at(p.other),
            verify(root, None),
        )
        .fails(&["not for \"127.0.0.1\""])
        .name(Some(false)),
        case(
            "other: verify on, name other.test",
            at(p.other),
            verify(root, Some("other.test")),
        )
        .ok("other")
        .name(Some(true))
        .would_pass(true),
        case(
            "other: verify on, name OTHER.Test (case-insensitive)",
            at(p.other),
            verify(root, Some("OTHER.Test")),
        )
        .ok("other")
        .name(Some(true)),
        // 5. TLSv1.3 only
        case(
            "tls13: TLSv1.2 only",
            at(p.tls13),
            vec![protocols("TLSv1.2")],
        )
        .fails(PROTO),
        case(
            "tls13: TLSv1 TLSv1.1 TLSv1.2",
            at(p.tls13),
            vec![protocols("TLSv1 TLSv1.1 TLSv1.2")],
        )
        .fails(PROTO),
        case(
            "tls13: TLSv1.2 TLSv1.3",
            at(p.tls13),
            vec![protocols("TLSv1.2 TLSv1.3")],
        )
        .ok("tls13")
        .proto("TLSv1.3"),
        case(
            "tls13: TLSv1.3 + SNI + verify",
            at(p.tls13),
            cat(&[
                vec![protocols("TLSv1.3")],
                sni("tls13.test"),
                verify(root, None),
            ]),
        )
        .ok("tls13")
        .proto("TLSv1.3")
        .would_pass(true),
        // 6. chains: depth counts the certificates above the leaf that are
        // not the trust anchor (the intermediates), as observed with
        // nginx 1.22 / OpenSSL 3.0: 0 fails with one intermediate, 1 passes
        case("chain1: verify off", at(p.chain1), vec![])
            .ok("chain1")
            .chain(vec![
                CertExp {
                    cn: "chain1.test",
                    san: Some("DNS:chain1.test"),
                    expired: false,
                },
                CertExp {
                    cn: "hopscope test intermediate 1",
                    san: None,
                    expired: false,
                },
            ]),
        case(
            "chain1: verify, depth 0",
            at(p.chain1),
            cat(&[verify(root, Some("chain1.test")), vec![depth(0)]]),
        )
        .fails(DEPTH)
        .would_pass(false),
        case(
            "chain1: verify, default depth (1)",
            at(p.chain1),
            verify(root, Some("chain1.test")),
        )
        .ok("chain1")
        .would_pass(true),
        case(
            "chain1: verify, depth 2",
            at(p.chain1),
            cat(&[verify(root, Some("chain1.test")), vec![depth(2)]]),
        )
        .ok("chain1"),
        case(
            "chain1: verify with the intermediate as the only CA",
            at(p.chain1),
            verify(&k.int1.cert, Some("chain1.test")),
        )
        .fails(ISSUER),
        case(
            "chain2: verify, default depth (1)",
            at(p.chain2),
            verify(root, Some("chain2.test")),
        )
        .fails(DEPTH)
        .would_pass(false),
        case(
            "chain2: verify, depth 2",
            at(p.chain2),
            cat(&[verify(root, Some("chain2.test")), vec![depth(2)]]),
        )
        .ok("chain2")
        .would_pass(true),
        case(
            "chain2: verify, depth 3",
            at(p.chain2),
            cat(&[verify(root, Some("chain2.test")), vec![depth(3)]]),
        )
        .ok("chain2"),
        case("chain2: verify off", at(p.chain2), vec![])
            .ok("chain2")
            .chain(vec![
                CertExp {
                    cn: "chain2.test",
                    san: Some("DNS:chain2.test"),
                    expired: false,
                },
                CertExp {
                    cn: "hopscope test intermediate 2",
                    san: None,
                    expired: false,
                },
                CertExp {
                    cn: "hopscope test intermediate 1",
                    san: None,
                    expired: false,
                },
            ]),
    ];
    // 5. TLSv1.3 only, nginx's default protocols: fails before 1.23.4
    let d = case("tls13: nginx's default protocols", at(p.tls13), vec![]);
    v.push(if default_has_tls13(version) {
        d.ok("tls13").proto("TLSv1.3")
    } else {
        d.fails(PROTO)
    });
    v
}

/// Writes the front: one location per case; fills `id` and `path`.
fn write_front(prefix: &Prefix, port: u16, up: &Upstreams, cases: &mut [Case]) {
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.line("proxy_connect_timeout 5s;");
    f.line("proxy_read_timeout 5s;");
    f.line("proxy_send_timeout 5s;");
    f.open("upstream sni.test");
    f.line(format!("server 127.0.0.1:{};", up.ports.sni));
    f.close();
    f.open("server");
    f.line(format!("listen 127.0.0.1:{port};"));
    for (i, c) in cases.iter_mut().enumerate() {
        c.path = format!("/c{i:02}");
        f.line(format!("# {}", c.label));
        f.open(format!("location = {}", c.path));
        for l in &c.lines {
            f.line(l);
        }
        let n = f.line(format!("proxy_pass https://{}/;", c.target));
        c.id = format!("nginx.conf:{n}");
        f.close();
    }
    f.close();
    f.close();
    prefix.write_conf(&f);
}

/// `[...]` after `key=` in an upstream's echo.
fn echoed<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let start = body.find(&format!("{key}=["))? + key.len() + 2;
    let end = body[start..].find(']')? + start;
    Some(&body[start..end])
}

/// The probe's verdict (`PeerResult::ok`).
fn probe_ok(r: &Value) -> bool {
    let v = &r["verification"];
    r["connected"] == true && (v.is_null() || v["enabled"] == false || v["would_pass"] == true)
}

/// Everything the probe said about causes, lowercase.
fn probe_words(r: &Value) -> String {
    let mut s = r["error"].as_str().unwrap_or("").to_string();
    for p in r["verification"]["problems"]
        .as_array()
        .into_iter()
        .flatten()
    {
        s.push_str(" | ");
        s.push_str(p.as_str().unwrap_or(""));
    }
    s.to_lowercase()
}

/// The front's error-log lines about one request path.
fn log_lines(log: &str, path: &str) -> String {
    let needle = format!("\"GET {path} HTTP");
    log.lines()
        .filter(|l| l.contains(&needle) && !l.contains("[info]"))
        .map(|l| l.split_once("] ").map_or(l, |(_, r)| r))
        .collect::<Vec<_>>()
        .join("\n      ")
}

fn probe_results(run: &HopscopeRun) -> BTreeMap<String, Vec<Value>> {
    let doc = run.json().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["schema"], "hopscope.probe/1");
    let mut by_hop: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in doc["results"].as_array().expect("results array") {
        by_hop
            .entry(r["hop"].as_str().unwrap_or("?").to_string())
            .or_default()
            .push(r.clone());
    }
    by_hop
}

// ---------------------------------------------------------------------------
// The matrix: probe verdicts against real nginx
// ---------------------------------------------------------------------------

#[test]
fn probe_verdicts_match_real_nginx() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = installed_nginx_version(&nginx);
    let up = start_upstreams(&nginx);
    let mut cases = cases(&up, &version);
    let front = Prefix::new("probe-front");
    let fport = free_port();
    write_front(&front, fport, &up, &mut cases);
    let (ok, err) = nginx_test(&nginx, front.path());
    assert!(ok, "harness bug: nginx -t rejects the front:\n{err}");
    let setup = started.elapsed();

    // (a) the probe, with the defaults of the nginx that runs the front
    let conf = front.conf_path().display().to_string();
    let run = hopscope_run(
        &[
            "probe",
            &conf,
            "--nginx-version",
            &version,
            "--format",
            "json",
            "--timeout",
            "5",
        ],
        None,
        HOPSCOPE_TIMEOUT,
    );
    assert!(!run.timed_out, "hopscope probe timed out: {}", run.stderr);
    let results = probe_results(&run);
    let probe_time = run.elapsed;

    // (b) real nginx with the same hops
    let mut fr = Nginx::start(&nginx, front.path(), &[fport])
        .unwrap_or_else(|e| panic!("harness bug: front nginx: {e}"));
    let req_started = Instant::now();
    let mut answers: Vec<Result<HttpResponse, String>> = Vec::new();
    for c in &cases {
        assert!(
            req_started.elapsed() < REQUEST_BUDGET,
            "requests exceed {REQUEST_BUDGET:?}"
        );
        answers.push(http_get(fport, &c.path, None));
    }
    let request_time = req_started.elapsed();
    let front_log = front.read("logs/error.log");
    fr.stop();

    let mut harness = String::new();
    let mut bad = String::new();
    let mut matched = 0;
    let mut verdicts = String::new();
    for (c, answer) in cases.iter().zip(&answers) {
        let resp = match answer {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(harness, "{} ({}): no answer: {e}", c.label, c.path);
                continue;
            }
        };
        let body = resp.body.trim();
        let why = log_lines(&front_log, &c.path);
        // harness: nginx does what the case says
        if resp.status != c.status {
            let _ = writeln!(
                harness,
                "{} ({}): nginx answered {} (expected {}) {body:?}\n      {why}",
                c.label, c.path, resp.status, c.status
            );
        } else if c.status == 200 && body.split_whitespace().next() != Some(&format!("up={}", c.up))
        {
            let _ = writeln!(harness, "{}: answered by {body:?}, not {}", c.label, c.up);
        } else if c.http_level_refusal && !body.contains("SSL certificate") {
            let _ = writeln!(
                harness,
                "{}: 400 without a certificate reason: {body:?}",
                c.label
            );
        }
        // hopscope
        let Some(rs) = results.get(&c.id) else {
            let _ = writeln!(bad, "{} ({}): no probe result", c.label, c.id);
            continue;
        };
        assert_eq!(rs.len(), 1, "{}: one peer, got {rs:?}", c.label);
        let r = &rs[0];
        let mut wrong: Vec<String> = Vec::new();
        let words = probe_words(r);
        let pok = probe_ok(r);
        if c.http_level_refusal {
            // the documented divergence: TLS is fine, HTTP says no
            if !pok {
                wrong.push(format!(
                    "expected the probe to see a working TLS hop (nginx's 400 is an HTTP answer), got {words}"
                ));
            }
        } else if pok != (resp.status == 200) {
            wrong.push(format!(
                "probe says {} but nginx answered {} ({why})",
                if pok { "ok" } else { "not ok" },
                resp.status
            ));
        }
        if !c.cause.is_empty() && !c.cause.iter().any(|w| words.contains(w)) {
            wrong.push(format!(
                "cause should mention one of {:?}: {words}",
                c.cause
            ));
        }
        if resp.status == 200 {
            // what the upstream saw over TLS (the stream upstream's backend sees none)
            if let Some(p) = echoed(body, "proto").filter(|p| !p.is_empty()) {
                if r["protocol"] != p {
                    wrong.push(format!("protocol {} but nginx used {p}", r["protocol"]));
                }
            }
            if c.up != "mtls-stream" {
                let seen = echoed(body, "sni").unwrap_or("");
                let said = r["sni"].as_str().unwrap_or("");
                if seen != said {
                    wrong.push(format!("probe sni {said:?}, nginx sent {seen:?}"));
                }
            }
        }
        if let Some(p) = c.protocol {
            if r["protocol"] != p {
                wrong.push(format!("protocol {} (expected {p})", r["protocol"]));
            }
        }
        if let Some(m) = c.name_matches {
            let got = r["name_matches"].as_bool();
            if got != m {
                wrong.push(format!("name_matches {got:?} (expected {m:?})"));
            }
        }
        if let Some(w) = c.would_pass {
            if r["verification"]["would_pass"] != w {
                wrong.push(format!(
                    "would_pass {} (expected {w}): {words}",
                    r["verification"]["would_pass"]
                ));
            }
            let on = c.lines.iter().any(|l| l == "proxy_ssl_verify on;");
            if r["verification"]["enabled"] != on {
                wrong.push(format!(
                    "verification.enabled {}",
                    r["verification"]["enabled"]
                ));
            }
        }
        if let Some(chain) = &c.chain {
            let got = r["chain"].as_array().cloned().unwrap_or_default();
            if got.len() != chain.len() {
                wrong.push(format!("chain of {} (expected {})", got.len(), chain.len()));
            }
            for (g, e) in got.iter().zip(chain) {
                let subject = g["subject"].as_str().unwrap_or("");
                let sans: Vec<&str> = g["sans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if subject != format!("CN={}", e.cn)
                    || sans != e.san.into_iter().collect::<Vec<_>>()
                    || g["expired"] != e.expired
                {
                    wrong.push(format!(
                        "chain entry {g} (expected CN={} {:?} expired={})",
                        e.cn, e.san, e.expired
                    ));
                }
            }
        }
        let nginx_said = why
            .split_once(" while ")
            .map_or(why.as_str(), |(head, _)| head);
        let _ = writeln!(
            verdicts,
            "  {:<3} {:<5} {:<58} probe: {}\n{:<71}nginx: {}",
            resp.status,
            if pok { "ok" } else { "FAIL" },
            c.label,
            words.chars().take(100).collect::<String>(),
            "",
            nginx_said.chars().take(100).collect::<String>()
        );
        if wrong.is_empty() {
            matched += 1;
        } else {
            let _ = writeln!(bad, "{} ({}):\n    {}", c.label, c.id, wrong.join("\n    "));
        }
    }
    eprintln!(
        "nginx {version}: {matched}/{} cases match; setup {setup:?}, probe {probe_time:?}, \
         requests {request_time:?}, total {:?}\n{verdicts}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        harness.is_empty(),
        "harness expectations differ from real nginx:\n{harness}"
    );
    assert!(
        bad.is_empty(),
        "hopscope probe differs from real nginx:\n{bad}\nprobe stderr:\n{}",
        run.stderr
    );
    assert!(
        up.nginx.pid().is_some(),
        "the upstream nginx kept running for the whole test"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// The CLI: dynamic targets, --hop, exit codes; fix --probe as a what-if
// ---------------------------------------------------------------------------

/// Through ssh (an sshd on this machine that allows forwarding, so every
/// upstream is as reachable as directly), the matrix gets the verdicts of
/// the direct probe: the same handshake, configured the same way, over
/// the server's channel. Hops with a client certificate differ by design:
/// the key stays on the server, and they say so.
#[test]
fn probe_through_ssh_gives_the_direct_verdicts() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let Some(sshd) = sshd::Sshd::start_forwarding(1) else {
        return;
    };
    let version = installed_nginx_version(&nginx);
    let up = start_upstreams(&nginx);
    let mut cases = cases(&up, &version);
    let front = Prefix::new("probe-front-ssh");
    write_front(&front, free_port(), &up, &mut cases);
    let conf = front.conf_path().display().to_string();
    // The server's nginx runs without -p: a wrapper gives the front's.
    let wrapper = front.path().join("nginx-p");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec '{}' -p '{}' \"$@\"\n",
            nginx.display(),
            front.path().display()
        ),
    )
    .unwrap();
    fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let direct = probe_results(&hopscope_run(
        &[
            "probe",
            &conf,
            "--nginx-version",
            &version,
            "--format",
            "json",
            "--timeout",
            "5",
        ],
        None,
        HOPSCOPE_TIMEOUT,
    ));
    let wrapper = wrapper.display().to_string();
    let args = sshd.args(
        "web1",
        &[
            "probe",
            "--nginx",
            &wrapper,
            "--nginx-conf",
            &conf,
            "--nginx-version",
            &version,
            "--format",
            "json",
            "--timeout",
            "5",
        ],
    );
    let run = hopscope_run(&args, None, HOPSCOPE_TIMEOUT);
    assert!(!run.timed_out, "{}", run.stderr);
    let prefix = format!("{}/", front.path().display());
    let through: BTreeMap<String, Vec<Value>> = probe_results(&run)
        .into_iter()
        .map(|(id, rs)| (id.replace(&prefix, ""), rs))
        .collect();
    let (mut same, mut keyless, mut refused, mut bad) = (0, 0, 0, String::new());
    for c in &cases {
        let (Some(d), Some(t)) = (direct.get(&c.id), through.get(&c.id)) else {
            let _ = writeln!(bad, "{} ({}): missing a result", c.label, c.id);
            continue;
        };
        let (d, t) = (&d[0], &t[0]);
        assert_eq!(t["probed_from"], "web1", "{t:#}");
        if t["notes"]
            .to_string()
            .contains("its private key stays on the server")
        {
            // Refused for want of the certificate: the error says why.
            let e = t["error"].as_str().unwrap_or("");
            if probe_ok(d) && !probe_ok(t) {
                refused += 1;
                if !e.contains("the probe went without the hop's client certificate") {
                    let _ = writeln!(bad, "{} ({}): {e}", c.label, c.id);
                }
            }
            keyless += 1;
            continue;
        }
        let verdict = |r: &Value| {
            (
                probe_ok(r),
                r["connected"].clone(),
                r["error"].clone(),
                r["protocol"].clone(),
                r["name_matches"].clone(),
                r["verification"]["would_pass"].clone(),
                r["verification"]["problems"].clone(),
                r["chain"].clone(),
            )
        };
        if verdict(d) == verdict(t) {
            same += 1;
        } else {
            let _ = writeln!(
                bad,
                "{} ({}):\n  direct  {}\n  via ssh {}",
                c.label,
                c.id,
                probe_words(d),
                probe_words(t)
            );
        }
    }
    assert!(bad.is_empty(), "through ssh differs:\n{bad}");
    assert!(keyless > 0, "the matrix has client-certificate hops");
    assert!(
        refused > 0,
        "some upstreams refuse the probe without the certificate"
    );
    assert!(same >= 30, "{same} cases compared");
    eprintln!("{same} cases: the same verdicts through ssh; {keyless} with a client key left on the server");

    // A server whose sshd allows no forwarding: each peer says why.
    let Some(closed) = sshd::Sshd::start(1) else {
        return;
    };
    let id = format!("{prefix}{}", cases[0].id);
    let args = closed.args(
        "web1",
        &[
            "probe",
            "--nginx",
            &wrapper,
            "--nginx-conf",
            &conf,
            "--hop",
            &id,
            "--format",
            "json",
        ],
    );
    let run = hopscope_run(&args, None, HOPSCOPE_TIMEOUT);
    let r = &probe_results(&run)[&id][0];
    assert!(
        r["error"]
            .as_str()
            .unwrap_or("")
            .contains("its sshd does not allow forwarding"),
        "{r:#}\n{}",
        run.stderr
    );
}

fn probe_cli(args: &[&str]) -> HopscopeRun {
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    let run = hopscope_run(&all, None, HOPSCOPE_TIMEOUT);
    assert!(!run.timed_out, "hopscope {all:?} timed out: {}", run.stderr);
    run
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).expect("read file"));
            }
        }
    }
    out
}

#[test]
fn probe_cli_and_fix_what_if() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = installed_nginx_version(&nginx);
    let up = start_upstreams(&nginx);
    let sni_port = up.ports.sni;

    // hopscope only reads this one: nothing listens on its server
    let prefix = Prefix::new("probe-cli");
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.open("upstream pool80");
    f.line("server 127.0.0.1;");
    f.close();
    f.open("server");
    f.line(format!("listen 127.0.0.1:{};", free_port()));
    f.open("location /ok");
    f.line("proxy_ssl_server_name on;");
    f.line("proxy_ssl_name sni.test;");
    let ok_id = format!(
        "nginx.conf:{}",
        f.line(format!("proxy_pass https://127.0.0.1:{sni_port}/;"))
    );
    f.close();
    f.open("location /bad");
    let bad_id = format!(
        "nginx.conf:{}",
        f.line(format!("proxy_pass https://127.0.0.1:{sni_port}/;"))
    );
    f.close();
    f.open("location /dyn");
    let dyn_id = format!("nginx.conf:{}", f.line("proxy_pass https://$host;"));
    f.close();
    f.open("location /p80");
    let p80_id = format!("nginx.conf:{}", f.line("proxy_pass https://pool80/;"));
    f.close();
    f.close();
    f.close();
    prefix.write_conf(&f);
    let conf = prefix.conf_path().display().to_string();
    let v = ["--nginx-version", version.as_str()];
    let json = ["--format", "json", "--timeout", "3"];

    // --hop filters; 0 when every probed peer works
    let run = probe_cli(&[&conf, v[0], v[1], json[0], json[1], "--hop", &ok_id]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let r = probe_results(&run);
    assert_eq!(r.keys().collect::<Vec<_>>(), vec![&ok_id], "--hop filters");
    assert_eq!(r[&ok_id][0]["sni"], "sni.test");
    assert_eq!(r[&ok_id][0]["connected"], true);

    // 1 when one fails; the text names the cause
    let run = probe_cli(&[&conf, v[0], v[1], "--hop", &bad_id]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("FAILS") && run.stdout.contains("wants SNI and none was sent"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(&ok_id),
        "--hop filters: {}",
        run.stdout
    );

    // repeated --hop
    let run = probe_cli(&[
        &conf, v[0], v[1], json[0], json[1], "--hop", &ok_id, "--hop", &bad_id,
    ]);
    assert_eq!(run.code, Some(1));
    let r = probe_results(&run);
    assert_eq!(r.len(), 2, "{r:?}");

    // a dynamic target is reported, not probed, and does not fail the run
    let run = probe_cli(&[&conf, v[0], v[1], json[0], json[1], "--hop", &dyn_id]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let r = probe_results(&run);
    let d = &r[&dyn_id][0];
    assert_eq!(d["probeable"], false, "{d}");
    assert_eq!(d["connected"], false);
    assert!(
        d["error"].as_str().unwrap_or("").contains("variables"),
        "{d}"
    );
    let run = probe_cli(&[&conf, v[0], v[1], "--hop", &dyn_id]);
    assert!(run.stdout.contains("not probeable"), "{}", run.stdout);

    // an http upstream server without a port is port 80, as in nginx
    let run = probe_cli(&[&conf, v[0], v[1], json[0], json[1], "--hop", &p80_id]);
    let r = probe_results(&run);
    assert_eq!(r[&p80_id][0]["address"], "127.0.0.1:80", "{}", run.stdout);

    // everything: all four hops, in file order; 1 because /bad fails
    let run = probe_cli(&[&conf, v[0], v[1], json[0], json[1]]);
    assert_eq!(run.code, Some(1));
    let doc = run.json().unwrap();
    let hops: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["hop"].as_str().unwrap())
        .collect();
    assert_eq!(hops, vec![&ok_id, &bad_id, &dyn_id, &p80_id]);

    // standard input
    let stdin_run = hopscope_run(
        &["probe", "-", v[0], v[1], json[0], json[1]],
        Some(fs::read(prefix.conf_path()).unwrap()),
        HOPSCOPE_TIMEOUT,
    );
    assert_eq!(stdin_run.code, Some(1), "{}", stdin_run.stderr);
    assert_eq!(
        stdin_run.json().unwrap()["results"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // 2: errors
    for args in [
        vec![conf.as_str(), "--hop", "nginx.conf:9999"],
        vec![conf.as_str(), "--timeout", "0"],
        vec![conf.as_str(), "--timeout", "nan"],
        vec![conf.as_str(), "--deadline", "0"],
        vec![conf.as_str(), "--deadline", "inf"],
        vec!["/nonexistent/hopscope/nginx.conf"],
    ] {
        let run = probe_cli(&args);
        assert_eq!(
            run.code,
            Some(2),
            "{args:?}: {}\n{}",
            run.stdout,
            run.stderr
        );
    }

    // fix --probe: what-if on a hop without SNI, nothing written
    let fixdir = Prefix::new("probe-fix");
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.open("server");
    let fport = free_port();
    f.line(format!("listen 127.0.0.1:{fport};"));
    f.open("location /");
    let hop = format!(
        "nginx.conf:{}",
        f.line(format!("proxy_pass https://127.0.0.1:{sni_port}/;"))
    );
    f.close();
    f.close();
    f.close();
    fixdir.write_conf(&f);
    let fconf = fixdir.conf_path().display().to_string();
    let before = snapshot(fixdir.path());
    let run = probe_cli(&[&fconf, v[0], v[1], json[0], json[1]]);
    assert_eq!(run.code, Some(1), "the hop fails before the fix");
    let r = probe_results(&run);
    assert!(
        probe_words(&r[&hop][0]).contains("wants sni"),
        "{}",
        run.stdout
    );

    let fix = hopscope_run(
        &[
            "fix",
            &fconf,
            v[0],
            v[1],
            "--hop",
            &hop,
            "--set",
            "sni-name=sni.test",
            "--rule",
            "sni-ip-literal",
            "--probe",
        ],
        None,
        HOPSCOPE_TIMEOUT,
    );
    assert_eq!(fix.code, Some(0), "{}\n{}", fix.stdout, fix.stderr);
    assert!(
        fix.stdout.contains("+") && fix.stdout.contains("proxy_ssl_name sni.test;"),
        "the diff adds the name:\n{}",
        fix.stdout
    );
    assert!(
        fix.stderr
            .contains("probing 1 fixed hop as nginx would connect"),
        "{}",
        fix.stderr
    );
    let verdict = fix
        .stderr
        .lines()
        .find(|l| l.contains(&format!("127.0.0.1:{sni_port}")))
        .unwrap_or_else(|| panic!("no probe line for the fixed hop:\n{}", fix.stderr));
    assert!(
        verdict.trim_start().starts_with("ok") && verdict.contains("SNI sni.test"),
        "the fixed hop would connect: {verdict}\n{}",
        fix.stderr
    );
    assert_eq!(
        snapshot(fixdir.path()),
        before,
        "fix --probe without --write changed or added files"
    );

    // and real nginx agrees: before the fix 502, after it 200
    let fixed = Prefix::new("probe-fixed");
    fs::copy(fixdir.conf_path(), fixed.conf_path()).unwrap();
    let fixed_conf = fixed.conf_path().display().to_string();
    let w = hopscope_run(
        &[
            "fix",
            &fixed_conf,
            v[0],
            v[1],
            "--hop",
            &hop,
            "--set",
            "sni-name=sni.test",
            "--rule",
            "sni-ip-literal",
            "--write",
        ],
        None,
        HOPSCOPE_TIMEOUT,
    );
    assert_eq!(w.code, Some(0), "{}", w.stderr);
    for (dir, want) in [(&fixdir, 502), (&fixed, 200)] {
        let mut n = Nginx::start(&nginx, dir.path(), &[fport])
            .unwrap_or_else(|e| panic!("front nginx: {e}"));
        let resp = http_get(fport, "/", None).expect("front answers");
        n.stop();
        assert_eq!(resp.status, want, "{}: {}", dir.path().display(), resp.body);
    }
    eprintln!("cli + fix: {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(60));
}

// ---------------------------------------------------------------------------
// Timeouts and the concurrency bound
// ---------------------------------------------------------------------------

/// Listeners on 127.0.0.1 that accept TCP and then never say a word.
struct Silent {
    ports: Vec<u16>,
    stop: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<Instant>>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Silent {
    fn new(n: usize) -> Silent {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| {
                let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
                l.set_nonblocking(true).expect("nonblocking");
                l
            })
            .collect();
        let ports = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let (st, acc) = (Arc::clone(&stop), Arc::clone(&accepted));
        let thread = thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !st.load(Ordering::Relaxed) {
                for l in &listeners {
                    while let Ok((s, _)) = l.accept() {
                        acc.lock().unwrap().push(Instant::now());
                        held.push(s);
                    }
                }
                // read and drop whatever arrives (the ClientHello): never answer
                let mut buf = [0u8; 4096];
                held.retain_mut(|s| {
                    let _ = s.set_nonblocking(true);
                    !matches!(s.read(&mut buf), Ok(0))
                });
                thread::sleep(Duration::from_millis(2));
            }
        });
        Silent {
            ports,
            stop,
            accepted,
            thread: Some(thread),
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn probe_timeouts_and_concurrency_bound() {
    let started = Instant::now();
    let silent = Silent::new(201);
    let prefix = Prefix::new("probe-silent");
    let mut f = ConfFile::new("nginx.conf");
    f.line("events {}");
    f.open("http");
    f.open("upstream silent");
    for p in &silent.ports[1..] {
        f.line(format!("server 127.0.0.1:{p};"));
    }
    f.close();
    f.open("server");
    f.open("location /one");
    let one = format!(
        "nginx.conf:{}",
        f.line(format!(
            "proxy_pass https://127.0.0.1:{}/;",
            silent.ports[0]
        ))
    );
    f.close();
    f.open("location /pool");
    let pool = format!("nginx.conf:{}", f.line("proxy_pass https://silent/;"));
    f.close();
    f.close();
    f.close();
    prefix.write_conf(&f);
    let conf = prefix.conf_path().display().to_string();

    // one silent peer: a timeout, reported within the timeout + a margin
    let run = probe_cli(&[&conf, "--hop", &one, "--timeout", "1", "--format", "json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let r = &probe_results(&run)[&one][0];
    assert_eq!(r["connected"], false);
    let err = r["error"].as_str().unwrap_or("");
    assert!(err.contains("did not finish within 1 s"), "{r}");
    let ms = r["millis"].as_u64().unwrap();
    // Bounds with wide margins: a loaded machine is slow, never early.
    assert!((900..5000).contains(&ms), "one peer took {ms} ms: {r}");
    assert!(
        run.elapsed < Duration::from_secs(10),
        "hopscope took {:?} for one 1 s timeout",
        run.elapsed
    );
    let single = run.elapsed;

    // 200 silent peers, 50 at a time: 4 rounds of 1 s
    let first = silent.accepted.lock().unwrap().len();
    let run = probe_cli(&[
        &conf,
        "--hop",
        &pool,
        "--timeout",
        "1",
        "--concurrency",
        "50",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let results = &probe_results(&run)[&pool];
    assert_eq!(results.len(), 200);
    for r in results {
        assert_eq!(r["connected"], false, "{r}");
        assert!(
            r["error"]
                .as_str()
                .unwrap_or("")
                .contains("did not finish within 1 s"),
            "{r}"
        );
        let ms = r["millis"].as_u64().unwrap();
        assert!((900..6000).contains(&ms), "a peer took {ms} ms: {r}");
    }
    let bounded = run.elapsed;
    assert!(
        bounded >= Duration::from_millis(3800) && bounded < Duration::from_secs(30),
        "200 peers, --concurrency 50, --timeout 1 took {bounded:?} (4 rounds of 1 s expected)"
    );
    let times: Vec<Instant> = silent.accepted.lock().unwrap()[first..].to_vec();
    assert_eq!(times.len(), 200, "every peer contacted exactly once");
    let t0 = *times.iter().min().unwrap();
    let early = times
        .iter()
        .filter(|t| t.duration_since(t0) < Duration::from_millis(950))
        .count();
    assert!(
        early <= 50,
        "{early} connections opened within the first timeout: the bound is 50"
    );

    // the same peers all at once
    let run = probe_cli(&[
        &conf,
        "--hop",
        &pool,
        "--timeout",
        "1",
        "--concurrency",
        "200",
        "--format",
        "json",
    ]);
    assert_eq!(probe_results(&run)[&pool].len(), 200);
    let wide = run.elapsed;
    assert!(
        wide < Duration::from_secs(10),
        "200 peers at --concurrency 200 took {wide:?}"
    );
    drop(silent);
    eprintln!(
        "timeouts: one peer {single:?}, 200 peers by 50 {bounded:?} ({early} in the first round), \
         200 at once {wide:?}, total {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

// ---------------------------------------------------------------------------
// TLS 1.3: a refusal that arrives after the client's handshake is over
// ---------------------------------------------------------------------------

/// `openssl s_server`, killed and reaped on drop.
struct SServer(std::process::Child);

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// In TLS 1.3 the server checks the client's certificate after the client
/// has finished its handshake: OpenSSL's `s_server -Verify` then sends the
/// alert certificate_required. nginx reads it instead of a response (502);
/// the probe must read it too.
#[test]
fn probe_sees_tls13_client_certificate_alert() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = installed_nginx_version(&nginx);
    let prefix = Prefix::new("probe-sserver");
    let ca = TestCa::new(&prefix.path().join("pki"));
    let server = ca.leaf("server", &["server.test"]);
    let client = ca.leaf("client", &["client.test"]);
    let port = free_port();
    let child = std::process::Command::new(openssl_bin())
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(&server.cert)
        .arg("-key")
        .arg(&server.key)
        .arg("-CAfile")
        .arg(&ca.cert)
        .args(["-Verify", "1", "-tls1_3", "-www", "-quiet"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn openssl s_server");
    let _sserver = SServer(child);
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s_server did not listen");
        thread::sleep(Duration::from_millis(20));
    }

    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.line("proxy_read_timeout 5s;");
    f.open("server");
    let fport = free_port();
    f.line(format!("listen 127.0.0.1:{fport};"));
    let mut ids = Vec::new();
    for (path, lines) in [
        ("/none", vec![protocols("TLSv1.3")]),
        (
            "/cert",
            cat(&[vec![protocols("TLSv1.3")], client_cert(&client)]),
        ),
    ] {
        f.open(format!("location = {path}"));
        for l in lines {
            f.line(l);
        }
        ids.push(format!(
            "nginx.conf:{}",
            f.line(format!("proxy_pass https://127.0.0.1:{port}/;"))
        ));
        f.close();
    }
    f.close();
    f.close();
    prefix.write_conf(&f);
    let conf = prefix.conf_path().display().to_string();
    let run = probe_cli(&[&conf, "--nginx-version", &version, "--format", "json"]);
    let r = probe_results(&run);
    let (none, cert) = (&r[&ids[0]][0], &r[&ids[1]][0]);
    assert!(!probe_ok(none), "{none}");
    assert!(
        probe_words(none).contains("client certificate")
            && probe_words(none).contains("after the handshake"),
        "{none}"
    );
    assert_eq!(none["protocol"], "TLSv1.3", "{none}");
    assert!(probe_ok(cert), "{cert}");

    let mut fr = Nginx::start(&nginx, prefix.path(), &[fport])
        .unwrap_or_else(|e| panic!("front nginx: {e}"));
    let a = http_get(fport, "/none", None).expect("front answers");
    let b = http_get(fport, "/cert", None).expect("front answers");
    fr.stop();
    assert_eq!(a.status, 502, "{}", fr.logs());
    assert_eq!(b.status, 200, "{}", fr.logs());
    eprintln!("tls13 alert: {:?}", started.elapsed());
}
