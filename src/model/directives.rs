//! The table of upstream TLS directives: which module has which directive
//! since which nginx version, and nginx's default for a chosen version.
//!
//! Sources: the command tables and `merge_loc_conf`/`merge_srv_conf`
//! functions of ngx_http_proxy_module.c, ngx_http_grpc_module.c,
//! ngx_http_uwsgi_module.c and ngx_stream_proxy_module.c; versions from
//! the first release tag containing each commit (see
//! shared/nginx-upstream-tls.md).

use super::version::Version;
use std::sync::OnceLock;

/// The module that opens a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    /// ngx_http_proxy_module: `proxy_pass https://…`.
    Proxy,
    /// ngx_http_grpc_module: `grpc_pass grpcs://…`.
    Grpc,
    /// ngx_http_uwsgi_module: `uwsgi_pass suwsgi://…`.
    Uwsgi,
    /// ngx_stream_proxy_module: `proxy_pass` with `proxy_ssl on`.
    Stream,
}

impl Module {
    pub const ALL: [Module; 4] = [Module::Proxy, Module::Grpc, Module::Uwsgi, Module::Stream];

    /// The name used in JSON (`module`).
    pub fn as_str(self) -> &'static str {
        match self {
            Module::Proxy => "proxy",
            Module::Grpc => "grpc",
            Module::Uwsgi => "uwsgi",
            Module::Stream => "stream",
        }
    }
    /// Prefix of the module's directives.
    pub fn prefix(self) -> &'static str {
        match self {
            Module::Proxy | Module::Stream => "proxy",
            Module::Grpc => "grpc",
            Module::Uwsgi => "uwsgi",
        }
    }
    pub fn pass_directive(self) -> &'static str {
        match self {
            Module::Proxy | Module::Stream => "proxy_pass",
            Module::Grpc => "grpc_pass",
            Module::Uwsgi => "uwsgi_pass",
        }
    }
    /// The module's name for a directive: `proxy_ssl_server_name`,
    /// `grpc_ssl_verify`, …
    pub fn directive(self, d: SslDirective) -> &'static str {
        d.name(self)
    }
    pub fn is_stream(self) -> bool {
        self == Module::Stream
    }
    /// The module's bit in a set of modules (its place in [`Module::ALL`]).
    pub(super) fn bit(self) -> u8 {
        1 << self as u8
    }
    /// The scheme that makes a pass directive open TLS (http modules).
    pub fn tls_scheme(self) -> Option<&'static str> {
        match self {
            Module::Proxy => Some("https://"),
            Module::Grpc => Some("grpcs://"),
            Module::Uwsgi => Some("suwsgi://"),
            Module::Stream => None,
        }
    }
    /// When the module's upstream TLS support appeared.
    fn since(self) -> Version {
        match self {
            Module::Proxy => Version(1, 5, 6),
            Module::Grpc => Version(1, 13, 10),
            Module::Uwsgi => Version(1, 5, 8),
            Module::Stream => Version(1, 9, 0),
        }
    }
}

/// An upstream TLS directive, whichever module writes it: `Verify` is
/// `proxy_ssl_verify`, `grpc_ssl_verify` and `uwsgi_ssl_verify` (and the
/// stream module's `proxy_ssl_verify`). [`SslDirective::name`] gives the
/// module's spelling, so a misspelt directive does not compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SslDirective {
    /// `proxy_ssl` (stream only): whether the hop opens TLS.
    Ssl,
    /// `*_ssl_server_name`: whether SNI is sent.
    ServerName,
    /// `*_ssl_name`: the name sent and verified.
    Name,
    /// `*_ssl_verify`: whether the certificate is checked.
    Verify,
    /// `*_ssl_verify_depth`.
    VerifyDepth,
    /// `*_ssl_trusted_certificate`: the CA bundle.
    TrustedCertificate,
    /// `*_ssl_crl`.
    Crl,
    /// `*_ssl_protocols`.
    Protocols,
    /// `*_ssl_ciphers`.
    Ciphers,
    /// `*_ssl_certificate`: the client certificate.
    Certificate,
    /// `*_ssl_certificate_key`.
    CertificateKey,
    /// `*_ssl_password_file`.
    PasswordFile,
    /// `*_ssl_certificate_cache`.
    CertificateCache,
    /// `*_ssl_session_reuse`.
    SessionReuse,
    /// `*_ssl_conf_command`.
    ConfCommand,
    /// `proxy_ssl_alpn` (stream only).
    Alpn,
}

