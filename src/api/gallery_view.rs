//! A gallery row as clients see it (list, detail, favorite): every key present, `null` when unknown.

use panel_actors::media::thumbs::thumbnail_name;
use panel_actors::store::gallery::GalleryRow;
use poem_openapi::Object;

use super::job_view::{beijing, encode_segment as encode, image_url, utc};
use crate::settings::Config;

#[derive(Debug, Clone, PartialEq, Object, serde::Serialize)]
pub struct GalleryEntry {
    pub id: String,
    pub prompt: String,
    pub size: String,
    pub filename: String,
    #[oai(nullable)]
    pub image_url: Option<String>,
    #[oai(nullable)]
    pub thumbnail_filename: Option<String>,
    #[oai(nullable)]
    pub thumbnail_url: Option<String>,
    /// `ready`, `queued` or `missing`.
    pub thumbnail_status: String,
    pub created_at: String,
    /// When the image was made, in Beijing time (`+08:00`).
    #[oai(nullable)]
    pub completed_at: Option<String>,
    #[oai(nullable)]
    pub image_width: Option<i64>,
    #[oai(nullable)]
    pub image_height: Option<i64>,
    #[oai(nullable)]
    pub model: Option<String>,
    #[oai(nullable)]
    pub quality: Option<String>,
    /// The format detected from the file.
    #[oai(nullable)]
    pub output_format: Option<String>,
    #[oai(nullable)]
    pub output_compression: Option<i64>,
    #[oai(nullable)]
    pub response_format: Option<String>,
    #[oai(nullable)]
    pub n: Option<i64>,
    #[oai(nullable)]
    pub api_path: Option<String>,
    #[oai(nullable)]
    pub api_preset_name: Option<String>,
    #[oai(nullable)]
    pub duration: Option<String>,
    pub favorite: bool,
    #[oai(nullable)]
    pub bytes: Option<i64>,
}

pub use panel_actors::media::names::safe_filename;

impl GalleryEntry {
    /// `queued` tells whether the row's thumbnail waits in the queue.
    pub fn new(row: GalleryRow, config: &Config, queued: bool) -> GalleryEntry {
        let safe = safe_filename(&row.filename, false);
        let thumb = thumbnail_name(&row.filename);
        let thumbnail_status = if config.thumbnails_dir.join(&thumb).is_file() {
            "ready"
        } else if queued {
            "queued"
        } else {
            "missing"
        };
        let thumbnail_url = safe.then(|| match &config.public_thumbnail_base_url {
            Some(base) => format!("{base}/{}", encode(&thumb)),
            None => format!("/api/thumb/{}", encode(&row.filename)),
        });
        GalleryEntry {
            image_url: safe.then(|| image_url(&row.filename, config.public_image_base_url.as_deref())),
            // The file can land a moment before the row records it; a ready thumbnail always has a name.
            thumbnail_filename: row
                .thumbnail_filename
                .or_else(|| (thumbnail_status == "ready").then(|| thumb.clone()))
                .filter(|t| safe_filename(t, true)),
            thumbnail_url,
            thumbnail_status: thumbnail_status.to_string(),
            created_at: utc(&row.created_at),
            completed_at: row.completed_at.as_deref().map(beijing),
            duration: row.duration_seconds.map(|s| format!("{s:.2}s")),
            id: row.id,
            prompt: row.prompt,
            size: row.size,
            filename: row.filename,
            image_width: row.image_width,
            image_height: row.image_height,
            model: row.model,
            quality: row.quality,
            output_format: row.output_format,
            output_compression: row.output_compression,
            response_format: row.response_format,
            n: row.n,
            api_path: row.api_path,
            api_preset_name: row.api_preset_name,
            favorite: row.favorite,
            bytes: row.bytes,
        }
    }
}
