//! The one keymap: every binding with the screens it works on and what it
//! does. Key handling, the footer hints and the `?` overlay all read this
//! table, so the help can never drift from the real bindings.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Screen};

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

/// A binding without Ctrl, not in the footer.
const fn key(
    keys: &'static str,
    codes: &'static [KeyCode],
    action: Action,
    screens: &'static [Screen],
    desc: &'static str,
) -> Binding {
    Binding {
        keys,
        codes,
        ctrl: false,
        action,
        screens,
        desc,
        hint: false,
        short: "",
    }
}

impl Binding {
    /// Pressed with Ctrl.
    const fn ctrl(self) -> Binding {
        Binding { ctrl: true, ..self }
    }
    /// Shown in the footer of its screens as `short`.
    const fn hint(self, short: &'static str) -> Binding {
        Binding {
            hint: true,
            short,
            ..self
        }
    }
    /// Its footer word, where it is not shown by default.
    const fn short(self, short: &'static str) -> Binding {
        Binding { short, ..self }
    }
}

pub const KEYMAP: &[Binding] = &[
    key("j/↓", &[Char('j'), Down], Action::Down, LISTS, "move down"),
    key("k/↑", &[Char('k'), Up], Action::Up, LISTS, "move up"),
    key("PgDn/^d", &[PageDown], Action::PageDown, LISTS, "page down"),
    key("", &[Char('d')], Action::PageDown, LISTS, "page down").ctrl(),
    key("PgUp/^u", &[PageUp], Action::PageUp, LISTS, "page up"),
    key("", &[Char('u')], Action::PageUp, LISTS, "page up").ctrl(),
    key(
        "g/Home",
        &[Char('g'), Home],
        Action::Top,
        LISTS,
        "first line",
    ),
    key(
        "G/End",
        &[Char('G'), End],
        Action::Bottom,
        LISTS,
        "last line",
    ),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[List],
        "open the hop: settings, SNI, findings",
    )
    .hint("open"),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[Detail],
        "go to the source of the selected line, or explain the finding",
    )
    .hint("open"),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[Rules],
        "explain the rule",
    )
    .hint("explain"),
    key(
        "/",
        &[Char('/')],
        Action::StartFilter,
        &[List],
        "filter hops by name, rule, file or SNI",
    )
    .hint("filter"),
    key(
        "s",
        &[Char('s')],
        Action::CycleSort,
        &[List],
        "sort by file, severity or server",
    )
    .hint("sort"),
    key(
        "f",
        &[Char('f')],
        Action::StartFix,
        &[List, Detail],
        "fix: pick fixes for this hop",
    )
    .hint("fix"),
    key(
        "F",
        &[Char('F')],
        Action::StartFixAll,
        &[List, Detail],
        "fix: pick among all fixable findings",
    ),
    key(
        "o",
        &[Char('o')],
        Action::GoSource,
        &[List, Detail],
        "source of the hop's pass directive",
    )
    .hint("source"),
    key(
        "n",
        &[Char('n')],
        Action::NextMark,
        &[Source],
        "next line of the hop's chain, down towards the hop (into other files too)",
    )
    .hint("next in chain"),
    key(
        "N",
        &[Char('N')],
        Action::PrevMark,
        &[Source],
        "previous line of the hop's chain, back out towards http",
    )
    .hint("prev"),
    key(
        "x",
        &[Char('x')],
        Action::Explain,
        &[Detail, Fix],
        "explain the selected finding's rule",
    )
    .hint("explain"),
    key(
        "R",
        &[Char('R')],
        Action::ShowRules,
        &[List, Detail],
        "all rules, to learn the pitfalls",
    ),
    key(
        "E",
        &[Char('E')],
        Action::ShowErrors,
        &[List, Detail, Source, Fix, Diff, Explain, Rules],
        "configuration load errors",
    ),
    key(
        "Space",
        &[Char(' ')],
        Action::Toggle,
        &[Fix],
        "put the fix in the basket or take it out (kept across hops)",
    )
    .hint("select"),
    key(
        "p",
        &[Char('p')],
        Action::TogglePlacement,
        &[Fix],
        "put the fix in the hop's block or the defining block",
    )
    .hint("placement"),
    key(
        "e",
        &[Char('e')],
        Action::EditValue,
        &[Fix],
        "type a value the fix needs (host name, CA file)",
    )
    .hint("value"),
    key(
        "d/Enter",
        &[Char('d'), Enter],
        Action::Preview,
        &[Fix],
        "preview one diff of every fix in the basket, all hops and files",
    )
    .hint("diff"),
    key(
        "X",
        &[Char('X')],
        Action::ClearBasket,
        &[List, Detail, Fix, Diff],
        "empty the fix basket (the fixes picked on every hop)",
    )
    .short("clear basket"),
    key(
        "a",
        &[Char('a')],
        Action::TakeFollowUps,
        &[Diff],
        "take every follow-up: fixes for the findings these fixes create",
    )
    .hint("take all"),
    key(
        "Tab",
        &[Tab],
        Action::FocusFollowUps,
        &[Diff],
        "move between the diff and its follow-ups",
    )
    .short("follow-ups"),
    key(
        "Space",
        &[Char(' ')],
        Action::Toggle,
        &[Diff],
        "take the follow-up under the cursor, or drop it",
    ),
    key(
        "z",
        &[Char('z')],
        Action::ToggleWrap,
        &[Diff, Source],
        "wrap long lines, or let them run off the edge",
    )
    .short("wrap"),
    key(
        "H/L ←/→",
        &[Char('H'), Left],
        Action::ScrollLeft,
        &[Diff, Source],
        "scroll sideways, when long lines do not wrap (z)",
    ),
    key(
        "",
        &[Char('L'), Right],
        Action::ScrollRight,
        &[Diff, Source],
        "scroll right",
    ),
    key(
        "c",
        &[Char('c')],
        Action::Copy,
        &[Diff],
        "copy the diff (clipboard, or OSC 52 over SSH)",
    )
    .hint("copy"),
    key(
        "w",
        &[Char('w')],
        Action::Save,
        &[Diff],
        "save: atomic write with a backup",
    )
    .hint("save"),
    key(
        "Esc/⌫",
        &[Esc, Backspace],
        Action::Back,
        &[Detail, Source, Fix, Diff, Explain, Rules, Errors],
        "back",
    )
    .hint("back"),
    key("Esc", &[Esc], Action::Back, &[List], "clear the filter"),
    key(
        "P",
        &[Char('P')],
        Action::Probe,
        &[List, Detail],
        "probe: a handshake with the hop's peers, as nginx would make it",
    )
    .short("probe"),
    key(
        "P",
        &[Char('P')],
        Action::Probe,
        &[Diff],
        "probe the fixed hops as they would connect after the fix (nothing is written)",
    )
    .hint("probe fix"),
    key(
        "r",
        &[Char('r')],
        Action::Reload,
        &[List],
        "reload the configuration",
    ),
    key("?", &[Char('?')], Action::Help, &[], "keys of this screen").hint("keys"),
    key("q", &[Char('q')], Action::Quit, &[], "quit").hint("quit"),
    key(
        "Ctrl-Z",
        &[Char('z')],
        Action::Suspend,
        &[],
        "suspend to the shell (fg comes back)",
    )
    .ctrl()
    .short("suspend"),
    key("", &[Char('c')], Action::Quit, &[], "quit")
        .ctrl()
        .short("quit"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn ctrl_c_quits_and_ctrl_z_suspends_on_every_screen() {
        for screen in [List, Detail, Source, Fix, Diff, Explain, Rules, Errors] {
            assert_eq!(
                action_for(screen, ctrl('c')),
                Some(Action::Quit),
                "{screen:?}"
            );
            assert_eq!(
                action_for(screen, ctrl('z')),
                Some(Action::Suspend),
                "{screen:?}"
            );
        }
    }
}
