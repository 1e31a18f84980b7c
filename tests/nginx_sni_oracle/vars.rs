//! Oracle for passes whose scheme or address comes from variables: `set`
//! at server level, in a location, in a nested location and inside `if`
//! (at server and location level), `map` values that are URLs, schemes or
//! hosts, `$scheme` on a TLS, a plain and a mixed server, a literal host
//! with a variable URI, `set $proxy_host`, and the shapes of Nginx Proxy
//! Manager and linuxserver SWAG.
//!
//! A pass with variables makes nginx evaluate the URL per request and look
//! its host up among the upstreams (`ngx_http_upstream_init_request`); a
//! host that is not one needs a `resolver`. So the hosts here are
//! `upstream api.example.com { server 127.0.0.1:UP; }` groups (found by
//! name: nginx then sends the group's name, which is the host of the URL
//! as a resolver would have used it), IPv4 literals (no resolver needed)
//! and `localhost` through the implicit upstream of a literal pass.
//!
//! Requests that should open TLS are sent (to the front's TLS servers
//! through a plain relay in the upstream's nginx); for each, hopscope's
//! hop (and the value of it that the request takes: the entry of
//! `variants` whose target is the URL nginx builds) must predict the SNI
//! and `$proxy_host` that the upstream received. The set of hops hopscope
//! lists must be exactly the passes that may open TLS, and `tls_when` must
//! be null exactly for the literal `https://` ones.

use super::common::oracle::*;
use super::common::*;
use super::{run_hopscope, show};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// One pass directive of the generated front.
struct Pass {
    id: String,
    /// Whether the scheme is written literally (`tls_when` null).
    literal: bool,
}

/// One request and what nginx does with it.
struct Req {
    /// The hop id of the pass that serves it.
    hop: String,
    port: u16,
    path: String,
    /// The scheme and authority of the URL nginx builds.
    url: String,
    sni: String,
    host: String,
}

struct Front {
    prefix: Prefix,
    passes: Vec<Pass>,
    reqs: Vec<Req>,
    /// Ports nginx listens on (front).
    ports: Vec<u16>,
    /// Front TLS ports and the relay port reaching each.
    relays: Vec<(u16, u16)>,
    /// A pass that never opens TLS (its file:line), which hopscope must
    /// not list.
    plain: Vec<String>,
}

impl Front {
    fn pass(&mut self, f: &mut ConfFile, arg: &str) -> String {
        let line = f.line(format!("proxy_pass {arg};"));
        let id = format!("{}:{line}", f.rel);
        self.passes.push(Pass {
            id: id.clone(),
            literal: arg.starts_with("https://"),
        });
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn req(&mut self, hop: &str, port: u16, path: &str, url: &str, sni: &str, host: &str) {
        self.reqs.push(Req {
            hop: hop.to_string(),
            port,
            path: path.to_string(),
            url: url.to_string(),
            sni: sni.to_string(),
            host: host.to_string(),
        });
    }
}

fn build_front(up: u16, localhost_ok: bool, dns: u16) -> Front {
    let prefix = Prefix::new("front-vars");
    let leaf = TestCa::new(&prefix.path().join("pki")).leaf("front", &["front.test"]);
    let mut fr = Front {
        prefix,
        passes: Vec::new(),
        reqs: Vec::new(),
        ports: Vec::new(),
        relays: Vec::new(),
        plain: Vec::new(),
    };
    let up_ip = format!("127.0.0.1:{up}");
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.line("proxy_ssl_server_name on;");
    for name in [
        "api.example.com",
        "a.example.com",
        "b.example.com",
        "backend",
    ] {
        f.open(format!("upstream {name}"));
        f.line(format!("server {up_ip};"));
        f.close();
    }
    f.open("map $arg_v $up_url");
    f.line("default https://a.example.com;");
    f.line("b https://b.example.com;");
    f.line("plain http://backend;");
    f.close();
    f.open("map $arg_s $up_scheme");
    f.line("default https;");
    f.line("p http;");
    f.close();
    f.open("map $arg_h $up_host");
    f.line("default a.example.com;");
    f.line("b b.example.com;");
    f.close();

    // ---- S1: plain listener, NPM-like server-level sets ------------------
    let p1 = free_port();
    fr.ports.push(p1);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p1};"));
    f.line("set $forward_scheme https;");
    f.line("set $server \"127.0.0.1\";");
    f.line(format!("set $port {up};"));
    f.line("set $vs https;");
    f.line("set $srvs http;");
    f.open("if ($arg_srv)");
    f.line("set $srvs https;");
    f.close();

