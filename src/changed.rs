//! A file to write, in the one shape every writer takes: a local save
//! (`fix::save`), a write on a server (`remote::apply`), and the TUI's and
//! the CLI's requests for either.

use std::path::PathBuf;

/// A changed file: how the configuration names it, where it is (a local
/// path, or the path on the server), what it held when it was loaded, and
/// its new bytes. Writers refuse it when the file no longer holds `loaded`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedFile<P> {
    pub name: String,
    pub path: P,
    pub loaded: Vec<u8>,
    pub new: Vec<u8>,
}

impl ChangedFile<PathBuf> {
    /// The same file on the server the configuration came from: its path as
    /// the server names it.
    pub fn on_server(self) -> ChangedFile<String> {
        ChangedFile {
            name: self.name,
            path: self.path.to_string_lossy().into_owned(),
            loaded: self.loaded,
            new: self.new,
        }
    }
}
