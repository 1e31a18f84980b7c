//! One identity per hop. nginx reads a file included in several places
//! once per place: a pass directive in it opens one upstream connection
//! per include path, each with the settings of its own surroundings. Each
//! path is its own hop, and its id says which:
//!
//! - `file:line` of the pass directive when it is reached one way only;
//! - `file:line@INC` when it is reached through several include paths,
//!   where `INC` is the `file:line` of the include directive nearest the
//!   pass that tells this path from the others; when the nearest include
//!   is shared, more of the chain follows, innermost first
//!   (`common.conf:2@site.conf:7@nginx.conf:30`).
//!
//! Ids depend only on the files' text, so they are the same in every run
//! and on the directory or its `nginx -T` dump. Two hops that still share
//! an id (two pass directives on one line, or one file included twice by
//! the same line) are told apart by `#2`, `#3`… in reading order.

use std::collections::HashMap;

use super::tree::DirRef;
use super::Model;

impl Model {
    /// Gives every hop its id. `paths` holds, for each pass directive
    /// reached through several include paths, every path's include chain
    /// (innermost first), TLS or not: an id says which path it is among
    /// all of them, so it does not change when another path's scheme does.
    pub(super) fn assign_ids(&mut self, paths: &HashMap<DirRef, Vec<Vec<DirRef>>>) {
        for i in 0..self.hops.len() {
            let Some(chains) = paths.get(&self.hops[i].pass) else {
                continue;
            };
            let mine: Vec<DirRef> = self.hops[i].via.iter().rev().copied().collect();
            let n = distinguishing_len(chains, &mine);
            let mut id = self.hops[i].id.clone();
            for &inc in &mine[..n] {
                id.push('@');
                id.push_str(&self.file_line(inc));
            }
            self.hops[i].id = id;
        }
        // Ids still alike are numbered in order (`#2`, `#3`, …): counted
        // on the ids as they are, then renamed, so no id is copied.
        let mut seen: rustc_hash::FxHashMap<&str, usize> = Default::default();
        let mut renames = Vec::new();
        for (i, hop) in self.hops.iter().enumerate() {
            let n = seen.entry(hop.id.as_str()).or_insert(0);
            *n += 1;
            if *n > 1 {
                renames.push((i, *n));
            }
        }
        drop(seen);
        for (i, n) in renames {
            let hop = &mut self.hops[i];
            hop.id = format!("{}#{n}", hop.id);
        }
    }

    /// The other hops of the same pass directive (reached through other
    /// include paths), by index in [`Model::hops`].
    pub fn other_paths(&self, hop: usize) -> Vec<usize> {
        let Some(pass) = self.hops.get(hop).map(|h| h.pass) else {
            return Vec::new();
        };
        let mut first = hop;
        while first > 0 && self.hops[first - 1].pass == pass {
            first -= 1;
        }
        (first..self.hops.len())
            .take_while(|&i| self.hops[i].pass == pass)
            .filter(|&i| i != hop)
            .collect()
    }

    /// The ids of the hops a pass directive's `file:line` names when it is
    /// reached through several include paths (for a message that lists
    /// them when someone gives the bare `file:line`).
    pub fn ids_at(&self, file_line: &str) -> Vec<&str> {
        self.hops
            .iter()
            .map(|h| h.id.as_str())
            .filter(|id| {
                id.strip_prefix(file_line)
                    .is_some_and(|rest| rest.starts_with('@') || rest.starts_with('#'))
            })
            .collect()
    }
}

/// How many includes of `mine` (innermost first) tell it from every
/// other chain of `chains`: the shortest prefix no other chain starts with
/// (the whole chain when none is that short).
fn distinguishing_len(chains: &[Vec<DirRef>], mine: &[DirRef]) -> usize {
    (1..=mine.len())
        .find(|&n| {
            chains
                .iter()
                .filter(|other| other.as_slice() != mine)
                .all(|other| other.get(..n) != Some(&mine[..n]))
        })
        .unwrap_or(mine.len())
}

#[cfg(test)]
mod tests {
    use crate::test_support::model;

    fn ids(files: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
        let m = model(files);
        m.hops
            .iter()
            .map(|h| {
                let via = h.via.iter().map(|&d| m.file_line(d)).collect();
                (h.id.clone(), via)
            })
            .collect()
    }

