//! Every rule keeps the promises its own documentation makes, checked from
//! the rule registry (as ruff checks its rules), so a new rule is held to
//! them without a line of test code:
//!
//! - its documented example ("Example") fires the rule;
//! - its documented fix ("Use instead") does not;
//! - its automatic fix, where it has one, converges: fixing the fixed
//!   configuration again changes nothing, the result loads with no new
//!   error, and the rule no longer fires on a hop it fixed;
//! - the messages it writes on its example are reviewed snapshots.
//!
//! A documented snippet is placed where nginx reads it: `upstream` and
//! `server` blocks in `http` (or `stream`, for a snippet without a
//! location or URL scheme), anything else in a `server` of its own.

use std::path::Path;

use hopscope::conf::{self, Input};
use hopscope::diagnostic::Finding;
use hopscope::fix::engine::{fix_all, Selection};
use hopscope::fix::plan::Values;
use hopscope::model::{Model, Version};
use hopscope::report::text::Paint;
use hopscope::rules::{self, Rule};

/// The top-level items of a snippet (comments stay with the item after
/// them), each with the first word of its head.
fn items(snippet: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    for line in snippet.lines() {
        current.push_str(line);
        current.push('\n');
        let code = line.split('#').next().unwrap_or("");
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        let ends = depth == 0 && (code.trim_end().ends_with('}') || code.trim_end().ends_with(';'));
        if ends {
            let head = current
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or("")
                .to_string();
            out.push((head, std::mem::take(&mut current)));
        }
    }
    if !current.trim().is_empty() {
        out.push((String::new(), current));
    }
    out
}

fn is_stream(snippet: &str) -> bool {
    !snippet.contains("location") && !snippet.contains("://") && !snippet.contains("http {")
}

/// A whole nginx.conf around a documented snippet; `extra` are top-level
/// items of the example (its `upstream` blocks) that the "Use instead"
/// snippet leaves out.
fn config_of(snippet: &str, extra: &[(String, String)]) -> String {
    let mut conf = String::from("events {}\n");
    if snippet.trim_start().starts_with("http {") {
        conf.push_str(snippet);
        return conf;
    }
    let stream = is_stream(snippet);
    let mut top = String::new();
    let mut inner = String::new();
    let own = items(snippet);
    let has_upstreams = own.iter().any(|(h, _)| h == "upstream");
    for (head, text) in own.iter().chain(extra.iter().filter(|_| !has_upstreams)) {
        match head.as_str() {
            "upstream" | "server" | "map" => top.push_str(text),
            _ => inner.push_str(text),
        }
    }
    let listen = if stream { "6379" } else { "8443" };
    conf.push_str(if stream { "stream {\n" } else { "http {\n" });
    conf.push_str(&top);
    if !inner.trim().is_empty() {
        conf.push_str(&format!("server {{\nlisten {listen};\n{inner}}}\n"));
    }
    conf.push_str("}\n");
    conf
}

fn load(dir: &Path, text: &str, named_files_exist: bool) -> Model {
    std::fs::write(dir.join("nginx.conf"), text).expect("write nginx.conf");
    // The files a documented fix names by a relative path exist, as the
    // fix says they do.
    for word in text.split_whitespace().filter(|_| named_files_exist) {
        let word = word.trim_end_matches(';');
        let named = [".crt", ".key", ".pem"].iter().any(|e| word.ends_with(e));
        if named && !word.starts_with('/') && !word.contains('$') {
            let path = dir.join(word);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, b"").expect("write a named file");
        }
    }
    let cfg = conf::load(&Input::Path(dir.join("nginx.conf"))).expect("the snippet loads");
    Model::build(cfg, Version::NEWEST_STABLE)
}

fn of<'a>(findings: &'a [Finding], rule: &Rule) -> Vec<&'a Finding> {
    findings
        .iter()
        .filter(|f| f.rule == rule.id && f.suppressed.is_none())
        .collect()
}

struct Checked {
    /// What the rule writes on its example, as `hopscope check` prints it.
    messages: String,
}

fn check_rule(rule: &Rule) -> Checked {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let example = config_of(rule.doc.example, &[]);
    let broken = load(dir.path(), &example, false);
    let findings = rules::check(&broken);
    let fired = of(&findings, rule);
    assert!(
        !fired.is_empty(),
        "{}: its documented example does not fire it:\n{example}",
        rule.id
    );
    let messages: String = fired
        .iter()
        .map(|f| hopscope::report::text::diagnostic(&broken, f, Paint::new(false)))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(&dir.path().display().to_string(), "PREFIX");

    // The example's upstream blocks stay when "Use instead" shows only the
    // part that changes.
    let upstreams: Vec<(String, String)> = items(rule.doc.example)
        .into_iter()
        .filter(|(h, _)| h == "upstream")
        .collect();
    let instead = config_of(rule.doc.use_instead, &upstreams);
    let fixed_dir = tempfile::tempdir().expect("a temporary directory");
    let fixed = load(fixed_dir.path(), &instead, true);
    let after = rules::check(&fixed);
    assert!(
        of(&after, rule).is_empty(),
        "{}: its documented fix still fires it:\n{instead}\n{:#?}",
        rule.id,
        of(&after, rule)
            .iter()
            .map(|f| &f.message)
            .collect::<Vec<_>>()
    );

    // The automatic fix, with the values the rule proposes, converges.
    let selection = Selection {
        rules: vec![rule.id.to_string()],
        ..Selection::default()
    };
    let outcome = fix_all(&broken, &selection, &Values::default())
        .unwrap_or_else(|e| panic!("{}: its fix breaks the example: {e}", rule.id));
    let errors_before = broken.errors().count();
    assert!(
        outcome.after.errors().count() <= errors_before,
        "{}: the fixed example has new load errors: {:?}",
        rule.id,
        outcome
            .after
            .errors()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    if !outcome.applied.is_empty() {
        let again = fix_all(&outcome.after, &selection, &Values::default())
            .unwrap_or_else(|e| panic!("{}: fixing again fails: {e}", rule.id));
        assert!(
            again.changed.is_empty(),
            "{}: fixing the fixed configuration changes it again",
            rule.id
        );
        let fixed_hops: Vec<&str> = outcome.applied.iter().map(|a| a.hop.as_str()).collect();
        let left = rules::check(&outcome.after);
        for f in of(&left, rule) {
            let hop = f.hop.map(|h| outcome.after.hops[h].id.as_str());
            assert!(
                !hop.is_some_and(|id| fixed_hops.contains(&id)),
                "{}: still fires on the hop its fix changed: {}",
                rule.id,
                f.message
            );
        }
    }
    Checked { messages }
}

#[test]
fn every_rule_keeps_the_promises_of_its_documentation() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        for rule in rules::registry() {
            let checked = check_rule(rule);
            insta::assert_snapshot!(format!("rule_{}", rule.id), checked.messages);
        }
    });
}

/// The placement of snippets the contract relies on.
#[test]
fn snippets_are_placed_where_nginx_reads_them() {
    let c = config_of(
        "upstream p { server a:1; }\n\nlocation / {\n    proxy_pass https://p;\n}\n",
        &[],
    );
    assert_eq!(
        c,
        "events {}\nhttp {\nupstream p { server a:1; }\nserver {\nlisten 8443;\n\nlocation / {\n    proxy_pass https://p;\n}\n}\n}\n"
    );
    let s = config_of("server {\n    listen 389;\n    proxy_pass ldap;\n}\n", &[]);
    assert!(s.starts_with("events {}\nstream {\nserver {"), "{s}");
}
