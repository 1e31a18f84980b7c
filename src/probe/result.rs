//! What a probe found, per peer: plain data for the reports and the TUI.

use serde::Serialize;

use crate::model::Hop;
use crate::visible::visible;

/// One certificate of the chain the upstream presented.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Cert {
    pub subject: String,
    pub sans: Vec<String>,
    pub issuer: String,
    pub not_after: String,
    pub expired: bool,
}

/// Verification of the presented chain with the hop's CA, depth and name.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Verification {
    /// Whether the handshake would succeed with `*_ssl_verify on`.
    pub would_pass: bool,
    /// Whether verification is on for this hop today.
    pub enabled: bool,
    /// What the chain was checked against.
    pub against: String,
    /// Problems in plain words (empty when it passes).
    pub problems: Vec<String>,
}

/// The result for one peer of one hop.
#[derive(Clone, Debug, Serialize)]
pub struct PeerResult {
    pub hop: String,
    /// The peer as the configuration names it.
    pub peer: String,
    pub address: Option<String>,
    /// False when the hop cannot be probed statically (variables).
    pub probeable: bool,
    pub sni: Option<String>,
    pub verify_name: Option<String>,
    /// The handshake succeeded and the upstream did not refuse the client
    /// right after it (protocol and chain are filled in either way).
    pub connected: bool,
    /// What went wrong, in plain words.
    pub error: Option<String>,
    pub protocol: Option<String>,
    pub cipher: Option<String>,
    pub chain: Vec<Cert>,
    /// The presented chain as PEM (leaf first), to check it against
    /// another CA than the hop's (a fix's proposal) without a new
    /// handshake. Not part of the JSON: `chain` describes it.
    #[serde(skip)]
    pub chain_pem: Vec<String>,
    /// Whether the verify name matches the certificate (None: not checked).
    pub name_matches: Option<bool>,
    pub verification: Option<Verification>,
    /// Notes about what could not be reproduced (e.g. a missing key file).
    pub notes: Vec<String>,
    pub millis: u64,
    /// Where the peer was contacted from: `this machine`, or the server
    /// (`--ssh` HOST) whose network, resolver and files the probe used.
    pub probed_from: String,
}

impl PeerResult {
    /// Why verification fails, as the first problem found says it
    /// (escaped), or just that it fails.
    pub fn verification_problem(&self) -> String {
        self.verification
            .as_ref()
            .and_then(|v| v.problems.first())
            .map_or("verification fails".to_string(), |p| {
                visible(p).into_owned()
            })
    }

    pub(crate) fn new(hop: &Hop, peer: String) -> PeerResult {
        PeerResult::blank(hop.id.clone(), peer)
    }

    /// A peer of the hop `hop` (its id) before anything is known of it.
    pub(crate) fn blank(hop: String, peer: String) -> PeerResult {
        PeerResult {
            hop,
            peer,
            address: None,
            probeable: true,
            sni: None,
            verify_name: None,
            connected: false,
            error: None,
            protocol: None,
            cipher: None,
            chain: Vec::new(),
            chain_pem: Vec::new(),
            name_matches: None,
            verification: None,
            notes: Vec::new(),
            millis: 0,
            probed_from: "this machine".to_string(),
        }
    }

    /// Whether nginx's hop would work with this peer as configured: the
    /// handshake succeeds and, where verification is on, it passes.
    pub fn ok(&self) -> bool {
        self.connected
            && self
                .verification
                .as_ref()
                .map_or(true, |v| !v.enabled || v.would_pass)
    }

    /// The peer as the configuration names it, then the address it
    /// resolved to; control characters shown as escapes (the configuration
    /// is written by others).
    pub fn peer_label(&self) -> String {
        match &self.address {
            Some(a) => format!("{} ({})", visible(&self.peer), visible(a)),
            None => visible(&self.peer).into_owned(),
        }
    }

    /// `SNI name`, or `no SNI`; control characters shown as escapes.
    pub fn sni_label(&self) -> String {
        self.sni
            .as_deref()
            .map_or("no SNI".to_string(), |s| format!("SNI {}", visible(s)))
    }
}
