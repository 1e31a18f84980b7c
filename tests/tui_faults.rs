//! The TUI when things go wrong, in a real terminal (tmux): a panic while
//! drawing or loading, SIGTERM / SIGHUP / SIGINT from outside, a terminal
//! too small to draw in, and resizes while running. Every way out must
//! leave the shell a usable terminal, and nothing saved may be harmed.
//!
//! The panics come from a fault-injection hook in src/tui/run.rs
//! (`HOPSCOPE_TEST_PANIC`), compiled into debug builds only; under
//! `cargo test --release` those tests skip themselves.

mod tui_tmux;

#[path = "common/required.rs"]
mod required;
use required::required;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tui_tmux::{
    apply_diff, assert_terminal_usable, copy_diff, copy_tree, hopscope, open_hop, sh_quote,
    tmux_or_skip, wrapped, Tmux, WAIT,
};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo");

/// A private copy of the demo tree.
fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("hopscope-faults-")
        .tempdir()
        .unwrap();
    let conf = dir.path().join("conf");
    copy_tree(Path::new(DEMO), &conf);
    (dir, conf)
}

fn tui_command(env: &str, conf: &Path) -> String {
    format!(
        "{env}{} {}",
        sh_quote(hopscope()),
        sh_quote(&conf.join("nginx.conf").display().to_string())
    )
}

/// Whether the fault-injection hook exists in this build.
fn faults_compiled_in() -> bool {
    let missing = (!cfg!(debug_assertions))
        .then(|| "the fault-injection hook exists in debug builds only".to_string());
    required("the fault-injection tests", missing)
}

/// The first `hopscope` process whose parent is `parent`.
fn child_hopscope(parent: u32) -> Option<u32> {
    for entry in fs::read_dir("/proc").ok()? {
        let Ok(entry) = entry else { continue };
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may hold spaces: split at the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let ppid = tail.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if comm == "hopscope" && ppid == Some(parent) {
            return Some(pid);
        }
    }
    None
}

