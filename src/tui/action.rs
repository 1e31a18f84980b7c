//! What a person asks for ([`Action`]), where they are ([`Screen`]), and
//! the work the runner does for the UI ([`Effect`]).

use std::path::PathBuf;

use crate::changed::ChangedFile;

/// The screens, one at a time, kept on a stack for "back".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Screen {
    List,
    Detail,
    Source,
    Fix,
    Diff,
    Explain,
    Rules,
    Errors,
    /// Every status message so far, newest first.
    Messages,
    /// The tour of the demo's pitfalls, one step at a time.
    Tour,
}

impl Screen {
    pub fn title(self) -> &'static str {
        match self {
            Screen::List => "hops",
            Screen::Detail => "hop",
            Screen::Source => "source",
            Screen::Fix => "fix",
            Screen::Diff => "diff",
            Screen::Explain => "explain",
            Screen::Rules => "rules",
            Screen::Errors => "errors",
            Screen::Messages => "messages",
            Screen::Tour => "tour",
        }
    }
}

/// What a person asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    /// Ctrl-Z: stop, giving the terminal back to the shell (`fg` resumes).
    Suspend,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Enter: open what is selected.
    Open,
    Back,
    StartFilter,
    /// `/` in a reading view: type a search.
    StartSearch,
    /// The next (previous) match of the kept search.
    SearchNext,
    SearchPrev,
    /// The log of every status message.
    ShowMessages,
    CycleSort,
    StartFix,
    StartFixAll,
    GoSource,
    NextMark,
    PrevMark,
    Explain,
    ShowRules,
    ShowErrors,
    Toggle,
    /// Put every fix listed in the basket, or, when all are in it, take
    /// them all out.
    ToggleAll,
    TogglePlacement,
    EditValue,
    Preview,
    Copy,
    Save,
    Reload,
    Help,
    /// Handshake with the selected hop's peers as nginx would.
    Probe,
    /// Empty the fix basket.
    ClearBasket,
    /// Apply the follow-ups the previewed fixes create.
    TakeFollowUps,
    /// Move the keys between the diff and its follow-ups.
    FocusFollowUps,
    /// Wrap long diff lines, or let them run off the edge.
    ToggleWrap,
    /// Scroll unwrapped lines sideways.
    ScrollLeft,
    ScrollRight,
    /// Mouse wheel: lines to scroll (negative: up).
    Scroll(i16),
    /// A click on row N of the screen's table (hops, fixes, rules): it
    /// selects the row; on the row already selected it opens it (toggles
    /// a fix).
    Click(usize),
    /// Open the tour of the pitfalls (on the built-in demo).
    Tour,
    /// The tour's next step.
    TourNext,
    /// The tour's previous step.
    TourPrev,
}

/// Work for the runner: it touches the outside world.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Put this text on the clipboard.
    Copy(String),
    /// Write these files safely on this machine.
    Save(Vec<ChangedFile<PathBuf>>),
    /// Write these files on the server (paths as it names them): backups,
    /// `nginx -t`, and every file put back if it fails.
    SaveRemote(Vec<ChangedFile<String>>),
    /// Run `nginx -t` on test copies of the unchanged and the fixed tree
    /// (these files' new contents) before asking to save.
    Validate(Vec<(crate::conf::FileId, Vec<u8>)>),
    /// Load the configuration again.
    Reload,
    /// Probe these hops (ids) of the loaded configuration.
    Probe(Vec<String>),
    /// Probe these hops (ids in the loaded configuration) as they would be
    /// once the previewed fix is applied: the what-if of the fix flow.
    ProbeFixed(Vec<String>),
    /// Give the terminal back and stop until the shell resumes the process.
    Suspend,
}
