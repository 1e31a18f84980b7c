//! The state without a terminal: keys change it as a person expects.

use super::*;
use crate::model::Version;
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
