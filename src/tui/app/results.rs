//! What the runner reports back: probes, reloads.

use super::{App, CHECKING};
use crate::model::Model;
use crate::tui::action::Effect;

/// The last probe of a hop, or of the previewed fix.
#[derive(Clone, Debug)]
pub enum ProbeView {
    Running,
    Done(Vec<crate::probe::PeerResult>),
}

impl ProbeView {
    /// A short verdict: `…`, `ok`, `fail`, `n/a`.
    pub fn verdict(&self) -> &'static str {
        match self {
            ProbeView::Running => "…",
            ProbeView::Done(r) if r.iter().all(|p| !p.probeable) => "n/a",
            ProbeView::Done(r) if r.iter().filter(|p| p.probeable).all(|p| p.ok()) => "ok",
            ProbeView::Done(_) => "fail",
        }
    }
}

impl App {
    /// `P` on the diff: probe the fixed hops as nginx would connect after
    /// the fix.
    pub(crate) fn probe_fixed(&mut self) -> Vec<Effect> {
        let hops = self.diff_hops();
        if hops.is_empty() {
            return Vec::new();
        }
        self.fix_probe = Some(ProbeView::Running);
        self.fix_probe_changes.clear();
        self.set_status(
            false,
            "probing the fixed hops as nginx would connect after the fix…",
        );
        vec![Effect::ProbeFixed(hops)]
    }

    /// `P`: probe the selected hop's peers.
    pub(crate) fn probe_selected(&mut self) -> Vec<Effect> {
        let Some(h) = self.selected_hop() else {
            return Vec::new();
        };
        let id = self.model.hops[h].id.clone();
        if matches!(self.probes.get(&id), Some(ProbeView::Running)) {
            return Vec::new();
        }
        self.probes.insert(id.clone(), ProbeView::Running);
        let from = match (&self.server, &self.exec) {
            // `--ssh`: the peers are dialled from the server, over ssh.
            (Some(host), _) => format!(" through {host} (from the server, over ssh)"),
            (None, Some(cmd)) => format!(" (from this machine, not from where {cmd} runs)"),
            (None, None) => String::new(),
        };
        self.set_status(
            false,
            format!("probing {id}{from}: a handshake with each peer, as nginx would…"),
        );
        vec![Effect::Probe(vec![id])]
    }

    /// Results of a probe of hops of the loaded configuration.
    pub fn on_probed(&mut self, results: Vec<crate::probe::PeerResult>, asked: &[String]) {
        // The hop view shows what the probe saw under each finding.
        crate::evidence::attach(&self.model, &mut self.findings, &results);
        for id in asked {
            let mine: Vec<_> = results.iter().filter(|r| &r.hop == id).cloned().collect();
            let view = ProbeView::Done(mine);
            let verdict = view.verdict();
            self.probes.insert(id.clone(), view);
            self.set_status(
                verdict == "fail",
                format!("probe of {id}: {verdict} (details in the hop view)"),
            );
        }
    }

    /// Results of the what-if probe of the previewed fix.
    pub fn on_fix_probed(&mut self, results: Vec<crate::probe::PeerResult>) {
        // Before → after for the hops whose last probe is known.
        let before: Vec<crate::probe::PeerResult> = self
            .fix_probe_hops
            .iter()
            .filter_map(|(id, _)| match self.probes.get(id) {
                Some(ProbeView::Done(r)) => Some(r.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect();
        self.fix_probe_changes =
            crate::probe::before_after::pair(&self.fix_probe_hops, &before, &results)
                .into_iter()
                .filter(|c| c.before.is_some())
                .collect();
        let view = ProbeView::Done(results);
        let verdict = view.verdict();
        self.set_status(
            verdict == "fail",
            format!("with the fix applied, the probe says: {verdict}"),
        );
        self.fix_probe = Some(view);
    }

    pub fn on_reloaded(&mut self, result: Result<Model, String>) {
        match result {
            Ok(model) => {
                let before = self.findings_ready().then(|| self.shown_findings());
                let keep = self.status.clone();
                self.replace_model(model);
                // After a save, say both: what was written, then what changed.
                let prefix = keep
                    .and_then(|s| s.text.strip_suffix("; reloading").map(str::to_string))
                    .unwrap_or_default();
                let head = if prefix.is_empty() {
                    "reloaded".to_string()
                } else {
                    prefix
                };
                // The change in findings is said once the rules have run.
                self.check_note = Some(super::check::CheckNote::Reloaded { head, before });
                if self.findings_ready() {
                    self.say_checked();
                } else if let Some(super::check::CheckNote::Reloaded { head, .. }) =
                    &self.check_note
                {
                    let text = format!("{head}; findings: {CHECKING}");
                    self.set_status(false, text);
                }
            }
            Err(e) => self.set_status(true, format!("reload failed: {e}")),
        }
    }
}
