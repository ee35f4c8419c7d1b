//! The check every imported image passes, as for edit uploads: the format from the magic bytes (SVG,
//! HTML and other non-raster data refused), agreeing with the member's extension, fully decoded under
//! `MAX_IMAGE_PIXELS` (AVIF and HEIC through `heif-convert`).

use std::path::Path;

use crate::media::heif;
use crate::media::validate::{InvalidImage, format_of_extension, sniff, validate};

/// The image's width and height, or why it is refused. `scratch` is a directory for the AVIF/HEIC
/// round trip. Blocking.
pub fn check_image(bytes: &[u8], extension: &str, max_pixels: u64, scratch: &Path) -> Result<(u32, u32), String> {
    let unsupported = || "Image data must be a supported raster image format".to_string();
    let sniffed = sniff(&bytes[..bytes.len().min(512)]).ok_or_else(unsupported)?;
    if format_of_extension(extension) != Some(sniffed) {
        return Err("Image file extension does not match image data".into());
    }
    let described = |err: InvalidImage| err.to_string();
    if sniffed != "avif" && sniffed != "heif" {
        return validate(bytes, max_pixels).map(|valid| (valid.width, valid.height)).map_err(described);
    }
    let stem = crate::hex::encode(&rand::random::<[u8; 12]>());
    let input = scratch.join(format!("{stem}.{extension}"));
    let output = scratch.join(format!("{stem}.png"));
    let result = std::fs::write(&input, bytes)
        .ok()
        .filter(|()| heif::render_png(&input, &output))
        .and_then(|()| std::fs::read(&output).ok())
        .ok_or_else(|| "Image data must be a fully decodable supported raster image".to_string())
        .and_then(|png| validate(&png, max_pixels).map(|valid| (valid.width, valid.height)).map_err(described));
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    result
}
