//! `sni-dynamic`: the SNI/verify name is computed per request from
//! variables, possibly ones the client controls.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Finding, Severity};
use crate::model::{self, Model, NameSource, Setting, SslDirective};

use super::support::{hop_reach, name_used, relate, Reach};
use super::{Doc, Rule};

pub const RULE: Rule = Rule {
    id: "sni-dynamic",
    summary: "the SNI is built from variables; from client-controlled ones, the client picks it",
    severity: Severity::Low,
    doc: Doc {
        what: "\
Flags a hop whose SNI or verification name is computed per request: `*_ssl_name` contains \
variables, or the pass target does. It is `low` when a variable comes from the request \
(`$host`, `$http_*`, `$arg_*`, `$cookie_*`, `$request_uri`, regex captures, the client's own \
`$ssl_server_name` or `$ssl_preread_server_name`, or a `map`/`set` fed by one of them) and `info` \
otherwise. Hops that neither send SNI nor verify are not reported: the name is not used, and \
neither are names whose variables only take values the configuration lists (a `map` or `set` \
of literal names): every name nginx may send is then written in the configuration.",
        why: "\
nginx evaluates the expression for every connection, strips a `:port`, and writes the result \
into the ClientHello; with `*_ssl_verify on` it also accepts any trusted certificate valid for that \
same result. When the value comes from the request, the client picks both. With `$host`, a request \
for `Host: billing.internal.example.com` makes nginx ask the upstream for the billing site and \
accept the billing certificate, even though the location was meant for one tenant backend: \
SNI-routed upstreams (ingress controllers, shared TLS terminators) then serve whatever the client \
named. Verification keeps an outsider from impersonating the upstream, but it cannot tell a wrong \
name from a right one when the client chose it.\n\n\
Variables that do not come from the request but whose values are not all written in the \
configuration (`$server_name`, a `map` whose values hold variables) are safe in this sense, but \
hopscope cannot check the values statically, so they are listed as `info`.",
        example: "\
location /tenants/ {
    proxy_pass https://tenant_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name $host;          # the client's Host header decides
}
",
        use_instead: "\
map $host $tenant_sni {
    default               tenants.internal.example.com;
    acme.example.com      acme.tenants.internal.example.com;
}

location /tenants/ {
    proxy_pass https://tenant_pool;
    proxy_ssl_server_name on;
    proxy_ssl_name $tenant_sni;    # only names the config lists
}
",
        fix_safety: "\
No automatic fix: the set of names the hop may use is a design decision. Pin the name with a \
literal `*_ssl_name`, or map the request to a closed list of names as shown above.",
        severity_text: "\
`low` when a client-controlled variable (`$host`, `$http_*`, …) decides the SNI: the client \
chooses the name nginx asks the upstream for. `info` when the variables are nginx's or the \
configuration's own.",
    },
    check,
};

fn check(model: &Model, out: &mut Vec<Finding>) {
    let mut known: Option<Known> = None;
    for (hop_index, hop) in model.hops.iter().enumerate() {
        if !hop.sni.dynamic || !name_used(hop) {
            continue;
        }
        let Some(expr) = hop.verify_name.as_deref() else {
            continue;
        };
        let known = known.get_or_insert_with(|| Known::new(model));
        let vars = model::variables(expr);
        // Every variable of the name takes only values the configuration
        // lists (a `map` or `set` of literal names): the names are known,
        // nothing is left to the request.
        if !vars.is_empty() && vars.iter().all(|v| listed(known, v)) {
            continue;
        }
        let controlled: Vec<&str> = vars
            .iter()
            .copied()
            .filter(|v| client_controlled(known, v, 4))
            .collect();
        let source = match &hop.name_source {
            NameSource::Explicit(file_line) => {
                format!(
                    "{} is {expr} ({file_line})",
                    hop.module.directive(SslDirective::Name)
                )
            }
            _ => format!(
                "the name comes from the {} target {}",
                hop.module.pass_directive(),
                hop.target.raw
            ),
        };
        let verified = hop
            .setting(SslDirective::Verify)
            .is_some_and(Setting::is_on);
        let uses = match (hop.sni.sent, verified) {
            (true, true) => "the SNI nginx sends and the name the certificate must match",
            (true, false) => "the SNI nginx sends",
            _ => "the name the certificate must match",
        };
        let (severity, msg) = if controlled.is_empty() {
            let list: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
            (
                Severity::Info,
                format!(
                    "{source}: {uses} to {} is computed per request from {}, which hopscope cannot check statically",
                    super::support::peer(hop),
                    list.join(", ")
                ),
            )
        } else {
            let list: Vec<String> = controlled.iter().map(|v| format!("${v}")).collect();
            (
                // On this machine the client can only pick among the
                // sites of the server's own web server, as with Host.
                if hop_reach(model, hop) == Reach::Loopback {
                    Severity::Info
                } else {
                    Severity::Low
                },
                format!(
                    "{source}: the client chooses {uses} to {} through {}",
                    super::support::peer(hop),
                    list.join(", ")
                ),
            )
        };
        let mut f = Finding::for_hop(RULE.id, severity, model, hop_index, msg);
        if let Some(n) = hop.setting(SslDirective::Name) {
            f = relate(f, n, &format!("{} set here", n.name));
        }
        out.push(f);
    }
}

