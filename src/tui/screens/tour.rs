//! The tour of the demo's pitfalls: one step at a time, the lesson beside
//! (on a narrow screen: above) the configuration lines of the step's hop.
//! The steps and what is computed for them come from `crate::tour`.
//!
//! `n`/`→`/Space and `p`/`←` move between steps and stop at the first and
//! the last (the status line says so); `f` opens the fix screen of the
//! step's hop, Enter its hop view, Esc leaves the tour where it was, and
//! `t` comes back to the same step.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tour::{self, Lesson, STEPS};
use crate::tui::action::Screen;
use crate::tui::app::{App, CheckState};
use crate::tui::screens::explain::{marked_line, row_style};
use crate::tui::text::tour_rows;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

/// Where the tour is offered when the configuration is not the demo.
pub const ONLY_ON_DEMO: &str =
    "the tour runs on the built-in demo: start hopscope with no path to take it";

/// From this width the lesson and the lines sit side by side.
const SIDE_BY_SIDE: u16 = 120;

impl App {
    pub(crate) fn open_tour(&mut self) {
        if !self.on_demo() {
            self.set_status(false, ONLY_ON_DEMO);
            return;
        }
        self.tour_step = self.tour_step.min(STEPS.len() - 1);
        self.push(Screen::Tour);
    }

    /// The current step worked out on the loaded model; none before the
    /// findings are known (a lesson shows what was found).
    pub fn tour_lesson(&self) -> Option<Lesson> {
        if !self.findings_ready() {
            return None;
        }
        tour::lesson(&self.model, &self.findings, self.tour_step)
    }

    /// Next (`delta` 1) or previous (-1) step; the tour stops at its ends.
    pub(crate) fn tour_move(&mut self, delta: i64) {
        let last = STEPS.len() as i64 - 1;
        let next = self.tour_step as i64 + delta;
        if next < 0 {
            self.set_status(false, "this is the first pitfall: n goes on");
            return;
        }
        if next > last {
            self.set_status(
                false,
                "that was the last pitfall: p goes back, Esc leaves the tour",
            );
            return;
        }
        self.tour_step = next as usize;
        self.scroll = 0;
    }

    /// Selects the step's hop in the list (clearing a filter that hides
    /// it), for the screens that show the selected hop.
    fn tour_select(&mut self) -> Option<usize> {
        if !self.need_findings() {
            return None;
        }
        let Some(h) = self.tour_lesson().map(|l| l.hop) else {
            self.set_status(true, ONLY_ON_DEMO);
            return None;
        };
        if !self.rows.contains(&h) {
            self.filter.clear();
            self.refresh_rows();
            self.set_status(false, "filter cleared: it hid the step's hop");
        }
        self.cursor = self.rows.iter().position(|&r| r == h)?;
        Some(h)
    }

    /// Enter: the hop view of the step's hop.
    pub(crate) fn tour_open_hop(&mut self) {
        if self.tour_select().is_some() {
            self.detail_cursor = 0;
            self.push(Screen::Detail);
        }
    }

    /// `f`: the fixes of the step's hop.
    pub(crate) fn tour_fix(&mut self) {
        if let Some(h) = self.tour_select() {
            self.start_fix(Some(h));
        }
    }

    /// How far the lesson scrolls: its rows and the rows it shows.
    pub(crate) fn tour_scroll_stops(&self) -> usize {
        let Some(lesson) = self.tour_lesson() else {
            return 1;
        };
        let (w, h) = self.area;
        let body = Rect::new(0, 0, w, h.saturating_sub(2));
        let [text, _] = split(body, &lesson);
        let step = &STEPS[self.tour_step];
        let rows = tour_rows(step, &lesson, inner_width(text), !wide(body)).len();
        rows.saturating_sub(text.height.saturating_sub(2) as usize) + 1
    }
}

fn inner_width(r: Rect) -> usize {
    r.width.saturating_sub(2) as usize
}

/// Whether the lesson and the lines sit side by side; then the lines'
/// pane also lists the settings inherited from elsewhere, else the lesson
/// does, at its end.
fn wide(body: Rect) -> bool {
    body.width >= SIDE_BY_SIDE
}

/// Rows the hop's block needs.
fn config_rows(l: &Lesson) -> u16 {
    let block = l.lines.2.saturating_sub(l.lines.1) + 1;
    block.min(u16::MAX as u32 / 2) as u16
}

