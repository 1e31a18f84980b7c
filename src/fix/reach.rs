//! Which hops a planned fix changes besides its own: the blocks a change
//! lands in and the hops that read them (nested blocks, lines they inherit,
//! and a block in a file included in several places, which every include
//! path reads), the hops whose effective values would change without their
//! own fix, and why such a fix is held back.

use std::collections::HashMap;

use super::hop_keys::HopKeys;
use super::plan::{self, Placement};
use crate::diagnostic::{Change, Finding};
use crate::model::{Hop, Model};

/// Why a fix of hop `own` (the finding's) is held back: it would change
/// `what` of hop `other` (`other_id`), whose own fix is not applied.
pub(super) fn held_back(
    model: &Model,
    own: Option<usize>,
    other: usize,
    what: &str,
    other_id: &str,
    own_id: &str,
) -> String {
    // The same pass directive through another include path: the block is
    // in a file nginx reads for both.
    let Some(own) = own.filter(|&own| model.hops[own].pass == model.hops[other].pass) else {
        return format!(
            "would also change {what} of {other_id}, which reads the same lines and whose own fix is not applied: fix both together, with the values they need"
        );
    };
    let (mine, theirs) = (&model.hops[own], &model.hops[other]);
    // The include nearest the pass that only this path has.
    let theirs_rev = theirs
        .via
        .iter()
        .rev()
        .map(Some)
        .chain(std::iter::repeat(None));
    let inc = mine
        .via
        .iter()
        .rev()
        .zip(theirs_rev)
        .find(|(m, t)| Some(*m) != *t)
        .map_or_else(String::new, |(m, _)| model.file_line(*m));
    let block_file = model.file_name(model.tree.ctx(mine.own).opener.unwrap_or(mine.pass));
    format!(
        "would also change {what} of {other_id}, the same {} through another include path: the line would go into {block_file}, which both paths include. Fix both together (--hop {own_id} --hop {other_id}) if both need it, or write the line by hand in the block around the include at {inc}",
        model.dir(mine.pass).name(),
    )
}

/// Hops (indices of `model`) whose effective settings or Host header the
/// planned round changes although none of their own chosen fixes sets that
/// directive, with what changes.
pub(super) fn collateral(
    model: &Model,
    next: &Model,
    findings: &[Finding],
    chosen: &[(usize, Placement)],
) -> Vec<(usize, String)> {
    let mut planned: HashMap<usize, Vec<&Change>> = HashMap::new();
    for &(fi, _) in chosen {
        if let (Some(h), Some(fix)) = (findings[fi].hop, &findings[fi].fix) {
            planned.entry(h).or_default().extend(&fix.changes);
        }
    }
    let (keys, next_keys) = (HopKeys::new(model), HopKeys::new(next));
    let mut out = Vec::new();
    for i in 0..model.hops.len() {
        let Some(new) = next_keys.find(keys.key(i)).map(|j| &next.hops[j]) else {
            continue;
        };
        let hop = &model.hops[i];
        let planned = planned.get(&i).map_or(&[][..], Vec::as_slice);
        let sets = |name: &str| {
            planned.iter().any(|c| match c {
                Change::Set { directive, .. } => directive == name,
                Change::SetHeader { .. } => false,
            })
        };
        let sets_host = planned.iter().any(|c| {
            matches!(c, Change::SetHeader { header, .. } if header.eq_ignore_ascii_case("host"))
        });
        let mut what: Vec<String> = hop
            .settings
            .iter()
            .filter(|s| {
                let now = new.settings.iter().find(|n| n.name == s.name);
                now.is_some_and(|n| n.value != s.value) && !sets(s.name)
            })
            .map(|s| s.name.to_string())
            .collect();
        let host = |h: &Hop| h.host_header.as_ref().map(|x| x.value.clone());
        if host(hop) != host(new) && !sets_host {
            what.push("the Host header".into());
        }
        if !what.is_empty() {
            out.push((i, what.join(", ")));
        }
    }
    out
}

/// The other hops of a finding's pass directive (other include paths)
/// whose blocks its fix writes into: the lines are in a file both include.
pub(super) fn shared_with(model: &Model, finding: &Finding, placement: Placement) -> Vec<usize> {
    let (Some(own), Some(fix)) = (finding.hop, &finding.fix) else {
        return Vec::new();
    };
    model
        .other_paths(own)
        .into_iter()
        .filter(|&h| {
            fix.changes
                .iter()
                .any(|ch| reaches(model, own, fix, ch, placement, h))
        })
        .collect()
}

/// Whether a change planned for hop `own` lands where hop `other` reads
/// it: in a block `other` is nested in, or on the very line `other`'s value
/// comes from (a file included in both places).
pub(super) fn reaches(
    model: &Model,
    own: usize,
    fix: &crate::diagnostic::Fix,
    change: &Change,
    placement: Placement,
    other: usize,
) -> bool {
    let (Change::Set { directive, .. } | Change::SetHeader { directive, .. }) = change;
    let block = plan::target_block(model, &model.hops[own], fix, directive, placement);
    let h = &model.hops[other];
    // A block in a file included in several places is one text for all of
    // them: the same opener, another context.
    let opener = model.tree.ctx(block).opener;
    if model
        .tree
        .ancestors(h.ctx)
        .any(|c| c == block || (opener.is_some() && model.tree.ctx(c).opener == opener))
    {
        return true;
    }
    let from: Vec<crate::model::DirRef> = match change {
        Change::Set { .. } => h
            .settings
            .iter()
            .filter(|s| s.name == directive)
            .flat_map(|s| s.lines.iter().copied())
            .collect(),
        Change::SetHeader { .. } => match h.host_header.as_ref().map(|x| &x.origin) {
            Some(crate::model::Origin::Explicit(p)) => vec![p.dir],
            _ => Vec::new(),
        },
    };
    model
        .lines_in(block, directive)
        .iter()
        .any(|l| from.contains(l))
}
