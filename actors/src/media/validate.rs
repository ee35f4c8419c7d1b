//! Validation of image bytes from upstreams and uploads: the format comes from the magic bytes, the
//! header's dimensions are checked before any decoding, then the whole image is decoded under limits
//! so truncated or hostile files never reach the gallery.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// A fully decoded, acceptable image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidImage {
    /// The file extension for the sniffed format (`png`, `jpg`, `webp`, `gif`, `bmp`, `tiff`, `ico`).
    pub extension: &'static str,
    /// The format name as stored with gallery rows (`png`, `jpeg`, …).
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidImage {
    #[error("Image data must be a supported raster image format")]
    Unsupported,
    #[error("Image data must be a fully decodable supported raster image")]
    Undecodable,
    #[error("Image too large: {pixels} pixels (max {max})")]
    TooManyPixels { pixels: u64, max: u64 },
}

fn describe(format: ImageFormat) -> Option<(&'static str, &'static str)> {
    Some(match format {
        ImageFormat::Png => ("png", "png"),
        ImageFormat::Jpeg => ("jpg", "jpeg"),
        ImageFormat::WebP => ("webp", "webp"),
        ImageFormat::Gif => ("gif", "gif"),
        ImageFormat::Bmp => ("bmp", "bmp"),
        ImageFormat::Tiff => ("tiff", "tiff"),
        ImageFormat::Ico => ("ico", "ico"),
        _ => return None,
    })
}

/// Sniffs, checks dimensions against `max_pixels`, then decodes everything. CPU-bound: call it from a
/// blocking task.
pub fn validate(bytes: &[u8], max_pixels: u64) -> Result<ValidImage, InvalidImage> {
    decode(bytes, max_pixels).map(|(valid, _)| valid)
}

/// [`validate`], keeping the decoded pixels for whoever needs them next.
pub fn decode(bytes: &[u8], max_pixels: u64) -> Result<(ValidImage, DynamicImage), InvalidImage> {
    let format = image::guess_format(bytes).map_err(|_| InvalidImage::Unsupported)?;
    let (extension, name) = describe(format).ok_or(InvalidImage::Unsupported)?;
    let reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().map_err(|_| InvalidImage::Undecodable)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(InvalidImage::Undecodable);
    }
    if pixels > max_pixels {
        return Err(InvalidImage::TooManyPixels { pixels, max: max_pixels });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(pixels.saturating_mul(16).max(1 << 20));
    reader.limits(limits);
    let image = reader.decode().map_err(|_| InvalidImage::Undecodable)?;
    Ok((ValidImage { extension, format: name, width, height }, image))
}

/// The format a file extension (without the dot, any case) claims, in [`sniff`]'s names.
pub fn format_of_extension(extension: &str) -> Option<&'static str> {
    Some(match extension.to_ascii_lowercase().as_str() {
        "png" => "png",
        "jpg" | "jpeg" => "jpeg",
        "gif" => "gif",
        "webp" => "webp",
        "bmp" => "bmp",
        "tif" | "tiff" => "tiff",
        "ico" => "ico",
        "avif" => "avif",
        "heic" | "heif" => "heif",
        _ => return None,
    })
}

/// The format from the first bytes, including the ISO-BMFF brands of AVIF and HEIF.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"avif" | b"avis" => Some("avif"),
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => Some("heif"),
            _ => None,
        };
    }
    Some(match image::guess_format(head).ok()? {
        image::ImageFormat::Png => "png",
        image::ImageFormat::Jpeg => "jpeg",
        image::ImageFormat::Gif => "gif",
        image::ImageFormat::WebP => "webp",
        image::ImageFormat::Bmp => "bmp",
        image::ImageFormat::Tiff => "tiff",
        image::ImageFormat::Ico => "ico",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::new(width, height).write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_are_sniffed_decoded_and_bounded() {
        let bytes = png(40, 30);
        assert_eq!(
            validate(&bytes, 10_000).unwrap(),
            ValidImage { extension: "png", format: "png", width: 40, height: 30 }
        );
        assert_eq!(validate(&bytes, 100), Err(InvalidImage::TooManyPixels { pixels: 1200, max: 100 }));
        assert_eq!(validate(&bytes[..bytes.len() - 20], 10_000), Err(InvalidImage::Undecodable));
        assert_eq!(validate(b"<svg xmlns='http://www.w3.org/2000/svg'/>", 10_000), Err(InvalidImage::Unsupported));
    }
}
