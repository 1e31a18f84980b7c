//! The tour of the built-in demo: one step per upstream SNI pitfall, in
//! teaching order, each tied to a hop of the demo tree (`assets/demo/`).
//!
//! The texts here are the lesson; what nginx puts on the wire, the rules
//! that fire and the configuration lines shown are computed from the model
//! of the loaded demo ([`lesson`]), so the tour cannot drift from what the
//! analysis says. A test checks every step against the model: its hop
//! exists, the SNI the step claims is the predicted one, and the rule it
//! teaches is among the hop's findings.
//!
//! Backticks in the texts mark code; the terminal UI shows them styled.

use crate::conf::FileId;
use crate::diagnostic::{Finding, Severity};
use crate::model::{Model, Origin};

/// One step of the tour.
#[derive(Debug)]
pub struct Step {
    /// The demo hop it is about, by id (`conf.d/api-gateway.conf:18`).
    pub hop: &'static str,
    pub title: &'static str,
    /// The SNI the lesson says nginx sends: `none`, or the name (as
    /// `report::labels::sni` writes it). Checked against the model.
    pub sni: &'static str,
    /// The rule the step teaches; `None` for a hop shown as done right
    /// (which then has no findings).
    pub rule: Option<&'static str>,
    /// What happens on the wire and after, and why.
    pub why: &'static str,
    /// The tempting wrong fix ("" when there is none to warn about).
    pub wrong: &'static str,
    /// The right fix.
    pub right: &'static str,
}

