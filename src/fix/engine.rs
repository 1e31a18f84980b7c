//! Applying fixes to a whole configuration: choose findings, turn their
//! fixes into edits, apply them in one pass per round, re-analyse, and
//! repeat until nothing changes (edits that overlapped an earlier one are
//! picked up in the next round). A result that makes the configuration
//! fail to parse is refused.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::edit::{self, Edit};
use super::plan::{self, Missing, Placement, Values};
use super::Applicability;
use crate::conf::loader::{load_tree, MemFiles};
use crate::conf::FileId;
use crate::model::{Hop, Model};
use crate::rules::{self, Finding};

/// Most rounds of fixing before giving up on convergence.
pub const MAX_ROUNDS: usize = 5;

/// Which findings to fix.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these rules (all when empty).
    pub rules: Vec<String>,
    /// Only these hop ids of the loaded configuration (all when empty).
    pub hops: Vec<String>,
    /// Leave out fixes that need review.
    pub safe_only: bool,
    pub placement: Placement,
}

/// A fix that was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub rule: &'static str,
    /// Hop id in the configuration as loaded.
    pub hop: String,
    pub summary: String,
    pub applicability: Applicability,
}

/// A fix that was not applied, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub rule: &'static str,
    pub hop: String,
    pub reason: String,
    pub missing: Option<Missing>,
}

/// The result of fixing: new file contents and what happened.
pub struct Outcome {
    /// New contents of the files that change, by file of the loaded model.
    pub changed: Vec<(FileId, Vec<u8>)>,
    pub applied: Vec<Applied>,
    pub skipped: Vec<Skipped>,
    /// The configuration after the fixes, analysed again.
    pub after: Model,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixError {
    /// The fixed configuration has errors the original did not.
    Breaks(Vec<String>),
}

impl std::fmt::Display for FixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixError::Breaks(e) => {
                write!(f, "the fix would break the configuration: {}", e.join("; "))
            }
        }
    }
}

impl std::error::Error for FixError {}

/// Analyses the configuration again with some files' contents replaced.
pub fn reanalyze(model: &Model, texts: &[Vec<u8>]) -> Model {
    let cfg = &model.config;
    let files: Vec<(PathBuf, Vec<u8>)> = cfg
        .files
        .iter()
        .zip(texts)
        .map(|(f, t)| (f.path.clone(), t.clone()))
        .collect();
    let mem = MemFiles::new(files);
    let mut new = load_tree(&mem, &cfg.files[0].path, cfg.origin);
    new.prefix.clone_from(&cfg.prefix);
    for f in &mut new.files {
        if let Some(old) = cfg.files.iter().find(|o| o.path == f.path) {
            f.on_disk = old.on_disk;
            f.name.clone_from(&old.name);
        }
    }
    Model::build(new, model.version)
}

/// A hop's identity that survives inserted lines: its file and its rank
/// among the hops of that file (fixes never add or remove pass directives).
fn stable_key(model: &Model, hop: &Hop) -> (String, usize) {
    let rank = model
        .hops
        .iter()
        .filter(|h| h.file == hop.file && (h.line, h.column) < (hop.line, hop.column))
        .count();
    (hop.file.clone(), rank)
}

fn original_id(original: &Model, key: &(String, usize)) -> Option<String> {
    original
        .hops
        .iter()
        .filter(|h| h.file == key.0)
        .nth(key.1)
        .map(|h| h.id.clone())
}

/// The findings of a model that a selection wants fixed, with their hop's
/// original id.
fn wanted<'a>(
    original: &Model,
    model: &Model,
    findings: &'a [Finding],
    sel: &Selection,
) -> Vec<(usize, &'a Finding, String)> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.suppressed.is_none() && f.fix.is_some())
        .filter(|(_, f)| sel.rules.is_empty() || sel.rules.iter().any(|r| r == f.rule))
        .filter_map(|(i, f)| {
            let hop = &model.hops[f.hop?];
            let id = original_id(original, &stable_key(model, hop))?;
            (sel.hops.is_empty() || sel.hops.contains(&id)).then_some((i, f, id))
        })
        .collect()
}

