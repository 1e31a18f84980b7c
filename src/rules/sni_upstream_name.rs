//! `sni-upstream-name`: the SNI (or verify) name is an `upstream {}` group
//! name such as `backend_pool`, not a host.

use crate::diagnostic::{Applicability, Finding, Fix, Severity};
use crate::model::{Model, NameSource, Setting, SslDirective};

use super::support::{group_named, real_host_changes, relate};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "sni-upstream-name",
    summary: "the SNI or verify name is an upstream{} group name, not a real host",
    severity: Severity::High,
    doc: Doc {
        what: "\
Flags a hop to an `upstream {}` pool whose SNI and verification name is the group's own name: \
no `*_ssl_name` is set (so nginx falls back to the group name), or `*_ssl_name $proxy_host`, \
which holds the group name for such targets. It is reported whether or not the name is sent \
today: as soon as `*_ssl_server_name` or `*_ssl_verify` is switched on, this is the name used. \
A group named like a fully qualified host (`api.example.com`) is reported as `low`, since it may \
be the name on the certificate.",
        why: "\
For `proxy_pass https://backend_pool` nginx takes the name for TLS from the pass target, and the \
target is the label of the `upstream {}` block, not any server in it. With \
`*_ssl_server_name on`, nginx sends `backend_pool` verbatim in the ClientHello; the backends have no \
certificate or virtual host for it, so they answer with a default certificate or reject the \
handshake (`unrecognized_name`). With `*_ssl_verify on`, every handshake fails with \
`upstream SSL certificate does not match \"backend_pool\"`, because no certificate carries that \
name. The usual next step, switching verification off to make the error go away, leaves a hop \
that accepts any certificate (see `verify-off`).\n\n\
The `Host` header has the same default (`$proxy_host`, the group name), so a pool without \
`*_ssl_name` usually has a wrong `Host` too; see `host-sni-mismatch`.",
        example: "\
upstream backend_pool {
    server backend-1.internal.example.com:443;
    server backend-2.internal.example.com:443;
}

location /v2/ {
    proxy_pass https://backend_pool;
    proxy_ssl_server_name on;           # sends \"backend_pool\"
}
",
        use_instead: "\
location /v2/ {
    proxy_pass https://backend_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name api.internal.example.com;   # on every backend's certificate
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate /etc/nginx/certs/internal-ca.pem;
    proxy_set_header Host api.internal.example.com;
}
",
        fix_safety: "\
Needs review. The fix sets `*_ssl_name` for the hop (and `*_ssl_server_name on` when it is off). \
The name is asked for as `sni-name`; the proposal is the first DNS name among the pool's servers, \
which is right only when that name is on every server's certificate. Prefer a shared service name \
if the backends have one.",
        severity_text: "\
`high` when verification is on: the certificate is checked against a group label no certificate \
carries, and every handshake fails (when the group's servers have host names, \
`verify-name-mismatch` reports it instead, once). `medium` when the label is only sent as SNI: an \
upstream that serves several names answers with its default site or refuses. `info` when neither \
happens yet (SNI and verification are off: nothing on the wire uses the label, but switching \
either on without a name would; `sni-off` and `verify-off` carry the action), and for a group \
named like a host (`api.example.com`), which is right if the servers' certificates carry that \
name.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        if hop.target.unix {
            continue;
        }
        let Some(up) = group_named(model, hop) else {
            continue;
        };
        let verify = hop.setting(SslDirective::Verify);
        // Checked against a group of differently named servers: every
        // handshake fails, which `verify-name-mismatch` reports.
        let hosts = super::support::dns_hosts(up);
        if verify.is_some_and(Setting::is_on)
            && !hosts.is_empty()
            && !hosts.iter().any(|h| h.eq_ignore_ascii_case(&up.name))
        {
            continue;
        }
        let sent = hop.sni.sent;
        let verified = verify.is_some_and(Setting::is_on);
        let fqdn = up.name.contains('.') && super::support::is_dns_name(&up.name);
        let what = match (sent, verified) {
            (true, true) => "nginx sends it as SNI and checks the certificate against it",
            (true, false) => "nginx sends it as SNI",
            (false, true) => "nginx checks the certificate against it",
            (false, false) => "nginx would send and check it once SNI or verification is on",
        };
        let tail = if fqdn {
            "; right only if every server's certificate carries that name"
        } else {
            ", and no real certificate or virtual host carries a group label"
        };
        let source = match &hop.name_source {
            NameSource::Explicit(file_line) => format!(
                "{} {} at {file_line}",
                hop.module.directive(SslDirective::Name),
                hop.setting(SslDirective::Name)
                    .and_then(|s| s.value.as_deref())
                    .unwrap_or("")
            ),
            _ => format!("no {} is set", hop.module.directive(SslDirective::Name)),
        };
        let msg = format!(
            "the TLS name for {} is its upstream group name \"{}\" ({source}): {what}{tail}",
            super::support::peer(hop),
            up.name,
        );
        // A label checked against the certificate fails every handshake;
        // sent as SNI it may pick the wrong site; unused yet, it waits.
        let severity = match (fqdn, sent, verified) {
            (false, _, true) => Severity::High,
            (false, true, false) => Severity::Medium,
            _ => Severity::Info,
        };
        let changes = real_host_changes(model, hop);
        let fix = Fix::new(
            format!(
                "name a real host in {} instead of the group name",
                hop.module.directive(SslDirective::Name)
            ),
            Applicability::NeedsReview,
            changes,
        );
        let mut f = Finding::for_hop(RULE.id, severity, model, hop_index, msg)
            .with_fix(Some(fix))
            .with_related(up.dir, format!("upstream {} defined here", up.name));
        if let Some(name) = hop.setting(SslDirective::Name) {
            f = relate(f, name, &format!("{} set here", name.name));
        }
        out.push(f);
    }
}
