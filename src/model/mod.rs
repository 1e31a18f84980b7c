//! The model: every upstream TLS hop of a configuration, with the effective
//! value of each `*_ssl_*` directive, where that value comes from, and the
//! SNI nginx will send.
//!
//! Inheritance follows nginx's merge functions
//! (`ngx_http_proxy_merge_loc_conf` and friends): each directive is merged
//! on its own, so an unset level takes the nearest enclosing level's value,
//! else nginx's default. The chain is location → enclosing locations →
//! server → http (stream: server → stream). `if` and `limit_except` blocks
//! cannot hold these directives; a pass inside them uses its location's.
//! Order inside a block does not matter, and a directive that arrives
//! through an `include` counts where the include is written.

pub mod directives;
pub mod sni;
pub mod target;
pub mod tree;
mod upstreams;
mod vars;
pub mod version;

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::conf::{Config, Directive, LoadError};
pub use directives::{Module, Shape, Spec};
pub use sni::{Name, NameSource, Sni};
pub use target::Target;
pub use tree::{Ctx, CtxId, DirRef, Kind, Tree};
pub use upstreams::Upstream;
use upstreams::UpstreamKey;
pub use vars::{eval_name, variable_at, variables};
pub use version::Version;

/// Where an effective value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// nginx's default for the chosen version.
    Default,
    /// The directive that wins after inheritance.
    Explicit(Box<Provenance>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub dir: DirRef,
    /// The block the directive is in.
    pub ctx: CtxId,
    /// `http`, `server`, `location` or `stream`.
    pub level: &'static str,
    /// Display name of the file (shared by every provenance in it).
    pub file: Arc<str>,
    pub line: u32,
}

impl Provenance {
    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The effective value of one directive for one hop.
#[derive(Clone, Debug)]
pub struct Setting {
    pub name: &'static str,
    pub spec: &'static Spec,
    /// Parameters joined by single spaces (repeated lines joined by `; `);
    /// None where nginx has no default value.
    pub value: Option<Cow<'static, str>>,
    pub origin: Origin,
    /// Set explicitly in an outer block rather than in the hop's own block.
    pub inherited: bool,
    /// Every directive line that contributes (several for repeatable ones).
    pub lines: Vec<DirRef>,
}

impl Setting {
    pub fn is_on(&self) -> bool {
        self.value.as_deref() == Some("on")
    }
    pub fn is_default(&self) -> bool {
        self.origin == Origin::Default
    }
    /// A short note of the origin: `default` or `file:line`.
    pub fn origin_note(&self) -> String {
        match &self.origin {
            Origin::Default => "default".into(),
            Origin::Explicit(p) => p.at(),
        }
    }
}

/// An effective header sent upstream (`proxy_set_header`), with its origin.
#[derive(Clone, Debug)]
pub struct Header {
    pub value: String,
    pub origin: Origin,
}

/// One upstream TLS hop.
#[derive(Clone, Debug)]
pub struct Hop {
    /// `file:line` of the pass directive.
    pub id: String,
    pub pass: DirRef,
    /// The block holding the pass directive.
    pub ctx: CtxId,
    /// The nearest block that can hold `*_ssl_*` settings (the hop's own).
    pub own: CtxId,
    pub module: Module,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub target: Target,
    pub server: Option<CtxId>,
    pub server_names: Vec<String>,
    pub listen: Vec<String>,
    pub locations: Vec<String>,
    pub upstream: Option<usize>,
    pub proxy_host: String,
    pub sni: Sni,
    /// The name the certificate is checked against (the SNI name, or the
    /// name that would be sent), port removed.
    pub verify_name: Option<String>,
    /// Where the SNI/verify name comes from.
    pub name_source: NameSource,
    pub settings: Vec<Setting>,
    /// The effective `Host` header (proxy hops only).
    pub host_header: Option<Header>,
}

impl Hop {
    pub fn context(&self) -> &'static str {
        if self.module.is_stream() {
            "stream"
        } else {
            "http"
        }
    }
    /// The effective setting with a suffix (`_server_name`, `_verify`, …).
    pub fn setting(&self, suffix: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.spec.suffix == suffix)
    }
}

/// A pass directive that does not open TLS (for rules about TLS settings
/// that have no effect).
#[derive(Clone, Debug)]
pub struct PlainPass {
    pub pass: DirRef,
    pub ctx: CtxId,
    pub module: Module,
}

