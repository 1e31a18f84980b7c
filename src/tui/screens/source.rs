//! A file of the configuration, highlighted, with the selected hop's chain
//! marked: the blocks around it, the includes that bring each file in, and
//! the lines that set its values (the model's [`Model::hop_chain`]).
//! `n`/`N` walk the chain across files; the current line has a `▶`.
//!
//! [`Model::hop_chain`]: crate::model::Model::hop_chain

use std::collections::BTreeMap;

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::model::{DirRef, Origin, Step};
use crate::tui::action::{Action, Screen};
use crate::tui::app::App;
use crate::tui::clip::{clip_line, slice_line};
use crate::tui::text::wrap;
use crate::tui::theme::Theme;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

/// Columns `H`/`L` scroll the source sideways (as in the diff).
const HSTEP: usize = super::diff::HSTEP;

impl App {
    /// Opens the source view at a directive, with the selected hop's chain
    /// marked.
    pub fn show_source(&mut self, dir: DirRef) {
        self.source_marks = self.chain_marks();
        self.mark_index = self
            .source_marks
            .iter()
            .position(|(d, _)| *d == dir)
            .unwrap_or(0);
        self.go_to(dir);
        if self.screen() == Screen::Source {
            return;
        }
        self.push(Screen::Source);
    }

    /// Puts the source view's current line on a directive (in its file).
    fn go_to(&mut self, dir: DirRef) {
        let (line, _) = self.model.line_col(dir);
        self.source = Some((dir.file, line));
        self.source_scroll = line.saturating_sub(1);
        self.source_hscroll = 0;
    }

    /// The selected hop's chain, outermost first, as the source view marks
    /// it: each line with what it does for the hop, in words that do not
    /// repeat the line (the line is shown beside them).
    pub(crate) fn chain_marks(&self) -> Vec<(DirRef, String)> {
        let Some(h) = self.selected_hop() else {
            return Vec::new();
        };
        let m = &self.model;
        let hop = &m.hops[h];
        m.hop_chain(h)
            .into_iter()
            .map(|link| {
                let label = match &link.step {
                    Step::Include { brings } => {
                        let names: Vec<&str> = brings
                            .iter()
                            .map(|&f| m.config.file(f).name.as_str())
                            .collect();
                        format!("include brings {}", names.join(", "))
                    }
                    Step::Opener(kind) => format!("the hop is in this {} block", kind.level()),
                    Step::Setting(i) => {
                        let s = &hop.settings[*i];
                        match &s.origin {
                            Origin::Explicit(p) if s.inherited => format!(
                                "{}, inherited by the hop from {}",
                                s.name,
                                m.block_label(p.ctx)
                            ),
                            Origin::Explicit(p) => {
                                format!("{}, set in the hop's own {}", s.name, m.block_label(p.ctx))
                            }
                            Origin::Default => s.name.to_string(),
                        }
                    }
                    Step::Host => match hop.host_header.as_ref().map(|h| &h.origin) {
                        Some(Origin::Explicit(p)) if p.ctx != hop.own => format!(
                            "Host header, inherited by the hop from {}",
                            m.block_label(p.ctx)
                        ),
                        _ => "Host header sent to the upstream".to_string(),
                    },
                    Step::Pass => "the hop".to_string(),
                };
                (link.dir, label)
            })
            .collect()
    }

    /// Walks the chain: `n` down towards the hop, `N` back up; a line in
    /// another file opens that file.
    pub(crate) fn jump_mark(&mut self, forward: bool) {
        let n = self.source_marks.len();
        if n == 0 {
            return;
        }
        let (next, wrapped) = if forward {
            ((self.mark_index + 1) % n, self.mark_index + 1 == n)
        } else {
            ((self.mark_index + n - 1) % n, self.mark_index == 0)
        };
        self.mark_index = next;
        let (d, label) = self.source_marks[next].clone();
        self.go_to(d);
        let file_line = self.model.file_line(d);
        let note = if wrapped { " (wrapped around)" } else { "" };
        self.set_status(
            false,
            format!("{}/{n} of the chain{note} · {file_line}: {label}", next + 1),
        );
    }