    // Nginx Proxy Manager: the pass comes from an included file.
    let mut npm = ConfFile::new("conf.d/proxy.conf");
    let npm_line = npm.line("proxy_pass $forward_scheme://$server:$port$request_uri;");
    let npm_id = format!("{}:{npm_line}", npm.rel);
    fr.prefix.write_conf(&npm);
    f.open("location /npm/");
    f.line("include conf.d/proxy.conf;");
    f.close();
    fr.passes.push(Pass {
        id: npm_id.clone(),
        literal: false,
    });
    let url = format!("https://{up_ip}");
    fr.req(&npm_id, p1, "/npm/x", &url, "", &up_ip);
    if localhost_ok {
        // The implicit upstream of a literal pass is found by host and
        // port; nginx sends its host.
        f.open("location /lit-local/");
        let id = fr.pass(&mut f, &format!("https://localhost:{up}"));
        f.close();
        let local = format!("localhost:{up}");
        fr.req(
            &id,
            p1,
            "/lit-local/x",
            &format!("https://{local}"),
            "localhost",
            &local,
        );
        // (its own copy of proxy.conf: one include per hop keeps the ids
        // `file:line`)
        let mut npm2 = ConfFile::new("conf.d/proxy-local.conf");
        let line = npm2.line("proxy_pass $forward_scheme://$server:$port$request_uri;");
        let id = format!("{}:{line}", npm2.rel);
        fr.prefix.write_conf(&npm2);
        fr.passes.push(Pass {
            id: id.clone(),
            literal: false,
        });
        f.open("location /npm-local/");
        f.line("set $server localhost;");
        f.line("include conf.d/proxy-local.conf;");
        f.close();
        fr.req(
            &id,
            p1,
            "/npm-local/x",
            &format!("https://{local}"),
            "localhost",
            &local,
        );
    }

    // linuxserver SWAG: the sets are in the location.
    f.open("location /swag/");
    f.line("set $upstream_app 127.0.0.1;");
    f.line(format!("set $upstream_port {up};"));
    f.line("set $upstream_proto https;");
    let id = fr.pass(&mut f, "$upstream_proto://$upstream_app:$upstream_port");
    f.close();
    fr.req(&id, p1, "/swag/x", &url, "", &up_ip);

    // A whole URL in a variable; the runtime lookup ignores case and nginx
    // sends the group's spelling, while $proxy_host keeps the URL's.
    for (path, value, host) in [
        ("/backend/", "https://api.example.com", "api.example.com"),
        (
            "/backend-case/",
            "https://API.Example.com",
            "API.Example.com",
        ),
    ] {
        f.open(format!("location {path}"));
        f.line(format!("set $backend \"{value}\";"));
        let id = fr.pass(&mut f, "$backend");
        f.close();
        fr.req(&id, p1, &format!("{path}x"), value, "api.example.com", host);
    }

