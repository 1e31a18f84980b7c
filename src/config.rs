//! The user's configuration file, `$XDG_CONFIG_HOME/hopscope/config.toml`
//! (else `~/.config/hopscope/config.toml`): today its `theme` key. Other
//! keys are left alone, for other settings.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file is malformed.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The config file: `$XDG_CONFIG_HOME/hopscope/config.toml`, falling back
/// to `~/.config/hopscope/config.toml`. `None` if neither variable is usable.
pub fn path() -> Option<PathBuf> {
    path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`path`] with the environment passed in. A relative or empty
/// `XDG_CONFIG_HOME` is ignored, as the XDG spec says.
pub fn path_from(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let xdg = xdg_config_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let dir = match xdg {
        Some(dir) => dir,
        None => PathBuf::from(home.filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(dir.join("hopscope").join("config.toml"))
}

/// The `theme = "..."` of the user's config file ([`path`]).
///
/// No config file (or no `theme` key) → `Ok(None)`; a malformed file →
/// `Err` naming the file and line.
pub fn theme() -> Result<Option<String>, ConfigError> {
    match path() {
        Some(path) => theme_in(&path),
        None => Ok(None),
    }
}

/// [`theme`] for a given file. Other keys are left alone (the
/// file is shared with other settings).
pub fn theme_in(path: &Path) -> Result<Option<String>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(&text, s.start)),
        message: e.message().to_string(),
    })?;
    match table.get("theme") {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            line: key_line(&text, "theme"),
            message: format!(
                "`theme` must be a string (a builtin name or a file path), found {}",
                toml_repr(v)
            ),
        }),
    }
}

/// 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    let at = at.min(text.len());
    text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 1-based line where top-level `key = ` is written (best effort: 1).
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// A value written back as TOML, for error messages.
pub(crate) fn toml_repr(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(_) => "a table".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_follows_xdg() {
        let p = path_from(Some("/xdg".into()), Some("/home/u".into()));
        assert_eq!(p, Some(PathBuf::from("/xdg/hopscope/config.toml")));
        let p = path_from(Some("relative".into()), Some("/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.config/hopscope/config.toml"))
        );
        let p = path_from(Some("".into()), Some("/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.config/hopscope/config.toml"))
        );
        assert_eq!(path_from(None, None), None);
    }

    #[test]
    fn the_theme_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(theme_in(&path).unwrap(), None, "missing file");
        std::fs::write(&path, "# settings\nother = 1\n").unwrap();
        assert_eq!(theme_in(&path).unwrap(), None, "no key");
        std::fs::write(&path, "other = 1\ntheme = \"light\"\n").unwrap();
        assert_eq!(theme_in(&path).unwrap().as_deref(), Some("light"));
        std::fs::write(&path, "other = 1\n\ntheme = light\n").unwrap();
        let e = theme_in(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:3: ", path.display())), "{e}");
        std::fs::write(&path, "other = 1\ntheme = 3\n").unwrap();
        let e = theme_in(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:2: ", path.display())), "{e}");
        assert!(e.contains("must be a string"), "{e}");
    }
}
