//! nginx syntax highlighting for the source view.
//!
//! The grammar is `assets/nginx.sublime-syntax` (ours, embedded), parsed by
//! syntect. Scopes are mapped onto the theme's `syntax_*` slots — no syntect
//! colour theme is involved — so highlighting follows `--theme` and
//! `NO_COLOR` like everything else.
//!
//! # Output
//!
//! [`Highlighter::highlight_lines`] returns lines `first..first + count` of
//! the text, split like [`str::lines`] (`\n` or `\r\n`; a final newline does
//! not start an extra line). Spans carry only the slot's style (plain text
//! gets `Style::default()`): render them inside a widget styled with
//! `theme.base`, and a line-level style (selection, marks) still shows
//! through. To keep the terminal safe and columns predictable, each line is
//! sanitised before parsing: a tab becomes spaces up to the next multiple of
//! [`TAB_WIDTH`] columns (counted in chars), and other control characters
//! and bidi overrides become visible escapes (ESC → `\x1b`). Lines longer
//! than [`MAX_LINE_BYTES`] are shown unstyled and do not change the parse
//! state (like Sublime Text, to bound the cost of pathological lines).
//!
//! # Caching
//!
//! Highlighting line N needs the parser state after lines 0..N. The
//! highlighter keeps, for each of the last [`CACHED_FILES`] texts it saw, a
//! checkpoint (parser state + scope stack + byte offset) every
//! [`CHECKPOINT_EVERY`] lines, so a frame deep in a large file re-parses at
//! most 255 lines before the visible ones instead of the whole prefix.
//!
//! The cache needs no file id and no invalidation: each checkpoint also
//! stores a hash of the text chunk before it, and every call re-hashes the
//! prefix it relies on (about 0.2 ms per MB) before trusting it. A text that
//! differs from a cached one somewhere keeps the checkpoints before the
//! change (an edit at line 80 000 re-parses from line 79 872); a text that
//! matches no cached one gets a fresh entry, evicting the least recently
//! used. The cache sits behind a mutex so `highlight_lines` takes `&self`
//! (drawing takes `&self`).

use std::borrow::Cow;
use std::sync::{Mutex, MutexGuard};

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use syntect::parsing::{
    ParseState, Scope, ScopeStack, ScopeStackOp, SyntaxDefinition, SyntaxReference, SyntaxSet,
    SyntaxSetBuilder,
};

use super::theme::Theme;

/// The grammar, embedded.
pub const NGINX_SYNTAX: &str = include_str!("../../assets/nginx.sublime-syntax");

/// Tabs expand to the next multiple of this many columns.
pub const TAB_WIDTH: usize = 4;

/// Longer lines are shown unstyled and skipped by the parser.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Lines between two parse-state checkpoints.
pub const CHECKPOINT_EVERY: usize = 256;

/// How many texts (files) keep their checkpoints.
pub const CACHED_FILES: usize = 8;

/// The theme slot a scope stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Not a colour of its own: look at the enclosing scope.
    Transparent,
    Comment,
    Directive,
    Block,
    String,
    Variable,
    Number,
    Punct,
}

impl Slot {
    fn style(self, theme: &Theme) -> Style {
        match self {
            Slot::Transparent => Style::default(),
            Slot::Comment => theme.syntax_comment,
            Slot::Directive => theme.syntax_directive,
            Slot::Block => theme.syntax_block,
            Slot::String => theme.syntax_string,
            Slot::Variable => theme.syntax_variable,
            Slot::Number => theme.syntax_number,
            Slot::Punct => theme.syntax_punct,
        }
    }
}

/// Scope prefixes and their slots, most specific first. The innermost scope
/// that matches one decides; quotes defer to the string around them.
const SCOPE_SLOTS: &[(&str, Slot)] = &[
    ("punctuation.definition.string", Slot::Transparent),
    ("comment", Slot::Comment),
    ("string", Slot::String),
    ("variable", Slot::Variable),
    ("constant", Slot::Number),
    ("keyword", Slot::Block),
    ("entity.name.section", Slot::Block),
    ("support.function", Slot::Directive),
    ("punctuation", Slot::Punct),
];

