//! Every risk rule on small in-memory configurations: fires / does not fire,
//! severity, message, fix shape; inheritance (http → nested location,
//! include inside a location), the grpc/uwsgi/stream families; and the
//! exact set of findings on the embedded demo.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hopscope::conf::loader::{load_tree, MemFiles};
use hopscope::conf::{self, Input, LoadedFrom};
use hopscope::diagnostic::{Applicability, Change, Finding, Fix, FixValue, Severity};
use hopscope::model::{Model, Version};
use hopscope::rules;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

const NEWEST: Version = Version::NEWEST_STABLE;

/// Loads in-memory files (the first is nginx.conf) under /etc/nginx.
fn model_files(files: &[(&str, &str)], version: Version) -> Model {
    let prefix = PathBuf::from("/etc/nginx");
    let mem = MemFiles::new(
        files
            .iter()
            .map(|(n, t)| (prefix.join(n), t.as_bytes().to_vec()))
            .collect(),
    );
    let cfg = load_tree(&mem, &prefix.join(files[0].0), LoadedFrom::Demo);
    let m = Model::build(cfg, version);
    let errors: Vec<String> = m.errors().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "load errors: {errors:?}");
    m
}

fn model_v(conf: &str, version: Version) -> Model {
    model_files(&[("nginx.conf", conf)], version)
}

fn model(conf: &str) -> Model {
    model_v(conf, NEWEST)
}

/// `events {}` plus an http block.
fn http(body: &str) -> String {
    format!("events {{}}\nhttp {{\n{body}\n}}\n")
}

/// `events {}` plus a stream block.
fn stream(body: &str) -> String {
    format!("events {{}}\nstream {{\n{body}\n}}\n")
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u32 + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in config:\n{text}"))
}

/// `nginx.conf:LINE` of the line containing `needle`.
fn at(text: &str, needle: &str) -> String {
    format!("nginx.conf:{}", line_of(text, needle))
}

fn all(m: &Model) -> Vec<Finding> {
    rules::check(m)
}

fn of(m: &Model, rule: &str) -> Vec<Finding> {
    assert!(rules::find(rule).is_some(), "no rule {rule}");
    all(m).into_iter().filter(|f| f.rule == rule).collect()
}

/// Where a finding points: its hop id, or `file:line` of its directive.
fn place(m: &Model, f: &Finding) -> String {
    match f.hop {
        Some(h) => m.hops[h].id.clone(),
        None => m.file_line(f.dir),
    }
}

/// The one finding of `rule`, which must be at `place`.
fn one(m: &Model, rule: &str, expected_place: &str) -> Finding {
    let fs = of(m, rule);
    assert_eq!(
        fs.len(),
        1,
        "expected exactly one {rule}, got {:#?}",
        fs.iter()
            .map(|f| (place(m, f), &f.message))
            .collect::<Vec<_>>()
    );
    let f = fs.into_iter().next().unwrap();
    assert_eq!(place(m, &f), expected_place, "{}", f.message);
    assert!(!f.message.contains('\n'), "one line: {}", f.message);
    f
}

fn none(m: &Model, rule: &str) {
    let fs = of(m, rule);
    assert!(
        fs.is_empty(),
        "expected no {rule}, got {:#?}",
        fs.iter()
            .map(|f| (place(m, f), &f.message))
            .collect::<Vec<_>>()
    );
}

fn fix(f: &Finding) -> &Fix {
    f.fix
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no fix: {}", f.rule, f.message))
}

fn set(directive: &str, value: &str) -> Change {
    Change::Set {
        directive: directive.into(),
        value: FixValue::literal(value),
    }
}

/// The `Input` of a `Set` change to `directive`.
fn input_of<'a>(fx: &'a Fix, directive: &str) -> (&'static str, &'a Option<String>) {
    for c in &fx.changes {
        if let Change::Set {
            directive: d,
            value: FixValue::Input { key, proposal, .. },
        } = c
        {
            if d == directive {
                return (key, proposal);
            }
        }
    }
    panic!("no Input for {directive} in {fx:#?}")
}

fn related_lines(m: &Model, f: &Finding) -> Vec<String> {
    f.related.iter().map(|r| m.file_line(r.dir)).collect()
}

const POOL: &str = "upstream backend_pool {
    server backend-1.internal.example.com:443;
    server backend-2.internal.example.com:443;
}";

// ---------------------------------------------------------------------------
// sni-off
// ---------------------------------------------------------------------------

#[test]
fn sni_off_default_fires_with_a_safe_fix() {
    let c = http("server {\n location / {\n  proxy_pass https://api.example.com;\n }\n}");
    let m = model(&c);
    let f = one(&m, "sni-off", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        f.message,
        "proxy_ssl_server_name is off (default): nginx sends no SNI to api.example.com"
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::Safe);
    assert_eq!(fx.changes, vec![set("proxy_ssl_server_name", "on")]);
    assert!(f.related.is_empty());
}

#[test]
fn sni_off_explicit_off_inherited_from_http_into_a_nested_location() {
    let c = http(
        "proxy_ssl_server_name off;\nserver {\n location /a/ {\n  location /a/b/ {\n   proxy_pass https://api.example.com:8443/x/;\n  }\n }\n}",
    );
    let m = model(&c);
    let f = one(&m, "sni-off", &at(&c, "proxy_pass"));
    let origin = at(&c, "proxy_ssl_server_name off");
    assert_eq!(
        f.message,
        format!(
            "proxy_ssl_server_name is off ({origin}): nginx sends no SNI to api.example.com:8443"
        )
    );
    assert_eq!(related_lines(&m, &f), vec![origin]);
}

#[test]
fn sni_off_is_silent_when_on_is_inherited_or_included_in_the_location() {
    let c = http("proxy_ssl_server_name on;\nserver {\n location / {\n  location /n/ { proxy_pass https://a.example.com; }\n }\n}");
    none(&model(&c), "sni-off");

    let main = http("server {\n location /x/ {\n  include snippets/tls.conf;\n  location /x/y/ { proxy_pass https://a.example.com; }\n }\n}");
    let m = model_files(
        &[
            ("nginx.conf", &main),
            ("snippets/tls.conf", "proxy_ssl_server_name on;\n"),
        ],
        NEWEST,
    );
    none(&m, "sni-off");
}

#[test]
fn sni_off_to_a_pool_also_names_a_real_host() {
    let c = http(&format!(
        "{POOL}\nserver {{\n location / {{ proxy_pass https://backend_pool; }}\n}}"
    ));
    let m = model(&c);
    let f = one(&m, "sni-off", &at(&c, "proxy_pass"));
    assert_eq!(
        f.message,
        "proxy_ssl_server_name is off (default): nginx sends no SNI to backend_pool"
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(fx.changes[0], set("proxy_ssl_server_name", "on"));
    let (key, proposal) = input_of(fx, "proxy_ssl_name");
    assert_eq!(key, "sni-name");
    // Two different host names in the pool: a person must say which name
    // the certificates carry.
    assert_eq!(proposal.as_deref(), None);

    // One host name behind every server: it is proposed.
    let c = http("upstream backend_pool {\n    server api.internal.example.com:443;\n    server API.internal.example.com:8443;\n}\nserver {\n location / { proxy_pass https://backend_pool; }\n}");
    let m = model(&c);
    let f = one(&m, "sni-off", &at(&c, "proxy_pass"));
    let (_, proposal) = input_of(fix(&f), "proxy_ssl_name");
    assert_eq!(proposal.as_deref(), Some("api.internal.example.com"));
}

#[test]
fn sni_off_leaves_ip_literals_to_sni_ip_literal() {
    let c = http("server {\n location / { proxy_pass https://10.0.4.22:443; }\n}");
    let m = model(&c);
    none(&m, "sni-off");
    one(&m, "sni-ip-literal", &at(&c, "proxy_pass"));
}

#[test]
fn sni_off_per_module_grpc_uwsgi_stream() {
    // proxy_ssl_server_name does not reach grpc_pass / uwsgi_pass.
    let c = http(
        "proxy_ssl_server_name on;\nserver {\n location /g/ { grpc_pass grpcs://grpc.example.com:443; }\n location /u/ { uwsgi_pass suwsgi://uw.example.com:9443; }\n location /p/ { proxy_pass https://p.example.com; }\n}",
    );
    let m = model(&c);
    let fs = of(&m, "sni-off");
    let got: Vec<(String, String)> = fs
        .iter()
        .map(|f| (place(&m, f), f.message.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                at(&c, "grpc_pass"),
                "grpc_ssl_server_name is off (default): nginx sends no SNI to grpc.example.com"
                    .to_string()
            ),
            (
                at(&c, "uwsgi_pass"),
                "uwsgi_ssl_server_name is off (default): nginx sends no SNI to uw.example.com:9443"
                    .to_string()
            ),
        ]
    );
    assert_eq!(fix(&fs[0]).changes, vec![set("grpc_ssl_server_name", "on")]);
    assert_eq!(
        fix(&fs[1]).changes,
        vec![set("uwsgi_ssl_server_name", "on")]
    );

    let s =
        stream("server {\n listen 6379;\n proxy_pass redis.example.com:6380;\n proxy_ssl on;\n}");
    let m = model(&s);
    let f = one(&m, "sni-off", &at(&s, "proxy_pass"));
    assert_eq!(
        f.message,
        "proxy_ssl_server_name is off (default): nginx sends no SNI to redis.example.com:6380"
    );
    assert_eq!(fix(&f).changes, vec![set("proxy_ssl_server_name", "on")]);
}

// ---------------------------------------------------------------------------
// sni-name-ignored
// ---------------------------------------------------------------------------

#[test]
fn sni_name_ignored_fires_when_the_name_is_set_but_not_sent() {
    let c = http(&format!(
        "{POOL}\nserver {{\n location /v1/ {{\n  proxy_pass https://backend_pool;\n  proxy_ssl_name api.example.com;\n }}\n}}"
    ));
    let m = model(&c);
    let f = one(&m, "sni-name-ignored", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Medium);
    let name_at = at(&c, "proxy_ssl_name");
    assert_eq!(
        f.message,
        format!("proxy_ssl_name api.example.com ({name_at}) is never sent: proxy_ssl_server_name is off (default); with proxy_ssl_verify off it has no effect at all")
    );
    assert_eq!(related_lines(&m, &f), vec![name_at]);
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::Safe);
    assert_eq!(fx.changes, vec![set("proxy_ssl_server_name", "on")]);
    // the name is real: sni-off's fix is the same single safe change
    let so = one(&m, "sni-off", &at(&c, "proxy_pass"));
    assert_eq!(fix(&so).applicability, Applicability::Safe);
}

