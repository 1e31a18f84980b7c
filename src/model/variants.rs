//! Passes whose scheme or address comes from variables: the values the
//! pass argument may take when the pass runs (from `eval`), which of them
//! open TLS, and for each such value the target, `$proxy_host`, SNI and
//! verify name nginx uses.
//!
//! nginx evaluates such a pass per request (`ngx_http_proxy_eval`): the
//! URL is built, its scheme decides TLS (`https://`; `grpcs://`,
//! `suwsgi://`), and the host is looked up among the `upstream {}` groups
//! (a group matches only a URL without a port; the implicit upstream of a
//! literal pass elsewhere matches host and port), else resolved with
//! `resolver`. The SNI name is then the group's host as nginx keeps it, or
//! the host of the URL (`ngx_http_upstream_init_request`: `u->ssl_name`).

use super::defs::OVER_TLS;
use super::directives::{Module, SslDirective};
use super::eval::{render, Alt, Env, Seg};
use super::hop::Setting;
use super::sni::{self, Name, NameSource, Sni};
use super::target::{authority_len, Target};
use super::tree::CtxId;
use super::upstreams::Spellings;
use super::vars::eval_name;
use super::Model;

/// Whether, and when, a hop opens TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsWhen {
    /// The scheme is written literally (`https://…`).
    Literal,
    /// The scheme comes from variables. `text` names the condition;
    /// `certain` is true when every value nginx may take there is TLS.
    Vars { text: String, certain: bool },
}

impl TlsWhen {
    /// The JSON `tls_when`: None for a literal scheme.
    pub fn text(&self) -> Option<&str> {
        match self {
            TlsWhen::Literal => None,
            TlsWhen::Vars { text, .. } => Some(text),
        }
    }
    /// Whether every request that reaches the pass opens TLS.
    pub fn certain(&self) -> bool {
        match self {
            TlsWhen::Literal => true,
            TlsWhen::Vars { certain, .. } => *certain,
        }
    }
}

/// One value of a pass built from variables that opens TLS.
#[derive(Clone, Debug)]
pub struct Variant {
    /// When the pass takes this value: the variables' values, and the
    /// conditions that select them.
    pub when: String,
    /// The evaluated target (its `raw` is the URL nginx builds).
    pub target: Target,
    pub upstream: Option<usize>,
    pub proxy_host: String,
    pub sni: Sni,
    pub verify_name: Option<String>,
}

/// A pass argument evaluated: the values that (may) open TLS.
pub(super) struct PassEval {
    pub env: Env,
    pub tls: TlsWhen,
    /// The TLS (or possibly TLS) values, as targets with their `when`, for
    /// the values something is known about.
    pub values: Vec<(Target, String)>,
}

/// How a value's scheme reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Tls,
    Plain,
    Unknown,
}

impl Model {
    /// Evaluates the argument of an http pass directive with variables. None
    /// when no value it may take opens TLS (a plain pass).
    pub(super) fn eval_pass(&self, ctx: CtxId, module: Module, raw: &str) -> Option<PassEval> {
        let tls_scheme = module.tls_scheme()?;
        let env = self.rewrite_env(ctx);
        let literal = raw
            .get(..tls_scheme.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(tls_scheme));
        let alts = self.eval_value(ctx, &env, raw);
        let mut texts: Vec<String> = Vec::new();
        let mut values = Vec::new();
        let mut certain = true;
        let first_var = super::vars::variables(raw).first().map(|v| v.to_string());
        for alt in &alts {
            let scheme = scheme_of(alt, module);
            if scheme != Scheme::Tls {
                certain = false;
            }
            if scheme == Scheme::Plain {
                continue;
            }
            let cond =
                (!literal).then(|| scheme_condition(alt, scheme, first_var.as_deref(), module));
            if let Some(text) = &cond {
                if !texts.contains(text) {
                    texts.push(text.clone());
                }
            }
            // A value something is known about: from the configuration,
            // or a host written literally behind an unknown scheme.
            if let Some(t) = tls_target(alt, tls_scheme) {
                if alt.resolved || (scheme == Scheme::Unknown && !t.dynamic) {
                    let skip = cond.is_some().then_some(first_var.as_deref()).flatten();
                    values.push((t, when_text(alt, cond.as_deref(), skip)));
                }
            }
        }
        if !literal && texts.is_empty() {
            return None;
        }
        let tls = if literal {
            TlsWhen::Literal
        } else {
            TlsWhen::Vars {
                text: texts.join(" or "),
                certain,
            }
        };
        Some(PassEval { env, tls, values })
    }
}

