//! Findings as the contract's FINDING objects (in `hops --json` and
//! `check --format json`), and the `hopscope.check/1` document.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use super::json::{to_value, write_pretty, ErrorsOut, Field, SeqMap, SeqOf};
use crate::diagnostic::{Change, Finding, Fix, FixValue};
use crate::fix::plan::{self, Placement, Values};
use crate::model::{DirRef, Model};

/// The text edits of a finding's fix, as the `edits` array of FINDING (the
/// SARIF `fixes` are built from them too): placed by the fix engine in the
/// hop's own block with proposed values, `[{"file", "line", "column",
/// "start", "end", "delete", "insert"}]` (byte offsets into the file as
/// loaded; `delete` is the text replaced, empty for an insertion). Empty
/// when the fix needs a value a person must give (see
/// [`crate::fix::needs`]) or is not about a hop.
pub fn edits(model: &Model, finding: &Finding) -> Value {
    let (Some(fix), Some(h)) = (&finding.fix, finding.hop) else {
        return Value::Array(Vec::new());
    };
    let edits = plan::edits(
        model,
        &model.hops[h],
        fix,
        Placement::Hop,
        &Values::default(),
    )
    .unwrap_or_default();
    Value::Array(
        edits
            .iter()
            .map(|e| {
                let f = model.config.file(e.file);
                let (line, column) = f.line_col(e.range.start);
                serde_json::json!({
                    "file": f.name,
                    "line": line,
                    "column": column,
                    "start": e.range.start,
                    "end": e.range.end,
                    "delete": f.str(e.range),
                    "insert": e.text,
                })
            })
            .collect(),
    )
}

/// One finding as the contract's FINDING object (keys in sorted order;
/// see `report::json`).
pub(crate) struct FindingOut<'a> {
    pub model: &'a Model,
    pub f: &'a Finding,
}

impl Serialize for FindingOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (model, f) = (self.model, self.f);
        let (line, column) = model.line_col(f.dir);
        let hop = f.hop.and_then(|i| model.hops.get(i)).map(|h| h.id.as_str());
        let mut m = s.serialize_map(None)?;
        if let Some(state) = f.baseline {
            m.serialize_entry("baseline", state.as_str())?;
        }
        m.serialize_entry("column", &column)?;
        // Only for a probed hop (`check --probe`): what the probe saw.
        if let Some(e) = &f.evidence {
            m.serialize_entry("evidence", &evidence_json(e))?;
        }
        m.serialize_entry("file", model.file_name(f.dir))?;
        let fix = f.fix.as_ref().map(|fix| FixOut { model, f, fix });
        m.serialize_entry("fix", &fix)?;
        m.serialize_entry("hop", &hop)?;
        m.serialize_entry("line", &line)?;
        m.serialize_entry("message", &f.message)?;
        m.serialize_entry(
            "related",
            &SeqOf(|| f.related.iter().map(|r| PlaceOut(model, r.dir, &r.label))),
        )?;
        m.serialize_entry("rule", f.rule)?;
        m.serialize_entry("severity", f.severity.as_str())?;
        let suppressed = f
            .suppressed
            .as_deref()
            .map(|reason| SeqMap([("reason", Field::Str(reason))]));
        m.serialize_entry("suppressed", &suppressed)?;
        m.end()
    }
}

struct PlaceOut<'a>(&'a Model, DirRef, &'a str);

impl Serialize for PlaceOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let PlaceOut(model, dir, label) = *self;
        let (line, column) = model.line_col(dir);
        SeqMap([
            ("column", Field::U32(column)),
            ("file", Field::Str(model.file_name(dir))),
            ("label", Field::Str(label)),
            ("line", Field::U32(line)),
        ])
        .serialize(s)
    }
}

struct FixOut<'a> {
    model: &'a Model,
    f: &'a Finding,
    fix: &'a Fix,
}

impl Serialize for FixOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fix = self.fix;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("applicability", fix.applicability.as_str())?;
        m.serialize_entry("changes", &SeqOf(|| fix.changes.iter().map(ChangeOut)))?;
        m.serialize_entry("edits", &edits(self.model, self.f))?;
        m.serialize_entry("summary", &fix.summary)?;
        m.end()
    }
}

