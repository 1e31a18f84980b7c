//! A hop in full: its pass, SNI, verify name, Host, findings, probe and
//! every effective setting with where it comes from.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::diagnostic::Applicability;
use crate::model::{Origin, SslDirective};
use crate::report::labels;
use crate::rules;
use crate::tui::action::Screen;
use crate::tui::app::{App, CheckState, ProbeView};
use crate::tui::clip::clip_line;
use crate::tui::text::wrap;
use crate::tui::theme::Theme;
use crate::tui::ui::Ui;
use crate::tui::widgets::*;

/// A selectable line of the hop detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetailItem {
    Pass,
    Setting(usize),
    Finding(usize),
}

impl App {
    /// The selectable lines of the detail of a hop.
    pub fn detail_items(&self, hop: usize) -> Vec<DetailItem> {
        // In the order the hop view shows them: findings first.
        let mut items = vec![DetailItem::Pass];
        items.extend(self.by_hop[hop].iter().map(|&f| DetailItem::Finding(f)));
        items.extend((0..self.model.hops[hop].settings.len()).map(DetailItem::Setting));
        items
    }

    pub fn selected_detail(&self) -> Option<DetailItem> {
        let hop = self.selected_hop()?;
        self.detail_items(hop).get(self.detail_cursor).copied()
    }

    /// The finding a command about "the selected finding" refers to.
    pub(crate) fn selected_finding(&self) -> Option<usize> {
        match self.screen() {
            Screen::Detail => match self.selected_detail()? {
                DetailItem::Finding(f) => Some(f),
                _ => self
                    .selected_hop()
                    .and_then(|h| self.by_hop[h].first().copied()),
            },
            Screen::Fix => self.fix.items.get(self.fix.cursor).map(|i| i.finding),
            _ => None,
        }
    }
}

/// Lines describing probe results, peer by peer.
pub fn probe_lines(view: &ProbeView, t: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let results = match view {
        ProbeView::Running => {
            lines.push(Line::from(Span::styled("probing…", t.dim)));
            return lines;
        }
        ProbeView::Done(r) => r,
    };
    for r in results {
        let (verdict, style) = if !r.probeable {
            ("n/a ", t.dim)
        } else if r.ok() {
            ("ok  ", t.ok)
        } else {
            ("FAIL", t.severity_high)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{verdict} "), style),
            Span::styled(v(r.peer_label()), t.base),
            Span::styled(v(format!("  {}, {} ms", r.sni_label(), r.millis)), t.dim),
        ]));
        let mut detail = Vec::new();
        if let Some(e) = &r.error {
            detail.push(e.clone());
        }
        if r.connected {
            detail.push(format!(
                "{} {}",
                r.protocol.as_deref().unwrap_or(""),
                r.cipher.as_deref().unwrap_or("")
            ));
        }
        if let Some(c) = r.chain.first() {
            let exp = if c.expired { " — EXPIRED" } else { "" };
            detail.push(format!(
                "certificate {} ({}) until {}{exp}",
                c.subject,
                c.sans.join(" "),
                c.not_after
            ));
        }
        if let (Some(n), Some(m)) = (&r.verify_name, r.name_matches) {
            detail.push(format!(
                "verify name {n} {}",
                if m { "matches" } else { "does NOT match" }
            ));
        }
        if let Some(v) = &r.verification {
            let state = if v.enabled { "on" } else { "off" };
            let pass = if v.would_pass {
                "would pass"
            } else {
                "would fail"
            };
            let why = if v.problems.is_empty() {
                String::new()
            } else {
                format!(": {}", v.problems.join("; "))
            };
            detail.push(format!("verification ({state} here) {pass}{why}"));
        }
        for n in &r.notes {
            detail.push(format!("note: {n}"));
        }
        for d in detail {
            for w in wrap(&d, width.saturating_sub(6)) {
                lines.push(Line::from(vec![
                    Span::raw("      "),
                    Span::styled(w, t.dim),
                ]));
            }
        }
    }
    lines
}

