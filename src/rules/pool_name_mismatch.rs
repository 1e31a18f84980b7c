//! `pool-name-mismatch`: a pool of differently named servers reached with
//! the name of one of them.

use crate::diagnostic::{Finding, Severity};
use crate::model::{Model, SslDirective};

use super::support::{dns_hosts, name_used, relate, static_name, upstream};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "pool-name-mismatch",
    summary: "a pool of differently named servers is reached with the name of one of them",
    severity: Severity::Medium,
    doc: Doc {
        what: "\
Flags a hop to an `upstream {}` pool whose servers have different host names while the hop's one \
SNI/verification name is the host name of one of those servers. A name shared by the whole pool \
(a service name that every server's certificate carries) is not reported; a group name is left \
to `sni-upstream-name`. Only hops that send the name or verify it are considered.",
        why: "\
nginx has one name per hop, not one per server: every connection to every server of the pool \
carries the same SNI and is checked against the same name. Written as \
`proxy_ssl_name backend-1.internal.example.com`, it fits backend-1 only. backend-2 is asked for \
backend-1's site: it presents its own certificate (verification fails with \
`upstream SSL certificate does not match`, or passes unchecked if verification is off) or serves \
its default site. Because nginx spreads requests over the pool, the result looks like an \
intermittent failure that follows the load balancer, not the configuration.",
        example: "\
upstream search_pool {
    server search-1.internal.example.com:443;
    server search-2.internal.example.com:443;
}

location /search/ {
    proxy_pass https://search_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name search-1.internal.example.com;   # wrong for search-2
}
",
        use_instead: "\
# Every server presents a certificate for one shared name:
location /search/ {
    proxy_pass https://search_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name search.internal.example.com;
}
",
        fix_safety: "\
No automatic fix: the remedy is a certificate name that all servers share (then set it in \
`*_ssl_name`), or separate pools and locations per name. Both need a decision outside nginx.",
        severity_text: "\
`medium`: the servers whose name differs work only if their certificates carry the shared name \
too, which the configuration does not say.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        if !name_used(hop) {
            continue;
        }
        let (Some(up), Some(name)) = (upstream(model, hop), static_name(hop)) else {
            continue;
        };
        let hosts = dns_hosts(up);
        if hosts.len() < 2 || !hosts.iter().any(|h| h.eq_ignore_ascii_case(name)) {
            continue;
        }
        let others: Vec<&str> = hosts
            .iter()
            .filter(|h| !h.eq_ignore_ascii_case(name))
            .map(String::as_str)
            .collect();
        let msg = format!(
            "{} has servers {}, but every connection uses the name {name} ({}): {} must present a certificate and site for {name}",
            up.name,
            hosts.join(", "),
            super::support::name_origin(hop),
            others.join(", "),
        );
        let mut f = Finding::for_hop(RULE.id, Severity::Medium, model, hop_index, msg)
            .with_related(up.dir, format!("upstream {} defined here", up.name));
        if let Some(n) = hop.setting(SslDirective::Name) {
            f = relate(f, n, &format!("{} set here", n.name));
        }
        out.push(f);
    }
}
