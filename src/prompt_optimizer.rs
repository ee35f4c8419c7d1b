//! The prompt optimizer: one Chat Completions call that rewrites an image prompt. It runs beside the
//! generation queue and never takes one of its slots.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use panel_actors::upstream::guard::{Policy, Purpose, vet};
use panel_actors::upstream::transport::Transport;
use poem::http::StatusCode;

use crate::api::error::ApiError;
use crate::settings::panel::OptimizerSettings;
use crate::settings::{Config, EnvSnapshot};

/// The built-in system prompt, used until someone saves their own.
pub const DEFAULT_SYSTEM_PROMPT: &str = include_str!("prompt_optimizer_system_prompt.md");
pub const SYSTEM_PROMPT_FILE: &str = "prompt_optimizer_system_prompt.md";
pub const SYSTEM_PROMPT_MAX_CHARS: usize = 20_000;

/// What the user asked for, beyond the prompt itself.
pub struct OptimizeRequest {
    pub prompt: String,
    pub intent: Option<String>,
    pub target_language: String,
    pub api_path: Option<String>,
    pub model: Option<String>,
    pub size: Option<String>,
    pub quality: Option<String>,
}

pub struct Optimized {
    pub optimized_prompt: String,
    pub model: String,
    pub duration_ms: u64,
}

fn bad_gateway(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, detail)
}

pub async fn optimize(
    request: &OptimizeRequest,
    settings: &OptimizerSettings,
    system_prompt: &str,
    config: &Config,
    env: &EnvSnapshot,
    transport: &Transport,
) -> Result<Optimized, ApiError> {
    if !settings.enabled {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "Prompt optimizer is not enabled"));
    }
    let Endpoint { client, url, key } = endpoint(settings, config, env, transport, true).await?;
    let key = key.unwrap_or_default();
    let body = serde_json::json!({
        "model": settings.model,
        "messages": [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": user_message(request)},
        ],
        "temperature": 0.4,
        "max_tokens": 900,
        "stream": false,
    });
    let started = Instant::now();
    let response =
        client.post(url).bearer_auth(&key).json(&body).send().await.map_err(|err| transport_error(err, &key))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(bad_gateway(format!("Optimizer upstream returned HTTP {}", response.status().as_u16())));
    }
    let bytes = read_capped(response, config.optimizer_max_response_bytes, &key).await?;
    let duration_ms = started.elapsed().as_millis() as u64;
    let reply: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| bad_gateway("Optimizer returned non-JSON response"))?;
    let content = reply
        .pointer("/choices/0/message/content")
        .and_then(|c| c.as_str())
        .ok_or_else(|| bad_gateway("Optimizer response missing choices[0].message.content"))?;
    let optimized_prompt = clean_output(content, config.optimizer_max_output_chars);
    if optimized_prompt.is_empty() {
        return Err(bad_gateway("Optimizer returned empty content"));
    }
    let model =
        reply.get("model").and_then(|m| m.as_str()).filter(|m| !m.is_empty()).unwrap_or(&settings.model).to_string();
    Ok(Optimized { optimized_prompt, model, duration_ms })
}

/// A vetted optimizer endpoint: the guarded client, the URL, and the key when one is set.
pub struct Endpoint {
    pub client: reqwest::Client,
    pub url: url::Url,
    pub key: Option<String>,
}

/// The configuration checks, in the contract's order, then the SSRF vetting of the URL. `require_key`
/// makes a missing key an error (optimize); the health probe may go without one.
pub async fn endpoint(
    settings: &OptimizerSettings,
    config: &Config,
    env: &EnvSnapshot,
    transport: &Transport,
    require_key: bool,
) -> Result<Endpoint, ApiError> {
    if settings.api_url.trim().is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "Prompt optimizer endpoint URL is not configured"));
    }
    let key = settings.api_key.resolve(env, "Prompt optimizer API Key").map_err(ApiError::validation)?;
    if require_key && key.is_none() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "Prompt optimizer API key is not configured"));
    }
    let allow_private = config.upstream_allow_private_network;
    let url = url::Url::parse(&settings.api_url)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Prompt optimizer endpoint URL is invalid"))?;
    let policy =
        Policy { purpose: Purpose::UpstreamApi, allowlist: config.optimizer_host_allowlist.clone(), allow_private };
    vet(&url, &policy).await.map_err(|refused| ApiError::new(StatusCode::BAD_REQUEST, refused.0))?;
    let client = transport
        .guarded_client(allow_private, Duration::from_secs(settings.timeout_seconds.max(1)))
        .map_err(|_| bad_gateway("Prompt optimizer failed"))?;
    Ok(Endpoint { client, url, key })
}

