//! Variables evaluated statically, as nginx's rewrite module would leave
//! them when the content handler (the pass) runs: the values a variable may
//! hold, each with the conditions under which it holds it.
//!
//! What is evaluated:
//! - `set`, in the order nginx's rewrite module runs it: the server's
//!   rewrite directives (server rewrite phase), then those of the innermost
//!   matching location only (a nested location does not run its outer
//!   locations' `set`s). A `set` inside `if` runs for some requests only, so
//!   the variable then has both values. An `if` that always leaves (`return`,
//!   a redirecting `rewrite`) is not taken by a request that reaches the
//!   pass; after a `rewrite … last|break` or an unconditional `break` or
//!   `return`, the later directives of that level may not run.
//! - `map` and `geo` values (literal, or evaluated recursively), each with
//!   the key that selects it; a missing `default` is the empty string.
//! - `js_var` initial values; `$scheme` and `$https` from the server's
//!   `listen` lines (every one `ssl`: always https; none: never; else per
//!   request).
//!
//! Anything else (request variables, regex captures, variables of other
//! modules) is unknown: it stays a variable in the value.

use std::collections::HashMap;

use super::defs::{MapDef, SchemeOf, OVER_PLAIN, OVER_TLS};
use super::tree::{CtxId, DirRef, Kind};
use super::vars::variable_at;
use super::Model;

/// Most values one variable (or one evaluated expression) is followed
/// through; past that, it is unknown.
const MAX_ALTS: usize = 32;
/// How deep `map` values naming other variables are followed.
const MAX_DEPTH: u8 = 6;
/// How many values one evaluation computes at most.
const MAX_WORK: usize = 20_000;

/// A piece of an evaluated value: literal text, or a variable whose value
/// is not known statically.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Seg {
    Lit(String),
    Var(String),
}

/// One value an expression may take, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alt {
    pub segs: Vec<Seg>,
    /// Conditions that select this value (`if ($x) (a.conf:3)`,
    /// `$host = b.example.org`); empty when it always holds.
    pub when: Vec<String>,
    /// Some variable was replaced by a value the configuration gives.
    pub resolved: bool,
    /// The value each variable of the evaluated expression took (known
    /// from the configuration), in order: `("forward_scheme", "https")`.
    pub binds: Vec<(String, String)>,
}

impl Alt {
    pub fn lit(s: &str) -> Alt {
        Alt {
            segs: if s.is_empty() {
                Vec::new()
            } else {
                vec![Seg::Lit(s.to_string())]
            },
            when: Vec::new(),
            resolved: false,
            binds: Vec::new(),
        }
    }
    fn unknown(var: &str) -> Alt {
        Alt {
            segs: vec![Seg::Var(var.to_string())],
            when: Vec::new(),
            resolved: false,
            binds: Vec::new(),
        }
    }
    /// The value, when no part of it is unknown.
    pub fn known(&self) -> Option<String> {
        let mut out = String::new();
        for s in &self.segs {
            match s {
                Seg::Lit(t) => out.push_str(t),
                Seg::Var(_) => return None,
            }
        }
        Some(out)
    }
    /// The value as nginx syntax: known parts as text, unknown ones as
    /// `$name` (`${name}` where a name character follows).
    pub fn render(&self) -> String {
        render(&self.segs)
    }
    fn push(&mut self, seg: &Seg) {
        match (self.segs.last_mut(), seg) {
            (Some(Seg::Lit(a)), Seg::Lit(b)) => a.push_str(b),
            (_, Seg::Lit(b)) if b.is_empty() => {}
            _ => self.segs.push(seg.clone()),
        }
    }
    fn with_when(mut self, cond: &str) -> Alt {
        if !self.when.iter().any(|w| w == cond) {
            self.when.push(cond.to_string());
        }
        self
    }
}

/// Segments as nginx syntax.
pub fn render(segs: &[Seg]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        match s {
            Seg::Lit(t) => out.push_str(t),
            Seg::Var(v) => {
                let next_is_name = matches!(segs.get(i + 1), Some(Seg::Lit(t))
                    if t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'));
                if next_is_name {
                    out.push_str(&format!("${{{v}}}"));
                } else {
                    out.push('$');
                    out.push_str(v);
                }
            }
        }
    }
    out
}

/// The variables of one request at the content phase: name (lower-cased)
/// → the values it may hold. A variable not here was not `set`.
#[derive(Clone, Debug, Default)]
pub struct Env {
    vars: HashMap<String, Vec<Alt>>,
}

