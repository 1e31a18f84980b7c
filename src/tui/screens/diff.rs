//! The diff of the picked fixes: scroll, copy, probe, save.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::conf::FileId;
use crate::tui::action::Effect;
use crate::tui::app::App;
use crate::tui::screens::detail::probe_lines;
use crate::tui::theme::Theme;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

#[derive(Default)]
pub struct DiffView {
    pub text: String,
    pub changed: Vec<(FileId, Vec<u8>)>,
    pub scroll: usize,
}

impl App {
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
            .fix
            .items
            .iter()
            .filter(|i| i.checked)
            .filter_map(|i| self.findings[i.finding].hop)
            .map(|h| self.model.hops[h].id.clone())
            .collect();
        ids.dedup();
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

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    // The what-if probe of the fix, when asked for, below the diff.
    let (r, probe_area) = match &app.fix_probe {
        Some(view) => {
            let width = r.width.saturating_sub(2) as usize;
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
    let top = top_line(app.diff.scroll, app.diff.text.lines().count(), r);
    let lines: Vec<Line> = app
        .diff
        .text
        .lines()
        .skip(top)
        .take(height)
        .map(|l| Line::from(Span::styled(v(l), diff_line_style(t, l))))
        .collect();
    let title = format!(
        "Diff · {} file(s) · c copy · w save · P probe the fix",
        app.diff.changed.len()
    );
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
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
}
