//! Findings in the formats CI systems read natively.
//!
//! - `github`: GitHub Actions workflow commands, one line per finding:
//!   `::error file=PATH,line=N,col=C,title=RULE::message`. Severities:
//!   error and high → `error`, medium → `warning`, low and info →
//!   `notice`. Data is escaped as GitHub's runner decodes it (`%` → `%25`,
//!   CR → `%0D`, LF → `%0A`); property values also get `:` → `%3A` and
//!   `,` → `%2C`. Any other control or bidi character is written as a
//!   visible escape (`\x1b`), so none reaches the log raw.
//! - `gitlab`: a GitLab Code Quality report (a JSON array of issues with
//!   `description`, `check_name`, `fingerprint`, `severity` and
//!   `location.path` / `location.lines.begin`). Severities: error →
//!   `blocker`, high → `critical`, medium → `major`, low → `minor`, info
//!   → `info`. The fingerprint is the SARIF partial fingerprint (same key,
//!   same hash, same duplicate counter), so both reports name a finding
//!   the same way across unrelated edits.
//!
//! Findings suppressed in the source (`# hopscope: ignore …`) are left out
//! of both: neither format can mark a finding as suppressed. A part of the
//! tree that could not be loaded is reported first, as an `::error` titled
//! `load-error` or a `blocker` issue named `load-error` (and on stderr).
//! Paths are those of SARIF: relative to the current directory for a tree
//! under it, else the file's display name.

use std::collections::HashMap;
use std::path::{Component, Path};

use serde_json::{json, Value};

use crate::conf::{FileId, LoadError, LoadedFrom};
use crate::diagnostic::{Finding, Severity};
use crate::model::{DirRef, Model};

/// The workflow command of a severity.
pub fn github_command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// The Code Quality severity of a severity.
pub fn gitlab_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "blocker",
        Severity::High => "critical",
        Severity::Medium => "major",
        Severity::Low => "minor",
        Severity::Info => "info",
    }
}

/// The Code Quality severities GitLab accepts.
pub const GITLAB_SEVERITIES: [&str; 5] = ["info", "minor", "major", "critical", "blocker"];

fn escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            c if crate::visible::is_unsafe(c) => {
                let mut buf = [0u8; 4];
                out.push_str(&crate::visible::visible(c.encode_utf8(&mut buf)));
            }
            c => out.push(c),
        }
    }
    out
}

/// A workflow command's message, escaped.
pub fn escape_data(s: &str) -> String {
    escape(s, false)
}

/// A workflow command's property value, escaped.
pub fn escape_property(s: &str) -> String {
    escape(s, true)
}

/// The path CI shows for a directive's file: relative to `cwd` for a file
/// of a tree loaded from disk below it, else the display name.
pub fn path_of(model: &Model, dir: DirRef, cwd: Option<&Path>) -> String {
    file_path(model, dir.file, cwd)
}

fn file_path(model: &Model, file: FileId, cwd: Option<&Path>) -> String {
    let src = model.config.file(file);
    let below = (model.config.loaded_from == LoadedFrom::Disk && src.on_disk)
        .then_some(cwd)
        .flatten()
        .and_then(|cwd| src.path.strip_prefix(cwd).ok())
        .and_then(|p| {
            let parts: Option<Vec<&str>> = p
                .components()
                .filter(|c| *c != Component::CurDir)
                .map(|c| match c {
                    Component::Normal(s) => s.to_str(),
                    _ => None,
                })
                .collect();
            parts.filter(|p| !p.is_empty()).map(|p| p.join("/"))
        });
    below.unwrap_or_else(|| src.name.clone())
}

fn reported(findings: &[Finding]) -> impl Iterator<Item = &Finding> {
    findings.iter().filter(|f| f.suppressed.is_none())
}

/// The path of a load error's file as CI shows it (its display name when
/// it is no file the configuration loaded), or None without a file.
fn error_path(model: &Model, e: &LoadError, cwd: Option<&Path>) -> Option<String> {
    if e.file.is_empty() {
        return None;
    }
    Some(
        model
            .config
            .file_named(&e.file)
            .map_or_else(|| e.file.clone(), |f| file_path(model, f, cwd)),
    )
}

