//! `hopscope hops` and `check` on passes whose scheme or address comes from
//! variables, through the real binary: the shapes Nginx Proxy Manager,
//! linuxserver SWAG, `set $backend`, `map` and `$scheme` configs use, and a
//! literal host with a variable URI.

mod common;

use std::time::Duration;

use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A temporary configuration directory with these files.
fn conf(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn run(args: &[&str]) -> (i32, String) {
    let r = common::hopscope_run(args, None, TIMEOUT);
    assert!(r.stderr.is_empty() || r.code == Some(1), "{}", r.stderr);
    (r.code.unwrap_or(-1), r.stdout)
}

fn hops(dir: &tempfile::TempDir) -> Vec<Value> {
    let main = dir.path().join("nginx.conf");
    let (code, out) = run(&["hops", main.to_str().expect("utf-8 path"), "--json"]);
    assert_eq!(code, 0, "{out}");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["errors"], serde_json::json!([]));
    doc["hops"].as_array().cloned().expect("hops")
}

const NPM: &str = "events {}\nhttp {\n\
    server {\n\
        listen 443 ssl;\n\
        server_name app.example.com;\n\
        set $forward_scheme https;\n\
        set $server \"backend.internal.example.com\";\n\
        set $port 8443;\n\
        location / {\n\
            proxy_ssl_server_name on;\n\
            include conf.d/include/proxy.conf;\n\
        }\n\
    }\n\
}\n";

#[test]
fn nginx_proxy_manager_hop_is_listed_with_its_values() {
    let dir = conf(&[
        ("nginx.conf", NPM),
        (
            "conf.d/include/proxy.conf",
            "proxy_pass $forward_scheme://$server:$port$request_uri;\n",
        ),
    ]);
    let hops = hops(&dir);
    assert_eq!(hops.len(), 1);
    let h = &hops[0];
    assert_eq!(h["id"], "conf.d/include/proxy.conf:1");
    assert_eq!(h["target"], "$forward_scheme://$server:$port$request_uri");
    assert_eq!(h["tls_when"], "$forward_scheme = https");
    assert_eq!(h["proxy_host"], "backend.internal.example.com:8443");
    assert_eq!(h["sni"]["name"], "backend.internal.example.com");
    assert_eq!(h["sni"]["dynamic"], false);
    assert_eq!(
        h["variants"],
        serde_json::json!([{
            "when": "$forward_scheme = https, $server = backend.internal.example.com, $port = 8443",
            "target": "https://backend.internal.example.com:8443$request_uri",
            "proxy_host": "backend.internal.example.com:8443",
            "sni": h["sni"],
            "verify_name": "backend.internal.example.com"
        }])
    );
    // The text report says when and with which value.
    let main = dir.path().join("nginx.conf");
    let (_, text) = run(&["hops", main.to_str().expect("utf-8 path")]);
    assert!(text.starts_with("1 upstream TLS hop in 2 files"), "{text}");
    assert!(
        text.contains("  TLS: always ($forward_scheme = https)\n"),
        "{text}"
    );
    assert!(
        text.contains("  value: $forward_scheme = https, $server = backend.internal.example.com, $port = 8443: https://backend.internal.example.com:8443$request_uri (proxy_host backend.internal.example.com:8443), SNI backend.internal.example.com, verify name backend.internal.example.com\n"),
        "{text}"
    );
}

#[test]
fn swag_backend_map_and_scheme_shapes() {
    let dir = conf(&[(
        "nginx.conf",
        "events {}\nhttp {\n\
         map $http_x_tenant $tenant_url { default https://a.example.com; b https://b.example.com; }\n\
         server {\n\
             listen 80;\n\
             listen 443 ssl;\n\
             proxy_ssl_server_name on;\n\
             location /swag/ {\n\
                 set $upstream_app app.internal.example.com;\n\
                 set $upstream_port 443;\n\
                 set $upstream_proto https;\n\
                 proxy_pass $upstream_proto://$upstream_app:$upstream_port;\n\
             }\n\
             location /backend/ {\n\
                 set $backend \"https://api.example.com\";\n\
                 proxy_pass $backend;\n\
             }\n\
             location /tenant/ {\n\
                 proxy_pass $tenant_url;\n\
             }\n\
             location /scheme/ {\n\
                 proxy_pass $scheme://api.example.com;\n\
             }\n\
             location /header/ {\n\
                 proxy_pass $http_x_scheme://api.example.com;\n\
             }\n\
         }\n\
         }\n",
    )]);
    let hops = hops(&dir);
    let got: Vec<(&str, &str, &str)> = hops
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap_or_default(),
                h["tls_when"].as_str().unwrap_or("null"),
                h["sni"]["name"].as_str().unwrap_or("null"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("nginx.conf:12", "$upstream_proto = https", "app.internal.example.com"),
            ("nginx.conf:16", "$backend = https://api.example.com", "api.example.com"),
            (
                "nginx.conf:19",
                "$tenant_url = https://a.example.com when $http_x_tenant matches no other entry or $tenant_url = https://b.example.com when $http_x_tenant = b",
                "$tenant_url"
            ),
            ("nginx.conf:22", "the request arrived over TLS ($scheme)", "api.example.com"),
            (
                "nginx.conf:25",
                "$http_x_scheme is https (not known statically)",
                "api.example.com"
            ),
        ]
    );
    // Each map value with its own name.
    let tenant: Vec<(&str, &str)> = hops[2]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| {
            (
                v["target"].as_str().unwrap_or_default(),
                v["sni"]["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        tenant,
        [
            ("https://a.example.com", "a.example.com"),
            ("https://b.example.com", "b.example.com")
        ]
    );
    // A possible hop's findings say under which condition, and are not
    // stated as certainties.
    let main = dir.path().join("nginx.conf");
    let (_, out) = run(&[
        "check",
        main.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    for f in doc["findings"].as_array().expect("findings") {
        if f["line"] == 22 || f["line"] == 25 {
            let msg = f["message"].as_str().unwrap_or_default();
            assert!(msg.starts_with("when "), "{msg}");
            assert_ne!(f["severity"], "high", "{f}");
        }
    }
}

#[test]
fn a_literal_host_with_a_variable_uri_is_static() {
    let dir = conf(&[(
        "nginx.conf",
        "events {}\nhttp {\n\
         server {\n\
             listen 80;\n\
             proxy_ssl_server_name on;\n\
             location ~ ^/api/(.*)$ {\n\
                 proxy_pass https://api.example.com/$1;\n\
             }\n\
         }\n\
         }\n",
    )]);
    let hops = hops(&dir);
    assert_eq!(hops.len(), 1);
    let h = &hops[0];
    assert_eq!(h["tls_when"], Value::Null);
    assert_eq!(h["variants"], serde_json::json!([]));
    assert_eq!(h["proxy_host"], "api.example.com");
    assert_eq!(
        (&h["sni"]["name"], &h["sni"]["dynamic"]),
        (&Value::from("api.example.com"), &Value::from(false))
    );
    let main = dir.path().join("nginx.conf");
    let (_, text) = run(&["hops", main.to_str().expect("utf-8 path")]);
    assert!(text.contains("  SNI: api.example.com — "), "{text}");
    // Neither "computed per request" nor a Host that equals the SNI.
    assert!(
        !text.contains("sni-dynamic") && !text.contains("host-sni-mismatch"),
        "{text}"
    );
}
