//! One report for many servers (`check --ssh-hosts`): text grouped by host
//! with a summary table, `hopscope.fleet/1` JSON, and one SARIF run whose
//! results carry their host. A host that could not be audited is always
//! reported (its error in the text, `error` in JSON, a tool execution
//! notification in SARIF), never skipped.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Map, Value};
use serde_sarif::sarif::{Tool, ToolComponent};

use super::text::Paint;
use crate::diagnostic::Finding;
use crate::model::Model;
use crate::rules::Rule;
use crate::visible::visible;

pub const SCHEMA: &str = "hopscope.fleet/1";

/// A host that was analysed: its model and the findings that passed the filters.
pub struct Audited {
    pub model: Model,
    pub findings: Vec<Finding>,
}

/// One host of the fleet and what came of auditing it.
pub struct HostAudit {
    /// The host as the inventory names it.
    pub host: String,
    /// The audit, or why the host could not be audited (`ssh web1: …`).
    pub result: Result<Audited, String>,
}

impl HostAudit {
    fn active(&self) -> impl Iterator<Item = &Finding> {
        self.result
            .iter()
            .flat_map(|a| a.findings.iter())
            .filter(|f| f.suppressed.is_none())
    }

    /// Whether the host was not (fully) audited: unreachable, or part of
    /// its configuration could not be loaded.
    pub fn failed(&self) -> bool {
        match &self.result {
            Err(_) => true,
            Ok(a) => a.model.errors().next().is_some(),
        }
    }
}

/// 2 when a host could not be audited (or had load errors), else 1 when
/// an unsuppressed finding remains, else 0.
pub fn status(hosts: &[HostAudit]) -> u8 {
    if hosts.iter().any(HostAudit::failed) {
        2
    } else if hosts.iter().any(|h| h.active().next().is_some()) {
        1
    } else {
        0
    }
}

fn paint(p: Paint, text: &str, code: &str) -> String {
    if p.color && !text.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Unsuppressed findings per rule id, in the order of `rules` (rules with
/// none left out), for every host.
fn columns<'r>(hosts: &[HostAudit], rules: &[&'r Rule]) -> Vec<&'r str> {
    rules
        .iter()
        .map(|r| r.id)
        .filter(|id| hosts.iter().any(|h| h.active().any(|f| f.rule == *id)))
        .collect()
}

/// The text report: each host's diagnostics under its name, then a table
/// of hosts × rules with counts of unsuppressed findings.
pub fn text(hosts: &[HostAudit], rules: &[&Rule], p: Paint) -> String {
    let mut out = String::new();
    for h in hosts {
        let _ = writeln!(
            out,
            "{}",
            paint(p, &format!("== {} ==", visible(&h.host)), "1")
        );
        match &h.result {
            Ok(a) => out.push_str(&super::text::render(&a.model, &a.findings, p)),
            Err(e) => {
                let e = e.to_string();
                let _ = writeln!(out, "{}: {}", paint(p, "error", "1;31"), visible(&e));
            }
        }
        out.push('\n');
    }
    out.push_str(&summary_table(hosts, rules, p));
    out
}

/// The closing table, and a line with the totals.
pub fn summary_table(hosts: &[HostAudit], rules: &[&Rule], p: Paint) -> String {
    let cols = columns(hosts, rules);
    let mut header: Vec<String> = vec!["host".into()];
    header.extend(cols.iter().map(|c| c.to_string()));
    header.push("total".into());
    let mut rows: Vec<(Vec<String>, Option<String>)> = Vec::new();
    for h in hosts {
        let mut row = vec![visible(&h.host).into_owned()];
        match &h.result {
            Ok(a) => {
                for c in &cols {
                    let n = h.active().filter(|f| f.rule == *c).count();
                    row.push(if n == 0 { "-".into() } else { n.to_string() });
                }
                row.push(h.active().count().to_string());
                let errors = a.model.errors().count();
                let note = (errors > 0)
                    .then(|| format!("{errors} load error{}", if errors == 1 { "" } else { "s" }));
                rows.push((row, note));
            }
            Err(e) => {
                row.extend(std::iter::repeat("?".to_string()).take(cols.len() + 1));
                let e = e.to_string();
                rows.push((row, Some(format!("not audited: {}", visible(&e)))));
            }
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            std::iter::once(&header)
                .chain(rows.iter().map(|(r, _)| r))
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        s
    };
    let audited = hosts.iter().filter(|h| h.result.is_ok()).count();
    let failed = hosts.len() - audited;
    let total: usize = hosts.iter().map(|h| h.active().count()).sum();
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint(p, &line(&header), "1"));
    for (row, note) in &rows {
        let mut l = line(row);
        if let Some(n) = note {
            l.push_str("  ");
            l.push_str(&paint(p, n, "1;31"));
        }
        let _ = writeln!(out, "{}", l.trim_end());
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut last = format!("{}: {} audited", plural(hosts.len(), "host"), audited);
    if failed > 0 {
        let _ = write!(
            last,
            ", {}",
            paint(p, &format!("{failed} could not be audited"), "1;31")
        );
    }
    let _ = write!(last, "; {}", plural(total, "finding"));
    let _ = writeln!(out, "{last}");
    out
}

/// Counts of unsuppressed findings by key.
fn count<'a>(items: impl Iterator<Item = &'a str>) -> Value {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for k in items {
        *m.entry(k).or_default() += 1;
    }
    json!(m)
}

