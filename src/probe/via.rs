//! Where a probe runs from: this machine, or the server over ssh (one
//! master connection for the run, each peer a channel opened by the
//! server), and the CA and CRL files read on the server for it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::remote::Tunnel;

use super::plan::{Plan, Source};

/// Where the peers are dialled from.
#[derive(Clone)]
pub(crate) enum Dial {
    /// This machine's network and resolver.
    Direct,
    /// The server's: each peer is a channel of one ssh master connection
    /// (`ssh -W`), the name resolved by the server.
    // Without the probe feature nothing is dialled.
    #[cfg_attr(not(feature = "probe"), allow(dead_code))]
    ViaSsh(Arc<Tunnel>),
}

impl Dial {
    /// How results say where the probe ran from.
    pub(crate) fn from(&self) -> String {
        match self {
            Dial::Direct => "this machine".to_string(),
            Dial::ViaSsh(t) => t.host().to_string(),
        }
    }
}

/// The server's files a run has read: by path on the server, the bytes or
/// why not; and the local copies made of (CA, CRL) pairs.
#[derive(Default)]
pub(crate) struct ServerFiles {
    read: HashMap<PathBuf, Result<Vec<u8>, String>>,
    copies: HashMap<(PathBuf, Option<PathBuf>), Result<PathBuf, String>>,
}

impl ServerFiles {
    fn read(&mut self, tunnel: &Tunnel, path: &Path) -> Result<Vec<u8>, String> {
        self.read
            .entry(path.to_path_buf())
            .or_insert_with(|| tunnel.read_file(path))
            .clone()
    }

    /// A private copy of the server's CA (and CRL, when read) for OpenSSL.
    fn copy(
        &mut self,
        tunnel: &Tunnel,
        ca: &Path,
        crl: Option<&PathBuf>,
    ) -> Result<PathBuf, String> {
        let key = (ca.to_path_buf(), crl.cloned());
        if let Some(done) = self.copies.get(&key) {
            return done.clone();
        }
        let done = (|| {
            let mut bytes = self.read(tunnel, ca)?;
            if let Some(crl) = crl {
                bytes.push(b'\n');
                bytes.extend(self.read(tunnel, crl)?);
            }
            let local = tunnel
                .private_dir()
                .join(format!("trusted-{}.pem", self.copies.len()));
            std::fs::write(&local, bytes).map_err(|e| format!("cannot keep a copy: {e}"))?;
            Ok(local)
        })();
        self.copies.insert(key, done.clone());
        done
    }
}

/// The plan with the CA and CRL its configuration names on the server
/// (a configuration over ssh): read there when the probe goes through
/// it, else left out with a note.
pub(crate) fn with_server_files(plan: &Plan, dial: &Dial, files: &mut ServerFiles) -> Plan {
    let mut plan = plan.clone();
    let (ca, crl) = (plan.server_ca.take(), plan.server_crl.take());
    if ca.is_none() && crl.is_none() {
        return plan;
    }
    let tunnel = match dial {
        Dial::ViaSsh(t) => t,
        Dial::Direct => {
            let why = Source::Remote.says();
            if let Some((name, path)) = ca {
                plan.notes.push(format!(
                    "{name} {} not read: {why}; verification is checked against the system CA bundle instead (pass --local-files to use this machine's files)",
                    path.display()
                ));
                plan.ca_left_out = Some(format!("the hop's CA was not read: {why}"));
            }
            if crl.is_some() {
                plan.notes.push(
                    "the probe does not check the CRL: a revoked certificate still passes here"
                        .into(),
                );
            }
            return plan;
        }
    };
    let host = tunnel.host();
    let Some((name, path)) = ca else {
        if let Some((crl_name, crl_path)) = crl {
            plan.notes.push(format!(
                "{crl_name} {} is not checked: the hop names no CA to check it with",
                crl_path.display()
            ));
        }
        return plan;
    };
    // A CRL that cannot be read leaves the CA in use, with a note.
    let crl_path = match &crl {
        Some((crl_name, crl_path)) => match files.read(tunnel, crl_path) {
            Ok(_) => Some(crl_path.clone()),
            Err(e) => {
                plan.notes.push(format!(
                    "{crl_name} {} could not be read on {host} ({e}): the CRL is not checked",
                    crl_path.display()
                ));
                None
            }
        },
        None => None,
    };
    match files.copy(tunnel, &path, crl_path.as_ref()) {
        Ok(local) => {
            plan.ca = Some(local);
            plan.ca_label = Some(format!("{} (read on {host})", path.display()));
            plan.crl_check = crl_path.is_some();
        }
        Err(e) => {
            plan.notes.push(format!(
                "{name} {} could not be read on {host} ({e}); verification is checked against the system CA bundle instead",
                path.display()
            ));
            plan.ca_left_out = Some(format!("the hop's CA could not be read on {host}"));
        }
    }
    plan
}
