//! Oracle for `stream` hops: what `hopscope hops --json` predicts for a
//! stream `proxy_pass` must be what a REAL nginx does.
//!
//! One upstream nginx (an http TLS server on 127.0.0.1, session cache and
//! tickets off so every handshake is a full one) answers every request with
//! `sni=[$ssl_server_name]`. Three front nginx instances each hold a
//! `stream {}` block whose servers `proxy_pass` to that upstream. A plain
//! HTTP request sent to a front's stream port is forwarded byte for byte;
//! with `proxy_ssl on` it travels over TLS and the upstream answers with the
//! SNI it received, with `proxy_ssl off` it arrives as plain text on a TLS
//! port and the upstream answers 400 ("plain HTTP request was sent to HTTPS
//! port") — so nginx itself tells which servers are hops.
//!
//! Covered: `proxy_ssl` on/off/unset at stream and server level (from the
//! block, from an include, written after the servers), `proxy_ssl_server_name`
//! and `proxy_ssl_name` at both levels, `upstream {}` group names (also
//! spelled in another case, and used before the block is declared), IP and
//! `host:port` targets, names that are literals, `host:port`, IPv4, IPv6,
//! empty, quoted or built from stream variables, servers and settings that
//! come from includes and globs, and `proxy_ssl_verify on`, where the
//! handshake succeeds only if the verify name matches the certificate.
//!
//! Assertions, all collected before failing once:
//! 1. harness: the expectation equals what nginx really did;
//! 2. hopscope: exactly the servers with effective `proxy_ssl on` are hops
//!    (ids `file:line` of the `proxy_pass`), with context/module `stream`,
//!    the SNI nginx sent, the verify name nginx checked, `proxy_host`,
//!    `upstream`, and origin (file, line, level) of the settings involved.

mod common;

use common::oracle::*;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Whole-test budget for sending requests.
const REQUEST_BUDGET: Duration = Duration::from_secs(30);
/// Bound for one `hopscope hops` run.
const HOPSCOPE_TIMEOUT: Duration = Duration::from_secs(20);
/// DNS names in the upstream's certificate (what `proxy_ssl_verify` accepts).
const CERT_DNS: [&str; 2] = ["upstream.test", "verify.stream.example"];
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

// ---------------------------------------------------------------------------
// Model of what nginx does (the harness's own expectation)
// ---------------------------------------------------------------------------

/// One directive as written: the token (quotes kept) and where.
#[derive(Clone, Debug)]
struct Set {
    token: String,
    file: String,
    line: usize,
}

/// The settings written at one level (`stream` or `server`).
#[derive(Clone, Debug, Default)]
struct Level {
    tag: &'static str,
    dirs: BTreeMap<&'static str, Set>,
}

impl Level {
    fn new(tag: &'static str) -> Level {
        Level {
            tag,
            dirs: BTreeMap::new(),
        }
    }

    /// Write `directive token;` at the current position of `f`.
    fn write(&mut self, f: &mut ConfFile, directive: &'static str, token: &str) {
        let line = f.line(format!("{directive} {token};"));
        self.note(directive, token, &f.rel, line);
    }

    /// Record a directive written elsewhere (e.g. by an included file).
    fn note(&mut self, directive: &'static str, token: &str, file: &str, line: usize) {
        let old = self.dirs.insert(
            directive,
            Set {
                token: token.to_string(),
                file: file.to_string(),
                line,
            },
        );
        assert!(old.is_none(), "harness: {directive} twice at one level");
    }

    fn summary(&self) -> String {
        self.dirs
            .iter()
            .map(|(d, s)| format!("{}={}", d.trim_start_matches("proxy_ssl_"), s.token))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The effective directive for a (stream, server) chain: nearest level wins.
fn effective<'a>(chain: &'a [&'a Level], directive: &str) -> Option<(&'a Level, &'a Set)> {
    chain
        .iter()
        .rev()
        .find_map(|l| l.dirs.get(directive).map(|s| (*l, s)))
}

/// Stream variables a name may use, for a front listening on `port`.
fn stream_vars(port: u16) -> HashMap<&'static str, String> {
    let mut v = HashMap::new();
    v.insert("server_port", port.to_string());
    v.insert("server_addr", "127.0.0.1".to_string());
    v
}

// ---------------------------------------------------------------------------
// Generated servers
// ---------------------------------------------------------------------------

/// An `upstream {}` block: its name as declared and where.
#[derive(Clone, Debug)]
struct Group {
    name: String,
    file: String,
    line: usize,
}

#[derive(Clone, Debug)]
struct Server {
    /// `file:line` of the `proxy_pass`.
    id: String,
    port: u16,
    /// `proxy_pass` argument as written.
    target: String,
    /// The upstream{} block the target names, if any.
    group: Option<Group>,
    /// `uscf->host`: the spelling nginx keeps for the upstream (first seen).
    base: String,
    stream: Level,
    server: Level,
    summary: String,
}

/// What the harness expects nginx to do for one server.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// Plain TCP to the TLS port: the upstream answers 400.
    Plain,
    /// TLS; the upstream saw this SNI (empty = none).
    Tls(String),
    /// TLS with verification that fails: the connection is closed.
    VerifyFails,
}

