//! The runner: owns the terminal, turns events into actions and performs
//! the effects the app asks for. Loading, the rules, probing and saving
//! run as jobs (`crate::jobs`); the loop waits on the one channel where
//! their reports arrive with the terminal's keys, mouse, resizes and
//! signals, and draws after each.
//!
//! The terminal is restored on every way out: normal exit, error, panic
//! (a hook restores it before the panic message), SIGTERM, SIGINT and
//! SIGHUP (an SSH connection that drops). After a signal the process then
//! dies of that signal, as if it had not caught it (exit status 128+N in
//! a shell). A panic while loading becomes a load error on screen instead
//! of tearing the terminal down under a running UI.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, KeyEventKind, MouseEventKind,
};
use crossterm::execute;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::DefaultTerminal;

use super::action::{Action, Effect, Screen};
use super::app::App;
use super::highlight::Highlighter;
use super::keymap;
use super::theme::Theme;
use super::ui::{self, Ui};
use crate::jobs::{self, Done, Event, Jobs, Load, Source};
use crate::model::Version;

/// What the TUI needs to start.
pub struct Options {
    pub source: Source,
    /// `--nginx-version`; None: the version the source tells.
    pub version: Option<Version>,
    pub theme: Theme,
    /// A note for the status line once loaded (e.g. about the terminal).
    pub note: Option<String>,
    /// `--ssh`: the server's `nginx -T`, fetched already and loaded from
    /// memory. It is never written to a file on this machine, so no way
    /// out (a hang-up, a kill) can leave the server's configuration
    /// behind. Reloading runs `nginx -T` there again.
    pub dump: Option<Vec<u8>>,
    /// `--root DIR`: where the files the configuration names are looked up.
    pub root: Option<std::path::PathBuf>,
    /// Run `nginx -t` on test copies before a save here (when nginx is
    /// found); `--no-validate` turns it off.
    pub validate: bool,
    /// The project file's settings: which findings are shown.
    pub settings: Option<crate::settings::Settings>,
}

/// Fault injection for tests/tui_faults.rs, in debug builds only: with
/// `HOPSCOPE_TEST_PANIC=draw` the draw closure panics once the first frame
/// is on screen; with `=load` the loading job panics. Read once per run.
/// Release builds never read the variable: this returns `None` there.
#[cfg(debug_assertions)]
fn test_fault() -> Option<String> {
    std::env::var("HOPSCOPE_TEST_PANIC").ok()
}

#[cfg(not(debug_assertions))]
fn test_fault() -> Option<String> {
    None
}

/// The signals that end the UI (the terminal is restored first).
const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
];

fn restore_terminal() {
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::restore();
}

/// Records the number of the first SIGTERM, SIGINT or SIGHUP so the loop
/// exits and restores the terminal instead of dying with it in raw mode
/// (the loop hears of it on its channel). A second one while the first is
/// handled ends the process at once, so a stuck loop can never trap anyone.
fn watch_signals(caught: &Arc<AtomicUsize>, jobs: &Jobs) {
    let again = Arc::new(AtomicBool::new(false));
    for sig in SIGNALS {
        let _ =
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&again));
        let _ = signal_hook::flag::register(sig, Arc::clone(&again));
        let _ = signal_hook::flag::register_usize(sig, Arc::clone(caught), sig as usize);
    }
    let _ = jobs::events::spawn_signals(jobs.sender(), &SIGNALS);
}

/// Runs the TUI until the person quits. Reads keys from the terminal even
/// when standard input is a pipe (`nginx -T | hopscope -`).
pub fn run(mut opts: Options) -> io::Result<()> {
    let fault = test_fault();
    // The hook comes first: the loading job may panic at once.
    let prev = std::panic::take_hook();
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != ui_thread {
            // A job's thread: the job reports it (a load shows it as a
            // load error). Restoring or printing here would garble the
            // running UI.
            jobs::remember_panic(info.to_string());
            return;
        }
        restore_terminal();
        prev(info);
    }));
    let (jobs, rx) = Jobs::new();
    // Standard input (`-`) is read by the loading job; keys come from
    // the terminal (/dev/tty), so the two never compete.
    let first = match (fault.as_deref(), opts.dump.take()) {
        (Some("load"), _) => Load::Panic,
        (_, Some(dump)) => Load::Dump(dump),
        (_, None) => Load::Source(opts.source.clone()),
    };
    jobs.load(first, opts.version, opts.root.clone());
    let caught = Arc::new(AtomicUsize::new(0));
    watch_signals(&caught, &jobs);
    let result = take_terminal().and_then(|terminal| {
        jobs::events::spawn_input(jobs.sender());
        Runner {
            opts: &opts,
            jobs: &jobs,
            writing: None,
            clipboard: None,
        }
        .event_loop(terminal, &rx, fault.as_deref())
    });
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

