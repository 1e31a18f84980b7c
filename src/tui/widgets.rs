//! Pieces every screen shares: the header, frames, the save question, layout helpers, and the last guard that
//! keeps control characters off the terminal.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::action::Screen;
use super::app::{App, CheckState, CHECKING};
use super::clip::clip_line;
use super::text::wrap;
use super::theme::Theme;
use super::ui::Ui;
use crate::diagnostic::Severity;
use crate::report::labels;

pub fn severity_style(t: &Theme, s: Severity) -> Style {
    match s {
        Severity::Error => t.severity_error,
        Severity::High => t.severity_high,
        Severity::Medium => t.severity_medium,
        Severity::Low => t.severity_low,
        Severity::Info => t.severity_info,
    }
}

pub fn badge(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Error) => "ERROR",
        Some(Severity::High) => "HIGH",
        Some(Severity::Medium) => "MED",
        Some(Severity::Low) => "LOW",
        Some(Severity::Info) => "INFO",
        None => "ok",
    }
}

/// A hop's badge while the rules have not spoken: being checked, or
/// unknown (they stopped).
pub fn pending_badge(check: &CheckState) -> &'static str {
    match check {
        CheckState::Failed(_) => "?",
        _ => "…",
    }
}

/// The last guard between untrusted text and the terminal: the widgets
/// above show control characters as visible escapes; a cell that still
/// holds one (or a bidi override) shows `\u{fffd}` instead, so nothing
/// from a config, a dump or a server reaches the terminal as a control.
pub fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(crate::visible::is_unsafe) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

/// Header, body and footer.
pub(crate) fn frame_rows(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the list screen puts its parts.
pub(crate) struct ListLayout {
    /// The table of hops.
    pub list: Rect,
    /// The selected hop's detail: beside the list on a wide screen, below
    /// it on a tall one.
    pub preview: Option<Rect>,
    /// Without a preview, a strip under the list with the selected hop's
    /// values in full.
    pub strip: Option<Rect>,
}

/// The list screen's layout for `rows` hops: the detail beside the list
/// from 140 columns (the list keeps as much room as on an 80-column
/// screen), else below it when the body has 30 rows (the list as tall as
/// its hops need, up to three fifths), else a strip of `strip` lines under
/// it.
pub(crate) fn list_split(body: Rect, rows: usize, strip: u16) -> ListLayout {
    if body.width >= 140 {
        let [list, side] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        return ListLayout {
            list,
            preview: Some(side),
            strip: None,
        };
    }
    if body.height >= 30 {
        let want = (rows as u16).saturating_add(3).max(6);
        let list_h = want.min(body.height * 3 / 5);
        let [list, below] =
            Layout::vertical([Constraint::Length(list_h), Constraint::Min(0)]).areas(body);
        return ListLayout {
            list,
            preview: Some(below),
            strip: None,
        };
    }
    if strip > 0 {
        let [list, strip] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(strip)]).areas(body);
        return ListLayout {
            list,
            preview: None,
            strip: Some(strip),
        };
    }
    ListLayout {
        list: body,
        preview: None,
        strip: None,
    }
}

/// The fix screen: the fixes above, what the selected one does below.
pub(crate) fn fix_split(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body)
}

/// The first of `len` rows a table `height` rows tall (frame included,
/// `head` header rows) shows so that row `cursor` is in sight: how the
/// list builds its window, and how ratatui scrolls a fresh table state.
pub(crate) fn window(cursor: usize, len: usize, height: u16, head: u16) -> (usize, usize) {
    let visible = (height.saturating_sub(2 + head) as usize).max(1);
    (cursor.saturating_sub(visible - 1).min(len), visible)
}