/// The detail of a hop as lines, and the line of each selectable item.
pub fn detail_lines(
    app: &App,
    h: usize,
    t: &Theme,
    width: usize,
) -> (Vec<Line<'static>>, Vec<usize>) {
    let m = &app.model;
    let hop = &m.hops[h];
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut item_starts: Vec<usize> = Vec::new();
    item_starts.push(lines.len());
    lines.push(Line::from(vec![
        Span::styled(
            v(format!(
                "{} {}",
                hop.module.pass_directive(),
                hop.target.raw
            )),
            t.title,
        ),
        Span::styled(v(format!("  {}:{}", hop.file, hop.line)), t.dim),
    ]));
    let mut place_spans = vec![Span::styled(v(format!("{} ", hop.subsystem())), t.dim)];
    if !hop.server_names.is_empty() {
        place_spans.push(Span::styled(
            v(format!("server {} ", hop.server_names.join(" "))),
            t.base,
        ));
    }
    if !hop.listen.is_empty() {
        place_spans.push(Span::styled(
            v(format!("(listen {}) ", hop.listen.join(", "))),
            t.dim,
        ));
    }
    if !hop.locations.is_empty() {
        place_spans.push(Span::styled(
            v(format!("› {}", hop.locations.join(" › "))),
            t.base,
        ));
    }
    lines.push(Line::from(place_spans));
    if let Some(via) = labels::via(m, hop) {
        lines.push(Line::from(vec![
            Span::styled("via ", t.dim),
            Span::styled(v(via), t.base),
        ]));
    }
    if let Some(u) = hop.upstream {
        let u = &m.upstreams[u];
        lines.push(Line::from(vec![
            Span::styled(v(format!("upstream {} ", u.name)), t.base),
            Span::styled(v(format!("({}:{}) ", u.file, u.line)), t.dim),
            Span::styled(v(u.servers.join(", ")), t.base),
        ]));
    }
    // A pass built from variables: when it opens TLS, and its values.
    if let Some(when) = labels::tls_when(hop) {
        for (i, w) in wrap(&when, width.saturating_sub(10))
            .into_iter()
            .enumerate()
        {
            let head = if i == 0 { "TLS     " } else { "        " };
            lines.push(Line::from(vec![
                Span::styled(head, t.header),
                Span::styled(w, t.base),
            ]));
        }
    }
    for variant in &hop.variants {
        for (i, w) in wrap(&labels::variant(variant), width.saturating_sub(10))
            .into_iter()
            .enumerate()
        {
            let head = if i == 0 { "value   " } else { "        " };
            lines.push(Line::from(vec![
                Span::styled(head, t.header),
                Span::styled(w, t.dim),
            ]));
        }
    }
    lines.push(Line::default());
    // The name in the colour of what it is for the target, and that in
    // words: the legend of the list's SNI colours.
    let kind = app
        .sni_kinds
        .get(h)
        .copied()
        .unwrap_or(crate::model::SniKind::NotSent);
    lines.push(Line::from(vec![
        Span::styled("SNI     ", t.header),
        Span::styled(
            v(labels::sni(hop)),
            crate::tui::screens::list::sni_style(t, kind).add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("  ({})", kind.meaning()), t.dim),
    ]));
    for w in wrap(&hop.sni.why, width.saturating_sub(10)) {
        lines.push(Line::from(vec![
            Span::raw("        "),
            Span::styled(w, t.dim),
        ]));
    }
    let verify_on = hop.setting(SslDirective::Verify).is_some_and(|s| s.is_on());
    lines.push(Line::from(vec![
        Span::styled("verify  ", t.header),
        Span::styled(
            v(hop.verify_name.clone().unwrap_or_else(|| "-".into())),
            t.base,
        ),
        Span::styled(
            if verify_on {
                "  (certificate checked against this name)"
            } else {
                "  (verification off: not checked)"
            },
            t.dim,
        ),
    ]));
    if let Some(host) = &hop.host_header {
        let note = match &host.origin {
            Origin::Default => "  (nginx default)".to_string(),
            Origin::Explicit(p) => {
                let origin = labels::origin(m, hop, p, &m.block_label(p.ctx), false);
                format!("  ({origin})")
            }
        };
        let shown = if host.value == "$proxy_host" {
            format!("$proxy_host = {}", hop.proxy_host)
        } else {
            host.value.clone()
        };
        lines.push(Line::from(vec![
            Span::styled("Host    ", t.header),
            Span::styled(v(shown), t.base),
            Span::styled(v(note), t.dim),
        ]));
    }
    if let Some(why) = labels::files_not_checked(m, hop) {
        for (i, w) in wrap(&v(&why), width.saturating_sub(10))
            .into_iter()
            .enumerate()
        {
            lines.push(Line::from(vec![
                Span::styled(if i == 0 { "files   " } else { "        " }, t.header),
                Span::styled(w, t.dim),
            ]));
        }
    }
    match app.probes.get(&hop.id) {
        Some(view) => {
            lines.push(Line::from(Span::styled(
                "probe   (P probes again)",
                t.header,
            )));
            for l in probe_lines(view, t, width) {
                let mut spans = vec![Span::raw("  ")];
                spans.extend(l.spans);
                lines.push(Line::from(spans));
            }
        }
        None => lines.push(Line::from(vec![
            Span::styled("probe   ", t.header),
            Span::styled(
                match (&app.server, &app.exec) {
                    (Some(host), _) => format!(
                        "P: a handshake with each peer, as nginx would make it, from {host} over ssh"
                    ),
                    (None, Some(_)) => "P: a handshake with each peer, as nginx would make it, from this machine (not where --exec runs)".to_string(),
                    (None, None) => "P: a handshake with each peer, as nginx would make it".to_string(),
                },
                t.dim,
            ),
        ])),
    }
    lines.push(Line::default());
    let fs = &app.by_hop[h];
    lines.push(Line::from(match &app.check {
        CheckState::Checking => Span::styled(
            "Findings: being checked… (they show here once the rules have run)".to_string(),
            t.dim,
        ),
        CheckState::Failed(e) => {
            Span::styled(format!("Findings unknown: {}", v(e)), t.status_error)
        }
        CheckState::Ready if fs.is_empty() => Span::styled(
            "No findings: this hop is configured well.".to_string(),
            t.ok,
        ),
        CheckState::Ready => Span::styled(format!("Findings ({})", fs.len()), t.header),
    }));
    let selected = app.selected_detail();
    for &fi in fs {
        let finding = &app.findings[fi];
        item_starts.push(lines.len());
        let mut spans = vec![
            Span::styled(
                format!("{:<6}", badge(Some(finding.severity))),
                severity_style(t, finding.severity),
            ),
            Span::styled(format!("{} ", finding.rule), t.title),
        ];
        if finding.suppressed.is_some() {
            spans.push(Span::styled("(suppressed) ", t.dim));
        }
        lines.push(Line::from(spans));
        for w in wrap(&finding.message, width.saturating_sub(8)) {
            lines.push(Line::from(vec![
                Span::raw("      "),
                Span::styled(w, t.base),
            ]));
        }
        // What the hop's probe saw about this finding: one line.
        if let Some(e) = &finding.evidence {
            let line = Line::from(vec![Span::raw("      "), Span::styled(v(e.line()), t.dim)]);
            lines.push(clip_line(line, width));
        }
        if let Some(fix) = &finding.fix {
            let safety = match fix.applicability {
                Applicability::Safe => "",
                Applicability::NeedsReview => " (needs review)",
                Applicability::DisplayOnly => " (advice)",
            };
            let text = format!("{}{safety}", fix.summary);
            for (i, w) in wrap(&text, width.saturating_sub(13))
                .into_iter()
                .enumerate()
            {
                lines.push(Line::from(vec![
                    Span::raw("      "),
                    Span::styled(if i == 0 { "fix: " } else { "     " }, t.key),
                    Span::styled(w, t.base),
                ]));
            }
        }
        // The teaching text of the selected finding, inline.
        if selected == Some(DetailItem::Finding(fi)) {
            if let Some(rule) = rules::find(finding.rule) {
                for w in wrap(rule.doc.why.trim(), width.saturating_sub(8)) {
                    lines.push(Line::from(vec![
                        Span::raw("      "),
                        Span::styled(w, t.dim),
                    ]));
                }
                lines.push(Line::from(vec![
                    Span::raw("      "),
                    Span::styled("x: the whole lesson · f: fix it", t.key_desc),
                ]));
            }
        }
    }
    lines.push(Line::default());
    let name_w = hop
        .settings
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(20)
        + 2;
    let values: Vec<String> = hop
        .settings
        .iter()
        .map(|s| v(labels::value(s, hop.module)))
        .collect();
    // The value column is as wide as the longest value, leaving the origin
    // room; a value wider than that keeps its line, whole, and its origin
    // goes under the origin column on the next line.
    let room = width.saturating_sub(name_w + 24).max(16);
    let value_w = values
        .iter()
        .map(|v| v.width())
        .max()
        .unwrap_or(0)
        .clamp(5, room)
        + 1;
    lines.push(Line::from(vec![
        Span::styled(format!("{:<name_w$}", "effective setting"), t.header),
        Span::styled(pad("value", value_w), t.header),
        Span::styled("from", t.header),
    ]));
    for (s, value) in hop.settings.iter().zip(values) {
        item_starts.push(lines.len());
        let (style, from) = match &s.origin {
            Origin::Default => (t.default_value, format!("default (nginx {})", m.version)),
            Origin::Explicit(p) => (
                if s.inherited { t.inherited } else { t.explicit },
                labels::origin(m, hop, p, &m.block_label(p.ctx), s.inherited),
            ),
        };
        let name = Span::styled(format!("{:<name_w$}", s.name), style);
        // The origin wraps under its column rather than being cut.
        let from = wrap(
            &m.shown(&from),
            width.saturating_sub(name_w + value_w).max(10),
        );
        let indent = " ".repeat(name_w + value_w);
        let mut from = from.into_iter();
        if value.width() < value_w {
            lines.push(Line::from(vec![
                name,
                Span::styled(pad(&value, value_w), style),
                Span::styled(from.next().unwrap_or_default(), t.dim),
            ]));
        } else {
            lines.push(Line::from(vec![name, Span::styled(value, style)]));
        }
        for w in from {
            lines.push(Line::from(vec![
                Span::raw(indent.clone()),
                Span::styled(w, t.dim),
            ]));
        }
    }
    // From a dump, file names show relative to its main file's directory,
    // as the diff names them.
    let lines = lines
        .into_iter()
        .map(|mut l| {
            for span in &mut l.spans {
                if let std::borrow::Cow::Owned(text) = m.shown(&span.content) {
                    span.content = text.into();
                }
            }
            l
        })
        .collect();
    (lines, item_starts)
}

