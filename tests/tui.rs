//! The TUI without a terminal: key sequences change the state as a person
//! expects (update tests), and every screen renders at 80×24, 120×36 and 200×50
//! (snapshot tests with ratatui's TestBackend). Colours that carry meaning
//! are checked on the cells.

use crossterm::event::KeyCode;
use hopscope::conf::{self, Input};
use hopscope::model::{Model, Version};
use hopscope::tui::action::{Action, Effect, Screen};
use hopscope::tui::app::App;
use hopscope::tui::keymap;
use hopscope::tui::theme::Theme;
use hopscope::tui::ui::{self};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

mod tui_support;
use tui_support::*;

#[test]
fn filter_narrows_and_escape_restores() {
    let mut app = demo_app();
    let all = app.rows.len();
    assert_eq!(all, 17);
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "payments");
    assert!(app.capturing());
    press(&mut app, &[KeyCode::Enter]);
    assert!(!app.capturing());
    assert_eq!(app.rows.len(), 3);
    assert!(app
        .rows
        .iter()
        .all(|&h| app.model.hops[h].file.contains("payments")));
    // Filtering by rule id works too.
    press(&mut app, &[KeyCode::Char('/')]);
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.rows.len(), all);
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "sni-ip-literal");
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.rows.len(), 1);
    assert_eq!(app.model.hops[app.rows[0]].id, "conf.d/ingest.conf:24");
}

#[test]
fn stream_hops_are_found_and_sorted_by_their_listen_address() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "listen 6379");
    press(&mut app, &[KeyCode::Enter]);
    let ids: Vec<&str> = app
        .rows
        .iter()
        .map(|&h| app.model.hops[h].id.as_str())
        .collect();
    assert_eq!(ids, ["stream.d/tls-backends.conf:26"]);
    // The "where" column shows it.
    assert!(screen_text(&render(&app, 160, 48)).contains("listen 6379"));

    press(&mut app, &[KeyCode::Char('/')]);
    press(&mut app, &[KeyCode::Esc]);
    // Sorted by server (file, severity, server): a server's hops stay
    // together, by name; servers without a name (the stream ones) come
    // after the named ones, by listen port as a number.
    press(&mut app, &[KeyCode::Char('s')]);
    press(&mut app, &[KeyCode::Char('s')]);
    let places: Vec<String> = app
        .rows
        .iter()
        .map(|&h| hopscope::report::labels::place(&app.model.hops[h], " "))
        .collect();
    assert_eq!(
        places.first().map(String::as_str),
        Some("api.gateway.example.com /v1/")
    );
    let named: Vec<&String> = places
        .iter()
        .take_while(|p| !p.starts_with("listen "))
        .collect();
    let mut sorted = named.clone();
    sorted.sort();
    assert_eq!(named, sorted);
    assert_eq!(places[named.len()..], ["listen 389", "listen 6379"]);
}

#[test]
fn sorting_by_severity_puts_the_worst_first() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('s')]);
    let sev: Vec<_> = app.rows.iter().map(|&h| app.hop_severity[h]).collect();
    let mut sorted = sev.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(sev, sorted);
}

#[test]
fn detail_to_source_and_back() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/intranet.conf:23");
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
    // Walk down to the first explicitly set value and open its source.
    let h = app.selected_hop().unwrap();
    let explicit = app.model.hops[h]
        .settings
        .iter()
        .position(|s| !s.is_default())
        .unwrap();
    // (Past the pass line and the hop's findings, if any.)
    for _ in 0..=(explicit + app.by_hop[h].len()) {
        press(&mut app, &[KeyCode::Down]);
    }
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Source);
    let (file, line) = app.source.unwrap();
    let setting = &app.model.hops[h].settings[explicit];
    let hopscope::model::Origin::Explicit(p) = &setting.origin else {
        panic!()
    };
    assert_eq!(
        (app.model.config.file(file).name.as_str(), line),
        (&*p.file, p.line)
    );
    // n walks the hop's chain down towards the hop, across files.
    let before = app.mark_index;
    press(&mut app, &[KeyCode::Char('n')]);
    assert_eq!(app.mark_index, (before + 1) % app.source_marks.len());
    assert!(app.status.as_ref().unwrap().text.contains("of the chain"));
    // The chain starts at http and ends at the hop.
    assert!(app.source_marks[0].1.contains("http block"));
    assert_eq!(app.source_marks.last().unwrap().1, "the hop");
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::Detail);
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::List);
}

