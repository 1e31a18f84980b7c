//! `check --profile cis-nginx` on the demo: every item's verdict on every
//! hop, and where the deciding values come from, as written down by hand
//! from reading assets/demo/ (nginx 1.30.4's defaults).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"))
        .env("PATH", "/nonexistent")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8"),
    )
}

const HOPS: [&str; 17] = [
    "conf.d/api-gateway.conf:18",
    "conf.d/api-gateway.conf:26",
    "conf.d/ingest.conf:24",
    "conf.d/ingest.conf:32",
    "conf.d/ingest.conf:40",
    "conf.d/intranet.conf:23",
    "conf.d/intranet.conf:29",
    "conf.d/intranet.conf:35",
    "conf.d/intranet.conf:43",
    "conf.d/intranet.conf:51",
    "conf.d/intranet.conf:58",
    "conf.d/intranet.conf:67",
    "conf.d/payments.conf:16",
    "conf.d/payments.conf:30",
    "conf.d/payments.conf:39",
    "stream.d/tls-backends.conf:16",
    "stream.d/tls-backends.conf:26",
];

/// Per hop (in HOPS order): 4.1.4, 4.1.9, 4.1.10.
///
/// 4.1.4 (TLSv1.3 only): every hop offers TLSv1.2 (http's
/// `proxy_ssl_protocols TLSv1.2 TLSv1.3`, /erp/'s `TLSv1 TLSv1.2`, and the
/// uwsgi and stream defaults of 1.30.4), so none passes.
/// 4.1.9 (client certificate): only /payouts/ sets certificate and key.
/// 4.1.10 (verify on, CA, name): /admin/reports/ (snippet: verify on; http
/// CA; name from the pass), gRPC inventory (verify and CA in its
/// location), /charges/ and /payouts/ (verify on, CA, proxy_ssl_name), and
/// the LDAP stream server (verify on, stream CA, proxy_ssl_name). The
/// uwsgi hop under /admin/ is not covered by the snippet's proxy_ssl_*
/// lines, /refunds/ turns verification off, every other hop leaves it off.
const EXPECTED: [(&str, &str, &str); 17] = [
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "pass"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "fail"),
    ("fail", "fail", "pass"),
    ("fail", "fail", "pass"),
    ("fail", "fail", "fail"),
    ("fail", "pass", "pass"),
    ("fail", "fail", "pass"),
    ("fail", "fail", "fail"),
];

fn profile() -> Value {
    let (code, out) = run(&[
        "check",
        ".",
        "--nginx-version",
        "1.30.4",
        "--format",
        "json",
        "--profile",
        "cis-nginx",
    ]);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        doc["schema"], "hopscope.check/1",
        "the check document, plus"
    );
    assert!(doc["findings"].as_array().is_some_and(|f| !f.is_empty()));
    doc["profile"].clone()
}

fn evidence<'a>(item: &'a Value, hop: &str, directive: &str) -> &'a Value {
    let h = item["hops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hop"] == hop)
        .unwrap_or_else(|| panic!("{hop} in {}", item["id"]));
    h["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["directive"] == directive)
        .unwrap_or_else(|| panic!("{directive} on {hop}"))
}

