//! nginx's merge rules: the effective value of a directive for a block, and
//! where that value comes from. This is the one place they live.
//!
//! Inheritance follows nginx's merge functions
//! (`ngx_http_proxy_merge_loc_conf` and friends): each directive is merged
//! on its own, so an unset level takes the nearest enclosing level's value,
//! else nginx's default. The chain is location → enclosing locations →
//! server → http (stream: server → stream). `if` and `limit_except` blocks
//! cannot hold these directives; a pass inside them uses its location's.
//! Order inside a block does not matter, and a directive that arrives
//! through an `include` counts where the include is written.
//!
//! A scalar directive takes the first line of the level that sets it; an
//! array directive (`proxy_ssl_conf_command`, `proxy_set_header`) takes all
//! lines of that level, and a level with any such line replaces every
//! inherited one.

use std::borrow::Cow;
use std::sync::Arc;

use super::directives::{Module, Shape, Spec, SslDirective};
use super::hop::{Header, Setting};
use super::tree::{CtxId, DirRef};
use super::Model;

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
    /// `file:line` of the directive.
    pub fn file_line(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// See [`Model::settings_key`].
pub(super) type SettingsKey = (Module, Option<CtxId>, bool);

/// The settings made so far, by key.
pub(super) type SharedSettings = rustc_hash::FxHashMap<SettingsKey, Arc<[Setting]>>;

impl Model {
    /// The blocks whose `*_ssl_*` settings reach `ctx`, innermost first:
    /// `ctx` and its enclosing blocks that can hold such settings.
    fn merge_chain(&self, ctx: CtxId) -> impl Iterator<Item = CtxId> + '_ {
        self.tree
            .ancestors(ctx)
            .filter(|&c| self.tree.ctx(c).kind.holds_ssl_settings())
    }

    /// The nearest block that can hold `*_ssl_*` settings: a pass's own
    /// level (the location around an `if` or `limit_except`).
    pub(super) fn own_block(&self, ctx: CtxId) -> CtxId {
        self.merge_chain(ctx).next().unwrap_or(ctx)
    }

    /// The nearest block from `ctx` outwards, among those that can hold the
    /// directive, that sets it; with the lines there. This is nginx's merge
    /// for a scalar (first line) and for an array (all lines of that level).
    pub fn effective(&self, ctx: CtxId, name: &str) -> Option<(CtxId, Vec<DirRef>)> {
        // The name's id, looked up once for the whole chain.
        let id = self.name_ids.get(name).copied();
        self.merge_chain(ctx).find_map(|c| {
            let lines = match id {
                Some(id) => self.lines_with_id(c, id),
                None => self.lines_in(c, name),
            };
            (!lines.is_empty()).then_some((c, lines))
        })
    }

    /// [`Model::effective`] for one upstream TLS directive of a module.
    pub fn effective_ssl(
        &self,
        ctx: CtxId,
        module: Module,
        d: SslDirective,
    ) -> Option<(CtxId, Vec<DirRef>)> {
        self.effective(ctx, module.directive(d))
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
        // Only those that write some directive of the module can set one.
        let chain: Vec<CtxId> = self
            .merge_chain(ctx)
            .filter(|&c| self.sets_ssl_of(c, module))
            .collect();
        self.specs_of(module).iter().map(move |(spec, name, id)| {
            let found = chain.iter().find_map(|&c| {
                // Counted first: the list is kept (boxed) in the setting,
                // and one made to size is not copied again.
                let count = self.lines_iter(c, *id).count();
                (count > 0).then(|| {
                    let mut lines = Vec::with_capacity(count);
                    lines.extend(self.lines_iter(c, *id));
                    (c, lines)
                })
            });
            (*spec, *name, found)
        })
    }

    /// The effective value of every directive of a module at any block, as
    /// for a hop there: nginx's merge, with provenance.
    pub fn settings_at(&self, ctx: CtxId, module: Module) -> Vec<Setting> {
        self.settings_iter(ctx, module).collect()
    }

    /// Each setting of [`Model::settings_at`], in order.
    fn settings_iter(&self, ctx: CtxId, module: Module) -> impl Iterator<Item = Setting> + '_ {
        let own = self.own_block(ctx);
        self.effective_all(ctx, module)
            .map(move |(spec, name, found)| self.setting(name, spec, own, module, found))
    }

    /// What the settings of a hop at `ctx` depend on: the module, the
    /// nearest block of its merge chain that writes one of the module's
    /// directives, and whether that block is the hop's own. Hops with the
    /// same key have the same settings, provenance included.
    pub(super) fn settings_key(&self, ctx: CtxId, module: Module) -> SettingsKey {
        let own = self.own_block(ctx);
        let first = self.merge_chain(ctx).find(|&c| self.sets_ssl_of(c, module));
        (module, first, first == Some(own))
    }

    /// [`Model::settings_at`], made once per [`SettingsKey`] and shared by
    /// the hops that have it.
    pub(super) fn shared_settings(
        &self,
        ctx: CtxId,
        module: Module,
        made: &mut SharedSettings,
    ) -> Arc<[Setting]> {
        let key = self.settings_key(ctx, module);
        Arc::clone(
            made.entry(key)
                .or_insert_with(|| self.settings_iter(ctx, module).collect()),
        )
    }

    /// One directive's effective value: its value where it is set (scalar:
    /// the first line; array: every line joined by `; `), else nginx's
    /// default for this version.
    fn setting(
        &self,
        name: &'static str,
        spec: &'static Spec,
        own: CtxId,
        module: Module,
        found: Option<(CtxId, Vec<DirRef>)>,
    ) -> Setting {
        match found {
            Some((block, lines)) => {
                let value = match spec.shape {
                    Shape::Scalar => match &*self.dir(lines[0]).args {
                        // Most values are a flag: no text of their own.
                        [one] if one.value == "on" => Cow::Borrowed("on"),
                        [one] if one.value == "off" => Cow::Borrowed("off"),
                        _ => Cow::Owned(self.dir(lines[0]).args_joined()),
                    },
                    Shape::Array => lines
                        .iter()
                        .map(|&l| self.dir(l).args_joined())
                        .collect::<Vec<_>>()
                        .join("; ")
                        .into(),
                };
                Setting {
                    name,
                    spec,
                    value: Some(value),
                    origin: Origin::Explicit(Box::new(self.provenance(block, lines[0]))),
                    inherited: block != own,
                    lines: lines.into_boxed_slice(),
                }
            }
            None => Setting {
                value: spec.default(module, self.version).map(Cow::Borrowed),
                name,
                spec,
                origin: Origin::Default,
                inherited: false,
                lines: Box::default(),
            },
        }
    }

    /// The effective value of one header of an array directive such as
    /// `proxy_set_header` (a block with any such line replaces all inherited
    /// lines), or nginx's default.
    pub fn header(&self, ctx: CtxId, directive: &str, header: &str, default: &str) -> Header {
        if let Some((block, lines)) = self.effective(ctx, directive) {
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
                    origin: Origin::Explicit(Box::new(self.provenance(block, l))),
                };
            }
        }
        Header {
            value: default.to_string(),
            origin: Origin::Default,
        }
    }

    /// Where a directive in block `ctx` is: the block, its level, file and line.
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
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::test_support::model;

    #[test]
    fn shared_settings_are_each_hops_own_merge() {
        let m = model(&[(
            "nginx.conf",
            "events {}\nhttp {\n proxy_ssl_verify on;\n server {\n  proxy_ssl_name a;\n  \
             location /a { proxy_pass https://a; }\n  location /b { proxy_pass https://b; }\n  \
             location /c { proxy_ssl_verify off; proxy_pass https://c;\n   \
             location /c/d { proxy_pass https://d; }\n   if ($x) { proxy_pass https://e; } }\n  \
             location /g { grpc_pass grpcs://g; }\n }\n server { location /f { proxy_pass https://f; } }\n}\n",
        )]);
        assert_eq!(m.hops.len(), 7);
        for h in &m.hops {
            let alone = m.settings_at(h.ctx, h.module);
            assert_eq!(
                format!("{:?}", h.settings),
                format!("{alone:?}"),
                "{}",
                h.id
            );
        }
        let by = |host: &str| {
            let h = m.hops.iter().find(|h| h.target.host == host).expect(host);
            &h.settings
        };
        // Locations that set nothing share their server's settings; a
        // block that sets one (and its `if`) has its own, and so does a
        // block below it, where the values are inherited.
        assert!(Arc::ptr_eq(by("a"), by("b")));
        assert!(Arc::ptr_eq(by("c"), by("e")));
        assert!(!Arc::ptr_eq(by("a"), by("c")));
        assert!(!Arc::ptr_eq(by("c"), by("d")));
        assert!(!Arc::ptr_eq(by("a"), by("f")));
        assert!(!Arc::ptr_eq(by("a"), by("g")));
        let verify = |host: &str| {
            let s = by(host)
                .iter()
                .find(|s| s.name == "proxy_ssl_verify")
                .unwrap();
            (s.value.as_deref().map(str::to_string), s.inherited)
        };
        assert_eq!(verify("c"), (Some("off".into()), false));
        assert_eq!(verify("d"), (Some("off".into()), true));
        assert_eq!(verify("a"), (Some("on".into()), true));
    }
}
