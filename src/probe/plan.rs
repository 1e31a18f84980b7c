//! What to probe and how: the peers of a hop, and the settings its
//! handshake reproduces, with the files the configuration names used only
//! when they are this machine's ([`LocalFiles`]).

use std::path::{Path, PathBuf};

use crate::conf::LoadedFrom;
use crate::model::{Hop, Model, Module, SslDirective};

use super::result::PeerResult;

/// Whether the files and unix sockets a configuration names are this
/// machine's.
///
/// A configuration that came from elsewhere (an `nginx -T` dump, standard
/// input, a server over ssh, the demo) names paths on *its* machine. Using
/// them here would present this machine's client key (say
/// `/home/op/.ssh/id_client.key`) to a peer that configuration chose, and
/// connect to this machine's sockets (`unix:/run/docker.sock`). So the probe
/// reads certificate, key and CA files and connects to unix sockets only
/// for a tree loaded from disk, or when the operator says the files are
/// local (`--local-files`); otherwise it leaves them out and says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalFiles {
    /// The named files and sockets are this machine's: use them.
    Use,
    /// They are not known to be: leave them out, saying where the
    /// configuration came from.
    Refuse(Source),
}

/// Where a configuration came from, when not from this machine's disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `nginx -T` output (a file or standard input).
    Dump,
    /// A configuration file on standard input.
    Stdin,
    /// A server's configuration over ssh.
    Remote,
    /// What an `--exec` command printed (a container's, a pod's).
    Command,
    /// The built-in demo.
    Demo,
}

impl Source {
    pub(crate) fn says(self) -> &'static str {
        match self {
            Source::Dump => "the config came from a dump",
            Source::Stdin => "the config came from standard input",
            Source::Remote => "the config came from the server over ssh",
            Source::Command => "the config came from an --exec command",
            Source::Demo => "the config is the built-in demo",
        }
    }
}

impl LocalFiles {
    /// What the model's origin allows: a tree loaded from this machine's
    /// disk uses its files; a dump, standard input or the demo do not.
    /// (A model loaded over ssh is a dump; callers that know the
    /// configuration came over ssh say so with [`LocalFiles::remote`].)
    pub fn of(model: &Model) -> LocalFiles {
        match model.config.loaded_from {
            LoadedFrom::Disk if model.config.files.first().is_some_and(|f| f.on_disk) => {
                LocalFiles::Use
            }
            LoadedFrom::Disk => LocalFiles::Refuse(Source::Stdin),
            LoadedFrom::Dump => LocalFiles::Refuse(Source::Dump),
            LoadedFrom::Demo => LocalFiles::Refuse(Source::Demo),
        }
    }

    /// For a configuration fetched from a server over ssh.
    pub fn remote() -> LocalFiles {
        LocalFiles::Refuse(Source::Remote)
    }

    /// For a configuration an `--exec` command printed.
    pub fn command() -> LocalFiles {
        LocalFiles::Refuse(Source::Command)
    }

    /// The policy for a probe: `asked` (`--local-files`) wins; otherwise a
    /// configuration over ssh never uses local files, and anything else
    /// follows [`LocalFiles::of`].
    pub fn choose(model: &Model, remote: bool, asked: bool) -> LocalFiles {
        if asked {
            LocalFiles::Use
        } else if remote {
            LocalFiles::remote()
        } else {
            LocalFiles::of(model)
        }
    }
}

/// The peers of a hop: each server of its `upstream {}` pool, or the
/// target itself. None when the target has variables.
pub fn peers(model: &Model, hop: &Hop) -> Option<Vec<String>> {
    if hop.target.dynamic {
        return None;
    }
    if let Some(u) = hop.upstream {
        let up = &model.upstreams[u];
        // An http `server` line without a port means port 80
        // (ngx_http_upstream_server sets default_port 80, even for
        // https:// passes); stream servers must name a port.
        return Some(
            up.servers
                .iter()
                .map(|s| {
                    if up.stream || s.starts_with("unix:") || has_port(s) {
                        s.clone()
                    } else {
                        format!("{s}:80")
                    }
                })
                .collect(),
        );
    }
    if hop.target.unix {
        return Some(vec![format!("unix:{}", hop.target.host)]);
    }
    let port = hop.target.port.clone().or_else(|| match hop.module {
        Module::Proxy | Module::Grpc => Some("443".to_string()),
        _ => None,
    });
    Some(vec![match port {
        Some(p) => format!("{}:{p}", hop.target.host),
        None => hop.target.host.clone(),
    }])
}

