//! The hop list: one row per hop, filtered and sorted.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use crate::report::labels;
use crate::rules;
use crate::tui::action::Screen;
use crate::tui::app::App;
use crate::tui::clip::{clip, clip_start, columns};
use crate::tui::ui::{Ui, MIN_HEIGHT, MIN_WIDTH};
use crate::tui::widgets::*;

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
        let mut rows: Vec<usize> = (0..m.hops.len())
            .filter(|&h| {
                if needle.is_empty() {
                    return true;
                }
                let hop = &m.hops[h];
                // What the list shows of a hop, and every name and listen
                // address of its server.
                let hay = format!(
                    "{} {} {} {} {} {} {}",
                    hop.id,
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
        match self.sort {
            SortKey::File => {}
            SortKey::Severity => rows.sort_by_key(|&h| std::cmp::Reverse(self.hop_severity[h])),
            // By where the hop lives, as the list shows it (`listen ADDR`
            // for a server without a name).
            SortKey::Server => rows.sort_by_cached_key(|&h| labels::place(&m.hops[h], " ")),
        }
        self.rows = rows;
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
    }
}

pub fn draw(f: &mut Frame, app: &App, ui: &Ui, r: Rect) {
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
    // The basket column appears once a fix is picked: how many of the
    // hop's fixes are in it.
    let in_basket = app.basket_hops();
    let basket = !in_basket.is_empty();
    if basket {
        widths.push(Constraint::Length(6));
        head.push("basket");
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
                Cell::from(Span::styled(fit(3, &labels::sni(hop)), sni_style)),
            ];
            if wide {
                cells.push(Cell::from(Span::styled(
                    fit(4, &labels::place(hop, " › ")),
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
    let widths: Vec<Constraint> = columns.iter().map(|&w| Constraint::Length(w)).collect();
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
            app.filter,
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
        } else {
            "No hop matches the filter (Esc clears it)."
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.dim)), inner);
    }
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
