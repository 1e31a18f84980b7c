//! Helpers shared by the rule files: how a setting reads in a message,
//! where a value is defined, the places where nginx builds an upstream TLS
//! context, names and upstream servers.

use std::borrow::Cow;

use crate::diagnostic::{Change, Finding, FixValue, Severity};
use crate::model::{
    sni, CtxId, DirRef, Hop, Kind, Model, Module, NameSource, Origin, Setting, SslDirective,
    Upstream,
};

use super::Rule;

pub use super::reach::{hop_reach, host_reach, Reach, Reaches};

/// The directive that defines an explicit setting.
pub fn defined_at(s: &Setting) -> Option<DirRef> {
    match &s.origin {
        Origin::Explicit(p) => Some(p.dir),
        Origin::Default => None,
    }
}

/// Adds the defining directive of a setting as a related position (when
/// the value is explicit).
pub fn relate(f: Finding, s: &Setting, label: &str) -> Finding {
    match defined_at(s) {
        Some(d) => f.with_related(d, label),
        None => f,
    }
}

/// The effective setting of a directive in a list of settings.
pub fn get(settings: &[Setting], d: SslDirective) -> Option<&Setting> {
    settings.iter().find(|s| s.spec.directive == d)
}

/// True when the setting's value is `on`.
pub fn on(settings: &[Setting], d: SslDirective) -> bool {
    get(settings, d).is_some_and(Setting::is_on)
}

/// What a hop talks to, as people name it: the `upstream {}` group, or the
/// host (and non-default port) of the pass directive (of the URL it builds,
/// for a pass with variables). Not `$proxy_host` itself: a `set
/// $proxy_host` changes the variable, not the peer.
pub fn peer(hop: &Hop) -> Cow<'_, str> {
    if hop.target.dynamic || hop.module.is_stream() {
        return Cow::Borrowed(&hop.proxy_host);
    }
    let default_port = if hop.module == Module::Uwsgi {
        ""
    } else {
        "443"
    };
    Cow::Owned(hop.target.proxy_host(default_port))
}

/// The `upstream {}` block a hop targets.
pub fn upstream<'a>(model: &'a Model, hop: &Hop) -> Option<&'a Upstream> {
    hop.upstream.and_then(|u| model.upstreams.get(u))
}

/// The SNI/verify name when it is known statically (port removed).
pub fn static_name(hop: &Hop) -> Option<&str> {
    if hop.sni.dynamic {
        None
    } else {
        hop.verify_name.as_deref()
    }
}

/// The pool whose group name is the hop's SNI/verify name (no
/// `*_ssl_name`, or one that evaluates to the group name).
pub fn group_named<'a>(model: &'a Model, hop: &Hop) -> Option<&'a Upstream> {
    let u = upstream(model, hop)?;
    let name = static_name(hop)?;
    name.eq_ignore_ascii_case(&u.name).then_some(u)
}

/// Where the SNI/verify name comes from, for messages: `proxy_ssl_name at
/// a.conf:3`, `the upstream group name; no grpc_ssl_name is set`.
pub fn name_origin(hop: &Hop) -> String {
    let name = hop.module.directive(SslDirective::Name);
    match &hop.name_source {
        NameSource::Explicit(file_line) => format!("{name} at {file_line}"),
        NameSource::Group => format!("the upstream group name; no {name} is set"),
        NameSource::PassHost => {
            format!("the {} host; no {name} is set", hop.module.pass_directive())
        }
    }
}

/// The name is used: sent as SNI or checked against the certificate.
pub fn name_used(hop: &Hop) -> bool {
    hop.sni.sent
        || hop
            .setting(SslDirective::Verify)
            .is_some_and(Setting::is_on)
}

/// An IPv4 literal as nginx reads one, or an IPv6 literal in brackets.
pub fn is_ip_literal(name: &str) -> bool {
    name.starts_with('[') || sni::ngx_inet_addr(name)
}

/// A host name that could be on a certificate: letters, digits, `-` and
/// `.`, with at least one letter, not an address.
pub fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && !is_ip_literal(name)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && name.bytes().any(|b| b.is_ascii_alphabetic())
        && !name.starts_with(['-', '.'])
}

/// The host of an `upstream {}` server address (`host:port`, `[v6]:port`);
/// None for `unix:` sockets.
pub fn server_host(addr: &str) -> Option<&str> {
    if addr.starts_with("unix:") {
        return None;
    }
    let host = sni::strip_port(addr);
    (!host.is_empty()).then_some(host)
}

