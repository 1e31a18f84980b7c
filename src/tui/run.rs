//! The runner: owns the terminal, loads in the background, turns events
//! into actions and performs the effects the app asks for.
//!
//! The terminal is restored on every way out: normal exit, error, panic
//! (a hook restores it before the panic message), SIGTERM, SIGINT and
//! SIGHUP (an SSH connection that drops). After a signal the process then
//! dies of that signal, as if it had not caught it (exit status 128+N in
//! a shell). A panic while loading becomes a load error on screen instead
//! of tearing the terminal down under a running UI.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

use super::action::{Action, Effect, Screen};
use super::app::{App, Status};
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
    /// A note for the status line once loaded (e.g. about the terminal).
    pub note: Option<String>,
    /// `--ssh`: the server `input` (its `nginx -T`) came from. Saving
    /// writes there and reloading runs `nginx -T` there again.
    pub remote: Option<crate::remote::Remote>,
    /// `--ssh`: the server's `nginx -T`, loaded from memory instead of
    /// `input`. It is never written to a file on this machine, so no way
    /// out (a hang-up, a kill) can leave the server's configuration behind.
    pub dump: Option<Vec<u8>>,
}

/// Fault injection for tests/tui_faults.rs, in debug builds only: with
/// `HOPSCOPE_TEST_PANIC=draw` the draw closure panics once the first frame
/// is on screen; with `=load` the loading thread panics. Read once per run.
/// Release builds never read the variable: this returns `None` there.
#[cfg(debug_assertions)]
fn test_fault() -> Option<String> {
    std::env::var("HOPSCOPE_TEST_PANIC").ok()
}

#[cfg(not(debug_assertions))]
fn test_fault() -> Option<String> {
    None
}

thread_local! {
    /// The panic message of a loading thread, kept by the panic hook for
    /// [`spawn_load`] to report.
    static LOAD_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Loads and analyses on a background thread. A panic there (a bug) is
/// reported as a load error: the UI keeps running and says so.
fn spawn_load(
    input: Input,
    dump: Option<Vec<u8>>,
    version: Version,
    fault: bool,
) -> Receiver<Result<Model, String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(|| {
            if fault {
                panic!("fault injected by HOPSCOPE_TEST_PANIC=load");
            }
            let cfg = match dump {
                Some(dump) => conf::from_bytes(dump, None),
                None => conf::load(&input),
            };
            cfg.map(|cfg| Model::build(cfg, version))
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|_| {
            let what = LOAD_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "a panic".into());
            Err(format!(
                "hopscope crashed while loading (a bug, please report it): {what}"
            ))
        });
        let _ = tx.send(result);
    });
    rx
}

/// Loads the configuration again: from the server over SSH when it came
/// from there, else as at the start.
fn spawn_reload(opts: &Options) -> Receiver<Result<Model, String>> {
    let Some(remote) = opts.remote.clone() else {
        return spawn_load(opts.input.clone(), None, opts.version, false);
    };
    let (tx, rx) = mpsc::channel();
    let version = opts.version;
    std::thread::spawn(move || {
        let result = crate::remote::fetch_dump(&remote)
            .map_err(|e| e.to_string())
            .and_then(|dump| {
                conf::from_bytes(dump, None)
                    .map(|cfg| Model::build(cfg, version))
                    .map_err(|e| format!("ssh {}: {e}", remote.host))
            });
        let _ = tx.send(result);
    });
    rx
}

/// Writes fixed files on the server in the background: the result is what
/// the status line says (each file and its backup, and `nginx -t`'s verdict).
fn spawn_remote_save(
    remote: crate::remote::Remote,
    files: Vec<(String, Vec<u8>, Vec<u8>)>,
) -> Receiver<Result<Vec<String>, String>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let list: Vec<crate::remote::RemoteFile<'_>> = files
            .iter()
            .map(|(path, loaded, new)| crate::remote::RemoteFile { path, loaded, new })
            .collect();
        // Kept short: the status line also says how the findings changed.
        let result = crate::remote::apply(&remote, &list, false)
            .map(|applied| {
                let backups: Vec<&str> = applied
                    .written
                    .iter()
                    .map(|w| w.backup.strip_prefix(&w.path).unwrap_or(&w.backup))
                    .collect();
                let paths: Vec<&str> = applied.written.iter().map(|w| w.path.as_str()).collect();
                vec![format!(
                    "{} on {} (backup {}, nginx -t ok, nginx not reloaded)",
                    paths.join(", "),
                    remote.host,
                    backups.join(", ")
                )]
            })
            .map_err(|e| e.to_string());
        let _ = tx.send(result);
    });
    rx
}

