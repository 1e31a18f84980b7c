//! Evidence on findings, against a REAL nginx on 127.0.0.1: an `sni-off`
//! hop to an SNI-strict upstream (a default server with
//! `ssl_reject_handshake on`, the certificate only behind `server_name
//! api.test`) is confirmed; to an SNI-agnostic one (one default server
//! with a certificate for api.test) it is contradicted. `check --probe`
//! shows it in JSON and text and weighs it in the severity; the terminal
//! UI's hop view shows it under the finding once the hop is probed.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

const T: Duration = Duration::from_secs(60);

struct Setup {
    _up: Prefix,
    _nginx: Nginx,
    tree: Prefix,
    /// The CA that signed the upstreams' certificate, and one that did not.
    ca: std::path::PathBuf,
    other_ca: std::path::PathBuf,
}

/// The two upstreams, running, and an audited tree (not run) with one hop
/// to each (SNI off, the name api.test) and a third to the agnostic one
/// with the test CA named (verification still off).
fn setup(nginx: &Path) -> Setup {
    let up = Prefix::new("evidence-up");
    let ca = TestCa::new(&up.path().join("pki"));
    let leaf = ca.leaf("api", &["api.test"]);
    let (strict, agnostic) = (free_port(), free_port());
    let mut f = ConfFile::new("nginx.conf");
    write_main_preamble(&mut f);
    f.open("http");
    write_http_preamble(&mut f);
    f.line("ssl_session_tickets off;");
    f.line("ssl_session_cache off;");
    f.open("server");
    f.line(format!("listen 127.0.0.1:{strict} ssl default_server;"));
    f.line("ssl_reject_handshake on;");
    f.close();
    for (port, extra) in [
        (strict, "server_name api.test;"),
        (agnostic, "server_name _;"),
    ] {
        f.open("server");
        f.line(format!("listen 127.0.0.1:{port} ssl;"));
        f.line(extra);
        f.line(format!("ssl_certificate {};", leaf.cert.display()));
        f.line(format!("ssl_certificate_key {};", leaf.key.display()));
        f.open("location /");
        f.line("return 200 ok;");
        f.close();
        f.close();
    }
    f.close();
    up.write_conf(&f);
    let running = Nginx::start(nginx, up.path(), &[strict, agnostic])
        .unwrap_or_else(|e| panic!("upstream nginx: {e}"));

    let tree = Prefix::new("evidence-tree");
    let conf = format!(
        "events {{}}\n\
         http {{\n\
         \x20   upstream api.test {{ server 127.0.0.1:{strict}; }}\n\
         \x20   upstream agnostic {{ server 127.0.0.1:{agnostic}; }}\n\
         \x20   server {{\n\
         \x20       listen 127.0.0.1:8080;\n\
         \x20       location /strict/ {{\n\
         \x20           proxy_pass https://api.test;\n\
         \x20       }}\n\
         \x20       location /agnostic/ {{\n\
         \x20           proxy_pass https://agnostic;\n\
         \x20           proxy_ssl_verify off;\n\
         \x20       }}\n\
         \x20       location /trusted/ {{\n\
         \x20           proxy_pass https://agnostic;\n\
         \x20           proxy_ssl_trusted_certificate {};\n\
         \x20           proxy_ssl_name api.test;\n\
         \x20       }}\n\
         \x20       location /wrong/ {{\n\
         \x20           proxy_pass https://wrong_name;\n\
         \x20           proxy_ssl_server_name on;\n\
         \x20       }}\n\
         \x20       location /private/ {{\n\
         \x20           proxy_pass https://agnostic;\n\
         \x20           proxy_ssl_name api.test;\n\
         \x20           proxy_ssl_verify off;\n\
         \x20       }}\n\
         \x20   }}\n\
         \x20   upstream wrong_name {{ server 127.0.0.1:{strict}; }}\n\
         }}\n",
        ca.cert.display()
    );
    tree.write("nginx.conf", &conf);
    let other = TestCa::new(&up.path().join("other-pki"));
    Setup {
        ca: ca.cert.clone(),
        other_ca: other.cert.clone(),
        _up: up,
        _nginx: running,
        tree,
    }
}

