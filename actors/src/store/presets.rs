//! API presets and the small settings documents stored beside them (`settings_kv`). Settings saves
//! replace the whole document in one transaction, so a failed save changes nothing.

use sea_orm::entity::prelude::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, QueryOrder, Set};

use super::StoreResult;
use super::time::to_db;

pub mod preset {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_presets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub api_url: String,
        pub api_path: String,
        pub default_model: Option<String>,
        pub default_response_format: Option<String>,
        pub api_key: String,
        pub position: i64,
        pub created_at: String,
        pub updated_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod kv {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings_kv")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
        pub updated_at: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A preset as the settings page sees it; `position` is its index in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetRow {
    pub id: String,
    pub name: String,
    pub api_url: String,
    pub api_path: String,
    pub default_model: Option<String>,
    pub default_response_format: Option<String>,
    pub api_key: String,
}

/// Everything the settings page stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsDocument {
    pub presets: Vec<PresetRow>,
    /// `settings_kv` rows: active preset id, proxy, webhook, optimizer and R2 JSON.
    pub values: Vec<(String, String)>,
}

pub async fn load(db: &DatabaseConnection) -> StoreResult<SettingsDocument> {
    let presets = preset::Entity::find()
        .order_by_asc(preset::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|row| PresetRow {
            id: row.id,
            name: row.name,
            api_url: row.api_url,
            api_path: row.api_path,
            default_model: row.default_model,
            default_response_format: row.default_response_format,
            api_key: row.api_key,
        })
        .collect();
    let values = kv::Entity::find().all(db).await?.into_iter().map(|row| (row.key, row.value)).collect();
    Ok(SettingsDocument { presets, values })
}

/// Replaces the stored presets and writes the given values, all or nothing.
pub async fn save(db: &DatabaseConnection, document: &SettingsDocument) -> StoreResult<()> {
    let now = to_db(chrono::Utc::now());
    let txn = super::begin_write(db).await?;
    let keep: Vec<String> = document.presets.iter().map(|p| p.id.clone()).collect();
    preset::Entity::delete_many().filter(preset::Column::Id.is_not_in(keep)).exec(&txn).await?;
    for (position, row) in document.presets.iter().enumerate() {
        let model = preset::ActiveModel {
            id: Set(row.id.clone()),
            name: Set(row.name.clone()),
            api_url: Set(row.api_url.clone()),
            api_path: Set(row.api_path.clone()),
            default_model: Set(row.default_model.clone()),
            default_response_format: Set(row.default_response_format.clone()),
            api_key: Set(row.api_key.clone()),
            position: Set(position as i64),
            created_at: Set(now.clone()),
            updated_at: Set(now.clone()),
        };
        let on_conflict = OnConflict::column(preset::Column::Id)
            .update_columns([
                preset::Column::Name,
                preset::Column::ApiUrl,
                preset::Column::ApiPath,
                preset::Column::DefaultModel,
                preset::Column::DefaultResponseFormat,
                preset::Column::ApiKey,
                preset::Column::Position,
                preset::Column::UpdatedAt,
            ])
            .to_owned();
        preset::Entity::insert(model).on_conflict(on_conflict).exec(&txn).await?;
    }
    for (key, value) in &document.values {
        let row = kv::ActiveModel { key: Set(key.clone()), value: Set(value.clone()), updated_at: Set(now.clone()) };
        let on_conflict =
            OnConflict::column(kv::Column::Key).update_columns([kv::Column::Value, kv::Column::UpdatedAt]).to_owned();
        kv::Entity::insert(row).on_conflict(on_conflict).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}
