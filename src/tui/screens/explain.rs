//! The lesson behind a rule.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::rules;
use crate::tui::action::Screen;
use crate::tui::app::App;
use crate::tui::text::{explain_rows, ExplainRow};
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

/// The lines `/` searches: the lesson's rows at the view's width.
pub fn search_lines(app: &App) -> Vec<String> {
    let width = app.area.0.saturating_sub(2) as usize;
    app.explain_rule
        .and_then(rules::find)
        .map(|r| {
            explain_rows(r, width)
                .into_iter()
                .map(|(_, text)| v(text))
                .collect()
        })
        .unwrap_or_default()
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let Some(rule) = app.explain_rule.and_then(rules::find) else {
        return;
    };
    let width = r.width.saturating_sub(2) as usize;
    let rows = explain_rows(rule, width);
    let top = top_line(app.scroll, rows.len(), r);
    let lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .skip(top)
        .map(|(i, (kind, text))| {
            let style = match kind {
                ExplainRow::Heading => t.header,
                ExplainRow::Code => t.syntax_directive,
                ExplainRow::Text => t.base,
            };
            searched(
                app,
                ui,
                Screen::Explain,
                i,
                Line::from(Span::styled(v(text), style)),
            )
        })
        .collect();
    let title = format!("{} ({})", rule.id, rule.severity);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}
