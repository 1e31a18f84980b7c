//! The directive index: per block, the directives the model looks up, by
//! name id, so that the merge (`inherit`) and the hop builder find a
//! directive in a block without comparing names.

use rustc_hash::{FxHashMap, FxHashSet};

use super::directives::{self, Module, Spec};
use super::sni::strip_port;
use super::tree::{CtxId, DirRef, Kind, Tree};
use super::version::Version;
use super::Model;
use crate::conf::Config;

/// A `*_ssl_*` directive of one module: its spec, full name and name id.
pub(super) type SpecName = (&'static Spec, &'static str, u16);

/// Name id of each indexed directive name. FxHash (as in rustc): every
/// directive of the configuration is looked up here once, and the keys
/// are the fixed table of names, so hostile input cannot make it degrade.
pub(super) type NameIds = FxHashMap<String, u16>;

/// Per context: the indexed directives written there, with their name ids.
pub(super) type Index = PerCtx<(u16, DirRef)>;

/// Per context: its rewrite directives (`set`, `if`, `break`, `return`,
/// `rewrite`) in order, so that evaluating a pass's variables reads only
/// these, not every `location` of a server with thousands.
pub(super) type Rewrites = PerCtx<DirRef>;

/// A list per context, the lists kept end to end in one array: one
/// allocation for the whole configuration rather than one per block (a
/// server can have hundreds of thousands of locations).
pub(super) struct PerCtx<T> {
    /// Where each context's list starts in `items`; one more entry than
    /// there are contexts, the last where the final list ends.
    /// (The tree has fewer than `u32::MAX` directives: see `MAX_VISITS`.)
    starts: Vec<u32>,
    items: Vec<T>,
}

impl<T> PerCtx<T> {
    /// Empty, with room for the starts of `lists` lists.
    fn with_lists(lists: usize) -> PerCtx<T> {
        let mut starts = Vec::with_capacity(lists + 1);
        starts.push(0);
        PerCtx {
            starts,
            items: Vec::new(),
        }
    }

    /// Ends the list being filled (the items pushed since the last end).
    fn end_list(&mut self) {
        self.starts.push(self.items.len() as u32);
    }

    /// The list of a context (empty for one the tree does not have).
    pub(super) fn get(&self, ctx: usize) -> &[T] {
        match (self.starts.get(ctx), self.starts.get(ctx.wrapping_add(1))) {
            (Some(&a), Some(&b)) => self.items.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Each context's list, in context order.
    fn lists(&self) -> impl Iterator<Item = &[T]> {
        (0..self.starts.len().saturating_sub(1)).map(|c| self.get(c))
    }
}

/// Names of the rewrite directives [`Rewrites`] keeps.
const REWRITE_NAMES: &[&str] = &["set", "if", "break", "return", "rewrite"];

/// Directives looked up besides the `*_ssl_*` table.
const EXTRA_NAMES: &[&str] = &[
    "proxy_set_header",
    "grpc_set_header",
    "server_name",
    "listen",
    "ssl",
    "js_var",
];

/// The name ids, each block's indexed directives, and each block's
/// rewrite directives in the order they are written: one pass over the
/// directives for both lists.
pub(super) fn build(config: &Config, tree: &Tree) -> (Index, NameIds, Rewrites) {
    let mut names = directives::all_names();
    names.extend(EXTRA_NAMES.iter().map(|s| s.to_string()));
    let name_ids: NameIds = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, i as u16))
        .collect();
    let mut index = PerCtx::with_lists(tree.ctx_count());
    let mut rewrites = PerCtx::with_lists(tree.ctx_count());
    for c in tree.ctxs() {
        for &r in c.directives() {
            let name = config.ast(r.file).node(r.node).name();
            if let Some(&id) = name_ids.get(name) {
                index.items.push((id, r));
            }
            if REWRITE_NAMES.contains(&name) {
                rewrites.items.push(r);
            }
        }
        index.end_list();
        rewrites.end_list();
    }
    index.items.shrink_to_fit();
    rewrites.items.shrink_to_fit();
    (index, name_ids, rewrites)
}

/// The hosts (port stripped) that some `listen` of an http or stream
/// `server` binds, `unix:` sockets left out: one set for the whole
/// configuration, so that asking about a hop's address does not scan every
/// server again.
pub(super) fn listen_hosts(config: &Config, tree: &Tree) -> FxHashSet<String> {
    tree.ctxs()
        .filter(|c| matches!(c.kind, Kind::Server | Kind::StreamServer))
        .flat_map(|c| c.directives().iter())
        .filter_map(|&r| {
            let d = config.ast(r.file).node(r.node);
            if d.name() != "listen" {
                return None;
            }
            let addr = d.arg(0)?;
            if addr.starts_with("unix:") {
                return None;
            }
            let host = strip_port(addr);
            (!host.is_empty()).then(|| host.to_string())
        })
        .collect()
}

