//! The include loader: from one main file to every file nginx would read.
//!
//! Resolution follows nginx (`ngx_conf_include`, `ngx_conf_full_name`):
//! a relative `include` is relative to the *prefix*, the directory of the
//! main configuration file, wherever the include is written; a pattern with
//! `*`, `?` or `[` is a glob (glob(3) with no flags, as `ngx_open_glob`:
//! `**` is two stars within one path component, never a recursive walk)
//! whose matches are read in sorted order and may be empty; anything else
//! must exist. Only regular files are read, never a FIFO, a device or a
//! file of /proc or /sys, whose reads may wait forever. Each file is read and parsed once,
//! however often it is included. Include cycles are reported at the include
//! that closes them and that edge is dropped, so the configuration graph is
//! always acyclic.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::dump;
use super::parser::{parse, Ast, NodeId};
use super::source::{FileId, SourceFile};

/// Largest configuration file hopscope reads.
pub const MAX_FILE_BYTES: u64 = 128 << 20;
/// Most files one configuration may pull in.
pub const MAX_FILES: usize = 20_000;

/// Where a configuration was loaded from (not to be confused with where a
/// setting comes from: `model::Origin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadedFrom {
    /// Files on this machine.
    Disk,
    /// The output of `nginx -T`: file contents as dumped, nothing on disk.
    Dump,
    /// The demo tree built into hopscope.
    Demo,
}

/// A problem that kept part of the configuration from loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Display name of the file, empty when no file is involved.
    pub file: String,
    /// 1-based; 0 when the error concerns the whole file.
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.file.is_empty(), self.line) {
            (true, _) => write!(f, "{}", self.message),
            (false, 0) => write!(f, "{}: {}", self.file, self.message),
            (false, l) => write!(f, "{}:{}: {}", self.file, l, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// A whole loaded configuration: every file, its tree, and the include graph.
#[derive(Debug)]
pub struct Config {
    pub files: Vec<SourceFile>,
    pub asts: Vec<Ast>,
    /// The main file is always `FileId(0)`.
    pub prefix: PathBuf,
    pub loaded_from: LoadedFrom,
    /// For each `include` directive, the files it pulls in, in nginx's order.
    pub includes: HashMap<(FileId, NodeId), Vec<FileId>>,
    pub errors: Vec<LoadError>,
    /// Loaded from standard input that is not `nginx -T` output: the text
    /// came from a pipe (perhaps after a login banner, perhaps not a
    /// configuration at all), so the files it names on this machine are
    /// not its own to write.
    pub from_stdin: bool,
    /// `--root DIR`: the server's file system as copied to this machine,
    /// where the files the configuration names are looked up (see
    /// [`crate::conf::local_files`]).
    pub root: Option<PathBuf>,
    /// For `nginx -T` output: the `nginx version: …` line written before
    /// its first file (`nginx -v -T 2>&1`, or `nginx -V` before the dump),
    /// as written.
    pub version_line: Option<String>,
}

impl Config {
    pub const MAIN: FileId = FileId(0);

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    pub fn ast(&self, id: FileId) -> &Ast {
        &self.asts[id.0 as usize]
    }
    pub fn included(&self, file: FileId, node: NodeId) -> &[FileId] {
        self.includes.get(&(file, node)).map_or(&[], |v| v)
    }
    /// Finds a loaded file by its display name.
    pub fn file_named(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(i as u32))
    }
}

/// What to read from this machine. The demo and a server over SSH are
/// sources too, loaded by the jobs layer (`crate::jobs::Source`) with
/// [`load_files`] and [`from_bytes`].
#[derive(Clone, Debug)]
pub enum Input {
    /// An nginx.conf, a directory holding one, or a file with `nginx -T` output.
    Path(PathBuf),
    /// Standard input: `nginx -T` output, or a single configuration file.
    Stdin,
}

mod files;
mod includes;

use files::io_message;
pub use files::{DiskFiles, FileError, Files, MemFiles};

/// Removes `.` and resolves `..` without touching the file system: `..`
/// removes the name before it, stays at `/` (as the kernel does), and is
/// kept only at the start of a relative path (`../../a` stays as it is).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Loads a configuration. `Err` only when nothing could be loaded at all
/// (the main file is unreadable, or the input is not a configuration);
/// every other problem is listed in [`Config::errors`].
pub fn load(input: &Input) -> Result<Config, LoadError> {
    match input {
        Input::Stdin => {
            // Standard input redirected from a file too large is refused
            // before reading it (a pipe can only be read up to the limit).
            if let Ok(meta) = std::fs::metadata("/dev/stdin") {
                if meta.is_file() && meta.len() > MAX_FILE_BYTES {
                    return Err(whole(
                        "-",
                        format!(
                            "input is {} MiB; hopscope reads configuration files up to {} MiB",
                            meta.len() >> 20,
                            MAX_FILE_BYTES >> 20
                        ),
                    ));
                }
            }
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_FILE_BYTES + 1)
                .read_to_end(&mut buf)
                .map_err(|e| {
                    whole(
                        "-",
                        format!("cannot read standard input: {}", io_message(&e)),
                    )
                })?;
            if buf.len() as u64 > MAX_FILE_BYTES {
                return Err(whole(
                    "-",
                    format!("input is over {} MiB", MAX_FILE_BYTES >> 20),
                ));
            }
            from_bytes(buf, None)
        }
        Input::Path(p) => {
            let meta = std::fs::metadata(p)
                .map_err(|e| whole(&p.display().to_string(), io_message(&e)))?;
            let path = if meta.is_dir() {
                p.join("nginx.conf")
            } else {
                p.clone()
            };
            let text = DiskFiles
                .read(&path)
                .map_err(|e| whole(&path.display().to_string(), e.to_string()))?;
            from_bytes(text, Some(&path))
        }
    }
}

