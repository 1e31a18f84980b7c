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

use std::collections::{HashMap, HashSet};

use super::tree::{CtxId, DirRef, Kind};
use super::vars::variable_at;
use super::version::Version;
use super::Model;

/// Most values one variable (or one evaluated expression) is followed
/// through; past that, it is unknown.
const MAX_ALTS: usize = 32;
/// How deep `map` values naming other variables are followed.
const MAX_DEPTH: u8 = 6;

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

/// What the configuration declares about variables, gathered once:
/// `map`/`geo` blocks, `js_var` lines, and which names some `set` assigns.
#[derive(Clone, Debug, Default)]
pub struct Defs {
    /// Lower-cased variable → its map (or geo) entries.
    maps: HashMap<String, MapDef>,
    /// Lower-cased names some `set` assigns anywhere.
    set_anywhere: HashSet<String>,
}

#[derive(Clone, Debug)]
struct MapDef {
    /// The source as written (`$host`; `$remote_addr` for geo).
    source: String,
    /// (key as written, value) for every entry, `default` last.
    entries: Vec<(String, String)>,
    /// An `include` inside the block lists entries this model does not read.
    open: bool,
    /// Whether the key of an entry is a regex (`~…`) — and the block a geo.
    geo: bool,
}

impl Defs {
    /// Whether some `set` anywhere assigns this variable.
    pub fn sets(&self, var: &str) -> bool {
        self.set_anywhere.contains(&var.to_ascii_lowercase())
    }

    pub(super) fn collect(model: &Model) -> Defs {
        let mut defs = Defs::default();
        for (fi, ast) in model.config.asts.iter().enumerate() {
            for (id, d) in ast.nodes.iter().enumerate() {
                match d.name() {
                    "set" => {
                        if let Some(v) = d.arg(0).and_then(|a| a.strip_prefix('$')) {
                            defs.set_anywhere.insert(v.to_ascii_lowercase());
                        }
                    }
                    "map" | "geo" if d.block.is_some() => {
                        let geo = d.name() == "geo";
                        let (source, var) = match (geo, d.args.len()) {
                            (true, 1) => ("$remote_addr", d.arg(0)),
                            _ => (d.arg(0).unwrap_or_default(), d.arg(1)),
                        };
                        let Some(var) = var.and_then(|v| v.strip_prefix('$')) else {
                            continue;
                        };
                        let file = crate::conf::FileId(fi as u32);
                        let mut def = MapDef {
                            source: source.to_string(),
                            entries: Vec::new(),
                            open: false,
                            geo,
                        };
                        map_entries(model, file, ast.children(id as u32), &mut def, 0);
                        if !def.entries.iter().any(|(k, _)| k == "default") {
                            def.entries.push(("default".into(), String::new()));
                        }
                        defs.maps.entry(var.to_ascii_lowercase()).or_insert(def);
                    }
                    _ => {}
                }
            }
        }
        defs
    }
}

/// The entries of a map or geo block, following `include` lines.
fn map_entries(
    model: &Model,
    file: crate::conf::FileId,
    nodes: &[crate::conf::NodeId],
    def: &mut MapDef,
    depth: u8,
) {
    let ast = model.config.ast(file);
    for &n in nodes {
        let e = ast.node(n);
        match (e.name(), e.arg(0)) {
            ("include", _) => {
                let files = model.config.included(file, n);
                if files.is_empty() || depth > 4 {
                    def.open = true;
                }
                for &inc in files {
                    let roots = &model.config.ast(inc).roots;
                    map_entries(model, inc, roots, def, depth + 1);
                }
            }
            ("hostnames" | "volatile" | "ranges", None) => {}
            ("delete" | "proxy" | "proxy_recursive", _) if def.geo => {}
            (key, Some(value)) => def.entries.push((key.to_string(), value.to_string())),
            _ => {}
        }
    }
}

/// Whether a `listen` line's parameters make its socket TLS.
fn listen_tls(args: &str) -> bool {
    args.split_whitespace()
        .skip(1)
        .any(|p| p == "ssl" || p == "quic")
}

/// The address of a `listen` line, as nginx groups sockets (`443`,
/// `*:443` and `0.0.0.0:443` are one socket).
fn listen_addr(args: &str) -> String {
    let a = args
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if a.bytes().all(|b| b.is_ascii_digit()) {
        return format!("*:{a}");
    }
    match a.strip_prefix("0.0.0.0:") {
        Some(port) => format!("*:{port}"),
        None => a,
    }
}

