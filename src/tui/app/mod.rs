//! The TUI's state and its one entry point for change, [`App::update`].
//!
//! Keys become [`Action`]s (see `keymap`), `update` changes the state and
//! returns [`Effect`]s for the runner to perform (clipboard, saving,
//! reloading); the runner reports results back with `on_*` methods. Nothing
//! here draws, parses or decides about nginx: the model, the rules and the
//! fix engine do.

use std::collections::HashMap;
use std::sync::Arc;

use crate::conf::FileId;
use crate::diagnostic::{Finding, Severity};
use crate::model::{DirRef, Model};

pub mod basket;
mod check;
pub mod search;

pub use check::{CheckState, CheckWork, CHECKING};

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

/// A status message as the log keeps it: numbered in the order said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub seq: usize,
    pub status: Status,
}

/// How many messages the log keeps (the oldest go first).
pub const LOG_KEEP: usize = 500;

pub struct App {
    /// Shared with the rules while they run on it (see [`App::take_check`]).
    pub model: Arc<Model>,
    /// Empty until the rules have run: see `check`.
    pub findings: Vec<Finding>,
    /// Whether `findings` (and `by_hop`, `hop_severity`) say what the
    /// rules found, or are still empty because they have not yet.
    pub check: CheckState,
    /// Counts the models analysed, so that findings of one reloaded since
    /// are dropped.
    generation: u64,
    /// The rules' work for this generation waits to be handed out.
    check_queued: bool,
    /// The rules run away from the terminal (the runner's app) instead of
    /// at once (see `check`).
    background: bool,
    /// How many findings the project file hides.
    hidden: usize,
    /// What the status line says once the findings arrive.
    check_note: Option<check::CheckNote>,
    /// A key that waits for the findings (see [`App::update`]).
    deferred: Option<Action>,
    /// Findings of each hop (indices into `findings`).
    pub by_hop: Vec<Vec<usize>>,
    /// Highest unsuppressed severity of each hop.
    pub hop_severity: Vec<Option<Severity>>,
    /// What the SNI of each hop means for its target (see `rules::sni_kind`).
    pub sni_kinds: Vec<crate::model::SniKind>,
    /// The widest SNI, place, target and hop id among the rows, in columns
    /// (what the list's columns would need to show every value whole), and
    /// the widest `…/file:line` of those ids.
    pub list_widths: [usize; 5],
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
    /// The load error under the cursor on the errors screen.
    pub errors_cursor: usize,
    pub fix: FixFlow,
    pub diff: DiffView,
    pub help: bool,
    /// How far the help overlay is scrolled.
    pub help_scroll: usize,
    /// Every status message so far (the last [`LOG_KEEP`]), oldest first.
    pub log: Vec<Logged>,
    /// Messages said so far, also those the log no longer keeps.
    pub said: usize,
    /// The search of a reading view (`/`).
    pub search: Option<search::Search>,
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
    /// The hops of the what-if probe: each id as loaded, and in the fixed
    /// configuration (set by the runner when it starts the probe).
    pub fix_probe_hops: Vec<(String, String)>,
    /// The what-if probe's peers before → after, for the hops probed
    /// before (`P` in the hop view).
    pub fix_probe_changes: Vec<crate::probe::before_after::PeerChange>,
    /// Where `n`/`N` stand in the hop's chain.
    pub mark_index: usize,
    /// The server the configuration came from (`--ssh`): saving writes
    /// there, and reloading asks it again.
    pub server: Option<String>,
    /// The tour's step (index into `crate::tour::STEPS`).
    pub tour_step: usize,
    /// The `--exec` command the configuration came from (as messages
    /// name it): nothing is written through it, and probes run here.
    pub exec: Option<String>,
    /// The project file's settings (rules, severities, per-path ignores)
    /// that decide which findings are shown; `None`: every finding.
    pub settings: Option<crate::settings::Settings>,
}

impl App {
    /// The app with the findings worked out at once (the rules run before
    /// this returns). The terminal UI uses [`App::pending`] instead.
    pub fn new(model: Model, label: String) -> App {
        let mut app = App::blank(model, label);
        app.analyse();
        app.say_load_errors();
        app
    }

    /// The state before anything is analysed.
    fn blank(model: Model, label: String) -> App {
        App {
            model: Arc::new(model),
            findings: Vec::new(),
            check: CheckState::Checking,
            generation: 0,
            check_queued: false,
            background: false,
            hidden: 0,
            check_note: None,
            deferred: None,
            by_hop: Vec::new(),
            hop_severity: Vec::new(),
            sni_kinds: Vec::new(),
            list_widths: [0; 5],
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
            errors_cursor: 0,
            fix: FixFlow::default(),
            diff: DiffView::default(),
            help: false,
            help_scroll: 0,
            log: Vec::new(),
            said: 0,
            search: None,
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
            exec: None,
            fix_probe: None,
            fix_probe_hops: Vec::new(),
            fix_probe_changes: Vec::new(),
            mark_index: 0,
            tour_step: 0,
            settings: None,
        }
    }

    /// Says on the status line that some files did not load.
    fn say_load_errors(&mut self) {
        if self.model.errors().next().is_some() {
            let n = self.model.errors().count();
            self.set_status(
                true,
                format!(
                    "{}: press E to see them; the rest is analysed",
                    crate::report::labels::count(n, "load error")
                ),
            );
        }
    }

