//! Rendering results for people and machines. Reports only read the model
//! and the findings; they decide nothing.

pub mod findings;
pub mod fleet;
pub mod hops;
pub mod sarif;
pub mod text;

use crate::rules::{registry, Rule};

/// Writes a JSON document pretty-printed as `{:#}` prints a
/// `serde_json::Value` (two-space indent), and a final newline.
pub(crate) fn write_pretty<W: std::io::Write + ?Sized>(
    v: &impl serde::Serialize,
    out: &mut W,
) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, Pretty::default());
    v.serialize(&mut ser).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// serde_json's `PrettyFormatter` output, with each line break and its
/// indentation written in one call (the stock one writes the indentation
/// one level at a time, which dominates on large documents).
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
    /// `,\n` and spaces for the deepest level reached so far.
    breaks: Vec<u8>,
}

impl Pretty {
    fn line<W: ?Sized + std::io::Write>(&mut self, w: &mut W, comma: bool) -> std::io::Result<()> {
        let need = 2 + 2 * self.depth;
        if self.breaks.len() < need {
            self.breaks.clear();
            self.breaks.extend_from_slice(b",\n");
            self.breaks.resize(need.max(64), b' ');
        }
        let from = if comma { 0 } else { 1 };
        w.write_all(&self.breaks[from..need])
    }
    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b)
    }
    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(w, false)?;
        }
        w.write_all(b)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, !first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, !first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

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
    fn the_streaming_pretty_printer_prints_as_serde_json_does() {
        let v = serde_json::json!({
            "a": [], "b": {}, "c": [1, [2, {"d": null}], {"e": "f\"\n"}],
            "g": {"h": {"i": {"j": {"k": {"l": [true, false]}}}}}, "m": 1.5
        });
        // Deeper than the indentation kept at first (32 levels).
        let deep = (0..40).fold(serde_json::json!([1]), |v, i| {
            if i % 2 == 0 {
                serde_json::json!([v, 2])
            } else {
                serde_json::json!({"x": v, "y": []})
            }
        });
        for v in [v, deep] {
            let mut out = Vec::new();
            write_pretty(&v, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:#}\n"));
        }
    }

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
