//! The fix engine on small in-memory configurations: where lines go, how
//! they are written, what they affect, and that nothing else changes.

use std::path::{Path, PathBuf};

use hopscope::conf::loader::{load_tree, MemFiles};
use hopscope::conf::LoadedFrom;
use hopscope::diagnostic::{set, Applicability, Change, Fix, FixValue};
use hopscope::fix::engine::{apply_edits, impact};
use hopscope::fix::plan::{edits, Placement, Values};
use hopscope::model::{Model, Module, SslDirective, Version};

fn model(files: &[(&str, &str)]) -> Model {
    let fs = MemFiles::new(
        files
            .iter()
            .map(|(n, t)| {
                (
                    PathBuf::from(format!("/etc/nginx/{n}")),
                    t.as_bytes().to_vec(),
                )
            })
            .collect(),
    );
    let cfg = load_tree(&fs, Path::new("/etc/nginx/nginx.conf"), LoadedFrom::Demo);
    assert!(cfg.errors.is_empty(), "{:?}", cfg.errors);
    Model::build(cfg, Version::NEWEST_STABLE)
}

fn fix(changes: Vec<Change>) -> Fix {
    Fix::new("test", Applicability::Safe, changes)
}

/// Applies a fix to hop `hop_index` and returns the new text of each file.
fn apply(m: &Model, hop_index: usize, f: &Fix, placement: Placement) -> Vec<String> {
    let e = edits(m, &m.hops[hop_index], f, placement, &Values::default()).unwrap();
    apply_edits(m, &e)
        .into_iter()
        .map(|t| String::from_utf8(t).unwrap())
        .collect()
}

const POOL: &str = "\
http {
    upstream backend { server api.example.com:443; }
    server {
        listen 443 ssl;
        location /api/ {
            proxy_pass https://backend;   # the pool
            proxy_set_header X-Id 1;
        }
        location /b/ {
            proxy_pass https://backend;
        }
    }
}
";

#[test]
fn inserts_with_the_indentation_of_its_neighbours_and_nothing_else_changes() {
    let m = model(&[("nginx.conf", POOL)]);
    let f = fix(vec![
        set(
            Module::Proxy,
            SslDirective::ServerName,
            FixValue::literal("on"),
        ),
        set(
            Module::Proxy,
            SslDirective::Name,
            FixValue::literal("api.example.com"),
        ),
    ]);
    let out = apply(&m, 0, &f, Placement::Hop);
    let expected = POOL.replace(
        "            proxy_set_header X-Id 1;\n",
        "            proxy_set_header X-Id 1;\n            proxy_ssl_server_name on;\n            proxy_ssl_name api.example.com;\n",
    );
    assert_eq!(out[0], expected);
    let after = hopscope::fix::engine::reanalyze(&m, &[out[0].clone().into_bytes()]);
    assert_eq!(after.hops[0].sni.name.as_deref(), Some("api.example.com"));
    assert!(!after.hops[1].sni.sent, "the other location is untouched");
}

#[test]
fn replaces_in_place_at_the_defining_block_and_reports_the_impact() {
    let src = "http {\n  proxy_ssl_verify off; # copied from a blog\n  server {\n    location / { proxy_pass https://a.example; }\n    location /x { proxy_pass https://b.example; }\n  }\n}\n";
    let m = model(&[("nginx.conf", src)]);
    let f = fix(vec![set(
        Module::Proxy,
        SslDirective::Verify,
        FixValue::literal("on"),
    )]);
    let e = edits(&m, &m.hops[0], &f, Placement::Defining, &Values::default()).unwrap();
    let out = String::from_utf8(apply_edits(&m, &e).remove(0)).unwrap();
    assert_eq!(
        out,
        src.replace("proxy_ssl_verify off;", "proxy_ssl_verify on;")
    );
    assert_eq!(impact(&m, &e), ["nginx.conf:4", "nginx.conf:5"]);

    // At the hop's own block: a one-line block stays on one line, and only
    // that hop is affected.
    let e = edits(&m, &m.hops[0], &f, Placement::Hop, &Values::default()).unwrap();
    let out = String::from_utf8(apply_edits(&m, &e).remove(0)).unwrap();
    assert!(
        out.contains("location / { proxy_pass https://a.example; proxy_ssl_verify on; }"),
        "{out}"
    );
    assert_eq!(impact(&m, &e), ["nginx.conf:4"]);
}

