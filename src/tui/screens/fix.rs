//! Picking fixes: each finding with an automatic fix, where it would be
//! written, the values it needs and the hops it changes.

use std::collections::HashMap;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use crate::conf::FileId;
use crate::diagnostic::Applicability;
use crate::diagnostic::Severity;
use crate::fix::engine::{impact_with_sni, plan_selection};
use crate::fix::{Placement, Values};
use crate::report::labels;
use crate::tui::action::Screen;
use crate::tui::app::basket::Pick;
use crate::tui::app::App;
use crate::tui::clip::{clip, clip_path, columns};
use crate::tui::screens::diff::{diff_line_style, wrap_chars};
use crate::tui::text::wrap;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

/// One fix offered in the fix flow; it is selected when it is in the
/// basket (`App::picked`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixItem {
    /// Index into `App::findings`.
    pub finding: usize,
    pub placement: Placement,
}

/// A text field for a value a fix needs.
pub struct ValueField {
    /// `hop-id:key`.
    pub key: String,
    pub prompt: String,
    pub input: crate::tui::input::LineInput,
    /// What the fix layer says of the text typed so far (none while empty).
    pub check: Option<Result<crate::fix::values::Checked, crate::fix::values::Refused>>,
}

#[derive(Default)]
pub struct FixFlow {
    pub items: Vec<FixItem>,
    pub cursor: usize,
    pub values: Values,
    /// Typed values, for display (`hop:key` → value).
    pub typed: Vec<(String, String)>,
    pub impact: HashMap<(usize, Placement), Vec<String>>,
    /// The lines each fix adds or replaces, as diff lines (`+…`, `-…`).
    pub lines: HashMap<(usize, Placement), Vec<String>>,
    /// The SNI of the fix's hop before and after the fix alone.
    pub sni: HashMap<(usize, Placement), (String, String)>,
    pub field: Option<ValueField>,
    /// Selected fixes the last preview could not apply, by finding, with
    /// why (see `App::open_preview`).
    pub refused: Vec<(usize, String)>,
    /// The fixes picked, across hops, in the order picked.
    pub basket: Vec<Pick>,
    /// Follow-ups taken: (rule, hop id as loaded).
    pub take: Vec<(String, String)>,
    /// Hops whose fix screen was opened: their serious fixes were picked
    /// once, by default, and are not picked again after being dropped.
    pub visited: Vec<usize>,
    /// The list's filter when `F` listed the fixes of the hops it shows
    /// (empty: every hop, or one hop).
    pub scope: String,
}

