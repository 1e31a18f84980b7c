//! Hops from the context tree: every pass directive (`proxy_pass`,
//! `grpc_pass`, `uwsgi_pass`, stream `proxy_pass`) in nginx's reading
//! order, and for each one that opens TLS the hop with its settings, the
//! name it sends and where it lives; the others are kept as plain passes.

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::directives::{Module, SslDirective};
use super::hop::Hop;
use super::inherit::SharedSettings;
use super::target::Target;
use super::tree::{CtxId, DirRef, Kind, ViaId};
use super::variants::{PassEval, Upstreams};
use super::Model;

/// A pass directive that does not open TLS (for rules about TLS settings
/// that have no effect).
#[derive(Clone, Debug)]
pub struct PlainPass {
    pub pass: DirRef,
    pub ctx: CtxId,
    pub module: Module,
}

/// What hops of the same blocks share, made once (per thread) and
/// handed to each: their settings, and their server's names and `listen`
/// lines.
#[derive(Default)]
struct Shared {
    settings: SharedSettings,
    servers: FxHashMap<CtxId, ServerLines>,
}

/// A server's names and its `listen` lines.
type ServerLines = (Arc<[String]>, Arc<[String]>);

impl Model {
    /// The index in [`Model::hops`] of the hop with this id (`file:line`
    /// of its pass directive, with its include suffix when it has one),
    /// if the configuration has one.
    pub fn hop_by_id(&self, id: &str) -> Option<usize> {
        self.hops.iter().position(|h| h.id == id)
    }