    // map: whole URLs, schemes, hosts.
    f.open("location /map/");
    let id = fr.pass(&mut f, "$up_url");
    f.close();
    fr.req(
        &id,
        p1,
        "/map/x?v=z",
        "https://a.example.com",
        "a.example.com",
        "a.example.com",
    );
    fr.req(
        &id,
        p1,
        "/map/x?v=b",
        "https://b.example.com",
        "b.example.com",
        "b.example.com",
    );
    f.open("location /mapscheme/");
    let id = fr.pass(&mut f, "$up_scheme://api.example.com");
    f.close();
    fr.req(
        &id,
        p1,
        "/mapscheme/x",
        "https://api.example.com",
        "api.example.com",
        "api.example.com",
    );
    f.open("location /maphost/");
    let id = fr.pass(&mut f, "https://$up_host");
    f.close();
    fr.req(
        &id,
        p1,
        "/maphost/x?h=b",
        "https://b.example.com",
        "b.example.com",
        "b.example.com",
    );
    fr.req(
        &id,
        p1,
        "/maphost/x",
        "https://a.example.com",
        "a.example.com",
        "a.example.com",
    );

    // A nested location does not run its outer location's `set`s: $vs is
    // the server's https.
    f.open("location /nest/");
    f.line("set $vs http;");
    f.open("location /nest/in/");
    let id = fr.pass(&mut f, "$vs://api.example.com");
    f.close();
    f.close();
    fr.req(
        &id,
        p1,
        "/nest/in/x",
        "https://api.example.com",
        "api.example.com",
        "api.example.com",
    );

    // `set` inside `if`: both values reach the pass.
    f.open("location /if/");
    f.line("set $s http;");
    f.open("if ($arg_tls)");
    f.line("set $s https;");
    f.close();
    let id = fr.pass(&mut f, "$s://api.example.com");
    f.close();
    fr.req(
        &id,
        p1,
        "/if/x?tls=1",
        "https://api.example.com",
        "api.example.com",
        "api.example.com",
    );

    // A pass inside `if`, and the location's own pass.
    f.open("location /ifpass/");
    f.line("set $h a.example.com;");
    f.open("if ($arg_b)");
    f.line("set $h b.example.com;");
    let in_if = fr.pass(&mut f, "https://$h");
    f.close();
    let own = fr.pass(&mut f, "https://$h");
    f.close();
    fr.req(
        &in_if,
        p1,
        "/ifpass/x?b=1",
        "https://b.example.com",
        "b.example.com",
        "b.example.com",
    );
    fr.req(
        &own,
        p1,
        "/ifpass/x",
        "https://a.example.com",
        "a.example.com",
        "a.example.com",
    );

    // `set` inside a server-level `if`.
    f.open("location /srv-if/");
    let id = fr.pass(&mut f, "$srvs://api.example.com");
    f.close();
    fr.req(
        &id,
        p1,
        "/srv-if/x?srv=1",
        "https://api.example.com",
        "api.example.com",
        "api.example.com",
    );

    // A literal host with a variable URI: static SNI and $proxy_host.
    f.open("location ~ ^/lit/(.*)$");
    let id = fr.pass(&mut f, "https://api.example.com/$1");
    f.close();
    fr.req(
        &id,
        p1,
        "/lit/x",
        "https://api.example.com",
        "api.example.com",
        "api.example.com",
    );
    f.open("location /grp/");
    let id = fr.pass(&mut f, "https://backend$request_uri");
    f.close();
    fr.req(&id, p1, "/grp/x", "https://backend", "backend", "backend");

    // `set $proxy_host` from another variable (ingress-nginx): it is the
    // name and the Host header; a name from a `set`; SNI off.
    f.open("location /ph/");
    f.line("set $pun alt.example;");
    f.line("set $proxy_host $pun;");
    f.line("proxy_ssl_name $proxy_host;");
    let id = fr.pass(&mut f, "https://backend");
    f.close();
    fr.req(
        &id,
        p1,
        "/ph/x",
        "https://backend",
        "alt.example",
        "alt.example",
    );
    f.open("location /sslname/");
    f.line("set $sn named.example;");
    f.line("proxy_ssl_name $sn;");
    let id = fr.pass(&mut f, "https://backend");
    f.close();
    fr.req(
        &id,
        p1,
        "/sslname/x",
        "https://backend",
        "named.example",
        "backend",
    );
    f.open("location /off/");
    f.line("proxy_ssl_server_name off;");
    f.line("set $b \"https://api.example.com\";");
    let id = fr.pass(&mut f, "$b");
    f.close();
    fr.req(
        &id,
        p1,
        "/off/x",
        "https://api.example.com",
        "",
        "api.example.com",
    );
    f.close(); // S1

