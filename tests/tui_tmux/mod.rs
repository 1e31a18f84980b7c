//! A real terminal for the TUI tests: tmux on a private socket.
//!
//! Each [`Tmux`] runs its own tmux server (`tmux -L <unique> -f /dev/null`),
//! so it never sees or touches anyone's sessions, and kills that server
//! when dropped (also while a test panics). Every wait polls the screen
//! with a bound ([`WAIT`]); a timeout panics with the last screen seen.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest any single wait for the screen may take.
pub const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(20);

/// The hopscope binary under test.
pub fn hopscope() -> &'static str {
    env!("CARGO_BIN_EXE_hopscope")
}

/// Whether tmux can be used; prints why not. In CI a missing tmux fails.
pub fn tmux_or_skip() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    super::required::required(
        "the terminal tests",
        (!ok).then(|| "tmux is not installed".to_string()),
    )
}

/// Quotes a string for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub struct Tmux {
    socket: String,
    /// The socket file, removed on drop (tmux leaves it behind).
    socket_path: Option<PathBuf>,
    /// The last screen captured, for failure messages.
    last: std::cell::RefCell<String>,
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

impl Tmux {
    /// Starts a detached session of `width`×`height` running `command`
    /// with `sh -c`. The environment is the test's, minus anything that
    /// would reach a real display or user configuration.
    pub fn start(width: u16, height: u16, command: &str) -> Tmux {
        let socket = format!(
            "hopscope-test-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        );
        let mut t = Tmux {
            socket,
            socket_path: None,
            last: Default::default(),
        };
        let (w, h) = (width.to_string(), height.to_string());
        // One tmux command line, so the options hold before the program
        // can write anything: OSC 52 lands in a tmux paste buffer, and a
        // pane whose program ended stays, to read its last words.
        let out = t.run(&[
            "new-session",
            "-d",
            "-x",
            &w,
            "-y",
            &h,
            "sh",
            "-c",
            command,
            ";",
            "set-option",
            "-g",
            "set-clipboard",
            "on",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = t.display("#{socket_path}");
        t.socket_path = (!path.is_empty()).then(|| PathBuf::from(path));
        t
    }

    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"])
            .env_remove("TMUX")
            // A panic message must fit on the screen, without a backtrace.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run tmux")
    }

    /// Sends key names (`Enter`, `Escape`, `C-c`, `j`, …), one call each.
    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.run(&["send-keys", k]);
            assert!(out.status.success(), "send-keys {k}");
        }
    }