/// A probe in the background: where its results arrive, and the hop ids it
/// was asked for (None: the what-if probe of the previewed fix).
type RunningProbe = (Receiver<Vec<crate::probe::PeerResult>>, Option<Vec<String>>);

/// Runs a prepared probe on its own thread; the result arrives on the channel.
fn spawn_probe(work: crate::probe::Prepared) -> Receiver<Vec<crate::probe::PeerResult>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work.run(crate::probe::Options::default()));
    });
    rx
}

fn restore_terminal() {
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Records the number of the first SIGTERM, SIGINT or SIGHUP so the loop
/// exits and restores the terminal instead of dying with it in raw mode.
/// A second one while the first is handled ends the process at once, so a
/// stuck loop can never trap anyone.
fn watch_signals(caught: &Arc<AtomicUsize>) {
    let again = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        let _ =
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&again));
        let _ = signal_hook::flag::register(sig, Arc::clone(&again));
        let _ = signal_hook::flag::register_usize(sig, Arc::clone(caught), sig as usize);
    }
}

/// Runs the TUI until the person quits. Reads keys from the terminal even
/// when standard input is a pipe (`nginx -T | hopscope -`).
pub fn run(mut opts: Options) -> io::Result<()> {
    let fault = test_fault();
    // The hook comes first: the loading thread may panic at once.
    let prev = std::panic::take_hook();
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != ui_thread {
            // A loading thread: spawn_load shows it as a load error.
            // Restoring or printing here would garble the running UI.
            LOAD_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            return;
        }
        restore_terminal();
        prev(info);
    }));
    // Standard input (`-`) is read by the loading thread; keys come from
    // the terminal (/dev/tty), so the two never compete.
    let rx = spawn_load(
        opts.input.clone(),
        opts.dump.take(),
        opts.version,
        fault.as_deref() == Some("load"),
    );
    let caught = Arc::new(AtomicUsize::new(0));
    watch_signals(&caught);
    let result = take_terminal()
        .and_then(|terminal| event_loop(terminal, &opts, rx, &caught, fault.as_deref()));
    restore_terminal();
    // A caught signal wins over a terminal error (a hang-up also breaks
    // the terminal): die of it now that the terminal is restored.
    let sig = caught.load(Ordering::Relaxed);
    if sig != 0 {
        let _ = signal_hook::low_level::emulate_default_handler(sig as i32);
    }
    result
}

/// Raw mode, the alternate screen and mouse reports. Not `ratatui::init`:
/// its panic hook would tear the terminal down for a panic in any thread.
fn take_terminal() -> io::Result<DefaultTerminal> {
    enter_ui_modes()?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))
}

fn enter_ui_modes() -> io::Result<()> {
    crossterm::terminal::enable_raw_mode()?;
    execute!(
        io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        EnableMouseCapture
    )
}

/// Ctrl-Z: the terminal goes back to the shell as it was, the process stops
/// (SIGTSTP, as the terminal would send it outside raw mode), and when the
/// shell resumes it (`fg`, SIGCONT) the screen is taken and drawn again.
fn suspend(terminal: &mut DefaultTerminal) -> io::Result<()> {
    restore_terminal();
    // Dropping the terminal shows the cursor when quitting; here it lives on.
    terminal.show_cursor()?;
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    enter_ui_modes()?;
    terminal.clear()
}

