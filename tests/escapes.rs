//! Untrusted text never reaches the operator's terminal as a control.
//!
//! Server names, comments, values and file names from a config or an
//! `nginx -T` dump may hold any byte. An OSC 52 sequence in a `server_name`
//! would write the operator's clipboard, `ESC [ 2 J` would hide findings, a
//! bidi override would make a line read differently. Every human-facing
//! output shows them as visible escapes: the text reports, the diff on a
//! terminal, error messages, and every screen of the TUI. Machine formats
//! keep them (JSON escapes by itself), and so does a diff sent into a pipe,
//! so that `patch` applies it.

mod common;

use std::time::Duration;

use hopscope::conf::{self, Input};
use hopscope::model::{Model, Version};
use hopscope::report::text::Paint;
use hopscope::tui::action::{Action, Screen};
use hopscope::tui::app::App;
use hopscope::tui::theme::Theme;
use hopscope::tui::ui::{self, Ui};
use hopscope::visible::is_unsafe;
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Payloads a hostile config would carry.
const HOSTILE: &[&str] = &[
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b[2J\x1b[H",
    "\u{9b}8m",
    "\u{202e}lmth.",
    "\u{2066}x\u{2069}",
    "\x7f\x08\x00",
    "\r",
];

/// The characters a renderer must never let through; `keep` are the ones
/// its layout uses (line feed, tab).
fn leaks(text: &str, keep: &[char]) -> Vec<char> {
    text.chars()
        .filter(|c| is_unsafe(*c) && !keep.contains(c))
        .collect()
}

/// ANSI colour sequences hopscope writes itself (`ESC [ digits ; … m`)
/// removed, so that only what came from the input is left to check.
fn strip_own_colours(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("\x1b[") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            rest = &after[end + 1..];
        } else {
            out.push('\x1b');
            rest = &rest[i + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// An `nginx -T` dump whose names, comments and values carry `bad`.
fn hostile_dump(bad: &str) -> String {
    format!(
        "# configuration file /etc/nginx/nginx.conf:\n\
         events {{}}\n\
         http {{\n\
         \x20   # {bad} comment\n\
         \x20   proxy_ssl_name \"{bad}.example.com\";\n\
         \x20   server {{\n\
         \x20       server_name \"{bad}.example.com\";\n\
         \x20       location \"/{bad}\" {{\n\
         \x20           proxy_pass https://a{bad}b;\n\
         \x20           proxy_ssl_verify off;\n\
         \x20           proxy_ssl_certificate \"/etc/{bad}.pem\";\n\
         \x20       }}\n\
         \x20   }}\n\
         \x20   include \"/etc/nginx/conf.d/{bad}.conf\";\n\
         \x20   include \"/etc/nginx/missing-{bad}.conf\";\n\
         }}\n\
         \n\
         # configuration file /etc/nginx/conf.d/{bad}.conf:\n\
         server {{ server_name x{bad}; location / {{ proxy_pass https://backend; }} }}\n\
         upstream backend {{ server 127.0.0.1:443; }}\n\
         \n"
    )
}

/// What may not appear in a hostile payload for it to stay one token or
/// one quoted string of the dump above.
fn fits_the_dump(c: char) -> bool {
    !matches!(
        c,
        '"' | '\\' | '\n' | '$' | ';' | '{' | '}' | ' ' | '\t' | '#' | '\''
    )
}

fn write_dump(dir: &std::path::Path, bad: &str) -> std::path::PathBuf {
    let path = dir.join("dump.nginx-T");
    std::fs::write(&path, hostile_dump(bad)).unwrap();
    path
}

fn model_of(dump: &std::path::Path) -> Model {
    let cfg = conf::load(&Input::Path(dump.to_path_buf())).unwrap();
    Model::build(cfg, Version::NEWEST_STABLE)
}

fn screen(app: &App, w: u16, h: u16) -> String {
    thread_local! {
        static HIGHLIGHTER: Option<hopscope::tui::highlight::Highlighter> =
            hopscope::tui::highlight::Highlighter::new().ok();
    }
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    HIGHLIGHTER.with(|hl| {
        term.draw(|f| {
            ui::draw(
                f,
                app,
                &Ui {
                    theme: &theme,
                    highlighter: hl.as_ref(),
                },
            )
        })
        .unwrap();
    });
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Every screen of the TUI on a model, as text, with the name of the screen.
fn every_screen(model: Model) -> Vec<(String, String)> {
    let mut app = App::new(model, "dump.nginx-T".into());
    let mut shots = Vec::new();
    let mut shoot = |app: &App, what: &str| {
        for (w, h) in [(80, 24), (200, 50)] {
            shots.push((format!("{what} at {w}x{h}"), screen(app, w, h)));
        }
    };
    shoot(&app, "hop list");
    for hop in 0..app.model.hops.len() {
        app.update(Action::Top);
        for _ in 0..hop {
            app.update(Action::Down);
        }
        app.update(Action::Open);
        shoot(&app, "hop detail");
        app.update(Action::GoSource);
        shoot(&app, "source");
        app.update(Action::Back);
        app.update(Action::Explain);
        shoot(&app, "lesson");
        app.update(Action::Back);
        app.update(Action::Back);
    }
    app.update(Action::StartFixAll);
    if app.screen() == Screen::Fix {
        shoot(&app, "fix");
        app.update(Action::Toggle);
        app.update(Action::Preview);
        shoot(&app, "diff or fix after preview");
        app.update(Action::Back);
        app.update(Action::Back);
    }
    app.update(Action::ShowErrors);
    shoot(&app, "load errors");
    app.update(Action::Back);
    app.update(Action::ShowRules);
    shoot(&app, "rules");
    app.update(Action::Back);
    app.on_saved(Err(format!("cannot write /etc/{}", HOSTILE.concat())));
    shoot(&app, "status line");
    app.update(Action::Help);
    shoot(&app, "help");
    shots
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Arbitrary characters (control and bidi ones most of all) in every
    /// name, comment and value: no renderer lets one through.
    #[test]
    fn no_renderer_lets_a_control_character_through(
        bad in proptest::collection::vec(
            prop_oneof![
                3 => proptest::char::range('\u{0}', '\u{a0}'),
                1 => proptest::char::range('\u{2000}', '\u{2070}'),
                1 => any::<char>(),
            ],
            1..12,
        )
    ) {
        let bad: String = bad.into_iter().filter(|&c| fits_the_dump(c)).collect();
        prop_assume!(!bad.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let model = model_of(&write_dump(dir.path(), &bad));
        let findings = hopscope::rules::check(&model);

        let plain = hopscope::report::text::render(&model, &findings, Paint::new(false));
        prop_assert_eq!(leaks(&plain, &['\n']), vec![], "check text:\n{}", plain);
        let coloured = hopscope::report::text::render(&model, &findings, Paint::new(true));
        let coloured = strip_own_colours(&coloured);
        prop_assert_eq!(leaks(&coloured, &['\n']), vec![], "check text in colour:\n{}", coloured);

        for (what, shot) in every_screen(model) {
            prop_assert_eq!(leaks(&shot, &['\n']), vec![], "{}:\n{}", what, shot);
        }
    }
}

/// The TUI shows the escape itself where the name is, not a blank.
#[test]
fn the_tui_shows_escapes_where_the_text_was() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_of(&write_dump(dir.path(), "\x1b]52;c;ZXZpbA==\x07"));
    let app = App::new(model, "dump.nginx-T".into());
    let list = screen(&app, 200, 50);
    assert!(
        list.contains("\\x1b]52;c;ZXZpbA==\\x07"),
        "the hop list should show the escaped server name:\n{list}"
    );
}

fn run(args: &[&str]) -> common::HopscopeRun {
    common::hopscope_run(args, None, Duration::from_secs(60))
}

/// `hops`, `check` (plain and in colour) and `explain` on the command line,
/// and the errors on stderr: escapes, never the raw characters.
#[test]
fn command_line_reports_and_errors_show_escapes() {
    let dir = tempfile::tempdir().unwrap();
    for bad in HOSTILE {
        let bad: String = bad.chars().filter(|&c| fits_the_dump(c)).collect();
        let dump = write_dump(dir.path(), &bad);
        let dump = dump.to_str().unwrap();
        for args in [
            vec!["hops", dump],
            vec!["check", dump, "--color", "never"],
            vec!["check", dump, "--color", "always"],
            vec![dump],
        ] {
            let out = run(&args);
            assert!(!out.timed_out, "{args:?}");
            let stdout = strip_own_colours(&out.stdout);
            assert_eq!(
                leaks(&stdout, &['\n']),
                vec![],
                "{args:?} {bad:?}:\n{stdout}"
            );
            assert_eq!(
                leaks(&out.stderr, &['\n']),
                vec![],
                "{args:?} {bad:?} stderr:\n{}",
                out.stderr
            );
            assert!(
                stdout.contains("missing-") || out.stderr.contains("missing-"),
                "{args:?}: the load error should be reported:\n{stdout}\n{}",
                out.stderr
            );
        }
        // JSON keeps the characters, escaped the JSON way.
        let out = run(&["hops", dump, "--json"]);
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert!(doc.to_string().contains("example.com"));
        assert!(!out.stdout.contains('\x1b'));
    }
}

/// The diff: escaped on a terminal, the real bytes into a pipe (so that
/// `patch` applies it to files whose names or text hold such bytes).
#[test]
fn the_diff_is_escaped_on_a_terminal_and_exact_in_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "\x1b[2J";
    let dump = write_dump(dir.path(), bad);
    let bin = env!("CARGO_BIN_EXE_hopscope");

    let piped = run(&["fix", dump.to_str().unwrap()]);
    assert!(piped.stdout.contains("+++ "), "{}", piped.stdout);
    assert!(
        piped.stdout.contains(bad),
        "into a pipe the diff keeps the real bytes:\n{}",
        piped.stdout
    );

    // `script` gives the command a terminal of its own.
    let cmd = format!(
        "'{bin}' fix '{}'",
        dump.to_str().unwrap().replace('\'', "'\\''")
    );
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &cmd, "/dev/null"]);
    let tty = common::run_bounded(&mut script, None, Duration::from_secs(60));
    assert!(!tty.timed_out);
    assert!(tty.stdout.contains("+++ "), "{}", tty.stdout);
    assert!(
        tty.stdout.contains("\\x1b[2J"),
        "on a terminal the diff shows the escape:\n{}",
        tty.stdout
    );
    assert!(!tty.stdout.contains(bad), "{}", tty.stdout);
}
