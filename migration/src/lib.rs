//! The panel's database schema. Migrations run at start (`Migrator::up`); never edit a shipped one,
//! add a new file instead.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_initial_schema;
mod m20261205_000002_gallery_seq_index;
mod m20261206_000003_gallery_jobs;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_initial_schema::Migration),
            Box::new(m20261205_000002_gallery_seq_index::Migration),
            Box::new(m20261206_000003_gallery_jobs::Migration),
        ]
    }
}
