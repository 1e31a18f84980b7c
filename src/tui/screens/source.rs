//! A file of the configuration, highlighted, with the selected hop's
//! inheritance chain marked.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::{DirRef, Origin};
use crate::tui::action::Screen;
use crate::tui::app::App;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

impl App {
    /// Opens the source view at a directive, with the selected hop's
    /// inheritance chain marked.
    pub fn show_source(&mut self, dir: DirRef) {
        let (line, _) = self.model.line_col(dir);
        self.source = Some((dir.file, line));
        self.source_scroll = line.saturating_sub(1);
        self.source_marks = self.chain_marks();
        self.mark_index = self
            .source_marks
            .iter()
            .position(|(d, _)| *d == dir)
            .unwrap_or(0);
        if self.screen() == Screen::Source {
            return;
        }
        self.push(Screen::Source);
    }

    /// The selected hop's inheritance chain, in the order nginx merges it:
    /// the pass directive, the includes that lead to it (innermost first:
    /// for a file included in several places, they say which path this hop
    /// is), then each explicitly set value from the hop's own block
    /// outwards (location, enclosing locations, server, http).
    pub(crate) fn chain_marks(&self) -> Vec<(DirRef, String)> {
        let Some(h) = self.selected_hop() else {
            return Vec::new();
        };
        let hop = &self.model.hops[h];
        let mut set: Vec<(usize, DirRef, String)> = hop
            .settings
            .iter()
            .filter_map(|s| match &s.origin {
                Origin::Explicit(p) => {
                    let depth = self.model.tree.ancestors(p.ctx).count();
                    let label = format!(
                        "{} {} ({})",
                        s.name,
                        s.value.as_deref().unwrap_or(""),
                        p.level
                    );
                    Some((depth, p.dir, label))
                }
                Origin::Default => None,
            })
            .collect();
        set.sort_by_key(|(depth, d, _)| {
            (std::cmp::Reverse(*depth), d.file, self.model.line_col(*d).0)
        });
        let mut marks = vec![(
            hop.pass,
            format!("{} (the hop)", hop.module.pass_directive()),
        )];
        for &inc in hop.via.iter().rev() {
            marks.push((inc, "include (on the hop's path)".to_string()));
        }
        for (_, d, label) in set {
            if !marks.iter().any(|(m, _)| *m == d) {
                marks.push((d, label));
            }
        }
        marks
    }

    /// Walks the inheritance chain: `n` outwards, `N` back towards the hop.
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
        let (line, _) = self.model.line_col(d);
        self.source = Some((d.file, line));
        self.source_scroll = line.saturating_sub(1);
        let file_line = self.model.file_line(d);
        let note = if wrapped { " (wrapped around)" } else { "" };
        self.set_status(
            false,
            format!("{}/{n} of the chain{note} · {file_line}: {label}", next + 1),
        );
    }
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let Some((file, target)) = app.source else {
        return;
    };
    let src = app.model.config.file(file);
    let text = String::from_utf8_lossy(&src.text);
    let height = r.height.saturating_sub(2) as usize;
    let first = app.source_scroll.saturating_sub(3) as usize;
    let styled: Vec<Line<'static>> = match ui.highlighter {
        Some(hl) => hl.highlight_lines(&text, first, height, t),
        None => text
            .lines()
            .skip(first)
            .take(height)
            .map(|l| Line::from(l.to_string()))
            .collect(),
    };
    let gutter = src.line_count().to_string().len();
    let marks: Vec<(u32, &str)> = app
        .source_marks
        .iter()
        .filter(|(d, _)| d.file == file)
        .map(|(d, label)| (app.model.line_col(*d).0, label.as_str()))
        .collect();
    let lines: Vec<Line> = styled
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let n = (first + i + 1) as u32;
            let l = searched(app, ui, Screen::Source, first + i, l);
            let mark = marks.iter().find(|(line, _)| *line == n);
            let num_style = if n == target { t.selection } else { t.line_no };
            let mut spans = vec![
                Span::styled(format!("{n:>gutter$} "), num_style),
                Span::styled(if mark.is_some() { "● " } else { "  " }, t.mark),
            ];
            spans.extend(l.spans);
            if let Some((_, label)) = mark {
                spans.push(Span::styled(v(format!("   ◀ {label}")), t.mark));
            }
            Line::from(spans)
        })
        .collect();
    let title = format!(
        "{} · n/N: the hop's inheritance chain",
        app.model.shown(&src.name)
    );
    f.render_widget(
        Paragraph::new(lines)
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
