//! What the R2 backup already holds (`r2_sync_state`, the "remote-seen" table) and which gallery files
//! a sync compares: one candidate per unique filename, in ascending order, a page at a time.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

use super::StoreResult;

/// One gallery file a sync compares with the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCandidate {
    pub filename: String,
    /// The smallest id of the rows that use the file (sent as `gallery-id`).
    pub id: String,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
}

/// A file the bucket is known to hold, recorded after an upload or a successful check.
#[derive(Debug, Clone)]
pub struct SeenRemote {
    pub filename: String,
    pub key: String,
    pub sha256: Option<String>,
    pub bytes: i64,
    pub etag: Option<String>,
}

/// The candidates, unique by filename: the smallest id, the largest byte count, any non-empty hash.
const CANDIDATES: &str = "SELECT filename, MIN(id) AS id, MAX(bytes) AS bytes, MAX(NULLIF(sha256, '')) AS sha256 \
     FROM gallery_entries WHERE (?1 IS NULL OR filename > ?1) GROUP BY filename";

/// An incremental sync skips files the state table says are already there, unchanged, under the
/// current prefix; a full reconcile compares every file.
const CHANGED: &str = "?3 OR s.filename IS NULL \
     OR (c.sha256 IS NOT NULL AND c.sha256 IS NOT s.sha256) \
     OR (c.bytes IS NOT NULL AND c.bytes != s.bytes) \
     OR s.object_key != ?2 || c.filename";

fn candidates_sql(tail: &str) -> String {
    format!(
        "SELECT c.filename, c.id, c.bytes, c.sha256 FROM ({CANDIDATES}) c \
         LEFT JOIN r2_sync_state s ON s.filename = c.filename WHERE {CHANGED} {tail}"
    )
}

fn values(after: Option<&str>, prefix: &str, full: bool) -> Vec<Value> {
    vec![after.map(str::to_string).into(), prefix.to_string().into(), full.into()]
}

/// How many files a sync with this prefix would compare (after `after`, when resuming).
pub async fn count_candidates(
    db: &DatabaseConnection,
    prefix: &str,
    full: bool,
    after: Option<&str>,
) -> StoreResult<u64> {
    let sql = format!("SELECT COUNT(*) FROM ({})", candidates_sql(""));
    let row =
        db.query_one_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values(after, prefix, full))).await?;
    Ok(row.and_then(|row| row.try_get_by_index::<i64>(0).ok()).unwrap_or(0).max(0) as u64)
}

/// The next `limit` candidates after `after`, by filename.
pub async fn candidates(
    db: &DatabaseConnection,
    prefix: &str,
    full: bool,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<SyncCandidate>> {
    let sql = candidates_sql(&format!("ORDER BY c.filename LIMIT {limit}"));
    let rows =
        db.query_all_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values(after, prefix, full))).await?;
    rows.into_iter()
        .map(|row| {
            Ok(SyncCandidate {
                filename: row.try_get_by_index(0)?,
                id: row.try_get_by_index(1)?,
                bytes: row.try_get_by_index(2)?,
                sha256: row.try_get_by_index(3)?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}

/// Records files the bucket holds, replacing what was known about them.
pub async fn record_seen(db: &DatabaseConnection, seen: &[SeenRemote]) -> StoreResult<()> {
    let now = super::time::to_db(chrono::Utc::now());
    for chunk in seen.chunks(100) {
        let placeholders = vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO r2_sync_state (filename, object_key, sha256, bytes, etag, last_remote_seen_at, synced_at) \
             VALUES {placeholders} ON CONFLICT (filename) DO UPDATE SET object_key = excluded.object_key, \
             sha256 = excluded.sha256, bytes = excluded.bytes, etag = excluded.etag, \
             last_remote_seen_at = excluded.last_remote_seen_at, synced_at = excluded.synced_at"
        );
        let values: Vec<Value> = chunk
            .iter()
            .flat_map(|seen| {
                [
                    seen.filename.clone().into(),
                    seen.key.clone().into(),
                    seen.sha256.clone().into(),
                    seen.bytes.into(),
                    seen.etag.clone().into(),
                    now.clone().into(),
                    now.clone().into(),
                ]
            })
            .collect();
        db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await?;
    }
    Ok(())
}
