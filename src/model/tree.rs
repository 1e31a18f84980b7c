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

/// A block of the context tree. Its lists (directives, reading order,
/// include chains, child blocks) live end to end in [`Tree`]'s arrays, one
/// allocation each for the whole configuration rather than four per block
/// (a server can have hundreds of thousands of locations); read them
/// through [`CtxRef`], which [`Tree::ctx`] gives.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub kind: Kind,
    pub parent: Option<CtxId>,
    /// The directive that opened the block (None for the main context).
    pub opener: Option<DirRef>,
    /// This block's range in `Tree::dirs` and `Tree::orders`.
    dirs: (u32, u32),
    /// This block's range in `Tree::via_runs`.
    runs: (u32, u32),
    /// This block's range in `Tree::kids`.
    kids: (u32, u32),
}

impl Ctx {
    fn new(kind: Kind, parent: Option<CtxId>, opener: Option<DirRef>) -> Ctx {
        Ctx {
            kind,
            parent,
            opener,
            dirs: (0, 0),
            runs: (0, 0),
            kids: (0, 0),
        }
    }
}

/// A block with the tree it is in: its fields, and its lists as slices.
#[derive(Clone, Copy, Debug)]
pub struct CtxRef<'a> {
    tree: &'a Tree,
    ctx: &'a Ctx,
}

impl std::ops::Deref for CtxRef<'_> {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        self.ctx
    }
}

fn span<T>(items: &[T], (start, end): (u32, u32)) -> &[T] {
    items.get(start as usize..end as usize).unwrap_or(&[])
}

impl<'a> CtxRef<'a> {
    /// Directives directly in this block (includes spliced, `include`
    /// directives themselves left out), in nginx's reading order.
    pub fn directives(&self) -> &'a [DirRef] {
        span(&self.tree.dirs, self.ctx.dirs)
    }

    /// The position of each directive in nginx's reading order over the
    /// whole configuration (parallel to [`CtxRef::directives`]).
    pub fn order(&self) -> &'a [u32] {
        span(&self.tree.orders, self.ctx.dirs)
    }

    /// The blocks directly inside this one, in reading order.
    pub fn children(&self) -> &'a [CtxId] {
        span(&self.tree.kids, self.ctx.kids)
    }

    /// The include chain through which `directives()[index]` was reached.
    /// The chains are run-length coded: from index `start` of the
    /// directives on (to the next run), they were reached through `via`.
    pub fn via_at(&self, index: usize) -> ViaId {
        let runs = span(&self.tree.via_runs, self.ctx.runs);
        let i = runs.partition_point(|&(start, _)| start as usize <= index);
        i.checked_sub(1).map_or(0, |i| runs[i].1)
    }
}

/// The whole context tree of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    ctxs: Vec<Ctx>,
    /// Every block's directives, block after block.
    dirs: Vec<DirRef>,
    /// The reading order of each directive (parallel to `dirs`).
    orders: Vec<u32>,
    /// Every block's include-chain runs, block after block: (index in the
    /// block's directives where the run starts, chain).
    via_runs: Vec<(u32, ViaId)>,
    /// Every block's child blocks, block after block.
    kids: Vec<CtxId>,
    /// Every include chain walked ([`ViaId`] `n` is `vias[n - 1]`).
    pub vias: Vec<Via>,
    pub errors: Vec<LoadError>,
}

/// One directive placed in a block, as the walk meets it.
struct Placed {
    ctx: CtxId,
    dir: DirRef,
    order: u32,
    via: ViaId,
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
        // The walk meets a block's directives in pieces (a child block's
        // come between them): they are placed in blocks once it is done.
        // Each file's directives, once: enough room unless includes repeat.
        let nodes: usize = cfg.asts.iter().map(|a| a.nodes.len()).sum();
        let mut placed: Vec<Placed> = Vec::with_capacity(nodes.min(MAX_VISITS));
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
            placed.push(Placed {
                ctx,
                dir: here,
                order: visits as u32,
                via,
            });
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
            stack.push(Frame {
                ctx: id,
                depth: depth + 1,
                via,
                file,
                nodes: &block.children,
                next: 0,
            });
        }
        drop(stack);
        tree.place(placed);
        tree
    }

    /// Lays the directives the walk met out block after block, each
    /// block's in reading order, and each block's children likewise.
    fn place(&mut self, placed: Vec<Placed>) {
        // Where each block's list starts: counts, then running sums.
        let n = self.ctxs.len();
        let mut next = vec![0u32; n + 1];
        for p in &placed {
            next[p.ctx as usize + 1] += 1;
        }
        for i in 0..n {
            next[i + 1] += next[i];
            self.ctxs[i].dirs = (next[i], next[i + 1]);
        }
        let total = placed.len();
        let none = DirRef {
            file: Config::MAIN,
            node: 0,
        };
        self.dirs = vec![none; total];
        self.orders = vec![0; total];
        let mut vias: Vec<ViaId> = vec![0; total];
        for p in placed {
            let at = &mut next[p.ctx as usize];
            let i = *at as usize;
            *at += 1;
            self.dirs[i] = p.dir;
            self.orders[i] = p.order;
            vias[i] = p.via;
        }
        for c in &mut self.ctxs {
            let start = self.via_runs.len() as u32;
            let mut last = 0;
            let list = span(&vias, c.dirs);
            for (i, &via) in list.iter().enumerate() {
                if via != last {
                    self.via_runs.push((i as u32, via));
                    last = via;
                }
            }
            c.runs = (start, self.via_runs.len() as u32);
        }
        drop(vias);
        self.via_runs.shrink_to_fit();
        // Children: every block but the main one, by parent, in the order
        // they were opened (their ids).
        let mut next = vec![0u32; n + 1];
        for c in &self.ctxs {
            if let Some(p) = c.parent {
                next[p as usize + 1] += 1;
            }
        }
        for i in 0..n {
            next[i + 1] += next[i];
            self.ctxs[i].kids = (next[i], next[i + 1]);
        }
        self.kids = vec![0; next[n] as usize];
        for (id, c) in self.ctxs.iter().enumerate() {
            if let Some(p) = c.parent {
                let at = &mut next[p as usize];
                self.kids[*at as usize] = id as CtxId;
                *at += 1;
            }
        }
        self.ctxs.shrink_to_fit();
    }

    /// A block, with its lists.
    pub fn ctx(&self, id: CtxId) -> CtxRef<'_> {
        CtxRef {
            tree: self,
            ctx: &self.ctxs[id as usize],
        }
    }

    /// Every block, in the order they were opened (by id).
    pub fn ctxs(&self) -> impl ExactSizeIterator<Item = CtxRef<'_>> + Clone + '_ {
        self.ctxs.iter().map(move |ctx| CtxRef { tree: self, ctx })
    }

    /// How many blocks there are (ids run from 0 to this, exclusive).
    pub fn ctx_count(&self) -> usize {
        self.ctxs.len()
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
            .children()
            .iter()
            .copied()
            .find(|&c| self.ctx(c).opener == Some(opener))
    }

    pub fn enclosing(&self, id: CtxId, kinds: &[Kind]) -> Option<CtxId> {
        self.ancestors(id)
            .find(|&c| kinds.contains(&self.ctxs[c as usize].kind))
    }
}
