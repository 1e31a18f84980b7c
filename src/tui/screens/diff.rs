//! The diff of the picked fixes: scroll, copy, probe, save.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::conf::FileId;
use crate::fix::followup::FollowUp;
use crate::tui::action::{Action, Effect};
use crate::tui::app::App;
use crate::tui::screens::detail::probe_lines;
use crate::tui::text::wrap;
use crate::tui::theme::Theme;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;
use crate::visible::visible;

#[derive(Default)]
pub struct DiffView {
    pub text: String,
    pub changed: Vec<(FileId, Vec<u8>)>,
    /// The first row shown.
    pub scroll: usize,
    /// Long lines run off the edge (`z`), scrolled sideways with `H`/`L`,
    /// instead of wrapping.
    pub nowrap: bool,
    /// Columns scrolled sideways when lines do not wrap.
    pub hscroll: usize,
    /// Findings the previewed fixes create, not taken yet.
    pub offered: Vec<FollowUp>,
    /// Follow-ups taken and applied in this diff.
    pub taken: Vec<FollowUp>,
    /// The keys move among the follow-ups (Tab), not the diff.
    pub focus_ups: bool,
    /// The follow-up under the cursor: offered ones first, then taken.
    pub ups_cursor: usize,
}

/// Columns `H`/`L` scroll sideways.
pub const HSTEP: usize = 8;

/// `line` made visible (control characters escaped) and cut into rows of
/// at most `width` columns: every byte shows, none is cut off.
pub fn wrap_chars(line: &str, width: usize) -> Vec<String> {
    let text = visible(line);
    let width = width.max(1);
    let mut out = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width && !row.is_empty() {
            out.push(std::mem::take(&mut row));
            used = 0;
        }
        row.push(c);
        used += w;
    }
    out.push(row);
    out
}

/// `line` made visible, without its first `skip` columns.
fn shifted(line: &str, skip: usize) -> String {
    let text = visible(line);
    let mut used = 0;
    text.chars()
        .skip_while(|c| {
            let before = used;
            used += c.width().unwrap_or(0);
            before < skip
        })
        .collect()
}

impl DiffView {
    /// The rows the diff shows in `width` columns: each with the diff
    /// line it comes from (for its colour).
    pub fn rows(&self, width: usize) -> Vec<(String, &str)> {
        self.text
            .lines()
            .flat_map(|l| {
                let rows = if self.nowrap {
                    vec![shifted(l, self.hscroll)]
                } else {
                    wrap_chars(l, width)
                };
                rows.into_iter().map(move |r| (r, l))
            })
            .collect()
    }

    /// The widest line, in columns (how far `L` can scroll).
    pub fn widest(&self) -> usize {
        self.text
            .lines()
            .map(|l| visible(l).width())
            .max()
            .unwrap_or(0)
    }
}

impl App {
    /// `z`, `H`, `L`: wrap long lines, or scroll them sideways.
    pub(crate) fn sideways(&mut self, action: Action) {
        if action != Action::ToggleWrap && !self.diff.nowrap {
            self.set_status(
                false,
                "long lines wrap: nothing is hidden sideways (z to stop wrapping)",
            );
            return;
        }
        let d = &mut self.diff;
        match action {
            Action::ToggleWrap => {
                d.nowrap = !d.nowrap;
                d.hscroll = 0;
                d.scroll = 0;
            }
            Action::ScrollLeft => d.hscroll = d.hscroll.saturating_sub(HSTEP),
            _ => d.hscroll = (d.hscroll + HSTEP).min(d.widest().saturating_sub(1)),
        }
    }

    pub(crate) fn ask_save(&mut self) {
        if self.diff.changed.is_empty() {
            return;
        }
        let on_disk = self
            .diff
            .changed
            .iter()
            .all(|(f, _)| self.model.config.file(*f).on_disk);
        if self.model.config.from_stdin && self.server.is_none() {
            self.set_status(
                true,
                "standard input is not nginx -T output, so it owns no files on this machine: nothing is written (copy the diff with c and apply it with patch -p1 where the files are)",
            );
            return;
        }
        if !on_disk && self.server.is_none() {
            self.set_status(
                true,
                "this configuration is not on disk (demo or nginx -T): copy the diff with c and apply it with patch -p1",
            );
            return;
        }
        self.confirm_save = true;
    }

    /// Answers the save question (`y`).
    pub fn confirm(&mut self) -> Vec<Effect> {
        if !self.confirm_save {
            return Vec::new();
        }
        self.confirm_save = false;
        let files = crate::fix::changed_files(&self.model, &self.diff.changed);
        if let Some(host) = &self.server {
            // The paths as the server names them (absolute).
            let files = files.into_iter().map(|f| f.on_server()).collect();
            self.set_status(false, format!("writing on {host} (then nginx -t there)…"));
            return vec![Effect::SaveRemote(files)];
        }
        vec![Effect::Save(files)]
    }

    /// The hops the previewed fix is about.
    pub fn diff_hops(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .basket_hops()
            .into_iter()
            .map(|h| self.model.hops[h].id.clone())
            .collect();
        for up in &self.diff.taken {
            if !ids.contains(&up.hop) {
                ids.push(up.hop.clone());
            }
        }
        ids
    }

    pub fn on_copied(&mut self, how: Result<&str, String>) {
        match how {
            Ok(how) => self.set_status(false, format!("diff copied ({how})")),
            Err(e) => self.set_status(true, format!("copy failed: {e}")),
        }
    }

