//! A deterministic generator of realistic nginx configuration trees, for
//! benchmarks (`examples/gen.rs`, `benches/`, `bench/run`) and for the test
//! that checks real `nginx -t` accepts what it writes (`tests/bench_gen.rs`).
//!
//! The same options and seed always give the same bytes. A tree is a main
//! `nginx.conf` (http and stream blocks, a `load_module` line for the stream
//! module) that includes `conf.d/*.conf` (sites: upstream pools, `map`s and
//! servers with locations, nested locations, `if`, `limit_except`, named
//! and regex locations), `stream.d/*.conf` (stream pools and servers) and
//! `snippets/*.conf` (TLS profiles included from locations); `*_ssl_*`
//! settings appear at http, server and location level (stream: stream and
//! server). Passes are `proxy_pass` (https, http, IP literals, variables),
//! `grpc_pass grpcs://`, `uwsgi_pass suwsgi://` and stream `proxy_pass`.
//!
//! nginx -t validity without DNS: every upstream server is a loopback IP
//! literal (127.x.y.z), and every host-like pass target (`api-3.svc.internal`)
//! is the name of an `upstream {}` group, which nginx resolves without DNS.
//! Listen addresses are loopback addresses (127.2.x.1 for http,
//! 127.1.x.y for stream, each stream server its own address). Certificate
//! paths are relative to the prefix, under `tls/` (see [`Options::tls_dir`]):
//! `tls/ca.pem`, `tls/client.pem` and `tls/client.key` must exist for
//! `nginx -t` (the generator does not write them; `tests/bench_gen.rs` and
//! `bench/run` create them with openssl). Logs and temp paths are relative
//! to the prefix too (`logs/`, `tmp/`): run `nginx -t -p DIR -c DIR/nginx.conf`.

#![allow(dead_code)]

use std::fmt::Write as _;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// About how many directives to write (every statement and block
    /// opener counts, as nginx parses them); the result is within one site
    /// (~150 directives) above this.
    pub directives: usize,
    /// Exactly how many configuration files to write (at least 1).
    pub files: usize,
    pub seed: u64,
    /// The `load_module` line for the stream module; None leaves it out
    /// (for an nginx with the stream module built in).
    pub stream_module: Option<String>,
    /// Where certificates live, as written in the directives.
    pub tls_dir: String,
}

impl Options {
    pub fn new(directives: usize, files: usize, seed: u64) -> Options {
        Options {
            directives,
            files: files.max(1),
            seed,
            stream_module: Some("/usr/lib/nginx/modules/ngx_stream_module.so".into()),
            tls_dir: "tls".into(),
        }
    }
}

/// A generated tree and what it holds.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// Paths relative to the prefix, and contents; `nginx.conf` first.
    pub files: Vec<(String, String)>,
    /// Directives written (a file included several times counts once).
    pub directives: usize,
    /// Upstream TLS hops hopscope must find (https, grpcs, suwsgi passes,
    /// and stream passes of servers with `proxy_ssl on`).
    pub hops: usize,
    /// Every pass directive (TLS or not).
    pub passes: usize,
    pub servers: usize,
    pub locations: usize,
    pub upstreams: usize,
}

impl Generated {
    pub fn bytes(&self) -> usize {
        self.files.iter().map(|(_, t)| t.len()).sum()
    }

    /// One line of JSON describing the tree.
    pub fn summary_json(&self) -> String {
        format!(
            "{{\"files\":{},\"bytes\":{},\"directives\":{},\"hops\":{},\"passes\":{},\"servers\":{},\"locations\":{},\"upstreams\":{}}}",
            self.files.len(),
            self.bytes(),
            self.directives,
            self.hops,
            self.passes,
            self.servers,
            self.locations,
            self.upstreams
        )
    }

    /// Writes the files below `dir` (created as needed).
    pub fn write_to(&self, dir: &std::path::Path) -> std::io::Result<()> {
        for (rel, text) in &self.files {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text)?;
        }
        Ok(())
    }
}

