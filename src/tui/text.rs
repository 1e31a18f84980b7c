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

/// Orders text as people count: runs of digits compare by their value, so
/// `site2` comes before `site10` and `a.conf:9` before `a.conf:18`; the
/// rest compares as text, ignoring case first.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (p, q) = (&x[..n], &y[..m]);
                // Leading zeros do not change the value.
                let trim = |s: &'_ [u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
                let (p, q) = (&p[trim(p)..], &q[trim(q)..]);
                let order = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
                if order != Ordering::Equal {
                    return order;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                let order = c.to_ascii_lowercase().cmp(&d.to_ascii_lowercase());
                if order != Ordering::Equal {
                    return order;
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

#[cfg(test)]
mod natural_tests {
    use super::natural_cmp;

    #[test]
    fn numbers_in_names_sort_by_value() {
        let mut names = vec![
            "site100.conf:2",
            "site10.conf:2",
            "Site2.conf:30",
            "site1.conf:9",
            "site1.conf:18",
            "site02.conf:1",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "site1.conf:9",
                "site1.conf:18",
                "site02.conf:1",
                "Site2.conf:30",
                "site10.conf:2",
                "site100.conf:2"
            ]
        );
    }
}
