//! Applying fixes to a whole configuration: choose findings, turn their
//! fixes into edits, apply them in one pass per round, re-analyse, and
//! repeat until nothing changes (edits that overlapped an earlier one are
//! picked up in the next round). A result that makes the configuration
//! fail to parse is refused. Two rules keep a fix from doing more than it
//! was asked: a proposed value (a guess such as the system CA bundle) is
//! used only for a rule the person named, and a fix whose lines another hop
//! would inherit (a nested location, a shared include, `http`) is held back
//! unless that hop's own fix for the same setting is applied with it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::edit::{self, Edit};
pub use super::hop_keys::ids_after;
use super::hop_keys::{HopKeys, Ids};
use super::plan::{self, Missing, Placement, Values};
use super::reach::shared_with;
use crate::conf::loader::{load_tree, MemFiles};
use crate::conf::FileId;
use crate::diagnostic::{Applicability, Change, Finding};
use crate::model::{Hop, Model};
use crate::rules;

/// Most rounds of fixing before giving up on convergence.
pub const MAX_ROUNDS: usize = 5;

/// Which findings to fix.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these rules (all when empty). A fix uses the proposal of a
    /// value nobody gave only when its rule is named here.
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
    /// Other include paths of the same pass directive whose settings the
    /// same lines set (the fix's block is in a file both paths include),
    /// by their ids in the configuration as loaded.
    pub shared_with: Vec<String>,
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
    /// A `--set KEY=VALUE` is not for exactly one hop.
    Unbound(super::values::Unbound),
}

impl std::fmt::Display for FixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixError::Breaks(e) => {
                write!(f, "the fix would break the configuration: {}", e.join("; "))
            }
            FixError::Unbound(u) => u.fmt(f),
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
    let mut new = load_tree(&mem, &cfg.files[0].path, cfg.loaded_from);
    new.prefix.clone_from(&cfg.prefix);
    new.root.clone_from(&cfg.root);
    for f in &mut new.files {
        if let Some(old) = cfg.files.iter().find(|o| o.path == f.path) {
            f.on_disk = old.on_disk;
            f.name.clone_from(&old.name);
        }
    }
    Model::build(new, model.version)
}

/// The findings of a model that a selection wants fixed, with their hop's
/// original id.
fn wanted<'a>(
    names: &Ids,
    keys: &HopKeys,
    findings: &'a [Finding],
    sel: &Selection,
) -> Vec<(usize, &'a Finding, String)> {
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.suppressed.is_none() && f.fix.is_some())
        .filter(|(_, f)| sel.rules.is_empty() || sel.rules.iter().any(|r| r == f.rule))
        .filter_map(|(i, f)| {
            let id = names.original_id(keys, f.hop?)?;
            (sel.hops.is_empty() || sel.hops.contains(&id)).then_some((i, f, id))
        })
        .collect()
}

