//! The README's CI jobs run as written: every `hopscope` command of the
//! GitHub Actions and GitLab CI snippets, and the pre-commit hook's entry
//! with its default argument, run by `sh` on a copy of the demo laid out
//! as the snippets expect (the configuration under `nginx/`).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README")
}

/// The `hopscope` commands of the YAML block between the markers, as a
/// shell runs them (`run:` and list dashes taken off).
fn commands(name: &str) -> Vec<String> {
    let text = readme();
    let start = format!("<!-- ci:{name}:start -->");
    let end = format!("<!-- ci:{name}:end -->");
    let s = text
        .find(&start)
        .unwrap_or_else(|| panic!("{start} in README.md"));
    let e = text
        .find(&end)
        .unwrap_or_else(|| panic!("{end} in README.md"));
    text[s..e]
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_start_matches("run: ")
        })
        .filter(|l| l.starts_with("hopscope "))
        .map(str::to_string)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A checkout: the demo under `nginx/`, and `hopscope` on PATH.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        &dir.path().join("nginx"),
    );
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hopscope"), bin.join("hopscope")).unwrap();
    dir
}

fn sh(dir: &Path, cwd: &Path, line: &str) -> (i32, String) {
    let out = Command::new("sh")
        .args(["-c", line])
        .current_dir(cwd)
        .env("PATH", format!("{}:/bin", dir.join("bin").display()))
        .output()
        .expect("sh runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_github_actions_job_runs_as_written() {
    let cmds = commands("github");
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let repo = checkout();
    let (code, _) = sh(repo.path(), repo.path(), &cmds[0]);
    assert_eq!(code, 0, "the SARIF step goes on past findings: {}", cmds[0]);
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("hopscope.sarif")).unwrap())
            .expect("SARIF");
    assert_eq!(sarif["version"], "2.1.0");
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"];
    assert_eq!(
        uri, "nginx/conf.d/api-gateway.conf",
        "paths from the checkout"
    );
    let (code, out) = sh(repo.path(), repo.path(), &cmds[1]);
    assert_eq!(code, 1, "annotations fail the job on the demo's findings");
    assert!(out
        .lines()
        .next()
        .is_some_and(|l| l.starts_with("::warning file=nginx/conf.d/api-gateway.conf,line=18,")));
}

#[test]
fn the_gitlab_job_runs_as_written() {
    let cmds = commands("gitlab");
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let repo = checkout();
    let (code, _) = sh(repo.path(), repo.path(), &cmds[0]);
    assert_eq!(code, 0, "{}", cmds[0]);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(repo.path().join("gl-code-quality-report.json")).unwrap(),
    )
    .expect("Code Quality JSON");
    assert_eq!(
        report[0]["location"]["path"],
        "nginx/conf.d/api-gateway.conf"
    );
    let (code, out) = sh(repo.path(), repo.path(), &cmds[1]);
    assert_eq!(code, 1, "the demo has high findings: {out}");
    assert!(out.contains("high"), "{out}");
}

#[test]
fn the_pre_commit_hook_checks_the_tree() {
    let hooks = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/.pre-commit-hooks.yaml"
    ))
    .expect(".pre-commit-hooks.yaml at the repository root");
    let field = |key: &str| {
        hooks
            .lines()
            .find_map(|l| l.trim_start_matches("- ").trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in the hook"))
            .trim()
            .to_string()
    };
    assert_eq!(field("id:"), "hopscope");
    assert_eq!(field("entry:"), "hopscope check");
    assert_eq!(field("pass_filenames:"), "false");
    assert_eq!(field("args:"), "[\".\"]");
    // pre-commit runs `entry args` in the repository root.
    let repo = checkout();
    let (code, out) = sh(
        repo.path(),
        &repo.path().join("nginx"),
        "hopscope check \".\"",
    );
    assert_eq!(code, 1, "the demo's findings stop the commit");
    assert!(out.contains("conf.d/api-gateway.conf:18"), "{out}");
}
