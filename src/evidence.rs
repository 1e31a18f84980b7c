//! What a probe saw, as evidence on findings: the handshakes of a hop's
//! peers ([`PeerResult`]) turned into an [`Evidence`] for each finding a
//! handshake can back, and the severity policy of `check --probe`.
//!
//! - No SNI (`sni-off`, `sni-ip-literal`, `sni-name-ignored`) and the wrong
//!   SNI (`sni-upstream-name`, `pool-name-mismatch`, `sni-other-host`, only
//!   for peers the probe sent a name to): the probe sends what nginx sends. A refusal that names SNI (alert 112
//!   unrecognized_name, alert 40 without SNI, a close during the
//!   handshake), or a certificate for another name where verification is
//!   on, *confirms* the finding; a handshake that works as configured
//!   *contradicts* it; anything else (no answer, another failure) is
//!   *inconclusive*.
//! - `verify-off`: the chain the upstream really presents (the leaf's
//!   names, its issuer) and whether it would verify with the hop's
//!   effective CA (the system bundle when none is named), so turning
//!   verification on is known to work or not. Always *inconclusive*: the
//!   risk is that nothing checks the certificate, which no handshake
//!   confirms or disproves (an upstream with a private CA is not an
//!   impostor), so it never changes the severity. When the fix names a CA
//!   (the `ca-file` given, else its proposal), the presented chain is
//!   checked against that CA too (for the hop's verify name): the fix is
//!   known to work before it is applied, or known to fail and why.
//!
//! Over the peers: one confirmed peer confirms the finding (nginx fails on
//! that peer); else one contradicted peer contradicts it; else it is
//! inconclusive.

use std::path::PathBuf;

use crate::diagnostic::{
    Change, Evidence, Finding, FixValue, PeerEvidence, Severity, SeverityChange, Verdict,
};
use crate::model::{Model, SslDirective};
use crate::probe::PeerResult;
use crate::visible::visible;

/// The rules a handshake can back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// nginx sends no SNI.
    NoSni,
    /// nginx sends a name that may be the wrong one.
    WrongSni,
    /// Verification is off.
    VerifyOff,
}

fn kind(rule: &str) -> Option<Kind> {
    match rule {
        "sni-off" | "sni-ip-literal" | "sni-name-ignored" => Some(Kind::NoSni),
        "sni-upstream-name" | "pool-name-mismatch" | "sni-other-host" => Some(Kind::WrongSni),
        "verify-off" => Some(Kind::VerifyOff),
        _ => None,
    }
}

/// Whether a probe of the hop can back findings of `rule`.
pub fn backs(rule: &str) -> bool {
    kind(rule).is_some()
}