/// A parser position: where the next line starts and the state before it.
#[derive(Clone)]
struct Checkpoint {
    /// Line index (a multiple of CHECKPOINT_EVERY, > 0).
    line: usize,
    /// Byte offset of that line in the text.
    offset: usize,
    /// Hash of the text from the previous checkpoint up to `offset`.
    chunk_hash: u64,
    state: ParseState,
    stack: ScopeStack,
}

/// The checkpoints of one text; `checkpoints[i]` is at line (i+1)·256.
#[derive(Default)]
struct Entry {
    checkpoints: Vec<Checkpoint>,
}

/// Loads the grammar once; highlights any number of texts.
pub struct Highlighter {
    syntaxes: SyntaxSet,
    scope_slots: Vec<(Scope, Slot)>,
    /// Most recently used first.
    cache: Mutex<Vec<Entry>>,
}

impl std::fmt::Debug for Highlighter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Highlighter").finish_non_exhaustive()
    }
}

impl Highlighter {
    /// Builds the syntax set from the embedded grammar.
    pub fn new() -> Result<Highlighter, String> {
        let def = SyntaxDefinition::load_from_str(NGINX_SYNTAX, false, Some("nginx"))
            .map_err(|e| format!("nginx grammar: {e}"))?;
        let mut builder = SyntaxSetBuilder::new();
        builder.add(def);
        let syntaxes = builder.build();
        if syntaxes.syntaxes().is_empty() {
            return Err("nginx grammar: no syntax defined".to_string());
        }
        let scope_slots = SCOPE_SLOTS
            .iter()
            .map(|(s, slot)| Scope::new(s).map(|scope| (scope, *slot)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("nginx grammar: {e:?}"))?;
        Ok(Highlighter {
            syntaxes,
            scope_slots,
            cache: Mutex::new(Vec::new()),
        })
    }

    fn syntax(&self) -> &SyntaxReference {
        // `new` checked there is one.
        &self.syntaxes.syntaxes()[0]
    }

    /// Styled lines `first..first + count` (0-based) of `text`; fewer if the
    /// text is shorter. See the module docs for sanitising and caching.
    pub fn highlight_lines(
        &self,
        text: &str,
        first: usize,
        count: usize,
        theme: &Theme,
    ) -> Vec<Line<'static>> {
        if count == 0 {
            return Vec::new();
        }
        let wanted = first / CHECKPOINT_EVERY; // checkpoints needed: 1..=wanted
        let mut run = Run::new(self);
        if wanted == 0 {
            // Near the top: parsing from line 0 costs no more than a lookup.
            return run.lines(text, first, count, theme, None);
        }
        let mut cache = self.lock_cache();
        let index = find_entry(&mut cache, text, wanted);
        let entry = &mut cache[index];
        // Start from the last usable checkpoint at or before `first`.
        let usable = wanted.min(entry.checkpoints.len());
        if let Some(cp) = usable.checked_sub(1).and_then(|i| entry.checkpoints.get(i)) {
            run.resume(cp);
        }
        let out = run.lines(text, first, count, theme, Some(entry));
        // Most recently used first; a text too short for a checkpoint (one
        // scrolled past its end) must not evict real entries.
        let entry = cache.remove(index);
        if !entry.checkpoints.is_empty() {
            cache.insert(0, entry);
        }
        out
    }

    /// Parses all of `text` and caches its checkpoints, so that the first
    /// jump deep into a large file is as fast as scrolling. The cache lock
    /// is not held while parsing: call it from a background thread (the
    /// highlighter is `Sync`) after loading a big file. Optional.
    pub fn prepare(&self, text: &str) {
        let mut entry = Entry::default();
        // Nothing is styled (the first line shown is past the end), so any
        // theme will do.
        Run::new(self).lines(text, usize::MAX, 0, &Theme::monochrome(), Some(&mut entry));
        if entry.checkpoints.is_empty() {
            return;
        }
        let mut cache = self.lock_cache();
        cache.insert(0, entry);
        cache.truncate(CACHED_FILES);
    }