    pub fn on_saved(&mut self, result: Result<Vec<String>, String>) -> Vec<Effect> {
        match result {
            Ok(saved) => {
                self.set_status(false, format!("saved {}; reloading", saved.join(", ")));
                vec![Effect::Reload]
            }
            Err(e) => {
                self.set_status(true, format!("not saved: {e}"));
                Vec::new()
            }
        }
    }
}

pub fn diff_line_style(t: &Theme, line: &str) -> Style {
    if line.starts_with("+++") || line.starts_with("---") || line.starts_with("diff ") {
        t.diff_meta
    } else if line.starts_with('+') {
        t.diff_add
    } else if line.starts_with('-') {
        t.diff_del
    } else if line.starts_with("@@") {
        t.diff_hunk
    } else {
        t.base
    }
}

/// The follow-up pane: findings the previewed fixes create, explained,
/// and the ones taken.
fn followup_lines(app: &App, t: &Theme, width: usize) -> (Vec<Line<'static>>, usize) {
    let mut lines = Vec::new();
    let d = &app.diff;
    // The first line of the entry under the cursor.
    let mut at = 0;
    for (i, up) in d.offered.iter().enumerate() {
        let f = &up.finding;
        let here = d.focus_ups && d.ups_cursor == i;
        if here {
            at = lines.len();
        }
        let mark = if here { "▶ " } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}new  "), t.status_error),
            Span::styled(
                format!("{:<6}", badge(Some(f.severity))),
                severity_style(t, f.severity),
            ),
            Span::styled(format!("{} ", f.rule), t.title),
            Span::styled(v(&up.hop), t.dim),
        ]));
        for w in wrap(&f.message, width.saturating_sub(5)) {
            lines.push(Line::from(Span::styled(format!("     {w}"), t.base)));
        }
        let fix = match (&f.fix, up.fixable) {
            (Some(x), true) => format!("fix: {}", x.summary),
            _ => "no automatic fix: read it with hopscope explain".to_string(),
        };
        for w in wrap(&fix, width.saturating_sub(5)) {
            lines.push(Line::from(Span::styled(format!("     {w}"), t.inherited)));
        }
    }
    for (i, up) in d.taken.iter().enumerate() {
        let here = d.focus_ups && d.ups_cursor == d.offered.len() + i;
        if here {
            at = lines.len();
        }
        let mark = if here { "▶ " } else { "" };
        let summary = up.finding.fix.as_ref().map_or("", |x| x.summary.as_str());
        let text = format!("{mark}taken {} {}: {summary}", up.rule, up.hop);
        for w in wrap(&text, width) {
            lines.push(Line::from(Span::styled(w, t.explicit)));
        }
    }
    (lines, at)
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let width = r.width.saturating_sub(2) as usize;
    // The findings the fixes create, below the diff, never applied unless
    // taken (`a`).
    let (ups, at) = followup_lines(app, t, width);
    let (r, ups_area) = if ups.is_empty() {
        (r, None)
    } else {
        let h = (ups.len() as u16 + 2).min(r.height / 3).max(3);
        let parts = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(3), Constraint::Length(h)])
            .split(r);
        (parts[0], Some(parts[1]))
    };
    // The what-if probe of the fix, when asked for, below the diff.
    let (r, probe_area) = match &app.fix_probe {
        Some(view) => {
            let lines = probe_lines(view, t, width);
            let h = (lines.len() as u16 + 2).min(r.height / 2).max(3);
            let parts = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Min(3), Constraint::Length(h)])
                .split(r);
            (parts[0], Some((parts[1], lines)))
        }
        None => (r, None),
    };
    let height = r.height.saturating_sub(2) as usize;
    let rows = app.diff.rows(width);
    let top = top_line(app.diff.scroll, rows.len(), r);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(top)
        .take(height)
        .map(|(row, l)| Line::from(Span::styled(row, diff_line_style(t, l))))
        .collect();
    let layout = if app.diff.nowrap {
        format!("z wrap · H/L ← {} cols →", app.diff.hscroll)
    } else {
        "long lines wrap (z)".to_string()
    };
    let title = format!(
        "Diff · {} file(s) · basket: {} · {layout}",
        app.diff.changed.len(),
        app.basket_label()
    );
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, !app.diff.focus_ups))
            .style(t.base),
        r,
    );
    if let Some((area, lines)) = probe_area {
        f.render_widget(
            Paragraph::new(lines)
                .block(framed(
                    ui,
                    "With the fix applied (nothing written)".into(),
                    false,
                ))
                .style(t.base),
            area,
        );
    }
    if let Some(area) = ups_area {
        let title = if app.diff.focus_ups {
            "Follow-ups · j/k move · Space takes or drops · Tab back to the diff"
        } else if app.diff.offered.iter().any(|u| u.fixable) {
            "Follow-ups: findings these fixes create · a takes all · Tab to pick"
        } else {
            "Follow-ups: findings these fixes create · Tab to pick"
        };
        // The entry under the cursor stays in view.
        let skip = at.saturating_sub(area.height.saturating_sub(3) as usize);
        f.render_widget(
            Paragraph::new(ups.into_iter().skip(skip).collect::<Vec<_>>())
                .block(framed(ui, title.into(), app.diff.focus_ups))
                .style(t.base),
            area,
        );
    }
}
