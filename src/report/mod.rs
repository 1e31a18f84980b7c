//! Rendering results for people and machines. Reports only read the model
//! and the findings; they decide nothing.

pub mod findings;
pub mod fleet;
pub mod hops;
mod json;
pub mod sarif;
pub mod text;

use crate::rules::{registry, Rule};

/// The README's rules table (id | severity | what it flags), generated
/// from the registry so it cannot drift from the rules.
pub fn rules_table_markdown() -> String {
    rules_table(registry())
}

/// The rules table for a list of rules.
pub fn rules_table(rules: &[&Rule]) -> String {
    // Escaped so that `*_ssl_name` and `a | b` stay literal in a table cell.
    let cell = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('*', "\\*")
            .replace('|', "\\|")
            .replace('<', "&lt;")
            .replace('\n', " ")
    };
    let mut out = String::from("| id | severity | what it flags |\n|---|---|---|\n");
    for r in rules {
        out.push_str(&format!(
            "| `{id}` | {sev} | {what} |\n",
            id = r.id,
            sev = r.severity,
            what = cell(r.summary)
        ));
    }
    out
}

/// Models, a rule and findings for the renderers' unit tests (never
/// registered: the real registry only holds real rules).
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    use crate::conf::loader::{load_tree, MemFiles};
    use crate::conf::Origin;
    use crate::diagnostic::{Finding, Severity};
    use crate::model::{DirRef, Model, Version};
    use crate::rules::{Doc, Rule};

    fn no_check(_: &Model, _: &mut Vec<Finding>) {}

    pub static TEST_RULE: Rule = Rule {
        id: "test-rule",
        summary: "a rule for the renderers' tests | with a pipe",
        severity: Severity::High,
        doc: Doc {
            what: "Flags every hop.",
            why: "Tests need findings.",
            example: "proxy_pass https://backend;\n",
            use_instead: "proxy_ssl_server_name on;\nproxy_pass https://backend;\n",
            fix_safety: "Safe.",
        },
        check: no_check,
    };

    /// A model of in-memory files below `/etc/nginx`; the first is the main file.
    pub fn model(files: &[(&str, &str)]) -> Model {
        let prefix = Path::new("/etc/nginx");
        let mem = MemFiles::new(
            files
                .iter()
                .map(|(n, t)| (prefix.join(n), t.as_bytes().to_vec()))
                .collect::<Vec<(PathBuf, Vec<u8>)>>(),
        );
        let cfg = load_tree(&mem, &prefix.join(files[0].0), Origin::Demo);
        Model::build(cfg, Version::NEWEST_STABLE)
    }

    /// The first directive named `name` in a file.
    pub fn dir(model: &Model, file: &str, name: &str) -> DirRef {
        let file = model.config.file_named(file).expect("file is loaded");
        let ast = model.config.ast(file);
        let node = (0..ast.nodes.len() as u32)
            .find(|&n| ast.node(n).name() == name)
            .expect("directive exists");
        DirRef { file, node }
    }

    /// A finding of [`TEST_RULE`] about the model's first hop.
    pub fn hop_finding(model: &Model, message: &str) -> Finding {
        Finding::for_hop(
            TEST_RULE.id,
            Severity::High,
            model,
            &model.hops[0],
            message.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_table_escapes_cells() {
        let table = rules_table(&[&testing::TEST_RULE]);
        assert_eq!(
            table,
            "| id | severity | what it flags |\n|---|---|---|\n| `test-rule` | high | a rule for the renderers' tests \\| with a pipe |\n"
        );
        assert!(rules_table(&[]).lines().count() == 2);
    }
}
