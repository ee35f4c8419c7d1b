//! Imported gallery rows: which hashes, names and ids are already taken, and the one transaction that
//! stores an import's rows (with their thumbnail requests) at the top of the gallery in archive order.

use std::collections::HashSet;

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue, ConnectionTrait, DatabaseConnection, QuerySelect};

use super::StoreResult;
use super::gallery::{GalleryRow, entry};

/// SQLite's bound-variable budget per statement leaves room for this many values in an `IN (…)`.
const IN_CHUNK: usize = 500;
/// Rows per multi-row INSERT (23 columns each).
const INSERT_CHUNK: usize = 200;

/// Which of `hashes` some gallery row already has.
pub async fn taken_hashes(db: &DatabaseConnection, hashes: &[String]) -> StoreResult<HashSet<String>> {
    let mut taken = HashSet::new();
    for chunk in hashes.chunks(IN_CHUNK) {
        let found: Vec<Option<String>> = entry::Entity::find()
            .select_only()
            .column(entry::Column::Sha256)
            .filter(entry::Column::Sha256.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(found.into_iter().flatten());
    }
    Ok(taken)
}

/// Which of `names` some gallery row already uses.
pub async fn taken_filenames(db: &impl ConnectionTrait, names: &[String]) -> StoreResult<HashSet<String>> {
    let mut taken = HashSet::new();
    for chunk in names.chunks(IN_CHUNK) {
        let found: Vec<String> = entry::Entity::find()
            .select_only()
            .column(entry::Column::Filename)
            .filter(entry::Column::Filename.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(found);
    }
    Ok(taken)
}

async fn taken_ids(db: &impl ConnectionTrait, ids: &[String]) -> StoreResult<HashSet<String>> {
    let mut taken = HashSet::new();
    for chunk in ids.chunks(IN_CHUNK) {
        let found: Vec<String> = entry::Entity::find()
            .select_only()
            .column(entry::Column::Id)
            .filter(entry::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(found);
    }
    Ok(taken)
}

/// Stores one row per id (archive order: the first ends up newest) in one transaction, with a
/// thumbnail request each; `row_at(i, id)` builds the `i`th row, a chunk at a time. An id some row
/// already has gets a fresh one.
pub async fn insert_imported(
    db: &DatabaseConnection,
    mut ids: Vec<String>,
    row_at: impl Fn(usize, String) -> GalleryRow,
) -> StoreResult<()> {
    let txn = super::begin_write(db).await?;
    let taken = taken_ids(&txn, &ids).await?;
    let mut seen = HashSet::new();
    for id in &mut ids {
        if taken.contains(id) || !seen.insert(id.clone()) {
            *id = uuid::Uuid::new_v4().to_string();
        }
    }
    drop(seen);
    // Positions above every row that exists or ever existed (AUTOINCREMENT never reuses them).
    let top = txn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Sqlite,
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'gallery_entries'), 0), \
             COALESCE((SELECT MAX(sort_seq) FROM gallery_entries), 0))",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<i64>(0).ok())
        .unwrap_or(0);
    let count = ids.len() as i64;
    let now = super::time::to_db(chrono::Utc::now());
    for (chunk_at, chunk) in ids.chunks(INSERT_CHUNK).enumerate() {
        let first = chunk_at * INSERT_CHUNK;
        let rows: Vec<GalleryRow> = chunk
            .iter()
            .enumerate()
            .map(|(offset, id)| {
                let mut row = row_at(first + offset, id.clone());
                row.sort_seq = top + count - (first + offset) as i64;
                row
            })
            .collect();
        let models = rows.iter().map(|row| {
            let mut model = entry::ActiveModel::from(row.clone());
            model.sort_seq = ActiveValue::Set(row.sort_seq);
            model
        });
        entry::Entity::insert_many(models).exec_without_returning(&txn).await?;
        let placeholders = vec!["(?, 0, ?, ?)"; rows.len()].join(", ");
        let sql = format!(
            "INSERT INTO thumbnail_queue (filename, attempts, created_at, updated_at) VALUES {placeholders} \
             ON CONFLICT (filename) DO UPDATE SET updated_at = excluded.updated_at"
        );
        let values = rows
            .iter()
            .flat_map(|row| [row.filename.clone().into(), now.clone().into(), now.clone().into()])
            .collect::<Vec<sea_orm::Value>>();
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)).await?;
    }
    txn.commit().await?;
    Ok(())
}