/// splitmix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// True with probability `pct` percent.
    fn chance(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Text of one file being written, counting directives.
#[derive(Default)]
struct W {
    out: String,
    depth: usize,
    count: usize,
}

impl W {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
    }
    /// A simple directive (`;` added).
    fn d(&mut self, s: &str) {
        self.indent();
        self.out.push_str(s);
        self.out.push_str(";\n");
        self.count += 1;
    }
    /// A simple directive with a trailing comment.
    fn dc(&mut self, s: &str, comment: &str) {
        self.indent();
        let _ = writeln!(self.out, "{s}; # {comment}");
        self.count += 1;
    }
    fn open(&mut self, s: &str) {
        self.indent();
        self.out.push_str(s);
        self.out.push_str(" {\n");
        self.depth += 1;
        self.count += 1;
    }
    fn close(&mut self) {
        self.depth -= 1;
        self.indent();
        self.out.push_str("}\n");
    }
    fn comment(&mut self, s: &str) {
        self.indent();
        let _ = writeln!(self.out, "# {s}");
    }
    fn blank(&mut self) {
        self.out.push('\n');
    }
}

/// The TLS profiles kept in `snippets/`, included from locations.
fn tls_profile(w: &mut W, k: usize, tls: &str) {
    match k % 4 {
        0 => {
            w.comment("verified upstream TLS, SNI on");
            w.d("proxy_ssl_server_name on");
            w.d("proxy_ssl_verify on");
            w.d("proxy_ssl_verify_depth 3");
        }
        1 => {
            w.comment("modern protocols only");
            w.d("proxy_ssl_server_name on");
            w.d("proxy_ssl_protocols TLSv1.2 TLSv1.3");
            w.d("proxy_ssl_ciphers HIGH:!aNULL:!MD5");
        }
        2 => {
            w.comment("mutual TLS towards the upstream");
            w.d(&format!("proxy_ssl_certificate {tls}/client.pem"));
            w.d(&format!("proxy_ssl_certificate_key {tls}/client.key"));
            w.d("proxy_ssl_server_name on");
        }
        _ => {
            w.comment("legacy appliances: no verification");
            w.d("proxy_ssl_verify off");
            w.d("proxy_ssl_session_reuse off");
        }
    }
}

struct Gen<'a> {
    opts: &'a Options,
    rng: Rng,
    g: Generated,
    snippets: usize,
    /// Loopback address counter for upstream servers.
    addr: usize,
}

