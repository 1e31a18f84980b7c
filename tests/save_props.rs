//! Property test of the TUI's fix flow as a whole: preview, then save.
//!
//! Trees are generated in a temporary directory (one or two servers with
//! `proxy_pass`/`grpc_pass` locations to TLS upstreams on 127.0.0.1, a
//! nested location, `*_ssl_*` settings at server and location level, a
//! snippet of settings included in a server or a location; every path
//! nginx opens inside the directory) and must pass the real `nginx -t`
//! as written. A random selection of the offered fixes, each with a
//! random placement, is planned with [`hopscope::fix::preview`] (the one
//! planner of the preview, the copy and the save) and, as the TUI does
//! on `w`, checked by `nginx -t` on test copies of the unchanged and the
//! fixed tree, then written with the real save. Then:
//!
//! 1. every selected fix is in the preview or refused with a reason;
//! 2. the bytes saved are the previewed diff applied to the files as
//!    loaded, and no other file changes;
//! 3. no save yields a tree the real `nginx -t` rejects (the original
//!    passed): a save the gate refuses writes nothing.
//!
//! Bounded: a fixed seed and case count (`PROPTEST_CASES` overrides), under
//! a minute here. Under CI a missing nginx fails the test.

mod tui_tmux;

mod common;
use common::required;
use common::{nginx_t, TestCa};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hopscope::conf::{self, Input};
use hopscope::diagnostic::Applicability;
use hopscope::fix::{self, validate, Placement, Values};
use hopscope::model::{Model, Version};
use hopscope::rules;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestRunner};
use tui_tmux::apply_diff;

const CASES: u32 = 200;
const SEED: u64 = 0x7361_7665_7361_6665; // "savesafe"

/// Settings the generator writes: (directive suffix, values). `@CA@` is a
/// real PEM CA file.
const SETTINGS: &[(&str, &[&str])] = &[
    ("_verify", &["on", "off"]),
    ("_server_name", &["on", "off"]),
    ("_trusted_certificate", &["@CA@"]),
    ("_verify_depth", &["1", "2"]),
    ("_name", &["localhost", "$host"]),
    ("_protocols", &["TLSv1 TLSv1.2", "TLSv1.2 TLSv1.3"]),
];

#[derive(Clone, Debug)]
struct Loc {
    grpc: bool,
    port: u16,
    sets: Vec<(usize, usize)>,
    nested: bool,
    one_line: bool,
}

#[derive(Clone, Debug)]
struct Server {
    sets: Vec<(usize, usize)>,
    locs: Vec<Loc>,
    /// Include the snippet: 0 nowhere, 1 in the server, 2 in the first location.
    snippet: u8,
}

#[derive(Clone, Debug)]
struct Spec {
    servers: Vec<Server>,
    snippet: Vec<(usize, usize)>,
}

/// Up to three settings of a block, each directive once (nginx rejects a
/// duplicate).
fn sets() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..SETTINGS.len(), 0..2usize), 0..3).prop_map(|mut v| {
        let mut seen = Vec::new();
        v.retain(|(s, _)| {
            let new = !seen.contains(s);
            seen.push(*s);
            new
        });
        v
    })
}

fn loc() -> impl Strategy<Value = Loc> {
    (any::<bool>(), 0u16..4, sets(), any::<bool>(), any::<bool>()).prop_map(
        |(grpc, port, sets, nested, one_line)| Loc {
            grpc,
            port,
            sets,
            nested,
            one_line,
        },
    )
}

fn spec() -> impl Strategy<Value = Spec> {
    let server =
        (sets(), prop::collection::vec(loc(), 1..4), 0u8..3).prop_map(|(sets, locs, snippet)| {
            Server {
                sets,
                locs,
                snippet,
            }
        });
    (prop::collection::vec(server, 1..3), sets())
        .prop_map(|(servers, snippet)| Spec { servers, snippet })
}

/// (fix picks as bit flags over the offered fixes, placement flags)
fn pick() -> impl Strategy<Value = (u64, u64)> {
    (any::<u64>(), any::<u64>())
}

fn set_line(module: &str, (s, v): (usize, usize), ca: &str) -> String {
    let (suffix, values) = SETTINGS[s];
    let value = values[v % values.len()].replace("@CA@", ca);
    format!("{module}_ssl{suffix} {value};")
}

