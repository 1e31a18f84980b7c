//! One identity per hop, through the real binary: a file with a pass
//! directive included from two places is two hops, each with its own id
//! (`file:line@INCLUDE`), its include chain (`via`), its own settings and
//! findings, and every consumer (`hops` text and JSON, `check` JSON and
//! SARIF, `fix --hop`/`--set HOP:KEY=VALUE`, `probe --hop`) names the hop
//! it is about. The same tree as an `nginx -T` dump gives the same hops.

mod common;

use common::hopscope_run;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(30);

/// `location /a` turns SNI on and names the upstream; `location /b` sets
/// nothing: the same `proxy_pass` line sends SNI on one path only. The
/// common file is also reached through a second-level include
/// (`site.conf`, itself included by two servers).
const NGINX_CONF: &str = "\
events {}
http {
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
    upstream backend {
        server 203.0.113.9:443;
    }
    server {
        listen 8080;
        server_name app.example.com;
        location /a {
            proxy_ssl_server_name on;
            include common.conf;
        }
        location /b {
            include common.conf;
        }
        location /c {
            proxy_pass https://main.example.com;
        }
    }
    server {
        listen 8081;
        proxy_ssl_server_name on;
        include site.conf;
    }
    server {
        listen 8082;
        include site.conf;
    }
}
";

