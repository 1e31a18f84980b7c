//! Findings and fixes as plain data: what a rule reports and what it
//! proposes, with no behaviour beyond small constructors. `rules` builds
//! them, `fix` turns proposals into edits, the views render them; this
//! module imports none of those (only the model it points into).

use std::fmt;
use std::str::FromStr;

use crate::model::{DirRef, Model, Module, SslDirective};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    /// `nginx -t` rejects the configuration.
    Error,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Error,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is none of [`Severity::ALL`]; keeps the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity \"{0}\": use error, high, medium, low or info")]
pub struct SeverityError(pub String);

impl FromStr for Severity {
    type Err = SeverityError;
    fn from_str(s: &str) -> Result<Severity, SeverityError> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| SeverityError(s.to_string()))
    }
}

/// A related position shown with a finding (where a value comes from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub dir: DirRef,
    pub label: String,
}

/// One problem found in the configuration.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The id of the rule that reports it (`sni-off`).
    pub rule: &'static str,
    pub severity: Severity,
    /// Index into `Model::hops`, when the finding is about a hop.
    pub hop: Option<usize>,
    /// The directive the finding points at (for a hop: its pass directive).
    pub dir: DirRef,
    /// One line, specific to this hop: names the effective values and
    /// where they come from.
    pub message: String,
    pub related: Vec<Related>,
    /// Boxed: most findings carry one, but a finding is moved and sorted
    /// as a whole, so it stays small.
    pub fix: Option<Box<Fix>>,
    /// Set when an inline `# hopscope: ignore RULE reason` comment covers it.
    pub suppressed: Option<String>,
    /// What a probe of the hop saw about this finding (None: not probed,
    /// or the rule is not one a handshake can back). Boxed: only a probe
    /// run sets it.
    pub evidence: Option<Box<Evidence>>,
    /// Set when the run compares with a baseline (`check --baseline`).
    pub baseline: Option<BaselineState>,
}

/// What a probe's handshakes say about a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The upstream behaved as the finding warns (refused the handshake,
    /// or served a certificate for another name).
    Confirmed,
    /// The upstream worked as configured, against the finding's warning.
    Contradicted,
    /// The handshakes say neither (the peer unreachable, another failure,
    /// or a rule a handshake cannot decide).
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// What one peer's handshake showed about a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerEvidence {
    /// The peer as the configuration names it (and the address it
    /// resolved to).
    pub peer: String,
    pub verdict: Verdict,
    /// One sentence: what the upstream did.
    pub saw: String,
}

/// A change of a finding's severity made by its evidence (`check --probe`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeverityChange {
    pub from: Severity,
    pub to: Severity,
    /// One sentence: why.
    pub why: String,
}

/// What a probe saw about a finding: the verdict over its peers, one line
/// that says it, and each peer's part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub verdict: Verdict,
    /// One line (the first peer that decided the verdict, and how many
    /// others agree).
    pub summary: String,
    pub peers: Vec<PeerEvidence>,
    /// Set when the evidence changed the severity.
    pub severity_change: Option<SeverityChange>,
}

impl Evidence {
    /// The one line the text report and the TUI show under the finding:
    /// the verdict, what the probe saw, and a severity change.
    pub fn line(&self) -> String {
        let change = self.severity_change.as_ref().map_or(String::new(), |c| {
            format!(" [{} → {}: {}]", c.from, c.to, c.why)
        });
        format!("probe {}: {}{change}", self.verdict.as_str(), self.summary)
    }
}

/// A finding compared with a baseline: accepted earlier, or new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineState {
    /// In the baseline: reported, but it does not fail the run.
    Unchanged,
    New,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::Unchanged => "unchanged",
            BaselineState::New => "new",
        }
    }
}

