//! The fix basket: the fixes a person picked, kept while they move between
//! hops and screens, previewed together as one diff across hops and files,
//! and emptied only when they ask (or after a save or reload, when the
//! findings they named are gone). The follow-ups they took (findings the
//! picked fixes create) are kept with it.

use crate::fix::{preview, Placement};
use crate::report::labels;
use crate::tui::action::Screen;

use super::App;

/// A picked fix: a finding of the loaded configuration and where its
/// lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    /// Index into `App::findings`.
    pub finding: usize,
    pub placement: Placement,
}

impl App {
    /// Whether a finding's fix is in the basket.
    pub fn picked(&self, finding: usize) -> bool {
        self.fix.basket.iter().any(|p| p.finding == finding)
    }

    /// The hops (indices) the basket has fixes for, in the order picked.
    pub fn basket_hops(&self) -> Vec<usize> {
        let mut hops: Vec<usize> = Vec::new();
        for p in &self.fix.basket {
            if let Some(h) = self.findings[p.finding].hop {
                if !hops.contains(&h) {
                    hops.push(h);
                }
            }
        }
        hops
    }

    /// `3 fixes for 2 hops`, or `empty`.
    pub fn basket_label(&self) -> String {
        if self.fix.basket.is_empty() {
            return "empty".into();
        }
        let n = self.fix.basket.len();
        let mut s = format!(
            "{n} {} for {}",
            if n == 1 { "fix" } else { "fixes" },
            labels::count(self.basket_hops().len(), "hop")
        );
        if !self.fix.take.is_empty() {
            s.push_str(&format!(
                " + {}",
                labels::count(self.fix.take.len(), "follow-up")
            ));
        }
        s
    }

    /// Space on the fix screen: the fix under the cursor in or out.
    pub(crate) fn toggle_pick(&mut self) {
        let Some(item) = self.fix.items.get(self.fix.cursor).cloned() else {
            return;
        };
        if self.picked(item.finding) {
            self.fix.basket.retain(|p| p.finding != item.finding);
        } else {
            self.fix.basket.push(Pick {
                finding: item.finding,
                placement: item.placement,
            });
        }
        // Follow-ups answer the basket as it was; a refusal explained the
        // last preview, not this selection.
        self.fix.take.clear();
        self.fix.refused.retain(|(f, _)| *f != item.finding);
    }

    /// `a` on the fix screen: every fix listed into the basket, or all of
    /// them out when they are all in it already.
    pub(crate) fn toggle_all(&mut self) {
        let items = self.fix.items.clone();
        if items.is_empty() {
            return;
        }
        let all = items.iter().all(|it| self.picked(it.finding));
        if all {
            self.fix
                .basket
                .retain(|p| !items.iter().any(|it| it.finding == p.finding));
        } else {
            for it in &items {
                if !self.picked(it.finding) {
                    self.fix.basket.push(Pick {
                        finding: it.finding,
                        placement: it.placement,
                    });
                }
            }
        }
        self.fix.take.clear();
        self.fix.refused.clear();
        let n = items.len();
        self.set_status(
            false,
            if all {
                format!("none of the {n} fixes listed is selected")
            } else {
                format!("all {n} fixes listed are selected")
            },
        );
    }

    /// `p` on the fix screen: the other placement of the fix under the
    /// cursor (and of its pick), offered only when it writes some line
    /// into another block; the status says where.
    pub(crate) fn toggle_placement(&mut self) {
        let Some(item) = self.fix.items.get(self.fix.cursor).cloned() else {
            return;
        };
        let f = &self.findings[item.finding];
        let (Some(h), Some(fix)) = (f.hop, &f.fix) else {
            return;
        };
        let hop = &self.model.hops[h];
        if !preview::placement_differs(&self.model, hop, fix) {
            let only = preview::placement_label(&self.model, hop, fix, Placement::Hop);
            self.set_status(
                false,
                format!("no other placement: every line of this fix goes into {only}"),
            );
            return;
        }
        let next = match item.placement {
            Placement::Hop => Placement::Defining,
            Placement::Defining => Placement::Hop,
        };
        let label = preview::placement_label(&self.model, hop, fix, next);
        if let Some(it) = self.fix.items.get_mut(self.fix.cursor) {
            it.placement = next;
        }
        for p in &mut self.fix.basket {
            if p.finding == item.finding {
                p.placement = next;
            }
        }
        self.fix.take.clear();
        self.fix.refused.retain(|(fi, _)| *fi != item.finding);
        self.set_status(false, format!("now goes into {label}"));
    }