#[test]
fn each_items_verdict_per_hop_on_the_demo() {
    let p = profile();
    assert_eq!(p["name"], "cis-nginx");
    assert_eq!(p["version"], "3.0.0");
    let items = p["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["4.1.4", "4.1.9", "4.1.10"]);
    for (k, item) in items.iter().enumerate() {
        let hops = item["hops"].as_array().unwrap();
        let got: Vec<(&str, &str)> = hops
            .iter()
            .map(|h| (h["hop"].as_str().unwrap(), h["verdict"].as_str().unwrap()))
            .collect();
        let want: Vec<(&str, &str)> = HOPS
            .iter()
            .zip(EXPECTED)
            .map(|(hop, v)| (*hop, [v.0, v.1, v.2][k]))
            .collect();
        assert_eq!(got, want, "item {}", item["id"]);
        for h in hops {
            let failed = h["verdict"] == "fail";
            let reasons = h["reasons"].as_array().unwrap();
            assert_eq!(failed, !reasons.is_empty(), "a failure says why: {h}");
        }
    }
}

#[test]
fn evidence_names_the_effective_value_and_where_it_comes_from() {
    let p = profile();
    let items = p["items"].as_array().unwrap();
    let (protocols, mtls, trusted) = (&items[0], &items[1], &items[2]);

    let e = evidence(
        protocols,
        "conf.d/api-gateway.conf:18",
        "proxy_ssl_protocols",
    );
    assert_eq!(e["value"], "TLSv1.2 TLSv1.3");
    assert_eq!(
        (&e["origin"], &e["level"]),
        (&"nginx.conf:23".into(), &"http".into())
    );
    let e = evidence(protocols, "conf.d/intranet.conf:58", "proxy_ssl_protocols");
    assert_eq!(e["value"], "TLSv1 TLSv1.2");
    assert_eq!(e["origin"], "conf.d/intranet.conf:59");
    assert_eq!(e["level"], "location");
    let e = evidence(protocols, "conf.d/intranet.conf:29", "uwsgi_ssl_protocols");
    assert_eq!(
        (&e["value"], &e["origin"]),
        (&"TLSv1.2 TLSv1.3".into(), &"default".into())
    );
    assert!(e["level"].is_null());

    let e = evidence(mtls, "conf.d/payments.conf:39", "proxy_ssl_certificate_key");
    assert_eq!(e["value"], "/etc/nginx/certs/gateway-client.key");
    assert_eq!(e["origin"], "conf.d/payments.conf:42");

    // Verification on from the shared snippet, the CA from http.
    let e = evidence(trusted, "conf.d/payments.conf:39", "proxy_ssl_verify");
    assert_eq!(
        (&e["value"], &e["origin"]),
        (&"on".into(), &"snippets/upstream-tls.conf:6".into())
    );
    let e = evidence(
        trusted,
        "conf.d/payments.conf:39",
        "proxy_ssl_trusted_certificate",
    );
    assert_eq!(e["origin"], "nginx.conf:24");
    let e = evidence(trusted, "conf.d/payments.conf:30", "proxy_ssl_verify");
    assert_eq!(
        (&e["value"], &e["origin"]),
        (&"off".into(), &"conf.d/payments.conf:31".into())
    );
    let e = evidence(
        trusted,
        "stream.d/tls-backends.conf:16",
        "proxy_ssl_trusted_certificate",
    );
    assert_eq!(
        (&e["origin"], &e["level"]),
        (&"nginx.conf:33".into(), &"stream".into())
    );
    let e = evidence(trusted, "conf.d/intranet.conf:29", "uwsgi_ssl_verify");
    assert_eq!(
        (&e["value"], &e["origin"]),
        (&"off".into(), &"default".into())
    );
}

#[test]
fn the_text_report_lists_items_and_hops() {
    let (_, out) = run(&[
        "check",
        ".",
        "--nginx-version",
        "1.30.4",
        "--profile",
        "cis-nginx",
    ]);
    let at = out
        .find("CIS NGINX Benchmark v3.0.0 (cis-nginx profile)")
        .expect("the profile follows the findings");
    let profile = &out[at..];
    assert!(profile.contains(
        "\n4.1.10 Ensure the upstream traffic server certificate is trusted: 5 of 17 hops pass\n"
    ));
    assert!(profile.contains("\n4.1.9 Ensure upstream server traffic is authenticated with a client certificate: 1 of 17 hops pass\n"));
    assert!(profile.contains("the number of this item in v3.0.0 is not confirmed"));
    assert!(profile.contains(
        "  PASS conf.d/payments.conf:39\n      proxy_ssl_verify on  snippets/upstream-tls.conf:6 (location)\n"
    ));
    assert!(profile.contains(
        "  FAIL conf.d/payments.conf:30\n      proxy_ssl_verify off  conf.d/payments.conf:31 (location)\n"
    ));
    assert!(profile.contains("      proxy_ssl_verify off  default (nginx 1.30.4)\n"));
}

#[test]
fn sarif_carries_the_benchmark_as_taxa_and_rule_relationships() {
    let (_, out) = run(&[
        "check",
        ".",
        "--nginx-version",
        "1.30.4",
        "--format",
        "sarif",
        "--profile",
        "cis-nginx",
    ]);
    let v: Value = serde_json::from_str(&out).expect("SARIF");
    // The schema's types (serde-sarif is generated from the SARIF schema).
    serde_json::from_value::<serde_sarif::sarif::Sarif>(v.clone())
        .expect("taxonomies, taxa and relationships have the schema's shape");
    let run = &v["runs"][0];
    let tax = &run["taxonomies"][0];
    assert_eq!(tax["name"], "CIS NGINX Benchmark");
    assert_eq!(tax["version"], "3.0.0");
    let taxa: Vec<&str> = tax["taxa"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(taxa, ["4.1.4", "4.1.9", "4.1.10"]);
    let rule = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "verify-off")
        .unwrap();
    let rel = &rule["relationships"][0];
    assert_eq!(rel["target"]["id"], "4.1.10");
    assert_eq!(
        rel["target"]["toolComponent"]["name"],
        "CIS NGINX Benchmark"
    );
    assert!(rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&"cis-nginx/4.1.10".into()));
    let result = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "verify-off")
        .unwrap();
    assert_eq!(result["taxa"][0]["id"], "4.1.10");
    assert_eq!(
        result["taxa"][0]["toolComponent"]["name"],
        "CIS NGINX Benchmark"
    );
    let items = &run["properties"]["hopscope/profile"]["items"];
    assert_eq!(items[2]["id"], "4.1.10");
    assert_eq!(items[2]["hops"].as_array().unwrap().len(), 17);
}

#[test]
fn explain_names_the_items_a_rule_evidences() {
    let (code, out) = run(&["explain", "verify-no-ca"]);
    assert_eq!(code, 0);
    assert!(out.contains("## Compliance\n"), "{out}");
    assert!(out.contains("- 4.1.10 Ensure the upstream traffic server certificate is trusted"));
    let (_, out) = run(&["explain", "sni-off"]);
    assert!(!out.contains("## Compliance"));
}