/// Fixes what the selection names. Idempotent: fixing the result again
/// changes nothing.
pub fn fix_all(original: &Model, sel: &Selection, values: &Values) -> Result<Outcome, FixError> {
    let mut texts: Vec<Vec<u8>> = original
        .config
        .files
        .iter()
        .map(|f| f.text.clone())
        .collect();
    let mut applied: Vec<Applied> = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
    let base_errors = original.errors().count();
    let mut current: Option<Model> = None;

    for _round in 0..MAX_ROUNDS {
        let model = current.as_ref().unwrap_or(original);
        let findings = rules::check(model);
        let mut chosen: Vec<(usize, Placement)> = Vec::new();
        let mut round_applied = Vec::new();
        // Values are keyed by the hop ids the person sees: the original ones.
        let mut vals = values.clone();
        for hop in &model.hops {
            if let Some(id) = original_id(original, &stable_key(model, hop)) {
                for k in ["sni-name", "ca-file", "client-key", "client-cert"] {
                    if let Some(v) = values.get(&id, k) {
                        vals.insert(format!("{}:{k}", hop.id), v);
                    }
                }
            }
        }
        for (fi, f, id) in wanted(original, model, &findings, sel) {
            let Some(fix) = &f.fix else { continue };
            let key = (f.rule, id.clone());
            let skip = |reason: String, missing: Option<Missing>| Skipped {
                rule: f.rule,
                hop: id.clone(),
                reason,
                missing,
            };
            if fix.applicability == Applicability::DisplayOnly {
                if seen.insert(key) {
                    skipped.push(skip("advice only: not applied automatically".into(), None));
                }
                continue;
            }
            if sel.safe_only && fix.applicability == Applicability::NeedsReview {
                if seen.insert(key) {
                    skipped.push(skip("needs review (left out by --safe-only)".into(), None));
                }
                continue;
            }
            let Some(hop) = f.hop.map(|h| &model.hops[h]) else {
                continue;
            };
            match plan::edits(model, hop, fix, sel.placement, &vals) {
                Ok(_) => {
                    chosen.push((fi, sel.placement));
                    round_applied.push(Applied {
                        rule: f.rule,
                        hop: id,
                        summary: fix.summary.clone(),
                        applicability: fix.applicability,
                    });
                }
                Err(m) => {
                    if seen.insert(key) {
                        skipped.push(skip(m.to_string(), Some(m)));
                    }
                }
            }
        }
        // Fixes of one hop are merged, so their lines stay together.
        let kept = plan_selection(model, &findings, &chosen, &vals).unwrap_or_default();
        let kept: Vec<Edit> = kept
            .into_iter()
            .filter(|e| {
                let src = &texts[e.file.0 as usize];
                src.get(e.range.as_usize()) != Some(e.text.as_bytes())
            })
            .collect();
        if kept.is_empty() {
            break;
        }
        for (i, text) in texts.iter_mut().enumerate() {
            let mine: Vec<&Edit> = kept.iter().filter(|e| e.file.0 as usize == i).collect();
            if !mine.is_empty() {
                *text = edit::apply(text, &mine);
            }
        }
        for a in round_applied {
            if !applied.iter().any(|x| x.rule == a.rule && x.hop == a.hop) {
                applied.push(a);
            }
        }
        let next = reanalyze(original, &texts);
        if next.errors().count() > base_errors {
            let errs = next.errors().map(|e| e.to_string()).collect();
            return Err(FixError::Breaks(errs));
        }
        current = Some(next);
    }
    let after = match current {
        Some(m) => m,
        None => reanalyze(original, &texts),
    };
    let changed = texts
        .into_iter()
        .enumerate()
        .filter(|(i, t)| *t != original.config.files[*i].text)
        .map(|(i, t)| (FileId(i as u32), t))
        .collect();
    // Applied fixes whose finding is still there did not take (an overlap
    // that never resolved): report them honestly.
    let remaining = rules::check(&after);
    let mut still = Vec::new();
    applied.retain(|a| {
        let left = remaining.iter().any(|f| {
            f.rule == a.rule
                && f.hop
                    .and_then(|h| original_id(original, &stable_key(&after, &after.hops[h])))
                    .as_deref()
                    == Some(a.hop.as_str())
        });
        if left {
            still.push(Skipped {
                rule: a.rule,
                hop: a.hop.clone(),
                reason: "the finding remains after the fix".into(),
                missing: None,
            });
        }
        !left
    });
    skipped.extend(still);
    Ok(Outcome {
        changed,
        applied,
        skipped,
        after,
    })
}

