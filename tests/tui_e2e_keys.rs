//! Keys in a REAL terminal (tmux): the help popup opens, scrolls, ignores
//! the keys of the screen behind it and closes with `q` while the app goes
//! on running; the filter's readline keys (Ctrl-W, Ctrl-U, Ctrl-A/E,
//! Home/End) edit the text as a terminal sends them, and the hop list
//! narrows as the text says.
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;

use tui_tmux::{assert_terminal_usable, hopscope, sh_quote, tmux_or_skip, wrapped, Tmux};

/// The footer (the last line) of a screen.
fn footer(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

/// Waits until the footer starts with `/` and the filter `text` (the
/// cursor is drawn after it), while the typing keys are shown.
fn typed(t: &Tmux, text: &str) -> String {
    let want = format!("/{text}");
    t.wait_for(&format!("the filter reads {want:?}"), |s| {
        s.lines().any(|l| {
            l.starts_with(&want)
                && l[want.len()..].trim_start().starts_with("Enter keep")
                && l.contains("^W delete word")
        })
    })
}

#[test]
fn the_help_popup_scrolls_and_q_closes_it_while_the_app_runs_on() {
    if !tmux_or_skip() {
        return;
    }
    let t = Tmux::start(80, 24, &wrapped(&sh_quote(hopscope())));
    t.wait_text("Hops (17)");
    let screen = t.key_then("?", "Esc/?/q close · j/k scroll");
    assert!(screen.contains("hops screen (this screen)"), "{screen}");
    // The list's own keys do nothing behind the help: `s` does not sort,
    // `/` starts no filter. `j` scrolls the help.
    t.keys(&["s", "/", "j", "j", "j"]);
    let screen = t.wait_gone("While this help is open");
    assert!(screen.contains("Esc/?/q close"), "{screen}");
    assert!(!screen.contains("sorted by"), "{screen}");
    // To the end: the last screen's section.
    t.key_then("G", "── messages screen ──");
    // q closes the help; the app is still there and answers keys.
    let screen = t.key_then("q", "Hops (17)");
    assert!(!screen.contains("Esc/?/q close"), "{screen}");
    assert!(
        !screen.contains("AFTER-"),
        "q in help quit the app: {screen}"
    );
    assert!(!screen.contains("filter:"), "/ reached the list: {screen}");
    let screen = t.key_then("s", "sorted by severity");
    assert!(footer(&screen).contains("sorted by severity"), "{screen}");
    // With help closed, q quits as always.
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    assert_terminal_usable(&t);
}

#[test]
fn readline_keys_edit_the_filter_in_a_real_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let t = Tmux::start(100, 30, &wrapped(&sh_quote(hopscope())));
    t.wait_text("Hops (17)");
    t.key_then("/", "Enter keep");
    t.type_text("ments");
    typed(&t, "ments");
    // Ctrl-A: to the start, where typing goes in front.
    t.keys(&["C-a"]);
    t.type_text("pay");
    typed(&t, "payments");
    t.wait_text("(3/17)");
    // Ctrl-E: to the end; a word no hop has empties the list.
    t.keys(&["C-e"]);
    t.type_text(" zzz");
    typed(&t, "payments zzz");
    t.wait_text("(0/17)");
    // Ctrl-W deletes that word: the three payments hops are back.
    t.keys(&["C-w"]);
    t.wait_text("(3/17)");
    // Home and End move too.
    t.keys(&["Home"]);
    t.type_text("api ");
    typed(&t, "api payments");
    t.keys(&["End"]);
    t.type_text("x");
    typed(&t, "api payments x");
    t.wait_text("(0/17)");
    // Ctrl-U clears all before the cursor: every hop again.
    t.keys(&["C-u"]);
    t.wait_for("the whole list", |s| {
        s.contains("Hops (17)") && footer(s).starts_with("/ ")
    });
    t.type_text("sni-ip-literal");
    t.wait_text("(1/17)");
    t.keys(&["Enter"]);
    let screen = t.wait_gone("Enter keep");
    assert!(screen.contains("ingest.conf"), "{screen}");
    assert!(footer(&screen).contains("? help"), "{screen}");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    assert_terminal_usable(&t);
}
