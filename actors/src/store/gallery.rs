//! Gallery rows: every generated or imported image. Written here; listed by the gallery routes.

use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, QuerySelect};

use super::StoreResult;

pub mod entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "gallery_entries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub sort_seq: i64,
        #[sea_orm(unique)]
        pub id: String,
        pub prompt: String,
        pub size: String,
        pub filename: String,
        pub thumbnail_filename: Option<String>,
        pub image_width: Option<i64>,
        pub image_height: Option<i64>,
        pub model: Option<String>,
        pub quality: Option<String>,
        pub output_format: Option<String>,
        pub output_compression: Option<i64>,
        pub response_format: Option<String>,
        pub n: Option<i64>,
        pub api_path: Option<String>,
        pub api_preset_name: Option<String>,
        pub duration_seconds: Option<f64>,
        pub favorite: bool,
        pub bytes: Option<i64>,
        pub sha256: Option<String>,
        pub job_id: Option<String>,
        pub created_at: String,
        pub completed_at: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use entry::Model as GalleryRow;

/// Inserts a row at the top of the gallery order (the database assigns its `sort_seq`).
pub async fn insert(db: &impl sea_orm::ConnectionTrait, row: GalleryRow) -> StoreResult<GalleryRow> {
    let mut model = entry::ActiveModel::from(row);
    model.sort_seq = sea_orm::ActiveValue::NotSet;
    Ok(model.insert(db).await?)
}

pub async fn get(db: &DatabaseConnection, id: &str) -> StoreResult<Option<GalleryRow>> {
    Ok(entry::Entity::find().filter(entry::Column::Id.eq(id)).one(db).await?)
}

/// Changes whenever any gallery row does (kept by triggers).
pub async fn version(db: &DatabaseConnection) -> StoreResult<i64> {
    let row = db.query_one_raw(statement("SELECT version FROM gallery_totals WHERE id = 1".into(), Vec::new())).await?;
    Ok(row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0))
}

