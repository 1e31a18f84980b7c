//! The context tree: nginx's nesting of `http`, `server`, `location`, …
//! across include files.
//!
//! Each [`Ctx`] lists its directives as nginx sees them: an `include` is
//! replaced by the top-level directives of the files it names, in order, so
//! a setting that reaches a location through an include belongs to that
//! location, while its position still names the included file. The walk is
//! iterative and bounded, so neither deep nesting nor an include diamond
//! repeated many times can exhaust the stack or the memory.

use std::collections::HashMap;

use crate::conf::{Config, FileId, LoadError, NodeId};

/// A directive in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DirRef {
    pub file: FileId,
    pub node: NodeId,
}

/// Index of a context in [`Tree::ctxs`].
pub type CtxId = u32;

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
    pub children: Vec<CtxId>,
}

/// The whole context tree of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub ctxs: Vec<Ctx>,
    /// The block opened by a directive, for every modelled block.
    pub ctx_of: HashMap<DirRef, CtxId>,
    pub errors: Vec<LoadError>,
}

/// How many directive visits a configuration may cost (include diamonds
/// make the expanded tree larger than the files).
pub const MAX_VISITS: usize = 20_000_000;
/// How deep contexts may nest across includes.
pub const MAX_DEPTH: usize = 2000;

impl Tree {
    pub fn build(cfg: &Config) -> Tree {
        let mut tree = Tree::default();
        tree.ctxs.push(Ctx {
            kind: Kind::Main,
            parent: None,
            opener: None,
            directives: Vec::new(),
            order: Vec::new(),
            children: Vec::new(),
        });
        if cfg.files.is_empty() {
            return tree;
        }
        // A work stack of directive lists still to visit: (context, file,
        // list of nodes, next index). Included files push their roots.
        struct Frame<'a> {
            ctx: CtxId,
            depth: usize,
            file: FileId,
            nodes: &'a [NodeId],
            next: usize,
        }
        let main = Config::MAIN;
        let mut stack = vec![Frame {
            ctx: 0,
            depth: 0,
            file: main,
            nodes: &cfg.ast(main).roots,
            next: 0,
        }];
        let mut visits = 0usize;
        while let Some(top) = stack.last_mut() {
            let Some(&node) = top.nodes.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let (ctx, depth, file) = (top.ctx, top.depth, top.file);
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
                for &inc in cfg.included(file, node).iter().rev() {
                    stack.push(Frame {
                        ctx,
                        depth,
                        file: inc,
                        nodes: &cfg.ast(inc).roots,
                        next: 0,
                    });
                }
                continue;
            }
            tree.ctxs[ctx as usize].directives.push(here);
            tree.ctxs[ctx as usize].order.push(visits as u32);
            let Some(block) = &d.block else { continue };
            let kind = child_kind(tree.ctxs[ctx as usize].kind, d.name());
            if kind == Kind::Other {
                continue;
            }
            if depth + 1 > MAX_DEPTH {
                let f = cfg.file(file);
                tree.errors.push(LoadError {
                    file: f.name.clone(),
                    line: f.line_of(d.range.start),
                    message: format!(
                        "blocks are nested more than {MAX_DEPTH} levels deep across includes"
                    ),
                });
                continue;
            }
            let id = tree.ctxs.len() as CtxId;
            tree.ctxs.push(Ctx {
                kind,
                parent: Some(ctx),
                opener: Some(here),
                directives: Vec::new(),
                order: Vec::new(),
                children: Vec::new(),
            });
            tree.ctxs[ctx as usize].children.push(id);
            tree.ctx_of.insert(here, id);
            stack.push(Frame {
                ctx: id,
                depth: depth + 1,
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

    /// The nearest enclosing context of a kind (the context itself included).
    pub fn enclosing(&self, id: CtxId, kinds: &[Kind]) -> Option<CtxId> {
        self.ancestors(id)
            .find(|&c| kinds.contains(&self.ctxs[c as usize].kind))
    }
}
