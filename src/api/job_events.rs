//! Live job progress over SSE: one job (`event: job` until it ends) and the global feed (`event: jobs`
//! with every active job whenever the list changes, plus `event: job` when a job ends). The handlers
//! only forward frames the dispatcher rendered once for everyone (see `panel_actors::job_feed`); they
//! read the database only for a job that is not live. Subscribing yields the current state as the
//! first frame, so no change is missed.

use std::sync::Arc;

use bytes::Bytes;
use panel_actors::job_feed::{ListSubscription, sse_frame};
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};
use tokio::sync::broadcast::error::RecvError;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::jobs::{not_found, view};
use crate::app::AppState;
use crate::web::security::RequestContext;
use crate::web::sse::{self, SseSlot, Stop};

pub struct JobEventsApi;

#[derive(ApiResponse)]
pub enum EventStreamResponse {
    /// `text/event-stream`: `event: job` / `event: jobs` frames with compact JSON data.
    #[oai(status = 200, content_type = "text/event-stream; charset=utf-8")]
    Stream(Binary<poem::Body>, #[oai(header = "Cache-Control")] String, #[oai(header = "X-Accel-Buffering")] String),
}

pub fn event_stream(body: poem::Body) -> EventStreamResponse {
    EventStreamResponse::Stream(Binary(body), "private, no-store".into(), "no".into())
}

pub fn sse_slot(state: &AppState, req: &Request) -> ApiResult<SseSlot> {
    let config = state.settings.current();
    let client = req.extensions().get::<RequestContext>().map(|ctx| ctx.client.key()).unwrap_or_default();
    state
        .sse_limiter
        .acquire(&client, config.max_sse_global, config.max_sse_per_ip)
        .ok_or_else(|| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many SSE connections"))
}

/// A job's current state from the database, as an SSE frame (streams of jobs that are not live).
async fn stored_frame(state: &AppState, job_id: &str) -> ApiResult<Option<(Bytes, bool)>> {
    Ok(view(state, job_id).await?.map(|current| {
        let json = serde_json::to_vec(&current).unwrap_or_default();
        (sse_frame("job", &json), current.is_terminal())
    }))
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobEventsApi {
    /// Every active job as `event: jobs` (an array) whenever the list changes, and `event: job` when a
    /// job ends.
    #[oai(path = "/api/generate/jobs/events", method = "get", operation_id = "jobs_events")]
    async fn jobs_events(&self, state: Data<&Arc<AppState>>, req: &Request) -> ApiResult<EventStreamResponse> {
        let slot = sse_slot(&state, req)?;
        let feed = state.engine.job_feed().subscribe_list();
        let ttl = state.settings.current().sse_ttl;
        let body = sse::stream(slot, ttl, move |mut writer| async move {
            let ListSubscription { mut list, mut ended } = feed;
            loop {
                // Ended jobs first: a terminal frame is never held back behind a list.
                let next = writer
                    .wait(async {
                        tokio::select! {
                            biased;
                            frame = ended.recv() => Next::Ended(frame),
                            changed = list.changed() => Next::List(changed.is_ok()),
                        }
                    })
                    .await?;
                match next {
                    Next::Ended(Ok(frame)) => writer.frame(frame).await?,
                    // Fell behind: the current list says which jobs are still active.
                    Next::Ended(Err(RecvError::Lagged(_))) => list.mark_changed(),
                    Next::Ended(Err(RecvError::Closed)) | Next::List(false) => return Err(Stop::ClientGone),
                    Next::List(true) => {
                        let frame = list.borrow_and_update().clone();
                        writer.frame(frame).await?;
                    }
                }
            }
        });
        Ok(event_stream(body))
    }
    /// One job as `event: job` on every change; the stream ends after the job ends.
    #[oai(path = "/api/generate/:job_id/events", method = "get", operation_id = "job_events")]
    async fn job_events(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        job_id: Path<String>,
    ) -> ApiResult<EventStreamResponse> {
        let id = job_id.0;
        let live = state.engine.job_feed().subscribe_job(&id);
        // Not live: the stored state is final (or the job is unknown).
        let stored = match live {
            Some(_) => None,
            None => Some(stored_frame(&state, &id).await?.ok_or_else(not_found)?),
        };
        let slot = sse_slot(&state, req)?;
        let state = state.0.clone();
        let ttl = state.settings.current().sse_ttl;
        let body = sse::stream(slot, ttl, move |mut writer| async move {
            let Some(mut frames) = live else {
                if let Some((frame, _)) = stored {
                    writer.frame(frame).await?;
                }
                return Ok(());
            };
            let mut sent_terminal = false;
            while writer.wait(frames.changed()).await?.is_ok() {
                let frame = frames.borrow_and_update().clone();
                writer.frame(frame.sse.clone()).await?;
                if frame.terminal {
                    sent_terminal = true;
                    break;
                }
            }
            // Closed without a terminal frame (the engine restarted): the stored state is final.
            if !sent_terminal && let Ok(Some((frame, true))) = stored_frame(&state, &id).await {
                writer.frame(frame).await?;
            }
            Ok(())
        });
        Ok(event_stream(body))
    }
}

enum Next {
    Ended(Result<Bytes, RecvError>),
    List(bool),
}
