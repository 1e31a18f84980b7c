//! The settings a run uses and where each comes from: command-line flags
//! win over the project file (`hopscope.toml`), which wins over the
//! defaults. [`file`] reads the project file, [`baseline`] the findings a
//! team has accepted for now.

pub mod baseline;
pub mod file;

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Finding, Severity};
use crate::model::{Model, Version};
use crate::rules::{self, Rule};

pub use file::{FileError, PathIgnore, ProjectFile, RuleSet};

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    Flag,
    /// The project file, at this line.
    File(PathBuf, usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Flag => f.write_str("flag"),
            Origin::File(path, line) => write!(f, "{}:{line}", shown(path)),
        }
    }
}

/// A path as people are shown it: relative to the current directory when
/// it is inside it (`hopscope.toml`), else as it is.
pub fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize);
    match cwd.as_deref().map(|cwd| path.strip_prefix(cwd)) {
        Ok(Ok(rel)) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// A resolved value with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// What the command line says (each `None`/empty: not given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub select: Vec<&'static str>,
    pub ignore: Vec<&'static str>,
    pub min_severity: Option<Severity>,
    pub nginx_version: Option<Version>,
    pub root: Option<PathBuf>,
    pub baseline: Option<PathBuf>,
}

/// The settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project file in use, if any.
    pub file: Option<PathBuf>,
    /// Only these rules (empty: every rule).
    pub select: Setting<Vec<&'static str>>,
    pub ignore: Setting<Vec<&'static str>>,
    /// Per-rule severity overrides (from the file only).
    pub severity: Vec<Setting<(&'static str, Severity)>>,
    pub per_file_ignores: Vec<PathIgnore>,
    pub min_severity: Setting<Severity>,
    /// `None`: hopscope picks (see `--nginx-version`).
    pub nginx_version: Setting<Option<Version>>,
    pub root: Setting<Option<PathBuf>>,
    pub baseline: Setting<Option<PathBuf>>,
}

fn pick<T>(flag: Option<T>, file: Option<(T, Origin)>, default: T) -> Setting<T> {
    match (flag, file) {
        (Some(value), _) => Setting {
            value,
            origin: Origin::Flag,
        },
        (None, Some((value, origin))) => Setting { value, origin },
        (None, None) => Setting {
            value: default,
            origin: Origin::Default,
        },
    }
}

impl Settings {
    /// Flags over the project file over the defaults. A flag replaces the
    /// file's value whole (`--ignore X` replaces the file's `ignore` list).
    pub fn resolve(flags: &Flags, project: Option<&ProjectFile>) -> Settings {
        let path = project.map(|p| p.path.clone());
        let from = |line: usize| Origin::File(path.clone().unwrap_or_default(), line);
        let list = |v: &[&'static str]| (!v.is_empty()).then(|| v.to_vec());
        let p = project.cloned().unwrap_or_default();
        Settings {
            file: path.clone(),
            select: pick(
                list(&flags.select),
                p.select.map(|a| (a.value, from(a.line))),
                Vec::new(),
            ),
            ignore: pick(
                list(&flags.ignore),
                p.ignore.map(|a| (a.value, from(a.line))),
                Vec::new(),
            ),
            severity: p
                .severity
                .iter()
                .map(|a| Setting {
                    value: a.value,
                    origin: from(a.line),
                })
                .collect(),
            per_file_ignores: p.per_file_ignores.clone(),
            min_severity: pick(
                flags.min_severity,
                p.min_severity.map(|a| (a.value, from(a.line))),
                Severity::Low,
            ),
            nginx_version: pick(
                flags.nginx_version.map(Some),
                p.nginx_version.map(|a| (Some(a.value), from(a.line))),
                None,
            ),
            root: pick(
                flags.root.clone().map(Some),
                p.root.map(|a| (Some(a.value), from(a.line))),
                None,
            ),
            baseline: pick(
                flags.baseline.clone().map(Some),
                p.baseline.map(|a| (Some(a.value), from(a.line))),
                None,
            ),
        }
    }

    /// Says in `model` that its nginx version is the project file's, when
    /// it is (the loader only knows it was chosen).
    pub fn label_version(&self, model: &mut Model) {
        use crate::model::VersionFrom;
        let choice = &mut model.version_choice;
        if let (Origin::File(..), VersionFrom::Chosen) = (&self.nginx_version.origin, choice.from) {
            choice.from = VersionFrom::ProjectFile;
            let at = self.nginx_version.origin.to_string();
            choice.note = Some(match choice.note.take() {
                Some(note) => format!("{at}; {note}"),
                None => at,
            });
        }
    }

    /// The rules `select` and `ignore` leave, in registry order.
    pub fn selected_rules(&self) -> Vec<&'static Rule> {
        rules::registry()
            .iter()
            .copied()
            .filter(|r| self.select.value.is_empty() || self.select.value.contains(&r.id))
            .filter(|r| !self.ignore.value.contains(&r.id))
            .collect()
    }

