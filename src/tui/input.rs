//! One line of text entry, the same keys wherever a person types: the hop
//! filter, a view's search and a fix's value field. Readline's editing keys
//! (Ctrl-U, Ctrl-W, Ctrl-K, Ctrl-A/E, Home/End, arrows) edit; no control
//! key is ever typed as a letter, and the text never gets a second line.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::Span;
use tui_textarea::{CursorMove, TextArea};

/// What a key did to the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The text changed.
    Changed,
    /// Only the cursor moved.
    Moved,
    /// Enter: the text is taken as it is.
    Submit,
    /// Esc: the entry is abandoned.
    Cancel,
    /// The key means nothing while typing.
    Ignored,
}

/// The keys that edit a line, for help and footers.
pub const KEYS: &[(&str, &str)] = &[
    ("Enter", "accept"),
    ("Esc", "cancel"),
    ("^U", "delete to start"),
    ("^W", "delete word"),
    ("^K", "delete to end"),
    ("^A/Home", "start"),
    ("^E/End", "end"),
    ("←/→", "move"),
];

#[derive(Clone, Default)]
pub struct LineInput {
    area: TextArea<'static>,
}

impl std::fmt::Debug for LineInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LineInput").field(&self.text()).finish()
    }
}

impl LineInput {
    pub fn new(text: &str) -> LineInput {
        let mut area = TextArea::default();
        area.insert_str(text);
        LineInput { area }
    }

    /// The text typed so far.
    pub fn text(&self) -> String {
        self.area.lines().join("")
    }

    /// The cursor's position, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.area.cursor().1
    }

    /// The text area, to draw it as a field.
    pub fn area(&self) -> &TextArea<'static> {
        &self.area
    }

    /// Applies one key.
    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        let before = (self.text(), self.cursor());
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let a = &mut self.area;
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Enter => return Outcome::Submit,
            KeyCode::Char('u') if ctrl => {
                a.delete_line_by_head();
            }
            KeyCode::Char('w') if ctrl => {
                a.delete_word();
            }
            KeyCode::Backspace if ctrl || alt => {
                a.delete_word();
            }
            KeyCode::Char('k') if ctrl => {
                a.delete_line_by_end();
            }
            KeyCode::Char('a') if ctrl => a.move_cursor(CursorMove::Head),
            KeyCode::Char('e') if ctrl => a.move_cursor(CursorMove::End),
            KeyCode::Char('b') if ctrl => a.move_cursor(CursorMove::Back),
            KeyCode::Char('f') if ctrl => a.move_cursor(CursorMove::Forward),
            KeyCode::Char('h') if ctrl => {
                a.delete_char();
            }
            KeyCode::Home => a.move_cursor(CursorMove::Head),
            KeyCode::End => a.move_cursor(CursorMove::End),
            KeyCode::Left if ctrl || alt => a.move_cursor(CursorMove::WordBack),
            KeyCode::Right if ctrl || alt => a.move_cursor(CursorMove::WordForward),
            KeyCode::Left => a.move_cursor(CursorMove::Back),
            KeyCode::Right => a.move_cursor(CursorMove::Forward),
            KeyCode::Backspace => {
                a.delete_char();
            }
            KeyCode::Delete => {
                a.delete_next_char();
            }
            KeyCode::Char(c) if !ctrl && !alt && !c.is_control() => a.insert_char(c),
            _ => return Outcome::Ignored,
        }
        if self.text() != before.0 {
            Outcome::Changed
        } else if self.cursor() != before.1 {
            Outcome::Moved
        } else {
            Outcome::Ignored
        }
    }

    /// The line as spans with the cursor drawn in `cursor` style (a block
    /// after the last character when it stands at the end). The text is
    /// shown with control characters escaped by the caller's `escape`.
    pub fn spans(
        &self,
        base: Style,
        cursor: Style,
        escape: impl Fn(&str) -> String,
    ) -> Vec<Span<'static>> {
        let text: Vec<char> = self.text().chars().collect();
        let at = self.cursor().min(text.len());
        let before: String = text[..at].iter().collect();
        let (under, after) = match text.get(at) {
            Some(c) => (c.to_string(), text[at + 1..].iter().collect::<String>()),
            None => (" ".to_string(), String::new()),
        };
        vec![
            Span::styled(escape(&before), base),
            Span::styled(escape(&under), cursor),
            Span::styled(escape(&after), base),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(input: &mut LineInput, code: KeyCode, mods: KeyModifiers) -> Outcome {
        input.key(KeyEvent::new(code, mods))
    }

    fn typed(s: &str) -> LineInput {
        let mut i = LineInput::default();
        for c in s.chars() {
            press(&mut i, KeyCode::Char(c), KeyModifiers::NONE);
        }
        i
    }

    #[test]
    fn readline_keys_edit_and_never_type_letters() {
        let mut i = typed("api internal");
        let ctrl = KeyModifiers::CONTROL;
        assert_eq!(press(&mut i, KeyCode::Char('w'), ctrl), Outcome::Changed);
        assert_eq!(i.text(), "api ");
        assert_eq!(press(&mut i, KeyCode::Char('a'), ctrl), Outcome::Moved);
        assert_eq!(i.cursor(), 0);
        press(&mut i, KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(i.text(), "xapi ");
        assert_eq!(press(&mut i, KeyCode::Char('e'), ctrl), Outcome::Moved);
        assert_eq!(i.cursor(), 5);
        assert_eq!(press(&mut i, KeyCode::Char('u'), ctrl), Outcome::Changed);
        assert_eq!(i.text(), "");
        // Keys with no meaning here do nothing, and never add a line.
        assert_eq!(press(&mut i, KeyCode::Char('z'), ctrl), Outcome::Ignored);
        assert_eq!(press(&mut i, KeyCode::Char('m'), ctrl), Outcome::Ignored);
        assert_eq!(
            press(&mut i, KeyCode::Tab, KeyModifiers::NONE),
            Outcome::Ignored
        );
        assert_eq!(i.text(), "");
        assert_eq!(i.area().lines().len(), 1);
    }

    #[test]
    fn home_end_and_kill_to_end() {
        let mut i = typed("backend_pool");
        press(&mut i, KeyCode::Home, KeyModifiers::NONE);
        for _ in 0..7 {
            press(&mut i, KeyCode::Right, KeyModifiers::NONE);
        }
        assert_eq!(
            press(&mut i, KeyCode::Char('k'), KeyModifiers::CONTROL),
            Outcome::Changed
        );
        assert_eq!(i.text(), "backend");
        press(&mut i, KeyCode::End, KeyModifiers::NONE);
        assert_eq!(i.cursor(), 7);
        assert_eq!(
            press(&mut i, KeyCode::Enter, KeyModifiers::NONE),
            Outcome::Submit
        );
        assert_eq!(
            press(&mut i, KeyCode::Esc, KeyModifiers::NONE),
            Outcome::Cancel
        );
    }

    #[test]
    fn the_cursor_is_drawn_where_it_stands() {
        let mut i = typed("ab");
        press(&mut i, KeyCode::Left, KeyModifiers::NONE);
        let spans = i.spans(Style::default(), Style::default(), str::to_string);
        let parts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(parts, ["a", "b", ""]);
        press(&mut i, KeyCode::End, KeyModifiers::NONE);
        let spans = i.spans(Style::default(), Style::default(), str::to_string);
        let parts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(parts, ["ab", " ", ""]);
    }
}