/// Writes the tree into `dir`; returns the main file.
fn write_tree(spec: &Spec, dir: &Path, ca: &str) -> PathBuf {
    let d = dir.display();
    let mut main = format!(
        "pid {d}/logs/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n"
    );
    for t in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        main.push_str(&format!("    {t}_temp_path {d}/logs/{t};\n"));
    }
    for (port, s) in (18080..).zip(&spec.servers) {
        main.push_str(&format!(
            "    server {{\n        listen 127.0.0.1:{port};\n"
        ));
        for &x in &s.sets {
            main.push_str(&format!("        {}\n", set_line("proxy", x, ca)));
        }
        if s.snippet == 1 {
            main.push_str("        include snippet.conf;\n");
        }
        for (i, l) in s.locs.iter().enumerate() {
            let module = if l.grpc { "grpc" } else { "proxy" };
            let pass = if l.grpc {
                format!("grpc_pass grpcs://127.0.0.1:{};", 9440 + l.port)
            } else {
                format!("proxy_pass https://127.0.0.1:{};", 9440 + l.port)
            };
            let mut body: Vec<String> = vec![pass];
            body.extend(l.sets.iter().map(|&x| set_line(module, x, ca)));
            if s.snippet == 2 && i == 0 && !l.grpc {
                body.push("include snippet.conf;".into());
            }
            if l.one_line && !l.nested {
                main.push_str(&format!(
                    "        location /l{i} {{ {} }}\n",
                    body.join(" ")
                ));
                continue;
            }
            main.push_str(&format!("        location /l{i} {{\n"));
            for b in &body {
                main.push_str(&format!("            {b}\n"));
            }
            if l.nested {
                main.push_str(&format!(
                    "            location /l{i}/n {{\n                proxy_pass https://127.0.0.1:{};\n            }}\n",
                    9450 + l.port
                ));
            }
            main.push_str("        }\n");
        }
        main.push_str("    }\n");
    }
    main.push_str("}\n");
    let snippet: String = spec
        .snippet
        .iter()
        .map(|&x| format!("{}\n", set_line("proxy", x, ca)))
        .collect();
    fs::create_dir_all(dir.join("logs")).unwrap();
    fs::write(dir.join("snippet.conf"), snippet).unwrap();
    fs::write(dir.join("nginx.conf"), main).unwrap();
    dir.join("nginx.conf")
}

/// The files of a multi-file unified diff, each applied to its loaded text.
fn apply_all(loaded: &BTreeMap<String, String>, diff: &str) -> BTreeMap<String, String> {
    let mut out = loaded.clone();
    for part in diff.split("diff --git a/").skip(1) {
        let name = part.split_whitespace().next().unwrap().to_string();
        let old = loaded
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not loaded"));
        out.insert(name, apply_diff(old, part));
    }
    out
}

fn read_texts(dir: &Path) -> BTreeMap<String, String> {
    ["nginx.conf", "snippet.conf"]
        .iter()
        .map(|n| (n.to_string(), fs::read_to_string(dir.join(n)).unwrap()))
        .collect()
}

#[derive(Default)]
struct Tally {
    cases: usize,
    chosen: usize,
    applied: usize,
    refused: usize,
    saved: usize,
    original_failed: usize,
}

