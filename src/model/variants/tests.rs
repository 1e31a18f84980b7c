//! Passes built from variables: which are hops, when they open TLS, and
//! the names each value uses.

use crate::model::{Hop, Model, TlsWhen, Version};
use crate::test_support::model;

fn http(body: &str) -> Model {
    model(&[("nginx.conf", &format!("events {{}}\nhttp {{\n{body}\n}}\n"))])
}

fn only(m: &Model) -> &Hop {
    assert_eq!(
        m.hops.len(),
        1,
        "{:?}",
        m.hops.iter().map(|h| &h.id).collect::<Vec<_>>()
    );
    &m.hops[0]
}

fn when(h: &Hop) -> (&str, bool) {
    match &h.tls {
        TlsWhen::Literal => panic!("{}: literal scheme", h.id),
        TlsWhen::Vars { text, certain } => (text.as_str(), *certain),
    }
}

#[test]
fn nginx_proxy_manager_sets_in_the_server_and_the_pass_in_an_include() {
    let m = model(&[
        (
            "nginx.conf",
            "http { server { listen 80; server_name app.example.com;\n\
             set $forward_scheme https;\n set $server \"10.0.0.5\";\n set $port 8443;\n\
             location / { include conf.d/include/proxy.conf; } } }",
        ),
        (
            "conf.d/include/proxy.conf",
            "proxy_pass $forward_scheme://$server:$port$request_uri;\n",
        ),
    ]);
    let h = only(&m);
    assert_eq!(h.id, "conf.d/include/proxy.conf:1");
    assert_eq!(when(h), ("$forward_scheme = https", true));
    assert_eq!(h.target.raw, "$forward_scheme://$server:$port$request_uri");
    assert_eq!(h.proxy_host, "10.0.0.5:8443");
    assert_eq!(h.verify_name.as_deref(), Some("10.0.0.5"));
    assert_eq!(h.variants.len(), 1);
    let v = &h.variants[0];
    assert_eq!(v.target.raw, "https://10.0.0.5:8443$request_uri");
    assert_eq!(
        v.when,
        "$forward_scheme = https, $server = 10.0.0.5, $port = 8443"
    );
}

#[test]
fn swag_sets_in_the_location() {
    let m = http(
        "server { proxy_ssl_server_name on; location / {\n\
         set $upstream_app app.internal.example.com;\n set $upstream_port 443;\n\
         set $upstream_proto https;\n\
         proxy_pass $upstream_proto://$upstream_app:$upstream_port; } }",
    );
    let h = only(&m);
    assert_eq!(when(h), ("$upstream_proto = https", true));
    // Port 443 is https's default: $proxy_host has no port.
    assert_eq!(h.proxy_host, "app.internal.example.com");
    assert_eq!(
        (h.sni.sent, h.sni.name.as_deref(), h.sni.dynamic),
        (true, Some("app.internal.example.com"), false)
    );
    // With http, the same shape is a plain pass.
    let m = http(
        "server { location / { set $upstream_proto http;\n\
         proxy_pass $upstream_proto://app:80; } }",
    );
    assert!(m.hops.is_empty());
    assert_eq!(m.plain.len(), 1);
}

