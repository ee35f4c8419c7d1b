//! Applying a settings request to the current settings. Every field is checked first and every
//! problem is reported at once (422 `field - message; …`); only a fully valid result is stored.

use panel_actors::upstream::endpoint::{normalize_base_url, origin_of};
use panel_actors::upstream::url_shape;
use poem::http::StatusCode;

use super::error::ApiError;
use super::settings_models::{OptimizerUpdate, R2Update, SettingsUpdate};
use crate::settings::Config;
use crate::settings::panel::{PanelSettings, R2Settings, default_model_for, normalize_key_prefix};
use crate::settings::secrets::{KEEP_SENTINEL, Secret, mask_proxy, mask_webhook};

/// Collected `(field, message)` problems.
#[derive(Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_string(), message.into()));
    }

    /// `Ok(value)` or records the problem under `field`.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.add(field, message)).ok()
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let detail = self.0.iter().map(|(field, msg)| format!("{field} - {msg}")).collect::<Vec<_>>().join("; ");
        Err(ApiError::validation(detail))
    }
}

/// Preset names are unique; a second one of the same name is refused, not renamed.
pub fn name_taken(name: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, format!("A preset named '{name}' already exists"))
}

pub fn preset_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Preset not found")
}

/// The settings after `update`, or the reasons it cannot be saved.
pub fn apply(current: &PanelSettings, update: SettingsUpdate, config: &Config) -> Result<PanelSettings, ApiError> {
    let mut next = current.clone();
    let target_id = update.active_preset_id.clone().unwrap_or_else(|| current.active_preset_id.clone());
    let index = next.find(&target_id).ok_or_else(preset_not_found)?;
    let mut problems = Problems::default();
    let allow_http = config.upstream_allow_private_network;
    let plaintext = config.allow_plaintext_secrets;

    let preset = &mut next.presets[index];
    if let Some(name) = update.preset_name.as_deref().filter(|n| !n.is_empty()) {
        preset.name = if name.trim().is_empty() { "Untitled preset".to_string() } else { name.trim().to_string() };
    }
    let (name, id) = (next.presets[index].name.clone(), next.presets[index].id.clone());
    if next.name_taken(&name, &id) {
        return Err(name_taken(&name));
    }
    let preset = &mut next.presets[index];
    if let Some(url) = problems.take("api_url", normalize_base_url(&update.api_url, "API URL", allow_http)) {
        if !preset.api_key.is_empty() && origin_of(&url) != origin_of(&preset.api_url) {
            preset.api_key = Secret::Empty;
        }
        preset.api_url = url;
    }
    if let Some(key) = &update.api_key
        && let Some(secret) = problems.take("api_key", Secret::parse_input(key, "API key", plaintext))
    {
        preset.api_key = secret;
    }
    preset.api_path = update.api_path.clone();
    if let Some(model) = &update.default_model {
        preset.default_model = if model.trim().is_empty() {
            default_model_for(&preset.api_path, config)
        } else {
            model.trim().to_string()
        };
    }
    if let Some(format) = &update.default_response_format {
        preset.default_response_format = format.clone();
    }

    if let Some(proxy) = &update.upstream_socks5_proxy
        && proxy.trim() != mask_proxy(&current.socks5_proxy)
        && let Some(secret) = problems.take("upstream_socks5_proxy", parse_proxy(proxy, plaintext))
    {
        next.socks5_proxy = secret;
    }
    if let Some(hook) = &update.webhook_url
        && hook.trim() != mask_webhook(&current.webhook_url)
        && let Some(secret) = problems.take("webhook_url", parse_webhook(hook, plaintext))
    {
        next.webhook_url = secret;
    }
    if let Some(optimizer) = &update.prompt_optimizer {
        apply_optimizer(&mut next, optimizer, config, &mut problems);
    }
    if let Some(r2) = &update.r2_backup {
        next.r2 = apply_r2(&current.r2, r2, config, &mut problems, "r2_backup.");
    }
    problems.into_result()?;
    if !next.webhook_url.is_empty() && config.webhook_signing_secret.len() < 32 {
        return Err(ApiError::validation("Webhook signing secret must contain at least 32 bytes"));
    }
    next.active_preset_id = target_id;
    Ok(next)
}

