//! Rendering: a pure function of the state. No I/O, no decisions.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::app::{App, DetailItem, ProbeView, Screen};
use super::clip::{clip, clip_line, clip_start, columns};
use super::highlight::Highlighter;
use super::keymap;
use super::theme::Theme;
use crate::diagnostic::{Applicability, Severity};
use crate::fix::Placement;
use crate::model::Origin;
use crate::rules;

/// What rendering needs besides the state.
pub struct Ui<'a> {
    pub theme: &'a Theme,
    pub highlighter: Option<&'a Highlighter>,
}

/// Smallest size the UI draws in; below it, a note says so.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 8;

pub fn severity_style(t: &Theme, s: Severity) -> Style {
    match s {
        Severity::Error => t.severity_error,
        Severity::High => t.severity_high,
        Severity::Medium => t.severity_medium,
        Severity::Low => t.severity_low,
        Severity::Info => t.severity_info,
    }
}

pub fn badge(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Error) => "ERROR",
        Some(Severity::High) => "HIGH",
        Some(Severity::Medium) => "MED",
        Some(Severity::Low) => "LOW",
        Some(Severity::Info) => "INFO",
        None => "ok",
    }
}

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

pub fn draw(f: &mut Frame, app: &App, ui: &Ui) {
    let area = f.area();
    let t = ui.theme;
    f.render_widget(Block::default().style(t.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "hopscope needs at least {MIN_WIDTH}×{MIN_HEIGHT} (now {}×{}); q quits",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg)
                .style(t.base)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [top, body, bottom] = frame_rows(area);
    header(f, app, ui, top);
    match app.screen() {
        Screen::List => {
            let (hops, side) = list_split(body);
            list(f, app, ui, hops);
            if let (Some(side), Some(h)) = (side, app.selected_hop()) {
                detail(f, app, ui, side, h, false);
            }
        }
        Screen::Detail => {
            if let Some(h) = app.selected_hop() {
                detail(f, app, ui, body, h, true);
            }
        }
        Screen::Source => source(f, app, ui, body),
        Screen::Fix => fix(f, app, ui, fix_split(body)),
        Screen::Diff => diff(f, app, ui, body),
        Screen::Explain => explain(f, app, ui, body),
        Screen::Rules => rules_list(f, app, ui, body),
        Screen::Errors => errors(f, app, ui, body),
    }
    footer(f, app, ui, bottom);
    if app.help {
        help(f, app, ui, area);
    }
    if app.confirm_save {
        confirm(f, app, ui, area);
    }
    if let Some(field) = &app.fix.field {
        // The prompt, wrapped, above a one-line input; the keys that
        // answer it on the frame, where they are never cut off.
        let width = area.width.saturating_sub(6) as usize;
        let prompt: Vec<Line> = wrap(&field.prompt, width)
            .into_iter()
            .take(3)
            .map(|w| Line::from(Span::styled(w, t.dim)))
            .collect();
        let h = (prompt.len() as u16 + 3).min(area.height);
        let r = Rect::new(
            area.x + 2,
            area.y + area.height.saturating_sub(h + 1),
            area.width.saturating_sub(4),
            h,
        );
        f.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border_focus)
            .title(Span::styled(" Type the value ", t.title))
            .title_bottom(Line::from(vec![
                Span::styled(" Enter", t.key),
                Span::styled(" set · ", t.key_desc),
                Span::styled("Esc", t.key),
                Span::styled(" cancel ", t.key_desc),
            ]));
        let inner = block.inner(r);
        f.render_widget(block, r);
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(0), Constraint::Length(1)])
            .split(inner);
        f.render_widget(Paragraph::new(prompt).style(t.base), rows[0]);
        let mut input = field.area.clone();
        input.set_style(t.base);
        input.set_cursor_style(t.selection);
        f.render_widget(&input, rows[1]);
    }
    scrub(f.buffer_mut());
}

