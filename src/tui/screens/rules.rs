//! Every rule, to open its lesson.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};
use ratatui::Frame;

use crate::rules;
use crate::tui::app::App;
use crate::tui::clip::{clip, columns};
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let id_w = rules::registry()
        .iter()
        .map(|rule| rule.id.len())
        .max()
        .unwrap_or(20) as u16;
    // Laid out here as the table lays it out, so that a summary too long
    // for its column ends in `…` instead of stopping mid-word.
    let constraints = [
        Constraint::Length(id_w),
        Constraint::Length(6),
        Constraint::Min(10),
    ];
    let widths = columns(&constraints, r.width.saturating_sub(2));
    let fit = |i: usize, text: &str| clip(text, widths[i] as usize).into_owned();
    let rows: Vec<Row> = rules::registry()
        .iter()
        .map(|rule| {
            Row::new(vec![
                Cell::from(Span::styled(fit(0, rule.id), t.title)),
                Cell::from(Span::styled(
                    fit(1, rule.severity.as_str()),
                    severity_style(t, rule.severity),
                )),
                Cell::from(Span::styled(fit(2, rule.summary), t.base)),
            ])
        })
        .collect();
    let table = Table::new(rows, widths.iter().map(|&w| Constraint::Length(w)))
        .block(framed(ui, "Rules · Enter explains".into(), true))
        .row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected(Some(app.rules_cursor));
    f.render_stateful_widget(table, r, &mut state);
}
