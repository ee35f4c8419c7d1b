//! Gallery rows: every generated or imported image. Written here; listed by the gallery routes.

use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseConnection, QuerySelect, TransactionTrait};

use super::StoreResult;

pub mod entry {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "gallery_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub sort_seq: i64,
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

/// Inserts a row at the top of the gallery order (its `sort_seq` is assigned here).
pub async fn insert(db: &DatabaseConnection, mut row: GalleryRow) -> StoreResult<GalleryRow> {
    let txn = db.begin().await?;
    let last: Option<i64> = entry::Entity::find()
        .select_only()
        .column_as(entry::Column::SortSeq.max(), "max")
        .into_tuple()
        .one(&txn)
        .await?
        .flatten();
    row.sort_seq = last.unwrap_or(0) + 1;
    let model = entry::ActiveModel::from(row).insert(&txn).await?;
    txn.commit().await?;
    Ok(model)
}

pub async fn get(db: &DatabaseConnection, id: &str) -> StoreResult<Option<GalleryRow>> {
    Ok(entry::Entity::find_by_id(id.to_string()).one(db).await?)
}

/// Sets the parent job's `n` on rows its units created.
pub async fn set_job_n(db: &DatabaseConnection, job_id: &str, n: i64) -> StoreResult<()> {
    entry::Entity::update_many()
        .col_expr(entry::Column::N, sea_orm::sea_query::Expr::value(n))
        .filter(entry::Column::JobId.eq(job_id))
        .exec(db)
        .await?;
    Ok(())
}
