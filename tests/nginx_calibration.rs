//! Calibration of the rules against a REAL nginx.
//!
//! 1. `error` rules: for every case a small configuration is generated in a
//!    temporary prefix and checked with `nginx -t -p PREFIX -c
//!    PREFIX/nginx.conf`. hopscope (with the defaults of the nginx version
//!    that runs) must report an `error` finding exactly when nginx rejects
//!    the configuration, from the expected rule, and nginx's message must
//!    contain the expected text. Cases come in pairs: one that triggers the
//!    rule and one just on the other side (verify on WITH a CA, verify on at
//!    http level with no https pass, a key without a certificate, …).
//! 2. The wire: an upstream nginx on 127.0.0.1 answers
//!    `sni=[$ssl_server_name] host=[$http_host]` (session cache and tickets
//!    off, so every handshake is a full one). A front nginx has one hop per
//!    rule; the test asserts what the upstream really received (no SNI, the
//!    group name, the client's Host…) next to what hopscope reports for the
//!    same hop. Verification cases (group name, IP name, chain depth) are
//!    shown the same way: 502 and the error nginx logs.
//!
//! Only 127.0.0.1 is used; every nginx is stopped when the test ends (Drop);
//! requests are bounded by the harness's timeouts. Without nginx the tests
//! are skipped with a message, unless env CI is set.

mod common;

use common::*;
use hopscope::conf::{self, Input};
use hopscope::diagnostic::{Finding, Severity};
use hopscope::model::{Model, Version};
use hopscope::rules;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

// ---------------------------------------------------------------------------
// nginx facts: version, stream module
// ---------------------------------------------------------------------------

/// The version of the nginx binary (`nginx -v` prints to stderr).
fn nginx_version(bin: &Path) -> Version {
    let out = Command::new(bin)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -v");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let v = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("nginx/"))
        .unwrap_or_else(|| panic!("cannot read the version from `nginx -v`: {text}"));
    v.parse()
        .unwrap_or_else(|e| panic!("hopscope does not model nginx {v}: {e}"))
}

/// How to get the stream module: `Some("")` when built in, `Some(line)`
/// with a `load_module` line when dynamic, `None` when unavailable.
fn stream_module(bin: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -V");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if text.split_whitespace().any(|w| w == "--with-stream") {
        return Some(String::new());
    }
    if !text.contains("--with-stream=dynamic") {
        return None;
    }
    [
        "/usr/lib/nginx/modules",
        "/usr/lib64/nginx/modules",
        "/usr/share/nginx/modules",
        "/etc/nginx/modules",
        "/usr/local/nginx/modules",
    ]
    .iter()
    .map(|d| Path::new(d).join("ngx_stream_module.so"))
    .find(|p| p.is_file())
    .map(|p| format!("load_module {};", p.display()))
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Runs hopscope on a configuration on disk with the defaults of `version`.
/// The nginx that tests it runs on this machine, so the files it names are
/// looked up here: `--root /`.
fn hopscope(conf_path: &Path, version: Version) -> (Model, Vec<Finding>) {
    let mut cfg = conf::load(&Input::Path(conf_path.to_path_buf()))
        .unwrap_or_else(|e| panic!("hopscope cannot load {}: {e}", conf_path.display()));
    cfg.root = Some(std::path::PathBuf::from("/"));
    let m = Model::build(cfg, version);
    let errors: Vec<String> = m.errors().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "hopscope load errors: {errors:?}");
    let fs = rules::check(&m);
    (m, fs)
}

/// Writes PREFIX/nginx.conf: optional load_module, the harness preamble,
/// then an http block and/or a stream block with the given bodies.
fn write_conf(prefix: &Prefix, module_line: Option<&str>, http_body: &str, stream_body: &str) {
    let mut f = ConfFile::new("nginx.conf");
    if let Some(l) = module_line.filter(|l| !l.is_empty()) {
        f.line(l);
    }
    write_main_preamble(&mut f);
    if !http_body.is_empty() {
        f.open("http");
        write_http_preamble(&mut f);
        for l in http_body.lines() {
            f.line(l.trim_end());
        }
        f.close();
    }
    if !stream_body.is_empty() {
        f.open("stream");
        for l in stream_body.lines() {
            f.line(l.trim_end());
        }
        f.close();
    }
    prefix.write_conf(&f);
}

// ---------------------------------------------------------------------------
// 1. error findings <=> nginx -t
// ---------------------------------------------------------------------------

