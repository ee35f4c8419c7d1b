//! Overall Config: values saved in SQLite that win over the environment, and the environment as it was
//! at the last start.

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

pub mod env_value {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings_env_values")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub env_value: String,
        pub is_env_set: bool,
        pub synced_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub async fn all(db: &DatabaseConnection) -> StoreResult<HashMap<String, String>> {
    let rows = Entity::find().all(db).await?;
    Ok(rows.into_iter().map(|row| (row.name, row.value)).collect())
}

/// Every override with the time it was set.
pub async fn rows(db: &DatabaseConnection) -> StoreResult<Vec<Model>> {
    Ok(Entity::find().all(db).await?)
}

pub async fn set(db: &DatabaseConnection, name: &str, value: &str) -> StoreResult<()> {
    apply(db, &[(name.to_string(), value.to_string())], &[]).await
}

/// Writes `sets` and removes `clears` in one transaction.
pub async fn apply(db: &DatabaseConnection, sets: &[(String, String)], clears: &[String]) -> StoreResult<()> {
    let now = to_db(chrono::Utc::now());
    let txn = super::begin_write(db).await?;
    for (name, value) in sets {
        let row = ActiveModel { name: Set(name.clone()), value: Set(value.clone()), updated_at: Set(now.clone()) };
        let on_conflict =
            OnConflict::column(Column::Name).update_columns([Column::Value, Column::UpdatedAt]).to_owned();
        Entity::insert(row).on_conflict(on_conflict).exec(&txn).await?;
    }
    if !clears.is_empty() {
        Entity::delete_many().filter(Column::Name.is_in(clears.to_vec())).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Records the environment of this start: `(name, value to show, is set)`.
pub async fn sync_env(db: &DatabaseConnection, values: &[(String, String, bool)]) -> StoreResult<()> {
    let now = to_db(chrono::Utc::now());
    let txn = super::begin_write(db).await?;
    for (name, value, is_set) in values {
        let row = env_value::ActiveModel {
            name: Set(name.clone()),
            env_value: Set(value.clone()),
            is_env_set: Set(*is_set),
            synced_at: Set(now.clone()),
        };
        let on_conflict = OnConflict::column(env_value::Column::Name)
            .update_columns([env_value::Column::EnvValue, env_value::Column::IsEnvSet, env_value::Column::SyncedAt])
            .to_owned();
        env_value::Entity::insert(row).on_conflict(on_conflict).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

pub async fn env_values(db: &DatabaseConnection) -> StoreResult<Vec<env_value::Model>> {
    Ok(env_value::Entity::find().all(db).await?)
}
