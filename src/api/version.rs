use std::sync::Arc;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use crate::app::AppState;
use crate::version_check::current_version;

pub struct VersionApi;

#[derive(Debug, Object)]
pub struct VersionInfo {
    /// The running version, e.g. `v0.1.0`.
    pub version: String,
    /// GitHub `owner/repo` checked for releases; empty when checks are off.
    pub github_repo: String,
    /// The repository's latest-release page, or null without a repository.
    #[oai(nullable)]
    pub release_url: Option<String>,
}

#[derive(Debug, Object)]
pub struct LatestVersionInfo {
    /// The newest published version without a leading `v`, when known.
    #[oai(nullable)]
    pub latest_version: Option<String>,
    pub has_update: bool,
    /// When the answer was fetched from GitHub (ISO 8601 UTC).
    #[oai(nullable)]
    pub checked_at: Option<String>,
}

#[OpenApi(tag = "ApiTags::Version")]
impl VersionApi {
    /// The running version and where releases are published.
    #[oai(path = "/api/version", method = "get", operation_id = "version")]
    async fn version(&self, state: Data<&Arc<AppState>>) -> Json<VersionInfo> {
        let config = state.settings.current();
        let release_url = Some(&config.github_repo)
            .filter(|repo| !repo.is_empty())
            .map(|repo| format!("https://github.com/{repo}/releases/latest"));
        Json(VersionInfo { version: current_version(&config), github_repo: config.github_repo.clone(), release_url })
    }

    /// Whether a newer release exists (cached; answers "unknown" when the lookup fails or is off).
    #[oai(path = "/api/version/latest", method = "get", operation_id = "latest_version")]
    async fn latest(&self, state: Data<&Arc<AppState>>) -> Json<LatestVersionInfo> {
        let config = state.settings.current();
        let latest = state.version_check.latest(&config).await;
        Json(LatestVersionInfo {
            latest_version: latest.latest_version,
            has_update: latest.has_update,
            checked_at: latest.checked_at,
        })
    }
}
