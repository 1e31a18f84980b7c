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
}
