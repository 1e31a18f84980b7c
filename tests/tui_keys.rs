//! Keys a person can trust, without a terminal (ratatui's TestBackend):
//! the help overlay closes only with its own keys and never quits, lists
//! every screen; footers keep back, help and quit at every width and show
//! the typing keys while text is typed; every message lands in the log;
//! `/` searches the hop, lesson and source views. Snapshots of the help
//! and the message log at three sizes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hopscope::conf::{self, Input};
use hopscope::model::{Model, Version};
use hopscope::tui::action::Screen;
use hopscope::tui::app::App;
use hopscope::tui::help::{self, Row};
use hopscope::tui::keymap;
use hopscope::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

mod tui_support;
use tui_support::*;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 36), (200, 50)];

fn ctrl(app: &mut App, c: char) {
    press_ev(app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    // As the runner does: the app knows the terminal's size.
    app.area = (w, h);
    render_plain(app, w, h)
}

fn footer(app: &mut App, w: u16) -> String {
    let text = screen_text(&render(app, w, 24));
    text.lines().last().unwrap_or_default().to_string()
}

fn open_gateway(app: &mut App) {
    select_hop(app, "conf.d/api-gateway.conf:18");
    press(app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
}

#[test]
fn q_closes_help_and_never_quits_and_other_keys_are_ignored() {
    for setup in [Screen::List, Screen::Detail] {
        let mut app = demo_app();
        if setup == Screen::Detail {
            open_gateway(&mut app);
        }
        press(&mut app, &[KeyCode::Char('?')]);
        assert!(app.help);
        let before = (app.cursor, app.detail_cursor, app.stack.clone(), app.sort);
        // Keys of the screen behind, and keys bound nowhere: all ignored.
        for c in ['a', 'x', '1', '/', 's', 'f', 'o', 'E', 'R', 'M', 'n', ' '] {
            press(&mut app, &[KeyCode::Char(c)]);
            assert!(app.help, "{c} closed the help");
        }
        press(
            &mut app,
            &[KeyCode::Enter, KeyCode::Tab, KeyCode::Backspace],
        );
        assert!(app.help);
        assert!(!app.capturing(), "/ started no filter behind the help");
        assert_eq!(
            (app.cursor, app.detail_cursor, app.stack.clone(), app.sort),
            before,
            "nothing changed behind the help"
        );
        press(&mut app, &[KeyCode::Char('q')]);
        assert!(!app.help, "q closes the help");
        assert!(!app.quit, "q in help never quits");
        // Esc and ? close it too; Esc does not also go back.
        press(&mut app, &[KeyCode::Char('?'), KeyCode::Esc]);
        assert!(!app.help);
        assert_eq!(app.screen(), setup);
        press(&mut app, &[KeyCode::Char('?'), KeyCode::Char('?')]);
        assert!(!app.help);
    }
    // Ctrl-C still quits from the help.
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('?')]);
    ctrl(&mut app, 'c');
    assert!(app.quit);
}

#[test]
fn help_scrolls_and_says_what_closes_it() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('?')]);
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("Keys · Esc/?/q close · j/k scroll"), "{text}");
    assert!(text.contains("every other key is ignored"), "{text}");
    press(&mut app, &[KeyCode::Char('j'), KeyCode::Char('j')]);
    assert_eq!(app.help_scroll, 2);
    press(&mut app, &[KeyCode::Char('k')]);
    assert_eq!(app.help_scroll, 1);
    press(&mut app, &[KeyCode::Char('G')]);
    let text = screen_text(&render(&mut app, 80, 24));
    // The last section is the last screen's: the message log.
    assert!(text.contains("── messages screen ──"), "{text}");
    let bottom = app.help_scroll;
    press(&mut app, &[KeyCode::PageDown, KeyCode::Char('j')]);
    assert_eq!(app.help_scroll, bottom, "no scrolling into emptiness");
    press(&mut app, &[KeyCode::Char('g')]);
    assert_eq!(app.help_scroll, 0);
}

