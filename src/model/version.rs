//! nginx versions.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u16, pub u16, pub u16);

impl Version {
    /// The newest stable nginx release hopscope knows (1.30.x is the stable
    /// branch; 1.31.x is mainline).
    pub const NEWEST_STABLE: Version = Version(1, 30, 4);
    /// The newest release of any branch hopscope knows.
    pub const NEWEST: Version = Version(1, 31, 4);
    /// The oldest release whose upstream TLS directives hopscope models.
    pub const OLDEST: Version = Version(1, 5, 6);
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Why a text is not an nginx version hopscope can model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not `X.Y` or `X.Y.Z` (optionally after `nginx/`); keeps the text.
    #[error("invalid nginx version \"{0}\": expected X.Y or X.Y.Z, e.g. 1.26.3")]
    Invalid(String),
    /// Older than the first release with the upstream TLS directives.
    #[error(
        "nginx {} predates the upstream TLS directives hopscope models (from {})",
        .0,
        Version::OLDEST
    )]
    TooOld(Version),
    /// Newer than the newest release whose defaults hopscope knows.
    #[error(
        "nginx {} is newer than the newest release hopscope knows ({}); its defaults are unknown",
        .0,
        Version::NEWEST
    )]
    TooNew(Version),
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Version, VersionError> {
        let bad = || VersionError::Invalid(s.to_string());
        let parts: Vec<&str> = s.trim().trim_start_matches("nginx/").split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let num = |p: &str| p.parse::<u16>().map_err(|_| bad());
        let v = Version(
            num(parts[0])?,
            num(parts[1])?,
            parts.get(2).map_or(Ok(0), |p| num(p))?,
        );
        if v < Version::OLDEST {
            return Err(VersionError::TooOld(v));
        }
        if v > Version::NEWEST {
            return Err(VersionError::TooNew(v));
        }
        Ok(v)
    }
}

/// How the version whose defaults apply was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionFrom {
    /// Named by the person (`--nginx-version`) or by the caller.
    Chosen,
    /// `nginx -v` of the `nginx` on this machine's PATH.
    ThisMachine,
    /// `nginx -v` on the server, run over SSH with its `nginx -T`.
    Server,
    /// The `nginx version:` line of an `nginx -T` dump.
    Dump,
    /// Nothing said which: hopscope's default, [`Version::NEWEST_STABLE`].
    Default,
    /// `nginx-version` of the project file (`hopscope.toml`); the note
    /// names its file and line. JSON calls it `option`, as a flag's.
    ProjectFile,
}

impl VersionFrom {
    /// The word of JSON documents (`nginx_version_source`).
    pub fn as_str(self) -> &'static str {
        match self {
            VersionFrom::Chosen | VersionFrom::ProjectFile => "option",
            VersionFrom::ThisMachine => "local",
            VersionFrom::Server => "server",
            VersionFrom::Dump => "dump",
            VersionFrom::Default => "default",
        }
    }
}

/// The version whose defaults apply, how it was chosen, and a note when
/// what was reported could not be taken as it is (an unknown release, no
/// version, no answer). The note holds text from outside (a server, a
/// dump, a program): views escape it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionChoice {
    pub version: Version,
    pub from: VersionFrom,
    pub note: Option<String>,
}

impl VersionChoice {
    /// A version named by the person or the caller.
    pub fn chosen(version: Version) -> VersionChoice {
        VersionChoice {
            version,
            from: VersionFrom::Chosen,
            note: None,
        }
    }

    /// hopscope's default, with why nothing better was found (if worth
    /// saying).
    pub fn default_with(note: Option<String>) -> VersionChoice {
        VersionChoice {
            version: Version::NEWEST_STABLE,
            from: VersionFrom::Default,
            note,
        }
    }

    /// What `nginx -v` printed (`nginx version: nginx/1.22.1`, perhaps
    /// with other lines around it), reported by `from`; hopscope's default
    /// with a note when it holds no nginx version.
    pub fn from_version_output(output: &str, from: VersionFrom) -> VersionChoice {
        match version_line(output) {
            Some(line) => VersionChoice::from_version_line(line, from),
            None => {
                let first = output.lines().map(str::trim).find(|l| !l.is_empty());
                let note = match first {
                    Some(l) => {
                        format!("`nginx -v` printed no version (it said \"{}\")", excerpt(l))
                    }
                    None => "`nginx -v` printed nothing".to_string(),
                };
                VersionChoice::default_with(Some(note))
            }
        }
    }

    /// One `nginx version: PRODUCT/X.Y.Z …` line, reported by `from`.
    pub fn from_version_line(line: &str, from: VersionFrom) -> VersionChoice {
        let reported = line
            .trim()
            .strip_prefix(VERSION_LINE)
            .unwrap_or(line)
            .trim();
        let word = reported.split_whitespace().next().unwrap_or("");
        let (product, number) = word.split_once('/').unwrap_or(("", word));
        let parsed = match product {
            // OpenResty numbers its releases after the nginx core they
            // carry, with a fourth part of its own.
            "nginx" | "openresty" => leading_version(number),
            _ => None,
        };
        let Some(raw) = parsed else {
            return VersionChoice::default_with(Some(format!(
                "the reported version \"{}\" is not an nginx release",
                excerpt(reported)
            )));
        };
        let (version, note) = Version::nearest_known(raw);
        let note = note.or_else(|| {
            (product != "nginx" || number != version.to_string()).then(|| {
                format!(
                    "\"{}\" was reported; the defaults of nginx {version} apply",
                    excerpt(reported)
                )
            })
        });
        VersionChoice {
            version,
            from,
            note,
        }
    }
}