const STRICT: &str = "nginx.conf:8";
const AGNOSTIC: &str = "nginx.conf:11";
const TRUSTED: &str = "nginx.conf:15";
/// SNI on, the group name sent, to the strict upstream.
const WRONG: &str = "nginx.conf:20";
/// To the agnostic upstream, the name api.test, verification off, no CA.
const PRIVATE: &str = "nginx.conf:24";

fn finding<'a>(doc: &'a Value, hop: &str, rule: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["hop"] == hop && f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} on {hop}: {doc:#}"))
}

#[test]
fn a_probe_confirms_or_contradicts_sni_off_and_weighs_in() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let s = setup(&nginx);
    let conf = s.tree.conf_path();
    let conf = conf.to_str().unwrap();

    // Without --probe: no evidence, the static severity (loopback peers:
    // info, see sni-off's severity policy).
    let plain = hopscope_run(
        &["check", conf, "--format", "json", "--min-severity", "info"],
        None,
        T,
    );
    let plain = plain.json().unwrap();
    assert_eq!(
        finding(&plain, STRICT, "sni-off")["severity"],
        "info",
        "{plain:#}"
    );
    assert!(finding(&plain, STRICT, "sni-off").get("evidence").is_none());

    let run = hopscope_run(
        &[
            "check",
            conf,
            "--probe",
            "--format",
            "json",
            "--min-severity",
            "info",
        ],
        None,
        T,
    );
    assert!(
        run.stderr
            .contains("probing 5 hops before weighing the findings"),
        "{}",
        run.stderr
    );
    let doc = run.json().unwrap();

    let strict = finding(&doc, STRICT, "sni-off");
    let e = &strict["evidence"];
    assert_eq!(e["verdict"], "confirmed", "{e:#}");
    let summary = e["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("the upstream refused a ClientHello without SNI: ")
            && summary.contains("unrecognized_name"),
        "{summary}"
    );
    assert_eq!(e["peers"][0]["verdict"], "confirmed");
    assert!(e["peers"][0]["peer"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert_eq!(strict["severity"], "high", "confirmed breakage is high");
    assert_eq!(e["severity_change"]["from"], "info");
    assert_eq!(e["severity_change"]["to"], "high");
    assert_eq!(
        e["severity_change"]["why"],
        "the probe saw the hop fail as the finding warns"
    );

    let agnostic = finding(&doc, AGNOSTIC, "sni-off");
    let e = &agnostic["evidence"];
    assert_eq!(e["verdict"], "contradicted", "{e:#}");
    assert_eq!(
        e["summary"],
        "the upstream accepted a ClientHello without SNI and served a certificate for api.test"
    );
    // Already the lowest: it stays info, and no change is claimed.
    assert_eq!(agnostic["severity"], "info");
    assert!(e["severity_change"].is_null());
    let ignored = finding(&doc, TRUSTED, "sni-name-ignored");
    assert_eq!(
        ignored["evidence"]["verdict"], "contradicted",
        "{ignored:#}"
    );
    assert_eq!(
        ignored["severity"], "low",
        "medium, one step lower: {ignored:#}"
    );
    assert_eq!(ignored["evidence"]["severity_change"]["from"], "medium");

    // The wrong name sent: the strict upstream refuses it.
    let wrong = finding(&doc, WRONG, "sni-upstream-name");
    let e = &wrong["evidence"];
    assert_eq!(e["verdict"], "confirmed", "{wrong:#}");
    assert!(
        e["summary"]
            .as_str()
            .unwrap()
            .starts_with("the upstream refused SNI wrong_name: the upstream does not serve the name sent as SNI (alert 112 unrecognized_name)"),
        "{e:#}"
    );
    assert_eq!(wrong["severity"], "high");

    // verify-off: the chain the upstream presents, and whether it would
    // verify with the hop's CA; never a change of severity.
    let v = &finding(&doc, AGNOSTIC, "verify-off")["evidence"];
    assert_eq!(v["verdict"], "inconclusive", "{v:#}");
    let sv = v["summary"].as_str().unwrap();
    assert!(
        sv.starts_with("the upstream presents a certificate for api.test issued by "),
        "{sv}"
    );
    assert!(sv.contains("it would not verify with"), "{sv}");
    let v = &finding(&doc, TRUSTED, "verify-off")["evidence"];
    assert_eq!(v["verdict"], "inconclusive", "{v:#}");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .ends_with(": verification can be turned on"),
        "{v:#}"
    );
    assert!(v["severity_change"].is_null());

    // Text: one line under each finding.
    let text = hopscope_run(
        &[
            "check",
            conf,
            "--probe",
            "--color",
            "never",
            "--min-severity",
            "info",
        ],
        None,
        T,
    );
    assert!(
        text.stdout
            .contains("  = probe confirmed: the upstream refused a ClientHello without SNI: ")
            && text
                .stdout
                .contains("[info → high: the probe saw the hop fail as the finding warns]"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("  = probe contradicted: the upstream accepted a ClientHello without SNI and served a certificate for api.test\n"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("high[sni-off]"), "{}", text.stdout);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", text.stdout);
    }
    assert_eq!(text.code, Some(1));
}

/// The terminal UI as drawn, one string.
fn draw(app: &hopscope::tui::app::App) -> String {
    use hopscope::tui::theme::Theme;
    use hopscope::tui::ui::{self, Ui};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(160, 60)).unwrap();
    term.draw(|f| {
        ui::draw(
            f,
            app,
            &Ui {
                theme: &theme,
                highlighter: None,
            },
        )
    })
    .unwrap();
    let buf = term.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_hop_view_shows_the_evidence_once_probed() {
    use hopscope::tui::action::Screen;
    use hopscope::tui::app::App;
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let s = setup(&nginx);
    let source = hopscope::jobs::Source::Path(s.tree.conf_path());
    let model = source.load(None).unwrap();
    let mut app = App::new(model, source.label());
    let h = app.model.hops.iter().position(|h| h.id == STRICT).unwrap();
    app.cursor = app.rows.iter().position(|&r| r == h).unwrap();
    app.stack.push(Screen::Detail);
    assert!(
        !draw(&app).contains("probe confirmed"),
        "not before a probe"
    );
    let results = hopscope::probe::prepare(
        &app.model,
        &[STRICT.to_string()],
        hopscope::probe::LocalFiles::of(&app.model),
    )
    .run(hopscope::probe::Options::default());
    app.on_probed(results, &[STRICT.to_string()]);
    let screen = draw(&app);
    assert!(
        screen.contains("probe confirmed: the upstream refused a ClientHello without SNI"),
        "{screen}"
    );
}

#[test]
fn a_fix_probe_shows_each_peer_before_and_after() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let s = setup(&nginx);
    let conf = s.tree.conf_path();
    let conf = conf.to_str().unwrap();
    let args = [
        "fix",
        conf,
        "--hop",
        STRICT,
        "--rule",
        "sni-off",
        "--set",
        "sni-name=api.test",
        "--probe",
    ];

    // Text: one line per peer, on stderr (stdout keeps the diff).
    let text = hopscope_run(&args, None, T);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", text.stderr);
    }
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout
            .contains("+            proxy_ssl_server_name on;"),
        "{}",
        text.stdout
    );
    let line = text
        .stderr
        .lines()
        .find(|l| l.starts_with(&format!("  {STRICT} 127.0.0.1:")))
        .unwrap_or_else(|| panic!("no before/after line: {}", text.stderr));
    assert!(
        line.ends_with(
            ": before: refused (alert 112 unrecognized_name, no SNI) → after: ok (SNI api.test, verification off)"
        ),
        "{line}"
    );

    // JSON: the fixes, the diff, and each peer before and after.
    let mut json = args.to_vec();
    json.extend(["--format", "json"]);
    let run = hopscope_run(&json, None, T);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc = run.json().unwrap();
    assert_eq!(doc["schema"], "hopscope.fix/1");
    assert_eq!(doc["applied"][0]["rule"], "sni-off", "{doc:#}");
    assert!(doc["diff"]
        .as_str()
        .unwrap()
        .contains("+            proxy_ssl_server_name on;"));
    let p = &doc["probe"].as_array().unwrap()[..];
    assert_eq!(p.len(), 1, "{doc:#}");
    assert_eq!(p[0]["hop"], STRICT);
    assert_eq!(p[0]["hop_after"], "nginx.conf:8");
    assert_eq!(
        p[0]["before"],
        "refused (alert 112 unrecognized_name, no SNI)"
    );
    assert_eq!(p[0]["after"], "ok (SNI api.test, verification off)");
    assert_eq!(p[0]["before_ok"], false);
    assert_eq!(p[0]["after_ok"], true);
    assert!(line.ends_with(p[0]["line"].as_str().unwrap()), "{line}");

    // Nothing to fix: still a document, with nothing in it (exit 1).
    let none = hopscope_run(
        &[
            "fix",
            conf,
            "--hop",
            STRICT,
            "--rule",
            "sni-upstream-name",
            "--format",
            "json",
        ],
        None,
        T,
    );
    assert_eq!(none.code, Some(1), "{}", none.stderr);
    let doc = none.json().unwrap();
    assert_eq!(doc["applied"], serde_json::json!([]), "{doc:#}");
    assert_eq!(doc["diff"], "");
    assert!(doc.get("probe").is_none());
}

