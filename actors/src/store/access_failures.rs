//! Failed unlock attempts per client IP: a sliding window that survives restarts, bounded in size.

use chrono::{DateTime, Duration, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{DatabaseConnection, QueryOrder, QuerySelect, Set};

use super::StoreResult;
use super::time::{from_db, to_db};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_ip: String,
    pub failure_count: i64,
    pub first_failed_at: String,
    pub last_failed_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// How many IPs are remembered; the oldest are forgotten first.
const MAX_TRACKED_IPS: u64 = 10_000;

/// Remaining lockout in whole seconds (at least 1), or `None` when the IP may try.
pub async fn lockout_remaining(
    db: &DatabaseConnection,
    client_ip: &str,
    max_failures: u32,
    lockout: std::time::Duration,
    now: DateTime<Utc>,
) -> StoreResult<Option<u64>> {
    let Some(row) = Entity::find_by_id(client_ip.to_string()).one(db).await? else {
        return Ok(None);
    };
    let last = from_db(&row.last_failed_at).unwrap_or(now);
    let elapsed = (now - last).to_std().unwrap_or_default();
    if row.failure_count >= i64::from(max_failures) && elapsed < lockout {
        Ok(Some(Ord::max((lockout - elapsed).as_secs(), 1)))
    } else {
        Ok(None)
    }
}

/// Records one wrong key. Rows quiet for a whole lockout period start a fresh window.
pub async fn record_failure(
    db: &DatabaseConnection,
    client_ip: &str,
    lockout: std::time::Duration,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let stale_before = now - Duration::from_std(lockout).unwrap_or(Duration::MAX);
    Entity::delete_many().filter(Column::LastFailedAt.lte(to_db(stale_before))).exec(db).await?;
    let stamp = to_db(now);
    let row = ActiveModel {
        client_ip: Set(client_ip.to_string()),
        failure_count: Set(1),
        first_failed_at: Set(stamp.clone()),
        last_failed_at: Set(stamp),
    };
    let on_conflict = OnConflict::column(Column::ClientIp)
        .value(Column::FailureCount, Expr::col(Column::FailureCount).add(1))
        .update_column(Column::LastFailedAt)
        .to_owned();
    Entity::insert(row).on_conflict(on_conflict).exec(db).await?;
    evict_oldest(db).await
}

/// A successful unlock forgets the IP's failures.
pub async fn clear(db: &DatabaseConnection, client_ip: &str) -> StoreResult<()> {
    Entity::delete_by_id(client_ip.to_string()).exec(db).await?;
    Ok(())
}

async fn evict_oldest(db: &DatabaseConnection) -> StoreResult<()> {
    let count = Entity::find().count(db).await?;
    if count <= MAX_TRACKED_IPS {
        return Ok(());
    }
    let oldest: Vec<String> = Entity::find()
        .select_only()
        .column(Column::ClientIp)
        .order_by_asc(Column::LastFailedAt)
        .order_by_asc(Column::ClientIp)
        .limit(count - MAX_TRACKED_IPS)
        .into_tuple()
        .all(db)
        .await?;
    Entity::delete_many().filter(Column::ClientIp.is_in(oldest)).exec(db).await?;
    Ok(())
}