impl App {
    pub(crate) fn start_fix(&mut self, hop: Option<usize>) {
        // Fixes are those of the findings: none before the rules have run.
        if !self.need_findings() {
            return;
        }
        // All fixes (`F`) are those of the hops the list shows: with a
        // filter kept, only the matching hops'.
        let scoped = hop.is_none() && !self.filter.is_empty();
        let mut listed = vec![false; self.model.hops.len()];
        for &h in &self.rows {
            listed[h] = true;
        }
        let items: Vec<FixItem> = self
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.suppressed.is_none())
            .filter(|(_, f)| {
                f.fix
                    .as_ref()
                    .is_some_and(|x| x.applicability != Applicability::DisplayOnly)
            })
            .filter(|(_, f)| match hop {
                Some(_) => f.hop == hop,
                None if scoped => f.hop.is_some_and(|h| listed[h]),
                None => true,
            })
            .map(|(i, _)| FixItem {
                finding: i,
                placement: self
                    .fix
                    .basket
                    .iter()
                    .find(|p| p.finding == i)
                    .map_or(Placement::Hop, |p| p.placement),
            })
            .collect();
        if items.is_empty() {
            self.set_status(false, "nothing to fix automatically here");
            return;
        }
        self.fix.scope = if scoped {
            self.filter.clone()
        } else {
            String::new()
        };
        // The first visit of a hop picks its serious fixes; later visits
        // show the basket as the person left it.
        if let Some(h) = hop {
            if !self.fix.visited.contains(&h) {
                self.fix.visited.push(h);
                for it in &items {
                    if self.findings[it.finding].severity >= Severity::High
                        && !self.picked(it.finding)
                    {
                        self.fix.basket.push(Pick {
                            finding: it.finding,
                            placement: it.placement,
                        });
                    }
                }
            }
        }
        self.fix.items = items;
        self.fix.cursor = 0;
        self.fix.impact.clear();
        self.push(Screen::Fix);
    }

    /// The hops a fix item changes and the lines it writes (computed once
    /// per placement and values).
    pub fn impact_of(&mut self, idx: usize) -> Vec<String> {
        let Some(item) = self.fix.items.get(idx).cloned() else {
            return Vec::new();
        };
        let key = (item.finding, item.placement);
        if let Some(v) = self.fix.impact.get(&key) {
            return v.clone();
        }
        let hop = self.findings[item.finding].hop;
        let (v, lines, sni) = match plan_selection(
            &self.model,
            &self.findings,
            &[(item.finding, item.placement)],
            &self.fix.values,
        ) {
            Ok(edits) => {
                // One analysis of the fixed texts: the hops it changes
                // and what the fix's own hop sends after it.
                let (v, sni) = impact_with_sni(&self.model, &edits, hop);
                (v, self.edit_lines(&edits), sni)
            }
            Err(_) => (Vec::new(), Vec::new(), None),
        };
        self.fix.impact.insert(key, v.clone());
        self.fix.lines.insert(key, lines);
        match sni {
            Some((before, after)) => {
                let label = crate::report::labels::sni_of;
                self.fix.sni.insert(key, (label(&before), label(&after)));
            }
            None => drop(self.fix.sni.remove(&key)),
        }
        v
    }

    /// The lines some edits add and take away, as a diff shows them, under
    /// the name of their file.
    fn edit_lines(&self, edits: &[crate::fix::Edit]) -> Vec<String> {
        let texts = crate::fix::engine::apply_edits(&self.model, edits);
        let changed: Vec<(FileId, Vec<u8>)> = texts
            .into_iter()
            .enumerate()
            .filter(|(i, t)| *t != self.model.config.files[*i].text)
            .map(|(i, t)| (FileId(i as u32), t))
            .collect();
        let Ok(text) = crate::fix::diff::unified(&self.model, &changed) else {
            return Vec::new();
        };
        // Each file's name, then its removed and added lines.
        let mut out = Vec::new();
        for l in text.lines() {
            if let Some(name) = l.strip_prefix("+++ b/") {
                out.push(format!("in {name}:"));
            } else if l.starts_with("+++") || l.starts_with("---") {
            } else if l.starts_with('+') || l.starts_with('-') {
                out.push(l.to_string());
            }
        }
        out
    }

    /// The values an item still needs (key, prompt).
    pub fn missing_of(&self, idx: usize) -> Vec<(String, String)> {
        let Some(item) = self.fix.items.get(idx) else {
            return Vec::new();
        };
        match plan_selection(
            &self.model,
            &self.findings,
            &[(item.finding, item.placement)],
            &self.fix.values,
        ) {
            Ok(_) => Vec::new(),
            Err(missing) => missing
                .into_iter()
                .map(|(hop, m)| (format!("{hop}:{}", m.key), m.prompt))
                .collect(),
        }
    }

    pub(crate) fn edit_value(&mut self) {
        let idx = self.fix.cursor;
        let Some(item) = self.fix.items.get(idx) else {
            return;
        };
        let f = &self.findings[item.finding];
        let Some(hop) = f.hop else { return };
        let hop_id = self.model.hops[hop].id.clone();
        // The first value still missing, else the first value the fix asks for.
        let wanted = self.missing_of(idx).into_iter().next().or_else(|| {
            f.fix.as_ref()?.changes.iter().find_map(|c| match c {
                crate::diagnostic::Change::Set { value, .. }
                | crate::diagnostic::Change::SetHeader { value, .. } => match value {
                    crate::diagnostic::FixValue::Input { key, prompt, .. } => {
                        Some((format!("{hop_id}:{key}"), prompt.clone()))
                    }
                    crate::diagnostic::FixValue::Literal(_) => None,
                },
            })
        });
        let Some((key, prompt)) = wanted else {
            self.set_status(false, "this fix needs no value");
            return;
        };
        let typed = self.fix.typed.iter().find(|(k, _)| *k == key);
        let input = crate::tui::input::LineInput::new(typed.map_or("", |(_, v)| v.as_str()));
        self.fix.field = Some(ValueField {
            key,
            prompt,
            input,
            check: None,
        });
        self.recheck_field();
    }

    /// Previews the whole basket as one diff across hops and files, with
    /// the follow-ups taken, and lists the findings the fixes create.
    pub(crate) fn preview(&mut self) {
        let chosen: Vec<(usize, Placement)> = self
            .fix
            .basket
            .iter()
            .map(|p| (p.finding, p.placement))
            .collect();
        if chosen.is_empty() {
            self.set_status(true, "the fix basket is empty: select a fix (Space)");
            return;
        }
        // Planned, checked and refused in one place: screens/diff.rs.
        self.open_preview(&chosen);
    }
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, parts: [Rect; 2]) {
    let t = ui.theme;
    let checked = app
        .fix
        .items
        .iter()
        .filter(|i| app.picked(i.finding))
        .count();
    // As wide as the longest hop id (nginx -T names are absolute paths),
    // up to 40 columns; a longer one is cut from the left, keeping its
    // file name and line.
    let id_width = app
        .fix
        .items
        .iter()
        .filter_map(|i| app.findings[i.finding].hop)
        .map(|h| app.model.hops[h].id.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 40) as u16;
    let widths = [
        Constraint::Length(3),
        Constraint::Length(5),
        Constraint::Length(20),
        Constraint::Length(id_width),
        Constraint::Min(10),
    ];
    let columns = columns(&widths, parts[0].width.saturating_sub(2));
    let rows: Vec<Row> = app
        .fix
        .items
        .iter()
        .map(|item| {
            let fd = &app.findings[item.finding];
            let hop = fd
                .hop
                .map(|h| {
                    clip_path(&app.model.shown(&app.model.hops[h].id), columns[3] as usize)
                        .into_owned()
                })
                .unwrap_or_default();
            let summary = fd
                .fix
                .as_ref()
                .map(|x| clip(&x.summary, columns[4] as usize).into_owned())
                .unwrap_or_default();
            Row::new(vec![
                Cell::from(Span::styled(
                    if app.picked(item.finding) {
                        "[x]"
                    } else {
                        "[ ]"
                    },
                    t.key,
                )),
                Cell::from(Span::styled(
                    badge(Some(fd.severity)),
                    severity_style(t, fd.severity),
                )),
                Cell::from(Span::styled(fd.rule, t.title)),
                Cell::from(Span::styled(v(hop), t.dim)),
                Cell::from(Span::styled(summary, t.base)),
            ])
        })
        .collect();
    let table = Table::new(rows, columns.iter().map(|&w| Constraint::Length(w)))
        .block(framed(
            ui,
            format!(
                "Fixes ({checked} selected of {}){} · basket: {}",
                app.fix.items.len(),
                if app.fix.scope.is_empty() {
                    String::new()
                } else {
                    format!(" · hops matching {}", v(&app.fix.scope))
                },
                app.basket_label()
            ),
            true,
        ))
        .row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected(Some(app.fix.cursor));
    f.render_stateful_widget(table, parts[0], &mut state);

    let width = parts[1].width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(item) = app.fix.items.get(app.fix.cursor) {
        let fd = &app.findings[item.finding];
        if let Some(fix) = &fd.fix {
            for w in wrap(&fix.summary, width) {
                lines.push(Line::from(Span::styled(w, t.title)));
            }
            if fix.applicability == Applicability::NeedsReview {
                for w in wrap(
                    "needs review: this can change behaviour beyond the finding (read the rule's fix safety with x)",
                    width,
                ) {
                    lines.push(Line::from(Span::styled(w, t.severity_medium)));
                }
            }
            let hop = fd.hop.map(|h| &app.model.hops[h]);
            // Why the last preview could not apply this fix as placed.
            if let Some((_, why)) = app.fix.refused.iter().find(|(f, _)| *f == item.finding) {
                for w in wrap(why, width) {
                    lines.push(Line::from(Span::styled(v(w), t.status_error)));
                }
            }
            let place = match (hop, item.placement) {
                (Some(h), p) => {
                    let other = crate::fix::preview::placement_differs(&app.model, h, fix);
                    format!(
                        "goes into: {}{}",
                        crate::fix::preview::placement_label(&app.model, h, fix, p),
                        if other {
                            " (p: the other placement)"
                        } else {
                            ""
                        }
                    )
                }
                (None, _) => String::new(),
            };
            for w in wrap(&place, width) {
                lines.push(Line::from(Span::styled(w, t.base)));
            }
            let mut missing = false;
            // Every value the fix asks a person for: typed, proposed, or missing.
            for c in &fix.changes {
                let (crate::diagnostic::Change::Set { value, .. }
                | crate::diagnostic::Change::SetHeader { value, .. }) = c;
                let crate::diagnostic::FixValue::Input {
                    key,
                    prompt,
                    proposal,
                } = value
                else {
                    continue;
                };
                let full = hop.map(|h| format!("{}:{key}", h.id)).unwrap_or_default();
                let typed = app
                    .fix
                    .typed
                    .iter()
                    .find(|(k, _)| *k == full)
                    .map(|(_, v)| v);
                let (label, style, text) = match (typed, proposal) {
                    (Some(v), _) => ("typed   ", t.explicit, v.clone()),
                    (None, Some(p)) => ("proposed", t.inherited, format!("{p}  (e to change)")),
                    (None, None) => {
                        missing = true;
                        ("missing ", t.status_error, "press e to type it".to_string())
                    }
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{label} "), style),
                    Span::styled(format!("{key}: "), t.key),
                    Span::styled(v(text), t.base),
                ]));
                for w in wrap(&format!("         {prompt}"), width) {
                    lines.push(Line::from(Span::styled(w, t.dim)));
                }
            }
            let impact = app.fix.impact.get(&(item.finding, item.placement));
            if missing {
                // Without the value there is no plan, so no impact to show.
                lines.push(Line::from(Span::styled(
                    "the hops it changes show once the value is typed",
                    t.dim,
                )));
            } else if let Some(impact) = impact {
                let text = format!(
                    "changes {}: {}",
                    labels::count(impact.len(), "hop"),
                    impact.join(", ")
                );
                for w in wrap(&text, width) {
                    lines.push(Line::from(Span::styled(w, t.inherited)));
                }
            }
            // What the hop sends in its ClientHello, before → after.
            if let Some((before, after)) = app.fix.sni.get(&(item.finding, item.placement)) {
                if !missing {
                    let mut spans = vec![
                        Span::styled("SNI: ", t.key),
                        Span::styled(v(before), t.base),
                    ];
                    if before == after {
                        spans.push(Span::styled("  (this fix leaves it)", t.dim));
                    } else {
                        spans.push(Span::styled(" → ", t.dim));
                        spans.push(Span::styled(v(after), t.explicit));
                    }
                    lines.push(Line::from(spans));
                }
            }
            // Every line the fix writes, whole: wrapped, never cut.
            if let Some(added) = app.fix.lines.get(&(item.finding, item.placement)) {
                if !missing && !added.is_empty() {
                    lines.push(Line::from(Span::styled("it writes:", t.dim)));
                    for l in added {
                        let style = if l.starts_with("in ") {
                            t.diff_meta
                        } else {
                            diff_line_style(t, l)
                        };
                        for w in wrap_chars(l, width) {
                            lines.push(Line::from(Span::styled(v(w), style)));
                        }
                    }
                }
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, "What this fix does".into(), false))
            .style(t.base),
        parts[1],
    );
}