/// Per module, the `*_ssl_*` directives of this version: spec, full name
/// and name id (made once, not per hop).
pub(super) fn spec_names(name_ids: &NameIds, version: Version) -> Vec<(Module, Vec<SpecName>)> {
    Module::ALL
        .iter()
        .map(|&m| {
            let specs = directives::specs(m, version)
                .map(|spec| {
                    let name = spec.name(m);
                    // Every spec name is indexed (`directives::all_names`).
                    let id = name_ids[name];
                    (spec, name, id)
                })
                .collect();
            (m, specs)
        })
        .collect()
}

/// Per context: one bit per module (in [`Module::ALL`] order) whose
/// `*_ssl_*` directives (of this version) the block writes, so that the
/// blocks whose settings reach a hop are found without reading them.
pub(super) fn ssl_masks(index: &Index, spec_names: &[(Module, Vec<SpecName>)]) -> Vec<u8> {
    let mut bit_of: FxHashMap<u16, u8> = FxHashMap::default();
    for (m, specs) in spec_names {
        for &(_, _, id) in specs {
            *bit_of.entry(id).or_default() |= m.bit();
        }
    }
    index
        .lists()
        .map(|dirs| {
            dirs.iter()
                .fold(0, |acc, (id, _)| acc | bit_of.get(id).copied().unwrap_or(0))
        })
        .collect()
}

impl Model {
    /// Whether a block writes some `*_ssl_*` directive of a module.
    pub(super) fn sets_ssl_of(&self, ctx: CtxId, module: Module) -> bool {
        self.ssl_masks
            .get(ctx as usize)
            .is_some_and(|m| m & module.bit() != 0)
    }

    /// Lines of a named directive written directly in a block.
    pub fn lines_in(&self, ctx: CtxId, name: &str) -> Vec<DirRef> {
        match self.name_ids.get(name) {
            Some(&id) => self.lines_with_id(ctx, id),
            None => self
                .tree
                .ctx(ctx)
                .directives()
                .iter()
                .copied()
                .filter(|&r| self.dir(r).name() == name)
                .collect(),
        }
    }

    pub(super) fn lines_with_id(&self, ctx: CtxId, id: u16) -> Vec<DirRef> {
        self.lines_iter(ctx, id).collect()
    }

    /// [`Model::lines_with_id`], without making a list.
    pub(super) fn lines_iter(&self, ctx: CtxId, id: u16) -> impl Iterator<Item = DirRef> + '_ {
        self.index
            .get(ctx as usize)
            .iter()
            .filter(move |(n, _)| *n == id)
            .map(|&(_, r)| r)
    }

    /// Whether some `listen` of an http or stream `server` binds `host`
    /// (compared as written, port stripped).
    pub fn listens_on(&self, host: &str) -> bool {
        self.listen_hosts.contains(host)
    }

    /// The rewrite directives written directly in a block, in order.
    pub(super) fn rewrites_in(&self, ctx: CtxId) -> &[DirRef] {
        self.rewrites.get(ctx as usize)
    }

    /// The specs of a module in this version, with names and name ids.
    pub(super) fn specs_of(&self, module: Module) -> &[SpecName] {
        self.spec_names
            .iter()
            .find(|(m, _)| *m == module)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tree::Kind;
    use crate::test_support::model;

    #[test]
    fn rewrites_keep_only_rewrite_directives_in_order() {
        let m = model(&[(
            "nginx.conf",
            "events {}\nhttp { server {\n set $a 1;\n location /x { proxy_pass http://b; }\n \
             if ($a) { return 404; }\n rewrite ^ /y last;\n location /y {}\n break;\n \
             return 200;\n} }\n",
        )]);
        let server = (0..m.tree.ctx_count())
            .find(|&i| m.tree.ctx(i as u32).kind == Kind::Server)
            .expect("a server") as u32;
        let names: Vec<&str> = m
            .rewrites_in(server)
            .iter()
            .map(|&r| m.dir(r).name())
            .collect();
        // The two `location` blocks are not there: a pass's variables are
        // evaluated without reading them.
        assert_eq!(names, ["set", "if", "rewrite", "break", "return"]);
        assert!(m.rewrites_in(u32::MAX).is_empty());
    }

    #[test]
    fn listen_hosts_are_the_addresses_of_server_listens() {
        let m = model(&[(
            "nginx.conf",
            "events {}\nhttp {\n server { listen 10.0.0.7:8443 ssl; listen [::1]:443; listen 80; }\n \
             server { listen unix:/run/a.sock; }\n}\nstream { server { listen 192.0.2.1:5000; } }\n",
        )]);
        for host in ["10.0.0.7", "[::1]", "192.0.2.1"] {
            assert!(m.listens_on(host), "{host}");
        }
        for host in ["10.0.0.8", "unix", "/run/a.sock", ""] {
            assert!(!m.listens_on(host), "{host}");
        }
    }
}
