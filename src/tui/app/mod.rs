//! The TUI's state and its one entry point for change, [`App::update`].
//!
//! Keys become [`Action`]s (see `keymap`), `update` changes the state and
//! returns [`Effect`]s for the runner to perform (clipboard, saving,
//! reloading); the runner reports results back with `on_*` methods. Nothing
//! here draws, parses or decides about nginx: the model, the rules and the
//! fix engine do.

use std::collections::HashMap;

use crate::conf::FileId;
use crate::diagnostic::{Finding, Severity};
use crate::model::{DirRef, Model};
use crate::rules;

pub mod basket;

use super::action::{Action, Effect, Screen};
use super::screens::diff::DiffView;
use super::screens::fix::FixFlow;
use super::screens::list::SortKey;

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
    /// The filter being typed (`/`), until Enter keeps it or Esc clears it.
    pub filter_input: Option<crate::tui::input::LineInput>,
    pub sort: SortKey,
    pub detail_cursor: usize,
    pub source: Option<(FileId, u32)>,
    pub source_marks: Vec<(DirRef, String)>,
    /// The current line of the source view (0-based).
    pub source_scroll: u32,
    /// Columns the source view is scrolled sideways (`H`/`L`).
    pub source_hscroll: usize,
    /// The source view wraps long lines (`z`) instead of scrolling them.
    pub source_wrap: bool,
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
    /// Where `n`/`N` stand in the hop's chain.
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
            filter_input: None,
            sort: SortKey::File,
            detail_cursor: 0,
            source: None,
            source_marks: Vec::new(),
            source_scroll: 0,
            source_hscroll: 0,
            source_wrap: false,
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
            Action::StartFilter => {
                self.filter_input = Some(crate::tui::input::LineInput::new(&self.filter))
            }
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
            Action::ToggleWrap | Action::ScrollLeft | Action::ScrollRight
                if screen == Screen::Source =>
            {
                self.source_sideways(action)
            }
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
            Action::Probe if screen == Screen::Diff => return self.probe_fixed(),
            Action::Probe => return self.probe_selected(),
        }
        Vec::new()
    }
}

mod field;
mod input;
mod nav;
mod results;

pub use results::ProbeView;

#[cfg(test)]
mod tests;
