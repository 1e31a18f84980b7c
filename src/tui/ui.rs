//! Drawing: a pure function of the state, one component per screen (see
//! `screens`), the shared pieces in `widgets`. No I/O, no decisions.

use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::action::Screen;
use super::app::App;
use super::highlight::Highlighter;
use super::screens;
use super::theme::Theme;
use super::widgets::{confirm, fix_split, frame_rows, header, list_split, scrub};
use super::{footer, help};

pub use super::screens::list::row_at;

/// What rendering needs besides the state.
pub struct Ui<'a> {
    pub theme: &'a Theme,
    pub highlighter: Option<&'a Highlighter>,
}

/// Smallest size the UI draws in; below it, a note says so.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 8;

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
            let strip = screens::list::strip_height(body.height);
            let split = list_split(body, app.rows.len(), strip);
            screens::list::draw(f, app, ui, split.list);
            if let (Some(side), Some(h)) = (split.preview, app.selected_hop()) {
                screens::detail::draw(f, app, ui, side, h, false);
            }
            if let Some(strip) = split.strip {
                screens::list::draw_strip(f, app, ui, strip);
            }
        }
        Screen::Detail => {
            if let Some(h) = app.selected_hop() {
                screens::detail::draw(f, app, ui, body, h, true);
            }
        }
        Screen::Source => screens::source::draw(f, app, ui, body),
        Screen::Fix => screens::fix::draw(f, app, ui, fix_split(body)),
        Screen::Diff => screens::diff::draw(f, app, ui, body),
        Screen::Explain => screens::explain::draw(f, app, ui, body),
        Screen::Rules => screens::rules::draw(f, app, ui, body),
        Screen::Errors => screens::errors::draw(f, app, ui, body),
        Screen::Messages => screens::messages::draw(f, app, ui, body),
        Screen::Tour => screens::tour::draw(f, app, ui, body),
    }
    footer::draw(f, app, ui, bottom);
    if app.help {
        help::draw(f, app, ui, area);
    }
    if app.confirm_save {
        confirm(f, app, ui, area);
    }
    if app.fix.field.is_some() {
        screens::fix::value_field(f, app, ui, area);
    }
    scrub(f.buffer_mut());
}