/// Whether a value opens TLS for `module`, does not, or may.
fn scheme_of(alt: &Alt, module: Module) -> Scheme {
    let Some(tls) = module.tls_scheme() else {
        return Scheme::Plain;
    };
    match alt.segs.first() {
        Some(Seg::Lit(t)) => match t.find("://") {
            Some(i) if t[..i].eq_ignore_ascii_case(tls.trim_end_matches("://")) => Scheme::Tls,
            Some(_) => Scheme::Plain,
            // No scheme yet: a variable after the text may still hold one.
            None if alt.segs.len() > 1 && !t.contains('/') => Scheme::Unknown,
            None => Scheme::Plain,
        },
        Some(Seg::Var(_)) => Scheme::Unknown,
        None => Scheme::Plain,
    }
}

/// The condition under which a value opens TLS, naming the variable that
/// holds the scheme.
fn scheme_condition(alt: &Alt, scheme: Scheme, first_var: Option<&str>, module: Module) -> String {
    let var = first_var.unwrap_or("scheme");
    let tls = module
        .tls_scheme()
        .unwrap_or_default()
        .trim_end_matches("://");
    let a = if tls == "https" { "an" } else { "a" };
    let conds = if alt.when.is_empty() {
        String::new()
    } else {
        format!(" when {}", alt.when.join(" and "))
    };
    if var.eq_ignore_ascii_case("scheme") || var.eq_ignore_ascii_case("https") {
        if alt.when.iter().any(|w| w == OVER_TLS) {
            return OVER_TLS.to_string();
        }
        if alt.when.is_empty() && scheme == Scheme::Tls {
            return "every request arrives over TLS ($scheme)".to_string();
        }
    }
    if scheme == Scheme::Unknown {
        // The pass's own variable, and what it was set from.
        let name = |v: &str| match bind_of(alt, var) {
            Some(from) if !v.eq_ignore_ascii_case(var) => format!("${var} ({from})"),
            _ => format!("${v}"),
        };
        let what = match alt.segs.first() {
            Some(Seg::Var(v)) if alt.render().contains("://") => format!("{} is {tls}", name(v)),
            Some(Seg::Var(v)) => format!("{} is {a} {tls} URL", name(v)),
            _ => format!("the scheme in ${var} is {tls}"),
        };
        return format!("{what} (not known statically){conds}");
    }
    match bind_of(alt, var) {
        Some(value) => format!("${var} = {value}{conds}"),
        None => format!("${var} gives {a} {tls} URL{conds}"),
    }
}

/// The value a variable of the pass took in this value, if known.
fn bind_of<'a>(alt: &'a Alt, var: &str) -> Option<&'a str> {
    alt.binds
        .iter()
        .find(|(v, _)| v.eq_ignore_ascii_case(var))
        .map(|(_, value)| value.as_str())
}

