//! `nginx -t` before a write, twice: on the unchanged tree, then with the
//! fix applied, so "already failing" and "broken by this fix" are told
//! apart. Both run on test copies (see the module above); nothing real is
//! touched.

use std::path::Path;

use super::{nginx_test, ValidateError};
use crate::conf::FileId;
use crate::diagnostic::without_line_numbers;
use crate::model::Model;

/// What `nginx -t` says about a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// nginx -t accepts the fixed tree; notes on what the test left out.
    Accepted { notes: Vec<String> },
    /// nginx -t rejects the unchanged tree already, and the fixed one the
    /// same way (line numbers aside): the fix does not make it worse.
    AlreadyFailing { message: String },
    /// The fix breaks it: the unchanged tree passes (`before` is `None`) or
    /// fails differently.
    Broken {
        before: Option<String>,
        after: String,
    },
}

impl Verdict {
    /// Whether the files may be written.
    pub fn allows_write(&self) -> bool {
        !matches!(self, Verdict::Broken { .. })
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Accepted { notes } if notes.is_empty() => {
                "nginx -t accepts the fixed configuration".into()
            }
            Verdict::Accepted { notes } => format!(
                "nginx -t accepts the fixed configuration (note: {})",
                notes.join("; note: ")
            ),
            Verdict::AlreadyFailing { message } => format!(
                "nginx -t already rejects the unchanged configuration, and the fix does not change what it says: {message}"
            ),
            Verdict::Broken {
                before: None,
                after,
            } => format!(
                "broken by this fix: nginx -t rejects the fixed configuration (the unchanged one passes): {after}"
            ),
            Verdict::Broken {
                before: Some(before),
                after,
            } => format!(
                "broken by this fix: nginx -t rejects the fixed configuration with a new error: {after} (the unchanged one fails with: {before})"
            ),
        }
    }
}

/// Runs `nginx -t` on the unchanged tree and on the tree with `changed`.
pub fn before_write(
    model: &Model,
    changed: &[(FileId, Vec<u8>)],
    nginx: &Path,
) -> Result<Verdict, ValidateError> {
    let before = match nginx_test(model, &[], nginx) {
        Ok(_) => None,
        Err(ValidateError::Rejected { message, .. }) => Some(message),
        Err(e) => return Err(e),
    };
    match (nginx_test(model, changed, nginx), before) {
        (Ok(notes), _) => Ok(Verdict::Accepted { notes }),
        (Err(ValidateError::Rejected { message, .. }), None) => Ok(Verdict::Broken {
            before: None,
            after: message,
        }),
        (Err(ValidateError::Rejected { message, .. }), Some(before)) => {
            if without_line_numbers(&message) == without_line_numbers(&before) {
                Ok(Verdict::AlreadyFailing { message })
            } else {
                Ok(Verdict::Broken {
                    before: Some(before),
                    after: message,
                })
            }
        }
        (Err(e), _) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_do_not_tell_failures_apart() {
        assert_eq!(
            without_line_numbers("nginx: [emerg] host not found in upstream \"x\" in nginx.conf:7"),
            without_line_numbers("nginx: [emerg] host not found in upstream \"x\" in nginx.conf:9"),
        );
        assert_ne!(
            without_line_numbers("no \"proxy_ssl_trusted_certificate\" is defined in nginx.conf:7"),
            without_line_numbers("host not found in upstream \"x\" in nginx.conf:7"),
        );
        let broken = Verdict::Broken {
            before: None,
            after: "x".into(),
        };
        assert!(!broken.allows_write());
        assert!(broken.describe().starts_with("broken by this fix"));
        assert!(Verdict::AlreadyFailing {
            message: "m".into()
        }
        .allows_write());
    }
}
