//! The fix flow as a person uses it, without a terminal: every selected fix
//! is in the diff whatever its placement, every byte a fix writes can be
//! seen (the fix screen lists the lines; the diff wraps them, or scrolls
//! sideways), picks are kept in a basket across hops and screens, and the
//! findings the fixes create are offered as follow-ups, applied only when
//! taken.

use crossterm::event::KeyCode;
use hopscope::model::{Model, Version};
use hopscope::tui::action::Screen;
use hopscope::tui::app::App;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

mod tui_support;
use tui_support::render_plain as render;
use tui_support::*;

fn demo_app() -> App {
    let cfg = hopscope::jobs::Source::Demo.config().unwrap();
    App::new(
        Model::build(cfg, Version::NEWEST_STABLE),
        "demo (built-in)".into(),
    )
}

fn chars(s: &str) -> Vec<KeyCode> {
    s.chars().map(KeyCode::Char).collect()
}

/// Everything inside full-width frames, row after row with nothing in
/// between: a line wrapped over several rows reads back whole.
fn inside_frames(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 1..buf.area.width - 1 {
            out.push_str(buf[(x, y)].symbol());
        }
    }
    out
}

/// Moves the fix screen's cursor to the fix of `rule`.
fn cursor_to(app: &mut App, rule: &str) {
    app.fix.cursor = app
        .fix
        .items
        .iter()
        .position(|i| app.findings[i.finding].rule == rule)
        .expect(rule);
}

fn added(app: &App) -> Vec<String> {
    app.diff
        .text
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| l[1..].trim().to_string())
        .collect()
}

/// The keys of the report (demo, `f`, `e`, a host, Enter, then every fix
/// selected with one of them in the defining block): three selected, and
/// the diff holds the lines of all three, `proxy_ssl_verify on` included.
#[test]
fn every_selected_fix_is_in_the_diff_whatever_its_placement() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    press(&mut app, &[KeyCode::Char('f'), KeyCode::Char('e')]);
    press(&mut app, &chars("api.example.com"));
    press(&mut app, &[KeyCode::Enter]);
    press(&mut app, &chars(" j j p"));
    let shown = screen_text(&render(&app, 100, 30));
    assert!(shown.contains("Fixes (3 selected of 3)"), "{shown}");
    press(&mut app, &[KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
    assert!(
        app.status.as_ref().is_none_or(|s| !s.error),
        "{:?}",
        app.status
    );
    let lines = added(&app);
    for want in [
        "proxy_ssl_server_name on;",
        "proxy_ssl_name api.example.com;",
        "proxy_ssl_verify on;",
        "proxy_ssl_verify_depth 3;",
    ] {
        assert!(
            lines.iter().any(|l| l == want),
            "{want} missing:\n{}",
            app.diff.text
        );
    }
    // Each directive once, though two fixes ask for proxy_ssl_name.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("proxy_ssl_name"))
            .count(),
        1,
        "{}",
        app.diff.text
    );

    // Every mix of placements gives the same lines here (no line in an
    // outer block defines these values, so both go into the location).
    for mask in 0..8u32 {
        press(&mut app, &[KeyCode::Esc]);
        assert_eq!(app.screen(), Screen::Fix);
        for i in 0..3 {
            app.fix.cursor = i;
            let defining = app.fix.items[i].placement == hopscope::fix::Placement::Defining;
            if defining != (mask & (1 << i) != 0) {
                press(&mut app, &[KeyCode::Char('p')]);
            }
        }
        press(&mut app, &[KeyCode::Char('d')]);
        assert_eq!(app.screen(), Screen::Diff);
        let mut got = added(&app);
        got.sort();
        let mut want = lines.clone();
        want.sort();
        assert_eq!(got, want, "placements {mask:03b}:\n{}", app.diff.text);
    }
}

/// The key sequence of the report as typed: the fix under the cursor after
/// `j j` is selected and moved; what is selected is what the diff holds.
#[test]
fn the_reported_keys_preview_what_the_header_counts() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    press(&mut app, &[KeyCode::Char('f'), KeyCode::Char('e')]);
    press(&mut app, &chars("api.example.com"));
    press(&mut app, &[KeyCode::Enter]);
    press(&mut app, &chars("jj p"));
    let shown = screen_text(&render(&app, 100, 30));
    let n = app.fix.basket.len();
    assert!(
        shown.contains(&format!("Fixes ({n} selected of 3)")),
        "{shown}"
    );
    press(&mut app, &[KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff);
    // Whatever is picked has its lines in the diff.
    for p in app.fix.basket.clone() {
        let rule = app.findings[p.finding].rule;
        let lines = added(&app);
        let want = match rule {
            "sni-off" => "proxy_ssl_server_name on;",
            "verify-off" => "proxy_ssl_verify on;",
            "sni-upstream-name" => "proxy_ssl_name api.example.com;",
            other => panic!("unexpected pick {other}"),
        };
        assert!(
            lines.iter().any(|l| l == want),
            "{rule}:\n{}",
            app.diff.text
        );
    }
}