fn check_case(
    spec: &Spec,
    (picks, places): (u64, u64),
    bin: &Path,
    ca: &str,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let dir = tempfile::Builder::new()
        .prefix("hopscope-saveprops-")
        .tempdir()
        .unwrap();
    let main = write_tree(spec, dir.path(), ca);
    tally.cases += 1;
    if let Err(e) = nginx_t(bin, &main) {
        if std::env::var_os("SAVE_PROPS_SHOW").is_some() {
            eprintln!("{e}");
        }
        // Only trees nginx accepts as written say anything about a fix
        // breaking one.
        tally.original_failed += 1;
        return Ok(());
    }
    let cfg = conf::load(&Input::Path(main.clone())).expect("load");
    let model = Model::build(cfg, "1.22.1".parse::<Version>().unwrap());
    let findings = rules::check(&model);
    let offered: Vec<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.suppressed.is_none() && f.hop.is_some())
        .filter(|(_, f)| {
            f.fix
                .as_ref()
                .is_some_and(|x| x.applicability != Applicability::DisplayOnly)
        })
        .map(|(i, _)| i)
        .collect();
    let chosen: Vec<(usize, Placement)> = offered
        .iter()
        .enumerate()
        .filter(|(k, _)| picks >> (k % 64) & 1 == 1)
        .map(|(k, &fi)| {
            let p = if places >> (k % 64) & 1 == 1 {
                Placement::Defining
            } else {
                Placement::Hop
            };
            (fi, p)
        })
        .collect();
    if chosen.is_empty() {
        return Ok(());
    }
    let mut values = Values::default();
    values.insert("ca-file", ca);
    values.insert("sni-name", "localhost");
    let Ok(plan) = fix::preview(&model, &findings, &chosen, &values) else {
        return Ok(());
    };
    tally.chosen += chosen.len();
    tally.applied += plan.applied.len();
    tally.refused += plan.refused.len();
    // 1. Every selected fix is in the diff or refused with a reason.
    for (fi, _) in &chosen {
        let inside = plan.applied.contains(fi);
        let refused = plan.refused.iter().find(|(r, _)| r == fi);
        prop_assert!(
            inside || refused.is_some_and(|(_, why)| !why.is_empty()),
            "{} of {} is neither applied nor refused",
            findings[*fi].rule,
            findings[*fi]
                .hop
                .map(|h| model.hops[h].id.clone())
                .unwrap_or_default()
        );
        prop_assert!(!(inside && refused.is_some()), "both applied and refused");
    }
    if plan.changed.is_empty() {
        return Ok(());
    }
    let diff = fix::diff::unified(&model, &plan.changed).expect("diff");
    let loaded = read_texts(dir.path());
    // The save gate of `w`: nginx -t on copies, unchanged then fixed.
    let verdict = validate::before_write(&model, &plan.changed, bin).expect("nginx -t runs");
    // The preview's own checks already refuse what nginx -t would reject
    // in these trees (their CA is a real one): the gate never has to.
    prop_assert!(
        verdict.allows_write(),
        "the preview offered a save nginx -t refuses: {}\n{}",
        verdict.describe(),
        diff
    );
    let files = fix::changed_files(&model, &plan.changed);
    fix::save::save_all(&files).expect("save");
    tally.saved += 1;
    // 2. Saved bytes = the previewed diff applied to the loaded files.
    let saved = read_texts(dir.path());
    let expected = apply_all(&loaded, &diff);
    prop_assert_eq!(
        &saved,
        &expected,
        "saved bytes differ from the preview\n{}",
        diff
    );
    // 3. The saved tree passes the real nginx -t.
    if let Err(e) = nginx_t(bin, &main) {
        return Err(TestCaseError::fail(format!(
            "nginx -t rejects the saved tree ({}): {e}\n{diff}",
            verdict.describe()
        )));
    }
    Ok(())
}

#[test]
fn saved_bytes_are_the_preview_and_nginx_accepts_every_save() {
    let bin = validate::find_nginx().filter(|p| p.is_file());
    let missing = bin.is_none().then(|| "nginx is not installed".to_string());
    if !required("the preview/save property test", missing) {
        return;
    }
    let bin = bin.unwrap();
    let keep = tempfile::Builder::new()
        .prefix("hopscope-saveprops-ca-")
        .tempdir()
        .unwrap();
    let ca = TestCa::new(keep.path()).cert.display().to_string();
    let started = std::time::Instant::now();
    let mut config = Config::with_cases(CASES);
    config.rng_algorithm = RngAlgorithm::ChaCha;
    config.rng_seed = RngSeed::Fixed(SEED);
    config.failure_persistence = None;
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.cases = n;
    }
    let mut runner = TestRunner::new(config);
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&(spec(), pick()), |(spec, pick)| {
        check_case(&spec, pick, &bin, &ca, &mut tally.borrow_mut())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let t = tally.borrow();
    eprintln!(
        "{} cases in {:?}: {} fixes chosen, {} applied, {} refused with a reason; {} saves, all accepted by nginx -t; {} generated trees nginx rejected as written",
        t.cases,
        started.elapsed(),
        t.chosen,
        t.applied,
        t.refused,
        t.saved,
        t.original_failed
    );
    assert!(
        t.saved > 0,
        "no case saved anything: the test proves nothing"
    );
}
