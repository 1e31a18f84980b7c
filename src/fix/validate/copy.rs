//! The test copy nginx -t reads: a mirror of the prefix with every loaded
//! file written in, includes pointing at those copies, every written path
//! pointed into the temporary directory, and outside modules left out.

use super::Edit;
use crate::conf::{FileId, Range};
use crate::fix::plan::quote;
use crate::model::Model;
use crate::visible::visible;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::ValidateError;

/// Mirrors `src` into `dst` with one symlink per entry.
pub(crate) fn mirror(src: &Path, dst: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        std::os::unix::fs::symlink(entry.path(), dst.join(entry.file_name()))?;
    }
    Ok(())
}

/// Makes every directory from `root` down to `rel`'s parent a real
/// directory of symlinks, so a file can be written there without touching
/// the original.
pub(crate) fn materialize(root: &Path, original: &Path, rel: &Path) -> std::io::Result<()> {
    let mut here = root.to_path_buf();
    let mut orig = original.to_path_buf();
    let parent = rel.parent().unwrap_or(Path::new(""));
    for comp in parent.components() {
        here.push(comp);
        orig.push(comp);
        let meta = fs::symlink_metadata(&here);
        if meta.as_ref().is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&here)?;
            mirror(&orig, &here)?;
        } else if meta.is_err() {
            fs::create_dir_all(&here)?;
        }
    }
    Ok(())
}

/// What `nginx -V` says about where nginx keeps its modules, and which
/// http modules with temporary paths it is built without.
pub(crate) struct Build {
    pub(crate) prefix: PathBuf,
    pub(crate) modules: PathBuf,
    pub(crate) without: Vec<String>,
    /// nginx 1.19.5 and later take `-e`, the error log used before the
    /// configuration is read.
    pub(crate) takes_e: bool,
}

pub(crate) fn build_info(nginx: &Path) -> Build {
    let text = Command::new(nginx)
        .arg("-V")
        .stdin(Stdio::null())
        .output()
        .map(|o| {
            let mut t = String::from_utf8_lossy(&o.stderr).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stdout));
            t
        })
        .unwrap_or_default();
    let value = |key: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .map(|v| PathBuf::from(v.trim_matches(['\'', '"'])))
    };
    let prefix = value("--prefix=").unwrap_or_else(|| PathBuf::from("/usr/local/nginx"));
    let modules = value("--modules-path=").unwrap_or_else(|| prefix.join("modules"));
    let without = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("--without-http_"))
        .filter_map(|w| w.strip_suffix("_module"))
        .map(str::to_string)
        .collect();
    let version: Vec<u32> = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("nginx/"))
        .map(|v| v.split('.').map_while(|n| n.parse().ok()).collect())
        .unwrap_or_default();
    Build {
        prefix,
        modules,
        without,
        takes_e: version >= vec![1, 19, 5],
    }
}

/// The names of the directives at one level of the configuration: `nodes`
/// of `file`, and what their includes bring in at that level.
pub(crate) fn names_at(model: &Model, file: FileId, nodes: &[u32], out: &mut Vec<String>) {
    let cfg = &model.config;
    for &n in nodes {
        let d = cfg.ast(file).node(n);
        out.push(d.name().to_string());
        if d.name() == "include" {
            for &t in cfg.included(file, n) {
                names_at(model, t, &cfg.ast(t).roots, out);
            }
        }
    }
}

/// Directives that run code written in the configuration while nginx
/// reads it.
pub(crate) const RUNS_CODE: &[&str] = &[
    "perl",
    "perl_modules",
    "perl_require",
    "perl_set",
    "init_by_lua",
    "init_by_lua_block",
    "init_by_lua_file",
    // njs compiles and runs a module's top-level code when it loads it.
    "js_import",
    "js_include",
];

/// The temporary paths nginx creates for http (directive, module that has
/// it), set explicitly in each `http` block that does not set them, so
/// their compiled-in defaults are not created or chowned.
pub(crate) const TEMP_PATHS: &[(&str, &str)] = &[
    ("client_body_temp_path", ""),
    ("proxy_temp_path", "proxy"),
    ("fastcgi_temp_path", "fastcgi"),
    ("uwsgi_temp_path", "uwsgi"),
    ("scgi_temp_path", "scgi"),
];

