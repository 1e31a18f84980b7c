//! The tables: every binding of every screen, and the keys of the help
//! overlay. What a key does, where, and how the footer and help name it.

use crossterm::event::KeyCode::*;

use super::{key, Binding, LISTS, READING};
use crate::tui::action::Action;
use crate::tui::action::Screen::*;

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
    .hint("open")
    .prio(1),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[Detail],
        "go to the source of the selected line, or explain the finding",
    )
    .hint("open")
    .prio(1),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[Rules],
        "explain the rule",
    )
    .hint("explain")
    .prio(1),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[Tour],
        "open the step's hop: settings, SNI, findings",
    )
    .hint("hop"),
    key(
        "t",
        &[Char('t')],
        Action::Tour,
        &[List, Detail],
        "tour of the SNI pitfalls, one demo hop at a time",
    )
    .hint("tour")
    .prio(1)
    .on_demo(),
    key(
        "n/→/Space",
        &[Char('n'), Right, Char(' ')],
        Action::TourNext,
        &[Tour],
        "next pitfall",
    )
    .hint("next"),
    key(
        "p/←",
        &[Char('p'), Left],
        Action::TourPrev,
        &[Tour],
        "previous pitfall",
    )
    .hint("prev"),
    key(
        "Enter",
        &[Enter],
        Action::Open,
        &[Errors],
        "open the error's file at its line",
    )
    .hint("open"),
    key(
        "/",
        &[Char('/')],
        Action::StartFilter,
        &[List],
        "filter hops by name, rule, file or SNI",
    )
    .hint("filter")
    .prio(1),
    key(
        "/",
        &[Char('/')],
        Action::StartSearch,
        READING,
        "search this view: matches are marked, Enter keeps the search, Esc while typing cancels it",
    )
    .hint("search")
    .prio(2),
    key(
        "s",
        &[Char('s')],
        Action::CycleSort,
        &[List],
        "sort by file, severity or server",
    )
    .hint("sort")
    .prio(3),
    key(
        "f",
        &[Char('f')],
        Action::StartFix,
        &[List, Detail, Tour],
        "fix: pick fixes for this hop",
    )
    .hint("fix")
    .prio(2),
    key(
        "F",
        &[Char('F')],
        Action::StartFixAll,
        &[List, Detail],
        "fix: pick among the fixes of every hop listed (the filter's, when one is kept)",
    )
    .hint("fix all")
    .prio(4),
    key(
        "o",
        &[Char('o')],
        Action::GoSource,
        &[List, Detail],
        "source of the hop's pass directive",
    )
    .hint("source")
    .prio(4),
    key(
        "n",
        &[Char('n')],
        Action::NextMark,
        &[Source],
        "next match while a search is kept (Esc clears it); else the next line of the hop's chain, down towards the hop (into other files too)",
    )
    .hint("next")
    .prio(3),
    key(
        "N",
        &[Char('N')],
        Action::PrevMark,
        &[Source],
        "previous match while a search is kept; else the previous line of the hop's chain, back out towards http",
    )
    .hint("prev")
    .prio(4),
    key(
        "n",
        &[Char('n')],
        Action::SearchNext,
        &[Detail, Explain],
        "next match of the search",
    )
    .hint("next match")
    .prio(1)
    .on_search(),
    key(
        "N",
        &[Char('N')],
        Action::SearchPrev,
        &[Detail, Explain],
        "previous match of the search",
    )
    .hint("prev")
    .prio(3)
    .on_search(),
    key(
        "x",
        &[Char('x')],
        Action::Explain,
        &[Detail, Fix],
        "explain the selected finding's rule",
    )
    .hint("explain")
    .prio(2),
    key(
        "R",
        &[Char('R')],
        Action::ShowRules,
        &[List, Detail],
        "all rules, to learn the pitfalls",
    )
    .hint("rules")
    .prio(2),
    key(
        "E",
        &[Char('E')],
        Action::ShowErrors,
        &[List, Detail, Source, Fix, Diff, Explain, Rules, Messages],
        "configuration load errors",
    )
    .hint("errors")
    .prio(2)
    .on_errors(),
    key(
        "Space",
        &[Char(' ')],
        Action::Toggle,
        &[Fix],
        "put the fix in the basket or take it out (kept across hops)",
    )
    .hint("select")
    .prio(1),
    key(
        "a",
        &[Char('a')],
        Action::ToggleAll,
        &[Fix],
        "select every fix listed, or none when all are selected",
    )
    .hint("all/none"),
    key(
        "p",
        &[Char('p')],
        Action::TogglePlacement,
        &[Fix],
        "put the fix in the hop's block or the defining block",
    )
    .hint("placement")
    .prio(3),
    key(
        "e",
        &[Char('e')],
        Action::EditValue,
        &[Fix],
        "type a value the fix needs (host name, CA file)",
    )
    .hint("value")
    .prio(2),
    key(
        "d/Enter",
        &[Char('d'), Enter],
        Action::Preview,
        &[Fix],
        "preview one diff of every fix in the basket, all hops and files",
    )
    .hint("diff")
    .prio(1),
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
    .hint("take all")
    .prio(3),
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
    .hint("copy")
    .prio(3),
    key(
        "w",
        &[Char('w')],
        Action::Save,
        &[Diff],
        "save: atomic write with a backup",
    )
    .hint("save")
    .prio(1),
    key(
        "Esc/⌫",
        &[Esc, Backspace],
        Action::Back,
        &[Fix, Diff, Rules, Errors, Messages, Tour],
        "back",
    )
    .hint("back")
    .prio(0),
    key(
        "Esc/⌫",
        &[Esc, Backspace],
        Action::Back,
        READING,
        "back; while a search is kept, clear the search first",
    )
    .hint("back")
    .prio(0),
    key("Esc", &[Esc], Action::Back, &[List], "clear the filter"),
    key(
        "P",
        &[Char('P')],
        Action::Probe,
        &[List, Detail],
        "probe: a handshake with the hop's peers, as nginx would make it",
    )
    .hint("probe")
    .prio(3),
    key(
        "P",
        &[Char('P')],
        Action::Probe,
        &[Diff],
        "probe the fixed hops as they would connect after the fix (nothing is written)",
    )
    .hint("probe fix")
    .prio(3),
    key(
        "r",
        &[Char('r')],
        Action::Reload,
        &[List],
        "reload the configuration",
    )
    .hint("reload")
    .prio(4),
    key(
        "M",
        &[Char('M')],
        Action::ShowMessages,
        &[],
        "messages: every status line so far, newest first",
    )
    .hint("messages")
    .prio(6),
    key(
        "?",
        &[Char('?')],
        Action::Help,
        &[],
        "help: the keys of every screen",
    )
    .hint("help")
    .prio(0),
    key("q", &[Char('q')], Action::Quit, &[], "quit")
        .hint("quit")
        .prio(0),
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

/// The keys while the help overlay is open. Every other key is ignored
/// there, so nothing happens behind the help by accident, and `q` closes
/// it rather than quitting.
pub const HELP: &[Binding] = &[
    key(
        "Esc/?/q",
        &[Esc, Char('?'), Char('q')],
        Action::Help,
        &[],
        "close the help (q never quits here)",
    )
    .hint("close"),
    key("j/k", &[Char('j'), Down], Action::Down, &[], "scroll down").hint("scroll"),
    key("", &[Char('k'), Up], Action::Up, &[], "scroll up"),
    key(
        "PgDn/PgUp",
        &[PageDown],
        Action::PageDown,
        &[],
        "scroll a page",
    ),
    key("", &[PageUp], Action::PageUp, &[], "scroll a page up"),
    key(
        "g/G",
        &[Char('g'), Home],
        Action::Top,
        &[],
        "first and last line",
    ),
    key("", &[Char('G'), End], Action::Bottom, &[], "last line"),
    key("Ctrl-C", &[Char('c')], Action::Quit, &[], "quit the app").ctrl(),
    key(
        "Ctrl-Z",
        &[Char('z')],
        Action::Suspend,
        &[],
        "suspend to the shell",
    )
    .ctrl(),
];
