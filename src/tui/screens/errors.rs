//! What could not be loaded, with file:line; Enter opens the line.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::clip::clip_line;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let count = app.model.errors().count();
    let width = r.width.saturating_sub(2) as usize;
    // The window keeps the error under the cursor in sight.
    let (first, visible) = window(app.errors_cursor, count, r.height, 0);
    let lines: Vec<Line> = app
        .model
        .errors()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, e)| {
            let text = v(app.model.shown(&e.to_string()));
            let line = clip_line(Line::from(Span::styled(text, t.status_error)), width);
            if i == app.errors_cursor {
                line.patch_style(t.selection)
            } else {
                line
            }
        })
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