struct Case {
    name: &'static str,
    /// The rule that must report `error` when nginx rejects the config.
    rule: &'static str,
    http: String,
    stream: String,
    /// Text nginx -t must print when it fails.
    nginx_says: &'static str,
    /// What the test author expects nginx to do (checked, so a case that
    /// stops testing what it claims is noticed); None: version-dependent.
    fails: Option<bool>,
    /// Files to create in the prefix (relative path, copied from).
    files: Vec<(&'static str, PathBuf)>,
}

fn case(
    name: &'static str,
    rule: &'static str,
    fails: Option<bool>,
    nginx_says: &'static str,
    http: String,
    stream: String,
) -> Case {
    Case {
        name,
        rule,
        http,
        stream,
        nginx_says,
        fails,
        files: Vec::new(),
    }
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);

fn cases(ca: &Path, cert: &Path, key: &Path) -> Vec<Case> {
    let ca = ca.display();
    let crt = cert.display();
    let key_ = key.display();
    let srv = |loc: &str| format!("server {{\n listen 127.0.0.1:1;\n{loc}\n}}");
    let hop = "location / { proxy_pass https://127.0.0.1:9; }";
    let plain = "location / { proxy_pass http://127.0.0.1:9; }";
    let no_ca = "no proxy_ssl_trusted_certificate for proxy_ssl_verify";
    let no_key = "no \"proxy_ssl_certificate_key\" is defined for certificate";
    let not_here = "directive is not allowed here";
    let s = String::new;
    let mut v = vec![
        // verify-no-ca
        case("verify on, no CA, https hop", "verify-no-ca", T, no_ca,
            format!("proxy_ssl_verify on;\n{}", srv(hop)), s()),
        case("verify on with a CA", "verify-no-ca", F, "",
            format!("proxy_ssl_verify on;\nproxy_ssl_trusted_certificate {ca};\n{}", srv(hop)), s()),
        case("verify on at http, only a plain pass", "verify-no-ca", F, "",
            format!("proxy_ssl_verify on;\n{}", srv(plain)), s()),
        case("verify on at http, no pass at all", "verify-no-ca", F, "",
            format!("proxy_ssl_verify on;\n{}", srv("location / { return 204; }")), s()),
        case("verify on, plain pass with variables", "verify-no-ca", T, no_ca,
            format!("proxy_ssl_verify on;\n{}", srv("location / { proxy_pass http://$host; }")), s()),
        case("verify on, location turns it off", "verify-no-ca", F, "",
            format!("proxy_ssl_verify on;\n{}", srv("location / { proxy_pass https://127.0.0.1:9; proxy_ssl_verify off; }")), s()),
        case("verify on, hop inside if", "verify-no-ca", T, no_ca,
            srv("location / {\n  proxy_ssl_verify on;\n  if ($request_method = POST) { proxy_pass https://127.0.0.1:9; }\n }"), s()),
        case("verify on, empty CA", "verify-no-ca", T, no_ca,
            format!("proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \"\";\n{}", srv(hop)), s()),
        case("grpc verify on, no CA", "verify-no-ca", T, "no grpc_ssl_trusted_certificate for grpc_ssl_verify",
            srv("location / { grpc_pass grpcs://127.0.0.1:9; grpc_ssl_verify on; }"), s()),
        case("uwsgi verify on, no CA, variables", "verify-no-ca", T, "no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify",
            srv("location / { uwsgi_pass $host:9; uwsgi_ssl_verify on; }"), s()),
        case("proxy verify on does not reach grpc", "verify-no-ca", F, "",
            format!("proxy_ssl_verify on;\n{}", srv("location / { grpc_pass grpcs://127.0.0.1:9; }")), s()),
        case("stream verify on, proxy_ssl off", "verify-no-ca", F, "",
            s(), "proxy_ssl_verify on;\nserver { listen 127.0.0.1:2; proxy_pass 127.0.0.1:9; }".into()),
        case("stream verify on, proxy_ssl on", "verify-no-ca", T, no_ca,
            s(), "proxy_ssl_verify on;\nserver { listen 127.0.0.1:2; proxy_pass 127.0.0.1:9; proxy_ssl on; }".into()),
        // cert-no-key
        case("certificate without key on a hop", "cert-no-key", T, no_key,
            format!("proxy_ssl_certificate {crt};\n{}", srv(hop)), s()),
        case("certificate without key, only plain passes", "cert-no-key", F, "",
            format!("proxy_ssl_certificate {crt};\n{}", srv(plain)), s()),
        case("key without certificate (accepted)", "cert-no-key", F, "",
            format!("proxy_ssl_certificate_key {key_};\n{}", srv(hop)), s()),
        case("certificate and key", "cert-no-key", F, "",
            format!("proxy_ssl_certificate {crt};\nproxy_ssl_certificate_key {key_};\n{}", srv(hop)), s()),
        case("certificate at http, key in another location", "cert-no-key", T, no_key,
            format!("proxy_ssl_certificate {crt};\n{}", srv(&format!("location /a/ {{ proxy_pass https://127.0.0.1:9; proxy_ssl_certificate_key {key_}; }}\n location /b/ {{ proxy_pass https://127.0.0.1:9; }}"))), s()),
        case("empty certificate without key", "cert-no-key", None, no_key,
            format!("proxy_ssl_certificate \"\";\n{}", srv(hop)), s()),
        case("grpc certificate without key", "cert-no-key", T, "no \"grpc_ssl_certificate_key\" is defined",
            srv(&format!("location / {{ grpc_pass grpcs://127.0.0.1:9; grpc_ssl_certificate {crt}; }}")), s()),
        case("stream certificate without key", "cert-no-key", T, no_key,
            s(), format!("proxy_ssl_certificate {crt};\nserver {{ listen 127.0.0.1:2; proxy_pass 127.0.0.1:9; proxy_ssl on; }}")),
        // cert-file-missing
        case("missing certificate file", "cert-file-missing", T, "cannot load certificate",
            format!("proxy_ssl_certificate missing.crt;\nproxy_ssl_certificate_key {key_};\n{}", srv(hop)), s()),
        case("missing key file", "cert-file-missing", T, "cannot load certificate key",
            format!("proxy_ssl_certificate {crt};\nproxy_ssl_certificate_key /nonexistent/hopscope/missing.key;\n{}", srv(hop)), s()),
        case("missing certificate file, only plain passes", "cert-file-missing", F, "",
            format!("proxy_ssl_certificate missing.crt;\nproxy_ssl_certificate_key missing.key;\n{}", srv(plain)), s()),
        case("missing CA, verification off", "cert-file-missing", F, "",
            format!("proxy_ssl_trusted_certificate missing-ca.pem;\n{}", srv(hop)), s()),
        case("missing CA, verification on", "cert-file-missing", T, "SSL_CTX_load_verify_locations",
            format!("proxy_ssl_verify on;\nproxy_ssl_trusted_certificate missing-ca.pem;\n{}", srv(hop)), s()),
        case("missing CRL, verification on", "cert-file-missing", T, "X509_LOOKUP_load_file",
            format!("proxy_ssl_verify on;\nproxy_ssl_trusted_certificate {ca};\nproxy_ssl_crl missing.crl;\n{}", srv(hop)), s()),
        case("missing password file, no hop at all", "cert-file-missing", T, "open()",
            format!("proxy_ssl_password_file missing.pass;\n{}", srv("location / { return 204; }")), s()),
        case("certificate with variables, missing key file", "cert-file-missing", F, "",
            format!("proxy_ssl_certificate $host.crt;\nproxy_ssl_certificate_key missing.key;\n{}", srv(hop)), s()),
        case("empty key with a certificate", "cert-file-missing", T, "cannot load certificate key",
            format!("proxy_ssl_certificate {crt};\nproxy_ssl_certificate_key \"\";\n{}", srv(hop)), s()),
        case("stream missing certificate file", "cert-file-missing", T, "cannot load certificate",
            s(), format!("proxy_ssl_certificate missing.crt;\nproxy_ssl_certificate_key {key_};\nserver {{ listen 127.0.0.1:2; proxy_pass 127.0.0.1:9; proxy_ssl on; }}")),
        // ssl-in-if
        case("proxy_ssl_server_name inside if", "ssl-in-if", T, not_here,
            srv("location / {\n  proxy_pass https://127.0.0.1:9;\n  if ($request_method = POST) { proxy_ssl_server_name on; }\n }"), s()),
        case("proxy_ssl_name inside limit_except", "ssl-in-if", T, not_here,
            srv("location / {\n  proxy_pass https://127.0.0.1:9;\n  limit_except GET { proxy_ssl_name a.example.com; }\n }"), s()),
        case("proxy_ssl_name inside upstream", "ssl-in-if", T, not_here,
            format!("upstream u {{ server 127.0.0.1:9; proxy_ssl_name a.example.com; }}\n{}", srv("location / { proxy_pass https://u; }")), s()),
        case("grpc_ssl_verify inside a server-level if", "ssl-in-if", T, not_here,
            srv(" if ($host) { grpc_ssl_verify on; }\n location / { return 204; }"), s()),
        // without the stream module nginx does not know proxy_ssl at all
        case("stream-only proxy_ssl inside an http if", "ssl-in-if", T, "\"proxy_ssl\"",
            srv("location / {\n  if ($host) { proxy_ssl on; }\n  proxy_pass https://127.0.0.1:9;\n }"), s()),
        case("stream-only proxy_ssl inside an http if, stream module loaded", "ssl-in-if", T, "\"proxy_ssl\" directive is not allowed here",
            srv("location / {\n  if ($host) { proxy_ssl on; }\n  proxy_pass https://127.0.0.1:9;\n }"),
            "server { listen 127.0.0.1:2; return x; }".into()),
        case("proxy_ssl_name inside a stream upstream", "ssl-in-if", T, not_here,
            s(), "upstream u { server 127.0.0.1:9; proxy_ssl_name a.example.com; }\nserver { listen 127.0.0.1:2; proxy_pass u; }".into()),
        case("the same lines in the location are fine", "ssl-in-if", F, "",
            srv("location / {\n  proxy_pass https://127.0.0.1:9;\n  proxy_ssl_server_name on;\n  proxy_ssl_name a.example.com;\n  if ($request_method = POST) { return 405; }\n }"), s()),
    ];
    // relative certificate files that exist under the prefix
    let mut ok = case("relative certificate files in the prefix", "cert-file-missing", F, "",
        format!("proxy_ssl_certificate certs/client.crt;\nproxy_ssl_certificate_key certs/client.key;\nproxy_ssl_password_file certs/pass.txt;\n{}", srv(hop)), s());
    ok.files = vec![
        ("certs/client.crt", cert.to_path_buf()),
        ("certs/client.key", key.to_path_buf()),
        ("certs/pass.txt", PathBuf::new()),
    ];
    v.push(ok);
    v
}

#[test]
fn error_findings_match_nginx_t() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = nginx_version(&nginx);
    let module = stream_module(&nginx);
    if module.is_none() {
        assert!(
            !in_ci(),
            "CI must install the nginx stream module (libnginx-mod-stream)"
        );
        eprintln!("note: no stream module; stream cases skipped");
    }
    let pki_dir = tempfile::tempdir().expect("pki dir");
    let ca = TestCa::new(pki_dir.path());
    let leaf = ca.leaf("client", &["client.test"]);

