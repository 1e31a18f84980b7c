//! Real nginx: what an empty `proxy_ssl_name ""` does on the wire, and
//! that hopscope says so.
//!
//! One nginx on 127.0.0.1: a TLS upstream that answers with the SNI it
//! received, and a plain front with two hops to it, both with
//! `proxy_ssl_server_name on; proxy_ssl_name "";`. nginx sends no SNI, and
//! with `proxy_ssl_verify on` it checks the certificate against the empty
//! name, which no certificate matches: every request fails with 502.

mod common;

use common::*;
use std::process::Command;

#[test]
fn an_empty_proxy_ssl_name_sends_no_sni_and_fails_verification() {
    let Some(bin) = nginx_or_skip() else { return };
    let prefix = Prefix::new("empty-name");
    let ca = TestCa::new(&prefix.path().join("pki"));
    let leaf = ca.leaf("upstream", &["localhost", "127.0.0.1"]);
    let (up, front) = (free_port(), free_port());

    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.open("server");
    f.line(format!("listen 127.0.0.1:{up} ssl;"));
    f.line(format!("ssl_certificate {};", leaf.cert.display()));
    f.line(format!("ssl_certificate_key {};", leaf.key.display()));
    f.line("ssl_session_cache off;");
    f.line("ssl_session_tickets off;");
    f.line("return 200 \"sni=[$ssl_server_name]\";");
    f.close();
    f.open("server");
    f.line(format!("listen 127.0.0.1:{front};"));
    f.line("proxy_ssl_server_name on;");
    f.line("proxy_ssl_name \"\";");
    f.open("location /off/");
    let off = f.line(format!("proxy_pass https://127.0.0.1:{up};"));
    f.close();
    f.open("location /on/");
    let on = f.line(format!("proxy_pass https://127.0.0.1:{up};"));
    f.line("proxy_ssl_verify on;");
    f.line(format!(
        "proxy_ssl_trusted_certificate {};",
        ca.cert.display()
    ));
    f.close();
    f.close();
    f.close();
    prefix.write_conf(&f);

    let (ok, stderr) = nginx_test(&bin, prefix.path());
    assert!(ok, "nginx -t accepts an empty proxy_ssl_name:\n{stderr}");
    let mut nginx = Nginx::start(&bin, prefix.path(), &[up, front]).expect("nginx starts");
    let plain = http_get(front, "/off/", None).expect("GET /off/");
    let verified = http_get(front, "/on/", None).expect("GET /on/");
    let logs = nginx.logs();
    nginx.stop();

    // What nginx does: no SNI; verification against "" fails.
    assert_eq!(plain.status, 200, "{logs}");
    assert_eq!(plain.body, "sni=[]");
    assert_eq!(verified.status, 502, "{logs}");
    assert!(
        logs.contains("upstream SSL certificate does not match \"\""),
        "{logs}"
    );

    // What hopscope says about the same configuration.
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["check", "--format", "json", "--min-severity", "info"])
        .arg(prefix.conf_path())
        .output()
        .expect("run hopscope");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = doc["findings"].as_array().expect("findings");
    let of = |line: usize| -> Vec<(String, String)> {
        findings
            .iter()
            .filter(|f| f["rule"] == "sni-off" && f["line"] == line)
            .map(|f| {
                (
                    f["severity"].as_str().unwrap_or("").to_string(),
                    f["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let (off_found, on_found) = (of(off), of(on));
    assert_eq!(off_found.len(), 1, "{findings:#?}");
    assert_eq!(off_found[0].0, "info", "{off_found:?}");
    assert!(off_found[0].1.contains("is empty"), "{off_found:?}");
    assert_eq!(on_found.len(), 1, "{findings:#?}");
    assert_eq!(on_found[0].0, "high", "{on_found:?}");
    assert!(on_found[0].1.contains("fails"), "{on_found:?}");
}