#[test]
fn fix_flow_previews_a_diff_and_refuses_to_save_the_demo() {
    let mut app = demo_app();
    // The hop whose public name is never sent: a high finding.
    select_hop(&mut app, "conf.d/api-gateway.conf:26");
    press(&mut app, &[KeyCode::Char('f')]);
    assert_eq!(app.screen(), Screen::Fix);
    assert!(!app.fix.items.is_empty());
    assert!(
        app.fix.items.iter().any(|i| app.picked(i.finding)),
        "high findings start selected"
    );
    press(&mut app, &[KeyCode::Char('d')]);
    if app.screen() != Screen::Diff {
        // A value is needed: type it like a person would.
        let missing = app.status.clone().unwrap().text;
        assert!(missing.contains("press e"), "{missing}");
        for i in 0..app.fix.items.len() {
            app.fix.cursor = i;
            while !app.missing_of(i).is_empty() {
                press(&mut app, &[KeyCode::Char('e')]);
                assert!(app.fix.field.is_some());
                type_text(&mut app, "api.internal.example.com");
                press(&mut app, &[KeyCode::Enter]);
            }
        }
        press(&mut app, &[KeyCode::Char('d')]);
    }
    assert_eq!(app.screen(), Screen::Diff);
    assert!(
        app.diff.text.contains("+") && app.diff.text.contains("proxy_ssl_server_name on;"),
        "{}",
        app.diff.text
    );
    assert!(app
        .diff
        .text
        .starts_with("diff --git a/conf.d/api-gateway.conf b/conf.d/api-gateway.conf"));
    let effects = press(&mut app, &[KeyCode::Char('c')]);
    assert_eq!(effects, vec![Effect::Copy(app.diff.text.clone())]);
    let effects = press(&mut app, &[KeyCode::Char('w')]);
    assert!(effects.is_empty());
    assert!(!app.confirm_save);
    assert!(app.status.as_ref().unwrap().text.contains("not on disk"));
}

#[test]
fn help_lists_the_keys_of_the_screen_and_closes_with_its_own_keys() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('?')]);
    assert!(app.help);
    let text = screen_text(&render(&app, 80, 24));
    for b in keymap::own(Screen::List) {
        assert!(
            text.contains(b.desc.split([':', ',', '(']).next().unwrap().trim())
                || text.contains(b.keys),
            "{}",
            b.desc
        );
    }
    // Keys of the screen behind do nothing while help is open.
    press(&mut app, &[KeyCode::Char('j'), KeyCode::Char('s')]);
    assert!(app.help);
    assert_eq!(app.cursor, 0, "j scrolled the help, not the list");
    press(&mut app, &[KeyCode::Char('q')]);
    assert!(!app.help);
    assert!(!app.quit, "q closes help and never quits");
}

#[test]
fn quitting_from_anywhere() {
    let mut app = demo_app();
    press(
        &mut app,
        &[KeyCode::Enter, KeyCode::Char('o'), KeyCode::Char('q')],
    );
    assert!(app.quit);
    let mut app = demo_app();
    assert_eq!(app.update(Action::Quit), vec![]);
    assert!(app.quit);
}

#[test]
fn tiny_terminals_get_a_note_not_a_crash() {
    let app = demo_app();
    let text = screen_text(&render(&app, 20, 5));
    assert!(
        text.contains("needs at") && text.contains("least 40×8"),
        "{text}"
    );
}

fn snap(name: &str, app: &App) {
    snap_without(name, app, None);
}

/// A snapshot with `path` (a temporary directory) written as `[dir]`.
fn snap_without(name: &str, app: &App, path: Option<&std::path::Path>) {
    for (w, h) in [(80, 24), (120, 36), (200, 50)] {
        let mut text = screen_text(&render(app, w, h));
        if let Some(p) = path {
            text = text.replace(&p.display().to_string(), "[dir]");
        }
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
    }
}

