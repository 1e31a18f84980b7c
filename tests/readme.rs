//! The README's rules table is generated from the rule registry: this test
//! fails when the two drift apart and prints the table to paste.

const START: &str = "<!-- rules:start -->";
const END: &str = "<!-- rules:end -->";

#[test]
fn readme_rules_table_matches_the_registry() {
    let expected = hopscope::test_support::rules_table_markdown();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let help = format!(
        "README.md must hold the rules table between `{START}` and `{END}`, exactly:\n\n{START}\n{expected}{END}\n"
    );
    let (Some(s), Some(e)) = (readme.find(START), readme.find(END)) else {
        panic!("markers not found. {help}");
    };
    assert!(s < e, "`{START}` must come before `{END}`. {help}");
    let found = readme[s + START.len()..e].trim_matches('\n');
    assert!(
        found == expected.trim_end_matches('\n'),
        "the README's rules table is out of date. {help}"
    );
}

#[test]
fn readme_states_the_severity_policy_every_rule_explains() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let section = readme
        .split("### Severity\n")
        .nth(1)
        .and_then(|rest| rest.split(START).next())
        .expect("README.md has a `### Severity` section before the rules table");
    // One line of prose per level, backticks aside.
    let prose = section
        .replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for (severity, meaning) in hopscope::rules::SEVERITY_POLICY {
        let line = format!("{severity}: {meaning}");
        assert!(
            prose.contains(&line),
            "the Severity section must say: {line}"
        );
    }
}
