//! The context tree: nginx's nesting of `http`, `server`, `location`, …
//! across include files.
//!
//! Each [`Ctx`] lists its directives as nginx sees them: an `include` is
//! replaced by the top-level directives of the files it names, in order, so
//! a setting that reaches a location through an include belongs to that
//! location, while its position still names the included file. The walk is
//! iterative and bounded, so neither deep nesting nor an include diamond
//! repeated many times can exhaust the stack or the memory.
//!
//! A file included in two places is read once but spliced twice: its
//! directives appear in two contexts, with the same [`DirRef`]. So a
//! `DirRef` names a place in a file, not a place in the tree; what tells
//! the two apart is the context and the include chain ([`Via`]) each copy
//! was reached through.

use std::collections::HashSet;

use crate::conf::{Config, FileId, LoadError, NodeId};

/// A directive in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirRef {
    pub file: FileId,
    pub node: NodeId,
}

/// Index of a context in [`Tree::ctxs`].
pub type CtxId = u32;

/// An include chain: 0 for the main file's own tree, else `n` for
/// `Tree::vias[n - 1]`.
pub type ViaId = u32;

/// One step of an include chain: the `include` directive, and the chain
/// that reached it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Via {
    pub include: DirRef,
    pub outer: ViaId,
}

/// The kinds of block that matter for upstream TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Main,
    Http,
    Server,
    Location,
    /// `if` inside a location (or a server).
    If,
    LimitExcept,
    Upstream,
    Stream,
    StreamServer,
    StreamUpstream,
    /// Any other block (`events`, `map`, `types`, …); its content is not modelled.
    Other,
}

impl Kind {
    /// The level name used in provenance (`http`, `server`, `location`, `stream`).
    pub fn level(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Http => "http",
            Kind::Server | Kind::StreamServer => "server",
            Kind::Location => "location",
            Kind::If => "if",
            Kind::LimitExcept => "limit_except",
            Kind::Upstream | Kind::StreamUpstream => "upstream",
            Kind::Stream => "stream",
            Kind::Other => "other",
        }
    }
    /// Levels where nginx accepts `*_ssl_*` directives of upstream modules.
    pub fn holds_ssl_settings(self) -> bool {
        matches!(
            self,
            Kind::Http | Kind::Server | Kind::Location | Kind::Stream | Kind::StreamServer
        )
    }
    pub fn is_stream(self) -> bool {
        matches!(
            self,
            Kind::Stream | Kind::StreamServer | Kind::StreamUpstream
        )
    }
}

fn child_kind(parent: Kind, name: &str) -> Kind {
    match (parent, name) {
        (Kind::Main, "http") => Kind::Http,
        (Kind::Main, "stream") => Kind::Stream,
        (Kind::Http, "server") => Kind::Server,
        (Kind::Http, "upstream") => Kind::Upstream,
        (Kind::Server | Kind::Location, "location") => Kind::Location,
        (Kind::Server | Kind::Location, "if") => Kind::If,
        (Kind::Location, "limit_except") => Kind::LimitExcept,
        (Kind::Stream, "server") => Kind::StreamServer,
        (Kind::Stream, "upstream") => Kind::StreamUpstream,
        _ => Kind::Other,
    }
}

#[derive(Clone, Debug)]
pub struct Ctx {
    pub kind: Kind,
    pub parent: Option<CtxId>,
    /// The directive that opened the block (None for the main context).
    pub opener: Option<DirRef>,
    /// Directives directly in this block (includes spliced, `include`
    /// directives themselves left out), in nginx's reading order.
    pub directives: Vec<DirRef>,
    /// The position of each directive in nginx's reading order over the
    /// whole configuration (parallel to `directives`).
    pub order: Vec<u32>,
    /// The include chain of the directives, run-length coded: from index
    /// `start` of `directives` on (to the next run), they were reached
    /// through chain `via`. See [`Ctx::via_at`].
    pub via_runs: Vec<(u32, ViaId)>,
    pub children: Vec<CtxId>,
}