/// Sets the parent job's `n` on rows its units created.
pub async fn set_job_n(db: &impl sea_orm::ConnectionTrait, job_id: &str, n: i64) -> StoreResult<()> {
    entry::Entity::update_many()
        .col_expr(entry::Column::N, sea_orm::sea_query::Expr::value(n))
        .filter(entry::Column::JobId.eq(job_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Filters of a gallery listing; `None` means "no filter".
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GalleryFilter {
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub preset: Option<String>,
    pub size: Option<String>,
    /// Stored-form UTC bounds (inclusive).
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub favorite: Option<bool>,
}

impl GalleryFilter {
    pub fn is_empty(&self) -> bool {
        self.prompt.is_none()
            && self.model.is_none()
            && self.preset.is_none()
            && self.size.is_none()
            && self.created_from.is_none()
            && self.created_to.is_none()
            && self.favorite.is_none()
    }

    /// `WHERE` text and its values. Prompts of 3+ characters use the trigram FTS index (a substring
    /// match in any script); shorter ones a LIKE with `%`, `_`, `\` taken literally.
    fn clause(&self) -> (String, Vec<sea_orm::Value>) {
        let mut parts: Vec<&str> = Vec::new();
        let mut values: Vec<sea_orm::Value> = Vec::new();
        // SQLite's FTS5 query parser and LIKE read text up to a NUL, so a NUL is no part of a search.
        let prompt = self.prompt.as_deref().map(|p| p.replace('\0', "")).filter(|p| !p.is_empty());
        if let Some(prompt) = &prompt {
            if prompt.chars().count() >= 3 {
                parts.push("rowid IN (SELECT rowid FROM gallery_entries_fts WHERE gallery_entries_fts MATCH ?)");
                values.push(format!("\"{}\"", prompt.replace('"', "\"\"")).into());
            } else {
                parts.push("prompt LIKE ? ESCAPE '\\'");
                let escaped = prompt.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                values.push(format!("%{escaped}%").into());
            }
        }
        for (column, value) in [("model", &self.model), ("api_preset_name", &self.preset), ("size", &self.size)] {
            if let Some(value) = value {
                parts.push(match column {
                    "model" => "model = ?",
                    "api_preset_name" => "api_preset_name = ?",
                    _ => "size = ?",
                });
                values.push(value.clone().into());
            }
        }
        if let Some(from) = &self.created_from {
            parts.push("created_at >= ?");
            values.push(from.clone().into());
        }
        if let Some(to) = &self.created_to {
            parts.push("created_at <= ?");
            values.push(to.clone().into());
        }
        if let Some(favorite) = self.favorite {
            parts.push("favorite = ?");
            values.push(i64::from(favorite).into());
        }
        let clause = if parts.is_empty() { "1 = 1".to_string() } else { parts.join(" AND ") };
        (clause, values)
    }
}

/// Where a page starts.
#[derive(Debug, Clone)]
pub enum PageStart {
    Offset(u64),
    /// Rows from this `sort_seq` on, in list order (a deep page whose first row is known).
    From(i64),
    /// Rows after (`next`) or before (`prev`) this `(sort_seq, id)` in list order.
    After(i64, String),
    Before(i64, String),
}

pub struct GalleryPage {
    pub rows: Vec<GalleryRow>,
    /// Whether one more row exists past the page in its direction.
    pub more: bool,
}

fn statement(sql: String, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    sea_orm::Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)
}

/// One page of rows, newest first.
pub async fn page(
    db: &DatabaseConnection,
    filter: &GalleryFilter,
    start: &PageStart,
    size: u64,
) -> StoreResult<GalleryPage> {
    let (clause, mut values) = filter.clause();
    let (extra, order, offset) = match start {
        PageStart::Offset(offset) if *offset > 0 => {
            // A deep page: find its first row by skipping index entries, then read it by keyset.
            let Some(first) = seq_at(db, filter, *offset).await? else {
                return Ok(GalleryPage { rows: Vec::new(), more: false });
            };
            values.push(first.into());
            (" AND sort_seq <= ?".to_string(), "DESC", 0)
        }
        PageStart::From(first) => {
            values.push((*first).into());
            (" AND sort_seq <= ?".to_string(), "DESC", 0)
        }
        PageStart::Offset(offset) => (String::new(), "DESC", *offset),
        PageStart::After(seq, id) => {
            values.extend([(*seq).into(), (*seq).into(), id.clone().into()]);
            (" AND (sort_seq < ? OR (sort_seq = ? AND id < ?))".to_string(), "DESC", 0)
        }
        PageStart::Before(seq, id) => {
            values.extend([(*seq).into(), (*seq).into(), id.clone().into()]);
            (" AND (sort_seq > ? OR (sort_seq = ? AND id > ?))".to_string(), "ASC", 0)
        }
    };
    values.extend([((size + 1) as i64).into(), (offset as i64).into()]);
    let sql = format!(
        "SELECT * FROM gallery_entries WHERE {clause}{extra} ORDER BY sort_seq {order}, id {order} LIMIT ? OFFSET ?"
    );
    let mut rows = GalleryRow::find_by_statement(statement(sql, values)).all(db).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if matches!(start, PageStart::Before(..)) {
        rows.reverse();
    }
    Ok(GalleryPage { rows, more })
}

/// The `sort_seq` of the matching row at `offset` in list order. Only `sort_seq` (the rowid) is read,
/// so SQLite skips through an index (the narrow one when there is no filter, a filter's own
/// `(column, sort_seq)` index otherwise) instead of whole rows.
pub async fn seq_at(db: &DatabaseConnection, filter: &GalleryFilter, offset: u64) -> StoreResult<Option<i64>> {
    let (clause, mut values) = filter.clause();
    let index = if filter.is_empty() { " INDEXED BY idx_gallery_entries_seq" } else { "" };
    values.push((offset as i64).into());
    let sql =
        format!("SELECT sort_seq FROM gallery_entries{index} WHERE {clause} ORDER BY sort_seq DESC LIMIT 1 OFFSET ?");
    let row = db.query_one_raw(statement(sql, values)).await?;
    Ok(row.and_then(|r| r.try_get_by_index::<i64>(0).ok()))
}

/// Whether any matching row comes before (`newer = true`) or after `(seq, id)` in list order.
pub async fn exists_beyond(
    db: &DatabaseConnection,
    filter: &GalleryFilter,
    seq: i64,
    id: &str,
    newer: bool,
) -> StoreResult<bool> {
    let (clause, mut values) = filter.clause();
    values.extend([seq.into(), seq.into(), id.to_string().into()]);
    let comparison = if newer {
        "(sort_seq > ? OR (sort_seq = ? AND id > ?))"
    } else {
        "(sort_seq < ? OR (sort_seq = ? AND id < ?))"
    };
    let sql = format!("SELECT EXISTS (SELECT 1 FROM gallery_entries WHERE {clause} AND {comparison}) AS found");
    let row = db.query_one_raw(statement(sql, values)).await?;
    Ok(row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0) == 1)
}

/// Matching rows; the whole gallery's count comes from the trigger-kept totals.
pub async fn count(db: &DatabaseConnection, filter: &GalleryFilter) -> StoreResult<u64> {
    let (sql, values) = if filter.is_empty() {
        ("SELECT image_count FROM gallery_totals WHERE id = 1".to_string(), Vec::new())
    } else {
        let (clause, values) = filter.clause();
        (format!("SELECT COUNT(*) FROM gallery_entries WHERE {clause}"), values)
    };
    let row = db.query_one_raw(statement(sql, values)).await?;
    Ok(row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0).max(0) as u64)
}