    /// Forgets every checkpoint.
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    fn lock_cache(&self) -> MutexGuard<'_, Vec<Entry>> {
        // A panic while holding the lock leaves checkpoints of unknown
        // quality: start over rather than propagate it.
        self.cache.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            guard.clear();
            self.cache.clear_poison();
            guard
        })
    }

    fn slot_for(&self, stack: &ScopeStack) -> Slot {
        for scope in stack.as_slice().iter().rev() {
            if let Some((_, slot)) = self
                .scope_slots
                .iter()
                .find(|(prefix, _)| prefix.is_prefix_of(*scope))
            {
                if *slot != Slot::Transparent {
                    return *slot;
                }
            }
        }
        Slot::Transparent
    }
}

/// Picks (or creates) the cache entry for `text` and drops its checkpoints
/// that no longer match. Returns its index.
///
/// The entry whose checkpoints match the longest prefix of `text` wins; a
/// partial match is taken to be the same file, edited. No match at all
/// means a new file: a fresh entry, evicting the least recently used.
fn find_entry(cache: &mut Vec<Entry>, text: &str, wanted: usize) -> usize {
    let mut best: Option<(usize, usize, bool)> = None; // (index, valid, mismatch)
    for (i, entry) in cache.iter().enumerate() {
        let (valid, mismatch) = validate(entry, text, wanted);
        if valid > 0 && best.map_or(true, |(_, b, _)| valid > b) {
            best = Some((i, valid, mismatch));
            if valid >= wanted {
                break;
            }
        }
    }
    match best {
        Some((i, valid, mismatch)) => {
            if mismatch {
                cache[i].checkpoints.truncate(valid);
            }
            i
        }
        None => {
            if cache.len() >= CACHED_FILES {
                cache.pop();
            }
            cache.insert(0, Entry::default());
            0
        }
    }
}

/// How many of the first `wanted` checkpoints of `entry` hold for `text`,
/// and whether one was found not to (so the rest are stale).
fn validate(entry: &Entry, text: &str, wanted: usize) -> (usize, bool) {
    let mut start = 0;
    for (i, cp) in entry.checkpoints.iter().take(wanted).enumerate() {
        match text.get(start..cp.offset) {
            Some(chunk) if hash(chunk.as_bytes()) == cp.chunk_hash => start = cp.offset,
            _ => return (i, true),
        }
    }
    (entry.checkpoints.len().min(wanted), false)
}

/// A fast non-cryptographic hash (FxHash-style over 8-byte words). The
/// length is folded in, so chunks differing only by trailing zeros differ.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(w);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
    }
    let mut buf = [0u8; 8];
    let rest = words.remainder();
    buf[..rest.len()].copy_from_slice(rest);
    (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K)
}

/// One pass of the parser over part of a text.
struct Run<'h> {
    hl: &'h Highlighter,
    state: ParseState,
    stack: ScopeStack,
    /// Next line to parse and its byte offset.
    line: usize,
    offset: usize,
    /// Where the current checkpoint chunk started.
    chunk_start: usize,
}

impl<'h> Run<'h> {
    fn new(hl: &'h Highlighter) -> Self {
        Run {
            hl,
            state: ParseState::new(hl.syntax()),
            stack: ScopeStack::new(),
            line: 0,
            offset: 0,
            chunk_start: 0,
        }
    }

    fn resume(&mut self, cp: &Checkpoint) {
        self.state = cp.state.clone();
        self.stack = cp.stack.clone();
        self.line = cp.line;
        self.offset = cp.offset;
        self.chunk_start = cp.offset;
    }

