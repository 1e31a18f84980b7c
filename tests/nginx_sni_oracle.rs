//! Oracle: the SNI that `hopscope hops --json` predicts must be the SNI a
//! REAL nginx sends.
//!
//! One upstream nginx (TLS on 127.0.0.1, session cache and tickets off so
//! every handshake is a full one) answers every request with
//! `sni=[$ssl_server_name] host=[$http_host]`. Three front nginx instances
//! (plain HTTP on 127.0.0.1) are generated, covering the inheritance space of
//! `proxy_ssl_server_name` / `proxy_ssl_name` (http / server / location /
//! nested location, on/off/unset, settings before or after nested blocks and
//! includes, `if`, `limit_except`, named locations, includes at every level)
//! and the name space (literals, `host:port`, IPv4, `[::1]`, `[::1]:443`,
//! `""`, upstream group names, `$host`, `$http_host`, `$proxy_host`,
//! `https://$host`, direct `https://127.0.0.1:PORT`).
//!
//! While generating, the test records for every hop the id hopscope must use
//! (`file:line` of the pass directive; for a file included from several
//! places, one hop per include path, `file:line@INCLUDE…`), the request
//! that reaches it and the SNI it expects. Two assertions, both collected before failing once:
//! 1. harness: the expectation equals what nginx really sent (a mismatch is
//!    a bug of this harness or a surprise from nginx);
//! 2. hopscope: for every hop, `sni` (and `proxy_host`) predicted by
//!    `hopscope hops PATH --json` matches what nginx really did, and the hop
//!    count matches.

mod common;
/// Passes whose scheme or address comes from variables (`set`, `map`,
/// `$scheme`).
#[path = "nginx_sni_oracle/vars.rs"]
mod vars;

use common::oracle::*;
use common::*;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whole-test budget for sending requests (the test must stay < 60 s).
const REQUEST_BUDGET: Duration = Duration::from_secs(40);
/// Bound for one `hopscope hops` run.
const HOPSCOPE_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Model of what nginx does (the harness's own expectation)
// ---------------------------------------------------------------------------

/// One level's explicit settings; `None` = not written at that level.
/// `name` is the token as written in the config (quotes included).
#[derive(Clone, Default, Debug)]
struct Lvl {
    sn: Option<bool>,
    name: Option<String>,
}

impl Lvl {
    fn new(sn: Option<bool>, name: Option<&str>) -> Lvl {
        Lvl {
            sn,
            name: name.map(str::to_string),
        }
    }
    fn on() -> Lvl {
        Lvl::new(Some(true), None)
    }
    fn on_named(name: &str) -> Lvl {
        Lvl::new(Some(true), Some(name))
    }
    fn named(name: &str) -> Lvl {
        Lvl::new(None, Some(name))
    }
    fn none() -> Lvl {
        Lvl::default()
    }

    fn write(&self, f: &mut ConfFile) {
        if let Some(sn) = self.sn {
            f.line(format!(
                "proxy_ssl_server_name {};",
                if sn { "on" } else { "off" }
            ));
        }
        if let Some(name) = &self.name {
            f.line(format!("proxy_ssl_name {name};"));
        }
    }

    fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(sn) = self.sn {
            parts.push(format!("sn={}", if sn { "on" } else { "off" }));
        }
        if let Some(name) = &self.name {
            parts.push(format!("name={name}"));
        }
        parts.join(" ")
    }
}

/// A proxy_pass target: URL as written, the SNI base name nginx derives
/// from it (`uscf->host` / resolved host) and `$proxy_host`. Base and
/// proxy_host may hold variables (evaluated per request).
#[derive(Clone, Debug)]
struct Target {
    url: String,
    base: String,
    proxy_host: String,
}

fn t_group(uri: &str) -> Target {
    Target {
        url: format!("https://backend{uri}"),
        base: "backend".into(),
        proxy_host: "backend".into(),
    }
}

fn t_api(uri: &str) -> Target {
    Target {
        url: format!("https://api.example.com{uri}"),
        base: "api.example.com".into(),
        proxy_host: "api.example.com".into(),
    }
}

fn t_ip(up: u16, uri: &str) -> Target {
    Target {
        url: format!("https://127.0.0.1:{up}{uri}"),
        base: "127.0.0.1".into(),
        proxy_host: format!("127.0.0.1:{up}"),
    }
}

fn t_localhost(up: u16, uri: &str) -> Target {
    Target {
        url: format!("https://localhost:{up}{uri}"),
        base: "localhost".into(),
        proxy_host: format!("localhost:{up}"),
    }
}

/// `proxy_pass https://$host;` — the evaluated host names an upstream{}
/// block (`dyn.example`), so nginx needs no resolver.
fn t_varhost() -> Target {
    Target {
        url: "https://$host".into(),
        base: "$host".into(),
        proxy_host: "$host".into(),
    }
}

/// Request variables nginx derives from the Host header.
fn request_vars(host_header: &str) -> HashMap<&'static str, String> {
    let mut vars = HashMap::new();
    vars.insert("http_host", host_header.to_string());
    vars.insert(
        "host",
        strip_port(host_header)
            .trim_end_matches('.')
            .to_ascii_lowercase(),
    );
    vars
}

// ---------------------------------------------------------------------------
// Generated hops
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Hop {
    id: String,
    summary: String,
    method: &'static str,
    port: u16,
    path: String,
    host: String,
    /// What the harness expects nginx to send (empty = no SNI).
    expect_sni: String,
    /// What the harness expects `$proxy_host` (the Host sent upstream) to be.
    expect_proxy_host: String,
}