    let mut failures = Vec::new();
    let mut ran = 0;
    for c in cases(&ca.cert, &leaf.cert, &leaf.key) {
        if !c.stream.is_empty() && module.is_none() {
            continue;
        }
        ran += 1;
        let prefix = Prefix::new("calib");
        // the stream module is loaded only for cases that use stream
        let module_line = module.as_deref().filter(|_| !c.stream.is_empty());
        write_conf(&prefix, module_line, &c.http, &c.stream);
        for (rel, from) in &c.files {
            let text = if from.as_os_str().is_empty() {
                "unused\n".to_string()
            } else {
                fs::read_to_string(from).expect("read pki file")
            };
            prefix.write(rel, &text);
        }
        let (accepted, stderr) = nginx_test(&nginx, prefix.path());
        let (m, findings) = hopscope(&prefix.conf_path(), version);
        let errors: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        let show = |fs: &[&Finding]| {
            fs.iter()
                .map(|f| {
                    format!(
                        "  {}[{}] {}: {}",
                        f.severity,
                        f.rule,
                        m.file_line(f.dir),
                        f.message
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut problems = Vec::new();
        if let Some(expect_fail) = c.fails {
            if expect_fail == accepted {
                problems.push(format!(
                    "harness: expected nginx -t to {}",
                    if expect_fail { "fail" } else { "pass" }
                ));
            }
        }
        if accepted != errors.is_empty() {
            problems.push(format!(
                "nginx -t {} but hopscope reports {} error finding(s)",
                if accepted {
                    "accepts the config"
                } else {
                    "rejects the config"
                },
                errors.len()
            ));
        }
        if !accepted {
            if !stderr.contains(c.nginx_says) {
                problems.push(format!("nginx's message lacks {:?}", c.nginx_says));
            }
            if !errors.iter().any(|f| f.rule == c.rule) {
                problems.push(format!("no error finding from {}", c.rule));
            }
        }
        // the other side of an error rule: no error, but maybe a lower finding
        if !problems.is_empty() {
            failures.push(format!(
                "case {:?} (nginx {version}):\n{}\n--- nginx -t ---\n{}--- hopscope errors ---\n{}\n--- all findings ---\n{}\n--- nginx.conf ---\n{}",
                c.name,
                problems.join("\n"),
                stderr,
                show(&errors),
                show(&findings.iter().collect::<Vec<_>>()),
                prefix.read("nginx.conf")
            ));
        }
        // extra: the accepted key-without-certificate case is still reported, lower
        if c.name.starts_with("key without certificate") {
            let low: Vec<_> = findings
                .iter()
                .filter(|f| f.rule == "cert-no-key")
                .map(|f| f.severity)
                .collect();
            if low != [Severity::Low] {
                failures.push(format!(
                    "case {:?}: expected one low cert-no-key, got {low:?}",
                    c.name
                ));
            }
        }
        if c.name == "missing CA, verification off" {
            let sev: Vec<_> = findings
                .iter()
                .filter(|f| f.rule == "cert-file-missing")
                .map(|f| f.severity)
                .collect();
            if sev != [Severity::Low] {
                failures.push(format!(
                    "case {:?}: expected one low cert-file-missing, got {sev:?}",
                    c.name
                ));
            }
        }
    }
    eprintln!(
        "{ran} nginx -t calibration cases against nginx {version} in {:?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {ran} cases disagree:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// 2. What the upstream really sees
// ---------------------------------------------------------------------------

fn openssl(args: &[&str], cwd: &Path) {
    let out = Command::new(openssl_bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA chain root -> int1 -> int2 with leaves `one` (signed by int1) and
/// `two` (signed by int2), both for DNS:upstream.test. Writes
/// `one-chain.crt` (leaf + int1) and `two-chain.crt` (leaf + int2 + int1).
fn chain_pki(dir: &Path) {
    fs::create_dir_all(dir).expect("pki dir");
    let ca_ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
    let leaf_ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:upstream.test\n";
    fs::write(dir.join("ca.ext"), ca_ext).expect("write");
    fs::write(dir.join("leaf.ext"), leaf_ext).expect("write");
    let key = |stem: &str, subj: &str| {
        openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{stem}.key"),
                "-out",
                &format!("{stem}.csr"),
                "-subj",
                subj,
            ],
            dir,
        )
    };
    let sign = |stem: &str, issuer: &str, ext: &str| {
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &format!("{stem}.csr"),
                "-CA",
                &format!("{issuer}.crt"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-out",
                &format!("{stem}.crt"),
                "-days",
                "2",
                "-extfile",
                ext,
            ],
            dir,
        )
    };
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.crt",
            "-days",
            "2",
            "-subj",
            "/CN=hopscope root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        dir,
    );
    key("int1", "/CN=hopscope int1");
    sign("int1", "root", "ca.ext");
    key("int2", "/CN=hopscope int2");
    sign("int2", "int1", "ca.ext");
    key("one", "/CN=upstream.test");
    sign("one", "int1", "leaf.ext");
    key("two", "/CN=upstream.test");
    sign("two", "int2", "leaf.ext");
    let read = |f: &str| fs::read_to_string(dir.join(f)).expect("read pem");
    fs::write(
        dir.join("one-chain.crt"),
        read("one.crt") + &read("int1.crt"),
    )
    .expect("write");
    fs::write(
        dir.join("two-chain.crt"),
        read("two.crt") + &read("int2.crt") + &read("int1.crt"),
    )
    .expect("write");
}

/// One hop of the front and what must happen on it.
struct WireHop {
    path: &'static str,
    line: usize,
    host: Option<&'static str>,
    status: u16,
    /// The upstream's echo, when status is 200.
    echo: &'static str,
    /// Text that must be in nginx's error log (for 502s).
    log: &'static str,
    fires: &'static [&'static str],
    silent: &'static [&'static str],
}

#[test]
fn the_upstream_sees_what_the_rules_say() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = nginx_version(&nginx);

    // PKI: a test CA for the plain upstream, plus a chain for depth.
    let pki = tempfile::tempdir().expect("pki");
    let ca = TestCa::new(&pki.path().join("ca"));
    let leaf = ca.leaf("upstream", &["upstream.test", "127.0.0.1"]);
    let chain = pki.path().join("chain");
    chain_pki(&chain);

    // Upstream: three TLS ports answering with what they received.
    let (up, up1, up2) = (free_port(), free_port(), free_port());
    let up_prefix = Prefix::new("calib-up");
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    for (port, cert, key) in [
        (up, leaf.cert.clone(), leaf.key.clone()),
        (up1, chain.join("one-chain.crt"), chain.join("one.key")),
        (up2, chain.join("two-chain.crt"), chain.join("two.key")),
    ] {
        f.open("server");
        f.line(format!("listen 127.0.0.1:{port} ssl;"));
        f.line(format!("ssl_certificate {};", cert.display()));
        f.line(format!("ssl_certificate_key {};", key.display()));
        f.line("return 200 \"sni=[$ssl_server_name] host=[$http_host]\";");
        f.close();
    }
    f.close();
    up_prefix.write_conf(&f);
    let (ok, err) = nginx_test(&nginx, up_prefix.path());
    assert!(ok, "harness: upstream config rejected:\n{err}");
    let _upstream = Nginx::start(&nginx, up_prefix.path(), &[up, up1, up2])
        .unwrap_or_else(|e| panic!("harness: upstream nginx: {e}"));

    // Front: one location per behaviour.
    let front = free_port();
    let fr_prefix = Prefix::new("calib-front");
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.open("upstream backend_pool");
    f.line(format!("server 127.0.0.1:{up};"));
    f.close();
    f.open("server");
    f.line(format!("listen 127.0.0.1:{front};"));
    f.line("proxy_ssl_session_reuse off;");
    let ca_line = format!("proxy_ssl_trusted_certificate {};", ca.cert.display());
    let root_line = format!(
        "proxy_ssl_trusted_certificate {};",
        chain.join("root.crt").display()
    );
    let mut hops: Vec<WireHop> = Vec::new();
    let loc = |f: &mut ConfFile, path: &'static str, pass: String, lines: &[&str]| -> usize {
        f.open(format!("location {path}"));
        let n = f.line(format!("proxy_pass {pass};"));
        for l in lines {
            f.line(l);
        }
        f.close();
        n
    };
    let pool = "https://backend_pool/".to_string();
    let ip = format!("https://127.0.0.1:{up}/");
    let on = "proxy_ssl_server_name on;";
    let name = "proxy_ssl_name upstream.test;";

