//! The CIS NGINX Benchmark's upstream TLS items: the one table that maps
//! benchmark items to the settings and rules that evidence them, and the
//! per-hop verdict of each item (`check --profile cis-nginx`).
//!
//! Verdicts read the model's effective settings (values and provenance as
//! `model` computed them) and the findings the rules reported; nothing is
//! re-derived from the configuration text here.
//!
//! Item numbers: 4.1.9 and 4.1.10 are those of v3.0.0. The protocol item
//! is numbered 4.1.4 ("Ensure only modern TLS protocols are used") in
//! v1.0.0 through v2.1.0; v3.0.0 keeps the item (it now asks for TLS 1.3
//! only, older protocols being a temporary exception for an upstream that
//! needs them) but its number there could not be confirmed, so the item
//! says so ([`Item::number_note`]).

use crate::diagnostic::Finding;
use crate::model::{Hop, Model, Origin, SslDirective};

/// The benchmark's name, as SARIF's taxonomy names it.
pub const BENCHMARK: &str = "CIS NGINX Benchmark";
/// The benchmark version the table follows.
pub const VERSION: &str = "3.0.0";
/// The profile's name on the command line and in JSON.
pub const PROFILE: &str = "cis-nginx";

/// What an item asks of a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A client certificate and its key are in effect (mTLS).
    ClientCertificate,
    /// Verification on, a trusted CA, and a name to check.
    TrustedServer,
    /// The effective protocols are TLSv1.3 only.
    ModernProtocols,
}

/// One benchmark item.
#[derive(Debug)]
pub struct Item {
    pub id: &'static str,
    pub title: &'static str,
    /// What hopscope checks on each hop, in a sentence.
    pub requirement: &'static str,
    /// Set when the item's number in this version is not confirmed.
    pub number_note: Option<&'static str>,
    /// The settings shown as evidence, in this order.
    pub directives: &'static [SslDirective],
    /// The rules whose findings on a hop fail the item there.
    pub rules: &'static [&'static str],
    pub check: Check,
}

/// The table: every item hopscope evidences, in benchmark order.
pub const ITEMS: &[Item] = &[
    Item {
        id: "4.1.4",
        title: "Ensure only modern TLS protocols are used",
        requirement: "the effective *_ssl_protocols offer TLSv1.3 only (v3.0.0 removes TLS 1.0, 1.1 and 1.2; an upstream that needs an older protocol is an exception to record)",
        number_note: Some("4.1.4 in CIS NGINX Benchmark v1.0.0 to v2.1.0; the number of this item in v3.0.0 is not confirmed"),
        directives: &[SslDirective::Protocols],
        rules: &["weak-protocols"],
        check: Check::ModernProtocols,
    },
    Item {
        id: "4.1.9",
        title: "Ensure upstream server traffic is authenticated with a client certificate",
        requirement: "a client certificate and its key are in effect on the hop (*_ssl_certificate and *_ssl_certificate_key), so the upstream can authenticate nginx (mTLS)",
        number_note: None,
        directives: &[SslDirective::Certificate, SslDirective::CertificateKey],
        rules: &["cert-no-key", "cert-file-missing"],
        check: Check::ClientCertificate,
    },
    Item {
        id: "4.1.10",
        title: "Ensure the upstream traffic server certificate is trusted",
        requirement: "*_ssl_verify is on with a CA bundle (*_ssl_trusted_certificate), and the name checked (*_ssl_name, SNI) is known and can match the upstream's certificate",
        number_note: None,
        directives: &[
            SslDirective::Verify,
            SslDirective::TrustedCertificate,
            SslDirective::Name,
            SslDirective::ServerName,
        ],
        rules: &["verify-off", "verify-no-ca", "verify-name-mismatch"],
        check: Check::TrustedServer,
    },
];

/// The items a rule's findings evidence.
pub fn items_of(rule: &str) -> impl Iterator<Item = &'static Item> + '_ {
    ITEMS.iter().filter(move |i| i.rules.contains(&rule))
}

/// Pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// One effective setting shown as evidence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The module's directive name (`proxy_ssl_verify`).
    pub directive: &'static str,
    /// The effective value (None: nginx has no value for it).
    pub value: Option<String>,
    /// `file:line` of the directive that wins, or None for nginx's default.
    pub origin: Option<String>,
    /// The block level it is set at (`http`, `server`, `location`, `stream`).
    pub level: Option<&'static str>,
}

/// An item's verdict on one hop.
#[derive(Clone, Debug)]
pub struct HopVerdict {
    /// Index into `Model::hops`.
    pub hop: usize,
    pub verdict: Verdict,
    pub evidence: Vec<Evidence>,
    /// Why it fails (empty when it passes).
    pub reasons: Vec<String>,
}

/// An item and its verdict on every hop.
#[derive(Debug)]
pub struct ItemReport {
    pub item: &'static Item,
    pub hops: Vec<HopVerdict>,
}

fn evidence(hop: &Hop, d: SslDirective) -> Option<Evidence> {
    let s = hop.setting(d)?;
    let (origin, level) = match &s.origin {
        Origin::Default => (None, None),
        Origin::Explicit(p) => (Some(p.file_line()), Some(p.level)),
    };
    Some(Evidence {
        directive: s.name,
        value: s.value.as_deref().map(str::to_string),
        origin,
        level,
    })
}

fn set(hop: &Hop, d: SslDirective) -> bool {
    hop.setting(d)
        .and_then(|s| s.value.as_deref())
        .is_some_and(|v| !v.trim().is_empty())
}

fn name_of(hop: &Hop, d: SslDirective) -> String {
    hop.setting(d).map_or_else(
        || d.name(hop.module).to_string(),
        |s| format!("{} ({})", s.name, s.origin_note()),
    )
}

/// Why the hop's settings fail the item (empty: they pass).
fn setting_reasons(check: Check, hop: &Hop) -> Vec<String> {
    let mut out = Vec::new();
    match check {
        Check::ClientCertificate => {
            for d in [SslDirective::Certificate, SslDirective::CertificateKey] {
                if !set(hop, d) {
                    out.push(format!("{} is not set", name_of(hop, d)));
                }
            }
        }
        Check::TrustedServer => {
            if !hop.setting(SslDirective::Verify).is_some_and(|s| s.is_on()) {
                out.push(format!(
                    "{} is off: any certificate is accepted",
                    name_of(hop, SslDirective::Verify)
                ));
            }
            if !set(hop, SslDirective::TrustedCertificate) {
                out.push(format!(
                    "{} is not set: no CA to check the certificate against",
                    name_of(hop, SslDirective::TrustedCertificate)
                ));
            }
            match hop.verify_name.as_deref() {
                None | Some("") => {
                    out.push("no name to check the certificate against is known".into())
                }
                Some(name) if name.contains('$') => out.push(format!(
                    "the name checked against the certificate ({name}) is computed per request: the configuration cannot evidence that it matches"
                )),
                Some(_) => {}
            }
        }
        Check::ModernProtocols => {
            let value = hop
                .setting(SslDirective::Protocols)
                .and_then(|s| s.value.as_deref())
                .unwrap_or("");
            let old: Vec<&str> = value
                .split_whitespace()
                .filter(|p| *p != "TLSv1.3")
                .collect();
            if !old.is_empty() {
                out.push(format!(
                    "{} offers {} (only TLSv1.3 is modern in v{VERSION})",
                    name_of(hop, SslDirective::Protocols),
                    old.join(" ")
                ));
            } else if value.trim().is_empty() {
                out.push("no protocol is offered".into());
            }
        }
    }
    out
}