/// What the configuration says about variables, gathered once per run:
/// regex capture names, and the values `map` and `set` give each variable.
struct Known {
    captures: HashSet<String>,
    /// Lower-cased variable name (without `$`) → the values it may take.
    defs: HashMap<String, Vec<String>>,
}

impl Known {
    fn new(model: &Model) -> Known {
        let mut defs: HashMap<String, Vec<String>> = HashMap::new();
        for ast in &model.config.asts {
            for (id, d) in ast.nodes.iter().enumerate() {
                match d.name() {
                    "map" => {
                        let Some(var) = d.arg(1).and_then(|a| a.strip_prefix('$')) else {
                            continue;
                        };
                        let values = ast.children(id as u32).iter().filter_map(|&c| {
                            let e = ast.node(c);
                            match e.name() {
                                "hostnames" | "volatile" | "include" => None,
                                _ => e.arg(0).map(str::to_string),
                            }
                        });
                        defs.entry(var.to_ascii_lowercase())
                            .or_default()
                            .extend(values);
                    }
                    "set" => {
                        if let (Some(var), Some(value)) =
                            (d.arg(0).and_then(|a| a.strip_prefix('$')), d.arg(1))
                        {
                            defs.entry(var.to_ascii_lowercase())
                                .or_default()
                                .push(value.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        Known {
            captures: named_captures(model),
            defs,
        }
    }
}

/// A variable defined only by `map` and `set` with literal values: the
/// values it may take are all written in the configuration.
fn listed(known: &Known, var: &str) -> bool {
    known
        .defs
        .get(&var.to_ascii_lowercase())
        .is_some_and(|values| {
            !values.is_empty() && values.iter().all(|v| model::variables(v).is_empty())
        })
}

/// Variables whose value the client sends (or that copy one).
fn client_controlled(known: &Known, var: &str, depth: u8) -> bool {
    let v = var.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "host",
        "args",
        "query_string",
        "request",
        "request_uri",
        "uri",
        "document_uri",
        "request_body",
        "remote_user",
        "content_type",
        "content_length",
        "ssl_server_name",
        "ssl_preread_server_name",
        "ssl_preread_alpn_protocols",
    ];
    const PREFIXES: &[&str] = &["http_", "arg_", "cookie_"];
    if EXACT.contains(&v.as_str())
        || PREFIXES.iter().any(|p| v.starts_with(p))
        || (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        || known.captures.contains(&v)
    {
        return true;
    }
    if depth == 0 {
        return false;
    }
    known.defs.get(&v).is_some_and(|values| {
        values.iter().any(|value| {
            model::variables(value)
                .iter()
                .any(|w| !w.eq_ignore_ascii_case(&v) && client_controlled(known, w, depth - 1))
        })
    })
}

/// Names of regex captures (`(?<name>…)`, `(?P<name>…)`, `(?'name'…)`)
/// anywhere in the configuration: they hold parts of the request.
fn named_captures(model: &Model) -> HashSet<String> {
    let mut out = HashSet::new();
    for ast in &model.config.asts {
        for d in &ast.nodes {
            for a in &d.args {
                let mut rest: &str = &a.value;
                while let Some(i) = rest.find("(?") {
                    rest = &rest[i + 2..];
                    let body = rest
                        .strip_prefix("P<")
                        .or_else(|| rest.strip_prefix('<'))
                        .or_else(|| rest.strip_prefix('\''));
                    if let Some(body) = body {
                        let n: String = body
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !n.is_empty() {
                            out.insert(n.to_ascii_lowercase());
                        }
                    }
                }
            }
        }
    }
    out
}
