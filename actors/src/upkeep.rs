//! Storage upkeep: at start, gallery rows whose image file is gone are removed; at start and then every
//! minute, image and thumbnail files that no row references are deleted once they are older than the
//! orphan TTL (a file written just before its row is inserted is never collected, and nothing is
//! collected while an import has files waiting for their rows). Disk scans run on
//! blocking threads.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::media::thumbs::thumbnail_name;

const INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct UpkeepSettings {
    pub images_dir: PathBuf,
    pub thumbnails_dir: PathBuf,
    pub orphan_ttl: Duration,
    /// Imports writing files whose rows are not committed yet; collection waits while any run.
    pub imports_writing: Arc<AtomicUsize>,
}

pub enum UpkeepMsg {
    Collect,
}

pub struct Upkeep;

impl Actor for Upkeep {
    type Msg = UpkeepMsg;
    type State = (DatabaseConnection, UpkeepSettings);
    type Arguments = (DatabaseConnection, UpkeepSettings);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (db, settings): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        match remove_rows_without_files(&db, &settings).await {
            Ok(0) => {}
            Ok(removed) => tracing::warn!(removed, "gallery rows whose image file is gone were removed"),
            Err(err) => tracing::error!(error = %err, "gallery reconciliation failed"),
        }
        collect(&db, &settings).await;
        let me = myself.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if me.cast(UpkeepMsg::Collect).is_err() {
                    break;
                }
            }
        });
        Ok((db, settings))
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        (db, settings): &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            UpkeepMsg::Collect => collect(db, settings).await,
        }
        Ok(())
    }
}

async fn filenames(db: &DatabaseConnection) -> Result<Vec<String>, sea_orm::DbErr> {
    let sql = "SELECT DISTINCT filename FROM gallery_entries";
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    Ok(rows.into_iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect())
}

/// Removes rows whose file no longer exists; returns how many.
pub async fn remove_rows_without_files(
    db: &DatabaseConnection,
    settings: &UpkeepSettings,
) -> Result<u64, sea_orm::DbErr> {
    let names = filenames(db).await?;
    let dir = settings.images_dir.clone();
    let gone: Vec<String> =
        tokio::task::spawn_blocking(move || names.into_iter().filter(|n| !dir.join(n).is_file()).collect())
            .await
            .unwrap_or_default();
    let mut removed = 0;
    for name in gone {
        let sql = "DELETE FROM gallery_entries WHERE filename = ?";
        removed += db
            .execute_raw(Statement::from_sql_and_values(db.get_database_backend(), sql, [name.into()]))
            .await?
            .rows_affected();
    }
    Ok(removed)
}

/// Deletes unreferenced image and thumbnail files older than the TTL; returns how many.
pub async fn collect(db: &DatabaseConnection, settings: &UpkeepSettings) {
    if settings.imports_writing.load(Ordering::SeqCst) > 0 {
        tracing::debug!("orphan collection waits for a running import");
        return;
    }
    let referenced: HashSet<String> = match filenames(db).await {
        Ok(names) => names.into_iter().collect(),
        Err(err) => {
            tracing::error!(error = %err, "orphan collection skipped");
            return;
        }
    };
    let settings = settings.clone();
    let removed = tokio::task::spawn_blocking(move || sweep(&settings, &referenced)).await.unwrap_or(0);
    if removed > 0 {
        tracing::info!(removed, "orphan image files removed");
    }
}

fn old_enough(path: &Path, ttl: Duration) -> bool {
    let modified = path.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::now());
    SystemTime::now().duration_since(modified).unwrap_or_default() >= ttl
}

fn sweep(settings: &UpkeepSettings, referenced: &HashSet<String>) -> usize {
    let wanted_thumbs: HashSet<String> = referenced.iter().map(|n| thumbnail_name(n)).collect();
    let mut removed = 0;
    for (dir, keep) in [(&settings.images_dir, referenced), (&settings.thumbnails_dir, &wanted_thumbs)] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if !path.is_file() || keep.contains(&name) || !old_enough(&path, settings.orphan_ttl) {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}