struct ChangeOut<'a>(&'a Change);

impl Serialize for ChangeOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (directive, header, value) = match self.0 {
            Change::Set { directive, value } => (directive, None, value),
            Change::SetHeader {
                directive,
                header,
                value,
            } => (directive, Some(header), value),
        };
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("directive", directive)?;
        m.serialize_entry("header", &header)?;
        match value {
            FixValue::Literal(v) => {
                m.serialize_entry("input", &())?;
                m.serialize_entry("value", v)?;
            }
            FixValue::Input {
                key,
                prompt,
                proposal,
            } => {
                m.serialize_entry("input", &InputOut(key, prompt, proposal.as_deref()))?;
                m.serialize_entry("value", &())?;
            }
        }
        m.end()
    }
}

struct InputOut<'a>(&'a str, &'a str, Option<&'a str>);

impl Serialize for InputOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("key", self.0)?;
        m.serialize_entry("prompt", self.1)?;
        m.serialize_entry("proposal", &self.2)?;
        m.end()
    }
}

/// One finding as the contract's FINDING object.
/// A finding's `evidence` object: the verdict, one line, each peer's
/// part, and the severity change it made (null when none).
pub fn evidence_json(e: &crate::diagnostic::Evidence) -> Value {
    serde_json::json!({
        "verdict": e.verdict.as_str(),
        "summary": e.summary,
        "peers": e.peers.iter().map(|p| serde_json::json!({
            "peer": p.peer,
            "verdict": p.verdict.as_str(),
            "saw": p.saw,
        })).collect::<Vec<_>>(),
        "severity_change": e.severity_change.as_ref().map(|c| serde_json::json!({
            "from": c.from.as_str(),
            "to": c.to.as_str(),
            "why": c.why,
        })),
    })
}

pub fn finding_json(model: &Model, f: &Finding) -> Value {
    to_value(&FindingOut { model, f })
}

/// The `fix` object of a finding.
pub fn fix_json(model: &Model, f: &Finding, fix: &Fix) -> Value {
    to_value(&FixOut { model, f, fix })
}

/// One proposed change: `value` is the literal value, or null when a
/// person must supply it (`input` then says what is asked for).
pub fn change_json(c: &Change) -> Value {
    to_value(&ChangeOut(c))
}

/// Writes the `check --format json` document (`hopscope.check/1`),
/// pretty-printed with a final newline, without building a JSON tree in
/// memory.
pub fn write_check_document<W: std::io::Write + ?Sized>(
    model: &Model,
    findings: &[Finding],
    out: &mut W,
) -> std::io::Result<()> {
    write_check_document_with(model, findings, None, out)
}

/// [`write_check_document`] with a `baseline` object (the comparison with
/// a baseline file), when there is one.
pub fn write_check_document_with<W: std::io::Write + ?Sized>(
    model: &Model,
    findings: &[Finding],
    baseline: Option<&Value>,
    out: &mut W,
) -> std::io::Result<()> {
    write_pretty(
        &CheckOut {
            model,
            findings,
            baseline,
        },
        out,
    )
}

struct CheckOut<'a> {
    model: &'a Model,
    findings: &'a [Finding],
    baseline: Option<&'a Value>,
}

impl Serialize for CheckOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let model = self.model;
        let mut m = s.serialize_map(None)?;
        if let Some(b) = self.baseline {
            m.serialize_entry("baseline", b)?;
        }
        m.serialize_entry("errors", &ErrorsOut(model))?;
        m.serialize_entry(
            "findings",
            &SeqOf(|| self.findings.iter().map(|f| FindingOut { model, f })),
        )?;
        m.serialize_entry("nginx_version", &model.version.to_string())?;
        m.serialize_entry("nginx_version_source", model.version_choice.from.as_str())?;
        m.serialize_entry("schema", "hopscope.check/1")?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Applicability;
    use crate::test_support::{check_document, dir, hop_finding, model};
    use serde_json::json;

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
}