    /// Replaces the model (after a reload), keeping the selected hop when
    /// it still exists.
    pub fn replace_model(&mut self, model: Model) {
        let selected = self.selected_hop().map(|h| self.model.hops[h].id.clone());
        self.model = Arc::new(model);
        self.check_note = None;
        // A key that waited for the old findings is not for the new ones.
        self.deferred = None;
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

    /// Shows only the findings `settings` keeps (the project file's).
    /// Says so on the status line (unless it holds something already):
    /// the file is part of the tree and decides what is shown.
    pub fn set_settings(&mut self, settings: crate::settings::Settings) {
        let file = settings.file.clone();
        self.settings = Some(settings);
        self.analyse();
        if let Some(file) = file {
            self.announce_settings(&file);
        }
    }

    /// Whether the configuration is the built-in demo (whose hosts and
    /// files are made up).
    pub fn on_demo(&self) -> bool {
        self.model.config.loaded_from == crate::conf::LoadedFrom::Demo
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

    /// How many hops have each worst severity, highest first, then the
    /// hops without findings (`None`); only counts above zero.
    pub fn hop_counts(&self) -> Vec<(Option<Severity>, usize)> {
        Severity::ALL
            .iter()
            .map(|&s| Some(s))
            .chain([None])
            .map(|s| (s, self.hop_severity.iter().filter(|&&h| h == s).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    pub(crate) fn push(&mut self, s: Screen) {
        self.scroll = 0;
        self.stack.push(s);
    }

    /// Says something on the status line; the message log keeps it.
    pub fn set_status(&mut self, error: bool, text: impl Into<String>) {
        let status = Status {
            error,
            text: text.into(),
        };
        self.said += 1;
        self.log.push(Logged {
            seq: self.said,
            status: status.clone(),
        });
        if self.log.len() > LOG_KEEP {
            let extra = self.log.len() - LOG_KEEP;
            self.log.drain(..extra);
        }
        self.status = Some(status);
    }

    /// The action a key asks for here: the help overlay has its own few
    /// keys (every other key is ignored while it is open), else the
    /// current screen's.
    pub fn action_for_key(&self, key: crossterm::event::KeyEvent) -> Option<Action> {
        if self.help {
            super::keymap::help_action(key)
        } else {
            super::keymap::action_for(self.screen(), key)
        }
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        // A message answers the last key; the next one clears it, so the
        // footer shows the keys again instead of stale news.
        self.status = None;
        let screen = self.screen();
        if self.defer(screen, action) {
            return Vec::new();
        }
        let effects = self.apply(action);
        if self.screen() != screen {
            // A search belongs to the view it was typed in.
            self.search = None;
        }
        if self.screen() == Screen::Fix {
            // The impact of the fix under the cursor is part of what the
            // fix screen shows.
            self.impact_of(self.fix.cursor);
        }
        effects
    }

    fn apply(&mut self, action: Action) -> Vec<Effect> {
        if self.help {
            // Only help's own keys work here (see `keymap::HELP`): it
            // closes with Esc, ? or q, scrolls, and ignores the rest.
            let page = self.page.max(1) as i64;
            match action {
                Action::Help | Action::Back => self.help = false,
                // Ctrl-C: `q` closes help and is never Quit here.
                Action::Quit => self.quit = true,
                Action::Suspend => return vec![Effect::Suspend],
                Action::Up => self.scroll_help(-1),
                Action::Down => self.scroll_help(1),
                Action::PageUp => self.scroll_help(-page),
                Action::PageDown => self.scroll_help(page),
                Action::Top => self.help_scroll = 0,
                Action::Bottom => self.scroll_help(i64::MAX / 2),
                Action::Scroll(n) => self.scroll_help(i64::from(n)),
                _ => {}
            }
            return Vec::new();
        }
        let screen = self.screen();
        match action {
            Action::Quit => self.quit = true,
            // Whatever is open stays open for `fg`.
            Action::Suspend => return vec![Effect::Suspend],
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
            }
            Action::ShowMessages => {
                if screen != Screen::Messages {
                    self.push(Screen::Messages);
                }
            }
            Action::StartSearch => self.start_search(screen),
            Action::SearchNext => self.search_step(true),
            Action::SearchPrev => self.search_step(false),
            Action::NextMark | Action::PrevMark if self.search_in(screen).is_some() => {
                // With a kept search, n/N follow its matches.
                self.search_step(action == Action::NextMark)
            }
            Action::Back if self.clear_search(screen) => {}
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
            Action::StartFix if screen == Screen::Tour => self.tour_fix(),
            Action::StartFix => {
                let hop = self.selected_hop();
                self.start_fix(hop);
            }
            Action::StartFixAll => self.start_fix(None),
            Action::Toggle if screen == Screen::Diff => self.toggle_followup(),
            Action::Toggle => self.toggle_pick(),
            Action::ToggleAll => self.toggle_all(),
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
            // The demo's hosts are made up: no DNS, no connection.
            Action::Probe if !crate::probe::on_network(&self.model) => self.set_status(
                true,
                format!("{} (hopscope /etc/nginx)", crate::probe::DEMO_OFFLINE),
            ),
            Action::Probe if screen == Screen::Diff => return self.probe_fixed(),
            Action::Probe => return self.probe_selected(),
            Action::Tour => self.open_tour(),
            Action::TourNext => self.tour_move(1),
            Action::TourPrev => self.tour_move(-1),
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
