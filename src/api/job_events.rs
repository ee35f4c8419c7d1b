//! Live job progress over SSE: one job (`event: job` until it ends) and the global feed (`event: jobs`
//! with every active job whenever the list changes, plus `event: job` when a job ends). Each stream
//! subscribes first and then sends the current state, so no change is missed.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};
use tokio::sync::broadcast::error::RecvError;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::jobs::{active, not_found, view};
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

fn stream(body: poem::Body) -> EventStreamResponse {
    EventStreamResponse::Stream(Binary(body), "private, no-store".into(), "no".into())
}

fn slot(state: &AppState, req: &Request) -> ApiResult<SseSlot> {
    let config = state.settings.current();
    let client = req.extensions().get::<RequestContext>().map(|ctx| ctx.client.key()).unwrap_or_default();
    state
        .sse_limiter
        .acquire(&client, config.max_sse_global, config.max_sse_per_ip)
        .ok_or_else(|| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many SSE connections"))
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

async fn engine_subscribe(
    state: &AppState,
    topic: String,
) -> ApiResult<tokio::sync::broadcast::Receiver<panel_actors::broadcaster::LiveEvent>> {
    state.engine.subscribe(topic).await.map_err(|err| {
        tracing::error!(error = %err, "live updates unavailable");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Live updates are unavailable")
    })
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl JobEventsApi {
    /// Every active job as `event: jobs` (an array) whenever the list changes, and `event: job` when a
    /// job ends.
    #[oai(path = "/api/generate/jobs/events", method = "get", operation_id = "jobs_events")]
    async fn jobs_events(&self, state: Data<&Arc<AppState>>, req: &Request) -> ApiResult<EventStreamResponse> {
        let slot = slot(&state, req)?;
        let mut events = engine_subscribe(&state, "jobs".into()).await?;
        let state = state.0.clone();
        let ttl = state.settings.current().sse_ttl;
        let body = sse::stream(slot, ttl, move |mut writer| async move {
            let mut last = json(&active(&state).await.unwrap_or_default());
            writer.event("jobs", &last).await?;
            loop {
                let event = match writer.wait(events.recv()).await? {
                    Ok(event) => Some(event),
                    Err(RecvError::Lagged(_)) => None,
                    Err(RecvError::Closed) => return Err(Stop::ClientGone),
                };
                if let Some(event) = &event
                    && event.data["terminal"] == true
                    && let Some(job_id) = event.data["job_id"].as_str()
                    && let Ok(Some(ended)) = view(&state, job_id).await
                {
                    writer.event("job", &json(&ended)).await?;
                }
                let list = json(&active(&state).await.unwrap_or_default());
                if list != last {
                    writer.event("jobs", &list).await?;
                    last = list;
                }
            }
        });
        Ok(stream(body))
    }

    /// One job as `event: job` on every change; the stream ends after the job ends.
    #[oai(path = "/api/generate/:job_id/events", method = "get", operation_id = "job_events")]
    async fn job_events(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        job_id: Path<String>,
    ) -> ApiResult<EventStreamResponse> {
        if view(&state, &job_id.0).await?.is_none() {
            return Err(not_found());
        }
        let slot = slot(&state, req)?;
        let mut events = engine_subscribe(&state, format!("job:{}", job_id.0)).await?;
        let state = state.0.clone();
        let ttl = state.settings.current().sse_ttl;
        let id = job_id.0;
        let body = sse::stream(slot, ttl, move |mut writer| async move {
            let mut last = serde_json::Value::Null;
            loop {
                let Ok(Some(current)) = view(&state, &id).await else { return Ok(()) };
                let data = json(&current);
                if data != last {
                    writer.event("job", &data).await?;
                    last = data;
                }
                if current.is_terminal() {
                    return Ok(());
                }
                match writer.wait(events.recv()).await? {
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Err(Stop::ClientGone),
                }
            }
        });
        Ok(stream(body))
    }
}
