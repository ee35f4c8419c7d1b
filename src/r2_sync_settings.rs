//! The engine's view of the R2 backup settings: the stored document over the env defaults, resolved
//! when a sync starts or the schedule wakes (secrets from their env refs at that moment, the endpoint
//! checked by the same SSRF rules as "Test R2").

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use panel_actors::r2_syncer::{Schedule, SyncConfigError, SyncSettings, SyncTarget};
use panel_actors::store::presets as store;
use panel_actors::upstream::guard::{Policy, Purpose, vet};
use sea_orm::DatabaseConnection;

use crate::api::settings_update::check_r2_endpoint;
use crate::settings::panel::{PanelSettings, R2Settings};
use crate::settings::{EnvSnapshot, SettingsHandle};

pub struct PanelSyncSettings {
    pub db: DatabaseConnection,
    pub settings: Arc<SettingsHandle>,
}

/// The access key pair, or the first thing missing (the contract's texts).
pub fn credentials(r2: &R2Settings, env: &EnvSnapshot) -> Result<(String, String), String> {
    if r2.endpoint_url.is_empty() {
        return Err("R2 endpoint URL is not configured.".into());
    }
    if r2.bucket_name.is_empty() {
        return Err("R2 bucket name is not configured.".into());
    }
    let key_id = r2.access_key_id.resolve(env, "R2 access key ID")?.ok_or("R2 access key ID is not configured.")?;
    let secret =
        r2.secret_access_key.resolve(env, "R2 secret access key")?.ok_or("R2 secret access key is not configured.")?;
    Ok((key_id, secret))
}

impl PanelSyncSettings {
    async fn stored(&self) -> Result<R2Settings, SyncConfigError> {
        let document = store::load(&self.db).await.map_err(|e| SyncConfigError::Invalid(e.to_string()))?;
        Ok(PanelSettings::from_document(&document, &self.settings.current()).r2)
    }

    async fn resolve(&self) -> Result<SyncTarget, SyncConfigError> {
        let r2 = self.stored().await?;
        if !r2.enabled {
            return Err(SyncConfigError::Disabled);
        }
        let config = self.settings.current();
        let (access_key_id, secret_access_key) =
            credentials(&r2, self.settings.env()).map_err(SyncConfigError::Invalid)?;
        let endpoint = check_r2_endpoint(&r2.endpoint_url, &config).map_err(SyncConfigError::Invalid)?;
        let url = url::Url::parse(&endpoint).map_err(|e| SyncConfigError::Invalid(e.to_string()))?;
        let policy = Policy {
            purpose: Purpose::R2Endpoint,
            allowlist: Vec::new(),
            allow_private: config.upstream_allow_private_network,
        };
        let https_proxy = crate::https_proxy::for_endpoint(self.settings.env(), &endpoint);
        // Behind a proxy the proxy resolves the name; directly, the client connects only to vetted
        // addresses, and this check gives the clear message first.
        if https_proxy.is_none() {
            vet(&url, &policy).await.map_err(|refused| SyncConfigError::Invalid(refused.0))?;
        }
        Ok(SyncTarget {
            endpoint,
            bucket: r2.bucket_name,
            region: r2.region,
            key_prefix: r2.key_prefix,
            access_key_id,
            secret_access_key,
            concurrency: config.r2_sync_concurrency,
            allow_http: config.upstream_allow_private_network,
            https_proxy,
        })
    }
}

impl SyncSettings for PanelSyncSettings {
    fn target(&self) -> BoxFuture<'_, Result<SyncTarget, SyncConfigError>> {
        Box::pin(self.resolve())
    }

    fn schedule(&self) -> BoxFuture<'_, Schedule> {
        Box::pin(async move {
            let hour = self.settings.current().r2_sync_hour_seconds;
            // A minute, or one shortened hour when R2_SYNC_HOUR_SECONDS is lowered to try schedules.
            let idle_recheck = Duration::from_secs(hour.min(60));
            let every = self
                .stored()
                .await
                .ok()
                .filter(|r2| r2.enabled && r2.sync_interval_hours > 0)
                .map(|r2| Duration::from_secs(r2.sync_interval_hours.saturating_mul(hour)));
            Schedule { every, idle_recheck }
        })
    }
}
