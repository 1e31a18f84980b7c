//! The fix flow's value field: keys edit the text, the fix layer checks the
//! text as it changes (the check shows under the field), and Enter sets a
//! value only when the check accepts it, for the one hop the field is for.

use crossterm::event::KeyEvent;

use super::App;
use crate::fix::values::check;
use crate::tui::input::Outcome;

impl App {
    /// A key while the value field has the keyboard.
    pub(super) fn field_key(&mut self, key: KeyEvent) {
        let Some(field) = &mut self.fix.field else {
            return;
        };
        match field.input.key(key) {
            Outcome::Cancel => self.fix.field = None,
            Outcome::Submit => self.accept_field(),
            Outcome::Changed => {
                // The field itself now says what is wrong, if anything.
                self.status = None;
                self.recheck_field();
            }
            Outcome::Moved | Outcome::Ignored => {}
        }
    }

    /// Checks the field's text again (nothing to say while it is empty).
    pub(crate) fn recheck_field(&mut self) {
        let Some(field) = &mut self.fix.field else {
            return;
        };
        let text = field.input.text();
        let text = text.trim();
        // `hop-id:key`: the hop id may hold `:` itself.
        let key = field.key.rsplit_once(':').map_or("", |(_, k)| k);
        field.check = (!text.is_empty()).then(|| check(&self.model, key, text));
    }

    fn accept_field(&mut self) {
        // Decided on the text as it is now, never on an older check.
        self.recheck_field();
        let Some(field) = &self.fix.field else {
            return;
        };
        let value = field.input.text().trim().to_string();
        if value.is_empty() {
            self.fix.field = None;
            self.set_status(true, "empty value ignored");
            return;
        }
        if let Some(Err(refused)) = &field.check {
            // The field stays open, its text as typed, the reason under it.
            let text = format!("not set: {refused}");
            self.set_status(true, text);
            return;
        }
        let k = field.key.clone();
        self.fix.field = None;
        self.fix.values.insert(k.clone(), value.clone());
        self.fix.typed.retain(|(kk, _)| *kk != k);
        self.fix.typed.push((k, value));
        self.fix.impact.clear();
        self.fix.lines.clear();
        self.fix.sni.clear();
        self.impact_of(self.fix.cursor);
        self.set_status(false, "value set; press d to preview the diff");
    }
}
