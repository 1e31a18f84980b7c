//! The quoted source line under a finding: ` --> file:line:col`, the
//! line with tabs and control characters made visible, and its span
//! underlined.

use super::text::{Paint, BLUE};
use crate::model::{DirRef, Model};
use crate::visible::visible;

/// ` --> file:line:col`, then the directive's first line with its span
/// underlined.
pub(super) fn snippet(
    out: &mut String,
    model: &Model,
    dir: DirRef,
    width: usize,
    mark: char,
    code: &str,
    paint: Paint,
) {
    let src = model.config.file(dir.file);
    let range = model.dir(dir).range;
    let (line, col) = src.line_col(range.start);
    let (end_line, end_col) = src.line_col(range.end);
    let gutter = paint.paint("|", BLUE);
    spaces(out, width);
    paint.open(out, BLUE);
    out.push_str("-->");
    paint.close(out);
    out.push(' ');
    out.push_str(&visible(&src.name));
    out.push(':');
    let line_digits = push_number(out, line);
    out.push(':');
    push_number(out, col);
    out.push('\n');
    let text = src.line_text(line);
    let start = (col as usize).saturating_sub(1);
    let end = if end_line == line {
        Some((end_col as usize).saturating_sub(1))
    } else {
        None
    };
    let (shown, lead, len) = if text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        // Printable ASCII: a character is a byte and shows as itself.
        let n = text.len();
        let start = start.min(n);
        let mut end = end.unwrap_or(n).clamp(start, n);
        // Trailing blanks are not part of the span.
        while end > start && text.as_bytes()[end - 1] == b' ' {
            end -= 1;
        }
        (
            std::borrow::Cow::Borrowed(text.trim_end_matches(' ')),
            start,
            (end - start).max(1),
        )
    } else {
        let chars: Vec<char> = text.chars().collect();
        let start = start.min(chars.len());
        let end = end.unwrap_or(chars.len());
        // Trailing blanks are not part of the span.
        let mut end = end.clamp(start, chars.len());
        while end > start && chars[end - 1].is_whitespace() {
            end -= 1;
        }
        let shown = expand_tabs(&chars);
        let lead = display_width(&chars[..start]);
        let len = display_width(&chars[start..end]).max(1);
        (
            std::borrow::Cow::Owned(shown.trim_end().to_string()),
            lead,
            len,
        )
    };
    spaces(out, width);
    out.push(' ');
    out.push_str(&gutter);
    out.push('\n');
    // The line number, left-aligned in the gutter's width.
    paint.open(out, BLUE);
    push_number(out, line);
    spaces(out, width.saturating_sub(line_digits));
    paint.close(out);
    out.push(' ');
    out.push_str(&gutter);
    out.push(' ');
    out.push_str(&shown);
    out.push('\n');
    spaces(out, width);
    out.push(' ');
    out.push_str(&gutter);
    out.push(' ');
    spaces(out, lead);
    paint.open(out, code);
    for _ in 0..len {
        out.push(mark);
    }
    paint.close(out);
    out.push('\n');
}

/// Blanks for padding, without a `String` of their own.
pub(super) const SPACES: &str = "                                                                ";

pub(super) fn spaces(out: &mut String, mut n: usize) {
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// Appends a number in decimal; returns how many digits it has.
fn push_number(out: &mut String, n: u32) -> usize {
    let mut buf = [0u8; 20];
    let digits = super::pretty::decimal(u64::from(n), &mut buf);
    out.extend(digits.iter().map(|&d| char::from(d)));
    digits.len()
}

/// How many decimal digits a line number has.
pub(super) fn digits(mut n: u32) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

const TAB: usize = 4;

/// How a character of a source line is shown: a tab as spaces, a control
/// character as its visible escape.
fn shown_char(c: char) -> std::borrow::Cow<'static, str> {
    if c == '\t' {
        " ".repeat(TAB).into()
    } else {
        let mut buf = [0u8; 4];
        visible(c.encode_utf8(&mut buf)).into_owned().into()
    }
}

/// True when a character shows as more than itself (a tab, an escape).
fn expands(c: char) -> bool {
    c == '\t' || crate::visible::is_unsafe(c)
}

fn expand_tabs(chars: &[char]) -> String {
    if !chars.iter().any(|&c| expands(c)) {
        return chars.iter().collect();
    }
    chars.iter().map(|&c| shown_char(c)).collect()
}

fn display_width(chars: &[char]) -> usize {
    chars
        .iter()
        .map(|&c| {
            if expands(c) {
                shown_char(c).chars().count()
            } else {
                1
            }
        })
        .sum()
}
