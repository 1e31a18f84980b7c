//! The bottom line: the keys of the screen, the keys of the text entry that
//! has the keyboard, or the last status message. Hints are whole or gone:
//! on a narrow screen the least useful go first (the keymap's priority),
//! and back, help and quit stay at every width. A message too long for
//! the line says where to read it whole (the message log).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::action::{Action, Screen};
use super::app::App;
use super::clip::clip_line;
use super::input::{self, LineInput};
use super::keymap::{self, Binding, When};
use super::ui::Ui;
use super::widgets::v;

/// What ends a status message cut to fit the footer.
pub const MORE: &str = "… (M: messages)";

/// A text entry that has the keyboard: its prompt, its line (none for the
/// value field, drawn in its own box) and what Enter and Esc do there.
struct Entry<'a> {
    prompt: &'static str,
    input: Option<&'a LineInput>,
    enter: &'static str,
    esc: &'static str,
}

fn entry(app: &App) -> Option<Entry<'_>> {
    if app.fix.field.is_some() {
        return Some(Entry {
            prompt: " value:",
            input: None,
            enter: "set",
            esc: "cancel",
        });
    }
    if let Some(input) = &app.filter_input {
        return Some(Entry {
            prompt: "/",
            input: Some(input),
            enter: "keep",
            esc: "clear",
        });
    }
    let search = app.search.as_ref().filter(|s| s.screen == app.screen())?;
    Some(Entry {
        prompt: "/",
        input: Some(search.input.as_ref()?),
        enter: "keep",
        esc: "cancel",
    })
}

/// The footer words of a screen's hints that fit `width`, in keymap order.
pub fn hints(app: &App, width: usize) -> Vec<&'static Binding> {
    let errors = app.model.errors().next().is_some();
    let screen = app.screen();
    let mut hints: Vec<&Binding> = keymap::bindings(screen)
        .filter(|b| {
            b.hint
                && match b.when {
                    When::Always => true,
                    When::LoadErrors => errors,
                    When::Searching => app.search_in(screen).is_some(),
                    When::Demo => app.on_demo(),
                }
        })
        // The log does not point at itself.
        .filter(|b| !(screen == Screen::Messages && b.action == Action::ShowMessages))
        .collect();
    let used = |hints: &[&Binding]| -> usize {
        hints
            .iter()
            .map(|b| Line::from(format!(" {} {} ", foot_key(b.keys), b.short)).width())
            .sum()
    };
    while used(&hints) > width {
        // The least useful: the highest priority number, the last of them.
        let worst = hints
            .iter()
            .enumerate()
            .filter(|(_, b)| b.prio > 0)
            .max_by_key(|(i, b)| (b.prio, *i))
            .map(|(i, _)| i);
        match worst {
            Some(i) => drop(hints.remove(i)),
            None => break,
        }
    }
    hints
}

/// A binding's key as the footer shows it: the first of its keys.
fn foot_key(keys: &str) -> &str {
    match keys.split_once('/') {
        Some((first, _)) if !first.is_empty() => first,
        _ => keys,
    }
}

/// `text` cut to `width` columns, ending in [`MORE`] when it was cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let room = width.saturating_sub(MORE.width());
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used > room {
            break;
        }
        out.push(c);
    }
    format!("{}{MORE}", out.trim_end())
}

pub(crate) fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let width = r.width as usize;
    let line = if let Some(e) = entry(app) {
        // The text being typed is left whole, so its cursor stays in
        // sight; the keys of typing follow as far as they fit.
        let mut spans = vec![Span::styled(e.prompt, t.key)];
        if let Some(input) = e.input {
            spans.extend(input.spans(t.base, t.selection, |s| v(s)));
        }
        spans.push(Span::raw(" "));
        let mut used: usize = spans.iter().map(Span::width).sum();
        let keys = [("Enter", e.enter), ("Esc", e.esc)];
        let rest = input::KEYS
            .iter()
            .filter(|(k, _)| !matches!(*k, "Enter" | "Esc"));
        for (k, d) in keys.iter().chain(rest) {
            let w = k.width() + d.width() + 3;
            if used + w > width {
                break;
            }
            used += w;
            spans.push(Span::styled(format!(" {k}"), t.key));
            spans.push(Span::styled(format!(" {d} "), t.key_desc));
        }
        Line::from(spans)
    } else if app.confirm_save {
        Line::from(vec![
            Span::styled(" y", t.key),
            Span::styled(" write ", t.key_desc),
            Span::styled(" any other key", t.key),
            Span::styled(" cancel ", t.key_desc),
        ])
    } else if let Some(s) = &app.status {
        let style = if s.error {
            t.status_error
        } else {
            t.status_info
        };
        clip_line(
            Line::from(Span::styled(fit(&v(format!(" {}", s.text)), width), style)),
            width,
        )
    } else {
        let mut spans = Vec::new();
        for b in hints(app, width) {
            spans.push(Span::styled(format!(" {}", foot_key(b.keys)), t.key));
            spans.push(Span::styled(format!(" {} ", b.short), t.key_desc));
        }
        clip_line(Line::from(spans), width)
    };
    f.render_widget(Paragraph::new(line).style(t.base), r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_says_where_to_read_it_whole() {
        let long = "x".repeat(100);
        let cut = fit(&long, 80);
        assert!(cut.ends_with(MORE), "{cut}");
        assert_eq!(cut.width(), 80);
        assert_eq!(fit("short", 80), "short");
        assert_eq!(foot_key("Esc/⌫"), "Esc");
        assert_eq!(foot_key("/"), "/");
    }
}