impl Gen<'_> {
    fn ip(&mut self) -> String {
        self.addr += 1;
        let a = self.addr;
        format!(
            "127.{}.{}.{}",
            10 + (a >> 16) % 200,
            (a >> 8) & 0xff,
            (a & 0xff).max(1)
        )
    }

    fn pool(&mut self, w: &mut W, name: &str, port: u16, servers: usize, stream: bool) {
        self.g.upstreams += 1;
        w.open(&format!("upstream {name}"));
        for i in 0..servers {
            let ip = self.ip();
            let mut line = format!("server {ip}:{port}");
            match self.rng.below(6) {
                0 => line.push_str(" weight=2"),
                1 => line.push_str(" max_fails=3 fail_timeout=10s"),
                2 if i > 0 => line.push_str(" backup"),
                _ => {}
            }
            w.d(&line);
        }
        if !stream && self.rng.chance(50) {
            w.d("keepalive 16");
        }
        w.close();
    }

    /// `proxy_pass`, `grpc_pass` or `uwsgi_pass`; `tls` says whether it is a hop.
    fn pass(&mut self, w: &mut W, line: &str, tls: bool) {
        self.g.passes += 1;
        if tls {
            self.g.hops += 1;
        }
        if tls && self.rng.chance(2) {
            w.dc(
                line,
                "hopscope: ignore sni-off appliance without SNI support",
            );
        } else {
            w.d(line);
        }
    }

    fn tls_settings(&mut self, w: &mut W) {
        if self.snippets > 0 && self.rng.chance(35) {
            let k = self.rng.below(self.snippets);
            w.d(&format!("include snippets/upstream-tls-{k}.conf"));
        } else if self.rng.chance(25) {
            let tls = self.opts.tls_dir.clone();
            tls_profile(w, self.rng.below(4), &tls);
        }
    }

    /// One site: its pools, maybe a map, and one or two servers.
    fn site(&mut self, w: &mut W, u: usize) {
        let r = &mut self.rng;
        let host_named = r.chance(40);
        let n_pools = 1 + r.below(3);
        let grpc = r.chance(20);
        let uwsgi = r.chance(10);
        let map = r.chance(25);
        w.comment(&format!("site {u}: tenant-{u}.example.com"));
        let mut pools = Vec::new();
        for k in 0..n_pools {
            let name = if host_named && k == 0 {
                format!("api-{u}.svc.internal")
            } else {
                format!("backend_{u}_{k}")
            };
            let servers = 1 + self.rng.below(4);
            self.pool(w, &name, 443, servers, false);
            pools.push(name);
        }
        if grpc {
            let servers = 1 + self.rng.below(3);
            self.pool(w, &format!("grpc_{u}"), 50051, servers, false);
        }
        if uwsgi {
            let servers = 1 + self.rng.below(2);
            self.pool(w, &format!("uwsgi_{u}"), 3031, servers, false);
        }
        if map {
            w.open(&format!("map $http_x_tenant $tenant_pool_{u}"));
            w.d(&format!("default {}", pools[0]));
            w.d(&format!("acme {}", pools[pools.len() - 1]));
            w.d(&format!("\"~^beta-\" {}", pools[0]));
            w.close();
        }
        w.blank();
        let n_servers = 1 + self.rng.below(2);
        for s in 0..n_servers {
            self.server(w, u, s, &pools, grpc, uwsgi, map);
        }
        w.blank();
    }

    #[allow(clippy::too_many_arguments)]
    fn server(
        &mut self,
        w: &mut W,
        u: usize,
        s: usize,
        pools: &[String],
        grpc: bool,
        uwsgi: bool,
        map: bool,
    ) {
        self.g.servers += 1;
        w.open("server");
        let sock = self.rng.below(8);
        w.d(&format!("listen 127.2.{sock}.1:8080"));
        if self.rng.chance(30) {
            w.d(&format!("listen 127.2.{sock}.1:8081"));
        }
        w.d(&format!(
            "server_name tenant-{u}-{s}.example.com www.tenant-{u}-{s}.example.com"
        ));
        w.d("access_log logs/access.log main");
        if self.rng.chance(50) {
            w.d(&format!("client_max_body_size {}m", 1 + self.rng.below(64)));
        }
        if self.rng.chance(60) {
            w.d("proxy_ssl_server_name on");
        }
        if self.rng.chance(25) {
            w.d("proxy_ssl_verify on");
        }
        if self.rng.chance(30) {
            w.d("proxy_set_header Host $host");
            w.d("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for");
        }
        if self.rng.chance(20) {
            w.open("if ($request_method = TRACE)");
            w.d("return 405");
            w.close();
        }
        let n_loc = 2 + self.rng.below(6);
        for l in 0..n_loc {
            self.location(w, u, l, pools, grpc, uwsgi, map);
        }
        w.close();
    }

    fn pool_of<'p>(&mut self, pools: &'p [String]) -> &'p str {
        &pools[self.rng.below(pools.len())]
    }

    #[allow(clippy::too_many_arguments)]
    fn location(
        &mut self,
        w: &mut W,
        u: usize,
        l: usize,
        pools: &[String],
        grpc: bool,
        uwsgi: bool,
        map: bool,
    ) {
        self.g.locations += 1;
        // Kinds that need a pool this site lacks fall back to common ones.
        let kind = match self.rng.below(20) {
            12 if !grpc => 0,
            13 if !uwsgi => 6,
            14 if !map => 10,
            k => k,
        };
        match kind {
            // An API behind TLS, with nested locations, `if` and limit_except.
            0..=5 => {
                w.open(&format!("location /api/v{l}/"));
                let pool = self.pool_of(pools).to_string();
                self.pass(w, &format!("proxy_pass https://{pool}/"), true);
                w.d("proxy_http_version 1.1");
                w.d("proxy_set_header Connection \"\"");
                if self.rng.chance(40) {
                    w.d(&format!("proxy_ssl_name tenant-{u}.internal.example"));
                    w.d("proxy_ssl_server_name on");
                } else {
                    self.tls_settings(w);
                }
                if self.rng.chance(30) {
                    self.g.locations += 1;
                    w.open(&format!("location /api/v{l}/admin/"));
                    w.open("limit_except GET POST");
                    w.d("deny all");
                    w.close();
                    let pool = self.pool_of(pools).to_string();
                    self.pass(w, &format!("proxy_pass https://{pool}"), true);
                    if self.rng.chance(50) {
                        w.d("proxy_ssl_verify on");
                        w.d("proxy_ssl_verify_depth 2");
                    }
                    w.close();
                }
                if self.rng.chance(20) {
                    w.open("if ($http_x_canary = \"1\")");
                    let pool = pools[pools.len() - 1].clone();
                    self.pass(w, &format!("proxy_pass https://{pool}"), true);
                    w.close();
                }
                w.close();
            }
            // Static files.
            6..=8 | 19 => {
                w.open(&format!(
                    "location ~* ^/static{l}/.+\\.(css|js|png|svg|woff2)$"
                ));
                w.d(&format!("root /var/www/tenant-{u}"));
                w.d("expires 7d");
                w.d("access_log off");
                w.d("add_header Cache-Control \"public, max-age=604800\"");
                w.close();
            }
            // Health check.
            9 => {
                w.open(&format!("location = /healthz{l}"));
                w.d("default_type text/plain");
                w.d("return 200 \"ok\\n\"");
                w.close();
            }
            // Plain http to a local service, sometimes with a useless TLS line.
            10..=11 => {
                w.open(&format!("location /legacy/{l}/"));
                let ip = self.ip();
                self.pass(w, &format!("proxy_pass http://{ip}:8080"), false);
                w.d("proxy_read_timeout 60s");
                if self.rng.chance(10) {
                    w.d("proxy_ssl_verify on");
                }
                w.close();
            }
            12 => {
                w.open(&format!("location /pkg{l}.Service/"));
                self.pass(w, &format!("grpc_pass grpcs://grpc_{u}"), true);
                w.d("grpc_ssl_server_name on");
                if self.rng.chance(60) {
                    w.d(&format!("grpc_ssl_name grpc-{u}.internal.example"));
                }
                w.d("grpc_set_header X-Request-Id $request_id");
                w.close();
            }
            13 => {
                w.open(&format!("location /app{l}/"));
                w.d("uwsgi_param QUERY_STRING $query_string");
                w.d("uwsgi_param REQUEST_METHOD $request_method");
                self.pass(w, &format!("uwsgi_pass suwsgi://uwsgi_{u}"), true);
                w.d("uwsgi_ssl_server_name on");
                w.close();
            }
            14 => {
                w.open(&format!("location /tenant{l}/"));
                self.pass(w, &format!("proxy_pass https://$tenant_pool_{u}"), true);
                w.d("proxy_ssl_server_name on");
                if self.rng.chance(30) {
                    w.d("proxy_ssl_name $host");
                } else {
                    w.d(&format!("proxy_ssl_name tenant-{u}.internal.example"));
                }
                w.close();
            }
            15 => {
                w.open(&format!("location /internal{l}/"));
                let ip = self.ip();
                self.pass(w, &format!("proxy_pass https://{ip}:8443"), true);
                if self.rng.chance(50) {
                    w.d("proxy_ssl_name internal.example");
                }
                w.close();
            }
            16 | 17 => {
                w.open(&format!("location ~ ^/v{l}/items/(?<item>[0-9]+)$"));
                let pool = self.pool_of(pools).to_string();
                self.pass(w, &format!("proxy_pass https://{pool}"), true);
                w.d("proxy_set_header X-Item $item");
                w.close();
            }
            _ => {
                w.open(&format!("location @fallback{l}"));
                let pool = self.pool_of(pools).to_string();
                self.pass(w, &format!("proxy_pass https://{pool}"), true);
                w.close();
            }
        }
    }

    /// One stream pool and its server.
    fn stream_site(&mut self, w: &mut W, v: usize) {
        let servers = 1 + self.rng.below(3);
        self.pool(w, &format!("ldap_{v}"), 636, servers, true);
        self.g.servers += 1;
        w.open("server");
        w.d(&format!("listen 127.1.{}.{}:9636", v / 250, v % 250 + 1));
        let ssl = self.rng.chance(70);
        self.g.passes += 1;
        if ssl {
            self.g.hops += 1;
        }
        w.d(&format!("proxy_pass ldap_{v}"));
        if ssl {
            w.d("proxy_ssl on");
            if self.rng.chance(60) {
                w.d("proxy_ssl_server_name on");
                w.d(&format!("proxy_ssl_name ldap-{v}.internal.example"));
            }
            if self.rng.chance(50) {
                w.d("proxy_ssl_verify on");
            }
        }
        w.d("proxy_connect_timeout 5s");
        w.d("proxy_timeout 30s");
        w.close();
    }
}

