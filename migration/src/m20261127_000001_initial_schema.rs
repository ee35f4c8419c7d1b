//! The first schema: settings, presets, access lockouts, jobs and their units, staged edit sources,
//! the gallery with FTS5 search, prompt snippets, gallery jobs (export/import/sync) and R2 sync state.
//!
//! Conventions: timestamps are TEXT in UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so they sort as text;
//! booleans are INTEGER 0/1; ordered lists carry an explicit integer sequence. Statements are SQLite
//! DDL because FTS5 and triggers have no schema-builder form.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_initial_schema"
    }
}

const UP: &[&str] = &[
    // Overall Config overrides: one row per setting name that differs from env/default.
    "CREATE TABLE settings_overrides (
        name TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    // What the environment said at the last start, for Overall Config (secret values are never stored).
    "CREATE TABLE settings_env_values (
        name TEXT PRIMARY KEY NOT NULL,
        env_value TEXT NOT NULL,
        is_env_set INTEGER NOT NULL CHECK (is_env_set IN (0, 1)),
        synced_at TEXT NOT NULL
    )",
    // Small JSON documents owned by the settings page (active preset, proxy, webhook, optimizer, R2).
    "CREATE TABLE settings_kv (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE TABLE api_presets (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL UNIQUE,
        api_url TEXT NOT NULL DEFAULT '',
        api_path TEXT NOT NULL DEFAULT '/v1/images/generations',
        default_model TEXT,
        default_response_format TEXT,
        api_key TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    // Failed unlock attempts per client IP: a sliding window that survives restarts.
    "CREATE TABLE access_failures (
        client_ip TEXT PRIMARY KEY NOT NULL,
        failure_count INTEGER NOT NULL,
        first_failed_at TEXT NOT NULL,
        last_failed_at TEXT NOT NULL
    )",
    "CREATE INDEX idx_access_failures_last_failed ON access_failures (last_failed_at, client_ip)",
    // One public job (generation or edit) of n units.
    "CREATE TABLE generate_jobs (
        id TEXT PRIMARY KEY NOT NULL,
        operation TEXT NOT NULL CHECK (operation IN ('generation', 'edit')),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'success', 'partial_failure', 'error',
            'upstream_error', 'cancelled', 'interrupted')),
        stage TEXT,
        message TEXT,
        error TEXT,
        prompt TEXT NOT NULL,
        size TEXT NOT NULL,
        model TEXT,
        quality TEXT,
        output_format TEXT,
        output_compression INTEGER,
        response_format TEXT,
        n INTEGER NOT NULL CHECK (n BETWEEN 1 AND 10),
        api_path TEXT NOT NULL,
        api_preset_id TEXT,
        api_preset_name TEXT,
        webhook_url TEXT,
        client_ip TEXT,
        completed_count INTEGER NOT NULL DEFAULT 0,
        success_count INTEGER NOT NULL DEFAULT 0,
        failure_count INTEGER NOT NULL DEFAULT 0,
        duration_seconds REAL,
        stage_timings TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX idx_generate_jobs_status_updated ON generate_jobs (status, updated_at DESC)",
    "CREATE INDEX idx_generate_jobs_updated ON generate_jobs (updated_at DESC, id DESC)",
    // One upstream call producing one image; a job has units 0..n-1.
    "CREATE TABLE job_units (
        job_id TEXT NOT NULL REFERENCES generate_jobs (id) ON DELETE CASCADE,
        unit_index INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'success', 'error', 'upstream_error',
            'cancelled', 'interrupted')),
        stage TEXT,
        message TEXT,
        error TEXT,
        image_id TEXT,
        image_filename TEXT,
        image_width INTEGER,
        image_height INTEGER,
        stage_timings TEXT NOT NULL DEFAULT '{}',
        duration_seconds REAL,
        started_at TEXT,
        completed_at TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (job_id, unit_index)
    )",
    "CREATE INDEX idx_job_units_status ON job_units (status)",
    // Edit uploads staged on disk until their job ends; bytes count against MAX_PENDING_EDIT_SOURCE_MB.
    "CREATE TABLE edit_sources (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL REFERENCES generate_jobs (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        stored_name TEXT NOT NULL,
        original_name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        released_at TEXT,
        UNIQUE (job_id, position)
    )",
    "CREATE INDEX idx_edit_sources_pending ON edit_sources (released_at) WHERE released_at IS NULL",
    // The gallery. `sort_seq` is the rowid and the list order (never reused), so prompt-search hits
    // from the FTS index come back already in list order.
    "CREATE TABLE gallery_entries (
        sort_seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        prompt TEXT NOT NULL,
        size TEXT NOT NULL,
        filename TEXT NOT NULL,
        thumbnail_filename TEXT,
        image_width INTEGER,
        image_height INTEGER,
        model TEXT,
        quality TEXT,
        output_format TEXT,
        output_compression INTEGER,
        response_format TEXT,
        n INTEGER,
        api_path TEXT,
        api_preset_name TEXT,
        duration_seconds REAL,
        favorite INTEGER NOT NULL DEFAULT 0 CHECK (favorite IN (0, 1)),
        bytes INTEGER,
        sha256 TEXT,
        job_id TEXT,
        created_at TEXT NOT NULL,
        completed_at TEXT
    )",
    "CREATE INDEX idx_gallery_entries_filename ON gallery_entries (filename)",
    "CREATE INDEX idx_gallery_entries_sha256 ON gallery_entries (sha256) WHERE sha256 IS NOT NULL",
    "CREATE INDEX idx_gallery_entries_favorite_seq ON gallery_entries (favorite, sort_seq DESC)",
    "CREATE INDEX idx_gallery_entries_model_seq ON gallery_entries (model, sort_seq DESC)",
    "CREATE INDEX idx_gallery_entries_preset_seq ON gallery_entries (api_preset_name, sort_seq DESC)",
    "CREATE INDEX idx_gallery_entries_size_seq ON gallery_entries (size, sort_seq DESC)",
    "CREATE INDEX idx_gallery_entries_created_seq ON gallery_entries (created_at DESC, sort_seq DESC)",
    // Prompt search: trigram tokens match English and Chinese substrings alike.
    "CREATE VIRTUAL TABLE gallery_entries_fts USING fts5(
        prompt, content = 'gallery_entries', content_rowid = 'rowid', tokenize = 'trigram'
    )",
    "CREATE TRIGGER gallery_entries_fts_ai AFTER INSERT ON gallery_entries BEGIN
        INSERT INTO gallery_entries_fts (rowid, prompt) VALUES (new.rowid, new.prompt);
    END",
    "CREATE TRIGGER gallery_entries_fts_ad AFTER DELETE ON gallery_entries BEGIN
        INSERT INTO gallery_entries_fts (gallery_entries_fts, rowid, prompt) VALUES ('delete', old.rowid, old.prompt);
    END",
    "CREATE TRIGGER gallery_entries_fts_au AFTER UPDATE OF prompt ON gallery_entries BEGIN
        INSERT INTO gallery_entries_fts (gallery_entries_fts, rowid, prompt) VALUES ('delete', old.rowid, old.prompt);
        INSERT INTO gallery_entries_fts (rowid, prompt) VALUES (new.rowid, new.prompt);
    END",
    // Distinct model / preset / size values with reference counts, so filter options never scan.
    "CREATE TABLE gallery_filter_options (
        kind TEXT NOT NULL CHECK (kind IN ('model', 'preset', 'size')),
        value TEXT NOT NULL,
        ref_count INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
    )",
    // Totals for the whole gallery, kept by triggers; `version` changes with every row change, so
    // cached counts know when they are stale.
    "CREATE TABLE gallery_totals (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        image_count INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 0
    )",
    "INSERT INTO gallery_totals (id, image_count, total_bytes, version) VALUES (1, 0, 0, 0)",
    "CREATE TRIGGER gallery_entries_version_au AFTER UPDATE OF favorite, prompt, created_at ON gallery_entries BEGIN
        UPDATE gallery_totals SET version = version + 1;
    END",
    // Thumbnails still to make, so a restart resumes the queue.
    "CREATE TABLE thumbnail_queue (
        filename TEXT PRIMARY KEY NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE TABLE prompt_snippets (
        id TEXT PRIMARY KEY NOT NULL,
        seq INTEGER NOT NULL UNIQUE,
        title TEXT NOT NULL,
        prompt TEXT NOT NULL,
        favorite INTEGER NOT NULL DEFAULT 0 CHECK (favorite IN (0, 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX idx_prompt_snippets_order ON prompt_snippets (favorite DESC, updated_at DESC, seq DESC)",
    // Long-running gallery work: ZIP exports (tracked and direct), imports and R2 syncs.
    "CREATE TABLE gallery_jobs (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('export', 'export_direct', 'import', 'sync')),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled',
            'interrupted', 'expired')),
        stage TEXT,
        message TEXT,
        progress INTEGER NOT NULL DEFAULT 0,
        filename TEXT,
        requested_count INTEGER NOT NULL DEFAULT 0,
        processed_count INTEGER NOT NULL DEFAULT 0,
        exported_count INTEGER NOT NULL DEFAULT 0,
        missing_count INTEGER NOT NULL DEFAULT 0,
        total_count INTEGER NOT NULL DEFAULT 0,
        compared_count INTEGER NOT NULL DEFAULT 0,
        uploaded_count INTEGER NOT NULL DEFAULT 0,
        pending_upload_count INTEGER NOT NULL DEFAULT 0,
        skipped_existing_count INTEGER NOT NULL DEFAULT 0,
        missing_local_count INTEGER NOT NULL DEFAULT 0,
        imported_count INTEGER NOT NULL DEFAULT 0,
        duplicate_count INTEGER NOT NULL DEFAULT 0,
        failed_count INTEGER NOT NULL DEFAULT 0,
        bytes_total INTEGER NOT NULL DEFAULT 0,
        bytes_written INTEGER NOT NULL DEFAULT 0,
        bytes_uploaded INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        expires_at TEXT,
        updated_at TEXT NOT NULL
    )",
    "CREATE INDEX idx_gallery_jobs_kind_status ON gallery_jobs (kind, status, updated_at DESC)",
    // What the R2 backup already holds, by local filename.
    "CREATE TABLE r2_sync_state (
        filename TEXT PRIMARY KEY NOT NULL,
        object_key TEXT NOT NULL,
        sha256 TEXT,
        bytes INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        last_remote_seen_at TEXT,
        synced_at TEXT NOT NULL
    )",
    "CREATE INDEX idx_r2_sync_state_key ON r2_sync_state (object_key)",
];