#[test]
fn help_has_every_screen_this_one_first_and_cuts_nothing() {
    for &current in keymap::SCREENS {
        for (w, h) in SIZES {
            let (width, _) = help::inner((w, h));
            let rows = help::rows(current, width);
            let headings: Vec<&str> = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Heading(h) => Some(h.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                headings[0],
                format!("{} screen (this screen)", current.title())
            );
            assert!(headings.contains(&"every screen"));
            assert!(headings.contains(&"typing (filter, search, value field)"));
            for &s in keymap::SCREENS.iter().filter(|&&s| s != current) {
                assert!(
                    headings.contains(&format!("{} screen", s.title()).as_str()),
                    "{current:?} at {w}: no section for {s:?}"
                );
            }
            // Every binding's description is there whole, wrapped.
            let keys: Vec<(String, String)> = rows
                .iter()
                .filter_map(|r| match r {
                    Row::Key(k, d) => Some((k.clone(), d.clone())),
                    _ => None,
                })
                .collect();
            let all: String = keys
                .iter()
                .map(|(_, d)| d.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            for b in keymap::KEYMAP.iter().filter(|b| !b.keys.is_empty()) {
                assert!(all.contains(b.desc), "{w}: {} is cut or missing", b.desc);
                assert!(keys.iter().any(|(k, _)| k == b.keys), "{}", b.keys);
            }
            for (_, d) in &keys {
                assert!(d.chars().count() + 12 <= width, "{w}: too wide: {d}");
            }
        }
    }
}

#[test]
fn footers_keep_back_help_and_quit_at_every_width() {
    let mut app = demo_app();
    for w in [80, 120, 200] {
        let f = footer(&mut app, w);
        assert!(f.contains("? help") && f.contains("q quit"), "{w}: {f}");
        assert!(f.contains("R rules"), "{w}: the way to learn: {f}");
        assert!(!f.contains("Esc"), "nothing to go back to: {f}");
        assert!(!f.contains("E errors"), "no load errors here: {f}");
    }
    let wide = footer(&mut app, 200);
    for hint in ["P probe", "F fix all", "r reload", "/ filter", "s sort"] {
        assert!(wide.contains(hint), "{wide}");
    }
    // Check every screen the walk reached, at every width.
    let mut app = demo_app();
    open_gateway(&mut app);
    let walk: [&[KeyCode]; 8] = [
        &[],
        &[KeyCode::Char('x')],
        &[KeyCode::Esc, KeyCode::Char('o')],
        &[KeyCode::Esc, KeyCode::Char('f')],
        &[KeyCode::Char(' '), KeyCode::Char('e')],
        &[KeyCode::Esc, KeyCode::Esc, KeyCode::Char('R')],
        &[KeyCode::Char('E')],
        &[KeyCode::Char('M')],
    ];
    let mut seen = Vec::new();
    for keys in walk {
        press(&mut app, keys);
        if app.fix.field.is_some() {
            // The first fix asks for a host name: typed, then the diff.
            type_text(&mut app, "api.internal.example.com");
            press(&mut app, &[KeyCode::Enter, KeyCode::Char('d')]);
        }
        app.status = None;
        for w in [80, 120, 200] {
            let f = footer(&mut app, w);
            assert!(
                f.contains("Esc back") && f.contains("? help") && f.contains("q quit"),
                "{:?} at {w}: {f}",
                app.screen()
            );
        }
        seen.push(app.screen());
    }
    // The tour opens from the list.
    app.stack.truncate(1);
    press(&mut app, &[KeyCode::Char('t')]);
    app.status = None;
    assert_eq!(app.screen(), Screen::Tour);
    for w in [80, 120, 200] {
        let f = footer(&mut app, w);
        assert!(
            f.contains("Esc back") && f.contains("? help") && f.contains("q quit"),
            "tour at {w}: {f}"
        );
    }
    seen.push(Screen::Tour);
    seen.push(Screen::List);
    for s in keymap::SCREENS {
        assert!(seen.contains(s), "{s:?} not checked: {seen:?}");
    }
}

#[test]
fn the_errors_hint_shows_when_there_are_load_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "http {\n  include missing.conf;\n  server { location / { proxy_pass https://a.example; } }\n}\n",
    )
    .unwrap();
    let cfg = conf::load(&Input::Path(dir.path().join("nginx.conf"))).unwrap();
    let mut app = App::new(
        Model::build(cfg, Version::NEWEST_STABLE),
        "nginx.conf".into(),
    );
    app.status = None;
    let f = footer(&mut app, 80);
    assert!(f.contains("E errors") && f.contains("R rules"), "{f}");
}