#[derive(Clone, Debug, Default)]
struct Seen {
    sni: String,
    host: String,
}

struct Front {
    label: &'static str,
    up: u16,
    localhost_ok: bool,
    prefix: Prefix,
    files: Vec<String>,
    ports: Vec<u16>,
    hops: Vec<Hop>,
    name_rot: usize,
    target_rot: usize,
}

const SN: [Option<bool>; 3] = [None, Some(true), Some(false)];

impl Front {
    fn new(label: &'static str, up: u16, localhost_ok: bool) -> Front {
        Front {
            label,
            up,
            localhost_ok,
            prefix: Prefix::new(&format!("front-{label}")),
            files: Vec::new(),
            ports: Vec::new(),
            hops: Vec::new(),
            name_rot: 0,
            target_rot: 0,
        }
    }

    fn port(&mut self) -> u16 {
        let p = free_port();
        self.ports.push(p);
        p
    }

    fn save(&mut self, f: &ConfFile) {
        self.prefix.write_conf(f);
        self.files.push(f.rel.clone());
    }

    /// A `proxy_ssl_name` token; the kind rotates through the name space.
    fn name_token(&mut self, label: &str) -> String {
        let cfg = self.label;
        let k = self.name_rot % 12;
        self.name_rot += 1;
        match k {
            0 => format!("{label}.{cfg}.example"),
            1 => "127.0.0.1".into(),
            2 => format!("{label}.{cfg}.example:8443"),
            3 => "$proxy_host".into(),
            4 => format!("\"{label}.{cfg}.example\""),
            5 => "\"\"".into(),
            6 => "$host".into(),
            7 => format!(
                "{}.{}.Example",
                label.to_ascii_uppercase(),
                cfg.to_ascii_uppercase()
            ),
            8 => "[::1]".into(),
            9 => "$http_host".into(),
            10 => format!("'{label}.{cfg}.example:443'"),
            _ => "'[::1]:443'".into(),
        }
    }

    fn next_target(&mut self) -> Target {
        let k = self.target_rot % 6;
        self.target_rot += 1;
        match k {
            0 => t_group(""),
            1 => t_api("/"),
            2 => t_ip(self.up, ""),
            3 => t_group("/sub/"),
            4 if self.localhost_ok => t_localhost(self.up, ""),
            4 => t_api(""),
            _ => t_ip(self.up, "/ip/"),
        }
    }

