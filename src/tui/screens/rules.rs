//! Every rule, to open its lesson.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};
use ratatui::Frame;

use crate::rules;
use crate::tui::app::App;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let rows: Vec<Row> = rules::registry()
        .iter()
        .map(|rule| {
            Row::new(vec![
                Cell::from(Span::styled(rule.id, t.title)),
                Cell::from(Span::styled(
                    rule.severity.as_str(),
                    severity_style(t, rule.severity),
                )),
                Cell::from(Span::styled(rule.summary, t.base)),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(22),
            Constraint::Length(7),
            Constraint::Min(10),
        ],
    )
    .block(framed(ui, "Rules · Enter explains".into(), true))
    .row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected(Some(app.rules_cursor));
    f.render_stateful_widget(table, r, &mut state);
}
