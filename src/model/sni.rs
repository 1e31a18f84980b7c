//! What nginx puts in the TLS ClientHello, and the name it checks the
//! upstream certificate against.
//!
//! This is `ngx_http_upstream_ssl_name()` (src/http/ngx_http_upstream.c)
//! and its twin `ngx_stream_proxy_ssl_name()`, run statically:
//!
//! 1. `name` = the evaluated `*_ssl_name` if set, else the upstream's host:
//!    the `upstream {}` group name, or the host of the pass directive
//!    without its port (`uscf->host`), or for a pass with variables the
//!    host of the evaluated URL.
//! 2. An empty name ends here (no SNI, nothing to verify).
//! 3. The port is cut off: at the first `:` after a leading `[…]`, else at
//!    the first `:` (`$proxy_host` and `$http_host` may carry one).
//! 4. With `*_ssl_server_name off` nginx stops: no SNI. The stripped name
//!    is still what `*_ssl_verify on` checks the certificate against.
//! 5. RFC 6066: no SNI for an empty name, a name starting with `[` (IPv6),
//!    or one that `ngx_inet_addr()` parses as IPv4.
//! 6. Otherwise the name goes into the ClientHello as it is: an upstream
//!    group name such as `backend` is sent verbatim.

use serde::Serialize;

use super::directives::{Module, SslDirective};

/// The SNI prediction, as in the JSON contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sni {
    pub sent: bool,
    pub name: Option<String>,
    pub dynamic: bool,
    pub why: String,
}

/// What the SNI of a hop means for the host it reaches, for people: the
/// colour of the name in the TUI and its legend. Computed by
/// `rules::sni_kind`, with the rules' own tests of a wrong name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SniKind {
    /// A name is sent and nothing says it is wrong for the target.
    Right,
    /// No SNI goes out (off, an address, an empty name).
    NotSent,
    /// The name sent is an `upstream {}` group label or an address, not a
    /// host any certificate carries.
    GroupOrAddress,
    /// The name is computed per request (`$host`, `$http_host`…).
    Dynamic,
    /// A literal name written for another host reaches this hop.
    OtherHost,
}

impl SniKind {
    pub const ALL: [SniKind; 5] = [
        SniKind::Right,
        SniKind::NotSent,
        SniKind::GroupOrAddress,
        SniKind::Dynamic,
        SniKind::OtherHost,
    ];

    /// What the kind means, in a few words (legends).
    pub fn meaning(self) -> &'static str {
        match self {
            SniKind::Right => "sent, the target's own name",
            SniKind::NotSent => "no SNI sent",
            SniKind::GroupOrAddress => "a group label or address sent as the name",
            SniKind::Dynamic => "computed per request",
            SniKind::OtherHost => "a name written for another host",
        }
    }
}

/// Where the name comes from, for explanations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameSource {
    /// `*_ssl_name` at a position (`file:line`).
    Explicit(String),
    /// The `upstream {}` group name.
    Group,
    /// The host of the pass directive.
    PassHost,
}

/// The name before port stripping: a literal, or an expression known only
/// per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Name {
    Static(String),
    Dynamic(String),
}

/// `ngx_inet_addr()`: true when nginx reads the text as an IPv4 address.
/// Its quirks are kept: empty octets pass (`1..2.3`), and
/// `255.255.255.255` equals `INADDR_NONE`, so nginx treats it as a name.
pub fn ngx_inet_addr(text: &str) -> bool {
    let mut octet: u32 = 0;
    let mut addr: u32 = 0;
    let mut dots = 0;
    for c in text.bytes() {
        match c {
            b'0'..=b'9' => {
                octet = octet * 10 + u32::from(c - b'0');
                if octet > 255 {
                    return false;
                }
            }
            b'.' => {
                addr = (addr << 8).wrapping_add(octet);
                octet = 0;
                dots += 1;
            }
            _ => return false,
        }
    }
    if dots != 3 {
        return false;
    }
    addr = (addr << 8).wrapping_add(octet);
    addr != u32::MAX
}

/// Step 3: the name without a `:port`.
pub fn strip_port(name: &str) -> &str {
    let from = if name.starts_with('[') {
        name.find(']').unwrap_or(0)
    } else {
        0
    };
    match name[from..].find(':') {
        Some(i) => &name[..from + i],
        None => name,
    }
}

/// Why a literal (port already stripped) is not sent, if it is not.
pub fn literal_refusal(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("the name is empty, so nginx sends no SNI".into())
    } else if name.starts_with('[') {
        Some(format!(
            "{name} is an IPv6 address literal; RFC 6066 forbids addresses in SNI, so nginx sends none"
        ))
    } else if ngx_inet_addr(name) {
        Some(format!(
            "{name} is an IPv4 address literal; RFC 6066 forbids addresses in SNI, so nginx sends none"
        ))
    } else {
        None
    }
}

