//! The checks the fuzz targets run (fuzz/fuzz_targets/*.rs), shared with
//! the normal test suite (tests/fuzz_regressions.rs) so that every input a
//! fuzzer found is replayed by `cargo test` with exactly the same checks.
//!
//! Each check takes arbitrary bytes and panics when an invariant breaks.
//! None of them touches the file system or the network: configurations
//! are loaded from memory ([`MemFiles`]) except in [`dump`], which hands
//! `conf::from_bytes` only inputs that cannot name another file.
//!
//! - [`lexer_parser`]: the tokenizer and the parser never panic, always
//!   make progress, their ranges lie inside the file, in order, without
//!   overlap; without a syntax error the ranges tile the file (only
//!   whitespace between them) and printing the tree gives back the input.
//! - [`dump`]: the `nginx -T` splitter and `conf::from_bytes(bytes, None)`.
//! - [`loader`]: bytes become a small tree of files (see [`virtual_tree`])
//!   with includes, globs and cycles; loading and building the model never
//!   panic, the include graph left is acyclic and every index is valid.
//! - [`model_rules`]: model, every rule, and every report rendering (hops
//!   and check JSON, SARIF, text, the table); the JSON parses back.
//! - [`fix`]: `fix_all` with every rule and given values: it is not
//!   refused, adds no load error, its unified diff applied to the loaded
//!   files gives exactly the fixed files, and fixing the result again
//!   changes nothing; each finding's fix planned alone keeps the
//!   configuration loading as well as before.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hopscope::conf::lexer::{Lexer, TokenKind};
use hopscope::conf::loader::{load_tree, MemFiles, MAX_FILES};
use hopscope::conf::parser::{self, MAX_DEPTH};
use hopscope::conf::{self, dump, Config, LoadedFrom};
use hopscope::fix::{self, engine, Placement, Selection, Values};
use hopscope::model::{Model, Version};
use hopscope::report;
use hopscope::rules;

/// The prefix of every virtual tree.
pub const PREFIX: &str = "/etc/nginx";

/// Separates files in a fuzz input (ASCII record separator).
pub const FILE_SEPARATOR: u8 = 0x1e;

/// Most files one fuzz input is split into.
pub const MAX_VIRTUAL_FILES: usize = 12;

// ---------------------------------------------------------------------------
// lexer_parser
// ---------------------------------------------------------------------------

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The tokenizer alone: progress, bounds and order of every token.
fn lexer(src: &[u8]) {
    let mut lx = Lexer::new(src);
    let mut last_end = 0usize;
    // Every token but EOF spans at least one byte.
    for _ in 0..=src.len() + 1 {
        let before = lx.position();
        let t = match lx.next_token() {
            Ok(t) => t,
            Err(e) => {
                assert!(
                    e.offset <= src.len(),
                    "lex error offset {} past the end",
                    e.offset
                );
                assert!(!e.message.is_empty());
                return;
            }
        };
        let r = t.range.as_usize();
        assert!(
            r.start <= r.end && r.end <= src.len(),
            "token {r:?} out of bounds"
        );
        assert!(r.start >= last_end, "token {r:?} overlaps the previous one");
        assert!(
            before <= r.start,
            "token {r:?} before the lexer's position {before}"
        );
        assert!(
            src[before..r.start].iter().all(|&b| is_space(b)),
            "non-whitespace skipped before token {r:?}"
        );
        if t.kind == TokenKind::Eof {
            assert_eq!(r.start, src.len(), "EOF before the end");
            return;
        }
        assert!(r.end > r.start, "empty token {:?} at {}", t.kind, r.start);
        last_end = r.end;
    }
    panic!("the lexer made no progress");
}

