//! Whether nginx would read a value a person typed as they meant it: the
//! one check behind `--set` and the terminal UI's text field.
//!
//! - `sni-name` is one host name, as sent in SNI and checked against the
//!   certificate: no scheme, path, spaces, quotes, `;`, wildcard or control
//!   character. nginx cuts the name at its first `:` (so `https://host/`
//!   would send `https`) and sends no SNI for an IP address; a `:port` is
//!   accepted and noted as cut. A single variable (`$host`) is nginx's to
//!   work out per request.
//! - `ca-file` and `client-key` are file paths, absolute or relative to the
//!   nginx prefix (as nginx reads them). Where this machine holds the
//!   server's files (the rules of [`crate::conf::local_files`], `--root`
//!   included) the file must exist; otherwise a note says it was not
//!   looked up.

use std::fmt;
use std::net::IpAddr;

use crate::conf::local_files::Local;
use crate::model::Model;
use crate::visible::visible;

/// A value nginx would read as meant, with what a person should know.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub notes: Vec<String>,
}

/// A value nginx would not read as meant: why, and what to give instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub reason: String,
    /// A value that says what was probably meant.
    pub suggestion: Option<String>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; give {}", visible(s))?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

fn refuse(value: &str, why: impl fmt::Display) -> Refused {
    Refused {
        reason: format!("\"{}\" {why}", visible(value)),
        suggestion: None,
    }
}

fn suggest(mut r: Refused, s: &str) -> Refused {
    if !s.is_empty() {
        r.suggestion = Some(s.to_string());
    }
    r
}

/// Checks a value for `key` (one of [`super::values::KEYS`]) in the
/// configuration `model` was loaded from.
pub fn check(model: &Model, key: &str, value: &str) -> Result<Checked, Refused> {
    match key {
        "sni-name" => host_name(value),
        "ca-file" => file_path(model, value, false),
        "client-key" => file_path(model, value, true),
        _ => Err(Refused {
            reason: format!(
                "\"{}\" is none of {}",
                visible(key),
                super::values::KEYS.join(", ")
            ),
            suggestion: None,
        }),
    }
}

/// `$name` or `${name}`: one variable, nothing else.
fn one_variable(v: &str) -> bool {
    let name = match v.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        Some(n) => n,
        None => match v.strip_prefix('$') {
            Some(n) => n,
            None => return false,
        },
    };
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The host of a URL: after the scheme, before any path, query or user.
fn url_host(v: &str) -> &str {
    let rest = v.split_once("://").map_or(v, |(_, r)| r);
    let auth = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if host_port.starts_with('[') {
        return host_port;
    }
    host_port.split(':').next().unwrap_or("")
}

fn control(value: &str) -> Option<Refused> {
    value
        .chars()
        .any(crate::visible::is_unsafe)
        .then(|| refuse(value, "holds a control character"))
}

