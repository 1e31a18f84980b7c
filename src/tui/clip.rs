//! Cutting text to a number of terminal columns, with a `…` where something
//! was cut, so a reader never mistakes a clipped value for the whole one.

use std::borrow::Cow;

use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::visible::visible;

const ELLIPSIS: char = '…';

/// `text` cut to at most `width` columns; when cut, its last column is `…`.
/// Control characters show as visible escapes (and count as such).
pub fn clip(text: &str, width: usize) -> Cow<'_, str> {
    let text = visible(text);
    if text.width() <= width {
        return text;
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    Cow::Owned(cut(&text, width))
}

/// `text` cut to at most `width` columns from the left: when cut, it starts
/// with `…` and keeps the end (a hop id keeps its file name and line).
/// Control characters show as visible escapes.
pub fn clip_start(text: &str, width: usize) -> Cow<'_, str> {
    let text = visible(text);
    if text.width() <= width {
        return text;
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut used = 0;
    let mut start = text.len();
    for (i, c) in text.char_indices().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        start = i;
    }
    Cow::Owned(format!("{ELLIPSIS}{}", &text[start..]))
}

/// A path (`dir/file.conf:18`) cut to at most `width` columns from the
/// left, at a `/` where it can be: `…/file.conf:18` rather than
/// `…le.conf:18`; failing that, as [`clip_start`] cuts it.
pub fn clip_path(text: &str, width: usize) -> Cow<'_, str> {
    let shown = visible(text);
    if shown.width() <= width {
        return shown;
    }
    let tail = shown
        .match_indices('/')
        .map(|(i, _)| &shown[i..])
        .find(|rest| rest.width() < width);
    match tail {
        Some(rest) => Cow::Owned(format!("{ELLIPSIS}{rest}")),
        None => Cow::Owned(clip_start(&shown, width).into_owned()),
    }
}

/// The width `clip_path` needs to keep a path's file name and line.
pub fn path_tail_width(text: &str) -> usize {
    let shown = visible(text);
    match shown.rfind('/') {
        Some(i) => shown[i..].width() + 1,
        None => shown.width(),
    }
}

/// The width of each column of a table laid out in `width` columns, as
/// ratatui's `Table` lays them out (one space apart, extra room unused).
pub fn columns(constraints: &[ratatui::layout::Constraint], width: u16) -> Vec<u16> {
    use ratatui::layout::{Flex, Layout, Rect};
    Layout::horizontal(constraints)
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|c| c.width)
        .collect()
}

/// Widths for columns in order of importance, laid out one space apart in
/// `room` columns: each wants `want` and can shrink to `min`. When they do
/// not fit, the least important shrink first, then drop (width 0), and the
/// first takes what is left; room to spare goes back to the shrunk ones,
/// the most important first.
pub fn by_priority(room: usize, want: &[usize], min: &[usize]) -> Vec<usize> {
    let mut w: Vec<usize> = want.iter().map(|&x| x.max(1)).collect();
    let total = |w: &[usize]| -> usize {
        let shown = w.iter().filter(|&&x| x > 0).count();
        w.iter().sum::<usize>() + shown.saturating_sub(1)
    };
    for i in (1..w.len()).rev() {
        let over = total(&w).saturating_sub(room);
        if over > 0 && w[i] > min[i] {
            w[i] = w[i].saturating_sub(over).max(min[i]);
        }
    }
    for i in (1..w.len()).rev() {
        if total(&w) > room {
            w[i] = 0;
        }
    }
    if total(&w) > room {
        w[0] = room;
    }
    let mut spare = room.saturating_sub(total(&w));
    for i in 0..w.len() {
        if w[i] > 0 && w[i] < want[i] {
            let add = spare.min(want[i] - w[i]);
            w[i] += add;
            spare -= add;
        }
    }
    w
}

/// The start of `text` that fits in `width - 1` columns, then `…`.
fn cut(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(width + 2);
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push(ELLIPSIS);
    out
}

/// A line cut to at most `width` columns, its styles kept; when cut, the
/// last column is `…` in the style of the span it cut.
pub fn clip_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let Line {
        spans,
        style,
        alignment,
    } = line;
    let mut kept: Vec<Span<'static>> = Vec::with_capacity(spans.len());
    let mut used = 0;
    for span in spans {
        let w = span.content.width();
        if used + w < width {
            used += w;
            kept.push(span);
            continue;
        }
        // This span reaches the last column (more follows even when it
        // fits exactly, or the line would not be too wide): cut it there.
        kept.push(Span::styled(cut(&span.content, width - used), span.style));
        break;
    }
    let mut out = Line::from(kept).style(style);
    out.alignment = alignment;
    out
}

