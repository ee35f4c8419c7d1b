//! ZIP archives of the gallery: the stored-entry writer behind every export, the two export passes
//! (plan, then write) and the metadata records exports carry.

pub mod export_plan;
pub mod export_write;
pub mod metadata;
pub mod zip_writer;
