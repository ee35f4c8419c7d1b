//! `IMPORT_UPLOADS_PER_IP_PER_MINUTE`: how many import uploads one client may have in flight among
//! those it started in the last minute. A pass is held while its request runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct ImportUploads {
    /// Start times of the uploads in flight, per client.
    live: Mutex<HashMap<String, Vec<(u64, Instant)>>>,
    next: std::sync::atomic::AtomicU64,
}

/// One upload in flight; dropping it ends it.
pub struct UploadPass {
    uploads: Arc<ImportUploads>,
    client: String,
    id: u64,
}

impl ImportUploads {
    /// A pass for `client`, unless it already has `limit` uploads started within the minute.
    pub fn enter(self: &Arc<Self>, client: &str, limit: usize) -> Option<UploadPass> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let started = live.entry(client.to_string()).or_default();
        let recent = started.iter().filter(|(_, at)| at.elapsed() < WINDOW).count();
        if recent >= limit.max(1) {
            return None;
        }
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        started.push((id, Instant::now()));
        Some(UploadPass { uploads: self.clone(), client: client.to_string(), id })
    }
}

impl Drop for UploadPass {
    fn drop(&mut self) {
        let mut live = self.uploads.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(started) = live.get_mut(&self.client) {
            started.retain(|(id, _)| *id != self.id);
            if started.is_empty() {
                live.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_limit_and_passes_come_back() {
        let uploads = Arc::new(ImportUploads::default());
        let first = uploads.enter("a", 2).unwrap();
        let _second = uploads.enter("a", 2).unwrap();
        assert!(uploads.enter("a", 2).is_none());
        assert!(uploads.enter("b", 2).is_some());
        drop(first);
        assert!(uploads.enter("a", 2).is_some());
    }
}