/// The pid of the TUI running in the pane (waits for it, bounded).
fn tui_pid(t: &Tmux) -> u32 {
    let shell: u32 = t.display("#{pane_pid}").parse().expect("pane pid");
    let start = Instant::now();
    loop {
        if let Some(pid) = child_hopscope(shell) {
            return pid;
        }
        assert!(start.elapsed() < WAIT, "no hopscope process under {shell}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send_signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid}");
}

// ---------------------------------------------------------------------------
// (a) panics
// ---------------------------------------------------------------------------

#[test]
fn a_panic_while_drawing_restores_the_terminal() {
    if !tmux_or_skip() || !faults_compiled_in() {
        return;
    }
    let (_dir, conf) = demo_copy();
    let t = Tmux::start(
        100,
        30,
        &wrapped(&tui_command("HOPSCOPE_TEST_PANIC=draw ", &conf)),
    );
    let screen = t.wait_text("AFTER-");
    assert!(
        screen.contains("AFTER-101"),
        "a panic exits with 101\n{screen}"
    );
    assert!(
        screen.contains("panicked at") && screen.contains("HOPSCOPE_TEST_PANIC=draw"),
        "the panic message is on the restored screen\n{screen}"
    );
    assert!(
        !screen.contains("Hops ("),
        "the UI is gone from the screen\n{screen}"
    );
    assert_terminal_usable(&t);
}

#[test]
fn a_panic_while_loading_is_shown_and_the_ui_keeps_running() {
    if !tmux_or_skip() || !faults_compiled_in() {
        return;
    }
    let (_dir, conf) = demo_copy();
    let t = Tmux::start(
        100,
        30,
        &wrapped(&tui_command("HOPSCOPE_TEST_PANIC=load ", &conf)),
    );
    let screen = t.wait_text("cannot load the configuration");
    assert!(
        screen.contains("crashed while loading") && screen.contains("HOPSCOPE_TEST_PANIC=load"),
        "{screen}"
    );
    let (alternate, _, _) = t.modes();
    assert!(alternate, "the UI still owns the screen\n{screen}");
    t.keys(&["q"]);
    let screen = t.wait_text("AFTER-");
    assert!(screen.contains("AFTER-0"), "{screen}");
    assert_terminal_usable(&t);
}

// ---------------------------------------------------------------------------
// (b) signals
// ---------------------------------------------------------------------------

/// Saves the fix of the api-gateway.conf:26 hop through the UI, sends a
/// signal, and checks the exit, the terminal and the saved file.
fn signal_after_a_save(sig: &str, status: u8) {
    if !tmux_or_skip() {
        return;
    }
    let (_dir, conf) = demo_copy();
    let gateway = conf.join("conf.d/api-gateway.conf");
    let original = fs::read_to_string(&gateway).unwrap();
    let t = Tmux::start(100, 30, &wrapped(&tui_command("", &conf)));
    t.wait_text("Hops (17)");
    open_hop(&t, "conf.d/api-gateway.conf:26");
    t.key_then("f", "Fixes (1 selected of 3)");
    let screen = t.key_then("d", "Diff · 1 file(s)");
    let diff = copy_diff(&t, &screen);
    t.key_then("w", "Write 1 file(s)?");
    t.keys(&["y"]);
    t.wait_text("findings:");
    let expected = apply_diff(&original, &diff);
    assert_eq!(fs::read_to_string(&gateway).unwrap(), expected);

    send_signal(tui_pid(&t), sig);
    let screen = t.wait_text("AFTER-");
    assert!(
        screen.contains(&format!("AFTER-{status}")),
        "SIG{sig} ends the TUI as if uncaught (status {status})\n{screen}"
    );
    assert_terminal_usable(&t);
    assert_eq!(fs::read_to_string(&gateway).unwrap(), expected);
    let backup = conf.join("conf.d/api-gateway.conf.hopscope.bak");
    assert_eq!(fs::read_to_string(backup).unwrap(), original);
    let leftovers: Vec<String> = fs::read_dir(conf.join("conf.d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".conf") && !n.ends_with(".hopscope.bak"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn sigterm_restores_the_terminal_and_keeps_the_saved_file() {
    signal_after_a_save("TERM", 143);
}

#[test]
fn sighup_restores_the_terminal_and_keeps_the_saved_file() {
    signal_after_a_save("HUP", 129);
}

#[test]
fn sigint_from_outside_restores_the_terminal_and_ctrl_c_quits() {
    if !tmux_or_skip() {
        return;
    }
    let (_dir, conf) = demo_copy();
    let t = Tmux::start(100, 30, &wrapped(&tui_command("", &conf)));
    t.wait_text("Hops (17)");
    send_signal(tui_pid(&t), "INT");
    let screen = t.wait_text("AFTER-");
    assert!(screen.contains("AFTER-130"), "{screen}");
    assert_terminal_usable(&t);
    // Inside the UI, Ctrl-C is a key (raw mode): it quits normally, even
    // while the filter has the keyboard.
    t.type_text(&tui_command("", &conf));
    t.type_text("; echo AGAIN-$?");
    t.keys(&["Enter"]);
    t.wait_text("Hops (17)");
    t.key_then("/", "Enter keep");
    t.keys(&["C-c"]);
    t.wait_for("AGAIN-0 printed", |s| {
        s.lines().any(|l| l.trim_end() == "AGAIN-0")
    });
    let (alternate, mouse, cursor) = t.modes();
    assert!(!alternate && !mouse && cursor);
}

/// Ctrl-Z in a shell with job control: the shell gets a normal terminal
/// back while the TUI is stopped, and `fg` brings the TUI back where it was,
/// still answering keys.
#[test]
fn ctrl_z_suspends_to_the_shell_and_fg_resumes() {
    if !tmux_or_skip() {
        return;
    }
    let (_dir, conf) = demo_copy();
    let t = Tmux::start(100, 30, "PS1='shell$ ' exec sh -i");
    t.wait_text("shell$");
    t.type_text(&tui_command("", &conf));
    t.keys(&["Enter"]);
    t.wait_text("Hops (17)");
    t.key_then("Enter", "Findings (");
    t.keys(&["C-z"]);
    t.wait_gone("Findings (");
    let (alternate, mouse, cursor) = t.modes();
    assert!(!alternate && !mouse && cursor, "{}", t.screen());
    // The quotes keep the markers whole only in the output, not in the
    // command line that echoes.
    t.type_text("echo STTY-BEG''IN; stty -a; echo STTY-E''ND");
    t.keys(&["Enter"]);
    assert_terminal_usable(&t);
    t.type_text("fg");
    t.keys(&["Enter"]);
    // The same screen as before the suspension, drawn again.
    t.wait_text("Findings (");
    let (alternate, _, _) = t.modes();
    assert!(alternate, "{}", t.screen());
    t.key_then("q", "shell$");
    t.type_text("echo DONE-$?");
    t.keys(&["Enter"]);
    t.wait_for("DONE-0 printed", |s| {
        s.lines().any(|l| l.trim_end() == "DONE-0")
    });
    let (alternate, mouse, cursor) = t.modes();
    assert!(!alternate && !mouse && cursor);
}

// ---------------------------------------------------------------------------
// (c) tiny terminals and resizes
// ---------------------------------------------------------------------------

/// The screen's words in one line (wrapped text joined again).
fn words(screen: &str) -> String {
    screen.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn tiny_terminals_and_resizes_never_crash() {
    if !tmux_or_skip() {
        return;
    }
    let (_dir, conf) = demo_copy();
    let t = Tmux::start(20, 5, &wrapped(&tui_command("", &conf)));
    let screen = t.wait_for("the size note", |s| words(s).contains("(now 20×5)"));
    assert!(words(&screen).contains("needs at least 40×8"), "{screen}");

    t.resize(200, 60);
    // Wide: the list and the selected hop's detail side by side.
    let screen = t.wait_text("Hop conf.d/api-gateway.conf:18");
    assert!(screen.contains("Hops (17)"), "{screen}");
    assert!(screen
        .lines()
        .next()
        .unwrap()
        .starts_with(" hopscope │ 17 hops"));

    t.resize(80, 24);
    let screen = t.wait_for("the 80×24 list", |s| {
        s.contains("Hops (17)") && !s.contains("Hop conf.d/")
    });
    assert_eq!(screen.lines().count(), 24, "{screen}");
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    // Keys still work after the resizes.
    t.key_then("Enter", "Hop conf.d/api-gateway.conf:18");

    // A burst of resizes, some tiny, with the detail and then help open.
    for (w, h) in [
        (20, 5),
        (39, 7),
        (40, 8),
        (1, 1),
        (300, 100),
        (41, 9),
        (80, 24),
    ] {
        t.resize(w, h);
    }
    t.key_then("?", "── hop screen (this screen) ──");
    for (w, h) in [(30, 6), (120, 40), (20, 5)] {
        t.resize(w, h);
    }
    t.wait_for("the size note", |s| words(s).contains("(now 20×5)"));
    t.resize(80, 24);
    let screen = t.wait_text("── hop screen (this screen) ──");
    assert!(!screen.contains("AFTER-"), "still running\n{screen}");
    t.keys(&["Escape"]);
    t.wait_gone("── hop screen (this screen) ──");
    t.keys(&["q"]);
    let screen = t.wait_text("AFTER-");
    assert!(screen.contains("AFTER-0"), "{screen}");
    assert_terminal_usable(&t);
}

/// The terminal itself goes away (an SSH connection drops: tmux's server
/// dies with the pane). The TUI must end promptly, not spin on a dead
/// terminal, with a non-zero status. The shell around it ignores SIGHUP so
/// it can record that status (then no SIGHUP reaches the TUI either: it
/// sees the terminal fail, which must end it just as well).
#[test]
fn a_hangup_of_the_terminal_ends_the_tui() {
    if !tmux_or_skip() {
        return;
    }
    let (dir, conf) = demo_copy();
    let status = dir.path().join("status");
    let cmd = format!(
        "trap '' HUP; {} 2>/dev/null; echo $? > {}",
        tui_command("", &conf),
        sh_quote(&status.display().to_string())
    );
    let t = Tmux::start(100, 30, &cmd);
    t.wait_text("Hops (17)");
    let pid = tui_pid(&t);
    drop(t); // kills the tmux server: the pane's terminal hangs up
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() || !status.exists() {
        assert!(
            start.elapsed() < WAIT,
            "the TUI (pid {pid}) is still running after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let start = Instant::now();
    let code = loop {
        let text = fs::read_to_string(&status).unwrap_or_default();
        if text.ends_with('\n') {
            break text.trim().to_string();
        }
        assert!(start.elapsed() < WAIT, "no exit status written");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        code == "2" || code == "129",
        "exit status {code}: expected 2 (terminal failed) or 129 (SIGHUP)"
    );
}
