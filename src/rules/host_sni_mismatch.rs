//! `host-sni-mismatch`: the `Host` header nginx sends upstream names a
//! different site than the SNI.

use crate::diagnostic::{Applicability, Change, Finding, Fix, FixValue, Severity};
use crate::model::{self, sni, Model, Module, Name, NameSource, Origin, SslDirective};

use super::support::{name_origin, peer};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "host-sni-mismatch",
    summary: "the Host header sent upstream differs from the SNI: the upstream may pick the wrong site",
    severity: Severity::Medium,
    doc: Doc {
        what: "\
Flags an http proxy hop that sends SNI while the effective `Host` header names something else. \
The Host header defaults to `$proxy_host` (for an `upstream {}` target: the group name); hopscope \
resolves that statically and compares host names without port, ignoring case. It also flags the \
widely copied `proxy_set_header Host $host;` next to a literal `proxy_ssl_name`, where the HTTP \
name is whatever the client sent and the TLS name is fixed, and the opposite case of an SNI taken \
from the request with a fixed Host.",
        why: "\
SNI and Host are chosen separately: `proxy_ssl_name` never changes the Host header, and \
`proxy_set_header Host` never changes the SNI. An upstream that hosts several sites selects the \
certificate by SNI and then the site by Host. When they disagree, the request lands in whichever \
site matches Host: the default site (a `server_name _` catch-all, a 404 page), a different \
application that happens to share the address, or, where the server insists that the two \
agree, a `421 Misdirected Request` (nginx does this for sites that verify client certificates; \
some CDNs refuse such requests with a 403). With a pool and no `proxy_set_header Host`, the upstream receives \
`Host: backend_pool`, a name no site is configured for.",
        example: "\
location /search/ {
    proxy_pass https://search_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name search.internal.example.com;
    proxy_set_header Host $host;          # ingest.example.com, not the search site
}
",
        use_instead: "\
location /search/ {
    proxy_pass https://search_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name search.internal.example.com;
    proxy_set_header Host search.internal.example.com;
    proxy_set_header X-Forwarded-Host $host;   # if the backend needs the original
}
",
        fix_safety: "\
Needs review: the fix makes the hop send `proxy_set_header Host` with the SNI name. Backends that \
build links or redirects from Host will see the internal name instead of the client's; pass the \
original in `X-Forwarded-Host` if they need it. Because a block with any `proxy_set_header` drops \
all inherited ones, the fix engine carries the inherited headers into the block.",
    },
    check,
};

/// `$http_host` and `$host` name the same host (port aside).
fn normalize(expr: &str) -> String {
    expr.to_ascii_lowercase()
        .replace("${http_host}", "$host")
        .replace("$http_host", "$host")
        .replace("${host}", "$host")
}

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        if hop.module != Module::Proxy || !hop.sni.sent || hop.target.unix {
            continue;
        }
        let (Some(host), Some(sni_name)) = (&hop.host_header, hop.sni.name.as_deref()) else {
            continue;
        };
        if host.value.is_empty() {
            continue;
        }
        let static_proxy_host = (!hop.target.dynamic).then_some(hop.proxy_host.as_str());
        // Values the configuration gives (`set`, `map`, `js_var`) are not
        // taken from the request.
        let listed = (host.value.contains('$') && !host.value.eq_ignore_ascii_case("$proxy_host"))
            .then(|| model.known_values(hop.ctx, &host.value, static_proxy_host))
            .flatten()
            .filter(|v| !v.is_empty());
        let host_name = match listed.as_deref() {
            Some([one]) => Name::Static(one.clone()),
            _ => model::eval_name(&host.value, static_proxy_host),
        };
        let differs = match (&host_name, hop.sni.dynamic) {
            (Name::Dynamic(_), false) if listed.is_some() => listed
                .iter()
                .flatten()
                .any(|h| !sni::strip_port(h).eq_ignore_ascii_case(sni_name)),
            (Name::Static(h), false) => !sni::strip_port(h).eq_ignore_ascii_case(sni_name),
            (Name::Static(_), true) | (Name::Dynamic(_), false) => true,
            (Name::Dynamic(h), true) => {
                let same_source = normalize(h) == "$proxy_host"
                    && matches!(hop.name_source, NameSource::PassHost | NameSource::Group);
                !same_source && normalize(h) != normalize(sni_name)
            }
        };
        if !differs {
            continue;
        }
        let origin = match &host.origin {
            Origin::Default => "default".to_string(),
            Origin::Explicit(p) => p.file_line(),
        };
        let host_desc = match &host_name {
            Name::Static(h) if *h != host.value => format!("{} = {h} ({origin})", host.value),
            Name::Static(h) => format!("{h} ({origin})"),
            Name::Dynamic(h) => match &listed {
                Some(values) => format!("{h}, one of {} ({origin})", values.join(", ")),
                None => format!("{h}, taken from each request ({origin})"),
            },
        };
        let sni_desc = if hop.sni.dynamic {
            format!("{sni_name}, computed per request ({})", name_origin(hop))
        } else {
            format!("{sni_name} ({})", name_origin(hop))
        };
        let msg = format!(
            "the Host header sent to {} is {host_desc}, but the SNI is {sni_desc}: an upstream that picks its site by Host answers from a different one (or with 421)",
            peer(hop)
        );
        let fix = Fix::new(
            format!("send Host: {sni_name}, the SNI name"),
            Applicability::NeedsReview,
            vec![Change::SetHeader {
                directive: "proxy_set_header".into(),
                header: "Host".into(),
                value: FixValue::literal(sni_name),
            }],
        );
        let mut f =
            Finding::for_hop(RULE.id, Severity::Medium, model, hop_index, msg).with_fix(Some(fix));
        if let Origin::Explicit(p) = &host.origin {
            f = f.with_related(p.dir, "Host header set here");
        }
        if let Some(n) = hop.setting(SslDirective::Name) {
            f = super::support::relate(f, n, &format!("{} set here", n.name));
        }
        out.push(f);
    }
}
