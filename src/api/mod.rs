//! The public HTTP API: one poem-openapi struct per resource, assembled into one OpenAPI service.

pub mod access;
pub mod config_update_spec;
pub mod edit_multipart;
pub mod edit_uploads;
pub mod edits;
pub mod error;
pub mod gallery;
pub mod gallery_batch;
pub mod gallery_counts;
pub mod gallery_export;
pub mod gallery_import;
pub mod gallery_job_events;
pub mod gallery_selection;
pub mod gallery_sync;
pub mod gallery_view;
pub mod generate;
pub mod generate_request;
pub mod health;
pub mod import_uploads;
pub mod job_events;
pub mod job_view;
pub mod jobs;
pub mod media;
pub mod metrics;
pub mod overall_config;
pub mod preset_health;
pub mod presets;
pub mod prompt;
pub mod query_params;
pub mod r2_health;
pub mod schema_check;
pub mod settings;
pub mod settings_models;
pub mod settings_update;
pub mod snippets;
pub mod spec_rules;
pub mod status_message;
pub mod strict_json;
pub mod value_patterns;
pub mod version;
pub mod webhook_payload;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum ApiTags {
    /// Service health.
    Health,
    /// Unlocking the panel with the access key.
    Access,
    /// The running version and update availability.
    Version,
    /// API presets, the global proxy and webhook, the prompt optimizer and R2 backup settings.
    Settings,
    /// Saved prompts.
    Snippets,
    /// The prompt optimizer.
    Prompt,
    /// Image generation jobs, their history and live progress.
    Jobs,
    /// The image gallery.
    Gallery,
}

/// Declares the API list once, as the `Apis` type and the value that builds it. Every API is a unit
/// struct, so the same tokens name the type and construct it.
macro_rules! apis {
    ($($api:tt),* $(,)?) => {
        pub type Apis = ($($api,)*);

        fn apis() -> Apis {
            ($($api,)*)
        }
    };
}

use access::AccessApi;
use edits::EditsApi;
use gallery::GalleryApi;
use gallery_batch::GalleryBatchApi;
use gallery_export::GalleryExportApi;
use gallery_import::GalleryImportApi;
use gallery_selection::GallerySelectionApi;
use gallery_sync::GallerySyncApi;
use generate::GenerateApi;
use health::HealthApi;
use job_events::JobEventsApi;
use jobs::JobsApi;
use media::MediaApi;
use metrics::MetricsApi;
use overall_config::OverallConfigApi;
use presets::PresetsApi;
use prompt::PromptApi;
use r2_health::R2HealthApi;
use settings::SettingsApi;
use snippets::SnippetsApi;
use version::VersionApi;

// poem-openapi implements `OpenApi` for tuples of up to 16, so version and metrics share a slot.
apis!(
    HealthApi,
    AccessApi,
    (VersionApi, MetricsApi),
    SettingsApi,
    PresetsApi,
    OverallConfigApi,
    R2HealthApi,
    SnippetsApi,
    PromptApi,
    GenerateApi,
    EditsApi,
    JobEventsApi,
    JobsApi,
    GalleryApi,
    (GalleryBatchApi, GalleryExportApi, GalleryImportApi, GallerySelectionApi, GallerySyncApi),
    MediaApi,
);

/// The whole API. The spec it produces is committed as `openapi/openapi.json`.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis(), "GPT Image Panel", env!("CARGO_PKG_VERSION"))
        .description("Self-hosted panel for GPT-compatible image APIs. Every error body is the `ErrorBody` envelope.")
}

/// The spec as committed: pretty JSON with a trailing newline.
pub fn spec_json() -> String {
    let mut document: serde_json::Value = serde_json::from_str(&service().spec()).expect("poem-openapi writes JSON");
    spec_rules::apply(&mut document);
    let mut spec = serde_json::to_string_pretty(&document).expect("a JSON value serialises");
    spec.push('\n');
    spec
}