pub use crate::conf::dump::VERSION_LINE;

/// The first `nginx version: …` line of `text`.
pub fn version_line(text: &str) -> Option<&str> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.starts_with(VERSION_LINE))
}

/// `X.Y.Z` at the start of `text` (`1.21.4.3` gives 1.21.4, `1.22` gives
/// 1.22.0), whatever its range.
fn leading_version(text: &str) -> Option<(u16, u16, u16)> {
    let mut parts = text.split('.');
    let mut num = || parts.next().and_then(|p| p.parse::<u16>().ok());
    let (a, b) = (num()?, num()?);
    Some((a, b, num().unwrap_or(0)))
}

/// At most 60 characters of a reported text, on one line.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

impl Version {
    /// The known release whose defaults stand in for a reported version:
    /// the version itself inside the range hopscope models, else the
    /// nearest end of that range, with a note saying so.
    pub fn nearest_known((a, b, c): (u16, u16, u16)) -> (Version, Option<String>) {
        let v = Version(a, b, c);
        if v > Version::NEWEST {
            (
                Version::NEWEST,
                Some(format!(
                    "nginx {v} is newer than any release hopscope knows; the defaults of {} (the newest it knows) apply",
                    Version::NEWEST
                )),
            )
        } else if v < Version::OLDEST {
            (
                Version::OLDEST,
                Some(format!(
                    "nginx {v} predates the upstream TLS directives hopscope models; the defaults of {} apply",
                    Version::OLDEST
                )),
            )
        } else {
            (v, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        assert_eq!("1.22".parse::<Version>().unwrap(), Version(1, 22, 0));
        assert_eq!(
            "nginx/1.26.3".parse::<Version>().unwrap().to_string(),
            "1.26.3"
        );
        assert!(Version(1, 23, 4) > Version(1, 22, 1));
        assert_eq!(
            "2.0.0".parse::<Version>(),
            Err(VersionError::TooNew(Version(2, 0, 0)))
        );
        assert!("1.x".parse::<Version>().is_err());
    }

    #[test]
    fn what_nginx_v_prints() {
        let c = VersionChoice::from_version_output(
            "nginx version: nginx/1.22.1\n",
            VersionFrom::ThisMachine,
        );
        assert_eq!(c.version, Version(1, 22, 1));
        assert_eq!(c.from, VersionFrom::ThisMachine);
        assert_eq!(c.note, None);
        // Ubuntu's build says so after the number; nginx -V adds lines.
        let c = VersionChoice::from_version_output(
            "nginx version: nginx/1.18.0 (Ubuntu)\nbuilt with OpenSSL 3.0.2\n",
            VersionFrom::Server,
        );
        assert_eq!((c.version, c.note), (Version(1, 18, 0), None));
    }

    #[test]
    fn releases_hopscope_does_not_know_map_to_the_nearest_with_a_note() {
        let c = VersionChoice::from_version_line("nginx version: nginx/1.99.2", VersionFrom::Dump);
        assert_eq!(c.version, Version::NEWEST);
        assert_eq!(c.from, VersionFrom::Dump);
        assert!(
            c.note
                .as_deref()
                .is_some_and(|n| n.contains("1.99.2 is newer")),
            "{c:?}"
        );
        let c = VersionChoice::from_version_line("nginx version: nginx/0.8.55", VersionFrom::Dump);
        assert_eq!(c.version, Version::OLDEST);
        assert!(c.note.is_some());
        let c = VersionChoice::from_version_line(
            "nginx version: openresty/1.21.4.3",
            VersionFrom::Server,
        );
        assert_eq!(c.version, Version(1, 21, 4));
        assert!(c
            .note
            .as_deref()
            .is_some_and(|n| n.contains("openresty/1.21.4.3")));
    }

    #[test]
    fn no_version_is_the_default_with_what_was_said() {
        for text in [
            "",
            "sh: 1: nginx: not found",
            "nginx version: angie/1.4.0",
            "nginx version: nginx/x.y",
        ] {
            let c = VersionChoice::from_version_output(text, VersionFrom::ThisMachine);
            assert_eq!(c.from, VersionFrom::Default, "{text}");
            assert_eq!(c.version, Version::NEWEST_STABLE);
            assert!(c.note.is_some(), "{text}");
        }
        let long = format!("nginx version: {}", "x".repeat(500));
        let c = VersionChoice::from_version_output(&long, VersionFrom::Dump);
        assert!(
            c.note.unwrap().chars().count() < 120,
            "a reported text is cut short"
        );
    }
}