/// The lines `/` searches: the hop view's, as drawn full width.
pub fn search_lines(app: &App) -> Vec<String> {
    let Some(h) = app.selected_hop() else {
        return Vec::new();
    };
    let width = app.area.0.saturating_sub(2) as usize;
    let (lines, _) = detail_lines(app, h, &Theme::monochrome(), width);
    lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

/// `text` followed by spaces up to `width` columns.
pub(crate) fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect, h: usize, focus: bool) {
    let t = ui.theme;
    let width = r.width.saturating_sub(2) as usize;
    let (lines, item_starts) = detail_lines(app, h, t, width);
    let height = r.height.saturating_sub(2) as usize;
    let cursor_line = if focus {
        item_starts.get(app.detail_cursor).copied().unwrap_or(0)
    } else {
        0
    };
    let mut top = cursor_line.saturating_sub(height.saturating_sub(4).max(1));
    // The match of a search in sight, below the selected item's start.
    if let Some(found) = app.search_in(Screen::Detail).and_then(|s| s.current_line()) {
        if focus && found >= top + height {
            top = found + 1 - height;
        }
    }
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, l)| {
            let l = if focus {
                searched(app, ui, Screen::Detail, i, l)
            } else {
                l
            };
            let l = clip_line(l, width);
            if focus && i == cursor_line {
                l.patch_style(t.selection)
            } else {
                l
            }
        })
        .collect();
    let title = format!("Hop {}", app.model.shown(&app.model.hops[h].id));
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, focus))
            .style(t.base),
        r,
    );
}
