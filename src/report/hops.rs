//! `hops`: every hop with its effective settings, as the JSON contract
//! (`hopscope.hops/1`) and as a readable table.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::Value;

use super::findings::FindingOut;
use super::json::{to_value, write_pretty, ErrorsOut, Field, SeqMap, SeqOf};
use super::labels;
use crate::diagnostic::{by_hop, Finding};
use crate::model::{Hop, Model, Origin, Setting};

/// One hop as the contract's HOP object, with its FINDING objects.
pub(crate) struct HopOut<'a, F> {
    pub model: &'a Model,
    pub hop: &'a Hop,
    pub findings: F,
}

impl<F: Serialize> Serialize for HopOut<'_, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (model, hop) = (self.model, self.hop);
        let mut m = s.serialize_map(Some(21))?;
        m.serialize_entry("column", &hop.column)?;
        m.serialize_entry("context", hop.subsystem())?;
        m.serialize_entry("directive", hop.module.pass_directive())?;
        m.serialize_entry("file", &hop.file)?;
        m.serialize_entry("files_not_checked", &labels::files_not_checked(model, hop))?;
        m.serialize_entry("findings", &self.findings)?;
        m.serialize_entry("id", &hop.id)?;
        m.serialize_entry("line", &hop.line)?;
        m.serialize_entry("listen", &hop.listen)?;
        m.serialize_entry("locations", &hop.locations)?;
        m.serialize_entry("module", hop.module.as_str())?;
        m.serialize_entry("proxy_host", &hop.proxy_host)?;
        m.serialize_entry("server_names", &hop.server_names)?;
        m.serialize_entry("settings", &Settings(&hop.settings))?;
        m.serialize_entry("sni", &SniOut(&hop.sni))?;
        m.serialize_entry("target", &hop.target.raw)?;
        m.serialize_entry("tls_when", &hop.tls.text())?;
        let upstream = hop.upstream.map(|u| UpstreamOut(&model.upstreams[u]));
        m.serialize_entry("upstream", &upstream)?;
        m.serialize_entry("variants", &SeqOf(|| hop.variants.iter().map(VariantOut)))?;
        m.serialize_entry("verify_name", &hop.verify_name)?;
        m.serialize_entry("via", &ViaOut(model, &hop.via))?;
        m.end()
    }
}

/// A hop's include chain: `[{"file", "line"}]`, outermost first.
struct ViaOut<'a>(&'a Model, &'a [crate::model::DirRef]);

impl Serialize for ViaOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ViaOut(model, via) = *self;
        s.collect_seq(via.iter().map(|&d| {
            SeqMap([
                ("file", Field::Str(model.file_name(d))),
                ("line", Field::U32(model.line_col(d).0)),
            ])
        }))
    }
}

struct UpstreamOut<'a>(&'a crate::model::Upstream);

impl Serialize for UpstreamOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("file", &u.file)?;
        m.serialize_entry("line", &u.line)?;
        m.serialize_entry("name", &u.name)?;
        m.serialize_entry("servers", &u.servers)?;
        m.end()
    }
}

/// One value of a pass built from variables (`variants`).
struct VariantOut<'a>(&'a crate::model::Variant);

impl Serialize for VariantOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("proxy_host", &v.proxy_host)?;
        m.serialize_entry("sni", &SniOut(&v.sni))?;
        m.serialize_entry("target", &v.target.raw)?;
        m.serialize_entry("verify_name", &v.verify_name)?;
        m.serialize_entry("when", &v.when)?;
        m.end()
    }
}

struct SniOut<'a>(&'a crate::model::Sni);

impl Serialize for SniOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sni = self.0;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("dynamic", &sni.dynamic)?;
        m.serialize_entry("name", &sni.name)?;
        m.serialize_entry("sent", &sni.sent)?;
        m.serialize_entry("why", &sni.why)?;
        m.end()
    }
}

/// The settings object: directive name → value and origin, by name.
struct Settings<'a>(&'a [Setting]);

impl Serialize for Settings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<&Setting> = self.0.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(b.name));
        let mut map = s.serialize_map(Some(sorted.len()))?;
        for set in sorted {
            map.serialize_entry(&set.name, &SettingOut(set))?;
        }
        map.end()
    }
}

struct SettingOut<'a>(&'a Setting);

impl Serialize for SettingOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let set = self.0;
        match &set.origin {
            Origin::Default => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("origin", "default")?;
                m.serialize_entry("value", &set.value)?;
                m.end()
            }
            Origin::Explicit(p) => {
                let mut m = s.serialize_map(Some(5))?;
                m.serialize_entry("file", &*p.file)?;
                m.serialize_entry("level", p.level)?;
                m.serialize_entry("line", &p.line)?;
                m.serialize_entry("origin", "explicit")?;
                m.serialize_entry("value", &set.value)?;
                m.end()
            }
        }
    }
}

/// One hop as the contract's HOP object. `findings` is filled by the caller.
pub fn hop_json(model: &Model, hop: &Hop, findings: Vec<Value>) -> Value {
    to_value(&HopOut {
        model,
        hop,
        findings,
    })
}

/// Load errors as the contract's `errors` array.
pub fn errors_json(model: &Model) -> Value {
    to_value(&ErrorsOut(model))
}

/// The whole `hops --json` document.
/// `findings_of(index, hop)` gives the FINDING objects of each hop.
pub fn document(model: &Model, findings_of: impl Fn(usize, &Hop) -> Vec<Value>) -> Value {
    to_value(&DocOut {
        model,
        findings_of: |i: usize, h: &Hop| findings_of(i, h),
    })
}

/// Writes the whole `hops --json` document, pretty-printed with a final
/// newline, with every hop's findings: the same text as printing
/// [`document`] with `{:#}`, without building it in memory.
pub fn write_document<W: std::io::Write + ?Sized>(
    model: &Model,
    findings: &[Finding],
    out: &mut W,
) -> std::io::Result<()> {
    let by_hop = by_hop(model, findings);
    let doc = DocOut {
        model,
        findings_of: |i: usize, _: &Hop| {
            let list: &[usize] = by_hop.get(i).map_or(&[], Vec::as_slice);
            SeqOf(move || {
                list.iter().map(move |&k| FindingOut {
                    model,
                    f: &findings[k],
                })
            })
        },
    };
    write_pretty(&doc, out)
}

struct DocOut<'a, F> {
    model: &'a Model,
    findings_of: F,
}

impl<'a, F, T> Serialize for DocOut<'a, F>
where
    F: Fn(usize, &'a Hop) -> T,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let model = self.model;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("errors", &ErrorsOut(model))?;
        m.serialize_entry(
            "files",
            &SeqOf(|| model.config.files.iter().map(|f| f.name.as_str())),
        )?;
        m.serialize_entry(
            "hops",
            &SeqOf(|| {
                model.hops.iter().enumerate().map(|(i, hop)| HopOut {
                    model,
                    hop,
                    findings: (self.findings_of)(i, hop),
                })
            }),
        )?;
        m.serialize_entry("nginx_version", &model.version.to_string())?;
        m.serialize_entry("nginx_version_source", model.version_choice.from.as_str())?;
        m.serialize_entry("schema", "hopscope.hops/1")?;
        m.end()
    }
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
