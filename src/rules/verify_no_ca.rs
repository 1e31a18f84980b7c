//! `verify-no-ca`: `*_ssl_verify on` without a CA; `nginx -t` rejects it.

use crate::diagnostic::{self, Applicability, Finding, Fix, Severity};
use crate::model::{Model, SslDirective};

use super::support::{ca_file_input, get, on, relate, tls_uses};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "verify-no-ca",
    summary: "*_ssl_verify on without *_ssl_trusted_certificate: nginx -t rejects it",
    severity: Severity::Error,
    doc: Doc {
        what: "\
Flags every place where nginx sets up TLS to an upstream with `*_ssl_verify on` but no (or an \
empty) `*_ssl_trusted_certificate`. nginx sets up upstream TLS for TLS hops, for any http pass \
directive with variables (even `proxy_pass http://$backend`: nginx prepares TLS for every pass \
with variables, since the URL is only known per request) and for stream servers with \
`proxy_ssl on`. Verification switched on at a level where no such \
pass lives is not an error and is not reported.",
        why: "\
nginx verifies upstream certificates only against the CA file you name; it does not fall back to \
the system store. With none, `nginx -t` stops with \
`no proxy_ssl_trusted_certificate for proxy_ssl_verify` (or the `grpc_`/`uwsgi_` twin), and a \
reload keeps the old configuration running, so the change you meant to ship never takes effect. \
Because the check runs where the settings are used, a `proxy_ssl_verify on` placed in `http {}` \
can pass for months and break the first time someone adds an `https://` location under it.",
        example: "\
http {
    proxy_ssl_verify on;
    server {
        location / { proxy_pass https://api.internal.example.com; }
    }
}
",
        use_instead: "\
http {
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/internal-ca.pem;
    server {
        location / { proxy_pass https://api.internal.example.com; }
    }
}
",
        fix_safety: "\
Needs review. The fix adds `*_ssl_trusted_certificate` for the hop; the file is asked for as \
`ca-file` (proposed: `/etc/ssl/certs/ca-certificates.crt`, which trusts public CAs only; internal \
upstreams need your own CA). Places that are not hops (a pass with variables, a stream server \
without `proxy_pass`) get no automatic fix.",
        severity_text: "\
`error`: `nginx -t` rejects the configuration.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for u in tls_uses(model) {
        if !on(&u.settings, SslDirective::Verify) {
            continue;
        }
        let Some(ca) = get(&u.settings, SslDirective::TrustedCertificate) else {
            continue;
        };
        if ca.value.as_deref().is_some_and(|v| !v.is_empty()) {
            continue;
        }
        let Some(verify) = get(&u.settings, SslDirective::Verify) else {
            continue;
        };
        let ca_state = match ca.value.as_deref() {
            Some(_) => format!("{} is empty ({})", ca.name, ca.origin_note()),
            None => format!("no {} is set", ca.name),
        };
        let msg = format!(
            "{} is on ({}) for {} but {ca_state}: nginx -t fails with \"no {} for {}\"",
            verify.name,
            verify.origin_note(),
            u.label(),
            ca.name,
            verify.name
        );
        let fix = u.hop.map(|_| {
            Fix::new(
                format!("add {} for {}", ca.name, u.label()),
                Applicability::NeedsReview,
                vec![diagnostic::set(
                    u.module,
                    SslDirective::TrustedCertificate,
                    ca_file_input(&u.label(), u.module),
                )],
            )
        });
        let f = u.finding(&RULE, Severity::Error, model, msg).with_fix(fix);
        let f = relate(f, verify, &format!("{} on", verify.name));
        out.push(relate(f, ca, &format!("{} empty", ca.name)));
    }
}