    /// Write `proxy_pass` for `target` and record the hop with the request
    /// that reaches it.
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &mut self,
        f: &mut ConfFile,
        chain: &[(&str, &Lvl)],
        target: &Target,
        method: &'static str,
        port: u16,
        path: &str,
        host: Option<&str>,
    ) {
        let line = f.line(format!("proxy_pass {};", target.url));
        let id = format!("{}:{line}", f.rel);
        self.record(id, chain, target, method, port, path, host);
    }

    /// Record a hop with the request that reaches it (its `proxy_pass` is
    /// written by the caller: once for a file included in several places).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        id: String,
        chain: &[(&str, &Lvl)],
        target: &Target,
        method: &'static str,
        port: u16,
        path: &str,
        host: Option<&str>,
    ) {
        let host = host
            .map(str::to_string)
            .unwrap_or_else(|| format!("hop{}{}.test:8080", self.hops.len(), self.label));
        let mut vars = request_vars(&host);
        let proxy_host = eval_expr(&target.proxy_host, &vars).expect("harness: proxy_host");
        vars.insert("proxy_host", proxy_host.clone());
        let sn = chain.iter().rev().find_map(|(_, l)| l.sn).unwrap_or(false);
        let name_expr = chain
            .iter()
            .rev()
            .find_map(|(_, l)| l.name.as_deref())
            .map(unquote)
            .unwrap_or(&target.base);
        let name = eval_expr(name_expr, &vars).expect("harness: name");
        let summary = chain
            .iter()
            .map(|(tag, l)| format!("{tag}{{{}}}", l.summary()))
            .collect::<Vec<_>>()
            .join(" > ");
        self.hops.push(Hop {
            id,
            summary: format!("[{}] {summary} > proxy_pass {}", self.label, target.url),
            method,
            port,
            path: path.to_string(),
            host,
            expect_sni: nginx_sni(sn, &name),
            expect_proxy_host: proxy_host,
        });
    }

    /// [`Front::pass`] for a chain of owned (tag, level) pairs.
    #[allow(clippy::too_many_arguments)]
    fn pass_owned(
        &mut self,
        f: &mut ConfFile,
        port: u16,
        owned: Vec<(String, Lvl)>,
        target: Target,
        method: &'static str,
        path: &str,
        host: Option<&str>,
    ) {
        let chain: Vec<(&str, &Lvl)> = owned.iter().map(|(t, l)| (t.as_str(), l)).collect();
        self.pass(f, &chain, &target, method, port, path, host);
    }

    /// 6 servers (server_name unset/on/off x name unset/set) x 6 locations
    /// (same 6 variants) x (location pass + nested location pass whose
    /// variant rotates). Settings are written after the nested blocks for a
    /// third of the locations and for every odd server.
    fn matrix(&mut self, f: &mut ConfFile, http: &Lvl) {
        for si in 0..6 {
            let port = self.port();
            let s = Lvl {
                sn: SN[si % 3],
                name: (si >= 3).then(|| self.name_token(&format!("s{si}"))),
            };
            let s_after = si % 2 == 1;
            f.open("server");
            f.line(format!("listen 127.0.0.1:{port};"));
            if !s_after {
                s.write(f);
            }
            for li in 0..6 {
                let l = Lvl {
                    sn: SN[li % 3],
                    name: (li >= 3).then(|| self.name_token(&format!("l{si}{li}"))),
                };
                let nv = (si + li) % 6;
                let n = Lvl {
                    sn: SN[nv % 3],
                    name: (nv >= 3).then(|| self.name_token(&format!("n{si}{li}"))),
                };
                let l_after = (si + li) % 3 == 2;
                let lpath = format!("/m{si}{li}/");
                let npath = format!("{lpath}n/");
                let stag = format!("server :{port}");
                let ltag = format!("location {lpath}");
                let ntag = format!("location {npath}");
                f.open(&ltag);
                if !l_after {
                    l.write(f);
                }
                let t = self.next_target();
                self.pass(
                    f,
                    &[("http", http), (&stag, &s), (&ltag, &l)],
                    &t,
                    "GET",
                    port,
                    &format!("{lpath}x"),
                    None,
                );
                f.open(&ntag);
                n.write(f);
                let t = self.next_target();
                self.pass(
                    f,
                    &[("http", http), (&stag, &s), (&ltag, &l), (&ntag, &n)],
                    &t,
                    "GET",
                    port,
                    &format!("{npath}x"),
                    None,
                );
                f.close();
                if l_after {
                    l.write(f);
                }
                f.close();
            }
            if s_after {
                s.write(f);
            }
            f.close();
        }
    }

    /// Hand-written cases: if / limit_except, named locations, regex and
    /// exact locations, deep nesting, request-variable names, `https://$host`,
    /// `$proxy_host`, IP / IPv6 / empty names, includes at server and
    /// location level, settings after includes.
    fn specials(&mut self, f: &mut ConfFile, http: &Lvl) {
        let up = self.up;
        let none = Lvl::none();

        // ---- server SP1: nothing at server level --------------------------
        let p = self.port();
        let stag = format!("server :{p}");
        f.open("server");
        f.line(format!("listen 127.0.0.1:{p};"));
        f.line("root html;");
        let s = none.clone();
        let base = |extra: &[(&'static str, Lvl)]| {
            let mut v: Vec<(String, Lvl)> = vec![("http".into(), http.clone())];
            v.push((stag.clone(), s.clone()));
            for (t, l) in extra {
                v.push((t.to_string(), l.clone()));
            }
            v
        };

        // pass inside `if`: settings come from the location
        let l = Lvl::on_named("if.a.example");
        f.open("location /if/");
        l.write(f);
        self.pass_owned(
            f,
            p,
            base(&[("location /if/", l.clone())]),
            t_group(""),
            "GET",
            "/if/x",
            None,
        );
        f.open("if ($arg_alt)");
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /if/", l.clone()),
                ("if ($arg_alt)", none.clone()),
            ]),
            t_api(""),
            "GET",
            "/if/x?alt=1",
            None,
        );
        f.close();
        f.close();

        // settings written after the `if` block
        let l = Lvl::on();
        f.open("location /if2/");
        f.open("if ($request_method = GET)");
        self.pass_owned(
            f,
            p,
            base(&[("location /if2/", l.clone()), ("if (GET)", none.clone())]),
            t_group(""),
            "GET",
            "/if2/x",
            None,
        );
        f.close();
        l.write(f);
        f.close();

        // limit_except: GET uses the block's pass, PUT the location's
        let l = Lvl::on_named("le.a.example:8443");
        f.open("location /le/");
        l.write(f);
        self.pass_owned(
            f,
            p,
            base(&[("location /le/", l.clone())]),
            t_api("/"),
            "PUT",
            "/le/x",
            None,
        );
        f.open("limit_except PUT");
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /le/", l.clone()),
                ("limit_except PUT", none.clone()),
            ]),
            t_group(""),
            "GET",
            "/le/x",
            None,
        );
        f.close();
        f.close();

        // limit_except, name written after it, server_name never on
        let l = Lvl::named("le2.a.example");
        f.open("location /le2/");
        f.open("limit_except POST");
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /le2/", l.clone()),
                ("limit_except POST", none.clone()),
            ]),
            t_group(""),
            "GET",
            "/le2/x",
            None,
        );
        f.close();
        l.write(f);
        f.close();

        // proxy_pass https://$host (upstream dyn.example)
        for (path, l) in [
            ("/dynhost/", Lvl::on()),
            ("/dynhost-off/", Lvl::none()),
            ("/dynhost-named/", Lvl::on_named("fixed.a.example")),
        ] {
            let tag = format!("location {path}");
            f.open(&tag);
            l.write(f);
            let chain = vec![
                ("http".to_string(), http.clone()),
                (stag.clone(), s.clone()),
                (tag.clone(), l.clone()),
            ];
            self.pass_owned(
                f,
                p,
                chain,
                t_varhost(),
                "GET",
                &format!("{path}x"),
                Some("Dyn.Example:8080"),
            );
            f.close();
        }

        // names from request variables
        for (path, l, host) in [
            ("/hh/", Lvl::on_named("$http_host"), Some("HH.Example:8080")),
            ("/h/", Lvl::on_named("$host"), Some("H.Example:8080")),
            ("/hq/", Lvl::on_named("\"${host}\""), None),
            ("/hcomp/", Lvl::on_named("$host.sni.internal"), None),
            ("/hoff/", Lvl::named("$host"), None),
        ] {
            let tag = format!("location {path}");
            f.open(&tag);
            l.write(f);
            let chain = vec![
                ("http".to_string(), http.clone()),
                (stag.clone(), s.clone()),
                (tag.clone(), l.clone()),
            ];
            self.pass_owned(f, p, chain, t_group(""), "GET", &format!("{path}x"), host);
            f.close();
        }

        // $proxy_host and targets written as host:port / IP
        let mut cases: Vec<(&str, Lvl, Target)> = Vec::new();
        if self.localhost_ok {
            cases.push(("/ph/", Lvl::on_named("$proxy_host"), t_localhost(up, "/")));
            cases.push(("/phdef/", Lvl::on(), t_localhost(up, "")));
        }
        cases.push(("/phip/", Lvl::on_named("$proxy_host"), t_ip(up, "")));
        cases.push(("/direct/", Lvl::on(), t_ip(up, "/")));
        cases.push((
            "/direct-named/",
            Lvl::on_named("direct.a.example"),
            t_ip(up, "/"),
        ));
        cases.push(("/grp/", Lvl::on(), t_group("")));
        cases.push(("/grp-named/", Lvl::on_named("real.a.example"), t_group("/")));
        cases.push(("/v6/", Lvl::on_named("[::1]"), t_group("")));
        cases.push(("/v6p/", Lvl::on_named("'[::1]:443'"), t_group("")));
        cases.push(("/empty/", Lvl::on_named("\"\""), t_group("")));
        cases.push(("/v4name/", Lvl::on_named("127.0.0.1"), t_api("")));
        cases.push(("/hp/", Lvl::on_named("hp.a.example:9443"), t_group("")));
        cases.push(("/mixed/", Lvl::on_named("Mixed.A.Example"), t_group("")));
        for (path, l, t) in cases {
            let tag = format!("location {path}");
            f.open(&tag);
            l.write(f);
            let chain = vec![
                ("http".to_string(), http.clone()),
                (stag.clone(), s.clone()),
                (tag.clone(), l.clone()),
            ];
            self.pass_owned(f, p, chain, t, "GET", &format!("{path}x"), None);
            f.close();
        }

        // regex, exact and ^~ locations (no URI part allowed in regex ones)
        for (head, l, t, path) in [
            (
                "location ~ ^/re/",
                Lvl::on_named("re.a.example"),
                t_group(""),
                "/re/x",
            ),
            ("location = /exact", Lvl::on(), t_api(""), "/exact"),
            (
                "location ^~ /pre/",
                Lvl::on_named("pre.a.example"),
                t_group("/"),
                "/pre/x",
            ),
        ] {
            f.open(head);
            l.write(f);
            let chain = vec![
                ("http".to_string(), http.clone()),
                (stag.clone(), s.clone()),
                (head.to_string(), l.clone()),
            ];
            self.pass_owned(f, p, chain, t, "GET", path, None);
            f.close();
        }

        // three-deep nesting, settings written after the nested blocks
        let d1 = Lvl::on();
        let d2 = Lvl::named("d2.a.example");
        let d3 = Lvl::new(Some(false), None);
        f.open("location /d1/");
        self.pass_owned(
            f,
            p,
            base(&[("location /d1/", d1.clone())]),
            t_group(""),
            "GET",
            "/d1/x",
            None,
        );
        f.open("location /d1/d2/");
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /d1/", d1.clone()),
                ("location /d1/d2/", d2.clone()),
            ]),
            t_api(""),
            "GET",
            "/d1/d2/x",
            None,
        );
        f.open("location /d1/d2/d3/");
        d3.write(f);
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /d1/", d1.clone()),
                ("location /d1/d2/", d2.clone()),
                ("location /d1/d2/d3/", d3.clone()),
            ]),
            t_group(""),
            "GET",
            "/d1/d2/d3/x",
            None,
        );
        f.close();
        f.open("location /d1/d2/d4/");
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /d1/", d1.clone()),
                ("location /d1/d2/", d2.clone()),
                ("location /d1/d2/d4/", none.clone()),
            ]),
            t_group(""),
            "GET",
            "/d1/d2/d4/x",
            None,
        );
        f.close();
        d2.write(f);
        f.close();
        d1.write(f);
        f.close();

        // named location: inherits from the server, not from the location
        // that jumped to it
        f.open("location /named/");
        Lvl::on().write(f);
        f.line("try_files /nonexistent-file @nm;");
        f.close();
        let l = Lvl::named("named.a.example");
        f.open("location @nm");
        l.write(f);
        self.pass_owned(
            f,
            p,
            base(&[("location @nm", l.clone())]),
            t_group(""),
            "GET",
            "/named/x",
            None,
        );
        f.close();
        f.close(); // server SP1

        // ---- server SP2: settings from an include + written after includes
        let p = self.port();
        let stag = format!("server :{p}");
        let s = Lvl::on_named("srvafter.a.example");
        let base = |extra: &[(&'static str, Lvl)]| {
            let mut v: Vec<(String, Lvl)> = vec![("http".into(), http.clone())];
            v.push((stag.clone(), s.clone()));
            for (t, l) in extra {
                v.push((t.to_string(), l.clone()));
            }
            v
        };
        let mut srv_inc = ConfFile::new("conf.d/a-srv.conf");
        srv_inc.line("proxy_ssl_server_name on;");
        self.save(&srv_inc);
        let mut loc_name = ConfFile::new("conf.d/a-loc-name.conf");
        loc_name.line("proxy_ssl_name incloc.a.example;");
        self.save(&loc_name);
        let mut loc_on = ConfFile::new("conf.d/a-loc-on.conf");
        loc_on.line("proxy_ssl_server_name on;");
        self.save(&loc_on);

        f.open("server");
        f.line(format!("listen 127.0.0.1:{p};"));
        f.line("root html;");
        f.line("include conf.d/a-srv.conf;");
        f.line("include conf.d/a-locs.conf;");
        {
            // locations from an included file: ids name that file
            let mut g = ConfFile::new("conf.d/a-locs.conf");
            g.open("location /inc1/");
            self.pass_owned(
                &mut g,
                p,
                base(&[("location /inc1/", none.clone())]),
                t_group(""),
                "GET",
                "/inc1/x",
                None,
            );
            g.close();
            g.open("location /inc2/");
            g.line("include conf.d/a-loc-name.conf;");
            self.pass_owned(
                &mut g,
                p,
                base(&[("location /inc2/", Lvl::named("incloc.a.example"))]),
                t_api(""),
                "GET",
                "/inc2/x",
                None,
            );
            g.close();
            let off = Lvl::new(Some(false), None);
            g.open("location /inc3/");
            off.write(&mut g);
            g.open("location /inc3/n/");
            g.line("include conf.d/a-loc-on.conf;");
            self.pass_owned(
                &mut g,
                p,
                base(&[
                    ("location /inc3/", off.clone()),
                    ("location /inc3/n/", Lvl::on()),
                ]),
                t_group(""),
                "GET",
                "/inc3/n/x",
                None,
            );
            g.close();
            self.pass_owned(
                &mut g,
                p,
                base(&[("location /inc3/", off.clone())]),
                t_group(""),
                "GET",
                "/inc3/x",
                None,
            );
            g.close();
            self.save(&g);
        }
        f.open("location /sp2/");
        self.pass_owned(
            f,
            p,
            base(&[("location /sp2/", none.clone())]),
            t_ip(up, ""),
            "GET",
            "/sp2/x",
            None,
        );
        f.close();
        f.open("location /le3/");
        f.open("limit_except PUT");
        self.pass_owned(
            f,
            p,
            base(&[
                ("location /le3/", none.clone()),
                ("limit_except PUT", none.clone()),
            ]),
            t_api(""),
            "GET",
            "/le3/x",
            None,
        );
        f.close();
        f.close();
        f.open("location /named2/");
        Lvl::new(Some(false), None).write(f);
        f.line("try_files /nonexistent-file @nm2;");
        f.close();
        f.open("location @nm2");
        self.pass_owned(
            f,
            p,
            base(&[("location @nm2", none.clone())]),
            t_group(""),
            "GET",
            "/named2/x",
            None,
        );
        f.close();
        let l = Lvl::named("$proxy_host");
        f.open("location /sp2ph/");
        l.write(f);
        self.pass_owned(
            f,
            p,
            base(&[("location /sp2ph/", l.clone())]),
            t_api("/"),
            "GET",
            "/sp2ph/x",
            None,
        );
        f.close();
        s.write_name_only(f);
        f.close(); // server SP2

        self.included_twice(f, http);
    }

    /// Server SP3: files included from several places. `twice.conf` holds
    /// one `proxy_pass`, included by three locations with different
    /// settings; `outer.conf` is included by two locations and includes
    /// `inner.conf` twice (directly, and in a nested regex location that
    /// sets a name), so one `proxy_pass` line is four hops. Each path is a
    /// hop of its own: id `file:line@INCLUDE…` (the includes, innermost
    /// first, as far as they tell the paths apart), reached by its own
    /// request, with the SNI of its own surroundings.
    fn included_twice(&mut self, f: &mut ConfFile, http: &Lvl) {
        let p = self.port();
        let stag = format!("server :{p}");
        let s = Lvl::none();
        let mut twice = ConfFile::new("conf.d/twice.conf");
        twice.line("# one proxy_pass, three locations");
        let t = t_group("");
        let twice_line = twice.line(format!("proxy_pass {};", t.url));
        self.save(&twice);
        let mut inner = ConfFile::new("conf.d/inner.conf");
        let ti = t_api("");
        let inner_line = inner.line(format!("proxy_pass {};", ti.url));
        self.save(&inner);
        let mut outer = ConfFile::new("conf.d/outer.conf");
        let direct = outer.line("include conf.d/inner.conf;");
        let deep = Lvl::named("deep.a.example");
        outer.open("location ~ ^/nest[12]/deep/");
        deep.write(&mut outer);
        let nested = outer.line("include conf.d/inner.conf;");
        outer.close();
        self.save(&outer);

        f.open("server");
        f.line(format!("listen 127.0.0.1:{p};"));
        for (path, l) in [
            ("/tw1/", Lvl::on()),
            ("/tw2/", Lvl::on_named("tw2.a.example")),
            ("/tw3/", Lvl::none()),
        ] {
            let tag = format!("location {path}");
            f.open(&tag);
            l.write(f);
            let inc = f.line("include conf.d/twice.conf;");
            f.close();
            let id = format!("{}:{twice_line}@{}:{inc}", twice.rel, f.rel);
            let chain = [("http", http), (stag.as_str(), &s), (tag.as_str(), &l)];
            self.record(id, &chain, &t, "GET", p, &format!("{path}x"), None);
        }
        for (path, l) in [
            ("/nest1/", Lvl::on_named("nest1.a.example")),
            ("/nest2/", Lvl::none()),
        ] {
            let tag = format!("location {path}");
            f.open(&tag);
            l.write(f);
            let inc = f.line("include conf.d/outer.conf;");
            f.close();
            let id = |via: usize| {
                format!(
                    "{}:{inner_line}@{}:{via}@{}:{inc}",
                    inner.rel, outer.rel, f.rel
                )
            };
            let chain = [("http", http), (stag.as_str(), &s), (tag.as_str(), &l)];
            self.record(id(direct), &chain, &ti, "GET", p, &format!("{path}x"), None);
            let chain = [
                ("http", http),
                (stag.as_str(), &s),
                (tag.as_str(), &l),
                ("location ~ deep", &deep),
            ];
            self.record(
                id(nested),
                &chain,
                &ti,
                "GET",
                p,
                &format!("{path}deep/x"),
                None,
            );
        }
        f.close(); // server SP3
    }
}

