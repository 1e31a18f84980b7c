//! The directive index: per block, the directives the model looks up, by
//! name id, so that the merge (`inherit`) and the hop builder find a
//! directive in a block without comparing names.

use rustc_hash::FxHashMap;

use super::directives::{self, Module, Spec};
use super::tree::{CtxId, DirRef, Tree};
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
pub(super) type Index = Vec<Vec<(u16, DirRef)>>;

/// Directives looked up besides the `*_ssl_*` table.
const EXTRA_NAMES: &[&str] = &[
    "proxy_set_header",
    "grpc_set_header",
    "server_name",
    "listen",
    "ssl",
    "js_var",
];

/// The name ids, and each block's indexed directives.
pub(super) fn build(config: &Config, tree: &Tree) -> (Index, NameIds) {
    let mut names = directives::all_names();
    names.extend(EXTRA_NAMES.iter().map(|s| s.to_string()));
    let name_ids: NameIds = names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n, i as u16))
        .collect();
    let index: Index = tree
        .ctxs
        .iter()
        .map(|c| {
            c.directives
                .iter()
                .filter_map(|&r| {
                    let d = config.ast(r.file).node(r.node);
                    name_ids.get(d.name()).map(|&id| (id, r))
                })
                .collect()
        })
        .collect();
    (index, name_ids)
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

impl Model {
    /// Lines of a named directive written directly in a block.
    pub fn lines_in(&self, ctx: CtxId, name: &str) -> Vec<DirRef> {
        match self.name_ids.get(name) {
            Some(&id) => self.lines_with_id(ctx, id),
            None => self
                .tree
                .ctx(ctx)
                .directives
                .iter()
                .copied()
                .filter(|&r| self.dir(r).name() == name)
                .collect(),
        }
    }

    pub(super) fn lines_with_id(&self, ctx: CtxId, id: u16) -> Vec<DirRef> {
        self.index[ctx as usize]
            .iter()
            .filter(|(n, _)| *n == id)
            .map(|&(_, r)| r)
            .collect()
    }

    /// The specs of a module in this version, with names and name ids.
    pub(super) fn specs_of(&self, module: Module) -> &[SpecName] {
        self.spec_names
            .iter()
            .find(|(m, _)| *m == module)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}
