//! The hop list of a large tree in a REAL terminal (tmux): the hops show
//! while the rules run, the findings fill in once they have, and a key
//! that needs them (`F`, every fix), pressed as soon as the hops show,
//! waits for them instead of being lost.
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;

#[path = "../benches/support/generator.rs"]
mod generator;

use tui_tmux::{hopscope, sh_quote, tmux_or_skip, wrapped, Tmux};

/// A generated tree in its own directory, removed afterwards.
struct Tree(std::path::PathBuf);

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_findings_fill_in_and_a_key_that_needs_them_waits() {
    if !tmux_or_skip() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hopscope-pending-{}", std::process::id()));
    let tree = Tree(dir);
    generator::generate(&generator::Options::new(20_000, 40, 7))
        .write_to(&tree.0)
        .expect("write the generated tree");
    let conf = tree.0.join("nginx.conf");
    let cmd = format!(
        "{} {}",
        sh_quote(hopscope()),
        sh_quote(&conf.to_string_lossy())
    );
    let t = Tmux::start(120, 30, &wrapped(&cmd));
    t.wait_text("Hops (");
    t.keys(&["F"]);
    // The fix screen opens once the findings are known, whenever that is.
    let screen = t.wait_text("│ fix ");
    assert!(!screen.contains("checking…"), "{screen}");
    let header = screen.lines().next().unwrap_or_default();
    assert!(
        header.contains(" findings ") && !header.contains("no findings"),
        "{screen}"
    );
    t.keys(&["Escape"]);
    let screen = t.wait_text("Hops (");
    assert!(!screen.contains("│ …"), "every hop has its badge: {screen}");
}
