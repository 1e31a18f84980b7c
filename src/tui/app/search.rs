//! `/` search in the reading views (the hop, a rule's lesson, a source
//! file): one state for all three. Each view says which lines it shows
//! ([`App::searchable_lines`]) and how to bring a line into sight
//! ([`App::reveal`]); typing, matching and `n`/`N` are shared.

use crossterm::event::KeyEvent;

use super::App;
use crate::tui::action::Screen;
use crate::tui::input::{LineInput, Outcome};

/// A search in one view.
#[derive(Clone, Debug)]
pub struct Search {
    /// The view it searches; leaving that view ends it.
    pub screen: Screen,
    /// The pattern being typed, until Enter keeps it or Esc cancels it.
    pub input: Option<LineInput>,
    /// What is searched for (ASCII letters match either case).
    pub pattern: String,
    /// The lines (of the view's searchable lines) that hold the pattern.
    pub matches: Vec<usize>,
    /// The match in sight: an index into `matches`.
    pub current: usize,
    /// Where the view stood before the search, for Esc while typing.
    origin: usize,
}

impl Search {
    /// The line of the match in sight, if any.
    pub fn current_line(&self) -> Option<usize> {
        self.matches.get(self.current).copied()
    }
}

/// Where `needle` occurs in `hay`: byte ranges, ASCII letters matching
/// either case. Never panics on any text.
pub fn find_all(hay: &str, needle: &str) -> Vec<(usize, usize)> {
    if needle.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut from = 0;
    while from < hay.len() {
        let rest = &hay[from..];
        let mut starts = rest.char_indices();
        let found = starts.find_map(|(i, _)| {
            let mut h = rest[i..].chars();
            let hit = needle
                .chars()
                .all(|n| h.next().is_some_and(|c| c.eq_ignore_ascii_case(&n)));
            hit.then_some(i)
        });
        let Some(i) = found else { break };
        // ASCII case folding keeps byte lengths.
        let end = from + i + needle.len();
        out.push((from + i, end));
        from = end;
    }
    out
}

impl App {
    /// The search of the current view, when there is one with a pattern.
    pub fn search_in(&self, screen: Screen) -> Option<&super::search::Search> {
        self.search
            .as_ref()
            .filter(|s| s.screen == screen && !s.pattern.is_empty())
    }

    /// The lines a view shows, as plain text, in its order: what `/`
    /// searches and what a match's line number refers to.
    pub fn searchable_lines(&self, screen: Screen) -> Vec<String> {
        use crate::tui::screens::{detail, explain, source};
        match screen {
            Screen::Detail => detail::search_lines(self),
            Screen::Explain => explain::search_lines(self),
            Screen::Source => source::search_lines(self),
            _ => Vec::new(),
        }
    }

    /// The view's own position (what Esc while typing goes back to).
    fn position(&self, screen: Screen) -> usize {
        match screen {
            Screen::Detail => self.detail_cursor,
            Screen::Source => self.source_scroll as usize,
            _ => self.scroll,
        }
    }

    fn set_position(&mut self, screen: Screen, at: usize) {
        match screen {
            Screen::Detail => self.detail_cursor = at,
            Screen::Source => self.source_scroll = at as u32,
            _ => self.scroll = at,
        }
    }

    /// The first line the view has in sight (where a search starts).
    fn view_line(&self, screen: Screen) -> usize {
        match screen {
            Screen::Detail => self.detail_starts().get(self.detail_cursor).copied(),
            _ => Some(self.position(screen)),
        }
        .unwrap_or(0)
    }

    fn detail_starts(&self) -> Vec<usize> {
        let Some(h) = self.selected_hop() else {
            return Vec::new();
        };
        let width = self.area.0.saturating_sub(2) as usize;
        let theme = crate::tui::theme::Theme::monochrome();
        crate::tui::screens::detail::detail_lines(self, h, &theme, width).1
    }

    /// `/`: starts typing a search in this view (the last pattern kept).
    pub(super) fn start_search(&mut self, screen: Screen) {
        let pattern = self
            .search
            .as_ref()
            .filter(|s| s.screen == screen)
            .map(|s| s.pattern.clone())
            .unwrap_or_default();
        self.search = Some(Search {
            screen,
            input: Some(LineInput::new(&pattern)),
            pattern,
            matches: Vec::new(),
            current: 0,
            origin: self.position(screen),
        });
    }