fn host_name(value: &str) -> Result<Checked, Refused> {
    if value.is_empty() {
        return Err(refuse(
            value,
            "is empty: give the host name on the certificate",
        ));
    }
    if let Some(r) = control(value) {
        return Err(r);
    }
    if value.contains("://") {
        return Err(suggest(
            refuse(
                value,
                "is a URL, not a host name: nginx cuts the name at its first `:`, so it would send the scheme as SNI",
            ),
            url_host(value),
        ));
    }
    if one_variable(value) {
        return Ok(Checked {
            notes: vec![format!(
                "{value} is a variable: nginx works out the name per request (not checked here)"
            )],
        });
    }
    if let Some(c) = value.chars().find(|c| c.is_whitespace()) {
        let what = if c == ' ' { "a space" } else { "white space" };
        return Err(refuse(
            value,
            format_args!("holds {what}: a host name has none"),
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| matches!(c, '"' | '\'' | ';' | '{' | '}' | '#' | '\\' | '$'))
    {
        return Err(refuse(
            value,
            format_args!(
                "holds `{c}`, which nginx reads as configuration syntax, not as part of a name"
            ),
        ));
    }
    if value.contains('*') {
        return Err(refuse(
            value,
            "is a wildcard: a certificate may cover *.example.com, but SNI names one host; give that host",
        ));
    }
    if let Some((before, _)) = value.split_once('/') {
        return Err(suggest(
            refuse(value, "holds a path: SNI is the host name alone"),
            before,
        ));
    }
    let address = "is an IP address: nginx sends no SNI for an address (RFC 6066), so the name would never reach the upstream; give the host name on its certificate";
    if value.starts_with('[') || value.parse::<IpAddr>().is_ok() {
        return Err(refuse(value, address));
    }
    let mut notes = Vec::new();
    let host = match value.split_once(':') {
        Some((host, port)) => {
            if port.is_empty()
                || !port.bytes().all(|b| b.is_ascii_digit())
                || port.parse::<u32>().map_or(true, |p| p == 0 || p > 65535)
            {
                return Err(suggest(
                    refuse(value, "has something after `:` that is not a port"),
                    host,
                ));
            }
            notes.push(format!(
                "the port is cut: nginx sends and verifies {} (a Host header written from this value keeps :{port})",
                visible(host)
            ));
            host
        }
        None => value,
    };
    if host.parse::<IpAddr>().is_ok() {
        return Err(refuse(value, address));
    }
    if host.is_empty() {
        return Err(refuse(value, "has no host name before `:`"));
    }
    if let Some(h) = host.strip_suffix('.') {
        return Err(suggest(
            refuse(value, "ends with `.`: SNI carries the name without it"),
            h,
        ));
    }
    if !host.is_ascii() {
        return Err(refuse(
            value,
            "is not ASCII: SNI carries an internationalised name in its xn-- form",
        ));
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return Err(refuse(
            value,
            format_args!("holds `{c}`: a host name has letters, digits, `-`, `_` and `.` only"),
        ));
    }
    if host.split('.').any(str::is_empty) {
        return Err(refuse(value, "has an empty label (`..` or a leading `.`)"));
    }
    if host.len() > 253 || host.split('.').any(|l| l.len() > 63) {
        return Err(refuse(
            value,
            "is too long for a host name (253 characters, 63 per label)",
        ));
    }
    Ok(Checked { notes })
}

fn file_path(model: &Model, value: &str, variables: bool) -> Result<Checked, Refused> {
    if value.is_empty() {
        return Err(refuse(value, "is empty: give the file's path"));
    }
    if let Some(r) = control(value) {
        return Err(r);
    }
    if let Some((scheme, rest)) = value.split_once("://") {
        let r = refuse(value, "is a URL: nginx reads a file path");
        return Err(if scheme == "file" {
            suggest(r, rest)
        } else {
            r
        });
    }
    if value.starts_with('~') {
        return Err(refuse(
            value,
            "starts with `~`, which nginx does not expand: give the absolute path",
        ));
    }
    if value.contains('$') {
        if variables {
            return Ok(Checked {
                notes: vec![format!(
                    "{} holds a variable: nginx (1.21.0 and later) works out the path per request; not checked here",
                    visible(value)
                )],
            });
        }
        return Err(refuse(
            value,
            "holds `$`: nginx reads this file when it loads the configuration, without variables",
        ));
    }
    if value.ends_with('/') {
        return Err(refuse(value, "names a directory: give the file"));
    }
    let mut notes = Vec::new();
    let prefix = &model.config.prefix;
    if !value.starts_with('/') {
        notes.push(format!(
            "relative: nginx reads it from its prefix, {}",
            visible(&prefix.join(value).display().to_string())
        ));
    }
    match model.config.local_file(value) {
        Local::At(p) if p.is_file() => Ok(Checked { notes }),
        Local::At(p) if p.exists() => Err(refuse(
            value,
            format_args!("is not a file here ({})", visible(&p.display().to_string())),
        )),
        Local::At(p) => Err(refuse(
            value,
            format_args!(
                "does not exist here ({}): nginx -t would fail to load it",
                visible(&p.display().to_string())
            ),
        )),
        Local::NotChecked(why) => {
            notes.push(format!("not looked up: {}", visible(&why)));
            Ok(Checked { notes })
        }
    }
}

#[cfg(test)]
mod tests;
