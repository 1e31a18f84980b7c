//! Rendering results for people and machines. Reports only read the model
//! and the findings; they decide nothing.

mod chunks;
pub mod ci;
pub mod compliance;
pub mod findings;
pub mod fleet;
pub mod hops;
mod json;
pub mod labels;
mod pretty;
pub mod probe;
pub mod sarif;
mod snippet;
pub mod text;

use crate::rules::Rule;

/// The rules table (id | severity | what it flags) for a list of rules;
/// the README's is that of the registry.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_table_escapes_cells() {
        let table = rules_table(&[&crate::test_support::TEST_RULE]);
        assert_eq!(
            table,
            "| id | severity | what it flags |\n|---|---|---|\n| `test-rule` | high | a rule for the renderers' tests \\| with a pipe |\n"
        );
        assert!(rules_table(&[]).lines().count() == 2);
    }
}