    let line = loc(&mut f, "/off/", pool.clone(), &[]);
    hops.push(WireHop {
        path: "/off/",
        line,
        host: None,
        status: 200,
        echo: "sni=[] host=[backend_pool]",
        log: "",
        fires: &["sni-off", "sni-upstream-name", "verify-off"],
        silent: &["sni-ip-literal", "host-sni-mismatch"],
    });
    let line = loc(&mut f, "/group/", pool.clone(), &[on]);
    hops.push(WireHop {
        path: "/group/",
        line,
        host: None,
        status: 200,
        echo: "sni=[backend_pool] host=[backend_pool]",
        log: "",
        fires: &["sni-upstream-name"],
        silent: &["sni-off", "host-sni-mismatch"],
    });
    let line = loc(&mut f, "/ip/", ip.clone(), &[on]);
    hops.push(WireHop {
        path: "/ip/",
        line,
        host: None,
        status: 200,
        echo: "sni=[] host=[127.0.0.1:",
        log: "",
        fires: &["sni-ip-literal"],
        silent: &["sni-off", "sni-upstream-name"],
    });
    let line = loc(&mut f, "/ignored/", pool.clone(), &[name]);
    hops.push(WireHop {
        path: "/ignored/",
        line,
        host: None,
        status: 200,
        echo: "sni=[] host=[backend_pool]",
        log: "",
        fires: &["sni-name-ignored", "sni-off"],
        silent: &["sni-upstream-name"],
    });
    let line = loc(&mut f, "/host/", pool.clone(), &[on, name]);
    hops.push(WireHop {
        path: "/host/",
        line,
        host: None,
        status: 200,
        echo: "sni=[upstream.test] host=[backend_pool]",
        log: "",
        fires: &["host-sni-mismatch"],
        silent: &["sni-off", "sni-upstream-name", "sni-name-ignored"],
    });
    let line = loc(
        &mut f,
        "/enterprise/",
        pool.clone(),
        &[on, name, "proxy_set_header Host $host;"],
    );
    hops.push(WireHop {
        path: "/enterprise/",
        line,
        host: Some("shop.example"),
        status: 200,
        echo: "sni=[upstream.test] host=[shop.example]",
        log: "",
        fires: &["host-sni-mismatch"],
        silent: &["sni-off"],
    });
    let line = loc(
        &mut f,
        "/dyn/",
        pool.clone(),
        &[on, "proxy_ssl_name $host;"],
    );
    hops.push(WireHop {
        path: "/dyn/",
        line,
        host: Some("chosen-by-client.example:8080"),
        status: 200,
        echo: "sni=[chosen-by-client.example] host=[backend_pool]",
        log: "",
        fires: &["sni-dynamic", "host-sni-mismatch"],
        silent: &["sni-off", "sni-upstream-name"],
    });
    let line = loc(
        &mut f,
        "/fixed/",
        pool.clone(),
        &[
            on,
            name,
            "proxy_set_header Host upstream.test;",
            "proxy_ssl_verify on;",
            &ca_line,
            "proxy_ssl_verify_depth 2;",
        ],
    );
    hops.push(WireHop {
        path: "/fixed/",
        line,
        host: None,
        status: 200,
        echo: "sni=[upstream.test] host=[upstream.test]",
        log: "",
        fires: &[],
        silent: &[
            "sni-off",
            "sni-upstream-name",
            "host-sni-mismatch",
            "verify-off",
            "verify-name-mismatch",
            "verify-depth",
        ],
    });
    // verification against the group name / an address
    let line = loc(
        &mut f,
        "/verify-group/",
        pool.clone(),
        &[on, "proxy_ssl_verify on;", &ca_line],
    );
    hops.push(WireHop {
        path: "/verify-group/",
        line,
        host: None,
        status: 502,
        echo: "",
        log: "upstream SSL certificate does not match \"backend_pool\"",
        fires: &["sni-upstream-name"],
        silent: &["verify-off"],
    });
    let line = loc(
        &mut f,
        "/verify-ip/",
        ip.clone(),
        &["proxy_ssl_verify on;", &ca_line],
    );
    hops.push(WireHop {
        // the certificate HAS an IP SAN 127.0.0.1: nginx still refuses it
        path: "/verify-ip/",
        line,
        host: None,
        status: 502,
        echo: "",
        log: "upstream SSL certificate does not match \"127.0.0.1\"",
        fires: &["verify-name-mismatch", "sni-ip-literal"],
        silent: &["verify-off"],
    });
    // verify off: the upstream's certificate is from a CA nginx does not trust
    let line = loc(
        &mut f,
        "/verify-off/",
        format!("https://127.0.0.1:{up2}/"),
        &[
            on,
            name,
            "proxy_ssl_verify off;",
            "proxy_set_header Host upstream.test;",
        ],
    );
    hops.push(WireHop {
        path: "/verify-off/",
        line,
        host: None,
        status: 200,
        echo: "sni=[upstream.test] host=[upstream.test]",
        log: "",
        fires: &["verify-off"],
        silent: &["sni-off", "host-sni-mismatch"],
    });
    // chain depth: root only in the CA file
    for (path, port, depth, status, log, fires) in [
        ("/depth1-one-intermediate/", up1, None, 200u16, "", false),
        (
            "/depth1-two-intermediates/",
            up2,
            None,
            502,
            "upstream SSL certificate verify error",
            true,
        ),
        ("/depth3-two-intermediates/", up2, Some(3), 200, "", false),
    ] {
        let depth_line = depth.map(|d| format!("proxy_ssl_verify_depth {d};"));
        let mut lines = vec![
            on,
            name,
            "proxy_set_header Host upstream.test;",
            "proxy_ssl_verify on;",
            &root_line,
        ];
        if let Some(d) = &depth_line {
            lines.push(d);
        }
        let line = loc(&mut f, path, format!("https://127.0.0.1:{port}/"), &lines);
        hops.push(WireHop {
            path,
            line,
            host: None,
            status,
            echo: if status == 200 {
                "sni=[upstream.test] host=[upstream.test]"
            } else {
                ""
            },
            log,
            fires: if fires || depth.is_none() {
                &["verify-depth"]
            } else {
                &[]
            },
            silent: if depth.is_some() {
                &["verify-depth", "verify-name-mismatch"]
            } else {
                &["verify-name-mismatch"]
            },
        });
    }
    f.close();
    f.close();
    fr_prefix.write_conf(&f);
    let (ok, err) = nginx_test(&nginx, fr_prefix.path());
    assert!(
        ok,
        "harness: front config rejected:\n{err}\n{}",
        fr_prefix.read("nginx.conf")
    );
    let front_nginx = Nginx::start(&nginx, fr_prefix.path(), &[front])
        .unwrap_or_else(|e| panic!("harness: front nginx: {e}"));

