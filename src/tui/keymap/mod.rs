//! The one keymap: every binding with the screens it works on and what it
//! does. Key handling, the footer hints and the `?` overlay all read this
//! table, so the help can never drift from the real bindings.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Screen};

mod table;

pub use table::{HELP, KEYMAP};

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
    /// Which footer hints go first on a narrow screen: the highest number
    /// first; 0 is never dropped (back, help, quit).
    pub prio: u8,
    /// When its footer hint shows.
    pub when: When,
}

/// When a footer hint is worth its room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only when the configuration had load errors.
    LoadErrors,
    /// Only while a search is kept in the view.
    Searching,
    /// Only on the built-in demo (the tour runs there).
    Demo,
}

use Screen::*;

/// Every screen.
pub const SCREENS: &[Screen] = &[
    List, Detail, Source, Fix, Diff, Explain, Rules, Errors, Messages, Tour,
];
const LISTS: &[Screen] = SCREENS;
/// The reading views, where `/` searches.
const READING: &[Screen] = &[Detail, Source, Explain];

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
        prio: 5,
        when: When::Always,
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
    /// Its footer priority (0 kept at every width, higher dropped first).
    const fn prio(self, prio: u8) -> Binding {
        Binding { prio, ..self }
    }
    /// Its hint shows only while a search is kept.
    const fn on_search(self) -> Binding {
        Binding {
            when: When::Searching,
            ..self
        }
    }
    /// Its hint shows only on the built-in demo.
    const fn on_demo(self) -> Binding {
        Binding {
            when: When::Demo,
            ..self
        }
    }
    /// Its hint shows only when there were load errors.
    const fn on_errors(self) -> Binding {
        Binding {
            when: When::LoadErrors,
            ..self
        }
    }
}

/// The action a key triggers while the help overlay is open.
pub fn help_action(key: KeyEvent) -> Option<Action> {
    find(HELP, Screen::List, key)
}

/// What the help's title says about closing and scrolling it.
pub fn help_title() -> String {
    HELP.iter()
        .filter(|b| b.hint)
        .map(|b| format!("{} {}", b.keys, b.short))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn find(table: &'static [Binding], screen: Screen, key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    table
        .iter()
        .find(|b| {
            b.ctrl == ctrl
                && b.codes.contains(&key.code)
                && (b.screens.is_empty() || b.screens.contains(&screen))
        })
        .map(|b| b.action)
}

/// The action a key triggers on a screen.
pub fn action_for(screen: Screen, key: KeyEvent) -> Option<Action> {
    find(KEYMAP, screen, key)
}

/// The bindings that work on every screen alike (help lists them once).
pub fn everywhere() -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(|b| !b.keys.is_empty() && (b.screens.is_empty() || b.screens == SCREENS))
}

/// The bindings of a screen's own (help's section for that screen).
pub fn own(screen: Screen) -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(move |b| !b.keys.is_empty() && b.screens != SCREENS && b.screens.contains(&screen))
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
    use KeyCode::*;

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn ctrl_c_quits_and_ctrl_z_suspends_on_every_screen() {
        for &screen in SCREENS {
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
            assert_eq!(help_action(ctrl('c')), Some(Action::Quit));
        }
    }

    #[test]
    fn q_closes_help_and_never_quits() {
        let q = KeyEvent::from(Char('q'));
        assert_eq!(help_action(q), Some(Action::Help));
        assert_eq!(help_action(KeyEvent::from(Esc)), Some(Action::Help));
        assert_eq!(help_action(KeyEvent::from(Char('/'))), None);
        assert_eq!(help_title(), "Esc/?/q close · j/k scroll");
    }

    #[test]
    fn every_screen_keeps_back_help_and_quit_in_its_footer() {
        for &screen in SCREENS {
            let kept: Vec<&str> = bindings(screen)
                .filter(|b| b.hint && b.prio == 0)
                .map(|b| b.short)
                .collect();
            assert!(
                kept.contains(&"help") && kept.contains(&"quit"),
                "{screen:?}"
            );
            assert_eq!(kept.contains(&"back"), screen != List, "{screen:?}");
        }
    }
}
