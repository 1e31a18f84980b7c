//! `sni-name-ignored`: `*_ssl_name` is set, but `*_ssl_server_name` is off,
//! so the name never reaches the ClientHello.

use crate::diagnostic::{self, Applicability, Finding, Fix, FixValue, Severity};
use crate::model::{Model, Setting, SslDirective};

use super::support::{peer, relate};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "sni-name-ignored",
    summary: "*_ssl_name is set but *_ssl_server_name is off: the name is never sent",
    severity: Severity::Medium,
    doc: Doc {
        what: "\
Flags a hop with an explicit `*_ssl_name` (in its location or inherited from an enclosing level) \
whose effective `*_ssl_server_name` is `off`. A name written as nginx's default, \
`*_ssl_name $proxy_host;` (as hosting panels generate it), adds nothing to `sni-off`'s finding \
and is not reported again.",
        why: "\
`*_ssl_name` only chooses the name; `*_ssl_server_name on` is what puts it into the server_name \
extension of the ClientHello. With the switch off, nginx still sends a ClientHello without any \
name, exactly as if `*_ssl_name` were not there, and the upstream answers with whatever it serves \
to nameless clients: its default certificate, a wrong virtual host, or a `handshake_failure` / \
`unrecognized_name` alert that nginx turns into a 502.\n\n\
The name is not entirely dead: with `*_ssl_verify on` nginx checks the upstream's certificate \
against it. That is why this half-fix often survives review: verification passes when the upstream \
happens to present the right certificate by default, and fails the day its default changes. With \
verification off as well, the line does nothing at all.",
        example: "\
location /v1/ {
    proxy_pass https://backend_pool;
    proxy_ssl_name api.example.com;      # never sent: proxy_ssl_server_name is off
}
",
        use_instead: "\
location /v1/ {
    proxy_pass https://backend_pool;
    proxy_ssl_name api.example.com;
    proxy_ssl_server_name on;
}
",
        fix_safety: "\
Safe: the fix sets `*_ssl_server_name on` for the hop, so the name someone already chose is sent. \
Nothing else changes; the name checked by `*_ssl_verify` stays the same.",
        severity_text: "\
`medium`: someone chose a name that nginx never sends, so the upstream picks its certificate and \
site without it; whether that breaks depends on the upstream, which the configuration does not \
say.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let (Some(name), Some(sn)) = (
            hop.setting(SslDirective::Name),
            hop.setting(SslDirective::ServerName),
        ) else {
            continue;
        };
        // `*_ssl_name $proxy_host` written out is nginx's default: the
        // hop sends no SNI either way, which `sni-off` reports.
        let written_default = name
            .value
            .as_deref()
            .is_some_and(|v| v == "$proxy_host" || v == "${proxy_host}");
        if name.is_default() || sn.is_on() || written_default {
            continue;
        }
        let value = name.value.as_deref().unwrap_or("");
        let use_note = if hop
            .setting(SslDirective::Verify)
            .is_some_and(Setting::is_on)
        {
            format!(
                "; it is only used to check the certificate of {}",
                peer(hop)
            )
        } else {
            format!(
                "; with {} off it has no effect at all",
                hop.module.directive(SslDirective::Verify)
            )
        };
        let msg = format!(
            "{} {value} ({}) is never sent: {} is off ({}){use_note}",
            name.name,
            name.origin_note(),
            sn.name,
            sn.origin_note(),
        );
        // A name written for another host is not safe to send (see
        // sni-other-host).
        let applicability = if super::sni_other_host::written_for_other(model, hop_index).is_some()
        {
            Applicability::NeedsReview
        } else {
            Applicability::Safe
        };
        let fix = Fix::new(
            format!("turn {} on so {value} is sent", sn.name),
            applicability,
            vec![diagnostic::set(
                hop.module,
                SslDirective::ServerName,
                FixValue::literal("on"),
            )],
        );
        let f =
            Finding::for_hop(RULE.id, Severity::Medium, model, hop_index, msg).with_fix(Some(fix));
        let f = relate(f, name, &format!("{} set here", name.name));
        out.push(relate(f, sn, &format!("{} off", sn.name)));
    }
}