/// The last guard between untrusted text and the terminal: the widgets
/// above show control characters as visible escapes; a cell that still
/// holds one (or a bidi override) shows `\u{fffd}` instead, so nothing
/// from a config, a dump or a server reaches the terminal as a control.
pub fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in &mut buf.content {
        if cell.symbol().chars().any(crate::visible::is_unsafe) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

/// Header, body and footer.
fn frame_rows(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The hop list, and beside it the selected hop on a wide screen.
fn list_split(body: Rect) -> (Rect, Option<Rect>) {
    if body.width >= 150 {
        let [hops, side] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        (hops, Some(side))
    } else {
        (body, None)
    }
}

/// The fix screen: the fixes above, what the selected one does below.
fn fix_split(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body)
}

/// The first of `len` rows a table `height` rows tall (frame included,
/// `head` header rows) shows so that row `cursor` is in sight: how the
/// list builds its window, and how ratatui scrolls a fresh table state.
fn window(cursor: usize, len: usize, height: u16, head: u16) -> (usize, usize) {
    let visible = (height.saturating_sub(2 + head) as usize).max(1);
    (cursor.saturating_sub(visible - 1).min(len), visible)
}

/// The row of the current screen's table under a mouse click at (x, y)
/// in a terminal of `area`: an index into the hops shown, the fixes or the
/// rules. None outside a table's rows.
pub fn row_at(app: &App, area: Rect, x: u16, y: u16) -> Option<usize> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT || app.help || app.confirm_save {
        return None;
    }
    let [_, body, _] = frame_rows(area);
    let (table, head, cursor, len) = match app.screen() {
        Screen::List => (list_split(body).0, 1, app.cursor, app.rows.len()),
        Screen::Fix => (fix_split(body)[0], 0, app.fix.cursor, app.fix.items.len()),
        Screen::Rules => (body, 0, app.rules_cursor, rules::registry().len()),
        _ => return None,
    };
    let inside = x > table.x && x + 1 < table.x + table.width;
    let first_row = table.y + 1 + head;
    if !inside || y < first_row || y + 1 >= table.y + table.height {
        return None;
    }
    let (first, visible) = window(cursor, len, table.height, head);
    let offset = (y - first_row) as usize;
    (offset < visible && first + offset < len).then_some(first + offset)
}

fn header(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    // Most telling first: a long path must not push the counts off an
    // 80-column screen.
    let mut spans = vec![
        Span::styled(" hopscope ", t.title.add_modifier(Modifier::BOLD)),
        Span::styled(format!("│ {} hops ", app.model.hops.len()), t.base),
    ];
    let counts = app.severity_counts();
    if counts.is_empty() {
        spans.push(Span::styled("│ no findings ", t.ok));
    } else {
        spans.push(Span::styled("│ ", t.base));
        for (s, n) in counts {
            spans.push(Span::styled(format!("{n} {s} "), severity_style(t, s)));
        }
    }
    // Load errors stay visible after the first key clears the status line.
    let errors = app.model.errors().count();
    if errors > 0 {
        spans.push(Span::styled(
            format!("│ {errors} load error(s): E "),
            t.status_error,
        ));
    }
    if app.screen() != Screen::List {
        spans.push(Span::styled(format!("│ {} ", app.screen().title()), t.dim));
    }
    spans.push(Span::styled(v(format!("│ {} ", app.label)), t.base));
    // The version goes whole or not at all; anything else too long ends
    // in `…`.
    let version = Span::styled(format!("│ nginx {} ", app.model.version), t.dim);
    let used: usize = spans.iter().map(Span::width).sum();
    if used + version.width() <= r.width as usize {
        spans.push(version);
    }
    let line = clip_line(Line::from(spans), r.width as usize);
    f.render_widget(Paragraph::new(line).style(t.base), r);
}

fn footer(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let line = if app.filtering {
        Line::from(vec![
            Span::styled("/", t.key),
            Span::styled(v(app.filter.clone()), t.base),
            Span::styled("▏ Enter keep · Esc clear", t.dim),
        ])
    } else if let Some(s) = &app.status {
        Line::from(Span::styled(
            v(format!(" {}", s.text)),
            if s.error {
                t.status_error
            } else {
                t.status_info
            },
        ))
    } else {
        // Whole hints only: on a narrow screen the last ones go first, but
        // help and quit always stay.
        let mut hints: Vec<_> = keymap::bindings(app.screen()).filter(|b| b.hint).collect();
        let width = |hints: &[&keymap::Binding]| -> usize {
            hints
                .iter()
                .map(|b| Line::from(format!(" {} {} ", b.keys, b.short)).width())
                .sum()
        };
        while width(&hints) > r.width as usize {
            match hints.iter().rposition(|b| !matches!(b.keys, "?" | "q")) {
                Some(i) => drop(hints.remove(i)),
                None => break,
            }
        }
        let mut spans = Vec::new();
        for b in hints {
            spans.push(Span::styled(format!(" {}", b.keys), t.key));
            spans.push(Span::styled(format!(" {} ", b.short), t.key_desc));
        }
        Line::from(spans)
    };
    // The filter being typed is left whole, so its cursor stays in sight.
    let line = if app.filtering {
        line
    } else {
        clip_line(line, r.width as usize)
    };
    f.render_widget(Paragraph::new(line).style(t.base), r);
}