    let (m, findings) = hopscope(&fr_prefix.conf_path(), version);
    let mut failures = Vec::new();
    for h in &hops {
        let id = format!("nginx.conf:{}", h.line);
        let log_before =
            fs::read_to_string(fr_prefix.path().join("logs/error.log")).unwrap_or_default();
        let got = http_get(front, h.path, h.host);
        let log_after =
            fs::read_to_string(fr_prefix.path().join("logs/error.log")).unwrap_or_default();
        let new_log = log_after.get(log_before.len()..).unwrap_or("");
        match &got {
            Ok(r) if r.status == h.status => {
                if h.status == 200 && !r.body.contains(h.echo) {
                    failures.push(format!(
                        "{} ({id}): upstream saw {:?}, expected {:?}",
                        h.path, r.body, h.echo
                    ));
                }
                if !h.log.is_empty() && !new_log.contains(h.log) {
                    failures.push(format!(
                        "{} ({id}): error log lacks {:?}:\n{new_log}",
                        h.path, h.log
                    ));
                }
            }
            Ok(r) => failures.push(format!(
                "{} ({id}): status {} (body {:?}), expected {}\n{new_log}",
                h.path, r.status, r.body, h.status
            )),
            Err(e) => failures.push(format!("{} ({id}): request failed: {e}", h.path)),
        }
        let rules_here: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.hop.is_some_and(|i| m.hops[i].id == id))
            .map(|f| f.rule)
            .collect();
        for r in h.fires {
            if !rules_here.contains(r) {
                failures.push(format!(
                    "{} ({id}): hopscope does not report {r}; it reports {rules_here:?}",
                    h.path
                ));
            }
        }
        for r in h.silent {
            if rules_here.contains(r) {
                failures.push(format!(
                    "{} ({id}): hopscope reports {r}, which nginx's behaviour contradicts",
                    h.path
                ));
            }
        }
        // the SNI the model predicts is the one the upstream really saw
        if let Some(r) = got.as_ref().ok().filter(|r| r.status == 200) {
            if let Some(hop) = m.hops.iter().find(|x| x.id == id) {
                let predicted = match (&hop.sni.name, hop.sni.sent, hop.sni.dynamic) {
                    (_, false, _) => String::new(),
                    (Some(_), true, true) => h
                        .host
                        .map(|x| x.split(':').next().unwrap_or("").to_string())
                        .unwrap_or_default(),
                    (Some(n), true, false) => n.clone(),
                    (None, true, _) => String::new(),
                };
                if !r.body.contains(&format!("sni=[{predicted}]")) {
                    failures.push(format!(
                        "{} ({id}): model predicts SNI {predicted:?}, upstream saw {:?}",
                        h.path, r.body
                    ));
                }
            } else {
                failures.push(format!("{} ({id}): not a hop for hopscope", h.path));
            }
        }
    }
    drop(front_nginx);
    eprintln!(
        "{} wire hops against nginx {version} in {:?}",
        hops.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} problem(s):\n{}\n--- front nginx.conf ---\n{}",
        failures.len(),
        failures.join("\n"),
        fr_prefix.read("nginx.conf")
    );
}

