//! The handshake in a build without the `probe` feature (no OpenSSL): every
//! peer is reported as not probed, with the reason, so the reports and the
//! TUI say what happened instead of failing to build or to run.

use super::plan::Plan;
use super::result::PeerResult;
use super::via::Dial;
use super::Options;

/// No TLS library: nothing to configure.
pub(crate) type SslContext = ();

pub(crate) fn ssl_context(_plan: &Plan) -> Result<SslContext, String> {
    Ok(())
}

pub(crate) fn probe_peer(
    plan: &Plan,
    _ctx: &Result<SslContext, String>,
    peer: &str,
    _opts: Options,
    _dial: &Dial,
    _run_end: Option<(std::time::Instant, std::time::Duration)>,
) -> PeerResult {
    let mut r = plan.result_for(peer);
    r.probeable = false;
    r.error = Some(
        "not probed: this hopscope was built without the probe feature (no TLS library)"
            .to_string(),
    );
    r
}

/// No TLS library: a chain cannot be checked.
pub fn verify_chain(
    _chain_pem: &[String],
    _ca: &std::path::Path,
    _name: Option<&str>,
    _depth: u32,
) -> Result<(), String> {
    Err("this hopscope was built without the probe feature (no TLS library)".to_string())
}
