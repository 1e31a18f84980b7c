//! Text laid out for the screen without ratatui: word wrapping and the rows
//! of a lesson. The state (`app`) uses these to know how far a view
//! scrolls; the screens use them to draw.

use crate::rules;

/// Word-wraps text to a width (at least 10 columns); control characters
/// show as visible escapes, line feeds break lines.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = crate::visible::visible_lines(text);
    let width = width.max(10);
    let mut out = Vec::new();
    for para in text.split('\n') {
        if para.chars().count() <= width {
            out.push(para.to_string());
            continue;
        }
        let indent: String = para.chars().take_while(|c| *c == ' ').collect();
        let mut line = String::new();
        for word in para.split_whitespace() {
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if line.is_empty() {
                line.push_str(&indent);
            } else {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}

/// What a line of a rule's lesson is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainRow {
    Heading,
    Code,
    Text,
}

/// The lines of a rule's lesson at a width (prose wrapped, code kept).
pub fn explain_rows(rule: &rules::Rule, width: usize) -> Vec<(ExplainRow, String)> {
    let mut rows = Vec::new();
    for raw in rule.explain().lines() {
        if let Some(h) = raw.strip_prefix("## ") {
            rows.push((ExplainRow::Heading, h.to_string()));
        } else if raw.starts_with("    ")
            || raw.starts_with('\t')
            || raw.trim_start().starts_with('#') && raw.starts_with(' ')
        {
            rows.push((ExplainRow::Code, raw.to_string()));
        } else {
            rows.extend(wrap(raw, width).into_iter().map(|w| (ExplainRow::Text, w)));
        }
    }
    rows
}
