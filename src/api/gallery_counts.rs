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
}

impl CountCache {
    /// What is known for `key` at gallery `version`.
    pub fn get(&self, key: &str, version: i64) -> Counted {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(v, _)| *v == version).map(|(_, counted)| *counted).unwrap_or_default()
    }

    pub fn put(&self, key: String, version: i64, counted: Counted) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, counted));
    }
}
