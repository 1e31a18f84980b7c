//! Findings as SARIF 2.1.0, the format GitHub code scanning uploads.
//!
//! Built on the `serde-sarif` types, which are generated from the SARIF
//! JSON schema, so property names and nesting cannot drift from the spec.
//!
//! Artifact URIs are relative to `%SRCROOT%`, the directory the scan runs
//! in (the repository checkout in CI): a file below the current directory
//! is named by its path from there; any other file by its display name
//! when that is relative, else by an absolute `file://` URI.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path};

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, Fix as SarifFix, Invocation, Location,
    Message, MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    Replacement, ReportingConfiguration, ReportingDescriptor, Result, ResultLevel, Run, Sarif,
    Suppression, Tool, ToolComponent,
};

use crate::conf::{FileId, LoadError, LoadedFrom};
use crate::diagnostic::{without_line_numbers, Applicability, Finding, Severity};
use crate::model::{DirRef, Model};
use crate::rules::Rule;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/hopscope/hopscope";
/// Where the README documents the rules (its rules table).
pub const RULES_HELP_URI: &str = "https://github.com/hopscope/hopscope#rules";
/// The key of the partial fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "hopscopeFindingHash/v1";
const SRCROOT: &str = "%SRCROOT%";

/// The SARIF level of a severity.
pub fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn level_str(severity: Severity) -> &'static str {
    match level(severity) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// GitHub's `security-severity` (a CVSS-like score: 9.0+ critical,