/// Whether `host:port` or `[v6]:port` names a port.
pub(crate) fn has_port(addr: &str) -> bool {
    match addr.strip_prefix('[') {
        Some(rest) => rest
            .split_once(']')
            .is_some_and(|(_, p)| p.starts_with(':')),
        None => addr.contains(':'),
    }
}

/// Everything needed to reproduce a hop's handshake, resolved up front so
/// workers need no model.
#[derive(Clone, Debug)]
// Without the `probe` feature only the parts reports need are read.
#[cfg_attr(not(feature = "probe"), allow(dead_code))]
pub(crate) struct Plan {
    pub(crate) hop: String,
    pub(crate) sni: Option<String>,
    pub(crate) sni_note: Option<String>,
    pub(crate) verify_name: Option<String>,
    pub(crate) verify_on: bool,
    pub(crate) protocols: Vec<String>,
    pub(crate) ciphers: Option<String>,
    pub(crate) ca: Option<PathBuf>,
    /// How the CA is named in results, when not by `ca` (a copy of the
    /// server's file).
    pub(crate) ca_label: Option<String>,
    /// Why the hop's CA is not used (the configuration is not local).
    pub(crate) ca_left_out: Option<String>,
    /// The CA and CRL files on the server (a configuration over ssh), to be
    /// read there when the probe runs through it.
    pub(crate) server_ca: Option<(String, PathBuf)>,
    pub(crate) server_crl: Option<(String, PathBuf)>,
    /// Check the CRL (it is in the `ca` file).
    pub(crate) crl_check: bool,
    /// The hop presents a client certificate whose key stays on the
    /// server: the probe goes without it.
    pub(crate) cert_on_server: bool,
    pub(crate) depth: u32,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) alpn_h2: bool,
    /// Whether the named files and unix sockets may be used.
    pub(crate) files: LocalFiles,
    pub(crate) notes: Vec<String>,
}

/// A file setting of a hop, as the probe may use it.
pub(crate) enum FileSetting {
    /// Not set (or empty).
    Unset,
    /// Set, but left out; a note says why.
    LeftOut,
    /// Set, and not read: the configuration is not local. (name, path)
    NotLocal(String, PathBuf),
    /// A file on this machine.
    Path(PathBuf),
}

/// A file a hop's setting names. Nothing on this machine is looked at
/// unless `files` allows it.
pub(crate) fn file_setting(
    model: &Model,
    hop: &Hop,
    directive: SslDirective,
    files: LocalFiles,
    notes: &mut Vec<String>,
) -> FileSetting {
    let Some(s) = hop.setting(directive) else {
        return FileSetting::Unset;
    };
    let Some(v) = s.value.as_deref().filter(|v| !v.is_empty()) else {
        return FileSetting::Unset;
    };
    if v.contains('$') {
        notes.push(format!("{} has variables ({v}): left out", s.name));
        return FileSetting::LeftOut;
    }
    let path = if Path::new(v).is_absolute() {
        PathBuf::from(v)
    } else {
        model.config.prefix.join(v)
    };
    if let LocalFiles::Refuse(_) = files {
        return FileSetting::NotLocal(s.name.to_string(), path);
    }
    if path.is_file() {
        FileSetting::Path(path)
    } else {
        notes.push(format!(
            "{} {} is not on this machine: left out",
            s.name,
            path.display()
        ));
        FileSetting::LeftOut
    }
}

impl FileSetting {
    pub(crate) fn path(self) -> Option<PathBuf> {
        match self {
            FileSetting::Path(p) => Some(p),
            _ => None,
        }
    }
}

impl Plan {
    /// The result for `peer` before the handshake: the hop's SNI, verify
    /// name and notes.
    pub(crate) fn result_for(&self, peer: &str) -> PeerResult {
        let mut r = PeerResult::blank(self.hop.clone(), peer.to_string());
        r.sni = self.sni.clone();
        r.verify_name = self.verify_name.clone();
        r.notes = self.notes.clone();
        r
    }

