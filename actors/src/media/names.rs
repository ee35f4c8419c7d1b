//! Which file names the gallery could have written: no paths, a known image extension.

use std::path::Path;

/// Whether a request's file name is one the gallery could have written (no paths, known extension).
pub fn safe_filename(name: &str, thumbnails: bool) -> bool {
    let extensions: &[&str] = if thumbnails {
        &["webp"]
    } else {
        &["avif", "bmp", "gif", "heic", "heif", "ico", "jpg", "jpeg", "png", "tif", "tiff", "webp"]
    };
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name)
        && Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
}