impl SslDirective {
    /// Every directive, in the order hopscope lists them.
    pub const ALL: [SslDirective; 16] = [
        SslDirective::Ssl,
        SslDirective::ServerName,
        SslDirective::Name,
        SslDirective::Verify,
        SslDirective::VerifyDepth,
        SslDirective::TrustedCertificate,
        SslDirective::Crl,
        SslDirective::Protocols,
        SslDirective::Ciphers,
        SslDirective::Certificate,
        SslDirective::CertificateKey,
        SslDirective::PasswordFile,
        SslDirective::CertificateCache,
        SslDirective::SessionReuse,
        SslDirective::ConfCommand,
        SslDirective::Alpn,
    ];

    /// The part after `<prefix>_ssl` (`_server_name`), or "" for stream
    /// `proxy_ssl`.
    fn suffix(self) -> &'static str {
        match self {
            SslDirective::Ssl => "",
            SslDirective::ServerName => "_server_name",
            SslDirective::Name => "_name",
            SslDirective::Verify => "_verify",
            SslDirective::VerifyDepth => "_verify_depth",
            SslDirective::TrustedCertificate => "_trusted_certificate",
            SslDirective::Crl => "_crl",
            SslDirective::Protocols => "_protocols",
            SslDirective::Ciphers => "_ciphers",
            SslDirective::Certificate => "_certificate",
            SslDirective::CertificateKey => "_certificate_key",
            SslDirective::PasswordFile => "_password_file",
            SslDirective::CertificateCache => "_certificate_cache",
            SslDirective::SessionReuse => "_session_reuse",
            SslDirective::ConfCommand => "_conf_command",
            SslDirective::Alpn => "_alpn",
        }
    }

    /// The directive's full name in a module (`grpc_ssl_verify`). Names are
    /// made once per process (one per directive and module), so every
    /// setting of every hop shares them.
    pub fn name(self, m: Module) -> &'static str {
        static NAMES: OnceLock<Vec<[&'static str; 4]>> = OnceLock::new();
        let names = NAMES.get_or_init(|| {
            SslDirective::ALL
                .iter()
                .map(|d| {
                    Module::ALL.map(|m| {
                        &*Box::leak(format!("{}_ssl{}", m.prefix(), d.suffix()).into_boxed_str())
                    })
                })
                .collect()
        });
        names[self as usize][module_index(m)]
    }
}

/// How nginx stores a directive, which decides how it merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One value; the nearest level that sets it wins.
    Scalar,
    /// May repeat; all lines of the nearest level that has any win together.
    Array,
}

/// One upstream TLS directive of one module.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub directive: SslDirective,
    pub shape: Shape,
    since: [Option<Version>; 4],
}

const fn v(a: u16, b: u16, c: u16) -> Option<Version> {
    Some(Version(a, b, c))
}