impl Env {
    pub fn get(&self, var: &str) -> Option<&[Alt]> {
        self.vars.get(&var.to_ascii_lowercase()).map(Vec::as_slice)
    }
    pub(super) fn set(&mut self, var: &str, alts: Vec<Alt>) {
        self.vars.insert(var.to_ascii_lowercase(), alts);
    }
}

impl Model {
    /// The variables when the pass in `ctx` runs: the rewrite directives of
    /// its server, then of its innermost location (with the `if` holding
    /// the pass, if any, taken).
    pub fn rewrite_env(&self, ctx: CtxId) -> Env {
        let mut env = Env::default();
        let Some(server) = self.tree.enclosing(ctx, &[Kind::Server]) else {
            return env;
        };
        let location = self.tree.enclosing(ctx, &[Kind::Location]);
        let taken_if = self
            .tree
            .enclosing(ctx, &[Kind::If])
            .filter(|&i| Some(i) != location && self.tree.ctx(i).parent == location);
        let run = Run {
            model: self,
            server,
            location,
            work: Default::default(),
        };
        run.level(server, &mut env, None);
        if let Some(l) = location {
            run.level(l, &mut env, taken_if);
        }
        env
    }

    /// Evaluates a value (a complex value, as in `set`, `proxy_pass` or
    /// `*_ssl_name`) for a pass in `ctx` with `env`, its rewrite variables.
    pub fn eval_value(&self, ctx: CtxId, env: &Env, value: &str) -> Vec<Alt> {
        let server = self.tree.enclosing(ctx, &[Kind::Server]);
        let location = self.tree.enclosing(ctx, &[Kind::Location]);
        let run = Run {
            model: self,
            server: server.unwrap_or(ctx),
            location,
            work: Default::default(),
        };
        run.eval(value, env, 0)
    }
}

impl Model {
    /// Every value `value` (a complex value) may take for a request to the
    /// pass in `ctx`, when the configuration gives them all (`set`, `map`,
    /// `js_var` constants); None when some part is known only per request.
    /// `proxy_host` is `$proxy_host`, when known.
    pub fn known_values(
        &self,
        ctx: CtxId,
        value: &str,
        proxy_host: Option<&str>,
    ) -> Option<Vec<String>> {
        let mut env = self.rewrite_env(ctx);
        if let Some(ph) = proxy_host {
            env.set("proxy_host", vec![Alt::lit(ph)]);
        }
        let mut out: Vec<String> = Vec::new();
        for a in self.eval_value(ctx, &env, value) {
            let v = a.known()?;
            if !out.contains(&v) {
                out.push(v);
            }
        }
        Some(out)
    }
}

/// One evaluation: the blocks whose `js_var`s and `$scheme` apply.
struct Run<'a> {
    model: &'a Model,
    server: CtxId,
    location: Option<CtxId>,
    /// Values computed so far: past [`MAX_WORK`], the rest is unknown (maps
    /// of maps can multiply).
    work: std::cell::Cell<usize>,
}