#[test]
fn sni_name_ignored_notes_verification_and_inheritance() {
    let c = http(
        "server {\n proxy_ssl_name api.example.com;\n proxy_ssl_server_name off;\n proxy_ssl_verify on;\n proxy_ssl_trusted_certificate /etc/ssl/ca.pem;\n location / { proxy_pass https://10.0.0.1; }\n}",
    );
    let m = model(&c);
    let f = one(&m, "sni-name-ignored", &at(&c, "proxy_pass"));
    assert!(
        f.message
            .ends_with("; it is only used to check the certificate of 10.0.0.1"),
        "{}",
        f.message
    );
    assert!(f.message.contains(&format!(
        "proxy_ssl_server_name is off ({})",
        at(&c, "server_name off")
    )));
    assert_eq!(f.related.len(), 2);
}

#[test]
fn sni_name_ignored_is_silent_without_a_name_or_with_sni_on() {
    none(
        &model(&http(
            "server {\n location / { proxy_pass https://a.example.com; }\n}",
        )),
        "sni-name-ignored",
    );
    none(
        &model(&http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://a.example.com; proxy_ssl_name b.example.com; }\n}")),
        "sni-name-ignored",
    );
}

#[test]
fn sni_name_ignored_for_grpc() {
    let c = http("server {\n location / {\n  grpc_pass grpcs://10.0.0.9:443;\n  grpc_ssl_name inv.example.com;\n }\n}");
    let m = model(&c);
    let f = one(&m, "sni-name-ignored", &at(&c, "grpc_pass"));
    assert!(
        f.message.starts_with("grpc_ssl_name inv.example.com ("),
        "{}",
        f.message
    );
    assert_eq!(fix(&f).changes, vec![set("grpc_ssl_server_name", "on")]);
}

// ---------------------------------------------------------------------------
// sni-upstream-name
// ---------------------------------------------------------------------------

#[test]
fn sni_upstream_name_when_the_group_name_is_sent() {
    let c = http(&format!(
        "{POOL}\nserver {{\n proxy_ssl_server_name on;\n location / {{ proxy_pass https://backend_pool; }}\n}}"
    ));
    let m = model(&c);
    let f = one(&m, "sni-upstream-name", &at(&c, "proxy_pass"));
    // Sent, not checked: an upstream with several sites may misroute.
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.message,
        "the TLS name for backend_pool is its upstream group name \"backend_pool\" (no proxy_ssl_name is set): nginx sends it as SNI, and no real certificate or virtual host carries a group label"
    );
    assert_eq!(related_lines(&m, &f), vec![at(&c, "upstream backend_pool")]);
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    // SNI is already on: only the name changes
    assert_eq!(fx.changes.len(), 1);
    let (key, proposal) = input_of(fx, "proxy_ssl_name");
    assert_eq!((key, proposal.as_deref()), ("sni-name", None));
    none(&m, "sni-off");
}

#[test]
fn sni_upstream_name_also_when_off_and_through_proxy_host() {
    let c = http(&format!(
        "{POOL}\nserver {{\n location /a/ {{ proxy_pass https://backend_pool; }}\n location /b/ {{ proxy_pass https://backend_pool; proxy_ssl_name $proxy_host; proxy_ssl_server_name on; }}\n}}"
    ));
    let m = model(&c);
    let fs = of(&m, "sni-upstream-name");
    assert_eq!(fs.len(), 2);
    assert!(fs[0]
        .message
        .contains("nginx would send and check it once SNI or verification is on"));
    let fx = fix(&fs[0]);
    assert_eq!(fx.changes.len(), 2, "name + server_name on: {fx:#?}");
    assert!(fx.changes.contains(&set("proxy_ssl_server_name", "on")));
    assert!(
        fs[1].message.contains(&format!(
            "(proxy_ssl_name $proxy_host at {})",
            at(&c, "$proxy_host")
        )),
        "{}",
        fs[1].message
    );
}

#[test]
fn sni_upstream_name_fqdn_groups_are_info_and_real_names_are_silent() {
    let c = http(
        "upstream api.example.com { server 10.0.0.1:443; }\nserver {\n proxy_ssl_server_name on;\n location / { proxy_pass https://api.example.com; }\n}",
    );
    let m = model(&c);
    let f = one(&m, "sni-upstream-name", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Info);
    assert!(f
        .message
        .contains("right only if every server's certificate carries that name"));

    let c = http(&format!(
        "{POOL}\nserver {{\n location / {{ proxy_pass https://backend_pool; proxy_ssl_name api.internal.example.com; }}\n}}"
    ));
    none(&model(&c), "sni-upstream-name");
}

#[test]
fn sni_upstream_name_in_stream() {
    let s = stream(
        "proxy_ssl_server_name on;\nupstream redis_pool { server redis-1.example.com:6380; }\nserver {\n listen 6379;\n proxy_pass redis_pool;\n proxy_ssl on;\n}",
    );
    let m = model(&s);
    let f = one(&m, "sni-upstream-name", &at(&s, "proxy_pass"));
    assert!(f.message.contains("\"redis_pool\""));
    let (_, proposal) = input_of(fix(&f), "proxy_ssl_name");
    assert_eq!(proposal.as_deref(), Some("redis-1.example.com"));
}

#[test]
fn sni_upstream_name_leaves_a_verified_group_of_named_servers_to_verify_name_mismatch() {
    // nginx's admin guide: a group named like a host, verified, servers
    // backend1/backend2: one problem, every handshake fails.
    let c = http("upstream backend.example.com { server backend1.example.com:443; server backend2.example.com:443; }\nserver {\n location / { proxy_pass https://backend.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }\n}");
    let m = model(&c);
    none(&m, "sni-upstream-name");
    one(&m, "verify-name-mismatch", &at(&c, "proxy_pass"));
}

#[test]
fn sni_upstream_name_severity_follows_what_uses_the_label() {
    let sev = |extra: &str| {
        let c = http(&format!(
            "upstream backend_pool {{ server 10.0.0.1:443; server 10.0.0.2:443; }}\nserver {{\n location / {{ proxy_pass https://backend_pool; {extra} }}\n}}"
        ));
        one(&model(&c), "sni-upstream-name", &at(&c, "proxy_pass")).severity
    };
    // checked against the certificate: every handshake fails (servers
    // named by address: verify-name-mismatch has no host name to offer)
    assert_eq!(
        sev("proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem;"),
        Severity::High
    );
    // sent as SNI: an upstream with several sites picks by it
    assert_eq!(sev("proxy_ssl_server_name on;"), Severity::Medium);
    // neither sent nor checked: nothing on the wire uses it (sni-off and
    // verify-off carry the action)
    assert_eq!(sev(""), Severity::Info);
}

// ---------------------------------------------------------------------------
// sni-ip-literal
// ---------------------------------------------------------------------------

#[test]
fn sni_ip_literal_ipv4_with_sni_on() {
    let c = http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://10.0.4.22:443; }\n}");
    let m = model(&c);
    let f = one(&m, "sni-ip-literal", &at(&c, "proxy_pass"));
    // Verification off and a private address: the hop works, only the
    // missing SNI is left, which a service at a private address ignores.
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.message,
        format!(
            "the TLS name for 10.0.4.22 is the IPv4 literal 10.0.4.22 (the proxy_pass host; no proxy_ssl_name is set): nginx sends no SNI (RFC 6066 forbids addresses) even though proxy_ssl_server_name is on ({}), and a certificate check against it would fail",
            at(&c, "proxy_ssl_server_name on")
        )
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(fx.changes.len(), 1, "SNI is already on");
    let (key, proposal) = input_of(fx, "proxy_ssl_name");
    assert_eq!((key, proposal.as_deref()), ("sni-name", None));
}

#[test]
fn sni_ip_literal_severity_follows_verification_and_the_address() {
    let sev = |target: &str, verify: bool| {
        let v = if verify {
            "proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem;"
        } else {
            ""
        };
        let c = http(&format!(
            "server {{\n location / {{ proxy_pass https://{target}; {v} }}\n}}"
        ));
        one(&model(&c), "sni-ip-literal", &at(&c, "proxy_pass")).severity
    };
    // With verification on the check against the address fails: high.
    assert_eq!(sev("10.0.0.5", true), Severity::High);
    assert_eq!(sev("127.0.0.1:8443", true), Severity::High);
    // Without it, only the missing SNI: by how far the address is.
    assert_eq!(sev("203.0.113.9", false), Severity::Medium);
    assert_eq!(sev("192.168.1.20", false), Severity::Info);
    assert_eq!(sev("[fd00::5]", false), Severity::Info);
    assert_eq!(sev("127.0.0.1:8443", false), Severity::Info);
    assert_eq!(sev("[::1]:8443", false), Severity::Info);
}

#[test]
fn sni_ip_literal_ipv6_explicit_names_and_stream() {
    let c = http("server {\n location /6/ { proxy_pass https://[2001:db8::1]:8443; }\n location /n/ { proxy_pass https://a.example.com; proxy_ssl_name 192.0.2.7; }\n location /ok/ { proxy_pass https://10.0.0.1; proxy_ssl_name ok.example.com; }\n}");
    let m = model(&c);
    let fs = of(&m, "sni-ip-literal");
    let places: Vec<String> = fs.iter().map(|f| place(&m, f)).collect();
    assert_eq!(places, vec![at(&c, "/6/"), at(&c, "/n/")]);
    assert!(fs[0].message.contains("IPv6 literal [2001:db8::1]"));
    assert!(fs[1]
        .message
        .contains(&format!("(proxy_ssl_name at {})", at(&c, "/n/"))));
    // SNI is off here: the fix turns it on too
    assert!(fix(&fs[0])
        .changes
        .contains(&set("proxy_ssl_server_name", "on")));

    let s = stream("server {\n listen 389;\n proxy_pass 10.0.0.5:636;\n proxy_ssl on;\n proxy_ssl_verify on;\n proxy_ssl_trusted_certificate /ca.pem;\n}");
    let m = model(&s);
    let f = one(&m, "sni-ip-literal", &at(&s, "proxy_pass"));
    assert!(
        f.message
            .ends_with("the certificate check against it fails (nginx matches host names only)"),
        "{}",
        f.message
    );
}

// ---------------------------------------------------------------------------
// sni-dynamic
// ---------------------------------------------------------------------------

