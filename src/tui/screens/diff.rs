//! The diff of the picked fixes: scroll, copy, probe, save.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::conf::FileId;
use crate::fix::followup::FollowUp;
use crate::fix::Placement;
use crate::tui::action::{Action, Effect, Screen};
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

    /// Plans the basket with the one planner every path uses
    /// ([`crate::fix::followup::preview`], built on
    /// [`crate::fix::preview`]): the diff shown, follow-ups taken
    /// included, is exactly what a save writes. When a picked fix cannot
    /// be applied as placed, the diff is not opened: the fix screen says
    /// why, and whether the other placement would do.
    pub(crate) fn open_preview(&mut self, chosen: &[(usize, Placement)]) {
        self.fix.refused.clear();
        let plan = match crate::fix::followup::preview(
            &self.model,
            &self.findings,
            chosen,
            &self.fix.take,
            &self.fix.values,
        ) {
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
            let shown = |fi: usize| self.fix.items.iter().position(|i| i.finding == fi);
            if let Some(at) = self.fix.refused.iter().find_map(|(f, _)| shown(*f)) {
                self.fix.cursor = at;
            }
            // A refused fix of another hop is not listed here: say it all.
            let elsewhere: Vec<String> = self
                .fix
                .refused
                .iter()
                .filter(|(f, _)| shown(*f).is_none())
                .map(|(f, why)| {
                    let f = &self.findings[*f];
                    let hop = f.hop.map_or("", |h| self.model.hops[h].id.as_str());
                    format!("{} at {hop}: {why}", f.rule)
                })
                .collect();
            let n = plan.refused.len();
            let text = if elsewhere.is_empty() {
                format!(
                    "{n} of the selected fixes cannot be applied as placed (the reason is under the list): change it or unselect it (Space)"
                )
            } else {
                format!(
                    "{n} of the selected fixes not applied: {} (change or unselect it on its hop's fix screen, or X empties the basket)",
                    elsewhere.join("; ")
                )
            };
            self.set_status(true, text);
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
        // A follow-up taken that the planner refused is out of the basket,
        // with why.
        self.fix
            .take
            .retain(|(r, h)| !plan.held.iter().any(|(u, _)| u.rule == r && u.hop == *h));
        self.diff = DiffView {
            text,
            changed: plan.changed,
            offered: plan.offered,
            taken: plan.taken,
            ..DiffView::default()
        };
        self.push(Screen::Diff);
        if let Some((up, why)) = plan.held.first() {
            self.set_status(
                true,
                format!("follow-up {} at {} not applied: {why}", up.rule, up.hop),
            );
        } else if !plan.remaining.is_empty() {
            let which: Vec<String> = plan
                .remaining
                .iter()
                .map(|(r, h)| format!("{r} at {h}"))
                .collect();
            self.set_status(
                true,
                format!(
                    "not fixed by this diff (the finding remains once it is applied): {}",
                    which.join(", ")
                ),
            );
        }
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

    pub(crate) fn ask_save(&mut self) -> Vec<Effect> {
        if self.diff.changed.is_empty() {
            return Vec::new();
        }
        let on_disk = self
            .diff
            .changed
            .iter()
            .all(|(f, _)| self.model.config.file(*f).on_disk);
        if self.exec.is_some() {
            // The command is in the header already.
            self.set_status(
                true,
                "not saved: nothing is written through an --exec command; copy the diff with c and apply it where the files are (then nginx -t and a reload)",
            );
            return Vec::new();
        }
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
            // Before → after first (peers whose hop was probed before).
            let mut lines: Vec<Line> = app
                .fix_probe_changes
                .iter()
                .map(|c| {
                    let style = if c.after_ok { t.ok } else { t.severity_high };
                    Line::from(vec![
                        Span::styled(format!("{}: ", c.peer), t.dim),
                        Span::styled(c.line.clone(), style),
                    ])
                })
                .collect();
            lines.extend(probe_lines(view, t, width));
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