/// The variables' values and the conditions that select them, after the
/// scheme's condition (`scheme`, which names `skip`) when it has one.
fn when_text(alt: &Alt, scheme: Option<&str>, skip: Option<&str>) -> String {
    let binds: Vec<String> = alt
        .binds
        .iter()
        .filter(|(v, _)| {
            !v.eq_ignore_ascii_case("scheme")
                && !v.eq_ignore_ascii_case("https")
                && !skip.is_some_and(|s| v.eq_ignore_ascii_case(s))
        })
        .map(|(v, value)| format!("${v} = {value}"))
        .collect();
    let mut parts: Vec<String> = scheme.map(str::to_string).into_iter().collect();
    if !binds.is_empty() {
        parts.push(binds.join(", "));
    }
    let mut text = parts.join(", ");
    if scheme.is_none() && !alt.when.is_empty() {
        if !text.is_empty() {
            text.push_str(" when ");
        }
        text.push_str(&alt.when.join(" and "));
    }
    if text.is_empty() {
        text = "always".into();
    }
    text
}

/// The target of a value that (may) open TLS; an unknown scheme is taken
/// as the TLS one. None when nothing after a scheme is known.
fn tls_target(alt: &Alt, tls_scheme: &str) -> Option<Target> {
    let text = render(&alt.segs);
    let i = text.find("://")?;
    let url = format!("{tls_scheme}{}", &text[i + 3..]);
    Target::parse_http(&url, tls_scheme)
}

/// The host part of a pass argument as written (`$server`, `$backend`):
/// how a target that differs per value is named.
pub(super) fn host_expr(raw: &str) -> String {
    let rest = raw.find("://").map_or(raw, |i| &raw[i + 3..]);
    let authority = &rest[..authority_len(rest)];
    let authority = if raw.contains("://") { authority } else { rest };
    super::sni::strip_port(authority).to_string()
}

/// What a hop (or one value of it) talks to and the name it uses.
pub(super) struct Look {
    pub upstream: Option<usize>,
    pub proxy_host: String,
    pub sni: Sni,
    pub verify_name: Option<String>,
    pub source: NameSource,
}

