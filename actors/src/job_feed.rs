//! The job feed: the live fan-out of job state to SSE subscribers. The dispatcher, which owns every
//! active job, renders a job's public view once per change and publishes the finished SSE frame here;
//! every subscriber forwards the same bytes. Nothing here reads the database.
//!
//! - Each active job has a watch channel holding its latest frame: a subscriber that falls behind
//!   skips intermediate states but always sees the last one, and the terminal frame is the last one.
//! - The active-jobs list is one watch channel (latest list only, bursts merged).
//! - Frames of jobs that ended go to a broadcast channel; a subscriber that lags past its capacity is
//!   handed the current list again (the jobs it missed are gone from it, as the contract allows).
//!
//! The feed outlives dispatcher restarts: a new dispatcher closes the per-job channels of the jobs it
//! found interrupted and publishes a fresh list, so open streams keep working.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{broadcast, watch};

/// Ended-job frames buffered per global subscriber before it counts as lagging.
const ENDED_CAPACITY: usize = 4096;

/// One job's state as an SSE frame (`event: job`), serialised once.
#[derive(Debug, Clone)]
pub struct JobFrame {
    /// The public JSON view (also what REST reads for a live job).
    pub json: Bytes,
    pub sse: Bytes,
    pub terminal: bool,
}

pub struct JobFeed {
    list: watch::Sender<Bytes>,
    ended: broadcast::Sender<Bytes>,
    jobs: Mutex<HashMap<String, watch::Sender<Arc<JobFrame>>>>,
}

/// What a subscriber to the global feed reads from.
pub struct ListSubscription {
    pub list: watch::Receiver<Bytes>,
    pub ended: broadcast::Receiver<Bytes>,
}

impl Default for JobFeed {
    fn default() -> Self {
        JobFeed {
            list: watch::channel(sse_frame("jobs", b"[]")).0,
            ended: broadcast::channel(ENDED_CAPACITY).0,
            jobs: Mutex::new(HashMap::new()),
        }
    }
}

/// `event: <name>\ndata: <json>\n\n`.
pub fn sse_frame(name: &str, json: &[u8]) -> Bytes {
    let mut frame = Vec::with_capacity(json.len() + name.len() + 16);
    frame.extend_from_slice(b"event: ");
    frame.extend_from_slice(name.as_bytes());
    frame.extend_from_slice(b"\ndata: ");
    frame.extend_from_slice(json);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

impl JobFeed {
    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Sender<Arc<JobFrame>>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The global feed. Ended frames are subscribed first, so none published after the list snapshot
    /// is missed; the list's current value counts as unseen, so it is the first thing read.
    pub fn subscribe_list(&self) -> ListSubscription {
        let ended = self.ended.subscribe();
        let mut list = self.list.subscribe();
        list.mark_changed();
        ListSubscription { list, ended }
    }

    /// A live job's frames, its current one unseen; `None` when the job is not active.
    pub fn subscribe_job(&self, job_id: &str) -> Option<watch::Receiver<Arc<JobFrame>>> {
        let mut receiver = self.jobs().get(job_id)?.subscribe();
        receiver.mark_changed();
        Some(receiver)
    }

    /// A live job's current JSON view; `None` once it ended (the database has its final state).
    pub fn current_json(&self, job_id: &str) -> Option<Bytes> {
        Some(self.jobs().get(job_id)?.borrow().json.clone())
    }

    /// A new or changed job. A terminal frame is the job's last: its channel closes after it.
    pub fn publish_job(&self, job_id: &str, frame: JobFrame) {
        let terminal = frame.terminal;
        let frame = Arc::new(frame);
        let mut jobs = self.jobs();
        if terminal {
            let sse = frame.sse.clone();
            if let Some(sender) = jobs.remove(job_id) {
                sender.send_replace(frame);
            }
            drop(jobs);
            let _ = self.ended.send(sse);
            return;
        }
        match jobs.get(job_id) {
            Some(sender) => {
                sender.send_replace(frame);
            }
            None => {
                jobs.insert(job_id.to_string(), watch::channel(frame).0);
            }
        }
    }

    /// The active-jobs list frame (`event: jobs`), published only when it changed.
    pub fn publish_list(&self, frame: Bytes) {
        self.list.send_if_modified(|current| {
            if *current == frame {
                return false;
            }
            *current = frame;
            true
        });
    }

    /// Closes every per-job channel (a new dispatcher found their jobs interrupted); their streams
    /// read the final state from the database.
    pub fn close_jobs(&self) {
        self.jobs().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str, terminal: bool) -> JobFrame {
        JobFrame { json: Bytes::from(text.to_string()), sse: sse_frame("job", text.as_bytes()), terminal }
    }

    #[tokio::test]
    async fn a_job_subscriber_that_falls_behind_still_gets_the_terminal_frame() {
        let feed = JobFeed::default();
        feed.publish_job("a", frame("{\"s\":1}", false));
        let mut rx = feed.subscribe_job("a").unwrap();
        for i in 2..100 {
            feed.publish_job("a", frame(&format!("{{\"s\":{i}}}"), false));
        }
        feed.publish_job("a", frame("{\"s\":\"end\"}", true));
        assert!(feed.subscribe_job("a").is_none(), "an ended job has no live channel");
        rx.changed().await.unwrap();
        let last = rx.borrow_and_update().clone();
        assert!(last.terminal);
        assert_eq!(&last.sse[..], b"event: job\ndata: {\"s\":\"end\"}\n\n");
    }

    #[tokio::test]
    async fn the_list_is_sent_first_and_only_when_it_changes() {
        let feed = JobFeed::default();
        let mut sub = feed.subscribe_list();
        sub.list.changed().await.unwrap();
        assert_eq!(&sub.list.borrow_and_update()[..], b"event: jobs\ndata: []\n\n");
        feed.publish_list(sse_frame("jobs", b"[]"));
        assert!(!sub.list.has_changed().unwrap(), "an identical list is not sent again");
        feed.publish_job("a", frame("{}", false));
        feed.publish_job("a", frame("{\"done\":1}", true));
        assert_eq!(&sub.ended.recv().await.unwrap()[..], b"event: job\ndata: {\"done\":1}\n\n");
    }
}
