//! The tour in a REAL terminal (tmux), driven like a person: `hopscope`
//! with no path starts the built-in demo, `t` opens the tour, every step
//! is walked forward (each title must appear) and back to the first, `f`
//! on a step opens its fixes with the SNI before → after, and `P` on the
//! demo probes nothing.
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;

use hopscope::tour::STEPS;
use tui_tmux::{assert_terminal_usable, hopscope, sh_quote, tmux_or_skip, wrapped, Tmux};

/// Waits until the tour shows step `i` (0-based): its counter and title.
fn at_step(t: &Tmux, i: usize) -> String {
    let counter = format!("Tour {}/{} ·", i + 1, STEPS.len());
    let title = STEPS[i].title;
    t.wait_for(&format!("{counter} {title}"), |s| {
        s.contains(&counter) && s.contains(title)
    })
}

#[test]
fn the_tour_walks_every_pitfall_and_opens_a_fix_in_a_real_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let t = Tmux::start(120, 40, &wrapped(&sh_quote(hopscope())));
    t.wait_text("Hops (17)");
    // The demo offers its tour in the list footer.
    t.wait_text(" t tour ");
    t.keys(&["t"]);
    at_step(&t, 0);
    // Forward through every step, with each of the three keys.
    let forward = ["n", "Right", "Space"];
    for i in 1..STEPS.len() {
        t.keys(&[forward[i % forward.len()]]);
        let screen = at_step(&t, i);
        // The step's hop: its file is named over its lines.
        let file = STEPS[i].hop.split(':').next().unwrap();
        assert!(screen.contains(file), "step {i}: {file}\n{screen}");
        assert!(!screen.contains('`'), "step {i}: raw backticks\n{screen}");
    }
    // The end stops the tour, and says so.
    t.key_then("n", "that was the last pitfall");
    at_step(&t, STEPS.len() - 1);
    // Back to the first, with both keys.
    for i in (0..STEPS.len() - 1).rev() {
        t.keys(&[if i % 2 == 0 { "p" } else { "Left" }]);
        at_step(&t, i);
    }
    t.key_then("p", "this is the first pitfall");
    // The second step's fix: its name, ignored today, is sent after it.
    t.keys(&["n"]);
    at_step(&t, 1);
    let screen = t.key_then("f", "What this fix does");
    assert!(screen.contains("conf.d/api-gateway.conf:26"), "{screen}");
    t.wait_text("SNI: none → api.example.com");
    // Back in the tour; Enter opens the step's hop.
    t.keys(&["Escape"]);
    at_step(&t, 1);
    t.key_then("Enter", "Hop conf.d/api-gateway.conf:26");
    // The demo is never probed.
    t.keys(&["Escape"]);
    at_step(&t, 1);
    t.key_then("Escape", "Hops (17)");
    t.key_then("P", "the built-in demo is not on a network");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    assert_terminal_usable(&t);
}
