//! Moving in the current screen and opening what is selected.

use super::App;
use crate::model::Origin;
use crate::rules;
use crate::tui::action::Screen;
use crate::tui::screens::detail::DetailItem;

impl App {
    pub(super) fn move_by(&mut self, screen: Screen, delta: i64) {
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
                    .map_or(0, |r| crate::tui::text::explain_rows(r, width).len());
                self.scroll = clamp(self.scroll, self.scroll_stops(lines));
            }
            Screen::Errors => {
                self.errors_cursor = clamp(self.errors_cursor, self.model.errors().count())
            }
            Screen::Messages => {
                let width = self.area.0.saturating_sub(2) as usize;
                let rows = crate::tui::screens::messages::rows(self, width).len();
                self.scroll = clamp(self.scroll, self.scroll_stops(rows));
            }
            Screen::Tour => self.scroll = clamp(self.scroll, self.tour_scroll_stops()),
        }
    }

    /// Scrolls the help overlay, never past its last line.
    pub(super) fn scroll_help(&mut self, delta: i64) {
        let (width, height) = crate::tui::help::inner(self.area);
        let rows = crate::tui::help::rows(self.screen(), width).len();
        let last = rows.saturating_sub(height as usize);
        self.help_scroll = (self.help_scroll as i64)
            .saturating_add(delta)
            .clamp(0, last as i64) as usize;
    }

    /// How many top lines a framed view of `lines` lines can start at: it
    /// stops when its last line is at the bottom, never scrolling into
    /// emptiness.
    pub(super) fn scroll_stops(&self, lines: usize) -> usize {
        let height = self.area.1.saturating_sub(4) as usize;
        lines.saturating_sub(height) + 1
    }

    /// Enter on a load error: its file at its line, in the source view.
    fn open_error(&mut self) {
        let Some(e) = self.model.errors().nth(self.errors_cursor) else {
            return;
        };
        let (name, line) = (e.file.clone(), e.line);
        let Some(file) = (!name.is_empty())
            .then(|| self.model.config.file_named(&name))
            .flatten()
        else {
            self.set_status(false, "this error names no file that was loaded");
            return;
        };
        let line = line.max(1);
        self.source = Some((file, line));
        self.source_scroll = line - 1;
        // The marks are a hop's inheritance chain: none for an error.
        self.source_marks.clear();
        self.mark_index = 0;
        self.push(Screen::Source);
    }

    pub(super) fn open(&mut self, screen: Screen) {
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
            Screen::Tour => self.tour_open_hop(),
            Screen::Errors => self.open_error(),
            _ => {}
        }
    }
}
