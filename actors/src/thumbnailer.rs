//! The thumbnailer makes lossy WebP thumbnails (at most `THUMBNAIL_MAX_SIDE` on the long side, never
//! upscaled) for files waiting in `thumbnail_queue`, at most `THUMBNAIL_CPU_CONCURRENCY` at a time, on
//! blocking threads. A file that fails three times leaves the queue (its next request queues it again).
//! Pixels a unit already decoded come along with the news of a new image and are used instead of
//! decoding the file again, up to `MAX_PREVIEW_BYTES` held at once (past that, files are decoded).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use image::DynamicImage;

use crate::live_settings::LiveSettings;
use crate::media::shrink::{Preview, fit_within};
use crate::media::thumbs::thumbnail_name;

const MAX_ATTEMPTS: i64 = 3;
const MAX_PREVIEW_BYTES: usize = 32 << 20;
const WEBP_QUALITY: f32 = 82.0;
/// libwebp's effort, 0 (fastest) to 6. For a 512² thumbnail, 1 takes a third of the default 4's
/// time for files within 1 % of its size.
const WEBP_METHOD: i32 = 1;

#[derive(Debug, Clone)]
pub struct ThumbnailSettings {
    pub images_dir: PathBuf,
    pub thumbnails_dir: PathBuf,
    pub max_side: u32,
    pub concurrency: usize,
}

pub enum ThumbnailerMsg {
    /// Something may wait in the queue.
    Kick,
    /// A new image is queued; its pixels, when the unit kept them.
    Prepared {
        filename: String,
        preview: Option<Arc<Preview>>,
    },
    Done {
        filename: String,
        result: Result<String, String>,
    },
}

pub struct ThumbnailerState {
    db: DatabaseConnection,
    settings: ThumbnailSettings,
    live: Arc<LiveSettings>,
    running: HashSet<String>,
    previews: HashMap<String, Arc<Preview>>,
    preview_bytes: usize,
}

pub struct Thumbnailer;

impl Actor for Thumbnailer {
    type Msg = ThumbnailerMsg;
    type State = ThumbnailerState;
    type Arguments = (DatabaseConnection, ThumbnailSettings, Arc<LiveSettings>);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (db, settings, live): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let _ = std::fs::create_dir_all(&settings.thumbnails_dir);
        let _ = myself.cast(ThumbnailerMsg::Kick);
        Ok(ThumbnailerState { db, settings, live, running: HashSet::new(), previews: HashMap::new(), preview_bytes: 0 })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ThumbnailerMsg::Kick => {}
            ThumbnailerMsg::Prepared { filename, preview } => state.keep(filename, preview),
            ThumbnailerMsg::Done { filename, result } => {
                state.running.remove(&filename);
                state.finish(&filename, result).await;
            }
        }
        state.start(&myself).await;
        Ok(())
    }
}

impl ThumbnailerState {
    fn keep(&mut self, filename: String, preview: Option<Arc<Preview>>) {
        let Some(preview) = preview.filter(|p| p.side == self.settings.max_side) else { return };
        if self.preview_bytes + preview.bytes() > MAX_PREVIEW_BYTES || self.running.contains(&filename) {
            return;
        }
        self.preview_bytes += preview.bytes();
        if let Some(old) = self.previews.insert(filename, preview) {
            self.preview_bytes -= old.bytes();
        }
    }

    fn take_preview(&mut self, filename: &str) -> Option<Arc<Preview>> {
        let preview = self.previews.remove(filename)?;
        self.preview_bytes -= preview.bytes();
        Some(preview)
    }