impl Lvl {
    /// SP2 gets `proxy_ssl_server_name` from its include; only the name is
    /// written (after the includes and locations).
    fn write_name_only(&self, f: &mut ConfFile) {
        if let Some(name) = &self.name {
            f.line(format!("proxy_ssl_name {name};"));
        }
    }
}

/// Build one front config. `label` picks the http-level settings:
/// a = none (plus the hand-written cases), b = `proxy_ssl_server_name on`
/// from an include, c = `off` at the top and `proxy_ssl_name` written after
/// all servers.
fn build_front(label: &'static str, up: u16, localhost_ok: bool) -> Front {
    let mut fr = Front::new(label, up, localhost_ok);
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    for name in ["backend", "api.example.com", "dyn.example"] {
        f.open(format!("upstream {name}"));
        f.line(format!("server 127.0.0.1:{up};"));
        f.close();
    }
    let http = match label {
        "a" => Lvl::none(),
        "b" => {
            let mut inc = ConfFile::new("conf.d/b-http.conf");
            inc.line("proxy_ssl_server_name on;");
            fr.save(&inc);
            f.line("include conf.d/b-http.conf;");
            Lvl::on()
        }
        _ => {
            f.line("proxy_ssl_server_name off;");
            Lvl::new(Some(false), Some("http-c.example:8443"))
        }
    };
    fr.matrix(&mut f, &http);
    if label == "a" {
        fr.specials(&mut f, &http);
    }
    if label == "c" {
        f.line("proxy_ssl_name http-c.example:8443;");
    }
    f.close();
    fr.save(&f);
    fr
}

