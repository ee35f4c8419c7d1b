//! The thumbnailer makes lossy WebP thumbnails (at most `THUMBNAIL_MAX_SIDE` on the long side, never
//! upscaled) for files waiting in `thumbnail_queue`, at most `THUMBNAIL_CPU_CONCURRENCY` at a time, on
//! blocking threads. A file that fails three times leaves the queue (its next request queues it again).

use std::collections::HashSet;
use std::path::PathBuf;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::media::thumbs::thumbnail_name;

const MAX_ATTEMPTS: i64 = 3;
const WEBP_QUALITY: f32 = 82.0;

#[derive(Debug, Clone)]
pub struct ThumbnailSettings {
    pub images_dir: PathBuf,
    pub thumbnails_dir: PathBuf,
    pub max_side: u32,
    pub max_pixels: u64,
    pub concurrency: usize,
}

pub enum ThumbnailerMsg {
    /// Something may wait in the queue.
    Kick,
    Done {
        filename: String,
        result: Result<String, String>,
    },
}

pub struct ThumbnailerState {
    db: DatabaseConnection,
    settings: ThumbnailSettings,
    running: HashSet<String>,
}

pub struct Thumbnailer;

impl Actor for Thumbnailer {
    type Msg = ThumbnailerMsg;
    type State = ThumbnailerState;
    type Arguments = (DatabaseConnection, ThumbnailSettings);

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        (db, settings): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let _ = std::fs::create_dir_all(&settings.thumbnails_dir);
        let _ = myself.cast(ThumbnailerMsg::Kick);
        Ok(ThumbnailerState { db, settings, running: HashSet::new() })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ThumbnailerMsg::Kick => {}
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
        for filename in rows.into_iter().filter_map(|r| r.try_get_by_index::<String>(0).ok()) {
            if self.running.len() >= self.settings.concurrency.max(1) || !self.running.insert(filename.clone()) {
                continue;
            }
            let settings = self.settings.clone();
            let me = myself.clone();
            tokio::task::spawn_blocking(move || {
                let result = render(&settings, &filename);
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

/// Decodes the image (under the pixel limit), shrinks it, encodes lossy WebP and renames it into place.
pub fn render(settings: &ThumbnailSettings, filename: &str) -> Result<String, String> {
    let source = settings.images_dir.join(filename);
    let bytes = std::fs::read(&source).map_err(|e| format!("cannot read the image: {}", e.kind()))?;
    let (_, image) = crate::media::validate::decode(&bytes, settings.max_pixels).map_err(|e| e.to_string())?;
    let side = settings.max_side.max(1);
    let small = if image.width() > side || image.height() > side { image.thumbnail(side, side) } else { image };
    // Opaque images skip the alpha plane.
    let encoded = if small.color().has_alpha() {
        let rgba = small.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), rgba.width(), rgba.height()).encode(WEBP_QUALITY)
    } else {
        let rgb = small.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height()).encode(WEBP_QUALITY)
    };
    let name = thumbnail_name(filename);
    let target = settings.thumbnails_dir.join(&name);
    let temp = settings.thumbnails_dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, &*encoded).and_then(|()| std::fs::rename(&temp, &target)).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write the thumbnail: {}", e.kind())
    })?;
    Ok(name)
}