/// Columns `skip..skip + width` of a line, its styles kept: the part a
/// view scrolled sideways by `skip` shows, or one row of a wrapped line. A
/// wide character cut by either edge is left out.
pub fn slice_line(line: &Line<'_>, skip: usize, width: usize) -> Line<'static> {
    let end = skip.saturating_add(width);
    let mut col = 0;
    let mut spans: Vec<Span<'static>> = Vec::new();
    for span in &line.spans {
        let mut kept = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if col >= skip && col + w <= end {
                kept.push(c);
            }
            col += w;
        }
        if !kept.is_empty() {
            spans.push(Span::styled(kept, span.style));
        }
        if col >= end {
            break;
        }
    }
    Line::from(spans).style(line.style)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Style};

    #[test]
    fn short_text_is_untouched() {
        assert_eq!(clip("backend", 7), "backend");
        assert!(matches!(clip("backend", 8), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_ends_in_an_ellipsis_within_the_width() {
        assert_eq!(clip("reports.internal.example.com", 10), "reports.i…");
        assert_eq!(clip("abc", 1), "…");
        assert_eq!(clip("abc", 0), "");
        // Wide characters count two columns and are never split.
        assert_eq!(clip("日本語のホスト", 6), "日本…");
        assert_eq!(clip("日本語のホスト", 6).width(), 5);
    }

    #[test]
    fn an_id_cut_from_the_left_keeps_its_line_number() {
        let id = "/tmp/hopscope-ssh-tui-7v065P/conf.d/api.conf:9";
        assert_eq!(clip_start(id, 20), "…P/conf.d/api.conf:9");
        assert_eq!(clip_start(id, 20).width(), 20);
        assert_eq!(clip_start(id, 60), id);
        assert_eq!(clip_start(id, 1), "…");
    }

    #[test]
    fn a_path_is_cut_at_a_slash_from_the_left() {
        let id = "conf.d/api-gateway.conf:18";
        assert_eq!(clip_path(id, 40), id);
        assert_eq!(clip_path(id, 21), "…/api-gateway.conf:18");
        assert_eq!(path_tail_width(id), 21);
        assert_eq!(clip_path("/srv/a/conf.d/x.conf:1", 17), "…/conf.d/x.conf:1");
        assert_eq!(clip_path("/srv/a/conf.d/x.conf:1", 16), "…/x.conf:1");
        // Too narrow for the file name: cut inside it.
        assert_eq!(clip_path(id, 10), "…y.conf:18");
    }

    #[test]
    fn columns_shrink_and_drop_from_the_least_important() {
        let want = [29, 35, 36, 29];
        let min = [8, 16, 16, 14];
        // Everything fits whole.
        assert_eq!(by_priority(200, &want, &min), want);
        // The last shrinks first, then the one before it.
        assert_eq!(by_priority(120, &want, &min), [29, 35, 36, 17]);
        assert_eq!(by_priority(100, &want, &min), [29, 35, 19, 14]);
        // Too narrow for all at their least: the last goes, and what it
        // leaves goes back to the most important shrunk one.
        assert_eq!(by_priority(70, &want, &min), [29, 23, 16, 0]);
        // The first keeps its whole width while anything else can give.
        assert_eq!(by_priority(30, &want, &min), [29, 0, 0, 0]);
        assert_eq!(by_priority(20, &want, &min), [20, 0, 0, 0]);
    }

    #[test]
    fn a_line_keeps_its_styles_and_ends_in_an_ellipsis() {
        let red = Style::default().fg(Color::Red);
        let line = Line::from(vec![
            Span::raw("upstream "),
            Span::styled("backend-1.internal.example.com", red),
        ]);
        let cut = clip_line(line, 20);
        assert_eq!(cut.width(), 20);
        assert_eq!(cut.spans[0].content, "upstream ");
        assert_eq!(cut.spans[1].content, "backend-1.…");
        assert_eq!(cut.spans[1].style, red);
    }

    #[test]
    fn a_slice_keeps_the_columns_asked_for_and_their_styles() {
        let red = Style::default().fg(Color::Red);
        let line = Line::from(vec![
            Span::raw("proxy_pass "),
            Span::styled("https://a", red),
        ]);
        let s = slice_line(&line, 6, 8);
        assert_eq!(s.to_string(), "pass htt");
        assert_eq!(s.spans[1].style, red);
        assert_eq!(slice_line(&line, 100, 8).to_string(), "");
        // A wide character cut by the edge is left out, never split.
        let wide = Line::from("a日本");
        assert_eq!(slice_line(&wide, 0, 2).to_string(), "a");
        assert_eq!(slice_line(&wide, 2, 4).to_string(), "本");
    }

    #[test]
    fn a_span_that_ends_exactly_at_the_edge_is_marked_when_more_follows() {
        let line = Line::from(vec![Span::raw("abcd"), Span::raw("efgh")]);
        assert_eq!(clip_line(line.clone(), 4).to_string(), "abc…");
        assert_eq!(clip_line(line.clone(), 8).to_string(), "abcdefgh");
        assert_eq!(clip_line(line, 5).to_string(), "abcd…");
    }
}