#[test]
fn sni_dynamic_client_controlled_is_low() {
    let c = http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://t.example.com; proxy_ssl_name $host; }\n}");
    let m = model(&c);
    let f = one(&m, "sni-dynamic", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(
        f.message,
        format!("proxy_ssl_name is $host ({}): the client chooses the SNI nginx sends to t.example.com through $host", at(&c, "$host"))
    );
    assert!(f.fix.is_none());
}

#[test]
fn sni_dynamic_follows_map_and_set() {
    let c = http(
        "map $host $closed { default a.example.com; b.example.com b.internal.example.com; }\n\
         map $host $open { default $http_x_target; }\n\
         server {\n proxy_ssl_server_name on;\n\
          location /1/ { proxy_pass https://t.example.com; proxy_ssl_name $closed; }\n\
          location /2/ { proxy_pass https://t.example.com; proxy_ssl_name $open; }\n\
          location /3/ { set $v $arg_sni; proxy_pass https://t.example.com; proxy_ssl_name $v; }\n\
          location ~ ^/(?<tenant>[a-z]+)/ { proxy_pass https://t.example.com; proxy_ssl_name $tenant.example.com; }\n\
          location /5/ { proxy_pass https://t.example.com; proxy_ssl_name $1.example.com; }\n\
         }",
    );
    let m = model(&c);
    let fs = of(&m, "sni-dynamic");
    let got: Vec<(String, Severity)> = fs.iter().map(|f| (place(&m, f), f.severity)).collect();
    // `$closed` takes only names the map lists: every SNI is known, so
    // /1/ is not reported.
    assert_eq!(
        got,
        vec![
            (at(&c, "/2/"), Severity::Low),
            (at(&c, "/3/"), Severity::Low),
            (at(&c, "tenant"), Severity::Low),
            (at(&c, "/5/"), Severity::Low),
        ]
    );
    assert!(fs[0].message.contains("through $open"));

    // A value the request does not choose but the configuration does not
    // list either: info.
    let c = http(
        "map $host $mixed { default $server_name; b.example.com b.internal.example.com; }\n\
         server {\n server_name t.example.com;\n proxy_ssl_server_name on;\n\
          location /m/ { proxy_pass https://t.example.com; proxy_ssl_name $mixed; }\n\
         }",
    );
    let m = model(&c);
    let fs = of(&m, "sni-dynamic");
    assert_eq!(fs.len(), 1);
    assert_eq!(fs[0].severity, Severity::Info);
    assert!(fs[0]
        .message
        .contains("computed per request from $mixed, which hopscope cannot check statically"));
}

#[test]
fn sni_dynamic_needs_the_name_to_be_used_and_covers_dynamic_targets() {
    // neither sent nor verified: not reported
    let c = http(
        "server {\n location / { proxy_pass https://t.example.com; proxy_ssl_name $host; }\n}",
    );
    none(&model(&c), "sni-dynamic");

    let c = http("server {\n proxy_ssl_verify on;\n proxy_ssl_trusted_certificate /ca.pem;\n location / { proxy_pass https://$http_x_backend; }\n}");
    let m = model(&c);
    let f = one(&m, "sni-dynamic", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Low);
    assert!(f.message.starts_with("the name comes from the proxy_pass target https://$http_x_backend: the client chooses the name the certificate must match"), "{}", f.message);
}

// ---------------------------------------------------------------------------
// verify-off
// ---------------------------------------------------------------------------

#[test]
fn verify_off_default_is_medium_with_ca_and_depth_in_the_fix() {
    let c = http("server {\n location / { proxy_pass https://a.example.com; }\n}");
    let m = model(&c);
    let f = one(&m, "verify-off", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.message,
        "proxy_ssl_verify is off (default): nginx accepts any certificate from a.example.com, so anyone on the network path can impersonate it"
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(fx.changes[0], set("proxy_ssl_verify", "on"));
    let (key, proposal) = input_of(fx, "proxy_ssl_trusted_certificate");
    assert_eq!(
        (key, proposal.as_deref()),
        ("ca-file", Some("/etc/ssl/certs/ca-certificates.crt"))
    );
    assert!(fx.changes.contains(&set("proxy_ssl_verify_depth", "3")));
}

#[test]
fn verify_off_explicit_is_high_and_the_fix_keeps_an_inherited_ca_and_depth() {
    let c = http("proxy_ssl_trusted_certificate /etc/nginx/ca.pem;\nproxy_ssl_verify_depth 2;\nserver {\n location / {\n  proxy_pass https://a.example.com;\n  proxy_ssl_verify off;\n }\n}");
    let m = model(&c);
    let f = one(&m, "verify-off", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::High);
    assert!(f.message.starts_with(&format!(
        "proxy_ssl_verify is off ({}):",
        at(&c, "verify off")
    )));
    assert_eq!(related_lines(&m, &f), vec![at(&c, "verify off")]);
    assert_eq!(fix(&f).changes, vec![set("proxy_ssl_verify", "on")]);
}

#[test]
fn verify_off_is_silent_when_on_is_inherited_and_covers_every_module() {
    let c = http("proxy_ssl_verify on;\nproxy_ssl_trusted_certificate /ca.pem;\nserver {\n location / { location /x/ { proxy_pass https://a.example.com; } }\n location /g/ { grpc_pass grpcs://g.example.com; }\n location /u/ { uwsgi_pass suwsgi://u.example.com; uwsgi_ssl_verify off; }\n}");
    let m = model(&c);
    let fs = of(&m, "verify-off");
    let got: Vec<(String, Severity)> = fs.iter().map(|f| (place(&m, f), f.severity)).collect();
    assert_eq!(
        got,
        vec![
            (at(&c, "grpc_pass"), Severity::Medium),
            (at(&c, "uwsgi_pass"), Severity::High)
        ]
    );
    assert!(fs[0]
        .message
        .starts_with("grpc_ssl_verify is off (default)"));
    assert_eq!(fix(&fs[1]).changes[0], set("uwsgi_ssl_verify", "on"));

    let s = stream("upstream ldap { server ldap-1.example.com:636; }\nserver { listen 389; proxy_pass ldap; proxy_ssl on; proxy_ssl_name ldap.example.com; }");
    let m = model(&s);
    assert_eq!(
        one(&m, "verify-off", &at(&s, "proxy_pass")).severity,
        Severity::Medium
    );
}

#[test]
fn verify_off_fix_summary_warns_about_a_group_name() {
    let c = http(&format!("{POOL}\nserver {{\n location / {{ proxy_pass https://backend_pool; proxy_ssl_verify off; }}\n}}"));
    let f = one(&model(&c), "verify-off", &at(&c, "proxy_pass"));
    assert!(
        fix(&f)
            .summary
            .contains("check the certificate against a real host name in proxy_ssl_name (today: backend_pool)"),
        "{}",
        fix(&f).summary
    );
}

// ---------------------------------------------------------------------------
// verify-no-ca
// ---------------------------------------------------------------------------

#[test]
fn verify_no_ca_is_an_error_where_tls_is_used() {
    let c = http(
        "proxy_ssl_verify on;\nserver {\n location / { proxy_pass https://a.example.com; }\n}",
    );
    let m = model(&c);
    let f = one(&m, "verify-no-ca", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message,
        format!("proxy_ssl_verify is on ({}) for a.example.com but no proxy_ssl_trusted_certificate is set: nginx -t fails with \"no proxy_ssl_trusted_certificate for proxy_ssl_verify\"", at(&c, "verify on"))
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    let (key, _) = input_of(fx, "proxy_ssl_trusted_certificate");
    assert_eq!(key, "ca-file");
}

#[test]
fn verify_no_ca_not_where_no_tls_is_set_up_nor_with_a_ca() {
    // verify on at http level, only a plain pass: nginx -t accepts it
    let c =
        http("proxy_ssl_verify on;\nserver {\n location / { proxy_pass http://a.example.com; }\n}");
    none(&model(&c), "verify-no-ca");
    let c = http("proxy_ssl_verify on;\nproxy_ssl_trusted_certificate /ca.pem;\nserver {\n location / { proxy_pass https://a.example.com; }\n}");
    none(&model(&c), "verify-no-ca");
    // off in the location overrides http's on
    let c = http("proxy_ssl_verify on;\nserver {\n location / { proxy_pass https://a.example.com; proxy_ssl_verify off; }\n}");
    none(&model(&c), "verify-no-ca");
}

#[test]
fn verify_no_ca_for_variable_passes_empty_cas_and_other_modules() {
    // a pass with variables makes nginx prepare TLS, whatever its scheme
    let c = http("proxy_ssl_verify on;\nserver {\n location / { proxy_pass http://$host; }\n}");
    let m = model(&c);
    let f = one(&m, "verify-no-ca", &at(&c, "proxy_pass"));
    assert!(f.hop.is_none());
    assert!(f.fix.is_none());
    assert!(
        f.message.contains("for proxy_pass http://$host"),
        "{}",
        f.message
    );

    let c = http("server {\n grpc_ssl_verify on;\n grpc_ssl_trusted_certificate \"\";\n location / { grpc_pass grpcs://g.example.com; }\n}");
    let m = model(&c);
    let f = one(&m, "verify-no-ca", &at(&c, "grpc_pass"));
    assert!(
        f.message.contains("grpc_ssl_trusted_certificate is \"\"")
            || f.message.contains("grpc_ssl_trusted_certificate is empty"),
        "{}",
        f.message
    );
    assert!(f
        .message
        .ends_with("\"no grpc_ssl_trusted_certificate for grpc_ssl_verify\""));

    let c = http("server {\n location / { uwsgi_pass $host:9000; uwsgi_ssl_verify on; }\n}");
    one(&model(&c), "verify-no-ca", &at(&c, "uwsgi_pass"));

    let s = stream("proxy_ssl_verify on;\nserver { listen 1; proxy_pass a.example.com:636; }\nserver { listen 2; proxy_pass b.example.com:636; proxy_ssl on; }\nserver { listen 3; proxy_ssl on; return x; }");
    let m = model(&s);
    let fs = of(&m, "verify-no-ca");
    let places: Vec<String> = fs.iter().map(|f| place(&m, f)).collect();
    assert_eq!(places, vec![at(&s, "listen 2"), at(&s, "listen 3")]);
}

// ---------------------------------------------------------------------------
// verify-name-mismatch
// ---------------------------------------------------------------------------

#[test]
fn verify_name_mismatch_group_name_against_host_named_servers() {
    let c = http(&format!("{POOL}\nserver {{\n location / {{ proxy_pass https://backend_pool; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }}\n}}"));
    let m = model(&c);
    let f = one(&m, "verify-name-mismatch", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.message
            .contains("against the group name \"backend_pool\""),
        "{}",
        f.message
    );
    assert!(f
        .message
        .contains("backend-1.internal.example.com, backend-2.internal.example.com"));
    assert!(f
        .message
        .ends_with("'upstream SSL certificate does not match \"backend_pool\"'"));
    assert!(f.fix.is_none(), "two different hosts: no obvious name");
}

#[test]
fn verify_name_mismatch_obvious_fix_ip_pools_and_ip_targets() {
    let c = http("upstream p { server a.example.com:8443; server a.example.com:9443; }\nupstream ips { server 10.0.0.1; }\nproxy_ssl_verify on;\nproxy_ssl_trusted_certificate /ca.pem;\nserver {\n location /p/ { proxy_pass https://p; }\n location /ips/ { proxy_pass https://ips; }\n location /ip/ { proxy_pass https://10.0.0.2; }\n location /ok/ { proxy_pass https://10.0.0.3; proxy_ssl_name ok.example.com; }\n}");
    let m = model(&c);
    let fs = of(&m, "verify-name-mismatch");
    let places: Vec<String> = fs.iter().map(|f| place(&m, f)).collect();
    assert_eq!(places, vec![at(&c, "/p/"), at(&c, "/ip/")]);
    let fx = fix(&fs[0]);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(fx.changes, vec![set("proxy_ssl_name", "a.example.com")]);
    assert!(fs[1].message.contains("against the address 10.0.0.2"));
    assert!(fs[1].fix.is_none());
    // not when verification is off
    let c = http(&format!(
        "{POOL}\nserver {{\n location / {{ proxy_pass https://backend_pool; }}\n}}"
    ));
    none(&model(&c), "verify-name-mismatch");
}

// ---------------------------------------------------------------------------
// verify-depth
// ---------------------------------------------------------------------------

#[test]
fn verify_depth_default_one_is_low() {
    let c = http("server {\n proxy_ssl_verify on;\n proxy_ssl_trusted_certificate /ca.pem;\n location / { proxy_pass https://a.example.com; }\n location /d2/ { proxy_pass https://b.example.com; proxy_ssl_verify_depth 2; }\n location /d0/ { proxy_pass https://c.example.com; proxy_ssl_verify_depth 0; }\n location /off/ { proxy_pass https://d.example.com; proxy_ssl_verify off; }\n}");
    let m = model(&c);
    let fs = of(&m, "verify-depth");
    let places: Vec<String> = fs.iter().map(|f| place(&m, f)).collect();
    assert_eq!(places, vec![at(&c, "location / {"), at(&c, "/d0/")]);
    assert_eq!(fs[0].severity, Severity::Low);
    assert_eq!(
        fs[0].message,
        format!("proxy_ssl_verify_depth is 1 (default) with proxy_ssl_verify on ({}): a chain with more than one intermediate CA fails verification for a.example.com", at(&c, "verify on"))
    );
    assert!(fs[1]
        .message
        .contains("only a certificate signed directly by a trusted CA passes"));
    let fx = fix(&fs[0]);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(fx.changes, vec![set("proxy_ssl_verify_depth", "3")]);
}

// ---------------------------------------------------------------------------
// cert-no-key
// ---------------------------------------------------------------------------

#[test]
fn cert_no_key_certificate_without_key_is_an_error() {
    let c = http("server {\n location / { proxy_pass https://a.example.com; proxy_ssl_certificate /etc/nginx/client.crt; }\n}");
    let m = model(&c);
    let f = one(&m, "cert-no-key", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.message,
        format!("proxy_ssl_certificate is \"/etc/nginx/client.crt\" ({}) for a.example.com but no proxy_ssl_certificate_key is set: nginx -t fails with 'no \"proxy_ssl_certificate_key\" is defined for certificate \"/etc/nginx/client.crt\"'", at(&c, "proxy_pass"))
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    let (key, proposal) = input_of(fx, "proxy_ssl_certificate_key");
    assert_eq!(
        (key, proposal.as_deref()),
        ("client-key", Some("/etc/nginx/client.key"))
    );
}

#[test]
fn cert_no_key_pairs_are_inherited_separately() {
    // cert at http, key only in /a/: /b/ has half a pair; no https pass at
    // http level itself, so only hops count.
    let c = http("proxy_ssl_certificate /c.crt;\nserver {\n location /a/ { proxy_pass https://a.example.com; proxy_ssl_certificate_key /c.key; }\n location /b/ { proxy_pass https://b.example.com; }\n location /plain/ { proxy_pass http://p.example.com; }\n}");
    let m = model(&c);
    one(&m, "cert-no-key", &at(&c, "/b/"));
}

#[test]
fn cert_no_key_key_without_certificate_is_low() {
    let c = http("server {\n location / { grpc_pass grpcs://g.example.com; grpc_ssl_certificate_key /k.key; }\n}");
    let m = model(&c);
    let f = one(&m, "cert-no-key", &at(&c, "grpc_pass"));
    assert_eq!(f.severity, Severity::Low);
    assert!(f.message.ends_with("but no grpc_ssl_certificate is set: nginx ignores the key and presents no client certificate"), "{}", f.message);
    assert!(f.fix.is_none());
}

#[test]
fn cert_no_key_empty_certificate_depends_on_the_version() {
    let c = http("server {\n location / { proxy_pass https://a.example.com; proxy_ssl_certificate \"\"; }\n}");
    // 1.21.0 - 1.22.x read "" as a file name
    one(
        &model_v(&c, Version(1, 22, 1)),
        "cert-no-key",
        &at(&c, "proxy_pass"),
    );
    none(&model_v(&c, Version(1, 24, 0)), "cert-no-key");
    none(&model_v(&c, Version(1, 20, 2)), "cert-no-key");
}

#[test]
fn cert_no_key_in_stream_only_with_proxy_ssl_on() {
    let s = stream("proxy_ssl_certificate /c.crt;\nserver { listen 1; proxy_pass a.example.com:1; }\nserver { listen 2; proxy_pass b.example.com:2; proxy_ssl on; }");
    let m = model(&s);
    one(&m, "cert-no-key", &at(&s, "listen 2"));
}

// ---------------------------------------------------------------------------
// cert-file-missing (needs files on disk)
// ---------------------------------------------------------------------------

fn disk(conf: &str, files: &[&str]) -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("nginx.conf"), conf).expect("write conf");
    for f in files {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "x").expect("write file");
    }
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).expect("load");
    assert_eq!(cfg.loaded_from, LoadedFrom::Disk);
    (dir, Model::build(cfg, NEWEST))
}

