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
pub const NGINX_SYNTAX: &str = include_str!("../../../assets/nginx.sublime-syntax");

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

/// Why the embedded nginx grammar could not be loaded (the TUI then shows
/// the configuration without colours).
#[derive(Debug, thiserror::Error)]
pub enum HighlightError {
    /// The grammar does not parse.
    #[error("nginx grammar: {0}")]
    Grammar(#[source] syntect::parsing::ParseSyntaxError),
    /// The grammar parses but defines no syntax.
    #[error("nginx grammar: no syntax defined")]
    NoSyntax,
    /// A scope the theme maps is not a valid scope name.
    #[error("nginx grammar: {0:?}")]
    Scope(syntect::parsing::ParseScopeError),
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
    pub fn new() -> Result<Highlighter, HighlightError> {
        let def = SyntaxDefinition::load_from_str(NGINX_SYNTAX, false, Some("nginx"))
            .map_err(HighlightError::Grammar)?;
        let mut builder = SyntaxSetBuilder::new();
        builder.add(def);
        let syntaxes = builder.build();
        if syntaxes.syntaxes().is_empty() {
            return Err(HighlightError::NoSyntax);
        }
        let scope_slots = SCOPE_SLOTS
            .iter()
            .map(|(s, slot)| Scope::new(s).map(|scope| (scope, *slot)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(HighlightError::Scope)?;
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

/// A fast non-cryptographic hash of a chunk (FxHash); the length is folded
/// in, so chunks differing only by trailing zeros differ.
fn hash(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_usize(bytes.len());
    h.write(bytes);
    h.finish()
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
mod tests;
