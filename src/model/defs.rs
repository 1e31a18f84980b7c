//! What the configuration declares about variables, read once per
//! model: `map` and `geo` blocks (their entries, following `include`),
//! the names some `set` assigns; and what `$scheme` is for a server, from
//! its `listen` lines.

use std::collections::{HashMap, HashSet};

use super::tree::{CtxId, Kind};
use super::version::Version;
use super::Model;

/// What the configuration declares about variables, gathered once:
/// `map`/`geo` blocks, `js_var` lines, and which names some `set` assigns.
#[derive(Clone, Debug, Default)]
pub struct Defs {
    /// Lower-cased variable → its map (or geo) entries.
    pub(super) maps: HashMap<String, MapDef>,
    /// Lower-cased names some `set` assigns anywhere.
    set_anywhere: HashSet<String>,
    /// Every http socket some server declares with `ssl`.
    tls_sockets: HashSet<String>,
}

#[derive(Clone, Debug)]
pub(super) struct MapDef {
    /// The source as written (`$host`; `$remote_addr` for geo).
    pub source: String,
    /// (key as written, value) for every entry, `default` last.
    pub entries: Vec<(String, String)>,
    /// An `include` inside the block could not be read.
    pub open: bool,
    /// A `geo` block (keys are addresses).
    pub geo: bool,
}

impl Defs {
    /// Whether some `set` anywhere assigns this variable.
    pub fn sets(&self, var: &str) -> bool {
        self.set_anywhere.contains(&var.to_ascii_lowercase())
    }

    pub(super) fn collect(model: &Model) -> Defs {
        let mut defs = Defs::default();
        for (fi, ast) in model.config.asts.iter().enumerate() {
            for (id, d) in ast.nodes.iter().enumerate() {
                match d.name() {
                    "set" => {
                        if let Some(v) = d.arg(0).and_then(|a| a.strip_prefix('$')) {
                            // Thousands of locations set the same few
                            // variables: a name already known costs no copy.
                            if v.bytes().any(|b| b.is_ascii_uppercase()) {
                                defs.set_anywhere.insert(v.to_ascii_lowercase());
                            } else if !defs.set_anywhere.contains(v) {
                                defs.set_anywhere.insert(v.to_string());
                            }
                        }
                    }
                    "map" | "geo" if d.block.is_some() => {
                        let geo = d.name() == "geo";
                        let (source, var) = match (geo, d.args.len()) {
                            (true, 1) => ("$remote_addr", d.arg(0)),
                            _ => (d.arg(0).unwrap_or_default(), d.arg(1)),
                        };
                        let Some(var) = var.and_then(|v| v.strip_prefix('$')) else {
                            continue;
                        };
                        let file = crate::conf::FileId(fi as u32);
                        let mut def = MapDef {
                            source: source.to_string(),
                            entries: Vec::new(),
                            open: false,
                            geo,
                        };
                        map_entries(model, file, ast.children(id as u32), &mut def, 0);
                        if !def.entries.iter().any(|(k, _)| k == "default") {
                            def.entries.push(("default".into(), String::new()));
                        }
                        defs.maps.entry(var.to_ascii_lowercase()).or_insert(def);
                    }
                    _ => {}
                }
            }
        }
        defs.tls_sockets = model.tls_sockets();
        defs
    }
}

/// The entries of a map or geo block, following `include` lines.
fn map_entries(
    model: &Model,
    file: crate::conf::FileId,
    nodes: &[crate::conf::NodeId],
    def: &mut MapDef,
    depth: u8,
) {
    let ast = model.config.ast(file);
    for &n in nodes {
        let e = ast.node(n);
        match (e.name(), e.arg(0)) {
            ("include", _) => {
                let files = model.config.included(file, n);
                if files.is_empty() || depth > 4 {
                    def.open = true;
                }
                for &inc in files {
                    let roots = &model.config.ast(inc).roots;
                    map_entries(model, inc, roots, def, depth + 1);
                }
            }
            ("hostnames" | "volatile" | "ranges", None) => {}
            ("delete" | "proxy" | "proxy_recursive", _) if def.geo => {}
            (key, Some(value)) => def.entries.push((key.to_string(), value.to_string())),
            _ => {}
        }
    }
}

/// Whether a `listen` line's parameters make its socket TLS.
fn listen_tls(args: &str) -> bool {
    args.split_whitespace()
        .skip(1)
        .any(|p| p == "ssl" || p == "quic")
}

/// The address of a `listen` line, as nginx groups sockets (`443`,
/// `*:443` and `0.0.0.0:443` are one socket).
fn listen_addr(args: &str) -> String {
    let a = args
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if a.bytes().all(|b| b.is_ascii_digit()) {
        return format!("*:{a}");
    }
    match a.strip_prefix("0.0.0.0:") {
        Some(port) => format!("*:{port}"),
        None => a,
    }
}

/// What `$scheme` is for requests to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemeOf {
    Https,
    Http,
    Either,
}

/// The texts used for the two halves of `$scheme`.
pub const OVER_TLS: &str = "the request arrived over TLS ($scheme)";
pub const OVER_PLAIN: &str = "the request arrived over plain HTTP ($scheme)";

impl Model {
    /// `$scheme` for requests to `server`: every `listen` socket TLS (the
    /// `ssl` parameter on any server of that address counts, as nginx
    /// merges it per socket; `ssl on` before 1.25.1), none, or some.
    pub(super) fn scheme_of(&self, server: Option<CtxId>) -> SchemeOf {
        let Some(server) = server else {
            return SchemeOf::Either;
        };
        let ssl_on = self.version < Version(1, 25, 1)
            && self
                .effective(server, "ssl")
                .is_some_and(|(_, l)| self.dir(l[0]).arg(0) == Some("on"));
        if ssl_on {
            return SchemeOf::Https;
        }
        let listens = self.lines_in(server, "listen");
        if listens.is_empty() {
            return SchemeOf::Http; // nginx listens on *:80 (or 8000)
        }
        let (mut tls, mut plain) = (0, 0);
        for l in listens {
            let args = self.dir(l).args_joined();
            if listen_tls(&args) {
                tls += 1;
                continue;
            }
            // A socket another server declares `ssl` is TLS here too.
            if self.defs.tls_sockets.contains(&listen_addr(&args)) {
                tls += 1;
            } else {
                plain += 1;
            }
        }
        match (tls, plain) {
            (_, 0) => SchemeOf::Https,
            (0, _) => SchemeOf::Http,
            _ => SchemeOf::Either,
        }
    }

    /// Every http socket some server declares with `ssl`.
    fn tls_sockets(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        for (i, c) in self.tree.ctxs().enumerate() {
            if c.kind != Kind::Server {
                continue;
            }
            for l in self.lines_in(i as CtxId, "listen") {
                let args = self.dir(l).args_joined();
                if listen_tls(&args) {
                    out.insert(listen_addr(&args));
                }
            }
        }
        out
    }
}
