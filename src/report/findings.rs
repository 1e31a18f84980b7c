//! Findings as the contract's FINDING objects (in `hops --json` and
//! `check --format json`), and the `hopscope.check/1` document.

use serde_json::Value;

use super::chunks::write_chunked;
use super::pretty::Pretty;
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
    parsed(|w| write_edits(w, model, finding))
}

/// A value of the contract as a `serde_json::Value`, read back from the
/// text the document writers write: one definition of each object.
fn parsed(write: impl FnOnce(&mut Pretty)) -> Value {
    let mut buf = Vec::new();
    write(&mut Pretty::new(&mut buf));
    serde_json::from_slice(&buf).expect("the writers write JSON")
}

fn write_edits(w: &mut Pretty, model: &Model, finding: &Finding) {
    w.open_array();
    if let (Some(fix), Some(h)) = (&finding.fix, finding.hop) {
        let edits = plan::edits(
            model,
            &model.hops[h],
            fix,
            Placement::Hop,
            &Values::default(),
        )
        .unwrap_or_default();
        for e in &edits {
            let f = model.config.file(e.file);
            let (line, column) = f.line_col(e.range.start);
            w.item();
            w.open_object();
            w.key("column");
            w.uint(u64::from(column));
            w.key("delete");
            w.str(&f.str(e.range));
            w.key("end");
            w.uint(u64::from(e.range.end));
            w.key("file");
            w.str(&f.name);
            w.key("insert");
            w.str(&e.text);
            w.key("line");
            w.uint(u64::from(line));
            w.key("start");
            w.uint(u64::from(e.range.start));
            w.close_object();
        }
    }
    w.close_array();
}

/// One finding as the contract's FINDING object (keys in sorted order).
pub(crate) fn write_finding(w: &mut Pretty, model: &Model, f: &Finding) {
    let (line, column) = model.line_col(f.dir);
    let hop = f.hop.and_then(|i| model.hops.get(i)).map(|h| h.id.as_str());
    w.open_object();
    if let Some(state) = f.baseline {
        w.key("baseline");
        w.str(state.as_str());
    }
    w.key("column");
    w.uint(u64::from(column));
    // Only for a probed hop (`check --probe`): what the probe saw.
    if let Some(e) = &f.evidence {
        w.key("evidence");
        w.value(&evidence_json(e));
    }
    w.key("file");
    w.str(model.file_name(f.dir));
    w.key("fix");
    match &f.fix {
        Some(fix) => write_fix(w, model, f, fix),
        None => w.null(),
    }
    w.key("hop");
    w.opt_str(hop);
    w.key("line");
    w.uint(u64::from(line));
    w.key("message");
    w.str(&f.message);
    w.key("related");
    w.open_array();
    for r in &f.related {
        w.item();
        write_place(w, model, r.dir, &r.label);
    }
    w.close_array();
    w.key("rule");
    w.str(f.rule);
    w.key("severity");
    w.str(f.severity.as_str());
    w.key("suppressed");
    match f.suppressed.as_deref() {
        Some(reason) => {
            w.open_object();
            w.key("reason");
            w.str(reason);
            w.close_object();
        }
        None => w.null(),
    }
    w.close_object();
}

fn write_place(w: &mut Pretty, model: &Model, dir: DirRef, label: &str) {
    let (line, column) = model.line_col(dir);
    w.open_object();
    w.key("column");
    w.uint(u64::from(column));
    w.key("file");
    w.str(model.file_name(dir));
    w.key("label");
    w.str(label);
    w.key("line");
    w.uint(u64::from(line));
    w.close_object();
}

fn write_fix(w: &mut Pretty, model: &Model, f: &Finding, fix: &Fix) {
    w.open_object();
    w.key("applicability");
    w.str(fix.applicability.as_str());
    w.key("changes");
    w.open_array();
    for c in &fix.changes {
        w.item();
        write_change(w, c);
    }
    w.close_array();
    w.key("edits");
    write_edits(w, model, f);
    w.key("summary");
    w.str(&fix.summary);
    w.close_object();
}

/// One proposed change: `value` is the literal value, or null when a
/// person must supply it (`input` then says what is asked for).
fn write_change(w: &mut Pretty, c: &Change) {
    let (directive, header, value) = match c {
        Change::Set { directive, value } => (directive, None, value),
        Change::SetHeader {
            directive,
            header,
            value,
        } => (directive, Some(header), value),
    };
    w.open_object();
    w.key("directive");
    w.str(directive);
    w.key("header");
    w.opt_str(header.map(|h| &**h));
    match value {
        FixValue::Literal(v) => {
            w.key("input");
            w.null();
            w.key("value");
            w.str(v);
        }
        FixValue::Input {
            key,
            prompt,
            proposal,
        } => {
            w.key("input");
            w.open_object();
            w.key("key");
            w.str(key);
            w.key("prompt");
            w.str(prompt);
            w.key("proposal");
            w.opt_str(proposal.as_deref());
            w.close_object();
            w.key("value");
            w.null();
        }
    }
    w.close_object();
}

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

/// One finding as the contract's FINDING object.
pub fn finding_json(model: &Model, f: &Finding) -> Value {
    parsed(|w| write_finding(w, model, f))
}

/// Load errors as the contract's `errors` array.
pub(crate) fn write_errors(w: &mut Pretty, model: &Model) {
    w.open_array();
    for e in model.errors() {
        w.item();
        w.open_object();
        w.key("file");
        w.str(&e.file);
        w.key("line");
        w.uint(u64::from(e.line));
        w.key("message");
        w.str(&e.message);
        w.close_object();
    }
    w.close_array();
}

/// Load errors as the contract's `errors` array.
pub fn errors_json(model: &Model) -> Value {
    parsed(|w| write_errors(w, model))
}

/// Findings rendered per chunk: enough text that a chunk is worth a
/// hand-over between threads, little enough that a few stay in memory.
const FINDINGS_PER_CHUNK: usize = 256;

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
    let mut buf = Vec::new();
    let mut w = Pretty::new(&mut buf);
    w.open_object();
    if let Some(b) = baseline {
        w.key("baseline");
        w.value(b);
    }
    w.key("errors");
    write_errors(&mut w, model);
    w.key("findings");
    w.open_array();
    out.write_all(&buf)?;
    // The findings, each an element of the array open at depth 2.
    write_chunked(out, findings.len(), FINDINGS_PER_CHUNK, |range, buf| {
        let first = range.start == 0;
        let mut w = Pretty::resume(buf, 2, first);
        for f in &findings[range] {
            w.item();
            write_finding(&mut w, model, f);
        }
    })?;
    buf.clear();
    write_document_end(&mut buf, model, findings.is_empty(), "hopscope.check/1");
    out.write_all(&buf)
}

/// The end of a streamed document once its last array (open at depth 2,
/// `empty` when nothing was written into it) is complete: the array closed,
/// the nginx version and where it came from, the schema, and the final
/// newline.
pub(crate) fn write_document_end(buf: &mut Vec<u8>, model: &Model, empty: bool, schema: &str) {
    let mut w = Pretty::resume(buf, 2, empty);
    w.close_array();
    w.key("nginx_version");
    w.str(&model.version.to_string());
    w.key("nginx_version_source");
    w.str(model.version_choice.from.as_str());
    w.key("schema");
    w.str(schema);
    w.close_object();
    buf.push(b'\n');
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
