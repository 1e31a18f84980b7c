//! The oracle tests' own model of how nginx turns a configured name into
//! the SNI it sends (read from nginx's source, checked against real nginx
//! by those tests), shared by the http and stream oracles.

use std::collections::HashMap;
use std::net::{Ipv4Addr, ToSocketAddrs};

/// A token without the quotes around it, if it has a matching pair.
pub fn unquote(token: &str) -> &str {
    let b = token.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &token[1..token.len() - 1]
    } else {
        token
    }
}

/// Evaluate `$name` / `${name}` references in an nginx complex value.
pub fn eval_expr(expr: &str, vars: &HashMap<&str, String>) -> Result<String, String> {
    let mut out = String::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (name, next) = if chars.get(i + 1) == Some(&'{') {
            let end = chars[i + 2..]
                .iter()
                .position(|&c| c == '}')
                .ok_or_else(|| format!("unclosed ${{ in {expr:?}"))?;
            (
                chars[i + 2..i + 2 + end].iter().collect::<String>(),
                i + 3 + end,
            )
        } else {
            let len = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            (
                chars[i + 1..i + 1 + len].iter().collect::<String>(),
                i + 1 + len,
            )
        };
        if name.is_empty() {
            return Err(format!("lone $ in {expr:?}"));
        }
        let value = vars
            .get(name.as_str())
            .ok_or_else(|| format!("cannot evaluate ${name} in {expr:?}"))?;
        out.push_str(value);
        i = next;
    }
    Ok(out)
}

/// Cut a trailing `:port` the way ngx_http_upstream_ssl_name does.
pub fn strip_port(name: &str) -> &str {
    if name.starts_with('[') {
        match name.find(']') {
            Some(close) => match name[close..].find(':') {
                Some(colon) => &name[..close + colon],
                None => name,
            },
            None => name,
        }
    } else {
        name.split(':').next().unwrap_or("")
    }
}

/// The SNI nginx puts in the ClientHello for a (server_name, name) pair;
/// empty = no SNI.
pub fn nginx_sni(server_name: bool, name: &str) -> String {
    if !server_name {
        return String::new();
    }
    let n = strip_port(name);
    if n.is_empty() || n.starts_with('[') || n.parse::<Ipv4Addr>().is_ok() {
        String::new()
    } else {
        n.to_string()
    }
}

pub fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

pub fn localhost_is_only_127() -> bool {
    match ("localhost", 0).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty()
                && addrs.iter().all(|a| match a.ip() {
                    std::net::IpAddr::V4(v4) => v4.is_loopback(),
                    _ => false,
                })
        }
        Err(_) => false,
    }
}