/// Tokenizer and parser: see the module documentation.
pub fn lexer_parser(src: &[u8]) {
    lexer(src);
    let ast = parser::parse(src);
    let ranges = parser::token_ranges(&ast);
    // A UTF-8 byte order mark at the start is whitespace to the lexer.
    let mut at = if src.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    for r in &ranges {
        let (s, e) = (r.start as usize, r.end as usize);
        assert!(s <= e && e <= src.len(), "range {s}..{e} out of bounds");
        assert!(
            s >= at,
            "range {s}..{e} overlaps the previous one (ends at {at})"
        );
        if ast.error.is_none() {
            let gap = &src[at..s];
            assert!(
                gap.iter().all(|&b| is_space(b)),
                "non-whitespace {:?} between tokens at {at}..{s}",
                String::from_utf8_lossy(gap)
            );
        }
        at = e;
    }
    if ast.error.is_none() {
        assert!(
            src[at..].iter().all(|&b| is_space(b)),
            "non-whitespace after the last token"
        );
    }
    assert_eq!(
        parser::reprint(&ast, src),
        src,
        "reprint differs from the input"
    );
    if let Some(e) = &ast.error {
        assert!(e.offset as usize <= src.len(), "error offset past the end");
        assert!(!e.message.is_empty());
    }

    // The tree: parents, children, ranges.
    assert!(ast.nodes.len() <= src.len(), "more directives than bytes");
    for (i, d) in ast.nodes.iter().enumerate() {
        let i = i as u32;
        let r = d.range.as_usize();
        assert!(r.start <= r.end && r.end <= src.len());
        assert_eq!(
            d.name.range.start, d.range.start,
            "a directive starts at its name"
        );
        let mut prev = d.name.range.end;
        for a in &d.args {
            assert!(a.range.start >= prev && a.range.end <= d.range.end);
            prev = a.range.end;
        }
        match &d.block {
            None => assert_eq!(src[r.end - 1], b';', "a simple directive ends with ;"),
            Some(b) => {
                assert_eq!(src[b.open as usize], b'{');
                if b.closed {
                    assert_eq!(src[b.close as usize], b'}');
                    assert_eq!(d.range.end, b.close + 1);
                }
                for &c in &b.children {
                    assert_eq!(ast.node(c).parent, Some(i), "child {c} of {i}");
                    assert!(c > i);
                }
                assert!(!b.opaque || b.children.is_empty());
            }
        }
        let mut depth = 0;
        let mut p = d.parent;
        while let Some(id) = p {
            depth += 1;
            assert!(depth <= MAX_DEPTH, "nesting deeper than MAX_DEPTH");
            p = ast.node(id).parent;
        }
    }
    for &r in &ast.roots {
        assert_eq!(ast.node(r).parent, None);
    }
    // Line and column of every position the loader and the reports use.
    let f = conf::SourceFile::new("f".into(), "/f".into(), false, src.to_vec());
    if let Some(e) = &ast.error {
        let _ = f.line_col(e.offset);
    }
    for d in &ast.nodes {
        let (line, _) = f.line_col(d.range.start);
        let _ = f.line_text(line);
    }
}

// ---------------------------------------------------------------------------
// dump
// ---------------------------------------------------------------------------

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// The `nginx -T` splitter and `conf::from_bytes(bytes, None)`.
pub fn dump(data: &[u8]) {
    let is = dump::is_dump(data);
    let files = dump::split(data).files;
    for (i, (name, body)) in files.iter().enumerate() {
        assert!(!name.is_empty(), "a dumped file without a name");
        assert!(
            files[..i].iter().all(|(n, _)| n != name),
            "file {name:?} listed twice"
        );
        assert!(
            body.is_empty() || contains(data, body),
            "the body of {name:?} is not a piece of the input"
        );
    }
    if is {
        assert!(!files.is_empty(), "a dump with no file");
    }
    if let Some(msg) = dump::failed_test(data) {
        assert!(msg.contains("[emerg]"));
    }
    for line in data.split(|&b| b == b'\n') {
        let _ = dump::is_nginx_message(line);
    }
    // A plain configuration goes to the real file system: only when it
    // cannot name another file (an `include` needs these bytes in a row).
    if !is && contains(data, b"include") {
        return;
    }
    match conf::from_bytes(data.to_vec(), None) {
        Ok(cfg) => {
            assert!(!cfg.files.is_empty());
            if is {
                assert_eq!(cfg.loaded_from, LoadedFrom::Dump);
            }
            config_invariants(&cfg);
            let model = Model::build(cfg, Version::NEWEST_STABLE);
            for e in model.errors() {
                let _ = e.to_string();
            }
        }
        Err(e) => {
            assert!(!is, "a dump was refused: {e}");
            assert!(!e.message.is_empty());
        }
    }
}