// ---------------------------------------------------------------------------
// Upstream
// ---------------------------------------------------------------------------

fn build_upstream(prefix: &Prefix, up: u16) {
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
    // resumed sessions report the SNI of the first handshake: no resumption
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    f.open("location /");
    f.line("return 200 \"sni=[$ssl_server_name] host=[$http_host]\";");
    f.close();
    f.close();
    f.close();
    prefix.write_conf(&f);
}

fn show(s: &str) -> String {
    if s.is_empty() {
        "(none)".into()
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------
// hopscope
// ---------------------------------------------------------------------------

fn run_hopscope(conf: &Path) -> Result<serde_json::Value, String> {
    let bin = env!("CARGO_BIN_EXE_hopscope");
    let mut child = Command::new(bin)
        .arg("hops")
        .arg(conf)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {bin}: {e}"))?;
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let deadline = Instant::now() + HOPSCOPE_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "`hopscope hops` did not finish within {HOPSCOPE_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "`hopscope hops {} --json` exited with {status}\nstderr:\n{err}",
            conf.display()
        ));
    }
    serde_json::from_str(&out).map_err(|e| {
        let head: String = out.chars().take(400).collect();
        format!("`hopscope hops --json` printed no valid JSON ({e}):\n{head}\nstderr:\n{err}")
    })
}