impl Model {
    /// The upstream a pass with variables reaches for an evaluated target
    /// (`ngx_http_upstream_init_request`): an `upstream {}` group of that
    /// name when the URL has no port, else the implicit upstream of a
    /// literal pass with the same host and port; with the host as nginx
    /// keeps it (the first spelling it read), or, for a name it resolves,
    /// the name lower-cased.
    pub(super) fn runtime_upstream(
        &self,
        t: &Target,
        spellings: &Spellings,
    ) -> (Option<usize>, Option<String>) {
        if t.dynamic || t.unix || t.host.is_empty() {
            return (None, None);
        }
        let lower = t.host.to_ascii_lowercase();
        if t.port.is_none() {
            if let Some(u) = self.find_upstream(&t.host, false) {
                return (Some(u), spellings.get(&(false, lower, None)).cloned());
            }
        }
        let scheme = t.scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https://" | "grpcs://" => Some("443".to_string()),
            _ => None,
        };
        let port = t.port.clone().or(default_port);
        if let Some(spelling) = spellings.get(&(false, lower.clone(), port)) {
            return (None, Some(spelling.clone()));
        }
        // Resolved with `resolver`: nginx's resolver lower-cases the name
        // in place, and the SNI name is that same text (seen on nginx
        // 1.22). Addresses are not resolved.
        let address = t.host.starts_with('[') || super::sni::ngx_inet_addr(&t.host);
        (None, (!address).then_some(lower))
    }

    /// The upstream, `$proxy_host`, SNI and verify name of one target.
    /// `canonical` is the upstream's host as nginx keeps it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn look(
        &self,
        ctx: CtxId,
        module: Module,
        settings: &[Setting],
        env: Option<&Env>,
        target: &Target,
        upstream: Option<usize>,
        canonical: Option<String>,
    ) -> Look {
        // `$proxy_host`: this pass's own host (and port), or what a
        // `set $proxy_host` in the request's rewrite phase put there.
        let (proxy_host, proxy_host_known) = self.proxy_host_var(module, target, env);
        let get = |d: SslDirective| settings.iter().find(|s| s.spec.directive == d);
        let name_setting = get(SslDirective::Name).filter(|s| !s.is_default());
        let (name, source) = match name_setting {
            Some(s) => {
                let value = s.value.clone().unwrap_or_default();
                let static_proxy_host =
                    (module == Module::Proxy && proxy_host_known).then_some(proxy_host.as_str());
                let name = match env {
                    Some(env) if value.contains('$') => {
                        self.eval_name_in(ctx, env, &value, static_proxy_host)
                    }
                    _ => eval_name(&value, static_proxy_host),
                };
                (name, NameSource::Explicit(s.origin_note()))
            }
            None => match upstream {
                Some(u) => (
                    Name::Static(canonical.unwrap_or_else(|| self.upstreams[u].name.clone())),
                    NameSource::Group,
                ),
                None if target.dynamic => {
                    (Name::Dynamic(target.host.clone()), NameSource::PassHost)
                }
                None => (
                    Name::Static(canonical.unwrap_or_else(|| target.host.clone())),
                    NameSource::PassHost,
                ),
            },
        };
        let sn = get(SslDirective::ServerName);
        let on = sn.is_some_and(Setting::is_on);
        let note = sn.map_or("default".to_string(), Setting::origin_note);
        let (sni, verify_name) = sni::predict(module, (on, &note), &name, &source);
        Look {
            upstream,
            proxy_host,
            sni,
            verify_name,
            source,
        }
    }

    /// A `*_ssl_name` value with variables, evaluated with the request's
    /// rewrite variables: a literal when it takes one known value.
    fn eval_name_in(&self, ctx: CtxId, env: &Env, value: &str, proxy_host: Option<&str>) -> Name {
        let mut env = env.clone();
        if let Some(ph) = proxy_host {
            env.set("proxy_host", vec![Alt::lit(ph)]);
        }
        let alts = self.eval_value(ctx, &env, value);
        match alts.as_slice() {
            // Known per request only: the expression as written.
            [one] => match one.known() {
                Some(v) => Name::Static(v),
                None => Name::Dynamic(value.to_string()),
            },
            _ => Name::Dynamic(value.to_string()),
        }
    }

    /// Whether a hop's names need the request's rewrite variables: its
    /// `*_ssl_name` has variables, or some `set $proxy_host` exists.
    pub(super) fn needs_env(&self, module: Module, settings: &[Setting]) -> bool {
        let name_vars = settings
            .iter()
            .find(|s| s.spec.directive == SslDirective::Name && !s.is_default())
            .and_then(|s| s.value.as_deref())
            .is_some_and(|v| v.contains('$'));
        name_vars || (module == Module::Proxy && self.defs.sets("proxy_host"))
    }
}

impl Model {
    /// The target of an http pass and, for one with variables, its
    /// evaluation; None for a plain pass.
    pub(super) fn http_target(
        &self,
        ctx: CtxId,
        module: Module,
        raw: &str,
        scheme: &str,
    ) -> Option<(Target, Option<PassEval>)> {
        if !raw.contains('$') {
            return Target::parse_http(raw, scheme).map(|t| (t, None));
        }
        let eval = self.eval_pass(ctx, module, raw)?;
        let target = Target::parse_http(raw, scheme).unwrap_or_else(|| Target {
            raw: raw.to_string(),
            scheme: String::new(),
            host: host_expr(raw),
            port: None,
            uri: String::new(),
            unix: false,
            dynamic: true,
        });
        Some((target, Some(eval)))
    }

