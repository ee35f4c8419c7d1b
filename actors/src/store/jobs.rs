//! Generation and edit jobs: one parent row per public job and one unit row per requested image.
//! Admission checks capacity and inserts the job in one transaction.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{Condition, DatabaseConnection, QueryOrder, QuerySelect, Set};

use super::StoreResult;
use super::time::to_db;

pub mod job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "generate_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub operation: String,
        pub status: String,
        pub stage: Option<String>,
        pub message: Option<String>,
        pub error: Option<String>,
        pub prompt: String,
        pub size: String,
        pub model: Option<String>,
        pub quality: Option<String>,
        pub output_format: Option<String>,
        pub output_compression: Option<i64>,
        pub response_format: Option<String>,
        pub n: i64,
        pub api_path: String,
        pub api_preset_id: Option<String>,
        pub api_preset_name: Option<String>,
        pub webhook_url: Option<String>,
        pub client_ip: Option<String>,
        pub completed_count: i64,
        pub success_count: i64,
        pub failure_count: i64,
        pub duration_seconds: Option<f64>,
        pub stage_timings: String,
        pub created_at: String,
        pub started_at: Option<String>,
        pub completed_at: Option<String>,
        pub updated_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod unit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "job_units")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub job_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_index: i64,
        pub status: String,
        pub stage: Option<String>,
        pub message: Option<String>,
        pub error: Option<String>,
        pub image_id: Option<String>,
        pub image_filename: Option<String>,
        pub image_width: Option<i64>,
        pub image_height: Option<i64>,
        pub stage_timings: String,
        pub duration_seconds: Option<f64>,
        pub started_at: Option<String>,
        pub completed_at: Option<String>,
        pub updated_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod source {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "edit_sources")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub job_id: String,
        pub position: i64,
        pub stored_name: String,
        pub original_name: String,
        pub content_type: String,
        pub bytes: i64,
        pub released_at: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use job::Model as JobRow;
pub use unit::Model as UnitRow;

pub const ACTIVE: [&str; 2] = ["queued", "running"];
pub const FAILED: [&str; 3] = ["partial_failure", "error", "upstream_error"];

pub fn now() -> String {
    to_db(chrono::Utc::now())
}

pub enum Admission {
    Admitted,
    /// Queued and running units plus the new ones would pass the capacity.
    Full,
    /// Staged edit sources would pass `MAX_PENDING_EDIT_SOURCE_MB`.
    SourcesFull,
}

/// A staged edit source to reserve with its job.
pub struct NewSource {
    pub stored_name: String,
    pub original_name: String,
    pub content_type: String,
    pub bytes: u64,
}