    async fn start(&mut self, myself: &ActorRef<ThumbnailerMsg>) {
        let room = self.settings.concurrency.max(1).saturating_sub(self.running.len());
        if room == 0 {
            return;
        }
        let sql = "SELECT filename FROM thumbnail_queue ORDER BY created_at, filename LIMIT ?";
        let Ok(rows) = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                [((room + self.running.len()) as i64).into()],
            ))
            .await
        else {
            return;
        };
        if rows.is_empty() && self.running.is_empty() {
            // Every preview arrives after its queue row; with the queue empty, any left are stale.
            self.previews.clear();
            self.preview_bytes = 0;
        }
        for filename in rows.into_iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()) {
            if self.running.len() >= self.settings.concurrency.max(1) || !self.running.insert(filename.clone()) {
                continue;
            }
            let settings = self.settings.clone();
            let max_pixels = self.live.max_image_pixels();
            let preview = self.take_preview(&filename);
            let me = myself.clone();
            tokio::task::spawn_blocking(move || {
                let result = render(&settings, &filename, preview.as_deref(), max_pixels);
                let _ = me.cast(ThumbnailerMsg::Done { filename, result });
            });
        }
    }

    async fn finish(&self, filename: &str, result: Result<String, String>) {
        let backend = self.db.get_database_backend();
        match result {
            Ok(thumbnail) => {
                let _ = self
                    .db
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        "DELETE FROM thumbnail_queue WHERE filename = ?",
                        [filename.into()],
                    ))
                    .await;
                let _ = self
                    .db
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        "UPDATE gallery_entries SET thumbnail_filename = ? WHERE filename = ?",
                        [thumbnail.into(), filename.into()],
                    ))
                    .await;
            }
            Err(error) => {
                tracing::warn!(%filename, %error, "thumbnail failed");
                let _ = self
                    .db
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        "UPDATE thumbnail_queue SET attempts = attempts + 1, error = ? WHERE filename = ?",
                        [error.into(), filename.into()],
                    ))
                    .await;
                let _ = self
                    .db
                    .execute_raw(Statement::from_sql_and_values(
                        backend,
                        "DELETE FROM thumbnail_queue WHERE filename = ? AND attempts >= ?",
                        [filename.into(), MAX_ATTEMPTS.into()],
                    ))
                    .await;
            }
        }
    }
}

/// Shrinks the image (decoded from its file under `max_pixels` unless its preview came along),
/// encodes lossy WebP and renames it into place.
pub fn render(
    settings: &ThumbnailSettings,
    filename: &str,
    preview: Option<&Preview>,
    max_pixels: u64,
) -> Result<String, String> {
    let decoded;
    let small = match preview {
        Some(preview) => &preview.image,
        None => {
            let source = settings.images_dir.join(filename);
            let bytes = std::fs::read(&source).map_err(|e| format!("cannot read the image: {}", e.kind()))?;
            let (_, image) = crate::media::validate::decode(&bytes, max_pixels).map_err(|e| e.to_string())?;
            decoded = fit_within(image, settings.max_side);
            &decoded
        }
    };
    let mut config = webp::WebPConfig::new().map_err(|()| "the WebP encoder cannot start".to_string())?;
    config.quality = WEBP_QUALITY;
    config.method = WEBP_METHOD;
    // Opaque images skip the alpha plane; pixels already in the encoder's layout are not copied.
    let (rgb, rgba);
    let encoder = match small {
        DynamicImage::ImageRgb8(pixels) => webp::Encoder::from_rgb(pixels.as_raw(), pixels.width(), pixels.height()),
        DynamicImage::ImageRgba8(pixels) => webp::Encoder::from_rgba(pixels.as_raw(), pixels.width(), pixels.height()),
        other if other.color().has_alpha() => {
            rgba = other.to_rgba8();
            webp::Encoder::from_rgba(rgba.as_raw(), rgba.width(), rgba.height())
        }
        other => {
            rgb = other.to_rgb8();
            webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height())
        }
    };
    let encoded = encoder.encode_advanced(&config).map_err(|e| format!("the WebP encoder failed: {e:?}"))?;
    let name = thumbnail_name(filename);
    let target = settings.thumbnails_dir.join(&name);
    let temp = settings.thumbnails_dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, &*encoded).and_then(|()| std::fs::rename(&temp, &target)).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write the thumbnail: {}", e.kind())
    })?;
    Ok(name)
}
