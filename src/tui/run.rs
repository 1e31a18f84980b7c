//! The runner: owns the terminal, loads in the background, turns events
//! into actions and performs the effects the app asks for.
//!
//! The terminal is restored on every way out: normal exit, error, panic
//! (a hook restores it before the panic message), SIGTERM, SIGINT and
//! SIGHUP (an SSH connection that drops).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind, MouseEventKind,
};
use crossterm::execute;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::DefaultTerminal;

use super::app::{Action, App, Effect, Screen};
use super::highlight::Highlighter;
use super::keymap;
use super::theme::Theme;
use super::ui::{self, Ui};
use crate::conf::{self, Input};
use crate::fix::save::{save_all, Pending};
use crate::model::{Model, Version};

/// What the TUI needs to start.
pub struct Options {
    pub input: Input,
    pub version: Version,
    pub theme: Theme,
    pub label: String,
}

/// Loads and analyses on a background thread.
fn spawn_load(input: Input, version: Version) -> Receiver<Result<Model, String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = conf::load(&input)
            .map(|cfg| Model::build(cfg, version))
            .map_err(|e| e.to_string());
        let _ = tx.send(result);
    });
    rx
}

fn restore_terminal() {
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Sets the flag on SIGTERM, SIGINT and SIGHUP so the loop exits and
/// restores the terminal instead of dying with it in raw mode.
fn watch_signals(flag: Arc<AtomicBool>) {
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
}

/// Runs the TUI until the person quits. Reads keys from the terminal even
/// when standard input is a pipe (`nginx -T | hopscope -`).
pub fn run(opts: Options) -> io::Result<()> {
    // Standard input must be read before the terminal is taken over.
    let rx = spawn_load(opts.input.clone(), opts.version);
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(Arc::clone(&stop));
    let terminal = ratatui::init();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    let _ = execute!(io::stdout(), EnableMouseCapture);
    let result = event_loop(terminal, &opts, rx, &stop);
    restore_terminal();
    result
}

enum State {
    Loading(Instant),
    Failed(String),
    Ready(Box<App>),
}

fn event_loop(
    mut terminal: DefaultTerminal,
    opts: &Options,
    rx: Receiver<Result<Model, String>>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let highlighter = Highlighter::new().ok();
    let ui = Ui {
        theme: &opts.theme,
        highlighter: highlighter.as_ref(),
    };
    let mut state = State::Loading(Instant::now());
    let mut pending: Option<Receiver<Result<Model, String>>> = Some(rx);
    let mut clipboard: Option<arboard::Clipboard> = None;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(rx) = &pending {
            if let Ok(result) = rx.try_recv() {
                pending = None;
                state = match (state, result) {
                    (State::Ready(mut app), r) => {
                        app.on_reloaded(r);
                        State::Ready(app)
                    }
                    (_, Ok(model)) => State::Ready(Box::new(App::new(model, opts.label.clone()))),
                    (_, Err(e)) => State::Failed(e),
                };
            }
        }
        let size = terminal.size()?;
        if let State::Ready(app) = &mut state {
            app.page = size.height.saturating_sub(6) as usize;
        }
        terminal.draw(|f| match &state {
            State::Ready(app) => ui::draw(f, app, &ui),
            State::Loading(since) => {
                let secs = since.elapsed().as_secs_f32();
                let text = vec![
                    Line::from(Span::styled(
                        format!(" hopscope: loading {} … {secs:.1}s", opts.label),
                        opts.theme.title,
                    )),
                    Line::from(Span::styled(" q quits", opts.theme.dim)),
                ];
                f.render_widget(Paragraph::new(text).style(opts.theme.base), f.area());
            }
            State::Failed(e) => {
                let text = vec![
                    Line::from(Span::styled(
                        " hopscope: cannot load the configuration",
                        opts.theme.status_error.add_modifier(Modifier::BOLD),
                    )),
                    Line::from(Span::styled(format!(" {e}"), opts.theme.base)),
                    Line::from(Span::styled(" q quits", opts.theme.dim)),
                ];
                f.render_widget(Paragraph::new(text).style(opts.theme.base), f.area());
            }
        })?;
        if !event::poll(Duration::from_millis(100))? {
            continue;
        }
        let ev = event::read()?;
        let app = match &mut state {
            State::Ready(app) => app,
            _ => {
                if let Event::Key(k) = ev {
                    if k.kind == KeyEventKind::Press
                        && keymap::action_for(Screen::List, k) == Some(Action::Quit)
                    {
                        return Ok(());
                    }
                }
                continue;
            }
        };
        let effects = match ev {
            Event::Key(k) if k.kind == KeyEventKind::Press => {
                if app.confirm_save
                    && matches!(
                        k.code,
                        event::KeyCode::Char('y') | event::KeyCode::Char('Y')
                    )
                {
                    app.confirm()
                } else if app.capturing() {
                    app.input(k);
                    Vec::new()
                } else {
                    match keymap::action_for(app.screen(), k) {
                        Some(a) => app.update(a),
                        None => Vec::new(),
                    }
                }
            }
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollDown => app.update(Action::Scroll(3)),
                MouseEventKind::ScrollUp => app.update(Action::Scroll(-3)),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        for effect in effects {
            match effect {
                Effect::Copy(text) => {
                    let how = copy(&mut clipboard, &text);
                    app.on_copied(how.as_deref().map_err(Clone::clone));
                }
                Effect::Save(files) => {
                    let pend: Vec<Pending> = files
                        .iter()
                        .map(|(p, old, new)| Pending {
                            path: p,
                            loaded: old,
                            new,
                        })
                        .collect();
                    let result = save_all(&pend)
                        .map(|saved| saved.iter().map(|s| s.path.display().to_string()).collect())
                        .map_err(|e| e.to_string());
                    for e in app.on_saved(result) {
                        if e == Effect::Reload {
                            pending = Some(spawn_load(opts.input.clone(), opts.version));
                        }
                    }
                }
                Effect::Reload => {
                    if matches!(opts.input, Input::Stdin) {
                        app.update(Action::Back);
                    } else {
                        pending = Some(spawn_load(opts.input.clone(), opts.version));
                    }
                }
            }
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// Whether there is no display to hold a clipboard: a console, or SSH
/// without a forwarded display. (With X forwarding, the forwarded display's
/// clipboard is the person's own.)
fn remote_session() -> bool {
    std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none()
}

/// The OSC 52 escape that asks the terminal to set its clipboard.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{b64}\x07")
}

/// Copies text: the system clipboard when there is one, else OSC 52 (the
/// terminal on the other end of SSH receives it). Says which was used.
fn copy(clipboard: &mut Option<arboard::Clipboard>, text: &str) -> Result<String, String> {
    if !remote_session() {
        if clipboard.is_none() {
            *clipboard = arboard::Clipboard::new().ok();
        }
        if let Some(c) = clipboard.as_mut() {
            if c.set_text(text.to_string()).is_ok() {
                return Ok("system clipboard".into());
            }
        }
    }
    let mut out = io::stdout();
    out.write_all(osc52(text).as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())?;
    Ok("OSC 52: your terminal puts it on its clipboard if it allows".into())
}
