//! `verify-depth`: verification with `*_ssl_verify_depth` 1 (the default)
//! rejects longer certificate chains.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, SslDirective};

use super::support::{peer, relate};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "verify-depth",
    summary: "verification with *_ssl_verify_depth 1 (the default): longer chains fail",
    severity: Severity::Low,
    doc: Doc {
        what: "\
Flags a hop with `*_ssl_verify on` whose effective `*_ssl_verify_depth` is 1 (nginx's default) or \
0.",
        why: "\
The depth limits how many intermediate CA certificates may sit between the upstream's own \
certificate and a CA in `*_ssl_trusted_certificate`. With OpenSSL 1.1.0 and later, depth 1 allows \
one intermediate, and depth 0 none. Some public CAs and many internal PKIs issue through two \
intermediates (root, policy CA, issuing CA), or move to such a chain at renewal. When that \
happens nginx rejects the upstream with `upstream SSL certificate verify error: \
(20:unable to get local issuer certificate)` and answers 502, although nothing in the nginx \
configuration changed. (With OpenSSL 1.0.x the limit was one lower: depth 1 allowed no \
intermediate.)",
        example: "\
location / {
    proxy_pass https://api.internal.example.com;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/root-ca.pem;
    # proxy_ssl_verify_depth defaults to 1
}
",
        use_instead: "\
location / {
    proxy_pass https://api.internal.example.com;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/root-ca.pem;
    proxy_ssl_verify_depth 3;
}
",
        fix_safety: "\
Needs review: the fix sets `*_ssl_verify_depth 3` for the hop, which accepts chains with up to \
three intermediates. That loosens nothing about which CAs are trusted, but if the depth was kept \
low on purpose, keep it.",
        severity_text: "\
`low` for nginx's default depth: chains with more than one intermediate are rare for private CAs, \
but the default is a trap when the upstream changes its chain. `info` when the depth is written \
for the hop: someone chose it for the CA they configured (a private CA that signs the leaf \
directly needs no more).",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let (Some(verify), Some(depth)) = (
            hop.setting(SslDirective::Verify),
            hop.setting(SslDirective::VerifyDepth),
        ) else {
            continue;
        };
        if !verify.is_on() {
            continue;
        }
        let Some(d) = depth
            .value
            .as_deref()
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            continue;
        };
        if d > 1 {
            continue;
        }
        let allows = if d == 0 {
            "only a certificate signed directly by a trusted CA passes"
        } else {
            "a chain with more than one intermediate CA fails verification"
        };
        let msg = format!(
            "{} is {d} ({}) with {} on ({}): {allows} for {}",
            depth.name,
            depth.origin_note(),
            verify.name,
            verify.origin_note(),
            peer(hop)
        );
        let fix = Fix::new(
            format!("set {} 3", depth.name),
            Applicability::NeedsReview,
            vec![diagnostic::set(
                hop.module,
                SslDirective::VerifyDepth,
                FixValue::literal("3"),
            )],
        );
        let severity = if depth.is_default() {
            Severity::Low
        } else {
            Severity::Info
        };
        let f = Finding::for_hop(RULE.id, severity, model, hop_index, msg).with_fix(Some(fix));
        out.push(relate(f, depth, &format!("{} {d}", depth.name)));
    }
}
