//! "Test R2": `POST /api/settings/r2/health` checks a draft of the R2 backup settings (the saved ones
//! with the request applied; nothing is saved), then probes the bucket: access, a prefix-scoped
//! listing, a probe write and its cleanup.

use std::sync::Arc;

use panel_actors::r2::{self, Outcome, R2Target};
use panel_actors::upstream::guard::{Policy, Purpose, vet};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::preset_health::{HealthCheck, HealthReport, worst};
use super::settings::load;
use super::settings_models::R2Update;
use super::settings_update::{Problems, apply_r2, check_r2_endpoint};
use super::strict_json::StrictJson;
use crate::app::AppState;
use crate::https_proxy;
use crate::r2_sync_settings::credentials;

pub struct R2HealthApi;

/// A changed R2 endpoint must not resolve to a private address (unless private networks are allowed).
/// Behind an HTTPS proxy the proxy resolves the name, so there is nothing to check here.
pub async fn check_endpoint_dns(endpoint: &str, previous: &str, state: &AppState) -> ApiResult<()> {
    if endpoint.is_empty()
        || endpoint == previous
        || https_proxy::for_endpoint(state.settings.env(), endpoint).is_some()
    {
        return Ok(());
    }
    let config = state.settings.current();
    let Ok(url) = url::Url::parse(endpoint) else { return Ok(()) };
    let policy = Policy {
        purpose: Purpose::R2Endpoint,
        allowlist: Vec::new(),
        allow_private: config.upstream_allow_private_network,
    };
    vet(&url, &policy).await.map(|_| ()).map_err(|refused| ApiError::validation(refused.0))
}

fn check(name: &str, status: &str, message: impl Into<String>) -> HealthCheck {
    HealthCheck { name: name.to_string(), status: status.to_string(), message: message.into() }
}

#[OpenApi(tag = "ApiTags::Settings")]
impl R2HealthApi {
    /// Check draft R2 backup settings and probe the bucket. Nothing is saved.
    #[oai(path = "/api/settings/r2/health", method = "post", operation_id = "r2_health")]
    async fn health(&self, state: Data<&Arc<AppState>>, body: StrictJson<R2Update>) -> ApiResult<Json<HealthReport>> {
        let config = state.settings.current();
        let saved = load(&state).await?.r2;
        let mut problems = Problems::default();
        let draft = apply_r2(&saved, &body.0, &config, &mut problems, "");
        problems.into_result()?;
        if !draft.endpoint_url.is_empty() {
            check_r2_endpoint(&draft.endpoint_url, &config).map_err(ApiError::validation)?;
            check_endpoint_dns(&draft.endpoint_url, "", &state).await?;
        }

        let mut checks = Vec::new();
        let (key_id, secret) = match credentials(&draft, state.settings.env()) {
            Ok(credentials) => credentials,
            Err(message) => {
                checks.push(check("configuration", "error", message));
                return Ok(Json(HealthReport { status: worst(&checks), checks }));
            }
        };
        checks.push(check("configuration", "ok", "R2 configuration is complete"));
        let proxy = https_proxy::for_endpoint(state.settings.env(), &draft.endpoint_url);
        let target = R2Target {
            endpoint: &draft.endpoint_url,
            bucket: &draft.bucket_name,
            region: &draft.region,
            access_key_id: &key_id,
            secret_access_key: &secret,
            https_proxy: proxy.as_deref(),
        };
        match r2::client(&target, &state.transport, config.upstream_allow_private_network) {
            Err(err) => checks.push(check("client", "error", format!("Failed to create S3 client: {err}"))),
            Ok(store) => {
                for step in r2::probe(&store, &draft.key_prefix).await {
                    checks.push(match step.outcome {
                        Outcome::Ok(message) => check(step.name, "ok", message),
                        Outcome::Warning(message) => check(step.name, "warning", message),
                        Outcome::Error(message) => check(step.name, "error", message),
                    });
                }
            }
        }
        let report = HealthReport { status: worst(&checks), checks };
        Ok(Json(report))
    }
}