#[test]
fn cert_file_missing_relative_to_the_prefix() {
    let c = http("server {\n location /a/ { proxy_pass https://a.example.com; proxy_ssl_certificate certs/c.crt; proxy_ssl_certificate_key certs/missing.key; }\n location /b/ { proxy_pass https://b.example.com; proxy_ssl_certificate certs/c.crt; proxy_ssl_certificate_key certs/c.key; }\n}");
    let (dir, m) = disk(&c, &["certs/c.crt", "certs/c.key"]);
    let f = one(&m, "cert-file-missing", &at(&c, "/a/"));
    assert_eq!(f.severity, Severity::Error);
    let path = dir.path().join("certs/missing.key");
    assert_eq!(
        f.message,
        format!("proxy_ssl_certificate_key ({}) for a.example.com: {} does not exist; nginx -t fails when it loads it", at(&c, "/a/"), path.display())
    );
    assert!(f.fix.is_none());
}

/// A tree installed at `ROOT/etc/nginx`, analysed with `--root ROOT`:
/// absolute names are looked up under ROOT.
fn rooted(conf: &str, files: &[&str]) -> (tempfile::TempDir, Model) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let etc = root.join("etc/nginx");
    std::fs::create_dir_all(&etc).expect("mkdir");
    std::fs::write(etc.join("nginx.conf"), conf).expect("write conf");
    for f in files {
        let p = root.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "x").expect("write file");
    }
    let mut cfg = conf::load(&Input::Path(etc.join("nginx.conf"))).expect("load");
    cfg.root = Some(root);
    (dir, Model::build(cfg, NEWEST))
}

#[test]
fn cert_file_missing_ca_is_error_only_with_verification() {
    let c = http("proxy_ssl_trusted_certificate /etc/hopscope-test/ca.pem;\nserver {\n location /off/ { proxy_pass https://a.example.com; }\n location /on/ { proxy_pass https://b.example.com; proxy_ssl_verify on; proxy_ssl_crl crl.pem; }\n}");
    let (dir, m) = rooted(&c, &[]);
    let fs = of(&m, "cert-file-missing");
    let got: Vec<(String, Severity, bool)> = fs
        .iter()
        .map(|f| {
            (
                place(&m, f),
                f.severity,
                f.message.starts_with("proxy_ssl_crl"),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (at(&c, "/off/"), Severity::Low, false),
            (at(&c, "/on/"), Severity::Error, false),
            (at(&c, "/on/"), Severity::Error, true),
        ]
    );
    assert!(fs[0]
        .message
        .contains("nginx does not load it while proxy_ssl_verify is off"));
    // the server's /etc/hopscope-test/ca.pem is looked up under the root
    let mapped = dir
        .path()
        .canonicalize()
        .unwrap()
        .join("etc/hopscope-test/ca.pem");
    assert!(
        fs[0].message.contains(&mapped.display().to_string()),
        "{}",
        fs[0].message
    );
}

#[test]
fn cert_file_missing_is_silent_on_a_copy_for_server_paths_and_says_so() {
    // A repository copy names the server's /etc/ssl files, which exist only
    // there: nothing to report, and the hop says the check was not made.
    let c = http("server {\n location / { proxy_pass https://a.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/hopscope-test/ca.pem; proxy_ssl_certificate /etc/ssl/hopscope-test/c.crt; proxy_ssl_certificate_key /etc/ssl/hopscope-test/c.key; }\n}");
    let (_dir, m) = disk(&c, &[]);
    none(&m, "cert-file-missing");
    let why = hopscope::report::labels::files_not_checked(&m, &m.hops[0]).expect("a note");
    assert!(
        why.starts_with("certificate files not checked: the tree was loaded from a copy"),
        "{why}"
    );
    assert!(why.contains("--root"), "{why}");
    // The same tree under --root: looked up there, and reported.
    let (_dir, m) = rooted(&c, &["/etc/ssl/hopscope-test/c.crt"]);
    let got: Vec<String> = of(&m, "cert-file-missing")
        .iter()
        .map(|f| f.message.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        got,
        ["proxy_ssl_certificate_key", "proxy_ssl_trusted_certificate"]
    );
    assert_eq!(
        hopscope::report::labels::files_not_checked(&m, &m.hops[0]),
        None
    );
    // Everything present: nothing.
    let (_dir, m) = rooted(
        &c,
        &[
            "/etc/ssl/hopscope-test/c.crt",
            "/etc/ssl/hopscope-test/c.key",
            "/etc/ssl/hopscope-test/ca.pem",
        ],
    );
    none(&m, "cert-file-missing");
}

#[test]
fn cert_file_missing_never_follows_a_path_out_of_the_root() {
    let outside = tempfile::tempdir().expect("tempdir");
    let c = http("server {\n location / { proxy_pass https://a.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/out/ca.pem; proxy_ssl_crl /../../../x.crl; }\n}");
    let (dir, m) = rooted(&c, &[]);
    std::fs::create_dir_all(dir.path().join("etc/ssl")).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("etc/ssl/out")).unwrap();
    none(&m, "cert-file-missing");
    let why = hopscope::report::labels::files_not_checked(&m, &m.hops[0]).expect("a note");
    assert!(why.contains("leads out of --root"), "{why}");
}

