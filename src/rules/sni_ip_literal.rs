//! `sni-ip-literal`: the TLS name is an IP address, so nginx sends no SNI
//! and a certificate check against the name fails.

use crate::diagnostic::{Applicability, Finding, Fix, Severity};
use crate::model::{Model, Setting, SslDirective};

use super::support::{
    host_reach, is_ip_literal, name_origin, real_host_changes, relate, static_name, Reach,
};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "sni-ip-literal",
    summary: "the target is an IP literal and no *_ssl_name names a host: no SNI, name checks fail",
    severity: Severity::High,
    doc: Doc {
        what: "\
Flags a hop whose TLS name is an IPv4 address or a bracketed IPv6 address: the pass target is an \
address (`proxy_pass https://10.0.4.22`, stream `proxy_pass 10.0.4.22:636`) and no `*_ssl_name` \
gives a host name, or `*_ssl_name` itself is an address.",
        why: "\
RFC 6066 allows only host names in SNI, so nginx leaves the server_name extension out whenever \
the name is an address, even with `*_ssl_server_name on`. The upstream receives a ClientHello \
without a name and falls back to its default certificate and site, or refuses with \
`unrecognized_name` / `handshake_failure`; nginx answers 502.\n\n\
Verification does not rescue it. With `*_ssl_verify on`, nginx checks the certificate against the \
same address using host-name matching: the certificate's IP address entries (iPAddress SANs) are \
never consulted, so a certificate issued properly for `10.0.4.22` still fails with \
`upstream SSL certificate does not match \"10.0.4.22\"`. The check passes only for a certificate \
with no DNS names at all whose common name happens to be the address.",
        example: "\
location /v2/ingest {
    proxy_pass https://10.0.4.22:443;
    proxy_ssl_server_name on;    # still no SNI: the name is an address
    proxy_ssl_verify on;         # checks the certificate against 10.0.4.22
    proxy_ssl_trusted_certificate /etc/nginx/certs/internal-ca.pem;
}
",
        use_instead: "\
location /v2/ingest {
    proxy_pass https://10.0.4.22:443;
    proxy_ssl_server_name on;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/internal-ca.pem;
    proxy_ssl_name ingest.internal.example.com;   # the name on its certificate
    proxy_set_header Host ingest.internal.example.com;
}
",
        fix_safety: "\
Needs review. The fix sets `*_ssl_name` (and `*_ssl_server_name on` when it is off). The host name \
is asked for as `sni-name`: an address says nothing about which name the server's certificate \
carries, so there is no proposal unless the target is a pool with a DNS-named server.",
        severity_text: "\
`high` when verification is on: nginx matches host names only, so the check against the address \
fails every handshake. With verification off the hop works but sends no SNI: `medium` for a \
public address (which may serve many names); `info` for a private one (RFC 1918, RFC 6598, \
link-local, IPv6 ULA) or a loopback address: a service at a private address answers without SNI \
as with it (a Proxmox or NAS web interface), and its missing name matters only once verification \
is turned on, which `verify-off` reports.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        if hop.target.unix {
            continue;
        }
        let Some(name) = static_name(hop).filter(|n| is_ip_literal(n)) else {
            continue;
        };
        let family = if name.starts_with('[') {
            "IPv6"
        } else {
            "IPv4"
        };
        let sn = hop.setting(SslDirective::ServerName);
        let sni_note = match sn {
            Some(s) if s.is_on() => format!(
                "nginx sends no SNI (RFC 6066 forbids addresses) even though {} is on ({})",
                s.name,
                s.origin_note()
            ),
            Some(s) => format!(
                "nginx sends no SNI ({} is off ({}), and turning it on would not send an address)",
                s.name,
                s.origin_note()
            ),
            None => "nginx sends no SNI".to_string(),
        };
        let verify = hop.setting(SslDirective::Verify);
        let verified = verify.is_some_and(Setting::is_on);
        // Verification against an address fails every handshake; without
        // it the hop works and only the missing SNI matters, the less the
        // nearer the server is.
        let severity = match (verified, host_reach(name)) {
            (true, _) => Severity::High,
            (false, Reach::Loopback | Reach::Private) => Severity::Info,
            (false, _) => Severity::Medium,
        };
        let verify_note = if verified {
            ", and the certificate check against it fails (nginx matches host names only)"
        } else {
            ", and a certificate check against it would fail"
        };
        let msg = format!(
            "the TLS name for {} is the {family} literal {name} ({}): {sni_note}{verify_note}",
            super::support::peer(hop),
            name_origin(hop),
        );
        let changes = real_host_changes(model, hop);
        let fix = Fix::new(
            format!(
                "name the server's host in {} and send it",
                hop.module.directive(SslDirective::Name)
            ),
            Applicability::NeedsReview,
            changes,
        );
        let mut f = Finding::for_hop(RULE.id, severity, model, hop_index, msg).with_fix(Some(fix));
        if let Some(n) = hop.setting(SslDirective::Name) {
            f = relate(f, n, &format!("{} set here", n.name));
        }
        out.push(f);
    }
}
