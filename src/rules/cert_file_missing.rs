//! `cert-file-missing`: a certificate, key, CA, CRL or password file that
//! does not exist (only for configurations read from disk).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::conf::local_files::Local;
use crate::diagnostic::{Finding, Severity};
use crate::model::{Model, Module, Setting, SslDirective};

use super::support::{certificate_set, get, on, relate, tls_uses};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "cert-file-missing",
    summary: "a certificate, key, CA, CRL or password file named for upstream TLS does not exist",
    severity: Severity::Error,
    doc: Doc {
        what: "\
Checks the files named by `*_ssl_certificate`, `*_ssl_certificate_key`, \
`*_ssl_trusted_certificate`, `*_ssl_crl` and `*_ssl_password_file` (relative names are taken from \
the nginx prefix, the directory of nginx.conf). It reports `error` where `nginx -t` loads the file \
and would fail: the client certificate and key on a hop that presents them, the CA and CRL on a \
hop with `*_ssl_verify on`, and every password file (nginx reads those while parsing, wherever \
they are written). A missing CA or CRL on a hop that does not verify yet is `low`: nothing loads \
it today, but switching verification on will fail. Only configurations read from disk are checked \
(not the demo, not `nginx -T` output), and names with variables are skipped.",
        why: "\
nginx loads these files when it builds the TLS context for an upstream, during `nginx -t` and \
every reload. A missing file stops it with `cannot load certificate \"...\"`, \
`SSL_CTX_load_verify_locations(\"...\") failed` or `open() \"...\" failed`, and a reload keeps \
serving the old configuration, so the change never ships. Relative names are a common trap: \
nginx resolves them against its prefix (usually /etc/nginx), not against the file that holds \
the directive.",
        example: "\
location /payouts/ {
    proxy_pass https://payouts.internal.example.com;
    proxy_ssl_certificate     certs/gateway-client.crt;   # /etc/nginx/certs/... does not exist
    proxy_ssl_certificate_key certs/gateway-client.key;
}
",
        use_instead: "\
location /payouts/ {
    proxy_pass https://payouts.internal.example.com;
    proxy_ssl_certificate     tls/gateway-client.crt;   # /etc/nginx/tls/..., which exists
    proxy_ssl_certificate_key tls/gateway-client.key;
}
",
        fix_safety: "\
No automatic fix: hopscope cannot know where the file should come from. Install the file or \
correct the path.",
        severity_text: "\
`error` where `nginx -t` loads the file and fails; `low` for a CA or CRL that is loaded only once \
verification is switched on. Files are looked up only where this machine holds them: a tree in \
its installed place (`/etc/nginx` and the other prefixes nginx builds use), the tree's own \
directory, or the copy of the server's files given with `--root DIR` (never a path out of it); \
the hop's detail says when its files could not be checked.",
    },
    check,
};

/// What is wrong with a path.
#[derive(Clone, Copy)]
enum Bad {
    Missing,
    Directory,
}

fn status(path: &Path) -> Option<Bad> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some(Bad::Directory),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Bad::Missing),
        // Unreadable metadata (permissions): nginx, often root, may see it.
        Err(_) => None,
    }
}

/// Where a named file is looked up, or nothing when it is not (see
/// [`crate::conf::local_files`]).
fn resolve(model: &Model, value: &str) -> Option<PathBuf> {
    match model.config.local_file(value) {
        Local::At(p) => Some(p),
        Local::NotChecked(_) => None,
    }
}

