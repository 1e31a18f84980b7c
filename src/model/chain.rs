//! How a hop's values reach it, line by line: the blocks around the pass
//! directive, the `include` directives that bring each file in on the
//! hop's path, and the lines that set its effective values, outermost
//! first, so reading the chain top to bottom tells the story.
//!
//! A directive can sit in a file included in several places; which place
//! counts for a hop is the context the merge found it in (each include
//! path has its own contexts, see `tree`). The include chain is the one
//! recorded for the directive in that context.

use super::hop::{Header, Hop};
use super::inherit::{Origin, Provenance};
use super::tree::{CtxId, DirRef, Kind, ViaId};
use super::Model;
use crate::conf::FileId;

/// What a line of a hop's chain does for the hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// An `include` on the way: on this hop's path it brings these files
    /// in (one for a plain include; a glob's files that the chain uses).
    Include { brings: Vec<FileId> },
    /// Opens a block the hop is in.
    Opener(Kind),
    /// Sets (one line of) the hop's effective `settings[i]`.
    Setting(usize),
    /// Sets the hop's effective `Host` header.
    Host,
    /// The pass directive: the hop itself.
    Pass,
}

/// One line of a hop's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub dir: DirRef,
    pub step: Step,
}

impl Model {
    /// The include chain (a [`ViaId`]) through which `dir`, written
    /// directly in block `ctx`, was read on that block's path; 0 when it
    /// is in the main file's own tree (or not in `ctx`).
    pub fn via_of(&self, ctx: CtxId, dir: DirRef) -> ViaId {
        let c = self.tree.ctx(ctx);
        c.directives()
            .iter()
            .position(|&d| d == dir)
            .map_or(0, |i| c.via_at(i))
    }

    /// The `include` directives through which `dir`, written directly in
    /// block `ctx`, was read, outermost first (empty in the main file).
    pub fn includes_of(&self, ctx: CtxId, dir: DirRef) -> Vec<DirRef> {
        self.tree.via_chain(self.via_of(ctx, dir))
    }

    /// The `include` that brought the file of a hop's setting in, when it
    /// is not the one that brought in the hop's pass directive (that one
    /// the hop's own `via` says): the snippet included in a location.
    pub fn brought_by(&self, hop: &Hop, p: &Provenance) -> Option<DirRef> {
        let via = self.via_of(p.ctx, p.dir);
        if via == 0 || via == self.via_of(hop.ctx, hop.pass) {
            return None;
        }
        Some(self.tree.vias[via as usize - 1].include)
    }

    /// A block as people name it: `location /admin/`, `if ($x)` (its
    /// arguments as written), else its level (`server`, `http`).
    pub fn block_label(&self, ctx: CtxId) -> String {
        let c = self.tree.ctx(ctx);
        let Some(opener) = c.opener else {
            return c.kind.level().to_string();
        };
        match c.kind {
            Kind::Location | Kind::If | Kind::LimitExcept => {
                let d = self.dir(opener);
                let f = self.config.file(opener.file);
                let args: Vec<String> =
                    d.args.iter().map(|a| f.str(a.range).into_owned()).collect();
                format!("{} {}", d.name(), args.join(" "))
            }
            kind => kind.level().to_string(),
        }
    }

