//! `verify-name-mismatch`: verification is on, but the name it checks
//! cannot be on the upstream's certificate.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, SslDirective};

use super::support::{dns_hosts, group_named, is_ip_literal, name_origin, relate, static_name};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "verify-name-mismatch",
    summary: "verification is on, but the name it checks is a group name or an address",
    severity: Severity::High,
    doc: Doc {
        what: "\
Flags a hop with `*_ssl_verify on` whose verification name cannot match a real certificate: the \
`upstream {}` group name while the pool's servers are host names that differ from it, or an IP \
address (no `*_ssl_name`, or one that is itself an address).",
        why: "\
After the handshake nginx checks that the upstream's certificate was issued for the hop's name \
(`*_ssl_name`, by default the pass target's host). It matches host names only: a DNS entry in \
the certificate's subjectAltName, or the common name when there is none. A pool label like \
`backend_pool` appears on no certificate, and IP address entries are never consulted. Every \
connection fails with `upstream SSL certificate does not match \"backend_pool\"` and a 502, \
which is how many hops end up with verification switched off again. The IP case passes only for \
a certificate with no DNS names whose common name is the address itself.",
        example: "\
upstream payments_pool {
    server payments-1.internal.example.com:443;
    server payments-2.internal.example.com:443;
}

location /charges/ {
    proxy_pass https://payments_pool;
    proxy_ssl_verify on;          # checks for \"payments_pool\"
    proxy_ssl_trusted_certificate /etc/nginx/certs/payments-ca.pem;
}
",
        use_instead: "\
location /charges/ {
    proxy_pass https://payments_pool;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/payments-ca.pem;
    proxy_ssl_name payments.internal.example.com;   # on both servers' certificates
    proxy_ssl_server_name on;
}
",
        fix_safety: "\
A fix is proposed only when the answer is obvious: a pool whose servers all share one host name \
(for example the same host on several ports) gets `*_ssl_name` set to it, for review. Otherwise \
the name has to come from the certificates, which hopscope cannot see: no automatic fix.",
        severity_text: "\
`high`: verification is on and the name it checks cannot be on the certificate, so every \
handshake fails as configured.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        if hop.target.unix {
            continue;
        }
        let Some(verify) = hop.setting(SslDirective::Verify).filter(|s| s.is_on()) else {
            continue;
        };
        let Some(name) = static_name(hop) else {
            continue;
        };
        let (msg, fix) = if let Some(up) = group_named(model, hop) {
            let hosts = dns_hosts(up);
            if hosts.is_empty() || hosts.iter().any(|h| h.eq_ignore_ascii_case(name)) {
                continue;
            }
            let msg = format!(
                "{} is on ({}) and checks the certificate of {} against the group name \"{name}\" ({}), while its servers are {}: every handshake fails with 'upstream SSL certificate does not match \"{name}\"'",
                verify.name,
                verify.origin_note(),
                super::support::peer(hop),
                name_origin(hop),
                hosts.join(", ")
            );
            let fix = match hosts.as_slice() {
                [only] => Some(Fix::new(
                    format!("check the certificate against {only}"),
                    Applicability::NeedsReview,
                    vec![diagnostic::set(
                        hop.module,
                        SslDirective::Name,
                        FixValue::literal(only.clone()),
                    )],
                )),
                _ => None,
            };
            (msg, fix)
        } else if is_ip_literal(name) {
            let msg = format!(
                "{} is on ({}) and checks the certificate of {} against the address {name} ({}): nginx matches host names only, so the check fails unless the certificate has no DNS names and its common name is {name}",
                verify.name,
                verify.origin_note(),
                super::support::peer(hop),
                name_origin(hop),
            );
            (msg, None)
        } else {
            continue;
        };
        let mut f = Finding::for_hop(RULE.id, Severity::High, model, hop_index, msg).with_fix(fix);
        f = relate(f, verify, &format!("{} on", verify.name));
        if let Some(n) = hop.setting(SslDirective::Name) {
            f = relate(f, n, &format!("{} set here", n.name));
        }
        out.push(f);
    }
}