// ---------------------------------------------------------------------------
// loader
// ---------------------------------------------------------------------------

/// Splits fuzz bytes into a tree of at most [`MAX_VIRTUAL_FILES`] files
/// under [`PREFIX`]: files are separated by [`FILE_SEPARATOR`]; a file
/// whose first byte is `@` takes the rest of its first line as its path
/// (relative to the prefix unless absolute), others are named
/// `nginx.conf`, `f1.conf`, `conf.d/f2.conf`, `conf.d/f3.conf`, … The
/// first file is the main file.
pub fn virtual_tree(data: &[u8]) -> (Vec<(PathBuf, Vec<u8>)>, PathBuf) {
    let prefix = Path::new(PREFIX);
    let mut files = Vec::new();
    for (i, chunk) in data
        .splitn(MAX_VIRTUAL_FILES, |&b| b == FILE_SEPARATOR)
        .enumerate()
    {
        let (name, body) = match chunk.strip_prefix(b"@") {
            Some(rest) => {
                let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let name = String::from_utf8_lossy(&rest[..end]).into_owned();
                (name, &rest[(end + 1).min(rest.len())..])
            }
            None => (
                match i {
                    0 => "nginx.conf".to_string(),
                    1 => "f1.conf".to_string(),
                    i if i % 3 == 0 => format!("snippets/f{i}"),
                    i => format!("conf.d/f{i}.conf"),
                },
                chunk,
            ),
        };
        files.push((prefix.join(name), body.to_vec()));
    }
    let main = files[0].0.clone();
    (files, main)
}

/// Loads [`virtual_tree`]`(data)` from memory.
pub fn load_virtual(data: &[u8], origin: LoadedFrom) -> Config {
    let (files, main) = virtual_tree(data);
    load_tree(&MemFiles::new(files), &main, origin)
}

/// What every loaded configuration must satisfy.
pub fn config_invariants(cfg: &Config) {
    let n = cfg.files.len();
    assert!((1..=MAX_FILES + 1).contains(&n), "{n} files");
    assert_eq!(cfg.asts.len(), n);
    for (&(f, node), targets) in &cfg.includes {
        assert!((f.0 as usize) < n);
        assert_eq!(cfg.ast(f).node(node).name(), "include");
        for t in targets {
            assert!((t.0 as usize) < n, "include target {t:?} of {n} files");
        }
    }
    for e in &cfg.errors {
        assert!(!e.message.is_empty());
        let _ = e.to_string();
    }
    // The include graph left after cycle breaking is acyclic (iterative
    // three-colour depth-first search from every file).
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (&(f, _), targets) in &cfg.includes {
        edges[f.0 as usize].extend(targets.iter().map(|t| t.0 as usize));
    }
    let mut mark = vec![0u8; n];
    for start in 0..n {
        if mark[start] != 0 {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        mark[start] = 1;
        while let Some(&mut (v, ref mut i)) = stack.last_mut() {
            match edges[v].get(*i) {
                Some(&w) => {
                    *i += 1;
                    match mark[w] {
                        0 => {
                            mark[w] = 1;
                            stack.push((w, 0));
                        }
                        1 => panic!(
                            "include cycle left in the graph: {} -> {}",
                            cfg.files[v].name, cfg.files[w].name
                        ),
                        _ => {}
                    }
                }
                None => {
                    mark[v] = 2;
                    stack.pop();
                }
            }
        }
    }
}

fn model_invariants(model: &Model) {
    let tree = &model.tree;
    for (i, c) in tree.ctxs().enumerate() {
        if let Some(p) = c.parent {
            assert!((p as usize) < i, "a context's parent comes first");
        }
        assert_eq!(c.directives().len(), c.order().len());
        let depth = tree.ancestors(i as u32).count();
        assert!(
            depth <= hopscope::model::tree::MAX_DEPTH + 1,
            "context depth {depth}"
        );
    }
    let mut ids = std::collections::HashSet::new();
    for (i, h) in model.hops.iter().enumerate() {
        let _ = model.dir(h.pass);
        assert!((h.ctx as usize) < tree.ctx_count());
        assert!(h.upstream.map_or(true, |u| u < model.upstreams.len()));
        assert!(!h.id.is_empty(), "hop {i} has no id");
        assert!(ids.insert(h.id.as_str()), "two hops with id {}", h.id);
        // The include chain leads from the main file to the pass: each
        // include is in the file the one before pulled in.
        let files: Vec<_> = h.via.iter().map(|d| d.file).chain([h.pass.file]).collect();
        assert_eq!(files[0], hopscope::conf::Config::MAIN, "hop {}", h.id);
        for (k, &inc) in h.via.iter().enumerate() {
            assert_eq!(model.dir(inc).name(), "include", "hop {}", h.id);
            assert!(
                model
                    .config
                    .included(inc.file, inc.node)
                    .contains(&files[k + 1]),
                "hop {}: its include chain is broken at step {k}",
                h.id
            );
        }
    }
    for e in model.errors() {
        let _ = e.to_string();
    }
}

/// The include loader over a virtual tree, and the model built on it.
pub fn loader(data: &[u8]) {
    let origin = if data.len() % 2 == 0 {
        LoadedFrom::Demo
    } else {
        LoadedFrom::Dump
    };
    let cfg = load_virtual(data, origin);
    config_invariants(&cfg);
    let model = Model::build(cfg, Version::NEWEST_STABLE);
    model_invariants(&model);
}

// ---------------------------------------------------------------------------
// model_rules
// ---------------------------------------------------------------------------

const VERSIONS: [Version; 4] = [
    Version::OLDEST,
    Version(1, 21, 0),
    Version::NEWEST_STABLE,
    Version::NEWEST,
];

fn json_of(bytes: &[u8], what: &str) -> serde_json::Value {
    assert!(bytes.ends_with(b"\n"), "{what}: no final newline");
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what} is not JSON: {e}"))
}

