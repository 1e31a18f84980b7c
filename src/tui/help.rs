//! The `?` overlay: the keys of every screen, read from the keymap. The
//! current screen's section comes first, then the keys that work
//! everywhere, text entry's keys, and every other screen's section. Long
//! lines wrap under their description; nothing is cut at any width.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::action::Screen;
use super::app::App;
use super::input;
use super::keymap::{self, Binding};
use super::text::wrap;
use super::ui::Ui;
use super::widgets::{centered, framed};

/// One row of the help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Row {
    Heading(String),
    /// Keys (empty on a wrapped description's next lines) and what they do.
    Key(String, String),
    Note(String),
    Blank,
}

/// Width of the key column.
const KEYS_W: usize = 10;

/// The help's box in a terminal of `area` columns × rows.
pub fn area_of(area: Rect) -> Rect {
    centered(area, area.width.saturating_sub(4).min(110), area.height)
}

/// Columns and rows inside the help's frame, for a terminal this size.
pub fn inner(size: (u16, u16)) -> (usize, u16) {
    let r = area_of(Rect::new(0, 0, size.0, size.1));
    (
        r.width.saturating_sub(2) as usize,
        r.height.saturating_sub(2),
    )
}

/// The title: what closes and scrolls the help.
pub fn title() -> String {
    format!("Keys · {}", keymap::help_title())
}

fn section(rows: &mut Vec<Row>, heading: String, keys: &[(&str, &str)], width: usize) {
    rows.push(Row::Blank);
    rows.push(Row::Heading(heading));
    let room = width.saturating_sub(KEYS_W + 2);
    for (k, desc) in keys {
        for (i, part) in wrap(desc, room).into_iter().enumerate() {
            let k = if i == 0 { k.to_string() } else { String::new() };
            rows.push(Row::Key(k, part));
        }
    }
}

fn pairs(binds: impl Iterator<Item = &'static Binding>) -> Vec<(&'static str, &'static str)> {
    binds.map(|b| (b.keys, b.desc)).collect()
}

/// The help's rows at an inner width, `current` screen first.
pub fn rows(current: Screen, width: usize) -> Vec<Row> {
    let mut rows: Vec<Row> = wrap(
        "While this help is open only its keys work (see the title; \
         PgUp/PgDn and g/G scroll too); every other key is ignored.",
        width,
    )
    .into_iter()
    .map(Row::Note)
    .collect();
    let name = |s: Screen| format!("{} screen", s.title());
    section(
        &mut rows,
        format!("{} (this screen)", name(current)),
        &pairs(keymap::own(current)),
        width,
    );
    section(
        &mut rows,
        "every screen".into(),
        &pairs(keymap::everywhere()),
        width,
    );
    section(
        &mut rows,
        "typing (filter, search, value field)".into(),
        input::KEYS,
        width,
    );
    for &s in keymap::SCREENS.iter().filter(|&&s| s != current) {
        section(&mut rows, name(s), &pairs(keymap::own(s)), width);
    }
    rows
}

pub(crate) fn draw(f: &mut Frame, app: &App, ui: &Ui, area: Rect) {
    let t = ui.theme;
    let r = area_of(area);
    let width = r.width.saturating_sub(2) as usize;
    let height = r.height.saturating_sub(2) as usize;
    let all = rows(app.screen(), width);
    let top = app.help_scroll.min(all.len().saturating_sub(height));
    let lines: Vec<Line> = all
        .into_iter()
        .skip(top)
        .take(height)
        .map(|row| match row {
            Row::Heading(h) => Line::from(Span::styled(format!("── {h} ──"), t.header)),
            Row::Key(k, d) => Line::from(vec![
                Span::styled(format!("{k:>KEYS_W$}  "), t.key),
                Span::styled(d, t.key_desc),
            ]),
            Row::Note(n) => Line::from(Span::styled(n, t.dim)),
            Row::Blank => Line::default(),
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title(), true))
            .style(t.base),
        r,
    );
}
