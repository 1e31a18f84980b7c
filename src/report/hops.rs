//! `hops`: every hop with its effective settings, as the JSON contract
//! (`hopscope.hops/1`) and as a readable table.

pub use super::findings::errors_json;

use super::chunks::write_chunked;
use super::findings::{write_document_end, write_errors, write_finding};
use super::labels;
use super::pretty::Pretty;
use crate::diagnostic::{by_hop, Finding};
use crate::model::{Hop, Model, Origin, Setting};

/// One hop as the contract's HOP object, with the FINDING objects of
/// `findings` (indices into `all`).
fn write_hop(w: &mut Pretty, model: &Model, hop: &Hop, findings: &[usize], all: &[Finding]) {
    w.open_object();
    w.key("column");
    w.uint(u64::from(hop.column));
    w.key("context");
    w.str(hop.subsystem());
    w.key("directive");
    w.str(hop.module.pass_directive());
    w.key("file");
    w.str(&hop.file);
    w.key("files_not_checked");
    w.opt_str(labels::files_not_checked(model, hop).as_deref());
    w.key("findings");
    w.open_array();
    for &k in findings {
        w.item();
        write_finding(w, model, &all[k]);
    }
    w.close_array();
    w.key("id");
    w.str(&hop.id);
    w.key("line");
    w.uint(u64::from(hop.line));
    w.key("listen");
    w.strs(&*hop.listen);
    w.key("locations");
    w.strs(&hop.locations);
    w.key("module");
    w.str(hop.module.as_str());
    w.key("proxy_host");
    w.str(&hop.proxy_host);
    w.key("server_names");
    w.strs(&*hop.server_names);
    w.key("settings");
    write_settings(w, &hop.settings);
    w.key("sni");
    write_sni(w, &hop.sni);
    w.key("target");
    w.str(&hop.target.raw);
    w.key("tls_when");
    w.opt_str(hop.tls.text());
    w.key("upstream");
    match hop.upstream.and_then(|u| model.upstreams.get(u)) {
        Some(u) => write_upstream(w, u),
        None => w.null(),
    }
    w.key("variants");
    w.open_array();
    for v in &hop.variants {
        w.item();
        write_variant(w, v);
    }
    w.close_array();
    w.key("verify_name");
    w.opt_str(hop.verify_name.as_deref());
    // The include chain: `[{"file", "line"}]`, outermost first.
    w.key("via");
    w.open_array();
    for &d in &hop.via {
        w.item();
        w.open_object();
        w.key("file");
        w.str(model.file_name(d));
        w.key("line");
        w.uint(u64::from(model.line_col(d).0));
        w.close_object();
    }
    w.close_array();
    w.close_object();
}

fn write_upstream(w: &mut Pretty, u: &crate::model::Upstream) {
    w.open_object();
    w.key("file");
    w.str(&u.file);
    w.key("line");
    w.uint(u64::from(u.line));
    w.key("name");
    w.str(&u.name);
    w.key("servers");
    w.strs(&u.servers);
    w.close_object();
}

/// One value of a pass built from variables (`variants`).
fn write_variant(w: &mut Pretty, v: &crate::model::Variant) {
    w.open_object();
    w.key("proxy_host");
    w.str(&v.proxy_host);
    w.key("sni");
    write_sni(w, &v.sni);
    w.key("target");
    w.str(&v.target.raw);
    w.key("verify_name");
    w.opt_str(v.verify_name.as_deref());
    w.key("when");
    w.str(&v.when);
    w.close_object();
}

fn write_sni(w: &mut Pretty, sni: &crate::model::Sni) {
    w.open_object();
    w.key("dynamic");
    w.bool(sni.dynamic);
    w.key("name");
    w.opt_str(sni.name.as_deref());
    w.key("sent");
    w.bool(sni.sent);
    w.key("why");
    w.str(&sni.why);
    w.close_object();
}

/// The settings object: directive name → value and origin, by name.
fn write_settings(w: &mut Pretty, settings: &[Setting]) {
    w.open_object();
    // Most hops list their settings by name already.
    if settings.windows(2).all(|p| p[0].name <= p[1].name) {
        settings.iter().for_each(|set| write_setting(w, set));
    } else {
        let mut sorted: Vec<&Setting> = settings.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(b.name));
        sorted.into_iter().for_each(|set| write_setting(w, set));
    }
    w.close_object();
}

fn write_setting(w: &mut Pretty, set: &Setting) {
    w.key_escaped(set.name);
    w.open_object();
    if let Origin::Explicit(p) = &set.origin {
        w.key("file");
        w.str(&p.file);
        w.key("level");
        w.str(p.level);
        w.key("line");
        w.uint(u64::from(p.line));
    }
    w.key("origin");
    w.str(match set.origin {
        Origin::Default => "default",
        Origin::Explicit(_) => "explicit",
    });
    w.key("value");
    w.opt_str(set.value.as_deref());
    w.close_object();
}

/// Hops rendered per chunk (a hop with its findings is a few kilobytes).
const HOPS_PER_CHUNK: usize = 64;

