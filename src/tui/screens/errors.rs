//! What could not be loaded, with file:line; Enter opens the line.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::clip::clip_line;
use crate::tui::text::wrap;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let count = app.model.errors().count();
    let width = r.width.saturating_sub(2) as usize;
    let height = r.height.saturating_sub(2) as usize;
    // Each error wrapped whole; the view starts at the error under the
    // cursor when the ones before it would push it out of sight.
    let wrapped: Vec<Vec<String>> = app
        .model
        .errors()
        .map(|e| wrap(&app.model.shown(&e.to_string()), width))
        .collect();
    let mut first = 0;
    while first < app.errors_cursor
        && wrapped[first..=app.errors_cursor.min(count.saturating_sub(1))]
            .iter()
            .map(Vec::len)
            .sum::<usize>()
            > height
    {
        first += 1;
    }
    let lines: Vec<Line> = wrapped
        .into_iter()
        .enumerate()
        .skip(first)
        .flat_map(|(i, rows)| {
            let style = if i == app.errors_cursor {
                t.status_error.patch(t.selection)
            } else {
                t.status_error
            };
            rows.into_iter()
                .map(move |w| clip_line(Line::from(Span::styled(w, style)), width))
        })
        .take(height)
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::from(Span::styled("No load errors.", t.ok))]
    } else {
        lines
    };
    let title = if count == 0 {
        "Load errors".to_string()
    } else {
        "Load errors · Enter opens the line".to_string()
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}
