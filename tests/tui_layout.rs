//! The hop list's layout and meaning, as a person sees them: the SNI's
//! colour for each kind of name, the header's counts, the order of files
//! and servers, `F` under a filter, Enter on a load error, and a dump's
//! files named relative to its main file.

use crossterm::event::KeyCode;
use hopscope::conf::{self, Input};
use hopscope::model::{Model, SniKind, Version};
use hopscope::tui::action::Screen;
use hopscope::tui::app::App;
use hopscope::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::style::Style;
use ratatui::Terminal;

mod tui_support;
use tui_support::render_plain as render;
use tui_support::*;

fn app_of(dir: &std::path::Path) -> App {
    let cfg = conf::load(&Input::Path(dir.join("nginx.conf"))).unwrap();
    App::new(
        Model::build(cfg, Version::NEWEST_STABLE),
        "nginx.conf".into(),
    )
}

fn filter(app: &mut App, text: &str) {
    press(app, &[KeyCode::Char('/')]);
    for c in text.chars() {
        press(app, &[KeyCode::Char(c)]);
    }
    press(app, &[KeyCode::Enter]);
}

fn lines(term: &Terminal<TestBackend>) -> Vec<String> {
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

fn ids(app: &App) -> Vec<String> {
    app.rows
        .iter()
        .map(|&h| app.model.hops[h].id.clone())
        .collect()
}

#[test]
fn the_sni_column_colours_each_kind_of_name_as_the_theme_says() {
    let app = demo_app();
    let theme = Theme::default();
    let cases = [
        ("conf.d/payments.conf:16", SniKind::Right, theme.sni_right),
        (
            "conf.d/api-gateway.conf:18",
            SniKind::NotSent,
            theme.sni_none,
        ),
        (
            "stream.d/tls-backends.conf:26",
            SniKind::GroupOrAddress,
            theme.sni_group,
        ),
        (
            "conf.d/intranet.conf:51",
            SniKind::Dynamic,
            theme.sni_dynamic,
        ),
        (
            "conf.d/intranet.conf:43",
            SniKind::OtherHost,
            theme.sni_other_host,
        ),
    ];
    for size in [(80, 26), (120, 36)] {
        let term = render(&app, size.0, size.1);
        let shown = lines(&term);
        let head_y = shown.iter().position(|l| l.contains("SNI sent")).unwrap();
        let x = shown[head_y].find("SNI sent").unwrap();
        let x = shown[head_y][..x].chars().count() as u16;
        for (id, kind, style) in cases {
            let h = app.model.hop_by_id(id).expect(id);
            assert_eq!(app.sni_kinds[h], kind, "{id}");
            let row = app.rows.iter().position(|&r| r == h).unwrap();
            let y = head_y as u16 + 1 + row as u16;
            let cell = &term.backend().buffer()[(x, y)];
            let want: Style = style;
            assert_eq!(cell.fg, want.fg.unwrap(), "{id} at {size:?}");
            assert!(
                cell.modifier.contains(want.add_modifier),
                "{id} at {size:?}"
            );
            // The whole name, not cut, in the column.
            let name = hopscope::report::labels::sni(&app.model.hops[h]);
            let line = &shown[y as usize];
            assert!(line.contains(&format!(" {name} ")), "{id}: {line}");
        }
    }
    // The name written for /api/ on the hop to writer.internal… reads as
    // another host's, the one it was written for as right.
    let api = app.model.hop_by_id("conf.d/intranet.conf:35").unwrap();
    assert_eq!(app.sni_kinds[api], SniKind::Right);
    // The detail says what the colour means.
    let mut app = app;
    let h = app.model.hop_by_id("conf.d/intranet.conf:43").unwrap();
    app.cursor = app.rows.iter().position(|&r| r == h).unwrap();
    press(&mut app, &[KeyCode::Enter]);
    let text = lines(&render(&app, 120, 36)).join("\n");
    assert!(
        text.contains("api.internal.example.com  (a name written for another host)"),
        "{text}"
    );
}

#[test]
fn the_header_counts_hops_by_their_worst_finding_and_findings_apart() {
    let app = demo_app();
    for w in [80, 120, 200] {
        let shown = lines(&render(&app, w, 30));
        let header = shown[0].trim_end();
        assert!(
            header.contains("17 hops: 2 high · 11 medium · 1 low · 3 ok"),
            "{header}"
        );
        // The badges the list shows agree with the header.
        let badges = |b: &str| {
            shown
                .iter()
                .filter(|l| l.contains(&format!(" {b} ")) && l.starts_with('│'))
                .count()
        };
        assert_eq!(
            (badges("HIGH"), badges("MED"), badges("LOW"), badges("ok")),
            (2, 11, 1, 3),
            "at {w}"
        );
        let findings = app
            .findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .count();
        assert!(
            header.contains(&format!("│ {findings} findings")),
            "{header}"
        );
        assert!(header.chars().count() <= w as usize);
    }
}

#[test]
fn files_sort_as_people_count() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sites")).unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    include sites/*.conf;\n}\n",
    )
    .unwrap();
    for n in [100, 2, 10, 1] {
        std::fs::write(
            dir.path().join(format!("sites/site{n}.conf")),
            format!(
                "server {{\n    server_name s{n}.example.com;\n    location / {{ proxy_pass https://b{n}.example.com; }}\n}}\n"
            ),
        )
        .unwrap();
    }
    let mut app = app_of(dir.path());
    let want = [
        "sites/site1.conf:3",
        "sites/site2.conf:3",
        "sites/site10.conf:3",
        "sites/site100.conf:3",
    ];
    assert_eq!(ids(&app), want);
    // As drawn, top to bottom.
    let shown = lines(&render(&app, 120, 30)).join("\n");
    let at: Vec<usize> = want.iter().map(|id| shown.find(id).expect(id)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{shown}");
    // By server: names as people count too.
    press(&mut app, &[KeyCode::Char('s'), KeyCode::Char('s')]);
    assert_eq!(ids(&app), want);
}