#[test]
fn while_typing_the_footer_shows_the_typing_keys() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "pay");
    let f = footer(&mut app, 80);
    assert!(f.starts_with("/pay"), "{f}");
    for k in [
        "Enter keep",
        "Esc clear",
        "^U delete to start",
        "^W delete word",
    ] {
        assert!(f.contains(k), "{f}");
    }
    assert!(
        !f.contains("sort"),
        "the list's keys are not typing keys: {f}"
    );
    press(&mut app, &[KeyCode::Esc]);
    // In a view's search.
    open_gateway(&mut app);
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "ssl");
    let f = footer(&mut app, 80);
    assert!(f.starts_with("/ssl"), "{f}");
    assert!(f.contains("Enter keep") && f.contains("Esc cancel"), "{f}");
    press(&mut app, &[KeyCode::Esc]);
    // In the fix's value field.
    press(
        &mut app,
        &[KeyCode::Esc, KeyCode::Char('f'), KeyCode::Char('e')],
    );
    assert!(app.fix.field.is_some());
    let f = footer(&mut app, 80);
    assert!(f.contains("Enter set") && f.contains("Esc cancel"), "{f}");
    assert!(!f.contains("placement"), "{f}");
}

#[test]
fn search_in_the_hop_view_marks_and_walks_the_matches() {
    let mut app = demo_app();
    open_gateway(&mut app);
    render(&mut app, 80, 24);
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "PROXY_SSL_VERIFY");
    let s = app.search.clone().expect("a search");
    assert!(s.matches.len() >= 2, "{:?}", s.matches);
    let lines = app.searchable_lines(Screen::Detail);
    let first = s.current_line().unwrap();
    assert!(lines[first].to_lowercase().contains("proxy_ssl_verify"));
    press(&mut app, &[KeyCode::Enter]);
    assert!(!app.capturing());
    assert!(app.status.as_ref().unwrap().text.contains("match"));
    app.status = None;
    let f = footer(&mut app, 80);
    assert!(f.contains("n next match") && f.contains("Esc back"), "{f}");
    // The match is drawn marked.
    let theme = Theme::default();
    let term = render(&mut app, 80, 24);
    let buf = term.backend().buffer();
    let marked = buf
        .content
        .iter()
        .filter(|c| {
            Some(c.fg) == theme.search_match.fg
                && c.modifier.contains(theme.search_match.add_modifier)
        })
        .count();
    assert!(marked >= "proxy_ssl_verify".len(), "{marked} cells marked");
    // n goes on, N back; the selection follows the match.
    press(&mut app, &[KeyCode::Char('n')]);
    let second = app.search.as_ref().unwrap().current_line().unwrap();
    assert!(second > first, "{first} → {second}");
    press(&mut app, &[KeyCode::Char('N')]);
    assert_eq!(app.search.as_ref().unwrap().current_line(), Some(first));
    // Esc clears the search first, then goes back.
    press(&mut app, &[KeyCode::Esc]);
    assert!(app.search.is_none());
    assert_eq!(app.screen(), Screen::Detail);
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::List);
}

#[test]
fn search_in_the_lesson_scrolls_to_the_match_and_esc_while_typing_cancels() {
    let mut app = demo_app();
    open_gateway(&mut app);
    press(&mut app, &[KeyCode::Down, KeyCode::Char('x')]);
    assert_eq!(app.screen(), Screen::Explain);
    render(&mut app, 80, 24);
    let lines = app.searchable_lines(Screen::Explain);
    let (last, word) = lines
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, l)| l.split_whitespace().find(|w| w.len() > 6).map(|w| (i, w)))
        .unwrap();
    let word = word.to_string();
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, &word);
    press(&mut app, &[KeyCode::Char('N')]);
    assert!(app.capturing(), "N is typed while typing");
    press(&mut app, &[KeyCode::Backspace, KeyCode::Enter]);
    // Walk back from the first match: around to the last.
    press(&mut app, &[KeyCode::Char('N')]);
    let s = app.search.as_ref().unwrap();
    assert_eq!(s.current_line(), Some(last), "{word}");
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains(&lines[last]), "the match is in sight: {text}");
    // Esc while typing puts the view back where it was.
    press(&mut app, &[KeyCode::Char('g')]);
    assert_eq!(app.scroll, 0);
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, &word);
    press(&mut app, &[KeyCode::Esc]);
    assert!(app.search.is_none());
    assert_eq!(app.scroll, 0);
    assert_eq!(app.screen(), Screen::Explain);
}