/// Writes the whole `hops --json` document (`hopscope.hops/1`),
/// pretty-printed with a final newline, with every hop's findings, without
/// building it in memory.
pub fn write_document<W: std::io::Write + ?Sized>(
    model: &Model,
    findings: &[Finding],
    out: &mut W,
) -> std::io::Result<()> {
    let by_hop = by_hop(model, findings);
    let mut buf = Vec::new();
    let mut w = Pretty::new(&mut buf);
    w.open_object();
    w.key("errors");
    write_errors(&mut w, model);
    w.key("files");
    w.strs(model.config.files.iter().map(|f| f.name.as_str()));
    w.key("hops");
    w.open_array();
    out.write_all(&buf)?;
    // The hops, each an element of the array open at depth 2.
    write_chunked(out, model.hops.len(), HOPS_PER_CHUNK, |range, buf| {
        let mut w = Pretty::resume(buf, 2, range.start == 0);
        for i in range {
            let list: &[usize] = by_hop.get(i).map_or(&[], Vec::as_slice);
            w.item();
            write_hop(&mut w, model, &model.hops[i], list, findings);
        }
    })?;
    buf.clear();
    write_document_end(&mut buf, model, model.hops.is_empty(), "hopscope.hops/1");
    out.write_all(&buf)
}

/// The readable table: one block per hop. `findings_of(index, hop)` gives
/// a label (`high[sni-off]`) and a message per finding of the hop.
pub fn table(model: &Model, findings_of: impl Fn(usize, &Hop) -> Vec<(String, String)>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} upstream TLS hop{} in {} file{}\ndefaults: {}",
        model.hops.len(),
        if model.hops.len() == 1 { "" } else { "s" },
        model.config.files.len(),
        if model.config.files.len() == 1 {
            ""
        } else {
            "s"
        },
        labels::version(&model.version_choice)
    );
    for (index, hop) in model.hops.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}  {} {}  [{}]",
            hop.id,
            hop.module.pass_directive(),
            hop.target.raw,
            labels::place(hop, " > ")
        );
        if let Some(via) = labels::via(model, hop) {
            let _ = writeln!(out, "  via {via}");
        }
        if let Some(when) = labels::tls_when(hop) {
            let _ = writeln!(out, "  TLS: {when}");
        }
        for v in &hop.variants {
            let _ = writeln!(out, "  value: {}", labels::variant(v));
        }
        let _ = writeln!(out, "  SNI: {} — {}", labels::sni(hop), hop.sni.why);
        if let Some(v) = &hop.verify_name {
            let _ = writeln!(out, "  verify name: {v}");
        }
        // The value column fits this hop's values up to a point; a longer
        // value still keeps two spaces before its origin.
        let values: Vec<String> = hop
            .settings
            .iter()
            .map(|s| labels::value(s, hop.module))
            .collect();
        let value_w = values
            .iter()
            .map(|v| v.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(28, 48);
        for (s, value) in hop.settings.iter().zip(values) {
            let origin = match &s.origin {
                Origin::Default => format!("default (nginx {})", model.version),
                Origin::Explicit(p) => labels::origin(model, hop, p, p.level, false),
            };
            let _ = writeln!(out, "  {:<34} {value:<value_w$}  {origin}", s.name);
        }
        if let Some(why) = labels::files_not_checked(model, hop) {
            let _ = writeln!(out, "  note: {why}");
        }
        for (label, msg) in findings_of(index, hop) {
            let _ = writeln!(out, "  ! {label}: {msg}");
        }
    }
    for e in model.errors() {
        let _ = writeln!(out, "\nerror: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::model;

    /// A tree with more hops than a chunk holds, variables, an upstream,
    /// strings JSON escapes, fixes with edits and a load error.
    fn tree() -> String {
        let mut conf = String::from(
            "http {\n    include missing.conf;\n    upstream up { server 10.0.0.1:443; }\n    map $host $b { default \"https://a\\\"b\"; x https://up; }\n    server {\n        server_name \"tab\\there\";\n        location /v { proxy_pass $b; }\n",
        );
        for i in 0..150 {
            conf.push_str(&format!(
                "        location /l{i} {{ proxy_ssl_verify off; proxy_pass https://up/{i}; }}\n"
            ));
        }
        conf.push_str("    }\n}\n");
        conf
    }

    #[test]
    fn the_document_prints_as_its_json_value_does() {
        let m = model(&[("nginx.conf", &tree())]);
        let findings = crate::rules::check(&m);
        let mut out = Vec::new();
        write_document(&m, &findings, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // Sorted keys, two-space indent, serde_json's escapes.
        assert_eq!(format!("{v:#}\n"), text);
        assert!(v["hops"].as_array().unwrap().len() > 2 * HOPS_PER_CHUNK);
        assert!(!v["errors"].as_array().unwrap().is_empty());
        assert!(text.contains("\\\""), "an escaped quote");
        assert!(
            text.contains("\"edits\": [\n"),
            "a fix with edits: {}",
            &text[..2000]
        );
        let mut check = Vec::new();
        super::super::findings::write_check_document(&m, &findings, &mut check).unwrap();
        let check = String::from_utf8(check).unwrap();
        let v: serde_json::Value = serde_json::from_str(&check).unwrap();
        assert_eq!(format!("{v:#}\n"), check);
        assert_eq!(v["findings"].as_array().unwrap().len(), findings.len());
    }
}
