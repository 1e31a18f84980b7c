//! `hops`: every hop with its effective settings, as the JSON contract
//! (`hopscope.hops/1`) and as a readable table.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{Hop, Model, Origin, Setting};

/// One hop as the contract's HOP object. `findings` is filled by the caller.
pub fn hop_json(model: &Model, hop: &Hop, findings: Vec<Value>) -> Value {
    let upstream = hop.upstream.map(|u| {
        let u = &model.upstreams[u];
        json!({"name": u.name, "file": u.file, "line": u.line, "servers": u.servers})
    });
    json!({
        "id": hop.id,
        "file": hop.file,
        "line": hop.line,
        "column": hop.column,
        "context": hop.context(),
        "module": hop.module.as_str(),
        "directive": hop.module.pass_directive(),
        "target": hop.target.raw,
        "server_names": hop.server_names,
        "listen": hop.listen,
        "locations": hop.locations,
        "upstream": upstream,
        "proxy_host": hop.proxy_host,
        "sni": hop.sni,
        "verify_name": hop.verify_name,
        "settings": Settings(&hop.settings),
        "findings": findings,
    })
}

struct Settings<'a>(&'a [Setting]);

impl Serialize for Settings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for set in self.0 {
            let v = match &set.origin {
                Origin::Default => json!({"value": set.value, "origin": "default"}),
                Origin::Explicit(p) => json!({
                    "value": set.value, "origin": "explicit",
                    "file": p.file, "line": p.line, "level": p.level,
                }),
            };
            map.serialize_entry(&set.name, &v)?;
        }
        map.end()
    }
}

/// Load errors as the contract's `errors` array.
pub fn errors_json(model: &Model) -> Value {
    Value::Array(
        model
            .errors()
            .map(|e| json!({"file": e.file, "line": e.line, "message": e.message}))
            .collect(),
    )
}

/// The whole `hops --json` document.
/// `findings_of(index, hop)` gives the FINDING objects of each hop.
pub fn document(model: &Model, findings_of: impl Fn(usize, &Hop) -> Vec<Value>) -> Value {
    let files: Vec<&str> = model.config.files.iter().map(|f| f.name.as_str()).collect();
    let hops: Vec<Value> = model
        .hops
        .iter()
        .enumerate()
        .map(|(i, h)| hop_json(model, h, findings_of(i, h)))
        .collect();
    json!({
        "schema": "hopscope.hops/1",
        "nginx_version": model.version.to_string(),
        "files": files,
        "errors": errors_json(model),
        "hops": hops,
    })
}

/// The readable table: one block per hop. `findings_of(index, hop)` gives
/// a label (`high[sni-off]`) and a message per finding of the hop.
pub fn table(model: &Model, findings_of: impl Fn(usize, &Hop) -> Vec<(String, String)>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} upstream TLS hop{} in {} file{} (defaults of nginx {})",
        model.hops.len(),
        if model.hops.len() == 1 { "" } else { "s" },
        model.config.files.len(),
        if model.config.files.len() == 1 {
            ""
        } else {
            "s"
        },
        model.version
    );
    for (index, hop) in model.hops.iter().enumerate() {
        let place = if hop.locations.is_empty() {
            hop.server_names.first().cloned().unwrap_or_default()
        } else {
            format!(
                "{} {}",
                hop.server_names.first().map_or("", String::as_str),
                hop.locations.join(" > ")
            )
        };
        let _ = writeln!(
            out,
            "\n{}  {} {}  [{}]",
            hop.id,
            hop.module.pass_directive(),
            hop.target.raw,
            place.trim()
        );
        let sni = match (&hop.sni.name, hop.sni.sent) {
            (Some(n), true) if hop.sni.dynamic => format!("{n} (per request)"),
            (Some(n), true) => n.clone(),
            _ => "none".into(),
        };
        let _ = writeln!(out, "  SNI: {sni} — {}", hop.sni.why);
        if let Some(v) = &hop.verify_name {
            let _ = writeln!(out, "  verify name: {v}");
        }
        for s in &hop.settings {
            let value = s.value.clone().or_else(|| {
                s.spec
                    .default_description(hop.module)
                    .map(|d| format!("({d})"))
            });
            let origin = match &s.origin {
                Origin::Default => format!("default (nginx {})", model.version),
                Origin::Explicit(p) => format!("{} ({})", p.at(), p.level),
            };
            let _ = writeln!(
                out,
                "  {:<34} {:<28} {}",
                s.name,
                value.unwrap_or_else(|| "-".into()),
                origin
            );
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