/// The distinct DNS host names of a pool's servers, lower-cased, in order.
pub fn dns_hosts(up: &Upstream) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &up.servers {
        if let Some(h) = server_host(s).filter(|h| is_dns_name(h)) {
            let h = h.to_ascii_lowercase();
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// The value asked for when a hop needs a real host name. The pool's host
/// name is proposed only when every server shares it: a pool of several
/// host names needs a person to say which name their certificates carry
/// (proposing one of them would just trade this finding for
/// `pool-name-mismatch`).
pub fn sni_name_input(model: &Model, hop: &Hop) -> FixValue {
    let proposal = upstream(model, hop)
        .map(dns_hosts)
        .filter(|hosts| hosts.len() == 1)
        .and_then(|hosts| hosts.into_iter().next());
    FixValue::Input {
        key: "sni-name",
        prompt: format!(
            "Host name on the certificate of {} (sent as SNI and checked by {})",
            peer(hop),
            hop.module.directive(SslDirective::Verify)
        ),
        proposal,
    }
}

/// The CA bundle asked for when verification is turned on.
pub fn ca_file_input(hop_or_place: &str, module: Module) -> FixValue {
    FixValue::Input {
        key: "ca-file",
        prompt: format!(
            "CA bundle (PEM) that signed the certificate of {hop_or_place}, for {}",
            module.directive(SslDirective::TrustedCertificate)
        ),
        proposal: Some("/etc/ssl/certs/ca-certificates.crt".into()),
    }
}

/// A place where nginx builds an upstream TLS context and checks its
/// settings at `nginx -t`: every hop; an http pass directive with
/// variables (nginx prepares TLS for any pass with variables); a stream
/// server with `proxy_ssl on` but no `proxy_pass`.
pub struct TlsUse<'a> {
    /// The pass directive (or the stream `server` block).
    pub dir: DirRef,
    pub module: Module,
    /// Index into `Model::hops`.
    pub hop: Option<usize>,
    /// The hop's own settings (borrowed), or those computed for the place.
    pub settings: Cow<'a, [Setting]>,
    /// How messages name a place that is not a hop: `proxy_pass
    /// http://$u` (a hop is named by [`peer`], when a message needs it).
    place: Cow<'a, str>,
    peer_of: Option<&'a Hop>,
}

impl TlsUse<'_> {
    /// How messages name the place: `backend_pool` or `proxy_pass http://$u`.
    pub fn label(&self) -> Cow<'_, str> {
        match self.peer_of {
            Some(h) => peer(h),
            None => Cow::Borrowed(&self.place),
        }
    }

    /// A finding at this place.
    pub fn finding(&self, rule: &Rule, severity: Severity, model: &Model, msg: String) -> Finding {
        match self.hop.filter(|&i| i < model.hops.len()) {
            Some(i) => Finding::for_hop(rule.id, severity, model, i, msg),
            None => Finding::at_directive(rule.id, severity, self.dir, msg),
        }
    }
}

/// Every place where nginx sets up TLS to an upstream.
pub fn tls_uses(model: &Model) -> Vec<TlsUse<'_>> {
    let mut out: Vec<TlsUse> = model
        .hops
        .iter()
        .enumerate()
        .map(|(i, h)| TlsUse {
            dir: h.pass,
            module: h.module,
            hop: Some(i),
            settings: Cow::Borrowed(&h.settings),
            place: Cow::Borrowed(""),
            peer_of: Some(h),
        })
        .collect();
    for p in &model.plain {
        if p.module.is_stream() {
            continue;
        }
        let d = model.dir(p.pass);
        let Some(arg) = d.arg(0) else { continue };
        if arg.contains('$') {
            out.push(TlsUse {
                dir: p.pass,
                module: p.module,
                hop: None,
                settings: Cow::Owned(settings_at(model, p.ctx, p.module)),
                place: Cow::Owned(format!("{} {}", d.name(), arg)),
                peer_of: None,
            });
        }
    }
    for (i, c) in model.tree.ctxs().enumerate() {
        let ctx = i as CtxId;
        if c.kind != Kind::StreamServer {
            continue;
        }
        let Some(opener) = c.opener else { continue };
        if c.directives()
            .iter()
            .any(|&r| model.dir(r).name() == "proxy_pass")
        {
            continue;
        }
        let ssl_on = model
            .effective_ssl(ctx, Module::Stream, SslDirective::Ssl)
            .and_then(|(_, l)| l.first().copied())
            .is_some_and(|l| model.dir(l).arg(0) == Some("on"));
        if ssl_on {
            out.push(TlsUse {
                dir: opener,
                module: Module::Stream,
                hop: None,
                settings: Cow::Owned(settings_at(model, ctx, Module::Stream)),
                place: Cow::Owned(format!("the stream server at {}", model.file_line(opener))),
                peer_of: None,
            });
        }
    }
    out
}

/// The effective settings of a module at any block (as the model computes
/// them for hops).
pub fn settings_at(model: &Model, ctx: CtxId, module: Module) -> Vec<Setting> {
    model.settings_at(ctx, module)
}

/// Whether nginx treats a `*_ssl_certificate` value as a certificate to
/// load. An empty value means "no client certificate" except in 1.21.0 to
/// 1.22.x, where it is read as a file name (nginx commit f08dbefad, in
/// 1.23.0, restored the old meaning).
pub fn certificate_set(value: Option<&str>, version: crate::model::Version) -> bool {
    use crate::model::Version;
    match value {
        None => false,
        Some("") => version >= Version(1, 21, 0) && version < Version(1, 23, 0),
        Some(_) => true,
    }
}

/// The changes that make a hop send (and check) a real host name: the name
/// a person gives (or the pool's single host name), and SNI turned on when
/// it is off.
pub fn real_host_changes(model: &Model, hop: &Hop) -> Vec<Change> {
    let mut changes = vec![crate::diagnostic::set(
        hop.module,
        SslDirective::Name,
        sni_name_input(model, hop),
    )];
    if !hop
        .setting(SslDirective::ServerName)
        .is_some_and(Setting::is_on)
    {
        changes.push(crate::diagnostic::set(
            hop.module,
            SslDirective::ServerName,
            FixValue::literal("on"),
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hosts() {
        assert!(is_dns_name("backend-1.internal.example.com"));
        assert!(is_dns_name("localhost"));
        assert!(!is_dns_name("backend_pool"));
        assert!(!is_dns_name("10.0.0.1"));
        assert!(!is_dns_name("[::1]"));
        assert!(!is_dns_name(""));
        assert_eq!(server_host("a.example:443"), Some("a.example"));
        assert_eq!(server_host("[::1]:443"), Some("[::1]"));
        assert_eq!(server_host("unix:/run/x.sock"), None);
        assert!(is_ip_literal("10.0.4.22"));
        assert!(is_ip_literal("[2001:db8::1]"));
        assert!(!is_ip_literal("255.255.255.255"));
    }
}