    /// The chain of hop `h` (index in [`Model::hops`]): for each block
    /// around the pass, outermost first, the line that opens it, then the
    /// lines in it that set one of the hop's effective values (in reading
    /// order); last the pass directive. Each `include` on the way comes
    /// once, just before the first line it brings in.
    pub fn hop_chain(&self, h: usize) -> Vec<Link> {
        let Some(hop) = self.hops.get(h) else {
            return Vec::new();
        };
        let mut sets: Vec<(CtxId, DirRef, Step)> = Vec::new();
        for (i, s) in hop.settings.iter().enumerate() {
            if let Origin::Explicit(p) = &s.origin {
                sets.extend(s.lines.iter().map(|&l| (p.ctx, l, Step::Setting(i))));
            }
        }
        if let Some(Header {
            origin: Origin::Explicit(p),
            ..
        }) = &hop.host_header
        {
            sets.push((p.ctx, p.dir, Step::Host));
        }
        let mut chain = Chain {
            model: self,
            links: Vec::new(),
            shown: Vec::new(),
        };
        let blocks: Vec<CtxId> = self.tree.ancestors(hop.ctx).collect();
        for &c in blocks.iter().rev() {
            let ctx = self.tree.ctx(c);
            if let (Some(opener), Some(parent)) = (ctx.opener, ctx.parent) {
                chain.push(self.via_of(parent, opener), opener, Step::Opener(ctx.kind));
            }
            let mut here: Vec<(u32, DirRef, Step)> = sets
                .iter()
                .filter(|(sc, _, _)| *sc == c)
                .filter_map(|(_, d, step)| {
                    let i = ctx.directives().iter().position(|x| x == d)?;
                    Some((ctx.order()[i], *d, step.clone()))
                })
                .collect();
            here.sort_by_key(|(order, _, _)| *order);
            for (_, d, step) in here {
                chain.push(self.via_of(c, d), d, step);
            }
        }
        chain.push(self.via_of(hop.ctx, hop.pass), hop.pass, Step::Pass);
        chain.links
    }
}

/// The chain being built: includes are listed once, at their first use.
struct Chain<'a> {
    model: &'a Model,
    links: Vec<Link>,
    /// Each include chain step listed, with its link's index.
    shown: Vec<(ViaId, usize)>,
}

