//! Rules: each file in this folder is one rule with its id, severity,
//! teaching text and check. The registry below is the only list of rules;
//! `explain`, the README table, SARIF rule metadata and the TUI's teaching
//! pane are all generated from it.

mod cert_file_missing;
mod cert_no_key;
pub mod cis;
mod host_sni_mismatch;
mod pool_name_mismatch;
mod reach;
mod sni_dynamic;
mod sni_ip_literal;
mod sni_kind;
mod sni_name_ignored;
mod sni_off;
mod sni_other_host;
mod sni_upstream_name;
mod ssl_in_if;
mod ssl_on_plain_hop;
pub(crate) mod support;
mod verify_depth;
mod verify_name_mismatch;
mod verify_no_ca;
mod verify_off;
mod weak_ciphers;
mod weak_protocols;

use std::collections::HashMap;

use crate::conf::FileId;
use crate::diagnostic::{Finding, Severity};
use crate::model::Model;
pub use cert_file_missing::not_checked as files_not_checked;
pub use sni_kind::sni_kind;

/// A rule's documentation, in the fixed layout every rule follows.
#[derive(Clone, Copy, Debug)]
pub struct Doc {
    /// What the rule flags (one or two sentences).
    pub what: &'static str,
    /// Why it is bad: what nginx does on the wire, what the upstream sees,
    /// what breaks or who can attack.
    pub why: &'static str,
    /// A configuration that triggers the rule.
    pub example: &'static str,
    /// The same configuration, fixed.
    pub use_instead: &'static str,
    /// What the automatic fix does and when it needs review (or why there is none).
    pub fix_safety: &'static str,
    /// Which severity the rule reports when, measured against [`SEVERITY_POLICY`].
    pub severity_text: &'static str,
}

/// What each severity means, for every rule alike (the README's
/// "Severity" section says the same).
pub const SEVERITY_POLICY: &[(Severity, &str)] = &[
    (Severity::Error, "nginx -t rejects the configuration"),
    (
        Severity::High,
        "on the wire, as configured, this hop breaks or can be impersonated",
    ),
    (
        Severity::Medium,
        "a real weakness, or a break under conditions the configuration does not decide",
    ),
    (Severity::Low, "hygiene"),
    (Severity::Info, "worth knowing"),
];

/// A rule: identity, documentation and the check.
pub struct Rule {
    /// kebab-case, stable: used in JSON, SARIF, `--rule` and suppressions.
    pub id: &'static str,
    /// One line for lists and the README table.
    pub summary: &'static str,
    /// The highest severity the rule reports (some findings are lower).
    pub severity: Severity,
    pub doc: Doc,
    pub check: fn(&Model, &mut Vec<Finding>),
}

impl Rule {
    /// The teaching text, as `hopscope explain` prints it.
    pub fn explain(&self) -> String {
        format!(
            "{id} ({sev}): {summary}\n\n## What it does\n{what}\n\n## Why is this bad\n{why}\n\n## Severity\n{severity}\n\n{policy}\n\n## Example\n{example}\n\n## Use instead\n{instead}\n\n## Fix safety\n{fix}\n",
            id = self.id,
            sev = self.severity,
            summary = self.summary,
            what = self.doc.what.trim(),
            why = self.doc.why.trim(),
            example = self.doc.example.trim_end(),
            instead = self.doc.use_instead.trim_end(),
            fix = self.doc.fix_safety.trim(),
            severity = self.doc.severity_text.trim(),
            policy = policy_text(),
        )
    }
}

/// The severity policy as one paragraph: `error` = …; `high` = ….
pub fn policy_text() -> String {
    let parts: Vec<String> = SEVERITY_POLICY
        .iter()
        .map(|(s, m)| format!("`{s}` = {m}"))
        .collect();
    format!("Severities, for every rule: {}.", parts.join("; "))
}

/// Every rule, in the order they are documented.
pub fn registry() -> &'static [&'static Rule] {
    &[
        &sni_off::RULE,
        &sni_name_ignored::RULE,
        &sni_upstream_name::RULE,
        &sni_ip_literal::RULE,
        &sni_dynamic::RULE,
        &sni_other_host::RULE,
        &verify_off::RULE,
        &verify_no_ca::RULE,
        &verify_name_mismatch::RULE,
        &verify_depth::RULE,
        &cert_no_key::RULE,
        &cert_file_missing::RULE,
        &weak_protocols::RULE,
        &weak_ciphers::RULE,
        &host_sni_mismatch::RULE,
        &pool_name_mismatch::RULE,
        &ssl_on_plain_hop::RULE,
        &ssl_in_if::RULE,
    ]
}

