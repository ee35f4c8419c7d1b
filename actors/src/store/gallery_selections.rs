//! Batch selections: a token standing for gallery filters for a short while. A batch call with the
//! token re-evaluates the filters then; it is not a list of ids.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use super::StoreResult;
use super::gallery::GalleryFilter;

fn statement(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(sea_orm::DbBackend::Sqlite, sql, values)
}

/// Stores a selection, first removing those that expired.
pub async fn create(
    db: &DatabaseConnection,
    token: &str,
    filter: &GalleryFilter,
    count: u64,
    now: &str,
    expires_at: &str,
) -> StoreResult<()> {
    db.execute_raw(statement("DELETE FROM gallery_selections WHERE expires_at <= ?", vec![now.into()])).await?;
    let filters = serde_json::to_string(filter).expect("filters serialise");
    db.execute_raw(statement(
        "INSERT INTO gallery_selections (token, filters, match_count, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        vec![token.into(), filters.into(), (count as i64).into(), now.into(), expires_at.into()],
    ))
    .await?;
    Ok(())
}

/// What a token stands for.
pub enum Lookup {
    Found(GalleryFilter),
    Expired,
    Unknown,
}

/// The filters behind `token`; an expired token is removed.
pub async fn resolve(db: &DatabaseConnection, token: &str, now: &str) -> StoreResult<Lookup> {
    let row = db
        .query_one_raw(statement(
            "SELECT filters, expires_at FROM gallery_selections WHERE token = ?",
            vec![token.into()],
        ))
        .await?;
    let Some(row) = row else { return Ok(Lookup::Unknown) };
    let filters: String = row.try_get_by_index(0)?;
    let expires_at: String = row.try_get_by_index(1)?;
    if expires_at.as_str() <= now {
        db.execute_raw(statement("DELETE FROM gallery_selections WHERE token = ?", vec![token.into()])).await?;
        return Ok(Lookup::Expired);
    }
    Ok(serde_json::from_str(&filters).map(Lookup::Found).unwrap_or(Lookup::Unknown))
}