/// Where the test copy of the tree puts what nginx writes.
pub(crate) struct Sink {
    pub(crate) dir: PathBuf,
    pub(crate) names: HashMap<String, PathBuf>,
}

impl Sink {
    /// The stand-in for a path nginx would write: one per original path
    /// (two servers on one unix socket still share it).
    pub(crate) fn for_path(&mut self, original: &str) -> String {
        let n = self.names.len();
        let dir = &self.dir;
        self.names
            .entry(original.to_string())
            .or_insert_with(|| dir.join(format!("w{n}")))
            .to_string_lossy()
            .into_owned()
    }
    pub(crate) fn fresh(&mut self) -> String {
        let key = format!("\0{}", self.names.len());
        self.for_path(&key)
    }
}

/// The place of a loaded file in the test copy.
pub(crate) fn mirror_of(path: &Path, prefix: &Path, root: &Path) -> PathBuf {
    let p = crate::conf::loader::normalize(path);
    match p.strip_prefix(prefix) {
        Ok(rel) => root.join(rel),
        Err(_) => {
            let rel: PathBuf = p
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect();
            root.join(".hopscope-outside").join(rel)
        }
    }
}

/// The same line breaks as `text`, nothing else: a directive left out
/// keeps the line numbers of what follows.
pub(crate) fn blank(text: &[u8], r: Range) -> String {
    "\n".repeat(text[r.as_usize()].iter().filter(|&&b| b == b'\n').count())
}

pub(crate) struct Copy<'a> {
    pub(crate) model: &'a Model,
    pub(crate) build: &'a Build,
    pub(crate) root: &'a Path,
    pub(crate) sink: Sink,
    pub(crate) notes: Vec<String>,
}

