//! The one declarative list of every setting the panel reads. Loading, `.env.example`, the README table
//! and Overall Config are all derived from `TABLE`; add a setting here and nowhere else.

/// How a value is parsed and validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Bool,
    /// Integer with inclusive bounds.
    Int {
        min: i64,
        max: i64,
    },
    /// Decimal number with an inclusive lower bound.
    Float {
        min: f64,
    },
    /// Free text (trimmed).
    Text,
    /// Comma-separated list (also `;` where the help says so).
    List,
    /// A file-system path.
    Path,
}

/// When a changed value takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Applied to the running server at once.
    HotReload,
    /// Read at start; a change needs a restart.
    Restart,
    /// Only used when building the container image.
    BuildOnly,
    /// Kept for compatibility with existing `.env` files; the Rust server has no equivalent knob.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Server,
    Access,
    Upstream,
    Limits,
    Jobs,
    Storage,
    Webhooks,
    PromptOptimizer,
    R2Backup,
    VersionAndMetrics,
    Build,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Server => "Server and runtime",
            Group::Access => "Access and security",
            Group::Upstream => "Upstream API",
            Group::Limits => "Request and file limits",
            Group::Jobs => "Generation jobs and live updates",
            Group::Storage => "Storage, gallery and thumbnails",
            Group::Webhooks => "Webhooks",
            Group::PromptOptimizer => "Prompt optimizer",
            Group::R2Backup => "R2 gallery backup",
            Group::VersionAndMetrics => "Version check and metrics",
            Group::Build => "Container build",
        }
    }

    pub const ALL: [Group; 11] = [
        Group::Server,
        Group::Access,
        Group::Upstream,
        Group::Limits,
        Group::Jobs,
        Group::Storage,
        Group::Webhooks,
        Group::PromptOptimizer,
        Group::R2Backup,
        Group::VersionAndMetrics,
        Group::Build,
    ];
}

#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub name: &'static str,
    pub kind: Kind,
    /// Default as written in `.env`; empty means unset.
    pub default: &'static str,
    pub secret: bool,
    pub effect: Effect,
    pub group: Group,
    pub help: &'static str,
}

