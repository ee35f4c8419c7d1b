//! The public HTTP API: one poem-openapi struct per resource, assembled into one OpenAPI service.

pub mod access;
pub mod error;
pub mod health;
pub mod strict_json;
pub mod version;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum ApiTags {
    /// Service health.
    Health,
    /// Unlocking the panel with the access key.
    Access,
    /// The running version and update availability.
    Version,
}

pub type Apis = (health::HealthApi, access::AccessApi, version::VersionApi);

/// The whole API. The spec it produces is committed as `openapi/openapi.json`.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (health::HealthApi, access::AccessApi, version::VersionApi),
        "GPT Image Panel",
        env!("CARGO_PKG_VERSION"),
    )
    .description("Self-hosted panel for GPT-compatible image APIs. Every error body is the `ErrorBody` envelope.")
}

/// The spec as committed: pretty JSON with a trailing newline.
pub fn spec_json() -> String {
    let mut spec = service().spec();
    spec.push('\n');
    spec
}
