//! The source view without a terminal (ratatui's TestBackend): the hop's
//! chain shows the include that brought a file in and the blocks around
//! the hop, the current line is marked, annotations say what a line does
//! without repeating it and are never cut, long lines scroll sideways, and
//! `n` follows the chain into another file. Snapshots at three sizes.

use crossterm::event::KeyCode;
use hopscope::tui::action::Screen;
use hopscope::tui::app::App;
use hopscope::tui::theme::Theme;

mod tui_support;
use tui_support::*;

/// The demo's /admin/reports/ hop, its source open at the pass directive.
fn reports_source() -> App {
    let mut app = demo_app();
    let pos = app
        .rows
        .iter()
        .position(|&h| app.model.hops[h].id == "conf.d/intranet.conf:23")
        .unwrap();
    app.cursor = pos;
    press(&mut app, &[KeyCode::Char('o')]);
    assert_eq!(app.screen(), Screen::Source);
    app
}

/// The screen row that shows file line `n` (its number in the gutter).
fn row_of(text: &str, n: u32) -> &str {
    text.lines()
        .find(|l| {
            let inner = l.trim_start_matches('│').trim_start_matches(['▶', ' ']);
            inner.starts_with(&format!("{n} ")) || inner == n.to_string()
        })
        .unwrap_or_else(|| panic!("line {n} is not shown:\n{text}"))
}

#[test]
fn the_chain_shows_the_include_and_the_blocks_around_the_hop() {
    let app = reports_source();
    let text = screen_text(&render(&app, 200, 50));
    assert!(text.contains("conf.d/intranet.conf · n/N"), "{text}");
    // The include that brings the snippet in, and what it brings.
    let include = row_of(&text, 18);
    assert!(
        include.contains("include snippets/upstream-tls.conf;"),
        "{text}"
    );
    assert!(
        include.contains("● ") && include.contains("← include brings snippets/upstream-tls.conf"),
        "{text}"
    );
    // The blocks around the hop are marked as such.
    for n in [8, 15, 22] {
        assert!(
            row_of(&text, n).contains("← the hop is in this"),
            "line {n}:\n{text}"
        );
    }
    assert!(row_of(&text, 15).contains("location /admin/ {"), "{text}");
    assert!(row_of(&text, 8).contains("this server block"), "{text}");
    // The server's own proxy_ssl_server_name does not reach this hop (the
    // snippet sets it again in /admin/): it is not marked.
    assert!(!row_of(&text, 13).contains('●'), "{text}");
}

#[test]
fn the_current_line_has_a_marker_and_the_selection() {
    let app = reports_source();
    let term = render(&app, 120, 36);
    let text = screen_text(&term);
    let row = row_of(&text, 23);
    assert!(row.starts_with("│▶ 23 ● "), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains('▶')).count(),
        1,
        "{text}"
    );
    // The current line's code carries the selection style.
    let y = text.lines().position(|l| l.contains("│▶ 23")).unwrap() as u16;
    let buf = term.backend().buffer();
    let x = (0..buf.area.width)
        .find(|&x| buf[(x, y)].symbol() == "p")
        .unwrap();
    assert_eq!(buf[(x, y)].bg, Theme::default().selection.bg.unwrap());
    // j moves it.
    let mut app = app;
    press(&mut app, &[KeyCode::Char('j')]);
    let text = screen_text(&render(&app, 120, 36));
    assert!(row_of(&text, 24).starts_with("│▶ 24"), "{text}");
}

#[test]
fn annotations_do_not_repeat_the_line_and_are_never_cut() {
    let mut app = reports_source();
    for (w, h) in [(80, 24), (120, 36)] {
        // Walk the whole chain: each mark's annotation shows in full.
        for _ in 0..app.source_marks.len() {
            press(&mut app, &[KeyCode::Char('n')]);
            let (d, label) = app.source_marks[app.mark_index].clone();
            let text = screen_text(&render(&app, w, h));
            let flat: String = text
                .lines()
                .map(|l| l.trim_matches('│').trim())
                .collect::<Vec<_>>()
                .join(" ");
            let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(&format!("← {label}")), "{label}:\n{text}");
            // The annotation says what the line does, not what it says:
            // neither its value nor the line itself.
            let args = app.model.dir(d).args_joined();
            if !label.starts_with("include brings") {
                let words = format!(" {} ", label.replace([',', ';'], " "));
                assert!(
                    args.is_empty() || !words.contains(&format!(" {args} ")),
                    "{label}"
                );
            }
            let file = app.model.config.file(d.file);
            let (n, _) = app.model.line_col(d);
            let line = String::from_utf8_lossy(&file.text)
                .lines()
                .nth(n as usize - 1)
                .unwrap()
                .trim()
                .to_string();
            assert!(!label.contains(&line), "{label}");
        }
    }
}

#[test]
fn long_lines_scroll_sideways_and_wrap() {
    let mut app = reports_source();
    let before = screen_text(&render(&app, 80, 24));
    assert!(
        row_of(&before, 23).contains("proxy_pass https://reports"),
        "{before}"
    );
    press(&mut app, &[KeyCode::Char('L'), KeyCode::Char('L')]);
    assert_eq!(app.source_hscroll, 16);
    let after = screen_text(&render(&app, 80, 24));
    // The code moved 16 columns left; the gutter and its number stayed.
    let row = row_of(&after, 23);
    assert!(row.starts_with("│▶ 23 ● "), "{after}");
    assert!(
        row.contains("ss https://reports.internal.example.com;"),
        "{after}"
    );
    assert!(!row.contains("proxy_pa"), "{after}");
    assert!(after.contains("H/L ← 16 cols →"), "{after}");
    press(&mut app, &[KeyCode::Left, KeyCode::Char('H')]);
    assert_eq!(app.source_hscroll, 0);
    // z wraps: a line wider than the view continues on the next row.
    press(&mut app, &[KeyCode::Char('z')]);
    assert!(app.source_wrap);
    let narrow = screen_text(&render(&app, 44, 24));
    let rows: Vec<&str> = narrow.lines().collect();
    let at = rows.iter().position(|l| l.starts_with("│▶ 23")).unwrap();
    assert!(rows[at].ends_with("proxy_pass https://repo│"), "{narrow}");
    assert!(
        rows[at + 1].trim_matches('│').trim() == "rts.internal.example.com;",
        "{narrow}"
    );
    assert!(rows[at + 2].contains("← the hop"), "{narrow}");
}