impl SettingDef {
    const fn new(
        group: Group,
        name: &'static str,
        kind: Kind,
        default: &'static str,
        effect: Effect,
        help: &'static str,
    ) -> Self {
        SettingDef { name, kind, default, secret: false, effect, group, help }
    }

    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

use Effect::{BuildOnly, HotReload, Ignored, Restart};
use Group::*;
use Kind::{Bool, List, Path, Text};

const I64: i64 = i64::MAX;

pub static TABLE: &[SettingDef] = &[
    // Server and runtime
    SettingDef::new(Server, "HOST", Text, "127.0.0.1", Restart, "Address the HTTP server listens on; use 0.0.0.0 inside containers"),
    SettingDef::new(Server, "PORT", int(0, 65535), "9090", Restart, "TCP port the HTTP server listens on"),
    SettingDef::new(Server, "DATA_DIR", Path, "./data", Restart, "Directory for SQLite runtime data (created with mode 0700); read from the environment only"),
    SettingDef::new(Server, "DATABASE_FILE", Path, "./data/app.sqlite3", Restart, "SQLite database for gallery metadata, jobs and API presets (mode 0600); read from the environment only"),
    SettingDef::new(Server, "LOG_LEVEL", Text, "info", Restart, "Log filter: error, warn, info, debug, trace, or a tracing directive such as gpt_image_panel=debug"),
    SettingDef::new(Server, "OTEL_EXPORTER_OTLP_ENDPOINT", Text, "", Restart, "OpenTelemetry OTLP/HTTP endpoint for traces; empty disables export"),
    SettingDef::new(Server, "GRANIAN_WORKERS", int(1, 64), "1", Ignored, "Python server worker processes; the Rust server is one process that owns the job queue, so this is ignored"),
    SettingDef::new(Server, "GRANIAN_RUNTIME_THREADS", int(1, 256), "2", Restart, "Async runtime worker threads of the Rust server"),
    SettingDef::new(Server, "GRANIAN_LOOP", Text, "uvloop", Ignored, "Python event loop choice; ignored by the Rust server"),
    SettingDef::new(Server, "GRANIAN_BACKPRESSURE", int(1, I64), "100", Ignored, "Python per-worker backpressure; ignored (the Rust server bounds work per resource instead)"),
    SettingDef::new(Server, "GRANIAN_BACKLOG", int(1, 65535), "2048", Restart, "Socket listen backlog for pending connections"),
    SettingDef::new(Server, "GRANIAN_STATIC_PATH_ROUTE", Text, "/_app/immutable", Ignored, "Python direct static route; the Rust server serves /_app/immutable itself, so this is ignored"),
    SettingDef::new(Server, "GRANIAN_STATIC_PATH_MOUNT", Text, "/app/frontend/build/_app/immutable", Ignored, "Python static mount directory; the frontend is embedded in the Rust binary, so this is ignored"),
    SettingDef::new(Server, "GRANIAN_STATIC_PATH_EXPIRES", int(0, I64), "31536000", Restart, "Cache max-age in seconds for immutable frontend assets under /_app/immutable"),
    // Access and security
    SettingDef::new(Access, "ACCESS_KEY", Text, "", HotReload, "Access key that unlocks the panel; when unset (and ALLOW_UNAUTHENTICATED is false) a random key is generated once, stored in DATA_DIR/access_key and printed at start").secret(),
    SettingDef::new(Access, "ALLOW_UNAUTHENTICATED", Bool, "false", HotReload, "Set true to run without ACCESS_KEY; every non-health route is then open and a SECURITY line is logged at start"),
    SettingDef::new(Access, "ACCESS_KEY_COOKIE_NAME", Text, "gpt_image_access", HotReload, "Browser cookie name used for the access-key session"),
    SettingDef::new(Access, "ACCESS_COOKIE_SECURE", Bool, "true", HotReload, "Mark the access cookie Secure; set false only for plain-HTTP local/private deployments"),
    SettingDef::new(Access, "ACCESS_MAX_FAILURES", int(1, I64), "5", HotReload, "Failed access-key attempts from one IP before a temporary lockout"),
    SettingDef::new(Access, "ACCESS_LOCKOUT_SECONDS", int(1, I64), "300", HotReload, "Lockout duration after too many failed access attempts"),
    SettingDef::new(Access, "IP_ALLOWLIST", List, "", HotReload, "Comma- or semicolon-separated allowed client IPs/CIDRs; empty allows everyone"),
    SettingDef::new(Access, "TRUST_PROXY_HEADERS", Bool, "false", HotReload, "Read X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host from a trusted reverse proxy"),
    SettingDef::new(Access, "TRUSTED_PROXY_IPS", List, "", HotReload, "Comma- or semicolon-separated proxy IPs/CIDRs allowed to provide proxy headers; required when TRUST_PROXY_HEADERS=true"),
    SettingDef::new(Access, "PUBLIC_ORIGIN", Text, "", HotReload, "Optional canonical browser origin such as https://panel.example.com; also joins the Host allowlist and is the CSRF expected origin"),
    SettingDef::new(Access, "ALLOWED_HOSTS", List, "", HotReload, "Optional comma-separated allowed Host / trusted X-Forwarded-Host values; accepts hostnames, host:port, or origins"),
    SettingDef::new(Access, "CSRF_ORIGIN_CHECK_ENABLED", Bool, "true", HotReload, "Reject unsafe POST, PUT, PATCH and DELETE requests unless Origin, Referer, or same-origin Sec-Fetch-Site proves the browser source"),
    SettingDef::new(Access, "ALLOW_PLAINTEXT_SECRETS", Bool, "false", HotReload, "Allow literal API keys / SOCKS5 proxy URLs / Webhook URLs / R2 credentials to be stored in SQLite instead of requiring ${ENV_VAR_NAME} refs"),
    // Upstream API
    SettingDef::new(Upstream, "DEFAULT_API_URL", Text, "", HotReload, "Pre-fill API base URL; may omit or include /v1"),
    SettingDef::new(Upstream, "DEFAULT_API_KEY", Text, "", HotReload, "Pre-fill API key; use an env ref such as ${OPENAI_API_KEY}. Literal keys require ALLOW_PLAINTEXT_SECRETS=true").secret(),
    SettingDef::new(Upstream, "DEFAULT_API_PATH", Text, "/v1/images/generations", HotReload, "Default upstream path: /v1/images/generations, /v1/responses or /v1/chat/completions"),
    SettingDef::new(Upstream, "DEFAULT_RESPONSES_MODEL", Text, "gpt-5.4", HotReload, "Fallback top-level model for /v1/responses when no request or preset model is given"),
    SettingDef::new(Upstream, "DEFAULT_UPSTREAM_SOCKS5_PROXY", Text, "", HotReload, "Optional default global SOCKS5 proxy (socks5:// or socks5h://) or env ref for generation/edit upstream calls").secret(),
    SettingDef::new(Upstream, "UPSTREAM_HOST_ALLOWLIST", List, "", HotReload, "Optional comma-separated hostname allowlist for generation/edit upstream API URLs"),
    SettingDef::new(Upstream, "UPSTREAM_ALLOW_PRIVATE_NETWORK", Bool, "false", HotReload, "Allow upstream, prompt optimizer and R2 endpoints on loopback/private networks and plain http:// (local gateways, tests); off keeps the SSRF guard strict"),
    SettingDef::new(Upstream, "AIOHTTP_CONNECTION_LIMIT", int(1, I64), "100", Restart, "Upstream, probe and image-download requests in flight at once; each holds its connection until the reply is read"),
    SettingDef::new(Upstream, "AIOHTTP_CONNECTION_LIMIT_PER_HOST", int(0, I64), "20", Restart, "Upstream, probe and image-download requests in flight at once to one host (host:port); 0 disables the per-host cap"),
    // Request and file limits
    SettingDef::new(Limits, "MAX_FILE_SIZE_MB", int(1, I64), "50", HotReload, "Max image size in MB for edit uploads, imported image files and downloaded upstream image URLs"),
    SettingDef::new(Limits, "MAX_JSON_BODY_MB", int(1, I64), "1", HotReload, "Max JSON request body size in MB for non-upload API calls"),
    SettingDef::new(Limits, "MAX_UPSTREAM_JSON_MB", int(1, I64), "128", HotReload, "Max upstream JSON/SSE response body size in MB before parsing; prefer response_format=url for large results"),
    SettingDef::new(Limits, "MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB", int(1, I64), "", HotReload, "Max decoded image bytes per upstream task in MB (a larger image fails the task as upstream_error); empty means MAX_FILE_SIZE_MB"),
    SettingDef::new(Limits, "UPSTREAM_MEMORY_BUDGET_MB", int(1, I64), "256", HotReload, "Memory in MB that upstream replies being read, decoded and saved may hold at once; each reserves its reply size (MAX_UPSTREAM_JSON_MB when not sent) plus MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB until its image is written"),
    SettingDef::new(Limits, "MAX_IMAGE_PIXELS", int(1, I64), "100000000", HotReload, "Max decoded image pixels before decompression-bomb rejection"),
    SettingDef::new(Limits, "IMPORT_ARCHIVE_MAX_MB", int(1, I64), "1000", HotReload, "Max uploaded ZIP size in MB for /api/import"),
    SettingDef::new(Limits, "IMPORT_MAX_FILES", int(1, I64), "500", HotReload, "Max number of files inside one import archive"),
    SettingDef::new(Limits, "IMPORT_MAX_ENTRIES", int(1, I64), "500", HotReload, "Max number of image records in one import archive's metadata"),
    SettingDef::new(Limits, "IMPORT_MAX_UNCOMPRESSED_MB", int(1, I64), "1024", HotReload, "Max total uncompressed size in MB across all files in an import archive"),
    SettingDef::new(Limits, "IMPORT_MAX_OUTPUT_MB", int(1, I64), "1024", HotReload, "Max total image bytes in MB written by one import"),
    SettingDef::new(Limits, "IMPORT_MAX_METADATA_BYTES", int(1, I64), "2097152", HotReload, "Max metadata.json size in bytes for an import archive"),
    SettingDef::new(Limits, "IMPORT_MAX_COMPRESSION_RATIO", int(1, I64), "100", HotReload, "Max allowed uncompressed/compressed ratio for any imported file"),
    SettingDef::new(Limits, "IMPORT_UPLOADS_PER_IP_PER_MINUTE", int(1, I64), "3", HotReload, "Max concurrent import uploads started by one client IP within a minute"),
    // Generation jobs and live updates
    SettingDef::new(Jobs, "MAX_ACTIVE_GENERATE_JOBS", int(1, 64), "2", HotReload, "Max generation/edit image units running upstream at once"),
    SettingDef::new(Jobs, "MAX_QUEUED_GENERATE_JOBS", int(0, I64), "20", HotReload, "Max additional queued image units before new requests get 429"),
    SettingDef::new(Jobs, "MAX_PENDING_EDIT_SOURCE_MB", int(0, I64), "200", HotReload, "Pending edit source image bytes in MB across queued jobs; 0 disables this byte cap"),
    SettingDef::new(Jobs, "JOB_HISTORY_MAX_ROWS", int(1, I64), "1000", HotReload, "Terminal generation/edit jobs kept in history; older rows are pruned"),
    SettingDef::new(Jobs, "IMAGE_JOB_UNIT_LEASE_SECONDS", Kind::Float { min: 0.0 }, "120", Ignored, "Python multi-worker claim lease; one Rust process owns the queue, so this is ignored"),
    SettingDef::new(Jobs, "IMAGE_JOB_UNIT_POLL_INTERVAL_SECONDS", Kind::Float { min: 0.0 }, "0.35", Ignored, "Python SQLite polling interval; the Rust server pushes job events without polling, so this is ignored"),
    SettingDef::new(Jobs, "MAX_SSE_SUBSCRIBERS_GLOBAL", int(1, I64), "200", HotReload, "Max open SSE connections in total"),
    SettingDef::new(Jobs, "MAX_SSE_SUBSCRIBERS_PER_IP", int(1, I64), "10", HotReload, "Max open SSE connections per client IP"),
    SettingDef::new(Jobs, "SSE_CONNECTION_TTL_SECONDS", int(1, I64), "3600", HotReload, "Maximum lifetime of one SSE connection in seconds"),
    // Storage, gallery and thumbnails
    SettingDef::new(Storage, "IMAGES_DIR", Path, "./images", Restart, "Directory for saved images"),
    SettingDef::new(Storage, "THUMBNAILS_DIR", Path, "./images/thumbs", Restart, "Directory for generated gallery thumbnails"),
    SettingDef::new(Storage, "THUMBNAIL_MAX_SIDE", int(16, 4096), "512", Restart, "Max thumbnail width/height in pixels"),
    SettingDef::new(Storage, "THUMBNAIL_CPU_CONCURRENCY", int(1, 64), "1", Restart, "Thumbnails generated at the same time"),
    SettingDef::new(Storage, "GALLERY_ORPHAN_FILE_TTL_SECONDS", int(0, I64), "300", Restart, "Age in seconds before an image file no gallery row references is removed"),
    SettingDef::new(Storage, "SLOW_GALLERY_QUERY_MS", int(0, I64), "200", HotReload, "Log /api/gallery requests at or above this duration with the query shape and timings"),
    SettingDef::new(Storage, "ENABLE_NGINX_ACCEL_REDIRECT", Bool, "false", HotReload, "Answer authorized image/thumb/download requests with X-Accel-Redirect for an nginx internal alias"),
    SettingDef::new(Storage, "PUBLIC_IMAGE_BASE_URL", Text, "", HotReload, "Optional public/CDN base URL for gallery image bytes; /api/image stays as an authorized fallback"),
    SettingDef::new(Storage, "PUBLIC_THUMBNAIL_BASE_URL", Text, "", HotReload, "Optional public/CDN base URL for thumbnail bytes; /api/thumb stays as an authorized fallback"),
    SettingDef::new(Storage, "MAX_ACTIVE_EXPORT_JOBS", int(1, 64), "5", HotReload, "Max ZIP exports (tracked, direct and selected) running at once"),
    // Webhooks
    SettingDef::new(Webhooks, "WEBHOOK_SIGNING_SECRET", Text, "", HotReload, "Required (at least 32 bytes) when a webhook URL is configured; signs payloads (X-Webhook-Signature)").secret(),
    SettingDef::new(Webhooks, "WEBHOOK_HOST_ALLOWLIST", List, "", HotReload, "Optional comma-separated webhook hostname allowlist"),
    SettingDef::new(Webhooks, "WEBHOOK_TIMEOUT_SECONDS", Kind::Float { min: 0.1 }, "5", HotReload, "Webhook delivery timeout per attempt in seconds"),
    SettingDef::new(Webhooks, "WEBHOOK_MAX_ATTEMPTS", int(1, 20), "3", HotReload, "Max webhook delivery attempts"),
    // Prompt optimizer
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_ENABLED", Bool, "false", HotReload, "Enable the server-side prompt optimizer"),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_API_URL", Text, "", HotReload, "Full Chat Completions-compatible endpoint URL used by the prompt optimizer"),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_API_KEY", Text, "", HotReload, "Prompt optimizer API key; use an env ref such as ${OPENAI_API_KEY}. Literal keys require ALLOW_PLAINTEXT_SECRETS=true").secret(),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_MODEL", Text, "gpt-4o-mini", HotReload, "Prompt optimizer model"),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_TIMEOUT_SECONDS", Kind::Float { min: 1.0 }, "60", HotReload, "Prompt optimizer request timeout in seconds"),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_MAX_OUTPUT_CHARS", int(1, I64), "4000", HotReload, "Max optimized prompt length returned to the textarea"),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_MAX_RESPONSE_MB", int(1, I64), "8", HotReload, "Max optimizer upstream response body size in MB before JSON parsing"),
    SettingDef::new(PromptOptimizer, "PROMPT_OPTIMIZER_HOST_ALLOWLIST", List, "", HotReload, "Optional comma-separated hostname allowlist for the optimizer endpoint"),
    // R2 gallery backup
    SettingDef::new(R2Backup, "R2_BACKUP_ENABLED", Bool, "false", HotReload, "Enable Gallery Sync backup when using environment-based R2 configuration"),
    SettingDef::new(R2Backup, "R2_ENDPOINT_URL", Text, "", HotReload, "Cloudflare R2 S3-compatible endpoint URL, for example https://ACCOUNT_ID.r2.cloudflarestorage.com"),
    SettingDef::new(R2Backup, "R2_ENDPOINT_HOST_ALLOWLIST", List, "", HotReload, "Extra S3-compatible endpoint hostnames allowed besides *.r2.cloudflarestorage.com"),
    SettingDef::new(R2Backup, "R2_BUCKET_NAME", Text, "", HotReload, "Bucket used by Gallery Sync backup"),
    SettingDef::new(R2Backup, "R2_REGION", Text, "auto", HotReload, "S3 client region name for R2"),
    SettingDef::new(R2Backup, "R2_KEY_PREFIX", Text, "gallery/", HotReload, "Object key prefix for gallery backups; use a dedicated prefix such as gallery-test/ for validation"),
    SettingDef::new(R2Backup, "R2_SYNC_INTERVAL_HOURS", int(0, I64), "0", HotReload, "Scheduled Gallery Sync interval in hours; 0 disables automatic sync"),
    SettingDef::new(R2Backup, "R2_SYNC_CONCURRENCY", int(1, 64), "4", HotReload, "Concurrent R2 HEAD/upload workers used by Gallery Sync (above 32 counts as 32)"),
    SettingDef::new(R2Backup, "R2_SYNC_HOUR_SECONDS", int(1, I64), "3600", HotReload, "Seconds in one hour of R2_SYNC_INTERVAL_HOURS (and at most the one-minute recheck of an off schedule); keep 3600, lower it only to try scheduled sync quickly"),
    SettingDef::new(R2Backup, "R2_ACCESS_KEY_ID", Text, "", HotReload, "R2 access key ID used by env-ref credentials").secret(),
    SettingDef::new(R2Backup, "R2_SECRET_ACCESS_KEY", Text, "", HotReload, "R2 secret access key used by env-ref credentials").secret(),
    // Version check and metrics
    SettingDef::new(VersionAndMetrics, "APP_VERSION", Text, "", HotReload, "Override the version shown in the UI and returned by /api/version; empty uses the VERSION file; read on each request"),
    SettingDef::new(VersionAndMetrics, "GITHUB_REPO", Text, "Z1rconium/gpt-image-linux", HotReload, "GitHub owner/repo used for latest-release detection; set empty to disable latest-version checks"),
    SettingDef::new(VersionAndMetrics, "ENABLE_VERSION_CHECK", Bool, "true", HotReload, "Check GitHub for a newer release (cached) to show the header New badge"),
    SettingDef::new(VersionAndMetrics, "VERSION_CHECK_TIMEOUT_SECONDS", Kind::Float { min: 0.1 }, "3", HotReload, "Timeout for each GitHub latest release or branch VERSION request"),
    SettingDef::new(VersionAndMetrics, "VERSION_CHECK_BRANCH", Text, "main", HotReload, "Branch used for the fallback raw VERSION file check"),
    SettingDef::new(VersionAndMetrics, "VERSION_CHECK_CACHE_SECONDS", int(60, I64), "600", HotReload, "How long a successful latest-version lookup is cached"),
    SettingDef::new(VersionAndMetrics, "VERSION_CHECK_API_BASE_URL", Text, "https://api.github.com", HotReload, "GitHub API base used for the latest-release lookup (a mirror or a test server)"),
    SettingDef::new(VersionAndMetrics, "VERSION_CHECK_RAW_BASE_URL", Text, "https://raw.githubusercontent.com", HotReload, "Raw file base used for the fallback VERSION lookup"),
    SettingDef::new(VersionAndMetrics, "ENABLE_METRICS", Bool, "false", HotReload, "Enable /api/metrics JSON and Prometheus text output"),
    // Container build
    SettingDef::new(Build, "NODE_BASE_IMAGE", Text, "node:20-bookworm-slim", BuildOnly, "Docker build base image for the frontend stage"),
    SettingDef::new(Build, "RUST_BASE_IMAGE", Text, "rust:1.95-bookworm", BuildOnly, "Docker build base image for the server stage"),
    SettingDef::new(Build, "PYTHON_BASE_IMAGE", Text, "python:3.11-slim", Ignored, "Python base image of the previous panel; the Rust image does not use it"),
];

/// Looks a setting up by name.
pub fn find(name: &str) -> Option<&'static SettingDef> {
    TABLE.iter().find(|def| def.name == name)
}
