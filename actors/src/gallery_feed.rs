//! The live fan-out of gallery jobs (exports, imports, syncs): each running job has a watch channel
//! holding its latest state, so a subscriber that falls behind skips intermediate states but always
//! sees the last one, and the terminal state is the last one. The actor running a job publishes here;
//! SSE handlers only read. Ended jobs are dropped from the feed (their stored row is final).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::store::gallery_jobs::GalleryJob;

#[derive(Default)]
pub struct GalleryFeed {
    jobs: Mutex<HashMap<String, watch::Sender<Arc<GalleryJob>>>>,
}

impl GalleryFeed {
    pub fn publish(&self, job: &GalleryJob) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let state = Arc::new(job.clone());
        match jobs.get(&job.id) {
            Some(sender) => {
                sender.send_replace(state);
            }
            None => {
                jobs.insert(job.id.clone(), watch::channel(state).0);
            }
        }
        if job.is_terminal() {
            // Receivers keep the terminal state and then see the channel close.
            jobs.remove(&job.id);
        }
    }

    /// The job's state now and every change after; `None` when it is not running.
    pub fn subscribe(&self, job_id: &str) -> Option<watch::Receiver<Arc<GalleryJob>>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(job_id).map(watch::Sender::subscribe)
    }

    /// A running job's latest state.
    pub fn current(&self, job_id: &str) -> Option<Arc<GalleryJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).get(job_id).map(|s| s.borrow().clone())
    }
}