/// The value being typed: its prompt, wrapped, above a one-line input; the
/// keys that answer it on the frame, where they are never cut off.
pub fn value_field(f: &mut Frame, app: &App, ui: &Ui, area: Rect) {
    let t = ui.theme;
    let Some(field) = &app.fix.field else { return };
    let width = area.width.saturating_sub(6) as usize;
    let prompt: Vec<Line> = wrap(&field.prompt, width)
        .into_iter()
        .take(3)
        .map(|w| Line::from(Span::styled(w, t.dim)))
        .collect();
    // Under the input: why the text is refused, or what to know about it.
    let said: Vec<Line> = match &field.check {
        Some(Err(refused)) => wrap(&format!("not accepted: {refused}"), width)
            .into_iter()
            .map(|w| Line::from(Span::styled(w, t.status_error)))
            .collect(),
        Some(Ok(checked)) => checked
            .notes
            .iter()
            .flat_map(|n| wrap(&format!("note: {n}"), width))
            .map(|w| Line::from(Span::styled(w, t.dim)))
            .collect(),
        None => Vec::new(),
    };
    let said: Vec<Line> = said.into_iter().take(4).collect();
    let h = (prompt.len() as u16 + said.len() as u16 + 3).min(area.height);
    let r = Rect::new(
        area.x + 2,
        area.y + area.height.saturating_sub(h + 1),
        area.width.saturating_sub(4),
        h,
    );
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border_focus)
        .title(Span::styled(" Type the value ", t.title))
        .title_bottom(Line::from(vec![
            Span::styled(" Enter", t.key),
            Span::styled(" set · ", t.key_desc),
            Span::styled("Esc", t.key),
            Span::styled(" cancel ", t.key_desc),
        ]));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Min(0),
            Constraint::Length(1),
            Constraint::Length(said.len() as u16),
        ])
        .split(inner);
    f.render_widget(Paragraph::new(prompt).style(t.base), rows[0]);
    let mut input = field.input.area().clone();
    input.set_style(t.base);
    input.set_cursor_style(t.selection);
    f.render_widget(&input, rows[1]);
    f.render_widget(Paragraph::new(said).style(t.base), rows[2]);
}