/// `worker_connections`: nginx -t wants it above the number of listening
/// sockets (every stream server has its own address).
fn main_head(w: &mut W, opts: &Options, worker_connections: usize) {
    w.comment(&format!(
        "generated by hopscope examples/gen.rs: --directives {} --files {} --seed {}",
        opts.directives, opts.files, opts.seed
    ));
    if let Some(m) = &opts.stream_module {
        w.d(&format!("load_module {m}"));
    }
    w.d("worker_processes 2");
    w.d("pid logs/nginx.pid");
    w.d("error_log logs/error.log warn");
    w.blank();
    w.open("events");
    w.d(&format!("worker_connections {worker_connections}"));
    w.close();
    w.blank();
}

fn http_head(w: &mut W, tls: &str) {
    w.open("http");
    w.open("types");
    w.d("text/html html htm");
    w.d("text/css css");
    w.d("application/javascript js");
    w.d("application/json json");
    w.close();
    w.d("default_type application/octet-stream");
    w.d("sendfile on");
    w.d("keepalive_timeout 65");
    w.d("server_names_hash_max_size 262144");
    w.d("server_names_hash_bucket_size 128");
    w.d("variables_hash_max_size 262144");
    w.d("variables_hash_bucket_size 128");
    w.d(
        "log_format main '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent'",
    );
    w.d("access_log logs/access.log main");
    w.d("client_body_temp_path tmp/client_body");
    w.d("proxy_temp_path tmp/proxy");
    w.d("fastcgi_temp_path tmp/fastcgi");
    w.d("uwsgi_temp_path tmp/uwsgi");
    w.d("scgi_temp_path tmp/scgi");
    w.comment("upstream TLS defaults for every site");
    w.d("proxy_ssl_protocols TLSv1.2 TLSv1.3");
    w.d(&format!("proxy_ssl_trusted_certificate {tls}/ca.pem"));
    w.d(&format!("grpc_ssl_trusted_certificate {tls}/ca.pem"));
    w.d(&format!("uwsgi_ssl_trusted_certificate {tls}/ca.pem"));
    w.d("proxy_ssl_session_reuse on");
}