fn framed<'a>(ui: &Ui, title: String, focus: bool) -> Block<'a> {
    let t = ui.theme;
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focus { t.border_focus } else { t.border })
        .title(Span::styled(format!(" {title} "), t.title))
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

fn list(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let wide = r.width >= 110;
    // The probe column appears once something has been probed.
    let probed = !app.probes.is_empty();
    // Only the rows that can show are built, so a frame costs the same for
    // ten hops or a hundred thousand. With a fresh TableState ratatui
    // scrolls just far enough to show the selection: the same window.
    let (first, visible) = window(app.cursor, app.rows.len(), r.height, 1);
    let shown = &app.rows[first..(first + visible).min(app.rows.len())];
    let id_width = app
        .rows
        .iter()
        .map(|&h| app.model.hops[h].id.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 34) as u16;
    let mut widths = vec![
        Constraint::Length(5),
        Constraint::Length(id_width),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ];
    let mut head = vec!["", "hop", "target", "SNI sent"];
    if wide {
        widths.push(Constraint::Fill(2));
        head.push("where");
    }
    if probed {
        widths.push(Constraint::Length(5));
        head.push("probe");
    }
    // The columns are laid out here, as the table would (inside the frame,
    // after the selection mark, one space apart), so that a value too long
    // for its column ends in `…` rather than being cut silently.
    const MARK: &str = "▶ ";
    let mark = if app.rows.is_empty() {
        0
    } else {
        Span::raw(MARK).width() as u16
    };
    let inner = r.width.saturating_sub(2).saturating_sub(mark);
    let columns = columns(&widths, inner);
    let fit = |i: usize, text: &str| clip(text, columns[i] as usize).into_owned();
    let rows: Vec<Row> = shown
        .iter()
        .map(|&h| {
            let hop = &app.model.hops[h];
            let sev = app.hop_severity[h];
            let sev_style = sev.map_or(t.ok, |s| severity_style(t, s));
            let sni_style = if hop.sni.sent { t.ok } else { t.none };
            let mut cells = vec![
                Cell::from(Span::styled(badge(sev), sev_style)),
                Cell::from(Span::styled(
                    clip_start(&hop.id, columns[1] as usize).into_owned(),
                    t.base,
                )),
                Cell::from(Span::styled(fit(2, &hop.target.raw), t.base)),
                Cell::from(Span::styled(fit(3, &hop.sni_label()), sni_style)),
            ];
            if wide {
                cells.push(Cell::from(Span::styled(fit(4, &hop.place(" › ")), t.dim)));
            }
            if probed {
                let v = app.probes.get(&hop.id).map_or("", |p| p.verdict());
                let style = match v {
                    "ok" => t.ok,
                    "fail" => t.severity_high,
                    _ => t.dim,
                };
                cells.push(Cell::from(Span::styled(v, style)));
            }
            Row::new(cells)
        })
        .collect();
    let widths: Vec<Constraint> = columns.iter().map(|&w| Constraint::Length(w)).collect();
    let header = Row::new(
        head.into_iter()
            .map(|h| Cell::from(Span::styled(h, t.header))),
    );
    let title = if app.filter.is_empty() {
        format!("Hops ({}) · sort: {}", app.rows.len(), app.sort.as_str())
    } else {
        format!(
            "Hops ({}/{}) · filter: {} · sort: {}",
            app.rows.len(),
            app.model.hops.len(),
            app.filter,
            app.sort.as_str()
        )
    };
    let table = Table::new(rows, widths)
        .header(header)
        .block(framed(ui, title, true))
        .row_highlight_style(t.selection)
        .highlight_symbol(MARK);
    let mut state =
        TableState::default().with_selected((!app.rows.is_empty()).then_some(app.cursor - first));
    f.render_stateful_widget(table, r, &mut state);
    if app.rows.is_empty() {
        let inner = Rect::new(r.x + 2, r.y + 2, r.width.saturating_sub(4), 1);
        let msg = if app.model.hops.is_empty() {
            "No upstream TLS hops in this configuration."
        } else {
            "No hop matches the filter (Esc clears it)."
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.dim)), inner);
    }
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
    let mut at: Vec<usize> = Vec::new();
    at.push(lines.len());
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
    let mut place_spans = vec![Span::styled(v(format!("{} ", hop.context())), t.dim)];
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
    if let Some(u) = hop.upstream {
        let u = &m.upstreams[u];
        lines.push(Line::from(vec![
            Span::styled(v(format!("upstream {} ", u.name)), t.base),
            Span::styled(v(format!("({}:{}) ", u.file, u.line)), t.dim),
            Span::styled(v(u.servers.join(", ")), t.base),
        ]));
    }
    lines.push(Line::default());
    let sni_style = if hop.sni.sent { t.ok } else { t.none };
    lines.push(Line::from(vec![
        Span::styled("SNI     ", t.header),
        Span::styled(v(hop.sni_label()), sni_style.add_modifier(Modifier::BOLD)),
    ]));
    for w in wrap(&hop.sni.why, width.saturating_sub(10)) {
        lines.push(Line::from(vec![
            Span::raw("        "),
            Span::styled(w, t.dim),
        ]));
    }
    let verify_on = hop.setting("_verify").is_some_and(|s| s.is_on());
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
            Origin::Explicit(p) => format!("  ({})", p.at()),
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
                match &app.server {
                    Some(host) => format!(
                        "P: a handshake with each peer, as nginx would make it, from this machine (not {host})"
                    ),
                    None => "P: a handshake with each peer, as nginx would make it".to_string(),
                },
                t.dim,
            ),
        ])),
    }
    lines.push(Line::default());
    let fs = &app.by_hop[h];
    lines.push(Line::from(Span::styled(
        if fs.is_empty() {
            "No findings: this hop is configured well.".to_string()
        } else {
            format!("Findings ({})", fs.len())
        },
        if fs.is_empty() { t.ok } else { t.header },
    )));
    let selected = app.selected_detail();
    for &fi in fs {
        let finding = &app.findings[fi];
        at.push(lines.len());
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
        .map(|s| v(s.value_label(hop.module)))
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
        at.push(lines.len());
        let (style, from) = match &s.origin {
            Origin::Default => (t.default_value, format!("default (nginx {})", m.version)),
            Origin::Explicit(p) if s.inherited => {
                (t.inherited, format!("{} ({}, inherited)", p.at(), p.level))
            }
            Origin::Explicit(p) => (t.explicit, format!("{} ({})", p.at(), p.level)),
        };
        let name = Span::styled(format!("{:<name_w$}", s.name), style);
        if value.width() < value_w {
            lines.push(Line::from(vec![
                name,
                Span::styled(pad(&value, value_w), style),
                Span::styled(v(from), t.dim),
            ]));
        } else {
            lines.push(Line::from(vec![name, Span::styled(value, style)]));
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(name_w + value_w)),
                Span::styled(v(from), t.dim),
            ]));
        }
    }
    (lines, at)
}

