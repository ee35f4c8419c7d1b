//! One image record of an import's metadata: the member it names, and the gallery fields it carries,
//! coerced to the row's types (values of the wrong type are dropped, timestamps normalised to the
//! stored format). Unknown keys, `bytes`, `sha256` and positions are not taken from the archive: bytes
//! and hashes are recomputed, and the archive's order decides positions.

use serde_json::Value;

use crate::store::gallery::GalleryRow;
use crate::store::time::to_db;

const IMAGE_EXTENSIONS: &[&str] =
    &["png", "jpg", "jpeg", "webp", "gif", "avif", "bmp", "heic", "heif", "ico", "tif", "tiff"];

/// The lower-cased extension of `name` when it is an image extension.
pub fn image_extension(name: &str) -> Option<String> {
    let (_, extension) = name.rsplit_once('.')?;
    let extension = extension.to_ascii_lowercase();
    IMAGE_EXTENSIONS.contains(&extension.as_str()).then_some(extension)
}

pub fn is_image_name(name: &str) -> bool {
    image_extension(name).is_some()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportRecord {
    /// The `filename` the record gives (reported with skips).
    pub named: String,
    /// The archive member it resolves to, when one exists.
    pub member: Option<String>,
    pub id: Option<String>,
    pub prompt: Option<String>,
    pub size: Option<String>,
    pub created_at: Option<String>,
    pub completed_at: Option<String>,
    pub model: Option<String>,
    pub quality: Option<String>,
    pub output_format: Option<String>,
    pub output_compression: Option<i64>,
    pub response_format: Option<String>,
    pub n: Option<i64>,
    pub api_path: Option<String>,
    pub api_preset_name: Option<String>,
    pub duration_seconds: Option<f64>,
    pub favorite: bool,
}

fn text(record: &Value, key: &str) -> Option<String> {
    record.get(key).and_then(Value::as_str).map(str::to_string)
}

fn integer(record: &Value, key: &str) -> Option<i64> {
    match record.get(key)? {
        Value::Number(number) => {
            number.as_i64().or_else(|| number.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        }
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Seconds, from a number or from text such as `"12.34s"`.
fn seconds(record: &Value, key: &str) -> Option<f64> {
    let value = match record.get(key)? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().trim_end_matches('s').trim().parse().ok(),
        _ => None,
    }?;
    (value.is_finite() && value >= 0.0).then_some(value)
}

fn truthy(record: &Value, key: &str) -> bool {
    match record.get(key) {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_f64() == Some(1.0),
        Some(Value::String(text)) => {
            matches!(text.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on" | "favorite" | "favorited")
        }
        _ => false,
    }
}

/// A timestamp in the stored format, from RFC 3339 with any offset or a naive UTC date-time.
pub fn normalised_time(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(to_db(at.with_timezone(&chrono::Utc)));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| to_db(naive.and_utc()))
}

impl ImportRecord {
    /// Reads a metadata record; `has_member` tells which archive members exist.
    pub fn from_metadata(record: &Value, has_member: impl Fn(&str) -> bool) -> ImportRecord {
        let named = text(record, "filename").unwrap_or_default();
        let member = if named.is_empty() {
            None
        } else if has_member(&named) {
            Some(named.clone())
        } else {
            let nested = format!("images/{named}");
            has_member(&nested).then_some(nested)
        };
        ImportRecord {
            named,
            member,
            id: text(record, "id").map(|id| id.trim().to_string()).filter(|id| !id.is_empty() && id.len() <= 128),
            prompt: text(record, "prompt"),
            size: text(record, "size"),
            created_at: text(record, "created_at").and_then(|t| normalised_time(&t)),
            completed_at: text(record, "completed_at").and_then(|t| normalised_time(&t)),
            model: text(record, "model"),
            quality: text(record, "quality"),
            output_format: text(record, "output_format"),
            output_compression: integer(record, "output_compression"),
            response_format: text(record, "response_format"),
            n: integer(record, "n"),
            api_path: text(record, "api_path"),
            api_preset_name: text(record, "api_preset_name"),
            duration_seconds: seconds(record, "duration"),
            favorite: truthy(record, "favorite"),
        }
    }

    /// The gallery row for this record, stored as `filename`, with measured bytes and hash.
    pub fn row(&self, id: String, filename: String, width: u32, height: u32, bytes: u64, sha256: String) -> GalleryRow {
        GalleryRow {
            sort_seq: 0,
            id,
            prompt: self.prompt.clone().unwrap_or_default(),
            size: self.size.clone().unwrap_or_else(|| format!("{width}x{height}")),
            filename,
            thumbnail_filename: None,
            image_width: Some(i64::from(width)),
            image_height: Some(i64::from(height)),
            model: self.model.clone(),
            quality: self.quality.clone(),
            output_format: self.output_format.clone(),
            output_compression: self.output_compression,
            response_format: self.response_format.clone(),
            n: self.n,
            api_path: self.api_path.clone(),
            api_preset_name: self.api_preset_name.clone(),
            duration_seconds: self.duration_seconds,
            favorite: self.favorite,
            bytes: Some(bytes as i64),
            sha256: Some(sha256),
            job_id: None,
            created_at: self.created_at.clone().unwrap_or_else(|| to_db(chrono::Utc::now())),
            completed_at: self.completed_at.clone(),
        }
    }
}

/// The stored name for an imported file: the basename's stem with only letters, digits, `-`, `_`
/// and `.` (others become `_`), at most 240 bytes with its lower-cased image extension (`.png` when
/// it has none); a random name when nothing is left.
pub fn sanitized_filename(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let (stem, extension) = match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => (stem, image_extension(base).unwrap_or_else(|| "png".into())),
        _ => (base, "png".to_string()),
    };
    let suffix = format!(".{extension}");
    let cleaned: String =
        stem.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let mut cleaned = cleaned.trim_matches(['.', '_']).to_string();
    let budget = 240usize.saturating_sub(suffix.len() + 16);
    if cleaned.len() > budget {
        let mut cut = budget;
        while !cleaned.is_char_boundary(cut) {
            cut -= 1;
        }
        cleaned.truncate(cut);
        cleaned = cleaned.trim_matches(['.', '_']).to_string();
    }
    if cleaned.is_empty() {
        cleaned = uuid::Uuid::new_v4().simple().to_string();
    }
    format!("{cleaned}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitised_and_bounded() {
        assert_eq!(sanitized_filename("images/My Photo!.PNG"), "My_Photo.png");
        assert_eq!(sanitized_filename("../../etc/x.txt"), "x.png");
        assert_eq!(sanitized_filename("图片.webp"), "图片.webp");
        let long = format!("{}.png", "a".repeat(320));
        let name = sanitized_filename(&long);
        assert!(name.len() <= 240 && name.ends_with(".png"), "{name}");
        assert!(sanitized_filename("___.jpg").ends_with(".jpg"));
        assert_eq!(sanitized_filename("___.jpg").len(), 32 + 4);
    }

    #[test]
    fn records_are_coerced() {
        let value = serde_json::json!({
            "id": "abc", "filename": "a.png", "prompt": "cat", "n": "2", "output_compression": 80.0,
            "duration": "12.50s", "favorite": "yes", "created_at": "2026-01-02T03:04:05+08:00",
            "completed_at": "not a time", "model": 5, "sort_seq": 99, "sha256": "forged"
        });
        let record = ImportRecord::from_metadata(&value, |name| name == "images/a.png");
        assert_eq!(record.member.as_deref(), Some("images/a.png"));
        assert_eq!(record.n, Some(2));
        assert_eq!(record.output_compression, Some(80));
        assert_eq!(record.duration_seconds, Some(12.5));
        assert!(record.favorite);
        assert_eq!(record.created_at.as_deref(), Some("2026-01-01T19:04:05.000000Z"));
        assert_eq!(record.completed_at, None);
        assert_eq!(record.model, None);
    }
}
