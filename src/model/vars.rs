//! Variables, evaluated statically where nginx's value is known from the
//! configuration alone: `$proxy_host` (the pass target's host, or what a
//! `set $proxy_host` puts there), a `*_ssl_name` value, and the variables
//! a value names. Any other variable is known only per request.

use super::directives::Module;
use super::sni::Name;
use super::target::Target;
use super::tree::{CtxId, Kind};
use super::Model;

impl Model {
    /// What `$proxy_host` holds for a pass in `ctx`: this pass's own host
    /// (and port), or what a `set $proxy_host` in the request's rewrite
    /// phase put there; and whether that is known without a request.
    pub(super) fn proxy_host_var(
        &self,
        ctx: CtxId,
        module: Module,
        target: &Target,
    ) -> (String, bool) {
        let override_host = (module == Module::Proxy)
            .then(|| self.proxy_host_override(ctx))
            .flatten();
        let proxy_host = match (&override_host, module) {
            (Some(Name::Static(v)), _) => v.clone(),
            (Some(Name::Dynamic(v)), _) => v.clone(),
            (None, Module::Stream) => target.raw.clone(),
            (None, Module::Uwsgi) => target.proxy_host(""),
            (None, _) => target.proxy_host("443"),
        };
        let known = !target.dynamic && !matches!(override_host, Some(Name::Dynamic(_)));
        (proxy_host, known)
    }

    /// `set $proxy_host …` in the rewrite phase of the hop's request: the
    /// innermost location (and any `if` inside it) first, else the server.
    /// The variable is changeable, so such a `set` decides what
    /// `$proxy_host` holds for `*_ssl_name $proxy_host` and the Host header.
    fn proxy_host_override(&self, ctx: CtxId) -> Option<Name> {
        let set_in = |c: CtxId| -> Option<String> {
            self.tree
                .ctx(c)
                .directives
                .iter()
                .rev()
                .map(|&r| self.dir(r))
                .find(|d| d.name() == "set" && d.arg(0) == Some("$proxy_host"))
                .map(|d| d.arg(1).unwrap_or_default().to_string())
        };
        let as_name = |v: String| {
            if v.contains('$') {
                Name::Dynamic("$proxy_host".into())
            } else {
                Name::Static(v)
            }
        };
        let mut location = None;
        for c in self.tree.ancestors(ctx) {
            match self.tree.ctx(c).kind {
                // A `set` inside `if` runs only for some requests.
                Kind::If | Kind::LimitExcept if set_in(c).is_some() => {
                    return Some(Name::Dynamic("$proxy_host".into()));
                }
                Kind::Location => {
                    location = Some(c);
                    break;
                }
                _ => {}
            }
        }
        // Rewrite directives of outer locations do not run for a nested
        // one; the server's run for every request.
        let server = self.tree.enclosing(ctx, &[Kind::Server]);
        location
            .and_then(set_in)
            .or_else(|| server.and_then(set_in))
            .map(as_name)
    }
}

/// Evaluates a `*_ssl_name` value statically: `$proxy_host` is known when
/// the pass target is static; any other variable makes the name dynamic.
pub fn eval_name(value: &str, proxy_host: Option<&str>) -> Name {
    let mut out = String::with_capacity(value.len());
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let next = value[i..].find('$').map_or(value.len(), |j| i + j);
            out.push_str(&value[i..next]);
            i = next;
            continue;
        }
        let (var, len) = variable_at(&value[i + 1..]);
        match (var, proxy_host) {
            ("proxy_host", Some(h)) => out.push_str(h),
            _ => return Name::Dynamic(value.to_string()),
        }
        i += 1 + len;
    }
    Name::Static(out)
}

/// The variable name after a `$` (`name` or `{name}`) and the bytes it spans.
pub fn variable_at(s: &str) -> (&str, usize) {
    if let Some(rest) = s.strip_prefix('{') {
        return match rest.find('}') {
            Some(j) => (&rest[..j], j + 2),
            None => (rest, s.len()),
        };
    }
    let n = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    (&s[..n], n)
}

/// Variables named in a value.
pub fn variables(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        let (v, len) = variable_at(&rest[i + 1..]);
        if !v.is_empty() {
            out.push(v);
        }
        rest = &rest[(i + 1 + len).min(rest.len())..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_evaluated_statically_when_possible() {
        assert_eq!(
            eval_name("$proxy_host", Some("backend")),
            Name::Static("backend".into())
        );
        assert_eq!(
            eval_name("${proxy_host}.x", Some("b:8443")),
            Name::Static("b:8443.x".into())
        );
        assert_eq!(
            eval_name("$proxy_host", None),
            Name::Dynamic("$proxy_host".into())
        );
        assert_eq!(eval_name("$host", Some("b")), Name::Dynamic("$host".into()));
        assert_eq!(
            eval_name("api.example.com", None),
            Name::Static("api.example.com".into())
        );
        assert_eq!(variables("$a.${b}c $http_host"), ["a", "b", "http_host"]);
    }
}