/// `text` followed by spaces up to `width` columns.
fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}

fn detail(f: &mut Frame, app: &App, ui: &Ui, r: Rect, h: usize, focus: bool) {
    let t = ui.theme;
    let width = r.width.saturating_sub(2) as usize;
    let (lines, at) = detail_lines(app, h, t, width);
    let height = r.height.saturating_sub(2) as usize;
    let cursor_line = if focus {
        at.get(app.detail_cursor).copied().unwrap_or(0)
    } else {
        0
    };
    let top = cursor_line.saturating_sub(height.saturating_sub(4).max(1));
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .skip(top)
        .take(height)
        .map(|(i, l)| {
            let l = clip_line(l, width);
            if focus && i == cursor_line {
                l.patch_style(t.selection)
            } else {
                l
            }
        })
        .collect();
    let title = format!("Hop {}", app.model.hops[h].id);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, focus))
            .style(t.base),
        r,
    );
}

fn source(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let Some((file, target)) = app.source else {
        return;
    };
    let src = app.model.config.file(file);
    let text = String::from_utf8_lossy(&src.text);
    let height = r.height.saturating_sub(2) as usize;
    let first = app.source_scroll.saturating_sub(3) as usize;
    let styled: Vec<Line<'static>> = match ui.highlighter {
        Some(hl) => hl.highlight_lines(&text, first, height, t),
        None => text
            .lines()
            .skip(first)
            .take(height)
            .map(|l| Line::from(l.to_string()))
            .collect(),
    };
    let gutter = src.line_count().to_string().len();
    let marks: Vec<(u32, &str)> = app
        .source_marks
        .iter()
        .filter(|(d, _)| d.file == file)
        .map(|(d, label)| (app.model.line_col(*d).0, label.as_str()))
        .collect();
    let lines: Vec<Line> = styled
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let n = (first + i + 1) as u32;
            let mark = marks.iter().find(|(line, _)| *line == n);
            let num_style = if n == target { t.selection } else { t.line_no };
            let mut spans = vec![
                Span::styled(format!("{n:>gutter$} "), num_style),
                Span::styled(if mark.is_some() { "● " } else { "  " }, t.mark),
            ];
            spans.extend(l.spans);
            if let Some((_, label)) = mark {
                spans.push(Span::styled(v(format!("   ◀ {label}")), t.mark));
            }
            Line::from(spans)
        })
        .collect();
    let title = format!("{} · n/N: the hop's inheritance chain", src.name);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}