/// What a hop looks like to someone reading its effective settings: every
/// value, the SNI and the Host header (positions left out, since inserted
/// lines move them).
type Observable = (Vec<(String, Option<String>)>, String, Option<String>);

fn observable(hop: &Hop) -> Observable {
    (
        hop.settings
            .iter()
            .map(|s| (s.name.clone(), s.value.clone()))
            .collect(),
        format!("{:?}", hop.sni),
        hop.host_header.as_ref().map(|h| h.value.clone()),
    )
}

/// The new contents of every file some edits touch.
pub fn apply_edits(model: &Model, edits: &[Edit]) -> Vec<Vec<u8>> {
    let (kept, _) = edit::merge(edits.iter().cloned());
    model
        .config
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mine: Vec<&Edit> = kept.iter().filter(|e| e.file.0 as usize == i).collect();
            if mine.is_empty() {
                f.text.clone()
            } else {
                edit::apply(&f.text, &mine)
            }
        })
        .collect()
}

/// The hops (ids of `model`) whose effective settings, SNI or Host header
/// change when the edits are applied: the impact of a fix, so that an edit
/// in a shared block or include never surprises anyone.
pub fn impact(model: &Model, edits: &[Edit]) -> Vec<String> {
    let after = reanalyze(model, &apply_edits(model, edits));
    model
        .hops
        .iter()
        .filter(|hop| {
            let key = stable_key(model, hop);
            let new = after.hops.iter().filter(|h| h.file == key.0).nth(key.1);
            new.map_or(true, |n| observable(n) != observable(hop))
        })
        .map(|h| h.id.clone())
        .collect()
}

/// Plans a person's selection of fixes in one pass (the TUI's fix flow):
/// fixes of the same hop and placement are merged first, so two findings
/// that both want `proxy_ssl_server_name on` produce one line. Returns the
/// edits, or every value still missing (hop id and what is needed).
pub fn plan_selection(
    model: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    values: &Values,
) -> Result<Vec<Edit>, Vec<(String, Missing)>> {
    let mut groups: Vec<(usize, Placement, super::Fix)> = Vec::new();
    for &(fi, placement) in chosen {
        let f = &findings[fi];
        let (Some(fix), Some(hop)) = (&f.fix, f.hop) else {
            continue;
        };
        if fix.applicability == Applicability::DisplayOnly {
            continue;
        }
        match groups
            .iter_mut()
            .find(|(h, p, _)| *h == hop && *p == placement)
        {
            Some((_, _, merged)) => {
                for c in &fix.changes {
                    let same = |m: &super::Change| match (m, c) {
                        (
                            super::Change::Set { directive: a, .. },
                            super::Change::Set { directive: b, .. },
                        ) => a == b,
                        (
                            super::Change::SetHeader {
                                directive: a,
                                header: ha,
                                ..
                            },
                            super::Change::SetHeader {
                                directive: b,
                                header: hb,
                                ..
                            },
                        ) => a == b && ha.eq_ignore_ascii_case(hb),
                        _ => false,
                    };
                    if !merged.changes.iter().any(same) {
                        merged.changes.push(c.clone());
                    }
                }
            }
            None => groups.push((hop, placement, fix.clone())),
        }
    }
    let mut edits = Vec::new();
    let mut missing = Vec::new();
    for (hop, placement, fix) in &groups {
        let h = &model.hops[*hop];
        match plan::edits(model, h, fix, *placement, values) {
            Ok(e) => edits.extend(e),
            Err(m) => missing.push((h.id.clone(), m)),
        }
    }
    if missing.is_empty() {
        Ok(edit::merge(edits).0)
    } else {
        Err(missing)
    }
}

/// The ids, in a fixed configuration, of hops named by their ids in the
/// configuration as loaded (inserted lines move line numbers).
pub fn ids_after(original: &Model, after: &Model, ids: &[String]) -> Vec<String> {
    after
        .hops
        .iter()
        .filter(|h| {
            original_id(original, &stable_key(after, h)).is_some_and(|id| ids.contains(&id))
        })
        .map(|h| h.id.clone())
        .collect()
}
