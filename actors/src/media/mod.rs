//! Image bytes: sniffing the format, checking dimensions before decoding, fully decoding under limits,
//! and storing files under generated names.

pub mod heif;
pub mod names;
pub mod shrink;
pub mod thumbs;
pub mod validate;