/// Runs the algorithm for a hop of `module`. `server_name` is the effective
/// `*_ssl_server_name` with a short note of where it comes from (`default`,
/// `nginx.conf:12`). Returns the SNI and the verify name.
pub fn predict(
    module: Module,
    server_name: (bool, &str),
    name: &Name,
    source: &NameSource,
) -> (Sni, Option<String>) {
    let server_name_directive = module.directive(SslDirective::ServerName);
    let name_directive = module.directive(SslDirective::Name);
    let from = match source {
        NameSource::Explicit(file_line) => format!("from {name_directive} ({file_line})"),
        NameSource::Group => format!("the upstream group name (no {name_directive} is set)"),
        NameSource::PassHost => {
            format!("the host of the pass directive (no {name_directive} is set)")
        }
    };
    let (on, on_from) = server_name;
    match name {
        Name::Dynamic(expr) => {
            let why = if on {
                format!("{server_name_directive} is on; the name is computed per request ({expr}), {from}")
            } else {
                format!("{server_name_directive} is off ({on_from}): nginx sends no SNI")
            };
            let sni = Sni {
                sent: on,
                name: on.then(|| expr.clone()),
                dynamic: true,
                why,
            };
            (sni, Some(expr.clone()))
        }
        Name::Static(raw) => {
            if raw.is_empty() {
                let why = if on {
                    "the name is empty, so nginx sends no SNI".to_string()
                } else {
                    format!("{server_name_directive} is off ({on_from}): nginx sends no SNI")
                };
                return (no_sni(why), None);
            }
            let stripped = strip_port(raw);
            let verify = Some(stripped.to_string());
            if !on {
                let why = format!("{server_name_directive} is off ({on_from}): nginx sends no SNI");
                return (no_sni(why), verify);
            }
            if let Some(why) = literal_refusal(stripped) {
                return (no_sni(why), verify);
            }
            let port_note = if stripped.len() != raw.len() {
                " (port removed)"
            } else {
                ""
            };
            let sni = Sni {
                sent: true,
                name: Some(stripped.to_string()),
                dynamic: false,
                why: format!(
                    "{server_name_directive} is on; nginx sends \"{stripped}\"{port_note}: {from}"
                ),
            };
            (sni, verify)
        }
    }
}

fn no_sni(why: String) -> Sni {
    Sni {
        sent: false,
        name: None,
        dynamic: false,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_addr_matches_nginx() {
        assert!(ngx_inet_addr("10.0.4.22"));
        assert!(ngx_inet_addr("1..2.3"));
        assert!(!ngx_inet_addr("255.255.255.255"));
        assert!(!ngx_inet_addr("256.1.1.1"));
        assert!(!ngx_inet_addr("1.2.3"));
        assert!(!ngx_inet_addr("1.2.3.4.5"));
        assert!(!ngx_inet_addr("example.com"));
    }

    #[test]
    fn ports_are_stripped_like_nginx() {
        assert_eq!(strip_port("a.example:8443"), "a.example");
        assert_eq!(strip_port("[::1]:443"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("[bad:1"), "[bad");
        assert_eq!(strip_port(":443"), "");
    }

    #[test]
    fn predictions() {
        let on = (true, "nginx.conf:3");
        let off = (false, "default");
        let d = Module::Proxy;
        let group = Name::Static("backend".into());
        let (s, v) = predict(d, off, &group, &NameSource::Group);
        assert!(!s.sent);
        assert_eq!(
            s.why,
            "proxy_ssl_server_name is off (default): nginx sends no SNI"
        );
        assert_eq!(v.as_deref(), Some("backend"));
        let (s, _) = predict(d, on, &group, &NameSource::Group);
        assert_eq!((s.sent, s.name.as_deref()), (true, Some("backend")));
        let (s, v) = predict(
            d,
            on,
            &Name::Static("10.0.4.22".into()),
            &NameSource::PassHost,
        );
        assert!(!s.sent && s.why.contains("IPv4"));
        assert_eq!(v.as_deref(), Some("10.0.4.22"));
        let (s, _) = predict(
            d,
            on,
            &Name::Static("api.example.com:8443".into()),
            &NameSource::Explicit("a.conf:2".into()),
        );
        assert_eq!(s.name.as_deref(), Some("api.example.com"));
        assert!(
            s.why.contains("port removed") && s.why.contains("proxy_ssl_name (a.conf:2)"),
            "{}",
            s.why
        );
        let (s, _) = predict(
            d,
            on,
            &Name::Dynamic("$host".into()),
            &NameSource::Explicit("a.conf:2".into()),
        );
        assert!(s.sent && s.dynamic);
        assert_eq!(s.name.as_deref(), Some("$host"));
    }
}