    /// Parses up to `first`, then returns `count` styled lines. With an
    /// entry, records the checkpoints it passes that the entry lacks.
    fn lines(
        &mut self,
        text: &str,
        first: usize,
        count: usize,
        theme: &Theme,
        mut entry: Option<&mut Entry>,
    ) -> Vec<Line<'static>> {
        let end = first.saturating_add(count);
        let mut out = Vec::with_capacity(count.min(4096));
        while self.line < end && self.offset < text.len() {
            if self.line > 0 && self.line % CHECKPOINT_EVERY == 0 {
                if let Some(entry) = entry.as_deref_mut() {
                    self.checkpoint(text, entry);
                }
            }
            let rest = &text[self.offset..];
            let (raw, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], self.offset + i + 1),
                None => (rest, text.len()),
            };
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let line = sanitize(raw);
            if self.line >= first {
                out.push(self.styled(&line, theme));
            } else {
                self.parse(&line);
            }
            self.line += 1;
            self.offset = next;
        }
        out
    }

    /// Records a checkpoint at the current position if it extends `entry`.
    fn checkpoint(&mut self, text: &str, entry: &mut Entry) {
        let index = self.line / CHECKPOINT_EVERY - 1;
        if index == entry.checkpoints.len() {
            let chunk = text.get(self.chunk_start..self.offset).unwrap_or("");
            entry.checkpoints.push(Checkpoint {
                line: self.line,
                offset: self.offset,
                chunk_hash: hash(chunk.as_bytes()),
                state: self.state.clone(),
                stack: self.stack.clone(),
            });
        }
        self.chunk_start = self.offset;
    }

    /// Parses one line, keeping the scope stack in step; returns the ops.
    fn ops(&mut self, line: &str) -> Vec<(usize, ScopeStackOp)> {
        if line.len() > MAX_LINE_BYTES {
            return Vec::new();
        }
        match self.state.parse_line(line, &self.hl.syntaxes) {
            Ok(ops) => ops,
            Err(_) => {
                // Cannot happen with our grammar; recover rather than panic.
                self.state = ParseState::new(self.hl.syntax());
                self.stack = ScopeStack::new();
                Vec::new()
            }
        }
    }

    fn apply(&mut self, op: &ScopeStackOp) {
        if self.stack.apply(op).is_err() {
            self.stack = ScopeStack::new();
        }
    }

    fn parse(&mut self, line: &str) {
        for (_, op) in self.ops(line) {
            self.apply(&op);
        }
    }

    fn styled(&mut self, line: &str, theme: &Theme) -> Line<'static> {
        if line.len() > MAX_LINE_BYTES {
            return Line::from(line.to_string());
        }
        let ops = self.ops(line);
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut push = |text: &str, style: Style| {
            if text.is_empty() {
                return;
            }
            match spans.last_mut() {
                Some(last) if last.style == style => last.content.to_mut().push_str(text),
                _ => spans.push(Span::styled(text.to_string(), style)),
            }
        };
        let mut at = 0;
        for (pos, op) in ops {
            if pos > at {
                if let Some(piece) = line.get(at..pos) {
                    push(piece, self.hl.slot_for(&self.stack).style(theme));
                    at = pos;
                }
            }
            self.apply(&op);
        }
        if let Some(piece) = line.get(at..) {
            push(piece, self.hl.slot_for(&self.stack).style(theme));
        }
        Line::from(spans)
    }
}

