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
         \x20   }}\n\
         \x20   upstream wrong_name {{ server 127.0.0.1:{strict}; }}\n\
         }}\n",
        ca.cert.display()
    );
    tree.write("nginx.conf", &conf);
    Setup {
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
            .contains("probing 4 hops before weighing the findings"),
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

#[test]
fn the_hop_view_shows_the_evidence_once_probed() {
    use hopscope::tui::action::Screen;
    use hopscope::tui::app::App;
    use hopscope::tui::theme::Theme;
    use hopscope::tui::ui::{self, Ui};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
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
    let draw = |app: &App| {
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
    };
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
