//! The latest-release lookup behind the header's "New" badge: GitHub's latest release, falling back to
//! the branch's VERSION file; successful answers are cached; one lookup runs at a time.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use tokio::sync::Mutex;

use crate::settings::Config;

/// The release this binary was built as.
pub const BUILT_VERSION: &str = include_str!("../VERSION");

#[derive(Debug, Clone, PartialEq)]
pub struct LatestVersion {
    pub latest_version: Option<String>,
    pub has_update: bool,
    pub checked_at: Option<String>,
}

impl LatestVersion {
    fn unknown() -> Self {
        LatestVersion { latest_version: None, has_update: false, checked_at: None }
    }
}

struct Cached {
    latest: String,
    checked_at: String,
    at: Instant,
}

pub struct VersionCheck {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl VersionCheck {
    pub fn new(http: reqwest::Client) -> Self {
        VersionCheck { http, cache: Mutex::new(HashMap::new()) }
    }

    /// Compares the newest published version with the running one. Failures answer "unknown".
    pub async fn latest(&self, config: &Config) -> LatestVersion {
        if !config.version_check_enabled || config.github_repo.is_empty() {
            return LatestVersion::unknown();
        }
        let mut cache = self.cache.lock().await;
        // Per repo and per source, so a changed lookup URL or branch is asked at once.
        let key = format!(
            "{}\n{}\n{}\n{}",
            config.github_repo,
            config.version_check_api_base,
            config.version_check_raw_base,
            config.version_check_branch
        );
        let fresh = cache.get(&key).filter(|hit| hit.at.elapsed() < config.version_check_cache);
        let (latest, checked_at) = match fresh {
            Some(hit) => (hit.latest.clone(), hit.checked_at.clone()),
            None => match self.fetch(config).await {
                Some(latest) => {
                    let checked_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false);
                    cache.insert(
                        key,
                        Cached { latest: latest.clone(), checked_at: checked_at.clone(), at: Instant::now() },
                    );
                    (latest, checked_at)
                }
                None => return LatestVersion::unknown(),
            },
        };
        let has_update = is_newer(&latest, &current_version(config));
        LatestVersion { latest_version: Some(latest), has_update, checked_at: Some(checked_at) }
    }

    async fn fetch(&self, config: &Config) -> Option<String> {
        let release_url = format!("{}/repos/{}/releases/latest", config.version_check_api_base, config.github_repo);
        let release = self
            .http
            .get(&release_url)
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "gpt-image-linux-version-check")
            .timeout(config.version_check_timeout)
            .send()
            .await;
        if let Ok(response) = release
            && response.status().is_success()
            && let Ok(body) = response.json::<serde_json::Value>().await
            && let Some(tag) = body.get("tag_name").and_then(|t| t.as_str()).map(normalize).filter(|t| !t.is_empty())
        {
            return Some(tag);
        }
        let raw_url =
            format!("{}/{}/{}/VERSION", config.version_check_raw_base, config.github_repo, config.version_check_branch);
        let response = self.http.get(&raw_url).timeout(config.version_check_timeout).send().await.ok()?;
        if !response.status().is_success() {
            tracing::info!(status = response.status().as_u16(), "latest version lookup failed");
            return None;
        }
        let text = response.text().await.ok()?;
        Some(normalize(&text)).filter(|v| !v.is_empty() && v.len() < 64)
    }
}

/// `APP_VERSION` when set, otherwise the VERSION this binary was built with.
pub fn current_version(config: &Config) -> String {
    config.app_version_override.clone().unwrap_or_else(|| match BUILT_VERSION.trim() {
        "" => "v0.0.0".to_string(),
        version => version.to_string(),
    })
}

fn normalize(version: &str) -> String {
    version.trim().trim_start_matches(['v', 'V']).to_string()
}

/// Dotted numeric comparison; non-numeric parts count as 0.
pub fn is_newer(latest: &str, current: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> { normalize(v).split('.').map(|p| p.trim().parse().unwrap_or(0)).collect() };
    let (mut a, mut b) = (parts(latest), parts(current));
    let len = a.len().max(b.len());
    a.resize(len, 0);
    b.resize(len, 0);
    a > b
}

#[cfg(test)]
mod tests {
    use super::is_newer;

    #[test]
    fn versions_compare_numerically() {
        assert!(is_newer("0.10.0", "v0.9.9"));
        assert!(is_newer("v1.0.1", "1.0"));
        assert!(!is_newer("1.0.0", "v1.0"));
        assert!(!is_newer("0.1.0", "v0.2.0"));
    }
}
