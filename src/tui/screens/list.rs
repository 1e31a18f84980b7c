//! The hop list: one row per hop, filtered and sorted.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use crate::model::SniKind;
use crate::report::labels;
use crate::rules;
use crate::tui::action::Screen;
use crate::tui::app::{App, CheckState};
use crate::tui::clip::{by_priority, clip, clip_line, clip_path, clip_start, path_tail_width};
use crate::tui::text::natural_cmp;
use crate::tui::theme::Theme;
use crate::tui::ui::{Ui, MIN_HEIGHT, MIN_WIDTH};
use crate::tui::widgets::*;
use crate::visible::visible;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    File,
    Severity,
    Server,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::File => "file",
            SortKey::Severity => "severity",
            SortKey::Server => "server",
        }
    }
}

impl App {
    pub(crate) fn refresh_rows(&mut self) {
        let needle = self.filter.to_lowercase();
        let m = &self.model;
        let rows: Vec<usize> = (0..m.hops.len())
            .filter(|&h| {
                if needle.is_empty() {
                    return true;
                }
                let hop = &m.hops[h];
                // What the list shows of a hop, and every name and listen
                // address of its server.
                let hay = format!(
                    "{} {} {} {} {} {} {} {}",
                    hop.id,
                    m.shown(&hop.id),
                    hop.target.raw,
                    hop.server_names.join(" "),
                    hop.listen.join(" "),
                    labels::place(hop, " "),
                    hop.sni.name.as_deref().unwrap_or("none"),
                    self.by_hop[h]
                        .iter()
                        .map(|&i| self.findings[i].rule)
                        .collect::<Vec<_>>()
                        .join(" "),
                )
                .to_lowercase();
                needle.split_whitespace().all(|w| hay.contains(w))
            })
            .collect();
        // By file as people count (`site2` before `site10`, line 9 before
        // line 18); the other orders keep it among equals.
        let mut keyed: Vec<_> = rows.iter().map(|&h| (m.shown(&m.hops[h].id), h)).collect();
        keyed.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        let mut rows: Vec<usize> = keyed.into_iter().map(|(_, h)| h).collect();
        match self.sort {
            SortKey::File => {}
            SortKey::Severity => rows.sort_by_key(|&h| std::cmp::Reverse(self.hop_severity[h])),
            // By server name; servers without one (stream, nameless) after
            // the named ones, by their listen port.
            SortKey::Server => rows.sort_by(|&a, &b| {
                let (x, y) = (&m.hops[a], &m.hops[b]);
                let (nx, ny) = (x.server_names.first(), y.server_names.first());
                nx.is_none()
                    .cmp(&ny.is_none())
                    .then_with(|| {
                        natural_cmp(nx.map_or("", String::as_str), ny.map_or("", String::as_str))
                    })
                    .then_with(|| x.listen_port().cmp(&y.listen_port()))
                    .then_with(|| natural_cmp(&x.locations.join(" "), &y.locations.join(" ")))
            }),
        }
        self.list_widths = [0; 5];
        for &h in &rows {
            let hop = &m.hops[h];
            let widths = [
                visible(&labels::sni(hop)).width(),
                visible(&labels::place(hop, " › ")).width(),
                visible(&hop.target.raw).width(),
                visible(&m.shown(&hop.id)).width(),
                path_tail_width(&m.shown(&hop.id)),
            ];
            for (w, n) in self.list_widths.iter_mut().zip(widths) {
                *w = (*w).max(n);
            }
        }
        self.rows = rows;
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
    }
}

/// The style of a hop's SNI: what the name means for its target.
pub fn sni_style(t: &Theme, kind: SniKind) -> Style {
    match kind {
        SniKind::Right => t.sni_right,
        SniKind::NotSent => t.sni_none,
        SniKind::GroupOrAddress => t.sni_group,
        SniKind::Dynamic => t.sni_dynamic,
        SniKind::OtherHost => t.sni_other_host,
    }
}