/// Loads a tree held in memory (the demo): `files` by absolute path, the
/// main file `main` among them.
pub fn load_files(files: Vec<(PathBuf, Vec<u8>)>, main: &Path, loaded_from: LoadedFrom) -> Config {
    load_tree(&MemFiles::new(files), main, loaded_from)
}

fn whole(file: &str, message: String) -> LoadError {
    LoadError {
        file: file.to_string(),
        line: 0,
        message,
    }
}

/// Loads from already-read bytes: a dump when they carry `nginx -T` markers,
/// otherwise a main configuration file at `path` (or in the current
/// directory for standard input).
pub fn from_bytes(text: Vec<u8>, path: Option<&Path>) -> Result<Config, LoadError> {
    let shown = path.map_or("-".to_string(), |p| p.display().to_string());
    if dump::is_dump(&text) {
        let dump::Dumped { files, errors } = dump::split(&text);
        let Some((first, _)) = files.first() else {
            return Err(whole(
                &shown,
                "the nginx -T output holds no configuration file".into(),
            ));
        };
        let main = PathBuf::from(first);
        let mem = MemFiles::new(
            files
                .into_iter()
                .map(|(n, t)| (PathBuf::from(n), t))
                .collect(),
        );
        let mut cfg = load_tree(&mem, &main, LoadedFrom::Dump);
        cfg.version_line = dump::version_line(&text);
        cfg.errors
            .extend(errors.into_iter().map(|(line, message)| LoadError {
                file: shown.clone(),
                line,
                message,
            }));
        return Ok(cfg);
    }
    if let Some(msg) = dump::failed_test(&text) {
        return Err(whole(&shown, msg));
    }
    if path.is_none() && text.iter().all(u8::is_ascii_whitespace) {
        return Err(whole(
            "-",
            "standard input is empty: if it came from `nginx -T 2>/dev/null`, nginx may have rejected the configuration (run `nginx -T` to see its error)".into(),
        ));
    }
    let main = match path {
        Some(p) => std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
        None => std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join("nginx.conf"),
    };
    let mut cfg = load_tree_with_main(&DiskFiles, &main, text, LoadedFrom::Disk);
    if path.is_none() {
        // Standard input has no file name: call it `-` everywhere.
        let old = std::mem::replace(&mut cfg.files[0].name, "-".into());
        cfg.files[0].on_disk = false;
        cfg.from_stdin = true;
        for e in &mut cfg.errors {
            if e.file == old {
                e.file = "-".into();
            }
        }
    }
    Ok(cfg)
}

/// Loads the tree under `main` from `fs`. The main file must be readable
/// (check before calling); a read error here is recorded like any other.
pub fn load_tree(fs: &dyn Files, main: &Path, loaded_from: LoadedFrom) -> Config {
    match fs.read(main) {
        Ok(text) => load_tree_with_main(fs, main, text, loaded_from),
        Err(e) => {
            let mut cfg = load_tree_with_main(fs, main, Vec::new(), loaded_from);
            cfg.errors.push(whole(&cfg.files[0].name, e.to_string()));
            cfg
        }
    }
}

fn display_name(prefix: &Path, path: &Path) -> String {
    let norm = normalize(path);
    match norm.strip_prefix(prefix) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => norm.to_string_lossy().into_owned(),
    }
}