/// What `$scheme` is for requests to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemeOf {
    Https,
    Http,
    Either,
}

/// The texts used for the two halves of `$scheme`.
pub const OVER_TLS: &str = "the request arrived over TLS ($scheme)";
pub const OVER_PLAIN: &str = "the request arrived over plain HTTP ($scheme)";

impl Model {
    /// `$scheme` for requests to `server`: every `listen` socket TLS (the
    /// `ssl` parameter on any server of that address counts, as nginx
    /// merges it per socket; `ssl on` before 1.25.1), none, or some.
    pub(super) fn scheme_of(&self, server: Option<CtxId>) -> SchemeOf {
        let Some(server) = server else {
            return SchemeOf::Either;
        };
        let ssl_on = self.version < Version(1, 25, 1)
            && self
                .effective(server, "ssl")
                .is_some_and(|(_, l)| self.dir(l[0]).arg(0) == Some("on"));
        if ssl_on {
            return SchemeOf::Https;
        }
        let listens = self.lines_in(server, "listen");
        if listens.is_empty() {
            return SchemeOf::Http; // nginx listens on *:80 (or 8000)
        }
        let mut tls_sockets: Option<HashSet<String>> = None;
        let (mut tls, mut plain) = (0, 0);
        for l in listens {
            let args = self.dir(l).args_joined();
            if listen_tls(&args) {
                tls += 1;
                continue;
            }
            // A socket another server declares `ssl` is TLS here too.
            let sockets = tls_sockets.get_or_insert_with(|| self.tls_sockets());
            if sockets.contains(&listen_addr(&args)) {
                tls += 1;
            } else {
                plain += 1;
            }
        }
        match (tls, plain) {
            (_, 0) => SchemeOf::Https,
            (0, _) => SchemeOf::Http,
            _ => SchemeOf::Either,
        }
    }

    /// Every http socket some server declares with `ssl`.
    fn tls_sockets(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for (i, c) in self.tree.ctxs.iter().enumerate() {
            if c.kind != Kind::Server {
                continue;
            }
            for l in self.lines_in(i as CtxId, "listen") {
                let args = self.dir(l).args_joined();
                if listen_tls(&args) {
                    out.insert(listen_addr(&args));
                }
            }
        }
        out
    }

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
        };
        run.eval(value, env, 0)
    }
}

/// One evaluation: the blocks whose `js_var`s and `$scheme` apply.
struct Run<'a> {
    model: &'a Model,
    server: CtxId,
    location: Option<CtxId>,
}

impl Run<'_> {
    /// Runs the rewrite directives of one level (server or location) in
    /// order. `taken` is the `if` holding the pass: its block runs always.
    fn level(&self, ctx: CtxId, env: &mut Env, taken: Option<CtxId>) {
        let m = self.model;
        // Set when a `rewrite … last|break` may have ended this level.
        let mut may_stop: Option<String> = None;
        for &r in &m.tree.ctx(ctx).directives {
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
                    let Some(&block) = m.tree.ctx_of.get(&r) else {
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
                    let cond = format!("{} ({})", if_text(m, r), m.file_line(r));
                    self.merge(env, inner, &cond);
                }
                "break" | "return" => return,
                "rewrite" => match d.arg(2) {
                    Some("last" | "break") => {
                        may_stop.get_or_insert_with(|| {
                            format!("the rewrite at {} does not match", m.file_line(r))
                        });
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }

    /// Whether every request that takes an `if` block leaves the location
    /// (a `return`, or a `rewrite` that redirects or restarts the search).
    fn always_leaves(&self, block: CtxId) -> bool {
        let m = self.model;
        m.tree.ctx(block).directives.iter().any(|&r| {
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
            if !def.open && depth < MAX_DEPTH {
                return self.map_values(def, env, depth);
            }
            return vec![Alt::unknown(var)];
        }
        if m.defs.set_anywhere.contains(&lower) {
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

    fn map_values(&self, def: &MapDef, env: &Env, depth: u8) -> Vec<Alt> {
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
            return vec![Alt::unknown(&def.source.replace('$', ""))];
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
            let values = match env.get(var) {
                Some(v) => {
                    let mut v = v.to_vec();
                    v.iter_mut().for_each(|a| a.resolved = true);
                    v
                }
                None if depth < MAX_DEPTH => self.unset(var, env, depth),
                None => vec![Alt::unknown(var)],
            };
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
            if next.len() > MAX_ALTS {
                // Too many combinations to follow: unknown from here.
                return vec![Alt::unknown(var)];
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
