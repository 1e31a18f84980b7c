//! A baseline: the findings a team accepts for now, so that `check` fails
//! only on new ones. Each finding is kept by the fingerprint SARIF uses
//! (`hopscope/v1` in `partialFingerprints`): rule, the hop's file, the
//! directive's text and the message without line numbers, so that an edit
//! elsewhere (a line added above) does not make an old finding new.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{BaselineState, Finding};
use crate::model::Model;
use crate::report::sarif::{fingerprint_key, fnv1a};

/// The `schema` of the baseline document.
pub const SCHEMA: &str = "hopscope.baseline/1";

/// One accepted finding. Only `fingerprint` is compared; the rest is for
/// the people reading the file (and the "fixed" list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub file: String,
    pub hop: Option<String>,
    pub message: String,
}

/// The baseline document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub schema: String,
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// The fingerprint of each finding, as SARIF's `partialFingerprints`
/// writes it: the hash of its line-independent identity, and its rank
/// among findings with the same identity (`…:1`, `…:2`).
pub fn fingerprints(model: &Model, findings: &[Finding]) -> Vec<String> {
    let mut seen: HashMap<u64, u32> = HashMap::new();
    findings
        .iter()
        .map(|f| {
            let hash = fnv1a(&fingerprint_key(model, f));
            let n = seen.entry(hash).or_insert(0);
            *n += 1;
            format!("{hash:016x}:{n}")
        })
        .collect()
}

impl Baseline {
    /// The baseline of the findings that fail this run (suppressed ones
    /// are left out: their comment already accepts them).
    pub fn of(model: &Model, findings: &[Finding]) -> Baseline {
        let entries = fingerprints(model, findings)
            .into_iter()
            .zip(findings)
            .filter(|(_, f)| f.suppressed.is_none())
            .map(|(fingerprint, f)| Entry {
                fingerprint,
                rule: f.rule.to_string(),
                file: super::finding_file(model, f),
                hop: f.hop.and_then(|i| model.hops.get(i)).map(|h| h.id.clone()),
                message: crate::diagnostic::without_line_numbers(&f.message),
            })
            .collect();
        Baseline {
            schema: SCHEMA.to_string(),
            version: 1,
            findings: entries,
        }
    }

    /// Reads a baseline file; the error names the file.
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read baseline {shown}: {e}"))?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{shown}:{}:{}: not a hopscope baseline: {e}",
                e.line(),
                e.column()
            )
        })?;
        if b.schema != SCHEMA || b.version != 1 {
            return Err(format!(
                "{shown}: baseline schema \"{}\" version {} is not {SCHEMA} version 1",
                b.schema.escape_debug(),
                b.version
            ));
        }
        Ok(b)
    }

    /// Writes the baseline to `path` (replacing it whole, never half-written).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let shown = path.display();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("cannot write baseline {shown}: {e}"))?;
        tmp.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write baseline {shown}: {e}"))?;
        tmp.persist(path)
            .map_err(|e| format!("cannot write baseline {shown}: {}", e.error))?;
        Ok(())
    }

    /// Marks each unsuppressed finding `unchanged` (in the baseline) or
    /// `new`, and returns the entries that match no finding any more.
    pub fn mark(&self, model: &Model, findings: &mut [Finding]) -> Vec<Entry> {
        let mut left: HashMap<&str, &Entry> = self
            .findings
            .iter()
            .map(|e| (e.fingerprint.as_str(), e))
            .collect();
        for (fp, f) in fingerprints(model, findings)
            .iter()
            .zip(findings.iter_mut())
        {
            if f.suppressed.is_some() {
                continue;
            }
            f.baseline = Some(if left.remove(fp.as_str()).is_some() {
                BaselineState::Unchanged
            } else {
                BaselineState::New
            });
        }
        // In the file's order, for a stable report.
        self.findings
            .iter()
            .filter(|e| left.contains_key(e.fingerprint.as_str()))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{hop_finding, model};

    #[test]
    fn identical_findings_are_counted_and_suppressed_ones_left_out() {
        let m = model(&[(
            "nginx.conf",
            "http { server { location / { proxy_pass https://api.example.com; } } }",
        )]);
        let mut quiet = hop_finding(&m, "c");
        quiet.suppressed = Some("known".into());
        let base = Baseline::of(&m, &[hop_finding(&m, "a"), quiet]);
        assert_eq!(base.findings.len(), 1, "the suppressed one is not written");
        assert_eq!(base.findings[0].hop.as_deref(), Some("nginx.conf:1"));

        // Two findings alike: the baseline accepts one; the second is new.
        let mut now = vec![hop_finding(&m, "a"), hop_finding(&m, "a")];
        let fixed = base.mark(&m, &mut now);
        assert!(fixed.is_empty());
        assert_eq!(now[0].baseline, Some(BaselineState::Unchanged));
        assert_eq!(now[1].baseline, Some(BaselineState::New));
        assert!(!now[0].is_active() && now[1].is_active());

        // Nothing found any more: the entry is reported as fixed.
        let fixed = base.mark(&m, &mut [hop_finding(&m, "b")]);
        assert_eq!(fixed, base.findings);
    }

    #[test]
    fn a_file_that_is_no_baseline_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(
            &path,
            "{\"schema\": \"hopscope.check/1\", \"version\": 1, \"findings\": []}",
        )
        .unwrap();
        let e = Baseline::read(&path).unwrap_err();
        assert!(e.contains("is not hopscope.baseline/1"), "{e}");
        std::fs::write(&path, "[1,").unwrap();
        let e = Baseline::read(&path).unwrap_err();
        assert!(e.starts_with(&format!("{}:1:", path.display())), "{e}");
        let m = model(&[(
            "nginx.conf",
            "http { server { location / { proxy_pass https://a.example.com; } } }",
        )]);
        let base = Baseline::of(&m, &[hop_finding(&m, "a")]);
        base.write(&path).unwrap();
        assert_eq!(Baseline::read(&path).unwrap(), base);
    }
}