/// The analysed configuration.
pub struct Model {
    pub config: Config,
    pub tree: Tree,
    pub version: Version,
    pub hops: Vec<Hop>,
    pub plain: Vec<PlainPass>,
    pub upstreams: Vec<Upstream>,
    /// Per context: the directives the model looks up, by name id.
    index: Vec<Vec<(u16, DirRef)>>,
    name_ids: HashMap<String, u16, BuildHasherDefault<NameHasher>>,
    /// The first `upstream {}` block of each lower-cased name, [http, stream].
    upstream_ids: HashMap<String, [Option<usize>; 2]>,
    /// Per module, the `*_ssl_*` directives of this version: spec, full
    /// name and name id (made once, not per hop).
    spec_names: Vec<(Module, Vec<SpecName>)>,
    /// Display name of each file, shared by the provenances that name it.
    file_names: Vec<Arc<str>>,
}

/// A `*_ssl_*` directive of one module: its spec, full name and name id.
type SpecName = (&'static Spec, &'static str, u16);

/// A fast hash for the fixed table of directive names the model indexes
/// (FxHash, as in rustc): every directive of the configuration is looked
/// up in it once. The table's keys are fixed, so hostile input cannot
/// make it degrade.
#[derive(Default, Clone, Copy)]
struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl NameHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Directives looked up besides the `*_ssl_*` table.
const EXTRA_NAMES: &[&str] = &[
    "proxy_set_header",
    "grpc_set_header",
    "server_name",
    "listen",
];