/// The lesson's pane and the configuration's: side by side from 120
/// columns, else the lesson above the block's lines (at most 2/5 of the
/// height).
fn split(body: Rect, l: &Lesson) -> [Rect; 2] {
    if wide(body) {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body)
    } else {
        let cfg = (config_rows(l) + 2).min(body.height * 2 / 5).max(3);
        Layout::vertical([Constraint::Min(3), Constraint::Length(cfg)]).areas(body)
    }
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, body: Rect) {
    let t = ui.theme;
    let step = &STEPS[app.tour_step.min(STEPS.len() - 1)];
    let title = format!(
        "Tour {}/{} · SNI pitfalls · j/k scrolls",
        app.tour_step + 1,
        STEPS.len()
    );
    let Some(lesson) = app.tour_lesson() else {
        let why = match &app.check {
            CheckState::Ready => ONLY_ON_DEMO,
            CheckState::Checking => "The findings are being checked: the step shows once they are.",
            CheckState::Failed(_) => "The findings are unknown: the rules stopped.",
        };
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(why, t.dim)))
                .block(framed(ui, title, true))
                .style(t.base),
            body,
        );
        return;
    };
    let [text, code] = split(body, &lesson);
    let rows = tour_rows(step, &lesson, inner_width(text), !wide(body));
    let top = top_line(app.scroll, rows.len(), text);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(top)
        .map(|(kind, pieces)| marked_line(t, &pieces, row_style(t, kind)))
        .collect();
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        text,
    );
    draw_config(f, app, ui, &lesson, code, wide(body));
}

/// The hop's block, highlighted as the source view shows it: the pass
/// line's number selected, lines that set one of the hop's settings
/// marked; then the settings that come from other blocks or files.
fn draw_config(f: &mut Frame, app: &App, ui: &Ui, l: &Lesson, r: Rect, inherited: bool) {
    let t = ui.theme;
    let (file, first, last) = l.lines;
    let src = app.model.config.file(file);
    let text = String::from_utf8_lossy(&src.text);
    let count = (last + 1).saturating_sub(first) as usize;
    let skip = first.saturating_sub(1) as usize;
    let styled: Vec<Line<'static>> = match ui.highlighter {
        Some(hl) => hl.highlight_lines(&text, skip, count, t),
        None => text
            .lines()
            .skip(skip)
            .take(count)
            .map(|l| Line::from(v(l)))
            .collect(),
    };
    // The block's lines without the indent they all share.
    let indent = text
        .lines()
        .skip(skip)
        .take(count)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let styled: Vec<Line<'static>> = styled.into_iter().map(|l| dedent(l, indent)).collect();
    let hop = &app.model.hops[l.hop];
    let set: Vec<u32> = hop
        .settings
        .iter()
        .filter_map(|s| match &s.origin {
            crate::model::Origin::Explicit(p) if p.dir.file == file => {
                Some(app.model.line_col(p.dir).0)
            }
            _ => None,
        })
        .collect();
    let gutter = last.to_string().len();
    let mut lines: Vec<Line> = styled
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let n = first + i as u32;
            let num = if n == l.pass_line {
                t.selection
            } else {
                t.line_no
            };
            let mark = if set.contains(&n) { "● " } else { "  " };
            let mut spans = vec![
                Span::styled(format!("{n:>gutter$} "), num),
                Span::styled(mark, t.mark),
            ];
            spans.extend(line.spans);
            Line::from(spans)
        })
        .collect();
    if inherited && !l.inherited.is_empty() {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            "set elsewhere, inherited by this hop:",
            t.dim,
        )));
        for (name, value, at) in &l.inherited {
            lines.push(Line::from(vec![
                Span::styled(format!("  {name} "), t.syntax_directive),
                Span::styled(v(value), t.base),
            ]));
            lines.push(Line::from(Span::styled(format!("      {}", v(at)), t.dim)));
        }
    }
    let title = format!("{}:{first}-{last}", src.name);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, v(title), false))
            .style(t.base)
            .wrap(ratatui::widgets::Wrap { trim: false }),
        r,
    );
}

/// A line without its first `n` leading spaces, whichever spans hold them.
fn dedent(line: Line<'static>, n: usize) -> Line<'static> {
    let mut left = n;
    let mut spans = Vec::new();
    for mut s in line.spans {
        if left > 0 {
            let spaces = s.content.len() - s.content.trim_start_matches(' ').len();
            let cut = spaces.min(left);
            left -= cut;
            s.content = s.content[cut..].to_string().into();
            if s.content.is_empty() {
                continue;
            }
            // Text (or the last space to cut) reached: the rest stays.
            left = 0;
        }
        spans.push(s);
    }
    Line::from(spans).style(line.style)
}
