//! Untrusted text made safe to show a person.
//!
//! Config text, `nginx -T` dumps, file names, what a server or a TLS peer
//! sends and inventories are written by others. A control character in them
//! must never reach the operator's terminal as itself: `ESC ] 52` writes the
//! clipboard, `ESC [ 2 J` hides findings, a bidi override reorders what a
//! line appears to say. Every human-facing output shows these characters as
//! visible escapes (`\x1b`, `\u{202e}`); machine formats (JSON, SARIF) and
//! the bytes written to files keep them as they are.

use std::borrow::Cow;

/// True for a character that must not reach a terminal as itself: C0
/// controls, DEL, C1 controls, and the bidi embeddings, overrides, isolates
/// and marks that reorder how a line reads.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

fn escape_into(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

fn escape_where(s: &str, unsafe_here: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&unsafe_here) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_here(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Printable ASCII (space to `~`): nothing to escape. Checked byte by byte
/// first, since almost all text is ASCII and decoding characters costs more.
fn printable_ascii(b: u8) -> bool {
    (b' '..=b'~').contains(&b)
}

/// One line of text (a name, a value, a message) with every unsafe
/// character escaped, line feeds and tabs included.
pub fn visible(s: &str) -> Cow<'_, str> {
    // Without an early exit: the loop stays branch-free over the bytes.
    if s.bytes().fold(true, |ok, b| ok & printable_ascii(b)) {
        return Cow::Borrowed(s);
    }
    escape_where(s, is_unsafe)
}

/// A block of text (a report, a diff, a snippet) with every unsafe
/// character escaped except the line feeds and tabs that lay it out.
pub fn visible_lines(s: &str) -> Cow<'_, str> {
    if s.bytes()
        .all(|b| printable_ascii(b) || b == b'\n' || b == b'\t')
    {
        return Cow::Borrowed(s);
    }
    escape_where(s, |c| c != '\n' && c != '\t' && is_unsafe(c))
}

/// [`visible`] for bytes that may not be UTF-8 (invalid sequences become
/// U+FFFD).
pub fn visible_bytes(b: &[u8]) -> String {
    visible(&String::from_utf8_lossy(b)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_is_borrowed_and_del_or_c1_is_not() {
        assert!(matches!(
            visible("proxy_ssl_name api.example.com;"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(visible_lines("a\tb\nc ~"), Cow::Borrowed(_)));
        assert_eq!(visible("a\x7fb"), "a\\x7fb");
        assert_eq!(visible_lines("a\tb\x7f\n"), "a\tb\\x7f\n");
        assert_eq!(visible("caf\u{e9}\u{85}"), "caf\u{e9}\\x85");
    }

    #[test]
    fn escapes_terminal_controls_and_bidi() {
        assert_eq!(visible("a\x1b]52;c;eA==\x07b"), "a\\x1b]52;c;eA==\\x07b");
        assert_eq!(visible("x\u{9b}2J"), "x\\x9b2J");
        assert_eq!(visible("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
        assert_eq!(visible("\u{2066}a\u{2069}"), "\\u{2066}a\\u{2069}");
        assert_eq!(visible("del\x7f"), "del\\x7f");
        assert_eq!(visible("two\nlines\tand\r"), "two\\nlines\\tand\\r");
        assert_eq!(visible_lines("two\nlines\tand\r"), "two\nlines\tand\\r");
    }

    #[test]
    fn leaves_ordinary_text_borrowed() {
        assert!(matches!(
            visible("api.example.com é ü 日本 \\x1b"),
            Cow::Borrowed(_)
        ));
        assert_eq!(visible_bytes(b"a\xffb\x1b"), "a\u{fffd}b\\x1b");
    }

    #[test]
    fn the_escape_is_itself_safe() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let s = c.to_string();
            assert!(!visible(&s).chars().any(is_unsafe), "{c:?}");
            assert!(!visible_lines(&s)
                .chars()
                .any(|c| c != '\n' && c != '\t' && is_unsafe(c)));
        }
    }
}
