//! The tour of the demo's pitfalls, without a terminal: keys move through
//! it as a person expects, every step renders its lesson and its hop's
//! lines (snapshots at 80×24, 120×36 and 200×50), the fix screen shows
//! the SNI before → after of the fix under the cursor, and the demo is
//! never probed.

use crossterm::event::KeyCode;
use hopscope::tour::STEPS;
use hopscope::tui::action::{Action, Screen};
use hopscope::tui::app::App;
use hopscope::tui::theme::Theme;

mod tui_support;
use tui_support::*;

fn text_at(app: &mut App, w: u16, h: u16) -> String {
    app.area = (w, h);
    screen_text(&render(app, w, h))
}

#[test]
fn t_opens_the_tour_at_the_first_step_with_its_counter() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t')]);
    assert_eq!(app.screen(), Screen::Tour);
    let text = text_at(&mut app, 120, 36);
    let counter = format!("Tour 1/{} ·", STEPS.len());
    assert!(text.contains(&counter), "{text}");
    assert!(text.contains(STEPS[0].title), "{text}");
    // The hop's lines are there, its pass directive among them.
    assert!(text.contains("proxy_pass https://backend_pool;"), "{text}");
    assert!(text.contains("ClientHello SNI: none"), "{text}");
}

#[test]
fn every_step_renders_at_every_size_without_backticks() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t')]);
    for (i, step) in STEPS.iter().enumerate() {
        for (w, h) in [(80, 24), (120, 36), (200, 50)] {
            let text = text_at(&mut app, w, h);
            let counter = format!("Tour {}/{}", i + 1, STEPS.len());
            assert!(text.contains(&counter), "{w}x{h}: {text}");
            assert!(text.contains(step.title), "{w}x{h} step {i}: {text}");
            assert!(!text.contains('`'), "raw backticks at {w}x{h}: {text}");
            let pass = format!("{}:", step.hop.split(':').next().unwrap());
            assert!(
                text.contains(&pass),
                "{w}x{h}: the hop's file {pass}: {text}"
            );
        }
        press(&mut app, &[KeyCode::Char('n')]);
    }
}

#[test]
fn next_and_previous_stop_at_the_ends() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t')]);
    press(&mut app, &[KeyCode::Char('p')]);
    assert_eq!(app.tour_step, 0);
    assert!(app.status.as_ref().unwrap().text.contains("first pitfall"));
    // All three keys go forward, both keys go back.
    press(
        &mut app,
        &[KeyCode::Char('n'), KeyCode::Right, KeyCode::Char(' ')],
    );
    assert_eq!(app.tour_step, 3);
    press(&mut app, &[KeyCode::Char('p'), KeyCode::Left]);
    assert_eq!(app.tour_step, 1);
    for _ in 0..STEPS.len() + 2 {
        press(&mut app, &[KeyCode::Char('n')]);
    }
    assert_eq!(app.tour_step, STEPS.len() - 1);
    assert!(app.status.as_ref().unwrap().text.contains("last pitfall"));
    // Esc leaves the tour; t comes back to the same step.
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::List);
    press(&mut app, &[KeyCode::Char('t')]);
    assert_eq!(app.tour_step, STEPS.len() - 1);
}

#[test]
fn enter_opens_the_steps_hop_and_f_its_fixes() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t'), KeyCode::Char('n')]);
    press(&mut app, &[KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Detail);
    let h = app.selected_hop().unwrap();
    assert_eq!(app.model.hops[h].id, STEPS[1].hop);
    press(&mut app, &[KeyCode::Esc]);
    assert_eq!(app.screen(), Screen::Tour);
    press(&mut app, &[KeyCode::Char('f')]);
    assert_eq!(app.screen(), Screen::Fix);
    let text = text_at(&mut app, 120, 36);
    // The ignored proxy_ssl_name is sent once SNI is on.
    assert!(text.contains("SNI: none → api.example.com"), "{text}");
}

#[test]
fn a_filter_that_hides_the_hop_is_cleared_to_open_it() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('/')]);
    for c in "payments".chars() {
        press(&mut app, &[KeyCode::Char(c)]);
    }
    press(
        &mut app,
        &[KeyCode::Enter, KeyCode::Char('t'), KeyCode::Enter],
    );
    assert_eq!(app.screen(), Screen::Detail);
    let h = app.selected_hop().unwrap();
    assert_eq!(app.model.hops[h].id, STEPS[0].hop);
    assert!(app.filter.is_empty());
    assert!(app.status.as_ref().unwrap().text.contains("filter cleared"));
}

#[test]
fn the_tour_is_offered_only_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nginx.conf");
    std::fs::write(
        &path,
        "http { server { location / { proxy_pass https://a.example; } } }\n",
    )
    .unwrap();
    let model = hopscope::jobs::Source::Path(path).load(None).unwrap();
    let mut app = App::new(model, "nginx.conf".into());
    press(&mut app, &[KeyCode::Char('t')]);
    assert_eq!(app.screen(), Screen::List);
    let text = text_at(&mut app, 100, 24);
    assert!(
        text.contains("the tour runs on the built-in demo"),
        "{text}"
    );
}

