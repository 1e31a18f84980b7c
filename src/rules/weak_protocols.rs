//! `weak-protocols`: the protocols nginx offers an upstream include SSLv2,
//! SSLv3, TLSv1 or TLSv1.1.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, SslDirective, Version};

use super::support::{peer, relate};
use super::{Doc, Rule};

/// Protocol versions that are broken or deprecated (RFC 7568, RFC 8996).
const WEAK: &[&str] = &["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"];

pub const RULE: Rule = Rule {
    id: "weak-protocols",
    summary: "the protocols offered to the upstream include SSLv3, TLSv1 or TLSv1.1",
    severity: Severity::Medium,
    doc: Doc {
        what: "\
Flags a TLS hop whose effective `*_ssl_protocols` include SSLv2, SSLv3, TLSv1 or TLSv1.1, \
whether written explicitly or through nginx's default for the chosen version: before 1.27.3 \
the default is `TLSv1 TLSv1.1 TLSv1.2` (plus `TLSv1.3` from 1.23.4); from 1.27.3 it is \
`TLSv1.2 TLSv1.3`.",
        why: "\
nginx offers the upstream every version in the list, and the upstream picks one. SSLv3 and TLS \
1.0/1.1 are deprecated (RFC 7568, RFC 8996): they rely on SHA-1 and MD5 in the handshake, lack \
modern AEAD ciphers and have a history of practical attacks (POODLE, BEAST). An old or \
misconfigured upstream, or an attacker on the path who interferes with the handshake of a peer \
without downgrade protection, gets nginx to speak the old version, and the traffic is then only \
as safe as that version. An `http {}` default or an old nginx's default is enough to offer them; a \
line added for one legacy box often ends up inherited by every location below it. (Your SSL \
library may refuse these versions on its own, for example OpenSSL 3 at its default security \
level; the configuration should not depend on that.)",
        example: "\
location /erp/ {
    proxy_pass https://erp.internal.example.com:8443;
    proxy_ssl_protocols TLSv1 TLSv1.2;
}
",
        use_instead: "\
location /erp/ {
    proxy_pass https://erp.internal.example.com:8443;
    proxy_ssl_protocols TLSv1.2 TLSv1.3;
}
",
        fix_safety: "\
Needs review: the fix sets `*_ssl_protocols TLSv1.2 TLSv1.3` for the hop (`TLSv1.2` alone for nginx \
older than 1.13.0, which has no TLSv1.3). An upstream that only speaks an old version stops \
working until it is upgraded; that is the point, but plan for it.",
        severity_text: "\
`medium` when the hop offers only SSLv3, TLSv1 or TLSv1.1: every connection uses a broken \
protocol. `low` when TLSv1.2 or TLSv1.3 is offered too: an upstream that supports them negotiates \
them (the handshake's transcript protects the choice), so the weak ones matter only for an \
upstream that supports nothing better.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let Some(p) = hop.setting(SslDirective::Protocols) else {
            continue;
        };
        let Some(value) = p.value.as_deref() else {
            continue;
        };
        let weak: Vec<&str> = value
            .split_whitespace()
            .filter(|t| WEAK.contains(t))
            .collect();
        if weak.is_empty() {
            continue;
        }
        let origin = if p.is_default() {
            format!("default of nginx {}", model.version)
        } else {
            p.origin_note()
        };
        let msg = format!(
            "{} is {value} ({origin}): nginx offers {} to {}",
            p.name,
            weak.join(", "),
            peer(hop)
        );
        let safe = if model.version >= Version(1, 13, 0) {
            "TLSv1.2 TLSv1.3"
        } else {
            "TLSv1.2"
        };
        let fix = Fix::new(
            format!("offer only {safe}"),
            Applicability::NeedsReview,
            vec![diagnostic::set(
                hop.module,
                SslDirective::Protocols,
                FixValue::literal(safe),
            )],
        );
        // Offered next to TLSv1.2 or TLSv1.3, a weak protocol is used only
        // by an upstream that supports nothing better.
        let only_weak = !value
            .split_whitespace()
            .any(|t| t == "TLSv1.2" || t == "TLSv1.3");
        let severity = if only_weak {
            Severity::Medium
        } else {
            Severity::Low
        };
        let f = Finding::for_hop(RULE.id, severity, model, hop_index, msg).with_fix(Some(fix));
        out.push(relate(f, p, &format!("{} set here", p.name)));
    }
}