enum State {
    Loading(Instant),
    Failed(String),
    Ready(Box<App>),
}

/// A write in progress: quitting waits for it, and a second one waits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writing {
    Here,
    Server,
}

/// What the loop keeps besides the screen's state.
struct Runner<'a> {
    opts: &'a Options,
    jobs: &'a Jobs,
    writing: Option<Writing>,
    clipboard: Option<arboard::Clipboard>,
}

impl Runner<'_> {
    /// Draws, then waits on the one channel for the next key, resize,
    /// signal or job report, until the person quits.
    fn event_loop(
        mut self,
        mut terminal: DefaultTerminal,
        rx: &Receiver<Event>,
        fault: Option<&str>,
    ) -> io::Result<()> {
        let opts = self.opts;
        let mut frames = 0u64;
        let highlighter = Highlighter::new().ok();
        let ui = Ui {
            theme: &opts.theme,
            highlighter: highlighter.as_ref(),
        };
        let label = opts.source.label();
        let mut state = State::Loading(Instant::now());
        loop {
            let size = terminal.size()?;
            if let State::Ready(app) = &mut state {
                app.page = size.height.saturating_sub(6) as usize;
                app.area = (size.width, size.height);
                // A new model (the first, or a reload): its rules run
                // while its hops show and the keys work.
                if let Some(work) = app.take_check() {
                    self.jobs.check(work.generation, move || work.run());
                }
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
                            format!(" hopscope: loading {label} … {secs:.1}s"),
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
            // While loading, the clock on screen ticks every tenth of a
            // second; otherwise nothing changes until something happens.
            let ev = if matches!(state, State::Loading(_)) {
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(ev) => ev,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            } else {
                match rx.recv() {
                    Ok(ev) => ev,
                    Err(_) => return Ok(()),
                }
            };
            let effects = match ev {
                Event::Signal(_) => return Ok(()),
                Event::InputFailed(e) => return Err(e),
                Event::Resize => continue,
                Event::Done(done) => {
                    state = self.finished(state, done);
                    continue;
                }
                Event::Key(k) => {
                    let State::Ready(app) = &mut state else {
                        if k.kind == KeyEventKind::Press
                            && keymap::action_for(Screen::List, k) == Some(Action::Quit)
                        {
                            return Ok(());
                        }
                        continue;
                    };
                    if k.kind != KeyEventKind::Press {
                        continue;
                    }
                    key_effects(app, k)
                }
                Event::Mouse(m) => {
                    let State::Ready(app) = &mut state else {
                        continue;
                    };
                    match m.kind {
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
                    }
                }
            };
            let State::Ready(app) = &mut state else {
                continue;
            };
            for effect in effects {
                self.perform(effect, app, &mut terminal)?;
            }
            if app.quit {
                // A write is never abandoned half way: quitting waits for
                // it (ssh's own timeout bounds the wait on a server).
                if let Some(writing) = self.writing.take() {
                    if writing == Writing::Server {
                        let host = app.server.clone().unwrap_or_default();
                        app.set_status(
                            false,
                            format!("finishing the write on {host} before quitting…"),
                        );
                        terminal.draw(|f| ui::draw(f, app, &ui))?;
                    }
                    while let Ok(ev) = rx.recv() {
                        if let Event::Done(Done::Saved(_)) = ev {
                            break;
                        }
                    }
                }
                return Ok(());
            }
        }
    }

    /// A job's report: the screen's next state.
    fn finished(&mut self, state: State, done: Done) -> State {
        match (state, done) {
            (State::Ready(mut app), Done::Loaded(r)) => {
                app.on_reloaded(r.map(|m| *m).map_err(|e| e.to_string()));
                State::Ready(app)
            }
            (_, Done::Loaded(Ok(model))) => {
                let mut app =
                    App::pending(*model, self.opts.source.label(), self.opts.settings.clone());
                app.server = self.opts.source.remote().map(|r| r.host.clone());
                app.exec = self.opts.source.exec().map(crate::remote::Exec::label);
                if self.opts.validate && app.server.is_none() {
                    app.validate_with = crate::fix::validate::find_nginx();
                }
                if let (None, Some(note)) = (&app.status, &self.opts.note) {
                    app.set_status(false, note.clone());
                }
                State::Ready(Box::new(app))
            }
            (_, Done::Loaded(Err(e))) => State::Failed(e.to_string()),
            (State::Ready(mut app), Done::Saved(result)) => {
                self.writing = None;
                for e in app.on_saved(result) {
                    if e == Effect::Reload {
                        self.reload();
                    }
                }
                State::Ready(app)
            }
            (State::Ready(mut app), Done::Checked { generation, result }) => {
                app.on_checked(generation, result);
                State::Ready(app)
            }
            (State::Ready(mut app), Done::Validated(result)) => {
                app.on_validated(result);
                State::Ready(app)
            }
            (State::Ready(mut app), Done::Probed { asked, results }) => {
                match (results, &asked) {
                    (Some(results), Some(ids)) => app.on_probed(results, ids),
                    (Some(results), None) => app.on_fix_probed(results),
                    (None, _) => {
                        for id in asked.iter().flatten() {
                            app.probes.remove(id);
                        }
                        app.set_status(
                            true,
                            "the probe stopped unexpectedly; nothing was contacted since",
                        );
                    }
                }
                State::Ready(app)
            }
            // Saves and probes start from a loaded configuration only.
            (state, _) => state,
        }
    }

    /// Loads the configuration again: from the server over SSH when it
    /// came from there, else as at the start.
    fn reload(&self) {
        self.jobs.load(
            Load::Source(self.opts.source.clone()),
            self.opts.version,
            self.opts.root.clone(),
        );
    }

    /// Does what the app asked for.
    fn perform(
        &mut self,
        effect: Effect,
        app: &mut App,
        terminal: &mut DefaultTerminal,
    ) -> io::Result<()> {
        let remote = self.opts.source.remote();
        match effect {
            Effect::Suspend => suspend(terminal)?,
            Effect::Copy(text) => {
                let how = copy(&mut self.clipboard, &text);
                app.on_copied(how.as_deref().map_err(Clone::clone));
            }
            Effect::Save(files) => {
                if self.writing.is_some() {
                    app.set_status(true, "the last save has not finished yet");
                    return Ok(());
                }
                self.writing = Some(Writing::Here);
                self.jobs.save(files);
            }
            Effect::SaveRemote(files) => match (remote, self.writing) {
                (Some(remote), None) => {
                    self.writing = Some(Writing::Server);
                    self.jobs.save_remote(remote.clone(), files);
                }
                (Some(_), Some(_)) => {
                    app.set_status(true, "the last write on the server has not finished yet");
                }
                (None, _) => {}
            },
            Effect::Probe(ids) => {
                let files = self.opts.source.local_files(&app.model, false);
                // With --ssh, from the server: as `probe --ssh` does.
                let work = crate::probe::prepare(&app.model, &ids, files).through(remote.cloned());
                self.jobs.probe(work, Some(ids));
            }
            Effect::ProbeFixed(ids) => {
                let files = self.opts.source.local_files(&app.model, false);
                let work = fix_probe_work(app, &ids, files).through(remote.cloned());
                self.jobs.probe(work, None);
            }
            Effect::Validate(changed) => {
                if let Some(nginx) = app.validate_with.clone() {
                    // The job gets its own copy of the loaded configuration.
                    let copy = crate::fix::engine::reanalyze(&app.model, &loaded_texts(app));
                    self.jobs.validate(copy, changed, nginx);
                }
            }
            Effect::Reload => {
                if self.opts.source.rereadable() {
                    self.reload();
                } else {
                    // A pipe cannot be read twice: say so rather than
                    // ignore the key.
                    app.set_status(
                        true,
                        "standard input cannot be read again: run the command again to reload",
                    );
                }
            }
        }
        Ok(())
    }
}

