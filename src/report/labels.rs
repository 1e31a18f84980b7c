//! How model facts read for people: the short labels the text report, the
//! TUI and the command line show for a hop and its settings. The model
//! holds the facts; the wording is here.

use crate::model::{Hop, Model, Module, Provenance, Setting, Sni, TlsWhen, Variant};
use crate::model::{VersionChoice, VersionFrom};
use crate::visible::visible;

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

/// The include chain that reaches a hop, for people, outermost first:
/// `nginx.conf:30 → sites/a.conf:7`; None when no include is on the way.
pub fn via(model: &Model, hop: &Hop) -> Option<String> {
    (!hop.via.is_empty()).then(|| {
        hop.via
            .iter()
            .map(|&d| model.file_line(d))
            .collect::<Vec<_>>()
            .join(" → ")
    })
}

/// Where an explicitly set value of a hop comes from, for people:
/// `file:line (BLOCK)`, with `inherited` when it is set in an outer block,
/// and the include that brought its file in when that is not the hop's own
/// way in (see [`Model::brought_by`]):
/// `snippets/upstream-tls.conf:5 (location /admin/, inherited, via include
/// at conf.d/intranet.conf:18)`. `block` is how the caller names the
/// block: its level (`location`) or [`Model::block_label`].
pub fn origin(model: &Model, hop: &Hop, p: &Provenance, block: &str, inherited: bool) -> String {
    let mut notes = vec![block.to_string()];
    if inherited {
        notes.push("inherited".into());
    }
    if let Some(inc) = model.brought_by(hop, p) {
        notes.push(format!("via include at {}", model.file_line(inc)));
    }
    format!("{} ({})", p.file_line(), notes.join(", "))
}

/// The SNI nginx sends, for people: the name (marked when it is worked out
/// per request), or `none`.
pub fn sni(hop: &Hop) -> String {
    sni_of(&hop.sni)
}

/// [`sni`] of a prediction.
pub fn sni_of(sni: &Sni) -> String {
    match (&sni.name, sni.sent) {
        (Some(n), true) if sni.dynamic => format!("{n} (per request)"),
        (Some(n), true) => n.clone(),
        _ => "none".into(),
    }
}

/// When a hop whose scheme comes from variables opens TLS, for people;
/// None for a literal scheme.
pub fn tls_when(hop: &Hop) -> Option<String> {
    match &hop.tls {
        TlsWhen::Literal => None,
        TlsWhen::Vars {
            text,
            certain: true,
        } => Some(format!("always ({text})")),
        TlsWhen::Vars { text, .. } => Some(format!(
            "only when {text}; other requests do not use TLS here (possible hop)"
        )),
    }
}

/// One value of a pass built from variables, for people: when it is
/// taken, the URL nginx builds, and the names it uses.
pub fn variant(v: &Variant) -> String {
    format!(
        "{}: {} (proxy_host {}), SNI {}, verify name {}",
        v.when,
        v.target.raw,
        v.proxy_host,
        sni_of(&v.sni),
        v.verify_name.as_deref().unwrap_or("-")
    )
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

/// Which nginx version's defaults apply and where that came from, for
/// people, with the note on what was reported (escaped: it comes from a
/// program, a server or a dump): `nginx 1.22.1, from `nginx -v` on this
/// machine`.
pub fn version(choice: &VersionChoice) -> String {
    let v = choice.version;
    let from = match choice.from {
        VersionFrom::Chosen => "from --nginx-version",
        VersionFrom::ProjectFile => "from nginx-version in the project file",
        VersionFrom::ThisMachine => "from `nginx -v` on this machine",
        VersionFrom::Server => "from `nginx -v` on the server",
        VersionFrom::Dump => "from the dump's `nginx version:` line",
        VersionFrom::Default => {
            "hopscope's default: the newest stable release it knows; pass --nginx-version"
        }
    };
    match &choice.note {
        Some(note) => format!("nginx {v}, {from}; {}", visible(note)),
        None => format!("nginx {v}, {from}"),
    }
}

/// The same in a few words, for the terminal UI's header:
/// `nginx 1.22.1 (nginx -v here)`.
pub fn version_short(choice: &VersionChoice) -> String {
    let from = match choice.from {
        VersionFrom::Chosen => "--nginx-version",
        VersionFrom::ProjectFile => "project file",
        VersionFrom::ThisMachine => "nginx -v here",
        VersionFrom::Server => "server's nginx -v",
        VersionFrom::Dump => "dump",
        VersionFrom::Default => "default: pass --nginx-version",
    };
    format!("nginx {} ({from})", choice.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Version;

    #[test]
    fn an_origin_names_the_include_that_brought_its_file_in() {
        let m = crate::test_support::model(&[
            (
                "nginx.conf",
                "http {\n proxy_ssl_protocols TLSv1.2;\n include site.conf;\n}\n",
            ),
            (
                "site.conf",
                "server {\n proxy_ssl_verify_depth 2;\n location /admin/ {\n  include tls.conf;\n  location /admin/reports/ { proxy_pass https://r.example.com; }\n }\n}\n",
            ),
            ("tls.conf", "proxy_ssl_verify on;\n"),
        ]);
        let hop = &m.hops[0];
        let origin_of = |name: &str, block: &dyn Fn(&Provenance) -> String| {
            let s = hop.settings.iter().find(|s| s.name == name).unwrap();
            match &s.origin {
                crate::model::Origin::Explicit(p) => origin(&m, hop, p, &block(p), s.inherited),
                crate::model::Origin::Default => panic!("{name} is set"),
            }
        };
        let named = |p: &Provenance| m.block_label(p.ctx);
        assert_eq!(
            origin_of("proxy_ssl_verify", &named),
            "tls.conf:1 (location /admin/, inherited, via include at site.conf:4)"
        );
        // The hop came in through site.conf's include too: nothing to add.
        assert_eq!(
            origin_of("proxy_ssl_verify_depth", &named),
            "site.conf:2 (server, inherited)"
        );
        assert_eq!(
            origin_of("proxy_ssl_protocols", &|p| p.level.to_string()),
            "nginx.conf:2 (http, inherited)"
        );
        // The text report says it the same way.
        let table = crate::report::hops::table(&m, |_, _| Vec::new());
        assert!(
            table.contains("tls.conf:1 (location, via include at site.conf:4)"),
            "{table}"
        );
        assert!(table.contains("site.conf:2 (server)\n"), "{table}");
    }

    #[test]
    fn the_version_says_where_it_came_from_and_escapes_what_was_reported() {
        let mut c = VersionChoice::chosen(Version(1, 22, 1));
        c.from = VersionFrom::ThisMachine;
        assert_eq!(version(&c), "nginx 1.22.1, from `nginx -v` on this machine");
        assert_eq!(version_short(&c), "nginx 1.22.1 (nginx -v here)");
        let d = VersionChoice::default_with(Some("it said \u{1b}[2J".into()));
        let text = version(&d);
        assert!(
            text.starts_with("nginx 1.30.4, hopscope's default"),
            "{text}"
        );
        assert!(text.contains("pass --nginx-version"), "{text}");
        assert!(!text.contains('\u{1b}') && text.contains("\\x1b"), "{text}");
        assert_eq!(
            version_short(&d),
            "nginx 1.30.4 (default: pass --nginx-version)"
        );
    }
}
