//! Work that takes time, away from the terminal: loading a source (and
//! loading it again), running the rules on what was loaded, probing peers,
//! saving files here or on a server.
//!
//! [`Source`] is the one way to load a configuration, for the command line
//! (which waits for it) and the terminal UI (which does not). The UI starts
//! jobs through [`Jobs`]; each reports back once, as an [`Event::Done`], on
//! the same channel as the terminal's keys, mouse and resizes and the
//! signals that end the UI (see [`events`]), so the UI's loop waits on one
//! channel for whatever comes next. A job that panics (a bug) still reports:
//! its result says so.
//!
//! Sits below `tui` and `cli`, above `conf`, `model`, `fix`, `probe` and
//! `remote`.

pub mod events;
mod source;
pub mod version;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

pub use events::Event;
pub use source::{fetch, fetch_exec, load_dump, LoadFailure, Source};

use crate::changed::ChangedFile;
use crate::fix::save::{save_all, Saved};
use crate::model::{Model, Version};
use crate::probe::{PeerResult, Prepared};
use crate::remote::Remote;

/// What a finished job reports.
pub enum Done {
    /// A load or reload: the analysed model, or why not.
    Loaded(Result<Box<Model>, LoadFailure>),
    /// A probe: the hop ids it was asked for (None: the what-if probe of a
    /// previewed fix) and its results (None: it stopped unexpectedly).
    Probed {
        asked: Option<Vec<String>>,
        results: Option<Vec<PeerResult>>,
    },
    /// A save, here or on the server: what was written (one note per
    /// file, or one for the server), or why nothing was.
    Saved(Result<Vec<String>, String>),
    /// `nginx -t` before a save here: what it said, or why it could not
    /// test.
    Validated(Result<crate::fix::validate::Verdict, String>),
    /// The rules on a loaded model: the generation they were asked for
    /// (a newer model makes older results stale) and what they found, or
    /// why not.
    Checked {
        generation: u64,
        result: Result<Checked, String>,
    },
}

/// What the rules found on a model, after the project file's settings.
pub struct Checked {
    /// The findings shown (suppressed ones included, marked).
    pub findings: Vec<crate::diagnostic::Finding>,
    /// How many findings the project file hides.
    pub hidden: usize,
}

/// What to load.
pub enum Load {
    /// A source, read (again).
    Source(Source),
    /// A server's `nginx -T` output, fetched already and held in memory.
    Dump(Vec<u8>),
    /// Fault injection for tests/tui_faults.rs: the job panics.
    #[doc(hidden)]
    Panic,
}