    /// Types text literally.
    pub fn type_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-l", text]);
        assert!(out.status.success(), "send-keys -l {text}");
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p"]);
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        *self.last.borrow_mut() = s.clone();
        s
    }

    /// A tmux format about the pane (`#{alternate_on}`, `#{pane_pid}`…).
    pub fn display(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the screen satisfies `ok` and has settled (the same
    /// in two captures in a row: never half a frame); returns it.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut previous = String::new();
        loop {
            let s = self.screen();
            if ok(&s) && s == previous {
                return s;
            }
            previous = s;
            if start.elapsed() > WAIT {
                panic!(
                    "timed out after {WAIT:?} waiting for {what}; the screen was:\n{}",
                    self.last.borrow()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows `needle`.
    pub fn wait_text(&self, needle: &str) -> String {
        self.wait_for(&format!("{needle:?}"), |s| s.contains(needle))
    }

    /// Waits until the screen no longer shows `needle`.
    pub fn wait_gone(&self, needle: &str) -> String {
        self.wait_for(&format!("{needle:?} to go"), |s| !s.contains(needle))
    }

    /// Sends one key and waits until the screen changes in the expected
    /// way (keys are never sent blind, one on top of the next).
    pub fn key_then(&self, key: &str, needle: &str) -> String {
        self.keys(&[key]);
        self.wait_text(needle)
    }

    pub fn resize(&self, width: u16, height: u16) {
        let out = self.run(&[
            "resize-window",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        assert!(
            out.status.success(),
            "resize-window: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The pane's terminal modes: (alternate screen, any mouse mode,
    /// cursor visible).
    pub fn modes(&self) -> (bool, bool, bool) {
        let v = self.display(
            "#{alternate_on} #{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}#{mouse_all_flag}#{mouse_sgr_flag}#{mouse_utf8_flag} #{cursor_flag}",
        );
        let parts: Vec<&str> = v.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "unexpected tmux answer {v:?}");
        (parts[0] == "1", parts[1].contains('1'), parts[2] == "1")
    }

    /// The contents of tmux's newest paste buffer (OSC 52 lands there).
    pub fn paste_buffer(&self) -> Option<String> {
        let out = self.run(&["show-buffer"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Asserts the shell in the pane got a restored terminal: `stty -a` shows
/// canonical mode and echo on, no alternate screen or mouse mode is left,
/// the cursor is visible, and a typed command echoes and runs.
pub fn assert_terminal_usable(t: &Tmux) {
    let screen = t.wait_text("STTY-END");
    let stty: Vec<&str> = screen
        .split_whitespace()
        .skip_while(|w| !w.starts_with("STTY-BEGIN"))
        .take_while(|w| !w.starts_with("STTY-END"))
        .collect();
    for mode in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(
            stty.contains(&mode),
            "{mode} is not on after the TUI: raw mode left behind\n{screen}"
        );
    }
    let (alternate, mouse, cursor) = t.modes();
    assert!(!alternate, "the alternate screen is still on\n{screen}");
    assert!(!mouse, "a mouse mode is still on\n{screen}");
    assert!(cursor, "the cursor is still hidden\n{screen}");
    // A person types a command: it echoes (echo), runs on Enter (icanon,
    // icrnl) and its output starts at the left margin (opost/onlcr).
    t.type_text("echo us''able-$((40+2))");
    t.keys(&["Enter"]);
    let screen = t.wait_for("the typed command to run", |s| {
        s.lines().any(|l| l.trim_end() == "usable-42")
    });
    assert!(
        screen.contains("echo us''able-$((40+2))"),
        "the typed command was not echoed\n{screen}"
    );
}

/// The shell script around a TUI run: the exit status, `stty -a` between
/// markers, then an interactive shell for [`assert_terminal_usable`].
pub fn wrapped(command: &str) -> String {
    format!(
        "{command}; echo AFTER-$?; echo STTY-BEGIN; stty -a; echo STTY-END; PS1='shell$ ' exec sh -i"
    )
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Every file under a directory, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Driving the TUI
// ---------------------------------------------------------------------------

/// Applies a one-file unified diff (as the app shows and copies it) to
/// `old`; panics if a context or removed line does not match.
pub fn apply_diff(old: &str, diff: &str) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next = 0; // index into old_lines
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("@@ -") else {
            continue;
        };
        let start: usize = rest
            .split([',', ' '])
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad hunk header {line:?}"));
        let start = start.saturating_sub(1);
        assert!(start >= next, "hunks out of order in\n{diff}");
        out.extend(old_lines[next..start].iter().copied());
        next = start;
        while let Some(l) = lines.peek() {
            if l.starts_with("@@") || l.starts_with("diff ") {
                break;
            }
            let l = lines.next().unwrap();
            match l.split_at(1) {
                ("+", text) => {
                    out.push_str(text);
                    out.push('\n');
                }
                (" " | "-", text) => {
                    assert_eq!(
                        old_lines[next].trim_end_matches('\n'),
                        text,
                        "the diff does not match the file at line {}",
                        next + 1
                    );
                    if l.starts_with(' ') {
                        out.push_str(old_lines[next]);
                    }
                    next += 1;
                }
                _ => panic!("unexpected diff line {l:?}"),
            }
        }
    }
    out.extend(old_lines[next..].iter().copied());
    out
}

/// The diff on screen (inside the Diff frame), one string per line.
pub fn diff_on_screen(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains("Diff ·"))
        .skip(1)
        .take_while(|l| l.starts_with('│'))
        .map(|l| {
            l.trim_start_matches('│')
                .trim_end()
                .trim_end_matches('│')
                .trim_end()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// Copies the diff with `c` (OSC 52 into tmux's buffer: no display in the
/// test), checks it against what the screen shows, and returns it.
pub fn copy_diff(t: &Tmux, screen: &str) -> String {
    t.key_then("c", "diff copied (OSC 52");
    let copied = t
        .paste_buffer()
        .expect("OSC 52 put the diff in tmux's paste buffer");
    let shown = diff_on_screen(screen);
    let copied_lines: Vec<&str> = copied.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        shown.len(),
        copied_lines.len(),
        "screen:\n{screen}\ncopied:\n{copied}"
    );
    for (s, c) in shown.iter().zip(&copied_lines) {
        assert!(
            c.trim_end().starts_with(s.as_str()),
            "the copied diff differs from the shown one: {s:?} vs {c:?}"
        );
    }
    copied
}

pub fn added_lines(diff: &str) -> Vec<String> {
    diff.lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| l[1..].trim().to_string())
        .collect()
}

/// Filters the list to one hop and opens it.
pub fn open_hop(t: &Tmux, id: &str) {
    t.key_then("/", "Enter keep");
    t.type_text(id);
    t.wait_text(&format!("filter: {id}"));
    t.wait_text("(1/17)");
    t.keys(&["Enter"]);
    t.wait_gone("Enter keep");
    t.key_then("Enter", &format!("Hop {id}"));
}
