//! Shared by tests/cli_settings.rs and tests/cli_baseline.rs: the real
//! binary run in a directory, and a copy of the demo tree to run it on.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn hopscope(cwd: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(args)
        .env("PATH", "/nonexistent")
        .env_remove("NO_COLOR")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A temporary directory holding `repo/tree`, a copy of the demo.
pub fn repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        &repo.join("tree"),
    );
    (dir, repo)
}

pub fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

pub fn findings(out: &Out) -> Vec<Value> {
    json(out)["findings"].as_array().unwrap().clone()
}

pub fn rules_of(out: &Out) -> Vec<String> {
    findings(out)
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}
