//! Findings for people: diagnostics in the style of rustc and ruff.
//!
//! ```text
//! high[sni-off]: no SNI is sent to backend: proxy_ssl_server_name is off (default)
//!   --> conf.d/app.conf:12:9
//!    |
//! 12 |         proxy_pass https://backend/api/;
//!    |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
//!    |
//!    = help: send the host name as SNI [safe fix]
//!            proxy_ssl_server_name on;
//! ```
//!
//! The output depends only on the model and the findings (no clock, no
//! absolute paths beyond the files' display names), so it can be compared
//! byte for byte.

use std::fmt::Write;

use super::snippet::{digits, snippet, spaces, SPACES};
use crate::diagnostic::{Applicability, Change, Finding, Fix, FixValue, Severity};
use crate::fix::plan::push_quoted;
use crate::model::Model;
use crate::visible::visible;

/// ANSI styling, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint {
    pub color: bool,
}

const RED: &str = "1;31";
const YELLOW: &str = "1;33";
const CYAN: &str = "1;36";
pub(super) const BLUE: &str = "1;34";
const GREEN: &str = "1;32";
const BOLD: &str = "1";

impl Paint {
    pub fn new(color: bool) -> Paint {
        Paint { color }
    }

    pub(super) fn paint<'a>(self, text: &'a str, code: &str) -> std::borrow::Cow<'a, str> {
        if self.color && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m").into()
        } else {
            text.into()
        }
    }

    /// Starts text painted with `code` (nothing without colour); the
    /// caller writes the text, which must not be empty, then [`Paint::close`].
    pub(super) fn open(self, out: &mut String, code: &str) {
        if self.color {
            out.push_str("\x1b[");
            out.push_str(code);
            out.push('m');
        }
    }

    pub(super) fn close(self, out: &mut String) {
        if self.color {
            out.push_str("\x1b[0m");
        }
    }

    /// The colour of a severity: error and high red, medium yellow, low
    /// cyan, info blue.
    pub fn severity_code(severity: Severity) -> &'static str {
        match severity {
            Severity::Error | Severity::High => RED,
            Severity::Medium => YELLOW,
            Severity::Low => CYAN,
            Severity::Info => BLUE,
        }
    }
}