    /// `X`: empty the basket (typed values stay: they are answers, not
    /// picks). On the diff screen, the diff it showed is gone too.
    pub(crate) fn clear_basket(&mut self) {
        if self.fix.basket.is_empty() && self.fix.take.is_empty() {
            self.set_status(false, "the fix basket is already empty");
            return;
        }
        let n = self.fix.basket.len() + self.fix.take.len();
        self.fix.basket.clear();
        self.fix.take.clear();
        self.fix.refused.clear();
        if self.screen() == Screen::Diff {
            self.stack.pop();
            self.diff = Default::default();
        }
        self.set_status(
            false,
            format!(
                "fix basket emptied ({} removed)",
                labels::count(n, "selection")
            ),
        );
    }

    /// `a` on the diff screen: take the follow-ups offered (findings the
    /// picked fixes create) and preview again with them applied.
    pub(crate) fn take_followups(&mut self) {
        let offered: Vec<(String, String)> = self
            .diff
            .offered
            .iter()
            .filter(|f| f.fixable)
            .map(|f| (f.rule.to_string(), f.hop.clone()))
            .collect();
        if offered.is_empty() {
            self.set_status(
                false,
                "no follow-up to take: the fixes create no new finding",
            );
            return;
        }
        let n = offered.len();
        let before = self.fix.take.clone();
        for o in offered {
            if !self.fix.take.contains(&o) {
                self.fix.take.push(o);
            }
        }
        self.repreview();
        if self.screen() == Screen::Diff {
            // A selected fix that did not take says so first.
            if !self.status.as_ref().is_some_and(|s| s.error) {
                self.set_status(
                    false,
                    format!(
                        "{} applied in the diff (listed below as taken)",
                        labels::count(n, "follow-up")
                    ),
                );
            }
            return;
        }
        // A follow-up that needs a value nobody gave: the diff stays as it
        // was, and the status says what to type where.
        let why = self.status.take().map(|s| s.text).unwrap_or_default();
        self.fix.take = before;
        self.repreview();
        self.set_status(
            true,
            format!(
                "follow-ups not applied: {} (open that hop's fixes with f and type it with e, then a again)",
                why.trim_start_matches("press e to type ")
            ),
        );
    }

    /// The diff made again after the follow-ups taken changed, in place
    /// (not stacked again), where the person was looking.
    fn repreview(&mut self) {
        let d = &self.diff;
        let view = (d.nowrap, d.hscroll, d.scroll, d.focus_ups, d.ups_cursor);
        if self.screen() == Screen::Diff {
            self.stack.pop();
        }
        self.preview();
        if self.screen() == Screen::Diff {
            let d = &mut self.diff;
            (d.nowrap, d.hscroll, d.scroll, d.focus_ups) = (view.0, view.1, view.2, view.3);
            let n = d.offered.len() + d.taken.len();
            d.ups_cursor = view.4.min(n.saturating_sub(1));
            d.focus_ups &= n > 0;
        }
    }

    /// Tab on the diff: the keys move among the follow-ups, or back to
    /// the diff.
    pub(crate) fn focus_followups(&mut self) {
        if self.diff.offered.is_empty() && self.diff.taken.is_empty() {
            self.set_status(false, "no follow-ups: the fixes create no new finding");
            return;
        }
        self.diff.focus_ups = !self.diff.focus_ups;
    }

    /// Space on a follow-up: take it (its fix is applied in the diff) or
    /// drop it again.
    pub(crate) fn toggle_followup(&mut self) {
        if !self.diff.focus_ups {
            self.set_status(false, "Tab moves to the follow-ups; Space then takes one");
            return;
        }
        let d = &self.diff;
        let i = d.ups_cursor;
        let Some(up) = d
            .offered
            .get(i)
            .or_else(|| d.taken.get(i - d.offered.len().min(i)))
        else {
            return;
        };
        let key = (up.rule.to_string(), up.hop.clone());
        let taking = i < d.offered.len();
        if taking && !up.fixable {
            self.set_status(
                false,
                "this follow-up has no automatic fix: read it, fix it by hand",
            );
            return;
        }
        if taking {
            let before = self.fix.take.clone();
            self.fix.take.push(key.clone());
            self.repreview();
            if self.screen() != Screen::Diff {
                let why = self.status.take().map(|s| s.text).unwrap_or_default();
                self.fix.take = before;
                self.repreview();
                self.set_status(
                    true,
                    format!(
                        "follow-up not applied: {}",
                        why.trim_start_matches("press e to type ")
                    ),
                );
                return;
            }
            // A follow-up the planner refused says why (set by the preview).
            if self.fix.take.contains(&key) {
                self.set_status(false, format!("{} at {} applied in the diff", key.0, key.1));
            }
        } else {
            self.fix.take.retain(|k| *k != key);
            self.repreview();
            self.set_status(
                false,
                format!("{} at {} taken out of the diff", key.0, key.1),
            );
        }
    }
}