/// How a save is reported: the file as the configuration names it, and
/// its backup, short when it sits next to the file (`.hopscope.bak`: the
/// file's name plus that suffix).
fn saved_note(name: &str, saved: &crate::fix::save::Saved) -> String {
    let backup = saved.backup.to_string_lossy();
    let backup = backup
        .strip_prefix(saved.path.to_string_lossy().as_ref())
        .map(|suffix| suffix.to_string())
        .unwrap_or_else(|| backup.to_string());
    format!("{name} (backup {backup})")
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
    caught: &AtomicUsize,
    fault: Option<&str>,
) -> io::Result<()> {
    let mut frames = 0u64;
    let highlighter = Highlighter::new().ok();
    let ui = Ui {
        theme: &opts.theme,
        highlighter: highlighter.as_ref(),
    };
    let mut state = State::Loading(Instant::now());
    let mut pending: Option<Receiver<Result<Model, String>>> = Some(rx);
    let mut clipboard: Option<arboard::Clipboard> = None;
    // Probes running in the background: their results, and the hop ids
    // asked for (None: the what-if probe of the previewed fix).
    let mut probes: Vec<RunningProbe> = Vec::new();
    // A write on the server (`--ssh`) in the background.
    let mut saving: Option<Receiver<Result<Vec<String>, String>>> = None;
    loop {
        if caught.load(Ordering::Relaxed) != 0 {
            return Ok(());
        }
        if let (State::Ready(app), Some(rx)) = (&mut state, &saving) {
            let result = match rx.try_recv() {
                Ok(result) => Some(result),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => Some(Err(
                    "the write on the server stopped unexpectedly: look for .hopscope.bak files there"
                        .into(),
                )),
            };
            if let Some(result) = result {
                saving = None;
                for e in app.on_saved(result) {
                    if e == Effect::Reload {
                        pending = Some(spawn_reload(opts));
                    }
                }
            }
        }
        if let State::Ready(app) = &mut state {
            probes.retain(|(rx, asked)| match rx.try_recv() {
                Ok(results) => {
                    match asked {
                        Some(ids) => app.on_probed(results, ids),
                        None => app.on_fix_probed(results),
                    }
                    false
                }
                Err(mpsc::TryRecvError::Empty) => true,
                Err(mpsc::TryRecvError::Disconnected) => {
                    for id in asked.iter().flatten() {
                        app.probes.remove(id);
                    }
                    app.status = Some(Status {
                        error: true,
                        text: "the probe stopped unexpectedly; nothing was contacted since".into(),
                    });
                    false
                }
            });
        }
        if let Some(rx) = &pending {
            if let Ok(result) = rx.try_recv() {
                pending = None;
                state = match (state, result) {
                    (State::Ready(mut app), r) => {
                        app.on_reloaded(r);
                        State::Ready(app)
                    }
                    (_, Ok(model)) => {
                        let mut app = App::new(model, opts.label.clone());
                        app.server = opts.remote.as_ref().map(|r| r.host.clone());
                        if let (None, Some(note)) = (&app.status, &opts.note) {
                            app.status = Some(Status {
                                error: false,
                                text: note.clone(),
                            });
                        }
                        State::Ready(Box::new(app))
                    }
                    (_, Err(e)) => State::Failed(e),
                };
            }
        }
        let size = terminal.size()?;
        if let State::Ready(app) = &mut state {
            app.page = size.height.saturating_sub(6) as usize;
            app.area = (size.width, size.height);
        }
        let panic_now = frames > 0 && fault == Some("draw");
        frames += 1;
        terminal.draw(|f| match &state {
            _ if panic_now => panic!("fault injected by HOPSCOPE_TEST_PANIC=draw"),
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
                // The whole error, wrapped: it can be long and have lines.
                let mut text = vec![Line::from(Span::styled(
                    " hopscope: cannot load the configuration",
                    opts.theme.status_error.add_modifier(Modifier::BOLD),
                ))];
                text.extend(
                    e.lines()
                        .map(|l| Line::from(Span::styled(format!(" {l}"), opts.theme.base))),
                );
                text.push(Line::from(Span::styled(" q quits", opts.theme.dim)));
                f.render_widget(
                    Paragraph::new(text)
                        .style(opts.theme.base)
                        .wrap(ratatui::widgets::Wrap { trim: false }),
                    f.area(),
                );
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
                let ctrl_c = k.code == event::KeyCode::Char('c')
                    && k.modifiers.contains(event::KeyModifiers::CONTROL);
                let ctrl_z = k.code == event::KeyCode::Char('z')
                    && k.modifiers.contains(event::KeyModifiers::CONTROL);
                if ctrl_c {
                    // Ctrl-C quits even while a text field has the keys.
                    app.update(Action::Quit)
                } else if ctrl_z {
                    // So does Ctrl-Z suspend, as in any terminal program.
                    app.update(Action::Suspend)
                } else if app.confirm_save
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
                MouseEventKind::Down(event::MouseButton::Left) if !app.capturing() => {
                    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                    match ui::row_at(app, area, m.column, m.row) {
                        Some(row) => app.update(Action::Click(row)),
                        None => Vec::new(),
                    }
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        for effect in effects {
            match effect {
                Effect::Suspend => suspend(&mut terminal)?,
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
                        .map(|saved| {
                            // Results come in the order of the files.
                            files
                                .iter()
                                .zip(&saved)
                                .map(|((path, _, _), s)| {
                                    let name = app
                                        .model
                                        .config
                                        .files
                                        .iter()
                                        .find(|f| f.path == *path)
                                        .map_or_else(
                                            || path.display().to_string(),
                                            |f| f.name.clone(),
                                        );
                                    saved_note(&name, s)
                                })
                                .collect()
                        })
                        .map_err(|e| e.to_string());
                    for e in app.on_saved(result) {
                        if e == Effect::Reload {
                            pending = Some(spawn_reload(opts));
                        }
                    }
                }
                Effect::SaveRemote(files) => match (&opts.remote, &saving) {
                    (Some(remote), None) => saving = Some(spawn_remote_save(remote.clone(), files)),
                    (Some(_), Some(_)) => {
                        app.status = Some(Status {
                            error: true,
                            text: "the last write on the server has not finished yet".into(),
                        });
                    }
                    (None, _) => {}
                },
                Effect::Probe(ids) => {
                    let files =
                        crate::probe::LocalFiles::choose(&app.model, opts.remote.is_some(), false);
                    let work = crate::probe::prepare(&app.model, &ids, files);
                    probes.push((spawn_probe(work), Some(ids)));
                }
                Effect::ProbeFixed(ids) => {
                    let mut texts: Vec<Vec<u8>> = app
                        .model
                        .config
                        .files
                        .iter()
                        .map(|f| f.text.clone())
                        .collect();
                    for (id, new) in &app.diff.changed {
                        texts[id.0 as usize].clone_from(new);
                    }
                    let after = crate::fix::engine::reanalyze(&app.model, &texts);
                    let fixed = crate::fix::engine::ids_after(&app.model, &after, &ids);
                    let files =
                        crate::probe::LocalFiles::choose(&app.model, opts.remote.is_some(), false);
                    let work = crate::probe::prepare(&after, &fixed, files);
                    probes.push((spawn_probe(work), None));
                }
                Effect::Reload => {
                    if matches!(opts.input, Input::Stdin) {
                        // A pipe cannot be read twice: say so rather than
                        // ignore the key.
                        app.status = Some(Status {
                            error: true,
                            text: "standard input cannot be read again: run the command again to reload"
                                .into(),
                        });
                    } else {
                        pending = Some(spawn_reload(opts));
                    }
                }
            }
        }
        if app.quit {
            // A write on the server is never abandoned half way: quitting
            // waits for it (ssh's own timeout bounds the wait).
            if let Some(rx) = saving.take() {
                let host = app.server.clone().unwrap_or_default();
                app.status = Some(Status {
                    error: false,
                    text: format!("finishing the write on {host} before quitting…"),
                });
                terminal.draw(|f| ui::draw(f, app, &ui))?;
                let _ = rx.recv();
            }
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

/// Copies text, and says where it went. Locally: the system clipboard when
/// there is a display. Over SSH, or with no display: an OSC 52 escape, so
/// the terminal the person sits at puts it on *their* clipboard (a
/// forwarded or leftover `DISPLAY` on a server would only fill the
/// server's clipboard, so SSH sessions always get OSC 52 too).
fn copy(clipboard: &mut Option<arboard::Clipboard>, text: &str) -> Result<String, String> {
    let ssh = std::env::var_os("SSH_TTY").is_some() || std::env::var_os("SSH_CONNECTION").is_some();
    let mut used = Vec::new();
    if !remote_session() {
        if clipboard.is_none() {
            *clipboard = arboard::Clipboard::new().ok();
        }
        if let Some(c) = clipboard.as_mut() {
            if c.set_text(text.to_string()).is_ok() {
                used.push("the system clipboard");
            }
        }
    }
    if used.is_empty() || ssh {
        let mut out = io::stdout();
        out.write_all(osc52(text).as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
        used.push(if std::env::var_os("TMUX").is_some() {
            "OSC 52 (inside tmux it reaches your clipboard only with `set -g set-clipboard on`)"
        } else {
            "OSC 52: your terminal puts it on its clipboard if it allows"
        });
    }
    Ok(used.join(" and "))
}