/// Expands tabs to the next multiple of [`TAB_WIDTH`] columns and shows
/// other control characters (and bidi overrides) as visible escapes.
pub fn sanitize(line: &str) -> Cow<'_, str> {
    if !line.chars().any(crate::visible::is_unsafe) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut col = 0;
    for c in line.chars() {
        if c == '\t' {
            let n = TAB_WIDTH - col % TAB_WIDTH;
            out.extend(std::iter::repeat(' ').take(n));
            col += n;
        } else if crate::visible::is_unsafe(c) {
            let mut buf = [0u8; 4];
            let escaped = crate::visible::visible(c.encode_utf8(&mut buf));
            col += escaped.chars().count();
            out.push_str(&escaped);
        } else {
            out.push(c);
            col += 1;
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    /// A theme where each syntax slot has its own colour.
    fn theme() -> Theme {
        let mut t = Theme::monochrome();
        for (i, slot) in Theme::SLOTS.iter().enumerate() {
            *t.slot_mut(slot).unwrap() = Style::default().fg(Color::Indexed(100 + i as u8));
        }
        t
    }

    const SAMPLE: &str = r#"# upstream TLS
http {
    upstream pool {
        server 10.0.0.1:443 max_fails=2 fail_timeout=30s;
    }
    server {
        listen 443 ssl;
        client_max_body_size 10m;
        location ~* \.php$ {
            proxy_pass https://pool$request_uri;
            proxy_ssl_server_name on;
            proxy_set_header X-Host "${host}:x \"q\"";
        }
        if ($request_method = POST) { return 405; }
    }
}
"#;

    /// The style of the first span containing `needle` on line `line`
    /// (the span must start at `needle`'s first byte).
    fn style_of(lines: &[Line<'_>], line: usize, needle: &str) -> Style {
        let l = &lines[line];
        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {text:?}"));
        let mut pos = 0;
        for s in &l.spans {
            if at < pos + s.content.len() {
                assert!(
                    s.content[at - pos..].starts_with(needle)
                        || needle.starts_with(&s.content[at - pos..]),
                    "{needle:?} split oddly in {:?}",
                    l.spans
                );
                return s.style;
            }
            pos += s.content.len();
        }
        unreachable!()
    }

    #[test]
    fn tokens_get_their_slots() {
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let lines = hl.highlight_lines(SAMPLE, 0, 100, &t);
        assert_eq!(lines.len(), SAMPLE.lines().count());
        let check = |line: usize, needle: &str, want: Style| {
            assert_eq!(
                style_of(&lines, line, needle),
                want,
                "line {line}: {needle:?}"
            );
        };
        check(0, "# upstream TLS", t.syntax_comment);
        check(1, "http", t.syntax_block);
        check(1, "{", t.syntax_punct);
        check(2, "upstream", t.syntax_block);
        check(2, "pool", Style::default());
        // `server` inside upstream is a directive, `server {` a block.
        check(3, "server", t.syntax_directive);
        check(3, "10.0.0.1:443", Style::default());
        check(3, "2", t.syntax_number);
        check(3, "30s", t.syntax_number);
        check(3, ";", t.syntax_punct);
        check(4, "}", t.syntax_punct);
        check(5, "server", t.syntax_block);
        check(6, "listen", t.syntax_directive);
        check(6, "443", t.syntax_number);
        check(7, "10m", t.syntax_number);
        check(8, "location", t.syntax_block);
        check(8, "~*", t.syntax_block);
        check(8, "\\.php$", t.syntax_string);
        check(9, "https://pool", Style::default());
        check(9, "$request_uri", t.syntax_variable);
        check(10, "on", t.syntax_number);
        check(11, "\"", t.syntax_string);
        check(11, "${host}", t.syntax_variable);
        check(11, ":x ", t.syntax_string);
        check(11, "\\\"", t.syntax_number);
        check(13, "if", t.syntax_block);
        check(13, "(", t.syntax_punct);
        check(13, "$request_method", t.syntax_variable);
        check(13, "=", t.syntax_block);
        check(13, "return", t.syntax_directive);
        check(13, "405", t.syntax_number);
    }

    #[test]
    fn strings_and_comments_span_correctly() {
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let text = "add_header X 'a # not a comment\nstill string' always; # comment\nfoo#bar 1;";
        let lines = hl.highlight_lines(text, 0, 10, &t);
        assert_eq!(style_of(&lines, 0, "# not"), t.syntax_string);
        assert_eq!(style_of(&lines, 1, "still"), t.syntax_string);
        assert_eq!(style_of(&lines, 1, "always"), Style::default());
        assert_eq!(style_of(&lines, 1, "# comment"), t.syntax_comment);
        // `#` inside a token is not a comment.
        assert_eq!(style_of(&lines, 2, "foo#bar"), Style::default());
        assert_eq!(style_of(&lines, 2, "1"), t.syntax_number);
    }

    #[test]
    fn window_matches_full_render_and_cache_is_consistent() {
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let text = generated(3000);
        let full = hl.highlight_lines(&text, 0, usize::MAX, &t);
        assert_eq!(full.len(), 3000);
        for first in [0, 255, 256, 257, 1000, 2990, 2999, 3000, 5000] {
            let part = hl.highlight_lines(&text, first, 20, &t);
            let want: Vec<_> = full.iter().skip(first).take(20).cloned().collect();
            assert_eq!(part, want, "first = {first}");
        }
        // An edit that opens a string changes everything after it; the cache
        // must notice even though the text has the same length.
        let edited = text.replacen("server_name", "server_nam\"", 1);
        assert_eq!(edited.len(), text.len());
        let fresh = Highlighter::new()
            .unwrap()
            .highlight_lines(&edited, 2000, 10, &t);
        assert_eq!(hl.highlight_lines(&edited, 2000, 10, &t), fresh);
        // And switching back reuses or rebuilds correctly.
        let want: Vec<_> = full[2000..2010].to_vec();
        assert_eq!(hl.highlight_lines(&text, 2000, 10, &t), want);
        // Scrolling past the end of a short text leaves the cache alone.
        for _ in 0..2 * CACHED_FILES {
            assert!(hl.highlight_lines("a;\nb;", 400, 5, &t).is_empty());
        }
        assert!(hl.lock_cache().iter().all(|e| !e.checkpoints.is_empty()));
        assert_eq!(
            hl.highlight_lines(&text, 2500, 5, &t),
            full[2500..2505].to_vec()
        );
        // Several files at once.
        let other = generated(1000).replace("proxy", "grpc");
        let other_full = hl.highlight_lines(&other, 0, usize::MAX, &t);
        for _ in 0..2 {
            assert_eq!(
                hl.highlight_lines(&other, 600, 5, &t),
                other_full[600..605].to_vec()
            );
            assert_eq!(
                hl.highlight_lines(&text, 2500, 5, &t),
                full[2500..2505].to_vec()
            );
        }
    }

    #[test]
    fn highlighter_can_be_shared() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Highlighter>();
    }

    #[test]
    fn prepare_fills_the_cache() {
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let text = generated(2000);
        let full = Highlighter::new()
            .unwrap()
            .highlight_lines(&text, 0, usize::MAX, &t);
        hl.prepare(&text);
        assert_eq!(
            hl.lock_cache()[0].checkpoints.len(),
            1999 / CHECKPOINT_EVERY
        );
        assert_eq!(
            hl.highlight_lines(&text, 1900, 30, &t),
            full[1900..1930].to_vec()
        );
        hl.prepare("short;");
        hl.clear_cache();
        assert!(hl.lock_cache().is_empty());
    }

    #[test]
    fn tokens_in_context() {
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let text = r#"location =/exact { }
location /a=b { proxy_if x; my_server { } }
server
{
if (-f $request_filename) { break; }
if ($http_user_agent !~* "bot") { }
map $http_upgrade $connection_upgrade { default upgrade; '' close; ~^/api 1; }
log_format main '$remote_addr - $remote_user'
    '"$request" $status';
ssl_protocols TLSv1.2 TLSv1.3; keepalive_timeout 1h30m; proxy_connect_timeout 500ms; x 2.5;
proxy_cache_path /c levels=1:2 keys_zone=one:10m use_temp_path=off;
"#;
        let lines = hl.highlight_lines(text, 0, 20, &t);
        let check = |line: usize, needle: &str, want: Style| {
            assert_eq!(
                style_of(&lines, line, needle),
                want,
                "line {line}: {needle:?}"
            );
        };
        check(0, "=", t.syntax_block);
        check(0, "/exact", Style::default());
        check(1, "/a", Style::default());
        check(1, "proxy_if", t.syntax_directive);
        check(1, "my_server", t.syntax_directive);
        check(2, "server", t.syntax_block);
        check(3, "{", t.syntax_punct);
        check(4, "-f", t.syntax_block);
        check(4, "$request_filename", t.syntax_variable);
        check(4, ")", t.syntax_punct);
        check(4, "break", t.syntax_directive);
        check(5, "!~*", t.syntax_block);
        check(5, "\"bot\"", t.syntax_string);
        check(6, "map", t.syntax_block);
        check(6, "$connection_upgrade", t.syntax_variable);
        check(6, "default", t.syntax_directive);
        check(6, "''", t.syntax_string);
        check(6, "~^/api", Style::default());
        check(6, "1", t.syntax_number);
        check(7, "'", t.syntax_string);
        check(7, "$remote_addr", t.syntax_variable);
        check(7, " - ", t.syntax_string);
        // A continuation line is still the same statement's arguments.
        check(8, "'\"", t.syntax_string);
        check(8, "$status", t.syntax_variable);
        check(9, "TLSv1.2", Style::default());
        check(9, "1h30m", t.syntax_number);
        check(9, "500ms", t.syntax_number);
        check(9, "2.5", t.syntax_number);
        check(10, "1:2", Style::default());
        check(10, "one:10m", Style::default());
        check(10, "off", t.syntax_number);
    }

    #[test]
    fn odd_input_never_panics() {
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        let inputs = [
            "",
            "\n",
            "\r\n\r\n",
            "{{{{ }}}} ;;; \"unterminated",
            "'\\",
            "\\",
            "$",
            "${",
            "location",
            "location ~",
            "if (",
            "\u{1b}[31mred\u{7}\u{7f}\0",
            "é ü 日本 🦀 \u{fffd}",
            long.as_str(),
        ];
        for input in inputs {
            for first in [0, 1, 300] {
                let lines = hl.highlight_lines(input, first, 5, &t);
                assert!(lines.len() <= 5);
                for l in &lines {
                    for s in &l.spans {
                        assert!(!s.content.chars().any(char::is_control), "{input:?}");
                    }
                }
            }
        }
        assert!(hl.highlight_lines("a;", 0, 0, &t).is_empty());
        assert!(hl
            .highlight_lines("a;", usize::MAX, usize::MAX, &t)
            .is_empty());
        // The long line is unstyled but the next one is still highlighted.
        let text = format!("{long}\n# c");
        let lines = hl.highlight_lines(&text, 0, 2, &t);
        assert_eq!(lines[0].spans[0].style, Style::default());
        assert_eq!(lines[1].spans[0].style, t.syntax_comment);
    }

    #[test]
    fn sanitize_expands_tabs_and_controls() {
        assert_eq!(sanitize("a\tb"), "a   b");
        assert_eq!(sanitize("\tx"), "    x");
        assert_eq!(sanitize("abcd\tx"), "abcd    x");
        assert_eq!(sanitize("\u{1b}[0m"), "\\x1b[0m");
        assert_eq!(sanitize("\u{7f}"), "\\x7f");
        assert_eq!(sanitize("\u{9b}\u{202e}x"), "\\x9b\\u{202e}x");
        assert_eq!(sanitize("\u{1b}\tx"), "\\x1b    x");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
        let hl = Highlighter::new().unwrap();
        let t = theme();
        let lines = hl.highlight_lines("\tlisten\t443;", 0, 1, &t);
        assert_eq!(style_of(&lines, 0, "listen"), t.syntax_directive);
        assert_eq!(style_of(&lines, 0, "443"), t.syntax_number);
        let text: String = lines[0].spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "    listen  443;");
    }

    #[test]
    fn crlf_lines() {
        let hl = Highlighter::new().unwrap();
        let lines = hl.highlight_lines("a 1;\r\nb 2;\r\n", 0, 5, &theme());
        assert_eq!(lines.len(), 2);
        let text: String = lines[1].spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "b 2;");
    }

    /// A config of `n` lines (roughly the shape of real ones).
    fn generated(n: usize) -> String {
        let block = [
            "# upstream {i}",
            "upstream pool_{i} {",
            "    server 10.0.{i}.1:8443 max_fails=3 fail_timeout=30s;",
            "}",
            "server {",
            "    listen 443 ssl; server_name app{i}.example.com;",
            "    location ~* ^/api/(v[0-9]+)/ {",
            "        proxy_pass https://pool_{i}$request_uri;",
            "        proxy_ssl_server_name on;",
            "        proxy_set_header Host \"app{i}.internal\";",
            "    }",
            "}",
        ];
        let mut out = String::new();
        for k in 0..n {
            out.push_str(&block[k % block.len()].replace("{i}", &(k / block.len()).to_string()));
            out.push('\n');
        }
        out
    }
}
