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

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Version, String> {
        let bad = || format!("invalid nginx version \"{s}\": expected X.Y or X.Y.Z, e.g. 1.26.3");
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
            return Err(format!(
                "nginx {v} predates the upstream TLS directives hopscope models (from {})",
                Version::OLDEST
            ));
        }
        if v > Version::NEWEST {
            return Err(format!(
                "nginx {v} is newer than the newest release hopscope knows ({}); its defaults are unknown",
                Version::NEWEST
            ));
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
        assert!("2.0.0".parse::<Version>().is_err());
        assert!("1.x".parse::<Version>().is_err());
    }
}