/// The whole report: load errors, one diagnostic per unsuppressed finding,
/// and a summary line.
pub fn render(model: &Model, findings: &[Finding], paint: Paint) -> String {
    let mut out = Vec::new();
    // Writing to a `Vec` does not fail, and every part is a `String`.
    let _ = write(model, findings, paint, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Diagnostics rendered per chunk of findings.
const FINDINGS_PER_CHUNK: usize = 256;

/// Writes the report [`render`] gives, the diagnostics rendered in chunks
/// on every core, without holding the whole report in memory.
pub fn write<W: std::io::Write + ?Sized>(
    model: &Model,
    findings: &[Finding],
    paint: Paint,
    out: &mut W,
) -> std::io::Result<()> {
    let mut head = String::new();
    for e in model.errors() {
        let e = e.to_string();
        let _ = writeln!(head, "{}: {}", paint.paint("error", RED), visible(&e));
    }
    if model.errors().next().is_some() {
        head.push('\n');
    }
    out.write_all(head.as_bytes())?;
    super::chunks::write_chunked(out, findings.len(), FINDINGS_PER_CHUNK, |range, buf| {
        // One text per chunk, not one per finding.
        let mut text = String::new();
        for f in findings[range].iter().filter(|f| f.is_active()) {
            diagnostic_into(&mut text, model, f, paint);
            text.push('\n');
        }
        buf.extend_from_slice(text.as_bytes());
    })?;
    let mut tail = format!(
        "defaults: {}\n",
        super::labels::version(&model.version_choice)
    );
    tail.push_str(&summary(model, findings, paint));
    tail.push('\n');
    out.write_all(tail.as_bytes())
}

/// The closing line: counts by severity, hops, suppressed findings.
pub fn summary(model: &Model, findings: &[Finding], paint: Paint) -> String {
    let active: Vec<&Finding> = findings.iter().filter(|f| f.is_active()).collect();
    let suppressed = findings.iter().filter(|f| f.suppressed.is_some()).count();
    let baselined = findings.len() - active.len() - suppressed;
    let hops = model.hops.len();
    let hops = format!("{hops} hop{}", if hops == 1 { "" } else { "s" });
    let mut parts = Vec::new();
    for sev in Severity::ALL {
        let n = active.iter().filter(|f| f.severity == sev).count();
        if n > 0 {
            let word = match (sev, n) {
                (Severity::Error, 1) => "error".to_string(),
                (Severity::Error, _) => "errors".to_string(),
                _ => sev.as_str().to_string(),
            };
            parts.push(
                paint
                    .paint(&format!("{n} {word}"), Paint::severity_code(sev))
                    .into_owned(),
            );
        }
    }
    let mut line = if parts.is_empty() {
        format!("no findings in {hops}")
    } else {
        format!("{} in {hops}", parts.join(", "))
    };
    if suppressed > 0 {
        let _ = write!(line, "; {suppressed} suppressed");
    }
    if baselined > 0 {
        let _ = write!(line, "; {baselined} in the baseline");
    }
    let errors = model.errors().count();
    if errors > 0 {
        let _ = write!(
            line,
            "; {errors} load error{}",
            if errors == 1 { "" } else { "s" }
        );
    }
    if !active.is_empty() {
        line.push_str("; run `hopscope explain RULE` to learn more");
    }
    line
}

/// One finding: header, primary snippet, notes with their snippets, help.
pub fn diagnostic(model: &Model, f: &Finding, paint: Paint) -> String {
    let mut out = String::new();
    diagnostic_into(&mut out, model, f, paint);
    out
}

/// [`diagnostic`], appended to `out`.
fn diagnostic_into(out: &mut String, model: &Model, f: &Finding, paint: Paint) {
    let lines = std::iter::once(f.dir)
        .chain(f.related.iter().map(|r| r.dir))
        .map(|d| model.config.file(d.file).line_of(model.dir(d).range.start));
    let width = digits(lines.max().unwrap_or(1));
    let pad = &SPACES[..width.min(SPACES.len())];
    let gutter = paint.paint("|", BLUE);
    let sev = Paint::severity_code(f.severity);

    // The header's two parts are never empty, so each is painted.
    paint.open(out, sev);
    let _ = write!(out, "{}[{}]", f.severity, f.rule);
    paint.close(out);
    paint.open(out, BOLD);
    out.push_str(": ");
    out.push_str(&visible(&f.message));
    paint.close(out);
    out.push('\n');
    snippet(out, model, f.dir, width, '^', sev, paint);
    if let Some(e) = &f.evidence {
        let _ = writeln!(
            out,
            "{pad} {} {}",
            paint.paint("=", BLUE),
            visible(&e.line())
        );
    }
    if let Some(h) = f.hop {
        include_path(out, model, h, pad, paint);
    }
    for r in &f.related {
        let _ = writeln!(out, "{pad} {gutter}");
        let _ = writeln!(
            out,
            "{}: {}",
            paint.paint("note", GREEN),
            paint.paint(&visible(&r.label), BOLD)
        );
        snippet(out, model, r.dir, width, '-', BLUE, paint);
    }
    if f.baseline == Some(crate::diagnostic::BaselineState::New) {
        let _ = writeln!(out, "{pad} {gutter}");
        let _ = writeln!(
            out,
            "{pad} = {}: new: not in the baseline",
            paint.paint("note", GREEN)
        );
    }
    if let Some(fix) = &f.fix {
        let _ = writeln!(out, "{pad} {gutter}");
        help(out, fix, pad, paint);
    }
}

/// For a pass directive reached through several include paths: which
/// path this finding is about (its hop id and include chain).
fn include_path(out: &mut String, model: &Model, hop: usize, pad: &str, paint: Paint) {
    let others = model.other_paths(hop).len();
    if others == 0 {
        return;
    }
    let h = &model.hops[hop];
    let via = crate::report::labels::via(model, h).unwrap_or_default();
    let _ = writeln!(out, "{pad} {}", paint.paint("|", BLUE));
    let _ = writeln!(
        out,
        "{pad} = {}: hop {} (via {}); this line is reached through {} include paths",
        paint.paint("note", GREEN),
        visible(&h.id),
        visible(&via),
        others + 1
    );
}

/// `= help: summary`, then the directive lines the fix would write.
fn help(out: &mut String, fix: &Fix, pad: &str, paint: Paint) {
    let tag = match fix.applicability {
        Applicability::Safe => "safe fix",
        Applicability::NeedsReview => "fix needs review",
        Applicability::DisplayOnly => "manual fix",
    };
    let _ = writeln!(
        out,
        "{pad} = {}: {} [{tag}]",
        paint.paint("help", CYAN),
        visible(&fix.summary)
    );
    let has_literal = fix.changes.iter().any(|c| {
        matches!(
            c,
            Change::Set {
                value: FixValue::Literal(_),
                ..
            } | Change::SetHeader {
                value: FixValue::Literal(_),
                ..
            }
        )
    });
    if !has_literal {
        return;
    }
    let indent = pad.len() + " = help: ".len();
    let mut line = String::new();
    for c in &fix.changes {
        line.clear();
        push_directive_line(&mut line, c);
        spaces(out, indent);
        out.push_str(&paint.paint(&visible(&line), GREEN));
        out.push('\n');
    }
}

/// The line a change writes; a value a person must supply shows as `<key>`.
pub fn directive_line(c: &Change) -> String {
    let mut out = String::new();
    push_directive_line(&mut out, c);
    out
}

/// [`directive_line`], appended to `out`.
fn push_directive_line(out: &mut String, c: &Change) {
    let (directive, header, value) = match c {
        Change::Set { directive, value } => (directive, None, value),
        Change::SetHeader {
            directive,
            header,
            value,
        } => (directive, Some(header), value),
    };
    out.push_str(directive);
    if let Some(h) = header {
        out.push(' ');
        out.push_str(h);
    }
    match value {
        // As the fix writes it: a rule's literal in a `Set` is a list of
        // parameters.
        FixValue::Literal(s) if header.is_none() => {
            out.push(' ');
            for (k, p) in s.split_whitespace().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                push_quoted(out, p);
            }
        }
        FixValue::Literal(s) => {
            out.push(' ');
            push_quoted(out, s);
        }
        FixValue::Input { key, .. } => {
            out.push_str(" <");
            out.push_str(key);
            out.push('>');
        }
    }
    out.push(';');
}

/// `id  severity  summary`, one rule a line, for `explain --list`.
pub fn rule_list(rules: &[&crate::rules::Rule]) -> String {
    let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in rules {
        let _ = writeln!(
            out,
            "{:<w$}  {:<6}  {}",
            r.id,
            r.severity.as_str(),
            r.summary
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Fix;
    use crate::test_support::{dir, hop_finding, model};

    const CONF: &str = "\
http {
    upstream backend { server 10.0.0.5:8443; }
    proxy_ssl_verify off;
    server {
        listen 443 ssl;
        server_name app.example.com;
        location /api/ {
            proxy_pass https://backend/api/;
        }
    }
}
";

    #[test]
    fn a_diagnostic_reads_like_rustc() {
        let m = model(&[("nginx.conf", CONF)]);
        let f = hop_finding(&m, "no SNI is sent to backend")
            .with_related(
                dir(&m, "nginx.conf", "proxy_ssl_verify"),
                "proxy_ssl_verify off is set here",
            )
            .with_fix(Some(Fix::new(
                "send the host name as SNI",
                Applicability::Safe,
                vec![Change::Set {
                    directive: "proxy_ssl_server_name".into(),
                    value: FixValue::literal("on"),
                }],
            )));
        let expected = "\
high[test-rule]: no SNI is sent to backend
 --> nginx.conf:8:13
  |
8 |             proxy_pass https://backend/api/;
  |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  |
note: proxy_ssl_verify off is set here
 --> nginx.conf:3:5
  |
3 |     proxy_ssl_verify off;
  |     ---------------------
  |
  = help: send the host name as SNI [safe fix]
          proxy_ssl_server_name on;
";
        assert_eq!(diagnostic(&m, &f, Paint::new(false)), expected);
    }

    #[test]
    fn block_directives_show_their_first_line_and_tabs_align() {
        let m = model(&[("nginx.conf", "http {\n\tupstream  backend {\n\t\tserver 10.0.0.5;\n\t}\n\tserver { location / { proxy_pass https://backend; } }\n}\n")]);
        let f = hop_finding(&m, "m").with_related(dir(&m, "nginx.conf", "upstream"), "the group");
        let out = diagnostic(&m, &f, Paint::new(false));
        assert!(
            out.contains("2 |     upstream  backend {\n  |     -------------------\n"),
            "{out}"
        );
        assert!(out.contains(" --> nginx.conf:5:24\n"), "{out}");
    }

    #[test]
    fn colour_only_when_asked() {
        let m = model(&[("nginx.conf", CONF)]);
        let f = hop_finding(&m, "m");
        assert!(!diagnostic(&m, &f, Paint::new(false)).contains('\x1b'));
        let coloured = diagnostic(&m, &f, Paint::new(true));
        assert!(
            coloured.starts_with("\x1b[1;31mhigh[test-rule]\x1b[0m"),
            "{coloured:?}"
        );
    }

    #[test]
    fn the_summary_counts_and_points_to_explain() {
        let m = model(&[("nginx.conf", CONF)]);
        let mut quiet = hop_finding(&m, "m");
        quiet.suppressed = Some("known".into());
        let mut medium = hop_finding(&m, "m");
        medium.severity = Severity::Medium;
        let all = [hop_finding(&m, "m"), hop_finding(&m, "m"), medium, quiet];
        assert_eq!(
            summary(&m, &all, Paint::new(false)),
            "2 high, 1 medium in 1 hop; 1 suppressed; run `hopscope explain RULE` to learn more"
        );
        assert_eq!(summary(&m, &[], Paint::new(false)), "no findings in 1 hop");
        let out = render(&m, &all, Paint::new(false));
        assert_eq!(
            out.matches("high[test-rule]").count(),
            2,
            "suppressed findings are not shown"
        );
    }

    #[test]
    fn load_errors_come_first() {
        let m = model(&[("nginx.conf", "http {\n    include missing.conf;\n}\n")]);
        let out = render(&m, &[], Paint::new(false));
        assert!(out.starts_with("error: nginx.conf:2: "), "{out}");
        assert!(
            out.ends_with("no findings in 0 hops; 1 load error\n"),
            "{out}"
        );
    }

    #[test]
    fn fix_lines_quote_values_and_name_inputs() {
        let c = Change::SetHeader {
            directive: "proxy_set_header".into(),
            header: "Host".into(),
            value: FixValue::literal("a b"),
        };
        assert_eq!(directive_line(&c), "proxy_set_header Host \"a b\";");
        let c = Change::Set {
            directive: "proxy_ssl_name".into(),
            value: FixValue::Input {
                key: "sni-name",
                prompt: "the name".into(),
                proposal: None,
            },
        };
        assert_eq!(directive_line(&c), "proxy_ssl_name <sni-name>;");
        let set = |v: &str| Change::Set {
            directive: "proxy_ssl_protocols".into(),
            value: FixValue::literal(v),
        };
        assert_eq!(
            directive_line(&set(" TLSv1.2\tTLSv1.3 ")),
            "proxy_ssl_protocols TLSv1.2 TLSv1.3;"
        );
        // A literal of no parameters keeps the blank before the `;`.
        assert_eq!(directive_line(&set("")), "proxy_ssl_protocols ;");
    }
}