/// Bytes of the matching images' files (a file shared by rows counts once).
pub async fn total_bytes(db: &DatabaseConnection, filter: &GalleryFilter) -> StoreResult<u64> {
    let (sql, values) = if filter.is_empty() {
        ("SELECT total_bytes FROM gallery_totals WHERE id = 1".to_string(), Vec::new())
    } else {
        let (clause, values) = filter.clause();
        (
            format!(
                "SELECT COALESCE(SUM(b), 0) FROM (SELECT MAX(bytes) AS b FROM gallery_entries WHERE {clause} GROUP BY filename)"
            ),
            values,
        )
    };
    let row = db.query_one_raw(statement(sql, values)).await?;
    Ok(row.and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0).max(0) as u64)
}

/// Every model, preset name and size in the gallery, case-insensitively sorted.
pub async fn filter_options(db: &DatabaseConnection) -> StoreResult<(Vec<String>, Vec<String>, Vec<String>)> {
    let sql =
        "SELECT kind, value FROM gallery_filter_options WHERE ref_count > 0 ORDER BY LOWER(value), value".to_string();
    let rows = db.query_all_raw(statement(sql, Vec::new())).await?;
    let (mut models, mut presets, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let (Ok(kind), Ok(value)) = (row.try_get_by_index::<String>(0), row.try_get_by_index::<String>(1)) else {
            continue;
        };
        match kind.as_str() {
            "model" => models.push(value),
            "preset" => presets.push(value),
            _ => sizes.push(value),
        }
    }
    Ok((models, presets, sizes))
}

pub async fn set_favorite(db: &DatabaseConnection, id: &str, favorite: bool) -> StoreResult<Option<GalleryRow>> {
    entry::Entity::update_many()
        .col_expr(entry::Column::Favorite, sea_orm::sea_query::Expr::value(favorite))
        .filter(entry::Column::Id.eq(id))
        .exec(db)
        .await?;
    get(db, id).await
}

/// Deletes a row; returns its filename when no other row still uses the file.
pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<Option<(GalleryRow, bool)>> {
    let txn = super::begin_write(db).await?;
    let Some(row) = entry::Entity::find().filter(entry::Column::Id.eq(id)).one(&txn).await? else { return Ok(None) };
    entry::Entity::delete_many().filter(entry::Column::Id.eq(id)).exec(&txn).await?;
    let still_used =
        entry::Entity::find().filter(entry::Column::Filename.eq(row.filename.clone())).count(&txn).await? > 0;
    if !still_used {
        forget_file(&txn, &row.filename).await?;
    }
    txn.commit().await?;
    Ok(Some((row, !still_used)))
}

/// A file no row uses any more: no thumbnail to make, and the backup's record of it is dropped (a
/// file of that name that comes back is checked against the bucket again).
async fn forget_file(txn: &impl sea_orm::ConnectionTrait, filename: &str) -> StoreResult<()> {
    for table in ["thumbnail_queue", "r2_sync_state"] {
        let sql = format!("DELETE FROM {table} WHERE filename = ?");
        txn.execute_raw(statement(sql, vec![filename.to_string().into()])).await?;
    }
    Ok(())
}