impl Run<'_> {
    /// Runs the rewrite directives of one level (server or location) in
    /// order. `taken` is the `if` holding the pass: its block runs always.
    fn level(&self, ctx: CtxId, env: &mut Env, taken: Option<CtxId>) {
        let m = self.model;
        // Set when a `rewrite … last|break` may have ended this level.
        let mut may_stop: Option<String> = None;
        for &r in m.rewrites_in(ctx) {
            let d = m.dir(r);
            match d.name() {
                "set" => {
                    let (Some(var), Some(value)) =
                        (d.arg(0).and_then(|a| a.strip_prefix('$')), d.arg(1))
                    else {
                        continue;
                    };
                    let alts = self.eval(value, env, 0);
                    match &may_stop {
                        None => {
                            env.vars.insert(var.to_ascii_lowercase(), alts);
                        }
                        Some(cond) => {
                            let before = self.current(var, env);
                            let after = alts.into_iter().map(|a| a.with_when(cond)).collect();
                            env.vars
                                .insert(var.to_ascii_lowercase(), union(before, after));
                        }
                    }
                }
                "if" => {
                    let Some(block) = m.tree.child_opened_by(ctx, r) else {
                        continue;
                    };
                    if Some(block) == taken {
                        self.level(block, env, None);
                        continue;
                    }
                    if self.always_leaves(block) {
                        continue; // a request that reaches the pass did not take it
                    }
                    let mut inner = env.clone();
                    self.level(block, &mut inner, None);
                    let cond = format!("the {} at {} is taken", if_text(m, r), m.file_line(r));
                    self.merge(env, inner, &cond);
                }
                "break" | "return" => return,
                "rewrite" if matches!(d.arg(2), Some("last" | "break")) => {
                    may_stop.get_or_insert_with(|| {
                        format!("the rewrite at {} does not match", m.file_line(r))
                    });
                }
                _ => {}
            }
        }
    }

    /// Whether every request that takes an `if` block leaves the location
    /// (a `return`, or a `rewrite` that redirects or restarts the search).
    fn always_leaves(&self, block: CtxId) -> bool {
        let m = self.model;
        m.tree.ctx(block).directives().iter().any(|&r| {
            let d = m.dir(r);
            match d.name() {
                "return" => true,
                "rewrite" => {
                    let to = d.arg(1).unwrap_or_default();
                    matches!(d.arg(2), Some("redirect" | "permanent"))
                        || (d.arg(2).is_none()
                            && ["http://", "https://", "$scheme"]
                                .iter()
                                .any(|p| to.starts_with(p)))
                }
                _ => false,
            }
        })
    }

    /// After an `if` that may or may not be taken: each variable the block
    /// changed holds its old values or the new ones (under `cond`).
    fn merge(&self, env: &mut Env, inner: Env, cond: &str) {
        for (var, after) in inner.vars {
            let before = self.current(&var, env);
            if before == after {
                continue;
            }
            let after = after.into_iter().map(|a| a.with_when(cond)).collect();
            env.vars.insert(var, union(before, after));
        }
    }

    /// The values of a variable now: what a `set` gave it, else what it
    /// holds without one.
    fn current(&self, var: &str, env: &Env) -> Vec<Alt> {
        match env.get(var) {
            Some(v) => v.to_vec(),
            None => self.unset(var, env, 0),
        }
    }

    /// The values of a variable no `set` of this request assigned.
    fn unset(&self, var: &str, env: &Env, depth: u8) -> Vec<Alt> {
        let m = self.model;
        let lower = var.to_ascii_lowercase();
        match lower.as_str() {
            // The proxy module's own value, unless a `set` changed it.
            "proxy_host" => return vec![Alt::unknown(var)],
            "scheme" | "https" => {
                let https = lower == "https";
                let value = |tls: bool| match (https, tls) {
                    (false, true) => "https",
                    (false, false) => "http",
                    (true, true) => "on",
                    (true, false) => "",
                };
                let resolved = |mut a: Alt| {
                    a.resolved = true;
                    a
                };
                return match m.scheme_of(Some(self.server)) {
                    SchemeOf::Https => vec![resolved(Alt::lit(value(true)))],
                    SchemeOf::Http => vec![resolved(Alt::lit(value(false)))],
                    SchemeOf::Either => vec![
                        resolved(Alt::lit(value(true)).with_when(OVER_TLS)),
                        resolved(Alt::lit(value(false)).with_when(OVER_PLAIN)),
                    ],
                };
            }
            _ => {}
        }
        if let Some(v) = self.js_var(&lower) {
            let mut alts = self.eval(&v, env, depth + 1);
            alts.iter_mut().for_each(|a| a.resolved = true);
            return alts;
        }
        if let Some(def) = m.defs.maps.get(&lower) {
            self.work.set(self.work.get() + def.entries.len());
            if !def.open && depth < MAX_DEPTH && self.work.get() <= MAX_WORK {
                return self.map_values(var, def, env, depth);
            }
            return vec![Alt::unknown(var)];
        }
        if m.defs.sets(&lower) {
            // Declared by a `set` this request does not run: nginx reads
            // an uninitialized variable as empty.
            let mut a = Alt::lit("");
            a.resolved = true;
            return vec![a];
        }
        vec![Alt::unknown(var)]
    }

    /// `js_var $name value;` in the pass's location, server or http.
    fn js_var(&self, var: &str) -> Option<String> {
        let m = self.model;
        let start = self.location.unwrap_or(self.server);
        m.tree.ancestors(start).find_map(|c| {
            if !matches!(
                m.tree.ctx(c).kind,
                Kind::Location | Kind::Server | Kind::Http
            ) {
                return None;
            }
            m.lines_in(c, "js_var").into_iter().rev().find_map(|r| {
                let d = m.dir(r);
                let name = d.arg(0)?.strip_prefix('$')?;
                name.eq_ignore_ascii_case(var)
                    .then(|| d.arg(1).unwrap_or_default().to_string())
            })
        })
    }

    fn map_values(&self, var: &str, def: &MapDef, env: &Env, depth: u8) -> Vec<Alt> {
        let unknown = || vec![Alt::unknown(var)];
        // More distinct values than are followed: unknown, without the work.
        let distinct: std::collections::HashSet<&str> =
            def.entries.iter().map(|(_, v)| v.as_str()).collect();
        if distinct.len() > MAX_ALTS {
            return unknown();
        }
        // Every entry gives the same literal: no key decides anything.
        if let Some((_, first)) = def.entries.first() {
            if !first.contains('$') && def.entries.iter().all(|(_, v)| v == first) {
                let mut a = Alt::lit(first);
                a.resolved = true;
                return vec![a];
            }
        }
        let mut out = Vec::new();
        for (key, value) in &def.entries {
            let cond = if key == "default" {
                format!("{} matches no other entry", def.source)
            } else if def.geo {
                format!("{} is in {key}", def.source)
            } else if let Some(re) = key.strip_prefix('~') {
                format!("{} ~ {}", def.source, re.trim_start_matches('*'))
            } else {
                format!("{} = {key}", def.source)
            };
            for mut a in self.eval(value, env, depth + 1) {
                a.resolved = true;
                out = union(out, vec![a.with_when(&cond)]);
            }
        }
        if out.len() > MAX_ALTS {
            return unknown();
        }
        out
    }

    /// Evaluates a complex value: each variable replaced by its values.
    fn eval(&self, value: &str, env: &Env, depth: u8) -> Vec<Alt> {
        let mut alts = vec![Alt::lit("")];
        let mut i = 0;
        while i < value.len() {
            let rest = &value[i..];
            let Some(off) = rest.find('$') else {
                let seg = Seg::Lit(rest.to_string());
                alts.iter_mut().for_each(|a| a.push(&seg));
                break;
            };
            if off > 0 {
                let seg = Seg::Lit(rest[..off].to_string());
                alts.iter_mut().for_each(|a| a.push(&seg));
            }
            let (var, len) = variable_at(&rest[off + 1..]);
            i += off + 1 + len;
            if var.is_empty() {
                let seg = Seg::Lit("$".into());
                alts.iter_mut().for_each(|a| a.push(&seg));
                continue;
            }
            let mut values = match env.get(var) {
                Some(v) => {
                    let mut v = v.to_vec();
                    v.iter_mut().for_each(|a| a.resolved = true);
                    v
                }
                None if depth < MAX_DEPTH => self.unset(var, env, depth),
                None => vec![Alt::unknown(var)],
            };
            if alts.len() * values.len() > MAX_ALTS {
                // Too many combinations to follow: this variable is unknown.
                values = vec![Alt::unknown(var)];
            }
            let mut next = Vec::with_capacity(alts.len() * values.len());
            for a in &alts {
                for v in &values {
                    let mut joined = a.clone();
                    for s in &v.segs {
                        joined.push(s);
                    }
                    for w in &v.when {
                        joined = joined.with_when(w);
                    }
                    joined.resolved |= v.resolved;
                    if depth == 0 && v.resolved && !joined.binds.iter().any(|(b, _)| b == var) {
                        joined.binds.push((var.to_string(), v.render()));
                    }
                    next.push(joined);
                }
            }
            alts = next;
        }
        alts
    }
}

/// Values from both lists; a value already there keeps its conditions
/// (it holds in either case).
fn union(mut before: Vec<Alt>, after: Vec<Alt>) -> Vec<Alt> {
    for a in after {
        match before.iter_mut().find(|b| b.segs == a.segs) {
            Some(b) if b.when.is_empty() || a.when.is_empty() => b.when.clear(),
            Some(b) => {
                let either = format!("{} or {}", b.when.join(" and "), a.when.join(" and "));
                b.when = vec![either];
                b.resolved |= a.resolved;
            }
            None => before.push(a),
        }
    }
    before
}

/// `if (…)` as written, spaces collapsed.
fn if_text(m: &Model, r: DirRef) -> String {
    let d = m.dir(r);
    let f = m.config.file(r.file);
    let end = d.block.as_ref().map_or(d.range.end, |b| b.open);
    let raw = f.str(crate::conf::Range {
        start: d.name.range.start,
        end,
    });
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}