#[test]
fn fix_all_takes_the_filtered_hops_and_a_selects_all_or_none() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('F')]);
    assert_eq!(app.screen(), Screen::Fix);
    let all = app.fix.items.len();
    press(&mut app, &[KeyCode::Esc]);
    filter(&mut app, "payments");
    let shown = app.rows.clone();
    assert!(!shown.is_empty() && shown.len() < app.model.hops.len());
    press(&mut app, &[KeyCode::Char('F')]);
    assert_eq!(app.screen(), Screen::Fix);
    let items = app.fix.items.len();
    assert!(items > 0 && items < all, "{items} of {all}");
    for it in &app.fix.items {
        let hop = app.findings[it.finding].hop.unwrap();
        assert!(shown.contains(&hop), "a fix of a hop the filter hides");
    }
    let text = lines(&render(&app, 120, 36)).join("\n");
    assert!(text.contains("hops matching payments"), "{text}");
    assert!(text.contains("a all/none"), "the footer names the key");
    // a: all in the basket; a again: none.
    press(&mut app, &[KeyCode::Char('a')]);
    assert_eq!(app.fix.basket.len(), items);
    let text = lines(&render(&app, 120, 36)).join("\n");
    assert!(
        text.contains(&format!("Fixes ({items} selected of {items})")),
        "{text}"
    );
    press(&mut app, &[KeyCode::Char('a')]);
    assert!(app.fix.basket.is_empty());
}

#[test]
fn enter_on_a_load_error_opens_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n  include missing.conf;\n  server { location / { proxy_pass https://a.example; } }\n}\n",
    )
    .unwrap();
    let mut app = app_of(dir.path());
    press(&mut app, &[KeyCode::Char('E')]);
    assert_eq!(app.screen(), Screen::Errors);
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Source);
    let main = app.model.config.file_named("nginx.conf").unwrap();
    assert_eq!(app.source, Some((main, 2)));
    let shown = lines(&render(&app, 80, 24));
    assert!(shown[1].contains("nginx.conf"), "{}", shown[1]);
    assert!(
        shown
            .iter()
            .any(|l| l.contains("2   ") && l.contains("include missing.conf;")),
        "{}",
        shown.join("\n")
    );
    // Back to the errors, where it was.
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::Errors);
}