fn apply_optimizer(next: &mut PanelSettings, update: &OptimizerUpdate, config: &Config, problems: &mut Problems) {
    let optimizer = &mut next.optimizer;
    if let Some(enabled) = update.enabled {
        optimizer.enabled = enabled;
    }
    if let Some(url) = &update.api_url {
        let normalized = if url.trim().is_empty() {
            Some(String::new())
        } else {
            let allow_http = config.upstream_allow_private_network;
            problems.take("prompt_optimizer.api_url", normalize_base_url(url, "API URL", allow_http))
        };
        if let Some(url) = normalized {
            if !optimizer.api_key.is_empty() && origin_of(&url) != origin_of(&optimizer.api_url) {
                optimizer.api_key = Secret::Empty;
            }
            optimizer.api_url = url;
        }
    }
    if let Some(model) = &update.model {
        let model = model.trim();
        optimizer.model = if model.is_empty() { config.optimizer_model.clone() } else { model.to_string() };
    }
    if let Some(timeout) = update.timeout_seconds {
        optimizer.timeout_seconds = timeout.max(1) as u64;
    }
    if let Some(key) = &update.api_key
        && key != KEEP_SENTINEL
        && let Some(secret) = problems.take(
            "prompt_optimizer.api_key",
            Secret::parse_input(key, "Prompt optimizer API key", config.allow_plaintext_secrets),
        )
    {
        optimizer.api_key = secret;
    }
}

/// R2 settings after `update` (used by saves and by the health check's draft).
pub fn apply_r2(
    current: &R2Settings,
    update: &R2Update,
    config: &Config,
    problems: &mut Problems,
    prefix: &str,
) -> R2Settings {
    let mut r2 = current.clone();
    let field = |name: &str| format!("{prefix}{name}");
    if let Some(enabled) = update.enabled {
        r2.enabled = enabled || config.r2_backup_enabled;
    }
    if let Some(endpoint) = &update.endpoint_url {
        let normalized = if endpoint.trim().is_empty() {
            Some(String::new())
        } else {
            problems.take(&field("endpoint_url"), check_r2_endpoint(endpoint, config))
        };
        if let Some(endpoint) = normalized {
            if origin_of(&endpoint) != origin_of(&r2.endpoint_url) {
                r2.access_key_id = Secret::Empty;
                r2.secret_access_key = Secret::Empty;
            }
            r2.endpoint_url = if endpoint.is_empty() { config.r2_endpoint_url.trim().to_string() } else { endpoint };
        }
    }
    if let Some(bucket) = &update.bucket_name {
        r2.bucket_name =
            if bucket.trim().is_empty() { config.r2_bucket_name.trim().to_string() } else { bucket.trim().to_string() };
    }
    if let Some(region) = &update.region {
        r2.region = if region.trim().is_empty() { "auto".to_string() } else { region.trim().to_string() };
    }
    if let Some(key_prefix) = &update.key_prefix {
        r2.key_prefix = normalize_key_prefix(key_prefix);
    }
    if let Some(hours) = update.sync_interval_hours {
        r2.sync_interval_hours = hours.max(0) as u64;
    }
    let plaintext = config.allow_plaintext_secrets;
    for (value, slot, label, name, env_set, env_name) in [
        (
            &update.access_key_id,
            &mut r2.access_key_id,
            "R2 access key ID",
            "access_key_id",
            config.r2_access_key_id_set,
            "R2_ACCESS_KEY_ID",
        ),
        (
            &update.secret_access_key,
            &mut r2.secret_access_key,
            "R2 secret access key",
            "secret_access_key",
            config.r2_secret_access_key_set,
            "R2_SECRET_ACCESS_KEY",
        ),
    ] {
        if let Some(value) = value.as_deref().filter(|v| *v != KEEP_SENTINEL)
            && let Some(secret) = problems.take(&field(name), Secret::parse_input(value, label, plaintext))
        {
            *slot = secret;
        }
        // An empty credential falls back to the environment, as on every read.
        if slot.is_empty() && env_set {
            *slot = Secret::EnvRef(env_name.to_string());
        }
    }
    r2
}