/// The steps, in the order the tour walks them.
pub const STEPS: &[Step] = &[
    Step {
        hop: "conf.d/api-gateway.conf:18",
        title: "No SNI to an HTTPS pool (the incident)",
        sni: "none",
        rule: Some("sni-off"),
        why: "The backends of `backend_pool` pick their certificate by the name in the ClientHello. nginx leaves that name out unless `proxy_ssl_server_name` is on, and it is off by default. Given no name, the backends abort the handshake with alert 40 (`handshake_failure`) or 112 (`unrecognized_name`). nginx logs `SSL_do_handshake() failed ... while SSL handshaking to upstream`, counts a failed attempt and moves to the next peer, which refuses the same way. One after another every peer is marked failed, and the client gets a 502 from the whole pool.",
        wrong: "`proxy_ssl_verify off` changes what nginx accepts, not what it sends: the ClientHello still carries no name, so the backends still refuse it. Verification is already off here (nginx's default), which is a second problem.",
        right: "`proxy_ssl_server_name on` together with `proxy_ssl_name` set to the name on the backends' certificate. SNI on by itself would send the group label `backend_pool`, which no certificate carries.",
    },
    Step {
        hop: "conf.d/api-gateway.conf:26",
        title: "proxy_ssl_name set, yet never sent",
        sni: "none",
        rule: Some("sni-name-ignored"),
        why: "Someone wrote `proxy_ssl_name api.example.com` to match the backends' certificate. The name only goes into the ClientHello when `proxy_ssl_server_name` is on, and nothing turns it on for this location. On the wire nothing changed: the same refused handshake, the same 502. With verification off the name is not even used to check the certificate.",
        wrong: "Switching verification off \"to get past the TLS error\": the name is still not sent, and now any certificate is accepted.",
        right: "Add `proxy_ssl_server_name on` (here, or once in the server block). The name already written then reaches the backend.",
    },
    Step {
        hop: "conf.d/ingest.conf:24",
        title: "An IP address as the target: no SNI, even with SNI on",
        sni: "none",
        rule: Some("sni-ip-literal"),
        why: "`proxy_ssl_server_name on` is inherited from the server block, but the name nginx would send is the host of `proxy_pass`: the address `10.0.4.22`. RFC 6066 does not allow addresses in SNI, so nginx sends no name at all rather than the IP. A backend that needs a name refuses with alert 40, and the request ends in a 502. A certificate check would fail as well: nginx matches DNS names, never IP address entries.",
        wrong: "Believing nginx sends the IP as the name, and switching verification off when the handshake still fails.",
        right: "Keep the address if you must, and give the hop a name: `proxy_ssl_name` with the host name on the backend's certificate (SNI is already on here), then `proxy_ssl_verify on`.",
    },
    Step {
        hop: "stream.d/tls-backends.conf:26",
        title: "A pool's group name goes out as SNI",
        sni: "redis_pool",
        rule: Some("sni-upstream-name"),
        why: "This stream server turns TLS on with `proxy_ssl on` and inherits `proxy_ssl_server_name on` from `stream {}`. No `proxy_ssl_name` is set, so the name is the host of `proxy_pass`: the label of the `upstream {}` group, sent exactly as written. No certificate is issued for `redis_pool`, so a server that selects by SNI answers with a default certificate or refuses, and with verification on the name check fails.",
        wrong: "Adding the group label to the certificate, or switching verification off: both hide that nginx was never told the backend's real name.",
        right: "Name the backend: `proxy_ssl_name` with the host name on its certificate, then `proxy_ssl_verify on` (the CA comes from `stream {}`).",
    },
    Step {
        hop: "conf.d/payments.conf:30",
        title: "The tempting wrong fix: proxy_ssl_verify off",
        sni: "none",
        rule: Some("verify-off"),
        why: "This location was copied from /charges/ without its `proxy_ssl_name`; the certificate check then failed against the group name `payments_pool`, and what shipped was `proxy_ssl_verify off`. nginx now accepts any certificate, including one from anyone able to intercept traffic between the gateway and the backends, who then reads payment data in the clear. And the wire did not change: SNI is off here, the ClientHello still has no name.",
        wrong: "This is it. Turning verification off never adds a name to the ClientHello; it only stops nginx from checking who answered.",
        right: "Verification on with the right name, as /charges/ does: `proxy_ssl_server_name on`, `proxy_ssl_name payments.internal.example.com`, `proxy_ssl_verify on`.",
    },
    Step {
        hop: "conf.d/ingest.conf:32",
        title: "Host says one name, SNI another",
        sni: "search.internal.example.com",
        rule: Some("host-sni-mismatch"),
        why: "TLS and HTTP each carry a name. SNI names the backend here, but `proxy_set_header Host $host` forwards the name the client asked for, `ingest.example.com`. A backend with virtual hosts picks its site by Host: the handshake succeeds and the request lands on another site, or gets 421 Misdirected Request. Some write-ups recommend exactly this pairing as the \"enterprise\" fix.",
        wrong: "`Host $host` next to a different `proxy_ssl_name`, copied as a best practice.",
        right: "Send the same name in both: `proxy_set_header Host search.internal.example.com;` next to the `proxy_ssl_name` (unless the backend really serves the client's name).",
    },
    Step {
        hop: "conf.d/intranet.conf:23",
        title: "Inheritance: one proxy_pass, every setting from elsewhere",
        sni: "reports.internal.example.com",
        rule: None,
        why: "This location holds only a `proxy_pass`, yet the hop is sound: SNI, verification and its depth come from the snippet included in the enclosing location /admin/ (its `proxy_ssl_server_name on` repeats the server's), the CA and the protocols from `http {}`. nginx merges each `proxy_ssl_*` directive from http to server to location, through includes and nested locations. A check that reads one location at a time calls this hop broken, and misses a hop whose bad value sits three levels up.",
        wrong: "Pasting `proxy_ssl_server_name on` into every location to please a line-based check: noise that hides where the effective value comes from.",
        right: "Set shared values once, at the level they belong, and check the effective value of each hop: the hop view lists every setting with the line it comes from.",
    },
    Step {
        hop: "conf.d/intranet.conf:43",
        title: "An inherited name reaches another host",
        sni: "api.internal.example.com",
        rule: Some("sni-other-host"),
        why: "`proxy_ssl_*` directives are not allowed inside `if`, so this hop takes everything from /api/, including `proxy_ssl_name api.internal.example.com`, written for the IP target there. nginx sends that name to writer.internal.example.com, which may answer from another site, refuse the handshake, or fail the name check once verification is on.",
        wrong: "Writing `proxy_ssl_name` inside the `if`: nginx -t rejects it (the directive is not allowed there).",
        right: "Give the writer its own location, with a name that matches it.",
    },
    Step {
        hop: "conf.d/intranet.conf:29",
        title: "uwsgi over TLS: proxy_ssl_* does not apply",
        sni: "none",
        rule: Some("sni-off"),
        why: "`suwsgi://` opens TLS through the uwsgi module, which reads only `uwsgi_ssl_*`. The server's `proxy_ssl_server_name on` and the snippet's `proxy_ssl_verify on` stop at proxy_pass hops: this one sends no SNI and checks no certificate.",
        wrong: "More `proxy_ssl_*` lines: the uwsgi module never reads them.",
        right: "`uwsgi_ssl_server_name on`, `uwsgi_ssl_verify on` and a `uwsgi_ssl_trusted_certificate`, in this location or above it.",
    },
    Step {
        hop: "conf.d/intranet.conf:67",
        title: "gRPC over TLS: verification on, SNI still off",
        sni: "none",
        rule: Some("sni-off"),
        why: "`grpcs://` reads the `grpc_ssl_*` family. `grpc_ssl_verify on` is set, so nginx checks the certificate against inventory.internal.example.com, but `grpc_ssl_server_name` is off, so it never tells the backend that name. A gRPC ingress that routes by SNI refuses the handshake, and the client gets a 502.",
        wrong: "`grpc_ssl_verify off` to get past the failure: the ClientHello stays the same, and the certificate goes unchecked.",
        right: "`grpc_ssl_server_name on` (the name from `grpc_pass` is already a real host), and a verify depth that fits the chain.",
    },
    Step {
        hop: "conf.d/payments.conf:16",
        title: "For contrast: a hop done right",
        sni: "payments.internal.example.com",
        rule: None,
        why: "SNI on, a real name that is on the backends' certificate, verification against the payments CA with room for an intermediate, and Host set to the same name. Every peer of the pool gets a ClientHello it can answer, and nginx checks that the answer comes from the right party.",
        wrong: "",
        right: "Nothing to change. Compare it with /refunds/: the same pool, one line missing, and a shortcut that disabled the check.",
    },
];