/// 7.0–8.9 high, 4.0–6.9 medium, below low). `info` has none.
pub fn security_severity(severity: Severity) -> Option<&'static str> {
    match severity {
        Severity::Error => Some("8.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

/// `sni-off` → `SniOff`.
pub fn pascal_case(id: &str) -> String {
    id.split(['-', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn text(s: impl Into<String>) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s).build()
}

fn message(s: impl Into<String>) -> Message {
    Message::builder().text(s).build()
}

/// The rule's documentation as Markdown (for `help.markdown`).
pub fn help_markdown(rule: &Rule) -> String {
    let d = &rule.doc;
    format!(
        "**{id}** ({sev}): {summary}\n\n## What it does\n{what}\n\n## Why is this bad\n{why}\n\n## Example\n```nginx\n{example}\n```\n\n## Use instead\n```nginx\n{instead}\n```\n\n## Fix safety\n{fix}\n",
        id = rule.id,
        sev = rule.severity,
        summary = rule.summary,
        what = d.what.trim(),
        why = d.why.trim(),
        example = d.example.trim_matches('\n').trim_end(),
        instead = d.use_instead.trim_matches('\n').trim_end(),
        fix = d.fix_safety.trim(),
    )
}

/// One `reportingDescriptor` of `tool.driver.rules`.
pub fn rule_descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut props = BTreeMap::new();
    if let Some(score) = security_severity(rule.severity) {
        props.insert("security-severity".to_string(), json!(score));
    }
    props.insert("precision".to_string(), json!("high"));
    let mut tags = vec![
        "security".to_string(),
        "nginx".to_string(),
        "tls".to_string(),
    ];
    if rule.severity == Severity::Error {
        tags.push("correctness".to_string());
    }
    ReportingDescriptor::builder()
        .id(rule.id)
        .name(pascal_case(rule.id))
        .short_description(text(rule.summary))
        .full_description(text(rule.doc.what.trim()))
        .help(
            MultiformatMessageString::builder()
                .text(rule.explain())
                .markdown(help_markdown(rule))
                .build(),
        )
        .help_uri(RULES_HELP_URI)
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_str(rule.severity)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(props)
                .build(),
        )
        .build()
}

/// Percent-encodes a path for a URI (keeps `/` and unreserved characters).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a/b/c` from a relative path (no `..`), with `/` separators.
fn relative_slashes(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The artifact location of a file (see the module documentation).
pub fn artifact_location(model: &Model, file: FileId, cwd: Option<&Path>) -> ArtifactLocation {
    let src = model.config.file(file);
    let from_cwd = (model.config.loaded_from == LoadedFrom::Disk && src.on_disk)
        .then_some(cwd)
        .flatten()
        .and_then(|cwd| src.path.strip_prefix(cwd).ok())
        .and_then(relative_slashes);
    let relative = from_cwd.or_else(|| relative_slashes(Path::new(&src.name)));
    match relative {
        Some(rel) => ArtifactLocation::builder()
            .uri(encode_path(&rel))
            .uri_base_id(SRCROOT)
            .build(),
        None => {
            let abs = src.name.replace('\\', "/");
            let abs = if abs.starts_with('/') {
                abs
            } else {
                format!("/{abs}")
            };
            ArtifactLocation::builder()
                .uri(format!("file://{}", encode_path(&abs)))
                .build()
        }
    }
}

fn region(model: &Model, dir: DirRef) -> Region {
    let src = model.config.file(dir.file);
    let range = model.dir(dir).range;
    let (line, col) = src.line_col(range.start);
    let (end_line, end_col) = src.line_col(range.end);
    Region::builder()
        .start_line(i64::from(line.max(1)))
        .start_column(i64::from(col.max(1)))
        .end_line(i64::from(end_line.max(line).max(1)))
        .end_column(i64::from(end_col.max(1)))
        .build()
}

fn location(model: &Model, dir: DirRef, cwd: Option<&Path>) -> PhysicalLocation {
    PhysicalLocation::builder()
        .artifact_location(artifact_location(model, dir.file, cwd))
        .region(region(model, dir))
        .build()
}

/// FNV-1a, 64 bits: stable across platforms and releases. The only hash
/// of the fingerprints (the fleet report's too): changing it changes every
/// fingerprint users have stored.
pub(crate) fn fnv1a(data: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The line-independent identity of a finding: rule, file of the hop (or
/// the finding), the directive's text and the message without line numbers.
/// For a pass directive reached through several include paths, also the
/// path: each include's file and text, and where the hop lives (server
/// and locations), so that the hops of one line keep fingerprints of
/// their own.
pub fn fingerprint_key(model: &Model, f: &Finding) -> String {
    let hop = f
        .hop
        .and_then(|i| model.hops.get(i))
        .map_or_else(|| model.file_name(f.dir).to_string(), |h| h.file.clone());
    let line_of = |d: DirRef| {
        let src = model.config.file(d.file);
        let text = src.line_text(src.line_of(model.dir(d).range.start));
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let mut key = format!(
        "{}\0{}\0{}\0{}",
        f.rule,
        hop,
        line_of(f.dir),
        without_line_numbers(&f.message)
    );
    if let Some(h) = f.hop.filter(|&h| !model.other_paths(h).is_empty()) {
        let h = &model.hops[h];
        for &d in &h.via {
            key.push('\0');
            key.push_str(model.file_name(d));
            key.push(' ');
            key.push_str(&line_of(d));
        }
        key.push('\0');
        key.push_str(&h.listen.join(","));
        key.push('\0');
        key.push_str(&crate::report::labels::place(h, " > "));
    }
    key
}

/// SARIF `fixes` from the finding's contract edits (none for a fix that is
/// advice only, or whose edits need a value a person must give).
fn fixes(model: &Model, f: &Finding, cwd: Option<&Path>) -> Option<Vec<SarifFix>> {
    let fix = f.fix.as_ref()?;
    if fix.applicability == Applicability::DisplayOnly {
        return None;
    }
    let edits = super::findings::edits(model, f);
    let mut by_file: BTreeMap<FileId, Vec<Replacement>> = BTreeMap::new();
    for e in edits.as_array()? {
        let file = model.config.file_named(e["file"].as_str()?)?;
        let src = model.config.file(file);
        let start = u32::try_from(e["start"].as_u64()?).ok()?;
        let end = u32::try_from(e["end"].as_u64()?).ok()?;
        let (start_line, start_column) = src.line_col(start);
        let (end_line, end_column) = src.line_col(end.max(start));
        let region = Region::builder()
            .start_line(i64::from(start_line))
            .start_column(i64::from(start_column))
            .end_line(i64::from(end_line))
            .end_column(i64::from(end_column))
            .build();
        let content = ArtifactContent::builder()
            .text(e["insert"].as_str()?)
            .build();
        by_file.entry(file).or_default().push(
            Replacement::builder()
                .deleted_region(region)
                .inserted_content(content)
                .build(),
        );
    }
    if by_file.is_empty() {
        return None;
    }
    let changes = by_file
        .into_iter()
        .map(|(file, replacements)| {
            ArtifactChange::builder()
                .artifact_location(artifact_location(model, file, cwd))
                .replacements(replacements)
                .build()
        })
        .collect::<Vec<_>>();
    Some(vec![SarifFix::builder()
        .description(message(fix.summary.clone()))
        .artifact_changes(changes)
        .build()])
}

fn notification(e: &LoadError) -> Notification {
    Notification::builder()
        .level(json!("error"))
        .message(message(e.to_string()))
        .build()
}

/// The SARIF log for a check. `rules` are the rules that ran (they become
/// `tool.driver.rules`); `cwd` is where the scan runs (`%SRCROOT%`).
pub fn document(model: &Model, rules: &[&Rule], findings: &[Finding], cwd: Option<&Path>) -> Sarif {
    let descriptors: Vec<ReportingDescriptor> = rules.iter().map(|r| rule_descriptor(r)).collect();
    let driver = ToolComponent::builder()
        .name("hopscope")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(descriptors)
        .build();

    let mut seen: HashMap<u64, u32> = HashMap::new();
    let results: Vec<Result> = findings
        .iter()
        .map(|f| {
            let hash = fnv1a(&fingerprint_key(model, f));
            let n = seen.entry(hash).or_insert(0);
            *n += 1;
            let mut fp = BTreeMap::new();
            fp.insert(FINGERPRINT_KEY.to_string(), format!("{hash:016x}:{n}"));
            // A pass directive reached through several include paths: the
            // includes on this hop's path are part of where it is.
            let path = f
                .hop
                .filter(|&h| !model.other_paths(h).is_empty())
                .map(|h| &model.hops[h]);
            let includes = path.map_or(&[][..], |h| h.via.as_slice());
            let related: Vec<Location> = f
                .related
                .iter()
                .map(|r| (r.dir, r.label.clone()))
                .chain(includes.iter().map(|&d| {
                    let id = path.map_or("", |h| h.id.as_str());
                    (d, format!("include on the path to hop {id}"))
                }))
                .enumerate()
                .map(|(i, (dir, label))| {
                    Location::builder()
                        .id(i as i64)
                        .physical_location(location(model, dir, cwd))
                        .message(message(label))
                        .build()
                })
                .collect();
            let mut text = match path.and_then(|h| crate::report::labels::via(model, h)) {
                Some(via) => format!("{} (via {via})", f.message),
                None => f.message.clone(),
            };
            // What a probe saw (`check --probe`), on its own line; its
            // severity change is in `level` already.
            if let Some(e) = &f.evidence {
                text = format!("{text}\n{}", e.line());
            }
            let primary = Location::builder()
                .physical_location(location(model, f.dir, cwd))
                .build();
            let mut props = BTreeMap::new();
            props.insert("severity".to_string(), json!(f.severity.as_str()));
            if let Some(h) = f.hop.and_then(|i| model.hops.get(i)) {
                props.insert("hop".to_string(), json!(h.id));
            }
            if let Some(fix) = &f.fix {
                props.insert("fix".to_string(), json!(fix.summary));
            }
            if let Some(e) = &f.evidence {
                props.insert(
                    "evidence".to_string(),
                    crate::report::findings::evidence_json(e),
                );
            }
            let base = Result::builder()
                .rule_id(f.rule)
                .level(level(f.severity))
                .message(message(text))
                .locations(vec![primary])
                .partial_fingerprints(fp)
                .properties(PropertyBag::builder().additional_properties(props).build());
            let mut result = base.build();
            result.rule_index = rules.iter().position(|r| r.id == f.rule).map(|i| i as i64);
            if !related.is_empty() {
                result.related_locations = Some(related);
            }
            result.fixes = fixes(model, f, cwd);
            result.baseline_state = f.baseline.map(|b| json!(b.as_str()));
            if let Some(reason) = &f.suppressed {
                let mut s = Suppression::builder().kind(json!("inSource")).build();
                if !reason.is_empty() {
                    s.justification = Some(reason.clone());
                }
                result.suppressions = Some(vec![s]);
            }
            result
        })
        .collect();

    let errors: Vec<Notification> = model.errors().map(notification).collect();
    let mut invocation = Invocation::builder().execution_successful(true).build();
    if !errors.is_empty() {
        invocation.tool_execution_notifications = Some(errors);
    }
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// The SARIF log as pretty JSON.
pub fn to_json(model: &Model, rules: &[&Rule], findings: &[Finding], cwd: Option<&Path>) -> Value {
    serde_json::to_value(document(model, rules, findings, cwd)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{dir, hop_finding, model, TEST_RULE};

    const CONF: &str = "http {\n    proxy_ssl_verify off;\n    server {\n        location / { proxy_pass https://api.example.com; }\n    }\n}\n";

    fn doc(m: &Model, findings: &[Finding]) -> Value {
        to_json(m, &[&TEST_RULE], findings, None)
    }

    #[test]
    fn the_log_has_what_github_requires() {
        let m = model(&[
            ("nginx.conf", "include conf/main.conf;\n"),
            ("conf/main.conf", CONF),
        ]);
        let mut quiet = hop_finding(&m, "quiet");
        quiet.suppressed = Some("known".into());
        let f = hop_finding(&m, "loud")
            .with_related(dir(&m, "conf/main.conf", "proxy_ssl_verify"), "here");
        let v = doc(&m, &[f, quiet]);
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["$schema"], SCHEMA);
        let run = &v["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "hopscope");
        assert_eq!(driver["informationUri"], INFORMATION_URI);
        let rule = &driver["rules"][0];
        assert_eq!(rule["id"], "test-rule");
        assert_eq!(rule["name"], "TestRule");
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
        assert_eq!(rule["properties"]["security-severity"], "8.0");
        assert!(rule["help"]["markdown"]
            .as_str()
            .is_some_and(|s| s.contains("```nginx")));
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "test-rule");
        assert_eq!(r["ruleIndex"], 0);
        assert_eq!(r["level"], "error");
        assert_eq!(r["message"]["text"], "loud");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "conf/main.conf");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(loc["region"]["startLine"], 4);
        assert_eq!(loc["region"]["startColumn"], 22);
        assert_eq!(r["relatedLocations"][0]["message"]["text"], "here");
        assert_eq!(
            r["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
            2
        );
        assert!(r.get("suppressions").is_none());
        let s = &run["results"][1]["suppressions"][0];
        assert_eq!(s["kind"], "inSource");
        assert_eq!(s["justification"], "known");
    }

    #[test]
    fn fingerprints_ignore_line_numbers_and_tell_duplicates_apart() {
        let a = model(&[("nginx.conf", CONF)]);
        let moved = format!("\n\n# a comment\n{CONF}");
        let b = model(&[("nginx.conf", &moved)]);
        let fp = |m: &Model, msg: &str| {
            let v = doc(m, &[hop_finding(m, msg), hop_finding(m, msg)]);
            let key = |i: usize| {
                v["runs"][0]["results"][i]["partialFingerprints"][FINGERPRINT_KEY].clone()
            };
            (key(0), key(1))
        };
        let (a0, a1) = fp(&a, "set at nginx.conf:2");
        let (b0, _) = fp(&b, "set at nginx.conf:5");
        assert_eq!(a0, b0);
        assert_ne!(a0, a1);
        assert_ne!(fp(&a, "other").0, a0);
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        let m = model(&[
            ("nginx.conf", "include \"my conf/a.conf\";\n"),
            ("my conf/a.conf", CONF),
        ]);
        let file = m.config.file_named("my conf/a.conf").expect("loaded");
        let loc = artifact_location(&m, file, None);
        assert_eq!(loc.uri.as_deref(), Some("my%20conf/a.conf"));
        assert_eq!(loc.uri_base_id.as_deref(), Some("%SRCROOT%"));
    }

    #[test]
    fn literal_fixes_become_sarif_fixes() {
        use crate::diagnostic::{Change, Fix, FixValue};
        let m = model(&[("nginx.conf", CONF)]);
        let fix = |applicability| {
            Some(Fix::new(
                "send SNI",
                applicability,
                vec![Change::Set {
                    directive: "proxy_ssl_server_name".into(),
                    value: FixValue::literal("on"),
                }],
            ))
        };
        let f = hop_finding(&m, "m").with_fix(fix(Applicability::Safe));
        let v = doc(&m, &[f]);
        let fx = &v["runs"][0]["results"][0]["fixes"][0];
        assert_eq!(fx["description"]["text"], "send SNI");
        let change = &fx["artifactChanges"][0];
        assert_eq!(change["artifactLocation"]["uri"], "nginx.conf");
        let rep = &change["replacements"][0];
        assert!(rep["insertedContent"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("proxy_ssl_server_name on;")));
        assert!(rep["deletedRegion"]["startLine"]
            .as_i64()
            .is_some_and(|l| l >= 1));
        let advice = hop_finding(&m, "m").with_fix(fix(Applicability::DisplayOnly));
        assert!(doc(&m, &[advice])["runs"][0]["results"][0]
            .get("fixes")
            .is_none());
    }

    #[test]
    fn names() {
        assert_eq!(pascal_case("sni-off"), "SniOff");
        assert_eq!(pascal_case("host-sni-mismatch"), "HostSniMismatch");
        assert_eq!(
            without_line_numbers("a.conf:12 and 10.0.0.1:443"),
            "a.conf and 10.0.0.1"
        );
        assert_eq!(level_str(Severity::Medium), "warning");
        assert_eq!(level_str(Severity::Info), "note");
    }
}
