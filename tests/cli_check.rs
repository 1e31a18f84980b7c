//! `hopscope check`, `explain`, `completions`, `man` and `hops --json`
//! findings, through the real binary: exit codes, filters, suppressions,
//! the JSON and SARIF shapes, colour, and a golden text report.
//!
//! Golden files live in `tests/golden/`; regenerate them deliberately with
//! `UPDATE_GOLDEN=1 cargo test --test cli_check`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hopscope(args: &[&str], cwd: Option<&Path>, env: &[(&str, &str)], stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hopscope"));
    // No nginx on PATH: the defaults are hopscope's own, whichever nginx
    // this machine has (tests/nginx_version.rs covers detection).
    cmd.args(args)
        .env("PATH", "/nonexistent")
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes()).expect("stdin is written");
    }
    let out = child.wait_with_output().expect("the binary finishes");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The line of a text report that says whose defaults apply, without nginx
/// on PATH.
const DEFAULTS: &str = "defaults: nginx 1.30.4, hopscope's default: the newest stable release it knows; pass --nginx-version\n";

fn run(args: &[&str]) -> Out {
    hopscope(args, None, &[], None)
}

/// A temporary configuration directory.
fn conf(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().expect("utf-8 temp path")
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

fn findings(doc: &Value) -> &Vec<Value> {
    doc["findings"].as_array().expect("findings is an array")
}

fn rules_of(doc: &Value) -> Vec<String> {
    findings(doc)
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// One hop to an `upstream {}` pool with nginx's defaults: no SNI, no
/// certificate check.
const POOL: &str = "\
events {}
http {
    upstream backend {
        server app-1.internal.example.com:8443;
    }
    server {
        listen 80;
        server_name app.example.com;
        location /api/ {
            proxy_pass https://backend/api/;
        }
    }
}
";

/// One hop done right: SNI and Host name the upstream, its certificate is checked.
const GOOD: &str = "\
events {}
http {
    server {
        listen 80;
        server_name app.example.com;
        location / {
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
            proxy_ssl_verify_depth 3;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_pass https://api.example.com;
        }
    }
}
";

/// SNI right, certificate not checked (nginx's default): medium only.
const NO_VERIFY: &str = "\
events {}
http {
    server {
        listen 80;
        location / {
            proxy_ssl_server_name on;
            proxy_pass https://api.example.com;
        }
    }
}
";

const SEVERITIES: [&str; 5] = ["error", "high", "medium", "low", "info"];

fn rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|x| *x == s)
        .map_or(0, |i| SEVERITIES.len() - i)
}

// ---------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------