fn fix(f: &mut Frame, app: &App, ui: &Ui, parts: [Rect; 2]) {
    let t = ui.theme;
    let checked = app.fix.items.iter().filter(|i| i.checked).count();
    // As wide as the longest hop id (nginx -T names are absolute paths),
    // up to 40 columns; a longer one is cut from the left, keeping its
    // file name and line.
    let id_width = app
        .fix
        .items
        .iter()
        .filter_map(|i| app.findings[i.finding].hop)
        .map(|h| app.model.hops[h].id.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 40) as u16;
    let widths = [
        Constraint::Length(3),
        Constraint::Length(5),
        Constraint::Length(20),
        Constraint::Length(id_width),
        Constraint::Min(10),
    ];
    let columns = columns(&widths, parts[0].width.saturating_sub(2));
    let rows: Vec<Row> = app
        .fix
        .items
        .iter()
        .map(|item| {
            let fd = &app.findings[item.finding];
            let hop = fd
                .hop
                .map(|h| clip_start(&app.model.hops[h].id, columns[3] as usize).into_owned())
                .unwrap_or_default();
            let summary = fd
                .fix
                .as_ref()
                .map(|x| clip(&x.summary, columns[4] as usize).into_owned())
                .unwrap_or_default();
            Row::new(vec![
                Cell::from(Span::styled(
                    if item.checked { "[x]" } else { "[ ]" },
                    t.key,
                )),
                Cell::from(Span::styled(
                    badge(Some(fd.severity)),
                    severity_style(t, fd.severity),
                )),
                Cell::from(Span::styled(fd.rule, t.title)),
                Cell::from(Span::styled(v(hop), t.dim)),
                Cell::from(Span::styled(summary, t.base)),
            ])
        })
        .collect();
    let table = Table::new(rows, columns.iter().map(|&w| Constraint::Length(w)))
        .block(framed(
            ui,
            format!("Fixes ({checked} selected of {})", app.fix.items.len()),
            true,
        ))
        .row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected(Some(app.fix.cursor));
    f.render_stateful_widget(table, parts[0], &mut state);

    let width = parts[1].width.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(item) = app.fix.items.get(app.fix.cursor) {
        let fd = &app.findings[item.finding];
        if let Some(fix) = &fd.fix {
            for w in wrap(&fix.summary, width) {
                lines.push(Line::from(Span::styled(w, t.title)));
            }
            if fix.applicability == Applicability::NeedsReview {
                for w in wrap(
                    "needs review: this can change behaviour beyond the finding (read the rule's fix safety with x)",
                    width,
                ) {
                    lines.push(Line::from(Span::styled(w, t.severity_medium)));
                }
            }
            let hop = fd.hop.map(|h| &app.model.hops[h]);
            let place = match item.placement {
                Placement::Hop => format!(
                    "goes into: the hop's own block{}",
                    hop.map(|h| format!(
                        " ({})",
                        h.locations
                            .last()
                            .cloned()
                            .unwrap_or_else(|| "server".into())
                    ))
                    .unwrap_or_default()
                ),
                Placement::Defining => {
                    "goes into: the block that sets the value today (p toggles)".to_string()
                }
            };
            for w in wrap(&place, width) {
                lines.push(Line::from(Span::styled(w, t.base)));
            }
            let mut missing = false;
            // Every value the fix asks a person for: typed, proposed, or missing.
            for c in &fix.changes {
                let (crate::diagnostic::Change::Set { value, .. }
                | crate::diagnostic::Change::SetHeader { value, .. }) = c;
                let crate::diagnostic::FixValue::Input {
                    key,
                    prompt,
                    proposal,
                } = value
                else {
                    continue;
                };
                let full = hop.map(|h| format!("{}:{key}", h.id)).unwrap_or_default();
                let typed = app
                    .fix
                    .typed
                    .iter()
                    .find(|(k, _)| *k == full)
                    .map(|(_, v)| v);
                let (label, style, text) = match (typed, proposal) {
                    (Some(v), _) => ("typed   ", t.explicit, v.clone()),
                    (None, Some(p)) => ("proposed", t.inherited, format!("{p}  (e to change)")),
                    (None, None) => {
                        missing = true;
                        ("missing ", t.status_error, "press e to type it".to_string())
                    }
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{label} "), style),
                    Span::styled(format!("{key}: "), t.key),
                    Span::styled(v(text), t.base),
                ]));
                for w in wrap(&format!("         {prompt}"), width) {
                    lines.push(Line::from(Span::styled(w, t.dim)));
                }
            }
            let impact = app.fix.impact.get(&(item.finding, item.placement));
            if missing {
                // Without the value there is no plan, so no impact to show.
                lines.push(Line::from(Span::styled(
                    "the hops it changes show once the value is typed",
                    t.dim,
                )));
            } else if let Some(impact) = impact {
                let text = format!("changes {} hop(s): {}", impact.len(), impact.join(", "));
                for w in wrap(&text, width) {
                    lines.push(Line::from(Span::styled(w, t.inherited)));
                }
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, "What this fix does".into(), false))
            .style(t.base),
        parts[1],
    );
}

