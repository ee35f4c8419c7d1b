//! The typed view of the settings the running server uses. Built from `RawSettings`; every value is
//! parsed once here so request handling never re-checks it.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

use super::{RawSettings, SettingError, TABLE, check_value, parse_bool, split_list};
use crate::web::host::{Origin, normalize_host};

/// The Host allowlist built from `ALLOWED_HOSTS` and `PUBLIC_ORIGIN`.
#[derive(Debug, Clone, PartialEq)]
pub enum HostRule {
    AllowAll,
    /// Normalized `host[:port]` values; an empty set refuses every host.
    Only(HashSet<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PublicOrigin {
    Unset,
    Valid(Origin),
    /// Set but unusable: every request is refused until it is fixed.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub listen_backlog: u32,
    pub runtime_threads: usize,
    pub immutable_asset_max_age: u64,
    pub log_level: String,
    pub otlp_endpoint: Option<String>,
    pub data_dir: PathBuf,
    pub database_file: PathBuf,
    pub images_dir: PathBuf,
    pub thumbnails_dir: PathBuf,

    pub access_key: Option<String>,
    pub allow_unauthenticated: bool,
    pub cookie_name: String,
    pub cookie_secure: bool,
    pub access_max_failures: u32,
    pub access_lockout: Duration,

    pub ip_allowlist: Vec<IpNet>,
    pub trust_proxy_headers: bool,
    pub trusted_proxies: Vec<IpNet>,
    pub public_origin: PublicOrigin,
    pub allowed_hosts: HostRule,
    pub csrf_enabled: bool,

    pub max_json_body_bytes: u64,
    pub max_file_size_bytes: u64,
    pub import_archive_max_bytes: u64,
    pub import_max_files: u64,
    pub import_max_entries: u64,
    pub import_max_uncompressed_bytes: u64,
    pub import_max_output_bytes: u64,
    pub import_max_metadata_bytes: u64,
    pub import_max_compression_ratio: u64,
    pub import_uploads_per_ip_per_minute: usize,

    pub app_version_override: Option<String>,
    pub github_repo: String,
    pub version_check_enabled: bool,
    pub version_check_timeout: Duration,
    pub version_check_branch: String,
    pub version_check_cache: Duration,
    pub version_check_api_base: String,
    pub version_check_raw_base: String,
    pub enable_metrics: bool,

    pub default_api_url: String,
    pub default_api_key: String,
    pub default_api_path: String,
    pub default_responses_model: String,
    pub default_socks5_proxy: String,
    pub allow_plaintext_secrets: bool,
    pub upstream_host_allowlist: Vec<String>,
    pub upstream_allow_private_network: bool,
    pub webhook_signing_secret: String,
    pub webhook_host_allowlist: Vec<String>,
    pub webhook_timeout: Duration,
    pub webhook_max_attempts: u32,
    pub max_image_pixels: u64,
    pub max_upstream_json_bytes: u64,
    /// `AIOHTTP_CONNECTION_LIMIT`, `AIOHTTP_CONNECTION_LIMIT_PER_HOST` (0: no per-host cap).
    pub connection_limit: usize,
    pub connection_limit_per_host: usize,
    /// `MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB`, or `MAX_FILE_SIZE_MB` when empty.
    pub max_task_image_bytes: u64,
    /// `UPSTREAM_MEMORY_BUDGET_MB`.
    pub upstream_memory_budget_bytes: u64,
    pub max_pending_edit_source_bytes: u64,
    pub max_active_jobs: usize,
    pub max_active_export_jobs: usize,
    pub max_queued_jobs: u64,
    pub job_history_max_rows: u64,
    pub public_image_base_url: Option<String>,
    pub public_thumbnail_base_url: Option<String>,
    pub nginx_accel_redirect: bool,
    pub thumbnail_max_side: u32,
    pub thumbnail_concurrency: usize,
    pub orphan_file_ttl: Duration,
    pub slow_gallery_query_ms: u64,
    pub max_sse_global: usize,
    pub max_sse_per_ip: usize,
    pub sse_ttl: Duration,

    pub optimizer_enabled: bool,
    pub optimizer_api_url: String,
    pub optimizer_api_key: String,
    pub optimizer_model: String,
    pub optimizer_timeout_seconds: u64,
    pub optimizer_max_output_chars: usize,
    pub optimizer_max_response_bytes: u64,
    pub optimizer_host_allowlist: Vec<String>,

    pub r2_backup_enabled: bool,
    pub r2_endpoint_url: String,
    pub r2_endpoint_host_allowlist: Vec<String>,
    pub r2_bucket_name: String,
    pub r2_region: String,
    pub r2_key_prefix: String,
    pub r2_sync_interval_hours: u64,
    pub r2_sync_concurrency: usize,
    /// Seconds in one hour of the sync interval (3600; tests shorten it).
    pub r2_sync_hour_seconds: u64,
    pub r2_access_key_id_set: bool,
    pub r2_secret_access_key_set: bool,
}

const MIB: u64 = 1024 * 1024;
/// Connection limits above this are as good as none (and stay within a semaphore's range).
const MAX_OUTBOUND_SLOTS: i64 = 1 << 20;

impl Config {
    /// Validates every value of the table, then builds the typed config. The first bad value wins.
    pub fn from_raw(raw: &RawSettings) -> Result<Config, SettingError> {
        for def in TABLE {
            check_value(def, raw.get(def.name))?;
        }
        let r = Reader(raw);
        let data_dir = r.path("DATA_DIR");
        let database_file = match raw.get("DATABASE_FILE").trim() {
            "" => data_dir.join("app.sqlite3"),
            file => PathBuf::from(file),
        };
        let images_dir = r.path("IMAGES_DIR");
        let thumbnails_dir = match raw.get("THUMBNAILS_DIR").trim() {
            "" => images_dir.join("thumbs"),
            dir => PathBuf::from(dir),
        };

        let trust_proxy_headers = r.bool("TRUST_PROXY_HEADERS");
        let trusted_proxies = parse_networks(raw.get("TRUSTED_PROXY_IPS"));
        if trust_proxy_headers && trusted_proxies.is_empty() {
            return Err(SettingError::new(
                "TRUSTED_PROXY_IPS",
                "must list at least one proxy IP or CIDR when TRUST_PROXY_HEADERS=true",
            ));
        }
        let github_repo = raw.get("GITHUB_REPO").trim().to_string();
        if !github_repo.is_empty() && !is_github_repo(&github_repo) {
            return Err(SettingError::new("GITHUB_REPO", "must look like owner/repo (letters, digits, _ . -)"));
        }
        let cookie_name = r.text("ACCESS_KEY_COOKIE_NAME");
        if cookie_name.is_empty() || !cookie_name.bytes().all(is_cookie_name_byte) {
            return Err(SettingError::new("ACCESS_KEY_COOKIE_NAME", "must be a non-empty cookie token"));
        }
        let cookie_secure = r.bool("ACCESS_COOKIE_SECURE");
        if cookie_name.starts_with("__Host-") && !cookie_secure {
            // Browsers drop a `__Host-` cookie without `Secure`: nobody could ever unlock.
            return Err(SettingError::new(
                "ACCESS_COOKIE_SECURE",
                "must be true when ACCESS_KEY_COOKIE_NAME starts with __Host-",
            ));
        }
        let public_origin = match raw.get("PUBLIC_ORIGIN").trim() {
            "" => PublicOrigin::Unset,
            text => Origin::parse(text).map_or(PublicOrigin::Invalid, PublicOrigin::Valid),
        };
        let allowed_hosts = host_rule(raw.get("ALLOWED_HOSTS"), &public_origin);

        Ok(Config {
            host: r.text("HOST"),
            port: r.int("PORT") as u16,
            listen_backlog: r.int("GRANIAN_BACKLOG") as u32,
            runtime_threads: r.int("GRANIAN_RUNTIME_THREADS") as usize,
            immutable_asset_max_age: r.int("GRANIAN_STATIC_PATH_EXPIRES") as u64,
            log_level: r.text("LOG_LEVEL"),
            otlp_endpoint: Some(r.text("OTEL_EXPORTER_OTLP_ENDPOINT")).filter(|e| !e.is_empty()),
            data_dir,
            database_file,
            images_dir,
            thumbnails_dir,
            access_key: Some(r.text("ACCESS_KEY")).filter(|key| !key.is_empty()),
            allow_unauthenticated: r.bool("ALLOW_UNAUTHENTICATED"),
            cookie_name,
            cookie_secure,
            access_max_failures: r.int("ACCESS_MAX_FAILURES").min(u32::MAX as i64) as u32,
            access_lockout: Duration::from_secs(r.int("ACCESS_LOCKOUT_SECONDS") as u64),
            ip_allowlist: parse_networks(raw.get("IP_ALLOWLIST")),
            trust_proxy_headers,
            trusted_proxies,
            public_origin,
            allowed_hosts,
            csrf_enabled: r.bool("CSRF_ORIGIN_CHECK_ENABLED"),
            max_json_body_bytes: (r.int("MAX_JSON_BODY_MB") as u64).saturating_mul(MIB),
            max_file_size_bytes: (r.int("MAX_FILE_SIZE_MB") as u64).saturating_mul(MIB),
            import_archive_max_bytes: (r.int("IMPORT_ARCHIVE_MAX_MB") as u64).saturating_mul(MIB),
            import_max_files: r.int("IMPORT_MAX_FILES") as u64,
            import_max_entries: r.int("IMPORT_MAX_ENTRIES") as u64,
            import_max_uncompressed_bytes: (r.int("IMPORT_MAX_UNCOMPRESSED_MB") as u64).saturating_mul(MIB),
            import_max_output_bytes: (r.int("IMPORT_MAX_OUTPUT_MB") as u64).saturating_mul(MIB),
            import_max_metadata_bytes: r.int("IMPORT_MAX_METADATA_BYTES") as u64,
            import_max_compression_ratio: r.int("IMPORT_MAX_COMPRESSION_RATIO") as u64,
            import_uploads_per_ip_per_minute: r.int("IMPORT_UPLOADS_PER_IP_PER_MINUTE") as usize,
            app_version_override: Some(r.text("APP_VERSION")).filter(|v| !v.is_empty()),
            github_repo,
            version_check_enabled: r.bool("ENABLE_VERSION_CHECK"),
            version_check_timeout: Duration::from_secs_f64(r.float("VERSION_CHECK_TIMEOUT_SECONDS")),
            version_check_branch: r.text("VERSION_CHECK_BRANCH"),
            version_check_cache: Duration::from_secs(r.int("VERSION_CHECK_CACHE_SECONDS") as u64),
            version_check_api_base: r.text("VERSION_CHECK_API_BASE_URL").trim_end_matches('/').to_string(),
            version_check_raw_base: r.text("VERSION_CHECK_RAW_BASE_URL").trim_end_matches('/').to_string(),
            enable_metrics: r.bool("ENABLE_METRICS"),
            default_api_url: r.text("DEFAULT_API_URL"),
            default_api_key: r.text("DEFAULT_API_KEY"),
            default_api_path: r.text("DEFAULT_API_PATH"),
            default_responses_model: r.text("DEFAULT_RESPONSES_MODEL"),
            default_socks5_proxy: r.text("DEFAULT_UPSTREAM_SOCKS5_PROXY"),
            allow_plaintext_secrets: r.bool("ALLOW_PLAINTEXT_SECRETS"),
            upstream_host_allowlist: split_list(raw.get("UPSTREAM_HOST_ALLOWLIST"), false),
            upstream_allow_private_network: r.bool("UPSTREAM_ALLOW_PRIVATE_NETWORK"),
            webhook_signing_secret: r.text("WEBHOOK_SIGNING_SECRET"),
            webhook_host_allowlist: split_list(raw.get("WEBHOOK_HOST_ALLOWLIST"), false),
            webhook_timeout: Duration::from_secs_f64(r.float("WEBHOOK_TIMEOUT_SECONDS")),
            webhook_max_attempts: r.int("WEBHOOK_MAX_ATTEMPTS") as u32,
            max_image_pixels: r.int("MAX_IMAGE_PIXELS") as u64,
            max_upstream_json_bytes: (r.int("MAX_UPSTREAM_JSON_MB") as u64).saturating_mul(MIB),
            connection_limit: r.int("AIOHTTP_CONNECTION_LIMIT").clamp(1, MAX_OUTBOUND_SLOTS) as usize,
            connection_limit_per_host: r.int("AIOHTTP_CONNECTION_LIMIT_PER_HOST").clamp(0, MAX_OUTBOUND_SLOTS) as usize,
            max_task_image_bytes: match r.value("MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB").trim() {
                "" => (r.int("MAX_FILE_SIZE_MB") as u64).saturating_mul(MIB),
                _ => (r.int("MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB") as u64).saturating_mul(MIB),
            },
            upstream_memory_budget_bytes: (r.int("UPSTREAM_MEMORY_BUDGET_MB") as u64).saturating_mul(MIB),
            max_pending_edit_source_bytes: (r.int("MAX_PENDING_EDIT_SOURCE_MB") as u64).saturating_mul(MIB),
            max_active_jobs: r.int("MAX_ACTIVE_GENERATE_JOBS") as usize,
            max_active_export_jobs: r.int("MAX_ACTIVE_EXPORT_JOBS") as usize,
            max_queued_jobs: r.int("MAX_QUEUED_GENERATE_JOBS") as u64,
            job_history_max_rows: r.int("JOB_HISTORY_MAX_ROWS") as u64,
            public_image_base_url: Some(r.text("PUBLIC_IMAGE_BASE_URL").trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            public_thumbnail_base_url: Some(r.text("PUBLIC_THUMBNAIL_BASE_URL").trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            nginx_accel_redirect: r.bool("ENABLE_NGINX_ACCEL_REDIRECT"),
            thumbnail_max_side: r.int("THUMBNAIL_MAX_SIDE") as u32,
            thumbnail_concurrency: r.int("THUMBNAIL_CPU_CONCURRENCY") as usize,
            orphan_file_ttl: Duration::from_secs(r.int("GALLERY_ORPHAN_FILE_TTL_SECONDS") as u64),
            slow_gallery_query_ms: r.int("SLOW_GALLERY_QUERY_MS") as u64,
            max_sse_global: r.int("MAX_SSE_SUBSCRIBERS_GLOBAL") as usize,
            max_sse_per_ip: r.int("MAX_SSE_SUBSCRIBERS_PER_IP") as usize,
            sse_ttl: Duration::from_secs(r.int("SSE_CONNECTION_TTL_SECONDS") as u64),
            optimizer_enabled: r.bool("PROMPT_OPTIMIZER_ENABLED"),
            optimizer_api_url: r.text("PROMPT_OPTIMIZER_API_URL"),
            optimizer_api_key: r.text("PROMPT_OPTIMIZER_API_KEY"),
            optimizer_model: r.text("PROMPT_OPTIMIZER_MODEL"),
            optimizer_timeout_seconds: r.float("PROMPT_OPTIMIZER_TIMEOUT_SECONDS").ceil() as u64,
            optimizer_max_output_chars: r.int("PROMPT_OPTIMIZER_MAX_OUTPUT_CHARS") as usize,
            optimizer_max_response_bytes: (r.int("PROMPT_OPTIMIZER_MAX_RESPONSE_MB") as u64).saturating_mul(MIB),
            optimizer_host_allowlist: split_list(raw.get("PROMPT_OPTIMIZER_HOST_ALLOWLIST"), false),
            r2_backup_enabled: r.bool("R2_BACKUP_ENABLED"),
            r2_endpoint_url: r.text("R2_ENDPOINT_URL"),
            r2_endpoint_host_allowlist: split_list(raw.get("R2_ENDPOINT_HOST_ALLOWLIST"), false),
            r2_bucket_name: r.text("R2_BUCKET_NAME"),
            r2_region: r.text("R2_REGION"),
            r2_key_prefix: r.text("R2_KEY_PREFIX"),
            r2_sync_interval_hours: r.float("R2_SYNC_INTERVAL_HOURS") as u64,
            // The contract's clamp, within the table's wider range.
            r2_sync_concurrency: r.int("R2_SYNC_CONCURRENCY").clamp(1, 32) as usize,
            r2_sync_hour_seconds: r.int("R2_SYNC_HOUR_SECONDS").max(1) as u64,
            r2_access_key_id_set: !raw.get("R2_ACCESS_KEY_ID").trim().is_empty(),
            r2_secret_access_key_set: !raw.get("R2_SECRET_ACCESS_KEY").trim().is_empty(),
        })
    }

    /// The access gate is on unless explicitly opened with `ALLOW_UNAUTHENTICATED` and no key.
    pub fn gate_active(&self) -> bool {
        self.access_key.is_some()
    }

    pub fn listen_address(&self) -> String {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]:{}", self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// Typed reads of values that `check_value` already accepted; an empty value falls back to the default.
struct Reader<'a>(&'a RawSettings);

impl Reader<'_> {
    fn value(&self, name: &str) -> String {
        let value = self.0.get(name).trim();
        if value.is_empty() {
            super::find(name).map(|def| def.default.to_string()).unwrap_or_default()
        } else {
            value.to_string()
        }
    }
    fn text(&self, name: &str) -> String {
        self.value(name)
    }
    fn path(&self, name: &str) -> PathBuf {
        PathBuf::from(self.value(name))
    }
    fn bool(&self, name: &str) -> bool {
        parse_bool(&self.value(name)).unwrap_or(false)
    }
    fn int(&self, name: &str) -> i64 {
        self.value(name).parse().unwrap_or(0)
    }
    fn float(&self, name: &str) -> f64 {
        self.value(name).parse().unwrap_or(0.0)
    }
}

/// IPs and CIDRs separated by `,` or `;`; unparseable entries are skipped, host bits are allowed.
pub fn parse_networks(value: &str) -> Vec<IpNet> {
    split_list(value, true)
        .iter()
        .filter_map(|entry| {
            if entry.contains('/') {
                entry.parse::<IpNet>().ok().map(|net| net.trunc())
            } else {
                entry.parse::<IpAddr>().ok().map(IpNet::from)
            }
        })
        .collect()
}

fn host_rule(allowed_hosts: &str, public_origin: &PublicOrigin) -> HostRule {
    let entries = split_list(allowed_hosts, false);
    let mut set = HashSet::new();
    for entry in &entries {
        if entry.contains("://") {
            if let Some(origin) = Origin::parse(entry) {
                set.extend(origin.host_values());
            }
        } else if let Some(host) = normalize_host(entry) {
            set.insert(host);
        }
    }
    if let PublicOrigin::Valid(origin) = public_origin {
        set.extend(origin.host_values());
    }
    if set.is_empty() && entries.is_empty() { HostRule::AllowAll } else { HostRule::Only(set) }
}

fn is_github_repo(value: &str) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    matches!(value.split_once('/'), Some((owner, repo)) if part_ok(owner) && part_ok(repo))
}

fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
