//! The nginx configuration tokenizer.
//!
//! A byte-for-byte port of the rules in nginx's `ngx_conf_read_token()`
//! (src/core/ngx_conf_file.c), so that hopscope splits words exactly where
//! nginx does:
//! - words end at whitespace, `;` or `{`; a `}` inside a bare word is part
//!   of the word (`${var}` and `return 200 ok}` both stay one word);
//! - `{` right after `$` does not start a block (`${var}`);
//! - `"…"` and `'…'` quote; a backslash protects the next byte everywhere;
//!   when copying a word, `\"` `\'` `\\` lose the backslash and `\t` `\r`
//!   `\n` become control characters, any other `\x` is kept as written;
//! - after a closing quote nginx demands whitespace, `;`, `{` or `)`;
//! - `#` starts a comment only where a word could start;
//! - a parameter must fit in nginx's 4096-byte read buffer.
//!
//! The lexer works on bytes and never fails on non-UTF-8 input. A UTF-8
//! byte order mark at the start of a file is treated as whitespace.

use compact_str::CompactString;

use super::source::Range;

/// nginx's `NGX_CONF_BUFFER`: no parameter may reach this length.
pub const MAX_PARAMETER: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A parameter: a bare word or a quoted string (the range includes the quotes).
    Word {
        quoted: bool,
    },
    Semicolon,
    OpenBrace,
    CloseBrace,
    /// `#` to the end of the line (the line break excluded).
    Comment,
    Eof,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub range: Range,
}

/// A tokenizing error; `offset` is where nginx would report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
}

/// Byte classes, one table lookup per byte in the scanning loops.
const SPACE: u8 = 1;
/// Ends a bare word: whitespace, `;` and `{`.
const WORD_END: u8 = 2;
/// Needs a look in a bare word: a word end, `\` (escape) or `$` (`${`).
const BARE_STOP: u8 = 4;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 4 {
        t[[b' ', b'\t', b'\r', b'\n'][i] as usize] = SPACE | WORD_END | BARE_STOP;
        i += 1;
    }
    t[b';' as usize] = WORD_END | BARE_STOP;
    t[b'{' as usize] = WORD_END | BARE_STOP;
    t[b'\\' as usize] = BARE_STOP;
    t[b'$' as usize] = BARE_STOP;
    t
};

