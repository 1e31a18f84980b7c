//! The lesson behind a rule.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::rules;
use crate::tui::action::Screen;
use crate::tui::app::App;
use crate::tui::text::{explain_rows, ExplainRow, Piece};
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
                .map(|(_, pieces)| v(crate::tui::text::plain(&pieces)))
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
        .map(|(i, (kind, pieces))| {
            let line = marked_line(t, &pieces, row_style(t, kind));
            searched(app, ui, Screen::Explain, i, line)
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
/// The style of a lesson's row of this kind (explain and tour).
pub fn row_style(t: &crate::tui::theme::Theme, kind: ExplainRow) -> Style {
    match kind {
        ExplainRow::Heading => t.header,
        ExplainRow::Code => t.syntax_directive,
        ExplainRow::Text => t.base,
        ExplainRow::Note => t.dim,
        ExplainRow::Title => t.title,
    }
}

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
