//! `AIOHTTP_CONNECTION_LIMIT` and `AIOHTTP_CONNECTION_LIMIT_PER_HOST`: how many upstream, probe and
//! image-download requests may be in flight at once, in all and per host. A request holds its permit
//! from sending until its body is read, as a pooled connection is held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Past this many remembered hosts, idle ones are forgotten.
const MAX_REMEMBERED_HOSTS: usize = 64;

pub struct OutboundLimits {
    total: Arc<Semaphore>,
    /// 0: no per-host cap.
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while a request is in flight.
pub struct OutboundPermit {
    _host: Option<OwnedSemaphorePermit>,
    _total: OwnedSemaphorePermit,
}

impl OutboundLimits {
    pub fn new(total: usize, per_host: usize) -> Self {
        OutboundLimits { total: Arc::new(Semaphore::new(total.max(1))), per_host, hosts: Mutex::default() }
    }

    /// Waits for a slot for `host:port`: the host's first, so a request waiting on a busy host does
    /// not hold one of the shared slots meanwhile.
    pub async fn acquire(&self, host: &str, port: u16) -> OutboundPermit {
        let host_permit = match self.host_semaphore(host, port) {
            Some(semaphore) => semaphore.acquire_owned().await.ok(),
            None => None,
        };
        let total = self.total.clone().acquire_owned().await.expect("the semaphore is never closed");
        OutboundPermit { _host: host_permit, _total: total }
    }

    fn host_semaphore(&self, host: &str, port: u16) -> Option<Arc<Semaphore>> {
        if self.per_host == 0 {
            return None;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if hosts.len() >= MAX_REMEMBERED_HOSTS {
            hosts.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        }
        let key = format!("{}:{port}", host.to_ascii_lowercase());
        Some(hosts.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone())
    }
}

impl Default for OutboundLimits {
    /// The settings' defaults.
    fn default() -> Self {
        OutboundLimits::new(100, 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_shared_in_all_and_kept_per_host() {
        let limits = OutboundLimits::new(3, 1);
        let first = limits.acquire("a.example", 443).await;
        let other_host = limits.acquire("b.example", 443).await;
        let same_host = tokio::time::timeout(std::time::Duration::from_millis(50), limits.acquire("A.example", 443));
        assert!(same_host.await.is_err(), "one request per host at a time");
        drop(first);
        let _again = limits.acquire("a.example", 443).await;
        drop(other_host);

        let limits = OutboundLimits::new(1, 0);
        let _only = limits.acquire("a.example", 443).await;
        let next = tokio::time::timeout(std::time::Duration::from_millis(50), limits.acquire("b.example", 443));
        assert!(next.await.is_err(), "one request in all");
    }
}