#[test]
fn a_whole_url_in_a_variable_and_an_upstream_group() {
    let m = http(
        "upstream api.example.com { server 10.0.0.1:443; }\n\
         server { proxy_ssl_server_name on; location / {\n\
         set $backend \"https://API.example.com\"; proxy_pass $backend; } }",
    );
    let h = only(&m);
    assert_eq!(when(h), ("$backend = https://API.example.com", true));
    // Found by name at run time (case-insensitively): nginx sends the
    // group's spelling; $proxy_host keeps the URL's.
    assert_eq!(h.upstream, Some(0));
    assert_eq!(h.sni.name.as_deref(), Some("api.example.com"));
    assert_eq!(h.proxy_host, "API.example.com");
    // A name nginx resolves goes out lower-cased (its resolver lower-cases
    // it in place); the Host header keeps the spelling.
    let m = http(
        "server { proxy_ssl_server_name on; location ~ ^/(.*)$ {\n\
         proxy_pass https://App.Example.net/$1; } }",
    );
    let h = only(&m);
    assert_eq!(h.sni.name.as_deref(), Some("app.example.net"));
    assert_eq!(h.proxy_host, "App.Example.net");
    // A group never matches a URL with a port.
    let m = http(
        "upstream api.example.com { server 10.0.0.1:443; }\n\
         server { location / { set $b \"https://api.example.com:443\"; proxy_pass $b; } }",
    );
    assert_eq!(only(&m).upstream, None);
}

#[test]
fn map_values_are_followed_with_the_key_that_selects_them() {
    let m = http(
        "map $host $up { default https://a.example.com; b.example.org https://b.example.com; \
         c.example.org http://c.example.com; }\n\
         server { proxy_ssl_server_name on; location / { proxy_pass $up; } }",
    );
    let h = only(&m);
    let (text, certain) = when(h);
    assert!(!certain, "one value is plain http");
    assert!(
        text.contains("$up = https://b.example.com when $host = b.example.org"),
        "{text}"
    );
    let targets: Vec<(&str, Option<&str>)> = h
        .variants
        .iter()
        .map(|v| (v.target.raw.as_str(), v.sni.name.as_deref()))
        .collect();
    assert_eq!(
        targets,
        [
            ("https://a.example.com", Some("a.example.com")),
            ("https://b.example.com", Some("b.example.com"))
        ]
    );
    assert!(h.variants[0].when.contains("$host matches no other entry"));
    // The hop-level name differs per value: known per request.
    assert!(h.sni.dynamic);
    assert_eq!(h.proxy_host, "a.example.com or b.example.com");
    // A map that only gives schemes.
    let m = http(
        "map $arg_s $sch { default https; }\n\
         server { location / { proxy_pass $sch://api.example.com; } }",
    );
    let h = only(&m);
    assert!(when(h).1);
    assert!(!h.sni.dynamic);
    assert_eq!(h.verify_name.as_deref(), Some("api.example.com"));
}

#[test]
fn the_scheme_follows_the_listen_lines() {
    let pass = "location / { proxy_pass $scheme://api.example.com; }";
    let m = http(&format!("server {{ listen 443 ssl; {pass} }}"));
    assert_eq!(
        when(only(&m)),
        ("every request arrives over TLS ($scheme)", true)
    );
    let m = http(&format!("server {{ listen 80; listen 443 ssl; {pass} }}"));
    assert_eq!(
        when(only(&m)),
        ("the request arrived over TLS ($scheme)", false)
    );
    let m = http(&format!("server {{ listen 80; {pass} }}"));
    assert!(m.hops.is_empty());
    // No listen: *:80.
    let m = http(&format!("server {{ {pass} }}"));
    assert!(m.hops.is_empty());
    // `ssl` on a socket counts for every server on it.
    let m = http(&format!(
        "server {{ listen 8443 ssl; server_name a; }} server {{ listen 8443; {pass} }}"
    ));
    assert!(when(only(&m)).1);
    // `ssl on` until 1.25.1.
    let text = format!("events {{}}\nhttp {{ server {{ listen 443; ssl on; {pass} }} }}\n");
    let m = model(&[("nginx.conf", &text)]);
    let old = Model::build(m.config, Version(1, 22, 1));
    assert!(when(only(&old)).1);
    let m = model(&[("nginx.conf", &text)]);
    assert!(m.hops.is_empty(), "`ssl on` is gone in {}", m.version);
}

