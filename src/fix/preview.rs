//! The one way a selection of fixes becomes new file contents: the TUI's
//! preview, its copy and its save, and every round of the CLI's
//! [`fix_all`](super::engine::fix_all) all go through [`settle`], so what a
//! person approves is what is written.
//!
//! [`preview`] plans a selection once and says, for every fix it leaves
//! out, exactly why: it would change a hop that is not being fixed (an
//! edit in a block another hop reads), it would introduce an error-level
//! finding (nginx -t would reject the result), or it would turn
//! verification on without a CA or with a depth of 1. A fix is never
//! dropped without a reason.

use super::edit::{self, Edit};
use super::engine::{plan_selection, reanalyze};
use super::hop_keys::HopKeys;
use super::plan::{Missing, Placement, Values};
use super::reach::{self, collateral, reaches};
use crate::conf::FileId;
use crate::diagnostic::{Change, Finding, Severity};
use crate::model::{Model, SslDirective};
use crate::rules;

/// One round of fixes, settled: the fixes kept, the new texts and model,
/// and the fixes held back with why.
pub(crate) struct Settled {
    /// New texts and the model built from them; `None` when the kept
    /// fixes change nothing.
    pub next: Option<(Model, Vec<Vec<u8>>)>,
    /// Indices into `chosen` of the fixes kept.
    pub kept: Vec<usize>,
    /// Indices into `chosen` of the fixes held back, with the reason.
    pub held: Vec<(usize, String)>,
}

/// Plans `chosen` on `texts` (the current contents of `model`'s files) and
/// drops every fix whose edit would change a hop that is not itself being
/// fixed for the same setting, until the rest changes only chosen hops.
/// `id_of` names a hop of `model` as the person knows it.
pub(crate) fn settle(
    original: &Model,
    model: &Model,
    texts: &[Vec<u8>],
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    vals: &Values,
    id_of: &dyn Fn(usize) -> String,
) -> Settled {
    let mut live: Vec<usize> = (0..chosen.len()).collect();
    let mut held: Vec<(usize, String)> = Vec::new();
    loop {
        let now: Vec<(usize, Placement)> = live.iter().map(|&i| chosen[i]).collect();
        let kept: Vec<Edit> = plan_selection(model, findings, &now, vals)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| texts[e.file.0 as usize].get(e.range.as_usize()) != Some(e.text.as_bytes()))
            .collect();
        if kept.is_empty() {
            return Settled {
                next: None,
                kept: live,
                held,
            };
        }
        let mut new_texts = texts.to_vec();
        for (i, text) in new_texts.iter_mut().enumerate() {
            let mine: Vec<&Edit> = kept.iter().filter(|e| e.file.0 as usize == i).collect();
            if !mine.is_empty() {
                *text = edit::apply(text, &mine);
            }
        }
        let next = reanalyze(original, &new_texts);
        let stray = collateral(model, &next, findings, &now);
        if stray.is_empty() {
            return Settled {
                next: Some((next, new_texts)),
                kept: live,
                held,
            };
        }
        // Drop the fixes whose blocks hold a hop they would change (all of
        // them if none can be blamed: never change an unchosen hop).
        let mut blame: Vec<Option<usize>> = now
            .iter()
            .map(|&(fi, placement)| {
                let own = findings[fi].hop?;
                let fix = findings[fi].fix.as_ref()?;
                stray.iter().position(|&(h, _)| {
                    own != h
                        && fix
                            .changes
                            .iter()
                            .any(|ch| reaches(model, own, fix, ch, placement, h))
                })
            })
            .collect();
        if blame.iter().all(Option::is_none) {
            blame.iter_mut().for_each(|b| *b = Some(0));
        }
        let mut still = Vec::new();
        for (b, &ci) in blame.iter().zip(&live) {
            let Some((h, what)) = b.map(|j| &stray[j]) else {
                still.push(ci);
                continue;
            };
            let own = findings[chosen[ci].0].hop;
            let own_id = own.map(id_of).unwrap_or_default();
            let reason = reach::held_back(model, own, *h, what, &id_of(*h), &own_id);
            held.push((ci, reason));
        }
        live = still;
    }
}

/// A selection of fixes planned for preview and save.
pub struct Preview {
    /// New contents of the files that change: exactly what a save writes.
    pub changed: Vec<(FileId, Vec<u8>)>,
    /// Findings (indices into the findings given) whose fix is in `changed`.
    pub applied: Vec<usize>,
    /// Findings whose fix is not in `changed`, with why.
    pub refused: Vec<(usize, String)>,
    /// The configuration with `changed` applied, analysed again.
    pub after: Model,
}