    // ---- S7: names no upstream has, resolved with `resolver` ------------
    // (a DNS responder in this test answers 127.0.0.1 for every name): the
    // case in production. nginx's resolver lower-cases the name in place,
    // so the SNI is the URL's host lower-cased; $proxy_host (the Host
    // header, built before the lookup) keeps the URL's spelling.
    let p7 = free_port();
    fr.ports.push(p7);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p7};"));
    f.line(format!("resolver 127.0.0.1:{dns} ipv6=off;"));
    f.line("set $forward_scheme https;");
    f.line("set $server \"App.Example.net\";");
    f.line(format!("set $port {up};"));
    let mut npm3 = ConfFile::new("conf.d/proxy-resolved.conf");
    let line = npm3.line("proxy_pass $forward_scheme://$server:$port$request_uri;");
    let id = format!("{}:{line}", npm3.rel);
    fr.prefix.write_conf(&npm3);
    fr.passes.push(Pass {
        id: id.clone(),
        literal: false,
    });
    f.open("location /npm/");
    f.line("include conf.d/proxy-resolved.conf;");
    f.close();
    let host = format!("App.Example.net:{up}");
    fr.req(
        &id,
        p7,
        "/npm/x",
        &format!("https://{host}"),
        "app.example.net",
        &host,
    );
    f.open("location /swag/");
    f.line("set $upstream_app Swag.Example.net;");
    f.line(format!("set $upstream_port {up};"));
    f.line("set $upstream_proto https;");
    let id = fr.pass(&mut f, "$upstream_proto://$upstream_app:$upstream_port");
    f.close();
    let host = format!("Swag.Example.net:{up}");
    fr.req(
        &id,
        p7,
        "/swag/x",
        &format!("https://{host}"),
        "swag.example.net",
        &host,
    );
    f.open("location ~ ^/lit/(.*)$");
    let id = fr.pass(&mut f, &format!("https://Lit.Example.net:{up}/$1"));
    f.close();
    let host = format!("Lit.Example.net:{up}");
    fr.req(
        &id,
        p7,
        "/lit/x",
        &format!("https://{host}"),
        "lit.example.net",
        &host,
    );
    f.close(); // S7

    // ---- $scheme: TLS-only, mixed and plain-only servers ----------------
    let tls_server = |f: &mut ConfFile| {
        f.line(format!("ssl_certificate {};", leaf.cert.display()));
        f.line(format!("ssl_certificate_key {};", leaf.key.display()));
    };
    let p2 = free_port();
    fr.ports.push(p2);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p2} ssl;"));
    tls_server(&mut f);
    f.open("location /sch/");
    let id = fr.pass(&mut f, "$scheme://api.example.com");
    f.close();
    f.close();
    let r2 = free_port();
    fr.relays.push((p2, r2));
    fr.req(
        &id,
        r2,
        "/sch/x",
        "https://api.example.com",
        "api.example.com",
        "api.example.com",
    );

    let (p3, p4) = (free_port(), free_port());
    fr.ports.extend([p3, p4]);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p3};"));
    f.line(format!("listen 127.0.0.1:{p4} ssl;"));
    tls_server(&mut f);
    f.open("location /sch/");
    let id = fr.pass(&mut f, "$scheme://b.example.com");
    f.close();
    f.close();
    let r4 = free_port();
    fr.relays.push((p4, r4));
    fr.req(
        &id,
        r4,
        "/sch/x",
        "https://b.example.com",
        "b.example.com",
        "b.example.com",
    );

    // A plain `listen` on a socket another server declares `ssl`: nginx
    // merges `ssl` per socket, so this server's requests arrive over TLS.
    let p6 = free_port();
    fr.ports.push(p6);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p6} ssl;"));
    f.line("server_name other.test;");
    tls_server(&mut f);
    f.close();
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p6};"));
    f.line("server_name client.test;");
    tls_server(&mut f);
    f.open("location /sch/");
    let id = fr.pass(&mut f, "$scheme://a.example.com");
    f.close();
    f.close();
    let r6 = free_port();
    fr.relays.push((p6, r6));
    fr.req(
        &id,
        r6,
        "/sch/x",
        "https://a.example.com",
        "a.example.com",
        "a.example.com",
    );

    let p5 = free_port();
    fr.ports.push(p5);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{p5};"));
    f.open("location /sch/");
    let line = f.line("proxy_pass $scheme://api.example.com;");
    fr.plain.push(format!("nginx.conf:{line}"));
    f.close();
    f.close();

    f.close(); // http
    fr.prefix.write_conf(&f);
    fr
}