#[test]
fn a_dump_names_its_files_from_its_main_files_directory() {
    let dump = "# configuration file /srv/tree3/nginx.conf:\n\
        events {}\nhttp {\n    include /srv/tree3/conf.d/*.conf;\n}\n\n\
        # configuration file /srv/tree3/conf.d/ingest.conf:\n\
        server {\n    server_name ingest.example.com;\n    location / {\n        proxy_pass https://10.0.4.22;\n        proxy_ssl_verify on;\n    }\n}\n";
    let cfg = conf::from_bytes(dump.as_bytes().to_vec(), None).unwrap();
    let mut app = App::new(Model::build(cfg, Version::NEWEST_STABLE), "-".into());
    assert_eq!(ids(&app), ["/srv/tree3/conf.d/ingest.conf:4"]);
    let list = lines(&render(&app, 120, 36)).join("\n");
    assert!(list.contains("conf.d/ingest.conf:4"), "{list}");
    assert!(!list.contains("/srv/tree3"), "{list}");
    press(&mut app, &[KeyCode::Enter]);
    let detail = lines(&render(&app, 120, 36)).join("\n");
    assert!(detail.contains("Hop conf.d/ingest.conf:4"), "{detail}");
    assert!(!detail.contains("/srv/tree3"), "{detail}");
    press(&mut app, &[KeyCode::Char('o')]);
    let source = lines(&render(&app, 120, 36)).join("\n");
    assert!(source.contains("┌ conf.d/ingest.conf "), "{source}");
}

#[test]
fn servers_sort_by_name_then_nameless_ones_by_port() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\n\
         stream {\n\
             server { listen 10443; proxy_pass a.example.com:443; proxy_ssl on; }\n\
             server { listen 127.0.0.1:9443; proxy_pass b.example.com:443; proxy_ssl on; }\n\
         }\n\
         http {\n\
             server { listen 443; server_name zeta.example.com;\n\
                 location / { proxy_pass https://z.example.com; } }\n\
             server { listen 8443; server_name alpha.example.com;\n\
                 location / { proxy_pass https://y.example.com; } }\n\
         }\n",
    )
    .unwrap();
    let mut app = app_of(dir.path());
    press(&mut app, &[KeyCode::Char('s'), KeyCode::Char('s')]);
    let places: Vec<String> = app
        .rows
        .iter()
        .map(|&h| hopscope::report::labels::place(&app.model.hops[h], " "))
        .collect();
    assert_eq!(
        places,
        [
            "alpha.example.com /",
            "zeta.example.com /",
            "listen 127.0.0.1:9443",
            "listen 10443"
        ]
    );
}

#[test]
fn at_80_columns_every_hop_reads_apart_and_the_strip_shows_it_whole() {
    let mut app = demo_app();
    let shown = lines(&render(&app, 80, 26));
    // The rows without their badge: no two alike, though the file column
    // gave way (two locations of one server keep their location).
    let rows: Vec<String> = shown[3..20]
        .iter()
        .map(|l| l.chars().skip(8).collect())
        .collect();
    assert!(shown[21].starts_with('└'), "{}", shown.join("\n"));
    let mut unique = rows.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), rows.len(), "{}", shown.join("\n"));
    assert!(
        rows[0].contains("/v2/") && rows[1].contains("/v1/"),
        "{rows:?}"
    );
    // The selected hop's values, whole, under the list, and its worst
    // finding on the line they leave.
    let h = app.model.hop_by_id("conf.d/intranet.conf:43").unwrap();
    app.cursor = app.rows.iter().position(|&r| r == h).unwrap();
    let shown = lines(&render(&app, 80, 26));
    let strip = shown[22..25].join("\n");
    for whole in [
        "api.internal.example.com (a name written for another host)",
        "intranet.example.com /api/ › if ($request_method = POST)",
        "https://writer.internal.example.com",
        "conf.d/intranet.conf:43",
    ] {
        assert!(strip.contains(whole), "{whole}\n{strip}");
    }
    let h = app.model.hop_by_id("conf.d/api-gateway.conf:26").unwrap();
    app.cursor = app.rows.iter().position(|&r| r == h).unwrap();
    let shown = lines(&render(&app, 80, 26));
    assert!(shown[24].contains(" HIGH "), "{}", shown[22..25].join("\n"));
}
