//! Values a person gives a fix (`--set`, the terminal UI's text field):
//! which hop each is for, and whether nginx would read it as meant.
//!
//! `--set KEY=VALUE` names no hop. It is bound, before any fix is applied,
//! to the one hop whose selected fixes take that key; when several hops do
//! (or none), it is refused with the `--set HOP:KEY=VALUE` of each. Bound
//! once, it stays that hop's: a later round (a `Host` header the new name
//! calls for) uses it for the same hop, and a hop that only a later round
//! makes need the key is reported as not fixed, never given it silently.

use std::fmt;

#[cfg(test)]
use super::engine::FixError;
use super::engine::Selection;
use super::plan::{ValueError, Values};
use crate::diagnostic::{Applicability, Change, FixValue};
use crate::model::Model;
use crate::visible::visible;

pub use super::value_check::{check, Checked, Refused};

/// The keys a fix asks a person for.
pub const KEYS: [&str; 3] = ["sni-name", "ca-file", "client-key"];

/// A `--set` split into its parts: the hop (none for every-hop `KEY=VALUE`),
/// the key and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetSpec {
    pub hop: Option<String>,
    pub key: &'static str,
    pub value: String,
}

impl SetSpec {
    /// Parses `KEY=VALUE` or `HOP-ID:KEY=VALUE`. The key is found by name,
    /// so a hop id or a value may hold `=` and `:`.
    pub fn parse(spec: &str) -> Result<SetSpec, ValueError> {
        if !spec.contains('=') {
            return Err(ValueError::NoEquals(spec.to_string()));
        }
        let empty = || ValueError::EmptyPart(spec.to_string());
        for key in super::values::KEYS {
            if let Some(value) = spec.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
                return match value {
                    "" => Err(empty()),
                    v => Ok(SetSpec {
                        hop: None,
                        key,
                        value: v.to_string(),
                    }),
                };
            }
        }
        let found = super::values::KEYS
            .iter()
            .filter_map(|key| spec.find(&format!(":{key}=")).map(|i| (i, *key)))
            .min();
        match found {
            Some((i, key)) => {
                let value = &spec[i + key.len() + 2..];
                if value.is_empty() {
                    return Err(empty());
                }
                Ok(SetSpec {
                    hop: Some(spec[..i].to_string()),
                    key,
                    value: value.to_string(),
                })
            }
            None => {
                let (k, v) = spec.split_once('=').unwrap_or((spec, ""));
                if k.is_empty() || v.is_empty() {
                    Err(empty())
                } else {
                    Err(ValueError::UnknownKey(k.to_string()))
                }
            }
        }
    }
}

/// A `KEY=VALUE` that names no hop and is not for exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unbound {
    pub key: &'static str,
    pub value: String,
    /// The hops (ids as loaded) whose selected fixes take the key and have
    /// no value of their own.
    pub hops: Vec<String>,
}

impl fmt::Display for Unbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, value) = (self.key, visible(&self.value));
        if self.hops.is_empty() {
            return write!(
                f,
                "--set {key}={value}: no hop selected for fixing needs {key} without a value of its own, so it would be used nowhere (a hop that needs it only once other fixes are applied takes it as --set HOP:{key}=VALUE)"
            );
        }
        write!(
            f,
            "--set {key}={value}: {} hops need {key}, and KEY=VALUE applies only where exactly one does; name the hop (or narrow the fixes with --hop ID):",
            self.hops.len()
        )?;
        for h in &self.hops {
            write!(
                f,
                "\n  --set {}",
                shell_word(&format!("{h}:{key}={}", self.value))
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Unbound {}

/// A word as a shell reads it back: as it is when it holds only plain
/// characters, else in single quotes; control characters escaped.
fn shell_word(w: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._/:@=+-,%#".contains(c);
    if !w.is_empty() && w.chars().all(plain) {
        return w.to_string();
    }
    format!("'{}'", visible(&w.replace('\'', "'\\''")))
}

/// The hops (ids of `model`) whose selected fixes take each key, in the
/// model's order, once each.
pub fn needing(model: &Model, sel: &Selection) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for f in crate::rules::check(model) {
        let (Some(fix), Some(h)) = (&f.fix, f.hop) else {
            continue;
        };
        let left_out = f.suppressed.is_some()
            || fix.applicability == Applicability::DisplayOnly
            || (sel.safe_only && fix.applicability == Applicability::NeedsReview)
            || !(sel.rules.is_empty() || sel.rules.iter().any(|r| r == f.rule));
        let id = &model.hops[h].id;
        if left_out || !(sel.hops.is_empty() || sel.hops.contains(id)) {
            continue;
        }
        for c in &fix.changes {
            let (Change::Set { value, .. } | Change::SetHeader { value, .. }) = c;
            if let FixValue::Input { key, .. } = value {
                if !out.iter().any(|(i, k)| i == id && k == key) {
                    out.push((id.clone(), key));
                }
            }
        }
    }
    out.sort_by_key(|(id, _)| model.hop_by_id(id));
    out
}

impl Values {
    /// Every `KEY=VALUE` bound to the one hop (of `model`, before any fix)
    /// whose selected fixes take the key and have no value of their own.
    pub fn bound(&self, model: &Model, sel: &Selection) -> Result<Values, Unbound> {
        let mut out = self.clone();
        out.one_hop.clear();
        if self.one_hop.is_empty() {
            return Ok(out);
        }
        let needs = needing(model, sel);
        for (key, value) in &self.one_hop {
            let Some(key) = KEYS.iter().copied().find(|k| k == key) else {
                continue;
            };
            let hops: Vec<String> = needs
                .iter()
                .filter(|(id, k)| *k == key && !self.map.contains_key(&format!("{id}:{key}")))
                .map(|(id, _)| id.clone())
                .collect();
            match hops.as_slice() {
                [one] => out.insert(format!("{one}:{key}"), value.clone()),
                _ => {
                    return Err(Unbound {
                        key,
                        value: value.clone(),
                        hops,
                    })
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