const COMMON_CONF: &str = "# shared by /a and /b\nproxy_pass https://backend;\n";
const SITE_CONF: &str = "location /s {\n    include inner.conf;\n}\n";
const INNER_CONF: &str = "proxy_pass https://inner.example.com;\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in [
        ("nginx.conf", NGINX_CONF),
        ("common.conf", COMMON_CONF),
        ("site.conf", SITE_CONF),
        ("inner.conf", INNER_CONF),
    ] {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

const A: &str = "common.conf:2@nginx.conf:13";
const B: &str = "common.conf:2@nginx.conf:16";
const S1: &str = "inner.conf:1@site.conf:2@nginx.conf:25";
const S2: &str = "inner.conf:1@site.conf:2@nginx.conf:29";

fn run(args: &[&str]) -> common::HopscopeRun {
    hopscope_run(args, None, BOUND)
}

fn in_dir(dir: &Path, args: &[&str]) -> common::HopscopeRun {
    let path = dir.to_str().expect("utf-8 temp path");
    let mut all: Vec<&str> = vec![args[0], path];
    all.extend(&args[1..]);
    run(&all)
}

fn hops_json(dir: &Path) -> Value {
    let r = in_dir(dir, &["hops", "--json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.json().expect("hops --json")
}

fn hop<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["hops"]
        .as_array()
        .and_then(|hops| hops.iter().find(|h| h["id"] == id))
        .unwrap_or_else(|| panic!("no hop {id} in {:#}", doc["hops"]))
}

fn rules_of(h: &Value) -> Vec<&str> {
    h["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str())
        .collect()
}

#[test]
fn each_include_path_is_a_hop_with_its_id_via_settings_and_findings() {
    let dir = tree();
    let doc = hops_json(dir.path());
    let ids: Vec<&str> = doc["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["nginx.conf:19", A, B, S1, S2]);
    // Every file once, and no load errors.
    assert_eq!(
        doc["files"],
        json!(["nginx.conf", "common.conf", "site.conf", "inner.conf"])
    );
    assert_eq!(doc["errors"], json!([]));

    // via: the include chain, outermost first; empty in the main tree.
    assert_eq!(hop(&doc, "nginx.conf:19")["via"], json!([]));
    assert_eq!(
        hop(&doc, A)["via"],
        json!([{"file": "nginx.conf", "line": 13}])
    );
    assert_eq!(
        hop(&doc, B)["via"],
        json!([{"file": "nginx.conf", "line": 16}])
    );
    assert_eq!(
        hop(&doc, S2)["via"],
        json!([{"file": "nginx.conf", "line": 29}, {"file": "site.conf", "line": 2}])
    );
    // Same position, own settings.
    for id in [A, B] {
        assert_eq!(hop(&doc, id)["file"], "common.conf");
        assert_eq!(hop(&doc, id)["line"], 2);
    }
    assert_eq!(hop(&doc, A)["sni"]["sent"], true);
    assert_eq!(hop(&doc, A)["sni"]["name"], "backend");
    assert_eq!(hop(&doc, B)["sni"]["sent"], false);
    assert_eq!(
        hop(&doc, A)["settings"]["proxy_ssl_server_name"],
        json!({"file": "nginx.conf", "level": "location", "line": 12, "origin": "explicit", "value": "on"})
    );
    assert_eq!(
        hop(&doc, B)["settings"]["proxy_ssl_server_name"]["origin"],
        "default"
    );
    assert_eq!(hop(&doc, S1)["sni"]["sent"], true);
    assert_eq!(hop(&doc, S2)["sni"]["sent"], false);
    // Findings land on the hop they are about, and name it.
    assert!(rules_of(hop(&doc, B)).contains(&"sni-off"));
    assert!(!rules_of(hop(&doc, A)).contains(&"sni-off"));
    assert!(rules_of(hop(&doc, S2)).contains(&"sni-off"));
    assert!(!rules_of(hop(&doc, S1)).contains(&"sni-off"));
    for id in [A, B, S1, S2] {
        for f in hop(&doc, id)["findings"].as_array().unwrap() {
            assert_eq!(f["hop"], id);
        }
    }

    // The text table shows the chain of hops that have one.
    let r = in_dir(dir.path(), &["hops"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "\n{A}  proxy_pass https://backend  [app.example.com /a]\n  via nginx.conf:13\n"
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("\n{S2}  proxy_pass https://inner.example.com  [listen 8082 /s]\n  via nginx.conf:29 → site.conf:2\n")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "\nnginx.conf:19  proxy_pass https://main.example.com  [app.example.com /c]\n  SNI:"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn check_json_and_sarif_name_each_path() {
    let dir = tree();
    let r = in_dir(dir.path(), &["check", "--format", "json"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let doc = r.json().unwrap();
    let sni_off: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "sni-off")
        .map(|f| f["hop"].as_str().unwrap())
        .collect();
    assert_eq!(sni_off, ["nginx.conf:19", B, S2]);

    // The text report says which path a finding is about.
    let r = in_dir(dir.path(), &["check", "--rule", "sni-off"]);
    assert!(
        r.stdout.contains(&format!(
            "= note: hop {B} (via nginx.conf:16); this line is reached through 2 include paths"
        )),
        "{}",
        r.stdout
    );

    // SARIF: one result per hop, fingerprints of their own, the same in
    // every run; the includes of the path as related locations.
    let sarif = |dir: &Path| {
        let r = in_dir(
            dir,
            &["check", "--format", "sarif", "--rule", "verify-depth"],
        );
        assert_eq!(r.code, Some(1), "{}", r.stderr);
        r.json().unwrap()
    };
    let first = sarif(dir.path());
    let results = first["runs"][0]["results"].as_array().unwrap().clone();
    let by_hop = |id: &str| {
        results
            .iter()
            .find(|r| r["properties"]["hop"] == id)
            .unwrap_or_else(|| panic!("no result for {id}"))
            .clone()
    };
    let (a, b) = (by_hop(A), by_hop(B));
    let key = "hopscopeFindingHash/v1";
    assert_ne!(a["partialFingerprints"][key], b["partialFingerprints"][key]);
    let fps: Vec<&Value> = results
        .iter()
        .map(|r| &r["partialFingerprints"][key])
        .collect();
    let mut unique = fps.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(unique.len(), fps.len(), "fingerprints repeat: {fps:?}");
    let related = |r: &Value| -> Vec<(String, i64)> {
        r["relatedLocations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| {
                l["message"]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("include on the path"))
            })
            .map(|l| {
                let p = &l["physicalLocation"];
                (
                    p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                    p["region"]["startLine"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(related(&a), [("nginx.conf".to_string(), 13)]);
    assert_eq!(related(&b), [("nginx.conf".to_string(), 16)]);
    assert_eq!(
        related(&by_hop(S2)),
        [("nginx.conf".to_string(), 29), ("site.conf".to_string(), 2)]
    );
    // Stable: another run, and another copy of the tree, give the same.
    let again = sarif(dir.path());
    let other = tree();
    let elsewhere = sarif(other.path());
    let fp_list = |doc: &Value| -> Vec<Value> {
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    assert_eq!(fp_list(&first), fp_list(&again));
    assert_eq!(fp_list(&first), fp_list(&elsewhere));
}

#[test]
fn fix_and_set_reach_the_path_they_name() {
    let dir = tree();
    // --hop with a suffixed id: the lines go into that path's location.
    let set_b = format!("--set={B}:sni-name=b.internal.example");
    let r = in_dir(
        dir.path(),
        &["fix", "--rule", "sni-off", "--hop", B, &set_b],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "         location /b {\n+            proxy_ssl_server_name on;\n+            proxy_ssl_name b.internal.example;\n             include common.conf;\n"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("location /a"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("common.conf b/common.conf"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(&format!("fixed: {B} [sni-off]")),
        "{}",
        r.stderr
    );

    // The bare file:line of a directive with several paths names none of
    // them: the message lists the ids to choose from.
    let r = in_dir(dir.path(), &["fix", "--hop", "common.conf:2"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains(&format!(
            "\"common.conf:2\" is reached through 2 include paths, one hop each: name one of {A}, {B}"
        )),
        "{}",
        r.stderr
    );

    let r = in_dir(
        dir.path(),
        &["fix", "--set", "common.conf:2:sni-name=x.example"],
    );
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("\"common.conf:2\" is reached through 2 include paths"),
        "{}",
        r.stderr
    );

    // --set HOP:KEY=VALUE with suffixed ids: each path gets its own name.
    let set_a = format!("--set={A}:sni-name=a.internal.example");
    let r = in_dir(
        dir.path(),
        &["fix", "--rule", "sni-upstream-name", &set_a, &set_b],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    for (location, name) in [("/a", "a.internal.example"), ("/b", "b.internal.example")] {
        let want = format!("location {location} {{\n");
        let at = r
            .stdout
            .find(&want)
            .unwrap_or_else(|| panic!("{}", r.stdout));
        let block = &r.stdout[at..];
        let end = block.find("include common.conf;").unwrap();
        assert!(
            block[..end].contains(&format!("+            proxy_ssl_name {name};")),
            "{location}: {}",
            r.stdout
        );
    }
}

#[test]
fn a_fix_whose_block_is_in_the_shared_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    proxy_ssl_verify on;\n    server {\n        listen 80;\n        proxy_ssl_trusted_certificate /etc/x.pem;\n        include loc.conf;\n    }\n    server {\n        listen 81;\n        include loc.conf;\n    }\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("loc.conf"),
        "location / {\n    proxy_pass https://api.example.com;\n}\n",
    )
    .unwrap();
    let (p80, p81) = ("loc.conf:2@nginx.conf:7", "loc.conf:2@nginx.conf:11");
    // The CA line would go into loc.conf and replace the CA of the other
    // path, which has one: held back, with the way out.
    let r = in_dir(
        dir.path(),
        &[
            "fix",
            "--rule",
            "verify-no-ca",
            "--set",
            "ca-file=/etc/b.pem",
        ],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "not fixed: {p81} [verify-no-ca] would also change proxy_ssl_trusted_certificate of {p80}, the same proxy_pass through another include path: the line would go into loc.conf, which both paths include."
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("write the line by hand in the block around the include at nginx.conf:11"),
        "{}",
        r.stderr
    );
    // A line that changes nothing on the other path is written, and the
    // summary says that it serves both.
    let r = in_dir(dir.path(), &["fix", "--rule", "sni-off"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.contains("+    proxy_ssl_server_name on;"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains(&format!("fixed: {p80} [sni-off]"))
            && r.stderr.contains(&format!("(the same lines serve {p81}")),
        "{}",
        r.stderr
    );
}

#[test]
fn probe_takes_a_suffixed_id() {
    let dir = tree();
    let r = in_dir(
        dir.path(),
        &["probe", "--hop", B, "--format", "json", "--timeout", "2"],
    );
    let doc = r.json().unwrap_or_else(|e| panic!("{e}"));
    let hops: Vec<&str> = doc["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .filter_map(|p| p["hop"].as_str())
        .collect();
    assert!(!hops.is_empty() && hops.iter().all(|h| *h == B), "{doc:#}");
    let r = in_dir(dir.path(), &["probe", "--hop", "common.conf:2"]);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("one hop each: name one of"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_dump_gives_the_same_hops_and_ids_as_the_directory() {
    let dir = tree();
    let mut dump = String::from(
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n",
    );
    // nginx -T dumps each file once, in the order it first reads them.
    for (name, text) in [
        ("nginx.conf", NGINX_CONF),
        ("common.conf", COMMON_CONF),
        ("site.conf", SITE_CONF),
        ("inner.conf", INNER_CONF),
    ] {
        dump.push_str(&format!(
            "# configuration file /etc/nginx/{name}:\n{text}\n"
        ));
    }
    let from_dir = hops_json(dir.path());
    // With the defaults of the same nginx (the directory's may come from
    // `nginx -v` on this machine, a dump without a version line has none).
    let version = from_dir["nginx_version"].as_str().unwrap_or("");
    let r = hopscope_run(
        &["hops", "-", "--json", "--nginx-version", version],
        Some(dump.into_bytes()),
        BOUND,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let from_dump = r.json().unwrap();
    let text = from_dump.to_string().replace("/etc/nginx/", "");
    let from_dump: Value = serde_json::from_str(&text).unwrap();
    // The hops are the same; only the note on where certificate files
    // could be checked differs (a dump names the server's files).
    let without_note = |doc: &Value| -> Value {
        let mut doc = doc.clone();
        for h in doc["hops"].as_array_mut().unwrap() {
            h.as_object_mut().unwrap().remove("files_not_checked");
        }
        doc
    };
    let (from_dump, from_dir) = (without_note(&from_dump), without_note(&from_dir));
    assert_eq!(
        hop(&from_dump, A)["via"],
        json!([{"file": "nginx.conf", "line": 13}])
    );
    assert_eq!(from_dump["files"], from_dir["files"]);
    assert_eq!(from_dump["hops"], from_dir["hops"]);
}

#[test]
fn a_load_error_in_a_file_included_twice_is_reported_once() {
    let dir = tree();
    std::fs::write(
        dir.path().join("common.conf"),
        "include missing.conf;\nproxy_pass https://backend;\n",
    )
    .unwrap();
    let r = in_dir(dir.path(), &["hops", "--json"]);
    assert_eq!(r.code, Some(2));
    let doc = r.json().unwrap();
    assert_eq!(doc["errors"].as_array().map(Vec::len), Some(1), "{doc:#}");
    assert_eq!(doc["errors"][0]["file"], "common.conf");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
}