    /// The severity a finding of `rule` is reported with.
    pub fn severity_of(&self, rule: &str, found: Severity) -> Severity {
        self.severity
            .iter()
            .find(|s| s.value.0 == rule)
            .map_or(found, |s| s.value.1)
    }

    /// Whether a per-path ignore switches `rule` off in `file` (a path
    /// relative to the tree, as findings name it).
    pub fn path_ignores(&self, file: &str, rule: &str) -> bool {
        let opts = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        self.per_file_ignores
            .iter()
            .any(|p| p.rules.contains(rule) && p.pattern.matches_with(file, opts))
    }

    /// The findings this run reports: severity overrides applied, then the
    /// rule, per-path and severity filters.
    pub fn apply(&self, model: &Model, findings: Vec<Finding>) -> Vec<Finding> {
        let findings = self.reweigh(findings);
        findings
            .into_iter()
            .filter(|f| self.keeps(model, f))
            .collect()
    }

    /// The severity overrides applied, nothing left out.
    pub fn reweigh(&self, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .map(|mut f| {
                f.severity = self.severity_of(f.rule, f.severity);
                f
            })
            .collect()
    }

    /// Whether the rule and per-path settings leave a finding in, whatever
    /// its severity.
    pub fn selects(&self, model: &Model, f: &Finding) -> bool {
        (self.select.value.is_empty() || self.select.value.contains(&f.rule))
            && !self.ignore.value.contains(&f.rule)
            && !self.path_ignores(&finding_file(model, f), f.rule)
    }

    /// Whether this run reports a finding (its severity as it now is).
    pub fn keeps(&self, model: &Model, f: &Finding) -> bool {
        self.selects(model, f) && f.severity >= self.min_severity.value
    }

    /// The settings for a view of every finding (the terminal UI): the
    /// default severity threshold is lowered to `info`, a threshold the
    /// project file or a flag sets stays.
    pub fn for_view(&self) -> Settings {
        let mut s = self.clone();
        if s.min_severity.origin == Origin::Default {
            s.min_severity.value = Severity::Info;
        }
        s
    }

    /// `check --show-settings`: one setting a line, `key = value  # origin`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let file = self.file.as_ref().map_or("none".to_string(), |p| shown(p));
        let _ = writeln!(out, "# project file: {}", crate::visible::visible(&file));
        let ids = |v: &[&str]| {
            let quoted: Vec<String> = v.iter().map(|id| format!("\"{id}\"")).collect();
            format!("[{}]", quoted.join(", "))
        };
        let path = |p: &Option<PathBuf>| {
            p.as_ref().map_or("none".to_string(), |p| {
                format!("\"{}\"", crate::visible::visible(&shown(p)))
            })
        };
        let mut line = |key: &str, value: String, origin: &Origin| {
            let origin = crate::visible::visible(&origin.to_string()).into_owned();
            let _ = writeln!(out, "{key} = {value}  # {origin}");
        };
        let select = if self.select.value.is_empty() {
            "all rules".to_string()
        } else {
            ids(&self.select.value)
        };
        line("select", select, &self.select.origin);
        line("ignore", ids(&self.ignore.value), &self.ignore.origin);
        line(
            "min-severity",
            format!("\"{}\"", self.min_severity.value),
            &self.min_severity.origin,
        );
        let version = self.nginx_version.value.map_or(
            "auto (nginx -v, the dump, else the newest known)".to_string(),
            |v| format!("\"{v}\""),
        );
        line("nginx-version", version, &self.nginx_version.origin);
        line("root", path(&self.root.value), &self.root.origin);
        line(
            "baseline",
            path(&self.baseline.value),
            &self.baseline.origin,
        );
        for s in &self.severity {
            let (rule, sev) = s.value;
            line(&format!("severity.{rule}"), format!("\"{sev}\""), &s.origin);
        }
        for p in &self.per_file_ignores {
            let rules = match &p.rules {
                RuleSet::All => "[\"*\"]".to_string(),
                RuleSet::Some(v) => ids(v),
            };
            let origin = Origin::File(self.file.clone().unwrap_or_default(), p.line);
            let key = format!("per-file-ignores.\"{}\"", p.glob.escape_debug());
            line(&crate::visible::visible(&key), rules, &origin);
        }
        out
    }
}

