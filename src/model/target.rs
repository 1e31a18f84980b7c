//! The address of a pass directive, split the way nginx's `ngx_parse_url()`
//! splits it.

/// A parsed `proxy_pass`/`grpc_pass`/`uwsgi_pass` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// As written.
    pub raw: String,
    /// The scheme prefix as written (`https://`), empty for stream.
    pub scheme: String,
    /// Host without port; `[…]` kept for IPv6; the socket path for `unix:`.
    pub host: String,
    /// The port as written, if any.
    pub port: Option<String>,
    /// Everything from the first `/` after the authority.
    pub uri: String,
    pub unix: bool,
    /// The scheme, host or port contains variables, so the address is
    /// known only per request (variables in the URI part leave it static).
    pub dynamic: bool,
}

impl Target {
    /// Parses an http pass argument, given its TLS scheme (`https://`,
    /// compared case-insensitively as nginx does). None if it lacks it.
    pub fn parse_http(raw: &str, scheme: &str) -> Option<Target> {
        let head = raw.get(..scheme.len())?;
        if !head.eq_ignore_ascii_case(scheme) {
            return None;
        }
        Some(Target::split(raw, scheme.len(), true))
    }

    /// Parses a stream `proxy_pass` argument (no scheme).
    pub fn parse_stream(raw: &str) -> Target {
        Target::split(raw, 0, false)
    }

    fn split(raw: &str, skip: usize, uri_part: bool) -> Target {
        let rest = &raw[skip..];
        let mut t = Target {
            raw: raw.to_string(),
            scheme: raw[..skip].to_string(),
            host: String::new(),
            port: None,
            uri: String::new(),
            unix: false,
            dynamic: false,
        };
        if let Some(path) = rest.strip_prefix("unix:") {
            t.unix = true;
            // With a URI part, the path ends at the first ':' (ngx_parse_unix_domain_url).
            match path.find(':').filter(|_| uri_part) {
                Some(i) => {
                    t.host = path[..i].to_string();
                    t.uri = path[i + 1..].to_string();
                }
                None => t.host = path.to_string(),
            }
            t.dynamic = t.host.contains('$');
            return t;
        }
        let (authority, uri) = if uri_part {
            rest.split_at(authority_len(rest))
        } else {
            (rest, "")
        };
        t.uri = uri.to_string();
        t.dynamic = authority.contains('$');
        let host_end = if authority.starts_with('[') {
            authority.find(']').map_or(authority.len(), |i| i + 1)
        } else {
            authority.find(':').unwrap_or(authority.len())
        };
        t.host = authority[..host_end].to_string();
        if let Some(port) = authority[host_end..].strip_prefix(':') {
            t.port = Some(port.to_string());
        }
        t
    }

    /// `$proxy_host` for this target (ngx_http_proxy_set_vars): the host,
    /// with `:port` unless the port is the scheme's default; `localhost`
    /// for a unix socket.
    pub fn proxy_host(&self, default_port: &str) -> String {
        if self.unix {
            return "localhost".into();
        }
        match &self.port {
            Some(p) if p != default_port => format!("{}:{}", self.host, p),
            _ => self.host.clone(),
        }
    }
}

/// Variables whose value starts a URI (`/…`, or `?`/nothing for
/// `$is_args`): written right after the host, they end the authority.
const URI_VARIABLES: &[&str] = &["request_uri", "uri", "document_uri", "is_args"];

/// The length of the authority (`host[:port]`) at the start of `rest`: up
/// to the first `/` or `?` (as `ngx_parse_url` reads it), or a variable
/// that starts a URI.
pub fn authority_len(rest: &str) -> usize {
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' | b'?' => return i,
            b'$' => {
                let (var, len) = super::vars::variable_at(&rest[i + 1..]);
                if URI_VARIABLES.iter().any(|u| var.eq_ignore_ascii_case(u)) {
                    return i;
                }
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_ngx_parse_url() {
        let t = Target::parse_http("HTTPS://api.example.com:8443/v1/", "https://").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port.as_deref(), t.uri.as_str()),
            ("api.example.com", Some("8443"), "/v1/")
        );
        assert_eq!(t.proxy_host("443"), "api.example.com:8443");
        let t = Target::parse_http("https://backend", "https://").unwrap();
        assert_eq!(t.proxy_host("443"), "backend");
        let t = Target::parse_http("https://10.0.0.1:443", "https://").unwrap();
        assert_eq!(t.proxy_host("443"), "10.0.0.1");
        let t = Target::parse_http("https://[::1]:8443/x", "https://").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port.as_deref()),
            ("[::1]", Some("8443"))
        );
        let t = Target::parse_http("https://unix:/run/app.sock:/api", "https://").unwrap();
        assert_eq!(
            (t.host.as_str(), t.uri.as_str(), t.unix),
            ("/run/app.sock", "/api", true)
        );
        assert_eq!(t.proxy_host("443"), "localhost");
        assert!(Target::parse_http("http://x", "https://").is_none());
        assert!(
            Target::parse_http("https://$up/x", "https://")
                .unwrap()
                .dynamic
        );
        // Variables in the URI part leave the address static.
        for raw in [
            "https://api.example.com/$1",
            "https://api.example.com$request_uri",
            "https://backend${uri}",
            "https://api.example.com?x=$arg_x",
        ] {
            let t = Target::parse_http(raw, "https://").unwrap();
            assert!(!t.dynamic, "{raw}");
            assert!(
                matches!(t.host.as_str(), "api.example.com" | "backend"),
                "{raw}"
            );
        }
        let t = Target::parse_http("https://$server:$port$request_uri", "https://").unwrap();
        assert!(t.dynamic);
        assert_eq!(
            (t.host.as_str(), t.uri.as_str()),
            ("$server", "$request_uri")
        );
        let s = Target::parse_stream("backend.example.com:443");
        assert_eq!(
            (s.host.as_str(), s.port.as_deref()),
            ("backend.example.com", Some("443"))
        );
    }
}
