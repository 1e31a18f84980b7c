//! The rules on the loaded model, and what the screens show until they
//! have spoken. The terminal UI draws the hops as soon as the model exists
//! ([`App::pending`]); the rules run away from the terminal
//! ([`App::take_check`] hands out their work) and their findings arrive as
//! a message ([`App::on_checked`]). Until then every finding, count and
//! severity shows as being checked, never as "no findings". [`App::new`]
//! runs them at once instead, for whoever can wait.

use std::sync::Arc;

use super::App;
use crate::jobs::Checked;
use crate::model::Model;
use crate::rules;
use crate::tui::action::{Action, Screen};

/// Where the findings of the loaded model stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckState {
    /// The rules are running: nothing is known about the findings yet.
    Checking,
    /// The findings are those the rules found.
    Ready,
    /// The rules stopped before finishing (a bug): why.
    Failed(String),
}

/// What the status line says once the findings arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CheckNote {
    /// How many findings the project file hides, replacing `shown` (what
    /// the status line said meanwhile) if it still stands.
    Hidden { file: String, shown: String },
    /// How the findings changed with a reload (`before`: unknown when the
    /// earlier findings had not arrived); `head` says what happened.
    Reloaded { head: String, before: Option<usize> },
}

/// The rules' work on one model: run it anywhere (it owns what it needs),
/// then give what it returns to [`App::on_checked`] with its `generation`.
pub struct CheckWork {
    pub generation: u64,
    model: Arc<Model>,
    settings: Option<crate::settings::Settings>,
}

impl CheckWork {
    /// Runs every rule, then the project file's settings.
    pub fn run(self) -> Checked {
        let found = rules::check(&self.model);
        match &self.settings {
            Some(s) => {
                let all = found.len();
                let findings = s.apply(&self.model, found);
                Checked {
                    hidden: all.saturating_sub(findings.len()),
                    findings,
                }
            }
            None => Checked {
                findings: found,
                hidden: 0,
            },
        }
    }
}

/// The words for the findings while they are not known, for the places
/// that would otherwise show a count or a severity.
pub const CHECKING: &str = "checking…";

impl App {
    /// The app before the rules have run, for the terminal UI: the hops
    /// show at once, the findings as being checked. `settings` (the
    /// project file's) decide which findings will be shown. The runner
    /// starts [`App::take_check`]'s work and delivers its result with
    /// [`App::on_checked`]; so does it after every reload.
    pub fn pending(
        model: Model,
        label: String,
        settings: Option<crate::settings::Settings>,
    ) -> App {
        let mut app = App::blank(model, label);
        app.background = true;
        let file = settings.as_ref().and_then(|s| s.file.clone());
        app.settings = settings;
        app.analyse();
        app.say_load_errors();
        if let Some(file) = file {
            app.announce_settings(&file);
        }
        app
    }

    /// Says, unless the status line holds something already, that the
    /// project file `file` decides what is shown and how many findings it
    /// hides (once known).
    pub(super) fn announce_settings(&mut self, file: &std::path::Path) {
        if self.status.is_some() {
            return;
        }
        let file = crate::visible::visible(&crate::settings::shown(file)).into_owned();
        if self.findings_ready() {
            self.say_hidden(&file);
        } else {
            let shown = format!("project file {file}: checking which findings it hides…");
            self.set_status(false, shown.clone());
            self.check_note = Some(CheckNote::Hidden { file, shown });
        }
    }

    /// Whether the findings are known (the rules have run on this model).
    pub fn findings_ready(&self) -> bool {
        self.check == CheckState::Ready
    }

    /// The rules' work for the current model, once: `None` when it was
    /// handed out already or when the findings are known.
    pub fn take_check(&mut self) -> Option<CheckWork> {
        if !std::mem::take(&mut self.check_queued) {
            return None;
        }
        Some(CheckWork {
            generation: self.generation,
            model: Arc::clone(&self.model),
            settings: self.settings.clone(),
        })
    }

    /// What the rules found for `generation`; results for an older model
    /// (one reloaded since) are dropped.
    pub fn on_checked(&mut self, generation: u64, result: Result<Checked, String>) {
        if generation != self.generation || self.check != CheckState::Checking {
            return;
        }
        match result {
            Ok(checked) => {
                self.apply_checked(checked);
                self.say_checked();
                // The key that waited for the findings works now. It makes
                // no effect for the runner: it opens a screen.
                if let Some(action) = self.deferred.take() {
                    let _ = self.update(action);
                }
            }
            Err(e) => {
                self.deferred = None;
                self.check = CheckState::Failed(e.clone());
                self.check_note = None;
                self.set_status(
                    true,
                    format!("{e}; findings are not known (r on the list tries again)"),
                );
            }
        }
    }

