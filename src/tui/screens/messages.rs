//! Every status message so far, newest first, whole: what the footer
//! said and may have had to shorten or has cleared since.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::text::wrap;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

/// The log's rows at a width: `#N` and the message, wrapped under its
/// text; whether each is an error.
pub fn rows(app: &App, width: usize) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for m in app.log.iter().rev() {
        let head = format!("{:>5} ", format!("#{}", m.seq));
        let indent = " ".repeat(head.chars().count());
        let room = width.saturating_sub(head.chars().count());
        for (i, part) in wrap(&m.status.text, room).into_iter().enumerate() {
            let lead = if i == 0 { &head } else { &indent };
            out.push((m.status.error, format!("{lead}{part}")));
        }
    }
    out
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let width = r.width.saturating_sub(2) as usize;
    let all = rows(app, width);
    let top = top_line(app.scroll, all.len(), r);
    let lines: Vec<Line> = if all.is_empty() {
        vec![Line::from(Span::styled("No messages yet.", t.dim))]
    } else {
        all.into_iter()
            .skip(top)
            .map(|(error, text)| {
                let style = if error { t.status_error } else { t.base };
                Line::from(Span::styled(v(text), style))
            })
            .collect()
    };
    let title = format!("Messages ({}) · newest first", app.log.len());
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}
