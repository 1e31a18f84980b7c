//! `cert-no-key`: a client certificate without its key (nginx -t rejects
//! it), or a key without a certificate (nginx ignores it).

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, SslDirective};

use super::support::{certificate_set, get, relate, tls_uses};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "cert-no-key",
    summary: "client certificate without key (nginx -t rejects it), or key without certificate",
    severity: Severity::Error,
    doc: Doc {
        what: "\
Flags a place where nginx sets up upstream TLS and the effective `*_ssl_certificate` (the client \
certificate nginx presents for mutual TLS) has no `*_ssl_certificate_key`: `error`. A key without \
a certificate is reported as `low`, since nginx accepts it and simply presents nothing.",
        why: "\
The certificate and its key are inherited separately, each from the nearest level that sets it. \
Moving one line into a location, or setting the certificate in `http {}` and the key in one \
server, leaves hops below with half a pair. nginx refuses to start with \
`no \"proxy_ssl_certificate_key\" is defined for certificate \"...\"`; a reload keeps the old \
configuration running. The check happens only where TLS to an upstream is set up, so the same \
lines in a part of the config without an https pass go unnoticed until one is added.\n\n\
The reverse, a key with no certificate, passes `nginx -t`: the key is never loaded and nginx sends \
no client certificate. An upstream that requires one ends the handshake with a \
`certificate_required` or `handshake_failure` alert, and the hop answers 502.\n\n\
Note: in nginx 1.21.0 to 1.22.x an empty `*_ssl_certificate \"\"` is read as a file name and needs \
a key too; from 1.23.0 (and before 1.21.0) it means \"no client certificate\".",
        example: "\
location /payouts/ {
    proxy_pass https://payouts.internal.example.com;
    proxy_ssl_certificate /etc/nginx/certs/gateway-client.crt;
}
",
        use_instead: "\
location /payouts/ {
    proxy_pass https://payouts.internal.example.com;
    proxy_ssl_certificate     /etc/nginx/certs/gateway-client.crt;
    proxy_ssl_certificate_key /etc/nginx/certs/gateway-client.key;
}
",
        fix_safety: "\
Needs review. For a certificate without a key, the fix adds `*_ssl_certificate_key`, asked for \
as `client-key` (proposed from the certificate's file name, `.crt` -> `.key`); check that the key \
belongs to the certificate. A key without a certificate gets no automatic fix: either the \
certificate is missing or the key is a leftover.",
        severity_text: "\
`error` for a certificate without a key (`nginx -t` rejects it); `low` for a key without a \
certificate (nginx ignores the key).",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for u in tls_uses(model) {
        let (Some(cert), Some(key)) = (
            get(&u.settings, SslDirective::Certificate),
            get(&u.settings, SslDirective::CertificateKey),
        ) else {
            continue;
        };
        let cert_set = certificate_set(cert.value.as_deref(), model.version);
        match (cert_set, key.value.as_deref()) {
            (true, None) => {
                let value = cert.value.as_deref().unwrap_or("");
                let msg = format!(
                    "{} is \"{value}\" ({}) for {} but no {} is set: nginx -t fails with 'no \"{}\" is defined for certificate \"{value}\"'",
                    cert.name,
                    cert.origin_note(),
                    u.label(),
                    key.name,
                    key.name,
                );
                let fix = u.hop.map(|_| {
                    Fix::new(
                        format!("add {} for {value}", key.name),
                        Applicability::NeedsReview,
                        vec![diagnostic::set(
                            u.module,
                            SslDirective::CertificateKey,
                            FixValue::Input {
                                key: "client-key",
                                prompt: format!(
                                    "private key (PEM) of the client certificate {value}"
                                ),
                                proposal: key_proposal(value),
                            },
                        )],
                    )
                });
                let f = u.finding(&RULE, Severity::Error, model, msg).with_fix(fix);
                out.push(relate(f, cert, &format!("{} without a key", cert.name)));
            }
            (false, Some(k)) if !k.is_empty() => {
                let msg = format!(
                    "{} is {k} ({}) for {} but {}: nginx ignores the key and presents no client certificate",
                    key.name,
                    key.origin_note(),
                    u.label(),
                    match cert.value.as_deref() {
                        Some(_) => format!("{} is empty ({})", cert.name, cert.origin_note()),
                        None => format!("no {} is set", cert.name),
                    }
                );
                let f = u.finding(&RULE, Severity::Low, model, msg);
                out.push(relate(
                    f,
                    key,
                    &format!("{} without a certificate", key.name),
                ));
            }
            _ => {}
        }
    }
}

/// `client.crt` -> `client.key`, `client-cert.pem` -> `client-key.pem`.
fn key_proposal(cert: &str) -> Option<String> {
    if cert.contains('$') || cert.starts_with("data:") {
        return None;
    }
    for (from, to) in [
        (".crt", ".key"),
        (".cert", ".key"),
        ("-cert.pem", "-key.pem"),
        ("_cert.pem", "_key.pem"),
        ("cert.pem", "key.pem"),
    ] {
        if let Some(stem) = cert.strip_suffix(from) {
            return Some(format!("{stem}{to}"));
        }
    }
    None
}