/// The text of every loaded file, in file order.
fn loaded_texts(app: &App) -> Vec<Vec<u8>> {
    app.model
        .config
        .files
        .iter()
        .map(|f| f.text.clone())
        .collect()
}

/// The what-if probe of the previewed fix (`P` on the diff): the peers of
/// the hops `ids` (as loaded) in the fixed configuration. Each hop's id as
/// loaded and as fixed is kept on `app`, so the results show each peer
/// before → after where the hop was probed before.
pub fn fix_probe_work(
    app: &mut App,
    ids: &[String],
    files: crate::probe::LocalFiles,
) -> crate::probe::Prepared {
    let mut texts = loaded_texts(app);
    for (id, new) in &app.diff.changed {
        texts[id.0 as usize].clone_from(new);
    }
    let after = crate::fix::engine::reanalyze(&app.model, &texts);
    app.fix_probe_hops = ids
        .iter()
        .filter_map(|id| {
            let a = crate::fix::engine::ids_after(&app.model, &after, std::slice::from_ref(id));
            a.into_iter().next().map(|a| (id.clone(), a))
        })
        .collect();
    let fixed: Vec<String> = app.fix_probe_hops.iter().map(|(_, a)| a.clone()).collect();
    crate::probe::prepare(&after, &fixed, files)
}

/// What a key press asks of the app.
fn key_effects(app: &mut App, k: event::KeyEvent) -> Vec<Effect> {
    let ctrl_c =
        k.code == event::KeyCode::Char('c') && k.modifiers.contains(event::KeyModifiers::CONTROL);
    let ctrl_z =
        k.code == event::KeyCode::Char('z') && k.modifiers.contains(event::KeyModifiers::CONTROL);
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
        match app.action_for_key(k) {
            Some(a) => app.update(a),
            None => Vec::new(),
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
