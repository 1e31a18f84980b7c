//! The one keymap: every binding with the screens it works on and what it
//! does. Key handling, the footer hints and the `?` overlay all read this
//! table, so the help can never drift from the real bindings.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Action, Screen};

/// One binding.
pub struct Binding {
    /// Shown in help (`j/↓`).
    pub keys: &'static str,
    pub codes: &'static [KeyCode],
    pub ctrl: bool,
    pub action: Action,
    /// Screens where it applies (empty: everywhere).
    pub screens: &'static [Screen],
    pub desc: &'static str,
    /// Shown in the footer of its screens.
    pub hint: bool,
    /// The footer's word for it.
    pub short: &'static str,
}

use KeyCode::*;
use Screen::*;

const LISTS: &[Screen] = &[List, Detail, Source, Fix, Diff, Explain, Rules, Errors];

pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: "j/↓",
        codes: &[Char('j'), Down],
        ctrl: false,
        action: Action::Down,
        screens: LISTS,
        desc: "move down",
        hint: false,
        short: "",
    },
    Binding {
        keys: "k/↑",
        codes: &[Char('k'), Up],
        ctrl: false,
        action: Action::Up,
        screens: LISTS,
        desc: "move up",
        hint: false,
        short: "",
    },
    Binding {
        keys: "PgDn/^d",
        codes: &[PageDown],
        ctrl: false,
        action: Action::PageDown,
        screens: LISTS,
        desc: "page down",
        hint: false,
        short: "",
    },
    Binding {
        keys: "",
        codes: &[Char('d')],
        ctrl: true,
        action: Action::PageDown,
        screens: LISTS,
        desc: "page down",
        hint: false,
        short: "",
    },
    Binding {
        keys: "PgUp/^u",
        codes: &[PageUp],
        ctrl: false,
        action: Action::PageUp,
        screens: LISTS,
        desc: "page up",
        hint: false,
        short: "",
    },
    Binding {
        keys: "",
        codes: &[Char('u')],
        ctrl: true,
        action: Action::PageUp,
        screens: LISTS,
        desc: "page up",
        hint: false,
        short: "",
    },
    Binding {
        keys: "g/Home",
        codes: &[Char('g'), Home],
        ctrl: false,
        action: Action::Top,
        screens: LISTS,
        desc: "first line",
        hint: false,
        short: "",
    },
    Binding {
        keys: "G/End",
        codes: &[Char('G'), End],
        ctrl: false,
        action: Action::Bottom,
        screens: LISTS,
        desc: "last line",
        hint: false,
        short: "",
    },
    Binding {
        keys: "Enter",
        codes: &[Enter],
        ctrl: false,
        action: Action::Open,
        screens: &[List],
        desc: "open the hop: settings, SNI, findings",
        hint: true,
        short: "open",
    },
    Binding {
        keys: "Enter",
        codes: &[Enter],
        ctrl: false,
        action: Action::Open,
        screens: &[Detail],
        desc: "go to the source of the selected line, or explain the finding",
        hint: true,
        short: "open",
    },
    Binding {
        keys: "Enter",
        codes: &[Enter],
        ctrl: false,
        action: Action::Open,
        screens: &[Rules],
        desc: "explain the rule",
        hint: true,
        short: "explain",
    },
    Binding {
        keys: "/",
        codes: &[Char('/')],
        ctrl: false,
        action: Action::StartFilter,
        screens: &[List],
        desc: "filter hops by name, rule, file or SNI",
        hint: true,
        short: "filter",
    },
    Binding {
        keys: "s",
        codes: &[Char('s')],
        ctrl: false,
        action: Action::CycleSort,
        screens: &[List],
        desc: "sort by file, severity or server",
        hint: true,
        short: "sort",
    },
    Binding {
        keys: "f",
        codes: &[Char('f')],
        ctrl: false,
        action: Action::StartFix,
        screens: &[List, Detail],
        desc: "fix: pick fixes for this hop",
        hint: true,
        short: "fix",
    },
    Binding {
        keys: "F",
        codes: &[Char('F')],
        ctrl: false,
        action: Action::StartFixAll,
        screens: &[List, Detail],
        desc: "fix: pick among all fixable findings",
        hint: false,
        short: "",
    },
    Binding {
        keys: "o",
        codes: &[Char('o')],
        ctrl: false,
        action: Action::GoSource,
        screens: &[List, Detail],
        desc: "source of the hop's pass directive",
        hint: true,
        short: "source",
    },
    Binding {
        keys: "n",
        codes: &[Char('n')],
        ctrl: false,
        action: Action::NextMark,
        screens: &[Source],
        desc: "next line of the inheritance chain",
        hint: true,
        short: "next in chain",
    },
    Binding {
        keys: "N",
        codes: &[Char('N')],
        ctrl: false,
        action: Action::PrevMark,
        screens: &[Source],
        desc: "previous line of the inheritance chain",
        hint: true,
        short: "prev",
    },
    Binding {
        keys: "x",
        codes: &[Char('x')],
        ctrl: false,
        action: Action::Explain,
        screens: &[Detail, Fix],
        desc: "explain the selected finding's rule",
        hint: true,
        short: "explain",
    },
    Binding {
        keys: "R",
        codes: &[Char('R')],
        ctrl: false,
        action: Action::ShowRules,
        screens: &[List, Detail],
        desc: "all rules, to learn the pitfalls",
        hint: false,
        short: "",
    },
    Binding {
        keys: "E",
        codes: &[Char('E')],
        ctrl: false,
        action: Action::ShowErrors,
        screens: &[List],
        desc: "configuration load errors",
        hint: false,
        short: "",
    },
    Binding {
        keys: "Space",
        codes: &[Char(' ')],
        ctrl: false,
        action: Action::Toggle,
        screens: &[Fix],
        desc: "select or unselect the fix",
        hint: true,
        short: "select",
    },
    Binding {
        keys: "p",
        codes: &[Char('p')],
        ctrl: false,
        action: Action::TogglePlacement,
        screens: &[Fix],
        desc: "put the fix in the hop's block or the defining block",
        hint: true,
        short: "placement",
    },
    Binding {
        keys: "e",
        codes: &[Char('e')],
        ctrl: false,
        action: Action::EditValue,
        screens: &[Fix],
        desc: "type a value the fix needs (host name, CA file)",
        hint: true,
        short: "value",
    },
    Binding {
        keys: "d/Enter",
        codes: &[Char('d'), Enter],
        ctrl: false,
        action: Action::Preview,
        screens: &[Fix],
        desc: "preview the unified diff of the selected fixes",
        hint: true,
        short: "diff",
    },
    Binding {
        keys: "c",
        codes: &[Char('c')],
        ctrl: false,
        action: Action::Copy,
        screens: &[Diff],
        desc: "copy the diff (clipboard, or OSC 52 over SSH)",
        hint: true,
        short: "copy",
    },
    Binding {
        keys: "w",
        codes: &[Char('w')],
        ctrl: false,
        action: Action::Save,
        screens: &[Diff],
        desc: "save: atomic write with a backup",
        hint: true,
        short: "save",
    },
    Binding {
        keys: "Esc/⌫",
        codes: &[Esc, Backspace],
        ctrl: false,
        action: Action::Back,
        screens: &[Detail, Source, Fix, Diff, Explain, Rules, Errors],
        desc: "back",
        hint: true,
        short: "back",
    },
    Binding {
        keys: "r",
        codes: &[Char('r')],
        ctrl: false,
        action: Action::Reload,
        screens: &[List],
        desc: "reload the configuration",
        hint: false,
        short: "",
    },
    Binding {
        keys: "?",
        codes: &[Char('?')],
        ctrl: false,
        action: Action::Help,
        screens: &[],
        desc: "keys of this screen",
        hint: true,
        short: "keys",
    },
    Binding {
        keys: "q",
        codes: &[Char('q')],
        ctrl: false,
        action: Action::Quit,
        screens: &[],
        desc: "quit",
        hint: true,
        short: "quit",
    },
    Binding {
        keys: "",
        codes: &[Char('c')],
        ctrl: true,
        action: Action::Quit,
        screens: &[],
        desc: "quit",
        hint: false,
        short: "quit",
    },
];

/// The action a key triggers on a screen.
pub fn action_for(screen: Screen, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    KEYMAP
        .iter()
        .find(|b| {
            b.ctrl == ctrl
                && b.codes.contains(&key.code)
                && (b.screens.is_empty() || b.screens.contains(&screen))
        })
        .map(|b| b.action)
}

/// The bindings that apply to a screen, for help and hints.
pub fn bindings(screen: Screen) -> impl Iterator<Item = &'static Binding> {
    KEYMAP.iter().filter(move |b| {
        !b.keys.is_empty() && (b.screens.is_empty() || b.screens.contains(&screen))
    })
}
