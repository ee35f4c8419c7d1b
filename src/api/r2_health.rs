//! R2 backup endpoint checks shared by settings saves and `POST /api/settings/r2/health`.

use panel_actors::upstream::guard::{Policy, Purpose, vet};

use super::error::{ApiError, ApiResult};
use crate::settings::Config;

/// A changed R2 endpoint must not resolve to a private address (unless private networks are allowed).
pub async fn check_endpoint_dns(endpoint: &str, previous: &str, config: &Config) -> ApiResult<()> {
    if endpoint.is_empty() || endpoint == previous {
        return Ok(());
    }
    let Ok(url) = url::Url::parse(endpoint) else { return Ok(()) };
    let policy = Policy {
        purpose: Purpose::R2Endpoint,
        allowlist: Vec::new(),
        allow_private: config.upstream_allow_private_network,
    };
    vet(&url, &policy).await.map(|_| ()).map_err(|refused| ApiError::validation(refused.0))
}
