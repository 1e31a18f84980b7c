//! How model facts read for people: the short labels the text report, the
//! TUI and the command line show for a hop and its settings. The model
//! holds the facts; the wording is here.

use crate::model::{Hop, Model, Module, Setting};

/// Where the hop lives, for people: the server's first name (or, for a
/// server without one, such as every stream server, its first `listen`
/// address), then the enclosing locations joined by `sep`.
pub fn place(hop: &Hop, sep: &str) -> String {
    let server = match hop.server_names.first() {
        Some(name) => name.clone(),
        None => hop
            .listen
            .first()
            .and_then(|l| l.split_whitespace().next())
            .map_or(String::new(), |addr| format!("listen {addr}")),
    };
    let locations = hop.locations.join(sep);
    match (server.is_empty(), locations.is_empty()) {
        (_, true) => server,
        (true, false) => locations,
        (false, false) => format!("{server} {locations}"),
    }
}

/// The SNI nginx sends, for people: the name (marked when it is worked out
/// per request), or `none`.
pub fn sni(hop: &Hop) -> String {
    match (&hop.sni.name, hop.sni.sent) {
        (Some(n), true) if hop.sni.dynamic => format!("{n} (per request)"),
        (Some(n), true) => n.clone(),
        _ => "none".into(),
    }
}

/// A setting's value for people: the value, else how nginx's default reads
/// (`(host from proxy_pass)`), else `-` (no value, no default).
pub fn value(setting: &Setting, module: Module) -> String {
    match (&setting.value, setting.spec.default_description(module)) {
        (Some(v), _) => v.to_string(),
        (None, Some(d)) => format!("({d})"),
        (None, None) => "-".into(),
    }
}

/// `n` things, singular or plural: `1 hop`, `2 hops`, `1 load error`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Why the certificate, key, CA or CRL files a hop names were not looked
/// up on this machine (a copy of the tree, `nginx -T` output), when so.
pub fn files_not_checked(model: &Model, hop: &Hop) -> Option<String> {
    crate::rules::files_not_checked(model, hop)
}
