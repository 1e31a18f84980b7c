//! The fix basket in a REAL terminal (tmux), driven like a person: every
//! selected fix reaches the diff whatever its placement, a long line of a
//! one-line block is visible whole (wrapped, or scrolled to), and the
//! finding a fix creates is offered as a follow-up in the same session.
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;

use std::fs;

use tui_tmux::{
    added_lines, assert_terminal_usable, copy_diff, hopscope, open_hop, sh_quote, tmux_or_skip,
    wrapped, Tmux,
};

/// The rows inside the diff's frame, borders taken off but nothing
/// trimmed, joined: a line wrapped over several rows reads back whole.
fn diff_rows_joined(screen: &str) -> String {
    screen
        .lines()
        .skip_while(|l| !l.contains("Diff ·"))
        .skip(1)
        .take_while(|l| l.starts_with('│'))
        .map(|l| {
            let inner = l.strip_prefix('│').unwrap_or(l);
            inner.strip_suffix('│').unwrap_or(inner).to_string()
        })
        .collect()
}

/// The report's keys on the demo: a host typed, all three fixes of the
/// gateway's pool selected, the last one moved to its defining block. The
/// diff holds `proxy_ssl_verify on` (it used to vanish).
#[test]
fn every_selected_fix_reaches_the_diff_in_a_real_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let t = Tmux::start(120, 40, &wrapped(&sh_quote(hopscope())));
    t.wait_text("Hops (17)");
    open_hop(&t, "conf.d/api-gateway.conf:18");
    t.key_then("f", "Fixes (0 selected of 3)");
    t.key_then("e", "Type the value");
    t.type_text("api.example.com");
    t.key_then("Enter", "value set");
    t.key_then("Space", "Fixes (1 selected of 3)");
    t.keys(&["j"]);
    t.key_then("Space", "Fixes (2 selected of 3)");
    t.keys(&["j"]);
    t.key_then("Space", "Fixes (3 selected of 3)");
    t.key_then("p", "goes into: the block that sets the value today");
    let screen = t.key_then("d", "Diff · 1 file(s)");
    assert!(!screen.contains("not fixed by this diff"), "{screen}");
    let diff = copy_diff(&t, &screen);
    let added = added_lines(&diff);
    for want in [
        "proxy_ssl_verify on;",
        "proxy_ssl_verify_depth 3;",
        "proxy_ssl_server_name on;",
        "proxy_ssl_name api.example.com;",
    ] {
        assert!(added.contains(&want.to_string()), "{want}:\n{diff}");
    }
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
    assert_terminal_usable(&t);
}

/// A location on one line: the verification fix's lines stay on it. In an
/// 80-column terminal the diff wraps the line so its end shows; with
/// wrapping off (`z`), `L` scrolls it into view.
#[test]
fn a_one_line_block_is_visible_whole_in_a_real_terminal() {
    if !tmux_or_skip() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("hopscope-e2e-oneline-")
        .tempdir()
        .unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(
        &conf,
        "events {}\nhttp {\n    server {\n        listen 80;\n        location / { proxy_pass https://api.example.com; proxy_ssl_verify off; }\n    }\n}\n",
    )
    .unwrap();
    // The defaults of one release, whatever nginx this machine has: the
    // test is about what the screen shows, not about version defaults.
    let cmd = format!(
        "{} {} --nginx-version 1.30.4",
        sh_quote(hopscope()),
        sh_quote(&conf.display().to_string())
    );
    let t = Tmux::start(80, 24, &wrapped(&cmd));
    t.wait_text("Hops (1)");
    // Both fixes of the hop (SNI, verification) start selected; the
    // second asks for a CA file.
    t.key_then("f", "Fixes (2 selected of 2)");
    t.keys(&["j"]);
    t.key_then("e", "Type the value");
    t.type_text("/etc/nginx/upstream-ca.pem");
    t.key_then("Enter", "value set");
    let screen = t.key_then("d", "Diff · 1 file(s)");
    let tail =
        "proxy_ssl_trusted_certificate /etc/nginx/upstream-ca.pem; proxy_ssl_verify_depth 3; }";
    assert!(diff_rows_joined(&screen).contains(tail), "{screen}");

    // No wrapping: the end is off the edge until scrolled to.
    let screen = t.key_then("z", "z wrap · H/L");
    assert!(!screen.contains("proxy_ssl_verify_depth 3; }"), "{screen}");
    let mut seen = false;
    for step in 1..=20 {
        t.keys(&["L"]);
        let screen = t.wait_text(&format!("← {} cols", step * 8));
        if screen.contains("proxy_ssl_verify_depth 3; }") {
            seen = true;
            break;
        }
    }
    assert!(seen, "L never brought the end of the line into view");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
}

/// The SNI fix makes nginx send a name the Host header disagrees with: the
/// preview offers that `host-sni-mismatch` as a follow-up, explained, in
/// the same session; `a` applies its fix and the copied diff holds both.
#[test]
fn the_follow_up_of_the_sni_fix_is_offered_in_the_same_session() {
    if !tmux_or_skip() {
        return;
    }
    let t = Tmux::start(120, 40, &wrapped(&sh_quote(hopscope())));
    t.wait_text("Hops (17)");
    open_hop(&t, "conf.d/api-gateway.conf:26");
    t.key_then("f", "Fixes (");
    t.key_then("X", "Fixes (0 selected of 3)");
    // The first fix is the SNI one.
    let screen = t.key_then("Space", "Fixes (1 selected of 3)");
    let first = screen
        .lines()
        .find(|l| l.contains("[x]"))
        .unwrap_or_default();
    assert!(first.contains("sni-off"), "{screen}");
    let screen = t.key_then("d", "Follow-ups: findings these fixes create");
    assert!(screen.contains("new  "), "{screen}");
    assert!(screen.contains("host-sni-mismatch"), "{screen}");
    assert!(screen.contains("fix: "), "{screen}");
    assert!(
        !screen.contains("proxy_set_header Host"),
        "never added silently\n{screen}"
    );
    let screen = t.key_then("a", "1 follow-up applied");
    assert!(
        screen.contains("+        proxy_set_header Host api.example.com;"),
        "{screen}"
    );
    assert!(screen.contains("taken host-sni-mismatch"), "{screen}");
    let diff = copy_diff(&t, &screen);
    let added = added_lines(&diff);
    assert!(
        added.contains(&"proxy_ssl_server_name on;".to_string()),
        "{diff}"
    );
    assert!(
        added.contains(&"proxy_set_header Host api.example.com;".to_string()),
        "{diff}"
    );
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
}
