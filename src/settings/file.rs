//! `hopscope.toml` (or `.hopscope.toml`): the project's settings, found
//! from the configuration tree's directory upwards. Parsing keeps the line
//! of every value, so that errors and `check --show-settings` can name it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Severity;
use crate::model::Version;
use crate::rules;

/// The names the file may have, in the order they are looked for.
pub const NAMES: [&str; 2] = ["hopscope.toml", ".hopscope.toml"];

/// Why the project file cannot be used: always names the file, and the
/// line and column when the problem is in its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", super::shown(path), at.map_or(String::new(), |(l, c)| format!(":{l}:{c}")))]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based line and column.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// A value and the 1-based line of the file where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    pub value: T,
    pub line: usize,
}

/// Which rules a per-path ignore switches off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSet {
    /// `["*"]`: every rule.
    All,
    Some(Vec<&'static str>),
}

impl RuleSet {
    pub fn contains(&self, rule: &str) -> bool {
        match self {
            RuleSet::All => true,
            RuleSet::Some(ids) => ids.contains(&rule),
        }
    }
}

/// One `[per-file-ignores]` entry: a glob over the file path relative to
/// the tree, and the rules it switches off there.
#[derive(Debug, Clone)]
pub struct PathIgnore {
    pub glob: String,
    pub pattern: glob::Pattern,
    pub rules: RuleSet,
    pub line: usize,
}

/// The project file, checked: every rule id is known, every value valid.
/// Relative paths (`root`, `baseline`) are resolved against the file's
/// directory.
#[derive(Debug, Clone, Default)]
pub struct ProjectFile {
    pub path: PathBuf,
    pub select: Option<At<Vec<&'static str>>>,
    pub ignore: Option<At<Vec<&'static str>>>,
    pub severity: Vec<At<(&'static str, Severity)>>,
    pub per_file_ignores: Vec<PathIgnore>,
    pub nginx_version: Option<At<Version>>,
    pub min_severity: Option<At<Severity>>,
    pub root: Option<At<PathBuf>>,
    pub baseline: Option<At<PathBuf>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    select: Option<Spanned<Vec<Spanned<String>>>>,
    ignore: Option<Spanned<Vec<Spanned<String>>>>,
    severity: Option<BTreeMap<String, Spanned<String>>>,
    per_file_ignores: Option<BTreeMap<String, Spanned<Vec<Spanned<String>>>>>,
    nginx_version: Option<Spanned<String>>,
    min_severity: Option<Spanned<String>>,
    root: Option<Spanned<String>>,
    baseline: Option<Spanned<String>>,
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

impl ProjectFile {
    /// Reads and checks the file at `path`.
    pub fn read(path: &Path) -> Result<ProjectFile, FileError> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError {
            path: path.to_path_buf(),
            at: None,
            message: format!("cannot read: {e}"),
        })?;
        ProjectFile::parse(path, &text)
    }

    /// Checks `text` as the content of the file at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<ProjectFile, FileError> {
        let err = |at: usize, message: String| FileError {
            path: path.to_path_buf(),
            at: Some(line_col(text, at)),
            message,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| FileError {
            path: path.to_path_buf(),
            at: e.span().map(|s| line_col(text, s.start)),
            message: e.message().trim_end().to_string(),
        })?;
        let line = |at: usize| line_col(text, at).0;
        let rule = |id: &Spanned<String>| -> Result<&'static str, FileError> {
            rules::find(id.get_ref())
                .map(|r| r.id)
                .ok_or_else(|| err(id.span().start, rules::unknown_rule(id.get_ref())))
        };
        let rule_list =
            |list: Spanned<Vec<Spanned<String>>>| -> Result<At<Vec<&'static str>>, FileError> {
                let line = line(list.span().start);
                let value = list.get_ref().iter().map(rule).collect::<Result<_, _>>()?;
                Ok(At { value, line })
            };
        let dir = path.parent().unwrap_or(Path::new("."));
        let local_path = |s: Spanned<String>| At {
            line: line(s.span().start),
            value: dir.join(s.get_ref()),
        };
        let mut out = ProjectFile {
            path: path.to_path_buf(),
            ..ProjectFile::default()
        };
        out.select = raw.select.map(rule_list).transpose()?;
        out.ignore = raw.ignore.map(rule_list).transpose()?;
        let severity = |s: &Spanned<String>| {
            s.get_ref()
                .parse::<Severity>()
                .map_err(|e| err(s.span().start, e.to_string()))
        };
        for (id, sev) in raw.severity.unwrap_or_default() {
            let Some(r) = rules::find(&id) else {
                return Err(err(sev.span().start, rules::unknown_rule(&id)));
            };
            out.severity.push(At {
                value: (r.id, severity(&sev)?),
                line: line(sev.span().start),
            });
        }
        for (glob, ids) in raw.per_file_ignores.unwrap_or_default() {
            let at = ids.span().start;
            let pattern = glob::Pattern::new(&glob)
                .map_err(|e| err(at, format!("bad glob \"{}\": {e}", glob.escape_debug())))?;
            let rules = if ids.get_ref().iter().any(|id| id.get_ref() == "*") {
                RuleSet::All
            } else {
                RuleSet::Some(ids.get_ref().iter().map(rule).collect::<Result<_, _>>()?)
            };
            out.per_file_ignores.push(PathIgnore {
                glob,
                pattern,
                rules,
                line: line(at),
            });
        }
        if let Some(v) = raw.nginx_version {
            let value = v
                .get_ref()
                .parse::<Version>()
                .map_err(|e| err(v.span().start, e.to_string()))?;
            out.nginx_version = Some(At {
                value,
                line: line(v.span().start),
            });
        }
        if let Some(s) = raw.min_severity {
            out.min_severity = Some(At {
                value: severity(&s)?,
                line: line(s.span().start),
            });
        }
        out.root = raw.root.map(local_path);
        out.baseline = raw.baseline.map(local_path);
        Ok(out)
    }
}

