//! Source files and positions.
//!
//! Every byte of every loaded file is kept verbatim; everything else in
//! hopscope points into these buffers with byte offsets, so a line and column
//! can always be recovered and an edit can always be made in place.

use std::borrow::Cow;
use std::path::PathBuf;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range `[start, end)` inside one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Range {
    pub start: u32,
    pub end: u32,
}

impl Range {
    pub fn new(start: usize, end: usize) -> Range {
        Range {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn as_usize(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// One loaded file: its name as shown to users, where it lives, and its bytes.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown to users and written in JSON: relative to the prefix
    /// directory when the file lies below it, otherwise absolute; for
    /// `nginx -T` input, the name as written in the dump.
    pub name: String,
    /// The path nginx would open (absolute, or as named in the dump).
    pub path: PathBuf,
    /// Whether the file exists on this machine (false for `nginx -T` input
    /// and the embedded demo).
    pub on_disk: bool,
    pub text: Vec<u8>,
    line_starts: Vec<u32>,
    /// 0-based indexes of the lines holding a byte that is not ASCII, in
    /// order (none in most files): on every other line a column is a byte
    /// count, found without reading the line.
    non_ascii_lines: Vec<u32>,
}

impl SourceFile {
    pub fn new(name: String, path: PathBuf, on_disk: bool, text: Vec<u8>) -> SourceFile {
        // Counted first: the index is kept as long as the file, at its exact size.
        let breaks = memchr::memchr_iter(b'\n', &text).count();
        let mut line_starts = Vec::with_capacity(breaks + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', &text).map(|i| i as u32 + 1));
        let non_ascii_lines = if text.is_ascii() {
            Vec::new()
        } else {
            let ends = line_starts[1..].iter().map(|&s| s as usize);
            line_starts
                .iter()
                .zip(ends.chain(std::iter::once(text.len())))
                .enumerate()
                .filter(|(_, (&s, e))| !text[s as usize..*e].is_ascii())
                .map(|(i, _)| i as u32)
                .collect()
        };
        SourceFile {
            name,
            path,
            on_disk,
            text,
            line_starts,
            non_ascii_lines,
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: u32) -> u32 {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    ///
    /// Constant time on an ASCII line, so that a hostile file of one long
    /// line with many directives costs no more than the same file with
    /// line breaks; on other lines it counts the characters before the
    /// offset (invalid UTF-8 counts as U+FFFD, as it is shown).
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let line = self.line_of(offset);
        let start = self.line_starts[line as usize - 1] as usize;
        let end = (offset as usize).min(self.text.len()).max(start);
        let before = &self.text[start..end];
        let chars = if self.non_ascii_lines.binary_search(&(line - 1)).is_err() {
            before.len()
        } else {
            match std::str::from_utf8(before) {
                // Every byte that does not continue a character starts one.
                Ok(_) => before.iter().filter(|&&b| (b as i8) >= -0x40).count(),
                Err(_) => String::from_utf8_lossy(before).chars().count(),
            }
        };
        (line, chars as u32 + 1)
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: u32) -> usize {
        self.line_starts
            .get(line.saturating_sub(1) as usize)
            .map_or(self.text.len(), |&s| s as usize)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: u32) -> Cow<'_, str> {
        let start = self.line_start(line);
        let mut end = self.line_start(line + 1);
        let t = &self.text;
        while end > start && (t[end - 1] == b'\n' || t[end - 1] == b'\r') {
            end -= 1;
        }
        String::from_utf8_lossy(&t[start..end])
    }

    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }

    pub fn slice(&self, r: Range) -> &[u8] {
        let end = (r.end as usize).min(self.text.len());
        let start = (r.start as usize).min(end);
        &self.text[start..end]
    }

    pub fn str(&self, r: Range) -> Cow<'_, str> {
        String::from_utf8_lossy(self.slice(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let f = SourceFile::new(
            "a".into(),
            "a".into(),
            false,
            b"ab\r\ncd\n\xc3\xa9x".to_vec(),
        );
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 1));
        assert_eq!(f.line_col(5), (2, 2));
        assert_eq!(f.line_col(9), (3, 2), "columns count characters");
        assert_eq!(f.line_text(1), "ab");
        assert_eq!(f.line_text(3), "éx");
        assert_eq!(f.line_count(), 3);
        // Invalid UTF-8 counts as one character per replacement.
        let g = SourceFile::new("g".into(), "g".into(), false, b"a\xff\xfeb c\nx".to_vec());
        assert_eq!(g.line_col(4), (1, 5));
        assert_eq!(g.line_col(5), (1, 6));
        assert_eq!(g.line_col(7), (2, 1));
    }

    #[test]
    fn columns_agree_with_counting_characters() {
        let text = "ab\u{e9}c\n\tx\r\n\u{1f600}yz\n\nend".as_bytes().to_vec();
        let f = SourceFile::new("a".into(), "a".into(), false, text.clone());
        for off in 0..=text.len() {
            let (line, col) = f.line_col(off as u32);
            let start = f.line_start(line);
            let want = String::from_utf8_lossy(&text[start..off.max(start)])
                .chars()
                .count() as u32
                + 1;
            assert_eq!(col, want, "offset {off}");
        }
    }
}