impl Ctx {
    fn new(kind: Kind, parent: Option<CtxId>, opener: Option<DirRef>) -> Ctx {
        Ctx {
            kind,
            parent,
            opener,
            directives: Vec::new(),
            order: Vec::new(),
            via_runs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The include chain through which `directives[index]` was reached.
    pub fn via_at(&self, index: usize) -> ViaId {
        let i = self
            .via_runs
            .partition_point(|&(start, _)| start as usize <= index);
        i.checked_sub(1).map_or(0, |i| self.via_runs[i].1)
    }

    fn push(&mut self, dir: DirRef, order: u32, via: ViaId) {
        if self.via_runs.last().map_or(0, |r| r.1) != via {
            self.via_runs.push((self.directives.len() as u32, via));
        }
        self.directives.push(dir);
        self.order.push(order);
    }
}

/// The whole context tree of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub ctxs: Vec<Ctx>,
    /// Every include chain walked ([`ViaId`] `n` is `vias[n - 1]`).
    pub vias: Vec<Via>,
    pub errors: Vec<LoadError>,
}

/// How many directive visits a configuration may cost (include diamonds
/// make the expanded tree larger than the files).
pub const MAX_VISITS: usize = 20_000_000;
/// How deep contexts may nest across includes.
pub const MAX_DEPTH: usize = 2000;
/// Blocks nginx accepts only in the main context.
const TOP_LEVEL_ONLY: &[&str] = &["http", "stream", "events", "mail"];

impl Tree {
    pub fn build(cfg: &Config) -> Tree {
        let mut tree = Tree::default();
        tree.ctxs.push(Ctx::new(Kind::Main, None, None));
        if cfg.files.is_empty() {
            return tree;
        }
        // A work stack of directive lists still to visit: (context, file,
        // list of nodes, next index). Included files push their roots.
        struct Frame<'a> {
            ctx: CtxId,
            depth: usize,
            via: ViaId,
            file: FileId,
            nodes: &'a [NodeId],
            next: usize,
        }
        let main = Config::MAIN;
        let mut stack = vec![Frame {
            ctx: 0,
            depth: 0,
            via: 0,
            file: main,
            nodes: &cfg.ast(main).roots,
            next: 0,
        }];
        let mut visits = 0usize;
        let mut too_deep: HashSet<DirRef> = HashSet::new();
        let mut misplaced: HashSet<DirRef> = HashSet::new();
        while let Some(top) = stack.last_mut() {
            let Some(&node) = top.nodes.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let (ctx, depth, via, file) = (top.ctx, top.depth, top.via, top.file);
            visits += 1;
            if visits > MAX_VISITS {
                tree.errors.push(LoadError {
                    file: cfg.file(file).name.clone(),
                    line: 0,
                    message: format!(
                        "the configuration expands to more than {MAX_VISITS} directives through its includes; the rest is not analysed"
                    ),
                });
                break;
            }
            let d = cfg.ast(file).node(node);
            let here = DirRef { file, node };
            if d.name() == "include" {
                // Included files' directives belong to the including block.
                let targets = cfg.included(file, node);
                if targets.is_empty() {
                    continue;
                }
                tree.vias.push(Via {
                    include: here,
                    outer: via,
                });
                let inner = tree.vias.len() as ViaId;
                for &inc in targets.iter().rev() {
                    stack.push(Frame {
                        ctx,
                        depth,
                        via: inner,
                        file: inc,
                        nodes: &cfg.ast(inc).roots,
                        next: 0,
                    });
                }
                continue;
            }
            tree.ctxs[ctx as usize].push(here, visits as u32, via);
            // `http`, `stream`, `events` and `mail` exist only at the top
            // level: nginx stops with this message anywhere else (a site
            // file with its own `http {` included inside Debian's `http`).
            if TOP_LEVEL_ONLY.contains(&d.name())
                && tree.ctxs[ctx as usize].kind != Kind::Main
                && misplaced.insert(here)
            {
                let f = cfg.file(file);
                tree.errors.push(LoadError {
                    file: f.name.clone(),
                    line: f.line_of(d.range.start),
                    message: format!("\"{}\" directive is not allowed here", d.name()),
                });
                continue;
            }
            let Some(block) = &d.block else { continue };
            let kind = child_kind(tree.ctxs[ctx as usize].kind, d.name());
            if kind == Kind::Other {
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                let f = cfg.file(file);
                let e = LoadError {
                    file: f.name.clone(),
                    line: f.line_of(d.range.start),
                    message: format!(
                        "blocks are nested more than {MAX_DEPTH} levels deep across includes"
                    ),
                };
                // A file included in several places reaches the limit at
                // the same line each time: one error.
                if too_deep.insert(here) {
                    tree.errors.push(e);
                }
                continue;
            }
            let id = tree.ctxs.len() as CtxId;
            tree.ctxs.push(Ctx::new(kind, Some(ctx), Some(here)));
            tree.ctxs[ctx as usize].children.push(id);
            stack.push(Frame {
                ctx: id,
                depth: depth + 1,
                via,
                file,
                nodes: &block.children,
                next: 0,
            });
        }
        tree
    }

    pub fn ctx(&self, id: CtxId) -> &Ctx {
        &self.ctxs[id as usize]
    }

    /// The context and its ancestors, innermost first.
    pub fn ancestors(&self, id: CtxId) -> impl Iterator<Item = CtxId> + '_ {
        std::iter::successors(Some(id), move |&c| self.ctxs[c as usize].parent)
    }

    /// The include directives of a chain, outermost first (empty for the
    /// main file's own tree).
    pub fn via_chain(&self, via: ViaId) -> Vec<DirRef> {
        let mut out: Vec<DirRef> = std::iter::successors(via.checked_sub(1), |&i| {
            self.vias[i as usize].outer.checked_sub(1)
        })
        .map(|i| self.vias[i as usize].include)
        .collect();
        out.reverse();
        out
    }

    /// The nearest enclosing context of a kind (the context itself included).
    /// The block a block directive of `parent` opens (its own, on this
    /// include path: a file included twice opens one block per path).
    pub fn child_opened_by(&self, parent: CtxId, opener: DirRef) -> Option<CtxId> {
        self.ctx(parent)
            .children
            .iter()
            .copied()
            .find(|&c| self.ctx(c).opener == Some(opener))
    }

    pub fn enclosing(&self, id: CtxId, kinds: &[Kind]) -> Option<CtxId> {
        self.ancestors(id)
            .find(|&c| kinds.contains(&self.ctxs[c as usize].kind))
    }
}
