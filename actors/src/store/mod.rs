//! The SQLite store: opening the database with the right pragmas and permissions, and the queries of
//! each aggregate. The only place that writes SQL.

pub mod access_failures;
pub mod gallery;
pub mod gallery_import;
pub mod gallery_jobs;
pub mod gallery_selections;
pub mod jobs;
pub mod presets;
pub mod r2_sync_state;
pub mod settings_overrides;
pub mod snippets;
pub mod time;

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("cannot prepare {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Starts a write transaction that takes SQLite's write lock at BEGIN (`BEGIN IMMEDIATE`). A deferred
/// transaction that reads first and writes later fails at once with SQLITE_BUSY when another
/// connection wrote in between, without waiting out the busy timeout; this one waits its turn instead.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options =
        TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
    db.begin_with_options(options).await
}

/// Opens (creating if needed) the database, tightens permissions and runs pending migrations.
pub async fn open(data_dir: &Path, database_file: &Path) -> StoreResult<DatabaseConnection> {
    private_dir(data_dir)?;
    if let Some(parent) = database_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        private_dir(parent)?;
    }
    private_file(database_file)?;
    let url = format!("sqlite://{}?mode=rwc", database_file.display());
    let mut options = ConnectOptions::new(url);
    options.max_connections(8).min_connections(1).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .create_if_missing(true)
            .pragma("temp_store", "memory")
    });
    let db = Database::connect(options).await?;
    Migrator::up(&db, None).await?;
    // SQLite creates the WAL and shared-memory files itself; keep them as private as the database.
    for suffix in ["-wal", "-shm", "-journal"] {
        let sidecar = database_file.with_file_name(format!(
            "{}{suffix}",
            database_file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        ));
        if sidecar.exists() {
            set_mode(&sidecar, 0o600)?;
        }
    }
    Ok(db)
}

/// Creates `dir` (and parents) and makes it readable by the owner only.
pub fn private_dir(dir: &Path) -> StoreResult<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| io_error(dir, e))?;
    set_mode(dir, 0o700)
}

/// Creates `file` if missing and makes it readable by the owner only.
pub fn private_file(file: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(file).map_err(|e| io_error(file, e))?;
    set_mode(file, 0o600)
}

fn set_mode(path: &Path, mode: u32) -> StoreResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io { path: path.display().to_string(), source }
}