pub fn diff_line_style(t: &Theme, line: &str) -> Style {
    if line.starts_with("+++") || line.starts_with("---") || line.starts_with("diff ") {
        t.diff_meta
    } else if line.starts_with('+') {
        t.diff_add
    } else if line.starts_with('-') {
        t.diff_del
    } else if line.starts_with("@@") {
        t.diff_hunk
    } else {
        t.base
    }
}

fn diff(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    // The what-if probe of the fix, when asked for, below the diff.
    let (r, probe_area) = match &app.fix_probe {
        Some(view) => {
            let width = r.width.saturating_sub(2) as usize;
            let lines = probe_lines(view, t, width);
            let h = (lines.len() as u16 + 2).min(r.height / 2).max(3);
            let parts = Layout::default()
                .direction(Direction::Vertical)
                .constraints([Constraint::Min(3), Constraint::Length(h)])
                .split(r);
            (parts[0], Some((parts[1], lines)))
        }
        None => (r, None),
    };
    let height = r.height.saturating_sub(2) as usize;
    let top = top_line(app.diff.scroll, app.diff.text.lines().count(), r);
    let lines: Vec<Line> = app
        .diff
        .text
        .lines()
        .skip(top)
        .take(height)
        .map(|l| Line::from(Span::styled(v(l), diff_line_style(t, l))))
        .collect();
    let title = format!(
        "Diff · {} file(s) · c copy · w save · P probe the fix",
        app.diff.changed.len()
    );
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
    if let Some((area, lines)) = probe_area {
        f.render_widget(
            Paragraph::new(lines)
                .block(framed(
                    ui,
                    "With the fix applied (nothing written)".into(),
                    false,
                ))
                .style(t.base),
            area,
        );
    }
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

/// The first line a framed view of `len` lines shows when scrolled to
/// `scroll`: never past the point where the last line is at the bottom
/// (the terminal may have grown since the scroll was set).
fn top_line(scroll: usize, len: usize, r: Rect) -> usize {
    scroll.min(len.saturating_sub(r.height.saturating_sub(2) as usize))
}

fn explain(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let Some(rule) = app.explain_rule.and_then(rules::find) else {
        return;
    };
    let width = r.width.saturating_sub(2) as usize;
    let rows = explain_rows(rule, width);
    let top = top_line(app.scroll, rows.len(), r);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(top)
        .map(|(kind, text)| {
            let style = match kind {
                ExplainRow::Heading => t.header,
                ExplainRow::Code => t.syntax_directive,
                ExplainRow::Text => t.base,
            };
            Line::from(Span::styled(v(text), style))
        })
        .collect();
    let title = format!("{} ({})", rule.id, rule.severity);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}

fn rules_list(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let rows: Vec<Row> = rules::registry()
        .iter()
        .map(|rule| {
            Row::new(vec![
                Cell::from(Span::styled(rule.id, t.title)),
                Cell::from(Span::styled(
                    rule.severity.as_str(),
                    severity_style(t, rule.severity),
                )),
                Cell::from(Span::styled(rule.summary, t.base)),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(22),
            Constraint::Length(7),
            Constraint::Min(10),
        ],
    )
    .block(framed(ui, "Rules · Enter explains".into(), true))
    .row_highlight_style(t.selection);
    let mut state = TableState::default().with_selected(Some(app.rules_cursor));
    f.render_stateful_widget(table, r, &mut state);
}

fn errors(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let top = top_line(app.scroll, app.model.errors().count(), r);
    let lines: Vec<Line> = app
        .model
        .errors()
        .map(|e| Line::from(Span::styled(v(e.to_string()), t.status_error)))
        .skip(top)
        .collect();
    let lines = if lines.is_empty() {
        vec![Line::from(Span::styled("No load errors.", t.ok))]
    } else {
        lines
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, "Load errors".into(), true))
            .style(t.base),
        r,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn help(f: &mut Frame, app: &App, ui: &Ui, area: Rect) {
    let t = ui.theme;
    let binds: Vec<_> = keymap::bindings(app.screen()).collect();
    let r = centered(area, 76, binds.len() as u16 + 4);
    f.render_widget(Clear, r);
    let lines: Vec<Line> = binds
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:>9}  ", b.keys), t.key),
                Span::styled(b.desc, t.key_desc),
            ])
        })
        .collect();
    let title = format!("Keys: {} (any key closes)", app.screen().title());
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, title, true))
            .style(t.base),
        r,
    );
}