/// Shape rules for an R2 endpoint (DNS is checked separately): HTTPS, a Cloudflare R2 host name or
/// one listed in `R2_ENDPOINT_HOST_ALLOWLIST`. Private networks, when allowed, admit IPs and http.
pub fn check_r2_endpoint(text: &str, config: &Config) -> Result<String, String> {
    let allow_private = config.upstream_allow_private_network;
    let normalized = normalize_base_url(text, "R2 endpoint URL", allow_private)?;
    let url = url::Url::parse(&normalized).map_err(|_| "R2 endpoint URL must include a hostname".to_string())?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
    if panel_actors::upstream::guard::BLOCKED_HOSTNAMES.contains(&host.as_str()) && !allow_private {
        return Err(format!("R2 endpoint hostname '{host}' is not allowed"));
    }
    if host.parse::<std::net::IpAddr>().is_ok() && !allow_private {
        return Err("R2 endpoint URL must use a hostname, not an IP address".to_string());
    }
    let listed =
        config.r2_endpoint_host_allowlist.iter().any(|entry| entry.trim_end_matches('.').eq_ignore_ascii_case(&host));
    let cloudflare =
        host.strip_suffix(".r2.cloudflarestorage.com").is_some_and(|label| !label.is_empty() && !label.contains('.'));
    if !(listed || cloudflare) {
        let allowed = if config.r2_endpoint_host_allowlist.is_empty() {
            "none".to_string()
        } else {
            config.r2_endpoint_host_allowlist.join(", ")
        };
        return Err(format!(
            "R2 endpoint hostname '{host}' must be a Cloudflare R2 hostname (*.r2.cloudflarestorage.com) or be listed in \
             R2_ENDPOINT_HOST_ALLOWLIST. Allowed: {allowed}"
        ));
    }
    Ok(normalized)
}

/// A SOCKS5 proxy: empty, `${VAR}`, or (with plaintext allowed) `socks5[h]://[user:pass@]host:port`.
fn parse_proxy(input: &str, plaintext: bool) -> Result<Secret, String> {
    let secret = Secret::parse_input(input, "SOCKS5 proxy URL", plaintext)?;
    let Secret::Literal(text) = &secret else { return Ok(secret) };
    let label = "SOCKS5 proxy URL";
    let url = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::InvalidPort => format!("{label} must include a valid port"),
        _ => format!("{label} must use socks5://"),
    })?;
    if url.scheme() != "socks5" && url.scheme() != "socks5h" {
        return Err(format!("{label} must use socks5://"));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| format!("{label} must include a hostname"))?;
    let port = url.port().ok_or_else(|| format!("{label} must include a port"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{label} must not include query strings or fragments"));
    }
    if !url.path().is_empty() && url.path() != "/" {
        return Err(format!("{label} must not include a path"));
    }
    let userinfo = match (url.username(), url.password()) {
        ("", None) => String::new(),
        (user, Some(password)) => format!("{user}:{password}@"),
        (user, None) => format!("{user}@"),
    };
    Ok(Secret::Literal(format!("{}://{userinfo}{host}:{port}", url.scheme())))
}

/// A webhook URL: empty, `${VAR}`, or (with plaintext allowed) an `https://` URL with a host.
fn parse_webhook(input: &str, plaintext: bool) -> Result<Secret, String> {
    let secret = Secret::parse_input(input, "Webhook URL", plaintext)?;
    if let Secret::Literal(text) = &secret {
        check_webhook_shape(text)?;
    }
    Ok(secret)
}

/// A webhook URL (or nothing) of the documented shape: `https://`, a host, no user info; the
/// contract's message for what it misses.
pub fn check_webhook_shape(text: &str) -> Result<(), String> {
    if url_shape::is_webhook(text) {
        return Ok(());
    }
    match url::Url::parse(text.trim()) {
        Ok(url) if url.scheme() != "https" => Err("Webhook URL must use https://".to_string()),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => Err("Webhook URL must include a hostname".to_string()),
        Ok(_) => Err(url_shape::shape_message("Webhook URL")),
        Err(url::ParseError::EmptyHost) => Err("Webhook URL must include a hostname".to_string()),
        Err(_) => Err("Webhook URL must use https://".to_string()),
    }
}
