//! The one channel the terminal UI waits on: what the person does (keys,
//! the mouse, resizes, from an input thread), the signals that end the UI,
//! and what jobs report.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::mpsc::Sender;
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};

use super::Done;

/// Whatever the terminal UI handles next.
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    /// The terminal changed size.
    Resize,
    /// The terminal cannot be read any more (e.g. it hung up).
    InputFailed(io::Error),
    /// SIGTERM, SIGINT or SIGHUP arrived.
    Signal(i32),
    /// A job finished.
    Done(Done),
}

/// How often the input thread, with no input, makes sure the terminal is
/// still there.
const WATCH: Duration = Duration::from_millis(250);

/// Reads the terminal (the terminal itself, even when standard input is a
/// pipe) on its own thread until it fails or nobody listens. A terminal
/// that hangs up (an SSH connection drops) reads as endless silence, so
/// while nothing comes the thread checks every [`WATCH`] that the terminal
/// still takes output, and reports [`Event::InputFailed`] once it does not.
pub fn spawn_input(tx: Sender<Event>) {
    let out = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from);
    std::thread::spawn(move || loop {
        let event = match crossterm::event::poll(WATCH) {
            Ok(true) => crossterm::event::read(),
            // An empty write: nothing reaches the screen, but a terminal
            // that hung up refuses it.
            Ok(false) => match out.as_ref().map(|mut f| f.write(&[])) {
                Ok(Err(e)) => Err(e),
                _ => continue,
            },
            Err(e) => Err(e),
        };
        let event = match event {
            Ok(crossterm::event::Event::Key(k)) => Event::Key(k),
            Ok(crossterm::event::Event::Mouse(m)) => Event::Mouse(m),
            Ok(crossterm::event::Event::Resize(..)) => Event::Resize,
            Ok(_) => continue,
            Err(e) => {
                let _ = tx.send(Event::InputFailed(e));
                return;
            }
        };
        if tx.send(event).is_err() {
            return;
        }
    });
}

/// Reports each of `signals` as an [`Event::Signal`] from its own thread.
pub fn spawn_signals(tx: Sender<Event>, signals: &[i32]) -> io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(signals)?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if tx.send(Event::Signal(sig)).is_err() {
                return;
            }
        }
    });
    Ok(())
}