impl Server {
    fn chain(&self) -> [&Level; 2] {
        [&self.stream, &self.server]
    }

    fn is_hop(&self) -> bool {
        effective(&self.chain(), "proxy_ssl").is_some_and(|(_, s)| s.token == "on")
    }

    fn flag(&self, directive: &str) -> bool {
        effective(&self.chain(), directive).is_some_and(|(_, s)| s.token == "on")
    }

    /// The name before port stripping (evaluated).
    fn name(&self) -> String {
        let expr = effective(&self.chain(), "proxy_ssl_name")
            .map(|(_, s)| unquote(&s.token).to_string())
            .unwrap_or_else(|| self.base.clone());
        eval_expr(&expr, &stream_vars(self.port)).expect("harness: name")
    }

    fn expected(&self) -> Outcome {
        if !self.is_hop() {
            return Outcome::Plain;
        }
        let name = self.name();
        if self.flag("proxy_ssl_verify") {
            let v = strip_port(&name);
            if !CERT_DNS.iter().any(|d| d.eq_ignore_ascii_case(v)) {
                return Outcome::VerifyFails;
            }
        }
        Outcome::Tls(nginx_sni(self.flag("proxy_ssl_server_name"), &name))
    }
}

fn show(o: &Outcome) -> String {
    match o {
        Outcome::Plain => "plain (not TLS)".into(),
        Outcome::Tls(s) if s.is_empty() => "TLS, no SNI".into(),
        Outcome::Tls(s) => format!("TLS, SNI {s}"),
        Outcome::VerifyFails => "TLS, verify fails".into(),
    }
}