/// Every directive, in the order hopscope lists them. `since` is indexed by
/// module: proxy, grpc, uwsgi, stream (None: the module lacks it).
static SPECS: &[Spec] = &[
    Spec {
        directive: SslDirective::Ssl,
        shape: Shape::Scalar,
        since: [None, None, None, v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::ServerName,
        shape: Shape::Scalar,
        since: [v(1, 7, 0), v(1, 13, 10), v(1, 7, 0), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::Name,
        shape: Shape::Scalar,
        since: [v(1, 7, 0), v(1, 13, 10), v(1, 7, 0), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::Verify,
        shape: Shape::Scalar,
        since: [v(1, 7, 0), v(1, 13, 10), v(1, 7, 0), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::VerifyDepth,
        shape: Shape::Scalar,
        since: [v(1, 7, 0), v(1, 13, 10), v(1, 7, 0), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::TrustedCertificate,
        shape: Shape::Scalar,
        since: [v(1, 7, 0), v(1, 13, 10), v(1, 7, 0), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::Crl,
        shape: Shape::Scalar,
        since: [v(1, 7, 0), v(1, 13, 10), v(1, 7, 0), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::Protocols,
        shape: Shape::Scalar,
        since: [v(1, 5, 6), v(1, 13, 10), v(1, 5, 8), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::Ciphers,
        shape: Shape::Scalar,
        since: [v(1, 5, 6), v(1, 13, 10), v(1, 5, 8), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::Certificate,
        shape: Shape::Scalar,
        since: [v(1, 7, 8), v(1, 13, 10), v(1, 7, 8), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::CertificateKey,
        shape: Shape::Scalar,
        since: [v(1, 7, 8), v(1, 13, 10), v(1, 7, 8), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::PasswordFile,
        shape: Shape::Scalar,
        since: [v(1, 7, 8), v(1, 13, 10), v(1, 7, 8), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::CertificateCache,
        shape: Shape::Scalar,
        since: [v(1, 27, 4), v(1, 27, 4), v(1, 27, 4), v(1, 27, 4)],
    },
    Spec {
        directive: SslDirective::SessionReuse,
        shape: Shape::Scalar,
        since: [v(1, 5, 6), v(1, 13, 10), v(1, 5, 8), v(1, 9, 0)],
    },
    Spec {
        directive: SslDirective::ConfCommand,
        shape: Shape::Array,
        since: [v(1, 19, 4), v(1, 19, 4), v(1, 19, 4), v(1, 19, 4)],
    },
    Spec {
        directive: SslDirective::Alpn,
        shape: Shape::Scalar,
        since: [None, None, None, v(1, 31, 0)],
    },
];

fn module_index(m: Module) -> usize {
    match m {
        Module::Proxy => 0,
        Module::Grpc => 1,
        Module::Uwsgi => 2,
        Module::Stream => 3,
    }
}

impl Spec {
    /// The directive's full name for a module.
    pub fn name(&self, m: Module) -> &'static str {
        self.directive.name(m)
    }

    pub fn known(&self, m: Module, version: Version) -> bool {
        self.since[module_index(m)].is_some_and(|s| version >= s.max(m.since()))
    }

    /// The version that introduced the directive in a module.
    pub fn since(&self, m: Module) -> Option<Version> {
        self.since[module_index(m)]
    }

    /// nginx's default at a version, as a value would be written; `None`
    /// where nginx has no value (unset paths, or a value computed from the
    /// pass directive).
    pub fn default(&self, m: Module, version: Version) -> Option<&'static str> {
        match self.directive {
            SslDirective::Ssl => Some("off"),
            SslDirective::ServerName | SslDirective::Verify => Some("off"),
            SslDirective::Name => (m == Module::Proxy).then_some("$proxy_host"),
            SslDirective::VerifyDepth => Some("1"),
            SslDirective::Protocols => Some(default_protocols(version)),
            SslDirective::Ciphers => Some("DEFAULT"),
            SslDirective::CertificateCache => Some("off"),
            SslDirective::SessionReuse => Some("on"),
            SslDirective::TrustedCertificate
            | SslDirective::Crl
            | SslDirective::Certificate
            | SslDirective::CertificateKey
            | SslDirective::PasswordFile
            | SslDirective::ConfCommand
            | SslDirective::Alpn => None,
        }
    }

    /// How the default reads to a person when there is no literal value.
    pub fn default_description(&self, m: Module) -> Option<&'static str> {
        match (self.directive, m) {
            (SslDirective::Name, Module::Proxy) => None,
            (SslDirective::Name, Module::Grpc) => Some("host from grpc_pass"),
            (SslDirective::Name, Module::Uwsgi) => Some("host from uwsgi_pass"),
            (SslDirective::Name, Module::Stream) => Some("host from proxy_pass"),
            _ => None,
        }
    }
}

/// `*_ssl_protocols` default (NGX_SSL_DEFAULT_PROTOCOLS and its history).
pub fn default_protocols(version: Version) -> &'static str {
    PROTOCOL_DEFAULTS
        .iter()
        .rev()
        .find(|(from, _)| version >= *from)
        .map_or(PROTOCOL_DEFAULTS[0].1, |(_, p)| p)
}

/// The `*_ssl_protocols` default from each release that changed it.
const PROTOCOL_DEFAULTS: [(Version, &str); 4] = [
    (Version(0, 0, 0), "SSLv3 TLSv1 TLSv1.1 TLSv1.2"),
    (Version(1, 9, 1), "TLSv1 TLSv1.1 TLSv1.2"),
    (Version(1, 23, 4), "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"),
    (Version(1, 27, 3), "TLSv1.2 TLSv1.3"),
];

/// The nginx releases the directive table tells apart: each one that added
/// an upstream TLS directive to a module or changed a default, in order.
pub fn milestones() -> Vec<Version> {
    let mut out: Vec<Version> = SPECS
        .iter()
        .flat_map(|s| s.since.iter().flatten().copied())
        .chain(PROTOCOL_DEFAULTS.iter().skip(1).map(|(v, _)| *v))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What `hopscope --version` says about nginx: the releases whose defaults
/// and directives hopscope models.
pub fn known_versions_text() -> String {
    let list: Vec<String> = milestones().iter().map(ToString::to_string).collect();
    format!(
        "nginx releases modelled: {} to {} (default {}, the newest stable)\nupstream TLS directives or defaults change at: {}",
        Version::OLDEST,
        Version::NEWEST,
        Version::NEWEST_STABLE,
        list.join(", ")
    )
}

/// The directives a module knows at a version, in display order.
pub fn specs(m: Module, version: Version) -> impl Iterator<Item = &'static Spec> {
    SPECS.iter().filter(move |s| s.known(m, version))
}

/// Every directive name of every module (any version): what the model
/// indexes while walking the configuration.
pub fn all_names() -> Vec<String> {
    let mut names: Vec<String> = Module::ALL
        .iter()
        .flat_map(|&m| {
            SPECS
                .iter()
                .filter(move |s| s.since(m).is_some())
                .map(move |s| s.name(m).to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_version() {
        let p = SPECS
            .iter()
            .find(|s| s.directive == SslDirective::Protocols)
            .unwrap();
        assert_eq!(
            p.default(Module::Proxy, Version(1, 22, 1)),
            Some("TLSv1 TLSv1.1 TLSv1.2")
        );
        assert_eq!(
            p.default(Module::Proxy, Version(1, 24, 0)),
            Some("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3")
        );
        assert_eq!(
            p.default(Module::Proxy, Version(1, 30, 4)),
            Some("TLSv1.2 TLSv1.3")
        );
    }

    #[test]
    fn milestones_come_from_the_table() {
        let m = milestones();
        assert_eq!(m.first(), Some(&Version::OLDEST));
        for v in [
            Version(1, 7, 0),
            Version(1, 13, 10),
            Version(1, 27, 3),
            Version(1, 31, 0),
        ] {
            assert!(m.contains(&v), "{v}");
        }
        assert!(m.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            default_protocols(Version(1, 9, 0)),
            "SSLv3 TLSv1 TLSv1.1 TLSv1.2"
        );
        assert_eq!(default_protocols(Version(1, 27, 3)), "TLSv1.2 TLSv1.3");
    }

    #[test]
    fn the_table_lists_every_directive_once_in_order() {
        let listed: Vec<SslDirective> = SPECS.iter().map(|s| s.directive).collect();
        assert_eq!(listed, SslDirective::ALL);
    }

    #[test]
    fn directive_sets_per_version() {
        let names = |m, version| specs(m, version).map(|s| s.name(m)).collect::<Vec<_>>();
        let old = names(Module::Proxy, Version(1, 22, 1));
        assert_eq!(old.len(), 13);
        assert!(!old.contains(&"proxy_ssl_certificate_cache"));
        assert!(names(Module::Proxy, Version(1, 30, 4)).contains(&"proxy_ssl_certificate_cache"));
        assert_eq!(names(Module::Stream, Version(1, 30, 4))[0], "proxy_ssl");
        assert!(!names(Module::Stream, Version(1, 30, 4)).contains(&"proxy_ssl_alpn"));
        assert!(names(Module::Stream, Version(1, 31, 0)).contains(&"proxy_ssl_alpn"));
        assert!(names(Module::Grpc, Version(1, 12, 0)).is_empty());
    }
}