/// Plans a person's selection once, for the preview, the copy and the
/// save: every chosen fix is either in `changed` or in `refused` with its
/// reason. Returns every value still missing instead when there are some.
pub fn preview(
    model: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    values: &Values,
) -> Result<Preview, Vec<(String, Missing)>> {
    let id_of = |h: usize| model.hops[h].id.clone();
    preview_named(model, findings, chosen, values, &id_of)
}

/// [`preview`], with the hops of `model` named in the reasons by `id_of`
/// (a later round names them as they were loaded).
pub(crate) fn preview_named(
    model: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    values: &Values,
    id_of: &dyn Fn(usize) -> String,
) -> Result<Preview, Vec<(String, Missing)>> {
    plan_selection(model, findings, chosen, values)?;
    let texts: Vec<Vec<u8>> = model.config.files.iter().map(|f| f.text.clone()).collect();
    let mut chosen: Vec<(usize, Placement)> = chosen.to_vec();
    let mut refused: Vec<(usize, String)> = Vec::new();
    loop {
        let s = settle(model, model, &texts, findings, &chosen, values, id_of);
        for (ci, reason) in &s.held {
            refused.push((
                chosen[*ci].0,
                format!("cannot be applied as placed: {reason}"),
            ));
        }
        let kept: Vec<(usize, Placement)> = s.kept.iter().map(|&i| chosen[i]).collect();
        let Some((after, new_texts)) = s.next else {
            return Ok(Preview {
                changed: Vec::new(),
                applied: Vec::new(),
                refused,
                after: reanalyze(model, &texts),
            });
        };
        // A fix whose result nginx would reject, or that leaves its own
        // verification without a CA, is refused; the rest is planned again.
        let bad = unsafe_results(model, &after, findings, &kept, id_of);
        if bad.is_empty() {
            let changed = new_texts
                .into_iter()
                .enumerate()
                .filter(|(i, t)| *t != model.config.files[*i].text)
                .map(|(i, t)| (FileId(i as u32), t))
                .collect();
            let remaining = rules::check(&after);
            let keys = HopKeys::new(model);
            let after_keys = HopKeys::new(&after);
            let mut applied = Vec::new();
            for &(fi, _) in &kept {
                let f = &findings[fi];
                let still = remaining.iter().any(|r| {
                    r.rule == f.rule
                        && r.hop.is_some()
                        && r.hop == f.hop.and_then(|h| after_keys.find(keys.key(h)))
                });
                if still {
                    refused.push((
                        fi,
                        "its lines overlap another selected fix's, so the finding remains: apply it on its own after this one".into(),
                    ));
                } else {
                    applied.push(fi);
                }
            }
            return Ok(Preview {
                changed,
                applied,
                refused,
                after,
            });
        }
        for (fi, reason) in &bad {
            refused.push((*fi, reason.clone()));
        }
        chosen.retain(|(fi, _)| !bad.iter().any(|(b, _)| b == fi));
    }
}

