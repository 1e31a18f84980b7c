//! What could not be loaded, with file:line.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let top = top_line(app.scroll, app.model.errors().count(), r);
    let lines: Vec<Line> = app
        .model
        .errors()
        .map(|e| Line::from(Span::styled(v(e.to_string()), t.status_error)))
        .skip(top)
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::from(Span::styled("No load errors.", t.ok))]
    } else {
        lines
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, "Load errors".into(), true))
            .style(t.base),
        r,
    );
}
