//! Overall Config overrides: values saved in SQLite that win over the environment.

use std::collections::HashMap;

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, Set};

use super::StoreResult;
use super::time::to_db;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "settings_overrides")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub value: String,
    pub updated_at: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

pub async fn all(db: &DatabaseConnection) -> StoreResult<HashMap<String, String>> {
    let rows = Entity::find().all(db).await?;
    Ok(rows.into_iter().map(|row| (row.name, row.value)).collect())
}

pub async fn set(db: &DatabaseConnection, name: &str, value: &str) -> StoreResult<()> {
    let row = ActiveModel {
        name: Set(name.to_string()),
        value: Set(value.to_string()),
        updated_at: Set(to_db(chrono::Utc::now())),
    };
    let on_conflict = OnConflict::column(Column::Name).update_columns([Column::Value, Column::UpdatedAt]).to_owned();
    Entity::insert(row).on_conflict(on_conflict).exec(db).await?;
    Ok(())
}

pub async fn clear(db: &DatabaseConnection, name: &str) -> StoreResult<()> {
    Entity::delete_by_id(name.to_string()).exec(db).await?;
    Ok(())
}