/// What hopscope's `sni` predicts for this request: (sent name or empty,
/// or an error saying why the prediction cannot be used).
fn predicted_sni(h: &serde_json::Value, hop: &Hop) -> Result<String, String> {
    let sni = &h["sni"];
    let sent = sni["sent"]
        .as_bool()
        .ok_or_else(|| format!("sni.sent missing or not a bool: {sni}"))?;
    if !sent {
        return Ok(String::new());
    }
    let name = sni["name"]
        .as_str()
        .ok_or_else(|| format!("sni.sent is true but sni.name is {}", sni["name"]))?;
    let dynamic = sni["dynamic"].as_bool().unwrap_or(false);
    if !dynamic {
        return Ok(name.to_string());
    }
    // dynamic: evaluate the expression for this request
    let mut vars = request_vars(&hop.host);
    let ph = h["proxy_host"].as_str().unwrap_or("");
    if let Ok(ph) = eval_expr(ph, &vars) {
        vars.insert("proxy_host", ph);
    }
    let value = eval_expr(name, &vars).map_err(|e| format!("dynamic name {name:?}: {e}"))?;
    Ok(nginx_sni(true, &value))
}

// ---------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------

struct Mismatch {
    id: String,
    summary: String,
    request: String,
    predicted: String,
    seen: String,
}