    /// `z`, `H`, `L` in the source view: wrap long lines, or scroll them
    /// sideways.
    pub(crate) fn source_sideways(&mut self, action: Action) {
        match action {
            Action::ToggleWrap => {
                self.source_wrap = !self.source_wrap;
                self.source_hscroll = 0;
            }
            _ if self.source_wrap => self.set_status(
                false,
                "long lines wrap: nothing is hidden sideways (z to stop wrapping)",
            ),
            Action::ScrollLeft => self.source_hscroll = self.source_hscroll.saturating_sub(HSTEP),
            _ => {
                let widest = self.source.map_or(0, |(file, _)| {
                    let text = &self.model.config.file(file).text;
                    String::from_utf8_lossy(text)
                        .lines()
                        .map(|l| crate::visible::visible(l).width())
                        .max()
                        .unwrap_or(0)
                });
                self.source_hscroll = (self.source_hscroll + HSTEP).min(widest.saturating_sub(1));
            }
        }
    }
}

/// What the source view draws around the code.
struct Gutter<'a> {
    t: &'a Theme,
    /// Columns of the line numbers.
    digits: usize,
    /// The current line (1-based).
    current: u32,
    /// The chain's labels on each line (several links can share a line).
    marks: BTreeMap<u32, Vec<&'a str>>,
}

impl Gutter<'_> {
    /// Columns before the code: `▶ 23 ● `.
    fn width(&self) -> usize {
        self.digits + 5
    }

    /// The gutter of line `n`'s first row.
    fn spans(&self, n: u32) -> Vec<Span<'static>> {
        let t = self.t;
        let current = n == self.current;
        let digits = self.digits;
        vec![
            Span::styled(if current { "▶ " } else { "  " }, t.mark),
            Span::styled(
                format!("{n:>digits$} "),
                if current { t.selection } else { t.line_no },
            ),
            Span::styled(
                if self.marks.contains_key(&n) {
                    "● "
                } else {
                    "  "
                },
                t.mark,
            ),
        ]
    }

    /// The style a line's code rows take over the highlighting: the
    /// selection on the current line. (A search can add its matches here.)
    fn line_style(&self, n: u32) -> Option<Style> {
        (n == self.current).then_some(self.t.selection)
    }

    /// The annotation of line `n`: what its chain links do for the hop.
    fn note(&self, n: u32) -> Option<String> {
        self.marks
            .get(&n)
            .map(|labels| format!("← {}", v(labels.join("; "))))
    }
}