/// The file a finding is about, relative to the tree: its hop's file, else
/// its directive's.
pub fn finding_file(model: &Model, f: &Finding) -> String {
    f.hop
        .and_then(|i| model.hops.get(i))
        .map_or_else(|| model.file_name(f.dir).to_string(), |h| h.file.clone())
}

/// Where to look for the project file: the tree's directory for a
/// configuration on disk (a file's directory, a directory itself), else
/// (the demo, standard input, `--ssh`, an `nginx -T` dump) the current
/// directory.
pub fn search_start(path: Option<&Path>) -> PathBuf {
    let cwd = PathBuf::from(".");
    match path {
        None => cwd,
        Some(p) if p.as_os_str() == "-" => cwd,
        Some(p) if p.is_dir() => p.to_path_buf(),
        Some(p) if is_dump_file(p) => cwd,
        Some(p) => match p.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => cwd,
        },
    }
}

/// Whether the file starts like `nginx -T` output (its first 64 KiB tell).
/// Only a regular file is opened: a FIFO or a device would block or never
/// end (the loader reports those).
fn is_dump_file(p: &Path) -> bool {
    use std::io::Read;
    if !std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = Vec::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .is_ok_and(|_| crate::conf::dump::is_dump(&head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_over_defaults() {
        let p = ProjectFile::parse(
            Path::new("/p/hopscope.toml"),
            "ignore = [\"verify-off\"]\nmin-severity = \"high\"\n",
        )
        .unwrap();
        let flags = Flags {
            min_severity: Some(Severity::Info),
            ..Flags::default()
        };
        let s = Settings::resolve(&flags, Some(&p));
        assert_eq!(s.min_severity.value, Severity::Info);
        assert_eq!(s.min_severity.origin, Origin::Flag);
        assert_eq!(s.ignore.value, ["verify-off"]);
        assert_eq!(s.ignore.origin.to_string(), "/p/hopscope.toml:1");
        assert_eq!(s.root.origin, Origin::Default);
        let none = Settings::resolve(&Flags::default(), None);
        assert_eq!(none.min_severity.value, Severity::Low);
        assert_eq!(none.min_severity.origin, Origin::Default);
    }

    #[test]
    fn per_path_globs_stay_in_their_directory() {
        let p = ProjectFile::parse(
            Path::new("/p/hopscope.toml"),
            "[per-file-ignores]\n\"legacy/*.conf\" = [\"sni-off\"]\n",
        )
        .unwrap();
        let s = Settings::resolve(&Flags::default(), Some(&p));
        assert!(s.path_ignores("legacy/a.conf", "sni-off"));
        assert!(!s.path_ignores("legacy/a.conf", "verify-off"));
        assert!(!s.path_ignores("legacy/old/a.conf", "sni-off"));
        assert!(!s.path_ignores("conf.d/a.conf", "sni-off"));
        let p = ProjectFile::parse(
            Path::new("/p/hopscope.toml"),
            "[per-file-ignores]\n\"conf.d/**/*\" = [\"*\"]\n",
        )
        .unwrap();
        let s = Settings::resolve(&Flags::default(), Some(&p));
        assert!(s.path_ignores("conf.d/a.conf", "sni-off"));
        assert!(s.path_ignores("conf.d/old/a.conf", "verify-off"));
        assert!(!s.path_ignores("nginx.conf", "verify-off"));
    }
}