/// Model, rules and every report.
pub fn model_rules(data: &[u8]) {
    let cfg = load_virtual(data, LoadedFrom::Demo);
    let version = VERSIONS[data.len() % VERSIONS.len()];
    let model = Model::build(cfg, version);
    model_invariants(&model);
    let findings = rules::check(&model);
    for f in &findings {
        assert!(f.hop.map_or(true, |h| h < model.hops.len()));
        let _ = model.dir(f.dir);
        for r in &f.related {
            let _ = model.dir(r.dir);
        }
        let _ = fix::needs(&model, f);
        let _ = report::findings::edits(&model, f);
    }
    let errors = model.errors().count();

    let mut out = Vec::new();
    report::hops::write_document(&model, &findings, &mut out).expect("write hops document");
    let doc = json_of(&out, "hops --json");
    assert_eq!(doc["hops"].as_array().map(Vec::len), Some(model.hops.len()));
    assert_eq!(doc["errors"].as_array().map(Vec::len), Some(errors));

    out.clear();
    report::findings::write_check_document(&model, &findings, &mut out)
        .expect("write check document");
    let doc = json_of(&out, "check --format json");
    assert_eq!(
        doc["findings"].as_array().map(Vec::len),
        Some(findings.len())
    );

    let sarif = report::sarif::to_json(&model, rules::registry(), &findings, None);
    assert!(!sarif.is_null(), "SARIF did not serialize");
    let _ = sarif.to_string();

    let _ = report::text::render(&model, &findings, report::text::Paint::new(false));
    let _ = report::text::render(&model, &findings, report::text::Paint::new(true));
    let _ = report::text::summary(&model, &findings, report::text::Paint::new(false));
    let by_hop = hopscope::diagnostic::by_hop(&model, &findings);
    let _ = report::hops::table(&model, |i, _| {
        by_hop
            .get(i)
            .into_iter()
            .flatten()
            .map(|&k| &findings[k])
            .map(|f| (f.rule.to_string(), f.message.clone()))
            .collect()
    });
}

// ---------------------------------------------------------------------------
// fix
// ---------------------------------------------------------------------------