/// Columns of the list, most important first: the SNI, where the hop is,
/// its target, its file:line. Their least widths before they drop (the
/// file's is its name and line, up to 28), and the most the place and the
/// target ask for, so that one long location does not starve the rest.
const LEAST: [usize; 4] = [8, 16, 16, 12];
const MOST_WHERE: usize = 36;
const MOST_TARGET: usize = 32;

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    // The probe column appears once something has been probed.
    let probed = !app.probes.is_empty();
    // Only the rows that can show are built, so a frame costs the same for
    // ten hops or a hundred thousand. With a fresh TableState ratatui
    // scrolls just far enough to show the selection: the same window.
    let (first, visible_rows) = window(app.cursor, app.rows.len(), r.height, 1);
    let shown = &app.rows[first..(first + visible_rows).min(app.rows.len())];
    // The basket column appears once a fix is picked: how many of the
    // hop's fixes are in it.
    let basket = !app.basket_hops().is_empty();
    // The columns are laid out here, as the table would (inside the frame,
    // after the selection mark, one space apart): the badge and the probe
    // and basket columns are fixed, the others share the rest by
    // importance, and a value too long for its column ends in `…`.
    const MARK: &str = "▶ ";
    let mark = if app.rows.is_empty() {
        0
    } else {
        Span::raw(MARK).width()
    };
    let fixed = 6 + if probed { 6 } else { 0 } + if basket { 7 } else { 0 };
    let room = (r.width as usize).saturating_sub(2 + mark + fixed);
    let [sni, place, target, id, tail] = app.list_widths;
    let want = [
        sni.max(8),
        place.clamp(5, MOST_WHERE),
        target.clamp(6, MOST_TARGET),
        id.max(9),
    ];
    let mut least = LEAST;
    least[3] = tail.clamp(least[3], 28).min(want[3]);
    let [sni_w, where_w, target_w, file_w] = match by_priority(room, &want, &least)[..] {
        [a, b, c, d] => [a, b, c, d],
        _ => [room, 0, 0, 0],
    };
    let mut widths = vec![Constraint::Length(5), Constraint::Length(sni_w as u16)];
    let mut head = vec!["", "SNI sent"];
    for (w, name) in [
        (where_w, "where"),
        (target_w, "target"),
        (file_w, "file:line"),
    ] {
        if w > 0 {
            widths.push(Constraint::Length(w as u16));
            head.push(name);
        }
    }
    if probed {
        widths.push(Constraint::Length(5));
        head.push("probe");
    }
    if basket {
        widths.push(Constraint::Length(6));
        head.push("basket");
    }
    let rows: Vec<Row> = shown
        .iter()
        .map(|&h| {
            let hop = &app.model.hops[h];
            let sev = app.hop_severity[h];
            let sev_cell = if app.findings_ready() {
                Span::styled(badge(sev), sev.map_or(t.ok, |s| severity_style(t, s)))
            } else {
                Span::styled(pending_badge(&app.check), t.dim)
            };
            let kind = app.sni_kinds.get(h).copied().unwrap_or(SniKind::NotSent);
            let mut cells = vec![
                Cell::from(sev_cell),
                Cell::from(Span::styled(
                    clip(&labels::sni(hop), sni_w).into_owned(),
                    sni_style(t, kind),
                )),
            ];
            if where_w > 0 {
                cells.push(Cell::from(Span::styled(place_cell(hop, where_w), t.base)));
            }
            if target_w > 0 {
                cells.push(Cell::from(Span::styled(
                    clip(&hop.target.raw, target_w).into_owned(),
                    t.base,
                )));
            }
            if file_w > 0 {
                cells.push(Cell::from(Span::styled(
                    clip_path(&app.model.shown(&hop.id), file_w).into_owned(),
                    t.dim,
                )));
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
            if basket {
                let n = app
                    .fix
                    .basket
                    .iter()
                    .filter(|p| app.findings[p.finding].hop == Some(h))
                    .count();
                let text = if n == 0 {
                    String::new()
                } else {
                    format!("+{n}")
                };
                cells.push(Cell::from(Span::styled(text, t.diff_add)));
            }
            Row::new(cells)
        })
        .collect();
    let header = Row::new(
        head.into_iter()
            .map(|h| Cell::from(Span::styled(h, t.header))),
    );
    let mut title = if app.filter.is_empty() {
        format!("Hops ({}) · sort: {}", app.rows.len(), app.sort.as_str())
    } else {
        format!(
            "Hops ({}/{}) · filter: {} · sort: {}",
            app.rows.len(),
            app.model.hops.len(),
            v(&app.filter),
            app.sort.as_str()
        )
    };
    if basket {
        title.push_str(&format!(" · basket: {} (X empties)", app.basket_label()));
    }
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
        } else if !app.findings_ready() {
            // Rule names match once the findings are known.
            "No hop matches the filter so far: the findings are being checked (Esc clears it)."
        } else {
            "No hop matches the filter (Esc clears it)."
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.dim)), inner);
    }
}

