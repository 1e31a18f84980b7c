//! The handshake, with OpenSSL configured as nginx would configure it for
//! the hop, and what the peer's answer means in plain words.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) use openssl::ssl::SslContext;
use openssl::ssl::{
    HandshakeError, Ssl, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509Ref, X509VerifyResult};

use super::net::*;
use super::plan::*;
use super::result::*;
use super::Options;

pub(crate) fn version(name: &str) -> Option<SslVersion> {
    match name {
        "TLSv1" => Some(SslVersion::TLS1),
        "TLSv1.1" => Some(SslVersion::TLS1_1),
        "TLSv1.2" => Some(SslVersion::TLS1_2),
        "TLSv1.3" => Some(SslVersion::TLS1_3),
        _ => None,
    }
}

/// Builds the client context as nginx's `ngx_ssl_create` + the module's
/// `set_ssl` would.
pub(crate) fn ssl_context(plan: &Plan) -> Result<SslContext, String> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    let order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    let enabled: Vec<&str> = order
        .iter()
        .copied()
        .filter(|p| plan.protocols.iter().any(|q| q == p))
        .collect();
    if let (Some(first), Some(last)) = (enabled.first(), enabled.last()) {
        b.set_min_proto_version(version(first))
            .map_err(|e| e.to_string())?;
        b.set_max_proto_version(version(last))
            .map_err(|e| e.to_string())?;
        let gaps = [
            ("TLSv1", SslOptions::NO_TLSV1),
            ("TLSv1.1", SslOptions::NO_TLSV1_1),
            ("TLSv1.2", SslOptions::NO_TLSV1_2),
            ("TLSv1.3", SslOptions::NO_TLSV1_3),
        ];
        for (p, opt) in gaps {
            if !enabled.contains(&p) {
                b.set_options(opt);
            }
        }
    }
    if let Some(c) = &plan.ciphers {
        b.set_cipher_list(c)
            .map_err(|e| format!("OpenSSL rejects the cipher list \"{c}\": {e}"))?;
    }
    match &plan.ca {
        Some(ca) => b.set_ca_file(ca).map_err(|e| {
            let name = plan
                .ca_label
                .clone()
                .unwrap_or_else(|| ca.display().to_string());
            format!("cannot load {name}: {e}")
        })?,
        None => b.set_default_verify_paths().map_err(|e| e.to_string())?,
    }
    if plan.crl_check {
        // As nginx's ngx_ssl_crl: every certificate of the chain.
        use openssl::x509::verify::X509VerifyFlags;
        b.cert_store_mut()
            .set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)
            .map_err(|e| e.to_string())?;
    }
    b.set_verify_depth(plan.depth);
    if let (Some(cert), Some(key)) = (&plan.cert, &plan.key) {
        b.set_certificate_chain_file(cert)
            .map_err(|e| format!("cannot load client certificate {}: {e}", cert.display()))?;
        b.set_private_key_file(key, openssl::ssl::SslFiletype::PEM)
            .map_err(|e| format!("cannot load client key {}: {e}", key.display()))?;
    }
    if plan.alpn_h2 {
        b.set_alpn_protos(b"\x02h2").map_err(|e| e.to_string())?;
    }
    Ok(b.build())
}

/// Turns OpenSSL's error text into what a person needs to hear.
pub fn explain_failure(text: &str, sni_sent: bool) -> String {
    let t = text.to_ascii_lowercase();
    let plain = if t.contains("unrecognized name") && !sni_sent {
        "the upstream wants SNI and none was sent (alert 112 unrecognized_name): it picks its certificate by name"
    } else if t.contains("unrecognized name") {
        "the upstream does not serve the name sent as SNI (alert 112 unrecognized_name)"
    } else if t.contains("handshake failure") && !sni_sent {
        "handshake failure (alert 40) with no SNI sent: the upstream most likely wants SNI (or a client certificate, or a protocol/cipher nginx does not offer)"
    } else if t.contains("certificate required") || t.contains("alert bad certificate") {
        "the upstream wants a client certificate (alert certificate_required / bad_certificate)"
    } else if t.contains("handshake failure") {
        "handshake failure (alert 40): the upstream wants SNI, a client certificate, or a protocol/cipher nginx does not offer"
    } else if t.contains("protocol version")
        || t.contains("unsupported protocol")
        || t.contains("no protocols available")
    {
        "no TLS protocol version in common with the upstream"
    } else if t.contains("wrong version number")
        || t.contains("packet length too long")
        || t.contains("record layer failure")
    {
        "the upstream does not speak TLS on this port (plain HTTP?)"
    } else if t.contains("internal error") {
        "the upstream aborted the handshake (alert internal_error)"
    } else if t.contains("unexpected eof")
        || t.contains("connection reset")
        || t.contains("broken pipe")
    {
        "the upstream closed the connection during the handshake (some servers do this when SNI is missing)"
    } else if t.contains("no shared cipher") || t.contains("insufficient security") {
        "no cipher suite in common with the upstream"
    } else {
        return format!("handshake failed: {text}");
    };
    format!("{plain} [{}]", text.trim())
}

