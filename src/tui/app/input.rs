//! Keys while text entry or a question has the keyboard: the filter,
//! a view's search, a value field, the save confirmation.

use crossterm::event::KeyEvent;

use crate::tui::input::Outcome;

use super::App;

impl App {
    /// Typed text while the filter or a value field has the keyboard.
    /// Returns true when the key was consumed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if self.fix.field.is_some() {
            self.field_key(key);
            return true;
        }
        if let Some(input) = &mut self.filter_input {
            match input.key(key) {
                Outcome::Cancel => {
                    self.filter_input = None;
                    self.filter.clear();
                    self.refresh_rows();
                }
                Outcome::Submit => self.filter_input = None,
                Outcome::Changed => {
                    self.filter = input.text();
                    self.cursor = 0;
                    self.refresh_rows();
                }
                Outcome::Moved | Outcome::Ignored => {}
            }
            return true;
        }
        if self.search.as_ref().is_some_and(|s| s.input.is_some()) {
            self.search_key(key);
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
        self.fix.field.is_some()
            || self.filter_input.is_some()
            || self.search.as_ref().is_some_and(|s| s.input.is_some())
            || self.confirm_save
    }
}
