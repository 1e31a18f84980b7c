//! Real-world shapes, validated by real `nginx -t` before hopscope reads them.
//!
//! (a) Debian's layout: `nginx.conf`, `mime.types`, `proxy_params`,
//!     `snippets/*` and `sites-available/default` are copied from the
//!     installed /etc/nginx (embedded Debian 12 copies where missing), with
//!     /etc/nginx rewritten into a temporary prefix; `modules-enabled/` and
//!     `sites-enabled/` hold symlinks as on Debian; two sites with https,
//!     grpcs and nested/`if` hops are added. Every hop is asserted: id,
//!     target, server, locations, upstream, `$proxy_host`, SNI, verify name,
//!     and value + origin (file, line, level, or default) of every setting.
//! (b) An ingress-nginx-like generated configuration: 40 servers with three
//!     locations each, `set $proxy_upstream_name …; set $proxy_host
//!     $proxy_upstream_name;`, `if` blocks, the ProxySSL blocks the
//!     controller writes at server and location level, `proxy_pass
//!     https://upstream_balancer;` and `grpc_pass grpcs://…`. The hop count
//!     is asserted, a sample of hops is checked against values computed
//!     while generating, and for a sample the SNI is compared with what a
//!     running nginx really sends to a TLS upstream that echoes it.

mod common;

use common::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const HOPSCOPE_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_BUDGET: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// The harness's model of settings: where each *_ssl_* directive is written
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Entry {
    directive: String,
    value: String,
    file: String,
    line: usize,
}

/// Directives written per block (a block is named by a key chosen by the
/// generator), in the order nginx reads them.
#[derive(Default)]
struct Rec {
    blocks: HashMap<String, Vec<Entry>>,
}

impl Rec {
    /// Write `directive value;` in `f` and record it for `block`.
    fn put(&mut self, block: &str, f: &mut ConfFile, directive: &str, value: &str) {
        let line = f.line(format!("{directive} {value};"));
        self.note(block, directive, value, &f.rel, line);
    }

    fn note(&mut self, block: &str, directive: &str, value: &str, file: &str, line: usize) {
        self.blocks
            .entry(block.to_string())
            .or_default()
            .push(Entry {
                directive: directive.to_string(),
                value: value.trim_matches('"').to_string(),
                file: file.to_string(),
                line,
            });
    }

    /// Record every `*_ssl_*` line of a snippet file (lines `n: text`) as
    /// written in `block` (where the snippet is included).
    fn snippet(&mut self, block: &str, f: &ConfFile, lines: &[(usize, &str, &str)]) {
        for (line, d, v) in lines {
            self.note(block, d, v, &f.rel, *line);
        }
    }

    /// The expected `settings` object of a hop: for each directive the
    /// module knows at `version`, the innermost block of `chain` (outermost
    /// first, with its level) that writes it, else nginx's default.
    fn settings(&self, module: &str, chain: &[(&str, &str)], version: (u16, u16, u16)) -> Value {
        let mut out = Map::new();
        for (suffix, default) in known(module, version) {
            let name = format!("{}_ssl{suffix}", prefix_of(module));
            let found = chain.iter().rev().find_map(|(key, level)| {
                let lines: Vec<&Entry> = self
                    .blocks
                    .get(*key)
                    .map(|v| v.iter().filter(|e| e.directive == name).collect())
                    .unwrap_or_default();
                (!lines.is_empty()).then_some((lines, *level))
            });
            let v = match found {
                Some((lines, level)) => json!({
                    "value": lines.iter().map(|e| e.value.as_str()).collect::<Vec<_>>().join("; "),
                    "origin": "explicit",
                    "file": lines[0].file,
                    "line": lines[0].line,
                    "level": level,
                }),
                None => json!({"value": default, "origin": "default"}),
            };
            out.insert(name, v);
        }
        Value::Object(out)
    }
}

fn prefix_of(module: &str) -> &str {
    match module {
        "grpc" => "grpc",
        "uwsgi" => "uwsgi",
        _ => "proxy",
    }
}

/// The directives (suffix after `*_ssl`) a module knows at an nginx
/// version, with nginx's default value there (from
/// shared/nginx-upstream-tls.md, written down independently of hopscope).
fn known(module: &str, v: (u16, u16, u16)) -> Vec<(&'static str, Value)> {
    let protocols = if v < (1, 9, 1) {
        "SSLv3 TLSv1 TLSv1.1 TLSv1.2"
    } else if v < (1, 23, 4) {
        "TLSv1 TLSv1.1 TLSv1.2"
    } else if v < (1, 27, 3) {
        "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"
    } else {
        "TLSv1.2 TLSv1.3"
    };
    let name_default = if module == "proxy" {
        Value::from("$proxy_host")
    } else {
        Value::Null
    };
    let mut out: Vec<(&'static str, Value)> = vec![
        ("_server_name", "off".into()),
        ("_name", name_default),
        ("_verify", "off".into()),
        ("_verify_depth", "1".into()),
        ("_trusted_certificate", Value::Null),
        ("_crl", Value::Null),
        ("_protocols", protocols.into()),
        ("_ciphers", "DEFAULT".into()),
        ("_certificate", Value::Null),
        ("_certificate_key", Value::Null),
        ("_password_file", Value::Null),
        ("_session_reuse", "on".into()),
    ];
    if v >= (1, 19, 4) {
        out.push(("_conf_command", Value::Null));
    }
    if v >= (1, 27, 4) {
        out.push(("_certificate_cache", "off".into()));
    }
    out
}

/// The installed nginx's version, e.g. (1, 22, 1).
fn nginx_version(nginx: &Path) -> (u16, u16, u16) {
    let out = std::process::Command::new(nginx)
        .arg("-v")
        .output()
        .expect("nginx -v");
    let text = String::from_utf8_lossy(&out.stderr);
    let v = text
        .split("nginx/")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("1.22.1");
    let mut it = v.split('.').map(|x| x.parse::<u16>().unwrap_or(0));
    (
        it.next().unwrap_or(1),
        it.next().unwrap_or(22),
        it.next().unwrap_or(1),
    )
}

