//! The embedded demo tree shown when `hopscope` starts without a path.
//!
//! A small gateway config (`assets/demo/`, accepted by `nginx -t`) whose
//! hops walk through the upstream SNI and verification pitfalls: no SNI to
//! an `upstream {}` pool, an ignored `proxy_ssl_name`, an IP-literal target,
//! `proxy_ssl_verify off` next to a correct hop, mTLS, grpcs, suwsgi, stream
//! `proxy_ssl`, and inheritance through nested locations, `if` and includes.
//! The terminal UI's tour (`t`, steps in src/tour.rs) walks these hops one
//! pitfall at a time. Paths are relative to the demo root; the main file
//! comes first.

pub const MAIN: &str = "nginx.conf";

/// Where the demo tree pretends to live, as nginx would name its files.
pub const PREFIX: &str = "/etc/nginx";

pub const FILES: &[(&str, &[u8])] = &[
    ("nginx.conf", include_bytes!("../assets/demo/nginx.conf")),
    (
        "conf.d/api-gateway.conf",
        include_bytes!("../assets/demo/conf.d/api-gateway.conf"),
    ),
    (
        "conf.d/ingest.conf",
        include_bytes!("../assets/demo/conf.d/ingest.conf"),
    ),
    (
        "conf.d/intranet.conf",
        include_bytes!("../assets/demo/conf.d/intranet.conf"),
    ),
    (
        "conf.d/payments.conf",
        include_bytes!("../assets/demo/conf.d/payments.conf"),
    ),
    (
        "snippets/upstream-tls.conf",
        include_bytes!("../assets/demo/snippets/upstream-tls.conf"),
    ),
    (
        "stream.d/tls-backends.conf",
        include_bytes!("../assets/demo/stream.d/tls-backends.conf"),
    ),
];
