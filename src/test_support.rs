//! Models, a rule and findings for tests: the renderers' and the rules'
//! unit tests, and the integration tests. Not part of the product (the
//! rule here is never registered: the real registry only holds real rules).

use std::path::{Path, PathBuf};

use crate::conf::loader::{load_tree, MemFiles};
use crate::conf::LoadedFrom;
use crate::diagnostic::{Finding, Severity};
use crate::model::{DirRef, Model, Version};
use crate::rules::{registry, Doc, Rule};

/// The README's rules table (id | severity | what it flags), generated
/// from the registry so it cannot drift from the rules.
pub fn rules_table_markdown() -> String {
    crate::report::rules_table(registry())
}

/// The whole `check --format json` document (`hopscope.check/1`) as a
/// JSON value: what `check --format json` prints, read back.
pub fn check_document(model: &Model, findings: &[Finding]) -> serde_json::Value {
    let mut out = Vec::new();
    crate::report::findings::write_check_document(model, findings, &mut out)
        .expect("writing to memory does not fail");
    serde_json::from_slice(&out).expect("the check document is JSON")
}

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
        severity_text: "`high`, always.",
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
    let cfg = load_tree(&mem, &prefix.join(files[0].0), LoadedFrom::Demo);
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
    Finding::for_hop(TEST_RULE.id, Severity::High, model, 0, message.to_string())
}

/// A config of `n` lines (roughly the shape of real ones).
pub fn nginx_lines(n: usize) -> String {
    let block = [
        "# upstream {i}",
        "upstream pool_{i} {",
        "    server 10.0.{i}.1:8443 max_fails=3 fail_timeout=30s;",
        "}",
        "server {",
        "    listen 443 ssl; server_name app{i}.example.com;",
        "    location ~* ^/api/(v[0-9]+)/ {",
        "        proxy_pass https://pool_{i}$request_uri;",
        "        proxy_ssl_server_name on;",
        "        proxy_set_header Host \"app{i}.internal\";",
        "    }",
        "}",
    ];
    let mut out = String::new();
    for k in 0..n {
        out.push_str(&block[k % block.len()].replace("{i}", &(k / block.len()).to_string()));
        out.push('\n');
    }
    out
}
