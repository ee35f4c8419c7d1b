//! Preset health: local checks (path, URL, SSRF rules, key) decide the status; a low-cost `OPTIONS`
//! then `HEAD` probe of the endpoint is reported but never changes the overall status.

use std::time::Duration;

use panel_actors::upstream::endpoint::{API_PATHS, join, normalize_base_url};
use panel_actors::upstream::guard::{Policy, Purpose, vet};
use poem_openapi::Object;
use reqwest::Method;

use super::error::{ApiError, ApiResult};
use crate::app::AppState;
use crate::settings::panel::Preset;
use crate::settings::secrets::Secret;

const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Object)]
pub struct HealthCheck {
    pub name: String,
    /// `ok`, `warning` or `error`.
    pub status: String,
    pub message: String,
}

#[derive(Debug, Object)]
pub struct HealthReport {
    /// The worst status among the checks that count.
    pub status: String,
    pub checks: Vec<HealthCheck>,
}

fn check(name: &str, status: &str, message: impl Into<String>) -> HealthCheck {
    HealthCheck { name: name.to_string(), status: status.to_string(), message: message.into() }
}

/// `ok` < `warning` < `error`.
pub fn worst<'a>(checks: impl IntoIterator<Item = &'a HealthCheck>) -> String {
    let rank = |s: &str| match s {
        "error" => 2,
        "warning" => 1,
        _ => 0,
    };
    checks.into_iter().map(|c| c.status.as_str()).max_by_key(|s| rank(s)).unwrap_or("ok").to_string()
}

pub async fn check_preset(state: &AppState, preset: &Preset, use_credentials: bool) -> ApiResult<HealthReport> {
    let config = state.settings.current();
    let key = if use_credentials {
        if preset.api_key == Secret::Empty {
            return Err(ApiError::validation("API credential is not configured"));
        }
        preset.api_key.resolve(state.settings.env(), "API Key").map_err(ApiError::validation)?
    } else {
        None
    };

    let mut checks = Vec::new();
    let path_ok = API_PATHS.contains(&preset.api_path.as_str());
    if path_ok {
        checks.push(check("api_path", "ok", format!("API path {} is supported", preset.api_path)));
    } else {
        let mut allowed = API_PATHS.to_vec();
        allowed.sort_unstable();
        checks.push(check(
            "api_path",
            "error",
            format!("API path is not supported. Allowed paths: {}", allowed.join(", ")),
        ));
    }
    let allow_private = config.upstream_allow_private_network;
    let mut target = None;
    if path_ok {
        if preset.api_url.trim().is_empty() {
            checks.push(check("api_url", "error", "API URL is not configured"));
        } else {
            match normalize_base_url(&preset.api_url, "API URL", allow_private) {
                Err(message) => checks.push(check("api_url", "error", message)),
                Ok(base) => {
                    let url = join(&base, &preset.api_path);
                    let policy = Policy {
                        purpose: Purpose::UpstreamApi,
                        allowlist: config.upstream_host_allowlist.clone(),
                        allow_private,
                    };
                    match url::Url::parse(&url).map_err(|e| e.to_string()) {
                        Err(message) => checks.push(check("ssrf", "error", message)),
                        Ok(parsed) => match vet(&parsed, &policy).await {
                            Err(refused) => checks.push(check("ssrf", "error", refused.0)),
                            Ok(_) => {
                                checks.push(check(
                                    "ssrf",
                                    "ok",
                                    "API URL passed scheme, host allowlist, DNS, and private-IP checks",
                                ));
                                target = Some(url);
                            }
                        },
                    }
                }
            }
        }
    }
    if preset.api_key.is_empty() {
        checks.push(check("api_key", "error", "API key is not configured"));
    } else {
        checks.push(check("api_key", "ok", "API key is configured"));
    }
    let status = worst(&checks);
    let probe = match target {
        Some(url) => probe(state, &url, key.as_deref(), allow_private).await,
        None => check("upstream_probe", "warning", "Skipped upstream probe because local URL/path validation failed"),
    };
    checks.push(probe);
    Ok(HealthReport { status, checks })
}

/// `OPTIONS`, then `HEAD` when the first is inconclusive.
async fn probe(state: &AppState, url: &str, key: Option<&str>, allow_private: bool) -> HealthCheck {
    let client = match state.transport.guarded_client(allow_private, PROBE_TIMEOUT) {
        Ok(client) => client,
        Err(err) => return check("upstream_probe", "error", format!("Upstream probe failed: {err}")),
    };
    let mut failures = Vec::new();
    let mut last_unsupported = None;
    let slot_for = url::Url::parse(url).ok();
    for method in [Method::OPTIONS, Method::HEAD] {
        let mut request = client.request(method.clone(), url).header("user-agent", "opencode");
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let _slot = match &slot_for {
            Some(parsed) => Some(state.transport.outbound_permit(parsed).await),
            None => None,
        };
        match request.send().await {
            Err(err) => failures.push(format!("{method}: {}", describe(err))),
            Ok(response) => {
                let status = response.status().as_u16();
                let result = classify(&method, status);
                if result.status == "warning" && matches!(status, 405 | 501) {
                    last_unsupported = Some(result);
                    continue;
                }
                return result;
            }
        }
    }
    last_unsupported
        .unwrap_or_else(|| check("upstream_probe", "error", format!("Upstream probe failed: {}", failures.join("; "))))
}

fn classify(method: &Method, status: u16) -> HealthCheck {
    let name = "upstream_probe";
    match status {
        200 | 204 => check(name, "ok", format!("{method} probe succeeded with HTTP {status}")),
        401 | 403 => check(name, "ok", format!("{method} probe reached the endpoint and got HTTP {status}")),
        404 | 410 if *method == Method::OPTIONS => {
            check(name, "warning", format!("{method} probe returned HTTP {status}; upstream may only support POST"))
        }
        404 | 410 => check(name, "error", format!("{method} probe returned HTTP {status}; check API URL/path")),
        405 | 501 => check(name, "warning", format!("{method} probe is not supported by upstream (HTTP {status})")),
        300..=399 => {
            check(name, "error", format!("{method} probe returned redirect HTTP {status}; redirects are not followed"))
        }
        500.. => check(name, "warning", format!("{method} probe reached upstream but got HTTP {status}")),
        _ => check(name, "ok", format!("{method} probe reached upstream with HTTP {status}")),
    }
}

/// A transport error without URLs' credentials or query strings.
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