/// The ids of the hops whose findings a probe can back: what `check
/// --probe` probes.
pub fn hops_to_probe(model: &Model, findings: &[Finding]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for f in findings {
        if let (Some(h), true) = (f.hop, backs(f.rule)) {
            let id = &model.hops[h].id;
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    ids
}

/// The names the leaf certificate is for: its DNS names, else its subject.
fn leaf_names(r: &PeerResult) -> Option<String> {
    let leaf = r.chain.first()?;
    let dns: Vec<&str> = leaf
        .sans
        .iter()
        .map(|s| s.strip_prefix("DNS:").unwrap_or(s))
        .collect();
    Some(if dns.is_empty() {
        visible(&leaf.subject).into_owned()
    } else {
        visible(&dns.join(", ")).into_owned()
    })
}

/// A probe's error in plain words, without OpenSSL's bracketed error
/// stack (the probe report keeps it).
fn plain(error: &str) -> String {
    let cut = error.find(" [error:").map_or(error, |i| &error[..i]);
    visible(cut).into_owned()
}

/// Whether a failed handshake's reason is about the name sent (or not).
fn refused_for_name(error: &str) -> bool {
    error.contains("SNI") || error.contains("unrecognized_name")
}

fn sni_evidence(r: &PeerResult) -> (Verdict, String) {
    let hello = match &r.sni {
        None => "a ClientHello without SNI".to_string(),
        Some(name) => format!("SNI {}", visible(name)),
    };
    let want = r
        .verify_name
        .as_deref()
        .map_or(String::new(), |n| format!(", not for {}", visible(n)));
    if r.connected {
        let names = leaf_names(r).unwrap_or_else(|| "no certificate".into());
        if r.ok() {
            return (
                Verdict::Contradicted,
                format!("the upstream accepted {hello} and served a certificate for {names}"),
            );
        }
        if r.name_matches == Some(false) {
            return (
                Verdict::Confirmed,
                format!("the upstream accepted {hello} but served a certificate for {names}{want}: verification fails"),
            );
        }
        let why = r.verification_problem();
        return (
            Verdict::Inconclusive,
            format!("the upstream accepted {hello} and served a certificate for {names}; the hop fails for another reason: {why}"),
        );
    }
    let error = r.error.as_deref().unwrap_or("no answer");
    if refused_for_name(error) {
        (
            Verdict::Confirmed,
            format!("the upstream refused {hello}: {}", plain(error)),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!("the probe could not tell: {}", plain(error)),
        )
    }
}

/// The CA bundle the fix of a `verify-off` finding would name: `given`
/// (the `ca-file` a person gave for the hop), else the fix's proposal; with
/// the verify depth the fix leaves (the depth it sets, else the hop's).
/// None when the fix keeps the hop's own CA.
pub struct ProposedCa {
    /// As the fix writes it.
    pub shown: String,
    /// On this machine (None: the configuration's files are not here).
    pub path: Option<PathBuf>,
    pub depth: u32,
}

fn proposed_ca(model: &Model, finding: &Finding, given: Option<&str>) -> Option<ProposedCa> {
    let hop = &model.hops[finding.hop?];
    let changes = &finding.fix.as_ref()?.changes;
    fn value(c: &Change) -> Option<(&str, &FixValue)> {
        match c {
            Change::Set { directive, value } => Some((directive.as_str(), value)),
            Change::SetHeader { .. } => None,
        }
    }
    let shown = changes
        .iter()
        .filter_map(value)
        .find_map(|(_, v)| match v {
            FixValue::Input {
                key: "ca-file",
                proposal,
                ..
            } => given.map(str::to_string).or_else(|| proposal.clone()),
            _ => None,
        })?;
    let depth = changes
        .iter()
        .filter_map(value)
        .find_map(|(d, v)| match v {
            FixValue::Literal(n) if d.ends_with("_ssl_verify_depth") => n.trim().parse().ok(),
            _ => None,
        })
        .or_else(|| {
            hop.setting(SslDirective::VerifyDepth)
                .and_then(|s| s.value.as_deref())
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1);
    let local = crate::probe::LocalFiles::of(model) == crate::probe::LocalFiles::Use;
    let path = local.then(|| {
        let p = std::path::Path::new(&shown);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            model.config.prefix.join(p)
        }
    });
    Some(ProposedCa { shown, path, depth })
}

/// Whether the presented chain would verify with the fix's CA.
fn with_proposed(r: &PeerResult, ca: &ProposedCa) -> String {
    let shown = visible(&ca.shown);
    let Some(path) = &ca.path else {
        return format!("; the fix's CA {shown} is not on this machine: not checked against it");
    };
    match crate::probe::verify_chain(&r.chain_pem, path, r.verify_name.as_deref(), ca.depth) {
        Ok(()) => format!("; it would pass with {shown} (the fix's CA)"),
        Err(why) => format!(
            "; it would fail with {shown} (the fix's CA): {}",
            visible(&why)
        ),
    }
}

fn verify_evidence(r: &PeerResult) -> (Verdict, String) {
    let Some(leaf) = r.chain.first() else {
        let error = r.error.as_deref().unwrap_or("no certificate was presented");
        return (
            Verdict::Inconclusive,
            format!("no chain to check: {}", plain(error)),
        );
    };
    let names = leaf_names(r).unwrap_or_default();
    let presents = format!(
        "the upstream presents a certificate for {names} issued by {}",
        visible(&leaf.issuer)
    );
    match &r.verification {
        Some(v) if v.would_pass => (
            Verdict::Inconclusive,
            format!(
                "{presents}; it would verify with {}: verification can be turned on",
                visible(&v.against)
            ),
        ),
        Some(v) => (
            Verdict::Inconclusive,
            format!(
                "{presents}; it would not verify with {}: {}",
                visible(&v.against),
                visible(&v.problems.join("; "))
            ),
        ),
        None => (Verdict::Inconclusive, presents),
    }
}

/// The evidence the probe `results` give `finding` (None when the rule is
/// not one a handshake can back, or no peer of its hop was probed).
pub fn of(model: &Model, finding: &Finding, results: &[PeerResult]) -> Option<Evidence> {
    of_with(model, finding, results, None)
}

/// [`of`], with the CA file a person gives the fix (`fix --set
/// ca-file=FILE`; None: the fix's proposal): a `verify-off` finding's
/// chain is checked against the CA the fix would name.
pub fn of_with(
    model: &Model,
    finding: &Finding,
    results: &[PeerResult],
    given_ca: Option<&str>,
) -> Option<Evidence> {
    let kind = kind(finding.rule)?;
    let ca = match kind {
        Kind::VerifyOff => proposed_ca(model, finding, given_ca),
        _ => None,
    };
    let id = &model.hops[finding.hop?].id;
    let peers: Vec<PeerEvidence> = results
        .iter()
        .filter(|r| &r.hop == id && r.probeable)
        // A wrong name is seen only where one was sent.
        .filter(|r| kind != Kind::WrongSni || r.sni.is_some())
        .map(|r| {
            let (verdict, saw) = match kind {
                Kind::NoSni | Kind::WrongSni => sni_evidence(r),
                Kind::VerifyOff => {
                    let (v, mut saw) = verify_evidence(r);
                    if let (Some(ca), false) = (&ca, r.chain_pem.is_empty()) {
                        saw.push_str(&with_proposed(r, ca));
                    }
                    (v, saw)
                }
            };
            PeerEvidence {
                peer: r.peer_label(),
                verdict,
                saw,
            }
        })
        .collect();
    if peers.is_empty() {
        return None;
    }
    let verdict = [Verdict::Confirmed, Verdict::Contradicted]
        .into_iter()
        .find(|v| peers.iter().any(|p| p.verdict == *v))
        .unwrap_or(Verdict::Inconclusive);
    let first = peers
        .iter()
        .find(|p| p.verdict == verdict)
        .expect("the verdict is one peer's");
    let agree = peers.iter().filter(|p| p.verdict == verdict).count();
    let summary = if peers.len() == 1 {
        first.saw.clone()
    } else {
        format!(
            "{} ({}: {agree} of {} peers)",
            first.saw,
            first.peer,
            peers.len()
        )
    };
    Some(Evidence {
        verdict,
        summary,
        peers,
        severity_change: None,
    })
}

/// Gives each finding about a probed hop the evidence of its results.
pub fn attach(model: &Model, findings: &mut [Finding], results: &[PeerResult]) {
    for f in findings.iter_mut() {
        if let Some(e) = of(model, f, results) {
            f.evidence = Some(Box::new(e));
        }
    }
}

/// One step lower (info stays info).
fn lower(s: Severity) -> Severity {
    match s {
        Severity::Error => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

/// The severity policy of `check --probe`: a confirmed finding is `high`
/// (nginx fails on that hop as configured; `error` stays); a contradicted
/// one is one step lower (the upstream worked as configured); an
/// inconclusive one keeps its severity. The evidence says what changed
/// and why.
pub fn weigh(findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        let Some(e) = &mut f.evidence else {
            continue;
        };
        let to = match e.verdict {
            Verdict::Confirmed if f.severity < Severity::High => Severity::High,
            Verdict::Contradicted if f.severity != Severity::Error => lower(f.severity),
            _ => continue,
        };
        if to == f.severity {
            continue;
        }
        let why = match e.verdict {
            Verdict::Confirmed => "the probe saw the hop fail as the finding warns",
            _ => "the probe saw the upstream work as configured",
        };
        e.severity_change = Some(SeverityChange {
            from: f.severity,
            to,
            why: why.to_string(),
        });
        f.severity = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Cert;

    fn result(sni: Option<&str>) -> PeerResult {
        let mut r = PeerResult::blank("a.conf:1".into(), "10.0.0.1:443".into());
        r.sni = sni.map(String::from);
        r.verify_name = Some("api.example.com".into());
        r
    }

    fn cert(names: &[&str]) -> Cert {
        Cert {
            subject: format!("CN={}", names[0]),
            sans: names.iter().map(|n| format!("DNS:{n}")).collect(),
            issuer: "CN=Test CA".into(),
            not_after: String::new(),
            expired: false,
        }
    }

    #[test]
    fn the_fix_names_the_ca_given_else_its_proposal_with_its_depth() {
        let model = crate::test_support::model(&[(
            "nginx.conf",
            "http { server { location / { proxy_pass https://api.example.com; proxy_ssl_verify off; } } }\n",
        )]);
        let findings = crate::rules::check(&model);
        let f = findings
            .iter()
            .find(|f| f.rule == "verify-off")
            .expect("verify-off");
        let ca = proposed_ca(&model, f, None).expect("a CA is proposed");
        assert_eq!(ca.shown, "/etc/ssl/certs/ca-certificates.crt");
        // The fix sets depth 3 where nginx's default (1) applies.
        assert_eq!(ca.depth, 3);
        // A model that is not on this machine's disk: not checked here.
        assert_eq!(ca.path, None);
        let given = proposed_ca(&model, f, Some("/etc/ssl/internal-ca.pem")).unwrap();
        assert_eq!(given.shown, "/etc/ssl/internal-ca.pem");
        let mut r = result(Some("api.example.com"));
        r.chain_pem = vec!["x".into()];
        assert_eq!(
            with_proposed(&r, &given),
            "; the fix's CA /etc/ssl/internal-ca.pem is not on this machine: not checked against it"
        );
        // Another rule's fix names no CA.
        let sni = findings.iter().find(|f| f.rule != "verify-off").unwrap();
        assert!(proposed_ca(&model, sni, None).is_none());
    }

    #[test]
    fn no_sni_refused_confirms_and_accepted_contradicts() {
        let mut refused = result(None);
        refused.error = Some("the upstream wants SNI and none was sent (alert 112 unrecognized_name): it picks its certificate by name".into());
        let (v, saw) = sni_evidence(&refused);
        assert_eq!(v, Verdict::Confirmed);
        assert_eq!(saw, "the upstream refused a ClientHello without SNI: the upstream wants SNI and none was sent (alert 112 unrecognized_name): it picks its certificate by name");
        let mut served = result(None);
        served.connected = true;
        served.chain = vec![cert(&["api.example.com"])];
        served.name_matches = Some(true);
        let (v, saw) = sni_evidence(&served);
        assert_eq!(v, Verdict::Contradicted);
        assert_eq!(
            saw,
            "the upstream accepted a ClientHello without SNI and served a certificate for api.example.com"
        );
        let mut down = result(None);
        down.error = Some("connection refused".into());
        assert_eq!(sni_evidence(&down).0, Verdict::Inconclusive);
    }

    #[test]
    fn the_policy_raises_confirmed_and_lowers_contradicted() {
        let e = |verdict| Evidence {
            verdict,
            summary: "s".into(),
            peers: Vec::new(),
            severity_change: None,
        };
        let dir = crate::model::DirRef {
            file: crate::conf::FileId(0),
            node: 0,
        };
        let mut fs = vec![
            Finding::at_directive("sni-off", Severity::Medium, dir, "m".into()),
            Finding::at_directive("sni-off", Severity::High, dir, "m".into()),
            Finding::at_directive("sni-off", Severity::Info, dir, "m".into()),
            Finding::at_directive("sni-off", Severity::Medium, dir, "m".into()),
        ];
        fs[0].evidence = Some(Box::new(e(Verdict::Confirmed)));
        fs[1].evidence = Some(Box::new(e(Verdict::Contradicted)));
        fs[2].evidence = Some(Box::new(e(Verdict::Contradicted)));
        fs[3].evidence = Some(Box::new(e(Verdict::Inconclusive)));
        weigh(&mut fs);
        let got: Vec<_> = fs.iter().map(|f| f.severity).collect();
        assert_eq!(
            got,
            [
                Severity::High,
                Severity::Medium,
                Severity::Info,
                Severity::Medium
            ]
        );
        let c = fs[1]
            .evidence
            .as_ref()
            .unwrap()
            .severity_change
            .clone()
            .unwrap();
        assert_eq!((c.from, c.to), (Severity::High, Severity::Medium));
        assert!(fs[2].evidence.as_ref().unwrap().severity_change.is_none());
        assert_eq!(
            fs[1].evidence.as_ref().unwrap().line(),
            "probe contradicted: s [high → medium: the probe saw the upstream work as configured]"
        );
    }
}
