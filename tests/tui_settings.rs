//! The terminal UI shows the findings the project file keeps: its
//! `ignore`, per-path ignores and severity overrides apply to the hop
//! list and the hop's detail as they do to `check`.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hopscope::settings::{Flags, ProjectFile, Settings};
use hopscope::tui::app::App;
use hopscope::tui::theme::Theme;
use hopscope::tui::ui::{self, Ui};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn demo_app() -> App {
    let model = hopscope::jobs::Source::Demo.load(None).unwrap();
    App::new(model, "demo (built-in)".into())
}

fn settings(toml: &str) -> Settings {
    let file = ProjectFile::parse(Path::new("/repo/hopscope.toml"), toml).unwrap();
    Settings::resolve(&Flags::default(), Some(&file)).for_view()
}

fn detail_of(app: &mut App, id: &str) -> String {
    let pos = app
        .rows
        .iter()
        .position(|&h| app.model.hops[h].id == id)
        .expect(id);
    app.cursor = pos;
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let action = app.action_for_key(enter).unwrap();
    app.update(action);
    let theme = Theme::default();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| {
        ui::draw(
            f,
            app,
            &Ui {
                theme: &theme,
                highlighter: None,
            },
        )
    })
    .unwrap();
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn ignored_rules_leave_the_detail_and_severities_follow_the_file() {
    let hop = "conf.d/intranet.conf:58";
    let plain = detail_of(&mut demo_app(), hop);
    assert!(plain.contains("weak-protocols"), "{plain}");
    assert!(plain.contains("verify-off"), "{plain}");

    let mut app = demo_app();
    app.set_settings(settings("ignore = [\"weak-protocols\"]\n"));
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert_eq!(
        status,
        "project file /repo/hopscope.toml: 1 finding hidden (--no-config shows every finding)"
    );
    let shown = detail_of(&mut app, hop);
    assert!(!shown.contains("weak-protocols"), "{shown}");
    assert!(shown.contains("verify-off"), "{shown}");
    // The default threshold of `check` (low) does not hide info findings here.
    assert_eq!(
        app.findings
            .iter()
            .filter(|f| f.rule != "weak-protocols")
            .count(),
        demo_app()
            .findings
            .iter()
            .filter(|f| f.rule != "weak-protocols")
            .count()
    );

    let mut app = demo_app();
    app.set_settings(settings(
        "[per-file-ignores]\n\"conf.d/intranet.conf\" = [\"*\"]\n",
    ));
    let shown = detail_of(&mut app, hop);
    assert!(
        !shown.contains("verify-off") && !shown.contains("weak-protocols"),
        "{shown}"
    );
    assert!(app
        .findings
        .iter()
        .all(|f| !app.model.file_name(f.dir).ends_with("intranet.conf")));

    let mut app = demo_app();
    app.set_settings(settings("[severity]\nweak-protocols = \"high\"\n"));
    let h = app.model.hops.iter().position(|h| h.id == hop).unwrap();
    assert_eq!(
        app.hop_severity[h],
        Some(hopscope::diagnostic::Severity::High)
    );
}

/// As the terminal UI starts: the rules run after the first frame, and the
/// project file's note says how many findings it hides once they have.
#[test]
fn the_project_file_note_waits_for_the_rules() {
    let model = hopscope::jobs::Source::Demo.load(None).unwrap();
    let mut app = App::pending(
        model,
        "demo (built-in)".into(),
        Some(settings("ignore = [\"weak-protocols\"]\n")),
    );
    let said = |app: &App| app.status.as_ref().map(|s| s.text.clone());
    assert_eq!(
        said(&app).as_deref(),
        Some("project file /repo/hopscope.toml: checking which findings it hides…")
    );
    let work = app.take_check().unwrap();
    let generation = work.generation;
    app.on_checked(generation, Ok(work.run()));
    assert_eq!(
        said(&app).as_deref(),
        Some(
            "project file /repo/hopscope.toml: 1 finding hidden (--no-config shows every finding)"
        )
    );
    assert!(app.findings.iter().all(|f| f.rule != "weak-protocols"));
    assert!(!app.findings.is_empty());
}