pub(crate) fn header(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let width = r.width as usize;
    // The hops by their worst finding come first and always show; then,
    // most telling first, each part whole or not at all: load errors, the
    // number of findings, the screen, what was loaded (this one may end in
    // `…`), whose defaults apply.
    let mut spans = vec![Span::styled(
        " hopscope ",
        t.title.add_modifier(Modifier::BOLD),
    )];
    spans.push(Span::styled(
        format!("│ {}", labels::count(app.model.hops.len(), "hop")),
        t.base,
    ));
    // Until the rules have run, no hop counts as ok.
    let counts = match &app.check {
        CheckState::Ready => app.hop_counts(),
        _ => Vec::new(),
    };
    for (i, (s, n)) in counts.iter().enumerate() {
        spans.push(Span::styled(if i == 0 { ": " } else { " · " }, t.base));
        let (word, style) = match s {
            Some(s) => (s.as_str(), severity_style(t, *s)),
            None => ("ok", t.ok),
        };
        spans.push(Span::styled(format!("{n} {word}"), style));
    }
    spans.push(Span::raw(" "));
    let mut parts: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
    // Load errors stay visible after the first key clears the status line.
    let errors = app.model.errors().count();
    if errors > 0 {
        parts.push((
            0,
            vec![Span::styled(
                format!("│ {}: E ", labels::count(errors, "load error")),
                t.status_error,
            )],
        ));
    }
    let findings = app
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .count();
    parts.push((
        1,
        vec![match &app.check {
            CheckState::Checking => Span::styled(format!("│ findings: {CHECKING} "), t.title),
            CheckState::Failed(_) => Span::styled("│ findings unknown ", t.status_error),
            CheckState::Ready if findings == 0 => Span::styled("│ no findings ", t.dim),
            CheckState::Ready => {
                Span::styled(format!("│ {} ", labels::count(findings, "finding")), t.dim)
            }
        }],
    ));
    if app.screen() != Screen::List {
        parts.push((
            2,
            vec![Span::styled(format!("│ {} ", app.screen().title()), t.dim)],
        ));
    }
    let mut used: usize = spans.iter().map(Span::width).sum();
    let mut kept = Vec::new();
    for (order, part) in parts {
        let w: usize = part.iter().map(Span::width).sum();
        if used + w <= width {
            used += w;
            kept.push((order, part));
        }
    }
    kept.sort_by_key(|(order, _)| *order);
    spans.extend(kept.into_iter().flat_map(|(_, p)| p));
    // Whose defaults apply, whole, and what was loaded in the room left
    // (cut with `…`, but only with room for a few letters): a long source
    // label must not hide the nginx version the rules were judged for.
    let choice = &app.model.version_choice;
    let version = [
        v(format!("│ {} ", labels::version_short(choice))),
        format!("│ nginx {} ", choice.version),
    ];
    let label = v(format!("│ {} ", app.model.shown(&app.label)));
    const FEW: usize = 12;
    let rest = width.saturating_sub(used);
    let [long, short] = version;
    // The label whole with the long then the short version; else the label
    // cut beside the short version; else whichever fits whole.
    let whole = [&long, &short]
        .into_iter()
        .find(|ver| label.width() + ver.width() <= rest);
    let (label, ver) = match whole {
        Some(ver) => (Some(label.clone()), Some(ver.clone())),
        None if rest >= short.width() + FEW => {
            let room = rest - short.width();
            let cut = format!("{} ", crate::tui::clip::clip(label.trim_end(), room - 1));
            (Some(cut), Some(short.clone()))
        }
        None if label.width() <= rest => (Some(label.clone()), None),
        None if short.width() <= rest => (None, Some(short.clone())),
        None => (None, None),
    };
    spans.extend(label.map(|l| Span::styled(l, t.base)));
    spans.extend(ver.map(|text| Span::styled(text, t.dim)));
    let line = clip_line(Line::from(spans), width);
    f.render_widget(Paragraph::new(line).style(t.base), r);
}

pub(crate) fn framed<'a>(ui: &Ui, title: String, focus: bool) -> Block<'a> {
    let t = ui.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focus { t.border_focus } else { t.border })
        .title(Span::styled(format!(" {title} "), t.title))
}

/// The first line a framed view of `len` lines shows when scrolled to
/// `scroll`: never past the point where the last line is at the bottom
/// (the terminal may have grown since the scroll was set).
pub(crate) fn top_line(scroll: usize, len: usize, r: Rect) -> usize {
    scroll.min(len.saturating_sub(r.height.saturating_sub(2) as usize))
}

pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub(crate) fn confirm(f: &mut Frame, app: &App, ui: &Ui, area: Rect) {
    let t = ui.theme;
    let files: Vec<String> = app
        .diff
        .changed
        .iter()
        .map(|(id, _)| app.model.config.file(*id).name.clone())
        .collect();
    let width = 64.min(area.width).saturating_sub(2) as usize;
    let (question, how) = match &app.server {
        Some(host) => (
            format!("Write {} file(s) on {host}?", files.len()),
            "On the server: a backup of each (FILE.hopscope.bak), then nginx -t; \
             if it fails, every file is put back. nginx is not reloaded.",
        ),
        None => (
            format!("Write {} file(s)?", files.len()),
            "A backup of each is kept (FILE.hopscope.bak).",
        ),
    };
    let mut lines = vec![Line::from(Span::styled(v(question), t.title))];
    for w in wrap(&files.join(", "), width) {
        lines.push(Line::from(Span::styled(w, t.base)));
    }
    for w in wrap(how, width) {
        lines.push(Line::from(Span::styled(w, t.dim)));
    }
    // What nginx -t said about the fixed copy, before the question.
    if let Some(check) = &app.save_check {
        for w in wrap(check, width) {
            lines.push(Line::from(Span::styled(v(w), t.explicit)));
        }
    }
    // The answer keys on their own line: never cut off.
    lines.push(Line::from(vec![
        Span::styled("y", t.key),
        Span::styled(" write · ", t.key_desc),
        Span::styled("any other key", t.key),
        Span::styled(" cancel", t.key_desc),
    ]));
    let r = centered(area, 64, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, "Save".into(), true))
            .style(t.base),
        r,
    );
}

/// Untrusted text for a span: control characters as visible escapes.
pub(crate) fn v(text: impl AsRef<str>) -> String {
    crate::visible::visible(text.as_ref()).into_owned()
}

/// A drawn line with every match of a search marked in `style`: spans are
/// split around the matches, keeping their own style elsewhere.
pub(crate) fn mark_matches(line: Line<'static>, pattern: &str, style: Style) -> Line<'static> {
    if pattern.is_empty() {
        return line;
    }
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let found = super::app::search::find_all(&text, pattern);
    if found.is_empty() {
        return line;
    }
    let mut out = Vec::new();
    let mut at = 0;
    for span in line.spans {
        let (start, end) = (at, at + span.content.len());
        at = end;
        let mut cut = start;
        for &(a, b) in &found {
            let (a, b) = (a.max(start), b.min(end));
            if a >= b {
                continue;
            }
            if a > cut {
                out.push(Span::styled(text[cut..a].to_string(), span.style));
            }
            out.push(Span::styled(
                text[a..b].to_string(),
                span.style.patch(style),
            ));
            cut = b;
        }
        if cut < end {
            out.push(Span::styled(text[cut..end].to_string(), span.style));
        }
    }
    Line { spans: out, ..line }
}

/// Marks a view's search matches on its line `index` (the line of the
/// match in sight stands out more).
pub(crate) fn searched(
    app: &App,
    ui: &Ui,
    screen: Screen,
    index: usize,
    line: Line<'static>,
) -> Line<'static> {
    match app.search_in(screen) {
        Some(s) => {
            let mut style = ui.theme.search_match;
            if s.current_line() == Some(index) {
                style = style.add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
            }
            mark_matches(line, &s.pattern, style)
        }
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_marked_across_spans() {
        let line = Line::from(vec![Span::raw("proxy_s"), Span::raw("sl_name x")]);
        let hit = Style::default().add_modifier(Modifier::REVERSED);
        let marked = mark_matches(line, "SSL", hit);
        let parts: Vec<(&str, bool)> = marked
            .spans
            .iter()
            .map(|s| (s.content.as_ref(), s.style == hit))
            .collect();
        assert_eq!(
            parts,
            [
                ("proxy_", false),
                ("s", true),
                ("sl", true),
                ("_name x", false)
            ]
        );
    }
}
