//! Batch actions on gallery images chosen by id, with partial-success results: what was requested,
//! what was changed, and which ids were not found.

use std::sync::Arc;

use panel_actors::store::gallery as store;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::gallery_view::GalleryEntry;
use super::strict_json::{StrictJson, Validate};
use crate::app::AppState;

pub struct GalleryBatchApi;

pub(super) const MAX_IDS: usize = 1000;
/// Thumbnail status polls are small: at most a page or two of ids.
const MAX_STATUS_IDS: usize = 100;

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct BatchRequest {
    /// Gallery image ids (at most 1000, no duplicates).
    pub ids: Vec<String>,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct BatchFavoriteRequest {
    pub ids: Vec<String>,
    pub favorite: bool,
}

pub(super) fn id_problems(ids: &[String], max: usize) -> Vec<(String, String)> {
    let cleaned: Vec<&str> = ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty()).collect();
    let mut seen = std::collections::HashSet::new();
    if ids.len() > max {
        vec![("ids".into(), format!("List should have at most {max} items"))]
    } else if cleaned.is_empty() {
        vec![("ids".into(), "ids must include at least one gallery entry id".into())]
    } else if cleaned.iter().any(|id| !seen.insert(*id)) {
        vec![("ids".into(), "ids must not contain duplicates".into())]
    } else if cleaned.iter().any(|id| id.chars().count() > 128) {
        vec![("ids".into(), "String should have at most 128 characters".into())]
    } else {
        Vec::new()
    }
}

impl Validate for BatchRequest {
    fn validate(&self) -> Vec<(String, String)> {
        id_problems(&self.ids, MAX_IDS)
    }
}

impl Validate for BatchFavoriteRequest {
    fn validate(&self) -> Vec<(String, String)> {
        id_problems(&self.ids, MAX_IDS)
    }
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct ThumbnailStatusRequest {
    /// Gallery image ids (1–100, no duplicates).
    pub ids: Vec<String>,
}

impl Validate for ThumbnailStatusRequest {
    fn validate(&self) -> Vec<(String, String)> {
        id_problems(&self.ids, MAX_STATUS_IDS)
    }
}

/// Where a gallery image's thumbnail stands, as in its gallery row.
#[derive(Debug, Object)]
pub struct GalleryThumbnailState {
    pub id: String,
    #[oai(nullable)]
    pub thumbnail_filename: Option<String>,
    #[oai(nullable)]
    pub thumbnail_url: Option<String>,
    /// `ready`, `queued` or `missing`.
    pub thumbnail_status: String,
}

#[derive(Debug, Object)]
pub struct BatchResult {
    pub status: String,
    pub count: u64,
    /// Image files removed (delete only).
    pub file_count: u64,
    pub requested_count: u64,
    pub updated_count: u64,
    pub missing_count: u64,
    /// Requested ids that matched nothing, in request order.
    pub missing_ids: Vec<String>,
}

pub(super) fn cleaned(ids: &[String]) -> Vec<String> {
    ids.iter().map(|id| id.trim().to_string()).filter(|id| !id.is_empty()).collect()
}

fn result(requested: &[String], found: &[String], file_count: u64) -> ApiResult<BatchResult> {
    if found.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Gallery entries not found"));
    }
    let missing_ids: Vec<String> = requested.iter().filter(|id| !found.contains(id)).cloned().collect();
    Ok(BatchResult {
        status: "ok".into(),
        count: found.len() as u64,
        file_count,
        requested_count: requested.len() as u64,
        updated_count: found.len() as u64,
        missing_count: missing_ids.len() as u64,
        missing_ids,
    })
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "gallery batch");
    ApiError::internal()
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl GalleryBatchApi {
    /// Delete several images (rows first, then files no other row uses).
    #[oai(path = "/api/gallery/batch/delete", method = "post", operation_id = "batch_delete_gallery")]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<BatchRequest>,
    ) -> ApiResult<Json<BatchResult>> {
        let ids = cleaned(&body.0.ids);
        let (found, unused) = store::delete_many(&state.db, &ids).await.map_err(store_failed)?;
        let config = state.settings.current();
        let mut files = 0;
        for name in &unused {
            if std::fs::remove_file(config.images_dir.join(name)).is_ok() {
                files += 1;
            }
            let _ = std::fs::remove_file(config.thumbnails_dir.join(panel_actors::media::thumbs::thumbnail_name(name)));
        }
        Ok(Json(result(&ids, &found, files)?))
    }

    /// Thumbnail states for several images, in request order; unknown ids are left out.
    #[oai(path = "/api/gallery/thumbnails/status", method = "post", operation_id = "gallery_thumbnail_status")]
    async fn thumbnail_status(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<ThumbnailStatusRequest>,
    ) -> ApiResult<Json<Vec<GalleryThumbnailState>>> {
        let mut rows = Vec::new();
        for id in cleaned(&body.0.ids) {
            if let Some(row) = store::get(&state.db, &id).await.map_err(store_failed)? {
                rows.push(row);
            }
        }
        let filenames: Vec<String> = rows.iter().map(|row| row.filename.clone()).collect();
        let queued = store::queued_thumbnails(&state.db, &filenames).await.map_err(store_failed)?;
        let config = state.settings.current();
        let states = rows
            .into_iter()
            .map(|row| {
                let waiting = queued.contains(&row.filename);
                let entry = GalleryEntry::new(row, &config, waiting);
                GalleryThumbnailState {
                    id: entry.id,
                    thumbnail_filename: entry.thumbnail_filename,
                    thumbnail_url: entry.thumbnail_url,
                    thumbnail_status: entry.thumbnail_status,
                }
            })
            .collect();
        Ok(Json(states))
    }

    /// Mark or unmark several images as favorites.
    #[oai(path = "/api/gallery/batch/favorite", method = "patch", operation_id = "batch_favorite_gallery")]
    async fn favorite(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<BatchFavoriteRequest>,
    ) -> ApiResult<Json<BatchResult>> {
        let ids = cleaned(&body.0.ids);
        let found = store::favorite_many(&state.db, &ids, body.0.favorite).await.map_err(store_failed)?;
        Ok(Json(result(&ids, &found, 0)?))
    }
}