impl Copy<'_> {
    /// The test copy of one file: includes to the copies, written paths to
    /// the sink, modules checked.
    pub(crate) fn file(&mut self, id: FileId, text: &[u8]) -> Result<Vec<u8>, ValidateError> {
        let cfg = &self.model.config;
        let f = cfg.file(id);
        let parsed = crate::conf::parser::parse(text);
        let ast = &parsed;
        // Lines of `text` (a fix may have added lines to the loaded file).
        let line_of = |r: Range| {
            text[..r.start as usize]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        };
        let at = |r: Range| format!("{}:{}", visible(&f.name), line_of(r));
        // Include directives of the loaded file and of `text`, in order:
        // a fix never adds or removes one.
        let old_includes: Vec<u32> = cfg
            .ast(id)
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, d)| d.name() == "include")
            .map(|(i, _)| i as u32)
            .collect();
        let mut includes = old_includes.iter();
        let mut edits: Vec<Edit> = Vec::new();
        let edit = |r: Range, t: String| Edit::replacement(FileId(0), r, t);
        for d in &ast.nodes {
            let name = d.name();
            if RUNS_CODE.contains(&name) {
                return Err(ValidateError::RunsCode {
                    file: f.name.clone(),
                    line: line_of(d.range),
                    directive: name.to_string(),
                });
            }
            let arg0 = d.args.first();
            match (name, arg0) {
                ("include", _) => {
                    let Some(&node) = includes.next() else {
                        return Err(ValidateError::MoreIncludes {
                            file: f.name.clone(),
                        });
                    };
                    let targets = cfg.included(id, node);
                    let arg = arg0.map_or("", |a| &a.value);
                    let copies: Vec<PathBuf> =
                        if targets.is_empty() && !arg.contains(['*', '?', '[']) {
                            // Not loaded (missing): nginx fails on its copy's
                            // name, as on the original.
                            let p = Path::new(arg);
                            let abs = if p.is_absolute() {
                                p.to_path_buf()
                            } else {
                                cfg.prefix.join(p)
                            };
                            vec![mirror_of(&abs, &cfg.prefix, self.root)]
                        } else {
                            targets
                                .iter()
                                .map(|t| mirror_of(&cfg.file(*t).path, &cfg.prefix, self.root))
                                .collect()
                        };
                    let t = if copies.is_empty() {
                        blank(text, d.range)
                    } else {
                        copies
                            .iter()
                            .map(|c| format!("include {};", quote(&c.to_string_lossy())))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    edits.push(edit(d.range, t));
                }
                ("load_module", Some(a)) => {
                    let p = Path::new(&*a.value);
                    let abs = if p.is_absolute() {
                        p.to_path_buf()
                    } else {
                        self.build.prefix.join(p)
                    };
                    let real = fs::canonicalize(&abs).ok();
                    let dir = fs::canonicalize(&self.build.modules).ok();
                    match (real, dir) {
                        (Some(real), Some(dir)) if real.parent() == Some(dir.as_path()) => {
                            edits.push(edit(a.range, quote(&real.to_string_lossy())));
                        }
                        _ => {
                            self.notes.push(format!(
                                "{}: the module \"{}\" was not loaded for the test: only modules in nginx's module directory {} are (directives of that module then fail the test)",
                                at(d.range),
                                visible(&a.value),
                                visible(&self.build.modules.to_string_lossy())
                            ));
                            edits.push(edit(d.range, blank(text, d.range)));
                        }
                    }
                }
                ("ssl_engine", _) => {
                    self.notes.push(format!(
                        "{}: ssl_engine was left out of the test (it loads a library)",
                        at(d.range)
                    ));
                    edits.push(edit(d.range, blank(text, d.range)));
                }
                ("error_log", Some(a))
                    if !(&*a.value == "stderr"
                        || a.value.starts_with("syslog:")
                        || a.value.starts_with("memory:")) =>
                {
                    let to = self.sink.for_path(&a.value);
                    edits.push(edit(a.range, quote(&to)));
                }
                ("access_log", Some(a))
                    if !(&*a.value == "off" || a.value.starts_with("syslog:")) =>
                {
                    let to = self.sink.for_path(&a.value);
                    edits.push(edit(a.range, quote(&to)));
                }
                ("pid" | "lock_file", Some(a)) => {
                    let to = self.sink.for_path(&a.value);
                    edits.push(edit(a.range, quote(&to)));
                }
                (
                    "client_body_temp_path"
                    | "proxy_temp_path"
                    | "fastcgi_temp_path"
                    | "uwsgi_temp_path"
                    | "scgi_temp_path"
                    | "proxy_cache_path"
                    | "fastcgi_cache_path"
                    | "uwsgi_cache_path"
                    | "scgi_cache_path",
                    Some(a),
                ) => {
                    let to = self.sink.for_path(&a.value);
                    edits.push(edit(a.range, quote(&to)));
                }
                ("listen", Some(a)) if a.value.starts_with("unix:") => {
                    let to = self.sink.for_path(&a.value);
                    edits.push(edit(a.range, quote(&format!("unix:{to}"))));
                }
                _ => {}
            }
        }
        // Defaults nginx would create: in each top-level http block (what
        // it sets, its includes included: a second temporary path there
        // would be a duplicate), and the pid file in the main file. A fix
        // adds no top-level block: the k-th http block of `text` is the
        // k-th of the loaded file.
        let old_ast = cfg.ast(id);
        let old_http = old_ast
            .roots
            .iter()
            .map(|&r| (r, old_ast.node(r)))
            .filter(|(_, d)| d.name() == "http");
        let new_http = ast
            .roots
            .iter()
            .map(|&r| ast.node(r))
            .filter(|d| d.name() == "http");
        for ((_, old), new) in old_http.zip(new_http) {
            let (Some(ob), Some(nb)) = (old.block.as_ref(), new.block.as_ref()) else {
                continue;
            };
            let mut set = Vec::new();
            names_at(self.model, id, &ob.children, &mut set);
            let set = |n: &str| set.iter().any(|s| s == n);
            let mut add = String::new();
            if !set("access_log") {
                add.push_str(&format!(" access_log {};", quote(&self.sink.fresh())));
            }
            for (dir, module) in TEMP_PATHS {
                if !set(dir) && !self.build.without.iter().any(|w| w == module) {
                    add.push_str(&format!(" {dir} {};", quote(&self.sink.fresh())));
                }
            }
            edits.push(Edit::insertion(FileId(0), nb.open as usize + 1, add));
        }
        if id == crate::conf::Config::MAIN {
            let mut top = Vec::new();
            names_at(self.model, id, &old_ast.roots, &mut top);
            if !top.iter().any(|n| n == "pid") {
                edits.push(Edit::insertion(
                    FileId(0),
                    0,
                    format!("pid {}; ", quote(&self.sink.fresh())),
                ));
            }
        }
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        let refs: Vec<&Edit> = edits.iter().collect();
        Ok(crate::fix::edit::apply(text, &refs))
    }
}