#[test]
fn cert_file_missing_reads_nothing_here_for_a_dump() {
    // nginx -T output names the server's files: even a path that is
    // missing here is not looked up.
    let dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp { server { location / { proxy_pass https://a.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /nonexistent/hopscope/ca.pem; } } }\n";
    let cfg = conf::from_bytes(dump.as_bytes().to_vec(), None).expect("dump");
    assert_eq!(cfg.loaded_from, LoadedFrom::Dump);
    let m = Model::build(cfg, NEWEST);
    none(&m, "cert-file-missing");
    let why = hopscope::report::labels::files_not_checked(&m, &m.hops[0]).expect("a note");
    assert!(why.contains("nginx -T output"), "{why}");
}

#[test]
fn cert_file_missing_password_files_variables_and_origins() {
    // a password file is read while parsing: an error even with no hop
    let c = http("proxy_ssl_password_file secrets/pass.txt;\nserver {\n location / { proxy_pass http://a.example.com; }\n location /v/ { proxy_pass https://v.example.com; proxy_ssl_certificate $host.crt; proxy_ssl_certificate_key $host.key; }\n}");
    let (_dir, m) = disk(&c, &[]);
    let f = one(&m, "cert-file-missing", &at(&c, "password_file"));
    assert!(f.hop.is_none());
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("nginx reads it while parsing"));
    let (_dir, m) = disk(&c, &["secrets/pass.txt"]);
    none(&m, "cert-file-missing");
    // in-memory configurations are never checked against this disk
    none(&model(&c), "cert-file-missing");
}

#[test]
fn cert_file_missing_empty_certificate_in_1_22() {
    let c = http("server {\n location / { proxy_pass https://a.example.com; proxy_ssl_certificate \"\"; proxy_ssl_certificate_key k.key; }\n}");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("nginx.conf"), &c).expect("write");
    std::fs::write(dir.path().join("k.key"), "x").expect("write");
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).expect("load");
    let m = Model::build(cfg, Version(1, 22, 1));
    let f = one(&m, "cert-file-missing", &at(&c, "proxy_pass"));
    assert!(f.message.contains("is a directory"), "{}", f.message);
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).expect("load");
    none(&Model::build(cfg, NEWEST), "cert-file-missing");
}

// ---------------------------------------------------------------------------
// weak-protocols, weak-ciphers
// ---------------------------------------------------------------------------

#[test]
fn weak_protocols_only_weak_ones_is_medium() {
    let c = http("server {\n location / { proxy_pass https://erp.example.com; proxy_ssl_protocols TLSv1 TLSv1.1; }\n}");
    let f = one(&model(&c), "weak-protocols", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Medium);
}

#[test]
fn weak_protocols_explicit_and_through_the_default() {
    let c = http("server {\n location /erp/ { proxy_pass https://erp.example.com:8443; proxy_ssl_protocols TLSv1 TLSv1.2; }\n location /new/ { proxy_pass https://new.example.com; }\n}");
    let m = model(&c);
    let f = one(&m, "weak-protocols", &at(&c, "/erp/"));
    // TLSv1.2 is offered too: an upstream that has it negotiates it.
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(
        f.message,
        format!(
            "proxy_ssl_protocols is TLSv1 TLSv1.2 ({}): nginx offers TLSv1 to erp.example.com:8443",
            at(&c, "/erp/")
        )
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(
        fx.changes,
        vec![set("proxy_ssl_protocols", "TLSv1.2 TLSv1.3")]
    );

    // nginx 1.22's default still has TLSv1 and TLSv1.1
    let m = model_v(&c, Version(1, 22, 1));
    let fs = of(&m, "weak-protocols");
    assert_eq!(fs.len(), 2);
    assert_eq!(
        fs[1].message,
        "proxy_ssl_protocols is TLSv1 TLSv1.1 TLSv1.2 (default of nginx 1.22.1): nginx offers TLSv1, TLSv1.1 to new.example.com"
    );
    // no TLSv1.3 before nginx 1.13.0
    let m = model_v(&c, Version(1, 12, 2));
    assert_eq!(
        fix(&of(&m, "weak-protocols")[0]).changes,
        vec![set("proxy_ssl_protocols", "TLSv1.2")]
    );
}

#[test]
fn weak_protocols_inherited_by_stream_and_grpc() {
    let s = stream("proxy_ssl_protocols SSLv3 TLSv1.2;\nserver { listen 1; proxy_pass a.example.com:1; proxy_ssl on; }");
    let m = model(&s);
    let f = one(&m, "weak-protocols", &at(&s, "proxy_pass"));
    assert!(f.message.contains("nginx offers SSLv3"));
    let c = http("grpc_ssl_protocols TLSv1.1 TLSv1.2;\nserver { location / { grpc_pass grpcs://g.example.com; } }");
    let m = model(&c);
    assert_eq!(
        fix(&one(&m, "weak-protocols", &at(&c, "grpc_pass"))).changes,
        vec![set("grpc_ssl_protocols", "TLSv1.2 TLSv1.3")]
    );
}

#[test]
fn weak_ciphers() {
    let c = http("server {\n location /a/ { proxy_pass https://a.example.com; proxy_ssl_ciphers HIGH:RC4-SHA:!MD5:-3DES; }\n location /b/ { proxy_pass https://b.example.com; proxy_ssl_ciphers HIGH:!aNULL:!RC4; }\n}");
    let m = model(&c);
    let f = one(&m, "weak-ciphers", &at(&c, "/a/"));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.message,
        format!("proxy_ssl_ciphers is HIGH:RC4-SHA:!MD5:-3DES ({}): nginx offers a.example.com weak suites: RC4-SHA (RC4)", at(&c, "/a/"))
    );
    assert!(f.fix.is_none());
}

// ---------------------------------------------------------------------------
// host-sni-mismatch
// ---------------------------------------------------------------------------

#[test]
fn host_sni_mismatch_default_host_is_the_group_name() {
    let c = http(&format!("{POOL}\nserver {{\n proxy_ssl_server_name on;\n location / {{ proxy_pass https://backend_pool; proxy_ssl_name api.internal.example.com; }}\n}}"));
    let m = model(&c);
    let f = one(&m, "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.message,
        format!("the Host header sent to backend_pool is $proxy_host = backend_pool (default), but the SNI is api.internal.example.com (proxy_ssl_name at {}): nobody chose this Host (it is nginx's default, $proxy_host), and an upstream that picks its site by Host answers from a different one (or with 421)", at(&c, "proxy_pass"))
    );
    let fx = fix(&f);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(
        fx.changes,
        vec![Change::SetHeader {
            directive: "proxy_set_header".into(),
            header: "Host".into(),
            value: FixValue::literal("api.internal.example.com"),
        }]
    );
}

#[test]
fn host_sni_mismatch_the_enterprise_pattern() {
    let c = http("proxy_set_header Host $host;\nserver {\n proxy_ssl_server_name on;\n location / { proxy_pass https://10.0.0.1; proxy_ssl_name api.internal.example.com; }\n}");
    let m = model(&c);
    let f = one(&m, "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert!(
        f.message.contains(&format!(
            "is $host, taken from each request ({})",
            at(&c, "Host $host")
        )),
        "{}",
        f.message
    );
    assert!(related_lines(&m, &f).contains(&at(&c, "Host $host")));
    // A Host someone wrote is their design: information, and advice only.
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(fix(&f).applicability, Applicability::DisplayOnly);
}