impl Finding {
    /// A finding of the rule with id `rule` about hop `hop` (its index in
    /// `Model::hops`), pointing at its pass directive.
    pub fn for_hop(
        rule: &'static str,
        severity: Severity,
        model: &Model,
        hop: usize,
        message: String,
    ) -> Finding {
        let message = fitted(message);
        Finding {
            rule,
            severity,
            hop: Some(hop),
            dir: model.hops[hop].pass,
            message,
            related: Vec::new(),
            fix: None,
            suppressed: None,
            evidence: None,
            baseline: None,
        }
    }
    /// A finding about a directive that is not a hop (a pass that opens no
    /// TLS, a directive in a block where nginx rejects it).
    pub fn at_directive(
        rule: &'static str,
        severity: Severity,
        dir: DirRef,
        message: String,
    ) -> Finding {
        let message = fitted(message);
        Finding {
            rule,
            severity,
            hop: None,
            dir,
            message,
            related: Vec::new(),
            fix: None,
            suppressed: None,
            evidence: None,
            baseline: None,
        }
    }
    pub fn with_fix(mut self, fix: Option<Fix>) -> Finding {
        self.fix = fix.map(Box::new);
        self
    }
    /// Whether the finding fails the run: not suppressed inline, not
    /// accepted in a baseline.
    pub fn is_active(&self) -> bool {
        self.suppressed.is_none() && self.baseline != Some(BaselineState::Unchanged)
    }
    pub fn with_related(mut self, dir: DirRef, label: impl Into<String>) -> Finding {
        self.related.push(Related {
            dir,
            label: fitted(label.into()),
        });
        self
    }
}

/// The findings of each hop, as indices into `findings`, by hop index
/// (findings not about a hop are left out).
pub fn by_hop(model: &Model, findings: &[Finding]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); model.hops.len()];
    for (k, f) in findings.iter().enumerate() {
        if let Some(list) = f.hop.and_then(|i| out.get_mut(i)) {
            list.push(k);
        }
    }
    out
}

/// How safe a fix is to apply without a person looking at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// Changes only what the finding is about.
    Safe,
    /// May change behaviour beyond the finding (e.g. enabling verification
    /// breaks a hop whose upstream has a bad certificate): review it.
    NeedsReview,
    /// Shown as advice; never applied automatically.
    DisplayOnly,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::NeedsReview => "needs-review",
            Applicability::DisplayOnly => "display-only",
        }
    }
}

/// A value in a fix: known, or to be supplied by a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixValue {
    Literal(String),
    /// Asked for by `key` (`--set sni-name=api.example.com`, a text field
    /// in the TUI). `proposal` is used when the person gives nothing, except
    /// by `fix_all` for a rule the person did not name (a guess is never
    /// written unasked).
    Input {
        key: &'static str,
        prompt: String,
        proposal: Option<String>,
    },
}

impl FixValue {
    pub fn literal(v: impl Into<String>) -> FixValue {
        FixValue::Literal(v.into())
    }
}

/// One change a fix makes to the effective settings of a hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Make a scalar directive (`proxy_ssl_verify`) take this value.
    Set { directive: String, value: FixValue },
    /// Make one header of an array directive (`proxy_set_header Host …`)
    /// take this value. Because a block with any such line drops all
    /// inherited ones, the engine carries inherited lines along.
    SetHeader {
        directive: String,
        header: String,
        value: FixValue,
    },
}

/// A proposed fix for one finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// One line: what the fix does.
    pub summary: String,
    pub applicability: Applicability,
    pub changes: Vec<Change>,
}

impl Fix {
    pub fn new(
        summary: impl Into<String>,
        applicability: Applicability,
        changes: Vec<Change>,
    ) -> Fix {
        Fix {
            summary: fitted(summary.into()),
            applicability,
            changes,
        }
    }
}

/// A text kept as long as its finding, without the spare room that
/// building it left (`format!` reserves about twice its literal parts):
/// a large configuration has tens of thousands of findings.
fn fitted(mut s: String) -> String {
    s.shrink_to_fit();
    s
}

/// Convenience for rules: `set(Module::Proxy, SslDirective::ServerName, on)`.
pub fn set(module: Module, d: SslDirective, value: FixValue) -> Change {
    Change::Set {
        directive: module.directive(d).to_string(),
        value,
    }
}

/// A message with its `:digits` taken out (line numbers, and ports), so
/// that a directive moved to another line (an inserted fix line, an
/// edit above it) reads the same: what SARIF fingerprints and the
/// "already failing the same way" verdict of `nginx -t` compare.
pub fn without_line_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::by_hop;
    use crate::test_support::{hop_finding, model};

    #[test]
    fn findings_group_by_hop() {
        let m = model(&[(
            "nginx.conf",
            "http { server { location / { proxy_pass https://api.example.com; } } }",
        )]);
        let mut loose = hop_finding(&m, "not about a hop");
        loose.hop = None;
        let all = [hop_finding(&m, "a"), loose, hop_finding(&m, "b")];
        assert_eq!(by_hop(&m, &all), [vec![0, 2]]);
    }
}