fn vstr(v: (u16, u16, u16)) -> String {
    format!("{}.{}.{}", v.0, v.1, v.2)
}

/// The first way `got` departs from `want`, as a path. Only the fields
/// `want` names are compared (the contract may add fields), except that a
/// `settings` object must have exactly the expected keys.
fn first_diff(want: &Value, got: &Value, path: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(x), Value::Object(y)) => {
            if path.ends_with(".settings") {
                let (a, b): (Vec<&String>, Vec<&String>) = (x.keys().collect(), y.keys().collect());
                if a != b {
                    return Some(format!("{path}: keys {b:?}, expected {a:?}"));
                }
            }
            x.iter().find_map(|(k, w)| {
                first_diff(w, y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        _ if want == got => None,
        _ => Some(format!("{path}: expected {want}, hopscope {got}")),
    }
}

fn run_hops(conf: &Path, version: (u16, u16, u16)) -> Result<Value, String> {
    let r = hopscope_run(
        &[
            "hops".as_ref(),
            conf.as_os_str(),
            "--json".as_ref(),
            "--nginx-version".as_ref(),
            vstr(version).as_ref(),
        ],
        None,
        HOPSCOPE_TIMEOUT,
    );
    eprintln!(
        "hopscope hops {}: exit {:?} in {:?}",
        conf.display(),
        r.code,
        r.elapsed
    );
    if r.code != Some(0) {
        return Err(format!(
            "exit {:?} (timed out: {}); stderr:\n{}",
            r.code, r.timed_out, r.stderr
        ));
    }
    r.json()
}

// ---------------------------------------------------------------------------
// (a) Debian's layout
// ---------------------------------------------------------------------------

/// Debian 12's /etc/nginx/nginx.conf, used when the file is not installed.
const DEBIAN_NGINX_CONF: &str = "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\nerror_log /var/log/nginx/error.log;\ninclude /etc/nginx/modules-enabled/*.conf;\n\nevents {\n\tworker_connections 768;\n\t# multi_accept on;\n}\n\nhttp {\n\n\t##\n\t# Basic Settings\n\t##\n\n\tsendfile on;\n\ttcp_nopush on;\n\ttypes_hash_max_size 2048;\n\t# server_tokens off;\n\n\t# server_names_hash_bucket_size 64;\n\t# server_name_in_redirect off;\n\n\tinclude /etc/nginx/mime.types;\n\tdefault_type application/octet-stream;\n\n\t##\n\t# SSL Settings\n\t##\n\n\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE\n\tssl_prefer_server_ciphers on;\n\n\t##\n\t# Logging Settings\n\t##\n\n\taccess_log /var/log/nginx/access.log;\n\n\t##\n\t# Gzip Settings\n\t##\n\n\tgzip on;\n\n\t##\n\t# Virtual Host Configs\n\t##\n\n\tinclude /etc/nginx/conf.d/*.conf;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n";

const DEBIAN_DEFAULT_SITE: &str = "# Default server configuration\n#\nserver {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n\n\troot /var/www/html;\n\n\tindex index.html index.htm index.nginx-debian.html;\n\n\tserver_name _;\n\n\tlocation / {\n\t\ttry_files $uri $uri/ =404;\n\t}\n}\n";

const DEBIAN_PROXY_PARAMS: &str = "proxy_set_header Host $http_host;\nproxy_set_header X-Real-IP $remote_addr;\nproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\nproxy_set_header X-Forwarded-Proto $scheme;\n";

const MIME_TYPES: &str = "types {\n    text/html html htm shtml;\n    text/css css;\n    application/javascript js;\n}\n";

/// A file of the installed /etc/nginx, else the embedded copy; absolute
/// paths rewritten into the prefix.
fn debian_file(rel: &str, fallback: &str, prefix: &Path) -> String {
    let text = std::fs::read_to_string(Path::new("/etc/nginx").join(rel))
        .unwrap_or_else(|_| fallback.into());
    let p = prefix.display().to_string();
    text.replace("/etc/nginx", &p)
        .replace("/var/log/nginx", &format!("{p}/logs"))
        .replace("/run/nginx.pid", &format!("{p}/logs/nginx.pid"))
}

/// One hop the Debian tree must show.
struct Expect {
    id: String,
    module: &'static str,
    target: &'static str,
    server_names: Vec<&'static str>,
    listen: Vec<&'static str>,
    locations: Vec<&'static str>,
    /// (group name, file, line, servers)
    upstream: Option<(&'static str, String, usize, Vec<&'static str>)>,
    proxy_host: &'static str,
    /// SNI sent (None = none)
    sni: Option<&'static str>,
    verify_name: Option<&'static str>,
    /// Blocks outermost first, with their level.
    chain: Vec<(String, &'static str)>,
}

struct Debian {
    prefix: Prefix,
    rec: Rec,
    hops: Vec<Expect>,
}

fn debian_tree() -> Debian {
    let prefix = Prefix::new("debian");
    let pfx = prefix.path().to_path_buf();
    let p = pfx.display().to_string();
    let mut rec = Rec::default();
    let mut hops = Vec::new();

    // certificates the sites use
    let ca = TestCa::new(&pfx.join("ssl"));
    let leaf = ca.leaf("app", &["app.example.com", "api.example.com"]);

    // the Debian files
    prefix.write(
        "nginx.conf",
        &debian_file("nginx.conf", DEBIAN_NGINX_CONF, &pfx),
    );
    prefix.write("mime.types", &debian_file("mime.types", MIME_TYPES, &pfx));
    prefix.write(
        "proxy_params",
        &debian_file("proxy_params", DEBIAN_PROXY_PARAMS, &pfx),
    );
    prefix.write(
        "sites-available/default",
        &debian_file("sites-available/default", DEBIAN_DEFAULT_SITE, &pfx),
    );
    if let Ok(rd) = std::fs::read_dir("/etc/nginx/snippets") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("snippets/{name}");
            prefix.write(&rel, &debian_file(&rel, "", &pfx));
        }
    }
    std::fs::create_dir_all(pfx.join("modules-enabled")).expect("mkdir");
    std::fs::create_dir_all(pfx.join("sites-enabled")).expect("mkdir");
    std::fs::create_dir_all(pfx.join("conf.d")).expect("mkdir");
    // modules-enabled/50-mod-stream.conf -> …/modules-available/mod-stream.conf,
    // whose `load_module modules/…` is relative to nginx's prefix (-p)
    let stream_so = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
    if stream_so.is_file() {
        let text = std::fs::read_to_string("/usr/share/nginx/modules-available/mod-stream.conf")
            .unwrap_or_else(|_| "load_module modules/ngx_stream_module.so;\n".into());
        prefix.write("usr-share-nginx/modules-available/mod-stream.conf", &text);
        std::os::unix::fs::symlink(
            pfx.join("usr-share-nginx/modules-available/mod-stream.conf"),
            pfx.join("modules-enabled/50-mod-stream.conf"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink("/usr/lib/nginx/modules", pfx.join("modules")).expect("symlink");
    }

    // ---- conf.d: upstreams and http-level TLS for every site ----------------
    let mut ups = ConfFile::new("conf.d/upstreams.conf");
    let app_line = ups.open("upstream app_backend");
    ups.line("server 10.0.0.11:8443;");
    ups.line("server 10.0.0.12:8443 backup;");
    ups.line("keepalive 16;");
    ups.close();
    let v2_line = ups.open("upstream api_v2");
    ups.line("server 10.0.0.31:443;");
    ups.close();
    prefix.write_conf(&ups);
    let mut tls = ConfFile::new("conf.d/upstream-tls.conf");
    tls.line("# TLS towards the backends, for every site");
    rec.put("http", &mut tls, "proxy_ssl_protocols", "TLSv1.2 TLSv1.3");
    rec.put("http", &mut tls, "proxy_ssl_session_reuse", "on");
    rec.put(
        "http",
        &mut tls,
        "proxy_ssl_trusted_certificate",
        &format!("{p}/ssl/ca.crt"),
    );
    prefix.write_conf(&tls);

    // ---- snippets --------------------------------------------------------------
    let mut sslsn = ConfFile::new("snippets/app-ssl.conf");
    sslsn.line(format!("ssl_certificate {};", leaf.cert.display()));
    sslsn.line(format!("ssl_certificate_key {};", leaf.key.display()));
    sslsn.line("ssl_session_cache shared:le_nginx_SSL:10m;");
    prefix.write_conf(&sslsn);
    let mut verify = ConfFile::new("snippets/upstream-verify.conf");
    let v1 = verify.line("proxy_ssl_verify on;");
    let v2 = verify.line("proxy_ssl_verify_depth 2;");
    let v3 = verify.line("proxy_ssl_server_name on;");
    prefix.write_conf(&verify);
    let verify_lines = [
        (v1, "proxy_ssl_verify", "on"),
        (v2, "proxy_ssl_verify_depth", "2"),
        (v3, "proxy_ssl_server_name", "on"),
    ];

    // ---- sites-available/app.example.com ---------------------------------------
    let mut app = ConfFile::new("sites-available/app.example.com");
    app.open("server");
    app.line("listen 80;");
    app.line("listen [::]:80;");
    app.line("server_name app.example.com www.app.example.com;");
    app.line("return 301 https://$host$request_uri;");
    app.close();
    app.line("");
    app.open("server");
    app.line("listen 443 ssl http2;");
    app.line("listen [::]:443 ssl http2;");
    app.line("server_name app.example.com www.app.example.com;");
    app.line("include snippets/app-ssl.conf;");
    app.line("");
    rec.put("app", &mut app, "proxy_ssl_server_name", "on");
    rec.put(
        "app",
        &mut app,
        "proxy_ssl_name",
        "app-internal.example.com",
    );
    app.line("");
    let app_names = vec!["app.example.com", "www.app.example.com"];
    let app_listen = vec!["443 ssl http2", "[::]:443 ssl http2"];
    let app_chain = |loc: &str| {
        vec![
            ("http".to_string(), "http"),
            ("app".to_string(), "server"),
            (loc.to_string(), "location"),
        ]
    };
    app.open("location /");
    app.line("include proxy_params;");
    let l = app.line("proxy_pass https://app_backend;");
    app.close();
    hops.push(Expect {
        id: format!("{}:{l}", app.rel),
        module: "proxy",
        target: "https://app_backend",
        server_names: app_names.clone(),
        listen: app_listen.clone(),
        locations: vec!["/"],
        upstream: Some((
            "app_backend",
            ups.rel.clone(),
            app_line,
            vec!["10.0.0.11:8443", "10.0.0.12:8443"],
        )),
        proxy_host: "app_backend",
        sni: Some("app-internal.example.com"),
        verify_name: Some("app-internal.example.com"),
        chain: app_chain("app/"),
    });
    app.line("");
    app.open("location /auth/");
    app.line("include proxy_params;");
    app.line("include snippets/upstream-verify.conf;");
    rec.snippet("app/auth", &verify, &verify_lines);
    rec.put(
        "app/auth",
        &mut app,
        "proxy_ssl_name",
        "auth.internal.example.com",
    );
    let l = app.line("proxy_pass https://10.0.0.20:8443/;");
    app.close();
    hops.push(Expect {
        id: format!("{}:{l}", app.rel),
        module: "proxy",
        target: "https://10.0.0.20:8443/",
        server_names: app_names.clone(),
        listen: app_listen.clone(),
        locations: vec!["/auth/"],
        upstream: None,
        proxy_host: "10.0.0.20:8443",
        sni: Some("auth.internal.example.com"),
        verify_name: Some("auth.internal.example.com"),
        chain: app_chain("app/auth"),
    });
    app.line("");
    app.open("location /legacy/");
    rec.put("app/legacy", &mut app, "proxy_ssl_server_name", "off");
    rec.put(
        "app/legacy",
        &mut app,
        "proxy_ssl_protocols",
        "TLSv1 TLSv1.1 TLSv1.2",
    );
    rec.put(
        "app/legacy",
        &mut app,
        "proxy_ssl_ciphers",
        "HIGH:!aNULL:!MD5",
    );
    let l = app.line("proxy_pass https://10.0.0.21;");
    app.close();
    hops.push(Expect {
        id: format!("{}:{l}", app.rel),
        module: "proxy",
        target: "https://10.0.0.21",
        server_names: app_names.clone(),
        listen: app_listen.clone(),
        locations: vec!["/legacy/"],
        upstream: None,
        proxy_host: "10.0.0.21",
        sni: None,
        verify_name: Some("app-internal.example.com"),
        chain: app_chain("app/legacy"),
    });
    app.line("");
    app.open("location /static/");
    app.line("root /var/www/app;");
    app.close();
    app.close();
    prefix.write_conf(&app);

    // ---- sites-available/api.example.com ---------------------------------------
    let mut api = ConfFile::new("sites-available/api.example.com");
    api.open("server");
    api.line("listen 443 ssl;");
    api.line("server_name api.example.com;");
    api.line("include snippets/app-ssl.conf;");
    let api_names = vec!["api.example.com"];
    let api_listen = vec!["443 ssl"];
    let api_chain = |locs: &[&str]| {
        let mut v = vec![("http".to_string(), "http"), ("api".to_string(), "server")];
        v.extend(locs.iter().map(|l| (l.to_string(), "location")));
        v
    };
    api.open("location /v1/");
    let l = api.line("proxy_pass https://10.0.0.30/;");
    api.close();
    hops.push(Expect {
        id: format!("{}:{l}", api.rel),
        module: "proxy",
        target: "https://10.0.0.30/",
        server_names: api_names.clone(),
        listen: api_listen.clone(),
        locations: vec!["/v1/"],
        upstream: None,
        proxy_host: "10.0.0.30",
        sni: None,
        verify_name: Some("10.0.0.30"),
        chain: api_chain(&["api/v1"]),
    });
    api.open("location /v2/");
    rec.put("api/v2", &mut api, "proxy_ssl_server_name", "on");
    let l = api.line("proxy_pass https://api_v2;");
    let up_v2 = Some(("api_v2", ups.rel.clone(), v2_line, vec!["10.0.0.31:443"]));
    hops.push(Expect {
        id: format!("{}:{l}", api.rel),
        module: "proxy",
        target: "https://api_v2",
        server_names: api_names.clone(),
        listen: api_listen.clone(),
        locations: vec!["/v2/"],
        upstream: up_v2.clone(),
        proxy_host: "api_v2",
        sni: Some("api_v2"),
        verify_name: Some("api_v2"),
        chain: api_chain(&["api/v2"]),
    });
    api.open("location /v2/admin/");
    api.line("include snippets/upstream-verify.conf;");
    rec.snippet("api/v2/admin", &verify, &verify_lines);
    rec.put(
        "api/v2/admin",
        &mut api,
        "proxy_ssl_name",
        "admin.api.internal:8443",
    );
    let l = api.line("proxy_pass https://api_v2;");
    hops.push(Expect {
        id: format!("{}:{l}", api.rel),
        module: "proxy",
        target: "https://api_v2",
        server_names: api_names.clone(),
        listen: api_listen.clone(),
        locations: vec!["/v2/", "/v2/admin/"],
        upstream: up_v2.clone(),
        proxy_host: "api_v2",
        sni: Some("admin.api.internal"),
        verify_name: Some("admin.api.internal"),
        chain: api_chain(&["api/v2", "api/v2/admin"]),
    });
    api.close();
    api.close();
    api.open("location /grpc/");
    rec.put("api/grpc", &mut api, "grpc_ssl_server_name", "on");
    rec.put("api/grpc", &mut api, "grpc_ssl_name", "grpc.api.internal");
    let l = api.line("grpc_pass grpcs://10.0.0.40:50051;");
    api.close();
    hops.push(Expect {
        id: format!("{}:{l}", api.rel),
        module: "grpc",
        target: "grpcs://10.0.0.40:50051",
        server_names: api_names.clone(),
        listen: api_listen.clone(),
        locations: vec!["/grpc/"],
        upstream: None,
        proxy_host: "10.0.0.40:50051",
        sni: Some("grpc.api.internal"),
        verify_name: Some("grpc.api.internal"),
        chain: api_chain(&["api/grpc"]),
    });
    api.open("location /ws/");
    rec.put("api/ws", &mut api, "proxy_ssl_server_name", "on");
    api.open("if ($http_upgrade != \"websocket\")");
    let l = api.line("proxy_pass https://api_v2;");
    api.close();
    hops.push(Expect {
        id: format!("{}:{l}", api.rel),
        module: "proxy",
        target: "https://api_v2",
        server_names: api_names.clone(),
        listen: api_listen.clone(),
        locations: vec!["/ws/", "if ($http_upgrade != \"websocket\")"],
        upstream: up_v2,
        proxy_host: "api_v2",
        sni: Some("api_v2"),
        verify_name: Some("api_v2"),
        chain: api_chain(&["api/ws"]),
    });
    let l = api.line("proxy_pass https://localhost:8443;");
    api.close();
    hops.push(Expect {
        id: format!("{}:{l}", api.rel),
        module: "proxy",
        target: "https://localhost:8443",
        server_names: api_names.clone(),
        listen: api_listen.clone(),
        locations: vec!["/ws/"],
        upstream: None,
        proxy_host: "localhost:8443",
        sni: Some("localhost"),
        verify_name: Some("localhost"),
        chain: api_chain(&["api/ws"]),
    });
    api.close();
    prefix.write_conf(&api);

    // enabled as on Debian: absolute symlinks
    for site in ["default", "app.example.com", "api.example.com"] {
        std::os::unix::fs::symlink(
            pfx.join("sites-available").join(site),
            pfx.join("sites-enabled").join(site),
        )
        .expect("symlink");
    }
    Debian { prefix, rec, hops }
}

fn expect_json(e: &Expect, rec: &Rec, version: (u16, u16, u16)) -> Value {
    let chain: Vec<(&str, &str)> = e.chain.iter().map(|(k, l)| (k.as_str(), *l)).collect();
    let (file, line) = e.id.rsplit_once(':').expect("id");
    json!({
        "id": e.id,
        "file": file,
        "line": line.parse::<u64>().unwrap_or(0),
        "context": "http",
        "module": e.module,
        "directive": if e.module == "grpc" { "grpc_pass" } else { "proxy_pass" },
        "target": e.target,
        "server_names": e.server_names,
        "listen": e.listen,
        "locations": e.locations,
        "upstream": e.upstream.as_ref().map(|(n, f, l, s)| json!({"name": n, "file": f, "line": l, "servers": s})),
        "proxy_host": e.proxy_host,
        "sni": {"sent": e.sni.is_some(), "name": e.sni, "dynamic": false},
        "verify_name": e.verify_name,
        "settings": rec.settings(e.module, &chain, version),
    })
}

#[test]
fn debian_layout() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = nginx_version(&nginx);
    let deb = debian_tree();
    let pfx = deb.prefix.path();
    let (ok, err) = nginx_test(&nginx, pfx);
    assert!(
        ok,
        "harness bug: nginx -t rejects the Debian-style tree in {}:\n{err}",
        pfx.display()
    );
    let doc = run_hops(&deb.prefix.conf_path(), version).unwrap_or_else(|e| panic!("{e}"));
    let mut problems = Vec::new();
    if doc["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        problems.push(format!(
            "load errors on a tree nginx accepts: {}",
            doc["errors"]
        ));
    }
    // the files hopscope read: Debian's, by the names they are included as
    let files: Vec<&str> = doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for f in [
        "nginx.conf",
        "mime.types",
        "conf.d/upstreams.conf",
        "sites-enabled/default",
        "sites-enabled/app.example.com",
        "snippets/upstream-verify.conf",
        "proxy_params",
    ] {
        if !files.contains(&f) {
            problems.push(format!("`files` lacks {f}: {files:?}"));
        }
    }
    let got = hops_by_id(&doc);
    if got.len() != deb.hops.len() {
        problems.push(format!(
            "{} hops listed, the tree has {}: {:?}",
            got.len(),
            deb.hops.len(),
            got.keys().collect::<Vec<_>>()
        ));
    }
    for e in &deb.hops {
        // hops are named by the path nginx opens: sites-enabled/…
        let mut want = expect_json(e, &deb.rec, version);
        let id = e.id.replace("sites-available/", "sites-enabled/");
        want["id"] = id.clone().into();
        want["file"] = want["file"]
            .as_str()
            .unwrap_or("")
            .replace("sites-available/", "sites-enabled/")
            .into();
        want = map_settings_files(&want);
        match got.get(&id) {
            None => problems.push(format!("hop {id} missing")),
            Some(h) => {
                if let Some(d) = first_diff(&want, h, &id) {
                    problems.push(d);
                }
            }
        }
    }
    eprintln!(
        "Debian layout: {} hops checked in {:?}",
        deb.hops.len(),
        started.elapsed()
    );
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Site files are read through their sites-enabled symlinks.
fn map_settings_files(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    let x = if k == "file" {
                        Value::from(
                            x.as_str()
                                .unwrap_or("")
                                .replace("sites-available/", "sites-enabled/"),
                        )
                    } else {
                        map_settings_files(x)
                    };
                    (k.clone(), x)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(map_settings_files).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------
// (b) ingress-nginx-like
// ---------------------------------------------------------------------------

const SERVERS: usize = 40;
const CERT_DNS: &str = "upstream.test";

/// What a generated location does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    /// backend-protocol HTTP: not a hop
    Http,
    /// HTTPS, no ProxySSL annotations
    Https,
    /// proxy-ssl-name `$proxy_host`, server name on
    ProxyHostName,
    /// proxy-ssl-secret (CA block, verify off) + name + server name on
    CaBlock,
    /// proxy-ssl-name `$host`, server name on
    HostName,
    /// proxy-ssl-server-name off
    ServerNameOff,
    /// backend-protocol GRPCS
    Grpcs,
    /// CA block with verify on, name matching the upstream certificate
    Verify,
}

const VARIANTS: [Variant; 8] = [
    Variant::Http,
    Variant::Https,
    Variant::ProxyHostName,
    Variant::CaBlock,
    Variant::HostName,
    Variant::ServerNameOff,
    Variant::Grpcs,
    Variant::Verify,
];

struct IngressHop {
    id: String,
    module: &'static str,
    server_name: String,
    path: &'static str,
    /// A request path that reaches the location.
    request: &'static str,
    variant: Variant,
    upstream_name: String,
    chain: Vec<(String, &'static str)>,
}

impl IngressHop {
    /// The SNI nginx sends for a request with Host `server_name` (empty =
    /// none): the harness's own model, checked against nginx below.
    fn truth(&self, rec: &Rec) -> String {
        let prefix = prefix_of(self.module);
        let find = |d: &str| {
            self.chain.iter().rev().find_map(|(k, _)| {
                rec.blocks
                    .get(k)
                    .and_then(|v| {
                        v.iter()
                            .find(|e| e.directive == format!("{prefix}_ssl_{d}"))
                    })
                    .map(|e| e.value.clone())
            })
        };
        let on = find("server_name").as_deref() == Some("on");
        let name = match find("name") {
            // `set $proxy_host $proxy_upstream_name;` runs before the connect
            Some(n) if n == "$proxy_host" => self.upstream_name.clone(),
            Some(n) if n == "$host" => self.server_name.clone(),
            Some(n) => n,
            None => "upstream_balancer".into(),
        };
        let name = name.split(':').next().unwrap_or("").to_string();
        if !on || name.parse::<std::net::Ipv4Addr>().is_ok() {
            String::new()
        } else {
            name
        }
    }
}

struct Ingress {
    prefix: Prefix,
    rec: Rec,
    hops: Vec<IngressHop>,
    port: u16,
    locations: usize,
}

fn ingress_tree(up: u16, ca_cert: &Path) -> Ingress {
    let prefix = Prefix::new("ingress");
    let pfx = prefix.path().to_path_buf();
    let mut rec = Rec::default();
    let mut hops = Vec::new();
    let ca = TestCa::new(&pfx.join("pki"));
    let fake = ca.leaf("default-fake", &["ingress.local"]);
    let port = free_port();
    let tls_port = free_port();
    let ca_file = ca_cert.display().to_string();

    let mut f = ConfFile::new("nginx.conf");
    f.line("# Configuration checksum: 1234567890");
    write_main_preamble(&mut f);
    f.line("worker_shutdown_timeout 240s;");
    f.open("http");
    write_http_preamble(&mut f);
    f.line("server_names_hash_bucket_size 128;");
    f.line("map_hash_bucket_size 64;");
    f.line("uninitialized_variable_warn off;");
    f.open("map $http_upgrade $connection_upgrade");
    f.line("default upgrade;");
    f.line("'' close;");
    f.close();
    f.open("map \"$scheme:$pass_access_scheme\" $redirect_to_https");
    f.line("default 0;");
    f.line("\"http:https\" 1;");
    f.close();
    f.line(format!("ssl_certificate {};", fake.cert.display()));
    f.line(format!("ssl_certificate_key {};", fake.key.display()));
    f.line("ssl_protocols TLSv1.2 TLSv1.3;");
    rec.put("http", &mut f, "proxy_ssl_session_reuse", "on");
    f.line("");
    let ub = f.open("upstream upstream_balancer");
    f.line(format!("server 127.0.0.1:{up}; # placeholder"));
    f.close();
    let _ = ub;
    f.line("");
    f.line("## start server _");
    f.open("server");
    f.line("server_name _ ;");
    f.line(format!("listen 127.0.0.1:{port} default_server;"));
    f.line("set $proxy_upstream_name \"-\";");
    f.open("location /healthz");
    f.line("access_log off;");
    f.line("return 200;");
    f.close();
    f.open("location /");
    f.line("return 404;");
    f.close();
    f.close();
    f.line("## end server _");

    let mut locations = 0;
    for n in 0..SERVERS {
        let ns = format!("ns{}", n % 5);
        let host = format!("svc{n}.ingress.example");
        let skey = format!("s{n}");
        f.line("");
        f.line(format!("## start server {host}"));
        f.open("server");
        f.line(format!("server_name {host} ;"));
        f.line(format!("listen 127.0.0.1:{port} ;"));
        f.line(format!("listen 127.0.0.1:{tls_port} ssl http2 ;"));
        f.line("set $proxy_upstream_name \"-\";");
        if n % 4 == 1 {
            // the server's ProxySSL block, as buildServer writes it
            f.line("# PEM sha: 0123456789abcdef");
            rec.put(&skey, &mut f, "proxy_ssl_trusted_certificate", &ca_file);
            rec.put(&skey, &mut f, "proxy_ssl_ciphers", "DEFAULT");
            rec.put(&skey, &mut f, "proxy_ssl_protocols", "TLSv1.2 TLSv1.3");
            rec.put(&skey, &mut f, "proxy_ssl_verify", "off");
            rec.put(&skey, &mut f, "proxy_ssl_verify_depth", "1");
            rec.put(
                &skey,
                &mut f,
                "proxy_ssl_name",
                &format!("svc{n}.srv.internal"),
            );
            rec.put(&skey, &mut f, "proxy_ssl_server_name", "on");
        }
        for (li, (path, head, request)) in [
            ("/", "location /", "/x"),
            ("/api/", "location /api/", "/api/x"),
            ("^/v1/", "location ~* \"^/v1/\"", "/v1/x"),
        ]
        .into_iter()
        .enumerate()
        {
            locations += 1;
            let variant = VARIANTS[(n * 3 + li) % VARIANTS.len()];
            let lkey = format!("{skey}/{li}");
            let svc = format!("svc{n}");
            let upstream_name = format!("{ns}-{svc}-443");
            f.line("");
            f.open(head);
            f.line(format!("set $namespace      \"{ns}\";"));
            f.line(format!("set $ingress_name   \"ing{n}\";"));
            f.line(format!("set $service_name   \"{svc}\";"));
            f.line("set $service_port   \"443\";");
            f.line(format!("set $location_path  \"{path}\";"));
            f.line("");
            f.line("port_in_redirect off;");
            f.line("");
            f.line("set $balancer_ewma_score -1;");
            f.line(format!("set $proxy_upstream_name \"{upstream_name}\";"));
            f.line("set $proxy_host          $proxy_upstream_name;");
            f.line("set $pass_access_scheme  $scheme;");
            f.line("set $pass_server_port    $server_port;");
            f.line("set $best_http_host      $http_host;");
            f.line("set $pass_port           $pass_server_port;");
            f.line("set $proxy_alternative_upstream_name \"\";");
            f.line("");
            f.open("if ($redirect_to_https)");
            f.line("return 308 https://$best_http_host$request_uri;");
            f.close();
            f.open("if ($request_method = 'OPTIONS')");
            f.line("add_header 'Access-Control-Allow-Origin' '*';");
            f.line("return 204;");
            f.close();
            f.line("client_max_body_size                    1m;");
            let set_header = if variant == Variant::Grpcs {
                "grpc_set_header"
            } else {
                "proxy_set_header"
            };
            if variant != Variant::Grpcs {
                f.line(format!(
                    "{set_header} Host                   $best_http_host;"
                ));
            }
            f.line("# Allow websocket connections");
            f.line(format!(
                "{set_header}                        Upgrade           $http_upgrade;"
            ));
            f.line(format!(
                "{set_header}                        Connection        $connection_upgrade;"
            ));
            f.line(format!("{set_header} X-Request-ID           $request_id;"));
            f.line(format!("{set_header} X-Real-IP              $remote_addr;"));
            f.line(format!("{set_header} X-Forwarded-For        $remote_addr;"));
            f.line(format!(
                "{set_header} X-Forwarded-Host       $best_http_host;"
            ));
            f.line(format!("{set_header} X-Forwarded-Port       $pass_port;"));
            f.line(format!(
                "{set_header} X-Forwarded-Proto      $pass_access_scheme;"
            ));
            f.line(format!(
                "{set_header} X-Scheme               $pass_access_scheme;"
            ));
            f.line(format!("{set_header} Proxy                  \"\";"));
            f.line("proxy_connect_timeout                   5s;");
            f.line("proxy_send_timeout                      60s;");
            f.line("proxy_read_timeout                      60s;");
            f.line("proxy_buffering                         off;");
            f.line("proxy_buffer_size                       4k;");
            f.line("proxy_buffers                           4 4k;");
            f.line("proxy_max_temp_file_size                1024m;");
            f.line("proxy_request_buffering                 on;");
            f.line("proxy_http_version                      1.1;");
            f.line("proxy_cookie_domain                     off;");
            f.line("proxy_cookie_path                       off;");
            f.line("proxy_next_upstream                     error timeout;");
            f.line("proxy_next_upstream_timeout             0;");
            f.line("proxy_next_upstream_tries               3;");
            // the location's ProxySSL block (buildProxySSL)
            match variant {
                Variant::CaBlock | Variant::Verify => {
                    f.line("# PEM sha: fedcba9876543210");
                    rec.put(&lkey, &mut f, "proxy_ssl_trusted_certificate", &ca_file);
                    rec.put(&lkey, &mut f, "proxy_ssl_ciphers", "DEFAULT");
                    rec.put(&lkey, &mut f, "proxy_ssl_protocols", "TLSv1.2");
                    let verify = if variant == Variant::Verify {
                        "on"
                    } else {
                        "off"
                    };
                    rec.put(&lkey, &mut f, "proxy_ssl_verify", verify);
                    rec.put(&lkey, &mut f, "proxy_ssl_verify_depth", "1");
                    let name = if variant == Variant::Verify {
                        CERT_DNS.to_string()
                    } else {
                        format!("{svc}.{ns}.svc.cluster.local")
                    };
                    rec.put(&lkey, &mut f, "proxy_ssl_name", &name);
                    rec.put(&lkey, &mut f, "proxy_ssl_server_name", "on");
                }
                Variant::ProxyHostName => {
                    rec.put(&lkey, &mut f, "proxy_ssl_name", "$proxy_host");
                    rec.put(&lkey, &mut f, "proxy_ssl_server_name", "on");
                }
                Variant::HostName => {
                    rec.put(&lkey, &mut f, "proxy_ssl_name", "$host");
                    rec.put(&lkey, &mut f, "proxy_ssl_server_name", "on");
                }
                Variant::ServerNameOff => {
                    rec.put(&lkey, &mut f, "proxy_ssl_server_name", "off");
                }
                _ => {}
            }
            let pass = match variant {
                Variant::Http => "proxy_pass http://upstream_balancer;",
                Variant::Grpcs => "grpc_pass grpcs://upstream_balancer;",
                _ => "proxy_pass https://upstream_balancer;",
            };
            let l = f.line(pass);
            f.line("proxy_redirect                          off;");
            f.close();
            if variant != Variant::Http {
                hops.push(IngressHop {
                    id: format!("nginx.conf:{l}"),
                    module: if variant == Variant::Grpcs {
                        "grpc"
                    } else {
                        "proxy"
                    },
                    server_name: host.clone(),
                    path,
                    request,
                    variant,
                    upstream_name,
                    chain: vec![
                        ("http".into(), "http"),
                        (skey.clone(), "server"),
                        (lkey, "location"),
                    ],
                });
            }
        }
        f.close();
        f.line(format!("## end server {host}"));
    }
    f.close();
    prefix.write_conf(&f);
    Ingress {
        prefix,
        rec,
        hops,
        port,
        locations,
    }
}

/// What hopscope predicts for a request with Host `host`, where `$proxy_host`
/// holds `proxy_host`: the sent name or empty.
fn predicted(h: &Value, host: &str, proxy_host: &str) -> Result<String, String> {
    let sni = &h["sni"];
    if sni["sent"] != true {
        return Ok(String::new());
    }
    let name = sni["name"].as_str().ok_or("sni.name missing")?;
    let name = if sni["dynamic"] == true {
        // the request variables a name may use here
        name.replace("$http_host", host)
            .replace("${host}", host)
            .replace("$host", host)
            .replace("${proxy_host}", proxy_host)
            .replace("$proxy_host", proxy_host)
    } else {
        name.to_string()
    };
    if name.contains('$') {
        return Err(format!("cannot evaluate {name:?}"));
    }
    let n = name.split(':').next().unwrap_or("").to_string();
    Ok(if n.parse::<std::net::Ipv4Addr>().is_ok() {
        String::new()
    } else {
        n
    })
}

#[test]
fn ingress_like_config() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let started = Instant::now();
    let version = nginx_version(&nginx);
    let up = free_port();
    let up_prefix = Prefix::new("ingress-upstream");
    let ca = sni_upstream(&up_prefix, &[up], &[CERT_DNS, "127.0.0.1"]);
    let ing = ingress_tree(up, &ca);
    let (ok, err) = nginx_test(&nginx, ing.prefix.path());
    assert!(
        ok,
        "harness bug: nginx -t rejects the ingress-like config ({}):\n{err}",
        ing.prefix.conf_path().display()
    );
    let doc = run_hops(&ing.prefix.conf_path(), version).unwrap_or_else(|e| panic!("{e}"));
    let mut problems: Vec<String> = Vec::new();
    if doc["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        problems.push(format!(
            "load errors on a config nginx accepts: {}",
            doc["errors"]
        ));
    }
    let got = hops_by_id(&doc);
    eprintln!(
        "ingress-like: {SERVERS} servers, {} locations, {} TLS hops generated, hopscope lists {}",
        ing.locations,
        ing.hops.len(),
        got.len()
    );
    if got.len() != ing.hops.len() {
        problems.push(format!(
            "hopscope lists {} hops, the config has {}",
            got.len(),
            ing.hops.len()
        ));
    }
    for h in &ing.hops {
        if !got.contains_key(&h.id) {
            problems.push(format!("hop {} missing", h.id));
        }
    }

    // a sample checked field by field against the generator's values
    let sample: Vec<&IngressHop> = ing.hops.iter().step_by(3).collect();
    for h in &sample {
        let Some(j) = got.get(&h.id) else { continue };
        let chain: Vec<(&str, &str)> = h.chain.iter().map(|(k, l)| (k.as_str(), *l)).collect();
        let want = json!({
            "context": "http",
            "module": h.module,
            "target": if h.module == "grpc" { "grpcs://upstream_balancer" } else { "https://upstream_balancer" },
            "server_names": [h.server_name],
            "locations": [if h.path == "^/v1/" { "~* \"^/v1/\"".to_string() } else { h.path.to_string() }],
            "settings": ing.rec.settings(h.module, &chain, version),
        });
        let mut have = Map::new();
        for k in [
            "context",
            "module",
            "target",
            "server_names",
            "locations",
            "settings",
        ] {
            have.insert(k.into(), j[k].clone());
        }
        if let Some(d) = first_diff(&want, &Value::Object(have), &h.id) {
            problems.push(format!("[{:?}] {d}", h.variant));
        }
        if j["upstream"]["name"] != "upstream_balancer" || j["upstream"]["line"].as_u64().is_none()
        {
            problems.push(format!("{}: upstream {}", h.id, j["upstream"]));
        }
        let truth = h.truth(&ing.rec);
        if matches!(h.variant, Variant::CaBlock | Variant::Verify)
            && j["verify_name"] != truth.as_str()
        {
            problems.push(format!(
                "{} [{:?}]: verify_name {}, nginx checks {truth:?}",
                h.id, h.variant, j["verify_name"]
            ));
        }
        match predicted(j, &h.server_name, &h.upstream_name) {
            Ok(p) if p == truth => {}
            Ok(p) => problems.push(format!(
                "{} [{:?}]: SNI hopscope {p:?}, nginx sends {truth:?} (sni={})",
                h.id, h.variant, j["sni"]
            )),
            Err(e) => problems.push(format!(
                "{} [{:?}]: SNI {e} (sni={})",
                h.id, h.variant, j["sni"]
            )),
        }
    }

    // live: nginx really sends what the harness expects (and hopscope predicts)
    let _upstream = Nginx::start(&nginx, up_prefix.path(), &[up])
        .unwrap_or_else(|e| panic!("harness bug: upstream nginx: {e}"));
    let _front = Nginx::start(&nginx, ing.prefix.path(), &[ing.port])
        .unwrap_or_else(|e| panic!("harness bug: ingress nginx: {e}"));
    let mut live = 0;
    let req_started = Instant::now();
    let mut table = String::new();
    for v in [
        Variant::Https,
        Variant::ProxyHostName,
        Variant::CaBlock,
        Variant::HostName,
        Variant::ServerNameOff,
        Variant::Verify,
    ] {
        for h in ing.hops.iter().filter(|h| h.variant == v).take(3) {
            if req_started.elapsed() > REQUEST_BUDGET {
                problems.push(format!("request budget {REQUEST_BUDGET:?} exhausted"));
                break;
            }
            live += 1;
            let truth = h.truth(&ing.rec);
            let seen = http_get(ing.port, h.request, Some(&h.server_name)).and_then(|r| {
                match (r.status, r.body.split("sni=[").nth(1)) {
                    (200, Some(rest)) => Ok(rest.split(']').next().unwrap_or("").to_string()),
                    _ => Err(format!("HTTP {}: {:?}", r.status, r.body)),
                }
            });
            let pred = got
                .get(&h.id)
                .map(|j| predicted(j, &h.server_name, &h.upstream_name));
            let _ = writeln!(
                table,
                "  {:<16} [{:?}] nginx {:?} harness {:?} hopscope {:?}",
                h.id, h.variant, seen, truth, pred
            );
            match &seen {
                Ok(s) if *s == truth => {}
                other => problems.push(format!(
                    "HARNESS {} [{:?}]: expected SNI {truth:?}, nginx {other:?}",
                    h.id, h.variant
                )),
            }
            if let (Ok(s), Some(Ok(p))) = (&seen, &pred) {
                if p != s {
                    problems.push(format!(
                        "LIVE {} [{:?}]: hopscope predicts {p:?}, nginx sent {s:?}",
                        h.id, h.variant
                    ));
                }
            }
        }
    }
    eprintln!(
        "{} hops sampled, {live} checked live against nginx in {:?}; total {:?}\n{table}",
        sample.len(),
        req_started.elapsed(),
        started.elapsed()
    );
    assert!(
        problems.is_empty(),
        "\n{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
