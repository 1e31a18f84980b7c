//! `check --format github` and `--format gitlab` through the real binary,
//! checked against the formats' documented schemas: GitHub's workflow
//! command syntax and escaping, and GitLab's Code Quality report.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn check(dir: &Path, format: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["check", ".", "--format", format, "--min-severity", "info"])
        .current_dir(dir)
        .env("PATH", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
    )
}

/// A tree whose file name holds `,` and `:` and whose proxy_ssl_name holds
/// a line break, a forged workflow command, a `%`, an ESC and a CR: all of
/// it reaches a finding's message or location.
fn hostile_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n  include \"we,ird:name.conf\";\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("we,ird:name.conf"),
        "server {\n  location / {\n    proxy_pass https://x.example.com;\n    proxy_ssl_name \"evil\n::error file=x::pwn%0A,\x1b[2J\r\";\n  }\n}\n",
    )
    .unwrap();
    dir
}

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo")
}

/// One workflow command: `::CMD key=value,…::message`, with only the
/// escapes GitHub decodes and no raw control character.
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    assert!(
        !line.chars().any(|c| c.is_control()),
        "raw control character in {line:?}"
    );
    let rest = line.strip_prefix("::").expect("starts with ::");
    let (head, message) = rest.split_once("::").expect("a :: before the message");
    let (cmd, props) = head.split_once(' ').expect("a command and properties");
    assert!(["error", "warning", "notice"].contains(&cmd), "{cmd}");
    let props: Vec<(String, String)> = props
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            assert!(!v.contains(':'), "unescaped : in property {v:?}");
            (k.to_string(), v.to_string())
        })
        .collect();
    let keys: Vec<&str> = props.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["file", "line", "col", "title"]);
    for (k, v) in &props {
        if k == "line" || k == "col" {
            assert!(v.parse::<u32>().is_ok_and(|n| n >= 1), "{k}={v}");
        }
    }
    (cmd.to_string(), props, message.to_string())
}

fn unescape(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn github_annotations_follow_the_workflow_command_syntax() {
    let (code, out) = check(&demo(), "github");
    assert_eq!(code, 1, "the demo has findings");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() > 10);
    for line in &lines {
        parse_command(line);
    }
    // The first finding of the demo, as the text report shows it.
    let (cmd, props, message) = parse_command(lines[0]);
    assert_eq!(cmd, "warning", "medium is a warning");
    assert_eq!(props[0].1, "conf.d/api-gateway.conf");
    assert_eq!((props[1].1.as_str(), props[2].1.as_str()), ("18", "9"));
    assert_eq!(props[3].1, "sni-off");
    assert!(message.starts_with("proxy_ssl_server_name is off (default)"));
    assert!(
        lines.iter().any(|l| l.starts_with("::error ")),
        "high is an error"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("::notice ")),
        "low is a notice"
    );
}

#[test]
fn github_escapes_hostile_text() {
    let tree = hostile_tree();
    let (_, out) = check(tree.path(), "github");
    let line = out
        .lines()
        .find(|l| l.contains("title=sni-name-ignored"))
        .expect("the name is reported");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("::")).count(),
        out.lines().count()
    );
    let (_, props, message) = parse_command(line);
    assert_eq!(props[0].1, "we%2Cird%3Aname.conf");
    assert_eq!(unescape(&props[0].1), "we,ird:name.conf");
    assert!(
        message.starts_with("proxy_ssl_name evil%0A::error file=x::pwn%250A,\\x1b[2J%0D "),
        "{message}"
    );
    assert!(unescape(&message).contains("evil\n::error file=x::pwn%0A,"));
}