/// The rows of line `n`: its code (scrolled sideways by `skip`, or wrapped
/// in `code_w` columns, at most `max_rows` of them: a view never shows
/// more), and its annotation beside it when it fits, else on rows of its
/// own below, wrapped: never cut.
fn line_rows(
    g: &Gutter,
    n: u32,
    code: Line<'static>,
    code_w: usize,
    skip: Option<usize>,
    max_rows: usize,
) -> Vec<Line<'static>> {
    let t = g.t;
    let mut code_rows: Vec<Line<'static>> = match skip {
        Some(skip) => vec![clip_line(slice_line(&code, skip, usize::MAX), code_w)],
        None => {
            let w = code.width().max(1);
            (0..w.div_ceil(code_w.max(1)).clamp(1, max_rows.max(1)))
                .map(|i| slice_line(&code, i * code_w, code_w))
                .collect()
        }
    };
    if let Some(style) = g.line_style(n) {
        // Over the highlighting: its colours stay, on the selection's
        // background (or in the selection's style where it has none).
        let over = match style.bg {
            Some(bg) => Style::new().bg(bg).add_modifier(style.add_modifier),
            None => style,
        };
        for row in &mut code_rows {
            for span in &mut row.spans {
                span.style = span.style.patch(over);
            }
        }
    }
    let note = g.note(n);
    let mut rows: Vec<Line<'static>> = Vec::new();
    let blank = " ".repeat(g.width());
    let last = code_rows.len() - 1;
    let mut below: Vec<String> = Vec::new();
    for (i, row) in code_rows.into_iter().enumerate() {
        let mut spans = if i == 0 {
            g.spans(n)
        } else {
            vec![Span::raw(blank.clone())]
        };
        let used = row.width();
        spans.extend(row.spans);
        if i == last {
            if let Some(note) = &note {
                if used + 3 + note.width() <= code_w {
                    spans.push(Span::raw("   "));
                    spans.push(Span::styled(note.clone(), t.mark));
                } else {
                    below = wrap(note, code_w.saturating_sub(2));
                }
            }
        }
        rows.push(Line::from(spans));
    }
    for w in below {
        rows.push(Line::from(vec![
            Span::raw(format!("{blank}  ")),
            Span::styled(w, t.mark),
        ]));
    }
    rows
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let Some((file, _)) = app.source else {
        return;
    };
    let src = app.model.config.file(file);
    let text = String::from_utf8_lossy(&src.text);
    let width = r.width.saturating_sub(2) as usize;
    let height = r.height.saturating_sub(2) as usize;
    let total = src.line_count() as usize;
    let cursor = (app.source_scroll as usize).min(total.saturating_sub(1));
    let mut marks: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for (d, label) in app.source_marks.iter().filter(|(d, _)| d.file == file) {
        marks
            .entry(app.model.line_col(*d).0)
            .or_default()
            .push(label.as_str());
    }
    let g = Gutter {
        t,
        digits: src.line_count().to_string().len(),
        current: cursor as u32 + 1,
        marks,
    };
    let code_w = width.saturating_sub(g.width()).max(1);
    let skip = (!app.source_wrap).then_some(app.source_hscroll);
    let code = |first: usize, count: usize| -> Vec<Line<'static>> {
        match ui.highlighter {
            Some(hl) => hl.highlight_lines(&text, first, count, t),
            None => text
                .lines()
                .skip(first)
                .take(count)
                .map(|l| Line::from(v(l)))
                .collect(),
        }
    };
    // A third of the view above the current line shows what encloses it
    // (the whole of a file that fits, from its top); annotations on rows
    // of their own can push the current line down, then the view starts
    // lower until it shows.
    let mut top = cursor
        .saturating_sub(height / 3)
        .min(total.saturating_sub(height));
    let rows = loop {
        let mut rows: Vec<Line<'static>> = Vec::new();
        let mut cursor_end = None;
        for (i, l) in code(top, height).into_iter().enumerate() {
            let n = (top + i) as u32 + 1;
            let l = searched(app, ui, Screen::Source, top + i, l);
            rows.extend(line_rows(&g, n, l, code_w, skip, height));
            if n == g.current {
                cursor_end = Some(rows.len());
            }
            if rows.len() >= height {
                break;
            }
        }
        if cursor_end.is_some_and(|end| end <= height) || top >= cursor {
            break rows;
        }
        top += 1;
    };
    let n = app.source_marks.len();
    let at = if n == 0 {
        String::new()
    } else {
        format!(" {}/{n}", app.mark_index + 1)
    };
    let layout = if app.source_wrap {
        " · z: long lines wrap".to_string()
    } else if app.source_hscroll > 0 {
        format!(" · H/L ← {} cols →", app.source_hscroll)
    } else {
        String::new()
    };
    let walk = if app.search_in(Screen::Source).is_some() {
        "n/N: the search's matches (Esc clears)"
    } else {
        "n/N: the hop's chain"
    };
    let title = format!("{} · {walk}{at}{layout}", v(app.model.shown(&src.name)));
    f.render_widget(
        Paragraph::new(rows.into_iter().take(height).collect::<Vec<_>>())
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}

/// The lines `/` searches: the file's lines, as numbered (line N is
/// index N-1).
pub fn search_lines(app: &App) -> Vec<String> {
    let Some((file, _)) = app.source else {
        return Vec::new();
    };
    let text = &app.model.config.file(file).text;
    String::from_utf8_lossy(text).lines().map(v).collect()
}
