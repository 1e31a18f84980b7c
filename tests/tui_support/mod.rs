//! Shared harness for the TUI tests without a terminal: the demo as the
//! terminal UI loads it, keys fed the way the runner feeds them, and
//! ratatui's TestBackend to render a frame and read it back.
//!
//! Use it from a test crate with `mod tui_support;`.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hopscope::tui::action::Effect;
use hopscope::tui::app::App;
use hopscope::tui::theme::Theme;
use hopscope::tui::ui::{self, Ui};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// The built-in demo as the terminal UI loads it: hopscope's default
/// nginx version.
pub fn demo_app() -> App {
    let model = hopscope::jobs::Source::Demo.load(None).unwrap();
    App::new(model, "demo (built-in)".into())
}

pub fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// Feeds one key event the way the runner does (the save question, text
/// entry, then the keymap of the screen or of the open help); returns the
/// effects.
pub fn press_ev(app: &mut App, ev: KeyEvent) -> Vec<Effect> {
    if app.confirm_save && ev.code == KeyCode::Char('y') {
        app.confirm()
    } else if app.capturing() {
        app.input(ev);
        Vec::new()
    } else if let Some(a) = app.action_for_key(ev) {
        app.update(a)
    } else {
        Vec::new()
    }
}

/// Feeds keys without modifiers; returns the effects.
pub fn press(app: &mut App, keys: &[KeyCode]) -> Vec<Effect> {
    keys.iter().flat_map(|&k| press_ev(app, key(k))).collect()
}

pub fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, &[KeyCode::Char(c)]);
    }
}

/// One frame at `w`×`h` with the default theme and the highlighter.
pub fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let hl = hopscope::tui::highlight::Highlighter::new().ok();
    frame(app, w, h, hl.as_ref())
}

/// One frame at `w`×`h` with the default theme, without highlighting
/// (what a test of layout and colours checks does not depend on it).
pub fn render_plain(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    frame(app, w, h, None)
}

fn frame(
    app: &App,
    w: u16,
    h: u16,
    highlighter: Option<&hopscope::tui::highlight::Highlighter>,
) -> Terminal<TestBackend> {
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| {
        ui::draw(
            f,
            app,
            &Ui {
                theme: &theme,
                highlighter,
            },
        )
    })
    .unwrap();
    term
}

/// The frame's text, a line per row, trailing blanks cut.
pub fn screen_text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Puts the list's cursor on the hop with this id.
pub fn select_hop(app: &mut App, id: &str) {
    let pos = app
        .rows
        .iter()
        .position(|&h| app.model.hops[h].id == id)
        .expect(id);
    app.cursor = pos;
}
