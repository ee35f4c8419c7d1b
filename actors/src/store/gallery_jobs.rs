//! Gallery jobs: ZIP exports (tracked and direct), imports and R2 syncs. The actor that runs a job
//! keeps it in memory and saves it here at every stage change and on a throttle, so its status
//! survives a restart.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, IntoActiveModel, QueryOrder};

use super::StoreResult;

pub mod job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "gallery_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `export`, `export_direct`, `import` or `sync`.
        pub kind: String,
        /// `queued`, `running`, `success` or `error`.
        pub status: String,
        pub stage: String,
        pub message: String,
        pub progress: i64,
        pub filename: Option<String>,
        pub requested_count: i64,
        pub processed_count: i64,
        pub exported_count: i64,
        pub missing_count: i64,
        pub imported_count: i64,
        pub skipped_count: i64,
        pub duplicate_count: i64,
        pub bytes_total: i64,
        pub bytes_written: i64,
        /// What the job works on (ids, filters, …), as JSON.
        pub payload: String,
        pub error: Option<String>,
        pub created_at: String,
        pub updated_at: String,
        pub expires_at: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use job::Model as GalleryJob;

impl GalleryJob {
    /// A job that has just been created: no progress, no counts.
    pub fn created(
        id: String,
        kind: &str,
        status: &str,
        message: &str,
        filename: Option<String>,
        requested: u64,
    ) -> Self {
        let now = super::time::to_db(chrono::Utc::now());
        GalleryJob {
            id,
            kind: kind.into(),
            status: status.into(),
            stage: "queued".into(),
            message: message.into(),
            progress: 0,
            filename,
            requested_count: requested as i64,
            processed_count: 0,
            exported_count: 0,
            missing_count: 0,
            imported_count: 0,
            skipped_count: 0,
            duplicate_count: 0,
            bytes_total: 0,
            bytes_written: 0,
            payload: "{}".into(),
            error: None,
            created_at: now.clone(),
            updated_at: now,
            expires_at: None,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "success" | "error")
    }
}

/// Inserts or replaces the whole row.
pub async fn save(db: &impl ConnectionTrait, row: &GalleryJob) -> StoreResult<()> {
    let columns = [
        job::Column::Status,
        job::Column::Stage,
        job::Column::Message,
        job::Column::Progress,
        job::Column::Filename,
        job::Column::RequestedCount,
        job::Column::ProcessedCount,
        job::Column::ExportedCount,
        job::Column::MissingCount,
        job::Column::ImportedCount,
        job::Column::SkippedCount,
        job::Column::DuplicateCount,
        job::Column::BytesTotal,
        job::Column::BytesWritten,
        job::Column::Payload,
        job::Column::Error,
        job::Column::UpdatedAt,
        job::Column::ExpiresAt,
    ];
    let on_conflict = OnConflict::column(job::Column::Id).update_columns(columns).to_owned();
    job::Entity::insert(row.clone().into_active_model()).on_conflict(on_conflict).exec(db).await?;
    Ok(())
}

pub async fn get(db: &DatabaseConnection, id: &str) -> StoreResult<Option<GalleryJob>> {
    Ok(job::Entity::find_by_id(id).one(db).await?)
}

pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<()> {
    job::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Jobs of `kinds` that have not ended, oldest first.
pub async fn unfinished(db: &DatabaseConnection, kinds: &[&str]) -> StoreResult<Vec<GalleryJob>> {
    Ok(job::Entity::find()
        .filter(job::Column::Kind.is_in(kinds.iter().copied()))
        .filter(job::Column::Status.is_in(["queued", "running"]))
        .order_by_asc(job::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Ended jobs of `kind` whose `expires_at` is before `now`.
pub async fn expired(db: &DatabaseConnection, kind: &str, now: &str) -> StoreResult<Vec<GalleryJob>> {
    Ok(job::Entity::find().filter(job::Column::Kind.eq(kind)).filter(job::Column::ExpiresAt.lt(now)).all(db).await?)
}

/// Every job of `kind` (startup clean-up of files nobody references).
pub async fn all_of(db: &DatabaseConnection, kind: &str) -> StoreResult<Vec<GalleryJob>> {
    Ok(job::Entity::find().filter(job::Column::Kind.eq(kind)).all(db).await?)
}