/// Filter-option reference counts for a row that appears (`new`) or disappears (`old`); shared by the
/// insert, delete and update triggers so the three can never disagree.
const COUNT_NEW_OPTIONS: &str = "\
        INSERT INTO gallery_filter_options (kind, value, ref_count)
            SELECT 'model', new.model, 1 WHERE new.model IS NOT NULL AND new.model <> ''
            ON CONFLICT (kind, value) DO UPDATE SET ref_count = ref_count + 1;
        INSERT INTO gallery_filter_options (kind, value, ref_count)
            SELECT 'preset', new.api_preset_name, 1 WHERE new.api_preset_name IS NOT NULL AND new.api_preset_name <> ''
            ON CONFLICT (kind, value) DO UPDATE SET ref_count = ref_count + 1;
        INSERT INTO gallery_filter_options (kind, value, ref_count)
            SELECT 'size', new.size, 1 WHERE new.size <> ''
            ON CONFLICT (kind, value) DO UPDATE SET ref_count = ref_count + 1;
";
const UNCOUNT_OLD_OPTIONS: &str = "\
        UPDATE gallery_filter_options SET ref_count = ref_count - 1
            WHERE (kind = 'model' AND value = old.model) OR (kind = 'preset' AND value = old.api_preset_name)
               OR (kind = 'size' AND value = old.size);
        DELETE FROM gallery_filter_options WHERE ref_count <= 0;
