//! The writer of the contract's large JSON documents (`hops --json`,
//! `check --format json`): pretty-printed text appended to a byte buffer,
//! exactly as `{:#}` prints a `serde_json::Value` (two-space indent, `": "`
//! after a key, serde_json's string escapes), written field by field in
//! the order the caller gives. Callers give keys in sorted order, as a
//! `Value` object holds them.
//!
//! It exists for speed: a document of 10^5 directives is tens of
//! megabytes, and writing a key, a string or a line break here is one
//! copy into the buffer, where a `serde::Serializer` goes through several
//! small writes and a byte-at-a-time escape loop.

use serde_json::Value;

/// `,\n` and spaces: a line break with its indentation is a slice of it.
const BREAKS: &[u8; 2 + 126] = b",\n                                                                                                                              ";

/// Line breaks are copied as a window of this many bytes (one copy of a
/// fixed size, cheaper than one of a varying size) and cut to length.
const WINDOW: usize = 64;

/// A pretty-printed JSON writer into a buffer.
pub(crate) struct Pretty<'a> {
    pub buf: &'a mut Vec<u8>,
    depth: usize,
    /// No value yet in the object or array open at `depth`.
    first: bool,
}

impl<'a> Pretty<'a> {
    /// A writer for a whole document.
    pub fn new(buf: &'a mut Vec<u8>) -> Pretty<'a> {
        Pretty::resume(buf, 0, true)
    }

    /// A writer that carries on a document inside the array or object open
    /// at `depth` (1: the document's object; 2: an array that is one of its
    /// values), `first` when nothing has been written in it yet: how a
    /// document is written in pieces.
    pub fn resume(buf: &'a mut Vec<u8>, depth: usize, first: bool) -> Pretty<'a> {
        Pretty { buf, depth, first }
    }

    /// The line break (after a comma unless it is the first value) and the
    /// indentation before a value of the open array or object.
    #[inline]
    fn line(&mut self) {
        let from = usize::from(self.first);
        self.first = false;
        let len = 2 + 2 * self.depth - from;
        if len <= WINDOW {
            let at = self.buf.len();
            self.buf.extend_from_slice(&BREAKS[from..from + WINDOW]);
            self.buf.truncate(at + len);
        } else {
            self.buf.extend_from_slice(&BREAKS[from..2]);
            self.buf.resize(self.buf.len() + 2 * self.depth, b' ');
        }
    }

    pub fn open_object(&mut self) {
        self.open(b'{');
    }
    pub fn open_array(&mut self) {
        self.open(b'[');
    }
    pub fn close_object(&mut self) {
        self.close(b'}');
    }
    pub fn close_array(&mut self) {
        self.close(b']');
    }

    fn open(&mut self, b: u8) {
        self.buf.push(b);
        self.depth += 1;
        self.first = true;
    }

    fn close(&mut self, b: u8) {
        self.depth -= 1;
        if !self.first {
            self.line_only();
        }
        self.buf.push(b);
        // The container itself was a value of the one around it.
        self.first = false;
    }

    /// A line break and indentation without a comma.
    fn line_only(&mut self) {
        self.first = true;
        self.line();
    }

    /// The next key of the open object. Keys are the contract's own names:
    /// plain ASCII that needs no escape (inlined, so that each is copied
    /// with its length known).
    #[inline(always)]
    pub fn key(&mut self, k: &str) {
        debug_assert!(!needs_escape(k.as_bytes()));
        self.line();
        self.buf.reserve(k.len() + 4);
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\": ");
    }

    /// The next key of the open object, escaped as a string is.
    pub fn key_escaped(&mut self, k: &str) {
        self.line();
        self.str(k);
        self.buf.extend_from_slice(b": ");
    }

    /// The next element of the open array.
    #[inline]
    pub fn item(&mut self) {
        self.line();
    }

    #[inline]
    pub fn str(&mut self, s: &str) {
        let b = s.as_bytes();
        if needs_escape(b) {
            escape_into(self.buf, b);
        } else {
            self.buf.reserve(b.len() + 2);
            self.buf.push(b'"');
            self.buf.extend_from_slice(b);
            self.buf.push(b'"');
        }
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    pub fn null(&mut self) {
        self.buf.extend_from_slice(b"null");
    }

    pub fn bool(&mut self, v: bool) {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    pub fn uint(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        self.buf.extend_from_slice(decimal(n, &mut digits));
    }

    /// An array of strings.
    pub fn strs<S: AsRef<str>>(&mut self, items: impl IntoIterator<Item = S>) {
        self.open_array();
        for s in items {
            self.item();
            self.str(s.as_ref());
        }
        self.close_array();
    }

    /// A `serde_json::Value` (the rare parts built as one: a probe's
    /// evidence, a baseline comparison), through serde_json itself.
    pub fn value(&mut self, v: &Value) {
        let mut ser = serde_json::Serializer::with_formatter(
            &mut *self.buf,
            super::json::ValueFormatter::at_depth(self.depth),
        );
        // Writing a `Value` into a `Vec` does not fail.
        let _ = serde::Serialize::serialize(v, &mut ser);
    }
}

/// True when a string holds a byte JSON escapes: a quote, a backslash or a
/// control character below U+0020 (without an early exit, so that the
/// loop runs on vectors of bytes).
fn needs_escape(b: &[u8]) -> bool {
    b.iter().fold(0u8, |acc, &c| {
        acc | u8::from(c < 0x20) | u8::from(c == b'"') | u8::from(c == b'\\')
    }) != 0
}

/// A quoted string with serde_json's escapes: `\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, and `\u00xx` for the other control characters.
fn escape_into(out: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len() + 8);
    out.push(b'"');
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let short: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            c if c < 0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// `n` in decimal, written at the end of `digits` (the writers' numbers,
/// without a formatter per number).
pub(crate) fn decimal(n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a `Value` with the writer's own calls (not through serde).
    fn write(w: &mut Pretty, v: &Value) {
        match v {
            Value::Null => w.null(),
            Value::Bool(b) => w.bool(*b),
            Value::Number(n) => w.uint(n.as_u64().expect("test numbers are unsigned")),
            Value::String(s) => w.str(s),
            Value::Array(a) => {
                w.open_array();
                for x in a {
                    w.item();
                    write(w, x);
                }
                w.close_array();
            }
            Value::Object(o) => {
                w.open_object();
                for (k, x) in o {
                    w.key(k);
                    write(w, x);
                }
                w.close_object();
            }
        }
    }

    #[test]
    fn prints_as_serde_json_pretty_prints() {
        let every_byte: String = (0u8..0x80).map(char::from).collect();
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [0, [18446744073709551615u64, {"d": null}], {"e": "f\"\n\\"}],
            "g": {"h": {"i": {"j": {"k": {"l": [true, false]}}}}}, "m": every_byte,
            "n": "é — \u{202e}\u{7f}", "o": [[]], "p": [{}]
        });
        // Deeper than the indentation kept ready.
        let deep = (0..40).fold(serde_json::json!([1]), |v, i| {
            if i % 2 == 0 {
                serde_json::json!([v, 2])
            } else {
                serde_json::json!({"x": v, "y": []})
            }
        });
        for v in [v, deep, serde_json::json!("plain"), serde_json::json!([])] {
            let mut out = Vec::new();
            write(&mut Pretty::new(&mut out), &v);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:#}"));
            // A value written through serde_json at a depth.
            let mut out = Vec::new();
            let mut w = Pretty::new(&mut out);
            w.open_array();
            w.item();
            w.value(&v);
            w.close_array();
            let wrapped = serde_json::json!([v]);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{wrapped:#}"));
        }
    }
}
