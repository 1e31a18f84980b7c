//! The TUI's state and its one entry point for change, [`App::update`].
//!
//! Keys become [`Action`]s (see `keymap`), `update` changes the state and
//! returns [`Effect`]s for the runner to perform (clipboard, saving,
//! reloading); the runner reports results back with `on_*` methods. Nothing
//! here draws, parses or decides about nginx: the model, the rules and the
//! fix engine do.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent};

use crate::conf::FileId;
use crate::diagnostic::{Finding, Severity};
use crate::model::{DirRef, Model, Origin};
use crate::rules;

pub mod basket;

use super::action::{Action, Effect, Screen};
use super::screens::detail::DetailItem;
use super::screens::diff::DiffView;
use super::screens::fix::FixFlow;
use super::screens::list::SortKey;

/// The last probe of a hop, or of the previewed fix.
#[derive(Clone, Debug)]
pub enum ProbeView {
    Running,
    Done(Vec<crate::probe::PeerResult>),
}

impl ProbeView {
    /// A short verdict: `…`, `ok`, `fail`, `n/a`.
    pub fn verdict(&self) -> &'static str {
        match self {
            ProbeView::Running => "…",
            ProbeView::Done(r) if r.iter().all(|p| !p.probeable) => "n/a",
            ProbeView::Done(r) if r.iter().filter(|p| p.probeable).all(|p| p.ok()) => "ok",
            ProbeView::Done(_) => "fail",
        }
    }
}

/// A status line message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub error: bool,
    pub text: String,
}

pub struct App {
    pub model: Model,
    pub findings: Vec<Finding>,
    /// Findings of each hop (indices into `findings`).
    pub by_hop: Vec<Vec<usize>>,
    /// Highest unsuppressed severity of each hop.
    pub hop_severity: Vec<Option<Severity>>,
    /// What was loaded, for the header (`demo`, a path, `-`).
    pub label: String,
    pub stack: Vec<Screen>,
    /// Hop indices shown, after filter and sort.
    pub rows: Vec<usize>,
    pub cursor: usize,
    pub filter: String,
    pub filtering: bool,
    pub sort: SortKey,
    pub detail_cursor: usize,
    pub source: Option<(FileId, u32)>,
    pub source_marks: Vec<(DirRef, String)>,
    pub source_scroll: u32,
    pub explain_rule: Option<&'static str>,
    pub scroll: usize,
    pub rules_cursor: usize,
    pub fix: FixFlow,
    pub diff: DiffView,
    pub help: bool,
    pub confirm_save: bool,
    /// The nginx that checks a save here (`nginx -t` on test copies), or
    /// `None` when it is not found or `--no-validate` was given.
    pub validate_with: Option<std::path::PathBuf>,
    /// What that check said about the diff about to be saved.
    pub save_check: Option<String>,
    /// The diff (new contents) that check is running on, while it runs.
    pub validating: Option<Vec<(crate::conf::FileId, Vec<u8>)>>,
    pub status: Option<Status>,
    pub quit: bool,
    /// Rows the current view shows (set by the runner), for paging.
    pub page: usize,
    /// The terminal's size (set by the runner), to stop scrolling at the
    /// end of what a view shows.
    pub area: (u16, u16),
    /// The last probe of each hop, by hop id.
    pub probes: HashMap<String, ProbeView>,
    /// The what-if probe of the previewed fix.
    pub fix_probe: Option<ProbeView>,
    /// Where `n`/`N` stand in the inheritance chain.
    pub mark_index: usize,
    /// The server the configuration came from (`--ssh`): saving writes
    /// there, and reloading asks it again.
    pub server: Option<String>,
}

impl App {
    pub fn new(model: Model, label: String) -> App {
        let mut app = App {
            model,
            findings: Vec::new(),
            by_hop: Vec::new(),
            hop_severity: Vec::new(),
            label,
            stack: vec![Screen::List],
            rows: Vec::new(),
            cursor: 0,
            filter: String::new(),
            filtering: false,
            sort: SortKey::File,
            detail_cursor: 0,
            source: None,
            source_marks: Vec::new(),
            source_scroll: 0,
            explain_rule: None,
            scroll: 0,
            rules_cursor: 0,
            fix: FixFlow::default(),
            diff: DiffView::default(),
            help: false,
            confirm_save: false,
            validate_with: None,
            save_check: None,
            validating: None,
            status: None,
            quit: false,
            page: 10,
            area: (80, 24),
            probes: HashMap::new(),
            server: None,
            fix_probe: None,
            mark_index: 0,
        };
        app.analyse();
        if app.model.errors().next().is_some() {
            let n = app.model.errors().count();
            app.status = Some(Status {
                error: true,
                text: format!(
                    "{}: press E to see them; the rest is analysed",
                    crate::report::labels::count(n, "load error")
                ),
            });
        }
        app
    }