/// FNV-1a: picks the selection from the input, deterministically.
fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The selection and values a fuzz input is fixed with.
pub fn selection(data: &[u8]) -> (Selection, Values) {
    let h = hash(data);
    let sel = Selection {
        // Naming every rule lets fixes use their proposals.
        rules: if h & 1 == 0 {
            rules::registry().iter().map(|r| r.id.to_string()).collect()
        } else {
            Vec::new()
        },
        hops: Vec::new(),
        safe_only: h & 2 != 0 && h & 4 != 0,
        placement: if h & 8 == 0 {
            Placement::Hop
        } else {
            Placement::Defining
        },
    };
    let mut values = Values::default();
    if h & 16 == 0 {
        values.insert("sni-name", "api.example.com");
        values.insert("ca-file", "/etc/ssl/certs/ca bundle.pem");
        values.insert("client-cert", "certs/client.crt");
        values.insert("client-key", "certs/client.key");
    }
    (sel, values)
}

/// Applies a unified diff made by `fix::diff::unified_bytes` to `files`
/// (diff path → bytes), as `patch -p1` would; checks every context and
/// removed line. Returns the paths in the order the diff names them.
pub fn apply_unified(
    diff: &[u8],
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<Vec<String>, String> {
    let lines: Vec<&[u8]> = diff.split_inclusive(|&b| b == b'\n').collect();
    let mut order = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let head = lines[i];
        let path = head
            .strip_prefix(b"diff --git a/")
            .and_then(|r| r.strip_suffix(b"\n"))
            .and_then(|r| {
                let s = std::str::from_utf8(r).ok()?;
                let half = s.len().checked_sub(3)? / 2;
                let (a, b) = (s.get(..half)?, s.get(half..)?);
                (b.strip_prefix(" b/")? == a).then(|| a.to_string())
            })
            .ok_or_else(|| format!("line {}: not a diff header", i + 1))?;
        i += 1;
        let old = files
            .get(&path)
            .ok_or_else(|| format!("{path}: no such file"))?
            .clone();
        let old_lines: Vec<&[u8]> = old.split_inclusive(|&b| b == b'\n').collect();
        if lines.get(i) != Some(&format!("--- a/{path}\n").as_bytes()) {
            return Err(format!("{path}: no --- line"));
        }
        if lines.get(i + 1) != Some(&format!("+++ b/{path}\n").as_bytes()) {
            return Err(format!("{path}: no +++ line"));
        }
        i += 2;
        let mut new: Vec<u8> = Vec::new();
        let mut copied = 0usize; // old lines consumed
        while let Some(h) = lines.get(i).and_then(|l| l.strip_prefix(b"@@ -")) {
            let h = std::str::from_utf8(h).map_err(|_| "hunk header not UTF-8")?;
            let (o, rest) = h.split_once(" +").ok_or("bad hunk header")?;
            let (n, _) = rest.split_once(" @@").ok_or("bad hunk header")?;
            let span = |s: &str| -> Result<(usize, usize), String> {
                let (a, b) = s.split_once(',').unwrap_or((s, "1"));
                Ok((
                    a.parse().map_err(|_| format!("bad number {a}"))?,
                    b.parse().map_err(|_| format!("bad number {b}"))?,
                ))
            };
            let ((os, ol), (_, nl)) = (span(o)?, span(n)?);
            let start = if ol == 0 { os } else { os - 1 };
            if start < copied || start > old_lines.len() {
                return Err(format!("{path}: hunk at {os} out of order"));
            }
            for l in &old_lines[copied..start] {
                new.extend_from_slice(l);
            }
            copied = start;
            i += 1;
            let (mut seen_old, mut seen_new) = (0, 0);
            while seen_old < ol || seen_new < nl {
                let l = lines.get(i).ok_or("hunk cut short")?;
                i += 1;
                let mut body = l[1..].to_vec();
                if lines
                    .get(i)
                    .is_some_and(|n| n.starts_with(b"\\ No newline at end of file"))
                {
                    i += 1;
                    body.pop();
                }
                match l[0] {
                    b' ' | b'-' => {
                        if old_lines.get(copied) != Some(&body.as_slice()) {
                            return Err(format!(
                                "{path}: line {} does not match the diff",
                                copied + 1
                            ));
                        }
                        copied += 1;
                        seen_old += 1;
                        if l[0] == b' ' {
                            new.extend_from_slice(&body);
                            seen_new += 1;
                        }
                    }
                    b'+' => {
                        new.extend_from_slice(&body);
                        seen_new += 1;
                    }
                    t => return Err(format!("{path}: bad line tag {t:?}")),
                }
            }
        }
        for l in &old_lines[copied..] {
            new.extend_from_slice(l);
        }
        files.insert(path.clone(), new);
        order.push(path);
    }
    Ok(order)
}

