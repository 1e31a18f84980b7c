//! The file systems the loader reads: the real one, refusing anything but
//! regular files of a bounded size, and files held in memory (a dump, the
//! demo).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{normalize, MAX_FILE_BYTES};

/// Why a file of the configuration could not be read, or an include
/// pattern not matched; the message is recorded as a load error.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file system refused (shown without Rust's `(os error N)`).
    #[error("{}", io_message(.0))]
    Io(#[source] std::io::Error),
    /// The path is a directory.
    #[error("is a directory")]
    Directory,
    /// A FIFO, a device or a socket: reading it could block or never end.
    #[error("not a regular file")]
    NotRegular,
    /// A file of a kernel pseudo-file system (`/proc`, `/sys`, debugfs,
    /// tracefs, securityfs): it looks regular, but reading some of them
    /// (`/proc/kmsg`, `trace_pipe`) waits for the kernel forever.
    #[error(
        "is a file of the kernel's {0} file system, whose reads may wait forever: not read (nginx would read it)"
    )]
    PseudoFs(&'static str),
    /// Over [`MAX_FILE_BYTES`].
    #[error(
        "file is {} MiB; hopscope reads configuration files up to {} MiB",
        .size >> 20,
        MAX_FILE_BYTES >> 20
    )]
    TooLarge { size: u64 },
    /// The file grew past [`MAX_FILE_BYTES`] while it was read.
    #[error("file grew past {} MiB while reading", MAX_FILE_BYTES >> 20)]
    Grew,
    /// A dump (or the demo) does not hold the file.
    #[error("not in the configuration dump")]
    NotInDump,
    /// The include pattern is not a valid glob.
    #[error("{0}")]
    Pattern(#[from] glob::PatternError),
}

/// A file system nginx reads from: the real one, or the files of a dump.
/// Shared between threads: the files of one include set are read at once.
pub trait Files: Sync {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FileError>;
    /// Paths matching an nginx include glob, in nginx's (byte-wise) order.
    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, FileError>;
    /// The identity of a file, so one file is loaded once.
    fn key(&self, path: &Path) -> PathBuf;
    fn on_disk(&self) -> bool;
}

/// An include pattern as nginx's glob(3) (flags 0) reads it: `**` is two
/// `*`, each matching within one path component, so a run of stars is one
/// star (the glob crate would read a `**` component as "any depth" and
/// walk whole trees, and refuses `a**`). Inside `[...]` a star is a
/// member of the class, where one or several are the same class.
pub(super) fn nginx_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        if c == '*' && out.ends_with('*') {
            continue;
        }
        out.push(c);
    }
    out
}

fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

pub(super) fn io_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The real file system. Refuses anything but regular files (a FIFO or a
/// device would block or never end) and files over [`MAX_FILE_BYTES`].
pub struct DiskFiles;

impl Files for DiskFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FileError> {
        let meta = std::fs::metadata(path).map_err(FileError::Io)?;
        if meta.is_dir() {
            return Err(FileError::Directory);
        }
        if !meta.is_file() {
            return Err(FileError::NotRegular);
        }
        // Opened without waiting (a FIFO put in the file's place since the
        // check above would otherwise block the open until a writer came),
        // then checked again on what was opened.
        let f = open_nonblocking(path).map_err(FileError::Io)?;
        let meta = f.metadata().map_err(FileError::Io)?;
        if !meta.is_file() {
            return Err(FileError::NotRegular);
        }
        if let Some(fs) = pseudo_fs(&f) {
            return Err(FileError::PseudoFs(fs));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(FileError::TooLarge { size: meta.len() });
        }
        let mut buf = Vec::with_capacity(meta.len() as usize);
        f.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(FileError::Io)?;
        if buf.len() as u64 > MAX_FILE_BYTES {
            return Err(FileError::Grew);
        }
        Ok(buf)
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, FileError> {
        let pat = nginx_pattern(&pattern.to_string_lossy());
        let paths = glob::glob_with(&pat, glob_options())?;
        let mut out: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        out.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        Ok(out)
    }

    fn key(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
    }

    fn on_disk(&self) -> bool {
        true
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// The kernel pseudo-file system an open file is on, if it is one whose
/// files may block on read or never end.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn pseudo_fs(f: &std::fs::File) -> Option<&'static str> {
    // Magic numbers of linux/magic.h.
    const KINDS: &[(i64, &str)] = &[
        (0x9fa0, "proc (/proc)"),
        (0x6265_6572, "sysfs (/sys)"),
        (0x6462_6720, "debugfs"),
        (0x7472_6163, "tracefs"),
        (0x7363_6673, "securityfs"),
    ];
    let kind = rustix::fs::fstatfs(f).ok()?.f_type as i64;
    KINDS.iter().find(|(m, _)| *m == kind).map(|&(_, n)| n)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn pseudo_fs(_: &std::fs::File) -> Option<&'static str> {
    None
}

/// Files held in memory, addressed by absolute path (a dump, the demo).
pub struct MemFiles {
    files: Vec<(PathBuf, Vec<u8>)>,
    /// Where each path is in `files`: a tree of many files is read
    /// without a search through all of them for every file.
    index: std::collections::HashMap<PathBuf, usize>,
}

impl MemFiles {
    /// Two entries naming the same file once normalized (a dump that
    /// names `/etc/nginx/./a.conf` and `/etc/nginx/a.conf`) are one file:
    /// the first is kept, as [`Files::read`] would find it, so that a glob
    /// matches it once.
    pub fn new(files: Vec<(PathBuf, Vec<u8>)>) -> MemFiles {
        let mut index = std::collections::HashMap::with_capacity(files.len());
        let files: Vec<(PathBuf, Vec<u8>)> = files
            .into_iter()
            .map(|(p, t)| (normalize(&p), t))
            .filter(|(p, _)| {
                let next = index.len();
                match index.entry(p.clone()) {
                    std::collections::hash_map::Entry::Occupied(_) => false,
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(next);
                        true
                    }
                }
            })
            .collect();
        MemFiles { files, index }
    }
}

impl Files for MemFiles {
    fn read(&self, path: &Path) -> Result<Vec<u8>, FileError> {
        self.index
            .get(&normalize(path))
            .map(|&i| self.files[i].1.clone())
            .ok_or(FileError::NotInDump)
    }

    fn glob(&self, pattern: &Path) -> Result<Vec<PathBuf>, FileError> {
        let pat = glob::Pattern::new(&nginx_pattern(&normalize(pattern).to_string_lossy()))?;
        let mut out: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|(p, _)| pat.matches_with(&p.to_string_lossy(), glob_options()))
            .map(|(p, _)| p.clone())
            .collect();
        out.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        Ok(out)
    }

    fn key(&self, path: &Path) -> PathBuf {
        normalize(path)
    }

    fn on_disk(&self) -> bool {
        false
    }
}
