//! `POST /api/prompt/optimizer-health`: a one-token optimize call that says whether the configured
//! optimizer answers. Always a report, never an HTTP error: configuration problems come back as
//! `status: "error"` with the status code the optimize route would have used.

use std::time::Instant;

use crate::api::error::ApiError;
use crate::prompt_optimizer::{DEFAULT_SYSTEM_PROMPT, Endpoint, endpoint, transport_error};
use crate::settings::panel::OptimizerSettings;
use crate::settings::{Config, EnvSnapshot};
use panel_actors::upstream::transport::Transport;

pub struct OptimizerHealth {
    /// `ok`, `warning` or `error`.
    pub status: &'static str,
    pub message: String,
    pub model: String,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
}

/// How an upstream HTTP status reads for a POST probe (as for the preset probe).
fn classify(status: u16, model: &str) -> (&'static str, String) {
    match status {
        200 => ("ok", format!("Prompt optimizer responded successfully with model {model}")),
        401 | 403 => ("ok", format!("Prompt optimizer endpoint reached; it answered HTTP {status} (check the key)")),
        404 | 410 => ("error", format!("Prompt optimizer endpoint returned HTTP {status}; check the endpoint URL")),
        405 | 501 => ("warning", format!("Prompt optimizer endpoint does not support POST (HTTP {status})")),
        300..=399 => {
            ("error", format!("Prompt optimizer endpoint redirected (HTTP {status}); redirects are not followed"))
        }
        500.. => ("warning", format!("Prompt optimizer endpoint reached but failed with HTTP {status}")),
        _ => ("warning", format!("Prompt optimizer endpoint answered HTTP {status}")),
    }
}

fn failed(model: &str, error: ApiError, duration_ms: u64) -> OptimizerHealth {
    OptimizerHealth {
        status: "error",
        message: error.detail,
        model: model.to_string(),
        duration_ms,
        status_code: Some(error.status.as_u16()),
    }
}

pub async fn check(
    settings: &OptimizerSettings,
    config: &Config,
    env: &EnvSnapshot,
    transport: &Transport,
    use_credentials: bool,
) -> OptimizerHealth {
    let model = settings.model.clone();
    let Endpoint { client, url, key } = match endpoint(settings, config, env, transport, use_credentials).await {
        Ok(endpoint) => endpoint,
        Err(error) => return failed(&model, error, 0),
    };
    let body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
            {"role": "user", "content": "Connectivity test"},
        ],
        "temperature": 0.0,
        "max_tokens": 1,
        "stream": false,
    });
    let mut request = client.post(url).json(&body);
    if let Some(key) = key.as_deref().filter(|_| use_credentials) {
        request = request.bearer_auth(key);
    }
    let started = Instant::now();
    let result = request.send().await;
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Err(err) => failed(&model, transport_error(err, key.as_deref().unwrap_or("")), duration_ms),
        Ok(response) => {
            let status = response.status().as_u16();
            let (level, message) = classify(status, &model);
            OptimizerHealth { status: level, message, model, duration_ms, status_code: Some(status) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn upstream_answers_read_like_the_preset_probe() {
        assert_eq!(classify(200, "m").0, "ok");
        assert_eq!(classify(401, "m").0, "ok");
        assert_eq!(classify(404, "m").0, "error");
        assert_eq!(classify(405, "m").0, "warning");
        assert_eq!(classify(503, "m").0, "warning");
        assert_eq!(classify(302, "m").0, "error");
    }
}