#[test]
fn in_the_source_n_follows_the_search_while_kept_and_the_chain_otherwise() {
    let mut app = demo_app();
    select_hop(&mut app, "conf.d/api-gateway.conf:18");
    press(&mut app, &[KeyCode::Char('o')]);
    assert_eq!(app.screen(), Screen::Source);
    render(&mut app, 80, 24);
    press(&mut app, &[KeyCode::Char('/')]);
    type_text(&mut app, "proxy_pass");
    press(&mut app, &[KeyCode::Enter]);
    let s = app.search.clone().unwrap();
    let lines = app.searchable_lines(Screen::Source);
    assert!(s.matches.len() >= 2);
    assert!(s.matches.iter().all(|&l| lines[l].contains("proxy_pass")));
    let at = app.source_scroll;
    press(&mut app, &[KeyCode::Char('n')]);
    let next = app.search.as_ref().unwrap().current_line().unwrap();
    assert_eq!(
        app.source_scroll as usize, next,
        "n jumped to the next match"
    );
    assert_ne!(app.source_scroll, at);
    assert!(app.status.as_ref().unwrap().text.starts_with("match "));
    // The matched line is marked where it is drawn.
    let text = screen_text(&render(&mut app, 80, 24));
    assert!(text.contains("proxy_pass"), "{text}");
    // Esc clears the search; n walks the inheritance chain again.
    press(&mut app, &[KeyCode::Esc]);
    assert!(app.search.is_none());
    assert_eq!(app.screen(), Screen::Source);
    press(&mut app, &[KeyCode::Char('n')]);
    assert!(
        app.status.as_ref().unwrap().text.contains("of the chain"),
        "{:?}",
        app.status
    );
}

#[test]
fn every_message_is_logged_and_a_long_one_says_where_to_read_it() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('s'), KeyCode::Char('s')]);
    let texts: Vec<&str> = app.log.iter().map(|m| m.status.text.as_str()).collect();
    assert_eq!(texts, ["sorted by severity", "sorted by server"]);
    assert_eq!(app.log[1].seq, 2);
    app.set_status(
        true,
        format!("reload failed: {}", "a very long reason ".repeat(8)),
    );
    let f = footer(&mut app, 80);
    assert!(f.ends_with("… (M: messages)"), "{f}");
    press(&mut app, &[KeyCode::Char('M')]);
    assert_eq!(app.screen(), Screen::Messages);
    let text = screen_text(&render(&mut app, 80, 24));
    let newest = text.find("#3").expect(&text);
    let oldest = text.find("#1").expect(&text);
    assert!(newest < oldest, "newest first: {text}");
    assert!(text.contains("a very long reason a very"), "{text}");
    // The whole message, wrapped: its last words are there too.
    let all: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(all.contains("a very long reason │"), "{all}");
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::List);
}

#[test]
fn snapshots_of_the_help_and_the_message_log() {
    for (w, h) in SIZES {
        let mut app = demo_app();
        open_gateway(&mut app);
        press(&mut app, &[KeyCode::Char('?')]);
        let text = screen_text(&render(&mut app, w, h));
        insta::assert_snapshot!(format!("help_overlay_{w}x{h}"), text);
    }
    for (w, h) in SIZES {
        let mut app = demo_app();
        press(&mut app, &[KeyCode::Char('s'), KeyCode::Char('s')]);
        open_gateway(&mut app);
        press(&mut app, &[KeyCode::Char('n')]);
        app.set_status(
            true,
            "reload failed: nginx.conf:12: unknown directive \"proxy_ssl_verifyy\", \
             and the configuration shown is the one loaded before",
        );
        press(&mut app, &[KeyCode::Char('M')]);
        let text = screen_text(&render(&mut app, w, h));
        insta::assert_snapshot!(format!("messages_{w}x{h}"), text);
    }
}