/// Inserts the job, its units and its edit-source reservation if capacity allows, atomically.
/// `max_pending_source_bytes` of `None` means no byte cap.
pub async fn admit(
    db: &DatabaseConnection,
    job: JobRow,
    capacity: u64,
    sources: Vec<NewSource>,
    max_pending_source_bytes: Option<u64>,
) -> StoreResult<Admission> {
    let txn = super::begin_write(db).await?;
    let busy = unit::Entity::find().filter(unit::Column::Status.is_in(ACTIVE)).count(&txn).await?;
    if busy + job.n as u64 > capacity {
        return Ok(Admission::Full);
    }
    let new_bytes: u64 = sources.iter().map(|s| s.bytes).sum();
    if let Some(max) = max_pending_source_bytes
        && new_bytes > 0
    {
        let pending: Option<i64> = source::Entity::find()
            .select_only()
            .column_as(Expr::col(source::Column::Bytes).sum(), "pending")
            .filter(source::Column::ReleasedAt.is_null())
            .into_tuple()
            .one(&txn)
            .await?
            .flatten();
        if pending.unwrap_or(0) as u64 + new_bytes > max {
            return Ok(Admission::SourcesFull);
        }
    }
    // Units reference their job: the job row goes first.
    job::ActiveModel::from(job.clone()).insert(&txn).await?;
    for row in queued_units(&job) {
        unit::ActiveModel::from(row).insert(&txn).await?;
    }
    for (position, new) in sources.into_iter().enumerate() {
        source::ActiveModel {
            id: sea_orm::NotSet,
            job_id: Set(job.id.clone()),
            position: Set(position as i64),
            stored_name: Set(new.stored_name),
            original_name: Set(new.original_name),
            content_type: Set(new.content_type),
            bytes: Set(new.bytes as i64),
            released_at: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(Admission::Admitted)
}

/// The unit rows of a newly admitted job, one per requested image.
pub fn queued_units(job: &JobRow) -> Vec<UnitRow> {
    (0..job.n)
        .map(|index| UnitRow {
            job_id: job.id.clone(),
            unit_index: index,
            status: "queued".into(),
            stage: job.stage.clone(),
            message: job.message.clone(),
            error: None,
            image_id: None,
            image_filename: None,
            image_width: None,
            image_height: None,
            stage_timings: "{}".into(),
            duration_seconds: None,
            started_at: None,
            completed_at: None,
            updated_at: job.created_at.clone(),
        })
        .collect()
}

/// Removes a job that was admitted but never handed to the dispatcher (it has not run); `true` when
/// it is gone. Edit-source reservations go with it.
pub async fn withdraw(db: &DatabaseConnection, id: &str) -> StoreResult<bool> {
    let txn = super::begin_write(db).await?;
    source::Entity::delete_many().filter(source::Column::JobId.eq(id)).exec(&txn).await?;
    unit::Entity::delete_many().filter(unit::Column::JobId.eq(id)).exec(&txn).await?;
    job::Entity::delete_many().filter(job::Column::Id.eq(id)).exec(&txn).await?;
    txn.commit().await?;
    Ok(job::Entity::find_by_id(id.to_string()).one(db).await?.is_none())
}

/// Whether a job row exists.
pub async fn exists(db: &DatabaseConnection, id: &str) -> StoreResult<bool> {
    Ok(job::Entity::find_by_id(id.to_string()).one(db).await?.is_some())
}

/// Writes in-memory progress of several jobs and units in one transaction.
pub async fn save_progress(db: &DatabaseConnection, jobs: Vec<JobRow>, units: Vec<UnitRow>) -> StoreResult<()> {
    if jobs.is_empty() && units.is_empty() {
        return Ok(());
    }
    let txn = super::begin_write(db).await?;
    for row in units {
        update_unit(&txn, row).await?;
    }
    for row in jobs {
        update_job(&txn, row).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// A unit that ended, durably in one transaction: its gallery row and thumbnail request (when it
/// made an image), then the rows `complete` returns given how long the gallery insert took (the
/// unit's own row, the parent's aggregate, whether the parent ended). When the parent ended, its
/// gallery rows get the image count and its edit sources are released (their staged names returned).
pub async fn finish_unit(
    db: &DatabaseConnection,
    image: Option<super::gallery::GalleryRow>,
    complete: impl FnOnce(Option<f64>) -> (UnitRow, JobRow, bool),
) -> StoreResult<(UnitRow, JobRow, bool, Vec<String>)> {
    let txn = super::begin_write(db).await?;
    let mut insert_ms = None;
    if let Some(image) = image {
        let started = std::time::Instant::now();
        let filename = image.filename.clone();
        super::gallery::insert(&txn, image).await?;
        super::gallery::queue_thumbnail(&txn, &filename).await?;
        insert_ms = Some((started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0);
    }
    let (unit_row, job_row, terminal) = complete(insert_ms);
    update_unit(&txn, unit_row.clone()).await?;
    let mut released = Vec::new();
    if terminal {
        super::gallery::set_job_n(&txn, &job_row.id, job_row.n).await?;
        released = release_sources(&txn, &job_row.id).await?;
    }
    update_job(&txn, job_row.clone()).await?;
    txn.commit().await?;
    Ok((unit_row, job_row, terminal, released))
}

/// A cancelled job: every given unit and the job in one transaction, its edit sources released.
pub async fn save_cancelled(db: &DatabaseConnection, job_row: JobRow, units: Vec<UnitRow>) -> StoreResult<Vec<String>> {
    let txn = super::begin_write(db).await?;
    for row in units {
        update_unit(&txn, row).await?;
    }
    let released = release_sources(&txn, &job_row.id).await?;
    update_job(&txn, job_row).await?;
    txn.commit().await?;
    Ok(released)
}

/// Writes every column of a unit row.
async fn update_unit(txn: &impl sea_orm::ConnectionTrait, row: UnitRow) -> StoreResult<()> {
    sea_orm::ActiveModelTrait::reset_all(unit::ActiveModel::from(row)).update(txn).await?;
    Ok(())
}

/// Writes every column of a job row.
async fn update_job(txn: &impl sea_orm::ConnectionTrait, row: JobRow) -> StoreResult<()> {
    sea_orm::ActiveModelTrait::reset_all(job::ActiveModel::from(row)).update(txn).await?;
    Ok(())
}

/// Releases a job's edit-source reservation; returns the staged file names to delete.
async fn release_sources(txn: &impl sea_orm::ConnectionTrait, job_id: &str) -> StoreResult<Vec<String>> {
    let pending = source::Entity::find()
        .filter(source::Column::JobId.eq(job_id))
        .filter(source::Column::ReleasedAt.is_null())
        .all(txn)
        .await?;
    if !pending.is_empty() {
        source::Entity::update_many()
            .col_expr(source::Column::ReleasedAt, Expr::value(now()))
            .filter(source::Column::JobId.eq(job_id))
            .filter(source::Column::ReleasedAt.is_null())
            .exec(txn)
            .await?;
    }
    Ok(pending.into_iter().map(|row| row.stored_name).collect())
}

pub async fn get(db: &DatabaseConnection, id: &str) -> StoreResult<Option<(JobRow, Vec<UnitRow>)>> {
    let Some(row) = job::Entity::find_by_id(id.to_string()).one(db).await? else { return Ok(None) };
    let units = units_of(db, id).await?;
    Ok(Some((row, units)))
}

pub async fn units_of(db: &DatabaseConnection, id: &str) -> StoreResult<Vec<UnitRow>> {
    Ok(unit::Entity::find().filter(unit::Column::JobId.eq(id)).order_by_asc(unit::Column::UnitIndex).all(db).await?)
}

/// Which jobs a listing wants.
pub struct ListQuery {
    pub include_finished: bool,
    pub failed_only: bool,
    pub limit: u64,
    pub offset: u64,
    /// Keyset seek: rows strictly before `(updated_at, id)`.
    pub before: Option<(String, String)>,
}

pub async fn list(db: &DatabaseConnection, query: &ListQuery) -> StoreResult<Vec<(JobRow, Vec<UnitRow>)>> {
    let mut select = job::Entity::find();
    if !query.include_finished {
        select = select.filter(job::Column::Status.is_in(ACTIVE));
    } else {
        if query.failed_only {
            select = select.filter(job::Column::Status.is_in(FAILED));
        }
        if let Some((updated_at, id)) = &query.before {
            select = select.filter(Condition::any().add(job::Column::UpdatedAt.lt(updated_at.clone())).add(
                Condition::all().add(job::Column::UpdatedAt.eq(updated_at.clone())).add(job::Column::Id.lt(id.clone())),
            ));
        }
        select = select.offset(query.offset).limit(query.limit);
    }
    let rows = select.order_by_desc(job::Column::UpdatedAt).order_by_desc(job::Column::Id).all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let units = units_of(db, &row.id).await?;
        out.push((row, units));
    }
    Ok(out)
}

/// Deletes every finished job (units go with them); returns how many.
pub async fn delete_history(db: &DatabaseConnection) -> StoreResult<u64> {
    Ok(job::Entity::delete_many().filter(job::Column::Status.is_not_in(ACTIVE)).exec(db).await?.rows_affected)
}

/// Keeps the newest `keep` finished jobs.
pub async fn trim_history(db: &DatabaseConnection, keep: u64) -> StoreResult<()> {
    let finished = job::Entity::find().filter(job::Column::Status.is_not_in(ACTIVE)).count(db).await?;
    if finished <= keep {
        return Ok(());
    }
    let oldest: Vec<String> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Status.is_not_in(ACTIVE))
        .order_by_asc(job::Column::UpdatedAt)
        .order_by_asc(job::Column::CreatedAt)
        .limit(finished - keep)
        .into_tuple()
        .all(db)
        .await?;
    job::Entity::delete_many().filter(job::Column::Id.is_in(oldest)).exec(db).await?;
    Ok(())
}

/// J1: jobs a previous process left queued or running end as `interrupted` (no webhook).
pub async fn mark_interrupted(db: &DatabaseConnection) -> StoreResult<u64> {
    let stamp = now();
    let message = "Job interrupted by server restart";
    let txn = super::begin_write(db).await?;
    unit::Entity::update_many()
        .col_expr(unit::Column::Status, Expr::value("interrupted"))
        .col_expr(unit::Column::Stage, Expr::value("interrupted"))
        .col_expr(unit::Column::Message, Expr::value(message))
        .col_expr(unit::Column::Error, Expr::value(message))
        .col_expr(unit::Column::UpdatedAt, Expr::value(stamp.clone()))
        .filter(unit::Column::Status.is_in(ACTIVE))
        .exec(&txn)
        .await?;
    let jobs = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value("interrupted"))
        .col_expr(job::Column::Stage, Expr::value("interrupted"))
        .col_expr(job::Column::Message, Expr::value(message))
        .col_expr(job::Column::Error, Expr::value(message))
        .col_expr(job::Column::CompletedAt, Expr::value(stamp.clone()))
        .col_expr(job::Column::UpdatedAt, Expr::value(stamp))
        .filter(job::Column::Status.is_in(ACTIVE))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(jobs)
}

/// Units still queued or running, across all jobs.
pub async fn busy_units(db: &DatabaseConnection) -> StoreResult<u64> {
    Ok(unit::Entity::find().filter(unit::Column::Status.is_in(ACTIVE)).count(db).await?)
}

/// Active jobs by `(operation, status)`, for the metrics gauges.
pub async fn active_counts(db: &DatabaseConnection) -> StoreResult<Vec<(String, String, i64)>> {
    Ok(job::Entity::find()
        .select_only()
        .column(job::Column::Operation)
        .column(job::Column::Status)
        .column_as(Expr::col(job::Column::Id).count(), "jobs")
        .filter(job::Column::Status.is_in(ACTIVE))
        .group_by(job::Column::Operation)
        .group_by(job::Column::Status)
        .into_tuple()
        .all(db)
        .await?)
}

/// Releases every reservation (at start, when no job can still use its sources).
pub async fn release_all_sources(db: &DatabaseConnection) -> StoreResult<u64> {
    Ok(source::Entity::update_many()
        .col_expr(source::Column::ReleasedAt, Expr::value(now()))
        .filter(source::Column::ReleasedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Bytes reserved by edit sources of jobs that have not ended.
pub async fn pending_source_bytes(db: &DatabaseConnection) -> StoreResult<u64> {
    let pending: Option<i64> = source::Entity::find()
        .select_only()
        .column_as(Expr::col(source::Column::Bytes).sum(), "pending")
        .filter(source::Column::ReleasedAt.is_null())
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(pending.unwrap_or(0) as u64)
}
