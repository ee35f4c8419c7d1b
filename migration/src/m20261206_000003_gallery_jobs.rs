//! Gallery jobs (exports, imports, syncs) with the statuses clients see (`queued`, `running`,
//! `success`, `error`), and selection tokens for batch actions. The first schema's `gallery_jobs` was
//! never written to, so it is replaced rather than altered.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000003_gallery_jobs"
    }
}

const UP: &[&str] = &[
    "DROP INDEX IF EXISTS idx_gallery_jobs_kind_status",
    "DROP TABLE IF EXISTS gallery_jobs",
    "CREATE TABLE gallery_jobs (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('export', 'export_direct', 'import', 'sync')),
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'success', 'error')),
        stage TEXT NOT NULL,
        message TEXT NOT NULL,
        progress INTEGER NOT NULL DEFAULT 0,
        filename TEXT,
        requested_count INTEGER NOT NULL DEFAULT 0,
        processed_count INTEGER NOT NULL DEFAULT 0,
        exported_count INTEGER NOT NULL DEFAULT 0,
        missing_count INTEGER NOT NULL DEFAULT 0,
        imported_count INTEGER NOT NULL DEFAULT 0,
        skipped_count INTEGER NOT NULL DEFAULT 0,
        duplicate_count INTEGER NOT NULL DEFAULT 0,
        bytes_total INTEGER NOT NULL DEFAULT 0,
        bytes_written INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT
    )",
    "CREATE INDEX idx_gallery_jobs_kind_status ON gallery_jobs (kind, status)",
    // Batch selections remember filters, not ids: a later batch call re-evaluates them.
    "CREATE TABLE gallery_selections (
        token TEXT PRIMARY KEY NOT NULL,
        filters TEXT NOT NULL,
        match_count INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One batch, so one pooled connection runs the drop and the create in order.
        manager.get_connection().execute_unprepared(&UP.join(";\n")).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TABLE IF EXISTS gallery_selections; DROP TABLE IF EXISTS gallery_jobs")
            .await?;
        Ok(())
    }
}
