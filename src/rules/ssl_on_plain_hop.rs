//! `ssl-on-plain-hop`: `*_ssl_*` directives that only reach pass
//! directives without TLS, so they do nothing.

use std::collections::{BTreeMap, HashSet};

use crate::diagnostic::{Finding, Severity};
use crate::model::{DirRef, Model, Module, SslDirective};

use super::support::tls_uses;
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "ssl-on-plain-hop",
    summary: "*_ssl_* directives that only reach passes without TLS: they do nothing",
    severity: Severity::Info,
    doc: Doc {
        what: "\
Flags an explicit `*_ssl_*` directive that is inherited by pass directives that open no TLS \
(`proxy_pass http://…`, `grpc_pass grpc://…`, `uwsgi_pass` without `suwsgi://`, a stream \
`proxy_pass` with `proxy_ssl` off) and by no pass that does. Each such line is reported once, at \
the directive, naming the passes it reaches. A pass with variables after a literal plain scheme \
(`proxy_pass http://$backend;`, `proxy_pass http://app/$1;`) opens no TLS either and counts as \
plain; passes whose scheme comes from a variable (`proxy_pass $scheme://…`, `$backend` holding a \
whole URL) may open TLS and are left alone.",
        why: "\
These directives configure the TLS connection nginx opens to the upstream; without one they are \
parsed, inherited and never used. The danger is what the reader believes: `proxy_ssl_verify on` \
above a `proxy_pass http://` looks like a verified hop while the traffic crosses the network in \
clear, and `proxy_ssl_name` in a stream server without `proxy_ssl on` looks like it rewrites the \
SNI while nginx relays the client's bytes, and the client's own SNI, untouched. Each module has \
its own family, too: `proxy_ssl_*` lines do nothing for `grpc_pass` or `uwsgi_pass`.",
        example: "\
server {
    listen 389;
    proxy_pass ldap_pool;
    proxy_ssl_name ldap.internal.example.com;   # no proxy_ssl on: nothing uses it
}
",
        use_instead: "\
server {
    listen 389;
    proxy_pass ldap_pool;
    proxy_ssl on;                               # nginx now originates TLS
    proxy_ssl_name ldap.internal.example.com;
    proxy_ssl_server_name on;
}
",
        fix_safety: "\
No automatic fix: either the pass should use TLS (change its scheme, or turn `proxy_ssl on` in \
stream) or the lines should go. Which one is a decision about the upstream.",
        severity_text: "\
`info`: the directives do nothing; they mislead a reader into thinking the hop is protected.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    if model.plain.is_empty() {
        return;
    }
    // Lines read by a place that can open TLS. A pass with variables after
    // a literal plain scheme prepares a TLS context (nginx -t checks it)
    // but never uses it.
    let used: HashSet<DirRef> = tls_uses(model)
        .iter()
        .filter(|u| u.hop.is_some() || !plain_scheme(model, u.dir, u.module))
        .flat_map(|u| u.settings.iter().flat_map(|s| s.lines.iter().copied()))
        .collect();
    // directive -> (name, the plain passes it reaches)
    let mut dead: BTreeMap<DirRef, (String, Vec<(DirRef, Module)>)> = BTreeMap::new();
    for p in &model.plain {
        if !plain_scheme(model, p.pass, p.module) {
            continue;
        }
        for (spec, name, found) in model.effective_all(p.ctx, p.module) {
            if spec.directive == SslDirective::Ssl {
                continue;
            }
            let Some((_, lines)) = found else {
                continue;
            };
            for l in lines {
                if !used.contains(&l) {
                    let reached = &mut dead
                        .entry(l)
                        .or_insert_with(|| (name.to_string(), Vec::new()))
                        .1;
                    // A pass in a file included in several places is one
                    // directive, however many paths reach it.
                    if !reached.contains(&(p.pass, p.module)) {
                        reached.push((p.pass, p.module));
                    }
                }
            }
        }
    }
    for (dir, (name, passes)) in dead {
        let Some(&(first, module)) = passes.first() else {
            continue;
        };
        let fd = model.dir(first);
        let pass = format!(
            "{} {} ({})",
            fd.name(),
            fd.arg(0).unwrap_or(""),
            model.file_line(first)
        );
        let why = match module.tls_scheme() {
            Some(scheme) => format!("its target is not {scheme}"),
            None => {
                let ssl = model
                    .effective_ssl(passes_ctx(model, first), module, SslDirective::Ssl)
                    .and_then(|(_, l)| l.first().copied());
                match ssl {
                    Some(l) => format!("proxy_ssl is off ({})", model.file_line(l)),
                    None => "proxy_ssl is off (default)".to_string(),
                }
            }
        };
        let value = model.dir(dir).args_joined();
        let reach = if passes.len() == 1 {
            format!("the only pass it reaches, {pass}, opens no TLS ({why})")
        } else {
            format!(
                "none of the {} passes it reaches opens TLS (first: {pass}; {why})",
                passes.len()
            )
        };
        let msg = format!(
            "{name} {value} ({}) has no effect: {reach}",
            model.file_line(dir)
        );
        let mut f = Finding::at_directive(RULE.id, Severity::Info, dir, msg);
        for &(p, _) in passes.iter().take(3) {
            f = f.with_related(p, "pass without TLS");
        }
        out.push(f);
    }
}

/// The block holding a plain pass directive.
fn passes_ctx(model: &Model, pass: DirRef) -> crate::model::CtxId {
    model
        .plain
        .iter()
        .find(|p| p.pass == pass)
        .map_or(0, |p| p.ctx)
}

/// Whether a pass directive's argument starts with a literal scheme that
/// opens no TLS (`http://`, `grpc://`, an uwsgi address or `uwsgi://`, a
/// stream address): not a variable that may hold `https://`.
fn plain_scheme(model: &Model, pass: DirRef, module: Module) -> bool {
    let Some(arg) = model.dir(pass).arg(0) else {
        return false;
    };
    if arg.starts_with('$') {
        return false;
    }
    match module.tls_scheme() {
        Some(tls) => !arg
            .get(..tls.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(tls)),
        None => true,
    }
}