/// Fixes what the selection names. Idempotent: fixing the result again
/// changes nothing.
pub fn fix_all(original: &Model, sel: &Selection, values: &Values) -> Result<Outcome, FixError> {
    // `KEY=VALUE` is bound to its one hop before anything changes.
    let values = &values.bound(original, sel).map_err(FixError::Unbound)?;
    let mut texts: Vec<Vec<u8>> = original
        .config
        .files
        .iter()
        .map(|f| f.text.clone())
        .collect();
    let mut applied: Vec<Applied> = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
    // Fixes refused because their result is unsafe to write.
    let mut refused: BTreeSet<(&'static str, String)> = BTreeSet::new();
    let base_errors = original.errors().count();
    let mut current: Option<Model> = None;
    let names = Ids::new(original);

    for _round in 0..MAX_ROUNDS {
        let model = current.as_ref().unwrap_or(original);
        let findings = rules::check(model);
        let keys = HopKeys::new(model);
        let mut chosen: Vec<(usize, Placement)> = Vec::new();
        let mut round_applied = Vec::new();
        // Values are keyed by the hop ids the person sees: the original ones.
        let mut vals = values.clone();
        for (i, hop) in model.hops.iter().enumerate() {
            if let Some(id) = names.original_id(&keys, i) {
                for k in ["sni-name", "ca-file", "client-key", "client-cert"] {
                    if let Some(v) = values.get(&id, k) {
                        vals.insert(format!("{}:{k}", hop.id), v);
                    }
                }
            }
        }
        for (fi, f, id) in wanted(&names, &keys, &findings, sel) {
            let Some(fix) = &f.fix else { continue };
            let key = (f.rule, id.clone());
            if refused.contains(&key) {
                continue;
            }
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
            // A proposal (a CA bundle that only covers public CAs, a key
            // file named after the certificate) is a guess: it is used only
            // for a rule the person named; otherwise the value must be given.
            let named = sel.rules.iter().any(|r| r == f.rule);
            let given_only;
            let fix_vals = if named {
                &vals
            } else {
                given_only = vals.given_only();
                &given_only
            };
            match plan::edits(model, hop, fix, sel.placement, fix_vals) {
                Ok(_) => {
                    chosen.push((fi, sel.placement));
                    round_applied.push(Applied {
                        rule: f.rule,
                        hop: id,
                        summary: fix.summary.clone(),
                        applicability: fix.applicability,
                        shared_with: Vec::new(),
                    });
                }
                Err(m) => {
                    if seen.insert(key) {
                        skipped.push(skip(m.to_string(), Some(m)));
                    }
                }
            }
        }
        // Fixes of one hop are merged, so their lines stay together. A fix
        // never changes a hop that is not itself being fixed for the same
        // setting: an edit in a block another hop inherits from (a nested
        // location, an `if` in the same location, `http` with the defining
        // placement) is dropped when that hop's own fix is not in the round.
        let id_of = |h: usize| {
            names
                .original_id(&keys, h)
                .unwrap_or_else(|| model.hops[h].id.clone())
        };
        let settled =
            super::preview::settle(original, model, &texts, &findings, &chosen, &vals, &id_of);
        for (ci, reason) in settled.held {
            let a = &round_applied[ci];
            if seen.insert((a.rule, a.hop.clone())) {
                skipped.push(Skipped {
                    rule: a.rule,
                    hop: a.hop.clone(),
                    reason,
                    missing: None,
                });
            }
        }
        let chosen: Vec<(usize, Placement)> = settled.kept.iter().map(|&i| chosen[i]).collect();
        let mut round_applied: Vec<Applied> = settled
            .kept
            .iter()
            .map(|&i| round_applied[i].clone())
            .collect();
        let (next, new_texts) = match settled.next {
            Some((m, t)) => (Some(m), t),
            None => (None, Vec::new()),
        };
        let Some(next) = next else { break };
        // A result nginx -t would reject (an error-level finding the
        // original lacks), or verification turned on without its CA, is
        // never produced: those fixes are refused with why, and the round
        // is planned again without them.
        let bad = super::preview::unsafe_results(model, &next, &findings, &chosen, &id_of);
        if !bad.is_empty() {
            for (fi, reason) in bad {
                let Some(i) = chosen.iter().position(|&(f, _)| f == fi) else {
                    continue;
                };
                let a = &round_applied[i];
                refused.insert((a.rule, a.hop.clone()));
                if seen.insert((a.rule, a.hop.clone())) {
                    skipped.push(Skipped {
                        rule: a.rule,
                        hop: a.hop.clone(),
                        reason,
                        missing: None,
                    });
                }
            }
            continue;
        }
        texts = new_texts;
        for (a, &(fi, placement)) in round_applied.iter_mut().zip(&chosen) {
            a.shared_with = shared_with(model, &findings[fi], placement)
                .into_iter()
                .filter_map(|h| names.original_id(&keys, h))
                .collect();
        }
        for a in round_applied {
            if !applied.iter().any(|x| x.rule == a.rule && x.hop == a.hop) {
                applied.push(a);
            }
        }
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
    let after_keys = HopKeys::new(&after);
    let mut still = Vec::new();
    applied.retain(|a| {
        let left = remaining.iter().any(|f| {
            f.rule == a.rule
                && f.hop
                    .and_then(|h| names.original_id(&after_keys, h))
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
    // A fix held back in one round (its values, another hop) and applied
    // in a later one is not reported as both.
    skipped.retain(|s| !applied.iter().any(|a| a.rule == s.rule && a.hop == s.hop));
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
            .map(|s| (s.name.to_string(), s.value.as_deref().map(str::to_string)))
            .collect(),
        format!("{:?} {:?} {}", hop.sni.sent, hop.sni.name, hop.sni.dynamic),
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
    impact_with_sni(model, edits, None).0
}

/// [`impact`], and the SNI `hop` sends before and after the edits (from
/// the same analysis of the edited texts; `None` without a hop, or when
/// the hop is gone after them).
pub fn impact_with_sni(
    model: &Model,
    edits: &[Edit],
    hop: Option<usize>,
) -> (Vec<String>, Option<(crate::model::Sni, crate::model::Sni)>) {
    let after = reanalyze(model, &apply_edits(model, edits));
    let (keys, after_keys) = (HopKeys::new(model), HopKeys::new(&after));
    let changed = (0..model.hops.len())
        .filter(|&i| {
            let new = after_keys.find(keys.key(i)).map(|j| &after.hops[j]);
            new.map_or(true, |n| observable(n) != observable(&model.hops[i]))
        })
        .map(|i| model.hops[i].id.clone())
        .collect();
    let sni = hop.filter(|&h| h < model.hops.len()).and_then(|h| {
        let j = after_keys.find(keys.key(h))?;
        Some((model.hops[h].sni.clone(), after.hops[j].sni.clone()))
    });
    (changed, sni)
}

/// Plans a person's selection of fixes in one pass (the TUI's fix flow):
/// every change of every chosen fix goes to the block its placement names;
/// a directive (or header) already set in that block by an earlier choice
/// is written once, so two findings that both want
/// `proxy_ssl_server_name on` produce one line, and insertions at the same
/// point (fixes of one hop with different placements that land in the same
/// block, or fixes of several hops in a block they share) are joined, in
/// the order chosen, instead of all but the first being dropped. Returns
/// the edits, or every value still missing (hop id and what is needed).
pub fn plan_selection(
    model: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
    values: &Values,
) -> Result<Vec<Edit>, Vec<(String, Missing)>> {
    let mut written: Vec<(crate::model::CtxId, &str, String)> = Vec::new();
    let mut edits: Vec<Edit> = Vec::new();
    let mut missing: Vec<(String, Missing)> = Vec::new();
    for &(fi, placement) in chosen {
        let f = &findings[fi];
        let (Some(fix), Some(hop)) = (&f.fix, f.hop) else {
            continue;
        };
        if fix.applicability == Applicability::DisplayOnly {
            continue;
        }
        let h = &model.hops[hop];
        for c in &fix.changes {
            let (directive, header) = match c {
                Change::Set { directive, .. } => (directive.as_str(), String::new()),
                Change::SetHeader {
                    directive, header, ..
                } => (directive.as_str(), header.to_ascii_lowercase()),
            };
            let block = plan::target_block(model, h, fix, directive, placement);
            let key = (block, directive, header);
            if written.contains(&key) {
                continue;
            }
            match plan::change_edit(model, h, fix, c, placement, values) {
                Ok(e) => {
                    written.push(key);
                    if !edits.contains(&e) {
                        edits.push(e);
                    }
                }
                Err(m) => {
                    if !missing.iter().any(|(id, x)| *id == h.id && x.key == m.key) {
                        missing.push((h.id.clone(), m));
                    }
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(edit::merge(plan::combine(edits)).0)
    } else {
        Err(missing)
    }
}