fn confirm(f: &mut Frame, app: &App, ui: &Ui, area: Rect) {
    let t = ui.theme;
    let files: Vec<String> = app
        .diff
        .changed
        .iter()
        .map(|(id, _)| app.model.config.file(*id).name.clone())
        .collect();
    let width = 64.min(area.width).saturating_sub(2) as usize;
    let (question, how) = match &app.server {
        Some(host) => (
            format!("Write {} file(s) on {host}?", files.len()),
            "On the server: a backup of each (FILE.hopscope.bak), then nginx -t; \
             if it fails, every file is put back. nginx is not reloaded.",
        ),
        None => (
            format!("Write {} file(s)?", files.len()),
            "A backup of each is kept (FILE.hopscope.bak).",
        ),
    };
    let mut lines = vec![Line::from(Span::styled(v(question), t.title))];
    for w in wrap(&files.join(", "), width) {
        lines.push(Line::from(Span::styled(w, t.base)));
    }
    for w in wrap(how, width) {
        lines.push(Line::from(Span::styled(w, t.dim)));
    }
    // The answer keys on their own line: never cut off.
    lines.push(Line::from(vec![
        Span::styled("y", t.key),
        Span::styled(" write · ", t.key_desc),
        Span::styled("any other key", t.key),
        Span::styled(" cancel", t.key_desc),
    ]));
    let r = centered(area, 64, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(framed(ui, "Save".into(), true))
            .style(t.base),
        r,
    );
}

/// Untrusted text for a span: control characters as visible escapes.
fn v(text: impl AsRef<str>) -> String {
    crate::visible::visible(text.as_ref()).into_owned()
}
