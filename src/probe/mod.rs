//! Probing: open TLS to every peer of a hop exactly as nginx would for that
//! hop, and report what the upstream answers.
//!
//! The handshake uses OpenSSL, the library nginx itself uses, configured
//! from the hop's effective settings: the predicted SNI (or none), the
//! effective protocols and ciphers, the client certificate and key, ALPN
//! `h2` for grpc, and verification against the effective
//! `*_ssl_trusted_certificate` with the effective depth and the verify name
//! (OpenSSL's host check, which is what nginx's `ngx_ssl_check_host` calls).
//! Verification problems are collected rather than fatal, so a probe also
//! says whether the hop *would* pass with verification on.
//!
//! Only the peers the configuration names are contacted, at most
//! `concurrency` at a time. Each peer has one deadline, `timeout` from its
//! start, for name resolution, connect, handshake and the wait after it: a
//! peer that answers a byte at a time ends with "deadline exceeded after
//! N s" instead of holding the probe.
//!
//! After the handshake the probe waits briefly (as long as the handshake
//! took, at least 100 ms, at most `timeout`) for a refusal that comes only
//! then: in TLS 1.3 a server checks the client certificate after the client
//! has finished (the alert certificate_required arrives afterwards), and
//! nginx's stream module with `ssl_verify_client on` closes the connection
//! after the handshake. nginx reads either instead of a response (502).
//!
//! Checked against a real nginx 1.22.1 with OpenSSL 3.0 (tests/probe.rs):
//! SNI required / wrong / absent, client certificates, expired and
//! wrongly named certificates, protocol mismatches, and chains. The verify
//! depth counts the intermediate certificates: with depth N a chain of
//! leaf, N intermediates and the trusted root passes, N+1 intermediates do
//! not (depth 0 fails with one intermediate; the default 1 fails with two).
//!
//! # Where the probe and nginx differ
//!
//! - An nginx *http* server with `ssl_verify_client on` (or `optional` and
//!   a certificate it rejects) completes every handshake and refuses the
//!   request with HTTP 400 ("No required SSL certificate was sent", "The
//!   SSL certificate error"). nginx passes that 400 on; the probe, which
//!   sends no request, reports a working hop. A TLS client cannot tell
//!   this server from one with `ssl_verify_client optional`, and whether
//!   the server asked for a certificate at all is not available through
//!   the safe `openssl` API (the crate forbids `unsafe`).
//! - A refusal that arrives later than the wait above is missed.
//! - nginx logs only the last verification error (a chain longer than the
//!   depth shows as "20:unable to get local issuer certificate"); the probe
//!   lists every error in order, and says "chain too long for verify
//!   depth N" first.
//! - nginx reuses TLS sessions per peer (`*_ssl_session_reuse on`): a
//!   resumed session is not verified again and may carry the SNI of an
//!   earlier handshake. The probe always makes a full handshake.
//! - A host name that resolves to several addresses is one peer per address
//!   for nginx; the probe contacts the first address only.
//! - CRLs (except a server's, read through ssh), password files and
//!   per-request (variable) names, certificates and targets are left out,
//!   with a note.
//!
//! # Files the configuration names
//!
//! Client certificates and keys, CA and CRL files and `unix:` peers are
//! used only when they are this machine's ([`LocalFiles`]): a tree loaded
//! from disk, or `--local-files`. A dump, standard input, a server over ssh
//! or the demo name another machine's files; using them here would present
//! this machine's client key to a peer the configuration chose. They are
//! left out, with a note per peer, and unix peers are not contacted.
//!
//! # From the server
//!
//! With [`Prepared::through`] (`--ssh`) the peers are dialled from the
//! server over one ssh master connection ([`crate::remote::Tunnel`]): each
//! peer is an `ssh -W` channel, the name resolved by the server, and the
//! handshake above runs over it unchanged, under the same deadlines (the
//! channel's `ssh` is killed when its peer ends). The CA and CRL files the
//! configuration names are read on the server for it (the CRL then checked
//! for the whole chain, as nginx does); client keys stay there, so a hop
//! with a client certificate is probed without it, and says so; `unix:`
//! peers are not probed. [`Prepared::within`] adds one deadline for the
//! whole run. Every result says where it was probed from
//! ([`PeerResult::probed_from`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::Model;

