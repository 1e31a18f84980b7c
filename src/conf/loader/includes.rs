//! Following the `include` directives of one file.
//!
//! Everything observable happens in nginx's order: files get their ids,
//! errors are recorded and the file limit applies exactly as if each
//! include were read one after the other. Only the reading and parsing of
//! the files an include set names for the first time (typically the many
//! matches of `include conf.d/*.conf;`) is spread over the machine's
//! cores, and only for files that reading them in order would read too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{add_prepared, prepare, Config, FileError, Files, LoadError, Prepared, MAX_FILES};
use crate::conf::parser::NodeId;
use crate::conf::source::FileId;

/// What one `include` directive names.
enum Target {
    /// Not exactly one parameter.
    ArgCount,
    /// A pattern glob(3) refuses, with the reason.
    BadPattern(String),
    /// The paths, in nginx's order, each with its identity.
    Paths(Vec<(PathBuf, PathBuf)>),
}

/// Below this many new files an include set is read on the loading thread:
/// starting threads would cost more than it saves.
const PARALLEL_FROM: usize = 4;

/// Loads the files the includes of `fid` name that are not loaded yet,
/// records which files each include pulls in, and any error, in order.
pub(super) fn follow(
    cfg: &mut Config,
    fs: &dyn Files,
    by_key: &mut HashMap<PathBuf, FileId>,
    fid: FileId,
) {
    let includes = resolve(cfg, fs, fid);
    if includes.is_empty() {
        return;
    }
    let mut ready = read_ahead(cfg, fs, by_key, &includes);
    for (node, offset, target) in includes {
        let line = cfg.files[fid.0 as usize].line_of(offset);
        let at = |cfg: &Config, message: String| LoadError {
            file: cfg.files[fid.0 as usize].name.clone(),
            line,
            message,
        };
        let paths = match target {
            Target::ArgCount => {
                let e = at(
                    cfg,
                    "invalid number of arguments in \"include\" directive".into(),
                );
                cfg.errors.push(e);
                continue;
            }
            Target::BadPattern(message) => {
                let e = at(cfg, message);
                cfg.errors.push(e);
                continue;
            }
            Target::Paths(paths) => paths,
        };
        let mut ids = Vec::with_capacity(paths.len());
        for (p, key) in paths {
            if let Some(&id) = by_key.get(&key) {
                ids.push(id);
                continue;
            }
            if cfg.files.len() >= MAX_FILES {
                let e = at(
                    cfg,
                    format!("more than {MAX_FILES} files are included; the rest is not loaded"),
                );
                cfg.errors.push(e);
                break;
            }
            // Read ahead, or (past a file that could not be read, or for a
            // second path to a file that could not be read) read now.
            let loaded = match ready.remove(&key) {
                Some(r) => r,
                None => load_one(cfg, fs, &p),
            };
            match loaded {
                Ok(prepared) => {
                    let id = add_prepared(cfg, prepared);
                    by_key.insert(key, id);
                    ids.push(id);
                }
                Err(m) => {
                    let e = at(cfg, format!("cannot include \"{}\": {m}", p.display()));
                    cfg.errors.push(e);
                }
            }
        }
        cfg.includes.insert((fid, node), ids);
    }
}

/// The include directives of `fid`, in document order, with what each names.
fn resolve(cfg: &Config, fs: &dyn Files, fid: FileId) -> Vec<(NodeId, u32, Target)> {
    let prefix = &cfg.prefix;
    cfg.asts[fid.0 as usize]
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, d)| d.name() == "include")
        .map(|(i, d)| {
            let target = match &*d.args {
                [arg] => {
                    let arg: &str = &arg.value;
                    let target = if Path::new(arg).is_absolute() {
                        PathBuf::from(arg)
                    } else {
                        prefix.join(arg)
                    };
                    let paths = if arg.contains(['*', '?', '[']) {
                        fs.glob(&target).map_err(|m| {
                            Target::BadPattern(format!("invalid include pattern \"{arg}\": {m}"))
                        })
                    } else {
                        Ok(vec![target])
                    };
                    match paths {
                        Ok(paths) => Target::Paths(
                            paths
                                .into_iter()
                                .map(|p| {
                                    let key = fs.key(&p);
                                    (p, key)
                                })
                                .collect(),
                        ),
                        Err(t) => t,
                    }
                }
                _ => Target::ArgCount,
            };
            (i as NodeId, d.range.start, target)
        })
        .collect()
}

/// Reads and parses, several at a time, the files the includes name that
/// are not loaded yet: each once, in order, and no more than the file
/// limit leaves room for, so that every file read here is one that
/// following the includes in order reads too.
fn read_ahead(
    cfg: &Config,
    fs: &dyn Files,
    by_key: &HashMap<PathBuf, FileId>,
    includes: &[(NodeId, u32, Target)],
) -> HashMap<PathBuf, Result<Prepared, FileError>> {
    let room = MAX_FILES.saturating_sub(cfg.files.len());
    let mut seen = HashSet::new();
    let new: Vec<(&Path, &PathBuf)> = includes
        .iter()
        .filter_map(|(_, _, t)| match t {
            Target::Paths(paths) => Some(paths),
            _ => None,
        })
        .flatten()
        .filter(|(_, key)| !by_key.contains_key(key) && seen.insert(key))
        .take(room)
        .map(|(p, key)| (p.as_path(), key))
        .collect();
    if new.len() < PARALLEL_FROM {
        return HashMap::new();
    }
    let threads = cores();
    if threads < 2 {
        return HashMap::new();
    }
    let loaded =
        crate::parallel::map_bounded(new, threads, |(p, key)| (key.clone(), load_one(cfg, fs, p)));
    loaded.into_iter().collect()
}

/// The cores this process may use, asked once: the answer reads the
/// process's cgroup files, which costs more than parsing a small file.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn load_one(cfg: &Config, fs: &dyn Files, path: &Path) -> Result<Prepared, FileError> {
    let text = fs.read(path)?;
    Ok(prepare(
        cfg.prefix.as_path(),
        cfg.loaded_from,
        fs.on_disk(),
        path,
        text,
    ))
}
