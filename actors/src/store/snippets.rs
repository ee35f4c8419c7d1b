//! Prompt snippets: saved prompts kept apart from the gallery. Lists order favorites first, then the
//! most recently updated, then the newest.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{Condition, DatabaseConnection, QueryOrder, QuerySelect, Set};

use super::StoreResult;
use super::time::to_db;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prompt_snippets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub seq: i64,
    pub title: String,
    pub prompt: String,
    pub favorite: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Every snippet whose title or prompt contains `query` (ASCII case-insensitive, `%`, `_` and `\`
/// taken literally); all of them for a blank query.
pub async fn list(db: &DatabaseConnection, query: &str) -> StoreResult<Vec<Model>> {
    let mut select = Entity::find();
    let query = query.trim();
    if !query.is_empty() {
        let escaped = query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = || LikeExpr::new(format!("%{escaped}%")).escape('\\');
        select = select.filter(
            Condition::any()
                .add(Expr::col(Column::Title).like(pattern()))
                .add(Expr::col(Column::Prompt).like(pattern())),
        );
    }
    let rows = select
        .order_by_desc(Column::Favorite)
        .order_by_desc(Column::UpdatedAt)
        .order_by_desc(Column::Seq)
        .all(db)
        .await?;
    Ok(rows)
}

pub async fn get(db: &DatabaseConnection, id: &str) -> StoreResult<Option<Model>> {
    Ok(Entity::find_by_id(id.to_string()).one(db).await?)
}

pub async fn create(
    db: &DatabaseConnection,
    id: &str,
    title: &str,
    prompt: &str,
    favorite: bool,
) -> StoreResult<Model> {
    let txn = super::begin_write(db).await?;
    let last: Option<i64> =
        Entity::find().select_only().column_as(Column::Seq.max(), "max").into_tuple().one(&txn).await?.flatten();
    let now = to_db(chrono::Utc::now());
    let row = ActiveModel {
        id: Set(id.to_string()),
        seq: Set(last.unwrap_or(0) + 1),
        title: Set(title.to_string()),
        prompt: Set(prompt.to_string()),
        favorite: Set(favorite),
        created_at: Set(now.clone()),
        updated_at: Set(now),
    };
    let model = row.insert(&txn).await?;
    txn.commit().await?;
    Ok(model)
}

/// Applies the given fields and bumps `updated_at`; `None` when the snippet does not exist.
pub async fn update(
    db: &DatabaseConnection,
    id: &str,
    title: Option<&str>,
    prompt: Option<&str>,
    favorite: Option<bool>,
) -> StoreResult<Option<Model>> {
    let Some(current) = get(db, id).await? else { return Ok(None) };
    if title.is_none() && prompt.is_none() && favorite.is_none() {
        return Ok(Some(current));
    }
    let mut row: ActiveModel = current.into();
    if let Some(title) = title {
        row.title = Set(title.to_string());
    }
    if let Some(prompt) = prompt {
        row.prompt = Set(prompt.to_string());
    }
    if let Some(favorite) = favorite {
        row.favorite = Set(favorite);
    }
    row.updated_at = Set(to_db(chrono::Utc::now()));
    Ok(Some(row.update(db).await?))
}

/// Whether a snippet was deleted.
pub async fn delete(db: &DatabaseConnection, id: &str) -> StoreResult<bool> {
    Ok(Entity::delete_by_id(id.to_string()).exec(db).await?.rows_affected > 0)
}