#[cfg(feature = "probe")]
mod net;
mod plan;
mod result;
mod via;
// The handshake needs OpenSSL (the `probe` feature, on by default); the
// engine builds without it, and then reports every peer as not probed.
#[cfg(feature = "probe")]
mod tls;
#[cfg(not(feature = "probe"))]
#[path = "without_tls.rs"]
mod tls;

pub use plan::{peers, LocalFiles, Source};
pub use result::{Cert, PeerResult, Verification};
pub use tls::verify_chain;
pub mod before_after;
#[cfg(feature = "probe")]
pub use tls::explain_failure;

use plan::Plan;

/// What is said instead of probing the built-in demo: its hosts are made
/// up, so it is never probed (no name is looked up, no connection made).
pub const DEMO_OFFLINE: &str =
    "the built-in demo is not on a network: nothing was probed; probe your own configuration";

/// Whether a configuration may be probed: not the built-in demo.
pub fn on_network(model: &Model) -> bool {
    model.config.loaded_from != crate::conf::LoadedFrom::Demo
}

use tls::{probe_peer, ssl_context, SslContext};
use via::{with_server_files, Dial, ServerFiles};

/// How to probe.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub timeout: Duration,
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(5),
            concurrency: 32,
        }
    }
}

/// One peer to probe: hop index, peer, the hop's plan.
type Job = (usize, String, Arc<Plan>);

/// Probes the given hops (all when `only` is empty), bounded in concurrency,
/// using the files the configuration names only when the model's origin
/// allows it ([`LocalFiles::of`]).
pub fn probe(model: &Model, only: &[String], opts: Options) -> Vec<PeerResult> {
    prepare(model, only, LocalFiles::of(model)).run(opts)
}

/// The work of a probe, resolved from the model up front: it owns
/// everything it needs, so it can run on another thread (the TUI probes
/// in the background) while the model stays where it is.
pub struct Prepared {
    jobs: Vec<Job>,
    /// Results known without contacting anyone (targets with variables).
    known: Vec<PeerResult>,
    /// Hop ids in the model's order, to sort the results.
    order: Vec<String>,
    /// Probe through this server (`--ssh`), else from this machine.
    through: Option<crate::remote::Remote>,
    /// The run's deadline, counted from the start of [`Prepared::run`].
    deadline: Option<Duration>,
}

/// Resolves what probing the given hops (all when `only` is empty) takes;
/// `files` says whether the files and unix sockets the configuration names
/// may be used on this machine.
pub fn prepare(model: &Model, only: &[String], files: LocalFiles) -> Prepared {
    let mut jobs: Vec<(usize, String)> = Vec::new();
    let mut out: Vec<PeerResult> = Vec::new();
    for (i, hop) in model.hops.iter().enumerate() {
        if !only.is_empty() && !only.contains(&hop.id) {
            continue;
        }
        match peers(model, hop) {
            Some(ps) => jobs.extend(ps.into_iter().map(|p| (i, p))),
            None => {
                let mut r = PeerResult::new(hop, hop.target.raw.clone());
                r.probeable = false;
                r.error = Some(
                    "the target has variables: the peer is known only per request, so it cannot be probed"
                        .into(),
                );
                out.push(r);
            }
        }
    }
    // One plan per hop.
    let mut by_hop: HashMap<usize, Arc<Plan>> = HashMap::new();
    let plans: Vec<Job> = jobs
        .into_iter()
        .map(|(i, p)| {
            let plan = Arc::clone(
                by_hop
                    .entry(i)
                    .or_insert_with(|| Arc::new(Plan::for_hop(model, &model.hops[i], files))),
            );
            (i, p, plan)
        })
        .collect();
    Prepared {
        jobs: plans,
        known: out,
        order: model.hops.iter().map(|h| h.id.clone()).collect(),
        through: None,
        deadline: None,
    }
}

impl Prepared {
    /// Probe from the server `remote` (its network, resolver and files)
    /// over one ssh master connection; None: from this machine.
    pub fn through(mut self, remote: Option<crate::remote::Remote>) -> Prepared {
        self.through = remote;
        self
    }

