//! What went wrong with a remote operation.

use crate::visible::visible;

/// What went wrong with a remote operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// ssh could not run the command: connection, host key, authentication.
    Ssh,
    /// No answer within the timeout.
    Timeout,
    /// The remote command failed (nginx, sudo, a missing tool).
    Command,
    /// nginx rejected the configuration (`nginx -T` on load).
    Rejected,
    /// A file on the server is not what was loaded: nothing was changed.
    Changed,
    /// A file could not be written: nothing was changed.
    Write,
    /// `nginx -t` rejected the fixed configuration: every file was put back.
    RolledBack,
    /// Putting the files back failed: the server needs a person.
    RollbackFailed,
}

/// How the configuration was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `--ssh HOST`: `host` is the server.
    Ssh,
    /// `--exec CMD`: `host` is the command, quoted and escaped.
    Exec,
}

impl Via {
    /// How messages name the way: `ssh` or `--exec`.
    pub fn word(self) -> &'static str {
        match self {
            Via::Ssh => "ssh",
            Via::Exec => "--exec",
        }
    }
}

/// A failed remote operation; shows as `ssh HOST: MESSAGE` (or `--exec
/// `CMD`: MESSAGE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    pub host: String,
    pub kind: ErrorKind,
    pub message: String,
    pub via: Via,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.via.word(), self.host, self.message)
    }
}

impl std::error::Error for RemoteError {}

/// Why a server cannot be reached as given: a destination, host or user
/// name ssh could hand to a shell, or an option that is not one line.
/// Names are kept as given; the message shows them with control
/// characters escaped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a host name or an IP address.
    #[error("\"{}\" is not a host name or an IP address", visible(.0))]
    NotAHost(String),
    /// Not a user name.
    #[error("\"{}\" is not a user name", visible(.0))]
    NotAUser(String),
    /// Not the shape `[user@]host` (or `ssh://[user@]host[:port]`).
    #[error("not [user@]host")]
    NotUserAtHost,
    /// The destination is refused, for the reason in `why` (its shape,
    /// its user or its host).
    #[error(
        "\"{}\" is not an ssh destination ([user@]host): {why}",
        visible(.destination)
    )]
    NotADestination {
        destination: String,
        why: Box<TargetError>,
    },
    /// `--nginx` is empty.
    #[error("--nginx must name the nginx binary on the server")]
    NoNginx,
    /// An ssh option holds a line break (ssh reads `-o` as one line).
    #[error("ssh option {0:?} holds a line break")]
    OptionLineBreak(String),
}