pub fn transport_error(err: reqwest::Error, key: &str) -> ApiError {
    if err.is_timeout() {
        return ApiError::new(StatusCode::GATEWAY_TIMEOUT, "Prompt optimizer request timed out");
    }
    let text = redact(crate::api::preset_health::describe(err), key);
    bad_gateway(format!("Prompt optimizer connection error: {text}"))
}

/// Hides the key in an error text. `replace("")` would put the marker between every character, so an
/// absent key (a health probe without credentials) leaves the text alone.
fn redact(text: String, key: &str) -> String {
    if key.is_empty() { text } else { text.replace(key, "[REDACTED]") }
}

/// Reads the body, refusing anything past `max` bytes (declared or streamed).
async fn read_capped(response: reqwest::Response, max: u64, key: &str) -> Result<Vec<u8>, ApiError> {
    let too_large = |n: u64| bad_gateway(format!("Prompt optimizer response too large: {n} bytes (max {max})"));
    if let Some(declared) = response.content_length().filter(|n| *n > max) {
        return Err(too_large(declared));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| transport_error(err, key))?;
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_large((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn user_message(request: &OptimizeRequest) -> String {
    let or_unspecified = |value: &Option<String>| value.clone().unwrap_or_else(|| "unspecified".to_string());
    let language = match request.target_language.as_str() {
        "same" => "same as user's input language",
        other => other,
    };
    let mut lines = vec![
        format!("Target language: {language}"),
        format!("Image API path: {}", or_unspecified(&request.api_path)),
        format!("Image model: {}", or_unspecified(&request.model)),
        format!("Size: {}", or_unspecified(&request.size)),
        format!("Quality: {}", or_unspecified(&request.quality)),
        String::new(),
    ];
    match &request.intent {
        None => lines.extend(["User image idea:".to_string(), request.prompt.clone()]),
        Some(intent) => lines.extend([
            "Original prompt:".to_string(),
            request.prompt.clone(),
            String::new(),
            "Modification intent:".to_string(),
            intent.clone(),
            String::new(),
            "Rewrite the original prompt to satisfy the modification intent while preserving the original subject, \
             composition, and scene unless the intent explicitly changes them."
                .to_string(),
            "Return only the revised prompt.".to_string(),
        ]),
    }
    lines.join("\n")
}

/// Drops Markdown code fences and surrounding quotes, trims, and caps the length.
pub fn clean_output(content: &str, max_chars: usize) -> String {
    let is_fence = |line: &str| {
        let rest = line.trim_start().strip_prefix("```");
        rest.is_some_and(|tag| tag.trim().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
    };
    let kept: Vec<&str> = content.lines().filter(|line| !is_fence(line)).collect();
    let text = kept.join("\n");
    let text = text.trim().trim_matches(['"', '\'']).trim();
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_real_key_is_redacted() {
        assert_eq!(super::redact("refused by sk-1".into(), "sk-1"), "refused by [REDACTED]");
        assert_eq!(super::redact("connection refused".into(), ""), "connection refused");
    }

    use super::clean_output;

    #[test]
    fn output_loses_fences_quotes_and_excess() {
        assert_eq!(clean_output("```text\n\"A fox at dawn\"\n```", 100), "A fox at dawn");
        assert_eq!(clean_output("  'quoted'  ", 100), "quoted");
        assert_eq!(clean_output("abcdef", 3), "abc");
        assert_eq!(clean_output("```\n```", 10), "");
    }
}
