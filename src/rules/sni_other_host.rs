//! `sni-other-host`: a literal `*_ssl_name` written for one upstream
//! reaches a hop to a different host.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Hop, Model, Origin, Setting, SslDirective};

use super::support::{dns_hosts, is_dns_name, is_ip_literal, relate, upstream};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "sni-other-host",
    summary: "a literal *_ssl_name written for one upstream reaches a hop to a different host",
    severity: Severity::High,
    doc: Doc {
        what: "\
Flags a hop whose target is a host name while the `*_ssl_name` it inherits is a literal written \
for another upstream: set in an enclosing block (the server, the location around an `if`) or in \
a snippet that another location includes too, and right for a hop there (its target is that \
name, an address the name stands for, or a group with a server of that name). The hop sends the \
other host's name as SNI and checks its certificate against it. Not flagged: the hop the name \
was written for, a target that is an address (naming the host there is the fix for \
`sni-ip-literal`), an `upstream {}` group (its servers often share one certificate name; see \
`pool-name-mismatch`), a target under the name's domain (`bucket.s3.amazonaws.com` with the name \
`s3.amazonaws.com`), and names built from variables such as `$proxy_host`.",
        why: "\
`*_ssl_name` is inherited like every `*_ssl_*` directive, and a hop inside `if` cannot have its \
own: it always takes its location's. A name written next to one `proxy_pass` silently applies \
to every other pass below it. nginx then asks the other host for a site it does not serve: an \
upstream that picks its certificate by SNI answers with its default one or refuses the \
handshake (`unrecognized_name`), and with `*_ssl_verify on` nginx checks that certificate \
against the first host's name and fails with `upstream SSL certificate does not match`. The \
client gets a 502, only for the requests that take that path (a POST, one location).",
        example: "\
server {
    listen 8443 ssl;
    server_name app.example.com;
    proxy_ssl_server_name on;
    proxy_ssl_name api.internal.example.com;     # written for /api/

    location /api/ {
        proxy_pass https://10.0.8.10;
    }
    location /reports/ {
        proxy_pass https://reports.internal.example.com;   # gets api.internal.example.com
    }
}
",
        use_instead: "\
server {
    listen 8443 ssl;
    server_name app.example.com;
    proxy_ssl_server_name on;

    location /api/ {
        proxy_pass https://10.0.8.10;
        proxy_ssl_name api.internal.example.com;
    }
    location /reports/ {
        proxy_pass https://reports.internal.example.com;
    }
}
",
        fix_safety: "\
Needs review: the fix sets `*_ssl_name` to the hop's own target host in the hop's block, so SNI \
and verification use the host nginx connects to. A hop inside `if` reads its location's \
settings and cannot have its own: when the name is written in that very location, there is no \
automatic fix; move the other pass (or the name) to a location of its own.",
        severity_text: "\
`high` when verification is on: the certificate of the target is checked against the other host's \
name, and the handshake fails unless that certificate also carries it. `medium` with verification \
off: the wrong name still reaches the upstream as SNI, which may answer from the other host's \
site or refuse. `low` while neither SNI nor verification is on: nothing uses the name yet, but \
switching either on (the fix of `sni-off` or `sni-name-ignored`) would.",
    },
    check,
};

/// Whether `name` is right for a hop: its target host, an address the
/// name stands for, or a group with a server of that name.
fn name_fits(model: &Model, hop: &Hop, name: &str) -> bool {
    if hop.target.unix || hop.target.dynamic {
        return false;
    }
    match upstream(model, hop) {
        Some(up) => dns_hosts(up).iter().any(|h| h.eq_ignore_ascii_case(name)),
        None => is_ip_literal(&hop.target.host) || hop.target.host.eq_ignore_ascii_case(name),
    }
}

/// The hop a literal `*_ssl_name` of hop `hop_index` was written for,
/// when it reaches this hop to a different host: the name and the owner.
pub(super) fn written_for_other(model: &Model, hop_index: usize) -> Option<(&str, &Hop)> {
    let hop = &model.hops[hop_index];
    if hop.target.unix || hop.target.dynamic || hop.upstream.is_some() {
        return None;
    }
    let target = hop.target.host.as_str();
    if !is_dns_name(target) {
        return None;
    }
    let setting = hop.setting(SslDirective::Name)?;
    let Origin::Explicit(place) = &setting.origin else {
        return None;
    };
    let name = setting.value.as_deref().filter(|n| is_dns_name(n))?;
    let (name_l, target_l) = (name.to_ascii_lowercase(), target.to_ascii_lowercase());
    if name_l == target_l || target_l.ends_with(&format!(".{name_l}")) {
        return None;
    }
    // Written in an enclosing block, or in a snippet that another block
    // includes too; a name in the hop's own block (its own include
    // included) is the hop's.
    let outer = place.ctx != hop.ctx;
    model
        .hops
        .iter()
        .enumerate()
        .find(|(i, h)| {
            *i != hop_index
                && h.setting(SslDirective::Name).is_some_and(|s| {
                    matches!(&s.origin, Origin::Explicit(p)
                        if p.dir == place.dir && (outer || p.ctx != place.ctx))
                })
                && name_fits(model, h, name)
        })
        .map(|(_, owner)| (name, owner))
}

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let Some((name, owner)) = written_for_other(model, hop_index) else {
            continue;
        };
        let Some(setting) = hop.setting(SslDirective::Name) else {
            continue;
        };
        let Origin::Explicit(place) = &setting.origin else {
            continue;
        };
        let target = hop.target.host.as_str();
        let verified = hop
            .setting(SslDirective::Verify)
            .is_some_and(Setting::is_on);
        let (severity, effect) = if verified {
            (
                Severity::High,
                if hop.sni.sent {
                    "nginx sends it as SNI and checks the certificate against it, so the handshake fails unless that certificate also carries it"
                } else {
                    "nginx checks the certificate against it, so the handshake fails unless that certificate also carries it"
                },
            )
        } else if hop.sni.sent {
            (
                Severity::Medium,
                "nginx sends it as SNI, so the upstream may answer from another site or refuse",
            )
        } else {
            (
                Severity::Low,
                "nothing uses it yet, but turning SNI or verification on sends or checks the other host's name",
            )
        };
        let msg = format!(
            "{} {name} ({}) was written for {} ({}) but reaches this hop to {target}: {effect}",
            setting.name,
            place.file_line(),
            owner.proxy_host,
            owner.id,
        );
        // A hop inside `if` reads its location's settings: a name set
        // there would change the hop the name was written for as well.
        let fix = (hop.own != place.ctx).then(|| {
            Fix::new(
                format!(
                    "check and send the hop's own host: {} {target}",
                    setting.name
                ),
                Applicability::NeedsReview,
                vec![diagnostic::set(
                    hop.module,
                    SslDirective::Name,
                    FixValue::literal(target),
                )],
            )
        });
        let f = Finding::for_hop(RULE.id, severity, model, hop_index, msg).with_fix(fix);
        out.push(relate(f, setting, &format!("{} set here", setting.name)));
    }
}