/// Deletes every row; returns their distinct filenames.
pub async fn delete_all(db: &DatabaseConnection) -> StoreResult<(u64, Vec<String>)> {
    let txn = super::begin_write(db).await?;
    let filenames: Vec<String> =
        entry::Entity::find().select_only().column(entry::Column::Filename).distinct().into_tuple().all(&txn).await?;
    let deleted = entry::Entity::delete_many().exec(&txn).await?.rows_affected;
    txn.execute_unprepared("DELETE FROM thumbnail_queue").await?;
    txn.execute_unprepared("DELETE FROM r2_sync_state").await?;
    txn.commit().await?;
    Ok((deleted, filenames))
}

/// Whether any row uses `filename`.
pub async fn filename_in_use(db: &DatabaseConnection, filename: &str) -> StoreResult<bool> {
    Ok(entry::Entity::find().filter(entry::Column::Filename.eq(filename)).count(db).await? > 0)
}

/// Asks for a thumbnail to be made.
pub async fn queue_thumbnail(db: &impl sea_orm::ConnectionTrait, filename: &str) -> StoreResult<()> {
    let now = super::time::to_db(chrono::Utc::now());
    let sql = "INSERT INTO thumbnail_queue (filename, attempts, created_at, updated_at) VALUES (?, 0, ?, ?) \
               ON CONFLICT (filename) DO UPDATE SET updated_at = excluded.updated_at"
        .to_string();
    db.execute_raw(statement(sql, vec![filename.to_string().into(), now.clone().into(), now.into()])).await?;
    Ok(())
}

/// Which of `filenames` wait in the thumbnail queue.
pub async fn queued_thumbnails(
    db: &DatabaseConnection,
    filenames: &[String],
) -> StoreResult<std::collections::HashSet<String>> {
    if filenames.is_empty() {
        return Ok(Default::default());
    }
    let marks = vec!["?"; filenames.len()].join(", ");
    let sql = format!("SELECT filename FROM thumbnail_queue WHERE filename IN ({marks})");
    let values = filenames.iter().map(|f| f.clone().into()).collect();
    let rows = db.query_all_raw(statement(sql, values)).await?;
    Ok(rows.into_iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect())
}

/// Deletes the rows with these ids; returns the deleted ids and the filenames no row uses any more.
pub async fn delete_many(db: &DatabaseConnection, ids: &[String]) -> StoreResult<(Vec<String>, Vec<String>)> {
    let txn = super::begin_write(db).await?;
    let rows = entry::Entity::find().filter(entry::Column::Id.is_in(ids.to_vec())).all(&txn).await?;
    let found: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    entry::Entity::delete_many().filter(entry::Column::Id.is_in(found.clone())).exec(&txn).await?;
    let mut unused = Vec::new();
    let names: std::collections::BTreeSet<String> = rows.into_iter().map(|r| r.filename).collect();
    for name in names {
        if entry::Entity::find().filter(entry::Column::Filename.eq(name.clone())).count(&txn).await? == 0 {
            forget_file(&txn, &name).await?;
            unused.push(name);
        }
    }
    txn.commit().await?;
    Ok((found, unused))
}

/// Sets `favorite` on the rows with these ids; returns the ids found.
pub async fn favorite_many(db: &DatabaseConnection, ids: &[String], favorite: bool) -> StoreResult<Vec<String>> {
    let txn = super::begin_write(db).await?;
    let found: Vec<String> = entry::Entity::find()
        .select_only()
        .column(entry::Column::Id)
        .filter(entry::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(&txn)
        .await?;
    entry::Entity::update_many()
        .col_expr(entry::Column::Favorite, sea_orm::sea_query::Expr::value(favorite))
        .filter(entry::Column::Id.is_in(found.clone()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(found)
}

/// The rows with these ids (any order).
pub async fn rows_by_ids(db: &DatabaseConnection, ids: &[String]) -> StoreResult<Vec<GalleryRow>> {
    Ok(entry::Entity::find().filter(entry::Column::Id.is_in(ids.to_vec())).all(db).await?)
}

/// The ids of every row matching `filter`, newest first.
pub async fn ids_matching(db: &DatabaseConnection, filter: &GalleryFilter) -> StoreResult<Vec<String>> {
    let (clause, values) = filter.clause();
    let sql = format!("SELECT id FROM gallery_entries WHERE {clause} ORDER BY sort_seq DESC");
    let rows = db.query_all_raw(statement(sql, values)).await?;
    Ok(rows.into_iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()).collect())
}