/// The file settings of a place that nginx loads or may load.
fn named_files(settings: &[Setting], version: crate::model::Version) -> Vec<(&Setting, bool)> {
    let verify = on(settings, SslDirective::Verify);
    let cert = get(settings, SslDirective::Certificate);
    let key = get(settings, SslDirective::CertificateKey);
    let cert_v = cert.and_then(|c| c.value.as_deref());
    let key_v = key.and_then(|k| k.value.as_deref());
    let literal = |v: Option<&str>| {
        v.is_some_and(|v| !v.contains('$') && !v.starts_with("data:") && !v.starts_with("engine:"))
    };
    // nginx loads the pair at nginx -t only when both are files.
    let pair = certificate_set(cert_v, version) && literal(cert_v) && literal(key_v);
    let mut items: Vec<(&Setting, bool)> = Vec::new();
    if pair {
        items.extend(cert.map(|c| (c, true)));
        items.extend(key.map(|k| (k, true)));
    }
    for d in [SslDirective::TrustedCertificate, SslDirective::Crl] {
        if let Some(st) = get(settings, d) {
            if st
                .value
                .as_deref()
                .is_some_and(|v| !v.is_empty() && !v.contains('$'))
            {
                items.push((st, verify));
            }
        }
    }
    items
}

/// Why the files a hop names were not looked up, when some were not: the
/// first reason, for the hop's detail (`hops`, the TUI). None when the hop
/// names no file or every file it names was checked.
pub fn not_checked(model: &Model, hop: &crate::model::Hop) -> Option<String> {
    // The demo's files are made up: nothing to say about them.
    if model.config.loaded_from == crate::conf::LoadedFrom::Demo {
        return None;
    }
    named_files(&hop.settings, model.version)
        .into_iter()
        .filter_map(|(s, _)| s.value.as_deref())
        .find_map(|v| match model.config.local_file(v) {
            Local::At(_) => None,
            Local::NotChecked(why) => Some(why),
        })
}

fn problem(path: &Path, bad: &Bad) -> String {
    match bad {
        Bad::Missing => format!("{} does not exist", path.display()),
        Bad::Directory => format!("{} is a directory", path.display()),
    }
}

fn check(model: &Model, out: &mut Vec<Finding>) {
    // Many hops name the same few files: each name is resolved, looked up
    // and described once (None: not looked up, or nothing wrong).
    let mut checked: HashMap<String, Option<String>> = HashMap::new();
    for u in tls_uses(model) {
        let items = named_files(&u.settings, model.version);
        for (st, loaded) in items {
            let Some(value) = st.value.as_deref() else {
                continue;
            };
            if !checked.contains_key(value) {
                let found = resolve(model, value)
                    .and_then(|path| status(&path).map(|bad| problem(&path, &bad)));
                checked.insert(value.to_string(), found);
            }
            let found = checked.get(value);
            let Some(problem) = found.and_then(Option::as_deref) else {
                continue;
            };
            let (severity, tail) = if loaded {
                (
                    Severity::Error,
                    "nginx -t fails when it loads it".to_string(),
                )
            } else {
                (
                    Severity::Low,
                    format!(
                        "nginx does not load it while {} is off, but turning verification on will make nginx -t fail",
                        u.module.directive(SslDirective::Verify)
                    ),
                )
            };
            let msg = format!(
                "{} ({}) for {}: {problem}; {tail}",
                st.name,
                st.origin_note(),
                u.label(),
            );
            let f = u.finding(&RULE, severity, model, msg);
            out.push(relate(f, st, &format!("{} names it", st.name)));
        }
    }
    // Password files are read while nginx parses the directive.
    let mut seen = HashSet::new();
    for c in model.tree.ctxs() {
        for &r in c.directives() {
            let d = model.dir(r);
            let password_file = Module::ALL
                .iter()
                .any(|&m| d.name() == m.directive(SslDirective::PasswordFile));
            if !password_file || !seen.insert(r) {
                continue;
            }
            let Some(value) = d.arg(0) else { continue };
            let Some(path) = resolve(model, value) else {
                continue;
            };
            let Some(bad) = status(&path) else { continue };
            let fails = match bad {
                Bad::Missing => format!("fails with 'open() \"{}\" failed'", path.display()),
                Bad::Directory => "fails".to_string(),
            };
            let msg = format!(
                "{} ({}): {}; nginx reads it while parsing, so nginx -t {fails}",
                d.name(),
                model.file_line(r),
                problem(&path, &bad),
            );
            out.push(Finding::at_directive(RULE.id, Severity::Error, r, msg));
        }
    }
}
