//! Counts and total bytes of gallery listings, remembered per filter until the gallery changes (its
//! trigger-kept `version` moves), so paging through a filtered gallery counts once.

use std::collections::HashMap;
use std::sync::Mutex;

/// Listings remembered at most; past this the cache starts over.
const CAPACITY: usize = 512;

#[derive(Clone, Copy, Default)]
pub struct Counted {
    pub total: Option<u64>,
    pub total_bytes: Option<u64>,
}

#[derive(Default)]
pub struct CountCache {
    entries: Mutex<HashMap<String, (i64, Counted)>>,
    /// Where deep pages start: `(listing, offset)` → `(version, sort_seq of the row at that offset)`.
    anchors: Mutex<HashMap<(String, u64), (i64, i64)>>,
}

impl CountCache {
    /// What is known for `key` at gallery `version`.
    pub fn get(&self, key: &str, version: i64) -> Counted {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(v, _)| *v == version).map(|(_, counted)| *counted).unwrap_or_default()
    }

    /// The `sort_seq` of the row at `offset` of listing `key`, if known at gallery `version`.
    pub fn anchor(&self, key: &str, offset: u64, version: i64) -> Option<i64> {
        let anchors = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        anchors.get(&(key.to_string(), offset)).filter(|(v, _)| *v == version).map(|(_, seq)| *seq)
    }

    pub fn put_anchor(&self, key: String, offset: u64, version: i64, seq: i64) {
        let mut anchors = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        if anchors.len() >= CAPACITY * 8 && !anchors.contains_key(&(key.clone(), offset)) {
            anchors.clear();
        }
        anchors.insert((key, offset), (version, seq));
    }

    pub fn put(&self, key: String, version: i64, counted: Counted) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, counted));
    }
}