#[test]
fn the_rewrite_chain_is_the_one_nginx_runs() {
    // A nested location does not run its outer location's `set`s.
    let m = http(
        "server { set $s https; location /a/ { set $s http;\n\
         location /a/b/ { proxy_pass $s://api.example.com; } } }",
    );
    assert_eq!(when(only(&m)), ("$s = https", true));
    // A `set` inside `if` runs for some requests: both values.
    let m = http(
        "server { location / { set $s http; if ($arg_tls) { set $s https; }\n\
         proxy_pass $s://api.example.com; } }",
    );
    let (text, certain) = when(only(&m));
    assert!(!certain);
    assert!(
        text.contains("$s = https when the if ($arg_tls) at nginx.conf:3 is taken"),
        "{text}"
    );
    // An `if` that returns is not taken by requests that reach the pass.
    let m = http(
        "server { location / { set $s https; if ($arg_x) { set $s http; return 403; }\n\
         proxy_pass $s://api.example.com; } }",
    );
    assert_eq!(when(only(&m)), ("$s = https", true));
    // The pass inside the `if`: its block runs.
    let m = http(
        "server { location / { set $h a.example.com;\n\
         if ($arg_b) { set $h b.example.com; proxy_pass https://$h; } } }",
    );
    let h = only(&m);
    assert_eq!(h.tls, TlsWhen::Literal);
    assert_eq!(h.proxy_host, "b.example.com");
    // After a `rewrite … break`, later `set`s may not run.
    let m = http(
        "server { location / { set $s https; rewrite ^/old/ /new/ break; set $s http;\n\
         proxy_pass $s://api.example.com; } }",
    );
    let (text, certain) = when(only(&m));
    assert!(!certain);
    assert_eq!(text, "$s = https");
    // Server-level sets run before the location's.
    let m =
        http("server { set $s http; location / { set $s https; proxy_pass $s://x.example.com; } }");
    assert!(when(only(&m)).1);
}

#[test]
fn unknown_values_are_possible_hops() {
    let m = http(
        "server { proxy_ssl_server_name on; location / {\n\
         proxy_pass $http_x_scheme://api.example.com; } }",
    );
    let h = only(&m);
    assert_eq!(
        when(h),
        ("$http_x_scheme is https (not known statically)", false)
    );
    // The host is written: its SNI is exact.
    assert_eq!(h.sni.name.as_deref(), Some("api.example.com"));
    assert!(!h.sni.dynamic);
    let m = http("server { location / { proxy_pass $http_x_backend; } }");
    let h = only(&m);
    assert_eq!(
        when(h),
        (
            "$http_x_backend is an https URL (not known statically)",
            false
        )
    );
    assert!(h.variants.is_empty() && h.sni.dynamic);
    // SWAG with the scheme from a header: named by the pass's variable.
    let m = http(
        "server { location / { set $upstream_proto $http_x_forwarded_proto;\n\
         set $upstream_app app.example.com;\n\
         proxy_pass $upstream_proto://$upstream_app; } }",
    );
    let h = only(&m);
    assert_eq!(
        when(h),
        (
            "$upstream_proto ($http_x_forwarded_proto) is https (not known statically)",
            false
        )
    );
    assert_eq!(h.verify_name.as_deref(), Some("app.example.com"));
    let m = http("server { location / { grpc_pass $g; } }");
    assert_eq!(when(only(&m)).0, "$g is a grpcs URL (not known statically)");
    // A variable set elsewhere but not for this request is empty: no URL.
    let m = http(
        "server { location /a/ { set $u https://a.example.com; }\n\
         location /b/ { proxy_pass $u; } }",
    );
    assert!(m.hops.is_empty());
}