    /// Works out everything the screens show that does not need the
    /// rules, and the findings: at once, or (in the terminal UI) by
    /// queueing the rules' work.
    pub(super) fn analyse(&mut self) {
        // The work for a model is handed out only after this, and a new
        // model (a reload) is not shared yet: the model is ours here.
        if let (Some(s), Some(model)) = (&self.settings, Arc::get_mut(&mut self.model)) {
            s.label_version(model);
        }
        self.sni_kinds = (0..self.model.hops.len())
            .map(|h| rules::sni_kind(&self.model, h))
            .collect();
        self.generation += 1;
        self.findings.clear();
        self.by_hop = vec![Vec::new(); self.model.hops.len()];
        self.hop_severity = vec![None; self.model.hops.len()];
        self.hidden = 0;
        self.check = CheckState::Checking;
        self.check_queued = true;
        if self.background {
            self.refresh_rows();
        } else if let Some(work) = self.take_check() {
            self.apply_checked(work.run());
        }
    }

    fn apply_checked(&mut self, checked: Checked) {
        let selected = self.selected_hop();
        self.findings = checked.findings;
        self.hidden = checked.hidden;
        self.check = CheckState::Ready;
        // Probes made while the rules ran show under these findings too.
        for view in self.probes.values() {
            if let super::ProbeView::Done(results) = view {
                crate::evidence::attach(&self.model, &mut self.findings, results);
            }
        }
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
        // The hop under the cursor stays selected (a sort by severity
        // moves it), and so does the line of its view.
        if let Some(h) = selected {
            if let Some(pos) = self.rows.iter().position(|&r| r == h) {
                self.cursor = pos;
            }
            if self.detail_cursor > 0 && self.stack.contains(&Screen::Detail) {
                self.detail_cursor += self.by_hop[h].len();
            }
        }
    }

    /// The status line's news once the findings are known.
    pub(super) fn say_checked(&mut self) {
        let after = self.shown_findings();
        match self.check_note.take() {
            // Only while what was said meanwhile still stands.
            Some(CheckNote::Hidden { file, shown })
                if self.status.as_ref().is_some_and(|s| s.text == shown) =>
            {
                self.say_hidden(&file);
            }
            Some(CheckNote::Reloaded { head, before }) => {
                let change = match before {
                    Some(before) => format!("{before} → {after}"),
                    None => after.to_string(),
                };
                self.set_status(false, format!("{head}; findings: {change}"));
            }
            Some(CheckNote::Hidden { .. }) | None => {}
        }
    }

    /// How many findings show (those not suppressed).
    pub(super) fn shown_findings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .count()
    }

    /// Says how many findings the project file `file` hides.
    pub(super) fn say_hidden(&mut self, file: &str) {
        let hidden = self.hidden;
        self.set_status(
            false,
            format!(
                "project file {file}: {} hidden (--no-config shows every finding)",
                crate::report::labels::count(hidden, "finding")
            ),
        );
    }

    /// Keeps `action` for when the findings arrive if it needs them and
    /// the rules still run (then it says so); any other key drops a kept
    /// one. Whether it was kept.
    pub(super) fn defer(&mut self, screen: Screen, action: Action) -> bool {
        self.deferred = None;
        if self.help || self.check != CheckState::Checking || !needs_findings(screen, action) {
            return false;
        }
        self.deferred = Some(action);
        self.set_status(
            false,
            "waiting for the findings: the rules are still checking the configuration…",
        );
        true
    }

    /// A person asked for something that needs the findings: whether they
    /// are known; if not, the status line says why nothing happens.
    pub(crate) fn need_findings(&mut self) -> bool {
        match &self.check {
            CheckState::Ready => true,
            CheckState::Checking => {
                self.set_status(
                    false,
                    "the rules are still checking the configuration: this needs their findings, a moment",
                );
                false
            }
            CheckState::Failed(e) => {
                let e = e.clone();
                self.set_status(true, format!("{e}; r on the list tries again"));
                false
            }
        }
    }
}

/// Whether `action` on `screen` works on the findings (fixes, the lesson
/// of a finding, the tour's steps), so that it must wait for them.
fn needs_findings(screen: Screen, action: Action) -> bool {
    match action {
        Action::StartFix | Action::StartFixAll | Action::Explain => true,
        Action::Open | Action::GoSource => screen == Screen::Tour,
        _ => false,
    }
}