/// A step as the loaded demo shows it.
#[derive(Clone, Debug)]
pub struct Lesson {
    /// Index of the step's hop in `Model::hops`.
    pub hop: usize,
    /// What nginx puts in the ClientHello: the name or `none`.
    pub sni: String,
    /// Why, as the model explains it.
    pub sni_why: String,
    /// The hop's unsuppressed findings: rule, severity, message.
    pub findings: Vec<(&'static str, Severity, String)>,
    /// The configuration lines to show: the file and the first and last
    /// line of the hop's own block (1-based, inclusive).
    pub lines: (FileId, u32, u32),
    /// The line of the pass directive.
    pub pass_line: u32,
    /// Settings set outside those lines (inherited or included): the
    /// directive, its value and `file:line`.
    pub inherited: Vec<(String, String, String)>,
}

/// Step `i` worked out on `model` with its `findings`; `None` when the
/// step's hop is not in the model (a configuration other than the demo).
pub fn lesson(model: &Model, findings: &[Finding], i: usize) -> Option<Lesson> {
    let step = STEPS.get(i)?;
    let h = model.hop_by_id(step.hop)?;
    let hop = &model.hops[h];
    let mut found: Vec<(&'static str, Severity, String)> = findings
        .iter()
        .filter(|f| f.hop == Some(h) && f.suppressed.is_none())
        .map(|f| (f.rule, f.severity, f.message.clone()))
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let file = hop.pass.file;
    let pass_line = model.line_col(hop.pass).0;
    let block = model.tree.ctx(hop.own).opener.filter(|o| o.file == file);
    let (first, last) = match block {
        Some(o) => {
            let src = model.config.file(file);
            let range = model.dir(o).range;
            (src.line_of(range.start), src.line_of(range.end))
        }
        None => (pass_line, pass_line),
    };
    let inherited = hop
        .settings
        .iter()
        .filter_map(|s| match &s.origin {
            Origin::Explicit(p) => {
                let line = model.line_col(p.dir).0;
                let inside = p.dir.file == file && (first..=last).contains(&line);
                (!inside).then(|| {
                    (
                        s.name.to_string(),
                        s.value.as_deref().unwrap_or("").to_string(),
                        model.file_line(p.dir),
                    )
                })
            }
            Origin::Default => None,
        })
        .collect();
    Some(Lesson {
        hop: h,
        sni: crate::report::labels::sni(hop),
        sni_why: hop.sni.why.clone(),
        findings: found,
        lines: (file, first, last),
        pass_line,
        inherited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> (Model, Vec<Finding>) {
        let model = crate::jobs::Source::Demo.load(None).unwrap();
        let findings = crate::rules::check(&model);
        (model, findings)
    }

    #[test]
    fn every_step_agrees_with_the_model_of_the_demo() {
        let (model, findings) = demo();
        for (i, step) in STEPS.iter().enumerate() {
            let l = lesson(&model, &findings, i)
                .unwrap_or_else(|| panic!("step {i}: hop {} is not in the demo", step.hop));
            assert_eq!(
                l.sni, step.sni,
                "step {i} ({}): the SNI it claims",
                step.hop
            );
            let rules: Vec<&str> = l.findings.iter().map(|f| f.0).collect();
            match step.rule {
                Some(r) => {
                    assert!(crate::rules::find(r).is_some(), "step {i}: no rule {r}");
                    assert!(rules.contains(&r), "step {i}: {r} not among {rules:?}");
                }
                None => assert!(rules.is_empty(), "step {i} is shown as right: {rules:?}"),
            }
            let src = model.config.file(l.lines.0);
            assert!(l.lines.1 <= l.pass_line && l.pass_line <= l.lines.2);
            assert!(l.lines.2 <= src.line_count());
        }
    }

    #[test]
    fn the_tour_covers_each_pitfall_of_the_demo() {
        let taught: Vec<&str> = STEPS.iter().filter_map(|s| s.rule).collect();
        for r in [
            "sni-off",
            "sni-name-ignored",
            "sni-ip-literal",
            "sni-upstream-name",
            "verify-off",
            "host-sni-mismatch",
            "sni-other-host",
        ] {
            assert!(taught.contains(&r), "no step teaches {r}");
        }
        let (model, findings) = demo();
        // Hops that are not http proxy_pass: uwsgi, grpc and stream.
        for module in ["uwsgi_pass", "grpc_pass", "stream"] {
            assert!(
                (0..STEPS.len()).any(|i| {
                    let l = lesson(&model, &findings, i).unwrap();
                    let hop = &model.hops[l.hop];
                    hop.module.pass_directive() == module
                        || (module == "stream" && hop.subsystem() == "stream")
                }),
                "no step on a {module} hop"
            );
        }
        // Step titles are unique: the end-to-end test finds each by it.
        let mut titles: Vec<&str> = STEPS.iter().map(|s| s.title).collect();
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), STEPS.len());
    }

    #[test]
    fn an_included_setting_shows_where_it_comes_from() {
        let (model, findings) = demo();
        let i = STEPS
            .iter()
            .position(|s| s.hop == "conf.d/intranet.conf:23")
            .unwrap();
        let l = lesson(&model, &findings, i).unwrap();
        assert!(
            l.inherited.iter().any(|(d, v, at)| d == "proxy_ssl_verify"
                && v == "on"
                && at == "snippets/upstream-tls.conf:6"),
            "{:?}",
            l.inherited
        );
    }
}