/// The `hopscope.fleet/1` document.
pub fn json(hosts: &[HostAudit]) -> Value {
    let list: Vec<Value> = hosts
        .iter()
        .map(|h| match &h.result {
            Ok(a) => json!({
                "host": h.host,
                "error": null,
                "nginx_version": a.model.version.to_string(),
                "nginx_version_source": a.model.version_choice.from.as_str(),
                "errors": super::hops::errors_json(&a.model),
                "hops": a.model.hops.len(),
                "findings": a.findings.iter().map(|f| super::findings::finding_json(&a.model, f)).collect::<Vec<_>>(),
            }),
            Err(e) => json!({
                "host": h.host,
                "error": e,
                "nginx_version": null,
                "nginx_version_source": null,
                "errors": [],
                "hops": null,
                "findings": [],
            }),
        })
        .collect();
    let by_host: Map<String, Value> = hosts
        .iter()
        .filter(|h| h.result.is_ok())
        .map(|h| (h.host.clone(), count(h.active().map(|f| f.rule))))
        .collect();
    let audited = hosts.iter().filter(|h| h.result.is_ok()).count();
    let all = || hosts.iter().flat_map(HostAudit::active);
    let suppressed: usize = hosts
        .iter()
        .flat_map(|h| h.result.iter())
        .map(|a| a.findings.iter().filter(|f| f.suppressed.is_some()).count())
        .sum();
    json!({
        "schema": SCHEMA,
        "hosts": list,
        "summary": {
            "hosts": hosts.len(),
            "audited": audited,
            "failed": hosts.len() - audited,
            "findings": all().count(),
            "suppressed": suppressed,
            "by_rule": count(all().map(|f| f.rule)),
            "by_severity": count(all().map(|f| f.severity.as_str())),
            "by_host": by_host,
        },
    })
}

/// `ssh://HOST` with the host percent-encoded for a URI authority.
fn ssh_authority(host: &str) -> String {
    let mut out = String::from("ssh://");
    for b in host.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@:[]".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Points every artifact location at the host: `file:///etc/nginx/x` →
/// `ssh://HOST/etc/nginx/x` (a relative URI is put below the host too).
fn rewrite_uris(v: &mut Value, host: &str) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(loc)) = m.get_mut("artifactLocation") {
                if let Some(uri) = loc.get("uri").and_then(Value::as_str) {
                    let path = match uri.strip_prefix("file://") {
                        Some(abs) => abs.to_string(),
                        None => format!("/{}", uri.trim_start_matches('/')),
                    };
                    let new = format!("{}{path}", ssh_authority(host));
                    loc.insert("uri".into(), Value::String(new));
                    loc.remove("uriBaseId");
                }
            }
            for (_, child) in m.iter_mut() {
                rewrite_uris(child, host);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite_uris(c, host)),
        _ => {}
    }
}

/// The tool section: hopscope and the rules that ran.
fn tool(rules: &[&Rule]) -> Value {
    let driver = ToolComponent::builder()
        .name("hopscope")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(super::sarif::INFORMATION_URI)
        .rules(
            rules
                .iter()
                .map(|r| super::sarif::rule_descriptor(r))
                .collect::<Vec<_>>(),
        )
        .build();
    serde_json::to_value(Tool::builder().driver(driver).build()).unwrap_or(Value::Null)
}

