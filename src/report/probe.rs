//! Probe results for people: one block per peer, every string from the
//! configuration or the peer escaped.

use crate::probe::PeerResult;
#[cfg(test)]
use crate::probe::{Cert, Verification};
use crate::visible::visible;

/// The text report. Everything a peer sent (certificate names, error
/// text) and everything the configuration names (hops, peers, names,
/// paths in notes) is shown with control characters as visible escapes.
pub fn text(results: &[PeerResult]) -> String {
    use std::fmt::Write as _;
    let v = |s: &str| visible(s).into_owned();
    let mut out = String::new();
    // Where the peers were dialled from (the same for every result of a run).
    if let Some(first) = results.first().filter(|r| r.probed_from != "this machine") {
        let _ = writeln!(
            out,
            "probed from {} over ssh: its network, resolver and CA files",
            v(&first.probed_from)
        );
    }
    let mut last = "";
    for r in results {
        if r.hop != last {
            let _ = writeln!(out, "\n{}", v(&r.hop));
            last = &r.hop;
        }
        let verdict = if !r.probeable {
            "not probeable"
        } else if r.ok() {
            "ok"
        } else {
            "FAILS"
        };
        let _ = writeln!(
            out,
            "  {verdict:<13} {}, {}, {} ms",
            r.peer_label(),
            r.sni_label(),
            r.millis
        );
        if let Some(e) = &r.error {
            let _ = writeln!(out, "    error: {}", v(e));
        }
        if r.connected {
            let _ = writeln!(
                out,
                "    {} {}",
                v(r.protocol.as_deref().unwrap_or("")),
                v(r.cipher.as_deref().unwrap_or(""))
            );
        }
        for (i, c) in r.chain.iter().enumerate() {
            let exp = if c.expired { "  EXPIRED" } else { "" };
            let _ = writeln!(
                out,
                "    cert {i}: {} (issuer {}) until {}{exp}",
                v(&c.subject),
                v(&c.issuer),
                v(&c.not_after)
            );
            if !c.sans.is_empty() {
                let sans: Vec<String> = c.sans.iter().map(|s| v(s)).collect();
                let _ = writeln!(out, "            {}", sans.join(" "));
            }
        }
        if let (Some(name), Some(m)) = (&r.verify_name, r.name_matches) {
            let _ = writeln!(
                out,
                "    verify name {}: {}",
                v(name),
                if m {
                    "matches the certificate"
                } else {
                    "does NOT match the certificate"
                }
            );
        }
        if let Some(ver) = &r.verification {
            let state = if ver.enabled { "on" } else { "off" };
            let pass = if ver.would_pass { "passes" } else { "fails" };
            let _ = writeln!(
                out,
                "    verification ({state} for this hop) {pass} against {}",
                v(&ver.against)
            );
            for p in &ver.problems {
                let _ = writeln!(out, "      - {}", v(p));
            }
        }
        for n in &r.notes {
            let _ = writeln!(out, "    note: {}", v(n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_labels_escape_control_characters() {
        let mut r = PeerResult {
            hop: "evil\u{1b}[2J.conf:3".into(),
            peer: "a\u{202e}b:443".into(),
            address: Some("127.0.0.1:443".into()),
            probeable: true,
            sni: Some("s\u{7}ni".into()),
            verify_name: Some("v\u{9b}n".into()),
            connected: true,
            error: Some("e\u{1b}]52;c;x\u{7}".into()),
            protocol: Some("TLSv1.3".into()),
            cipher: Some("C".into()),
            chain: vec![Cert {
                subject: "CN=s\u{1b}".into(),
                sans: vec!["DNS:x\u{2066}".into()],
                issuer: "CN=i\u{202e}".into(),
                not_after: "n\u{7f}".into(),
                expired: false,
            }],
            chain_pem: Vec::new(),
            name_matches: Some(true),
            verification: Some(Verification {
                would_pass: false,
                enabled: true,
                against: "/ca\u{1b}.pem".into(),
                problems: vec!["p\u{1b}".into()],
            }),
            notes: vec!["n\u{1b}".into()],
            millis: 1,
            probed_from: "web\u{1b}1".into(),
        };
        let t = text(std::slice::from_ref(&r));
        assert!(
            !t.chars().any(|c| c != '\n' && crate::visible::is_unsafe(c)),
            "{t:?}"
        );
        for shown in [
            "evil\\x1b[2J.conf:3",
            "a\\u{202e}b:443",
            "SNI s\\x07ni",
            "v\\x9bn",
            "e\\x1b]52;c;x\\x07",
            "CN=s\\x1b",
            "DNS:x\\u{2066}",
            "CN=i\\u{202e}",
            "n\\x7f",
            "/ca\\x1b.pem",
            "probed from web\\x1b1 over ssh",
            "- p\\x1b",
            "note: n\\x1b",
        ] {
            assert!(t.contains(shown), "{shown} in {t}");
        }
        assert_eq!(r.peer_label(), "a\\u{202e}b:443 (127.0.0.1:443)");
        assert_eq!(r.sni_label(), "SNI s\\x07ni");
        r.address = None;
        assert_eq!(r.peer_label(), "a\\u{202e}b:443");
    }
}
