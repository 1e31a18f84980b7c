//! The compliance profile (`check --profile cis-nginx`) as text, JSON and
//! SARIF, and the benchmark items on every rule's SARIF descriptor. The
//! verdicts come from `rules::cis`; this module only renders them.

use serde_json::{json, Map, Value};

use crate::model::Model;
use crate::rules::cis::{self, Evidence, ItemReport, Verdict};

/// Where a value comes from: `file:line (level)`, or nginx's default.
fn origin_text(model: &Model, e: &Evidence) -> String {
    match (&e.origin, e.level) {
        (Some(at), Some(level)) => format!("{at} ({level})"),
        (Some(at), None) => at.clone(),
        _ => format!("default (nginx {})", model.version),
    }
}

/// The profile for people: per item, one line per hop with its verdict,
/// the evidence under it and, for a failure, why.
pub fn text(model: &Model, items: &[ItemReport]) -> String {
    let mut out = format!(
        "\n{} v{} ({} profile): upstream TLS items, per hop\n",
        cis::BENCHMARK,
        cis::VERSION,
        cis::PROFILE
    );
    for r in items {
        let passed = r.hops.iter().filter(|h| h.verdict == Verdict::Pass).count();
        out.push_str(&format!(
            "\n{} {}: {passed} of {} hops pass\n  requires: {}\n",
            r.item.id,
            r.item.title,
            r.hops.len(),
            r.item.requirement
        ));
        if let Some(note) = r.item.number_note {
            out.push_str(&format!("  note: {note}\n"));
        }
        for h in &r.hops {
            let hop = &model.hops[h.hop];
            out.push_str(&format!(
                "  {} {}\n",
                h.verdict.as_str().to_uppercase(),
                hop.id
            ));
            for e in &h.evidence {
                out.push_str(&format!(
                    "      {} {}  {}\n",
                    e.directive,
                    e.value.as_deref().unwrap_or("-"),
                    origin_text(model, e)
                ));
            }
            for why in &h.reasons {
                out.push_str(&format!("      fails: {why}\n"));
            }
        }
    }
    out
}

/// The profile document (the `profile` member of `check --format json`).
pub fn json(model: &Model, items: &[ItemReport]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|r| {
            let hops: Vec<Value> = r
                .hops
                .iter()
                .map(|h| {
                    let evidence: Vec<Value> = h
                        .evidence
                        .iter()
                        .map(|e| {
                            json!({
                                "directive": e.directive,
                                "value": e.value,
                                "origin": e.origin.clone().unwrap_or_else(|| "default".into()),
                                "level": e.level,
                            })
                        })
                        .collect();
                    json!({
                        "hop": model.hops[h.hop].id,
                        "verdict": h.verdict.as_str(),
                        "evidence": evidence,
                        "reasons": h.reasons,
                    })
                })
                .collect();
            json!({
                "id": r.item.id,
                "title": r.item.title,
                "requirement": r.item.requirement,
                "number_note": r.item.number_note,
                "rules": r.item.rules,
                "hops": hops,
            })
        })
        .collect();
    json!({
        "name": cis::PROFILE,
        "benchmark": cis::BENCHMARK,
        "version": cis::VERSION,
        "items": items,
    })
}

/// The benchmark as a SARIF taxonomy.
fn taxonomy() -> Value {
    let taxa: Vec<Value> = cis::ITEMS
        .iter()
        .map(|i| {
            let mut t = json!({
                "id": i.id,
                "name": i.title,
                "shortDescription": { "text": i.title },
                "fullDescription": { "text": i.requirement },
            });
            if let Some(note) = i.number_note {
                t["properties"] = json!({ "numberNote": note });
            }
            t
        })
        .collect();
    json!({
        "name": cis::BENCHMARK,
        "version": cis::VERSION,
        "organization": "Center for Internet Security",
        "shortDescription": { "text": format!("{} v{}", cis::BENCHMARK, cis::VERSION) },
        "taxa": taxa,
    })
}

/// Adds the benchmark to a SARIF log: the taxonomy, a `relevant`
/// relationship and a `cis-nginx/ITEM` tag on each rule that evidences an
/// item, the items (`taxa`) on each of its results, and with a profile,
/// its verdicts as the run's `hopscope/profile` property.
pub fn annotate_sarif(log: &mut Value, profile: Option<Value>) {
    let Some(run) = log.pointer_mut("/runs/0").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(rules) = run
        .get_mut("tool")
        .and_then(|t| t.pointer_mut("/driver/rules"))
        .and_then(Value::as_array_mut)
    {
        for rule in rules.iter_mut() {
            let id = rule["id"].as_str().unwrap_or("").to_string();
            let items: Vec<&cis::Item> = cis::items_of(&id).collect();
            if items.is_empty() {
                continue;
            }
            let relationships: Vec<Value> = items
                .iter()
                .map(|i| {
                    json!({
                        "target": {
                            "id": i.id,
                            "toolComponent": { "name": cis::BENCHMARK },
                        },
                        "kinds": ["relevant"],
                    })
                })
                .collect();
            rule["relationships"] = Value::Array(relationships);
            let props = rule
                .as_object_mut()
                .map(|r| r.entry("properties").or_insert_with(|| json!({})));
            if let Some(props) = props.and_then(Value::as_object_mut) {
                let tags = props.entry("tags").or_insert_with(|| json!([]));
                if let Some(tags) = tags.as_array_mut() {
                    for i in &items {
                        tags.push(json!(format!("{}/{}", cis::PROFILE, i.id)));
                    }
                }
            }
        }
    }
    // Each result points at the items its rule evidences.
    if let Some(results) = run.get_mut("results").and_then(Value::as_array_mut) {
        for result in results.iter_mut() {
            let id = result["ruleId"].as_str().unwrap_or("").to_string();
            let taxa: Vec<Value> = cis::items_of(&id)
                .map(|i| json!({ "id": i.id, "toolComponent": { "name": cis::BENCHMARK } }))
                .collect();
            if !taxa.is_empty() {
                result["taxa"] = Value::Array(taxa);
            }
        }
    }
    run.insert("taxonomies".into(), json!([taxonomy()]));
    if let Some(profile) = profile {
        let props = run
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(props) = props.as_object_mut() {
            props.insert("hopscope/profile".into(), profile);
        }
    }
}

/// The benchmark items a rule evidences, for `explain` (empty when none).
pub fn explain_items(rule: &str) -> String {
    let lines: Vec<String> = cis::items_of(rule)
        .map(|i| format!("- {} {}", i.id, i.title))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "\n## Compliance\nEvidence for {} v{} (`check --profile {}`):\n{}\n",
        cis::BENCHMARK,
        cis::VERSION,
        cis::PROFILE,
        lines.join("\n")
    )
}
