//! Adapting a copy of a corpus case so a real nginx can run it on loopback.
//!
//! What changes (and only that): listens move to free 127.0.0.1 ports (one
//! per original port number, so servers that shared a port still share
//! one and `server_name` still picks among them); server certificates,
//! keys and CAs become test files; pid, logs, temp and cache paths move
//! into the prefix; `user`, `daemon` and `master_process` are dropped;
//! every upstream address becomes the SNI echo:
//! - `server ADDR …;` in `upstream {}` → `server 127.0.0.1:ECHO;`
//! - a literal pass target `HOST[:PORT]` whose host is a name (not a group)
//!   → `HOST` plus an added `upstream HOST { server 127.0.0.1:ECHO; }`.
//!   nginx takes the default SNI of both from the host part only
//!   (`uscf->host`), so the name sent is the one of the real case;
//!   `adaptation_keeps_the_sni` in tests/corpus.rs checks this claim.
//! - an IPv4 literal target → `127.0.0.1:ECHO` (no SNI either way);
//! - targets built from variables keep their host; nginx resolves it at
//!   request time through `resolver` (pointed at a loopback DNS answering
//!   127.0.0.1), and `set`/`map` values that are IPv4 literals, ports
//!   (`$…port…`) or `host:port` move to 127.0.0.1 / the echo port.

use std::collections::{BTreeMap, BTreeSet};

/// One token of nginx config text with its byte span.
#[derive(Debug, Clone)]
struct Tok {
    text: String,
    start: usize,
    end: usize,
}

fn tokenize(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'{' || c == b'}' || c == b';' {
            out.push(Tok {
                text: (c as char).to_string(),
                start: i,
                end: i + 1,
            });
            i += 1;
        } else {
            let start = i;
            let mut text = String::new();
            while i < b.len() {
                let c = b[i];
                if c == b'"' || c == b'\'' {
                    let q = c;
                    i += 1;
                    while i < b.len() && b[i] != q {
                        if b[i] == b'\\' && i + 1 < b.len() {
                            i += 1;
                        }
                        text.push(b[i] as char);
                        i += 1;
                    }
                    i += 1;
                } else if c.is_ascii_whitespace() || c == b'{' || c == b'}' || c == b';' {
                    break;
                } else {
                    if c == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    text.push(b[i] as char);
                    i += 1;
                }
            }
            out.push(Tok {
                text,
                start,
                end: i.min(b.len()),
            });
        }
    }
    out
}

/// A directive: name, arguments, the block path it sits in, its span (to
/// the `;` or `{`), and whether it opens a block.
#[derive(Debug, Clone)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub ctx: Vec<String>,
    pub start: usize,
    pub end: usize,
    pub block: bool,
}

pub fn directives(src: &str) -> Vec<Directive> {
    let toks = tokenize(src);
    let mut out = Vec::new();
    let mut ctx: Vec<String> = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    for t in toks {
        match t.text.as_str() {
            ";" | "{" if !cur.is_empty() => {
                let block = t.text == "{";
                out.push(Directive {
                    name: cur[0].text.clone(),
                    args: cur[1..].iter().map(|t| t.text.clone()).collect(),
                    ctx: ctx.clone(),
                    start: cur[0].start,
                    end: t.end,
                    block,
                });
                if block {
                    ctx.push(cur[0].text.clone());
                }
                cur.clear();
            }
            "}" => {
                cur.clear();
                ctx.pop();
            }
            ";" | "{" => {}
            _ => cur.push(t),
        }
    }
    out
}

/// Files and ports the adapted copy uses.
pub struct Env {
    pub echo_port: u16,
    pub dns_port: u16,
    pub server_cert: String,
    pub server_key: String,
    pub ca_cert: String,
    /// The `load_module` line for the stream module, when it is dynamic.
    pub stream_module: Option<String>,
}

/// What the adaptation did, for the requests and for the report.
#[derive(Default)]
pub struct Adapted {
    /// original listen port → loopback port
    pub ports: BTreeMap<u16, u16>,
    /// every upstream/pass host name met (for the echo's certificate)
    pub names: BTreeSet<String>,
}

fn is_ipv4(h: &str) -> bool {
    h.parse::<std::net::Ipv4Addr>().is_ok()
}

/// The port of a `listen` address (`443`, `[::]:443`, `1.2.3.4:80`, `*:80`,
/// `localhost`), or None for unix sockets.
fn listen_port(addr: &str) -> Option<u16> {
    if addr.starts_with("unix:") {
        return None;
    }
    if let Ok(p) = addr.parse::<u16>() {
        return Some(p);
    }
    let tail = match addr.rfind(']') {
        Some(i) => &addr[i + 1..],
        None => addr,
    };
    match tail.rsplit_once(':') {
        Some((_, p)) => p.parse().ok(),
        None => Some(80),
    }
}