    /// A hop with several values: what they share, else the expression
    /// as written (known per request).
    pub(super) fn common(
        &self,
        target: Target,
        many: &[Variant],
        look: impl Fn(&Target) -> Look,
    ) -> (Target, Look) {
        let first = &many[0];
        let same_target = many
            .iter()
            .all(|v| (&v.target.host, &v.target.port) == (&first.target.host, &first.target.port));
        let target = if same_target {
            Target {
                raw: target.raw,
                ..first.target.clone()
            }
        } else {
            Target {
                host: host_expr(&target.raw),
                dynamic: true,
                ..target
            }
        };
        let mut l = look(&target);
        if same_target {
            return (target, l);
        }
        let all_same = |f: &dyn Fn(&Variant) -> String| many.iter().all(|v| f(v) == f(first));
        l.upstream = many
            .iter()
            .all(|v| v.upstream == first.upstream)
            .then_some(first.upstream)
            .flatten();
        l.proxy_host = if all_same(&|v| v.proxy_host.clone()) {
            first.proxy_host.clone()
        } else {
            distinct(many.iter().map(|v| v.proxy_host.as_str()))
        };
        if all_same(&|v| format!("{:?} {:?} {}", v.sni.sent, v.sni.name, v.sni.dynamic)) {
            l.sni = first.sni.clone();
        } else {
            let names = distinct(
                many.iter()
                    .map(|v| v.sni.name.as_deref().unwrap_or("no SNI")),
            );
            l.sni = Sni {
                sent: many.iter().any(|v| v.sni.sent),
                name: Some(host_expr(&target.raw)),
                dynamic: true,
                why: format!("the name depends on the value the pass takes: {names}"),
            };
        }
        l.verify_name = if all_same(&|v| format!("{:?}", v.verify_name)) {
            first.verify_name.clone()
        } else {
            Some(host_expr(&target.raw))
        };
        (target, l)
    }
}

/// Distinct values joined by " or ".
fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> String {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out.join(" or ")
}

/// The spelling nginx keeps for each upstream, and one pass's key among them.
pub(super) type Upstreams<'a> = (&'a Spellings, Option<u32>);

impl Model {
    /// What a TLS pass talks to and the names it uses: its target (the
    /// evaluated one when it takes one value), upstream, `$proxy_host`,
    /// SNI and verify name; when it opens TLS; and, for a pass built from
    /// variables, the same per value.
    pub(super) fn resolve_target(
        &self,
        ctx: CtxId,
        module: Module,
        settings: &[Setting],
        target: Target,
        upstreams: Upstreams<'_>,
        eval: Option<PassEval>,
    ) -> (Target, Look, TlsWhen, Vec<Variant>) {
        let (spellings, key) = upstreams;
        let (tls, values, env) = match eval {
            Some(e) => (e.tls, e.values, Some(e.env)),
            None => (
                TlsWhen::Literal,
                Vec::new(),
                (!module.is_stream() && self.needs_env(module, settings))
                    .then(|| self.rewrite_env(ctx)),
            ),
        };
        let var_pass = target.raw.contains('$') && !module.is_stream();
        let look = |t: &Target| {
            let (upstream, canonical) = if var_pass {
                // Evaluated per request: found by name at run time.
                self.runtime_upstream(t, spellings)
            } else {
                let upstream = (!t.dynamic && !t.unix)
                    .then(|| self.find_upstream(&t.host, module.is_stream()))
                    .flatten();
                // The upstream's host as nginx keeps it (first spelling read).
                (upstream, key.and_then(|k| spellings.by_id(k).cloned()))
            };
            self.look(ctx, module, settings, env.as_ref(), t, upstream, canonical)
        };
        let variants: Vec<Variant> = values
            .into_iter()
            .map(|(t, when)| {
                let l = look(&t);
                Variant {
                    when,
                    target: t,
                    upstream: l.upstream,
                    proxy_host: l.proxy_host,
                    sni: l.sni,
                    verify_name: l.verify_name,
                }
            })
            .collect();
        let (target, top) = match variants.as_slice() {
            [] => {
                let l = look(&target);
                (target, l)
            }
            [one] => {
                let l = look(&one.target);
                let t = Target {
                    raw: target.raw,
                    ..one.target.clone()
                };
                (t, l)
            }
            many => self.common(target, many, look),
        };
        (target, top, tls, variants)
    }
}

#[cfg(test)]
mod tests;