    fn pairs(v: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        v.iter()
            .map(|(id, via)| (id.to_string(), via.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_file_included_once_keeps_file_line() {
        let got = ids(&[
            (
                "nginx.conf",
                "http {\n server {\n  location / { proxy_pass https://a.example; }\n  location /b/ {\n   include b.conf;\n  }\n }\n}\n",
            ),
            ("b.conf", "proxy_pass https://b.example;\n"),
        ]);
        assert_eq!(
            got,
            pairs(&[("nginx.conf:3", &[]), ("b.conf:1", &["nginx.conf:5"]),])
        );
    }

    #[test]
    fn an_id_names_its_path_even_when_the_other_paths_are_plain() {
        // Nginx Proxy Manager's shape: one proxy.conf for every host, TLS
        // for some. Turning another host's scheme to https must not rename
        // this hop, so the id tells the paths apart among all of them.
        let got = ids(&[
            (
                "nginx.conf",
                "http {\n server {\n  set $s https;\n  location / { include proxy.conf; }\n }\n server {\n  set $s http;\n  location / { include proxy.conf; }\n }\n}\n",
            ),
            ("proxy.conf", "proxy_pass $s://api.example.com;\n"),
        ]);
        assert_eq!(
            got,
            pairs(&[("proxy.conf:1@nginx.conf:4", &["nginx.conf:4"])])
        );
    }

    #[test]
    fn each_include_path_is_its_own_hop() {
        let got = ids(&[
            (
                "nginx.conf",
                "http {\n server {\n  location /a {\n   proxy_ssl_server_name on;\n   include common.conf;\n  }\n  location /b {\n   include common.conf;\n  }\n }\n}\n",
            ),
            ("common.conf", "# shared\nproxy_pass https://api.example.com;\n"),
        ]);
        assert_eq!(
            got,
            pairs(&[
                ("common.conf:2@nginx.conf:5", &["nginx.conf:5"]),
                ("common.conf:2@nginx.conf:8", &["nginx.conf:8"]),
            ])
        );
        let m = model(&[
            (
                "nginx.conf",
                "http {\n server {\n  location /a {\n   proxy_ssl_server_name on;\n   include common.conf;\n  }\n  location /b {\n   include common.conf;\n  }\n }\n}\n",
            ),
            ("common.conf", "# shared\nproxy_pass https://api.example.com;\n"),
        ]);
        // Each path has its own settings.
        assert!(m.hops[0].sni.sent);
        assert!(!m.hops[1].sni.sent);
        assert_eq!(m.other_paths(0), [1]);
        assert_eq!(m.hop_by_id("common.conf:2@nginx.conf:8"), Some(1));
        assert_eq!(m.hop_by_id("common.conf:2"), None);
        assert_eq!(
            m.ids_at("common.conf:2"),
            ["common.conf:2@nginx.conf:5", "common.conf:2@nginx.conf:8"]
        );
    }

    #[test]
    fn a_shared_nearest_include_appends_more_of_the_chain() {
        // site.conf is included twice; it includes common.conf once (line 2).
        let got = ids(&[
            (
                "nginx.conf",
                "http {\n server {\n  listen 80;\n  include site.conf;\n }\n server {\n  listen 81;\n  include site.conf;\n }\n}\n",
            ),
            ("site.conf", "location / {\n include common.conf;\n}\n"),
            ("common.conf", "proxy_pass https://api.example.com;\n"),
        ]);
        assert_eq!(
            got,
            pairs(&[
                (
                    "common.conf:1@site.conf:2@nginx.conf:4",
                    &["nginx.conf:4", "site.conf:2"]
                ),
                (
                    "common.conf:1@site.conf:2@nginx.conf:8",
                    &["nginx.conf:8", "site.conf:2"]
                ),
            ])
        );
    }

    #[test]
    fn only_as_much_chain_as_tells_the_paths_apart() {
        // outer.conf (included twice) includes inner.conf twice: four paths;
        // plus a third, direct include of inner.conf.
        let got = ids(&[
            (
                "nginx.conf",
                "http {\n server {\n  location /a { include outer.conf; }\n  location /b { include outer.conf; }\n  location /c { include inner.conf; }\n }\n}\n",
            ),
            (
                "outer.conf",
                "include inner.conf;\nlocation ~ /deep/ {\n include inner.conf;\n}\n",
            ),
            ("inner.conf", "proxy_pass https://api.example.com;\n"),
        ]);
        let id_list: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            id_list,
            [
                "inner.conf:1@outer.conf:1@nginx.conf:3",
                "inner.conf:1@outer.conf:3@nginx.conf:3",
                "inner.conf:1@outer.conf:1@nginx.conf:4",
                "inner.conf:1@outer.conf:3@nginx.conf:4",
                "inner.conf:1@nginx.conf:5",
            ]
        );
    }

    #[test]
    fn ids_stay_unique_when_positions_coincide() {
        // Two includes of one file on one line, and two passes on one line.
        let got = ids(&[
            (
                "nginx.conf",
                "http {\n server {\n  location /a { include c.conf; include c.conf; }\n  location /b { proxy_pass https://b.example; } location /c { proxy_pass https://c.example; }\n }\n}\n",
            ),
            ("c.conf", "proxy_pass https://api.example.com;\n"),
        ]);
        let id_list: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(
            id_list,
            [
                "nginx.conf:4",
                "nginx.conf:4#2",
                "c.conf:1@nginx.conf:3",
                "c.conf:1@nginx.conf:3#2",
            ]
        );
    }
}