fn table(title: &str, rows: &[Mismatch], left: &str, right: &str) -> String {
    let mut out = format!("\n=== {title}: {} mismatch(es) ===\n", rows.len());
    let w_id = rows.iter().map(|r| r.id.len()).max().unwrap_or(0).max(6);
    let w_p = rows
        .iter()
        .map(|r| r.predicted.len())
        .max()
        .unwrap_or(0)
        .max(left.len());
    let w_s = rows
        .iter()
        .map(|r| r.seen.len())
        .max()
        .unwrap_or(0)
        .max(right.len());
    let _ = writeln!(
        out,
        "{:w_id$}  {:w_p$}  {:w_s$}  REQUEST / CONFIG",
        "HOP ID", left, right
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:w_id$}  {:w_p$}  {:w_s$}  {}\n{:w_id$}  {:w_p$}  {:w_s$}    {}",
            r.id, r.predicted, r.seen, r.request, "", "", "", r.summary
        );
    }
    out
}

#[test]
fn hopscope_sni_matches_real_nginx() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();

    // upstream
    let up = free_port();
    let up_prefix = Prefix::new("upstream");
    build_upstream(&up_prefix, up);
    let (ok, err) = nginx_test(&nginx, up_prefix.path());
    assert!(
        ok,
        "harness bug: nginx -t rejects the upstream config:\n{err}"
    );
    let _upstream = Nginx::start(&nginx, up_prefix.path(), &[up])
        .unwrap_or_else(|e| panic!("harness bug: upstream nginx: {e}"));

    // fronts
    let localhost_ok = localhost_is_only_127();
    if !localhost_ok {
        eprintln!("note: `localhost` does not resolve to 127.0.0.1 only; localhost cases left out");
    }
    let fronts: Vec<Front> = ["a", "b", "c"]
        .into_iter()
        .map(|l| build_front(l, up, localhost_ok))
        .collect();
    for fr in &fronts {
        let (ok, err) = nginx_test(&nginx, fr.prefix.path());
        if !ok {
            panic!(
                "harness bug: nginx -t rejects generated front config {} ({}):\n{err}\n--- nginx.conf ---\n{}",
                fr.label,
                fr.prefix.conf_path().display(),
                fr.prefix.read("nginx.conf")
            );
        }
    }
    let _running: Vec<Nginx> = fronts
        .iter()
        .map(|fr| {
            Nginx::start(&nginx, fr.prefix.path(), &fr.ports)
                .unwrap_or_else(|e| panic!("harness bug: front nginx {}: {e}", fr.label))
        })
        .collect();
    let total: usize = fronts.iter().map(|f| f.hops.len()).sum();
    eprintln!(
        "generated {total} hops in {} front configs ({}), nginx up after {:?}",
        fronts.len(),
        fronts
            .iter()
            .map(|f| format!(
                "{}: {} hops in {} files",
                f.label,
                f.hops.len(),
                f.files.len()
            ))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed()
    );

    // ask nginx
    let mut seen: HashMap<(usize, String), Result<Seen, String>> = HashMap::new();
    let req_started = Instant::now();
    for (fi, fr) in fronts.iter().enumerate() {
        for hop in &fr.hops {
            let r = if req_started.elapsed() > REQUEST_BUDGET {
                Err(format!(
                    "not sent: request budget {REQUEST_BUDGET:?} exhausted"
                ))
            } else {
                http_request(hop.method, hop.port, &hop.path, Some(&hop.host)).and_then(|resp| {
                    let sni = between(&resp.body, "sni=[", "]");
                    let host = between(&resp.body, "host=[", "]");
                    match (resp.status, sni, host) {
                        (200, Some(sni), Some(host)) => Ok(Seen {
                            sni: sni.to_string(),
                            host: host.to_string(),
                        }),
                        _ => Err(format!(
                            "HTTP {}: {:?}",
                            resp.status,
                            resp.body.chars().take(120).collect::<String>()
                        )),
                    }
                })
            };
            seen.insert((fi, hop.id.clone()), r);
        }
    }
    eprintln!("{total} requests answered in {:?}", req_started.elapsed());

    // 1. harness: own expectation vs nginx
    let mut harness = Vec::new();
    for (fi, fr) in fronts.iter().enumerate() {
        for hop in &fr.hops {
            let request = format!(
                "{} :{}{} Host: {}",
                hop.method, hop.port, hop.path, hop.host
            );
            let expect = format!("{} host={}", show(&hop.expect_sni), hop.expect_proxy_host);
            match &seen[&(fi, hop.id.clone())] {
                Ok(s) if s.sni == hop.expect_sni && s.host == hop.expect_proxy_host => {}
                Ok(s) => harness.push(Mismatch {
                    id: format!("{}/{}", fr.label, hop.id),
                    summary: hop.summary.clone(),
                    request,
                    predicted: expect,
                    seen: format!("{} host={}", show(&s.sni), s.host),
                }),
                Err(e) => harness.push(Mismatch {
                    id: format!("{}/{}", fr.label, hop.id),
                    summary: hop.summary.clone(),
                    request,
                    predicted: expect,
                    seen: format!("ERROR {e}"),
                }),
            }
        }
    }
    if harness.is_empty() {
        eprintln!("harness: nginx sent exactly the expected SNI on all {total} hops");
    }

    // 2. hopscope vs nginx
    let mut problems: Vec<String> = Vec::new();
    let mut wrong = Vec::new();
    let mut compared = 0;
    for (fi, fr) in fronts.iter().enumerate() {
        let conf = fr.prefix.conf_path();
        let json = match run_hopscope(&conf) {
            Ok(j) => j,
            Err(e) => {
                problems.push(format!("front {}: {e}", fr.label));
                continue;
            }
        };
        if let Some(errs) = json["errors"].as_array() {
            if !errs.is_empty() {
                problems.push(format!(
                    "front {}: hopscope reported load errors on a config nginx accepts: {}",
                    fr.label,
                    serde_json::to_string(errs).unwrap_or_default()
                ));
            }
        }
        let Some(hops) = json["hops"].as_array() else {
            problems.push(format!("front {}: no `hops` array in the JSON", fr.label));
            continue;
        };
        if hops.len() != fr.hops.len() {
            problems.push(format!(
                "front {}: hopscope reports {} hops, the config has {}",
                fr.label,
                hops.len(),
                fr.hops.len()
            ));
        }
        let mut by_id: BTreeMap<&str, &serde_json::Value> = BTreeMap::new();
        for h in hops {
            match h["id"].as_str() {
                Some(id) => {
                    by_id.insert(id, h);
                }
                None => problems.push(format!("front {}: a hop without an id: {h}", fr.label)),
            }
        }
        let generated: std::collections::HashSet<&str> =
            fr.hops.iter().map(|h| h.id.as_str()).collect();
        for id in by_id.keys() {
            if !generated.contains(id) {
                problems.push(format!(
                    "front {}: hopscope reports hop {id} where the config has no TLS pass",
                    fr.label
                ));
            }
        }
        for hop in &fr.hops {
            let request = format!(
                "{} :{}{} Host: {}",
                hop.method, hop.port, hop.path, hop.host
            );
            let id = format!("{}/{}", fr.label, hop.id);
            let Ok(s) = &seen[&(fi, hop.id.clone())] else {
                continue; // already reported as a harness problem
            };
            let Some(h) = by_id.get(hop.id.as_str()) else {
                wrong.push(Mismatch {
                    id,
                    summary: hop.summary.clone(),
                    request,
                    predicted: "(hop missing)".into(),
                    seen: show(&s.sni),
                });
                continue;
            };
            compared += 1;
            let predicted = predicted_sni(h, hop);
            let sni_json = h["sni"].to_string();
            match predicted {
                Ok(p) if p == s.sni => {}
                Ok(p) => wrong.push(Mismatch {
                    id,
                    summary: format!("{} | hopscope sni={sni_json}", hop.summary),
                    request,
                    predicted: show(&p),
                    seen: show(&s.sni),
                }),
                Err(e) => wrong.push(Mismatch {
                    id,
                    summary: format!("{} | hopscope sni={sni_json}", hop.summary),
                    request,
                    predicted: format!("INVALID: {e}"),
                    seen: show(&s.sni),
                }),
            }
            // proxy_host is what nginx sends as Host upstream
            let ph_pred = h["proxy_host"]
                .as_str()
                .map(|ph| eval_expr(ph, &request_vars(&hop.host)).unwrap_or_else(|e| e));
            if ph_pred.as_deref() != Some(s.host.as_str()) {
                wrong.push(Mismatch {
                    id: format!("{}/{} (proxy_host)", fr.label, hop.id),
                    summary: format!("{} | hopscope proxy_host={}", hop.summary, h["proxy_host"]),
                    request: format!(
                        "{} :{}{} Host: {}",
                        hop.method, hop.port, hop.path, hop.host
                    ),
                    predicted: ph_pred.unwrap_or_else(|| "(missing)".into()),
                    seen: format!("Host: {}", s.host),
                });
            }
        }
    }
    if problems.is_empty() && wrong.is_empty() {
        eprintln!("hopscope: predicted the real SNI on all {compared} hops");
    }
    eprintln!("total test time {:?}", started.elapsed());

    if !harness.is_empty() || !problems.is_empty() || !wrong.is_empty() {
        let mut msg = String::new();
        if !harness.is_empty() {
            msg.push_str(&table(
                "HARNESS BUG (or nginx surprise): expectation vs real nginx",
                &harness,
                "EXPECTED",
                "NGINX SENT",
            ));
        }
        if !problems.is_empty() {
            let _ = write!(
                msg,
                "\n=== hopscope problems ===\n{}\n",
                problems.join("\n")
            );
        }
        if !wrong.is_empty() {
            msg.push_str(&table(
                "hopscope prediction vs real nginx",
                &wrong,
                "HOPSCOPE",
                "NGINX SENT",
            ));
        }
        panic!("{msg}");
    }
}

#[test]
fn harness_model_basics() {
    assert_eq!(strip_port("a.example:8443"), "a.example");
    assert_eq!(strip_port("[::1]:443"), "[::1]");
    assert_eq!(strip_port("[::1]"), "[::1]");
    assert_eq!(nginx_sni(true, "127.0.0.1"), "");
    assert_eq!(nginx_sni(true, "backend"), "backend");
    assert_eq!(nginx_sni(false, "backend"), "");
    assert_eq!(nginx_sni(true, ""), "");
    let vars = request_vars("Dyn.Example:8080");
    assert_eq!(eval_expr("$host", &vars).unwrap(), "dyn.example");
    assert_eq!(eval_expr("${host}.x", &vars).unwrap(), "dyn.example.x");
    assert_eq!(eval_expr("$http_host", &vars).unwrap(), "Dyn.Example:8080");
    assert!(eval_expr("$nope", &vars).is_err());
}
