//! A hop's identity across re-analyses. Fixing inserts lines, so line
//! numbers and ids move; what stays is each hop's file and its rank among
//! that file's hops in the model's order (by position, then reading order
//! for one pass directive reached through several include paths). Fixes
//! never add, remove or reorder pass directives or includes.

use std::collections::HashMap;

use crate::model::Model;

/// A hop's file and its rank among that file's hops.
pub(super) type HopKey = (String, usize);

/// The key of every hop of a model, and the hop of every key.
pub(super) struct HopKeys {
    keys: Vec<HopKey>,
    by_key: HashMap<HopKey, usize>,
}

impl HopKeys {
    pub(super) fn new(model: &Model) -> HopKeys {
        let mut rank: HashMap<&str, usize> = HashMap::new();
        let keys: Vec<HopKey> = model
            .hops
            .iter()
            .map(|h| {
                let n = rank.entry(h.file.as_str()).or_insert(0);
                *n += 1;
                (h.file.clone(), *n - 1)
            })
            .collect();
        let by_key = keys
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, k)| (k, i))
            .collect();
        HopKeys { keys, by_key }
    }

    /// The key of hop `index`.
    pub(super) fn key(&self, index: usize) -> &HopKey {
        &self.keys[index]
    }

    /// The hop with this key, if any.
    pub(super) fn find(&self, key: &HopKey) -> Option<usize> {
        self.by_key.get(key).copied()
    }
}

/// The hops of two analyses of one configuration (before and after some
/// edits): the id in `original` of a hop of `model`.
pub(super) struct Ids<'a> {
    original: &'a Model,
    original_keys: HopKeys,
}

impl<'a> Ids<'a> {
    pub(super) fn new(original: &'a Model) -> Ids<'a> {
        Ids {
            original,
            original_keys: HopKeys::new(original),
        }
    }

    /// The id in the original model of hop `index` of a model whose keys
    /// are `keys`.
    pub(super) fn original_id(&self, keys: &HopKeys, index: usize) -> Option<String> {
        self.original_keys
            .find(keys.key(index))
            .map(|i| self.original.hops[i].id.clone())
    }
}

/// The ids, in a fixed configuration, of hops named by their ids in the
/// configuration as loaded (inserted lines move line numbers).
pub fn ids_after(original: &Model, after: &Model, ids: &[String]) -> Vec<String> {
    let names = Ids::new(original);
    let keys = HopKeys::new(after);
    (0..after.hops.len())
        .filter(|&i| {
            names
                .original_id(&keys, i)
                .is_some_and(|id| ids.contains(&id))
        })
        .map(|i| after.hops[i].id.clone())
        .collect()
}
