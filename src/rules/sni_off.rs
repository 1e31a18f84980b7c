//! `sni-off`: a TLS hop that sends no SNI because `*_ssl_server_name` is off.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, Setting, SslDirective};

use super::support::{
    group_named, hop_reach, host_reach, is_dns_name, is_ip_literal, peer, relate, sni_name_input,
    static_name, Reach,
};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "sni-off",
    summary: "TLS hop whose *_ssl_server_name is off: nginx sends no SNI",
    severity: Severity::High,
    doc: Doc {
        what: "\
Flags a hop that opens TLS to an upstream (`proxy_pass https://`, `grpc_pass grpcs://`, \
`uwsgi_pass suwsgi://`, or a stream `proxy_pass` with `proxy_ssl on`) while the effective \
`*_ssl_server_name` is `off`, which is nginx's default. Hops whose name is an IP address are left \
to `sni-ip-literal`: switching SNI on would still send nothing there. Also flags a hop whose \
effective `*_ssl_name` is the empty string (`proxy_ssl_name \"\";`): with SNI on, nginx sends \
none, and checks the certificate against the empty name.",
        why: "\
With `*_ssl_server_name off` nginx writes a ClientHello without the server_name extension: the \
upstream learns the IP address and port it was reached on, and nothing else. Anything that serves \
more than one name on that address (another nginx with several `server` blocks, a CDN edge, a \
Kubernetes ingress, an SNI-routing load balancer) has to guess. Depending on its setup it answers \
with its default certificate, hands the connection to the wrong backend, or aborts the handshake \
with an `unrecognized_name` (112) or `handshake_failure` (40) alert. nginx then logs \
`SSL_do_handshake() failed ... while SSL handshaking to upstream` and the client gets a 502. In an \
`upstream {}` pool every server fails the same way and is marked unavailable in turn, so the whole \
group goes down at once.\n\n\
The switch belongs to each module: `proxy_ssl_server_name on` does nothing for `grpc_pass` or \
`uwsgi_pass`, which read `grpc_ssl_server_name` and `uwsgi_ssl_server_name`. Like every `*_ssl_*` \
directive it is inherited from http to server to location, so a hop only sends SNI when some \
enclosing level turns it on.",
        example: "\
upstream backend_pool {
    server backend-1.internal.example.com:443;
    server backend-2.internal.example.com:443;
}

location /v2/ {
    proxy_pass https://backend_pool;    # ClientHello without server_name
}
",
        use_instead: "\
location /v2/ {
    proxy_pass https://backend_pool;
    proxy_ssl_server_name on;
    # the name on the backends' certificate, not the group name
    proxy_ssl_name api.internal.example.com;
}
",
        fix_safety: "\
The fix sets `*_ssl_server_name on` for the hop. When the name nginx would then send is a real \
host (from `*_ssl_name` or from the pass target), that is the whole change and it is marked safe: \
the upstream is told the name it is already expected to serve. When the name would be an \
`upstream {}` group name, the fix also sets `*_ssl_name`, proposing the first DNS name among the \
pool's servers (give another with `--set HOP:sni-name=HOST`); that needs review, because only the name \
on the backends' certificate is right. A name built from variables also needs review (see \
`sni-dynamic`). Unix-socket targets are not reported.",
        severity_text: "\
`high` when the name nginx would send is a public DNS name: hosts reached over the internet are \
often shared (CDNs, hosting platforms, SNI-routing balancers), refuse or misroute a ClientHello \
without SNI, and the hop breaks as configured. `medium` for names in an internal zone \
(`.internal`, `.corp`, `.intranet`, or such a label in the name), group names and names built \
from variables: internal load balancers and ingresses pick the site by name, and whether this \
upstream serves more than one is not in the configuration. `info` for a hop that stays on this \
machine (`localhost`, 127.0.0.0/8, `[::1]`, `unix:`, an address this configuration listens on) \
or goes to one private endpoint (a private address, a container or service name such as \
`nextcloud`, a Kubernetes `.svc` name, a `.local` or `.lan` name, an ingress controller's pods): \
such a peer serves one site and answers without SNI. An empty \
`*_ssl_name` is `high` with verification on (nginx fails every handshake with `upstream SSL \
certificate does not match \"\"`), else as for SNI off.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let Some(sn) = hop.setting(SslDirective::ServerName) else {
            continue;
        };
        if sn.is_on() {
            if let Some(f) = empty_name(model, hop_index) {
                out.push(f);
            }
            continue;
        }
        if hop.target.unix || static_name(hop).is_some_and(is_ip_literal) {
            continue;
        }
        let msg = format!(
            "{} is off ({}): nginx sends no SNI to {}",
            sn.name,
            sn.origin_note(),
            peer(hop)
        );
        let mut changes = vec![diagnostic::set(
            hop.module,
            SslDirective::ServerName,
            FixValue::literal("on"),
        )];
        let group = group_named(model, hop).is_some();
        let applicability = if group {
            changes.push(diagnostic::set(
                hop.module,
                SslDirective::Name,
                sni_name_input(model, hop),
            ));
            Applicability::NeedsReview
        } else if hop.sni.dynamic
            || super::sni_other_host::written_for_other(model, hop_index).is_some()
        {
            // The name that would be sent is another host's (see
            // sni-other-host): turning SNI on sends it.
            Applicability::NeedsReview
        } else {
            Applicability::Safe
        };
        let summary = if group {
            format!(
                "turn {} on and name a real host in {}",
                sn.name,
                hop.module.directive(SslDirective::Name)
            )
        } else {
            format!("turn {} on", sn.name)
        };
        let severity = severity(model, hop);
        let f = Finding::for_hop(RULE.id, severity, model, hop_index, msg)
            .with_fix(Some(Fix::new(summary, applicability, changes)));
        out.push(relate(f, sn, &off_label(sn)));
    }
}

