//! Small, valid images for upstream responses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A 1×1 opaque PNG.
pub const PNG_1X1_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

pub fn png_1x1() -> Vec<u8> {
    STANDARD.decode(PNG_1X1_BASE64).expect("fixture is valid base64")
}