/// The upstream: echoes the SNI and Host it received; plus plain relays
/// to the front's TLS servers.
fn build_upstream(prefix: &Prefix, up: u16, relays: &[(u16, u16)]) {
    let ca = TestCa::new(&prefix.path().join("pki"));
    let leaf = ca.leaf("upstream", &["upstream.test", "127.0.0.1"]);
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{up} ssl default_server;"));
    f.line("server_name _;");
    f.line(format!("ssl_certificate {};", leaf.cert.display()));
    f.line(format!("ssl_certificate_key {};", leaf.key.display()));
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    f.open("location /");
    f.line("return 200 \"sni=[$ssl_server_name] host=[$http_host]\";");
    f.close();
    f.close();
    for &(front, relay) in relays {
        f.open("server");
        f.line(format!("listen 127.0.0.1:{relay};"));
        f.open("location /");
        f.line(format!("proxy_pass https://127.0.0.1:{front};"));
        f.line("proxy_set_header Host $http_host;");
        f.close();
        f.close();
    }
    f.close();
    prefix.write_conf(&f);
}

/// `scheme://authority` of a URL.
fn head(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '$'])
        .map_or(url.len(), |i| start + i);
    &url[..end]
}

/// The SNI and `$proxy_host` hopscope predicts for a request to `hop`
/// whose URL starts with `url`: from the value in `variants` with that
/// target, or from the hop itself when it has none.
fn predicted(hop: &serde_json::Value, url: &str) -> Result<(String, String), String> {
    let variants = hop["variants"].as_array().ok_or("no `variants` array")?;
    let chosen = if variants.is_empty() {
        hop
    } else {
        variants
            .iter()
            .find(|v| v["target"].as_str().map(head) == Some(url))
            .ok_or_else(|| {
                let listed: Vec<&str> = variants
                    .iter()
                    .filter_map(|v| v["target"].as_str())
                    .collect();
                format!("no value with target {url} among {listed:?}")
            })?
    };
    let sni = &chosen["sni"];
    if sni["dynamic"].as_bool() != Some(false) {
        return Err(format!("the SNI is not known statically: {sni}"));
    }
    let name = match sni["sent"].as_bool() {
        Some(true) => sni["name"]
            .as_str()
            .ok_or("sent without a name")?
            .to_string(),
        _ => String::new(),
    };
    let ph = chosen["proxy_host"]
        .as_str()
        .ok_or("no proxy_host")?
        .to_string();
    Ok((name, ph))
}