/// An include written in a server: (path, the settings it holds as
/// (directive, token, line)).
type SrvInclude<'a> = (&'a str, Vec<(&'static str, String, usize)>);

struct Front {
    label: &'static str,
    up: u16,
    ca: String,
    localhost_ok: bool,
    prefix: Prefix,
    ports: Vec<u16>,
    servers: Vec<Server>,
    /// Upstream groups by lower-case name: (declared group, spelling nginx keeps).
    groups: HashMap<String, (Option<Group>, String)>,
    /// Implicit upstreams (`host:port` targets) by lower-case target: the
    /// spelling nginx keeps.
    implicit: HashMap<String, String>,
    name_rot: usize,
    target_rot: usize,
}

const ONOFF: [Option<&str>; 3] = [None, Some("on"), Some("off")];

impl Front {
    fn new(label: &'static str, up: u16, ca: &Path, localhost_ok: bool) -> Front {
        Front {
            label,
            up,
            ca: ca.display().to_string(),
            localhost_ok,
            prefix: Prefix::new(&format!("stream-{label}")),
            ports: Vec::new(),
            servers: Vec::new(),
            groups: HashMap::new(),
            implicit: HashMap::new(),
            name_rot: 0,
            target_rot: 0,
        }
    }

    fn port(&mut self) -> u16 {
        let p = free_port();
        self.ports.push(p);
        p
    }

    /// Declare `upstream NAME { server 127.0.0.1:UP; }`.
    fn upstream_block(&mut self, f: &mut ConfFile, name: &str) {
        let line = f.open(format!("upstream {name}"));
        f.line(format!("server 127.0.0.1:{};", self.up));
        f.close();
        let g = Group {
            name: name.to_string(),
            file: f.rel.clone(),
            line,
        };
        let e = self
            .groups
            .entry(name.to_ascii_lowercase())
            .or_insert((None, name.to_string()));
        e.0 = Some(g);
    }

    /// Note a reference to a group (the first spelling seen is what nginx keeps).
    fn group_ref(&mut self, name: &str) -> String {
        self.groups
            .entry(name.to_ascii_lowercase())
            .or_insert((None, name.to_string()))
            .1
            .clone()
    }

    /// A `proxy_ssl_name` token; the kind rotates through the name space.
    fn name_token(&mut self, label: &str) -> String {
        let cfg = self.label;
        let k = self.name_rot % 11;
        self.name_rot += 1;
        match k {
            0 => format!("{label}.{cfg}.stream.example"),
            1 => "127.0.0.1".into(),
            2 => format!("{label}.{cfg}.stream.example:8443"),
            3 => format!("\"{label}.{cfg}.stream.example\""),
            4 => "\"\"".into(),
            5 => format!("stream-$server_port.{cfg}.example"),
            6 => format!(
                "{}.{}.Stream.Example",
                label.to_ascii_uppercase(),
                cfg.to_ascii_uppercase()
            ),
            7 => "[::1]".into(),
            8 => format!("'${{server_port}}.{cfg}.dyn.example:99'"),
            9 => "$server_addr".into(),
            _ => "'[::1]:443'".into(),
        }
    }

    /// The next target (rotating), with the group it names.
    fn next_target(&mut self) -> (String, Option<String>) {
        let up = self.up;
        let k = self.target_rot % 5;
        self.target_rot += 1;
        match k {
            0 => ("backend".into(), Some("backend".into())),
            1 => (format!("127.0.0.1:{up}"), None),
            2 => (
                "grp.stream.example".into(),
                Some("grp.stream.example".into()),
            ),
            3 if self.localhost_ok => (format!("localhost:{up}"), None),
            3 => ("BACKEND".into(), Some("BACKEND".into())),
            _ => ("Backend".into(), Some("Backend".into())),
        }
    }

    /// Write a server: `listen`, the server-level settings (before or after
    /// the `proxy_pass`), the `proxy_pass`; record it.
    #[allow(clippy::too_many_arguments)]
    fn server(
        &mut self,
        f: &mut ConfFile,
        stream: &Level,
        settings: &[(&'static str, String)],
        target: (String, Option<String>),
        after: bool,
        includes: &[SrvInclude],
    ) {
        let port = self.port();
        let mut lvl = Level::new("server");
        f.open("server");
        f.line(format!("listen 127.0.0.1:{port};"));
        for (inc, notes) in includes {
            f.line(format!("include {inc};"));
            for (d, tok, line) in notes {
                lvl.note(d, tok, inc, *line);
            }
        }
        if !after {
            for (d, t) in settings {
                lvl.write(f, d, t);
            }
        }
        let line = f.line(format!("proxy_pass {};", target.0));
        if after {
            for (d, t) in settings {
                lvl.write(f, d, t);
            }
        }
        f.close();
        let (group, base) = match &target.1 {
            Some(g) => {
                let kept = self.group_ref(g);
                (Some(g.to_ascii_lowercase()), kept)
            }
            None => {
                // an implicit upstream: one per host:port (host compared
                // case-insensitively), whose host is spelled as first seen
                let kept = self
                    .implicit
                    .entry(target.0.to_ascii_lowercase())
                    .or_insert_with(|| target.0.clone())
                    .clone();
                (None, kept.split(':').next().unwrap_or("").to_string())
            }
        };
        let summary = format!(
            "[{}] stream{{{}}} > server :{port}{{{}}} > proxy_pass {}",
            self.label,
            stream.summary(),
            lvl.summary(),
            target.0
        );
        self.servers.push(Server {
            id: format!("{}:{line}", f.rel),
            port,
            target: target.0,
            // resolved once everything is declared (see `finish`)
            group: group.map(|g| Group {
                name: g,
                file: String::new(),
                line: 0,
            }),
            base,
            stream: stream.clone(),
            server: lvl,
            summary,
        });
    }

    /// 3 (proxy_ssl) x 3 (server_name) x 2 (name) server variants;
    /// settings written after the `proxy_pass` in every other server.
    fn matrix(&mut self, f: &mut ConfFile, stream: &Level, tag: &str) {
        let mut i = 0;
        for ssl in ONOFF {
            for sn in ONOFF {
                for named in [false, true] {
                    let mut s: Vec<(&'static str, String)> = Vec::new();
                    if let Some(v) = ssl {
                        s.push(("proxy_ssl", v.into()));
                    }
                    if let Some(v) = sn {
                        s.push(("proxy_ssl_server_name", v.into()));
                    }
                    if named {
                        let t = self.name_token(&format!("{tag}{i}"));
                        s.push(("proxy_ssl_name", t));
                    }
                    let t = self.next_target();
                    self.server(f, stream, &s, t, i % 2 == 1, &[]);
                    i += 1;
                }
            }
        }
    }

    /// Fill in the declared groups once the whole config is written.
    fn finish(&mut self) {
        for s in &mut self.servers {
            if let Some(g) = &s.group {
                let (declared, kept) = self
                    .groups
                    .get(&g.name)
                    .cloned()
                    .unwrap_or_else(|| panic!("harness: group {} never declared", g.name));
                s.group = Some(declared.expect("harness: group declared"));
                s.base = kept;
            }
        }
    }
}

fn preamble(f: &mut ConfFile) {
    f.line(format!("load_module {STREAM_MODULE};"));
    write_main_preamble(f);
}

/// Front a: nothing about TLS at stream level except a
/// `proxy_ssl_server_name on` written between the servers; hand-written
/// cases (group spellings, verify, includes in a server, localhost).
fn front_a(up: u16, up2: u16, ca: &Path, localhost_ok: bool) -> Front {
    let mut fr = Front::new("a", up, ca, localhost_ok);
    let mut f = ConfFile::new("nginx.conf");
    preamble(&mut f);
    f.open("stream");
    // `lategroup` is used before `upstream LateGroup` is declared.
    let late_port_line = {
        let mut stream = Level::new("stream");
        stream.dirs.clear();
        let s = vec![
            ("proxy_ssl", "on".to_string()),
            ("proxy_ssl_server_name", "on".to_string()),
        ];
        fr.server(
            &mut f,
            &stream,
            &s,
            ("lategroup".into(), Some("lategroup".into())),
            false,
            &[],
        );
        fr.servers.len() - 1
    };
    fr.upstream_block(&mut f, "backend");
    fr.upstream_block(&mut f, "grp.stream.example");
    // The stream-level setting is written here, after one server: it still
    // applies to every server of the block.
    let mut stream = Level::new("stream");
    stream.write(&mut f, "proxy_ssl_server_name", "on");
    fr.servers[late_port_line].stream = stream.clone();
    let sum = fr.servers[late_port_line]
        .summary
        .replace("stream{}", &format!("stream{{{}}}", stream.summary()));
    fr.servers[late_port_line].summary = sum;
    fr.matrix(&mut f, &stream, "a");

    // verify: the handshake succeeds only if the verify name is in the cert
    let ca_tok = fr.ca.clone();
    for (names, target) in [
        (
            vec![("proxy_ssl_name", "verify.stream.example".to_string())],
            "backend",
        ),
        (
            vec![
                ("proxy_ssl_server_name", "off".to_string()),
                ("proxy_ssl_name", "Verify.Stream.Example:9443".to_string()),
            ],
            "backend",
        ),
        (vec![], "backend"),
        (
            vec![("proxy_ssl_name", "127.0.0.1".to_string())],
            "grp.stream.example",
        ),
    ] {
        let mut s = vec![
            ("proxy_ssl", "on".to_string()),
            ("proxy_ssl_verify", "on".to_string()),
            ("proxy_ssl_trusted_certificate", ca_tok.clone()),
        ];
        s.extend(names);
        fr.server(
            &mut f,
            &stream,
            &s,
            (target.into(), Some(target.into())),
            false,
            &[],
        );
    }

    // settings from an include inside the server, name written after it
    let mut inc = ConfFile::new("stream.d/a-srv-tls.conf");
    let l1 = inc.line("proxy_ssl on;");
    let l2 = inc.line("proxy_ssl_server_name on;");
    fr.prefix.write_conf(&inc);
    let t = ("backend".to_string(), Some("backend".to_string()));
    fr.server(
        &mut f,
        &stream,
        &[("proxy_ssl_name", "from-include.a.stream.example".into())],
        t,
        true,
        &[(
            "stream.d/a-srv-tls.conf",
            vec![
                ("proxy_ssl", "on".into(), l1),
                ("proxy_ssl_server_name", "on".into(), l2),
            ],
        )],
    );
    // the same include, then `proxy_ssl off` in the server: not a hop...
    // nginx rejects a duplicate, so the include holds only server_name here
    let mut inc2 = ConfFile::new("stream.d/a-srv-sn.conf");
    let l3 = inc2.line("proxy_ssl_server_name on;");
    fr.prefix.write_conf(&inc2);
    fr.server(
        &mut f,
        &stream,
        &[("proxy_ssl", "off".into())],
        (format!("127.0.0.1:{up}"), None),
        false,
        &[(
            "stream.d/a-srv-sn.conf",
            vec![("proxy_ssl_server_name", "on".into(), l3)],
        )],
    );

    // group names in another case than declared
    for t in ["BACKEND", "Grp.Stream.Example"] {
        fr.server(
            &mut f,
            &stream,
            &[("proxy_ssl", "on".into())],
            (t.into(), Some(t.into())),
            false,
            &[],
        );
    }
    // dynamic names
    for tok in [
        "stream-$server_port.example",
        "\"${server_port}.dyn.example:8443\"",
        "$server_addr",
    ] {
        fr.server(
            &mut f,
            &stream,
            &[("proxy_ssl", "on".into()), ("proxy_ssl_name", tok.into())],
            (format!("127.0.0.1:{up}"), None),
            false,
            &[],
        );
    }
    // an implicit upstream spelled in two cases (on a port no other server
    // uses): both share one upstream, whose host is spelled as first seen
    if localhost_ok {
        for t in ["Localhost", "localhost"] {
            fr.server(
                &mut f,
                &stream,
                &[("proxy_ssl", "on".into())],
                (format!("{t}:{up2}"), None),
                false,
                &[],
            );
        }
    }
    // a group declared in mixed case, used in lower case
    fr.upstream_block(&mut f, "MixedGroup");
    fr.server(
        &mut f,
        &stream,
        &[("proxy_ssl", "on".into())],
        ("mixedgroup".into(), Some("mixedgroup".into())),
        false,
        &[],
    );
    // declared last; used before (above) in lower case and after in upper case
    fr.upstream_block(&mut f, "LateGroup");
    fr.server(
        &mut f,
        &stream,
        &[
            ("proxy_ssl", "on".into()),
            ("proxy_ssl_server_name", "on".into()),
        ],
        ("LATEGROUP".into(), Some("LATEGROUP".into())),
        false,
        &[],
    );
    f.close();
    fr.prefix.write_conf(&f);
    fr.finish();
    fr
}

/// Front b: `proxy_ssl on` and `proxy_ssl_server_name on` at stream level,
/// from an include.
fn front_b(up: u16, ca: &Path, localhost_ok: bool) -> Front {
    let mut fr = Front::new("b", up, ca, localhost_ok);
    let mut f = ConfFile::new("nginx.conf");
    preamble(&mut f);
    f.open("stream");
    fr.upstream_block(&mut f, "backend");
    fr.upstream_block(&mut f, "grp.stream.example");
    let mut inc = ConfFile::new("stream.d/b-stream.conf");
    let l1 = inc.line("proxy_ssl on;");
    let l2 = inc.line("proxy_ssl_server_name on;");
    fr.prefix.write_conf(&inc);
    f.line("include stream.d/b-stream.conf;");
    let mut stream = Level::new("stream");
    stream.note("proxy_ssl", "on", &inc.rel, l1);
    stream.note("proxy_ssl_server_name", "on", &inc.rel, l2);
    fr.matrix(&mut f, &stream, "b");
    f.close();
    fr.prefix.write_conf(&f);
    fr.finish();
    fr
}

/// Front c: `proxy_ssl on` and `proxy_ssl_server_name off` at the top of
/// stream, servers in files matched by a glob, `proxy_ssl_name` at stream
/// level written after them.
fn front_c(up: u16, ca: &Path, localhost_ok: bool) -> Front {
    let mut fr = Front::new("c", up, ca, localhost_ok);
    let mut f = ConfFile::new("nginx.conf");
    preamble(&mut f);
    f.open("stream");
    let mut stream = Level::new("stream");
    stream.write(&mut f, "proxy_ssl", "on");
    stream.write(&mut f, "proxy_ssl_server_name", "off");
    fr.upstream_block(&mut f, "backend");
    fr.upstream_block(&mut f, "grp.stream.example");
    f.line("include stream.d/c-*.conf;");
    // written after the include, known before generating the servers
    let name_line = f.next_line();
    stream.note(
        "proxy_ssl_name",
        "c-stream.example:8443",
        "nginx.conf",
        name_line,
    );
    // 18 servers over three files (sorted glob order = file order)
    let mut files: Vec<ConfFile> = ["c-1.conf", "c-2.conf", "c-3.conf"]
        .iter()
        .map(|n| ConfFile::new(&format!("stream.d/{n}")))
        .collect();
    let mut i = 0;
    for ssl in ONOFF {
        for sn in ONOFF {
            for named in [false, true] {
                let mut s: Vec<(&'static str, String)> = Vec::new();
                if let Some(v) = ssl {
                    s.push(("proxy_ssl", v.into()));
                }
                if let Some(v) = sn {
                    s.push(("proxy_ssl_server_name", v.into()));
                }
                if named {
                    let t = fr.name_token(&format!("c{i}"));
                    s.push(("proxy_ssl_name", t));
                }
                let t = fr.next_target();
                let g = &mut files[i % 3];
                fr.server(g, &stream, &s, t, i % 2 == 0, &[]);
                i += 1;
            }
        }
    }
    for g in &files {
        fr.prefix.write_conf(g);
    }
    let l = f.line("proxy_ssl_name c-stream.example:8443;");
    assert_eq!(l, name_line);
    f.close();
    fr.prefix.write_conf(&f);
    fr.finish();
    fr
}

// ---------------------------------------------------------------------------
// Upstream
// ---------------------------------------------------------------------------

/// Ask nginx: send a plain HTTP request to the front's stream port.
fn observe(port: u16) -> Result<Outcome, String> {
    match http_get(port, "/", Some("stream.test")) {
        Ok(r) if r.status == 200 => between(&r.body, "sni=[", "]")
            .map(|s| Outcome::Tls(s.to_string()))
            .ok_or_else(|| format!("HTTP 200 without sni=[…]: {:?}", r.body)),
        Ok(r) if r.status == 400 && r.body.contains("plain HTTP request") => Ok(Outcome::Plain),
        Ok(r) => Err(format!(
            "HTTP {}: {:?}",
            r.status,
            r.body.chars().take(120).collect::<String>()
        )),
        // the front closed the connection without a byte (or reset it, as
        // the request was left unread): the handshake failed
        Err(e) if e.starts_with("no end of headers in \"\"") || e.contains("reset by peer") => {
            Ok(Outcome::VerifyFails)
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// hopscope
// ---------------------------------------------------------------------------

/// What hopscope's `sni` predicts, evaluated for this server.
fn predicted_sni(h: &Value, s: &Server) -> Result<String, String> {
    let sni = &h["sni"];
    let sent = sni["sent"]
        .as_bool()
        .ok_or_else(|| format!("sni.sent missing: {sni}"))?;
    if !sent {
        return Ok(String::new());
    }
    let name = sni["name"]
        .as_str()
        .ok_or_else(|| format!("sni.sent is true but sni.name is {}", sni["name"]))?;
    if !sni["dynamic"].as_bool().unwrap_or(false) {
        return Ok(name.to_string());
    }
    let v = eval_expr(name, &stream_vars(s.port))?;
    Ok(nginx_sni(true, &v))
}

/// Every way a hop's JSON departs from the harness's model.
fn check_hop(h: &Value, s: &Server) -> Vec<String> {
    let mut bad = Vec::new();
    let mut eq = |what: &str, got: &Value, want: Value| {
        if *got != want {
            bad.push(format!("{what}: hopscope {got}, expected {want}"));
        }
    };
    eq("context", &h["context"], "stream".into());
    eq("module", &h["module"], "stream".into());
    eq("directive", &h["directive"], "proxy_pass".into());
    eq("target", &h["target"], s.target.clone().into());
    eq("proxy_host", &h["proxy_host"], s.target.clone().into());
    eq("locations", &h["locations"], serde_json::json!([]));
    eq(
        "listen",
        &h["listen"],
        serde_json::json!([format!("127.0.0.1:{}", s.port)]),
    );
    let want_up = match &s.group {
        Some(g) => serde_json::json!({"name": g.name, "file": g.file, "line": g.line}),
        None => Value::Null,
    };
    let got_up = match &h["upstream"] {
        Value::Object(o) => {
            serde_json::json!({"name": o.get("name"), "file": o.get("file"), "line": o.get("line")})
        }
        other => other.clone(),
    };
    eq("upstream", &got_up, want_up);
    // settings: origin of what the harness wrote, defaults otherwise
    let chain = s.chain();
    for (d, default) in [
        ("proxy_ssl", Value::from("off")),
        ("proxy_ssl_server_name", Value::from("off")),
        ("proxy_ssl_name", Value::Null),
        ("proxy_ssl_verify", Value::from("off")),
        ("proxy_ssl_trusted_certificate", Value::Null),
    ] {
        let want = match effective(&chain, d) {
            Some((lvl, set)) => serde_json::json!({
                "value": unquote(&set.token), "origin": "explicit",
                "file": set.file, "line": set.line, "level": lvl.tag,
            }),
            None => serde_json::json!({"value": default, "origin": "default"}),
        };
        eq(&format!("settings.{d}"), &h["settings"][d], want);
    }
    // the verify name: the name nginx checks, port removed (static names)
    if s.flag("proxy_ssl_verify") {
        let want = strip_port(&s.name()).to_string();
        eq("verify_name", &h["verify_name"], want.into());
    }
    bad
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

#[test]
fn hopscope_stream_hops_match_real_nginx() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let missing = (!Path::new(STREAM_MODULE).is_file())
        .then(|| format!("{STREAM_MODULE} is not installed (libnginx-mod-stream)"));
    if !required("the stream oracle", missing) {
        return;
    }
    let started = Instant::now();

    let (up, up2) = (free_port(), free_port());
    let up_prefix = Prefix::new("stream-upstream");
    let mut names: Vec<&str> = CERT_DNS.to_vec();
    names.push("127.0.0.1");
    let ca = sni_upstream(&up_prefix, &[up, up2], &names);
    let (ok, err) = nginx_test(&nginx, up_prefix.path());
    assert!(ok, "harness bug: nginx -t rejects the upstream:\n{err}");
    let _upstream = Nginx::start(&nginx, up_prefix.path(), &[up, up2])
        .unwrap_or_else(|e| panic!("harness bug: upstream nginx: {e}"));

    let localhost_ok = localhost_is_only_127();
    if !localhost_ok {
        eprintln!("note: `localhost` is not only 127.0.0.1 here; localhost targets left out");
    }
    let fronts = vec![
        front_a(up, up2, &ca, localhost_ok),
        front_b(up, &ca, localhost_ok),
        front_c(up, &ca, localhost_ok),
    ];
    for fr in &fronts {
        let (ok, err) = nginx_test(&nginx, fr.prefix.path());
        assert!(
            ok,
            "harness bug: nginx -t rejects stream front {} ({}):\n{err}\n--- nginx.conf ---\n{}",
            fr.label,
            fr.prefix.conf_path().display(),
            fr.prefix.read("nginx.conf")
        );
    }
    let _running: Vec<Nginx> = fronts
        .iter()
        .map(|fr| {
            Nginx::start(&nginx, fr.prefix.path(), &fr.ports)
                .unwrap_or_else(|e| panic!("harness bug: front nginx {}: {e}", fr.label))
        })
        .collect();
    let servers: usize = fronts.iter().map(|f| f.servers.len()).sum();
    let hops: usize = fronts
        .iter()
        .map(|f| f.servers.iter().filter(|s| s.is_hop()).count())
        .sum();
    eprintln!(
        "generated {servers} stream servers ({hops} TLS hops) in {} fronts; nginx up after {:?}",
        fronts.len(),
        started.elapsed()
    );
    assert!(hops >= 20, "harness: only {hops} stream hops generated");

    // ask nginx
    let mut seen: HashMap<(usize, String), Result<Outcome, String>> = HashMap::new();
    let req_started = Instant::now();
    for (fi, fr) in fronts.iter().enumerate() {
        for s in &fr.servers {
            let r = if req_started.elapsed() > REQUEST_BUDGET {
                Err(format!("not sent: budget {REQUEST_BUDGET:?} exhausted"))
            } else {
                observe(s.port)
            };
            seen.insert((fi, s.id.clone()), r);
        }
    }
    eprintln!("{servers} requests answered in {:?}", req_started.elapsed());

    let mut report = String::new();

    // 1. harness vs nginx
    let mut harness = 0;
    for (fi, fr) in fronts.iter().enumerate() {
        for s in &fr.servers {
            let want = s.expected();
            match &seen[&(fi, s.id.clone())] {
                Ok(o) if *o == want => {}
                other => {
                    harness += 1;
                    let _ = writeln!(
                        report,
                        "HARNESS {}/{}: expected {}, nginx {:?}\n    {}",
                        fr.label,
                        s.id,
                        show(&want),
                        other.as_ref().map(show),
                        s.summary
                    );
                }
            }
        }
    }

    // 2. hopscope vs nginx
    let mut wrong = 0;
    let mut compared = 0;
    for (fi, fr) in fronts.iter().enumerate() {
        let conf = fr.prefix.conf_path();
        let run = hopscope_run(
            &[
                "hops".as_ref(),
                conf.as_os_str(),
                "--json".as_ref(),
                "--nginx-version".as_ref(),
                "1.22.1".as_ref(),
            ],
            None,
            HOPSCOPE_TIMEOUT,
        );
        let json = match (run.code, run.json()) {
            (Some(0), Ok(j)) => j,
            (code, j) => {
                wrong += 1;
                let _ = writeln!(
                    report,
                    "HOPSCOPE front {}: exit {code:?} (timed out: {}), {:?}\nstderr: {}",
                    fr.label,
                    run.timed_out,
                    j.err(),
                    run.stderr
                );
                continue;
            }
        };
        if json["errors"].as_array().is_some_and(|e| !e.is_empty()) {
            wrong += 1;
            let _ = writeln!(
                report,
                "HOPSCOPE front {}: load errors on a config nginx accepts: {}",
                fr.label, json["errors"]
            );
        }
        let got: Vec<&Value> = json["hops"]
            .as_array()
            .map_or(vec![], |a| a.iter().collect());
        let by_id: BTreeMap<&str, &Value> = got
            .iter()
            .filter_map(|h| h["id"].as_str().map(|id| (id, *h)))
            .collect();
        let want_ids: HashSet<&str> = fr
            .servers
            .iter()
            .filter(|s| s.is_hop())
            .map(|s| s.id.as_str())
            .collect();
        if got.len() != want_ids.len() {
            wrong += 1;
            let _ = writeln!(
                report,
                "HOPSCOPE front {}: {} hops listed, nginx makes {} TLS hops",
                fr.label,
                got.len(),
                want_ids.len()
            );
        }
        for id in by_id.keys() {
            if !want_ids.contains(id) {
                wrong += 1;
                let s = fr.servers.iter().find(|s| s.id == *id);
                let _ = writeln!(
                    report,
                    "HOPSCOPE {}/{id}: listed as a hop, but nginx does not use TLS there\n    {}",
                    fr.label,
                    s.map_or("(no proxy_pass there)", |s| s.summary.as_str())
                );
            }
        }
        for s in fr.servers.iter().filter(|s| s.is_hop()) {
            let Ok(o) = &seen[&(fi, s.id.clone())] else {
                continue; // reported above
            };
            let Some(h) = by_id.get(s.id.as_str()) else {
                wrong += 1;
                let _ = writeln!(
                    report,
                    "HOPSCOPE {}/{}: missing (nginx: {})\n    {}",
                    fr.label,
                    s.id,
                    show(o),
                    s.summary
                );
                continue;
            };
            compared += 1;
            let mut bad = check_hop(h, s);
            if let Outcome::Tls(real) = o {
                match predicted_sni(h, s) {
                    Ok(p) if p == *real => {}
                    Ok(p) => bad.push(format!(
                        "SNI: hopscope {:?}, nginx sent {:?} (sni={})",
                        p, real, h["sni"]
                    )),
                    Err(e) => bad.push(format!("SNI: unusable prediction: {e}")),
                }
            }
            if !bad.is_empty() {
                wrong += 1;
                let _ = writeln!(
                    report,
                    "HOPSCOPE {}/{}: nginx: {}\n    {}\n    - {}",
                    fr.label,
                    s.id,
                    show(o),
                    s.summary,
                    bad.join("\n    - ")
                );
            }
        }
    }
    eprintln!(
        "compared {compared} hops; harness mismatches {harness}, hopscope problems {wrong}; total {:?}",
        started.elapsed()
    );
    assert!(
        harness == 0 && wrong == 0,
        "\n{report}\n{harness} harness mismatch(es), {wrong} hopscope problem(s)"
    );
}

#[test]
fn harness_model_basics() {
    assert_eq!(strip_port("a.example:8443"), "a.example");
    assert_eq!(strip_port("[::1]:443"), "[::1]");
    assert_eq!(nginx_sni(true, "127.0.0.1"), "");
    assert_eq!(nginx_sni(true, "backend"), "backend");
    assert_eq!(nginx_sni(false, "backend"), "");
    let v = stream_vars(7000);
    assert_eq!(
        eval_expr("${server_port}.x:1", &v).unwrap(),
        "7000.x:1".to_string()
    );
    assert_eq!(unquote("'a'"), "a");
}