// ---------------------------------------------------------------------------
// 3. Load errors nginx gives: a top-level block anywhere else
// ---------------------------------------------------------------------------

/// A site file that opens its own `http {` (included inside `http`, as
/// Debian's layout does with sites-enabled/*), and `events`/`stream`
/// inside a server: nginx -t stops with `"NAME" directive is not allowed
/// here` at that line, and hopscope reports the same load error there.
#[test]
fn top_level_blocks_elsewhere_are_load_errors_as_in_nginx() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let version = nginx_version(&nginx);
    for (name, body) in [
        ("http", "include site.conf;\n"),
        ("events", "server {\n listen 127.0.0.1:1;\n events { }\n}\n"),
        ("stream", "server {\n listen 127.0.0.1:1;\n stream { }\n}\n"),
    ] {
        // `stream` is a directive only where its module is loaded.
        let module = stream_module(&nginx).filter(|_| name == "stream");
        if name == "stream" && module.is_none() {
            assert!(!in_ci(), "CI must install the nginx stream module");
            continue;
        }
        let prefix = Prefix::new("calib-top");
        write_conf(&prefix, module.as_deref(), body, "");
        prefix.write(
            "site.conf",
            "http {\n server {\n  listen 127.0.0.1:1;\n  location / { proxy_pass https://127.0.0.1:9; }\n }\n}\n",
        );
        let (accepted, stderr) = nginx_test(&nginx, prefix.path());
        let says = format!("\"{name}\" directive is not allowed here");
        assert!(
            !accepted && stderr.contains(&says),
            "{name}: nginx said {stderr}"
        );
        // nginx names the file and line: hopscope's error is at the same one.
        let at = stderr
            .lines()
            .find(|l| l.contains(&says))
            .and_then(|l| l.split(" in ").last())
            .and_then(|tail| tail.trim().rsplit_once(':'))
            .map(|(file, line)| {
                let file = Path::new(file)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (file, line.trim().parse::<u32>().unwrap_or(0))
            })
            .unwrap_or_else(|| panic!("{name}: no file:line in {stderr}"));
        let cfg = conf::load(&Input::Path(prefix.conf_path())).expect("load");
        let m = Model::build(cfg, version);
        let errors: Vec<(String, u32, String)> = m
            .errors()
            .map(|e| (e.file.clone(), e.line, e.message.clone()))
            .collect();
        assert_eq!(errors, [(at.0, at.1, says)], "{name}");
    }
}