#[test]
fn variable_passes_match_real_nginx() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let up = free_port();
    let dns = super::common::dns::Dns::start();
    let fr = build_front(up, localhost_is_only_127(), dns.port);
    let (ok, err) = nginx_test(&nginx, fr.prefix.path());
    assert!(
        ok,
        "harness bug: nginx -t rejects the front:\n{err}\n{}",
        fr.prefix.read("nginx.conf")
    );
    let up_prefix = Prefix::new("upstream-vars");
    build_upstream(&up_prefix, up, &fr.relays);
    let (ok, err) = nginx_test(&nginx, up_prefix.path());
    assert!(ok, "harness bug: nginx -t rejects the upstream:\n{err}");
    let _front = Nginx::start(&nginx, fr.prefix.path(), &fr.ports)
        .unwrap_or_else(|e| panic!("harness bug: front nginx: {e}"));
    let mut up_ports = vec![up];
    up_ports.extend(fr.relays.iter().map(|r| r.1));
    let _upstream = Nginx::start(&nginx, up_prefix.path(), &up_ports)
        .unwrap_or_else(|e| panic!("harness bug: upstream nginx: {e}"));

    let json = run_hopscope(&fr.prefix.conf_path()).unwrap_or_else(|e| panic!("{e}"));
    let mut problems: Vec<String> = Vec::new();
    if json["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        problems.push(format!(
            "load errors on a config nginx accepts: {}",
            json["errors"]
        ));
    }
    let hops = json["hops"].as_array().cloned().unwrap_or_default();
    let by_id: BTreeMap<&str, &serde_json::Value> = hops
        .iter()
        .filter_map(|h| Some((h["id"].as_str()?, h)))
        .collect();
    let expected: BTreeSet<&str> = fr.passes.iter().map(|p| p.id.as_str()).collect();
    let listed: BTreeSet<&str> = by_id.keys().copied().collect();
    if expected != listed {
        problems.push(format!(
            "hops listed {listed:?}, passes that may open TLS {expected:?}"
        ));
    }
    for id in &fr.plain {
        if listed.contains(id.as_str()) {
            problems.push(format!("{id} never opens TLS but is listed"));
        }
    }
    for p in &fr.passes {
        let Some(h) = by_id.get(p.id.as_str()) else {
            continue;
        };
        if h["tls_when"].is_null() != p.literal {
            problems.push(format!(
                "{}: tls_when is {} for a {} scheme",
                p.id,
                h["tls_when"],
                if p.literal { "literal" } else { "variable" }
            ));
        }
    }

    let mut harness = Vec::new();
    let mut compared = 0;
    for r in &fr.reqs {
        let seen = http_get(r.port, &r.path, Some("client.test")).and_then(|resp| {
            match (
                resp.status,
                between(&resp.body, "sni=[", "]"),
                between(&resp.body, "host=[", "]"),
            ) {
                (200, Some(s), Some(h)) => Ok((s.to_string(), h.to_string())),
                _ => Err(format!("HTTP {}: {:.120}", resp.status, resp.body)),
            }
        });
        let what = format!("{} GET :{}{}", r.hop, r.port, r.path);
        let (sni, host) = match seen {
            Ok(s) => s,
            Err(e) => {
                harness.push(format!("{what}: {e}"));
                continue;
            }
        };
        if (sni.as_str(), host.as_str()) != (r.sni.as_str(), r.host.as_str()) {
            harness.push(format!(
                "{what}: expected sni={} host={}, nginx sent sni={} host={host}",
                show(&r.sni),
                r.host,
                show(&sni)
            ));
        }
        let Some(h) = by_id.get(r.hop.as_str()) else {
            problems.push(format!("{what}: hop not listed"));
            continue;
        };
        compared += 1;
        match predicted(h, head(&r.url)) {
            Ok((p_sni, p_host)) if p_sni == sni && p_host == host => {}
            Ok((p_sni, p_host)) => problems.push(format!(
                "{what}: hopscope predicts sni={} proxy_host={p_host}, nginx sent sni={} host={host}",
                show(&p_sni),
                show(&sni)
            )),
            Err(e) => problems.push(format!("{what}: {e}\n  hop: {h}")),
        }
    }
    eprintln!(
        "variable passes: {} hops, {compared} requests compared in {:?}",
        fr.passes.len(),
        started.elapsed()
    );
    assert!(
        harness.is_empty() && problems.is_empty(),
        "\n=== harness (expectation vs real nginx) ===\n{}\n=== hopscope vs real nginx ===\n{}",
        harness.join("\n"),
        problems.join("\n")
    );
}
