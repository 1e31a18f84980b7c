//! Variables, evaluated statically where nginx's value is known from the
//! configuration alone: `$proxy_host` (the pass target's host, or what a
//! `set $proxy_host` puts there), a `*_ssl_name` value, and the variables
//! a value names. Any other variable is known only per request.

use super::directives::Module;
use super::eval::{Env, Seg};
use super::sni::Name;
use super::target::Target;
use super::Model;

impl Model {
    /// What `$proxy_host` holds for a pass to `target`: the target's own
    /// host (and port), or what a `set $proxy_host` in the request's
    /// rewrite phase put there (`env`, when the hop needed it); and
    /// whether that is known without a request.
    pub(super) fn proxy_host_var(
        &self,
        module: Module,
        target: &Target,
        env: Option<&Env>,
    ) -> (String, bool) {
        let own = match module {
            Module::Stream => target.raw.clone(),
            Module::Uwsgi => target.proxy_host(""),
            _ => target.proxy_host("443"),
        };
        let set = (module == Module::Proxy)
            .then(|| env.and_then(|e| e.get("proxy_host")))
            .flatten();
        let Some(alts) = set else {
            return (own, !target.dynamic);
        };
        // Each value the `set`s leave; the module's own where none ran.
        let mut values: Vec<(String, bool)> = Vec::new();
        for a in alts {
            let v = match a.segs.as_slice() {
                [Seg::Var(v)] if v.eq_ignore_ascii_case("proxy_host") => {
                    (own.clone(), !target.dynamic)
                }
                _ => match a.known() {
                    Some(k) => (k, true),
                    None => (a.render(), false),
                },
            };
            if !values.contains(&v) {
                values.push(v);
            }
        }
        match values.as_slice() {
            [(v, known)] => (v.clone(), *known),
            _ => {
                let all: Vec<&str> = values.iter().map(|(v, _)| v.as_str()).collect();
                (all.join(" or "), false)
            }
        }
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
