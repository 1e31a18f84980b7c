//! `upstream {}` groups: collecting them, finding the one a pass names,
//! and the spelling nginx keeps for each upstream.

use std::collections::HashMap;

use super::directives::Module;
use super::target::Target;
use super::tree::{CtxId, DirRef, Kind};
use super::Model;

/// An `upstream {}` block.
#[derive(Clone, Debug)]
pub struct Upstream {
    pub name: String,
    pub ctx: CtxId,
    pub stream: bool,
    pub dir: DirRef,
    pub file: String,
    pub line: u32,
    /// The address of each `server` line, as written.
    pub servers: Vec<String>,
    /// Position of the block in nginx's reading order.
    pub order: u32,
}

/// How nginx files an upstream: context (stream?), lower-cased host, port
/// (None for an `upstream {}` block).
pub(super) type UpstreamKey = (bool, String, Option<String>);

impl Model {
    pub(super) fn collect_upstreams(&mut self) {
        // Reading order of each block opener in the contexts that hold
        // upstream blocks, looked up once instead of per upstream. Keyed
        // by the parent too: a file included in two places puts the same
        // directive in two contexts.
        let mut opener_order: HashMap<(CtxId, DirRef), u32> = HashMap::new();
        let mut indexed = vec![false; self.tree.ctx_count()];
        for c in self.tree.ctxs() {
            if !matches!(c.kind, Kind::Upstream | Kind::StreamUpstream) {
                continue;
            }
            let Some(p) = c.parent else { continue };
            if std::mem::replace(&mut indexed[p as usize], true) {
                continue;
            }
            let parent = self.tree.ctx(p);
            for (&d, &o) in parent.directives().iter().zip(parent.order()) {
                opener_order.entry((p, d)).or_insert(o);
            }
        }
        for (i, c) in self.tree.ctxs().enumerate() {
            if !matches!(c.kind, Kind::Upstream | Kind::StreamUpstream) {
                continue;
            }
            let Some(opener) = c.opener else { continue };
            let d = self.dir(opener);
            let Some(name) = d.arg(0) else { continue };
            let servers = c
                .directives()
                .iter()
                .filter(|&&r| self.dir(r).name() == "server")
                .filter_map(|&r| self.dir(r).arg(0).map(str::to_string))
                .collect();
            let order = c
                .parent
                .and_then(|p| opener_order.get(&(p, opener)))
                .copied()
                .unwrap_or(0);
            let up = Upstream {
                order,
                name: name.to_string(),
                ctx: i as CtxId,
                stream: c.kind == Kind::StreamUpstream,
                dir: opener,
                file: self.file_name(opener).to_string(),
                line: self.line_col(opener).0,
                servers,
            };
            self.upstreams.push(up);
        }
        for (i, u) in self.upstreams.iter().enumerate() {
            let ids = self
                .upstream_ids
                .entry(u.name.to_ascii_lowercase())
                .or_default();
            ids[usize::from(u.stream)].get_or_insert(i);
        }
    }

    /// The first `upstream {}` block named `host` (case-insensitively).
    pub(super) fn find_upstream(&self, host: &str, stream: bool) -> Option<usize> {
        let lower = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(host.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(host)
        };
        self.upstream_ids.get(lower.as_ref())?[usize::from(stream)]
    }

    /// The key under which nginx files the upstream a pass directive uses
    /// (`ngx_http_upstream_add`: names compare case-insensitively; an
    /// `upstream {}` block takes every pass naming it, others are told apart
    /// by port) and the host as this pass spells it.
    pub(super) fn upstream_key(&self, stream: bool, raw: &str) -> Option<(UpstreamKey, String)> {
        if raw.contains('$') {
            return None;
        }
        let (scheme, rest) = match raw.find("://") {
            Some(i) => (raw[..i].to_ascii_lowercase(), &raw[i + 3..]),
            None => (String::new(), raw),
        };
        if rest.starts_with("unix:") {
            return None;
        }
        let t = Target::parse_stream(rest.split('/').next().unwrap_or(rest));
        if t.host.is_empty() {
            return None;
        }
        let lower = t.host.to_ascii_lowercase();
        if self.find_upstream(&t.host, stream).is_some() {
            return Some(((stream, lower, None), t.host));
        }
        let default_port = match scheme.as_str() {
            "http" | "grpc" => Some("80"),
            "https" | "grpcs" => Some("443"),
            _ => None,
        };
        let port = t.port.clone().or(default_port.map(str::to_string));
        Some(((stream, lower, port), t.host))
    }

    /// The spelling nginx keeps for each upstream: the first it reads, from
    /// an `upstream {}` block or a pass directive naming it.
    pub(super) fn spellings(
        &self,
        passes: &[(u32, DirRef, CtxId, Module)],
        keys: &[Option<(UpstreamKey, String)>],
    ) -> HashMap<UpstreamKey, String> {
        let mut seen: Vec<(u32, UpstreamKey, String)> = Vec::new();
        for u in &self.upstreams {
            seen.push((
                u.order,
                (u.stream, u.name.to_ascii_lowercase(), None),
                u.name.clone(),
            ));
        }
        for (&(order, ..), key) in passes.iter().zip(keys) {
            if let Some((key, host)) = key {
                seen.push((order, key.clone(), host.clone()));
            }
        }
        seen.sort_by_key(|e| e.0);
        let mut out: HashMap<UpstreamKey, String> = HashMap::new();
        for (_, key, host) in seen {
            out.entry(key).or_insert(host);
        }
        out
    }
}