#[test]
fn edits_go_into_the_included_file_that_defines_the_value() {
    let m = model(&[
        ("nginx.conf", "http {\n  server {\n    location / {\n      include tls.conf;\n      proxy_pass https://a.example;\n    }\n  }\n}\n"),
        ("tls.conf", "proxy_ssl_server_name off;\n"),
    ]);
    let f = fix(vec![set(
        Module::Proxy,
        SslDirective::ServerName,
        FixValue::literal("on"),
    )]);
    let out = apply(&m, 0, &f, Placement::Defining);
    assert_eq!(out[1], "proxy_ssl_server_name on;\n");
    assert_eq!(
        out[0],
        m.config.files[0].str(hopscope::conf::Range::new(0, m.config.files[0].text.len()))
    );
}

#[test]
fn a_host_header_carries_the_inherited_headers_along() {
    let src = "http {\n\tproxy_set_header X-Real-IP $remote_addr;\n\tproxy_set_header X-Forwarded-For \"$proxy_add_x_forwarded_for\";\n\tserver {\n\t\tlocation / {\n\t\t\tproxy_pass https://backend;\n\t\t}\n\t}\n\tupstream backend { server a.example:443; }\n}\n";
    let m = model(&[("nginx.conf", src)]);
    let f = fix(vec![Change::SetHeader {
        directive: "proxy_set_header".into(),
        header: "Host".into(),
        value: FixValue::literal("a.example"),
    }]);
    let out = apply(&m, 0, &f, Placement::Hop);
    assert!(out[0].contains(
        "\t\t\tproxy_pass https://backend;\n\t\t\tproxy_set_header X-Real-IP $remote_addr;\n\t\t\tproxy_set_header X-Forwarded-For \"$proxy_add_x_forwarded_for\";\n\t\t\tproxy_set_header Host a.example;\n"
    ), "{}", out[0]);
    let after = hopscope::fix::engine::reanalyze(&m, &[out[0].clone().into_bytes()]);
    let ctx = after.hops[0].ctx;
    let (_, lines) = after.effective(ctx, "proxy_set_header").unwrap();
    assert_eq!(lines.len(), 3, "the inherited headers are still sent");
    assert_eq!(
        after.hops[0].host_header.as_ref().unwrap().value,
        "a.example"
    );
}

#[test]
fn crlf_files_get_crlf_lines() {
    let src = "http {\r\n  server {\r\n    location / {\r\n      proxy_pass https://a.example;\r\n    }\r\n  }\r\n}\r\n";
    let m = model(&[("nginx.conf", src)]);
    let f = fix(vec![set(
        Module::Proxy,
        SslDirective::ServerName,
        FixValue::literal("on"),
    )]);
    let out = apply(&m, 0, &f, Placement::Hop);
    assert_eq!(
        out[0],
        src.replace(
            "https://a.example;\r\n",
            "https://a.example;\r\n      proxy_ssl_server_name on;\r\n"
        )
    );
}

#[test]
fn values_a_person_must_give_are_reported_not_invented() {
    let m = model(&[("nginx.conf", POOL)]);
    let f = fix(vec![set(
        Module::Proxy,
        SslDirective::Name,
        FixValue::Input {
            key: "sni-name",
            prompt: "the upstream's host name".into(),
            proposal: None,
        },
    )]);
    let err = edits(&m, &m.hops[0], &f, Placement::Hop, &Values::default()).unwrap_err();
    assert_eq!(err.key, "sni-name");
    let mut v = Values::default();
    v.set("nginx.conf:6:sni-name=api.example.com").unwrap();
    let e = edits(&m, &m.hops[0], &f, Placement::Hop, &v).unwrap();
    assert!(e[0].text.contains("proxy_ssl_name api.example.com;"));
    assert!(
        edits(&m, &m.hops[1], &f, Placement::Hop, &v).is_err(),
        "scoped to one hop"
    );
}