    pub(crate) fn for_hop(model: &Model, hop: &Hop, files: LocalFiles) -> Plan {
        let mut notes = Vec::new();
        let value = |d: SslDirective| {
            hop.setting(d)
                .and_then(|s| s.value.as_deref().map(str::to_string))
        };
        let (sni, sni_note) = match (&hop.sni.name, hop.sni.sent, hop.sni.dynamic) {
            (Some(n), true, false) => (Some(n.clone()), None),
            (Some(n), true, true) => (
                None,
                Some(format!(
                    "the SNI is computed per request ({n}); probed without SNI"
                )),
            ),
            _ => (None, None),
        };
        let verify_name = hop.verify_name.clone().filter(|n| !n.contains('$'));
        let depth = value(SslDirective::VerifyDepth)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        let why = match files {
            LocalFiles::Use => "",
            LocalFiles::Refuse(source) => source.says(),
        };
        let mut ca_left_out = None;
        let (mut server_ca, mut server_crl) = (None, None);
        let on_server = files == LocalFiles::Refuse(Source::Remote);
        let ca = match file_setting(
            model,
            hop,
            SslDirective::TrustedCertificate,
            files,
            &mut notes,
        ) {
            // Read on the server when the probe runs (see Prepared::run).
            FileSetting::NotLocal(name, path) if on_server => {
                server_ca = Some((name, path));
                None
            }
            FileSetting::NotLocal(name, path) => {
                notes.push(format!(
                    "{name} {} not read: {why}; verification is checked against the system CA bundle instead (pass --local-files to use this machine's files)",
                    path.display()
                ));
                ca_left_out = Some(format!("the hop's CA was not read: {why}"));
                None
            }
            other => other.path(),
        };
        match file_setting(model, hop, SslDirective::Crl, files, &mut notes) {
            FileSetting::NotLocal(name, path) if on_server => server_crl = Some((name, path)),
            FileSetting::Path(_) | FileSetting::NotLocal(..) => notes.push(
                "the probe does not check the CRL: a revoked certificate still passes here".into(),
            ),
            FileSetting::Unset | FileSetting::LeftOut => {}
        }
        let cert = file_setting(model, hop, SslDirective::Certificate, files, &mut notes);
        let key = file_setting(model, hop, SslDirective::CertificateKey, files, &mut notes);
        let named: Vec<String> = [&cert, &key]
            .iter()
            .filter_map(|f| match f {
                FileSetting::NotLocal(name, path) => Some(format!("{name} {}", path.display())),
                _ => None,
            })
            .collect();
        if !named.is_empty() && on_server {
            notes.push(format!(
                "client certificate not presented: its private key stays on the server, so the probe through it goes without ({}); an upstream that requires a client certificate refuses this probe, not nginx",
                named.join(", ")
            ));
        } else if !named.is_empty() {
            notes.push(format!(
                "client certificate not presented: {why}; pass --local-files to use this machine's files ({})",
                named.join(", ")
            ));
        }
        let (cert, key) = (cert.path(), key.path());
        if hop
            .setting(SslDirective::PasswordFile)
            .and_then(|s| s.value.as_ref())
            .is_some()
        {
            notes.push(
                "password files are not used by the probe: an encrypted key fails to load".into(),
            );
        }
        Plan {
            hop: hop.id.clone(),
            sni,
            sni_note,
            verify_name,
            verify_on: hop.setting(SslDirective::Verify).is_some_and(|s| s.is_on()),
            protocols: value(SslDirective::Protocols)
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ciphers: value(SslDirective::Ciphers),
            ca,
            ca_label: None,
            ca_left_out,
            server_ca,
            server_crl,
            crl_check: false,
            cert_on_server: !named.is_empty() && on_server,
            depth,
            cert,
            key,
            alpn_h2: hop.module == Module::Grpc,
            files,
            notes,
        }
    }

    /// Everything [`ssl_context`](super::tls::ssl_context) reads from the plan.
    pub(crate) fn ssl_context_key(&self) -> String {
        format!(
            "{:?}",
            (
                &self.protocols,
                &self.ciphers,
                &self.ca,
                self.crl_check,
                self.depth,
                &self.cert,
                &self.key,
                self.alpn_h2
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_upstream_servers() {
        assert!(has_port("127.0.0.1:8443"));
        assert!(has_port("backend.example:443"));
        assert!(has_port("[::1]:443"));
        assert!(!has_port("[::1]"));
        assert!(!has_port("127.0.0.1"));
        assert!(!has_port("backend.example"));
    }
}