/// The Code Quality schema: an array of issues with these keys and types.
fn assert_code_quality(doc: &Value) -> &Vec<Value> {
    let issues = doc.as_array().expect("an array");
    for issue in issues {
        assert!(issue["description"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(issue["check_name"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(issue["fingerprint"].as_str().is_some_and(|s| !s.is_empty()));
        let sev = issue["severity"].as_str().expect("severity");
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&sev),
            "{sev}"
        );
        assert!(issue["location"]["path"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
        assert!(issue["location"]["lines"]["begin"]
            .as_u64()
            .is_some_and(|n| n >= 1));
    }
    issues
}

#[test]
fn gitlab_code_quality_matches_the_schema_and_sarif_fingerprints() {
    let (code, out) = check(&demo(), "gitlab");
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    let issues = assert_code_quality(&doc);
    let first = &issues[0];
    assert_eq!(first["check_name"], "sni-off");
    assert_eq!(first["severity"], "major");
    assert_eq!(first["location"]["path"], "conf.d/api-gateway.conf");
    assert_eq!(first["location"]["lines"]["begin"], 18);
    assert!(issues.iter().any(|i| i["severity"] == "critical"));
    let mut fps: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    fps.sort_unstable();
    let n = fps.len();
    fps.dedup();
    assert_eq!(fps.len(), n, "fingerprints are unique");

    let (_, sarif) = check(&demo(), "sarif");
    let sarif: Value = serde_json::from_str(&sarif).expect("SARIF");
    let mut from_sarif: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_none())
        .map(|r| {
            r["partialFingerprints"]["hopscopeFindingHash/v1"]
                .as_str()
                .unwrap()
        })
        .collect();
    from_sarif.sort_unstable();
    assert_eq!(fps, from_sarif, "the same fingerprints as SARIF");
}

#[test]
fn gitlab_keeps_hostile_text_as_json_strings() {
    let tree = hostile_tree();
    let (_, out) = check(tree.path(), "gitlab");
    assert!(
        !out.contains('\x1b') && !out.contains('\r'),
        "JSON escapes controls"
    );
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    let issues = assert_code_quality(&doc);
    let named = issues
        .iter()
        .find(|i| i["check_name"] == "sni-name-ignored")
        .expect("reported");
    assert_eq!(named["location"]["path"], "we,ird:name.conf");
    assert!(named["description"]
        .as_str()
        .unwrap()
        .contains("evil\n::error file=x::pwn%0A,\u{1b}[2J\r"));
}

#[test]
fn fleets_refuse_the_single_configuration_formats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts"), "web1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["check", "--ssh-hosts", "hosts", "--format", "gitlab"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format github and gitlab"));
}

#[test]
fn a_part_that_cannot_load_is_an_error_annotation_and_a_blocker() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n  include missing.conf;\n  server { location / { proxy_pass https://a.example.com; } }\n}\n",
    )
    .unwrap();
    let (code, out) = check(dir.path(), "github");
    assert_eq!(code, 2, "a load error is exit 2");
    let first = out.lines().next().expect("annotations");
    let rest = first.strip_prefix("::error ").expect("an error annotation");
    let (props, message) = rest.split_once("::").expect("a message");
    assert_eq!(props, "file=nginx.conf,line=2,title=load-error");
    assert!(message.starts_with("cannot include "), "{message}");
    assert!(out.lines().skip(1).all(|l| !l.contains("load-error")));
    assert!(out.contains("title=sni-off::"), "the rest is still checked");

    let (code, out) = check(dir.path(), "gitlab");
    assert_eq!(code, 2);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let issues = assert_code_quality(&doc);
    assert_eq!(issues[0]["check_name"], "load-error");
    assert_eq!(issues[0]["severity"], "blocker");
    assert_eq!(issues[0]["location"]["path"], "nginx.conf");
    assert_eq!(issues[0]["location"]["lines"]["begin"], 2);
    assert!(issues.iter().any(|i| i["check_name"] == "sni-off"));
}

#[test]
fn the_profile_is_refused_with_the_annotation_formats() {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["check", "--format", "github", "--profile", "cis-nginx"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--profile reports in text, json or sarif")
    );
}
