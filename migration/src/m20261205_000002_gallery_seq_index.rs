//! A narrow index of the gallery's list order, so a deep page finds where it starts by skipping index
//! entries (a few bytes each) instead of whole rows.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000002_gallery_seq_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE INDEX IF NOT EXISTS idx_gallery_entries_seq ON gallery_entries (sort_seq DESC)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_gallery_entries_seq").await?;
        Ok(())
    }
}
