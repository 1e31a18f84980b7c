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
    /// Secondary prose (the model's reasons).
    Note,
    /// The title of a lesson.
    Title,
}

/// A piece of a line: prose, or code (written between backticks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub code: bool,
    pub text: String,
}

/// A line of pieces as plain text (the backticks gone).
pub fn plain(line: &[Piece]) -> String {
    line.iter().map(|p| p.text.as_str()).collect()
}

/// Word-wraps prose whose code is marked with backticks: the backticks
/// are taken out and their text marked as code, also when a code span is
/// broken over two lines. A lone backtick (no closing one) is kept as
/// written. Control characters show as visible escapes, line feeds break
/// lines, and the indent of a paragraph is kept on its wrapped lines.
pub fn wrap_marked(text: &str, width: usize) -> Vec<Vec<Piece>> {
    let text = crate::visible::visible_lines(text);
    let width = width.max(10);
    let mut out = Vec::new();
    for para in text.split('\n') {
        // Characters with whether each is code; spaces split words.
        let mut chars: Vec<(char, bool)> = Vec::new();
        let ticks = para.matches('`').count();
        let mut code = false;
        let mut seen = 0;
        for c in para.chars() {
            if c == '`' {
                seen += 1;
                // The last of an odd number of backticks stays literal.
                if !(ticks % 2 == 1 && seen == ticks) {
                    code = !code;
                    continue;
                }
            }
            chars.push((c, code));
        }
        let indent = chars.iter().take_while(|(c, _)| *c == ' ').count();
        let words: Vec<&[(char, bool)]> = chars[indent..]
            .split(|(c, _)| *c == ' ')
            .filter(|w| !w.is_empty())
            .collect();
        let mut line: Vec<(char, bool)> = vec![(' ', false); indent];
        let mut fresh = true;
        for w in words {
            if !fresh && line.len() + 1 + w.len() > width {
                out.push(pieces(&std::mem::take(&mut line)));
                line = vec![(' ', false); indent];
                fresh = true;
            }
            if !fresh {
                // A space inside a code span is code.
                let code = line.last().is_some_and(|c| c.1) && w[0].1;
                line.push((' ', code));
            }
            line.extend_from_slice(w);
            fresh = false;
        }
        out.push(pieces(&line));
    }
    out
}

/// Runs of characters of one kind.
fn pieces(line: &[(char, bool)]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for &(c, code) in line {
        match out.last_mut() {
            Some(p) if p.code == code => p.text.push(c),
            _ => out.push(Piece {
                code,
                text: c.to_string(),
            }),
        }
    }
    out
}

/// One piece of prose.
fn prose(text: String) -> Vec<Piece> {
    vec![Piece { code: false, text }]
}

/// The lines of a rule's lesson at a width (prose wrapped with its code
/// spans marked, code blocks kept).
pub fn explain_rows(rule: &rules::Rule, width: usize) -> Vec<(ExplainRow, Vec<Piece>)> {
    let mut rows = Vec::new();
    for raw in rule.explain().lines() {
        if let Some(h) = raw.strip_prefix("## ") {
            rows.push((ExplainRow::Heading, prose(h.to_string())));
        } else if raw.starts_with("    ")
            || raw.starts_with('\t')
            || raw.trim_start().starts_with('#') && raw.starts_with(' ')
        {
            rows.push((ExplainRow::Code, prose(raw.to_string())));
        } else {
            rows.extend(
                wrap_marked(raw, width)
                    .into_iter()
                    .map(|w| (ExplainRow::Text, w)),
            );
        }
    }
    rows
}

/// The lines of a tour step's lesson at a width: what nginx sends (from
/// the model), what happens, what hopscope finds on the hop, the tempting
/// wrong fix and the right one; with `inherited`, then the settings the
/// hop takes from other blocks and files (when no pane beside shows them).
pub fn tour_rows(
    step: &crate::tour::Step,
    lesson: &crate::tour::Lesson,
    width: usize,
    inherited: bool,
) -> Vec<(ExplainRow, Vec<Piece>)> {
    let mut rows: Vec<(ExplainRow, Vec<Piece>)> = wrap_marked(step.title, width)
        .into_iter()
        .map(|w| (ExplainRow::Title, w))
        .collect();
    let section = |rows: &mut Vec<_>, heading: &str, kind: ExplainRow, text: &str| {
        rows.push((ExplainRow::Text, Vec::new()));
        rows.push((ExplainRow::Heading, prose(heading.to_string())));
        rows.extend(wrap_marked(text, width).into_iter().map(|w| (kind, w)));
    };
    let sni = if lesson.sni == "none" {
        "none (no server name at all)".to_string()
    } else {
        format!("`{}`", lesson.sni.replace('`', "'"))
    };
    section(
        &mut rows,
        "On the wire",
        ExplainRow::Text,
        &format!("ClientHello SNI: {sni}"),
    );
    rows.extend(
        wrap_marked(&lesson.sni_why.replace('`', "'"), width)
            .into_iter()
            .map(|w| (ExplainRow::Note, w)),
    );
    section(&mut rows, "What happens", ExplainRow::Text, step.why);
    let found = if lesson.findings.is_empty() {
        "nothing: this hop is sound".to_string()
    } else {
        lesson
            .findings
            .iter()
            .map(|(rule, sev, _)| format!("`{rule}` ({sev})"))
            .collect::<Vec<_>>()
            .join(", ")
            + " · Enter opens the hop, x there explains a finding"
    };
    section(&mut rows, "hopscope finds", ExplainRow::Text, &found);
    if !step.wrong.is_empty() {
        section(
            &mut rows,
            "The tempting wrong fix",
            ExplainRow::Text,
            step.wrong,
        );
    }
    section(&mut rows, "The right fix", ExplainRow::Text, step.right);
    if inherited && !lesson.inherited.is_empty() {
        let text: Vec<String> = lesson
            .inherited
            .iter()
            .map(|(name, value, at)| format!("`{name} {}` from {at}", value.replace('`', "'")))
            .collect();
        section(
            &mut rows,
            "Set elsewhere, inherited by this hop",
            ExplainRow::Text,
            &text.join("\n"),
        );
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(lines: &[Vec<Piece>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.iter()
                    .map(|p| {
                        if p.code {
                            format!("[{}]", p.text)
                        } else {
                            p.text.clone()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn backticks_become_code_pieces() {
        let l = wrap_marked("turn `proxy_ssl_server_name on` here, or `x`.", 80);
        assert_eq!(show(&l), ["turn [proxy_ssl_server_name on] here, or [x]."]);
        assert!(!plain(&l[0]).contains('`'));
    }

    #[test]
    fn a_code_span_broken_over_lines_stays_code_on_both() {
        let l = wrap_marked("set `proxy_ssl_server_name on` now", 27);
        assert_eq!(show(&l), ["set [proxy_ssl_server_name]", "[on] now"]);
    }

    #[test]
    fn a_lone_backtick_is_kept() {
        let l = wrap_marked("a `b` c `d", 80);
        assert_eq!(show(&l), ["a [b] c `d"]);
    }

    #[test]
    fn control_characters_are_escaped_and_width_counts_no_backticks() {
        let l = wrap_marked("`a\u{1b}b`", 80);
        assert!(!plain(&l[0]).contains('\u{1b}'));
        // 10 columns of text in backticks fit 10 columns.
        let l = wrap_marked("`0123456789`", 10);
        assert_eq!(l.len(), 1);
    }
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
