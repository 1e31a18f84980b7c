//! The state without a terminal: keys change it as a person expects.

use super::*;
use crate::model::Version;
use crate::rules;
use crossterm::event::{KeyCode, KeyEvent};

fn demo() -> App {
    let cfg = crate::jobs::Source::Demo.config().unwrap();
    App::new(Model::build(cfg, Version::NEWEST_STABLE), "demo".into())
}

#[test]
fn the_next_key_clears_a_message() {
    let mut app = demo();
    app.update(Action::CycleSort);
    assert!(app.status.is_some());
    app.update(Action::Down);
    assert!(app.status.is_none(), "the footer shows the keys again");
}

#[test]
fn escape_on_the_list_clears_a_kept_filter() {
    let mut app = demo();
    app.update(Action::StartFilter);
    for c in "payments".chars() {
        app.input(KeyEvent::from(KeyCode::Char(c)));
    }
    app.input(KeyEvent::from(KeyCode::Enter));
    assert_eq!(app.rows.len(), 3);
    app.update(Action::Back);
    assert_eq!(app.rows.len(), app.model.hops.len());
    assert!(app.filter.is_empty());
}

#[test]
fn the_lesson_scrolls_to_its_last_line_and_no_further() {
    let mut app = demo();
    app.area = (80, 24);
    app.explain_rule = Some("verify-off");
    app.stack.push(Screen::Explain);
    app.update(Action::Bottom);
    let rule = rules::find("verify-off").unwrap();
    let lines = crate::tui::text::explain_rows(rule, 78).len();
    assert_eq!(app.scroll, lines - 20, "the last line at the bottom");
    app.update(Action::Up);
    assert_eq!(app.scroll, lines - 21, "one key moves one line");
}

#[test]
fn a_reload_reports_a_save_only_after_one() {
    let mut app = demo();
    let model = || {
        Model::build(
            crate::jobs::Source::Demo.config().unwrap(),
            Version::NEWEST_STABLE,
        )
    };
    app.update(Action::CycleSort);
    app.on_reloaded(Ok(model()));
    let text = app.status.clone().unwrap().text;
    assert!(text.starts_with("reloaded; findings:"), "{text}");
    app.on_saved(Ok(vec!["a.conf (backup .hopscope.bak)".into()]));
    app.on_reloaded(Ok(model()));
    let text = app.status.clone().unwrap().text;
    assert!(
        text.starts_with("saved a.conf (backup .hopscope.bak); findings:"),
        "{text}"
    );
}

#[test]
fn any_other_key_cancels_the_save_and_says_so() {
    let mut app = demo();
    app.confirm_save = true;
    assert!(app.input(KeyEvent::from(KeyCode::Char('n'))));
    assert!(!app.confirm_save);
    assert!(app.status.unwrap().text.contains("not saved"));
}

#[test]
fn the_save_question_waits_for_nginx_t_and_a_broken_fix_is_never_asked() {
    use crate::fix::validate::Verdict;
    let mut app = demo();
    let changed = vec![(crate::conf::FileId(0), b"events {}\n".to_vec())];
    app.diff.changed = changed.clone();
    app.stack.push(Screen::Diff);
    // The demo is not on disk: nothing to check, nothing to save.
    assert!(app.update(Action::Save).is_empty());
    assert!(!app.confirm_save);

    // A verdict that breaks nginx: refused with nginx's words, no question.
    app.validating = Some(changed.clone());
    app.on_validated(Ok(Verdict::Broken {
        before: None,
        after: "nginx: [emerg] no proxy_ssl_trusted_certificate".into(),
    }));
    assert!(!app.confirm_save);
    let text = app.status.clone().unwrap().text;
    assert!(text.starts_with("not saved: broken by this fix"), "{text}");
    assert!(text.contains("no proxy_ssl_trusted_certificate"), "{text}");

    // A verdict for a diff no longer shown is not used.
    app.validating = Some(vec![(crate::conf::FileId(0), b"other".to_vec())]);
    app.on_validated(Ok(Verdict::Accepted { notes: Vec::new() }));
    assert!(!app.confirm_save);

    // Accepted: the question opens, with what nginx -t said.
    app.validating = Some(changed);
    app.on_validated(Ok(Verdict::Accepted { notes: Vec::new() }));
    assert!(app.confirm_save);
    assert_eq!(
        app.save_check.as_deref(),
        Some("nginx -t accepts the fixed configuration")
    );
}