/// Where a hop is, in `width` columns: whole when it fits; else the
/// server name gives way first, so that two locations of one server still
/// read apart (`api.gateway.e… /v2/`), and a location too long keeps its
/// end.
fn place_cell(hop: &crate::model::Hop, width: usize) -> String {
    let full = labels::place(hop, " › ");
    let locations = hop.locations.join(" › ");
    if visible(&full).width() <= width || locations.is_empty() {
        return clip(&full, width).into_owned();
    }
    let server = full.strip_suffix(&locations).unwrap_or(&full).trim_end();
    if server.is_empty() {
        return clip_start(&locations, width).into_owned();
    }
    let server_w = visible(server).width();
    // The server keeps a few letters, at least a quarter of the column.
    let keep = server_w.min((width / 4).max(6));
    // Nested locations too long together: the innermost, the hop's own.
    let mut locations = locations;
    if visible(&locations).width() + 1 + keep > width && hop.locations.len() > 1 {
        if let Some(last) = hop.locations.last() {
            locations = format!("› {last}");
        }
    }
    let loc_w = visible(&locations).width();
    let server_room = width.saturating_sub(loc_w + 1).max(keep);
    let loc_room = width.saturating_sub(server_room + 1);
    if loc_room == 0 {
        return clip(&full, width).into_owned();
    }
    format!(
        "{} {}",
        clip(server, server_room),
        clip_start(&locations, loc_room)
    )
}

/// The parts of the strip under the list for the selected hop: its SNI
/// and what that means, where it is, its target and its file:line.
fn strip_parts(app: &App, t: &Theme) -> Vec<Vec<Span<'static>>> {
    let Some(h) = app.selected_hop() else {
        return Vec::new();
    };
    let hop = &app.model.hops[h];
    let kind = app.sni_kinds.get(h).copied().unwrap_or(SniKind::NotSent);
    vec![
        vec![
            Span::styled("SNI ", t.header),
            Span::styled(v(labels::sni(hop)), sni_style(t, kind)),
            Span::styled(format!(" ({})", kind.meaning()), t.dim),
        ],
        vec![
            Span::styled("where ", t.header),
            Span::styled(v(labels::place(hop, " › ")), t.base),
        ],
        vec![
            Span::styled(format!("{} ", hop.module.pass_directive()), t.header),
            Span::styled(v(&hop.target.raw), t.base),
        ],
        vec![Span::styled(v(app.model.shown(&hop.id)), t.dim)],
    ]
}

/// The parts flowed into at most `max` lines `width` wide, whole where
/// they fit, one ` · ` apart (the last line cut with `…` if need be).
fn strip_lines(
    parts: Vec<Vec<Span<'static>>>,
    t: &Theme,
    width: usize,
    max: usize,
) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    for part in parts {
        let w: usize = part.iter().map(Span::width).sum();
        let room_below = lines.len() < max;
        match lines.last_mut() {
            Some(last) if last.width() + 3 + w <= width || !room_below => {
                last.spans.push(Span::styled(" · ", t.dim));
                last.spans.extend(part);
            }
            _ => lines.push(Line::from([vec![Span::raw(" ")], part].concat())),
        }
    }
    lines.into_iter().map(|l| clip_line(l, width)).collect()
}

/// The lines of the strip under the list in a body `height` rows tall:
/// three (two on a short screen), so the list does not jump as the
/// selection moves.
pub(crate) fn strip_height(height: u16) -> u16 {
    match height {
        16.. => 3,
        12.. => 2,
        _ => 0,
    }
}

/// The selected hop's values in full under the list, where no preview
/// pane shows them, flowed over the strip's lines; a line to spare shows
/// its worst finding.
pub fn draw_strip(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
    let t = ui.theme;
    let width = r.width as usize;
    let mut lines = strip_lines(strip_parts(app, t), t, width, r.height as usize);
    let worst = app.selected_hop().and_then(|h| {
        app.by_hop[h]
            .iter()
            .map(|&i| &app.findings[i])
            .filter(|f| f.suppressed.is_none())
            .max_by_key(|f| f.severity)
    });
    if let (true, Some(finding)) = (lines.len() < r.height as usize, worst) {
        let line = Line::from(vec![
            Span::raw(" "),
            Span::styled(
                badge(Some(finding.severity)),
                severity_style(t, finding.severity),
            ),
            Span::styled(format!(" {}: ", finding.rule), t.title),
            Span::styled(v(app.model.shown(&finding.message)), t.dim),
        ]);
        lines.push(clip_line(line, width));
    } else if lines.len() < r.height as usize && !app.findings_ready() {
        let line = Line::from(vec![
            Span::raw(" "),
            Span::styled(pending_badge(&app.check), t.dim),
            Span::styled(
                match app.check {
                    CheckState::Failed(_) => " findings unknown: the rules stopped",
                    _ => " findings: being checked…",
                },
                t.dim,
            ),
        ]);
        lines.push(clip_line(line, width));
    }
    f.render_widget(Paragraph::new(lines).style(t.base), r);
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
        Screen::List => (
            list_split(body, app.rows.len(), strip_height(body.height)).list,
            1,
            app.cursor,
            app.rows.len(),
        ),
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