#[test]
fn probe_on_the_demo_makes_no_lookup_and_says_why() {
    let mut app = demo_app();
    for screen_keys in [&[][..], &[KeyCode::Enter][..]] {
        press(&mut app, screen_keys);
        let effects = press(&mut app, &[KeyCode::Char('P')]);
        assert!(effects.is_empty(), "no probe effect: {effects:?}");
        assert!(app.probes.is_empty(), "nothing marked as probing");
        let text = text_at(&mut app, 160, 30);
        assert!(
            text.contains("the built-in demo is not on a network"),
            "{text}"
        );
    }
    // The what-if probe of a previewed fix neither.
    press(
        &mut app,
        &[KeyCode::Esc, KeyCode::Char('t'), KeyCode::Char('n')],
    );
    press(&mut app, &[KeyCode::Char('f'), KeyCode::Char('d')]);
    assert_eq!(app.screen(), Screen::Diff);
    assert!(press(&mut app, &[KeyCode::Char('P')]).is_empty());
    assert!(app.fix_probe.is_none());
    assert!(app
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("not on a network"));
    // Straight through update as well, whatever the screen.
    assert!(app.update(Action::Probe).is_empty());
}

#[test]
fn lessons_show_code_without_backticks_in_explain() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('R'), KeyCode::Enter]);
    assert_eq!(app.screen(), Screen::Explain);
    let text = text_at(&mut app, 120, 60);
    assert!(!text.contains('`'), "{text}");
    // The code keeps its text, styled as code.
    let theme = Theme::default();
    let term = render(&app, 120, 60);
    let buf = term.backend().buffer();
    let code = (0..buf.area.height).any(|y| {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        line.find("_ssl_").is_some_and(|x| {
            let cell = &buf[(x as u16, y)];
            cell.style().fg == theme.syntax_directive.fg
                && cell.style().add_modifier == theme.syntax_directive.add_modifier
        })
    });
    assert!(code, "a *_ssl_* directive in prose is styled as code");
}

fn snap(name: &str, app: &mut App, sizes: &[(u16, u16)]) {
    for &(w, h) in sizes {
        let text = text_at(app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
    }
}

#[test]
fn snapshots_of_the_tour_and_the_fix_sni() {
    let sizes = [(80, 24), (120, 36), (200, 50)];
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t')]);
    snap("tour_first", &mut app, &sizes);
    // The inheritance step: settings from the include and http{}.
    let i = STEPS
        .iter()
        .position(|s| s.hop == "conf.d/intranet.conf:23")
        .unwrap();
    for _ in 0..i {
        press(&mut app, &[KeyCode::Char('n')]);
    }
    snap("tour_inheritance", &mut app, &sizes);
    // The fix screen of the group-name step, with its SNI before → after.
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t')]);
    press(&mut app, &[KeyCode::Char('n')]);
    press(&mut app, &[KeyCode::Char('f')]);
    snap("tour_fix_sni", &mut app, &[(80, 24), (120, 36)]);
}

#[test]
fn hopscope_probe_refuses_the_demo_without_touching_the_network() {
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hopscope"))
        .args(["probe", "--timeout", "30"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the built-in demo is not on a network: nothing was probed"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no probe report");
    // Not one peer was tried (each would have up to 30 s to answer).
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn every_fix_says_what_it_does_to_the_sni() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('F')]);
    assert_eq!(app.screen(), Screen::Fix);
    let n = app.fix.items.len();
    assert!(n > 5);
    let mut changed = 0;
    for i in 0..n {
        assert_eq!(app.fix.cursor, i);
        let text = text_at(&mut app, 200, 50);
        if text.contains("press e to type it") {
            // No plan without the value: nothing to compute yet.
            assert!(!text.contains("SNI: "), "{text}");
        } else {
            assert!(text.contains("SNI: "), "fix {i}:\n{text}");
            changed += usize::from(text.contains(" → "));
        }
        press(&mut app, &[KeyCode::Char('j')]);
    }
    assert!(changed >= 3, "several demo fixes change the SNI");
}

#[test]
fn on_a_small_screen_the_whole_lesson_scrolls_into_view() {
    let mut app = demo_app();
    press(&mut app, &[KeyCode::Char('t')]);
    text_at(&mut app, 80, 24);
    let before = text_at(&mut app, 80, 24);
    assert!(!before.contains("Set elsewhere"), "{before}");
    press(&mut app, &[KeyCode::Char('G')]);
    let end = text_at(&mut app, 80, 24);
    // The end of the right fix, then what the hop inherits.
    assert!(end.contains("which no certificate carries."), "{end}");
    assert!(
        end.contains("Set elsewhere, inherited by this hop"),
        "{end}"
    );
    assert!(end.contains("nginx.conf:24"), "{end}");
    // The next step starts at its top again.
    press(&mut app, &[KeyCode::Char('n')]);
    let next = text_at(&mut app, 80, 24);
    assert!(next.contains(STEPS[1].title), "{next}");
}