/// GitHub workflow commands: one `::error` per load error (title
/// `load-error`), then one line per unsuppressed finding.
pub fn github(model: &Model, findings: &[Finding], cwd: Option<&Path>) -> String {
    let mut out = String::new();
    for e in model.errors() {
        let mut props = Vec::new();
        if let Some(path) = error_path(model, e, cwd) {
            props.push(format!("file={}", escape_property(&path)));
            if e.line > 0 {
                props.push(format!("line={}", e.line));
            }
        }
        props.push("title=load-error".to_string());
        out.push_str(&format!(
            "::error {}::{}\n",
            props.join(","),
            escape_data(&e.message)
        ));
    }
    for f in reported(findings) {
        let (line, col) = model.line_col(f.dir);
        out.push_str(&format!(
            "::{cmd} file={file},line={line},col={col},title={title}::{msg}\n",
            cmd = github_command(f.severity),
            file = escape_property(&path_of(model, f.dir, cwd)),
            line = line.max(1),
            col = col.max(1),
            title = escape_property(f.rule),
            msg = escape_data(&f.message),
        ));
    }
    out
}

/// The GitLab Code Quality report: one `blocker` issue per load error
/// (check `load-error`), then one issue per unsuppressed finding.
pub fn gitlab(model: &Model, findings: &[Finding], cwd: Option<&Path>) -> Value {
    let errors = model.errors().map(|e| {
        // GitLab needs a path: an error of no file is the main file's.
        let path = error_path(model, e, cwd)
            .or_else(|| (!model.config.files.is_empty()).then(|| file_path(model, FileId(0), cwd)))
            .unwrap_or_else(|| "nginx.conf".into());
        let key = format!("load-error\0{path}\0{}", e.message);
        json!({
            "type": "issue",
            "description": format!("load-error: {}", e.message),
            "check_name": "load-error",
            "fingerprint": format!("{:016x}:1", super::sarif::fnv1a(&key)),
            "severity": "blocker",
            "categories": ["Bug Risk"],
            "location": { "path": path, "lines": { "begin": e.line.max(1) } },
        })
    });
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let issues: Vec<Value> = errors.collect::<Vec<_>>();
    let findings: Vec<Value> = findings
        .iter()
        .map(|f| {
            // Counted over every finding, as SARIF counts: a suppressed
            // duplicate keeps the numbers of the others as they are there.
            let hash = super::sarif::fnv1a(&super::sarif::fingerprint_key(model, f));
            let n = seen.entry(hash).or_insert(0);
            *n += 1;
            (f, format!("{hash:016x}:{n}"))
        })
        .filter(|(f, _)| f.suppressed.is_none())
        .map(|(f, fingerprint)| {
            let (line, _) = model.line_col(f.dir);
            json!({
                "type": "issue",
                "description": format!("{}: {}", f.rule, f.message),
                "check_name": f.rule,
                "fingerprint": fingerprint,
                "severity": gitlab_severity(f.severity),
                "categories": ["Security"],
                "location": {
                    "path": path_of(model, f.dir, cwd),
                    "lines": { "begin": line.max(1) },
                },
            })
        })
        .collect();
    Value::Array(issues.into_iter().chain(findings).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("50% a\r\nb::c,d"), "50%25 a%0D%0Ab::c,d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(escape_data("x\u{1b}]52;y\u{7}"), "x\\x1b]52;y\\x07");
        assert_eq!(escape_data("\u{202e}"), "\\u{202e}");
    }

    #[test]
    fn every_severity_maps_to_an_accepted_value() {
        for s in Severity::ALL {
            assert!(GITLAB_SEVERITIES.contains(&gitlab_severity(s)));
            assert!(["error", "warning", "notice"].contains(&github_command(s)));
        }
        assert_eq!(github_command(Severity::Medium), "warning");
        assert_eq!(gitlab_severity(Severity::High), "critical");
    }
}