    /// A key while the search is being typed.
    pub(super) fn search_key(&mut self, key: KeyEvent) {
        let Some(search) = &mut self.search else {
            return;
        };
        let Some(input) = &mut search.input else {
            return;
        };
        match input.key(key) {
            Outcome::Cancel => {
                let (screen, origin) = (search.screen, search.origin);
                self.search = None;
                self.set_position(screen, origin);
            }
            Outcome::Submit => {
                search.input = None;
                if search.pattern.is_empty() {
                    self.search = None;
                    return;
                }
                let (n, pattern) = (search.matches.len(), search.pattern.clone());
                let pattern = crate::tui::widgets::v(pattern);
                if n == 0 {
                    self.set_status(true, format!("no match for “{pattern}”"));
                } else {
                    self.set_status(
                        false,
                        format!("{n} line(s) match “{pattern}” · n/N next/previous · Esc clears"),
                    );
                }
            }
            Outcome::Changed => {
                search.pattern = input.text();
                let (screen, origin) = (search.screen, search.origin);
                // Typing searches from where the view stood.
                self.set_position(screen, origin);
                let from = self.view_line(screen);
                self.find_from(screen, from, true, true);
            }
            Outcome::Moved | Outcome::Ignored => {}
        }
    }

    /// `n`/`N`: the next (previous) match, around the end.
    pub(super) fn search_step(&mut self, forward: bool) {
        let screen = self.screen();
        let Some(s) = self.search_in(screen) else {
            self.set_status(false, "no search here: press / to search this view");
            return;
        };
        let pattern = crate::tui::widgets::v(&s.pattern);
        let from = s.current_line().unwrap_or_else(|| self.view_line(screen));
        if !self.find_from(screen, from, forward, false) {
            self.set_status(true, format!("no match for “{pattern}”"));
            return;
        }
        if let Some(s) = &self.search {
            let text = format!("match {}/{}", s.current + 1, s.matches.len());
            self.set_status(false, text);
        }
    }

    /// Finds the pattern's lines again and shows the first one from
    /// `from` on (`here`: `from` itself counts) in the given direction.
    /// Returns whether there is a match.
    fn find_from(&mut self, screen: Screen, from: usize, forward: bool, here: bool) -> bool {
        let lines = self.searchable_lines(screen);
        let Some(search) = &mut self.search else {
            return false;
        };
        search.matches = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !find_all(l, &search.pattern).is_empty())
            .map(|(i, _)| i)
            .collect();
        let m = &search.matches;
        if m.is_empty() {
            search.current = 0;
            return false;
        }
        let pick = if forward {
            m.iter()
                .position(|&l| if here { l >= from } else { l > from })
                .unwrap_or(0)
        } else {
            m.iter().rposition(|&l| l < from).unwrap_or(m.len() - 1)
        };
        search.current = pick;
        let line = m[pick];
        self.reveal(screen, line);
        true
    }

    /// Brings line `line` of a view's searchable lines into sight.
    fn reveal(&mut self, screen: Screen, line: usize) {
        match screen {
            Screen::Detail => {
                // The selection goes to the item holding the line, so
                // Enter acts on what was found. Selecting a finding
                // shows its lesson inline: the match moves with it.
                let starts = self.detail_starts();
                let item = starts.iter().rposition(|&s| s <= line).unwrap_or(0);
                let offset = line - starts.get(item).copied().unwrap_or(0);
                self.detail_cursor = item;
                let starts = self.detail_starts();
                let moved = starts.get(item).copied().unwrap_or(0) + offset;
                let lines = self.searchable_lines(screen);
                if let Some(s) = &mut self.search {
                    s.matches = lines
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| !find_all(l, &s.pattern).is_empty())
                        .map(|(i, _)| i)
                        .collect();
                    s.current = s.matches.iter().position(|&l| l >= moved).unwrap_or(0);
                }
            }
            Screen::Source => self.source_scroll = line as u32,
            _ => {
                let stops = self.scroll_stops(self.searchable_lines(screen).len());
                self.scroll = line.saturating_sub(2).min(stops.saturating_sub(1));
            }
        }
    }

    /// Esc on a view with a kept search: clears it. True when it did.
    pub(super) fn clear_search(&mut self, screen: Screen) -> bool {
        if self.search.as_ref().is_some_and(|s| s.screen == screen) {
            self.search = None;
            self.set_status(false, "search cleared");
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::find_all;

    #[test]
    fn matches_ignore_ascii_case_and_survive_any_text() {
        assert_eq!(find_all("proxy_SSL ssl", "ssl"), [(6, 9), (10, 13)]);
        assert_eq!(find_all("é ssl", "SSL"), [(3, 6)]);
        assert!(find_all("abc", "").is_empty());
        assert!(find_all("", "a").is_empty());
        assert_eq!(find_all("éé", "é"), [(0, 2), (2, 4)]);
        assert!(find_all("É", "é").is_empty(), "only ASCII letters fold");
    }
}