/// The demo as the terminal UI starts it: the hops, the rules not yet run.
fn demo_pending() -> App {
    let cfg = crate::jobs::Source::Demo.config().unwrap();
    App::pending(
        Model::build(cfg, Version::NEWEST_STABLE),
        "demo".into(),
        None,
    )
}

/// One frame's text, a line per row.
fn frame(app: &App) -> String {
    use ratatui::{backend::TestBackend, Terminal};
    let theme = crate::tui::theme::Theme::default();
    let ui = crate::tui::ui::Ui {
        theme: &theme,
        highlighter: None,
    };
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    term.draw(|f| crate::tui::ui::draw(f, app, &ui)).unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The rules' work, run here and delivered as the runner would.
fn deliver(app: &mut App) {
    let work = app.take_check().expect("the rules' work is waiting");
    let generation = work.generation;
    app.on_checked(generation, Ok(work.run()));
}

#[test]
fn the_first_frame_shows_the_findings_as_being_checked() {
    let mut app = demo_pending();
    assert_eq!(app.check, CheckState::Checking);
    let text = frame(&app);
    assert!(text.contains("findings: checking…"), "{text}");
    assert!(!text.contains("no findings"), "{text}");
    for word in ["ERROR", "HIGH", "MED", "LOW", "INFO", " ok"] {
        assert!(!text.contains(word), "{word} before the rules ran:\n{text}");
    }
    // Every hop's badge says it is being checked.
    let rows = text
        .lines()
        .filter(|l| l.starts_with("│▶ … ") || l.starts_with("│  … "))
        .count();
    assert_eq!(rows, app.model.hops.len(), "{text}");

    app.update(Action::Open);
    let text = frame(&app);
    assert!(text.contains("Findings: being checked…"), "{text}");
    assert!(!text.contains("No findings"), "{text}");
}

#[test]
fn the_findings_fill_in_once_delivered() {
    let mut app = demo_pending();
    deliver(&mut app);
    assert!(app.findings_ready());
    assert!(app.take_check().is_none(), "the rules run once per model");
    let now = demo();
    assert_eq!(app.findings.len(), now.findings.len());
    assert!(!app.findings.is_empty());
    assert_eq!(app.hop_severity, now.hop_severity);
    // The same screen as an app whose rules ran before its first frame.
    assert_eq!(frame(&app), frame(&now));
    assert!(!frame(&app).contains("checking…"));
}

#[test]
fn a_key_that_needs_the_findings_waits_for_them() {
    let mut app = demo_pending();
    app.update(Action::StartFixAll);
    assert_eq!(app.screen(), Screen::List);
    let said = app.status.clone().unwrap().text;
    assert!(said.starts_with("waiting for the findings"), "{said}");
    deliver(&mut app);
    assert_eq!(app.screen(), Screen::Fix, "the fix screen opens with them");
    assert!(!app.fix.items.is_empty());

    // Another key meanwhile drops the one that waited.
    let mut app = demo_pending();
    app.update(Action::StartFixAll);
    app.update(Action::Down);
    deliver(&mut app);
    assert_eq!(app.screen(), Screen::List);
}

#[test]
fn findings_of_a_model_reloaded_since_are_dropped() {
    let mut app = demo_pending();
    let old = app.take_check().unwrap();
    let model = Model::build(
        crate::jobs::Source::Demo.config().unwrap(),
        Version::NEWEST_STABLE,
    );
    app.on_reloaded(Ok(model));
    let said = app.status.clone().unwrap().text;
    assert_eq!(said, "reloaded; findings: checking…");
    let generation = old.generation;
    app.on_checked(generation, Ok(old.run()));
    assert_eq!(
        app.check,
        CheckState::Checking,
        "stale findings are not shown"
    );
    deliver(&mut app);
    let n = demo().findings.len();
    assert_eq!(
        app.status.clone().unwrap().text,
        format!("reloaded; findings: {n}")
    );
}

#[test]
fn rules_that_stop_leave_the_findings_unknown() {
    let mut app = demo_pending();
    let work = app.take_check().unwrap();
    app.on_checked(
        work.generation,
        Err("the rules stopped unexpectedly: boom".into()),
    );
    assert!(matches!(app.check, CheckState::Failed(_)));
    let text = frame(&app);
    assert!(text.contains("findings unknown"), "{text}");
    assert!(!text.contains("no findings"), "{text}");
    app.update(Action::StartFixAll);
    assert_eq!(app.screen(), Screen::List);
    assert!(app.status.clone().unwrap().error);
}