    /// Replaces the model (after a reload), keeping the selected hop when
    /// it still exists.
    pub fn replace_model(&mut self, model: Model) {
        let selected = self.selected_hop().map(|h| self.model.hops[h].id.clone());
        self.model = model;
        self.analyse();
        if let Some(id) = selected {
            if let Some(pos) = self.rows.iter().position(|&h| self.model.hops[h].id == id) {
                self.cursor = pos;
            }
        }
        self.stack.truncate(1);
        self.fix = FixFlow::default();
        self.diff = DiffView::default();
        // Probes describe the configuration they ran on.
        self.probes.clear();
        self.fix_probe = None;
    }

    fn analyse(&mut self) {
        self.findings = rules::check(&self.model);
        self.by_hop = crate::diagnostic::by_hop(&self.model, &self.findings);
        self.hop_severity = self
            .by_hop
            .iter()
            .map(|fs| {
                fs.iter()
                    .filter(|&&i| self.findings[i].suppressed.is_none())
                    .map(|&i| self.findings[i].severity)
                    .max()
            })
            .collect();
        self.refresh_rows();
    }

    pub fn screen(&self) -> Screen {
        *self.stack.last().unwrap_or(&Screen::List)
    }

    pub fn selected_hop(&self) -> Option<usize> {
        self.rows.get(self.cursor).copied()
    }

    /// Counts of unsuppressed findings per severity, highest first.
    pub fn severity_counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .iter()
            .map(|&s| {
                let n = self
                    .findings
                    .iter()
                    .filter(|f| f.suppressed.is_none() && f.severity == s)
                    .count();
                (s, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    pub(crate) fn push(&mut self, s: Screen) {
        self.scroll = 0;
        self.stack.push(s);
    }

    pub(crate) fn set_status(&mut self, error: bool, text: impl Into<String>) {
        self.status = Some(Status {
            error,
            text: text.into(),
        });
    }

    /// Typed text while the filter or a value field has the keyboard.
    /// Returns true when the key was consumed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if self.fix.field.is_some() {
            self.field_key(key);
            return true;
        }
        if self.filtering {
            match key.code {
                KeyCode::Esc => {
                    self.filtering = false;
                    self.filter.clear();
                    self.refresh_rows();
                }
                KeyCode::Enter => self.filtering = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                    self.refresh_rows();
                }
                KeyCode::Char(c) => {
                    self.filter.push(c);
                    self.cursor = 0;
                    self.refresh_rows();
                }
                _ => {}
            }
            return true;
        }
        if self.confirm_save {
            self.confirm_save = false;
            self.set_status(false, "not saved: nothing was written");
            return true;
        }
        false
    }

    /// Whether the keyboard is taken by text entry or a question.
    pub fn capturing(&self) -> bool {
        self.fix.field.is_some() || self.filtering || self.confirm_save
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        // A message answers the last key; the next one clears it, so the
        // footer shows the keys again instead of stale news.
        self.status = None;
        let effects = self.apply(action);
        if self.screen() == Screen::Fix {
            // The impact of the fix under the cursor is part of what the
            // fix screen shows.
            self.impact_of(self.fix.cursor);
        }
        effects
    }