    /// One deadline for the whole run: peers not done by then end with
    /// the reason, and peers not started are reported as not probed.
    pub fn within(mut self, deadline: Option<Duration>) -> Prepared {
        self.deadline = deadline;
        self
    }

    /// Contacts the peers, at most `opts.concurrency` at a time.
    pub fn run(self, opts: Options) -> Vec<PeerResult> {
        let Prepared {
            jobs,
            known: mut out,
            order,
            through,
            deadline,
        } = self;
        let started = Instant::now();
        let run_end = deadline.map(|d| (started + d, d));
        // Without a TLS library nothing is dialled: no connection either.
        let through = through.filter(|_| cfg!(feature = "probe"));
        let dial = match &through {
            None => Dial::Direct,
            // Nothing to dial: no connection to the server.
            Some(_) if jobs.is_empty() => Dial::Direct,
            // Connecting counts against the run's deadline too.
            Some(remote) => match crate::remote::Tunnel::open(&bounded(remote, deadline)) {
                Ok(t) => Dial::ViaSsh(Arc::new(t)),
                Err(e) => {
                    let from = remote.host.clone();
                    out.extend(jobs.into_iter().map(|(_, peer, plan)| {
                        let mut r = plan.result_for(&peer);
                        r.error = Some(format!(
                            "not probed: the probe goes through the server, and {e}"
                        ));
                        r
                    }));
                    return finish(out, &order, &from);
                }
            },
        };
        let from = match (&through, &dial) {
            (Some(remote), Dial::Direct) => remote.host.clone(),
            _ => dial.from(),
        };
        // The server's files, then one OpenSSL context per distinct set of
        // context settings: loading a CA bundle costs tens of milliseconds
        // of CPU, which a context per peer paid again for every peer (the
        // peers of a 200-server pool took longer than their own timeouts).
        let mut server_files = ServerFiles::default();
        // One plan per hop (by id), with the server's files.
        let mut plans: HashMap<String, Arc<Plan>> = HashMap::new();
        let mut ssl_contexts: HashMap<String, Arc<Result<SslContext, String>>> = HashMap::new();
        type Ready = (String, Arc<Plan>, Arc<Result<SslContext, String>>);
        let ready: Vec<Ready> = jobs
            .into_iter()
            .map(|(_, peer, plan)| {
                let plan = Arc::clone(plans.entry(plan.hop.clone()).or_insert_with(|| {
                    Arc::new(with_server_files(&plan, &dial, &mut server_files))
                }));
                let ctx = Arc::clone(
                    ssl_contexts
                        .entry(plan.ssl_context_key())
                        .or_insert_with(|| Arc::new(ssl_context(&plan))),
                );
                (peer, plan, ctx)
            })
            .collect();
        let limit = opts.concurrency.clamp(1, 256);
        out.extend(crate::parallel::map_bounded(
            ready,
            limit,
            |(peer, plan, ctx)| match run_end {
                Some((end, len)) if Instant::now() >= end => {
                    let mut r = plan.result_for(&peer);
                    r.error = Some(format!(
                        "not probed: the run's deadline of {} s passed before this peer's turn (--deadline bounds the whole probe run)",
                        len.as_secs_f32()
                    ));
                    r
                }
                _ => probe_peer(&plan, &ctx, &peer, opts, &dial, run_end),
            },
        ));
        drop(dial);
        finish(out, &order, &from)
    }
}

/// The server, its ssh runs bounded by the run's deadline too.
fn bounded(remote: &crate::remote::Remote, deadline: Option<Duration>) -> crate::remote::Remote {
    let mut r = remote.clone();
    if let Some(d) = deadline {
        r.timeout = r.timeout.min(d);
    }
    r
}

/// The results in the model's order, each saying where it was probed from.
fn finish(mut out: Vec<PeerResult>, order: &[String], from: &str) -> Vec<PeerResult> {
    for r in &mut out {
        r.probed_from = from.to_string();
    }
    let pos = |id: &str| order.iter().position(|h| h == id).unwrap_or(usize::MAX);
    out.sort_by_key(|r| pos(&r.hop));
    out
}
