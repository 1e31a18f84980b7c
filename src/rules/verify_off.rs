//! `verify-off`: nginx does not check the upstream's certificate.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, Setting, SslDirective};

use super::support::{
    ca_file_input, group_named, is_ip_literal, peer, real_host_changes, relate, static_name, Reach,
    Reaches,
};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "verify-off",
    summary: "the upstream's certificate is not verified (explicit off: high; nginx's default: medium)",
    severity: Severity::High,
    doc: Doc {
        what: "\
Flags a TLS hop whose effective `*_ssl_verify` is `off`. Written `off` explicitly it is `high` \
(someone switched the check off, usually to silence an error); left at nginx's default it is \
`medium`. A hop that stays on this machine or goes to one private endpoint (a container, a pod, \
a private address) is `info` unless a CA is written for it (see Severity).",
        why: "\
Without verification nginx completes the handshake with whatever certificate it is shown: \
self-signed, expired, issued for another name, or made up a second ago. The connection is \
encrypted, but nginx has no idea who is at the other end. Anyone who can put themselves on the \
path between nginx and the upstream (a compromised host on the same network, ARP or DNS \
spoofing, a hijacked route, a malicious sidecar) can present their own certificate, read and \
change every request and response, and collect the credentials, cookies and tokens nginx \
forwards. Nothing is logged: the hop keeps working.\n\n\
nginx's default is `off` for `proxy_ssl_verify`, `grpc_ssl_verify`, `uwsgi_ssl_verify` and the \
stream `proxy_ssl_verify` alike, and setting a CA with `*_ssl_trusted_certificate` does not turn it \
on. Switching verification on needs three things: `*_ssl_verify on`, a CA bundle that signed the \
upstream's certificate, and a name (`*_ssl_name`) that is on that certificate.",
        example: "\
upstream payments_pool {
    server payments-1.internal.example.com:443;
    server payments-2.internal.example.com:443;
}

location /refunds/ {
    proxy_pass https://payments_pool;
    proxy_ssl_verify off;      # accepts any certificate
}
",
        use_instead: "\
location /refunds/ {
    proxy_pass https://payments_pool;
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/payments-ca.pem;
    proxy_ssl_verify_depth 3;
    proxy_ssl_name payments.internal.example.com;
    proxy_ssl_server_name on;
}
",
        fix_safety: "\
Needs review: once verification is on, a hop whose upstream presents a certificate nginx cannot \
validate stops working. The fix sets `*_ssl_verify on`; when no `*_ssl_trusted_certificate` applies \
it adds one (asked for as `ca-file`, proposed `/etc/ssl/certs/ca-certificates.crt`, which only \
covers public CAs), and when `*_ssl_verify_depth` is 1 or less it sets 3. It does not choose a name: \
if the hop's name is a group name or an address, fix `sni-upstream-name` or `sni-ip-literal` as well \
or the check fails.",
        severity_text: "\
As the output contract fixes it: `high` when `*_ssl_verify off` is written (someone switched the \
check off) and `medium` when it is nginx's default, for every hop toward an internal zone or the \
internet. `info` for a hop that stays on this machine (`localhost`, 127.0.0.0/8, `[::1]`, \
`unix:`, an address this configuration listens on) or goes to one private endpoint (a private \
address, a container or service name, a home or mDNS name, an ingress controller's pods): such a \
peer usually has a certificate made for it alone (Proxmox's pveproxy, a Nextcloud container), \
there is no CA to check it against, and only a host on that network could answer in its place. \
`medium` there too when a `*_ssl_trusted_certificate` is written for the hop: someone believes \
the upstream is checked, and it is not.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    let mut reaches = Reaches::new(model);
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let Some(verify) = hop.setting(SslDirective::Verify) else {
            continue;
        };
        if verify.is_on() {
            continue;
        }
        // A CA written for this hop while verification stays off: whoever
        // wrote it believes the upstream is checked.
        let ca_unused = hop
            .setting(SslDirective::TrustedCertificate)
            .is_some_and(|s| !s.is_default() && s.value.as_deref().is_some_and(|v| !v.is_empty()));
        let reach = reaches.hop(hop);
        let severity = match reach {
            // Nobody is on the path between nginx and its own loopback; a
            // private endpoint (a container, a pod, a LAN address) usually
            // has a certificate made for it alone, with no CA to check it.
            Reach::Loopback | Reach::Private if ca_unused => Severity::Medium,
            Reach::Loopback | Reach::Private => Severity::Info,
            _ if verify.is_default() => Severity::Medium,
            _ => Severity::High,
        };
        let who = match reach {
            _ if ca_unused => "although a CA to check it is configured, so anyone on the network path can impersonate it",
            Reach::Loopback => "the hop stays on this machine, so only a local process could impersonate it",
            Reach::Private => "the hop stays on a private network, so only a host on it could impersonate it",
            _ => "so anyone on the network path can impersonate it",
        };
        let peer = peer(hop);
        let msg = format!(
            "{} is off ({}): nginx accepts any certificate from {peer}, {who}",
            verify.name,
            verify.origin_note(),
        );
        let mut changes = vec![diagnostic::set(
            hop.module,
            SslDirective::Verify,
            FixValue::literal("on"),
        )];
        let has_ca = hop
            .setting(SslDirective::TrustedCertificate)
            .and_then(|s| s.value.as_deref())
            .is_some_and(|v| !v.is_empty());
        if !has_ca {
            changes.push(diagnostic::set(
                hop.module,
                SslDirective::TrustedCertificate,
                ca_file_input(&peer, hop.module),
            ));
        }
        let depth = hop
            .setting(SslDirective::VerifyDepth)
            .and_then(|s| s.value.as_deref())
            .and_then(|v| v.trim().parse::<u32>().ok());
        if depth.is_some_and(|d| d <= 1) {
            changes.push(diagnostic::set(
                hop.module,
                SslDirective::VerifyDepth,
                FixValue::literal("3"),
            ));
        }
        let bad_name =
            group_named(model, hop).is_some() || static_name(hop).is_some_and(is_ip_literal);
        let summary = if bad_name {
            // Verifying against a group name or an IP fails every
            // handshake: the fix names the real host too.
            // …and send it: a name that is checked but not sent leaves
            // the upstream picking a certificate without it.
            changes.extend(real_host_changes(model, hop));
            format!(
                "turn {} on and check the certificate against a real host name in {} (today: {})",
                verify.name,
                hop.module.directive(SslDirective::Name),
                static_name(hop).unwrap_or("")
            )
        } else {
            format!("turn {} on", verify.name)
        };
        let fix = Fix::new(summary, Applicability::NeedsReview, changes);
        let f = Finding::for_hop(RULE.id, severity, model, hop_index, msg).with_fix(Some(fix));
        out.push(relate(f, verify, &off_label(verify)));
    }
}

fn off_label(s: &Setting) -> String {
    format!("{} off", s.name)
}