#[test]
fn host_sni_mismatch_a_chosen_host_is_information_and_never_rewritten() {
    // $http_host and a literal are chosen too.
    for host in ["$http_host", "app.example.com", "$host"] {
        let c = http(&format!("server {{\n proxy_ssl_server_name on;\n location / {{ proxy_pass https://backend.internal.example.com; proxy_set_header Host {host}; }}\n}}"));
        let m = model(&c);
        let f = one(&m, "host-sni-mismatch", &at(&c, "proxy_pass"));
        assert_eq!(f.severity, Severity::Info, "{host}");
        assert!(f.message.contains("set on purpose"), "{}", f.message);
        assert_eq!(fix(&f).applicability, Applicability::DisplayOnly, "{host}");
    }
    // Written as `$proxy_host`, it is nginx's default: still medium.
    let c = http(&format!("{POOL}\nserver {{\n proxy_ssl_server_name on;\n location / {{ proxy_pass https://backend_pool; proxy_ssl_name api.internal.example.com; proxy_set_header Host $proxy_host; }}\n}}"));
    let f = one(&model(&c), "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(fix(&f).applicability, Applicability::NeedsReview);
}

#[test]
fn host_sni_mismatch_s3_virtual_hosted_bucket_is_information() {
    // Virtual-hosted S3: Host is the bucket under the SNI's domain, which
    // the endpoint's wildcard certificate covers.
    let c = http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://s3.amazonaws.com; proxy_set_header Host my-bucket.s3.amazonaws.com; }\n}");
    let f = one(&model(&c), "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Info);
    assert!(f.message.contains("virtual-hosted"), "{}", f.message);
    // …also when nginx's default Host is the bucket name.
    let c = http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://my-bucket.s3.amazonaws.com; proxy_ssl_name s3.amazonaws.com; }\n}");
    let f = one(&model(&c), "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Info);
}

#[test]
fn host_sni_mismatch_default_host_on_loopback_is_low() {
    let c = http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://127.0.0.1:8443; proxy_ssl_name app.example.com; }\n}");
    let f = one(&model(&c), "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert_eq!(f.severity, Severity::Low);
}

#[test]
fn host_sni_mismatch_silent_cases() {
    // default Host $proxy_host = host:port, SNI = host
    none(&model(&http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://a.example.com:8443; }\n}")), "host-sni-mismatch");
    // explicit equal Host (case and port ignored)
    none(&model(&http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://10.0.0.1; proxy_ssl_name api.example.com; proxy_set_header Host API.example.com:443; }\n}")), "host-sni-mismatch");
    // both from the request
    none(&model(&http("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://t.example.com; proxy_ssl_name $http_host; proxy_set_header Host $host; }\n}")), "host-sni-mismatch");
    // no SNI sent
    none(&model(&http(&format!("{POOL}\nserver {{\n location / {{ proxy_pass https://backend_pool; proxy_ssl_name api.example.com; }}\n}}"))), "host-sni-mismatch");
    // grpc is not checked
    none(&model(&http("server {\n grpc_ssl_server_name on;\n location / { grpc_pass grpcs://10.0.0.1; grpc_ssl_name g.example.com; }\n}")), "host-sni-mismatch");
}

#[test]
fn host_sni_mismatch_dynamic_sni_with_a_fixed_host() {
    let c = http("upstream tenant_pool { server t1.example.com:443; }\nserver {\n proxy_ssl_server_name on;\n location / { proxy_pass https://tenant_pool; proxy_ssl_name $host; }\n}");
    let m = model(&c);
    let f = one(&m, "host-sni-mismatch", &at(&c, "proxy_pass"));
    assert!(
        f.message
            .contains("but the SNI is $host, computed per request"),
        "{}",
        f.message
    );
    assert_eq!(f.severity, Severity::Medium);
}

// ---------------------------------------------------------------------------
// pool-name-mismatch
// ---------------------------------------------------------------------------

#[test]
fn pool_name_mismatch_name_of_one_server() {
    let c = http(&format!("{POOL}\nserver {{\n proxy_ssl_server_name on;\n location /one/ {{ proxy_pass https://backend_pool; proxy_ssl_name backend-1.internal.example.com; }}\n location /shared/ {{ proxy_pass https://backend_pool; proxy_ssl_name api.internal.example.com; }}\n}}"));
    let m = model(&c);
    let f = one(&m, "pool-name-mismatch", &at(&c, "/one/"));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.message,
        format!("backend_pool has servers backend-1.internal.example.com, backend-2.internal.example.com, but every connection uses the name backend-1.internal.example.com (proxy_ssl_name at {}): backend-2.internal.example.com must present a certificate and site for backend-1.internal.example.com", at(&c, "/one/"))
    );
    assert!(f.fix.is_none());
    // one host on two ports is not a mismatch
    let c = http("upstream p { server a.example.com:1; server a.example.com:2; }\nserver {\n proxy_ssl_server_name on;\n location / { proxy_pass https://p; proxy_ssl_name a.example.com; }\n}");
    none(&model(&c), "pool-name-mismatch");
}

// ---------------------------------------------------------------------------
// ssl-on-plain-hop
// ---------------------------------------------------------------------------

#[test]
fn ssl_on_plain_hop_in_http() {
    let c = http("proxy_ssl_trusted_certificate /ca.pem;\nserver {\n location /plain/ {\n  proxy_pass http://app.example.com;\n  proxy_ssl_verify on;\n }\n location /tls/ { proxy_pass https://tls.example.com; }\n location /var/ { proxy_pass $scheme://x.example.com; proxy_ssl_name x.example.com; }\n}");
    let m = model(&c);
    let f = one(&m, "ssl-on-plain-hop", &at(&c, "proxy_ssl_verify on"));
    assert_eq!(f.severity, Severity::Info);
    assert!(f.hop.is_none());
    assert_eq!(
        f.message,
        format!("proxy_ssl_verify on ({}) has no effect: the only pass it reaches, proxy_pass http://app.example.com ({}), opens no TLS (its target is not https://)", at(&c, "proxy_ssl_verify on"), at(&c, "http://app"))
    );
    assert!(f.fix.is_none());
}

#[test]
fn ssl_on_plain_hop_stream_without_proxy_ssl() {
    let s = stream("server {\n listen 389;\n proxy_pass ldap.example.com:636;\n proxy_ssl_name ldap.example.com;\n}");
    let m = model(&s);
    let f = one(&m, "ssl-on-plain-hop", &at(&s, "proxy_ssl_name"));
    assert!(
        f.message
            .ends_with("opens no TLS (proxy_ssl is off (default))"),
        "{}",
        f.message
    );
    // and uwsgi_ssl_* lines reaching only plain uwsgi passes
    let c = http("uwsgi_ssl_verify on;\nserver {\n location / { uwsgi_pass 127.0.0.1:9000; }\n location /2/ { uwsgi_pass uwsgi://127.0.0.1:9001; }\n}");
    let m = model(&c);
    let f = one(&m, "ssl-on-plain-hop", &at(&c, "uwsgi_ssl_verify"));
    assert!(
        f.message
            .contains("none of the 2 passes it reaches opens TLS"),
        "{}",
        f.message
    );
}

// ---------------------------------------------------------------------------
// ssl-in-if
// ---------------------------------------------------------------------------

#[test]
fn ssl_in_if_limit_except_upstream_and_includes() {
    let main = http("upstream u {\n server a.example.com:443;\n proxy_ssl_name a.example.com;\n}\nserver {\n if ($host) { grpc_ssl_verify on; }\n location / {\n  proxy_pass https://a.example.com;\n  if ($request_method = POST) {\n   proxy_ssl_server_name on;\n   include snippets/in-if.conf;\n  }\n  limit_except GET { proxy_ssl_name x.example.com; }\n }\n}");
    let m = model_files(
        &[
            ("nginx.conf", &main),
            (
                "snippets/in-if.conf",
                "uwsgi_ssl_protocols TLSv1.2;\nproxy_ssl on;\n",
            ),
        ],
        NEWEST,
    );
    let fs = of(&m, "ssl-in-if");
    let got: Vec<(String, Severity, bool)> = fs
        .iter()
        .map(|f| (place(&m, f), f.severity, f.hop.is_none()))
        .collect();
    let e = |p: String| (p, Severity::Error, true);
    assert_eq!(
        got,
        vec![
            e(at(&main, "proxy_ssl_name a.example.com")),
            e(at(&main, "grpc_ssl_verify")),
            e(at(&main, "proxy_ssl_server_name on")),
            e(at(&main, "limit_except")),
            e("snippets/in-if.conf:1".into()),
            e("snippets/in-if.conf:2".into()),
        ]
    );
    assert_eq!(
        fs[2].message,
        format!("proxy_ssl_server_name ({}) is inside if: nginx -t fails with '\"proxy_ssl_server_name\" directive is not allowed here'", at(&main, "proxy_ssl_server_name on"))
    );
    assert!(fs[0].message.contains("is inside upstream"));
    assert!(fs[5].message.ends_with("'unknown directive \"proxy_ssl\"'"));
    assert!(fs.iter().all(|f| f.fix.is_none()));
    // the hop in the location keeps its own settings: no SNI
    one(&m, "sni-off", &at(&main, "proxy_pass"));
}

#[test]
fn ssl_in_if_proxy_ssl_is_known_once_the_stream_module_is_loaded() {
    let c = "load_module modules/ngx_stream_module.so;\nevents {}\nhttp {\n server {\n  location / {\n   if ($host) { proxy_ssl on; }\n   proxy_pass https://a.example.com;\n  }\n }\n}\n";
    let f = one(&model(c), "ssl-in-if", &at(c, "proxy_ssl on"));
    assert!(
        f.message
            .ends_with("'\"proxy_ssl\" directive is not allowed here'"),
        "{}",
        f.message
    );
}

// ---------------------------------------------------------------------------
// Registry and cross-rule contracts
// ---------------------------------------------------------------------------

const IDS: &[&str] = &[
    "sni-off",
    "sni-name-ignored",
    "sni-upstream-name",
    "sni-ip-literal",
    "sni-dynamic",
    "sni-other-host",
    "verify-off",
    "verify-no-ca",
    "verify-name-mismatch",
    "verify-depth",
    "cert-no-key",
    "cert-file-missing",
    "weak-protocols",
    "weak-ciphers",
    "host-sni-mismatch",
    "pool-name-mismatch",
    "ssl-on-plain-hop",
    "ssl-in-if",
];

#[test]
fn the_registry_holds_every_rule_with_its_documentation() {
    let ids: Vec<&str> = rules::registry().iter().map(|r| r.id).collect();
    assert_eq!(ids, IDS);
    for r in rules::registry() {
        for (section, text) in [
            ("what", r.doc.what),
            ("why", r.doc.why),
            ("example", r.doc.example),
            ("use_instead", r.doc.use_instead),
            ("fix_safety", r.doc.fix_safety),
            ("severity_text", r.doc.severity_text),
        ] {
            assert!(text.trim().len() > 20, "{}: {section} is too short", r.id);
        }
        let e = r.explain();
        for h in [
            "## What it does",
            "## Why is this bad",
            "## Example",
            "## Use instead",
            "## Fix safety",
            "## Severity",
        ] {
            assert!(e.contains(h), "{}: {h}", r.id);
        }
        // every rule states the common policy
        assert!(e.contains(&rules::policy_text()), "{}", r.id);
        assert!(!r.summary.contains('\n'));
        assert_eq!(r.id, r.id.to_ascii_lowercase());
    }
    let sev = |id: &str| rules::find(id).map(|r| r.severity);
    assert_eq!(sev("verify-no-ca"), Some(Severity::Error));
    assert_eq!(sev("cert-no-key"), Some(Severity::Error));
    assert_eq!(sev("ssl-in-if"), Some(Severity::Error));
    assert_eq!(sev("cert-file-missing"), Some(Severity::Error));
    assert_eq!(sev("sni-off"), Some(Severity::High));
    assert_eq!(sev("ssl-on-plain-hop"), Some(Severity::Info));
}

/// A config that triggers every rule that works in memory.
fn kitchen_sink() -> String {
    http(&format!(
        "{POOL}
proxy_set_header Host $host;
server {{
 location /1/ {{ proxy_pass https://backend_pool; }}
 location /2/ {{ proxy_pass https://backend_pool; proxy_ssl_name api.example.com; proxy_ssl_verify on; }}
 location /3/ {{ proxy_pass https://10.0.0.1; proxy_ssl_server_name on; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }}
 location /4/ {{ proxy_pass https://backend_pool; proxy_ssl_server_name on; proxy_ssl_name $host; proxy_ssl_protocols TLSv1; proxy_ssl_ciphers RC4; }}
 location /5/ {{ proxy_pass https://backend_pool; proxy_ssl_server_name on; proxy_ssl_name backend-1.internal.example.com; proxy_ssl_certificate /c.crt; }}
 location /6/ {{ proxy_pass http://plain.example.com; proxy_ssl_verify on; if ($host) {{ proxy_ssl_name x; }} }}
 location /7/ {{ proxy_pass https://backend_pool; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }}
 location /8/ {{ proxy_pass https://10.0.0.8; proxy_ssl_server_name on; proxy_ssl_name api.internal.example.com; if ($request_method = POST) {{ proxy_pass https://writer.internal.example.com; }} }}
}}"
    ))
}

#[test]
fn rule_contracts_on_a_config_that_triggers_them_all() {
    let m = model(&kitchen_sink());
    let fs = all(&m);
    let fired: BTreeSet<&str> = fs.iter().map(|f| f.rule).collect();
    for id in IDS {
        if *id != "cert-file-missing" {
            assert!(fired.contains(id), "{id} did not fire on the kitchen sink");
        }
    }
    for f in &fs {
        let r = rules::find(f.rule).expect("registered");
        assert!(
            f.severity <= r.severity,
            "{}: {} above {}",
            f.rule,
            f.severity,
            r.severity
        );
        assert!(
            !f.message.is_empty() && !f.message.contains('\n'),
            "{}: {}",
            f.rule,
            f.message
        );
        let no_fix = r.doc.fix_safety.starts_with("No automatic fix");
        if no_fix {
            assert!(
                f.fix.is_none(),
                "{} documents no fix but proposes one",
                f.rule
            );
        }
        if let Some(fx) = &f.fix {
            assert!(!fx.changes.is_empty(), "{}: empty fix", f.rule);
            assert!(f.hop.is_some(), "{}: a fix needs a hop to place it", f.rule);
            assert!(!fx.summary.contains('\n'));
        }
    }
    // deterministic
    let again: Vec<(String, &str, String)> = all(&m)
        .iter()
        .map(|f| (place(&m, f), f.rule, f.message.clone()))
        .collect();
    let first: Vec<(String, &str, String)> = fs
        .iter()
        .map(|f| (place(&m, f), f.rule, f.message.clone()))
        .collect();
    assert_eq!(first, again);
}

#[test]
fn a_clean_hop_has_no_findings() {
    let c = http("upstream pay { server pay-1.example.com:443; server pay-2.example.com:443; }\nserver {\n location / {\n  proxy_pass https://pay;\n  proxy_ssl_server_name on;\n  proxy_ssl_name pay.example.com;\n  proxy_ssl_verify on;\n  proxy_ssl_verify_depth 2;\n  proxy_ssl_trusted_certificate /etc/nginx/ca.pem;\n  proxy_set_header Host pay.example.com;\n }\n}");
    let m = model(&c);
    let fs = all(&m);
    assert!(
        fs.is_empty(),
        "{:#?}",
        fs.iter().map(|f| &f.message).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------
// Severity calibration: where a hop goes decides how much SNI off and
// verification off matter.
// ---------------------------------------------------------------------------

fn sev_of(conf: &str, rule: &str) -> Severity {
    one(&model(conf), rule, &at(conf, "proxy_pass")).severity
}

#[test]
fn sni_off_is_high_only_for_a_public_name() {
    let hop = |target: &str| {
        http(&format!(
            "server {{\n location / {{ proxy_pass https://{target}; }}\n}}"
        ))
    };
    // Public names: shared hosts on the internet need SNI.
    assert_eq!(sev_of(&hop("api.github.com"), "sni-off"), Severity::High);
    assert_eq!(
        sev_of(&hop("my-bucket.s3.amazonaws.com"), "sni-off"),
        Severity::High
    );
    // An internal zone: internal balancers and ingresses pick the site by
    // name, and whether this one does is not in the configuration.
    for internal in ["api.internal.example.com", "erp.corp.example.com"] {
        assert_eq!(
            sev_of(&hop(internal), "sni-off"),
            Severity::Medium,
            "{internal}"
        );
    }
    // One private endpoint (a container, a service, a home device): it
    // serves one site and answers without SNI.
    for endpoint in [
        "keycloak:8443",
        "app.svc.cluster.local",
        "nas.lan",
        "ha.local:8123",
    ] {
        assert_eq!(
            sev_of(&hop(endpoint), "sni-off"),
            Severity::Info,
            "{endpoint}"
        );
    }
    // This machine: the server is yours.
    assert_eq!(sev_of(&hop("localhost:8443"), "sni-off"), Severity::Info);
    // A pool of servers on this machine.
    let c = http("upstream local_app { server 127.0.0.1:8443; server unix:/run/app.sock; }\nserver {\n location / { proxy_pass https://local_app; proxy_ssl_name app.example.com; }\n}");
    assert_eq!(sev_of(&c, "sni-off"), Severity::Info);
}

#[test]
fn sni_name_ignored_is_silent_for_the_default_written_out() {
    // Hosting panels write `proxy_ssl_name $proxy_host;` next to
    // `proxy_ssl_server_name off;`: one problem, reported by sni-off.
    let c = http("server {\n location / { proxy_pass https://origin.example.net; proxy_ssl_server_name off; proxy_ssl_name $proxy_host; }\n}");
    let m = model(&c);
    none(&m, "sni-name-ignored");
    one(&m, "sni-off", &at(&c, "proxy_pass"));
}

#[test]
fn sni_off_reports_an_empty_ssl_name() {
    // proxy_ssl_name "" with SNI on: nginx sends none (see
    // tests/nginx_empty_name.rs for real nginx).
    let c = http("server {\n proxy_ssl_server_name on;\n proxy_ssl_name \"\";\n location /a/ { proxy_pass https://api.example.com; }\n location /b/ { proxy_pass https://b.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }\n}");
    let m = model(&c);
    let fs = of(&m, "sni-off");
    let got: Vec<(String, Severity)> = fs.iter().map(|f| (place(&m, f), f.severity)).collect();
    assert_eq!(
        got,
        vec![
            (at(&c, "/a/"), Severity::High),
            (at(&c, "/b/"), Severity::High)
        ]
    );
    assert!(
        fs[0].message.starts_with("proxy_ssl_name is empty"),
        "{}",
        fs[0].message
    );
    assert!(
        fs[1].message.contains("against the empty name"),
        "{}",
        fs[1].message
    );
    assert_eq!(
        fix(&fs[0]).changes,
        vec![set("proxy_ssl_name", "$proxy_host")]
    );
}

#[test]
fn verify_off_on_this_machine_is_info_and_keeps_the_contract_elsewhere() {
    let hop = |target: &str, v: &str| {
        http(&format!(
            "server {{\n location / {{ proxy_pass https://{target}; {v} }}\n}}"
        ))
    };
    for local in [
        "127.0.0.1:8443",
        "localhost:8443",
        "[::1]:8443",
        "unix:/run/app.sock",
    ] {
        assert_eq!(
            sev_of(&hop(local, ""), "verify-off"),
            Severity::Info,
            "{local}"
        );
        assert_eq!(
            sev_of(&hop(local, "proxy_ssl_verify off;"), "verify-off"),
            Severity::Info,
            "{local}"
        );
    }
    let m = model(&hop("127.0.0.1:8443", ""));
    assert!(of(&m, "verify-off")[0]
        .message
        .contains("stays on this machine"));
    // One private endpoint (an address, a container): its certificate is
    // made for it alone, and only a host on that network could answer.
    for endpoint in ["10.0.0.5", "nextcloud:443", "app.ns.svc.cluster.local"] {
        assert_eq!(sev_of(&hop(endpoint, ""), "verify-off"), Severity::Info);
        assert_eq!(
            sev_of(&hop(endpoint, "proxy_ssl_verify off;"), "verify-off"),
            Severity::Info
        );
    }
    let m = model(&hop("10.0.0.5", ""));
    assert!(of(&m, "verify-off")[0]
        .message
        .contains("stays on a private network"));
    // ...unless a CA is written for the hop: someone believes it is checked.
    assert_eq!(
        sev_of(
            &hop(
                "10.0.0.5",
                "proxy_ssl_trusted_certificate /etc/nginx/ca.pem;"
            ),
            "verify-off"
        ),
        Severity::Medium
    );
    // An internal zone and the internet: the contract's severities.
    assert_eq!(
        sev_of(&hop("api.internal.example.com", ""), "verify-off"),
        Severity::Medium
    );
    assert_eq!(
        sev_of(
            &hop("api.internal.example.com", "proxy_ssl_verify off;"),
            "verify-off"
        ),
        Severity::High
    );
    assert_eq!(
        sev_of(
            &hop("api.example.com", "proxy_ssl_verify off;"),
            "verify-off"
        ),
        Severity::High
    );
}

// ---------------------------------------------------------------------------
// sni-other-host
// ---------------------------------------------------------------------------

#[test]
fn sni_other_host_a_name_written_for_another_hop() {
    let c = http("server {\n proxy_ssl_server_name on;\n proxy_ssl_name api.internal.example.com;\n location /api/ { proxy_pass https://10.0.8.10; }\n location /reports/ { proxy_pass https://reports.internal.example.com; }\n location /verified/ { proxy_pass https://billing.internal.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }\n}");
    let m = model(&c);
    let fs = of(&m, "sni-other-host");
    let got: Vec<(String, Severity)> = fs.iter().map(|f| (place(&m, f), f.severity)).collect();
    assert_eq!(
        got,
        vec![
            (at(&c, "/reports/"), Severity::Medium),
            (at(&c, "/verified/"), Severity::High)
        ]
    );
    assert_eq!(
        fs[0].message,
        format!(
            "proxy_ssl_name api.internal.example.com ({}) was written for 10.0.8.10 ({}) but reaches this hop to reports.internal.example.com: nginx sends it as SNI, so the upstream may answer from another site or refuse",
            at(&c, "proxy_ssl_name"),
            at(&c, "/api/")
        )
    );
    let fx = fix(&fs[0]);
    assert_eq!(fx.applicability, Applicability::NeedsReview);
    assert_eq!(
        fx.changes,
        vec![set("proxy_ssl_name", "reports.internal.example.com")]
    );
}

#[test]
fn sni_other_host_in_if_has_no_automatic_fix() {
    // The demo's case: a hop inside `if` reads its location's name.
    let c = http("server {\n proxy_ssl_server_name on;\n location /api/ {\n  proxy_pass https://10.0.8.10;\n  proxy_ssl_name api.internal.example.com;\n  if ($request_method = POST) {\n   proxy_pass https://writer.internal.example.com;\n  }\n }\n}");
    let m = model(&c);
    let f = one(&m, "sni-other-host", &at(&c, "writer"));
    assert!(f.fix.is_none());
}

#[test]
fn sni_other_host_through_a_snippet_included_twice() {
    let m = model_files(
        &[
            (
                "nginx.conf",
                "events {}\nhttp {\n server {\n  proxy_ssl_server_name on;\n  location /a/ { proxy_pass https://a.example.com; include tls.conf; }\n  location /b/ { proxy_pass https://b.example.com; include tls.conf; }\n }\n}\n",
            ),
            ("tls.conf", "proxy_ssl_name a.example.com;\n"),
        ],
        NEWEST,
    );
    let fs = of(&m, "sni-other-host");
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(place(&m, &fs[0]), "nginx.conf:6");
}

#[test]
fn sni_other_host_silent_cases() {
    let silent = |body: &str| none(&model(&http(body)), "sni-other-host");
    // the hop the name was written for; a name in the hop's own block
    silent("server {\n proxy_ssl_server_name on;\n location / { proxy_pass https://cdn-origin.example.net; proxy_ssl_name www.example.com; }\n}");
    // an IP target with a literal name is the recommended fix of sni-ip-literal
    silent("server {\n proxy_ssl_server_name on;\n proxy_ssl_name api.example.com;\n location /a/ { proxy_pass https://api.example.com; }\n location /b/ { proxy_pass https://10.0.0.5; }\n}");
    // a group (its servers include the name, or share a certificate name)
    silent(&format!("{POOL}\nserver {{\n proxy_ssl_server_name on;\n proxy_ssl_name backend-1.internal.example.com;\n location /a/ {{ proxy_pass https://backend-1.internal.example.com; }}\n location /b/ {{ proxy_pass https://backend_pool; }}\n}}"));
    // a variable name, $proxy_host included
    silent("server {\n proxy_ssl_server_name on;\n proxy_ssl_name $proxy_host;\n location /a/ { proxy_pass https://a.example.com; }\n location /b/ { proxy_pass https://b.example.com; }\n}");
    // the target is under the name's domain (S3 buckets)
    silent("server {\n proxy_ssl_server_name on;\n proxy_ssl_name s3.amazonaws.com;\n location /a/ { proxy_pass https://s3.amazonaws.com; }\n location /b/ { proxy_pass https://bucket.s3.amazonaws.com; }\n}");
    // a name nobody's hop matches: a shared certificate name, not another host's
    silent("server {\n proxy_ssl_server_name on;\n proxy_ssl_name gateway.internal;\n location /a/ { proxy_pass https://a.internal; }\n location /b/ { proxy_pass https://b.internal; }\n}");
    // a snippet included in the hop's own block only is the hop's
    let m = model_files(
        &[
            (
                "nginx.conf",
                "events {}\nhttp {\n server {\n  proxy_ssl_server_name on;\n  location /a/ {\n   include tls.conf;\n   proxy_pass https://b.internal;\n   location /a/x/ { proxy_pass https://10.0.0.7:8443; }\n  }\n }\n}\n",
            ),
            ("tls.conf", "proxy_ssl_name api.example.com;\n"),
        ],
        NEWEST,
    );
    none(&m, "sni-other-host");
}

#[test]
fn sni_other_host_before_sni_is_on_is_low_and_makes_turning_sni_on_need_review() {
    // Neither sent nor checked yet: the wrong name waits, and the fixes
    // that would send it are no longer safe.
    let c = http("server {\n proxy_ssl_name api.example.com;\n location /a/ { proxy_pass https://api.example.com; }\n location /b/ { proxy_pass https://b.example.com; }\n}");
    let m = model(&c);
    let f = one(&m, "sni-other-host", &at(&c, "/b/"));
    assert_eq!(f.severity, Severity::Low);
    for rule in ["sni-off", "sni-name-ignored"] {
        let fs = of(&m, rule);
        let at_b: Vec<&Finding> = fs
            .iter()
            .filter(|f| place(&m, f) == at(&c, "/b/"))
            .collect();
        assert_eq!(at_b.len(), 1, "{rule}");
        assert_eq!(
            fix(at_b[0]).applicability,
            Applicability::NeedsReview,
            "{rule}"
        );
        let at_a: Vec<&Finding> = fs
            .iter()
            .filter(|f| place(&m, f) == at(&c, "/a/"))
            .collect();
        assert_eq!(fix(at_a[0]).applicability, Applicability::Safe, "{rule}");
    }
}

// ---------------------------------------------------------------------------
// ssl-on-plain-hop with variables
// ---------------------------------------------------------------------------

#[test]
fn ssl_on_plain_hop_for_variable_uris_after_a_plain_scheme() {
    let c = http("server {\n set $backend app.internal:8080;\n location / { proxy_pass http://$backend; proxy_ssl_verify on; proxy_ssl_trusted_certificate /ca.pem; }\n location ~ ^/x/(.*)$ { proxy_pass http://app/$1; proxy_ssl_server_name on; }\n location /s/ { proxy_pass $scheme://app; proxy_ssl_name app.example.com; }\n location /u/ { proxy_pass $upstream_url; proxy_ssl_server_name on; }\n}");
    let m = model(&c);
    let places: Vec<String> = of(&m, "ssl-on-plain-hop")
        .iter()
        .map(|f| place(&m, f))
        .collect();
    assert_eq!(
        places,
        vec![
            at(&c, "proxy_ssl_verify on"),
            at(&c, "proxy_ssl_verify on"),
            at(&c, "http://app/$1"),
        ]
    );
}

// ---------------------------------------------------------------------------
// The demo
// ---------------------------------------------------------------------------

#[test]
fn the_demo_yields_exactly_the_expected_findings() {
    let cfg = hopscope::jobs::Source::Demo.config().expect("demo loads");
    let m = Model::build(cfg, NEWEST);
    let got: BTreeSet<(String, String, String)> = all(&m)
        .iter()
        .map(|f| (place(&m, f), f.rule.to_string(), f.severity.to_string()))
        .collect();
    let e = |p: &str, r: &str, s: &str| (p.to_string(), r.to_string(), s.to_string());
    let expected: BTreeSet<(String, String, String)> = [
        // the incident: a pool, no SNI, the group name, nothing verified
        // (an internal pool: whether it has several sites is not said)
        e("conf.d/api-gateway.conf:18", "sni-off", "medium"),
        e("conf.d/api-gateway.conf:18", "sni-upstream-name", "info"),
        e("conf.d/api-gateway.conf:18", "verify-off", "medium"),
        // half a fix: proxy_ssl_name without proxy_ssl_server_name; the
        // public name it means to send is not sent
        e("conf.d/api-gateway.conf:26", "sni-off", "high"),
        e("conf.d/api-gateway.conf:26", "sni-name-ignored", "medium"),
        e("conf.d/api-gateway.conf:26", "verify-off", "medium"),
        // IP target (sni-off is left to sni-ip-literal); a private address
        // with verification off
        e("conf.d/ingest.conf:24", "sni-ip-literal", "info"),
        e("conf.d/ingest.conf:24", "verify-off", "medium"),
        // Host $host next to a literal SNI: chosen, so information
        e("conf.d/ingest.conf:32", "host-sni-mismatch", "info"),
        e("conf.d/ingest.conf:32", "verify-off", "medium"),
        // default Host = group name, SNI = real name
        e("conf.d/ingest.conf:40", "host-sni-mismatch", "medium"),
        e("conf.d/ingest.conf:40", "verify-off", "medium"),
        // nested location, settings from the snippet: clean
        // suwsgi: none of the proxy_ssl_* settings reach it
        e("conf.d/intranet.conf:29", "sni-off", "medium"),
        e("conf.d/intranet.conf:29", "verify-off", "medium"),
        // IP target with a real name; and the hop inside if, which gets
        // that name for another host
        e("conf.d/intranet.conf:35", "verify-off", "medium"),
        e("conf.d/intranet.conf:43", "verify-off", "medium"),
        e("conf.d/intranet.conf:43", "sni-other-host", "medium"),
        // SNI from $host; Host stays the group name
        e("conf.d/intranet.conf:51", "sni-dynamic", "low"),
        e("conf.d/intranet.conf:51", "host-sni-mismatch", "medium"),
        e("conf.d/intranet.conf:51", "verify-off", "medium"),
        // TLSv1 re-enabled next to TLSv1.2
        e("conf.d/intranet.conf:58", "weak-protocols", "low"),
        e("conf.d/intranet.conf:58", "verify-off", "medium"),
        // grpcs: verified, but no grpc_ssl_server_name; depth left at 1
        e("conf.d/intranet.conf:67", "sni-off", "medium"),
        e("conf.d/intranet.conf:67", "verify-depth", "low"),
        // the wrong fix: verify off, no SNI, group name
        e("conf.d/payments.conf:30", "sni-off", "medium"),
        e("conf.d/payments.conf:30", "sni-upstream-name", "info"),
        e("conf.d/payments.conf:30", "verify-off", "high"),
        // payments.conf:16 and :39 are the good examples: clean
        // LDAPS: verified with the default depth
        e("stream.d/tls-backends.conf:16", "verify-depth", "low"),
        // Redis: SNI is the group name, verification off
        e(
            "stream.d/tls-backends.conf:26",
            "sni-upstream-name",
            "medium",
        ),
        e("stream.d/tls-backends.conf:26", "verify-off", "medium"),
    ]
    .into_iter()
    .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "demo findings drifted\nmissing: {missing:#?}\nextra: {extra:#?}"
    );
    // the clean hops really are clean
    for id in [
        "conf.d/payments.conf:16",
        "conf.d/payments.conf:39",
        "conf.d/intranet.conf:23",
    ] {
        assert!(got.iter().all(|(p, _, _)| p != id), "{id} should be clean");
    }
}

/// Where a hop goes, read from the configuration: an address this
/// configuration listens on is this machine (a hosting panel's nginx in
/// front of its own Apache), and an ingress controller's Lua balancer
/// reaches its cluster's pods unless a literal Host names an outside site.
#[test]
fn reach_counts_own_listen_addresses_and_lua_balancers() {
    let own = http(
        "server {\n listen 203.0.113.10:443 ssl;\n location / { proxy_ssl_server_name on; proxy_ssl_name $host; proxy_pass https://203.0.113.10:8443; }\n}",
    );
    assert_eq!(sev_of(&own, "verify-off"), Severity::Info);
    assert_eq!(sev_of(&own, "sni-dynamic"), Severity::Info);
    // The same address not listened on: a public address, the contract.
    let other = own.replace("listen 203.0.113.10:443", "listen 203.0.113.11:443");
    assert_eq!(sev_of(&other, "verify-off"), Severity::Medium);
    assert_eq!(sev_of(&other, "sni-dynamic"), Severity::Low);

    let lua = |host: &str| {
        http(&format!(
            "upstream upstream_balancer {{\n server 0.0.0.1;\n balancer_by_lua_block {{ balancer.balance() }}\n}}\nserver {{\n location / {{ {host} proxy_pass https://upstream_balancer; }}\n}}"
        ))
    };
    assert_eq!(sev_of(&lua(""), "verify-off"), Severity::Info);
    assert_eq!(sev_of(&lua(""), "sni-off"), Severity::Info);
    let external = lua("proxy_set_header Host status.example.org;");
    assert_eq!(sev_of(&external, "verify-off"), Severity::Medium);
    assert_eq!(sev_of(&external, "sni-off"), Severity::Medium);
}
