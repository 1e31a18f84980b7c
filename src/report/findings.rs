//! Findings as the contract's FINDING objects (in `hops --json` and
//! `check --format json`), and the `hopscope.check/1` document.

use serde_json::{json, Value};

use crate::fix::{Change, Fix, FixValue};
use crate::model::{DirRef, Model};
use crate::rules::Finding;

/// The text edits of a finding's fix, as the `edits` array of FINDING
/// (rendered by the fix engine; the SARIF `fixes` are built from them too).
pub fn edits(model: &Model, finding: &Finding) -> Value {
    crate::fix::edits_json(model, finding)
}

/// One finding as the contract's FINDING object.
pub fn finding_json(model: &Model, f: &Finding) -> Value {
    let (line, column) = model.line_col(f.at);
    let hop = f.hop.and_then(|i| model.hops.get(i)).map(|h| h.id.as_str());
    let related: Vec<Value> = f
        .related
        .iter()
        .map(|r| place(model, r.dir, &r.label))
        .collect();
    json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "hop": hop,
        "file": model.file_name(f.at),
        "line": line,
        "column": column,
        "message": f.message,
        "fix": f.fix.as_ref().map(|fix| fix_json(model, f, fix)),
        "related": related,
        "suppressed": f.suppressed.as_ref().map(|reason| json!({"reason": reason})),
    })
}

fn place(model: &Model, dir: DirRef, label: &str) -> Value {
    let (line, column) = model.line_col(dir);
    json!({"file": model.file_name(dir), "line": line, "column": column, "label": label})
}

/// The `fix` object of a finding.
pub fn fix_json(model: &Model, f: &Finding, fix: &Fix) -> Value {
    json!({
        "summary": fix.summary,
        "applicability": fix.applicability.as_str(),
        "changes": fix.changes.iter().map(change_json).collect::<Vec<_>>(),
        "edits": edits(model, f),
    })
}

/// One proposed change: `value` is the literal value, or null when a
/// person must supply it (`input` then says what is asked for).
pub fn change_json(c: &Change) -> Value {
    let (directive, header, value) = match c {
        Change::Set { directive, value } => (directive, None, value),
        Change::SetHeader {
            directive,
            header,
            value,
        } => (directive, Some(header), value),
    };
    let (literal, input) = match value {
        FixValue::Literal(v) => (Some(v.as_str()), None),
        FixValue::Input {
            key,
            prompt,
            proposal,
        } => (
            None,
            Some(json!({"key": key, "prompt": prompt, "proposal": proposal})),
        ),
    };
    json!({"directive": directive, "header": header, "value": literal, "input": input})
}

/// The findings of each hop, by hop index (findings not about a hop are left out).
pub fn by_hop<'a>(model: &Model, findings: &'a [Finding]) -> Vec<Vec<&'a Finding>> {
    let mut out = vec![Vec::new(); model.hops.len()];
    for f in findings {
        if let Some(list) = f.hop.and_then(|i| out.get_mut(i)) {
            list.push(f);
        }
    }
    out
}

/// The whole `check --format json` document (`hopscope.check/1`).
pub fn check_document(model: &Model, findings: &[Finding]) -> Value {
    json!({
        "schema": "hopscope.check/1",
        "nginx_version": model.version.to_string(),
        "errors": super::hops::errors_json(model),
        "findings": findings.iter().map(|f| finding_json(model, f)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Applicability;
    use crate::report::testing::{dir, hop_finding, model};

    const CONF: &str = "http {\n    proxy_ssl_verify off;\n    server {\n        location / { proxy_pass https://api.example.com; }\n    }\n}\n";

    #[test]
    fn a_finding_has_every_contract_field() {
        let m = model(&[("nginx.conf", CONF)]);
        let mut f = hop_finding(&m, "msg")
            .with_related(dir(&m, "nginx.conf", "proxy_ssl_verify"), "set here")
            .with_fix(Some(Fix::new(
                "verify",
                Applicability::NeedsReview,
                vec![
                    Change::Set {
                        directive: "proxy_ssl_verify".into(),
                        value: FixValue::literal("on"),
                    },
                    Change::Set {
                        directive: "proxy_ssl_trusted_certificate".into(),
                        value: FixValue::Input {
                            key: "ca-file",
                            prompt: "CA bundle".into(),
                            proposal: Some("/etc/ssl/certs/ca-certificates.crt".into()),
                        },
                    },
                ],
            )));
        f.suppressed = Some("reviewed".into());
        let mut v = finding_json(&m, &f);
        // The edits are the fix engine's; here only their presence matters.
        let edits = v["fix"]["edits"].take();
        assert!(
            edits
                .as_array()
                .is_some_and(|e| !e.is_empty() && e.iter().all(|e| e["insert"].is_string())),
            "{edits}"
        );
        v["fix"]["edits"] = json!([]);
        assert_eq!(
            v,
            json!({
                "rule": "test-rule", "severity": "high", "hop": "nginx.conf:4",
                "file": "nginx.conf", "line": 4, "column": 22, "message": "msg",
                "fix": {
                    "summary": "verify", "applicability": "needs-review",
                    "changes": [
                        {"directive": "proxy_ssl_verify", "header": null, "value": "on", "input": null},
                        {"directive": "proxy_ssl_trusted_certificate", "header": null, "value": null,
                         "input": {"key": "ca-file", "prompt": "CA bundle",
                                   "proposal": "/etc/ssl/certs/ca-certificates.crt"}}
                    ],
                    "edits": []
                },
                "related": [{"file": "nginx.conf", "line": 2, "column": 5, "label": "set here"}],
                "suppressed": {"reason": "reviewed"}
            })
        );
        let plain = finding_json(&m, &hop_finding(&m, "m"));
        assert_eq!(plain["fix"], Value::Null);
        assert_eq!(plain["suppressed"], Value::Null);
    }

    #[test]
    fn the_check_document() {
        let m = model(&[("nginx.conf", CONF)]);
        let doc = check_document(&m, &[hop_finding(&m, "m")]);
        assert_eq!(doc["schema"], "hopscope.check/1");
        assert_eq!(doc["nginx_version"], m.version.to_string());
        assert_eq!(doc["errors"], json!([]));
        assert_eq!(doc["findings"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn findings_group_by_hop() {
        let m = model(&[("nginx.conf", CONF)]);
        let mut loose = hop_finding(&m, "not about a hop");
        loose.hop = None;
        let all = [hop_finding(&m, "a"), loose, hop_finding(&m, "b")];
        let groups = by_hop(&m, &all);
        assert_eq!(groups.len(), 1);
        let msgs: Vec<&str> = groups[0].iter().map(|f| f.message.as_str()).collect();
        assert_eq!(msgs, ["a", "b"]);
    }
}