impl Chain<'_> {
    fn push(&mut self, via: ViaId, dir: DirRef, step: Step) {
        let vias = &self.model.tree.vias;
        // The chain's steps, outermost first.
        let mut ids: Vec<ViaId> = std::iter::successors((via > 0).then_some(via), |&v| {
            let outer = vias[v as usize - 1].outer;
            (outer > 0).then_some(outer)
        })
        .collect();
        ids.reverse();
        for (k, &v) in ids.iter().enumerate() {
            let brought = ids
                .get(k + 1)
                .map_or(dir.file, |&n| vias[n as usize - 1].include.file);
            match self.shown.iter().find(|(s, _)| *s == v) {
                Some(&(_, i)) => {
                    if let Step::Include { brings } = &mut self.links[i].step {
                        if !brings.contains(&brought) {
                            brings.push(brought);
                        }
                    }
                }
                None => {
                    self.shown.push((v, self.links.len()));
                    self.links.push(Link {
                        dir: vias[v as usize - 1].include,
                        step: Step::Include {
                            brings: vec![brought],
                        },
                    });
                }
            }
        }
        self.links.push(Link { dir, step });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::model;

    /// The chain as `file:line what` lines.
    fn story(m: &Model, h: usize) -> Vec<String> {
        m.hop_chain(h)
            .iter()
            .map(|l| {
                let what = match &l.step {
                    Step::Include { brings } => format!(
                        "include → {}",
                        brings
                            .iter()
                            .map(|&f| m.config.file(f).name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Step::Opener(k) => format!("opens {}", k.level()),
                    Step::Setting(i) => format!("sets {}", m.hops[h].settings[*i].name),
                    Step::Host => "sets Host".into(),
                    Step::Pass => "the hop".into(),
                };
                format!("{} {what}", m.file_line(l.dir))
            })
            .collect()
    }

    const DEMO_SHAPE: &[(&str, &str)] = &[
        (
            "nginx.conf",
            "http {\n    proxy_ssl_protocols TLSv1.2;\n    include site.conf;\n}\n",
        ),
        (
            "site.conf",
            "server {\n    proxy_ssl_server_name on;\n    location /admin/ {\n        include tls.conf;\n        location /admin/reports/ {\n            proxy_pass https://reports.example.com;\n            proxy_set_header Host reports.example.com;\n        }\n    }\n}\n",
        ),
        ("tls.conf", "# shared\nproxy_ssl_server_name on;\nproxy_ssl_verify on;\n"),
    ];

    #[test]
    fn the_chain_tells_the_story_from_http_down_to_the_hop() {
        let m = model(DEMO_SHAPE);
        assert_eq!(
            story(&m, 0),
            [
                "nginx.conf:1 opens http",
                "nginx.conf:2 sets proxy_ssl_protocols",
                "nginx.conf:3 include → site.conf",
                "site.conf:1 opens server",
                // The server's proxy_ssl_server_name is overridden by the
                // snippet in /admin/: it is not one of the hop's values.
                "site.conf:3 opens location",
                "site.conf:4 include → tls.conf",
                "tls.conf:2 sets proxy_ssl_server_name",
                "tls.conf:3 sets proxy_ssl_verify",
                "site.conf:5 opens location",
                "site.conf:7 sets Host",
                "site.conf:6 the hop",
            ]
        );
    }

    #[test]
    fn a_setting_names_the_include_that_brought_it_unless_the_hop_came_the_same_way() {
        let m = model(DEMO_SHAPE);
        let hop = &m.hops[0];
        let brought = |name: &str| {
            let s = hop.settings.iter().find(|s| s.name == name).unwrap();
            match &s.origin {
                Origin::Explicit(p) => m.brought_by(hop, p).map(|d| m.file_line(d)),
                Origin::Default => panic!("{name} is set"),
            }
        };
        assert_eq!(brought("proxy_ssl_verify").as_deref(), Some("site.conf:4"));
        // In the main file: no include brought it.
        assert_eq!(brought("proxy_ssl_protocols"), None);
        let p = match &hop.settings[0].origin {
            Origin::Explicit(p) => p.clone(),
            Origin::Default => panic!(),
        };
        assert_eq!(m.includes_of(p.ctx, p.dir).len(), 2);
        assert_eq!(m.block_label(p.ctx), "location /admin/");
        assert_eq!(m.block_label(hop.server.unwrap()), "server");
    }

    #[test]
    fn a_file_included_twice_gives_each_hop_its_own_includes() {
        let m = model(&[
            (
                "nginx.conf",
                "http {\n server {\n  location /a {\n   include tls.conf;\n   include common.conf;\n  }\n  location /b {\n   include common.conf;\n  }\n }\n}\n",
            ),
            ("tls.conf", "proxy_ssl_verify on;\n"),
            ("common.conf", "proxy_pass https://api.example.com;\n"),
        ]);
        assert_eq!(
            story(&m, 0),
            [
                "nginx.conf:1 opens http",
                "nginx.conf:2 opens server",
                "nginx.conf:3 opens location",
                "nginx.conf:4 include → tls.conf",
                "tls.conf:1 sets proxy_ssl_verify",
                "nginx.conf:5 include → common.conf",
                "common.conf:1 the hop",
            ]
        );
        assert_eq!(
            story(&m, 1),
            [
                "nginx.conf:1 opens http",
                "nginx.conf:2 opens server",
                "nginx.conf:7 opens location",
                "nginx.conf:8 include → common.conf",
                "common.conf:1 the hop",
            ]
        );
    }

    #[test]
    fn a_hop_in_if_lists_the_if_block_and_its_locations_settings() {
        let m = model(&[(
            "nginx.conf",
            "http {\n server {\n  location /api/ {\n   proxy_ssl_name api.example.com;\n   if ($request_method = POST) {\n    proxy_pass https://w.example.com;\n   }\n  }\n }\n}\n",
        )]);
        assert_eq!(
            story(&m, 0),
            [
                "nginx.conf:1 opens http",
                "nginx.conf:2 opens server",
                "nginx.conf:3 opens location",
                "nginx.conf:4 sets proxy_ssl_name",
                "nginx.conf:5 opens if",
                "nginx.conf:6 the hop",
            ]
        );
        let if_ctx = m.hops[0].ctx;
        assert_eq!(m.block_label(if_ctx), "if ($request_method = POST)");
        assert!(m.hop_chain(99).is_empty());
    }
}
