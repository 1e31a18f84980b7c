//! One upstream TLS hop: its pass directive and target, where it lives, the
//! SNI nginx sends, and the effective `*_ssl_*` settings on it.
//!
//! How a hop is built is in `hops`, how its settings are merged in
//! `inherit`, and how they read in the views in `report::labels`.
//! `Setting::origin_note` stays here: rule messages and the SNI
//! explanation, which the report does not build, write it.

use std::borrow::Cow;
use std::sync::Arc;

use super::directives::{Spec, SslDirective};
use super::inherit::Origin;
use super::sni::{NameSource, Sni};
use super::target::Target;
use super::tree::{CtxId, DirRef};
use super::variants::{TlsWhen, Variant};
use super::Module;

/// The effective value of one directive for one hop.
#[derive(Clone, Debug)]
pub struct Setting {
    pub name: &'static str,
    pub spec: &'static Spec,
    /// Parameters joined by single spaces (repeated lines joined by `; `);
    /// None where nginx has no default value.
    pub value: Option<Cow<'static, str>>,
    pub origin: Origin,
    /// Set explicitly in an outer block rather than in the hop's own block.
    pub inherited: bool,
    /// Every directive line that contributes (several for repeatable ones).
    pub lines: Box<[DirRef]>,
}

impl Setting {
    pub fn is_on(&self) -> bool {
        self.value.as_deref() == Some("on")
    }
    pub fn is_default(&self) -> bool {
        self.origin == Origin::Default
    }
    /// A short note of the origin: `default` or `file:line`.
    pub fn origin_note(&self) -> String {
        match &self.origin {
            Origin::Default => "default".into(),
            Origin::Explicit(p) => p.file_line(),
        }
    }
}

/// An effective header sent upstream (`proxy_set_header`), with its origin.
#[derive(Clone, Debug)]
pub struct Header {
    pub value: String,
    pub origin: Origin,
}

/// One upstream TLS hop.
#[derive(Clone, Debug)]
pub struct Hop {
    /// `file:line` of the pass directive; when the directive is reached
    /// through several include paths, each path's hop adds the includes
    /// that tell it apart (`file:line@INC…`, see `model::ident`).
    pub id: String,
    pub pass: DirRef,
    /// The include directives from the main file to the pass directive,
    /// outermost first (empty when no include is on the way).
    pub via: Vec<DirRef>,
    /// The block holding the pass directive.
    pub ctx: CtxId,
    /// The nearest block that can hold `*_ssl_*` settings (the hop's own).
    pub own: CtxId,
    pub module: Module,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub target: Target,
    pub server: Option<CtxId>,
    /// The server's names and `listen` lines (shared by its hops).
    pub server_names: Arc<[String]>,
    pub listen: Arc<[String]>,
    pub locations: Vec<String>,
    pub upstream: Option<usize>,
    pub proxy_host: String,
    pub sni: Sni,
    /// The name the certificate is checked against (the SNI name, or the
    /// name that would be sent), port removed.
    pub verify_name: Option<String>,
    /// Where the SNI/verify name comes from.
    pub name_source: NameSource,
    /// Shared by the hops whose settings come from the same blocks.
    pub settings: Arc<[Setting]>,
    /// The effective `Host` header (proxy hops only).
    pub host_header: Option<Header>,
    /// Whether, and when, the pass opens TLS (its scheme may come from
    /// variables).
    pub tls: TlsWhen,
    /// For a target built from variables whose values the configuration
    /// gives: one entry per value that opens TLS. Empty otherwise.
    pub variants: Vec<Variant>,
}

impl Hop {
    /// The nginx subsystem the hop runs in, `http` or `stream` (the JSON
    /// `context` field). "Context" in the model means a block of the
    /// context tree ([`CtxId`]).
    pub fn subsystem(&self) -> &'static str {
        if self.module.is_stream() {
            "stream"
        } else {
            "http"
        }
    }
    /// The port of the server's first `listen` (`443`, `127.0.0.1:8443`,
    /// `[::1]:443`, a bare address listens on 80); None for a unix socket
    /// or a server without `listen`.
    pub fn listen_port(&self) -> Option<u32> {
        let addr = self.listen.first()?.split_whitespace().next()?;
        if addr.starts_with("unix:") {
            return None;
        }
        let port = match addr.rfind(':') {
            Some(i) if !addr[i..].contains(']') => &addr[i + 1..],
            _ if addr.bytes().all(|b| b.is_ascii_digit()) => addr,
            _ => "80",
        };
        port.parse().ok()
    }
    /// The effective setting of a directive (`ServerName`, `Verify`, …).
    pub fn setting(&self, d: SslDirective) -> Option<&Setting> {
        self.settings.iter().find(|s| s.spec.directive == d)
    }
}