#[test]
fn snapshots_of_every_screen() {
    let mut app = demo_app();
    snap("list", &app);
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    press(&mut app, &[KeyCode::Enter]);
    snap("detail", &app);
    let h = app.selected_hop().unwrap();
    assert!(!app.by_hop[h].is_empty());
    // Findings come right after the pass line.
    press(&mut app, &[KeyCode::Down]);
    assert!(matches!(
        app.selected_detail(),
        Some(hopscope::tui::screens::detail::DetailItem::Finding(_))
    ));
    snap("detail_finding", &app);
    press(&mut app, &[KeyCode::Char('x')]);
    snap("explain", &app);
    press(&mut app, &[KeyCode::Esc, KeyCode::Char('o')]);
    snap("source", &app);
    press(&mut app, &[KeyCode::Esc, KeyCode::Char('f')]);
    snap("fix_picker", &app);
    press(&mut app, &[KeyCode::Char('e')]);
    assert!(
        app.fix.field.is_some(),
        "the first fix of this hop asks for a value: e opens the text field"
    );
    type_text(&mut app, "api.internal.example.com");
    snap("text_field", &app);
    press(&mut app, &[KeyCode::Enter]);
    // Picked, then previewed: the diff of that fix.
    press(&mut app, &[KeyCode::Char(' '), KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff);
    snap("diff", &app);
    press(&mut app, &[KeyCode::Char('?')]);
    snap("help", &app);
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('R')]);
    snap("rules", &app);
    // A configuration with a load error.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nginx.conf"), "http {\n  include missing.conf;\n  server { location / { proxy_pass https://a.example; } }\n}\n").unwrap();
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).unwrap();
    let mut app = App::new(
        Model::build(cfg, Version::NEWEST_STABLE),
        "nginx.conf".into(),
    );
    snap("error_status", &app);
    press(&mut app, &[KeyCode::Char('E')]);
    let text = screen_text(&render(&app, 80, 24));
    assert!(text.contains("nginx.conf:2: cannot include"), "{text}");
    snap_without("errors", &app, Some(dir.path()));
}

#[test]
fn severity_colours_are_on_the_badges() {
    let app = demo_app();
    let theme = Theme::default();
    let term = render(&app, 160, 48);
    let buf = term.backend().buffer();
    // Find a HIGH badge and check its colour comes from the theme.
    let mut found = false;
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(x) = line.find("HIGH") {
            let x = line[..x].chars().count() as u16;
            assert_eq!(
                buf[(x, y)].fg,
                theme
                    .severity_high
                    .fg
                    .unwrap_or(ratatui::style::Color::Reset)
            );
            found = true;
            break;
        }
    }
    assert!(found, "a HIGH badge is shown");
}

/// The demo's tree from disk: the built-in demo itself is never probed.
fn disk_demo_app() -> App {
    let path = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/demo/nginx.conf"
    ));
    let model = hopscope::jobs::Source::Path(path).load(None).unwrap();
    App::new(model, "assets/demo".into())
}

#[test]
fn p_on_a_server_says_it_probes_through_it() {
    let mut app = disk_demo_app();
    app.server = Some("web1".into());
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    let effects = press(&mut app, &[KeyCode::Char('P')]);
    assert_eq!(
        effects,
        vec![Effect::Probe(vec!["conf.d/api-gateway.conf:18".into()])]
    );
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(
        status.contains("through web1 (from the server, over ssh)"),
        "{status}"
    );
    assert!(!status.contains("from this machine"), "{status}");
}

#[test]
fn probing_runs_in_the_background_and_shows_a_verdict() {
    let mut app = disk_demo_app();
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    let effects = press(&mut app, &[KeyCode::Char('P')]);
    assert_eq!(
        effects,
        vec![Effect::Probe(vec!["conf.d/api-gateway.conf:18".into()])]
    );
    assert_eq!(app.probes["conf.d/api-gateway.conf:18"].verdict(), "…");
    // A second P while it runs asks for nothing more.
    assert!(press(&mut app, &[KeyCode::Char('P')]).is_empty());
    // The runner reports: the demo's peers do not resolve here.
    let results = hopscope::probe::probe(
        &app.model,
        &["conf.d/api-gateway.conf:18".to_string()],
        hopscope::probe::Options {
            timeout: std::time::Duration::from_millis(200),
            concurrency: 4,
        },
    );
    assert!(!results.is_empty());
    app.on_probed(results, &["conf.d/api-gateway.conf:18".to_string()]);
    assert_eq!(app.probes["conf.d/api-gateway.conf:18"].verdict(), "fail");
    let text = screen_text(&render(&app, 160, 48));
    assert!(text.contains("probe"), "the list grows a probe column");
    assert!(text.contains("fail"));
}

