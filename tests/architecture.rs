//! The one-way layers of ARCHITECTURE.md, enforced: every `crate::…` path
//! in `src/` (outside unit-test modules) must follow an allowed edge. A new
//! import against the flow (a rule reaching into `fix`, the loader into the
//! demo, the TUI state into drawing) fails here with the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may use. Lower layers first:
/// data flows load → parse → model → rules → fixes → views.
const ALLOWED: &[(&str, &[&str])] = &[
    ("visible", &[]),
    ("changed", &[]),
    ("parallel", &[]),
    ("config", &[]),
    ("demo", &[]),
    ("conf", &["visible", "parallel"]),
    ("model", &["conf", "visible"]),
    ("diagnostic", &["model", "conf"]),
    ("rules", &["diagnostic", "model", "conf", "visible"]),
    (
        "fix",
        &["rules", "diagnostic", "model", "conf", "visible", "changed"],
    ),
    // `remote`: a probe over --ssh dials the peers through the server.
    ("probe", &["model", "conf", "visible", "parallel", "remote"]),
    // What probes say about findings: probe results into diagnostic data.
    ("evidence", &["diagnostic", "model", "probe", "visible"]),
    ("remote", &["conf", "visible", "parallel", "changed"]),
    (
        "jobs",
        &[
            "changed",
            "conf",
            "demo",
            "model",
            "diagnostic",
            "rules",
            "fix",
            "probe",
            "evidence",
            "remote",
            "visible",
            "parallel",
        ],
    ),
    (
        "report",
        &[
            "diagnostic",
            "rules",
            "fix",
            "model",
            "conf",
            "probe",
            "remote",
            "visible",
            "parallel",
        ],
    ),
    ("tour", &["model", "diagnostic", "conf", "report"]),
    (
        "settings",
        &["diagnostic", "rules", "model", "conf", "report", "visible"],
    ),
    (
        "test_support",
        &["conf", "model", "diagnostic", "rules", "fix", "report"],
    ),
    (
        "tui",
        &[
            "changed",
            "jobs",
            "report",
            "fix",
            "rules",
            "diagnostic",
            "model",
            "conf",
            "probe",
            "evidence",
            "remote",
            "visible",
            "config",
            "tour",
            "settings",
        ],
    ),
    (
        "cli",
        &[
            "changed",
            "jobs",
            "tui",
            "report",
            "fix",
            "rules",
            "diagnostic",
            "model",
            "conf",
            "probe",
            "evidence",
            "remote",
            "visible",
            "config",
            "parallel",
            "settings",
        ],
    ),
];

/// Edges inside a module that are forbidden although the module may use
/// itself: (file prefix under src/, paths it must not name, why).
const FORBIDDEN_INSIDE: &[(&str, &[&str], &str)] = &[
    (
        "tui/app.rs",
        &[
            "tui::ui",
            "super::ui",
            "tui::widgets",
            "super::widgets",
            "ratatui::",
        ],
        "the TUI state changes state; drawing is in ui, widgets and screens",
    ),
    (
        "tui/action.rs",
        &["tui::ui", "super::ui", "ratatui::"],
        "actions are data",
    ),
    (
        "tui/text.rs",
        &["ratatui::"],
        "text layout is ratatui-free, so the state can use it",
    ),
    (
        "report/findings.rs",
        &["report::hops", "super::hops"],
        "hops uses findings, never the reverse",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's text without its unit-test module (tests may reach anywhere).
fn code_of(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Every `crate::NAME` a line names, with its 1-based line number.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((n + 1, name));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn every_import_follows_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src/");
        let rel_str = rel.to_string_lossy().into_owned();
        let module = rel_str
            .split('/')
            .next()
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_string();
        // The crate roots, and unit-test modules kept in files of their own
        // (`#[cfg(test)] mod tests;`): tests may reach anywhere.
        if matches!(module.as_str(), "lib" | "main") || rel.ends_with("tests.rs") {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            wrong.push(format!(
                "src/{rel_str}: module `{module}` has no place in the layers (add it to ALLOWED and ARCHITECTURE.md)"
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        let code = code_of(&text);
        for (line, target) in crate_paths(code) {
            if target != module && !may.contains(&target.as_str()) {
                wrong.push(format!(
                    "src/{rel_str}:{line}: `{module}` uses `{target}`, against the flow"
                ));
            }
        }
        for (prefix, names, why) in FORBIDDEN_INSIDE {
            if !rel_str.starts_with(prefix) {
                continue;
            }
            for (n, l) in code.lines().enumerate() {
                let l = l.split("//").next().unwrap_or("");
                for name in *names {
                    if l.contains(name) {
                        wrong.push(format!("src/{rel_str}:{}: names `{name}`: {why}", n + 1));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

/// The checker itself finds an edge against the flow.
#[test]
fn the_checker_sees_paths_anywhere_on_a_line() {
    let code = "use crate::fix::Fix; let x = crate::model::Model::build(a, b); // crate::tui\n";
    let names: Vec<String> = crate_paths(code).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["fix", "model"]);
    assert_eq!(code_of("a\n#[cfg(test)]\nmod tests {\n crate::x\n}"), "a\n");
}