/// One SARIF 2.1.0 run for the whole fleet: every host's results with
/// `ssh://HOST/…` artifact URIs, `properties.host`, and fingerprints that
/// include the host; hosts that could not be audited (and load errors) as
/// tool execution notifications.
pub fn sarif(hosts: &[HostAudit], rules: &[&Rule]) -> Value {
    let key = super::sarif::FINGERPRINT_KEY;
    let mut results: Vec<Value> = Vec::new();
    let mut notes: Vec<Value> = Vec::new();
    for h in hosts {
        match &h.result {
            Err(e) => notes.push(json!({
                "level": "error",
                "message": {"text": e},
                "properties": {"host": h.host},
            })),
            Ok(a) => {
                let mut doc = super::sarif::to_json(&a.model, rules, &a.findings, None);
                let run = &mut doc["runs"][0];
                if let Some(list) = run["results"].as_array_mut() {
                    for mut r in std::mem::take(list) {
                        rewrite_uris(&mut r, &h.host);
                        if let Some(fp) = r["partialFingerprints"][key].as_str() {
                            let (hash, n) = fp.split_once(':').unwrap_or((fp, "1"));
                            let new = format!(
                                "{:016x}:{n}",
                                super::sarif::fnv1a(&format!("{}\0{hash}", h.host))
                            );
                            r["partialFingerprints"][key] = Value::String(new);
                        }
                        if let Some(props) = r["properties"].as_object_mut() {
                            props.insert("host".into(), json!(h.host));
                        } else {
                            r["properties"] = json!({"host": h.host});
                        }
                        results.push(r);
                    }
                }
                let inv = &run["invocations"][0]["toolExecutionNotifications"];
                for n in inv.as_array().into_iter().flatten() {
                    let text = n["message"]["text"].as_str().unwrap_or_default();
                    notes.push(json!({
                        "level": n["level"].clone(),
                        "message": {"text": format!("{}: {text}", h.host)},
                        "properties": {"host": h.host},
                    }));
                }
            }
        }
    }
    let audited = hosts.iter().filter(|h| h.result.is_ok()).count();
    let mut invocation = json!({"executionSuccessful": audited == hosts.len()});
    if !notes.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notes);
    }
    let host_list: Vec<Value> = hosts
        .iter()
        .map(|h| json!({"host": h.host, "error": h.result.as_ref().err()}))
        .collect();
    json!({
        "$schema": super::sarif::SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": tool(rules),
            "results": results,
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "properties": {"schema": SCHEMA, "hosts": host_list},
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{hop_finding, model, TEST_RULE};

    const CONF: &str = "http {\n    server {\n        location / { proxy_pass https://api.example.com; }\n    }\n}\n";

    fn fleet() -> Vec<HostAudit> {
        let m = model(&[("nginx.conf", CONF)]);
        let f = vec![hop_finding(&m, "a"), hop_finding(&m, "b")];
        let m2 = model(&[("nginx.conf", CONF)]);
        let f2 = vec![hop_finding(&m2, "a")];
        vec![
            HostAudit {
                host: "web1".into(),
                result: Ok(Audited {
                    model: m,
                    findings: f,
                }),
            },
            HostAudit {
                host: "web2".into(),
                result: Err(
                    "ssh web2: connect to host 127.0.0.1 port 1: Connection refused".into(),
                ),
            },
            HostAudit {
                host: "root@web3".into(),
                result: Ok(Audited {
                    model: m2,
                    findings: f2,
                }),
            },
        ]
    }

    #[test]
    fn text_groups_by_host_and_ends_with_a_table() {
        let hosts = fleet();
        let t = text(&hosts, &[&TEST_RULE], Paint::new(false));
        let w1 = t.find("== web1 ==").unwrap();
        let w2 = t.find("== web2 ==").unwrap();
        assert!(w1 < w2);
        assert!(t.contains("error: ssh web2: connect to host 127.0.0.1 port 1: Connection refused"));
        assert!(t.contains("host       test-rule  total\n"), "{t}");
        assert!(t.contains("\nweb1               2      2\n"), "{t}");
        assert!(
            t.contains("\nweb2               ?      ?  not audited: ssh web2:"),
            "{t}"
        );
        assert!(
            t.ends_with("3 hosts: 2 audited, 1 could not be audited; 3 findings\n"),
            "{t}"
        );
        assert_eq!(status(&hosts), 2);
        assert_eq!(status(&hosts[..1]), 1);
    }

    #[test]
    fn the_json_document() {
        let v = json(&fleet());
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["hosts"][0]["host"], "web1");
        assert_eq!(v["hosts"][0]["error"], Value::Null);
        assert_eq!(v["hosts"][0]["findings"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["hosts"][0]["findings"][0]["rule"], "test-rule");
        assert!(v["hosts"][1]["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"));
        assert_eq!(v["hosts"][1]["nginx_version"], Value::Null);
        assert_eq!(v["summary"]["hosts"], 3);
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["summary"]["findings"], 3);
        assert_eq!(v["summary"]["by_rule"]["test-rule"], 3);
        assert_eq!(v["summary"]["by_host"]["root@web3"]["test-rule"], 1);
    }

    #[test]
    fn one_sarif_run_with_hosts() {
        let v = sarif(&fleet(), &[&TEST_RULE]);
        let parsed: serde_sarif::sarif::Sarif =
            serde_json::from_value(v.clone()).expect("valid SARIF types");
        assert_eq!(parsed.runs.len(), 1);
        let run = &v["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let loc = &results[0]["locations"][0]["physicalLocation"]["artifactLocation"];
        // The test models name files relative to the prefix.
        assert_eq!(loc["uri"], "ssh://web1/nginx.conf");
        assert!(loc.get("uriBaseId").is_none());
        assert_eq!(results[2]["properties"]["host"], "root@web3");
        assert_eq!(
            results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "ssh://root@web3/nginx.conf"
        );
        let fp = |i: usize| {
            results[i]["partialFingerprints"][super::super::sarif::FINGERPRINT_KEY].clone()
        };
        assert_ne!(fp(0), fp(2), "the same finding on two hosts is two alerts");
        let notes = run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["properties"]["host"], "web2");
        assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    }
}