pub(crate) fn describe(cert: &X509Ref) -> Cert {
    let name = |n: &openssl::x509::X509NameRef| {
        n.entries()
            .map(|e| {
                let k = e.object().nid().short_name().unwrap_or("?");
                let v = e.data().to_string().unwrap_or_default();
                format!("{k}={v}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sans = cert
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| {
                    n.dnsname().map(|d| format!("DNS:{d}")).or_else(|| {
                        n.ipaddress().map(|ip| match ip.len() {
                            4 => format!(
                                "IP:{}",
                                std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3])
                            ),
                            16 => {
                                let mut b = [0u8; 16];
                                b.copy_from_slice(ip);
                                format!("IP:{}", std::net::Ipv6Addr::from(b))
                            }
                            _ => "IP:?".to_string(),
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let expired = openssl::asn1::Asn1Time::days_from_now(0)
        .ok()
        .is_some_and(|now| cert.not_after() < now);
    Cert {
        subject: name(cert.subject_name()),
        sans,
        issuer: name(cert.issuer_name()),
        not_after: cert.not_after().to_string(),
        expired,
    }
}

/// `X509_V_ERR_HOSTNAME_MISMATCH`.
pub(crate) const HOSTNAME_MISMATCH: i32 = 62;

/// `X509_V_ERR_CERT_CHAIN_TOO_LONG`.
pub(crate) const CHAIN_TOO_LONG: i32 = 22;

pub(crate) fn probe_peer(
    plan: &Plan,
    ctx: &Result<SslContext, String>,
    peer: &str,
    opts: Options,
    dial: &Dial,
    run_end: Option<(Instant, Duration)>,
) -> PeerResult {
    let start = Instant::now();
    let mut r = plan.result_for(peer);
    if let Some(n) = &plan.sni_note {
        r.notes.push(n.clone());
    }
    let here = matches!(dial, Dial::Direct);
    if let (LocalFiles::Refuse(source), true, true) = (plan.files, peer.starts_with("unix:"), here)
    {
        r.probeable = false;
        r.error = Some(format!(
            "not probed: {peer} is a unix socket on the machine the config describes, and {}; pass --local-files to connect to this machine's sockets",
            source.says()
        ));
        r.millis = start.elapsed().as_millis() as u64;
        return r;
    }
    let deadline = Deadline::new(start, opts.timeout, run_end);
    let result = match ctx {
        Ok(ctx) => handshake(plan, ctx, peer, deadline, &mut r, dial),
        Err(e) => Err(e.clone()),
    };
    if let Err(e) = result {
        // A refusal of the certificate the probe could not present is
        // not one nginx meets.
        r.error = Some(if plan.cert_on_server && e.contains("client certificate") {
            format!("{e} (expected here: the probe went without the hop's client certificate, whose key stays on the server; nginx presents it)")
        } else {
            e
        });
    }
    r.millis = start.elapsed().as_millis() as u64;
    r
}

pub(crate) fn handshake(
    plan: &Plan,
    ctx: &SslContext,
    peer: &str,
    deadline: Deadline,
    r: &mut PeerResult,
    dial: &Dial,
) -> Result<(), String> {
    // Only the address part names the peer (`host:port weight=2` is split
    // by the model already; parameters never reach here).
    let errors: Arc<Mutex<Vec<(i32, u32, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut ssl = Ssl::new(ctx).map_err(|e| e.to_string())?;
    let seen = Arc::clone(&errors);
    ssl.set_verify_callback(SslVerifyMode::PEER, move |ok, x| {
        if !ok {
            let e = x.error();
            if let Ok(mut v) = seen.lock() {
                v.push((e.as_raw(), x.error_depth(), e.error_string().to_string()));
            }
        }
        // Keep going: the probe reports verification, it does not enforce it.
        true
    });
    if let Some(sni) = &plan.sni {
        ssl.set_hostname(sni).map_err(|e| e.to_string())?;
    }
    if let Some(name) = &plan.verify_name {
        ssl.param_mut().set_host(name).map_err(|e| e.to_string())?;
    }
    let start = Instant::now();
    let conn = connect(peer, deadline, r, dial)?;
    let mut attempt = ssl.connect(conn);
    // A read that timed out early (before the deadline) goes on.
    while let Err(HandshakeError::WouldBlock(mid)) = attempt {
        if deadline.left().is_none() {
            attempt = Err(HandshakeError::WouldBlock(mid));
            break;
        }
        attempt = mid.handshake();
    }
    let mut stream = match attempt {
        Ok(s) => s,
        Err(HandshakeError::Failure(mut mid)) => {
            // A channel through the server that ssh closed: its reason
            // (the server could not connect) is the answer.
            let closed = mid.error().ssl_error().is_none()
                || mid
                    .error()
                    .to_string()
                    .to_ascii_lowercase()
                    .contains("unexpected eof");
            if let Some(why) = closed.then(|| mid.get_mut().ssh_failure()).flatten() {
                return Err(why);
            }
            let timed_out = mid.error().io_error().is_some_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                )
            });
            if timed_out || deadline.left().is_none() {
                return Err(deadline.exceeded("the handshake did not finish"));
            }
            let text = mid
                .error()
                .ssl_error()
                .map(|e| e.to_string())
                .unwrap_or_else(|| mid.error().to_string());
            return Err(explain_failure(&text, plan.sni.is_some()));
        }
        Err(HandshakeError::WouldBlock(_)) => {
            return Err(deadline.exceeded("the handshake did not finish"))
        }
        Err(HandshakeError::SetupFailure(e)) => return Err(e.to_string()),
    };
    r.connected = true;
    let s = stream.ssl();
    r.protocol = Some(s.version_str().to_string());
    r.cipher = s.current_cipher().map(|c| c.name().to_string());
    if let Some(chain) = s.peer_cert_chain() {
        r.chain = chain.iter().map(describe).collect();
        r.chain_pem = chain
            .iter()
            .filter_map(|c| c.to_pem().ok())
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .collect();
    }
    let errs = errors.lock().map(|v| v.clone()).unwrap_or_default();
    r.name_matches = plan
        .verify_name
        .as_ref()
        .map(|_| !errs.iter().any(|(code, _, _)| *code == HOSTNAME_MISMATCH));
    let against = match &plan.ca {
        Some(ca) => format!(
            "{} (the hop's CA), depth {}",
            plan.ca_label
                .clone()
                .unwrap_or_else(|| ca.display().to_string()),
            plan.depth
        ),
        None => match &plan.ca_left_out {
            Some(why) => format!("the system CA bundle ({why}), depth {}", plan.depth),
            None => format!(
                "the system CA bundle (the hop names no CA), depth {}",
                plan.depth
            ),
        },
    };
    let mut problems: Vec<String> = errs
        .iter()
        .map(|(code, depth, text)| {
            if *code == HOSTNAME_MISMATCH {
                format!(
                    "the certificate is not for \"{}\" (nginx: upstream SSL certificate does not match)",
                    plan.verify_name.as_deref().unwrap_or("")
                )
            } else if *code == CHAIN_TOO_LONG {
                // nginx logs the last error instead: (20:unable to get local issuer certificate)
                format!(
                    "{text} for verify depth {} (certificate {depth} of the chain): the depth must be at least the number of intermediate certificates",
                    plan.depth
                )
            } else {
                format!("{text} (certificate {depth} of the chain)")
            }
        })
        .collect();
    problems.dedup();
    if s.verify_result() != X509VerifyResult::OK && problems.is_empty() {
        problems.push(s.verify_result().error_string().to_string());
    }
    r.verification = Some(Verification {
        would_pass: problems.is_empty(),
        enabled: plan.verify_on,
        against,
        problems,
    });
    // The handshake is over on this side, but the upstream may still refuse
    // the client: in TLS 1.3 the server checks the client's certificate
    // only after the client has finished (a rejection arrives as an alert),
    // and nginx's stream module with `ssl_verify_client on` closes the
    // connection after the handshake. nginx sends its request and reads
    // that refusal (502), so wait briefly for it: about as long as the
    // handshake took (a round trip or more), at least 100 ms.
    // The wait ends by the peer's deadline too.
    let wanted = start
        .elapsed()
        .max(Duration::from_millis(100))
        .min(deadline.timeout);
    let wait = deadline.left().unwrap_or_default().min(wanted);
    if wait < wanted {
        r.notes.push(format!(
            "the wait for a refusal after the handshake was cut to {} ms by the peer's deadline ({} s)",
            wait.as_millis(),
            deadline.timeout.as_secs_f32()
        ));
    }
    if let Some(e) = refused_after_handshake(&mut stream, wait, plan.sni.is_some()) {
        r.connected = false;
        return Err(e);
    }
    Ok(())
}

/// Reads once, for at most `wait`: the refusal an upstream sends right
/// after the handshake (an alert, or closing the connection), or None when
/// it waits for a request as a server should (or speaks first).
pub(crate) fn refused_after_handshake(
    stream: &mut openssl::ssl::SslStream<Conn>,
    wait: Duration,
    sni_sent: bool,
) -> Option<String> {
    use openssl::ssl::ErrorCode;
    let conn = stream.get_mut();
    conn.until = conn.until.min(Instant::now() + wait);
    let mut buf = [0u8; 1];
    let e = match stream.ssl_read(&mut buf) {
        Ok(_) => return None,
        Err(e) => e,
    };
    const CLOSED: &str = "the upstream accepted the handshake, then closed the connection before any request: it refuses this client, most likely for a missing or unaccepted client certificate (nginx's stream module with ssl_verify_client on does this)";
    match e.code() {
        ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => None,
        ErrorCode::ZERO_RETURN => Some(format!("{CLOSED} [close_notify]")),
        ErrorCode::SSL => {
            let text = e
                .ssl_error()
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            Some(format!(
                "after the handshake: {}",
                explain_failure(&text, sni_sent)
            ))
        }
        _ => match e.io_error() {
            Some(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Some(io) => Some(format!("{CLOSED} [{io}]")),
            None => Some(format!("{CLOSED} [end of stream]")),
        },
    }
}

/// Whether a presented chain (PEM, leaf first) verifies with the CA
/// bundle `ca`, for the name `name` and the verify depth `depth`: Err says
/// why not, as OpenSSL says it (`unable to get local issuer
/// certificate`). No connection is made.
pub fn verify_chain(
    chain_pem: &[String],
    ca: &std::path::Path,
    name: Option<&str>,
    depth: u32,
) -> Result<(), String> {
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::verify::X509VerifyParam;
    use openssl::x509::{X509StoreContext, X509};
    let e = |e: openssl::error::ErrorStack| e.to_string();
    let certs = chain_pem
        .iter()
        .map(|p| X509::from_pem(p.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)?;
    let (leaf, rest) = certs
        .split_first()
        .ok_or_else(|| "no certificate was presented".to_string())?;
    let pem = std::fs::read(ca).map_err(|err| format!("cannot read {}: {err}", ca.display()))?;
    let cas = X509::stack_from_pem(&pem)
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| format!("{} holds no PEM certificate", ca.display()))?;
    let mut b = X509StoreBuilder::new().map_err(e)?;
    for c in cas {
        b.add_cert(c).map_err(e)?;
    }
    let mut param = X509VerifyParam::new().map_err(e)?;
    param.set_depth(depth.min(i32::MAX as u32) as i32);
    if let Some(n) = name {
        param.set_host(n).map_err(e)?;
    }
    b.set_param(&param).map_err(e)?;
    let store = b.build();
    let mut chain = Stack::new().map_err(e)?;
    for c in rest {
        chain.push(c.clone()).map_err(e)?;
    }
    let mut ctx = X509StoreContext::new().map_err(e)?;
    ctx.init(&store, leaf, &chain, |c| {
        Ok(if c.verify_cert()? {
            Ok(())
        } else {
            Err(c.error().error_string().to_string())
        })
    })
    .map_err(e)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words() {
        let no_sni = explain_failure("tlsv1 unrecognized name", false);
        assert!(no_sni.contains("wants SNI and none was sent"), "{no_sni}");
        let wrong = explain_failure("tlsv1 unrecognized name", true);
        assert!(wrong.contains("name sent as SNI"), "{wrong}");
        let proto = explain_failure("tlsv1 alert protocol version", true);
        assert!(proto.contains("TLS protocol version"), "{proto}");
        let cert = explain_failure("tlsv13 alert certificate required", true);
        assert!(cert.contains("client certificate"), "{cert}");
    }
}
