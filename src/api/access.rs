//! Unlocking the panel: `POST /api/access` sets a 3-hour session cookie, with a per-IP lockout after
//! repeated wrong keys; `GET /api/access/status` tells the page whether it is unlocked.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use panel_actors::store::access_failures;
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use subtle::ConstantTimeEq;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::strict_json::{StrictJson, Validate};
use crate::app::AppState;
use crate::web::security::{RequestContext, session_expiry};
use crate::web::{gate, token};

pub struct AccessApi;

#[derive(Debug, Object, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct AccessRequest {
    /// The panel's access key.
    #[oai(validator(min_length = 1, max_length = 4096))]
    pub access_key: String,
}

impl Validate for AccessRequest {}

#[derive(Debug, Object)]
pub struct AccessStatus {
    pub authenticated: bool,
    /// When the session ends (ISO 8601 UTC); null when the gate is off or locked.
    #[oai(nullable)]
    pub expires_at: Option<String>,
}

#[derive(ApiResponse)]
pub enum UnlockResponse {
    /// Unlocked. With the gate on, the session cookie is set.
    #[oai(status = 200)]
    Unlocked(Json<AccessStatus>, #[oai(header = "Set-Cookie")] Option<String>),
}

#[OpenApi(tag = "ApiTags::Access")]
impl AccessApi {
    /// Unlock the panel for 3 hours. Wrong keys count toward a per-IP lockout (429 with `Retry-After`).
    #[oai(path = "/api/access", method = "post", operation_id = "unlock")]
    async fn unlock(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        body: StrictJson<AccessRequest>,
    ) -> ApiResult<UnlockResponse> {
        let config = state.settings.current();
        let Some(key) = config.access_key.as_deref() else {
            return Ok(UnlockResponse::Unlocked(Json(AccessStatus { authenticated: true, expires_at: None }), None));
        };
        let client = req.extensions().get::<RequestContext>().map(|ctx| ctx.client.key()).unwrap_or_default();
        let now = Utc::now();
        let store_error = |err| {
            tracing::error!(error = %err, "access failure store");
            ApiError::internal()
        };
        let locked = access_failures::lockout_remaining(
            &state.db,
            &client,
            config.access_max_failures,
            config.access_lockout,
            now,
        )
        .await
        .map_err(store_error)?;
        if let Some(seconds) = locked {
            let detail = format!("Too many failed attempts. Try again in {seconds} seconds.");
            return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, detail).with_retry_after(seconds));
        }
        let matches: bool = body.0.access_key.as_bytes().ct_eq(key.as_bytes()).into();
        if !matches {
            access_failures::record_failure(&state.db, &client, config.access_lockout, now)
                .await
                .map_err(store_error)?;
            tracing::warn!(client = %client, "wrong access key");
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid access key"));
        }
        access_failures::clear(&state.db, &client).await.map_err(store_error)?;
        let (session, exp) = token::issue(key, now.timestamp());
        let cookie = gate::set_cookie(&config.cookie_name, &session, exp, token::SESSION_SECONDS, config.cookie_secure);
        let expires_at =
            (now + chrono::Duration::seconds(token::SESSION_SECONDS)).to_rfc3339_opts(SecondsFormat::Micros, false);
        Ok(UnlockResponse::Unlocked(
            Json(AccessStatus { authenticated: true, expires_at: Some(expires_at) }),
            Some(cookie),
        ))
    }

    /// Whether this browser holds a valid session.
    #[oai(path = "/api/access/status", method = "get", operation_id = "access_status")]
    async fn status(&self, state: Data<&Arc<AppState>>, req: &Request) -> Json<AccessStatus> {
        let config = state.settings.current();
        let Some(key) = config.access_key.as_deref() else {
            return Json(AccessStatus { authenticated: true, expires_at: None });
        };
        let expires_at = session_expiry(req, &config, key)
            .and_then(|exp| DateTime::<Utc>::from_timestamp(exp, 0))
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, false));
        Json(AccessStatus { authenticated: expires_at.is_some(), expires_at })
    }
}
