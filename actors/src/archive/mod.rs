//! ZIP archives of the gallery: the stored-entry writer behind every export, the two export passes
//! (plan, then write), the metadata records exports carry, and the checks and records of imports.

pub mod export_plan;
pub mod export_write;
pub mod import_check;
pub mod import_image;
pub mod import_record;
pub mod metadata;
pub mod zip_writer;