/// A location written on one line: the lines a fix adds stay on it, so the
/// line is long. The fix screen and the diff show it whole (wrapped); with
/// wrapping off, scrolling sideways brings the end into view.
#[test]
fn a_one_line_block_shows_every_byte_in_the_fix_screen_and_the_diff() {
    let model = hopscope::test_support::model(&[(
        "nginx.conf",
        "events {}\nhttp {\n    server {\n        listen 80;\n        location / { proxy_pass https://api.example.com; proxy_ssl_verify off; }\n    }\n}\n",
    )]);
    let mut app = App::new(model, "test".into());
    press(&mut app, &[KeyCode::Char('f')]);
    assert_eq!(app.screen(), Screen::Fix, "{:?}", app.status);
    cursor_to(&mut app, "verify-off");
    if !app.picked(app.fix.items[app.fix.cursor].finding) {
        press(&mut app, &[KeyCode::Char(' ')]);
    }
    press(&mut app, &[KeyCode::Char('e')]);
    assert!(app.fix.field.is_some(), "verify-off asks for the CA file");
    press(&mut app, &chars("/etc/nginx/upstream-ca.pem"));
    press(&mut app, &[KeyCode::Enter]);
    let tail =
        "proxy_ssl_trusted_certificate /etc/nginx/upstream-ca.pem; proxy_ssl_verify_depth 3; }";

    // The fix screen lists the line it writes, whole.
    let term = render(&app, 80, 40);
    assert!(
        screen_text(&term).contains("it writes:"),
        "{}",
        screen_text(&term)
    );
    assert!(
        inside_frames(&term).contains(tail),
        "{}",
        screen_text(&term)
    );

    // The diff wraps it.
    press(&mut app, &[KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
    let term = render(&app, 80, 24);
    let text = screen_text(&term);
    assert!(inside_frames(&term).contains(tail), "{text}");
    assert!(text.contains("long lines wrap (z)"), "{text}");

    // Without wrapping the end is off screen until scrolled to.
    press(&mut app, &[KeyCode::Char('z')]);
    let text = screen_text(&render(&app, 80, 24));
    assert!(!text.contains("proxy_ssl_verify_depth 3; }"), "{text}");
    let mut seen = false;
    for _ in 0..20 {
        press(&mut app, &[KeyCode::Char('L')]);
        if screen_text(&render(&app, 80, 24)).contains("proxy_ssl_verify_depth 3; }") {
            seen = true;
            break;
        }
    }
    assert!(seen, "L never reached the end of the line");
    assert!(app.diff.hscroll > 0);
    press(&mut app, &[KeyCode::Char('H')]);
    let before = app.diff.hscroll;
    press(&mut app, &[KeyCode::Left]);
    assert!(app.diff.hscroll < before);
    // The keys are in the help of the diff.
    press(&mut app, &[KeyCode::Char('?')]);
    let help = screen_text(&render(&app, 100, 40));
    for k in [
        "H/L ←/→",
        "scroll sideways",
        "wrap long lines",
        "empty the fix basket",
    ] {
        assert!(help.contains(k), "{k}:\n{help}");
    }
}

/// Picks on two hops survive leaving the fix screen, are marked in the hop
/// list, and make one diff over both files; X empties the basket.
#[test]
fn the_basket_keeps_picks_across_hops_and_makes_one_diff() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/intranet.conf:35");
    press(&mut app, &[KeyCode::Char('f')]);
    cursor_to(&mut app, "verify-off");
    press(&mut app, &[KeyCode::Char(' '), KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::List);
    assert_eq!(app.fix.basket.len(), 1);

    select_hop(&mut app, "conf.d/ingest.conf:32");
    press(&mut app, &[KeyCode::Char('f')]);
    cursor_to(&mut app, "verify-off");
    press(&mut app, &[KeyCode::Char(' '), KeyCode::Esc]);
    assert_eq!(app.fix.basket.len(), 2);

    // Back on the first hop: its fix is still selected.
    select_hop(&mut app, "conf.d/intranet.conf:35");
    press(&mut app, &[KeyCode::Char('f')]);
    let shown = screen_text(&render(&app, 120, 30));
    assert!(shown.contains("[x]"), "{shown}");
    assert!(shown.contains("basket: 2 fixes for 2 hops"), "{shown}");
    press(&mut app, &[KeyCode::Esc]);

    // The list marks both hops, and only them.
    let list = screen_text(&render(&app, 120, 30));
    assert!(
        list.contains("basket: 2 fixes for 2 hops (X empties)"),
        "{list}"
    );
    let marked: Vec<&str> = list.lines().filter(|l| l.contains("+1")).collect();
    assert_eq!(marked.len(), 2, "{list}");
    assert!(
        marked.iter().any(|l| l.contains("/intranet.conf:35")),
        "{list}"
    );
    assert!(
        marked.iter().any(|l| l.contains("/ingest.conf:32")),
        "{list}"
    );

    // The /api/ fix alone would also change the hop in its `if` block,
    // whose fix is not picked: the preview is refused, from any hop's fix
    // screen, naming that hop and what to do.
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    press(&mut app, &[KeyCode::Char('f'), KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Fix, "{:?}", app.status);
    let why = &app.status.as_ref().unwrap().text;
    assert!(
        why.contains("verify-off at conf.d/intranet.conf:35")
            && why.contains("conf.d/intranet.conf:43")
            && why.contains("fix both together"),
        "{why}"
    );
    press(&mut app, &[KeyCode::Esc]);
    select_hop(&mut app, "conf.d/intranet.conf:43");
    press(&mut app, &[KeyCode::Char('f')]);
    cursor_to(&mut app, "verify-off");
    if !app.picked(app.fix.items[app.fix.cursor].finding) {
        press(&mut app, &[KeyCode::Char(' ')]);
    }
    press(&mut app, &[KeyCode::Esc]);

    // Then one diff over both files, from any hop's fix screen.
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    press(&mut app, &[KeyCode::Char('f'), KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
    assert!(app.diff.text.contains("+++ b/conf.d/intranet.conf"));
    assert!(app.diff.text.contains("+++ b/conf.d/ingest.conf"));
    assert_eq!(
        added(&app)
            .iter()
            .filter(|l| *l == "proxy_ssl_verify on;")
            .count(),
        2
    );
    assert_eq!(app.diff_hops().len(), 3);

    // X empties it, from wherever it is pressed.
    press(&mut app, &[KeyCode::Char('X')]);
    assert!(app.fix.basket.is_empty());
    assert_eq!(app.screen(), Screen::Fix);
    assert!(app
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("fix basket emptied"));
    press(&mut app, &[KeyCode::Esc]);
    let list = screen_text(&render(&app, 120, 30));
    assert!(!list.contains("basket"), "{list}");
    assert!(!list.contains("+1"), "{list}");
}

/// Sending a name (the SNI fix) makes the Host header disagree with it: a
/// new `host-sni-mismatch`. The preview offers it, explained, and applies
/// its fix only when taken.
#[test]
fn follow_ups_are_offered_explained_and_applied_only_when_taken() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/api-gateway.conf:26");
    press(&mut app, &[KeyCode::Char('f'), KeyCode::Char('X')]);
    cursor_to(&mut app, "sni-off");
    press(&mut app, &[KeyCode::Char(' '), KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
    assert!(added(&app).contains(&"proxy_ssl_server_name on;".to_string()));
    // Never added silently.
    assert!(
        !app.diff.text.contains("proxy_set_header Host"),
        "{}",
        app.diff.text
    );
    let offered: Vec<_> = app
        .diff
        .offered
        .iter()
        .map(|o| (o.rule, o.hop.as_str()))
        .collect();
    assert_eq!(
        offered,
        [("host-sni-mismatch", "conf.d/api-gateway.conf:26")]
    );
    let term = render(&app, 120, 40);
    let text = screen_text(&term);
    insta::assert_snapshot!("basket_follow_up_offered_120x40", text);
    assert!(
        text.contains("Follow-ups: findings these fixes create · a takes all · Tab to pick"),
        "{text}"
    );
    assert!(text.contains("new  "), "{text}");
    assert!(text.contains("host-sni-mismatch"), "{text}");
    let f = &app.diff.offered[0].finding;
    let first_words: String = f.message.chars().take(30).collect();
    assert!(
        text.contains(&first_words),
        "the finding is explained:\n{text}"
    );
    assert!(text.contains("fix: "), "{text}");

    press(&mut app, &[KeyCode::Char('a')]);
    assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
    assert!(
        app.diff.text.contains("proxy_set_header Host"),
        "{}",
        app.diff.text
    );
    assert!(app.diff.offered.is_empty());
    assert_eq!(app.diff.taken.len(), 1);
    assert!(app
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("1 follow-up applied"));
    let text = screen_text(&render(&app, 120, 40));
    assert!(
        text.contains("taken host-sni-mismatch conf.d/api-gateway.conf:26"),
        "{text}"
    );
    assert!(text.contains("+ 1 follow-up"), "{text}");
    // One by one: Tab reaches the follow-ups, Space drops the taken one
    // and takes it again.
    press(&mut app, &[KeyCode::Tab]);
    assert!(app.diff.focus_ups);
    let text = screen_text(&render(&app, 120, 40));
    assert!(text.contains("Space takes or drops"), "{text}");
    assert!(text.contains("▶ taken host-sni-mismatch"), "{text}");
    press(&mut app, &[KeyCode::Char(' ')]);
    assert!(app.fix.take.is_empty());
    assert!(
        !app.diff.text.contains("proxy_set_header Host"),
        "{}",
        app.diff.text
    );
    assert_eq!(app.diff.offered.len(), 1);
    assert!(app
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("taken out of the diff"));
    // The cursor is on it again, now offered; j/k stay within the list.
    press(&mut app, &[KeyCode::Char('j'), KeyCode::Char('k')]);
    assert_eq!(app.diff.ups_cursor, 0);
    press(&mut app, &[KeyCode::Char(' ')]);
    assert!(
        app.diff.text.contains("proxy_set_header Host"),
        "{}",
        app.diff.text
    );
    assert!(app.diff.focus_ups, "the view stays where it was");
    press(&mut app, &[KeyCode::Tab]);
    assert!(!app.diff.focus_ups);
    // Esc back in the stack goes to the fix screen, not another diff.
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::Fix);
}

/// A follow-up taken goes through the same planner as the basket: the Host
/// header for the outer hop alone would change the hop in its `if` block,
/// so it is not applied, the status says why, and the diff (what `w`
/// saves) stays without it; taking both applies them.
#[test]
fn a_follow_up_the_planner_refuses_is_not_applied_and_says_why() {
    let model = hopscope::test_support::model(&[(
        "nginx.conf",
        "events {}\nhttp {\n    upstream backend_pool {\n        server backend-1.example.com:443;\n    }\n    server {\n        listen 80;\n        location /v1/ {\n            proxy_pass https://backend_pool;\n            proxy_ssl_name api.example.com;\n            if ($request_method = POST) {\n                proxy_pass https://backend_pool;\n            }\n        }\n    }\n}\n",
    )]);
    let mut app = App::new(model, "test".into());
    press(&mut app, &[KeyCode::Char('F'), KeyCode::Char('X')]);
    for i in 0..app.fix.items.len() {
        if app.findings[app.fix.items[i].finding].rule == "sni-off" {
            app.fix.cursor = i;
            press(&mut app, &[KeyCode::Char(' ')]);
        }
    }
    assert_eq!(app.fix.basket.len(), 2);
    press(&mut app, &[KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff, "{:?}", app.status);
    let before = app.diff.changed.clone();
    assert_eq!(app.diff.offered.len(), 2, "{:?}", app.diff.offered);
    // Take only the outer hop's follow-up.
    let outer = app
        .diff
        .offered
        .iter()
        .position(|o| o.hop == "nginx.conf:9")
        .unwrap();
    press(&mut app, &[KeyCode::Tab]);
    app.diff.ups_cursor = outer;
    press(&mut app, &[KeyCode::Char(' ')]);
    assert_eq!(app.screen(), Screen::Diff);
    let status = app.status.as_ref().unwrap();
    assert!(status.error, "{status:?}");
    assert!(
        status
            .text
            .contains("follow-up host-sni-mismatch at nginx.conf:9 not applied")
            && status.text.contains("nginx.conf:12"),
        "{}",
        status.text
    );
    assert!(app.diff.taken.is_empty());
    assert!(app.fix.take.is_empty());
    assert_eq!(app.diff.changed, before, "what w saves is unchanged");
    // Both together: applied.
    press(&mut app, &[KeyCode::Char('a')]);
    assert_eq!(app.diff.taken.len(), 2, "{:?}", app.status);
    assert!(added(&app).contains(&"proxy_set_header Host api.example.com;".to_string()));
}
