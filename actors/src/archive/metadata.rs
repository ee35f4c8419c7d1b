//! The metadata records every export carries, in one shape on every path: an image record is the
//! gallery entry without its URLs and thumbnail name, null keys left out, `filename` the name inside
//! the archive, `bytes` and `sha256` when known. Skipped records say why a requested image is absent.

use serde_json::{Map, Value};

use crate::store::gallery::GalleryRow;
use crate::store::time::{shown_beijing, shown_utc};

pub const SCHEMA_VERSION: u64 = 1;
pub const APP_NAME: &str = "gpt-image-linux";

/// The compact JSON of one image record.
pub fn image_record(row: &GalleryRow, archive_name: &str, thumbnail_status: &str, bytes: u64) -> Vec<u8> {
    let mut record = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            record.insert(key.to_string(), value);
        }
    };
    put("id", Some(row.id.clone().into()));
    put("prompt", Some(row.prompt.clone().into()));
    put("size", Some(row.size.clone().into()));
    put("filename", Some(archive_name.into()));
    put("thumbnail_status", Some(thumbnail_status.into()));
    put("created_at", Some(shown_utc(&row.created_at).into()));
    put("completed_at", row.completed_at.as_deref().map(|at| shown_beijing(at).into()));
    put("image_width", row.image_width.map(Value::from));
    put("image_height", row.image_height.map(Value::from));
    put("model", row.model.clone().map(Value::from));
    put("quality", row.quality.clone().map(Value::from));
    put("output_format", row.output_format.clone().map(Value::from));
    put("output_compression", row.output_compression.map(Value::from));
    put("response_format", row.response_format.clone().map(Value::from));
    put("n", row.n.map(Value::from));
    put("api_path", row.api_path.clone().map(Value::from));
    put("api_preset_name", row.api_preset_name.clone().map(Value::from));
    put("duration", row.duration_seconds.map(|s| format!("{s:.2}s").into()));
    put("favorite", Some(row.favorite.into()));
    put("bytes", Some(row.bytes.and_then(|b| u64::try_from(b).ok()).unwrap_or(bytes).into()));
    put("sha256", row.sha256.clone().map(Value::from));
    serde_json::to_vec(&record).expect("a JSON map serialises")
}

/// Why an image the export was asked for is not in it.
pub enum Skipped<'a> {
    /// No gallery row has this id.
    EntryMissing { id: &'a str },
    /// The row's file is gone (or its name is not one the gallery writes).
    FileMissing { id: &'a str, filename: &'a str },
}

impl Skipped<'_> {
    pub fn record(&self) -> Vec<u8> {
        let value = match self {
            Skipped::EntryMissing { id } => serde_json::json!({"id": id, "reason": "gallery_entry_missing"}),
            Skipped::FileMissing { id, filename } => {
                serde_json::json!({"id": id, "filename": filename, "reason": "image_file_missing"})
            }
        };
        serde_json::to_vec(&value).expect("a JSON object serialises")
    }
}

/// `"schema_version":1,"exported_at":…,"app":{…}` — the header fields both metadata files share.
pub fn header_fields(exported_at: &str, version: &str) -> String {
    let exported_at = Value::from(exported_at);
    let app = serde_json::json!({"name": APP_NAME, "version": version});
    format!(r#""schema_version":{SCHEMA_VERSION},"exported_at":{exported_at},"app":{app}"#)
}

/// The first line of `metadata.ndjson`.
pub fn ndjson_header(exported_at: &str, version: &str) -> String {
    format!("{{\"type\":\"header\",{}}}\n", header_fields(exported_at, version))
}

/// An ndjson line around a record: `{"type":"image","image":…}` or `{"type":"skipped","entry":…}`.
pub fn ndjson_line(kind: &str, record: &[u8]) -> Vec<u8> {
    let key = if kind == "image" { "image" } else { "entry" };
    let mut line = Vec::with_capacity(record.len() + 32);
    line.extend_from_slice(format!("{{\"type\":\"{kind}\",\"{key}\":").as_bytes());
    line.extend_from_slice(record);
    line.extend_from_slice(b"}\n");
    line
}

/// The name inside the archive for `filename`, `<stem>_<n><ext>` when it is already taken.
pub fn unique_name(filename: &str, taken: &mut std::collections::HashSet<String>) -> String {
    if taken.insert(filename.to_string()) {
        return filename.to_string();
    }
    let (stem, extension) = match filename.rfind('.') {
        Some(dot) if dot > 0 => filename.split_at(dot),
        _ => (filename, ""),
    };
    (1..)
        .map(|n| format!("{stem}_{n}{extension}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_suffixes_in_order() {
        let mut taken = std::collections::HashSet::new();
        assert_eq!(unique_name("dup.png", &mut taken), "dup.png");
        assert_eq!(unique_name("dup.png", &mut taken), "dup_1.png");
        assert_eq!(unique_name("dup.png", &mut taken), "dup_2.png");
        assert_eq!(unique_name("noext", &mut taken), "noext");
        assert_eq!(unique_name("noext", &mut taken), "noext_1");
    }

    #[test]
    fn ndjson_lines_wrap_records() {
        let skipped = Skipped::EntryMissing { id: "x" }.record();
        assert_eq!(
            String::from_utf8(ndjson_line("skipped", &skipped)).unwrap(),
            "{\"type\":\"skipped\",\"entry\":{\"id\":\"x\",\"reason\":\"gallery_entry_missing\"}}\n"
        );
        assert_eq!(
            ndjson_header("2026-01-01T00:00:00+00:00", "v1"),
            "{\"type\":\"header\",\"schema_version\":1,\"exported_at\":\"2026-01-01T00:00:00+00:00\",\"app\":{\"name\":\"gpt-image-linux\",\"version\":\"v1\"}}\n"
        );
    }
}
