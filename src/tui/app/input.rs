//! Keys while text entry or a question has the keyboard: the filter,
//! a value field, the save confirmation.

use crossterm::event::{KeyCode, KeyEvent};

use super::App;

impl App {
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
}