/// The chosen fixes whose result is unsafe to write, with why: new load
/// errors or error-level findings (nginx -t would reject the result; all
/// the fixes are blamed when none can be), or a hop whose verification
/// the fix turns on without a CA or with a depth of 1.
pub(crate) fn unsafe_results(
    model: &Model,
    after: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    id_of: &dyn Fn(usize) -> String,
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let (keys, after_keys) = (HopKeys::new(model), HopKeys::new(after));
    // Verification turned on must come with a CA and a depth above 1.
    for &(fi, _) in chosen {
        let Some(h) = findings[fi].hop else { continue };
        let Some(new) = after_keys.find(keys.key(h)).map(|j| &after.hops[j]) else {
            continue;
        };
        let was_on = model.hops[h]
            .setting(SslDirective::Verify)
            .is_some_and(|s| s.is_on());
        let on = new.setting(SslDirective::Verify).is_some_and(|s| s.is_on());
        if was_on || !on {
            continue;
        }
        let ca = new
            .setting(SslDirective::TrustedCertificate)
            .and_then(|s| s.value.as_deref())
            .is_some_and(|v| !v.is_empty());
        let depth = new
            .setting(SslDirective::VerifyDepth)
            .and_then(|s| s.value.as_deref())
            .and_then(|v| v.trim().parse::<u32>().ok());
        if !ca {
            out.push((fi, format!("refused: it turns verification on for {} without a CA file (nginx -t rejects that): give the CA with e", id_of(h))));
        } else if depth.is_some_and(|d| d <= 1) {
            out.push((fi, format!("refused: it turns verification on for {} with a verify depth of 1, which fails every chain with an intermediate CA", id_of(h))));
        }
    }
    if !out.is_empty() {
        return out;
    }
    let base = model.errors().count();
    // New errors, each with the hop (of `after`) it is about, if any.
    let mut new_errors: Vec<(Option<usize>, String)> = Vec::new();
    if after.errors().count() > base {
        new_errors.extend(after.errors().map(|e| (None, e.to_string())));
    }
    let count = |m: &Model| {
        let mut c: std::collections::BTreeMap<&'static str, usize> = Default::default();
        for f in rules::check(m) {
            if f.severity == Severity::Error && f.suppressed.is_none() {
                *c.entry(f.rule).or_default() += 1;
            }
        }
        c
    };
    let (before_err, after_err) = (count(model), count(after));
    for f in rules::check(after) {
        if f.severity == Severity::Error
            && f.suppressed.is_none()
            && after_err.get(f.rule).copied().unwrap_or(0)
                > before_err.get(f.rule).copied().unwrap_or(0)
        {
            new_errors.push((f.hop, format!("{}: {}", f.rule, f.message)));
        }
    }
    if new_errors.is_empty() {
        return out;
    }
    // Each fix is refused with the errors about its own hop; when no error
    // names a chosen hop, every fix is refused with all of them.
    let mine = |fi: usize| -> Vec<&str> {
        let at = findings[fi].hop.and_then(|h| after_keys.find(keys.key(h)));
        new_errors
            .iter()
            .filter(|(h, _)| h.is_some() && *h == at)
            .map(|(_, m)| m.as_str())
            .collect()
    };
    let any_mine = chosen.iter().any(|&(fi, _)| !mine(fi).is_empty());
    chosen
        .iter()
        .filter_map(|&(fi, _)| {
            let own = mine(fi);
            let why: Vec<&str> = if any_mine {
                if own.is_empty() {
                    return None;
                }
                own
            } else {
                new_errors.iter().map(|(_, m)| m.as_str()).collect()
            };
            let mut why = why;
            why.dedup();
            Some((
                fi,
                format!(
                    "refused: the result has an error nginx -t would reject: {}",
                    why.join("; ")
                ),
            ))
        })
        .collect()
}

/// Whether the two placements of a fix put some line in different blocks:
/// only then is there a placement to choose.
pub fn placement_differs(
    model: &Model,
    hop: &crate::model::Hop,
    fix: &crate::diagnostic::Fix,
) -> bool {
    fix.changes.iter().any(|c| {
        let (Change::Set { directive, .. } | Change::SetHeader { directive, .. }) = c;
        super::plan::target_block(model, hop, fix, directive, Placement::Hop)
            != super::plan::target_block(model, hop, fix, directive, Placement::Defining)
    })
}

/// Where a placement writes a fix's lines, for people: "the server block
/// at nginx.conf:3 (proxy_ssl_verify), the location block at nginx.conf:6
/// (proxy_ssl_trusted_certificate, proxy_ssl_verify_depth)".
pub fn placement_label(
    model: &Model,
    hop: &crate::model::Hop,
    fix: &crate::diagnostic::Fix,
    placement: Placement,
) -> String {
    let mut blocks: Vec<(crate::model::CtxId, Vec<String>)> = Vec::new();
    for c in &fix.changes {
        let (Change::Set { directive, .. } | Change::SetHeader { directive, .. }) = c;
        let b = super::plan::target_block(model, hop, fix, directive, placement);
        match blocks.iter_mut().find(|(x, _)| *x == b) {
            Some((_, names)) => {
                if !names.contains(directive) {
                    names.push(directive.clone());
                }
            }
            None => blocks.push((b, vec![directive.clone()])),
        }
    }
    let one = blocks.len() == 1;
    blocks
        .iter()
        .map(|(b, names)| {
            let ctx = model.tree.ctx(*b);
            let place = match ctx.opener {
                Some(o) => format!("the {} block at {}", ctx.kind.level(), model.file_line(o)),
                None => "the main context".to_string(),
            };
            if one {
                place
            } else {
                format!("{place} ({})", names.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
