//! `weak-ciphers`: `*_ssl_ciphers` enables broken cipher suites.

use crate::diagnostic::{Finding, Severity};
use crate::model::{Model, SslDirective};

use super::support::{peer, relate};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "weak-ciphers",
    summary: "*_ssl_ciphers enables NULL, EXPORT, RC4, (3)DES, MD5 or anonymous cipher suites",
    severity: Severity::Medium,
    doc: Doc {
        what: "\
Flags a TLS hop whose effective `*_ssl_ciphers` adds cipher suites without encryption (`NULL`, \
`eNULL`), without authentication (`aNULL`, `ADH`, `AECDH`), with export-grade keys (`EXPORT`, \
`EXP`), or with broken primitives (`RC4`, `DES`, `3DES`/`DES-CBC3`, `RC2`, `MD5`, `LOW`), or \
that lowers OpenSSL's security level to 0 (`@SECLEVEL=0`). Tokens that remove suites (`!RC4`, \
`-MD5`) are ignored.",
        why: "\
nginx offers the upstream every suite the string enables, and an upstream that prefers (or only \
has) a weak one will pick it. RC4 and 3DES leak plaintext given enough traffic (RFC 7465, \
Sweet32); export suites were broken by FREAK and Logjam; NULL suites send the data in clear; \
anonymous suites skip the certificate, so `*_ssl_verify` has nothing to check and anyone on the \
path can sit in the middle. Such lines usually come from an old compatibility fix and then apply \
to every hop that inherits them.",
        example: "\
location /legacy/ {
    proxy_pass https://legacy.internal.example.com;
    proxy_ssl_ciphers HIGH:RC4-SHA:DES-CBC3-SHA;
}
",
        use_instead: "\
location /legacy/ {
    proxy_pass https://legacy.internal.example.com;
    # nginx's default (OpenSSL's DEFAULT list); or list modern suites explicitly
    proxy_ssl_ciphers DEFAULT;
}
",
        fix_safety: "\
No automatic fix. Weak suites are nearly always there because one upstream could not do better; \
removing them can leave nginx and that upstream with no suite in common and break the hop. Fix \
the upstream first, then delete the line (nginx's default is `DEFAULT`) or list modern suites.",
        severity_text: "\
`medium`: nginx offers suites that an upstream preferring them will use, without authentication \
or with broken encryption.",
    },
    check,
};

/// Keywords and name parts that mark a weak suite, with the reason shown.
const WEAK: &[(&str, &str)] = &[
    ("NULL", "no encryption"),
    ("eNULL", "no encryption"),
    ("aNULL", "no authentication"),
    ("ADH", "no authentication"),
    ("AECDH", "no authentication"),
    ("EXPORT", "export-grade"),
    ("EXPORT40", "export-grade"),
    ("EXPORT56", "export-grade"),
    ("EXP", "export-grade"),
    ("EXP1024", "export-grade"),
    ("RC4", "RC4"),
    ("RC2", "RC2"),
    ("DES", "DES"),
    ("3DES", "3DES"),
    ("CBC3", "3DES"),
    ("MD5", "MD5"),
    ("LOW", "low strength"),
];

/// The weak tokens of a cipher string, each with why.
pub fn weak_tokens(value: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for token in value.split([':', ',', ' ']) {
        if token.is_empty() || token.starts_with(['!', '-']) {
            continue;
        }
        let t = token.trim_start_matches('+');
        if t.eq_ignore_ascii_case("@SECLEVEL=0") {
            out.push((t.to_string(), "security level 0"));
            continue;
        }
        if t.starts_with('@') {
            continue;
        }
        let why = t
            .split(['+', '-'])
            .find_map(|part| WEAK.iter().find(|(k, _)| *k == part).map(|(_, w)| *w));
        if let Some(why) = why {
            out.push((t.to_string(), why));
        }
    }
    out
}

fn check(model: &Model, out: &mut Vec<Finding>) {
    for (hop_index, hop) in model.hops.iter().enumerate() {
        let Some(c) = hop.setting(SslDirective::Ciphers) else {
            continue;
        };
        let Some(value) = c.value.as_deref() else {
            continue;
        };
        let weak = weak_tokens(value);
        if weak.is_empty() {
            continue;
        }
        let list: Vec<String> = weak.iter().map(|(t, w)| format!("{t} ({w})")).collect();
        let msg = format!(
            "{} is {value} ({}): nginx offers {} weak suites: {}",
            c.name,
            c.origin_note(),
            peer(hop),
            list.join(", ")
        );
        let f = Finding::for_hop(RULE.id, Severity::Medium, model, hop_index, msg);
        out.push(relate(f, c, &format!("{} set here", c.name)));
    }
}

#[cfg(test)]
mod tests {
    use super::weak_tokens;

    #[test]
    fn tokens() {
        let w = |s: &str| {
            weak_tokens(s)
                .into_iter()
                .map(|(t, _)| t)
                .collect::<Vec<_>>()
        };
        assert!(w("DEFAULT").is_empty());
        assert!(w("HIGH:!aNULL:!MD5:-RC4").is_empty());
        assert_eq!(w("HIGH:RC4-SHA:DES-CBC3-SHA"), ["RC4-SHA", "DES-CBC3-SHA"]);
        assert_eq!(
            w("ECDHE-RSA-AES128-GCM-SHA256 EXP-RC4-MD5"),
            ["EXP-RC4-MD5"]
        );
        assert_eq!(w("ALL:eNULL"), ["eNULL"]);
        assert_eq!(w("DEFAULT:@SECLEVEL=0"), ["@SECLEVEL=0"]);
        assert_eq!(w("RSA+3DES"), ["RSA+3DES"]);
        assert!(w("TLS_AES_128_GCM_SHA256:AES256-SHA").is_empty());
    }
}