/// Where `needle` is drawn in the left `width` columns: (column, row) of
/// its first character.
fn drawn_at(term: &Terminal<TestBackend>, needle: &str, width: u16) -> Option<(u16, u16)> {
    let buf = term.backend().buffer();
    for y in 0..buf.area.height {
        let line: String = (0..width.min(buf.area.width))
            .map(|x| buf[(x, y)].symbol())
            .collect();
        if let Some(i) = line.find(needle) {
            let x = line[..i].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}

#[test]
fn a_click_selects_the_row_drawn_there_and_a_second_click_opens_it() {
    for (w, h) in [(80, 24), (120, 36), (200, 50), (100, 12)] {
        let mut app = demo_app();
        let area = ratatui::layout::Rect::new(0, 0, w, h);
        // The hop list: the left 55 % of a wide screen.
        let list_width = if w >= 140 { w * 55 / 100 } else { w };
        // Each row, from the last (the window scrolled) up: the selection
        // mark says which row is drawn where.
        for i in (0..app.rows.len()).rev() {
            app.cursor = i;
            let term = render(&app, w, h);
            let (x, y) = drawn_at(&term, "▶", list_width).expect("the selected row is drawn");
            assert_eq!(
                ui::row_at(&app, area, x + 4, y),
                Some(i),
                "row {i} at {w}x{h}"
            );
        }
        let term = render(&app, w, h);
        // Not a row: the header line, the table's frame and column titles.
        let (_, title_y) = drawn_at(&term, "SNI sent", list_width).unwrap();
        assert_eq!(ui::row_at(&app, area, 10, title_y), None);
        assert_eq!(ui::row_at(&app, area, 10, 0), None);
        assert_eq!(ui::row_at(&app, area, 0, title_y + 1), None, "the frame");

        let target = app.rows.len() - 1;
        let id = app.model.hops[app.rows[target]].id.clone();
        app.update(Action::Click(target));
        assert_eq!((app.cursor, app.screen()), (target, Screen::List));
        app.update(Action::Click(target));
        assert_eq!(app.screen(), Screen::Detail);
        assert_eq!(app.model.hops[app.selected_hop().unwrap()].id, id);
    }
}

#[test]
fn clicks_in_the_fix_picker_select_then_toggle() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/api-gateway.conf:26");
    press(&mut app, &[KeyCode::Char('f')]);
    assert_eq!(app.screen(), Screen::Fix);
    let term = render(&app, 80, 24);
    let area = ratatui::layout::Rect::new(0, 0, 80, 24);
    let (x, y) = drawn_at(&term, "verify-off", 80).expect("verify-off offered");
    let row = ui::row_at(&app, area, x, y).expect("a fix row");
    assert_eq!(app.findings[app.fix.items[row].finding].rule, "verify-off");
    let finding = app.fix.items[row].finding;
    let before = app.picked(finding);
    app.update(Action::Click(row));
    assert_eq!(app.fix.cursor, row);
    assert_eq!(app.picked(finding), before, "the first click selects");
    app.update(Action::Click(row));
    assert_eq!(app.picked(finding), !before, "the second toggles");
    // Below the fixes, in what the fix does: not a row.
    assert_eq!(ui::row_at(&app, area, x, 20), None);
}

/// A file with a pass directive included from two locations: two hops, and
/// the TUI shows, selects, details and fixes each one as itself.
#[test]
fn a_file_included_twice_is_two_hops_in_every_screen() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n    server {\n        server_name app.example.com;\n        location /a {\n            proxy_ssl_server_name on;\n            include common.conf;\n        }\n        location /b {\n            include common.conf;\n        }\n    }\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("common.conf"),
        "# shared\nproxy_pass https://api.example.com;\n",
    )
    .unwrap();
    let load = || {
        let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).unwrap();
        Model::build(cfg, Version::NEWEST_STABLE)
    };
    let mut app = App::new(load(), "nginx.conf".into());
    let (a, b) = ("common.conf:2@nginx.conf:6", "common.conf:2@nginx.conf:9");
    let list = screen_text(&render(&app, 160, 48));
    assert!(list.contains(a) && list.contains(b), "{list}");

    // Found by its id, and kept selected across a reload.
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "@nginx.conf:9");
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.rows.len(), 1);
    assert_eq!(app.model.hops[app.rows[0]].id, b);
    press(&mut app, &[KeyCode::Char('/')]);
    press(&mut app, &[KeyCode::Esc]);
    select_hop(&mut app, b);
    app.replace_model(load());
    let h = app.selected_hop().unwrap();
    assert_eq!(app.model.hops[h].id, b);

    // Its detail: the include path, its own SNI and its own findings.
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
    let detail = screen_text(&render(&app, 160, 48));
    assert!(detail.contains(&format!("Hop {b}")), "{detail}");
    assert!(detail.contains("via nginx.conf:9"), "{detail}");
    assert!(detail.contains("app.example.com › /b"), "{detail}");
    assert!(detail.contains("sni-off"), "{detail}");
    let rules = |app: &App, id: &str| -> Vec<&'static str> {
        let h = app.model.hop_by_id(id).unwrap();
        app.by_hop[h]
            .iter()
            .map(|&i| app.findings[i].rule)
            .collect()
    };
    assert!(rules(&app, b).contains(&"sni-off"));
    assert!(!rules(&app, a).contains(&"sni-off"));

    // Its fix goes into its own location, and changes only this hop.
    press(&mut app, &[KeyCode::Char('f')]);
    assert_eq!(app.screen(), Screen::Fix);
    let item = app
        .fix
        .items
        .iter()
        .position(|i| app.findings[i.finding].rule == "sni-off")
        .unwrap();
    app.fix.cursor = item;
    assert_eq!(app.impact_of(item), [b]);
    // Only this fix in the basket.
    press(&mut app, &[KeyCode::Char('X')]);
    assert!(app.fix.basket.is_empty());
    press(&mut app, &[KeyCode::Char(' ')]);
    assert_eq!(app.fix.basket.len(), 1);
    press(&mut app, &[KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff);
    assert!(
        app.diff.text.contains(
            "         location /b {\n+            proxy_ssl_server_name on;\n             include common.conf;"
        ),
        "{}",
        app.diff.text
    );
}