#[test]
fn verify_off_evidence_checks_the_chain_against_the_fixs_ca() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let s = setup(&nginx);
    let conf = s.tree.conf_path();
    let conf = conf.to_str().unwrap();
    let fix = |ca: &Path| {
        let set = format!("ca-file={}", ca.display());
        let run = hopscope_run(
            &[
                "fix",
                conf,
                "--hop",
                PRIVATE,
                "--rule",
                "verify-off",
                "--set",
                &set,
                "--probe",
                "--format",
                "json",
            ],
            None,
            T,
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        (run.json().unwrap(), run.stderr)
    };

    // The CA that signed the upstream's certificate: verification can be
    // turned on, and the probe after the fix verifies.
    let (doc, stderr) = fix(&s.ca);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{stderr}");
    }
    let e = &doc["evidence"][0];
    assert_eq!(e["hop"], PRIVATE, "{doc:#}");
    assert_eq!(e["rule"], "verify-off");
    let summary = e["evidence"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("the upstream presents a certificate for api.test issued by ")
            && summary.ends_with(&format!(
                "; it would pass with {} (the fix's CA)",
                s.ca.display()
            )),
        "{summary}"
    );
    assert!(
        stderr.contains(&format!(
            "  {PRIVATE} [verify-off] probe inconclusive: {summary}"
        )),
        "{stderr}"
    );
    let p = &doc["probe"][0];
    assert_eq!(p["before"], "ok (no SNI, verification off)", "{doc:#}");
    assert_eq!(p["after"], "ok (no SNI, certificate verified)", "{doc:#}");

    // Another CA: the fix would break the hop, and both say why.
    let (doc, _) = fix(&s.other_ca);
    let summary = doc["evidence"][0]["evidence"]["summary"].as_str().unwrap();
    assert!(
        summary.ends_with(&format!(
            "; it would fail with {} (the fix's CA): unable to get local issuer certificate",
            s.other_ca.display()
        )),
        "{summary}"
    );
    let after = doc["probe"][0]["after"].as_str().unwrap();
    assert!(
        after.starts_with("fails (no SNI, unable to get local issuer certificate"),
        "{after}"
    );
    assert_eq!(doc["probe"][0]["after_ok"], false);

    // check --probe: the fix's proposal (the system bundle) is what the
    // chain is checked against.
    let run = hopscope_run(
        &[
            "check",
            conf,
            "--probe",
            "--format",
            "json",
            "--min-severity",
            "info",
        ],
        None,
        T,
    );
    let doc = run.json().unwrap();
    let v = finding(&doc, PRIVATE, "verify-off")["evidence"]["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        v.contains("; it would fail with /etc/ssl/certs/ca-certificates.crt (the fix's CA): "),
        "{v}"
    );
}