/// Split `scheme://host[:port]rest` (or `host[:port]rest` for stream).
fn split_target(t: &str) -> (String, String, Option<String>, String) {
    let (scheme, rest) = match t.find("://") {
        Some(i) => (t[..i + 3].to_string(), &t[i + 3..]),
        None => (String::new(), t),
    };
    let end = rest.find(['/', '$', '?']).unwrap_or(rest.len());
    let hostport = &rest[..end];
    let tail = rest[end..].to_string();
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => (
                hostport[..=i].to_string(),
                hostport[i + 1..].strip_prefix(':').map(str::to_string),
            ),
            None => (hostport.to_string(), None),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.to_string())),
            None => (hostport.to_string(), None),
        }
    };
    (scheme, host, port, tail)
}

fn quote(s: &str) -> String {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || ";{}#'\"".contains(c)) {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

fn line(name: &str, args: &[String]) -> String {
    let mut s = name.to_string();
    for a in args {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s.push(';');
    s
}

/// Upstream group names per context (`http`/`stream`) in all files.
pub fn groups(files: &[(String, String)]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (_, src) in files {
        for d in directives(src) {
            if d.name == "upstream" && d.block && !d.args.is_empty() {
                // the context of an upstream in an included file is not
                // known here: the name counts for both
                for top in ["http", "stream"] {
                    out.insert((top.to_string(), d.args[0].to_lowercase()));
                }
            }
        }
    }
    out
}

const PASSES: [&str; 7] = [
    "proxy_pass",
    "grpc_pass",
    "uwsgi_pass",
    "fastcgi_pass",
    "scgi_pass",
    "memcached_pass",
    "zone_sync_server",
];

/// Rewrite one file. `groups` are the upstream names of the whole tree;
/// `added` collects the names that need an added upstream block, per
/// context. `port_of` gives the loopback port for an original listen port.
pub fn adapt_file(
    src: &str,
    env: &Env,
    groups: &BTreeSet<(String, String)>,
    added: &mut BTreeSet<(String, String)>,
    adapted: &mut Adapted,
    port_of: &mut dyn FnMut(u16) -> u16,
) -> String {
    let echo = env.echo_port.to_string();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut server_seen: BTreeMap<usize, BTreeSet<u16>> = BTreeMap::new();
    let mut server_idx = 0usize;
    let ds = directives(src);
    for d in &ds {
        // an included file does not say where it is included: a pass
        // without a scheme is a stream one
        let top = if d.ctx.first().map(String::as_str) == Some("stream")
            || (PASSES.contains(&d.name.as_str())
                && d.args.first().is_some_and(|a| !a.contains("://")))
        {
            "stream"
        } else {
            "http"
        };
        let in_upstream = d.ctx.last().map(String::as_str) == Some("upstream");
        let n = d.name.as_str();
        let rep: Option<String> = match n {
            "server" if d.block => {
                server_idx += 1;
                None
            }
            "user"
            | "daemon"
            | "master_process"
            | "http2"
            | "http3"
            | "http3_hq"
            | "quic_retry"
            | "quic_gso"
            | "quic_host_key"
            | "quic_bpf"
            | "ssl_dhparam"
            | "ssl_stapling_file"
            | "ssl_password_file"
            | "ssl_crl"
            | "ssl_session_ticket_key"
            | "ssl_ecdh_curve"
                if !d.block =>
            {
                Some(String::new())
            }
            "pid" => Some("pid logs/nginx.pid;".into()),
            "error_log" => Some("error_log logs/error.log;".into()),
            "load_module" => {
                let base = d.args.first().map(|a| a.rsplit('/').next().unwrap_or(a));
                base.map(|b| format!("load_module /usr/lib/nginx/modules/{b};"))
            }
            "access_log" if d.args.first().map(String::as_str) != Some("off") => {
                let mut a = d.args.clone();
                if let Some(f) = a.first_mut() {
                    *f = "logs/access.log".into();
                }
                Some(line(n, &a))
            }
            "ssl_certificate" => Some(line(n, std::slice::from_ref(&env.server_cert))),
            "ssl_certificate_key" => Some(line(n, std::slice::from_ref(&env.server_key))),
            "ssl_trusted_certificate" | "ssl_client_certificate" => {
                Some(line(n, std::slice::from_ref(&env.ca_cert)))
            }
            _ if n.ends_with("_ssl_trusted_certificate") => {
                Some(line(n, std::slice::from_ref(&env.ca_cert)))
            }
            _ if n.ends_with("_ssl_certificate") => {
                Some(line(n, std::slice::from_ref(&env.server_cert)))
            }
            _ if n.ends_with("_ssl_certificate_key") => {
                Some(line(n, std::slice::from_ref(&env.server_key)))
            }
            _ if n.ends_with("_ssl_crl") || n.ends_with("_ssl_password_file") => {
                Some(String::new())
            }
            _ if n.ends_with("_temp_path") => {
                let mut a = d.args.clone();
                if let Some(f) = a.first_mut() {
                    *f = format!("tmp/{n}");
                }
                Some(line(n, &a))
            }
            _ if n.ends_with("_cache_path") => {
                let mut a = d.args.clone();
                if let Some(f) = a.first_mut() {
                    *f = format!("tmp/{n}_{}", d.start);
                }
                Some(line(n, &a))
            }
            "resolver" => Some(format!(
                "resolver 127.0.0.1:{} ipv6=off valid=10s;",
                env.dns_port
            )),
            "listen" => {
                let addr = d.args.first().cloned().unwrap_or_default();
                let quic = d.args.iter().any(|a| a == "quic" || a == "udp");
                match listen_port(&addr) {
                    Some(p) if !quic => {
                        let lp = port_of(p);
                        adapted.ports.insert(p, lp);
                        let seen = server_seen.entry(server_idx).or_default();
                        if seen.insert(lp) {
                            let mut a = vec![format!("127.0.0.1:{lp}")];
                            for opt in &d.args[1..] {
                                if ["ssl", "http2", "default_server", "default"]
                                    .contains(&opt.as_str())
                                {
                                    a.push(opt.clone());
                                }
                            }
                            Some(line(n, &a))
                        } else {
                            Some(String::new())
                        }
                    }
                    _ => Some(String::new()),
                }
            }
            "server" if in_upstream => Some(format!("server 127.0.0.1:{echo};")),
            "set" if d.args.len() == 2 => {
                let v = adapt_value(&d.args[0], &d.args[1], &echo);
                (v != d.args[1]).then(|| line(n, &[d.args[0].clone(), v]))
            }
            _ if PASSES.contains(&n) && !d.args.is_empty() => {
                let t = &d.args[0];
                let (scheme, host, port, tail) = split_target(t);
                let lower = host.to_lowercase();
                if t.starts_with("unix:") || host.is_empty() || host.contains('$') {
                    None
                } else if is_ipv4(&host) || host.starts_with('[') {
                    Some(line(n, &[format!("{scheme}127.0.0.1:{echo}{tail}")]))
                } else if groups.contains(&(top.to_string(), lower.clone())) {
                    None
                } else if t.contains('$') {
                    // resolved per request through the resolver: keep the
                    // host, move the port to the echo
                    adapted.names.insert(lower);
                    Some(line(n, &[format!("{scheme}{host}:{echo}{tail}")]))
                } else {
                    adapted.names.insert(lower.clone());
                    added.insert((top.to_string(), lower));
                    let _ = port;
                    Some(line(n, &[format!("{scheme}{host}{tail}")]))
                }
            }
            _ => None,
        };
        // map entries: `key value;` lines inside a map block
        let rep = match rep {
            None if d.ctx.last().map(String::as_str) == Some("map")
                && d.args.len() == 1
                && !d.block =>
            {
                let v = adapt_value("$port_or_url", &d.args[0], &echo);
                (v != d.args[0]).then(|| line(&quote(&d.name), &[v]))
            }
            r => r,
        };
        if let Some(r) = rep {
            edits.push((d.start, d.end, r));
        }
    }
    apply(src, edits)
}

/// A `set`/`map` value moved to loopback: an IPv4 literal → 127.0.0.1, a
/// port (for a variable named like one) → the echo port, `host:port` or a
/// URL's `host:port` → the same host on the echo port.
fn adapt_value(var: &str, v: &str, echo: &str) -> String {
    if is_ipv4(v) {
        return "127.0.0.1".into();
    }
    if var.to_lowercase().contains("port") && v.parse::<u16>().is_ok() {
        return echo.into();
    }
    if v.contains("://") && !v.contains('$') {
        let (scheme, host, _, tail) = split_target(v);
        if !host.is_empty() {
            let h = if is_ipv4(&host) { "127.0.0.1" } else { &host };
            return format!("{scheme}{h}:{echo}{tail}");
        }
    }
    v.to_string()
}

fn apply(src: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|e| e.0);
    let mut out = String::new();
    let mut at = 0;
    for (s, e, r) in edits {
        if s < at {
            continue;
        }
        out.push_str(&src[at..s]);
        out.push_str(&r);
        at = e;
    }
    out.push_str(&src[at..]);
    out
}

/// Insert `text` right after the `{` of the first top-level `NAME {` block
/// (on the same line, so line numbers stay). False when there is none.
pub fn insert_into_block(src: &mut String, name: &str, text: &str) -> bool {
    for d in directives(src) {
        if d.name == name && d.block && d.ctx.is_empty() {
            src.insert_str(d.end, &format!(" {text}"));
            return true;
        }
    }
    false
}

/// True when a top-level block `name` exists.
pub fn has_block(src: &str, name: &str) -> bool {
    directives(src)
        .iter()
        .any(|d| d.name == name && d.block && d.ctx.is_empty())
}
