//! A person's selection previewed the way `hopscope fix` runs its rounds:
//! the chosen fixes go through the one planner ([`super::preview`]: each
//! applied, or refused with its reason), the result is analysed again,
//! and the findings the fixes create (a `host-sni-mismatch` once a name is
//! sent) are offered as follow-ups. A follow-up is applied only when the
//! person takes it, never silently; taken follow-ups go through the same
//! planner and checks in further rounds, each analysed again, up to
//! [`MAX_ROUNDS`]. What this returns in `changed` is what a save writes.

use std::collections::BTreeSet;

use super::engine::{reanalyze, MAX_ROUNDS};
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
    /// New contents of the files that change, follow-ups taken included:
    /// exactly what a save writes.
    pub changed: Vec<(FileId, Vec<u8>)>,
    /// Chosen findings (indices into the findings given) whose fix is in
    /// `changed`.
    pub applied: Vec<usize>,
    /// Chosen findings whose fix is not in `changed`, with why.
    pub refused: Vec<(usize, String)>,
    /// Findings the fixes create that were not taken.
    pub offered: Vec<FollowUp>,
    /// Follow-ups that were taken and applied.
    pub taken: Vec<FollowUp>,
    /// Follow-ups that were taken but refused by the planner, with why.
    pub held: Vec<(FollowUp, String)>,
    /// Chosen findings (rule, hop id) still reported once everything is
    /// applied, though their fix was applied.
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
    let first = super::preview::preview(model, findings, chosen, values)?;
    let mut texts: Vec<Vec<u8>> = model.config.files.iter().map(|f| f.text.clone()).collect();
    for (f, t) in &first.changed {
        texts[f.0 as usize].clone_from(t);
    }
    let names = Ids::new(model);
    let keys = HopKeys::new(model);
    let before: BTreeSet<(&str, String)> = findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .filter_map(|f| Some((f.rule, names.original_id(&keys, f.hop?)?)))
        .collect();
    let mut taken: Vec<FollowUp> = Vec::new();
    let mut held: Vec<(FollowUp, String)> = Vec::new();
    let mut offered: Vec<FollowUp> = Vec::new();
    let mut after = first.after;
    for _round in 0..MAX_ROUNDS {
        let after_findings = rules::check(&after);
        let after_keys = HopKeys::new(&after);
        offered.clear();
        let mut now: Vec<(usize, Placement)> = Vec::new();
        let mut now_ups: Vec<FollowUp> = Vec::new();
        for (i, f) in after_findings.iter().enumerate() {
            let Some(h) = f.hop else { continue };
            let Some(id) = names.original_id(&after_keys, h) else {
                continue;
            };
            if f.suppressed.is_some() || before.contains(&(f.rule, id.clone())) {
                continue;
            }
            let same = |u: &FollowUp| u.rule == f.rule && u.hop == id;
            if taken.iter().any(same) || held.iter().any(|(u, _)| same(u)) {
                // Taken in an earlier round and still there: it did not
                // take, or the planner refused it.
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
                now_ups.push(up);
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
        let id_of = |h: usize| {
            names
                .original_id(&after_keys, h)
                .unwrap_or_else(|| after.hops[h].id.clone())
        };
        let round = super::preview::preview_named(&after, &after_findings, &now, &vals, &id_of)
            .map_err(|missing| {
                missing
                    .into_iter()
                    .map(|(id, m)| {
                        let h = after.hops.iter().position(|h| h.id == id);
                        let id = h.and_then(|h| names.original_id(&after_keys, h));
                        (id.unwrap_or_default(), m)
                    })
                    .collect::<Vec<_>>()
            })?;
        for ((fi, _), up) in now.iter().zip(now_ups) {
            match round.refused.iter().find(|(r, _)| r == fi) {
                Some((_, why)) => held.push((up, why.clone())),
                None => taken.push(up),
            }
        }
        // The fixed configuration's files, back in the loaded order.
        for (f, t) in &round.changed {
            let path = &after.config.files[f.0 as usize].path;
            if let Some(i) = model.config.files.iter().position(|m| m.path == *path) {
                texts[i].clone_from(t);
            }
        }
        after = reanalyze(model, &texts);
    }
    // A follow-up the planner refused is still there to take (with the
    // fix it needs alongside), so it stays offered.
    offered.extend(held.iter().map(|(u, _)| u.clone()));
    let after_findings = rules::check(&after);
    let after_keys = HopKeys::new(&after);
    let remaining = first
        .applied
        .iter()
        .filter_map(|&fi| {
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
        changed,
        applied: first.applied,
        refused: first.refused,
        offered,
        taken,
        held,
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
        // The selection itself is applied in both.
        assert_eq!(p.applied, p2.applied);
        assert!(p.refused.is_empty() && p2.refused.is_empty());
    }

    #[test]
    fn a_taken_follow_up_goes_through_the_planner_and_its_checks() {
        // The `if` hop reads the location's lines: a Host header written
        // there for the outer hop alone would change it too.
        let conf = CONF.replace(
            "            proxy_ssl_name api.example.com;\n",
            "            proxy_ssl_name api.example.com;\n            if ($request_method = POST) {\n                proxy_pass https://backend_pool;\n            }\n",
        );
        let m = model(&[("nginx.conf", &conf)]);
        let findings = rules::check(&m);
        let chosen: Vec<(usize, Placement)> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.rule == "sni-off")
            .map(|(i, _)| (i, Placement::Hop))
            .collect();
        assert_eq!(chosen.len(), 2, "{findings:#?}");
        let p = preview(&m, &findings, &chosen, &[], &Values::default()).unwrap();
        assert!(p.refused.is_empty(), "{:?}", p.refused);
        let mut hops: Vec<&str> = p.offered.iter().map(|o| o.hop.as_str()).collect();
        hops.sort();
        assert_eq!(hops, ["nginx.conf:12", "nginx.conf:9"], "{:?}", p.offered);

        let one = [("host-sni-mismatch".to_string(), "nginx.conf:9".to_string())];
        let held = preview(&m, &findings, &chosen, &one, &Values::default()).unwrap();
        assert!(held.taken.is_empty(), "{:?}", held.taken);
        // Still offered: it can be taken with the other hop's.
        assert_eq!(held.offered.len(), 2, "{:?}", held.offered);
        assert_eq!(held.held.len(), 1);
        assert!(
            held.held[0].1.contains("nginx.conf:12"),
            "{}",
            held.held[0].1
        );
        // Nothing of the refused follow-up is in what a save writes.
        assert_eq!(held.changed, p.changed);

        let both: Vec<(String, String)> = ["nginx.conf:9", "nginx.conf:12"]
            .iter()
            .map(|h| ("host-sni-mismatch".to_string(), h.to_string()))
            .collect();
        let all = preview(&m, &findings, &chosen, &both, &Values::default()).unwrap();
        assert!(all.held.is_empty(), "{:?}", all.held);
        assert_eq!(all.taken.len(), 2);
        assert!(added(&m, &all).contains(&"proxy_set_header Host api.example.com;".to_string()));
    }
}
