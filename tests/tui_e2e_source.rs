//! The source view in a REAL terminal (tmux), driven like a person: the
//! demo's /admin/reports/ hop opened in its source shows the `include`
//! that brings the snippet in and the `location /admin/` around the hop,
//! and `n` follows the chain from that include into the snippet's file.
//!
//! Every wait polls the screen with a bound; nothing sleeps blindly.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;

use tui_tmux::{hopscope, open_hop, sh_quote, tmux_or_skip, wrapped, Tmux};

/// The screen row that shows file line `n` in the source view.
fn row_of(screen: &str, n: u32) -> Option<&str> {
    screen.lines().find(|l| {
        let inner = l.trim_start_matches('│').trim_start_matches(['▶', ' ']);
        inner.starts_with(&format!("{n} "))
    })
}

#[test]
fn the_source_view_follows_the_chain_through_the_include() {
    if !tmux_or_skip() {
        return;
    }
    // No path: the built-in demo.
    let t = Tmux::start(120, 36, &wrapped(&sh_quote(hopscope())));
    t.wait_text("Hops (17)");
    open_hop(&t, "conf.d/intranet.conf:23");
    let screen = t.key_then("o", "conf.d/intranet.conf · n/N");
    // The hop's line is the current one.
    let hop = row_of(&screen, 23).unwrap_or_else(|| panic!("{screen}"));
    assert!(
        hop.starts_with("│▶ 23 ● ") && hop.contains("proxy_pass https://reports"),
        "{screen}"
    );
    // The include that brings the snippet in, and the block around.
    let include = row_of(&screen, 18).unwrap_or_else(|| panic!("{screen}"));
    assert!(
        include.contains("include snippets/upstream-tls.conf;")
            && include.contains("← include brings snippets/upstream-tls.conf"),
        "{screen}"
    );
    let admin = row_of(&screen, 15).unwrap_or_else(|| panic!("{screen}"));
    assert!(
        admin.contains("location /admin/ {") && admin.contains("← the hop is in this location"),
        "{screen}"
    );
    // n wraps to the top of the chain and walks down to that include…
    let mut screen = t.key_then("n", "1/12 of the chain (wrapped around)");
    assert!(screen.contains("nginx.conf · n/N"), "{screen}");
    for i in 2..=20 {
        if screen.contains("conf.d/intranet.conf:18: include brings") {
            break;
        }
        assert!(i < 20, "the include never came:\n{screen}");
        screen = t.key_then("n", &format!("{i}/12 of the chain"));
    }
    // …and one more n crosses into the snippet.
    let screen = t.key_then("n", "snippets/upstream-tls.conf · n/N");
    let set = row_of(&screen, 5).unwrap_or_else(|| panic!("{screen}"));
    assert!(
        set.starts_with("│▶ 5 ● ") && set.contains("proxy_ssl_server_name"),
        "{screen}"
    );
    assert!(
        screen.contains("← proxy_ssl_server_name, inherited by the hop from location /admin/"),
        "{screen}"
    );
    // N goes back to the include, in its own file.
    t.key_then("N", "conf.d/intranet.conf · n/N");
    t.keys(&["q"]);
    t.wait_text("AFTER-0");
}
