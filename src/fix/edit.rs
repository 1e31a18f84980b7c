//! Text edits against exact byte ranges, applied in one pass.

use crate::conf::{FileId, Range};

/// Replace `range` of `file` with `text` (an empty range inserts).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edit {
    pub file: FileId,
    pub range: Range,
    pub text: String,
}

impl Edit {
    pub fn insertion(file: FileId, at: usize, text: String) -> Edit {
        Edit {
            file,
            range: Range::new(at, at),
            text,
        }
    }
    pub fn replacement(file: FileId, range: Range, text: String) -> Edit {
        Edit { file, range, text }
    }
    fn overlaps(&self, other: &Edit) -> bool {
        self.file == other.file
            && self.range.start < other.range.end.max(other.range.start + 1)
            && other.range.start < self.range.end.max(self.range.start + 1)
    }
}

/// Keeps edits that do not overlap an earlier kept one (an identical edit
/// counts once); returns kept edits sorted, and the number dropped.
pub fn merge(edits: impl IntoIterator<Item = Edit>) -> (Vec<Edit>, usize) {
    let mut kept: Vec<Edit> = Vec::new();
    let mut dropped = 0;
    for e in edits {
        if kept.contains(&e) {
            continue;
        }
        if kept.iter().any(|k| k.overlaps(&e)) {
            dropped += 1;
            continue;
        }
        kept.push(e);
    }
    kept.sort_by_key(|e| (e.file, e.range.start, e.range.end));
    (kept, dropped)
}

/// Applies sorted, non-overlapping edits of one file to its bytes.
pub fn apply(src: &[u8], edits: &[&Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0usize;
    for e in edits {
        let r = e.range.as_usize();
        out.extend_from_slice(&src[at..r.start]);
        out.extend_from_slice(e.text.as_bytes());
        at = r.end;
    }
    out.extend_from_slice(&src[at..]);
    out
}

/// Where a byte offset moves to once edits are applied in front of it.
pub fn shift(offset: u32, edits: &[&Edit]) -> u32 {
    let mut delta: i64 = 0;
    for e in edits {
        if e.range.end <= offset && !(e.range.is_empty() && e.range.start == offset) {
            delta += e.text.len() as i64 - e.range.len() as i64;
        } else if e.range.is_empty() && e.range.start == offset {
            // An insertion exactly at the offset lands before it.
            delta += e.text.len() as i64;
        }
    }
    (i64::from(offset) + delta) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_and_merge() {
        let f = FileId(0);
        let a = Edit::replacement(f, Range::new(2, 5), "XY".into());
        let b = Edit::insertion(f, 0, ">".into());
        let c = Edit::replacement(f, Range::new(4, 6), "no".into());
        let (kept, dropped) = merge(vec![a.clone(), b.clone(), c, a.clone()]);
        assert_eq!(dropped, 1);
        assert_eq!(kept, vec![b.clone(), a.clone()]);
        let refs: Vec<&Edit> = kept.iter().collect();
        assert_eq!(apply(b"0123456", &refs), b">01XY56");
        assert_eq!(shift(5, &refs), 5);
        assert_eq!(shift(6, &refs), 6);
        assert_eq!(shift(0, &refs), 1);
    }
}
