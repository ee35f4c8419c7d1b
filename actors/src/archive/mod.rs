//! ZIP archives of the gallery: the stored-entry writer behind every export, and the metadata
//! records exports carry.

pub mod zip_writer;