/// The project file that applies to a tree whose directory is `start`:
/// `hopscope.toml` or `.hopscope.toml` in `start` or the nearest directory
/// above it. Both names in one directory is an error (which one counts
/// would be a guess).
pub fn discover(start: &Path) -> Result<Option<PathBuf>, FileError> {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    for dir in start.ancestors() {
        let found: Vec<PathBuf> = NAMES
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(Some(one.clone())),
            [first, ..] => {
                return Err(FileError {
                    path: first.clone(),
                    at: None,
                    message: format!(
                        "both {} and {} are in {}: keep one",
                        NAMES[0],
                        NAMES[1],
                        dir.display()
                    ),
                })
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ProjectFile, String> {
        ProjectFile::parse(Path::new("/p/hopscope.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_key_is_read_with_its_line() {
        let f = parse(
            "# project\nselect = [\"sni-off\", \"verify-off\"]\nignore = [\"weak-protocols\"]\n\
             nginx-version = \"1.24.0\"\nmin-severity = \"medium\"\nroot = \"copy\"\n\
             baseline = \"base.json\"\n[severity]\nverify-off = \"high\"\n\
             [per-file-ignores]\n\"legacy/*.conf\" = [\"*\"]\n",
        )
        .unwrap();
        assert_eq!(f.select.as_ref().unwrap().value, ["sni-off", "verify-off"]);
        assert_eq!(f.select.unwrap().line, 2);
        assert_eq!(f.ignore.unwrap().line, 3);
        assert_eq!(f.nginx_version.unwrap().value.to_string(), "1.24.0");
        assert_eq!(f.min_severity.unwrap().value, Severity::Medium);
        assert_eq!(f.root.unwrap().value, PathBuf::from("/p/copy"));
        assert_eq!(f.baseline.unwrap().value, PathBuf::from("/p/base.json"));
        assert_eq!(f.severity[0].value, ("verify-off", Severity::High));
        assert_eq!(f.severity[0].line, 9);
        assert_eq!(f.per_file_ignores[0].rules, RuleSet::All);
        assert!(f.per_file_ignores[0].pattern.matches("legacy/a.conf"));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse("select = []\nselct = [\"sni-off\"]\n").unwrap_err();
        assert!(
            e.starts_with("/p/hopscope.toml:2:1: unknown field `selct`"),
            "{e}"
        );
        let e = parse("ignore = [\"sni-of\"]\n").unwrap_err();
        assert!(
            e.starts_with("/p/hopscope.toml:1:11: unknown rule \"sni-of\""),
            "{e}"
        );
        assert!(e.contains("did you mean \"sni-off\""), "{e}");
        let e = parse("\n[severity]\nverify-off = \"urgent\"\n").unwrap_err();
        assert!(
            e.starts_with("/p/hopscope.toml:3:14: unknown severity \"urgent\""),
            "{e}"
        );
        let e = parse("[severity]\nno-such-rule = \"high\"\n").unwrap_err();
        assert!(e.starts_with("/p/hopscope.toml:2:"), "{e}");
        let e = parse("nginx-version = \"one\"\n").unwrap_err();
        assert!(e.starts_with("/p/hopscope.toml:1:17: "), "{e}");
        let e = parse("[per-file-ignores]\n\"a/*\" = [\"verify-of\"]\n").unwrap_err();
        assert!(e.starts_with("/p/hopscope.toml:2:"), "{e}");
    }
}
