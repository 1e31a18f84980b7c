//! A fix's probe, before and after: each peer of a fixed hop as nginx
//! connects today and as it would connect with the fix, in one line
//! (`before: refused (alert 112 unrecognized_name, no SNI) → after: ok
//! (SNI api.example.com, certificate verified)`).

use serde::Serialize;

use super::PeerResult;
use crate::visible::visible;

/// One peer of a fixed hop, probed before and after the fix.
#[derive(Clone, Debug, Serialize)]
pub struct PeerChange {
    /// The hop's id as loaded.
    pub hop: String,
    /// The hop's id in the fixed configuration (inserted lines move it).
    pub hop_after: String,
    /// The peer, and the address it resolved to (after the fix).
    pub peer: String,
    /// The peer as nginx connects today (None: not probed before).
    pub before: Option<String>,
    pub after: String,
    /// Whether nginx's hop works with this peer, before and after.
    pub before_ok: Option<bool>,
    pub after_ok: bool,
    /// `before: … → after: …`.
    pub line: String,
}

/// A probe's error in a few words: the TLS alert it names, else the error
/// without OpenSSL's bracketed error stack.
fn short(error: &str) -> String {
    if error.contains("alert 112 unrecognized_name") {
        return "alert 112 unrecognized_name".into();
    }
    if error.contains("(alert 40)") {
        return "alert 40 handshake failure".into();
    }
    let cut = error.find(" [").map_or(error, |i| &error[..i]);
    // A long sentence keeps its first clause (`deadline exceeded after 5
    // s: …`); a short one (`cannot connect to …: Network unreachable`)
    // stays whole.
    let cut = match cut.find(": ") {
        Some(i) if cut.len() > 80 => &cut[..i],
        _ => cut,
    };
    visible(cut).into_owned()
}

/// A peer as one probe saw it, in a few words: `ok (SNI api.test,
/// certificate verified)`, `refused (alert 40 handshake failure, no SNI)`,
/// `fails (SNI api.test, certificate has expired …)`.
pub fn state(r: &PeerResult) -> String {
    let sni = r.sni_label();
    if !r.probeable {
        return format!(
            "not probed ({})",
            short(r.error.as_deref().unwrap_or("not probeable"))
        );
    }
    if r.ok() {
        let check = match &r.verification {
            Some(v) if v.enabled => "certificate verified",
            _ => "verification off",
        };
        return format!("ok ({sni}, {check})");
    }
    if r.connected {
        let why = r.verification_problem();
        return format!("fails ({sni}, {why})");
    }
    let error = r.error.as_deref().unwrap_or("no answer");
    let refused = error.contains("alert") || error.contains("closed the connection");
    let word = if refused { "refused" } else { "fails" };
    format!("{word} ({}, {sni})", short(error))
}

/// `before: … → after: …`.
pub fn line(before: Option<&PeerResult>, after: &PeerResult) -> String {
    let was = before.map_or("not probed".to_string(), state);
    format!("before: {was} → after: {}", state(after))
}

/// Pairs each peer probed after the fix with the same peer of the same
/// hop before it. `hops` pairs each hop's id as loaded with its id in the
/// fixed configuration.
pub fn pair(
    hops: &[(String, String)],
    before: &[PeerResult],
    after: &[PeerResult],
) -> Vec<PeerChange> {
    let mut out = Vec::new();
    for (loaded, fixed) in hops {
        for a in after.iter().filter(|r| &r.hop == fixed) {
            let b = before.iter().find(|r| &r.hop == loaded && r.peer == a.peer);
            out.push(PeerChange {
                hop: loaded.clone(),
                hop_after: fixed.clone(),
                peer: a.peer_label(),
                before: b.map(state),
                after: state(a),
                before_ok: b.map(|b| b.probeable && b.ok()),
                after_ok: a.probeable && a.ok(),
                line: line(b, a),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Verification;

    #[test]
    fn a_refusal_then_a_verified_handshake_in_one_line() {
        let mut before = PeerResult::blank("a.conf:3".into(), "10.0.0.1:443".into());
        before.error = Some("the upstream wants SNI and none was sent (alert 112 unrecognized_name): it picks its certificate by name [error:0A000458:SSL routines::tlsv1 unrecognized name]".into());
        let mut after = PeerResult::blank("a.conf:4".into(), "10.0.0.1:443".into());
        after.sni = Some("api.example.com".into());
        after.connected = true;
        after.verification = Some(Verification {
            would_pass: true,
            enabled: true,
            against: "/ca.pem".into(),
            problems: Vec::new(),
        });
        let hops = [("a.conf:3".to_string(), "a.conf:4".to_string())];
        let got = pair(&hops, &[before], &[after.clone()]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].line,
            "before: refused (alert 112 unrecognized_name, no SNI) → after: ok (SNI api.example.com, certificate verified)"
        );
        assert_eq!((got[0].before_ok, got[0].after_ok), (Some(false), true));
        // A verification the fix turns on that fails says why.
        after.verification.as_mut().unwrap().would_pass = false;
        after.verification.as_mut().unwrap().problems =
            vec!["unable to get local issuer certificate (certificate 0 of the chain)".into()];
        assert_eq!(
            state(&after),
            "fails (SNI api.example.com, unable to get local issuer certificate (certificate 0 of the chain))"
        );
        assert_eq!(
            line(None, &after).split(" → ").next(),
            Some("before: not probed")
        );
        // Alert 40 without SNI, a peer not listening, a deadline.
        let mut r = PeerResult::blank("a.conf:3".into(), "10.0.0.1:443".into());
        r.error = Some("handshake failure (alert 40) with no SNI sent: the upstream most likely wants SNI (or a client certificate, or a protocol/cipher nginx does not offer) [error:0A000410:SSL routines::sslv3 alert handshake failure]".into());
        assert_eq!(state(&r), "refused (alert 40 handshake failure, no SNI)");
        r.error = Some("connection refused by 10.0.0.1:443: nothing listens there".into());
        assert_eq!(
            state(&r),
            "fails (connection refused by 10.0.0.1:443: nothing listens there, no SNI)"
        );
        r.error = Some("deadline exceeded after 5 s: no answer from 10.0.0.1:443 within 5 s (the probe gives each peer 5 s in all: connect, handshake and the wait after it)".into());
        assert_eq!(state(&r), "fails (deadline exceeded after 5 s, no SNI)");
        // What a peer sent is shown escaped.
        r.error = Some("handshake failed: bad\u{1b}[2J".into());
        assert_eq!(state(&r), "fails (handshake failed: bad\\x1b[2J, no SNI)");
    }
}