fn off_label(s: &Setting) -> String {
    format!("{} off", s.name)
}

/// `high` for a public name (shared hosts on the internet need SNI),
/// `info` for a hop on this machine, `medium` otherwise (see the rule's
/// severity text).
fn severity(model: &Model, hop: &crate::model::Hop) -> Severity {
    severity_for(model, hop, static_name(hop))
}

/// The severity of sending no SNI where `name` would be the name.
fn severity_for(model: &Model, hop: &crate::model::Hop, name: Option<&str>) -> Severity {
    // On this machine, or one endpoint of a private network (a container,
    // a pod, an address): the peer serves one site and answers without SNI.
    if matches!(hop_reach(model, hop), Reach::Loopback | Reach::Private) {
        return Severity::Info;
    }
    match name.filter(|_| !hop.target.dynamic) {
        Some(name) if is_dns_name(name) && host_reach(name) == Reach::Public => Severity::High,
        _ => Severity::Medium,
    }
}

/// `*_ssl_name ""` with SNI on: nginx sends no SNI, and with verification
/// on it checks the certificate against the empty name, which no
/// certificate matches (`upstream SSL certificate does not match ""`).
fn empty_name(model: &Model, hop_index: usize) -> Option<Finding> {
    let hop = &model.hops[hop_index];
    let name = hop.setting(SslDirective::Name)?;
    if name.is_default() || name.value.as_deref() != Some("") || hop.target.unix {
        return None;
    }
    let verified = hop
        .setting(SslDirective::Verify)
        .is_some_and(Setting::is_on);
    let (severity, tail) = if verified {
        (
            Severity::High,
            format!(
                ", and {} checks the certificate against the empty name, so every handshake fails ('upstream SSL certificate does not match \"\"')",
                hop.module.directive(SslDirective::Verify)
            ),
        )
    } else {
        (
            severity_for(model, hop, Some(&hop.target.host)),
            String::new(),
        )
    };
    let msg = format!(
        "{} is empty ({}): nginx sends no SNI to {}{tail}",
        name.name,
        name.origin_note(),
        peer(hop)
    );
    let fix = Fix::new(
        format!(
            "name the upstream in {}: $proxy_host, nginx's default (the pass target's host)",
            name.name
        ),
        Applicability::NeedsReview,
        vec![diagnostic::set(
            hop.module,
            SslDirective::Name,
            FixValue::literal("$proxy_host"),
        )],
    );
    let f = Finding::for_hop(RULE.id, severity, model, hop_index, msg).with_fix(Some(fix));
    Some(relate(f, name, &format!("{} \"\" set here", name.name)))
}
