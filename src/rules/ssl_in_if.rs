//! `ssl-in-if`: a `*_ssl_*` directive inside `if`, `limit_except` or
//! `upstream {}`, where nginx rejects it.

use crate::diagnostic::{Finding, Severity};
use crate::model::{Kind, Model, Module, SslDirective};

use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "ssl-in-if",
    summary: "*_ssl_* directive inside if, limit_except or upstream{}: nginx -t rejects it",
    severity: Severity::Error,
    doc: Doc {
        what: "\
Flags any `proxy_ssl_*`, `grpc_ssl_*` or `uwsgi_ssl_*` directive written inside an `if` block \
(in a server or a location) or a `limit_except` block, and any of them (stream `proxy_ssl*` \
included) inside an `upstream {}` block, also when it arrives there through an `include`.",
        why: "\
nginx accepts these directives only in `http`, `server` and `location` (stream: `stream` and \
`server`). Anywhere else `nginx -t` stops with `\"proxy_ssl_server_name\" directive is not allowed \
here` (for the stream-only `proxy_ssl` inside an http block: `unknown directive \"proxy_ssl\"` \
when the stream module is not loaded), and a reload keeps the old configuration. The intent behind them is usually \"use this SNI only for \
POST\" or \"verify only this server of the pool\", which nginx cannot express: a pass inside `if` or \
`limit_except` always uses its location's settings, and TLS settings belong to the location \
that proxies, never to one server of a pool.",
        example: "\
location /api/ {
    proxy_pass https://10.0.8.10;
    if ($request_method = POST) {
        proxy_ssl_name writer.internal.example.com;   # not allowed here
        proxy_pass https://10.0.8.11;
    }
}
",
        use_instead: "\
location /api/ {
    proxy_pass https://10.0.8.10;
    proxy_ssl_server_name on;
    proxy_ssl_name api.internal.example.com;    # applies to both passes
    if ($request_method = POST) {
        proxy_pass https://10.0.8.11;
    }
}
",
        fix_safety: "\
No automatic fix: moving the line to the enclosing location changes every request of that \
location, not only the ones the `if` selects. Move it yourself, or give the special case a \
location of its own.",
        severity_text: "\
`error`: `nginx -t` rejects the configuration.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    // The stream-only `proxy_ssl` is an unknown directive in http unless the
    // stream module is loaded; then it is merely not allowed there.
    let stream_loaded = model.tree.ctxs().any(|c| c.kind == Kind::Stream)
        || model
            .lines_in(0, "load_module")
            .iter()
            .any(|&r| model.dir(r).arg(0).is_some_and(|a| a.contains("stream")));
    for c in model.tree.ctxs() {
        let block = match c.kind {
            Kind::If => "if",
            Kind::LimitExcept => "limit_except",
            Kind::Upstream | Kind::StreamUpstream => "upstream",
            _ => continue,
        };
        for &r in c.directives() {
            let d = model.dir(r);
            let name = d.name();
            let http_ssl = ["proxy_ssl_", "grpc_ssl_", "uwsgi_ssl_"]
                .iter()
                .any(|p| name.starts_with(p));
            let error = if http_ssl {
                format!("\"{name}\" directive is not allowed here")
            } else if name == Module::Stream.directive(SslDirective::Ssl) {
                if c.kind == Kind::StreamUpstream || stream_loaded {
                    format!("\"{name}\" directive is not allowed here")
                } else {
                    format!("unknown directive \"{name}\"")
                }
            } else {
                continue;
            };
            let msg = format!(
                "{name} ({}) is inside {block}: nginx -t fails with '{error}'",
                model.file_line(r)
            );
            let mut f = Finding::at_directive(RULE.id, Severity::Error, r, msg);
            if let Some(opener) = c.opener {
                f = f.with_related(opener, format!("{block} block"));
            }
            out.push(f);
        }
    }
}