#[test]
fn a_variable_uri_leaves_the_address_static() {
    let m = http(
        "upstream group { server 10.0.0.1:443; }\n\
         server { proxy_ssl_server_name on;\n\
         location ~ ^/api/(.*)$ { proxy_pass https://api.example.com/$1; }\n\
         location /g/ { proxy_pass https://group$uri; } }",
    );
    assert_eq!(m.hops.len(), 2);
    let api = &m.hops[0];
    assert!(!api.target.dynamic && !api.sni.dynamic);
    assert_eq!(api.tls, TlsWhen::Literal);
    assert!(api.variants.is_empty());
    assert_eq!(api.sni.name.as_deref(), Some("api.example.com"));
    assert_eq!(api.proxy_host, "api.example.com");
    let g = &m.hops[1];
    assert_eq!((g.upstream, g.proxy_host.as_str()), (Some(0), "group"));
    assert_eq!(g.sni.name.as_deref(), Some("group"));
}

#[test]
fn proxy_host_set_from_another_variable() {
    let m = http(
        "upstream upstream_balancer { server 10.0.0.1:443; }\n\
         server { location / { set $proxy_upstream_name \"default-svc-443\";\n\
         set $proxy_host $proxy_upstream_name; proxy_ssl_server_name on;\n\
         proxy_ssl_name $proxy_host; proxy_pass https://upstream_balancer; } }",
    );
    let h = only(&m);
    assert_eq!(h.proxy_host, "default-svc-443");
    assert_eq!(h.sni.name.as_deref(), Some("default-svc-443"));
    // From the request: the expression, not "$proxy_host".
    let m = http(
        "server { location / { set $proxy_host $http_x_up;\n\
         proxy_pass https://api.example.com; } }",
    );
    assert_eq!(only(&m).proxy_host, "$http_x_up");
}

#[test]
fn names_from_set_map_and_js_var_are_static() {
    let m = http(
        "map $host $sni { default api.internal.example.com; }\n\
         js_var $js js.example.com;\n\
         server { proxy_ssl_server_name on;\n\
         location /m/ { proxy_pass https://api.example.com; proxy_ssl_name $sni; }\n\
         location /s/ { set $n set.example.com; proxy_pass https://api.example.com; proxy_ssl_name $n; }\n\
         location /j/ { proxy_pass https://api.example.com; proxy_ssl_name $js; } }",
    );
    let names: Vec<(Option<&str>, bool)> = m
        .hops
        .iter()
        .map(|h| (h.sni.name.as_deref(), h.sni.dynamic))
        .collect();
    assert_eq!(
        names,
        [
            (Some("api.internal.example.com"), false),
            (Some("set.example.com"), false),
            (Some("js.example.com"), false)
        ]
    );
}

#[test]
fn grpc_and_uwsgi_schemes() {
    let m = http(
        "server { location /g/ { set $g grpcs://rpc.example.com:50051; grpc_pass $g; }\n\
         location /u/ { set $u suwsgi://app.example.com:9000; uwsgi_pass $u; }\n\
         location /p/ { set $p grpc://rpc.example.com:50051; grpc_pass $p; } }",
    );
    let got: Vec<(&str, &str)> = m
        .hops
        .iter()
        .map(|h| (h.id.as_str(), h.proxy_host.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("nginx.conf:3", "rpc.example.com:50051"),
            ("nginx.conf:4", "app.example.com:9000")
        ]
    );
}

#[test]
fn maps_of_maps_stay_bounded() {
    // Eight maps of 40 entries, each value naming the next map: followed
    // in full they would multiply to 40^8 values.
    let mut body = String::new();
    for k in 0..8 {
        body.push_str(&format!("map $arg_{k} $m{k} {{\n"));
        for e in 0..40 {
            let next = if k < 7 {
                format!("$m{}", k + 1)
            } else {
                format!("https://h{e}.example.com")
            };
            body.push_str(&format!("k{e} {next};\n"));
        }
        body.push_str("}\n");
    }
    body.push_str("server { location / { set $a $m0; proxy_pass $a; } }");
    let started = std::time::Instant::now();
    let m = http(&body);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let h = only(&m);
    assert!(!h.tls.certain());
    assert!(h.variants.len() <= 32);
}