#[test]
fn a_clean_configuration_exits_0() {
    let dir = conf(&[("nginx.conf", GOOD)]);
    let out = run(&["check", path(&dir), "--min-severity", "info"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stdout, format!("{DEFAULTS}no findings in 1 hop\n"));
}

#[test]
fn findings_exit_1() {
    let dir = conf(&[("nginx.conf", POOL)]);
    let out = run(&["check", path(&dir)]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    // an internal pool without SNI: medium by the severity policy
    assert!(out.stdout.contains("medium[sni-off]: "), "{}", out.stdout);
    assert!(
        out.stdout.contains(" --> nginx.conf:10:13\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_demo_has_findings() {
    let out = run(&["check", "--color", "never"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("[sni-off]"), "{}", out.stdout);
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(last.contains(" in 17 hops"), "{last}");
    assert!(
        last.ends_with("run `hopscope explain RULE` to learn more"),
        "{last}"
    );
}

#[test]
fn load_errors_exit_2_and_still_report() {
    let text = POOL.replace(
        "events {}",
        "events {}\ninclude missing/*.conf;\ninclude absent.conf;",
    );
    let dir = conf(&[("nginx.conf", &text)]);
    let out = run(&["check", path(&dir), "--format", "json"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let doc = json(&out);
    let errors = doc["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["file"], "nginx.conf");
    assert_eq!(errors[0]["line"], 3);
    assert!(
        rules_of(&doc).contains(&"sni-off".to_string()),
        "findings still come"
    );
    assert!(out.stderr.contains("absent.conf"), "{}", out.stderr);

    let text = run(&["check", path(&dir), "--color", "never"]);
    assert_eq!(text.code, 2);
    assert!(
        text.stdout.starts_with("error: nginx.conf:3: "),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("[sni-off]"), "{}", text.stdout);
}

#[test]
fn usage_errors_exit_2() {
    let missing = run(&["check", "/nonexistent/hopscope/nginx.conf"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("error"), "{}", missing.stderr);
    assert_eq!(run(&["check", "--format", "xml"]).code, 2);
    assert_eq!(run(&["check", "--min-severity", "severe"]).code, 2);
    assert_eq!(run(&["check", "--color", "sometimes"]).code, 2);
    assert_eq!(run(&["check", "--nginx-version", "0.1"]).code, 2);
}

// ---------------------------------------------------------------------------
// Filters and suppressions
// ---------------------------------------------------------------------------

#[test]
fn min_severity_filters_output_and_exit_code() {
    let dir = conf(&[("nginx.conf", NO_VERIFY)]);
    let low = run(&["check", path(&dir), "--format", "json"]);
    assert_eq!(low.code, 1);
    let doc = json(&low);
    assert!(
        findings(&doc)
            .iter()
            .any(|f| f["rule"] == "verify-off" && f["severity"] == "medium"),
        "{doc:#}"
    );
    let high = run(&[
        "check",
        path(&dir),
        "--format",
        "json",
        "--min-severity",
        "high",
    ]);
    assert_eq!(high.code, 0, "{}", high.stdout);
    assert_eq!(findings(&json(&high)).len(), 0);

    // Whatever the threshold: only findings at or above it, and exit 1 iff any.
    let demo_all = json(&run(&[
        "check",
        "--format",
        "json",
        "--min-severity",
        "info",
    ]));
    for s in SEVERITIES {
        let out = run(&["check", "--format", "json", "--min-severity", s]);
        let doc = json(&out);
        assert!(findings(&doc)
            .iter()
            .all(|f| rank(f["severity"].as_str().unwrap_or_default()) >= rank(s)));
        let expected = findings(&demo_all)
            .iter()
            .filter(|f| rank(f["severity"].as_str().unwrap_or_default()) >= rank(s))
            .count();
        assert_eq!(findings(&doc).len(), expected, "--min-severity {s}");
        let active = findings(&doc).iter().any(|f| f["suppressed"].is_null());
        assert_eq!(out.code, i32::from(active), "--min-severity {s}");
    }
}

#[test]
fn rule_and_ignore_select_rules() {
    let only = json(&run(&["check", "--format", "json", "--rule", "sni-off"]));
    let rules = rules_of(&only);
    assert!(!rules.is_empty());
    assert!(rules.iter().all(|r| r == "sni-off"), "{rules:?}");

    let two = json(&run(&[
        "check",
        "--format",
        "json",
        "--rule",
        "sni-off",
        "--rule",
        "verify-off",
    ]));
    assert!(rules_of(&two)
        .iter()
        .all(|r| r == "sni-off" || r == "verify-off"));
    assert!(rules_of(&two).iter().any(|r| r == "verify-off"));

    let all = json(&run(&["check", "--format", "json"]));
    let ignored = json(&run(&["check", "--format", "json", "--ignore", "sni-off"]));
    assert!(!rules_of(&ignored).iter().any(|r| r == "sni-off"));
    assert_eq!(
        rules_of(&ignored).len(),
        rules_of(&all).iter().filter(|r| *r != "sni-off").count()
    );
}

#[test]
fn unknown_rules_are_usage_errors_that_list_the_valid_ids() {
    for args in [
        &["check", "--rule", "sni-of"][..],
        &["check", "--ignore", "nope"][..],
        &["explain", "nope"][..],
    ] {
        let out = run(args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stderr.contains("unknown rule"), "{}", out.stderr);
        assert!(
            out.stderr.contains("sni-off"),
            "lists valid ids: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("verify-off"),
            "lists valid ids: {}",
            out.stderr
        );
    }
    let typo = run(&["check", "--rule", "verify-of"]);
    assert!(
        typo.stderr.contains("did you mean \"verify-off\""),
        "{}",
        typo.stderr
    );
}

#[test]
fn inline_suppression_is_reported_and_does_not_fail() {
    let text = POOL.replace(
        "            proxy_pass https://backend/api/;",
        "            # hopscope: ignore sni-off the pool serves one name\n            proxy_pass https://backend/api/;",
    );
    let dir = conf(&[("nginx.conf", &text)]);
    let out = run(&["check", path(&dir), "--format", "json", "--rule", "sni-off"]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let doc = json(&out);
    let f = &findings(&doc)[0];
    assert_eq!(f["rule"], "sni-off");
    assert_eq!(f["suppressed"]["reason"], "the pool serves one name");

    let unsuppressed = conf(&[("nginx.conf", POOL)]);
    let out = run(&[
        "check",
        path(&unsuppressed),
        "--format",
        "json",
        "--rule",
        "sni-off",
    ]);
    assert_eq!(out.code, 1);
    assert!(findings(&json(&out))[0]["suppressed"].is_null());

    let text_out = run(&["check", path(&dir), "--rule", "sni-off", "--color", "never"]);
    assert_eq!(text_out.code, 0);
    assert_eq!(
        text_out.stdout,
        format!("{DEFAULTS}no findings in 1 hop; 1 suppressed\n")
    );

    let sarif = json(&run(&[
        "check",
        path(&dir),
        "--format",
        "sarif",
        "--rule",
        "sni-off",
    ]));
    let s = &sarif["runs"][0]["results"][0]["suppressions"][0];
    assert_eq!(s["kind"], "inSource");
    assert_eq!(s["justification"], "the pool serves one name");
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

#[test]
fn the_json_document_follows_the_contract() {
    let out = run(&["check", "--format", "json", "--min-severity", "info"]);
    let doc = json(&out);
    assert_eq!(doc["schema"], "hopscope.check/1");
    assert!(doc["nginx_version"]
        .as_str()
        .is_some_and(|v| v.split('.').count() == 3));
    assert_eq!(doc["errors"], serde_json::json!([]));
    assert!(!findings(&doc).is_empty());
    for f in findings(&doc) {
        for key in [
            "rule",
            "severity",
            "hop",
            "file",
            "line",
            "column",
            "message",
            "fix",
            "related",
            "suppressed",
        ] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
        assert!(SEVERITIES.contains(&f["severity"].as_str().unwrap_or_default()));
        assert!(f["line"].as_u64().is_some_and(|l| l >= 1));
        assert!(f["column"].as_u64().is_some_and(|c| c >= 1));
        assert!(f["message"].as_str().is_some_and(|m| !m.contains('\n')));
        if !f["fix"].is_null() {
            for key in ["summary", "applicability", "changes", "edits"] {
                assert!(f["fix"].get(key).is_some(), "fix.{key} missing in {f}");
            }
        }
        for r in f["related"].as_array().expect("related") {
            assert!(r["file"].is_string() && r["line"].is_u64() && r["label"].is_string());
        }
    }
    let version = json(&run(&[
        "check",
        "--format",
        "json",
        "--nginx-version",
        "1.22.1",
    ]));
    assert_eq!(version["nginx_version"], "1.22.1");
}

#[test]
fn hops_json_carries_each_hops_findings() {
    let hops = json(&run(&["hops", "--json"]));
    let check = json(&run(&[
        "check",
        "--format",
        "json",
        "--min-severity",
        "info",
    ]));
    let mut total = 0;
    for hop in hops["hops"].as_array().expect("hops") {
        for f in hop["findings"].as_array().expect("findings") {
            assert_eq!(f["hop"], hop["id"]);
            total += 1;
        }
    }
    let of_hops = findings(&check)
        .iter()
        .filter(|f| !f["hop"].is_null())
        .count();
    assert!(total > 0);
    assert_eq!(total, of_hops);
}

#[test]
fn hops_text_says_where_each_hop_lives() {
    // A server with a name is named; one without (every stream server, an
    // http default server) is known by its listen address.
    let dir = conf(&[(
        "nginx.conf",
        "events {}\n\
         http {\n\
           server { listen 443 ssl; server_name api.example.com;\n\
             location /v1/ { location /v1/admin/ { proxy_pass https://a.example.com;\n\
               proxy_ssl_trusted_certificate /etc/nginx/certificates/of-the-internal-authority/ca.pem; } } }\n\
           server { listen 127.0.0.1:8443 ssl default_server;\n\
             location /x/ { proxy_pass https://b.example.com; } }\n\
         }\n\
         stream {\n\
           server { listen 6379; proxy_pass redis.example.com:6380; proxy_ssl on; }\n\
         }\n",
    )]);
    let out = run(&["hops", path(&dir)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let heads: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("nginx.conf:"))
        .collect();
    assert_eq!(
        heads,
        [
            "nginx.conf:4  proxy_pass https://a.example.com  [api.example.com /v1/ > /v1/admin/]",
            "nginx.conf:7  proxy_pass https://b.example.com  [listen 127.0.0.1:8443 /x/]",
            "nginx.conf:10  proxy_pass redis.example.com:6380  [listen 6379]",
        ],
        "{}",
        out.stdout
    );
    // A value longer than its column still stands apart from its origin.
    assert!(
        out.stdout.lines().any(|l| l
            == "  proxy_ssl_trusted_certificate      \
                /etc/nginx/certificates/of-the-internal-authority/ca.pem  nginx.conf:5 (location)"),
        "{}",
        out.stdout
    );
}

#[test]
fn standard_input_is_read() {
    let out = hopscope(&["check", "-", "--format", "json"], None, &[], Some(POOL));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(rules_of(&json(&out)).contains(&"sni-off".to_string()));
}

// ---------------------------------------------------------------------------
// SARIF
// ---------------------------------------------------------------------------

fn assert_github_sarif(doc: &Value) {
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "hopscope");
    assert!(driver["version"].is_string());
    let rules = driver["rules"].as_array().expect("rules");
    for r in rules {
        assert!(r["id"].is_string());
        assert!(r["name"].as_str().is_some_and(|n| !n.contains('-')));
        assert!(r["shortDescription"]["text"].is_string());
        assert!(r["fullDescription"]["text"].is_string());
        assert!(r["help"]["text"].is_string() && r["help"]["markdown"].is_string());
        let level = r["defaultConfiguration"]["level"]
            .as_str()
            .unwrap_or_default();
        assert!(
            ["error", "warning", "note", "none"].contains(&level),
            "{level}"
        );
        if let Some(score) = r["properties"]["security-severity"].as_str() {
            let score: f64 = score.parse().expect("a number");
            assert!((0.0..=10.0).contains(&score));
        }
    }
    let results = runs[0]["results"].as_array().expect("results");
    for res in results {
        let id = res["ruleId"].as_str().expect("ruleId");
        let index = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], id);
        let level = res["level"].as_str().unwrap_or_default();
        assert!(
            ["error", "warning", "note", "none"].contains(&level),
            "{level}"
        );
        assert!(res["message"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(res["partialFingerprints"]
            .as_object()
            .is_some_and(|m| !m.is_empty()));
        let locations = res["locations"].as_array().expect("locations");
        assert_eq!(locations.len(), 1);
        let related = res["relatedLocations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for loc in locations.iter().chain(&related) {
            let phys = &loc["physicalLocation"];
            let uri = phys["artifactLocation"]["uri"].as_str().expect("uri");
            assert!(
                !uri.contains("://") && !uri.starts_with('/'),
                "relative uri: {uri}"
            );
            assert_eq!(phys["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert!(phys["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
            assert!(phys["region"]["startColumn"]
                .as_u64()
                .is_some_and(|c| c >= 1));
        }
    }
}

#[test]
fn sarif_of_the_demo_is_what_github_accepts() {
    let out = run(&["check", "--format", "sarif", "--min-severity", "info"]);
    assert_eq!(out.code, 1);
    let doc = json(&out);
    assert_github_sarif(&doc);
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    let fps: std::collections::HashSet<String> = results
        .iter()
        .map(|r| r["partialFingerprints"].to_string())
        .collect();
    assert_eq!(fps.len(), results.len(), "fingerprints are unique");
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "sni-off"));
}

#[test]
fn sarif_uris_are_relative_to_the_working_directory() {
    let dir = conf(&[("deploy/nginx/nginx.conf", POOL)]);
    let out = hopscope(
        &["check", "deploy/nginx/nginx.conf", "--format", "sarif"],
        Some(dir.path()),
        &[],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let doc = json(&out);
    assert_github_sarif(&doc);
    let loc = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "deploy/nginx/nginx.conf");
    assert_eq!(loc["region"]["startLine"], 10);
    // Only the rules that ran are described.
    let only = json(&run(&["check", "--format", "sarif", "--rule", "sni-off"]));
    let rules = only["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert_eq!(rules.len(), 1);
}

// ---------------------------------------------------------------------------
// Text: colour and a golden report
// ---------------------------------------------------------------------------

#[test]
fn colour_follows_color_and_no_color() {
    let dir = conf(&[("nginx.conf", POOL)]);
    let p = path(&dir);
    let esc = |args: &[&str], env: &[(&str, &str)]| {
        hopscope(args, None, env, None).stdout.contains('\x1b')
    };
    assert!(esc(&["check", p, "--color", "always"], &[]));
    assert!(
        esc(&["check", p, "--color", "always"], &[("NO_COLOR", "1")]),
        "explicit wins"
    );
    assert!(!esc(&["check", p, "--color", "never"], &[]));
    assert!(!esc(&["check", p], &[]), "auto: not a terminal");
    assert!(!esc(&["check", p, "--color", "auto"], &[("NO_COLOR", "1")]));
    assert!(
        !esc(&["check", p, "--format", "json", "--color", "always"], &[]),
        "JSON is never coloured"
    );
}

fn golden(name: &str, actual: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty()) {
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "{} is missing; create it with UPDATE_GOLDEN=1 cargo test --test cli_check\n\nactual:\n{actual}",
            file.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs (rerun with UPDATE_GOLDEN=1 if the change is deliberate)\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// Verification off in `http`, inherited by a pool hop without SNI.
const GOLDEN_CONF: &str = "\
events {}
http {
    proxy_ssl_verify off;
    upstream backend {
        server app-1.internal.example.com:8443;
    }
    server {
        listen 80;
        server_name app.example.com;
        location /api/ {
            proxy_pass https://backend/api/;
        }
        location /static/ {
            proxy_ssl_server_name on;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
            # hopscope: ignore weak-protocols the CDN needs it
            proxy_ssl_protocols TLSv1.1 TLSv1.2;
            proxy_pass https://cdn.example.com;
        }
    }
}
";

#[test]
fn golden_text_report() {
    let dir = conf(&[("nginx.conf", GOLDEN_CONF)]);
    let out = hopscope(
        &["check", "nginx.conf", "--color", "never"],
        Some(dir.path()),
        &[],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!out.stdout.contains(path(&dir)), "no absolute paths");
    golden("check_small.txt", &out.stdout);
    let again = hopscope(
        &["check", "nginx.conf", "--color", "never"],
        Some(dir.path()),
        &[],
        None,
    );
    assert_eq!(out.stdout, again.stdout, "deterministic");
}

// ---------------------------------------------------------------------------
// explain, completions, man, help
// ---------------------------------------------------------------------------

#[test]
fn explain_prints_the_teaching_text() {
    let out = run(&["explain", "sni-off"]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("sni-off (high): "), "{}", out.stdout);
    for section in [
        "## What it does",
        "## Why is this bad",
        "## Example",
        "## Use instead",
        "## Fix safety",
    ] {
        assert!(out.stdout.contains(section), "{section}");
    }
    let list = run(&["explain", "--list"]);
    assert_eq!(list.code, 0);
    for id in [
        "sni-off",
        "sni-name-ignored",
        "sni-upstream-name",
        "sni-ip-literal",
        "verify-off",
        "verify-no-ca",
        "cert-no-key",
        "weak-protocols",
        "host-sni-mismatch",
    ] {
        assert!(
            list.stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(id)),
            "{id} listed:\n{}",
            list.stdout
        );
    }
    assert_eq!(run(&["explain"]).code, 2, "a rule or --list is required");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("hopscope"), "{shell}");
        assert!(
            out.stdout.contains("check"),
            "{shell} completes subcommands"
        );
    }
    assert_eq!(run(&["completions", "tcsh"]).code, 2);
    let man = run(&["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.contains(".TH hopscope"),
        "{}",
        &man.stdout[..man.stdout.len().min(200)]
    );
    assert!(man.stdout.contains("check"));
}

#[test]
fn help_has_examples_and_version() {
    for cmd in ["hops", "check", "explain", "completions", "man"] {
        let out = run(&[cmd, "--help"]);
        assert_eq!(out.code, 0, "{cmd}");
        assert!(
            out.stdout.contains("Examples:"),
            "{cmd} --help:\n{}",
            out.stdout
        );
    }
    let top = run(&["--help"]);
    assert!(top.stdout.contains("Examples:") && top.stdout.contains("check"));
    let short = run(&["-V"]);
    assert_eq!(short.code, 0);
    assert_eq!(
        short.stdout,
        format!("hopscope {}\n", env!("CARGO_PKG_VERSION"))
    );
    // --version also names the nginx releases whose defaults it models.
    let version = run(&["--version"]);
    assert_eq!(version.code, 0);
    let lines: Vec<&str> = version.stdout.lines().collect();
    assert_eq!(lines[0], format!("hopscope {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        lines[1],
        "nginx releases modelled: 1.5.6 to 1.31.4 (default 1.30.4, the newest stable)"
    );
    assert!(
        lines[2].starts_with("upstream TLS directives or defaults change at: 1.5.6, ")
            && lines[2].contains(", 1.27.3, "),
        "{}",
        lines[2]
    );
}

/// A copy of a server's tree names `/etc/ssl/…` files that exist only on
/// the server: `check` looks nothing up there and `hops` says so; with
/// `--root DIR` the paths are looked up under DIR.
#[test]
fn root_maps_the_servers_files_and_a_copy_says_they_were_not_checked() {
    let conf_text = "events {}\nhttp {\n  server {\n    listen 80;\n    location / {\n      proxy_pass https://api.example.com;\n      proxy_ssl_verify on;\n      proxy_ssl_trusted_certificate /etc/ssl/hopscope-test/ca.pem;\n    }\n  }\n}\n";
    let dir = conf(&[("etc/nginx/nginx.conf", conf_text)]);
    let main = dir.path().join("etc/nginx/nginx.conf");
    let main = main.to_str().expect("utf-8 path");
    let root = dir.path().to_str().expect("utf-8 path");

    let copy = run(&["check", main, "--format", "json"]);
    let doc: Value = serde_json::from_str(&copy.stdout).expect("json");
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(!rules.contains(&"cert-file-missing"), "{rules:?}");
    let hops = run(&["hops", main]);
    assert!(
        hops.stdout
            .contains("  note: certificate files not checked: the tree was loaded from a copy"),
        "{}",
        hops.stdout
    );
    let json = run(&["hops", main, "--json"]);
    let doc: Value = serde_json::from_str(&json.stdout).expect("json");
    assert!(doc["hops"][0]["files_not_checked"]
        .as_str()
        .is_some_and(|w| w.contains("--root")));

    let rooted = run(&["check", "--root", root, main]);
    assert_eq!(rooted.code, 1, "{}{}", rooted.stdout, rooted.stderr);
    let mapped = Path::new(root).join("etc/ssl/hopscope-test/ca.pem");
    assert!(
        rooted.stdout.contains(&format!(
            "error[cert-file-missing]: proxy_ssl_trusted_certificate (nginx.conf:8) for api.example.com: {} does not exist",
            mapped.display()
        )),
        "{}",
        rooted.stdout
    );
    let json = run(&["hops", "--root", root, main, "--json"]);
    let doc: Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(doc["hops"][0]["files_not_checked"], Value::Null);
}
