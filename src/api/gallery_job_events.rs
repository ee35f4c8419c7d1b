//! SSE of one gallery job (export, import, sync): its state now, then every change the job's actor
//! publishes, until the terminal state. The feed is subscribed before the stored state is read, so a
//! job that ends in between still sends its final state.

use std::sync::Arc;

use panel_actors::store::gallery_jobs::GalleryJob;
use poem::Request;
use tokio::sync::watch;

use super::error::ApiResult;
use super::job_events::{EventStreamResponse, event_stream, sse_slot};
use crate::app::AppState;
use crate::web::sse;

/// A stream of `event: <name>` frames; `live` is the feed subscription taken before `first` was read.
pub fn job_stream(
    state: &AppState,
    req: &Request,
    live: Option<watch::Receiver<Arc<GalleryJob>>>,
    first: GalleryJob,
    name: &'static str,
    render: fn(&GalleryJob) -> serde_json::Value,
) -> ApiResult<EventStreamResponse> {
    let slot = sse_slot(state, req)?;
    let ttl = state.settings.current().sse_ttl;
    let body = sse::stream(slot, ttl, move |mut writer| async move {
        let Some(mut changes) = live else {
            return writer.event(name, &render(&first)).await;
        };
        changes.mark_changed();
        while writer.wait(changes.changed()).await?.is_ok() {
            let job = changes.borrow_and_update().clone();
            writer.event(name, &render(&job)).await?;
            if job.is_terminal() {
                break;
            }
        }
        Ok(())
    });
    Ok(event_stream(body))
}
