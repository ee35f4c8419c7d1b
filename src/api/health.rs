use chrono::{SecondsFormat, Utc};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;

pub struct HealthApi;

#[derive(Debug, Object)]
pub struct Health {
    /// Always `ok` while the server answers.
    pub status: String,
    /// Server time, ISO 8601 UTC with microseconds.
    pub time: String,
}

#[OpenApi(tag = "ApiTags::Health")]
impl HealthApi {
    /// Liveness check; needs no access key and is open to every client IP.
    #[oai(path = "/health", method = "get", operation_id = "health")]
    async fn health(&self) -> Json<Health> {
        Json(Health { status: "ok".into(), time: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false) })
    }
}