";

/// Triggers that keep `gallery_totals` and `gallery_filter_options` in step with `gallery_entries`.
fn count_triggers() -> Vec<String> {
    let fill = |sql: &str| {
        sql.replace("{COUNT_NEW_OPTIONS}", COUNT_NEW_OPTIONS).replace("{UNCOUNT_OLD_OPTIONS}", UNCOUNT_OLD_OPTIONS)
    };
    [
        "CREATE TRIGGER gallery_entries_counts_ai AFTER INSERT ON gallery_entries BEGIN
        UPDATE gallery_totals SET image_count = image_count + 1, total_bytes = total_bytes + COALESCE(new.bytes, 0),
            version = version + 1;
{COUNT_NEW_OPTIONS}    END",
        "CREATE TRIGGER gallery_entries_counts_ad AFTER DELETE ON gallery_entries BEGIN
        UPDATE gallery_totals SET image_count = image_count - 1, total_bytes = total_bytes - COALESCE(old.bytes, 0),
            version = version + 1;
{UNCOUNT_OLD_OPTIONS}    END",
        "CREATE TRIGGER gallery_entries_counts_au AFTER UPDATE OF bytes, model, api_preset_name, size ON gallery_entries BEGIN
        UPDATE gallery_totals SET total_bytes = total_bytes - COALESCE(old.bytes, 0) + COALESCE(new.bytes, 0),
            version = version + 1;
{UNCOUNT_OLD_OPTIONS}{COUNT_NEW_OPTIONS}    END",
    ]
    .iter()
    .map(|sql| fill(sql))
    .collect()
}

const DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS r2_sync_state",
    "DROP TABLE IF EXISTS gallery_jobs",
    "DROP TABLE IF EXISTS prompt_snippets",
    "DROP TABLE IF EXISTS thumbnail_queue",
    "DROP TRIGGER IF EXISTS gallery_entries_counts_au",
    "DROP TRIGGER IF EXISTS gallery_entries_counts_ad",
    "DROP TRIGGER IF EXISTS gallery_entries_counts_ai",
    "DROP TRIGGER IF EXISTS gallery_entries_version_au",
    "DROP TABLE IF EXISTS gallery_totals",
    "DROP TABLE IF EXISTS gallery_filter_options",
    "DROP TRIGGER IF EXISTS gallery_entries_fts_au",
    "DROP TRIGGER IF EXISTS gallery_entries_fts_ad",
    "DROP TRIGGER IF EXISTS gallery_entries_fts_ai",
    "DROP TABLE IF EXISTS gallery_entries_fts",
    "DROP TABLE IF EXISTS gallery_entries",
    "DROP TABLE IF EXISTS edit_sources",
    "DROP TABLE IF EXISTS job_units",
    "DROP TABLE IF EXISTS generate_jobs",
    "DROP TABLE IF EXISTS access_failures",
    "DROP TABLE IF EXISTS api_presets",
    "DROP TABLE IF EXISTS settings_kv",
    "DROP TABLE IF EXISTS settings_env_values",
    "DROP TABLE IF EXISTS settings_overrides",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in UP {
            db.execute_unprepared(statement).await?;
        }
        for statement in count_triggers() {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for statement in DOWN {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