fn load_tree_with_main(
    fs: &dyn Files,
    main: &Path,
    text: Vec<u8>,
    loaded_from: LoadedFrom,
) -> Config {
    let prefix = normalize(main.parent().unwrap_or(Path::new("/")));
    let mut cfg = Config {
        files: Vec::new(),
        asts: Vec::new(),
        prefix: prefix.clone(),
        loaded_from,
        includes: HashMap::new(),
        errors: Vec::new(),
        from_stdin: false,
        root: None,
        version_line: None,
    };
    let mut by_key: HashMap<PathBuf, FileId> = HashMap::new();
    by_key.insert(fs.key(main), FileId(0));
    add_file(&mut cfg, fs, main, text);

    // Breadth-first over files; each file is parsed once.
    let mut next = 0usize;
    while next < cfg.files.len() {
        includes::follow(&mut cfg, fs, &mut by_key, FileId(next as u32));
        next += 1;
    }
    break_cycles(&mut cfg);
    cfg
}

fn add_file(cfg: &mut Config, fs: &dyn Files, path: &Path, text: Vec<u8>) -> FileId {
    let prepared = prepare(&cfg.prefix, cfg.loaded_from, fs.on_disk(), path, text);
    add_prepared(cfg, prepared)
}

/// A file read and parsed, not yet part of a configuration.
struct Prepared {
    file: SourceFile,
    ast: Ast,
}

/// Parses a file and indexes its lines: the work that does not depend on
/// the rest of the configuration, so that files can be prepared at once.
fn prepare(
    prefix: &Path,
    loaded_from: LoadedFrom,
    on_disk: bool,
    path: &Path,
    text: Vec<u8>,
) -> Prepared {
    // nginx -T input keeps the names of the dump (contract: "as named in
    // the dump"); files on disk and the demo are named from the prefix.
    let name = if loaded_from == LoadedFrom::Dump {
        normalize(path).to_string_lossy().into_owned()
    } else {
        display_name(prefix, path)
    };
    let ast = parse(&text);
    let file = SourceFile::new(name, normalize(path), on_disk, text);
    Prepared { file, ast }
}

/// Adds a prepared file with the next id, recording its syntax error.
fn add_prepared(cfg: &mut Config, Prepared { file, ast }: Prepared) -> FileId {
    let id = FileId(cfg.files.len() as u32);
    if let Some(e) = &ast.error {
        cfg.errors.push(LoadError {
            file: file.name.clone(),
            line: file.line_of(e.offset),
            message: e.message.clone(),
        });
    }
    cfg.files.push(file);
    cfg.asts.push(ast);
    id
}

/// Depth-first over the include graph from the main file (iteratively);
/// an include that leads back to a file being included is an error and its
/// edge to that file is removed.
fn break_cycles(cfg: &mut Config) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    // Outgoing edges of each file, in document order.
    let mut edges: Vec<Vec<NodeId>> = vec![Vec::new(); cfg.files.len()];
    for &(f, n) in cfg.includes.keys() {
        edges[f.0 as usize].push(n);
    }
    for e in &mut edges {
        e.sort_unstable();
    }
    let mut mark = vec![Mark::New; cfg.files.len()];
    // (file, index of the next edge, index inside that edge's targets)
    let mut stack: Vec<(FileId, usize, usize)> = vec![(FileId(0), 0, 0)];
    mark[0] = Mark::Open;
    while let Some(&(file, ei, ti)) = stack.last() {
        let top = stack.len() - 1;
        let Some(&node) = edges[file.0 as usize].get(ei) else {
            mark[file.0 as usize] = Mark::Done;
            stack.pop();
            continue;
        };
        let targets = &cfg.includes[&(file, node)];
        let Some(&target) = targets.get(ti) else {
            stack[top] = (file, ei + 1, 0);
            continue;
        };
        match mark[target.0 as usize] {
            Mark::Done => stack[top].2 += 1,
            Mark::New => {
                stack[top].2 += 1;
                mark[target.0 as usize] = Mark::Open;
                stack.push((target, 0, 0));
            }
            Mark::Open => {
                let offset = cfg.ast(file).node(node).range.start;
                let line = cfg.file(file).line_of(offset);
                let mut chain: Vec<String> = stack
                    .iter()
                    .skip_while(|(f, _, _)| *f != target)
                    .map(|(f, _, _)| cfg.file(*f).name.clone())
                    .collect();
                chain.push(cfg.file(target).name.clone());
                cfg.errors.push(LoadError {
                    file: cfg.file(file).name.clone(),
                    line,
                    message: format!("include cycle: {}", chain.join(" -> ")),
                });
                if let Some(v) = cfg.includes.get_mut(&(file, node)) {
                    v.remove(ti);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