fn stream_head(w: &mut W, tls: &str) {
    w.open("stream");
    w.d("proxy_ssl_protocols TLSv1.2 TLSv1.3");
    w.d(&format!("proxy_ssl_trusted_certificate {tls}/ca.pem"));
}

/// Generates a tree.
pub fn generate(opts: &Options) -> Generated {
    let files = opts.files.max(1);
    // Files besides nginx.conf: snippets, stream files, site files.
    let rest = files - 1;
    let snippets = if rest >= 4 {
        (rest / 25).clamp(1, 8)
    } else {
        0
    };
    let stream_files = if rest >= 3 { (rest / 50).max(1) } else { 0 };
    let site_files = rest - snippets - stream_files;
    let mut gen = Gen {
        opts,
        rng: Rng(opts.seed ^ 0x6E67_696E_785F_6765),
        g: Generated::default(),
        snippets,
        addr: 0,
    };
    let tls = opts.tls_dir.clone();

    // Snippets.
    let mut snippet_files = Vec::new();
    for k in 0..snippets {
        let mut w = W::default();
        tls_profile(&mut w, k, &tls);
        snippet_files.push((format!("snippets/upstream-tls-{k}.conf"), w));
    }
    let snippet_count: usize = snippet_files.iter().map(|(_, w)| w.count).sum();

    // Stream units (about 4% of the directives), then sites.
    let main_overhead = 45;
    let budget = opts
        .directives
        .saturating_sub(main_overhead + snippet_count);
    let stream_budget = budget / 25;
    let mut stream_units: Vec<W> = Vec::new();
    let mut stream_count = 0;
    let mut v = 0;
    while stream_count < stream_budget.max(1) {
        let mut w = W::default();
        gen.stream_site(&mut w, v);
        v += 1;
        stream_count += w.count;
        stream_units.push(w);
    }
    let mut site_units: Vec<W> = Vec::new();
    let mut site_count = 0;
    let mut u = 0;
    while site_count < budget.saturating_sub(stream_count).max(1) {
        let mut w = W::default();
        gen.site(&mut w, u);
        u += 1;
        site_count += w.count;
        site_units.push(w);
    }

    // Lay out the files.
    let mut main = W::default();
    // 16 http sockets (8 addresses, 2 ports) and one per stream server.
    let sockets = 16 + stream_units.len();
    main_head(&mut main, opts, (2 * sockets).next_multiple_of(1024));
    let mut out: Vec<(String, W)> = Vec::new();
    http_head(&mut main, &tls);
    if site_files == 0 {
        for unit in &site_units {
            indent_into(&mut main, unit);
        }
    } else {
        main.d("include conf.d/*.conf");
        for (i, chunk) in chunks(&site_units, site_files).into_iter().enumerate() {
            let mut w = W::default();
            w.comment(&format!("sites, part {i}"));
            for unit in chunk {
                indent_into(&mut w, unit);
            }
            out.push((format!("conf.d/site-{i:04}.conf"), w));
        }
    }
    main.close();
    main.blank();
    stream_head(&mut main, &tls);
    if stream_files == 0 {
        for unit in &stream_units {
            indent_into(&mut main, unit);
        }
    } else {
        main.d("include stream.d/*.conf");
        for (i, chunk) in chunks(&stream_units, stream_files).into_iter().enumerate() {
            let mut w = W::default();
            w.comment(&format!("stream services, part {i}"));
            for unit in chunk {
                indent_into(&mut w, unit);
            }
            out.push((format!("stream.d/stream-{i:03}.conf"), w));
        }
    }
    main.close();

    let mut g = gen.g;
    g.files.push(("nginx.conf".into(), main.out));
    g.directives = main.count;
    for (name, w) in out.into_iter().chain(snippet_files) {
        g.directives += w.count;
        g.files.push((name, w.out));
    }
    g
}

/// Appends a unit's text at the writer's depth, and its directive count.
fn indent_into(w: &mut W, unit: &W) {
    let pad = "    ".repeat(w.depth);
    for line in unit.out.lines() {
        if !line.is_empty() {
            w.out.push_str(&pad);
            w.out.push_str(line);
        }
        w.out.push('\n');
    }
    w.count += unit.count;
}

/// Splits units into `n` runs of about equal directive counts (some may be
/// empty when there are fewer units than files).
fn chunks(units: &[W], n: usize) -> Vec<Vec<&W>> {
    let total: usize = units.iter().map(|u| u.count).sum();
    let mut out: Vec<Vec<&W>> = vec![Vec::new(); n];
    let mut acc = 0usize;
    for unit in units {
        let i = (acc * n / total.max(1)).min(n - 1);
        out[i].push(unit);
        acc += unit.count;
    }
    out
}
