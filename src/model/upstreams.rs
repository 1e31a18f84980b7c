//! `upstream {}` groups: collecting them, finding the one a pass names,
//! and the spelling nginx keeps for each upstream.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use super::directives::Module;
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
            Some(i) => (&raw[..i], &raw[i + 3..]),
            None => ("", raw),
        };
        if rest.starts_with("unix:") {
            return None;
        }
        // Host and port as `Target::parse_stream` splits them.
        let authority = rest.split('/').next().unwrap_or(rest);
        let host_end = if authority.starts_with('[') {
            authority.find(']').map_or(authority.len(), |i| i + 1)
        } else {
            authority.find(':').unwrap_or(authority.len())
        };
        let host = &authority[..host_end];
        if host.is_empty() {
            return None;
        }
        let lower = host.to_ascii_lowercase();
        if self.find_upstream(host, stream).is_some() {
            return Some(((stream, lower, None), host.to_string()));
        }
        let default_port = ["http", "grpc"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
            .then_some("80")
            .or_else(|| {
                ["https", "grpcs"]
                    .iter()
                    .any(|s| scheme.eq_ignore_ascii_case(s))
                    .then_some("443")
            });
        let port = authority[host_end..]
            .strip_prefix(':')
            .or(default_port)
            .map(str::to_string);
        Some(((stream, lower, port), host.to_string()))
    }

    /// The spelling nginx keeps for each upstream: the first it reads, from
    /// an `upstream {}` block or a pass directive naming it.
    /// The spelling nginx keeps for each upstream (the host as first read,
    /// by an `upstream {}` block or a pass), and the key of each pass
    /// among them. A pass keeps only its key's number: a server with
    /// hundreds of thousands of passes names a handful of upstreams.
    pub(super) fn spellings(
        &self,
        passes: &[(u32, DirRef, CtxId, Module)],
    ) -> (Spellings, Vec<Option<u32>>) {
        let mut ids: FxHashMap<UpstreamKey, u32> = FxHashMap::default();
        // Per key: the reading order and host of its first spelling.
        let mut first: Vec<(u32, String)> = Vec::new();
        let mut note = |key: UpstreamKey, order: u32, host: &str| -> u32 {
            let next = first.len() as u32;
            let id = *ids.entry(key).or_insert(next);
            match first.get_mut(id as usize) {
                Some(f) if order < f.0 => *f = (order, host.to_string()),
                Some(_) => {}
                None => first.push((order, host.to_string())),
            }
            id
        };
        for u in &self.upstreams {
            note(
                (u.stream, u.name.to_ascii_lowercase(), None),
                u.order,
                &u.name,
            );
        }
        // The key depends on the address alone: passes written alike (a
        // server's thousands of locations pass to one group) work it out
        // once. The first of them comes first in reading order, so a later
        // one never brings an earlier spelling.
        let mut by_raw: FxHashMap<(bool, &str), Option<u32>> = FxHashMap::default();
        let keys = passes
            .iter()
            .map(|&(order, r, _, module)| {
                let raw = self.dir(r).arg(0)?;
                let stream = module.is_stream();
                *by_raw.entry((stream, raw)).or_insert_with(|| {
                    let (key, host) = self.upstream_key(stream, raw)?;
                    Some(note(key, order, &host))
                })
            })
            .collect();
        let names = first.into_iter().map(|(_, host)| host).collect();
        (Spellings { ids, names }, keys)
    }
}

/// The spelling nginx keeps for each upstream key.
pub(super) struct Spellings {
    ids: FxHashMap<UpstreamKey, u32>,
    names: Vec<String>,
}

impl Spellings {
    /// The spelling of a key.
    pub(super) fn get(&self, key: &UpstreamKey) -> Option<&String> {
        self.ids.get(key).and_then(|&id| self.by_id(id))
    }

    /// The spelling of a key, by the number [`Model::spellings`] gave it.
    pub(super) fn by_id(&self, id: u32) -> Option<&String> {
        self.names.get(id as usize)
    }
}
