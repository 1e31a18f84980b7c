//! The model: every upstream TLS hop of a configuration, with the effective
//! value of each `*_ssl_*` directive, where that value comes from, and the
//! SNI nginx will send.
//!
//! Where things are:
//! - `tree`: the context tree (http, server, location, if, limit_except,
//!   upstream, stream) with includes spliced in place;
//! - `index`: per block, the directives the model looks up, by name;
//! - `inherit`: nginx's merge rules, the effective value of a directive for
//!   a block and its provenance;
//! - `vars`: `$proxy_host` and `*_ssl_name` values; `eval`: variables
//!   evaluated statically (`set` along the rewrite chain, `map`, `geo`,
//!   `js_var`, `$scheme`);
//! - `variants`: passes whose scheme or address comes from variables;
//! - `upstreams`: `upstream {}` groups and which one a pass names;
//! - `hops`: the pass directives and the hops built from them;
//! - `ident`: hop ids, one per include path of a pass directive;
//! - `chain`: how a hop's values reach it, line by line (blocks,
//!   includes, the lines that set them);
//! - `hop`: the hop and the settings on it;
//! - `sni`: nginx's SNI algorithm, statically; `target`: a pass target;
//! - `directives`: the per-version table of `*_ssl_*` directives;
//! - `version`: nginx versions.

mod chain;
mod defs;
pub mod directives;
mod eval;
mod hop;
mod hops;
mod ident;
mod index;
mod inherit;
pub mod sni;
pub mod target;
pub mod tree;
mod upstreams;
mod variants;
mod vars;
pub mod version;

use std::collections::HashMap;
use std::sync::Arc;

use crate::conf::{Config, Directive, LoadError};
pub use chain::{Link, Step};
pub use directives::{Module, Shape, Spec, SslDirective};
pub use eval::{Alt, Env, Seg};
pub use hop::{Header, Hop, Setting};
pub use hops::PlainPass;
pub use inherit::{Origin, Provenance};
pub use sni::{Name, NameSource, Sni, SniKind};
pub use target::Target;
pub use tree::{Ctx, CtxId, CtxRef, DirRef, Kind, Tree, Via, ViaId};
pub use upstreams::Upstream;
pub use variants::{TlsWhen, Variant};
pub use vars::{eval_name, variable_at, variables};
pub use version::{Version, VersionChoice, VersionError, VersionFrom};

/// The analysed configuration.
pub struct Model {
    pub config: Config,
    pub tree: Tree,
    pub version: Version,
    /// How `version` was chosen (detected, named, or the default).
    pub version_choice: VersionChoice,
    pub hops: Vec<Hop>,
    pub plain: Vec<PlainPass>,
    pub upstreams: Vec<Upstream>,
    /// Per context: the directives the model looks up, by name id.
    index: index::Index,
    name_ids: index::NameIds,
    /// Per context: the modules whose `*_ssl_*` directives it writes.
    ssl_masks: Vec<u8>,
    /// Per context: its rewrite directives, in order.
    rewrites: index::Rewrites,
    /// The hosts some `listen` of a server binds.
    listen_hosts: rustc_hash::FxHashSet<String>,
    /// The first `upstream {}` block of each lower-cased name, [http, stream].
    upstream_ids: HashMap<String, [Option<usize>; 2]>,
    /// Per module, the `*_ssl_*` directives of this version: spec, full
    /// name and name id (made once, not per hop).
    spec_names: Vec<(Module, Vec<index::SpecName>)>,
    /// Display name of each file, shared by the provenances that name it.
    file_names: Vec<Arc<str>>,
    /// `map`/`geo` blocks and the variables `set` assigns.
    defs: defs::Defs,
}

impl Model {
    pub fn build(config: Config, version: Version) -> Model {
        Model::build_for(config, VersionChoice::chosen(version))
    }

    /// Analyses for the version `choice` names, keeping how it was chosen.
    pub fn build_for(config: Config, choice: VersionChoice) -> Model {
        let version = choice.version;
        let tree = Tree::build(&config);
        let (index, name_ids, rewrites) = index::build(&config, &tree);
        let spec_names = index::spec_names(&name_ids, version);
        let ssl_masks = index::ssl_masks(&index, &spec_names);
        let listen_hosts = index::listen_hosts(&config, &tree);
        let file_names = config
            .files
            .iter()
            .map(|f| Arc::from(f.name.as_str()))
            .collect();
        let mut model = Model {
            config,
            tree,
            version,
            version_choice: choice,
            hops: Vec::new(),
            plain: Vec::new(),
            upstreams: Vec::new(),
            index,
            name_ids,
            ssl_masks,
            rewrites,
            listen_hosts,
            upstream_ids: HashMap::new(),
            spec_names,
            file_names,
            defs: defs::Defs::default(),
        };
        model.defs = defs::Defs::collect(&model);
        model.collect_upstreams();
        model.collect_hops();
        model
    }

    /// Every load error: files, syntax, includes, expansion limits.
    pub fn errors(&self) -> impl Iterator<Item = &LoadError> {
        self.config.errors.iter().chain(self.tree.errors.iter())
    }

    pub fn dir(&self, r: DirRef) -> &Directive {
        self.config.ast(r.file).node(r.node)
    }

    /// 1-based line and column of a directive.
    pub fn line_col(&self, r: DirRef) -> (u32, u32) {
        self.config.file(r.file).line_col(self.dir(r).range.start)
    }

    pub fn file_name(&self, r: DirRef) -> &str {
        &self.config.file(r.file).name
    }

    /// `file:line` of a directive.
    pub fn file_line(&self, r: DirRef) -> String {
        let line = self.config.file(r.file).line_of(self.dir(r).range.start);
        format!("{}:{}", self.file_name(r), line)
    }

    /// Text naming files, for people: from an `nginx -T` dump, whose files
    /// keep the absolute names it wrote, every name below the main file's
    /// directory shows relative to it, as the diff's headers name it
    /// (`conf.d/api.conf:12`). Other sources are named so already.
    pub fn shown<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        if self.config.loaded_from != crate::conf::loader::LoadedFrom::Dump {
            return Cow::Borrowed(text);
        }
        let root = self.config.prefix.to_string_lossy();
        if root.is_empty() || root == "/" {
            return Cow::Borrowed(text);
        }
        let root = format!("{}/", root.trim_end_matches('/'));
        if text.contains(&root) {
            Cow::Owned(text.replace(&root, ""))
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Whether every block from `ctx` out to the top was closed by its `}`.
    /// A syntax error stops the parser where it is, leaving the blocks
    /// around that point open: there the tree no longer shows where nginx's
    /// blocks end.
    pub fn blocks_closed(&self, ctx: CtxId) -> bool {
        self.tree.ancestors(ctx).all(|c| {
            self.tree.ctx(c).opener.map_or(true, |o| {
                self.dir(o).block.as_ref().is_some_and(|b| b.closed)
            })
        })
    }
}
