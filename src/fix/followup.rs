//! A person's selection previewed the way `hopscope fix` runs its rounds:
//! the chosen fixes are applied, the result is analysed again, and the
//! findings the fixes create (a `host-sni-mismatch` once a name is sent)
//! are offered as follow-ups. A follow-up is applied only when the person
//! takes it, never silently; taken follow-ups are applied in further
//! rounds, each analysed again, up to [`MAX_ROUNDS`].

use std::collections::BTreeSet;

use super::edit::Edit;
use super::engine::{apply_edits, plan_selection, reanalyze, MAX_ROUNDS};
use super::hop_keys::{HopKeys, Ids};
use super::plan::{Missing, Placement, Values};
use crate::conf::FileId;
use crate::diagnostic::{Applicability, Finding};
use crate::model::Model;
use crate::rules;

/// A finding the previewed fixes create, named by its hop's id in the
/// configuration as loaded.
#[derive(Clone, Debug)]
pub struct FollowUp {
    pub rule: &'static str,
    /// The hop's id in the configuration as loaded.
    pub hop: String,
    /// The finding in the configuration with the fixes applied.
    pub finding: Finding,
    /// Whether its fix can be applied here (a fix that is advice only
    /// cannot).
    pub fixable: bool,
}

/// A previewed selection.
pub struct Preview {
    /// The edits of the selection itself, on the configuration as loaded.
    pub edits: Vec<Edit>,
    /// New contents of the files that change, follow-ups included.
    pub changed: Vec<(FileId, Vec<u8>)>,
    /// Findings the fixes create that were not taken.
    pub offered: Vec<FollowUp>,
    /// Follow-ups that were taken and applied.
    pub taken: Vec<FollowUp>,
    /// Chosen findings (rule, hop id) still reported once everything is
    /// applied: their fix did not take.
    pub remaining: Vec<(&'static str, String)>,
}

/// Value keys a fix may ask for, remapped to a later round's hop ids.
const KEYS: [&str; 4] = ["sni-name", "ca-file", "client-key", "client-cert"];

/// Previews `chosen` (findings of `model`, with their placements), then
/// the follow-ups named in `take` (rule, hop id as loaded). Returns the
/// values still missing (hop ids as loaded) when a fix cannot be written.
pub fn preview(
    model: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    take: &[(String, String)],
    values: &Values,
) -> Result<Preview, Vec<(String, Missing)>> {
    let edits = plan_selection(model, findings, chosen, values)?;
    let mut texts = apply_edits(model, &edits);
    let names = Ids::new(model);
    let keys = HopKeys::new(model);
    let before: BTreeSet<(&str, String)> = findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .filter_map(|f| Some((f.rule, names.original_id(&keys, f.hop?)?)))
        .collect();
    let mut taken: Vec<FollowUp> = Vec::new();
    let mut offered: Vec<FollowUp> = Vec::new();
    let mut after = reanalyze(model, &texts);
    for _round in 0..MAX_ROUNDS {
        let after_findings = rules::check(&after);
        let after_keys = HopKeys::new(&after);
        offered.clear();
        let mut now: Vec<(usize, Placement)> = Vec::new();
        for (i, f) in after_findings.iter().enumerate() {
            let Some(h) = f.hop else { continue };
            let Some(id) = names.original_id(&after_keys, h) else {
                continue;
            };
            if f.suppressed.is_some() || before.contains(&(f.rule, id.clone())) {
                continue;
            }
            if taken.iter().any(|t| t.rule == f.rule && t.hop == id) {
                // Taken in an earlier round and still there: it did not take.
                continue;
            }
            let fixable = f
                .fix
                .as_ref()
                .is_some_and(|x| x.applicability != Applicability::DisplayOnly);
            let up = FollowUp {
                rule: f.rule,
                hop: id.clone(),
                finding: f.clone(),
                fixable,
            };
            if fixable && take.iter().any(|(r, t)| r == f.rule && *t == id) {
                now.push((i, Placement::Hop));
                taken.push(up);
            } else {
                offered.push(up);
            }
        }
        if now.is_empty() {
            break;
        }
        // Values are keyed by the ids people see: the ones as loaded.
        let mut vals = values.clone();
        for (i, hop) in after.hops.iter().enumerate() {
            if let Some(id) = names.original_id(&after_keys, i) {
                for k in KEYS {
                    if let Some(v) = values.get(&id, k) {
                        vals.insert(format!("{}:{k}", hop.id), v);
                    }
                }
            }
        }
        let more = plan_selection(&after, &after_findings, &now, &vals).map_err(|missing| {
            missing
                .into_iter()
                .map(|(id, m)| {
                    let h = after.hops.iter().position(|h| h.id == id);
                    let id = h.and_then(|h| names.original_id(&after_keys, h));
                    (id.unwrap_or_default(), m)
                })
                .collect::<Vec<_>>()
        })?;
        let next = apply_edits(&after, &more);
        // The fixed configuration's files, back in the loaded order.
        for (i, f) in model.config.files.iter().enumerate() {
            if let Some(j) = after.config.files.iter().position(|a| a.path == f.path) {
                texts[i].clone_from(&next[j]);
            }
        }
        after = reanalyze(model, &texts);
    }
    let after_findings = rules::check(&after);
    let after_keys = HopKeys::new(&after);
    let remaining = chosen
        .iter()
        .filter_map(|&(fi, _)| {
            let f = &findings[fi];
            Some((f.rule, names.original_id(&keys, f.hop?)?))
        })
        .filter(|(rule, id)| {
            after_findings.iter().any(|f| {
                f.rule == *rule
                    && f.suppressed.is_none()
                    && f.hop
                        .and_then(|h| names.original_id(&after_keys, h))
                        .as_ref()
                        == Some(id)
            })
        })
        .collect();
    let changed = texts
        .into_iter()
        .enumerate()
        .filter(|(i, t)| *t != model.config.files[*i].text)
        .map(|(i, t)| (FileId(i as u32), t))
        .collect();
    Ok(Preview {
        edits,
        changed,
        offered,
        taken,
        remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::model;

    const CONF: &str = "events {}\nhttp {\n    upstream backend_pool {\n        server backend-1.example.com:443;\n    }\n    server {\n        listen 80;\n        location /v1/ {\n            proxy_pass https://backend_pool;\n            proxy_ssl_name api.example.com;\n        }\n    }\n}\n";

    fn rule_index(findings: &[Finding], rule: &str) -> usize {
        findings
            .iter()
            .position(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("{rule} reported: {findings:#?}"))
    }

    fn added(m: &Model, p: &Preview) -> Vec<String> {
        let text = crate::fix::diff::unified(m, &p.changed).unwrap();
        text.lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .map(|l| l[1..].trim().to_string())
            .collect()
    }

    #[test]
    fn fixes_of_one_hop_in_both_placements_are_all_written() {
        let m = model(&[("nginx.conf", CONF)]);
        let findings = rules::check(&m);
        let sni = rule_index(&findings, "sni-off");
        let verify = rule_index(&findings, "verify-off");
        let mut vals = Values::default();
        vals.insert("ca-file", "/etc/nginx/ca.pem");
        for (a, b) in [
            (Placement::Hop, Placement::Defining),
            (Placement::Defining, Placement::Hop),
        ] {
            let p = preview(&m, &findings, &[(sni, a), (verify, b)], &[], &vals).unwrap();
            let lines = added(&m, &p);
            for want in [
                "proxy_ssl_server_name on;",
                "proxy_ssl_verify on;",
                "proxy_ssl_trusted_certificate /etc/nginx/ca.pem;",
            ] {
                assert!(
                    lines.iter().any(|l| l == want),
                    "{a:?}/{b:?}: {want} in {lines:?}"
                );
            }
            assert!(p.remaining.is_empty(), "{:?}", p.remaining);
        }
    }

    #[test]
    fn a_finding_the_fix_creates_is_offered_and_applied_only_when_taken() {
        let m = model(&[("nginx.conf", CONF)]);
        let findings = rules::check(&m);
        let sni = rule_index(&findings, "sni-off");
        let chosen = [(sni, Placement::Hop)];
        let p = preview(&m, &findings, &chosen, &[], &Values::default()).unwrap();
        let offered: Vec<_> = p.offered.iter().map(|o| (o.rule, o.hop.as_str())).collect();
        assert_eq!(offered, [("host-sni-mismatch", "nginx.conf:9")]);
        assert!(p.offered[0].fixable);
        assert!(!added(&m, &p)
            .iter()
            .any(|l| l.starts_with("proxy_set_header")));

        let take = [("host-sni-mismatch".to_string(), "nginx.conf:9".to_string())];
        let p2 = preview(&m, &findings, &chosen, &take, &Values::default()).unwrap();
        assert!(p2.offered.is_empty(), "{:?}", p2.offered);
        assert_eq!(p2.taken.len(), 1);
        let lines = added(&m, &p2);
        assert!(lines.contains(&"proxy_ssl_server_name on;".to_string()));
        assert!(
            lines.contains(&"proxy_set_header Host api.example.com;".to_string()),
            "{lines:?}"
        );
        // The selection's own edits are those of the first round only.
        assert_eq!(p.edits, p2.edits);
    }
}
