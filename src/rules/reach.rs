//! How far a hop's connections go (this machine, a private network, an
//! internal zone, anywhere), as far as the configuration says.

use crate::model::{Hop, Model, Upstream};

use super::support::{is_dns_name, is_ip_literal, server_host};

/// Where a hop's connections go, as far as the configuration says: the
/// widest of its destinations (the pass target, or every server of its
/// `upstream {}` group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// This machine only: `localhost`, 127.0.0.0/8, `[::1]`, `unix:`.
    Loopback,
    /// One endpoint on a private network: a private address (RFC 1918,
    /// RFC 6598, link-local, IPv6 ULA), a container or service name (a
    /// single label, a Kubernetes `.svc`/`.cluster.local` name), a home or
    /// mDNS name (`.local`, `.lan`, `.home`), or the peers an ingress
    /// controller's Lua balancer picks among its pods. Such a peer serves
    /// one site, usually with a certificate made for it alone.
    Private,
    /// Names in an internal DNS zone (`.internal`, `.corp`, `.intranet`,
    /// or such a label inside the name, `api.internal.example.com`):
    /// internal services behind shared load balancers and ingresses,
    /// where the name picks the site.
    Internal,
    /// A public address, a public DNS name, or a destination not known
    /// statically.
    Public,
}

/// Labels that mark a name as one endpoint of a private network (a home
/// or mDNS name, a Kubernetes service), wherever they appear.
const ENDPOINT_LABELS: &[&str] = &["local", "localdomain", "lan", "home", "svc", "cluster"];

/// Labels that mark a name as part of an internal zone, wherever they
/// appear.
const INTERNAL_LABELS: &[&str] = &[
    "internal", "intranet", "corp", "private", "consul", "test", "invalid",
];

/// How far a single host (no port) is.
pub fn host_reach(host: &str) -> Reach {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.contains('$') {
        return Reach::Public;
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return Reach::Loopback;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match v6.parse::<std::net::Ipv6Addr>() {
            Ok(a) if a.is_loopback() => Reach::Loopback,
            Ok(a)
                if (a.segments()[0] & 0xfe00) == 0xfc00 || (a.segments()[0] & 0xffc0) == 0xfe80 =>
            {
                Reach::Private
            }
            Ok(a) => match a.to_ipv4_mapped() {
                Some(v4) => host_reach(&v4.to_string()),
                None => Reach::Public,
            },
            Err(_) => Reach::Public,
        };
    }
    if let Ok(a) = host.parse::<std::net::Ipv4Addr>() {
        let [o0, o1, ..] = a.octets();
        return if a.is_loopback() {
            Reach::Loopback
        } else if a.is_private() || a.is_link_local() || (o0 == 100 && (64..128).contains(&o1)) {
            Reach::Private
        } else {
            Reach::Public
        };
    }
    if !host.contains('.') || host.split('.').any(|l| ENDPOINT_LABELS.contains(&l)) {
        Reach::Private
    } else if host.split('.').any(|l| INTERNAL_LABELS.contains(&l)) {
        Reach::Internal
    } else {
        Reach::Public
    }
}

/// How far a hop's connections go: the target's host, or the widest of
/// its group's servers (`unix:` servers are on this machine); for a pass
/// built from variables, the widest of its values. An address this
/// configuration listens on is this machine.
pub fn hop_reach(model: &Model, hop: &Hop) -> Reach {
    // Nothing remembered: one hop asks.
    Reaches {
        model,
        groups: Vec::new(),
    }
    .hop(hop)
}

/// [`hop_reach`] for many hops: what a group's servers reach is worked
/// out once per group, not once per hop.
pub struct Reaches<'m> {
    model: &'m Model,
    /// Per group: None until asked; Some(None) for a group a Lua balancer
    /// picks peers for (the answer depends on the hop's Host).
    groups: Vec<Option<Option<Reach>>>,
}

impl<'m> Reaches<'m> {
    pub fn new(model: &'m Model) -> Reaches<'m> {
        Reaches {
            model,
            groups: vec![None; model.upstreams.len()],
        }
    }

    /// How far a hop's connections go (see [`hop_reach`]).
    pub fn hop(&mut self, hop: &Hop) -> Reach {
        let model = self.model;
        if hop.target.unix {
            return Reach::Loopback;
        }
        if !hop.variants.is_empty() {
            return hop
                .variants
                .iter()
                .map(|v| match v.upstream {
                    Some(u) => self.group(hop, u),
                    None if v.target.unix => Reach::Loopback,
                    None => address_reach(model, &v.target.host),
                })
                .max()
                .unwrap_or(Reach::Public);
        }
        if hop.target.dynamic {
            return Reach::Public;
        }
        match hop.upstream.filter(|&u| u < model.upstreams.len()) {
            Some(u) => self.group(hop, u),
            None => address_reach(model, &hop.target.host),
        }
    }

    fn group(&mut self, hop: &Hop, u: usize) -> Reach {
        let up = &self.model.upstreams[u];
        let known = match self.groups.get(u).copied().flatten() {
            Some(known) => known,
            None => {
                let known = (!lua_balanced(self.model, up)).then(|| servers_reach(self.model, up));
                if let Some(slot) = self.groups.get_mut(u) {
                    *slot = Some(known);
                }
                known
            }
        };
        known.unwrap_or_else(|| lua_reach(hop))
    }
}

/// Whether a Lua balancer picks the group's peers at run time
/// (ingress-nginx's `upstream_balancer`).
fn lua_balanced(model: &Model, up: &Upstream) -> bool {
    model.tree.ctx(up.ctx).directives().iter().any(|&r| {
        matches!(
            model.dir(r).name(),
            "balancer_by_lua_block" | "balancer_by_lua_file"
        )
    })
}

/// A Lua-balanced group reaches its cluster's endpoints, unless the hop
/// names its peer in a literal `Host` header (an ExternalName service on
/// another site).
fn lua_reach(hop: &Hop) -> Reach {
    match hop.host_header.as_ref().map(|h| h.value.as_str()) {
        Some(host) if is_dns_name(host) => host_reach(host).max(Reach::Private),
        _ => Reach::Private,
    }
}

/// The widest of a group's servers.
fn servers_reach(model: &Model, up: &Upstream) -> Reach {
    up.servers
        .iter()
        .map(|s| server_host(s).map_or(Reach::Loopback, |h| address_reach(model, h)))
        .max()
        .unwrap_or(Reach::Public)
}

/// How far one host is, counting an address some `listen` of this
/// configuration binds as this machine (a proxy in front of a web server
/// on the same host, as hosting panels set up).
fn address_reach(model: &Model, host: &str) -> Reach {
    let reach = host_reach(host);
    if reach != Reach::Loopback && is_ip_literal(host) && model.listens_on(host) {
        return Reach::Loopback;
    }
    reach
}
