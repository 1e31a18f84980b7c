//! The diff of the picked fixes: scroll, copy, probe, save.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::conf::FileId;
use crate::fix::Placement;
use crate::tui::action::Effect;
use crate::tui::action::Screen;
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
    /// Plans the chosen fixes with the one planner every path uses
    /// ([`crate::fix::preview`]): the diff shown is exactly what a save
    /// writes. When a chosen fix cannot be applied as placed, the diff is
    /// not opened: the fix screen says why, and whether the other
    /// placement would do.
    pub(crate) fn open_preview(&mut self, chosen: &[(usize, Placement)]) {
        self.fix.refused.clear();
        let plan = match crate::fix::preview(&self.model, &self.findings, chosen, &self.fix.values)
        {
            Ok(p) => p,
            Err(missing) => {
                let (hop, m) = &missing[0];
                // The key to press first: the prompt can be long.
                self.set_status(
                    true,
                    format!("press e to type what {hop} needs: {}", m.prompt),
                );
                return;
            }
        };
        if !plan.refused.is_empty() {
            for (fi, reason) in &plan.refused {
                let offer = self.other_placement_works(chosen, *fi);
                self.fix.refused.push((*fi, format!("{reason}{offer}")));
            }
            if let Some(at) =
                self.fix.items.iter().position(|i| {
                    i.checked && self.fix.refused.iter().any(|(f, _)| *f == i.finding)
                })
            {
                self.fix.cursor = at;
            }
            let n = plan.refused.len();
            self.set_status(
                true,
                format!(
                    "{} of the selected fixes cannot be applied as placed (the reason is under the list): change it or unselect it (Space)",
                    n
                ),
            );
            return;
        }
        let text = match crate::fix::diff::unified(&self.model, &plan.changed) {
            Ok(t) => t,
            Err(e) => {
                self.set_status(true, e.to_string());
                return;
            }
        };
        self.fix_probe = None;
        self.save_check = None;
        self.diff = DiffView {
            text,
            changed: plan.changed,
            scroll: 0,
        };
        self.push(Screen::Diff);
    }

    /// " (with p: …, it can be applied)" when the other placement of a
    /// refused fix plans cleanly with the rest of the selection.
    fn other_placement_works(&self, chosen: &[(usize, Placement)], fi: usize) -> String {
        let Some(&(_, now)) = chosen.iter().find(|(f, _)| *f == fi) else {
            return String::new();
        };
        let Some(hop) = self.findings[fi].hop else {
            return String::new();
        };
        let Some(fix) = &self.findings[fi].fix else {
            return String::new();
        };
        let other = match now {
            Placement::Hop => Placement::Defining,
            Placement::Defining => Placement::Hop,
        };
        if !crate::fix::preview::placement_differs(&self.model, &self.model.hops[hop], fix) {
            return String::new();
        }
        let swapped: Vec<(usize, Placement)> = chosen
            .iter()
            .map(|&(f, p)| if f == fi { (f, other) } else { (f, p) })
            .collect();
        match crate::fix::preview(&self.model, &self.findings, &swapped, &self.fix.values) {
            Ok(p) if !p.refused.iter().any(|(f, _)| *f == fi) => format!(
                ". Press p to write it in {} instead: that can be applied",
                crate::fix::preview::placement_label(
                    &self.model,
                    &self.model.hops[hop],
                    fix,
                    other
                )
            ),
            _ => String::new(),
        }
    }

    /// `p`: the other placement of the fix under the cursor, offered only
    /// when it writes some line into another block; the status says where.
    pub(crate) fn toggle_placement(&mut self) {
        let Some(item) = self.fix.items.get(self.fix.cursor).cloned() else {
            return;
        };
        let f = &self.findings[item.finding];
        let (Some(h), Some(fix)) = (f.hop, &f.fix) else {
            return;
        };
        let hop = &self.model.hops[h];
        if !crate::fix::preview::placement_differs(&self.model, hop, fix) {
            let only = crate::fix::preview::placement_label(&self.model, hop, fix, Placement::Hop);
            self.set_status(
                false,
                format!("no other placement: every line of this fix goes into {only}"),
            );
            return;
        }
        let next = match item.placement {
            Placement::Hop => Placement::Defining,
            Placement::Defining => Placement::Hop,
        };
        let label = crate::fix::preview::placement_label(&self.model, hop, fix, next);
        if let Some(it) = self.fix.items.get_mut(self.fix.cursor) {
            it.placement = next;
        }
        self.fix.refused.retain(|(fi, _)| *fi != item.finding);
        self.set_status(false, format!("now goes into {label}"));
    }

    pub(crate) fn ask_save(&mut self) -> Vec<Effect> {
        if self.diff.changed.is_empty() {
            return Vec::new();
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
            return Vec::new();
        }
        if !on_disk && self.server.is_none() {
            self.set_status(
                true,
                "this configuration is not on disk (demo or nginx -T): copy the diff with c and apply it with patch -p1",
            );
            return Vec::new();
        }
        // Here, with nginx found: nginx -t on test copies, unchanged then
        // fixed, before asking. A fix that breaks the configuration is
        // never offered for saving. (On a server, its own nginx -t guards
        // the write.)
        self.save_check = None;
        if self.server.is_none() && self.validate_with.is_some() {
            if self.validating.is_some() {
                self.set_status(false, "nginx -t is still checking the fix…");
                return Vec::new();
            }
            self.validating = Some(self.diff.changed.clone());
            self.set_status(
                false,
                "checking the fix with nginx -t on a test copy (nothing is written)…",
            );
            return vec![Effect::Validate(self.diff.changed.clone())];
        }
        self.confirm_save = true;
        Vec::new()
    }

    /// What nginx -t said about the diff `w` asked to save: the save
    /// question with the result, or the refusal with why.
    pub fn on_validated(&mut self, result: Result<crate::fix::validate::Verdict, String>) {
        let Some(checked) = self.validating.take() else {
            return;
        };
        // The person may have left the diff, or previewed another one.
        if checked != self.diff.changed || self.screen() != Screen::Diff {
            self.set_status(
                false,
                "nginx -t checked a diff that is no longer shown: press w again",
            );
            return;
        }
        match result {
            Ok(v) if v.allows_write() => {
                self.save_check = Some(v.describe());
                self.confirm_save = true;
            }
            Ok(v) => self.set_status(true, format!("not saved: {}", v.describe())),
            Err(e) => self.set_status(
                true,
                format!("not saved: nginx -t could not check the fix: {e} (start with --no-validate to save without it)"),
            ),
        }
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