    /// Every pass directive, worked out into a hop (TLS) or a plain pass.
    pub(super) fn collect_hops(&mut self) {
        // Every pass directive, in reading order (TLS or not: all of them
        // register upstreams, which decides the spelling nginx keeps).
        let mut passes: Vec<(u32, DirRef, CtxId, Module)> = Vec::new();
        // The include chain of each pass reached through an include, by
        // its position in reading order.
        let mut via_of: HashMap<u32, ViaId> = HashMap::new();
        for (ci, c) in self.tree.ctxs().enumerate() {
            let ctx = ci as CtxId;
            let in_http = matches!(
                c.kind,
                Kind::Server | Kind::Location | Kind::If | Kind::LimitExcept
            ) && self.tree.enclosing(ctx, &[Kind::Http]).is_some();
            let in_stream = c.kind == Kind::StreamServer;
            if !in_http && !in_stream {
                continue;
            }
            for (i, (&r, &order)) in c.directives().iter().zip(c.order()).enumerate() {
                let module = match (self.dir(r).name(), in_stream) {
                    ("proxy_pass", false) => Module::Proxy,
                    ("grpc_pass", false) => Module::Grpc,
                    ("uwsgi_pass", false) => Module::Uwsgi,
                    ("proxy_pass", true) => Module::Stream,
                    _ => continue,
                };
                if self.dir(r).arg(0).is_some() {
                    passes.push((order, r, ctx, module));
                    match c.via_at(i) {
                        0 => {}
                        via => {
                            via_of.insert(order, via);
                        }
                    }
                }
            }
        }
        passes.sort_by_key(|p| p.0);
        passes.shrink_to_fit();
        // The upstream each pass names, worked out once per pass.
        let (spellings, keys) = self.spellings(&passes);

        // Each pass is worked out on its own, reading the model only: two
        // threads share them on a large configuration.
        let this = &*self;
        // A hop is boxed: most passes of a large configuration are plain,
        // and each would otherwise take a hop's room until the end.
        let work = |range: std::ops::Range<usize>| -> Vec<Result<Box<Hop>, PlainPass>> {
            let mut shared = Shared::default();
            passes[range.clone()]
                .iter()
                .zip(&keys[range])
                .map(|(&(_, r, ctx, module), key)| {
                    let raw = this.dir(r).arg(0).unwrap_or_default();
                    let target = match module.tls_scheme() {
                        Some(scheme) => this.http_target(ctx, module, raw, scheme),
                        None => {
                            let ssl_on = this
                                .effective_ssl(ctx, module, SslDirective::Ssl)
                                .is_some_and(|(_, l)| this.dir(l[0]).arg(0) == Some("on"));
                            ssl_on.then(|| (Target::parse_stream(raw), None))
                        }
                    };
                    match target {
                        Some((t, eval)) => {
                            let upstreams = (&spellings, *key);
                            Ok(Box::new(this.hop(
                                r,
                                ctx,
                                module,
                                t,
                                upstreams,
                                eval,
                                &mut shared,
                            )))
                        }
                        None => Err(PlainPass {
                            pass: r,
                            ctx,
                            module,
                        }),
                    }
                })
                .collect()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // The outcomes in pass order, in one or two parts (not joined: a
        // server with 256k passes would copy them for nothing).
        let parts: [Vec<Result<Box<Hop>, PlainPass>>; 2] = if threads < 2 || passes.len() < 256 {
            [work(0..passes.len()), Vec::new()]
        } else {
            let half = passes.len() / 2;
            std::thread::scope(|s| {
                let second = s.spawn(|| work(half..passes.len()));
                let first = work(0..half);
                match second.join() {
                    Ok(rest) => [first, rest],
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        };
        drop((keys, spellings));
        // Each list made to its final size: a large one grown by doubling
        // would take up to twice its room while every outcome is held.
        let tls = parts.iter().flatten().filter(|d| d.is_ok()).count();
        let mut hops = Vec::with_capacity(tls);
        let mut plain = Vec::with_capacity(passes.len() - tls);
        for (d, &(order, ..)) in parts.into_iter().flatten().zip(&passes) {
            match d {
                Ok(hop) => {
                    let mut hop = *hop;
                    hop.via = via_of
                        .get(&order)
                        .map_or_else(Vec::new, |&v| self.tree.via_chain(v));
                    hops.push(hop);
                }
                Err(p) => plain.push(p),
            }
        }
        hops.sort_by(|a: &Hop, b: &Hop| {
            (a.pass.file, a.line, a.column).cmp(&(b.pass.file, b.line, b.column))
        });
        hops.shrink_to_fit();
        self.hops = hops;
        self.plain = plain;
        // Every include path of each pass directive reached more than one
        // way, TLS or not.
        let mut paths: HashMap<DirRef, Vec<Vec<DirRef>>> = HashMap::new();
        for &(order, r, ..) in &passes {
            if let Some(&v) = via_of.get(&order) {
                let mut chain = self.tree.via_chain(v);
                chain.reverse();
                paths.entry(r).or_default().push(chain);
            }
        }
        paths.retain(|_, chains| chains.len() > 1);
        self.assign_ids(&paths);
    }

    /// The hop of one TLS pass directive. `upstreams` holds the spelling
    /// nginx keeps for each upstream and this pass's key among them;
    /// `shared` what hops made before it share with it.
    #[allow(clippy::too_many_arguments)]
    fn hop(
        &self,
        pass: DirRef,
        ctx: CtxId,
        module: Module,
        target: Target,
        upstreams: Upstreams<'_>,
        eval: Option<PassEval>,
        shared: &mut Shared,
    ) -> Hop {
        let (line, column) = self.line_col(pass);
        let own = self.own_block(ctx);
        let settings = self.shared_settings(ctx, module, &mut shared.settings);
        let server = self
            .tree
            .enclosing(ctx, &[Kind::Server, Kind::StreamServer]);
        // What it talks to and the names it uses, for each value of a
        // pass built from variables.
        let (target, top, tls, variants) =
            self.resolve_target(ctx, module, &settings, target, upstreams, eval);
        let host_header = (module == Module::Proxy)
            .then(|| self.header(ctx, "proxy_set_header", "host", "$proxy_host"));

        let (server_names, listen) = match server {
            Some(s) => shared
                .servers
                .entry(s)
                .or_insert_with(|| self.server_lines(s))
                .clone(),
            None => (Arc::from([]), Arc::from([])),
        };
        let locations = self.location_chain(ctx);
        Hop {
            id: format!("{}:{}", self.file_name(pass), line),
            pass,
            via: Vec::new(),
            ctx,
            own,
            module,
            file: self.file_name(pass).to_string(),
            line,
            column,
            target,
            server,
            server_names,
            listen,
            locations,
            upstream: top.upstream,
            proxy_host: top.proxy_host,
            sni: top.sni,
            verify_name: top.verify_name,
            name_source: top.source,
            settings,
            host_header,
            tls,
            variants,
        }
    }

    /// A server's names and its `listen` lines (parameters joined).
    fn server_lines(&self, server: CtxId) -> ServerLines {
        let names = self
            .lines_in(server, "server_name")
            .iter()
            .flat_map(|&r| self.dir(r).args.iter().map(|a| a.value.to_string()))
            .collect();
        let listen = self
            .lines_in(server, "listen")
            .iter()
            .map(|&r| self.dir(r).args_joined())
            .collect();
        (names, listen)
    }

    /// The enclosing blocks below the server, outermost first, as written.
    fn location_chain(&self, ctx: CtxId) -> Vec<String> {
        let mut chain: Vec<String> = self
            .tree
            .ancestors(ctx)
            .take_while(|&c| {
                matches!(
                    self.tree.ctx(c).kind,
                    Kind::Location | Kind::If | Kind::LimitExcept
                )
            })
            .filter_map(|c| {
                let opener = self.tree.ctx(c).opener?;
                let d = self.dir(opener);
                Some(match self.tree.ctx(c).kind {
                    // As written: `~* "^/v1/"` keeps its quotes.
                    Kind::Location => {
                        let f = self.config.file(opener.file);
                        d.args
                            .iter()
                            .map(|a| f.str(a.range).into_owned())
                            .collect::<Vec<_>>()
                            .join(" ")
                    }
                    Kind::If => {
                        let f = self.config.file(opener.file);
                        let end = d.block.as_ref().map_or(d.range.end, |b| b.open);
                        let raw = f.str(crate::conf::Range {
                            start: d.name.range.start,
                            end,
                        });
                        raw.split_whitespace().collect::<Vec<_>>().join(" ")
                    }
                    _ => format!("limit_except {}", d.args_joined()),
                })
            })
            .collect();
        chain.reverse();
        chain
    }
}