#[test]
fn n_follows_the_chain_into_the_included_file() {
    let mut app = reports_source();
    // From the hop, n wraps to the top of the chain (http in nginx.conf)
    // and walks down; after the include at intranet.conf:18 comes the
    // snippet.
    let mut seen = Vec::new();
    for _ in 0..app.source_marks.len() {
        press(&mut app, &[KeyCode::Char('n')]);
        let (file, line) = app.source.unwrap();
        seen.push(format!("{}:{line}", app.model.config.file(file).name));
    }
    let at = seen
        .iter()
        .position(|s| s == "conf.d/intranet.conf:18")
        .unwrap();
    assert_eq!(seen[at + 1], "snippets/upstream-tls.conf:5", "{seen:?}");
    assert_eq!(seen[0], "nginx.conf:13", "{seen:?}");
    assert_eq!(seen.last().unwrap(), "conf.d/intranet.conf:23", "{seen:?}");
    // The title follows the file.
    while app
        .source
        .map(|(f, l)| (app.model.config.file(f).name.clone(), l))
        != Some(("snippets/upstream-tls.conf".into(), 5))
    {
        press(&mut app, &[KeyCode::Char('n')]);
    }
    let text = screen_text(&render(&app, 120, 36));
    assert!(text.contains("snippets/upstream-tls.conf · n/N"), "{text}");
    assert!(
        row_of(&text, 5)
            .contains("← proxy_ssl_server_name, inherited by the hop from location /admin/"),
        "{text}"
    );
}

#[test]
fn snapshots_of_the_source_view() {
    let mut app = reports_source();
    for (w, h) in [(80, 24), (120, 36), (200, 50)] {
        let text = screen_text(&render(&app, w, h));
        insta::assert_snapshot!(format!("source_reports_{w}x{h}"), text);
    }
    // In the snippet, reached by n.
    while app
        .source
        .map(|(f, _)| app.model.config.file(f).name.clone())
        != Some("snippets/upstream-tls.conf".into())
    {
        press(&mut app, &[KeyCode::Char('n')]);
    }
    let text = screen_text(&render(&app, 80, 24));
    insta::assert_snapshot!("source_snippet_80x24", text);
}

#[test]
fn the_hop_view_says_which_include_brought_a_value() {
    let mut app = reports_source();
    press(&mut app, &[KeyCode::Esc]);
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
    let text = screen_text(&render(&app, 160, 48));
    // The origin wraps in its column, whole.
    let rows: Vec<&str> = text.lines().collect();
    let at = rows
        .iter()
        .position(|l| l.contains("proxy_ssl_verify ") && !l.contains("depth"))
        .unwrap_or_else(|| panic!("{text}"));
    let from = format!(
        "{} {}",
        rows[at].trim_end_matches('│').trim_end(),
        rows[at + 1].trim_matches('│').trim()
    );
    assert!(
        from.ends_with(
            "snippets/upstream-tls.conf:6 (location /admin/, inherited, via include at conf.d/intranet.conf:18)"
        ),
        "{text}"
    );
    // A value from the hop's own way in needs no include named.
    let row = text
        .lines()
        .find(|l| l.contains("proxy_ssl_protocols"))
        .unwrap();
    assert!(row.contains("nginx.conf:23 (http, inherited)"), "{text}");
    assert!(!row.contains("via include"), "{text}");
}

#[test]
fn a_huge_line_and_control_characters_stay_in_their_place() {
    use hopscope::conf::{self, Input};
    use hopscope::model::{Model, Version};
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(200_000);
    std::fs::write(
        dir.path().join("nginx.conf"),
        format!(
            "http {{\n server {{\n  # {long}\n  # bell \u{7} and escape \u{1b}[2J\n  location / {{ proxy_pass https://a.example.com; }}\n }}\n}}\n"
        ),
    )
    .unwrap();
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).unwrap();
    let mut app = App::new(Model::build(cfg, Version::NEWEST_STABLE), "t".into());
    press(&mut app, &[KeyCode::Char('o')]);
    assert_eq!(app.screen(), Screen::Source);
    for wrap in [false, true] {
        let started = std::time::Instant::now();
        let term = render(&app, 80, 24);
        assert!(started.elapsed().as_secs() < 5, "wrap {wrap}");
        let text = screen_text(&term);
        assert!(
            text.contains("\\x1b[2J") && text.contains("\\x07"),
            "{text}"
        );
        assert!(row_of(&text, 5).starts_with("│▶ 5 ● "), "{text}");
        press(&mut app, &[KeyCode::Char('z')]);
    }
    // Sideways scrolling stops at the widest line (`  # ` and 200 000 x):
    // its last column stays in view.
    assert!(!app.source_wrap);
    app.source_hscroll = 199_990;
    for _ in 0..5 {
        press(&mut app, &[KeyCode::Char('L')]);
    }
    assert_eq!(app.source_hscroll, 200_004 - 1);
}