/// When the hop's own block is inside the shared file, the fix screen says
/// that the fix changes both include paths.
#[test]
fn a_fix_in_a_shared_file_shows_it_changes_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n    server {\n        listen 80;\n        include loc.conf;\n    }\n    server {\n        listen 81;\n        include loc.conf;\n    }\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("loc.conf"),
        "location / {\n    proxy_pass https://api.example.com;\n}\n",
    )
    .unwrap();
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).unwrap();
    let mut app = App::new(
        Model::build(cfg, Version::NEWEST_STABLE),
        "nginx.conf".into(),
    );
    let (a, b) = ("loc.conf:2@nginx.conf:4", "loc.conf:2@nginx.conf:8");
    select_hop(&mut app, a);
    press(&mut app, &[KeyCode::Char('f')]);
    let item = app
        .fix
        .items
        .iter()
        .position(|i| app.findings[i.finding].rule == "sni-off")
        .unwrap();
    app.fix.cursor = item;
    assert_eq!(app.impact_of(item), [a, b]);
    let text = screen_text(&render(&app, 160, 48));
    assert!(
        text.contains(&format!("changes 2 hops: {a}, {b}")),
        "{text}"
    );
}

#[test]
fn the_detail_of_a_pass_built_from_variables_says_when_it_opens_tls() {
    let m = hopscope::test_support::model(&[(
        "nginx.conf",
        "events {}\nhttp {\n\
         server {\n listen 80;\n listen 443 ssl;\n server_name app.example.com;\n\
         location / {\n set $upstream_app api.example.com;\n\
         proxy_pass $scheme://$upstream_app;\n }\n }\n}\n",
    )]);
    let mut app = App::new(m, "test".into());
    press(&mut app, &[KeyCode::Enter]);
    let text = screen_text(&render(&app, 160, 48));
    assert!(
        text.contains("TLS     only when the request arrived over TLS ($scheme); other requests do not use TLS here (possible hop)"),
        "{text}"
    );
    assert!(
        text.contains("value   the request arrived over TLS ($scheme), $upstream_app = api.example.com: https://api.example.com (proxy_host api.example.com), SNI none"),
        "{text}"
    );
    // The findings say under which condition.
    assert!(
        text.contains("when the request arrived over TLS ($scheme): proxy_ssl_server_name is off"),
        "{text}"
    );
}

/// A copy of a server's tree: the hop's detail says its certificate files
/// were not checked, and how to check them.
#[test]
fn the_detail_says_when_certificate_files_were_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(
        &conf_path,
        "events {}\nhttp { server { listen 80; location / { proxy_pass https://api.example.com; proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/hopscope-test/ca.pem; } } }\n",
    )
    .unwrap();
    let cfg = conf::load(&Input::Path(conf_path)).unwrap();
    let mut app = App::new(Model::build(cfg, Version::NEWEST_STABLE), "copy".into());
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
    let text = screen_text(&render(&app, 160, 48));
    assert!(
        text.contains("files   certificate files not checked: the tree was loaded from a copy"),
        "{text}"
    );
    assert!(text.contains("use --root DIR"), "{text}");
}