#[inline]
fn is_space(b: u8) -> bool {
    CLASS[b as usize] & SPACE != 0
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8]) -> Lexer<'a> {
        let pos = if src.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        Lexer { src, pos }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next token, skipping whitespace.
    #[inline]
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        let src = self.src;
        let mut start = self.pos;
        while let Some(&b) = src.get(start) {
            if !is_space(b) {
                break;
            }
            start += 1;
        }
        let Some(&ch) = src.get(start) else {
            return Ok(self.token(TokenKind::Eof, start, start));
        };
        match ch {
            b';' => Ok(self.token(TokenKind::Semicolon, start, start + 1)),
            b'{' => Ok(self.token(TokenKind::OpenBrace, start, start + 1)),
            b'}' => Ok(self.token(TokenKind::CloseBrace, start, start + 1)),
            b'#' => {
                let end = memchr::memchr(b'\n', &src[start..]).map_or(src.len(), |i| start + i);
                let end = if end > start && src[end - 1] == b'\r' && end < src.len() {
                    end - 1
                } else {
                    end
                };
                Ok(self.token(TokenKind::Comment, start, end))
            }
            b'"' | b'\'' => self.quoted(start, ch),
            _ => self.bare(start),
        }
    }

    #[inline]
    fn token(&mut self, kind: TokenKind, start: usize, end: usize) -> Token {
        self.pos = end;
        Token {
            kind,
            range: Range::new(start, end),
        }
    }

    /// A quoted word. nginx checks the length at every byte it looks at
    /// (the bytes after a backslash are skipped, not looked at), and once
    /// more where the file ends; only a quote or a backslash changes the
    /// scan (a `{` after `$` is part of the string either way).
    #[cold]
    fn quoted(&mut self, start: usize, quote: u8) -> Result<Token, LexError> {
        let src = self.src;
        let mut i = start + 1;
        // Where the closing quote is, or where the scan met the end of the file.
        let (close, at_eof) = loop {
            match memchr::memchr2(quote, b'\\', src.get(i..).unwrap_or_default()) {
                None => break (src.len().max(i), true),
                Some(k) if src[i + k] == b'\\' => i += k + 2,
                Some(k) => break (i + k, false),
            }
        };
        if close - start >= MAX_PARAMETER {
            return Err(LexError {
                offset: start,
                message: format!(
                    "too long parameter, probably missing terminating \"{}\" character",
                    quote as char
                ),
            });
        }
        if at_eof {
            return Err(LexError {
                offset: start,
                message: format!(
                    "unexpected end of file: the {} quote opened here is never closed",
                    if quote == b'"' { "double" } else { "single" }
                ),
            });
        }
        let end = close + 1;
        match src.get(end) {
            None => {}
            Some(&b) if CLASS[b as usize] & WORD_END != 0 || b == b')' => {}
            Some(&b) => {
                return Err(LexError {
                    offset: end,
                    message: format!("unexpected \"{}\"", char_for(b)),
                })
            }
        }
        Ok(self.token(TokenKind::Word { quoted: true }, start, end))
    }

    /// A bare word: up to whitespace, `;` or `{`, where a backslash
    /// protects the next byte and a `{` right after `$` stays in the word.
    #[inline]
    fn bare(&mut self, start: usize) -> Result<Token, LexError> {
        let src = self.src;
        let mut i = start;
        // The last byte nginx looked at: its length check applies there.
        let mut last = start;
        loop {
            let from = i;
            while let Some(&b) = src.get(i) {
                if CLASS[b as usize] & BARE_STOP != 0 {
                    break;
                }
                i += 1;
            }
            if i > from {
                last = i - 1;
            }
            let Some(&b) = src.get(i) else {
                break;
            };
            last = i;
            match b {
                b'\\' => i += 2,
                b'$' => {
                    i += 1;
                    while src.get(i) == Some(&b'{') {
                        last = i;
                        i += 1;
                    }
                }
                // Whitespace, `;` or `{`.
                _ => break,
            }
        }
        let end = i.min(src.len());
        if last - start >= MAX_PARAMETER {
            let shown = String::from_utf8_lossy(&src[start..start + 10]).into_owned();
            return Err(LexError {
                offset: start,
                message: format!("too long parameter \"{shown}...\" started"),
            });
        }
        Ok(self.token(TokenKind::Word { quoted: false }, start, end))
    }

    /// Skips the body of a block whose content is not nginx syntax (a Lua
    /// block of the lua-nginx module), starting just after its `{`. Returns
    /// the offset of the matching `}`. Lua strings, long brackets and
    /// comments are honoured so that braces inside them do not count.
    pub fn skip_lua_block(&mut self) -> Result<usize, LexError> {
        let src = self.src;
        let open = self.pos.saturating_sub(1);
        let mut i = self.pos;
        let mut depth = 0usize;
        while i < src.len() {
            match src[i] {
                b'{' => depth += 1,
                b'}' => {
                    if depth == 0 {
                        self.pos = i + 1;
                        return Ok(i);
                    }
                    depth -= 1;
                }
                q @ (b'"' | b'\'') => {
                    i += 1;
                    while i < src.len() && src[i] != q && src[i] != b'\n' {
                        if src[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                b'-' if src.get(i + 1) == Some(&b'-') => {
                    i += 2;
                    if let Some(level) = long_bracket(&src[i..]) {
                        i = skip_long_bracket(src, i, level);
                        continue;
                    }
                    while i < src.len() && src[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'[' => {
                    if let Some(level) = long_bracket(&src[i..]) {
                        i = skip_long_bracket(src, i, level);
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.pos = src.len();
        Err(LexError {
            offset: open,
            message: "unexpected end of file: the Lua block opened here is never closed".into(),
        })
    }
}

/// `[[`, `[=[`, `[==[` …: the number of `=` signs.
fn long_bracket(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'[') {
        return None;
    }
    let eq = s[1..].iter().take_while(|&&b| b == b'=').count();
    (s.get(1 + eq) == Some(&b'[')).then_some(eq)
}

fn skip_long_bracket(src: &[u8], at: usize, level: usize) -> usize {
    let mut i = at + level + 2;
    while i < src.len() {
        if src[i] == b']'
            && src[i + 1..].iter().take(level).all(|&b| b == b'=')
            && src.get(i + 1 + level) == Some(&b']')
            && i + 1 + level <= src.len()
        {
            return i + level + 2;
        }
        i += 1;
    }
    src.len()
}

fn char_for(b: u8) -> String {
    if b.is_ascii_graphic() {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// The value nginx stores for a word: quotes removed, escapes applied as in
/// `ngx_conf_read_token()`. Up to 24 bytes it is held inline, and the
/// longer directive names and variables of [`LONG_WORDS`] are shared, so
/// nearly every word is stored without an allocation of its own.
pub fn word_value(raw: &[u8], quoted: bool) -> CompactString {
    let inner = if quoted && raw.len() >= 2 {
        &raw[1..raw.len() - 1]
    } else {
        raw
    };
    if memchr::memchr(b'\\', inner).is_none() {
        // Nearly every word: valid UTF-8 without escapes, copied as is.
        return match std::str::from_utf8(inner) {
            Ok(s) => shared(s).unwrap_or_else(|| CompactString::new(s)),
            Err(_) => CompactString::from(String::from_utf8_lossy(inner)),
        };
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == b'\\' {
            match inner.get(i + 1) {
                Some(b'"' | b'\'' | b'\\') => i += 1,
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(inner[i]);
        i += 1;
    }
    CompactString::from(String::from_utf8_lossy(&out))
}

/// Words too long to be held inline that configurations repeat on many
/// lines: the long directive names and variables.
pub const LONG_WORDS: &[&str] = &[
    "$proxy_add_x_forwarded_for",
    "client_header_buffer_size",
    "grpc_ssl_trusted_certificate",
    "large_client_header_buffers",
    "proxy_headers_hash_bucket_size",
    "proxy_headers_hash_max_size",
    "proxy_next_upstream_timeout",
    "proxy_next_upstream_tries",
    "proxy_ssl_certificate_key",
    "proxy_ssl_trusted_certificate",
    "proxy_temp_file_write_size",
    "server_names_hash_bucket_size",
    "server_names_hash_max_size",
    "ssl_prefer_server_ciphers",
    "uwsgi_ssl_certificate_key",
    "uwsgi_ssl_trusted_certificate",
    "variables_hash_bucket_size",
];

/// The shared copy of a word of [`LONG_WORDS`].
fn shared(s: &str) -> Option<CompactString> {
    if s.len() <= 24 {
        return None;
    }
    LONG_WORDS
        .iter()
        .find(|&&w| w == s)
        .map(|&w| CompactString::const_new(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Vec<String> {
        let mut lx = Lexer::new(src.as_bytes());
        let mut out = vec![];
        loop {
            let t = lx.next_token().unwrap();
            let raw = &src.as_bytes()[t.range.as_usize()];
            match t.kind {
                TokenKind::Eof => return out,
                TokenKind::Word { quoted } => out.push(word_value(raw, quoted).into()),
                _ => out.push(format!("<{}>", String::from_utf8_lossy(raw))),
            }
        }
    }

    #[test]
    fn nginx_word_rules() {
        assert_eq!(words("a b;"), ["a", "b", "<;>"]);
        assert_eq!(words("set $a ${b}c;"), ["set", "$a", "${b}c", "<;>"]);
        assert_eq!(words("return 200 ok};"), ["return", "200", "ok}", "<;>"]);
        assert_eq!(words("a{b}"), ["a", "<{>", "b}"]);
        assert_eq!(words("x \"a;b{c}\" 'd e';"), ["x", "a;b{c}", "d e", "<;>"]);
        // A backslash keeps a space inside the word, and stays in its value.
        assert_eq!(words(r#"x "a\"b" c\ d;"#), ["x", "a\"b", "c\\ d", "<;>"]);
        assert_eq!(words(r#"x "\t\q";"#), ["x", "\t\\q", "<;>"]);
        assert_eq!(words("a#b # c\nd;"), ["a#b", "<# c>", "d", "<;>"]);
        assert_eq!(
            words("if ($a = \"b c\") {"),
            ["if", "($a", "=", "b c", ")", "<{>"]
        );
    }

    #[test]
    fn quote_must_be_followed_by_a_separator() {
        let mut lx = Lexer::new(b"a \"b\"c;");
        lx.next_token().unwrap();
        let e = lx.next_token().unwrap_err();
        assert_eq!(e.message, "unexpected \"c\"");
        assert_eq!(e.offset, 5);
    }

    #[test]
    fn bom_crlf_and_binary_bytes() {
        assert_eq!(words("\u{feff}a\r\nb;\r\n"), ["a", "b", "<;>"]);
        let mut lx = Lexer::new(b"\xff\x00 \xfe;");
        assert!(matches!(
            lx.next_token().unwrap().kind,
            TokenKind::Word { .. }
        ));
    }

    #[test]
    fn long_parameters_are_rejected_like_nginx() {
        let long = format!("a \"{}\";", "x".repeat(5000));
        let mut lx = Lexer::new(long.as_bytes());
        lx.next_token().unwrap();
        let e = lx.next_token().unwrap_err();
        assert!(e.message.contains("missing terminating"), "{}", e.message);
        assert_eq!(words(&format!("a {};", "y".repeat(4095))).len(), 3);
    }

    #[test]
    fn the_limit_applies_to_the_bytes_nginx_looks_at() {
        let y = "y".repeat(4095);
        // nginx skips the byte after a backslash without looking at it.
        assert_eq!(words(&format!("{y}\\x")), [format!("{y}\\x")]);
        assert_eq!(words(&format!("{y}y")).len(), 1);
        for long in [format!("{y}y;"), format!("{y}yy"), format!("{y}${{{{")] {
            let e = Lexer::new(long.as_bytes()).next_token().unwrap_err();
            assert!(e.message.starts_with("too long parameter \"yyyy"), "{e:?}");
        }
        // In a quoted string the end of the file is looked at too.
        let open = format!("'{}", &y[1..]);
        let e = Lexer::new(open.as_bytes()).next_token().unwrap_err();
        assert!(e.message.contains("never closed"), "{}", e.message);
        let e = Lexer::new(format!("{open}y").as_bytes())
            .next_token()
            .unwrap_err();
        assert!(e.message.contains("missing terminating"), "{}", e.message);
    }

    #[test]
    fn lua_blocks_are_opaque() {
        let src = b"{ local t = { a = \"}\" } -- }\n --[[ } ]] ngx.say('}') } rest;";
        let mut lx = Lexer::new(src);
        assert_eq!(lx.next_token().unwrap().kind, TokenKind::OpenBrace);
        let close = lx.skip_lua_block().unwrap();
        assert_eq!(&src[close + 1..], b" rest;");
    }
}