#[test]
fn stream_hops_get_fixed_in_their_server() {
    let src = "stream {\n    proxy_ssl on;\n    server {\n        listen 127.0.0.1:9000;\n        proxy_pass db.example.com:5432;\n    }\n}\n";
    let m = model(&[("nginx.conf", src)]);
    let f = fix(vec![set(
        Module::Stream,
        SslDirective::ServerName,
        FixValue::literal("on"),
    )]);
    let out = apply(&m, 0, &f, Placement::Hop);
    assert!(
        out[0].contains(
            "        proxy_pass db.example.com:5432;\n        proxy_ssl_server_name on;\n"
        ),
        "{}",
        out[0]
    );
}

#[test]
fn a_rule_literal_is_a_parameter_list_and_a_typed_value_one_parameter() {
    let src = "http {\n    server {\n        location / {\n            proxy_pass https://a.example;\n            proxy_ssl_protocols TLSv1 TLSv1.2;\n        }\n    }\n}\n";
    let m = model(&[("nginx.conf", src)]);
    let f = fix(vec![set(
        Module::Proxy,
        SslDirective::Protocols,
        FixValue::literal("TLSv1.2 TLSv1.3"),
    )]);
    let out = apply(&m, 0, &f, Placement::Hop);
    assert!(
        out[0].contains("proxy_ssl_protocols TLSv1.2 TLSv1.3;"),
        "{}",
        out[0]
    );
    let after = hopscope::fix::engine::reanalyze(&m, &[out[0].clone().into_bytes()]);
    let d = after.dir(
        after.hops[0]
            .setting(SslDirective::Protocols)
            .unwrap()
            .lines[0],
    );
    assert_eq!(d.args.len(), 2, "two parameters, as nginx expects");

    let f = fix(vec![set(
        Module::Proxy,
        SslDirective::TrustedCertificate,
        FixValue::Input {
            key: "ca-file",
            prompt: "CA".into(),
            proposal: Some("/etc/my certs/ca.pem".into()),
        },
    )]);
    let out = apply(&m, 0, &f, Placement::Hop);
    assert!(
        out[0].contains("proxy_ssl_trusted_certificate \"/etc/my certs/ca.pem\";"),
        "{}",
        out[0]
    );
}

/// Fixing everything never rewrites a `proxy_set_header Host` someone
/// wrote: turning SNI on (sni-off) or naming the host (sni-ip-literal)
/// makes the Host differ from the SNI, and host-sni-mismatch then only
/// advises.
#[test]
fn fixing_everything_leaves_a_chosen_host_header_alone() {
    let conf = "\
http {
    server {
        listen 80;
        server_name app.example.com;
        location / {
            proxy_pass https://api.example.com;
            proxy_set_header Host $host;
        }
        location /b/ {
            proxy_pass https://10.0.0.5;
            proxy_set_header Host app.example.com;
        }
        location /c/ {
            proxy_pass https://api.example.com;
            proxy_set_header Host $http_host;
        }
    }
}
";
    let m = model(&[("nginx.conf", conf)]);
    // Values for every hop (a library caller's choice; `--set KEY=VALUE`
    // binds to one hop).
    let mut values = Values::default();
    values.insert("sni-name", "api.example.com");
    values.insert("ca-file", "/etc/ssl/certs/ca-certificates.crt");
    let out =
        hopscope::fix::engine::fix_all(&m, &hopscope::fix::engine::Selection::default(), &values)
            .expect("fixes apply");
    let text = String::from_utf8(out.changed[0].1.clone()).unwrap();
    assert!(text.contains("proxy_ssl_server_name on;"), "{text}");
    for host in [
        "proxy_set_header Host $host;",
        "proxy_set_header Host app.example.com;",
        "proxy_set_header Host $http_host;",
    ] {
        assert!(text.contains(host), "{host} was rewritten:\n{text}");
    }
    assert_eq!(text.matches("proxy_set_header Host").count(), 3, "{text}");
    assert!(out.applied.iter().all(|a| a.rule != "host-sni-mismatch"));
}