/// A typed value is checked by the fix layer as it is typed: the problem
/// shows under the field, Enter does not take a refused value, and a value
/// that is taken is the hop's own.
#[test]
fn a_url_typed_for_a_host_name_is_refused_under_the_field() {
    let mut app = demo_app();
    let hop = "conf.d/api-gateway.conf:18";
    select_hop(&mut app, hop);
    press(&mut app, &[KeyCode::Char('f')]);
    assert_eq!(app.screen(), Screen::Fix);
    let key = format!("{hop}:sni-name");
    let item = (0..app.fix.items.len())
        .find(|&i| app.missing_of(i).iter().any(|(k, _)| *k == key))
        .expect("a fix of the hop asks for its host name");
    app.fix.cursor = item;
    press(&mut app, &[KeyCode::Char('e')]);
    assert_eq!(
        app.fix.field.as_ref().map(|f| f.key.as_str()),
        Some(key.as_str())
    );
    type_text(&mut app, "https://api.example.com/");
    let shown = screen_text(&render(&app, 110, 32));
    assert!(shown.contains("https://api.example.com/"), "{shown}");
    assert!(shown.contains("not accepted:"), "{shown}");
    assert!(shown.contains("is a URL, not a host name"), "{shown}");
    assert!(shown.contains("give api.example.com"), "{shown}");

    press(&mut app, &[KeyCode::Enter]);
    assert!(app.fix.field.is_some(), "the field stays open");
    let status = app.status.clone().unwrap();
    assert!(
        status.error && status.text.starts_with("not set:"),
        "{}",
        status.text
    );
    assert!(app.fix.typed.is_empty());
    assert_eq!(app.fix.values.get(hop, "sni-name"), None);
    assert!(app.missing_of(item).iter().any(|(k, _)| *k == key));

    // Corrected: the port is accepted and noted as cut.
    for _ in 0.."https://api.example.com/".len() {
        press(&mut app, &[KeyCode::Backspace]);
    }
    type_text(&mut app, "api.example.com:8443");
    let shown = screen_text(&render(&app, 110, 32));
    assert!(!shown.contains("not accepted:"), "{shown}");
    assert!(
        !shown.contains("not set:"),
        "typing clears the refusal: {shown}"
    );
    assert!(shown.contains("the port is cut"), "{shown}");
    press(&mut app, &[KeyCode::Enter]);
    assert!(app.fix.field.is_none());
    assert_eq!(
        app.fix.values.get(hop, "sni-name"),
        Some("api.example.com:8443")
    );
    // The hop's own: no other hop gets it.
    for other in app.model.hops.iter().filter(|h| h.id != hop) {
        assert_eq!(
            app.fix.values.get(&other.id, "sni-name"),
            None,
            "{}",
            other.id
        );
    }
}

#[test]
fn the_header_says_whose_defaults_apply_and_where_they_came_from() {
    use hopscope::model::{VersionChoice, VersionFrom};
    let cfg = hopscope::jobs::Source::Demo.config().unwrap();
    let choice = VersionChoice {
        version: Version(1, 22, 1),
        from: VersionFrom::ThisMachine,
        note: None,
    };
    let app = App::new(Model::build_for(cfg, choice), "/etc/nginx".into());
    let header = |w: u16| {
        screen_text(&render(&app, w, 24))
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let wide = header(160);
    assert!(
        wide.ends_with("│ /etc/nginx │ nginx 1.22.1 (nginx -v here)"),
        "{wide}"
    );
    // Narrower: the version alone rather than nothing.
    let narrow = header(100);
    assert!(narrow.ends_with("│ nginx 1.22.1"), "{narrow}");
    let server = VersionChoice {
        version: Version(1, 24, 0),
        from: VersionFrom::Server,
        note: None,
    };
    let cfg = hopscope::jobs::Source::Demo.config().unwrap();
    let app = App::new(Model::build_for(cfg, server), "ssh web1".into());
    let line = screen_text(&render(&app, 160, 24));
    assert!(
        line.lines()
            .next()
            .unwrap()
            .ends_with("nginx 1.24.0 (server's nginx -v)"),
        "{line}"
    );
}
