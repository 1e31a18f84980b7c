//! The baseline through the real binary, on a copy of the demo tree: it
//! survives unrelated edits, notices fixes, fails on new findings, and
//! marks findings in text, JSON and SARIF; and the README's section on the
//! project file and the baseline, run as written.

#[path = "common/settings_repo.rs"]
mod support;

use std::path::Path;

use serde_json::Value;
use support::{copy_dir, findings, hopscope, json, repo, Out};

fn text_findings(out: &Out) -> Vec<String> {
    // The header of each diagnostic, then its `--> file:line:col` line.
    out.stdout
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--> "))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_baseline_survives_unrelated_edits_notices_fixes_and_fails_on_new_findings() {
    let (_t, repo) = repo();
    let tree = repo.join("tree");
    let out = hopscope(&repo, &["check", "tree", "--update-baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("base.json")).unwrap()).unwrap();
    assert_eq!(base["schema"], "hopscope.baseline/1");
    assert_eq!(base["version"], 1);
    let entries = base["findings"].as_array().unwrap().len();
    assert!(entries > 10, "{base}");
    assert!(out.stderr.contains(&format!(
        "wrote {entries} findings to the baseline base.json"
    )));

    // Every line of every file moves down one line.
    for rel in [
        "nginx.conf",
        "conf.d/api-gateway.conf",
        "conf.d/ingest.conf",
        "conf.d/intranet.conf",
        "conf.d/payments.conf",
    ] {
        let p = tree.join(rel);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("# reviewed by the platform team\n{text}")).unwrap();
    }
    let out = hopscope(&repo, &["check", "tree", "--baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(text_findings(&out).is_empty(), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "baseline base.json: 0 new, {entries} unchanged (not shown)\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("; {entries} in the baseline")),
        "{}",
        out.stdout
    );

    // Findings a filter hides are not fixed.
    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--baseline",
            "base.json",
            "--min-severity",
            "high",
            "--ignore",
            "sni-off",
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("fixed"), "{}", out.stdout);

    // A real fix: the weak protocols of one hop.
    let fix = hopscope(
        &repo,
        &[
            "fix",
            "tree",
            "--rule",
            "weak-protocols",
            "--write",
            "--no-validate",
        ],
    );
    assert_eq!(fix.code, 0, "{}{}", fix.stdout, fix.stderr);
    let out = hopscope(&repo, &["check", "tree", "--baseline", "base.json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "fixed: 1 entry no longer occurs; run --update-baseline to shrink the file\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  fixed: weak-protocols conf.d/intranet.conf:58: "),
        "{}",
        out.stdout
    );

    // A new risky hop fails the run, and only it is reported.
    std::fs::write(
        tree.join("conf.d/new.conf"),
        "server {\n    listen 443 ssl;\n    server_name new.example.com;\n    location / {\n        proxy_pass https://new.internal.example.com;\n    }\n}\n",
    )
    .unwrap();
    let out = hopscope(&repo, &["check", "tree", "--baseline", "base.json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(" = note: new: not in the baseline\n"),
        "{}",
        out.stdout
    );
    let shown = text_findings(&out);
    assert!(
        !shown.is_empty() && shown.iter().all(|s| s.starts_with("conf.d/new.conf:5:")),
        "{shown:?}"
    );
    assert!(
        out.stdout
            .contains(&format!(", {} unchanged (not shown)", entries - 1)),
        "{}",
        out.stdout
    );

    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, 1);
    let doc = json(&out);
    for f in doc["findings"].as_array().unwrap() {
        let new = f["file"] == "conf.d/new.conf";
        assert_eq!(f["baseline"], if new { "new" } else { "unchanged" }, "{f}");
    }
    assert_eq!(doc["baseline"]["unchanged"], entries - 1);
    assert_eq!(doc["baseline"]["fixed"][0]["rule"], "weak-protocols");

    let out = hopscope(
        &repo,
        &[
            "check",
            "tree",
            "--baseline",
            "base.json",
            "--format",
            "sarif",
        ],
    );
    assert_eq!(out.code, 1);
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        let state = if uri.ends_with("conf.d/new.conf") {
            "new"
        } else {
            "unchanged"
        };
        assert_eq!(r["baselineState"], state, "{r}");
    }
    // The baseline named in the project file works the same way.
    std::fs::write(repo.join("hopscope.toml"), "baseline = \"base.json\"\n").unwrap();
    let out = hopscope(&repo, &["check", "tree", "--format", "json"]);
    assert_eq!(json(&out)["baseline"]["unchanged"], entries - 1);
    // Without a baseline the output is as before: no baseline fields.
    let out = hopscope(&repo, &["check", "tree", "--no-config", "--format", "json"]);
    assert!(json(&out).get("baseline").is_none());
    assert!(findings(&out).iter().all(|f| f.get("baseline").is_none()));
}

/// The README's section, run as written on a copy of the demo in `nginx/`.
#[test]
fn the_readme_example_file_and_commands_work() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### In a repository: hopscope.toml and a baseline\n")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("README.md has the section");
    let block = |lang: &str| -> String {
        let start = section.find(&format!("```{lang}\n")).expect(lang) + lang.len() + 4;
        let len = section[start..].find("```").unwrap();
        section[start..start + len].to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        &dir.path().join("nginx"),
    );
    std::fs::write(dir.path().join("hopscope.toml"), block("toml")).unwrap();
    let commands: Vec<String> = block("sh")
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    let mut outs = Vec::new();
    for c in &commands {
        let args: Vec<&str> = c.split_whitespace().collect();
        assert_eq!(args[0], "hopscope");
        let out = hopscope(dir.path(), &args[1..]);
        assert_eq!(out.code, 0, "{c}: {}{}", out.stdout, out.stderr);
        outs.push(out);
    }
    assert!(
        outs[0]
            .stdout
            .contains("severity.verify-off = \"high\"  # "),
        "{}",
        outs[0].stdout
    );
    assert!(outs[1]
        .stderr
        .contains("to the baseline hopscope-baseline.json"));
    assert!(
        outs[2]
            .stdout
            .contains("baseline hopscope-baseline.json: 0 new, "),
        "{}",
        outs[2].stdout
    );
}