    fn apply(&mut self, action: Action) -> Vec<Effect> {
        if self.help {
            // Any key closes the help overlay; it is never a trap.
            self.help = false;
            match action {
                Action::Quit => self.quit = true,
                Action::Suspend => return vec![Effect::Suspend],
                _ => {}
            }
            return Vec::new();
        }
        let screen = self.screen();
        match action {
            Action::Quit => self.quit = true,
            // Whatever is open stays open for `fg`.
            Action::Suspend => return vec![Effect::Suspend],
            Action::Help => self.help = true,
            Action::Back => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                    self.scroll = 0;
                } else if !self.filter.is_empty() {
                    // Esc on the list clears a kept filter.
                    self.filter.clear();
                    self.refresh_rows();
                    self.set_status(false, "filter cleared");
                }
            }
            Action::Up => self.move_by(screen, -1),
            Action::Down => self.move_by(screen, 1),
            Action::PageUp => self.move_by(screen, -(self.page.max(1) as i64)),
            Action::PageDown => self.move_by(screen, self.page.max(1) as i64),
            Action::Top => self.move_by(screen, i64::MIN / 2),
            Action::Bottom => self.move_by(screen, i64::MAX / 2),
            Action::Scroll(n) => self.move_by(screen, i64::from(n)),
            Action::Click(row) => {
                let cursor = match screen {
                    Screen::List => &mut self.cursor,
                    Screen::Fix => &mut self.fix.cursor,
                    Screen::Rules => &mut self.rules_cursor,
                    _ => return Vec::new(),
                };
                if *cursor != row {
                    *cursor = row;
                    return Vec::new();
                }
                let again = if screen == Screen::Fix {
                    Action::Toggle
                } else {
                    Action::Open
                };
                return self.apply(again);
            }
            Action::StartFilter => self.filtering = true,
            Action::CycleSort => {
                self.sort = match self.sort {
                    SortKey::File => SortKey::Severity,
                    SortKey::Severity => SortKey::Server,
                    SortKey::Server => SortKey::File,
                };
                self.refresh_rows();
                self.set_status(false, format!("sorted by {}", self.sort.as_str()));
            }
            Action::Open => self.open(screen),
            Action::GoSource => {
                if let Some(h) = self.selected_hop() {
                    let pass = self.model.hops[h].pass;
                    self.show_source(pass);
                }
            }
            Action::NextMark | Action::PrevMark => self.jump_mark(action == Action::NextMark),
            Action::Explain => {
                if let Some(f) = self.selected_finding() {
                    self.explain_rule = Some(self.findings[f].rule);
                    self.push(Screen::Explain);
                }
            }
            Action::ShowRules => self.push(Screen::Rules),
            Action::ShowErrors => self.push(Screen::Errors),
            Action::StartFix => {
                let hop = self.selected_hop();
                self.start_fix(hop);
            }
            Action::StartFixAll => self.start_fix(None),
            Action::Toggle if screen == Screen::Diff => self.toggle_followup(),
            Action::Toggle => self.toggle_pick(),
            Action::TogglePlacement => self.toggle_placement(),
            Action::ClearBasket => self.clear_basket(),
            Action::TakeFollowUps => self.take_followups(),
            Action::ToggleWrap | Action::ScrollLeft | Action::ScrollRight => self.sideways(action),
            Action::FocusFollowUps => self.focus_followups(),
            Action::EditValue => self.edit_value(),
            Action::Preview => self.preview(),
            Action::Copy => {
                if !self.diff.text.is_empty() {
                    return vec![Effect::Copy(self.diff.text.clone())];
                }
            }
            Action::Save => return self.ask_save(),
            Action::Reload => return vec![Effect::Reload],
            Action::Probe if screen == Screen::Diff => {
                let hops = self.diff_hops();
                if hops.is_empty() {
                    return Vec::new();
                }
                self.fix_probe = Some(ProbeView::Running);
                self.set_status(
                    false,
                    "probing the fixed hops as nginx would connect after the fix…",
                );
                return vec![Effect::ProbeFixed(hops)];
            }
            Action::Probe => {
                let Some(h) = self.selected_hop() else {
                    return Vec::new();
                };
                let id = self.model.hops[h].id.clone();
                if matches!(self.probes.get(&id), Some(ProbeView::Running)) {
                    return Vec::new();
                }
                self.probes.insert(id.clone(), ProbeView::Running);
                let from = match &self.server {
                    // `--ssh`: the network, resolver and files are this
                    // machine's, not the server's.
                    Some(host) => format!(" (from this machine, not from {host})"),
                    None => String::new(),
                };
                self.set_status(
                    false,
                    format!("probing {id}{from}: a handshake with each peer, as nginx would…"),
                );
                return vec![Effect::Probe(vec![id])];
            }
        }
        Vec::new()
    }

    fn move_by(&mut self, screen: Screen, delta: i64) {
        let clamp = |cur: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (cur as i64).saturating_add(delta).clamp(0, len as i64 - 1) as usize
        };
        match screen {
            Screen::List => self.cursor = clamp(self.cursor, self.rows.len()),
            Screen::Detail => {
                if let Some(h) = self.selected_hop() {
                    self.detail_cursor = clamp(self.detail_cursor, self.detail_items(h).len());
                }
            }
            Screen::Source => {
                if let Some((f, _)) = self.source {
                    let lines = self.model.config.file(f).line_count() as usize;
                    self.source_scroll = clamp(self.source_scroll as usize, lines) as u32;
                }
            }
            Screen::Fix => self.fix.cursor = clamp(self.fix.cursor, self.fix.items.len()),
            Screen::Diff if self.diff.focus_ups => {
                let n = self.diff.offered.len() + self.diff.taken.len();
                self.diff.ups_cursor = clamp(self.diff.ups_cursor, n);
            }
            Screen::Diff => {
                let width = self.area.0.saturating_sub(2) as usize;
                let n = self.scroll_stops(self.diff.rows(width).len());
                self.diff.scroll = clamp(self.diff.scroll, n)
            }
            Screen::Rules => self.rules_cursor = clamp(self.rules_cursor, rules::registry().len()),
            Screen::Explain => {
                let width = self.area.0.saturating_sub(2) as usize;
                let lines = self
                    .explain_rule
                    .and_then(rules::find)
                    .map_or(0, |r| super::text::explain_rows(r, width).len());
                self.scroll = clamp(self.scroll, self.scroll_stops(lines));
            }
            Screen::Errors => {
                let n = self.scroll_stops(self.model.errors().count());
                self.scroll = clamp(self.scroll, n)
            }
        }
    }

    /// How many top lines a framed view of `lines` lines can start at: it
    /// stops when its last line is at the bottom, never scrolling into
    /// emptiness.
    fn scroll_stops(&self, lines: usize) -> usize {
        let height = self.area.1.saturating_sub(4) as usize;
        lines.saturating_sub(height) + 1
    }

    fn open(&mut self, screen: Screen) {
        match screen {
            Screen::List if self.selected_hop().is_some() => {
                self.detail_cursor = 0;
                self.push(Screen::Detail);
            }
            Screen::Detail => {
                let Some(h) = self.selected_hop() else { return };
                match self.selected_detail() {
                    Some(DetailItem::Pass) => self.show_source(self.model.hops[h].pass),
                    Some(DetailItem::Setting(i)) => match &self.model.hops[h].settings[i].origin {
                        Origin::Explicit(p) => {
                            let dir = p.dir;
                            self.show_source(dir);
                        }
                        Origin::Default => {
                            let name = self.model.hops[h].settings[i].name;
                            self.set_status(
                                false,
                                format!("{name} is nginx's default here: no line sets it"),
                            );
                        }
                    },
                    Some(DetailItem::Finding(f)) => {
                        self.explain_rule = Some(self.findings[f].rule);
                        self.push(Screen::Explain);
                    }
                    None => {}
                }
            }
            Screen::Rules => {
                if let Some(r) = rules::registry().get(self.rules_cursor) {
                    self.explain_rule = Some(r.id);
                    self.push(Screen::Explain);
                }
            }
            Screen::Fix => self.preview(),
            _ => {}
        }
    }

    /// Results of a probe of hops of the loaded configuration.
    pub fn on_probed(&mut self, results: Vec<crate::probe::PeerResult>, asked: &[String]) {
        for id in asked {
            let mine: Vec<_> = results.iter().filter(|r| &r.hop == id).cloned().collect();
            let view = ProbeView::Done(mine);
            let verdict = view.verdict();
            self.probes.insert(id.clone(), view);
            self.set_status(
                verdict == "fail",
                format!("probe of {id}: {verdict} (details in the hop view)"),
            );
        }
    }

    /// Results of the what-if probe of the previewed fix.
    pub fn on_fix_probed(&mut self, results: Vec<crate::probe::PeerResult>) {
        let view = ProbeView::Done(results);
        let verdict = view.verdict();
        self.set_status(
            verdict == "fail",
            format!("with the fix applied, the probe says: {verdict}"),
        );
        self.fix_probe = Some(view);
    }

    pub fn on_reloaded(&mut self, result: Result<Model, String>) {
        match result {
            Ok(model) => {
                let before = self
                    .findings
                    .iter()
                    .filter(|f| f.suppressed.is_none())
                    .count();
                let keep = self.status.clone();
                self.replace_model(model);
                let after = self
                    .findings
                    .iter()
                    .filter(|f| f.suppressed.is_none())
                    .count();
                // After a save, say both: what was written, then what changed.
                let prefix = keep
                    .and_then(|s| s.text.strip_suffix("; reloading").map(str::to_string))
                    .unwrap_or_default();
                let head = if prefix.is_empty() {
                    "reloaded".to_string()
                } else {
                    prefix
                };
                self.set_status(false, format!("{head}; findings: {before} → {after}"));
            }
            Err(e) => self.set_status(true, format!("reload failed: {e}")),
        }
    }
}

mod field;

#[cfg(test)]
mod tests;
