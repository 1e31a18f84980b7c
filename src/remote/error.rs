//! What went wrong with a remote operation.

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

/// A failed remote operation; shows as `ssh HOST: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteError {
    pub host: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ssh {}: {}", self.host, self.message)
    }
}

impl std::error::Error for RemoteError {}