impl Model {
    pub fn build(config: Config, version: Version) -> Model {
        let tree = Tree::build(&config);
        let mut names = directives::all_names();
        names.extend(EXTRA_NAMES.iter().map(|s| s.to_string()));
        let name_ids: HashMap<String, u16, BuildHasherDefault<NameHasher>> = names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, i as u16))
            .collect();
        let index: Vec<Vec<(u16, DirRef)>> = tree
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
        let mut model = Model {
            config,
            tree,
            version,
            hops: Vec::new(),
            plain: Vec::new(),
            upstreams: Vec::new(),
            index,
            name_ids,
            upstream_ids: HashMap::new(),
            spec_names: Vec::new(),
            file_names: Vec::new(),
        };
        model.file_names = model
            .config
            .files
            .iter()
            .map(|f| Arc::from(f.name.as_str()))
            .collect();
        model.spec_names = Module::ALL
            .iter()
            .map(|&m| {
                let specs = directives::specs(m, version)
                    .map(|spec| {
                        let name = spec.name(m);
                        // Every spec name is indexed (`directives::all_names`).
                        let id = model.name_ids[name];
                        (spec, name, id)
                    })
                    .collect();
                (m, specs)
            })
            .collect();
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
    pub fn at(&self, r: DirRef) -> String {
        let line = self.config.file(r.file).line_of(self.dir(r).range.start);
        format!("{}:{}", self.file_name(r), line)
    }

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

    /// The nearest block from `ctx` outwards, among those that can hold the
    /// directive, that sets it; with the lines there. This is nginx's merge
    /// for a scalar (first line) and for an array (all lines of that level).
    pub fn effective(&self, ctx: CtxId, name: &str) -> Option<(CtxId, Vec<DirRef>)> {
        self.tree
            .ancestors(ctx)
            .filter(|&c| self.tree.ctx(c).kind.holds_ssl_settings())
            .find_map(|c| {
                let lines = self.lines_in(c, name);
                (!lines.is_empty()).then_some((c, lines))
            })
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

    pub fn provenance(&self, ctx: CtxId, dir: DirRef) -> Provenance {
        Provenance {
            dir,
            ctx,
            level: self.tree.ctx(ctx).kind.level(),
            file: Arc::clone(&self.file_names[dir.file.0 as usize]),
            line: self
                .config
                .file(dir.file)
                .line_of(self.dir(dir).range.start),
        }
    }

    fn collect_hops(&mut self) {
        // Every pass directive, in reading order (TLS or not: all of them
        // register upstreams, which decides the spelling nginx keeps).
        let mut passes: Vec<(u32, DirRef, CtxId, Module)> = Vec::new();
        for (ci, c) in self.tree.ctxs.iter().enumerate() {
            let ctx = ci as CtxId;
            let in_http = matches!(
                c.kind,
                Kind::Server | Kind::Location | Kind::If | Kind::LimitExcept
            ) && self.tree.enclosing(ctx, &[Kind::Http]).is_some();
            let in_stream = c.kind == Kind::StreamServer;
            if !in_http && !in_stream {
                continue;
            }
            for (&r, &order) in c.directives.iter().zip(&c.order) {
                let module = match (self.dir(r).name(), in_stream) {
                    ("proxy_pass", false) => Module::Proxy,
                    ("grpc_pass", false) => Module::Grpc,
                    ("uwsgi_pass", false) => Module::Uwsgi,
                    ("proxy_pass", true) => Module::Stream,
                    _ => continue,
                };
                if self.dir(r).arg(0).is_some() {
                    passes.push((order, r, ctx, module));
                }
            }
        }
        passes.sort_by_key(|p| p.0);
        // The upstream each pass names, worked out once per pass.
        let keys: Vec<Option<(UpstreamKey, String)>> = passes
            .iter()
            .map(|&(_, r, _, module)| {
                self.dir(r)
                    .arg(0)
                    .and_then(|a| self.upstream_key(module.is_stream(), a))
            })
            .collect();
        let spellings = self.spellings(&passes, &keys);

        // Each pass is worked out on its own, reading the model only: two
        // threads share them on a large configuration.
        let this = &*self;
        let work = |range: std::ops::Range<usize>| -> Vec<Result<Hop, PlainPass>> {
            passes[range.clone()]
                .iter()
                .zip(&keys[range])
                .map(|(&(_, r, ctx, module), key)| {
                    let raw = this.dir(r).arg(0).unwrap_or_default();
                    let target = match module.tls_scheme() {
                        Some(scheme) => Target::parse_http(raw, scheme),
                        None => {
                            let ssl_on = this
                                .effective(ctx, "proxy_ssl")
                                .is_some_and(|(_, l)| this.dir(l[0]).arg(0) == Some("on"));
                            ssl_on.then(|| Target::parse_stream(raw))
                        }
                    };
                    match target {
                        Some(t) => {
                            // The upstream's host as nginx keeps it (first spelling read).
                            let canonical =
                                key.as_ref().and_then(|(k, _)| spellings.get(k).cloned());
                            Ok(this.hop(r, ctx, module, t, canonical))
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
        let done = if threads < 2 || passes.len() < 256 {
            work(0..passes.len())
        } else {
            let half = passes.len() / 2;
            std::thread::scope(|s| {
                let second = s.spawn(|| work(half..passes.len()));
                let mut done = work(0..half);
                match second.join() {
                    Ok(rest) => done.extend(rest),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
                done
            })
        };
        let mut hops = Vec::new();
        let mut plain = Vec::new();
        for d in done {
            match d {
                Ok(hop) => hops.push(hop),
                Err(p) => plain.push(p),
            }
        }
        hops.sort_by(|a: &Hop, b: &Hop| {
            (a.pass.file, a.line, a.column).cmp(&(b.pass.file, b.line, b.column))
        });
        hops.shrink_to_fit();
        self.hops = hops;
        self.plain = plain;
    }

    fn hop(
        &self,
        pass: DirRef,
        ctx: CtxId,
        module: Module,
        target: Target,
        canonical: Option<String>,
    ) -> Hop {
        let (line, column) = self.line_col(pass);
        let own = self
            .tree
            .ancestors(ctx)
            .find(|&c| self.tree.ctx(c).kind.holds_ssl_settings())
            .unwrap_or(ctx);
        let settings = self.settings_at(ctx, module);
        let server = self
            .tree
            .enclosing(ctx, &[Kind::Server, Kind::StreamServer]);
        let upstream = (!target.dynamic && !target.unix)
            .then(|| self.find_upstream(&target.host, module.is_stream()))
            .flatten();

        // `$proxy_host`: this pass's own host (and port), or what a
        // `set $proxy_host` in the request's rewrite phase put there.
        let (proxy_host, proxy_host_known) = self.proxy_host(ctx, module, &target);
        // The name before port stripping, and where it comes from.
        let get = |suffix: &str| settings.iter().find(|s| s.spec.suffix == suffix);
        let name_setting = get("_name").filter(|s| !s.is_default());
        let (name, source) = match name_setting {
            Some(s) => {
                let value = s.value.clone().unwrap_or_default();
                let at = s.origin_note();
                let static_proxy_host =
                    (module == Module::Proxy && proxy_host_known).then_some(proxy_host.as_str());
                (
                    eval_name(&value, static_proxy_host),
                    NameSource::Explicit(at),
                )
            }
            None => match upstream {
                Some(u) => (
                    Name::Static(canonical.unwrap_or_else(|| self.upstreams[u].name.clone())),
                    NameSource::Group,
                ),
                None if target.dynamic => {
                    (Name::Dynamic(target.host.clone()), NameSource::PassHost)
                }
                None => (
                    Name::Static(canonical.unwrap_or_else(|| target.host.clone())),
                    NameSource::PassHost,
                ),
            },
        };
        let sn = get("_server_name");
        let on = sn.is_some_and(Setting::is_on);
        let note = sn.map_or("default".to_string(), Setting::origin_note);
        let (sni, verify_name) = sni::predict(
            &module.directive("server_name"),
            (on, &note),
            &name,
            &source,
        );

        let host_header = (module == Module::Proxy)
            .then(|| self.header(ctx, "proxy_set_header", "host", "$proxy_host"));

        let (server_names, listen) = match server {
            Some(s) => (
                self.lines_in(s, "server_name")
                    .iter()
                    .flat_map(|&r| self.dir(r).args.iter().map(|a| a.value.to_string()))
                    .collect(),
                self.lines_in(s, "listen")
                    .iter()
                    .map(|&r| self.dir(r).args_joined())
                    .collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let locations = self.location_chain(ctx);
        Hop {
            id: format!("{}:{}", self.file_name(pass), line),
            pass,
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
            upstream,
            proxy_host,
            sni,
            verify_name,
            name_source: source,
            settings,
            host_header,
        }
    }

    /// The effective value of every directive of a module at any block, as
    /// for a hop there: nginx's merge, with provenance.
    pub fn settings_at(&self, ctx: CtxId, module: Module) -> Vec<Setting> {
        let own = self
            .tree
            .ancestors(ctx)
            .find(|&c| self.tree.ctx(c).kind.holds_ssl_settings())
            .unwrap_or(ctx);
        let mut out = Vec::with_capacity(self.specs_of(module).len());
        for (spec, name, found) in self.effective_all(ctx, module) {
            out.push(self.setting(name, spec, own, module, found));
        }
        out
    }

    /// Every `*_ssl_*` directive of a module in this nginx version, with
    /// its name, and the block and lines that set it for `ctx` as
    /// [`Model::effective`] finds them (None: nginx's default applies).
    pub fn effective_all(
        &self,
        ctx: CtxId,
        module: Module,
    ) -> impl Iterator<Item = (&'static Spec, &'static str, Option<(CtxId, Vec<DirRef>)>)> + '_
    {
        // The blocks whose settings reach `ctx`, innermost first.
        let chain: Vec<CtxId> = self
            .tree
            .ancestors(ctx)
            .filter(|&c| self.tree.ctx(c).kind.holds_ssl_settings())
            .collect();
        self.specs_of(module).iter().map(move |(spec, name, id)| {
            let found = chain.iter().find_map(|&c| {
                let lines = self.lines_with_id(c, *id);
                (!lines.is_empty()).then_some((c, lines))
            });
            (*spec, *name, found)
        })
    }

    /// The specs of a module in this version, with names and name ids.
    fn specs_of(&self, module: Module) -> &[SpecName] {
        self.spec_names
            .iter()
            .find(|(m, _)| *m == module)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    fn lines_with_id(&self, ctx: CtxId, id: u16) -> Vec<DirRef> {
        self.index[ctx as usize]
            .iter()
            .filter(|(n, _)| *n == id)
            .map(|&(_, r)| r)
            .collect()
    }

    fn setting(
        &self,
        name: &'static str,
        spec: &'static Spec,
        own: CtxId,
        module: Module,
        found: Option<(CtxId, Vec<DirRef>)>,
    ) -> Setting {
        match found {
            Some((at, lines)) => {
                let value = match spec.shape {
                    Shape::Scalar => self.dir(lines[0]).args_joined(),
                    Shape::Array => lines
                        .iter()
                        .map(|&l| self.dir(l).args_joined())
                        .collect::<Vec<_>>()
                        .join("; "),
                };
                Setting {
                    name,
                    spec,
                    value: Some(Cow::Owned(value)),
                    origin: Origin::Explicit(Box::new(self.provenance(at, lines[0]))),
                    inherited: at != own,
                    lines,
                }
            }
            None => Setting {
                value: spec.default(module, self.version).map(Cow::Borrowed),
                name,
                spec,
                origin: Origin::Default,
                inherited: false,
                lines: Vec::new(),
            },
        }
    }

    /// The effective value of one header of an array directive such as
    /// `proxy_set_header` (a block with any such line replaces all inherited
    /// lines), or nginx's default.
    pub fn header(&self, ctx: CtxId, directive: &str, header: &str, default: &str) -> Header {
        if let Some((at, lines)) = self.effective(ctx, directive) {
            if let Some(&l) = lines.iter().find(|&&l| {
                self.dir(l)
                    .arg(0)
                    .is_some_and(|h| h.eq_ignore_ascii_case(header))
            }) {
                return Header {
                    value: self
                        .dir(l)
                        .args
                        .get(1)
                        .map_or(String::new(), |a| a.value.to_string()),
                    origin: Origin::Explicit(Box::new(self.provenance(at, l))),
                };
            }
        }
        Header {
            value: default.to_string(),
            origin: Origin::Default,
        }
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
