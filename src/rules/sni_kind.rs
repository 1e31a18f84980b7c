//! What kind of name a hop sends as SNI, from the same tests the SNI rules
//! make: the TUI colours the name by it and never decides itself.

use crate::model::{Model, SniKind};

use super::support::{group_named, is_dns_name, is_ip_literal};

/// The kind of SNI hop `hop_index` of `model` sends.
pub fn sni_kind(model: &Model, hop_index: usize) -> SniKind {
    let Some(hop) = model.hops.get(hop_index) else {
        return SniKind::NotSent;
    };
    if !hop.sni.sent {
        return SniKind::NotSent;
    }
    if hop.sni.dynamic {
        return SniKind::Dynamic;
    }
    if super::sni_other_host::written_for_other(model, hop_index).is_some() {
        return SniKind::OtherHost;
    }
    // A group label (`sni-upstream-name`); a group named like a host
    // (`api.example.com`) may be the certificate's name and counts as one.
    let label =
        group_named(model, hop).is_some_and(|up| !(up.name.contains('.') && is_dns_name(&up.name)));
    let address = hop.sni.name.as_deref().is_some_and(is_ip_literal);
    if label || address {
        SniKind::GroupOrAddress
    } else {
        SniKind::Right
    }
}