thread_local! {
    /// The panic message of a job's thread, kept by [`remember_panic`].
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Called by a panic hook on a job's thread: the job's report quotes it.
pub fn remember_panic(message: String) {
    PANIC.with(|p| *p.borrow_mut() = Some(message));
}

fn take_panic() -> String {
    PANIC
        .with(|p| p.borrow_mut().take())
        .unwrap_or_else(|| "a panic".into())
}

/// Starts jobs; each reports on the channel [`Jobs::new`] returned.
pub struct Jobs {
    tx: Sender<Event>,
}

impl Jobs {
    /// The jobs and the one channel their reports (and the terminal's
    /// events, see [`events`]) arrive on.
    pub fn new() -> (Jobs, Receiver<Event>) {
        let (tx, rx) = mpsc::channel();
        (Jobs { tx }, rx)
    }

    /// Another sender on the channel, for an event source.
    pub fn sender(&self) -> Sender<Event> {
        self.tx.clone()
    }

    /// Runs `work` on its own thread and reports what `done` makes of its
    /// result, or of its panic's message.
    fn spawn<T>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce(Result<T, String>) -> Done + Send + 'static,
    ) {
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(work)).map_err(|_| take_panic());
            let _ = tx.send(Event::Done(done(result)));
        });
    }

    /// Loads and analyses for `version` (None: the version the source
    /// tells); a panic (a bug) is reported as a load failure.
    pub fn load(&self, what: Load, version: Option<Version>, root: Option<std::path::PathBuf>) {
        self.spawn(
            move || match what {
                Load::Source(source) => source.load_rooted(version, root.as_deref()).map(Box::new),
                Load::Dump(dump) => load_dump(dump, version)
                    .map(|mut m| {
                        m.config.root = root;
                        m
                    })
                    .map(Box::new),
                Load::Panic => panic!("fault injected by HOPSCOPE_TEST_PANIC=load"),
            },
            |r| Done::Loaded(r.unwrap_or_else(|what| Err(LoadFailure::Crashed(what)))),
        );
    }

    /// Runs the rules (`work`) away from the terminal, so the hops show
    /// while they run; `generation` comes back with what they found.
    pub fn check(&self, generation: u64, work: impl FnOnce() -> Checked + Send + 'static) {
        self.spawn(work, move |r| Done::Checked {
            generation,
            result: r.map_err(|what| format!("the rules stopped unexpectedly: {what}")),
        });
    }

    /// Probes a prepared set of peers; `asked` comes back with the results.
    pub fn probe(&self, work: Prepared, asked: Option<Vec<String>>) {
        self.spawn(
            move || work.run(crate::probe::Options::default()),
            |r| Done::Probed {
                asked,
                results: r.ok(),
            },
        );
    }

    /// Runs `nginx -t` on test copies of `model` unchanged and with
    /// `changed` (see [`crate::fix::validate::before_write`]).
    pub fn validate(
        &self,
        model: Model,
        changed: Vec<(crate::conf::FileId, Vec<u8>)>,
        nginx: PathBuf,
    ) {
        self.spawn(
            move || {
                crate::fix::validate::before_write(&model, &changed, &nginx)
                    .map_err(|e| e.to_string())
            },
            |r| {
                Done::Validated(
                    r.unwrap_or_else(|_| Err("the nginx -t check stopped unexpectedly".into())),
                )
            },
        );
    }

    /// Saves files on this machine, all or none (atomically, with backups,
    /// refusing files changed since loading).
    pub fn save(&self, files: Vec<ChangedFile<PathBuf>>) {
        self.spawn(
            move || {
                save_all(&files)
                    .map(|saved| {
                        // Results come in the order of the files.
                        files
                            .iter()
                            .zip(&saved)
                            .map(|(f, s)| saved_note(&f.name, s))
                            .collect()
                    })
                    .map_err(|e| e.to_string())
            },
            |r| {
                Done::Saved(r.unwrap_or_else(|_| {
                    Err("the save stopped unexpectedly: look for .hopscope.bak files".into())
                }))
            },
        );
    }

    /// Writes fixed files on the server (backups, `nginx -t`, every file put
    /// back if it fails); nginx is not reloaded.
    pub fn save_remote(&self, remote: Remote, files: Vec<ChangedFile<String>>) {
        self.spawn(
            move || remote_save(&remote, &files),
            |r| {
                Done::Saved(r.unwrap_or_else(|_| {
                    Err("the write on the server stopped unexpectedly: look for .hopscope.bak files there".into())
                }))
            },
        );
    }
}

/// How a save is reported: the file as the configuration names it, and
/// its backup, short when it sits next to the file (`.hopscope.bak`: the
/// file's name plus that suffix).
fn saved_note(name: &str, saved: &Saved) -> String {
    let backup = saved.backup.to_string_lossy();
    let backup = backup
        .strip_prefix(saved.path.to_string_lossy().as_ref())
        .map(|suffix| suffix.to_string())
        .unwrap_or_else(|| backup.to_string());
    format!("{name} (backup {backup})")
}

/// The write on the server, and what the status line says of it (each
/// file and its backup, and `nginx -t`'s verdict).
fn remote_save(remote: &Remote, files: &[ChangedFile<String>]) -> Result<Vec<String>, String> {
    // Kept short: the status line also says how the findings changed.
    crate::remote::apply(remote, files, false)
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
        .map_err(|e| e.to_string())
}