fn error_set(model: &Model) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = model
        .errors()
        .map(|e| (e.file.clone(), e.message.clone()))
        .collect();
    v.sort();
    v
}

/// Errors in `after` that `before` does not have (as a multiset of file
/// and message: inserted lines move line numbers).
fn new_errors(before: &Model, after: &Model) -> Vec<(String, String)> {
    let mut old = error_set(before);
    let mut out = Vec::new();
    for e in error_set(after) {
        match old.iter().position(|o| *o == e) {
            Some(i) => {
                old.remove(i);
            }
            None => out.push(e),
        }
    }
    out
}

/// The fix engine: see the module documentation.
pub fn fix(data: &[u8]) {
    let cfg = load_virtual(data, LoadedFrom::Demo);
    let model = Model::build(cfg, Version::NEWEST_STABLE);
    let (sel, values) = selection(data);

    // Each finding's fix planned alone (the TUI's flow).
    let findings = rules::check(&model);
    for (i, f) in findings.iter().enumerate().take(8) {
        if f.fix.is_none() || f.hop.is_none() {
            continue;
        }
        if let Ok(edits) = engine::plan_selection(&model, &findings, &[(i, sel.placement)], &values)
        {
            let texts = engine::apply_edits(&model, &edits);
            let after = engine::reanalyze(&model, &texts);
            let new = new_errors(&model, &after);
            assert!(
                new.is_empty(),
                "the fix of {} for {} alone adds errors: {new:?}",
                f.rule,
                f.hop.map_or(String::new(), |h| model.hops[h].id.clone())
            );
        }
    }

    let outcome = match fix::fix_all(&model, &sel, &values) {
        Ok(o) => o,
        Err(e) => panic!("fix_all refused: {e}"),
    };
    let new = new_errors(&model, &outcome.after);
    assert!(new.is_empty(), "fixing adds errors: {new:?}");
    for (id, text) in &outcome.changed {
        assert_ne!(
            *text,
            model.config.file(*id).text,
            "a changed file is unchanged"
        );
    }

    // The diff applies to the loaded files and gives exactly the fixed ones.
    // A name that leads out of the tree gets no diff (its header would make
    // patch write outside it).
    let diff = match fix::diff::unified_bytes(&model, &outcome.changed) {
        Ok(d) => d,
        Err(e) => {
            assert!(e.to_string().starts_with("cannot make a diff of"), "{e}");
            return;
        }
    };
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for f in &model.config.files {
        if let Ok(p) = fix::diff::diff_path(&model, f) {
            files.insert(p, f.text.clone());
        }
    }
    let touched = apply_unified(&diff, &mut files).unwrap_or_else(|e| {
        panic!(
            "the diff does not apply: {e}\n{}",
            String::from_utf8_lossy(&diff)
        )
    });
    assert_eq!(touched.len(), outcome.changed.len());
    for (id, text) in &outcome.changed {
        let f = model.config.file(*id);
        let path = fix::diff::diff_path(&model, f).expect("the diff was made");
        assert!(
            files.get(&path) == Some(text),
            "the diff of {path} does not give the fixed file"
        );
    }

    // Fixing the fixed configuration again changes nothing.
    let again = match fix::fix_all(&outcome.after, &sel, &values) {
        Ok(o) => o,
        Err(e) => panic!("second fix_all refused: {e}"),
    };
    if !again.changed.is_empty() {
        let d =
            fix::diff::unified(&outcome.after, &again.changed).unwrap_or_else(|e| e.to_string());
        panic!("fixing twice changes more:\n{d}");
    }
}