/// Finds a rule by id.
/// The error for a rule id that is not one: a "did you mean" when one
/// is close, and the valid ids.
pub fn unknown_rule(id: &str) -> String {
    let ids: Vec<&str> = registry().iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return format!("unknown rule \"{id}\" (no rules are registered)");
    }
    let guess = ids
        .iter()
        .map(|known| (edit_distance(id, known), *known))
        .filter(|&(d, _)| d <= 3)
        .min();
    let hint = guess.map_or(String::new(), |(_, g)| format!(" (did you mean \"{g}\"?)"));
    format!(
        "unknown rule \"{id}\"{hint}; valid rules: {}",
        ids.join(", ")
    )
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn find(id: &str) -> Option<&'static Rule> {
    registry().iter().copied().find(|r| r.id == id)
}

/// Runs every rule and applies inline suppressions. Findings come sorted
/// by file, line, severity (highest first) and rule.
pub fn check(model: &Model) -> Vec<Finding> {
    let mut out = run_all(model);
    // Whether each block's enclosing blocks are all closed, and whether a
    // file holds any `hopscope:` comment, asked once per block and file
    // rather than once per finding.
    let mut closed: Vec<Option<bool>> = vec![None; model.tree.ctx_count()];
    let mut marked: HashMap<FileId, bool> = HashMap::new();
    // The line of each finding, looked up once for suppressions and the sort.
    let mut lines = Vec::with_capacity(out.len());
    for f in &mut out {
        conditional(model, f);
        let line = line_of(model, f.dir);
        lines.push(line);
        f.suppressed = suppression_marked(model, f, line, &mut marked);
        // No automatic fix inside blocks a syntax error left open: lines
        // placed by a tree that stops short of the file's real structure
        // could land inside a half-read directive (found by fuzzing).
        if f.fix.is_some() {
            if let Some(h) = f.hop {
                let ctx = model.hops[h].ctx;
                let ok = match closed.get(ctx as usize).copied().flatten() {
                    Some(ok) => ok,
                    None => {
                        let ok = model.blocks_closed(ctx);
                        if let Some(slot) = closed.get_mut(ctx as usize) {
                            *slot = Some(ok);
                        }
                        ok
                    }
                };
                if !ok {
                    f.fix = None;
                }
            }
        }
    }
    // The (large) findings are moved once, not by every step of the sort.
    // Findings on one pass directive reached through several include
    // paths follow the order of their hops.
    let keys: Vec<_> = out
        .iter()
        .zip(lines)
        .map(|(f, line)| {
            (
                f.dir.file,
                line,
                std::cmp::Reverse(f.severity),
                f.rule,
                f.hop,
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    apply_order(&mut out, &order);
    // A directive in a file included in several places is checked once
    // per place: a finding that is not about a hop and says the same thing
    // each time is reported once.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| f.hop.is_some() || seen.insert((f.rule, f.dir, f.message.clone())));
    out
}

/// The line of a directive.
fn line_of(model: &Model, d: crate::model::DirRef) -> u32 {
    model.config.file(d.file).line_of(model.dir(d).range.start)
}

/// Reorders `items` so that position k holds what was at `order[k]`
/// (`order` is a permutation): each cycle of the permutation is followed
/// with one swap per item, without a second list.
fn apply_order<T>(items: &mut [T], order: &[usize]) {
    let mut placed = vec![false; items.len()];
    for start in 0..items.len() {
        let mut k = start;
        while !placed[k] {
            placed[k] = true;
            let from = order[k];
            if from == start {
                break;
            }
            items.swap(k, from);
            k = from;
        }
    }
}

/// The findings of every rule. The rules only read the model, so two
/// threads share them out (a large configuration takes about half the time
/// on two cores). Each rule's findings stay together and in order, and the
/// sort in [`check`] orders by rule id among findings at one place, so the
/// result does not depend on which thread ran which rule.
fn run_all(model: &Model) -> Vec<Finding> {
    let rules = registry();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || model.hops.len() < 64 {
        let mut out = Vec::new();
        for rule in rules {
            (rule.check)(model, &mut out);
        }
        return out;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut found = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(rule) = rules.get(i) else {
                return found;
            };
            (rule.check)(model, &mut found);
        }
    };
    std::thread::scope(|s| {
        let other = s.spawn(work);
        let mut mine = work();
        let mut theirs = match other.join() {
            Ok(theirs) => theirs,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // Grown by exactly the other list, not by the doubling `append`
        // alone does: the list lives as long as the findings.
        mine.reserve_exact(theirs.len());
        mine.append(&mut theirs);
        mine.shrink_to_fit();
        mine
    })
}

/// A finding on a hop that opens TLS only for some requests (its scheme
/// comes from the request, or from values chosen per request) says under
/// which condition, and is at most `medium`: a break under conditions the
/// configuration does not decide. `error` stays: nginx sets up TLS for
/// every pass with variables, so `nginx -t` checks it all the same.
fn conditional(model: &Model, f: &mut Finding) {
    let Some(hop) = f.hop.and_then(|h| model.hops.get(h)) else {
        return;
    };
    if hop.tls.certain() {
        return;
    }
    if let Some(when) = hop.tls.text() {
        f.message = format!("when {when}: {}", f.message);
    }
    if f.severity == Severity::High {
        f.severity = Severity::Medium;
    }
}

/// `# hopscope: ignore RULE[,RULE…] reason` on the line of the finding's
/// directive (trailing) or on the line just above it. `all` matches every
/// rule. Returns the reason (possibly empty) when the finding is covered.
pub fn suppression(model: &Model, f: &Finding) -> Option<String> {
    std::iter::once(f.dir)
        .chain(f.related.iter().map(|r| r.dir))
        .find_map(|d| suppression_at(model, d.file, line_of(model, d), f.rule))
}

/// [`suppression`], given the line of the finding's directive, looking
/// only in files that hold a `hopscope:` comment at all (`marked`
/// remembers which do).
fn suppression_marked(
    model: &Model,
    f: &Finding,
    line: u32,
    marked: &mut HashMap<FileId, bool>,
) -> Option<String> {
    let mut has_marker = |file: FileId| {
        *marked.entry(file).or_insert_with(|| {
            let src = model.config.file(file);
            model
                .config
                .ast(file)
                .comments
                .iter()
                .any(|c| src.str(*c).contains("hopscope:"))
        })
    };
    if has_marker(f.dir.file) {
        if let Some(reason) = suppression_at(model, f.dir.file, line, f.rule) {
            return Some(reason);
        }
    }
    f.related.iter().find_map(|r| {
        if !has_marker(r.dir.file) {
            return None;
        }
        suppression_at(model, r.dir.file, line_of(model, r.dir), f.rule)
    })
}

fn suppression_at(model: &Model, file: FileId, line: u32, rule: &str) -> Option<String> {
    let src = model.config.file(file);
    let ast = model.config.ast(file);
    let first = src.line_start(line.saturating_sub(1).max(1)) as u32;
    let end = src.line_start(line + 1) as u32;
    let start = ast.comments.partition_point(|c| c.start < first);
    ast.comments[start..]
        .iter()
        .take_while(|c| c.start < end)
        .find_map(|c| {
            let text = src.str(*c);
            let body = text.trim_start_matches('#').trim();
            let rest = body.strip_prefix("hopscope:")?.trim_start();
            let rest = rest.strip_prefix("ignore")?.trim_start();
            let (ids, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            ids.split(',')
                .any(|id| id == rule || id == "all")
                .then(|| reason.trim().to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::{apply_order, edit_distance};

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("sni-of", "sni-off"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn each_include_path_of_a_pass_gets_its_own_findings() {
        // One pass directive, two hops (the file is included twice, once
        // where SNI is on): the finding about SNI names the hop without it.
        let m = crate::test_support::model(&[
            (
                "nginx.conf",
                "http { server { proxy_ssl_server_name on; include loc.conf; } server { listen 81; include loc.conf; } }",
            ),
            (
                "loc.conf",
                "location / { proxy_pass https://api.example.com; }",
            ),
        ]);
        assert_eq!(m.hops.len(), 2);
        assert_eq!(m.hops[0].pass, m.hops[1].pass);
        let findings = super::check(&m);
        let sni_off: Vec<Option<usize>> = findings
            .iter()
            .filter(|f| f.rule == "sni-off")
            .map(|f| f.hop)
            .collect();
        assert_eq!(sni_off, [Some(1)]);
        // Findings of both hops, in the order of the hops.
        let hops: Vec<usize> = findings.iter().filter_map(|f| f.hop).collect();
        assert!(hops.contains(&0) && hops.contains(&1));
    }

    #[test]
    fn a_finding_outside_hops_in_a_shared_file_is_reported_once() {
        let m = crate::test_support::model(&[
            (
                "nginx.conf",
                "http { server { include loc.conf; } server { listen 81; include loc.conf; } }",
            ),
            (
                "loc.conf",
                "location / { if ($x) { proxy_ssl_server_name on; } proxy_pass https://api.example.com; }",
            ),
        ]);
        let in_if = super::check(&m)
            .into_iter()
            .filter(|f| f.rule == "ssl-in-if")
            .count();
        assert_eq!(in_if, 1);
        // A plain pass in a shared file is one directive, not two.
        let m = crate::test_support::model(&[
            (
                "nginx.conf",
                "http { proxy_ssl_verify on; server { include loc.conf; } server { listen 81; include loc.conf; } }",
            ),
            ("loc.conf", "location / { proxy_pass http://api.example.com; }"),
        ]);
        let dead: Vec<String> = super::check(&m)
            .into_iter()
            .filter(|f| f.rule == "ssl-on-plain-hop")
            .map(|f| f.message)
            .collect();
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert!(dead[0].contains("the only pass it reaches"), "{dead:?}");
    }

    #[test]
    fn apply_order_moves_each_item_where_the_order_says() {
        let orders: [&[usize]; 5] = [&[], &[0], &[1, 0], &[2, 0, 1], &[3, 1, 4, 0, 2]];
        for order in orders {
            let mut items: Vec<usize> = (0..order.len()).map(|i| i * 10).collect();
            apply_order(&mut items, order);
            let expected: Vec<usize> = order.iter().map(|&i| i * 10).collect();
            assert_eq!(items, expected, "order {order:?}");
        }
    }
}
