//! One way to load a source: the demo, a tree or dump on this machine,
//! standard input, or a server's `nginx -T` over SSH, each to a [`Model`]
//! or a [`LoadFailure`] that says why not.

use std::path::PathBuf;

use super::version::{choose, Place};
use crate::conf::{self, Config, Input, LoadError, LoadedFrom};
use crate::model::{Model, Version, VersionChoice};
use crate::remote::{Exec, Remote, RemoteError};

/// Where a configuration comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The demo tree built into hopscope.
    Demo,
    /// An nginx.conf, a directory holding one, or a file with `nginx -T` output.
    Path(PathBuf),
    /// Standard input: `nginx -T` output, or a single configuration file.
    /// It can be read once only.
    Stdin,
    /// A server's `nginx -T`, run over SSH (and held in memory only).
    Ssh(Remote),
    /// The `nginx -T` output of a command run here (`--exec CMD`: `kubectl
    /// exec … -- nginx -T`, `docker exec web nginx -T`), held in memory
    /// only and read as a server's.
    Exec(Exec),
}

/// Why nothing could be loaded. Shows as the message people have always
/// seen for it.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    /// The files, dump or standard input are not a configuration.
    #[error("{0}")]
    Config(LoadError),
    /// ssh, or nginx on the server, failed (`ssh HOST: …`).
    #[error("{0}")]
    Fetch(RemoteError),
    /// The server's (or command's) `nginx -T` is not a configuration;
    /// `host` is how it is named (`ssh web1`, ``--exec `CMD` ``).
    #[error("{host}: {error}")]
    Dump { host: String, error: LoadError },
    /// A bug: loading panicked.
    #[error("hopscope crashed while loading (a bug, please report it): {0}")]
    Crashed(String),
}

impl Source {
    /// A path argument: none is the demo, `-` is standard input.
    pub fn from_arg(path: Option<&std::path::Path>) -> Source {
        match path {
            None => Source::Demo,
            Some(p) if p.as_os_str() == "-" => Source::Stdin,
            Some(p) => Source::Path(p.to_path_buf()),
        }
    }

    /// How the terminal UI names the source.
    pub fn label(&self) -> String {
        match self {
            Source::Demo => "demo (built-in tour of the pitfalls)".to_string(),
            Source::Stdin => "standard input".to_string(),
            Source::Path(p) => p.display().to_string(),
            Source::Ssh(r) => format!("ssh {} (nginx -T)", r.host),
            Source::Exec(e) => format!("--exec {}", e.label()),
        }
    }

    /// The server, for a source over SSH.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Source::Ssh(r) => Some(r),
            _ => None,
        }
    }

    /// The command, for a source run with `--exec`.
    pub fn exec(&self) -> Option<&Exec> {
        match self {
            Source::Exec(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the configuration is another machine's `nginx -T`, fetched
    /// over ssh or printed by a command: its files are not this machine's.
    pub fn fetched(&self) -> bool {
        matches!(self, Source::Ssh(_) | Source::Exec(_))
    }

    /// The probe's policy for the files a configuration from this source
    /// names: an `--exec` command's are never this machine's unless
    /// `asked` (`--local-files`); anything else as
    /// [`crate::probe::LocalFiles::choose`].
    pub fn local_files(&self, model: &Model, asked: bool) -> crate::probe::LocalFiles {
        match self {
            Source::Exec(_) if !asked => crate::probe::LocalFiles::command(),
            _ => crate::probe::LocalFiles::choose(model, self.remote().is_some(), asked),
        }
    }

    /// Whether loading again reads the source again (a pipe cannot).
    pub fn rereadable(&self) -> bool {
        !matches!(self, Source::Stdin)
    }

    /// The configuration, not yet analysed.
    pub fn config(&self) -> Result<Config, LoadFailure> {
        match self {
            Source::Demo => Ok(demo()),
            Source::Path(p) => conf::load(&Input::Path(p.clone())).map_err(LoadFailure::Config),
            Source::Stdin => conf::load(&Input::Stdin).map_err(LoadFailure::Config),
            Source::Ssh(remote) => {
                let dump = crate::remote::fetch_dump(remote).map_err(LoadFailure::Fetch)?;
                from_dump(format!("ssh {}", remote.host), dump)
            }
            Source::Exec(exec) => {
                let dump = crate::remote::fetch_exec(exec).map_err(LoadFailure::Fetch)?;
                from_dump(format!("--exec {}", exec.label()), dump)
            }
        }
    }

    /// Loads and analyses with the defaults of nginx `version`, or (None)
    /// of the version the source tells (see [`super::version`]).
    pub fn load(&self, version: Option<Version>) -> Result<Model, LoadFailure> {
        self.load_rooted(version, None)
    }

    /// [`Source::load`], looking the files the configuration names up
    /// under `root` (`--root DIR`) when given.
    pub fn load_rooted(
        &self,
        version: Option<Version>,
        root: Option<&std::path::Path>,
    ) -> Result<Model, LoadFailure> {
        self.config().map(|mut cfg| {
            cfg.root = root.map(std::path::Path::to_path_buf);
            let choice = self.version_choice(&cfg, version);
            Model::build_for(cfg, choice)
        })
    }

    /// The version whose defaults apply to `cfg`, loaded from this source.
    fn version_choice(&self, cfg: &Config, wanted: Option<Version>) -> VersionChoice {
        let place = match self {
            Source::Demo => Place::Demo,
            Source::Ssh(_) => Place::Server,
            Source::Exec(_) => Place::Command,
            Source::Path(_) | Source::Stdin => Place::Here,
        };
        wanted.map_or_else(|| choose(cfg, place), VersionChoice::chosen)
    }
}

/// The demo tree, as if it were in [`crate::demo::PREFIX`].
fn demo() -> Config {
    let prefix = PathBuf::from(crate::demo::PREFIX);
    let files = crate::demo::FILES
        .iter()
        .map(|(name, text)| (prefix.join(name), text.to_vec()))
        .collect();
    conf::load_files(files, &prefix.join(crate::demo::MAIN), LoadedFrom::Demo)
}

/// A server's (or a command's) `nginx -T` output, already fetched; `host`
/// names where it came from in messages.
fn from_dump(host: String, dump: Vec<u8>) -> Result<Config, LoadFailure> {
    conf::from_bytes(dump, None).map_err(|error| LoadFailure::Dump { host, error })
}

/// A server's `nginx -T` output held in memory (what the terminal UI was
/// started with over SSH or `--exec`), analysed for `version` or (None)
/// the server's.
pub fn load_dump(dump: Vec<u8>, version: Option<Version>) -> Result<Model, LoadFailure> {
    conf::from_bytes(dump, None)
        .map(|cfg| {
            let choice = version.map_or_else(|| choose(&cfg, Place::Server), VersionChoice::chosen);
            Model::build_for(cfg, choice)
        })
        .map_err(LoadFailure::Config)
}

/// Runs `nginx -v -T` on a server: the dump (led by the server's version
/// line), kept in memory.
pub fn fetch(remote: &Remote) -> Result<Vec<u8>, LoadFailure> {
    crate::remote::fetch_dump(remote).map_err(LoadFailure::Fetch)
}

/// Runs an `--exec` command: its dump (led by nginx's version line when
/// it printed one), kept in memory.
pub fn fetch_exec(exec: &Exec) -> Result<Vec<u8>, LoadFailure> {
    crate::remote::fetch_exec(exec).map_err(LoadFailure::Fetch)
}
