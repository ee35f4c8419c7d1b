//! Server-Sent Events plumbing shared by every live stream: subscriber limits (global and per client
//! IP, released when a stream ends) and a writer that frames events, sends `retry:` once and a
//! `: keep-alive` comment after 15 s of silence, and stops at the connection's TTL, when the client
//! goes away, or when the server shuts down (so a stop does not wait out the grace period for them).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use poem::Body;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Milliseconds a browser waits before reconnecting.
pub const RETRY_MS: u64 = 3000;

pub struct SseLimiter {
    open: Mutex<(usize, HashMap<String, usize>)>,
    /// Set once, at shutdown: every stream ends.
    closing: watch::Sender<bool>,
}

impl Default for SseLimiter {
    fn default() -> Self {
        SseLimiter { open: Mutex::default(), closing: watch::Sender::new(false) }
    }
}

/// One open stream; dropping it frees the slot.
pub struct SseSlot {
    limiter: Arc<SseLimiter>,
    client: String,
}

impl SseLimiter {
    pub fn acquire(self: &Arc<Self>, client: &str, global_max: usize, per_client_max: usize) -> Option<SseSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let for_client = open.1.get(client).copied().unwrap_or(0);
        if open.0 >= global_max || for_client >= per_client_max {
            return None;
        }
        open.0 += 1;
        open.1.insert(client.to_string(), for_client + 1);
        Some(SseSlot { limiter: self.clone(), client: client.to_string() })
    }

    /// Ends every open stream, and any opened after; called at shutdown.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    pub fn open_count(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for SseSlot {
    fn drop(&mut self) {
        let mut open = self.limiter.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(count) = open.1.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.1.remove(&self.client);
            }
        }
    }
}

/// Writes frames into the response body.
pub struct SseWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    deadline: Instant,
    closing: watch::Receiver<bool>,
}

/// Why a stream stopped writing.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    ClientGone,
    Expired,
    ShuttingDown,
}

impl SseWriter {
    async fn send(&mut self, frame: String) -> Result<(), Stop> {
        self.tx.send(Ok(Bytes::from(frame))).await.map_err(|_| Stop::ClientGone)
    }

    /// A frame serialised once and shared by every subscriber.
    pub async fn frame(&mut self, frame: Bytes) -> Result<(), Stop> {
        self.tx.send(Ok(frame)).await.map_err(|_| Stop::ClientGone)
    }

    /// `event: <name>` with compact JSON data on one line.
    pub async fn event(&mut self, name: &str, data: &serde_json::Value) -> Result<(), Stop> {
        self.send(format!("event: {name}\ndata: {data}\n\n")).await
    }

    /// Waits for `next` while keeping the connection alive; `None` when the TTL passed.
    pub async fn wait<T>(&mut self, next: impl std::future::Future<Output = T>) -> Result<T, Stop> {
        tokio::pin!(next);
        loop {
            if *self.closing.borrow() {
                return Err(Stop::ShuttingDown);
            }
            let now = Instant::now();
            if now >= self.deadline {
                return Err(Stop::Expired);
            }
            let wake = (now + KEEP_ALIVE).min(self.deadline);
            tokio::select! {
                value = &mut next => return Ok(value),
                () = tokio::time::sleep_until(wake) => {
                    if Instant::now() < self.deadline {
                        self.send(": keep-alive\n\n".to_string()).await?;
                    }
                }
                () = self.tx.closed() => return Err(Stop::ClientGone),
                _ = self.closing.changed() => {}
            }
        }
    }
}

/// A streaming body fed by `produce`, which gets a writer that already sent `retry:`. The slot is
/// held until the producer returns.
pub fn stream<F, Fut>(slot: SseSlot, ttl: Duration, produce: F) -> Body
where
    F: FnOnce(SseWriter) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Stop>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        let closing = slot.limiter.closing.subscribe();
        let _slot = slot;
        let mut writer = SseWriter { tx, deadline: Instant::now() + ttl, closing };
        if writer.send(format!("retry: {RETRY_MS}\n\n")).await.is_ok() {
            let _ = produce(writer).await;
        }
    });
    let frames = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|frame| (frame, rx)) });
    Body::from_bytes_stream(frames)
}