/// Every item's verdict on every hop. `findings` are all the rules'
/// findings on the model (suppressed ones too: a suppression records a
/// decision, it does not make a hop comply).
pub fn evaluate(model: &Model, findings: &[Finding]) -> Vec<ItemReport> {
    ITEMS
        .iter()
        .map(|item| ItemReport {
            item,
            hops: model
                .hops
                .iter()
                .enumerate()
                .map(|(i, hop)| {
                    let mut reasons = setting_reasons(item.check, hop);
                    for f in findings
                        .iter()
                        .filter(|f| f.hop == Some(i) && item.rules.contains(&f.rule))
                    {
                        let why = format!("[{}] {}", f.rule, f.message);
                        if !reasons.contains(&why) {
                            reasons.push(why);
                        }
                    }
                    HopVerdict {
                        hop: i,
                        verdict: if reasons.is_empty() {
                            Verdict::Pass
                        } else {
                            Verdict::Fail
                        },
                        evidence: item
                            .directives
                            .iter()
                            .filter_map(|&d| evidence(hop, d))
                            .collect(),
                        reasons,
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_named_in_the_table_exists() {
        for item in ITEMS {
            for id in item.rules {
                assert!(super::super::find(id).is_some(), "{}: {id}", item.id);
            }
        }
        assert_eq!(
            items_of("verify-off").map(|i| i.id).collect::<Vec<_>>(),
            ["4.1.10"]
        );
        assert_eq!(items_of("sni-off").count(), 0);
    }

    #[test]
    fn a_hop_with_mtls_verification_and_tls13_passes_every_item() {
        let conf = "http {\n  server {\n    location / {\n      proxy_pass https://api.example.com;\n      proxy_ssl_verify on;\n      proxy_ssl_trusted_certificate /ca.pem;\n      proxy_ssl_server_name on;\n      proxy_ssl_protocols TLSv1.3;\n      proxy_ssl_certificate /c.pem;\n      proxy_ssl_certificate_key /c.key;\n    }\n  }\n}\n";
        let m = crate::test_support::model(&[("nginx.conf", conf)]);
        let findings = super::super::check(&m);
        let report = evaluate(&m, &findings);
        for r in &report {
            assert_eq!(r.hops.len(), 1);
            assert_eq!(
                r.hops[0].verdict,
                Verdict::Pass,
                "{}: {:?}",
                r.item.id,
                r.hops[0].reasons
            );
        }
        assert!(report[2].hops[0].reasons.is_empty());
        let verify = &report[2].hops[0].evidence[0];
        assert_eq!(verify.directive, "proxy_ssl_verify");
        assert_eq!(verify.value.as_deref(), Some("on"));
        assert_eq!(verify.origin.as_deref(), Some("nginx.conf:5"));
        assert_eq!(verify.level, Some("location"));
    }

    #[test]
    fn a_suppression_or_a_per_request_name_does_not_make_a_hop_comply() {
        let conf = "http {\n  proxy_ssl_trusted_certificate /ca.pem;\n  server {\n    location /a/ {\n      # hopscope: ignore verify-off accepted for now\n      proxy_pass https://a.example.com;\n    }\n    location /b/ {\n      proxy_pass https://b.example.com;\n      proxy_ssl_verify on;\n      proxy_ssl_name $host;\n    }\n  }\n}\n";
        let m = crate::test_support::model(&[("nginx.conf", conf)]);
        let findings = super::super::check(&m);
        assert!(findings
            .iter()
            .any(|f| f.rule == "verify-off" && f.suppressed.is_some()));
        let trusted = &evaluate(&m, &findings)[2];
        assert_eq!(trusted.item.id, "4.1.10");
        let a = &trusted.hops[0];
        assert_eq!(a.verdict, Verdict::Fail);
        assert!(
            a.reasons.iter().any(|r| r.starts_with("[verify-off] ")),
            "{:?}",
            a.reasons
        );
        let b = &trusted.hops[1];
        assert_eq!(b.verdict, Verdict::Fail);
        assert_eq!(b.reasons.len(), 1, "{:?}", b.reasons);
        assert!(b.reasons[0].contains("($host) is computed per request"));
        let ca = b
            .evidence
            .iter()
            .find(|e| e.directive == "proxy_ssl_trusted_certificate");
        assert_eq!(ca.and_then(|e| e.level), Some("http"));
    }
}