#[test]
fn sarif_results_carry_the_evidence() {
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let s = setup(&nginx);
    let conf = s.tree.conf_path();
    let conf = conf.to_str().unwrap();
    let run = hopscope_run(
        &[
            "check",
            conf,
            "--probe",
            "--format",
            "sarif",
            "--min-severity",
            "info",
        ],
        None,
        T,
    );
    let doc = run.json().unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let of = |hop: &str, rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule && r["properties"]["hop"] == hop)
            .unwrap_or_else(|| panic!("no {rule} on {hop}: {doc:#}"))
    };
    // Confirmed: info raised to high, so the level is error.
    let strict = of(STRICT, "sni-off");
    let e = &strict["properties"]["evidence"];
    assert_eq!(e["verdict"], "confirmed", "{strict:#}");
    assert_eq!(e["severity_change"]["from"], "info");
    assert_eq!(strict["properties"]["severity"], "high");
    assert_eq!(strict["level"], "error");
    let text = strict["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("\nprobe confirmed: the upstream refused a ClientHello without SNI: "),
        "{text}"
    );
    // Contradicted: medium lowered to low, a note.
    let ignored = of(TRUSTED, "sni-name-ignored");
    assert_eq!(ignored["properties"]["evidence"]["verdict"], "contradicted");
    assert_eq!(ignored["level"], "note", "{ignored:#}");
    // Without --probe: no evidence.
    let plain = hopscope_run(
        &["check", conf, "--format", "sarif", "--min-severity", "info"],
        None,
        T,
    );
    let plain = plain.json().unwrap();
    assert!(plain["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["properties"].get("evidence").is_none()));
}

#[test]
fn the_diff_shows_the_fix_probe_before_and_after() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use hopscope::tui::action::{Effect, Screen};
    use hopscope::tui::app::App;
    use hopscope::tui::keymap;
    let Some(nginx) = nginx_or_skip() else {
        return;
    };
    let s = setup(&nginx);
    let source = hopscope::jobs::Source::Path(s.tree.conf_path());
    let model = source.load(None).unwrap();
    let mut app = App::new(model, source.label());
    let h = app.model.hops.iter().position(|h| h.id == TRUSTED).unwrap();
    app.cursor = app.rows.iter().position(|&r| r == h).unwrap();
    let press = |app: &mut App, keys: &[KeyCode]| {
        let mut effects = Vec::new();
        for &k in keys {
            let ev = KeyEvent::new(k, KeyModifiers::NONE);
            if app.capturing() {
                app.input(ev);
            } else if let Some(a) = keymap::action_for(app.screen(), ev) {
                effects.extend(app.update(a));
            }
        }
        effects
    };
    let files = hopscope::probe::LocalFiles::of(&app.model);
    // P in the hop view: the hop as nginx connects today.
    let effects = press(&mut app, &[KeyCode::Enter, KeyCode::Char('P')]);
    assert_eq!(effects.len(), 1, "{effects:?}");
    let results = hopscope::probe::prepare(&app.model, &[TRUSTED.to_string()], files)
        .run(hopscope::probe::Options::default());
    app.on_probed(results, &[TRUSTED.to_string()]);
    // f, Space, d: the diff of the hop's first fix (sni-name-ignored); P:
    // the what-if probe.
    press(
        &mut app,
        &[KeyCode::Char('f'), KeyCode::Char(' '), KeyCode::Char('d')],
    );
    assert_eq!(app.screen(), Screen::Diff, "{}", draw(&app));
    let effects = press(&mut app, &[KeyCode::Char('P')]);
    let Some(Effect::ProbeFixed(ids)) = effects.first() else {
        panic!("no what-if probe: {effects:?}");
    };
    let work = hopscope::tui::run::fix_probe_work(&mut app, ids, files);
    app.on_fix_probed(work.run(hopscope::probe::Options::default()));
    let screen = draw(&app);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{screen}");
    }
    assert!(
        screen.contains("): before: ok (no SNI, verification off) → after: ok (SNI api.test, "),
        "{screen}"
    );
}
