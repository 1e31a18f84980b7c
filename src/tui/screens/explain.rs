//! The lesson behind a rule.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::rules;
use crate::tui::app::App;
use crate::tui::text::{explain_rows, ExplainRow, Piece};
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

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
        .skip(top)
        .map(|(kind, pieces)| {
            let style = match kind {
                ExplainRow::Heading => t.header,
                ExplainRow::Code => t.syntax_directive,
                ExplainRow::Text => t.base,
                ExplainRow::Note => t.dim,
                ExplainRow::Title => t.title,
            };
            marked_line(t, &pieces, style)
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

/// A line of prose with its code pieces styled as code (no backticks).
pub fn marked_line(t: &crate::tui::theme::Theme, pieces: &[Piece], base: Style) -> Line<'static> {
    Line::from(
        pieces
            .iter()
            .map(|p| {
                let style = if p.code { t.syntax_directive } else { base };
                Span::styled(v(p.text.clone()), style)
            })
            .collect::<Vec<_>>(),
    )
}
