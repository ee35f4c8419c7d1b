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
    #[oai(nullable)]
    pub ids: Option<Vec<String>>,
    /// A token from `POST /api/gallery/batch/selection-tokens`, instead of ids.
    #[oai(nullable)]
    pub selection_token: Option<String>,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct BatchFavoriteRequest {
    #[oai(nullable)]
    pub ids: Option<Vec<String>>,
    #[oai(nullable)]
    pub selection_token: Option<String>,
    pub favorite: bool,
}

/// The list as the document describes it: at most `max` unique ids (compared as sent) of at most 128
/// characters, at least one of them not blank. Blank ids are then ignored and the others trimmed.
pub(super) fn id_problems(ids: &[String], max: usize) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    if ids.len() > max {
        vec![("ids".into(), format!("List should have at most {max} items"))]
    } else if ids.iter().all(|id| id.trim().is_empty()) {
        vec![("ids".into(), "ids must include at least one gallery entry id".into())]
    } else if ids.iter().any(|id| !seen.insert(id.as_str())) {
        vec![("ids".into(), "ids must not contain duplicates".into())]
    } else if ids.iter().any(|id| id.chars().count() > 128) {
        vec![("ids".into(), "String should have at most 128 characters".into())]
    } else {
        Vec::new()
    }
}

/// Exactly one of `ids` and `selection_token` (a blank token counts as none).
pub(super) fn choice_problems(ids: &Option<Vec<String>>, token: &Option<String>) -> Vec<(String, String)> {
    let token = token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match (ids, token) {
        (Some(ids), None) => id_problems(ids, MAX_IDS),
        (None, Some(token)) if token.chars().count() > 128 => {
            vec![("selection_token".into(), "String should have at most 128 characters".into())]
        }
        (None, Some(_)) => Vec::new(),
        _ => vec![(String::new(), "Provide exactly one of ids or selection_token".into())],
    }
}

/// What a batch call acts on.
pub(super) enum Target {
    Ids(Vec<String>),
    Matching(panel_actors::store::gallery::GalleryFilter),
}

pub(super) async fn target(state: &AppState, ids: &Option<Vec<String>>, token: &Option<String>) -> ApiResult<Target> {
    match ids {
        Some(ids) => Ok(Target::Ids(cleaned(ids))),
        None => Ok(Target::Matching(super::gallery_selection::resolve(state, token.as_deref().unwrap_or("")).await?)),
    }
}

/// Rows a statement handles at once (SQLite bounds the values of one statement).
const CHUNK: usize = 500;

impl Validate for BatchRequest {
    fn validate(&self) -> Vec<(String, String)> {
        choice_problems(&self.ids, &self.selection_token)
    }
}

impl Validate for BatchFavoriteRequest {
    fn validate(&self) -> Vec<(String, String)> {
        choice_problems(&self.ids, &self.selection_token)
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
        let (ids, by_token) = match target(&state, &body.0.ids, &body.0.selection_token).await? {
            Target::Ids(ids) => (ids, false),
            Target::Matching(filter) => (store::ids_matching(&state.db, &filter).await.map_err(store_failed)?, true),
        };
        let (mut found, mut unused) = (Vec::new(), Vec::new());
        for chunk in ids.chunks(CHUNK) {
            let (deleted, freed) = store::delete_many(&state.db, chunk).await.map_err(store_failed)?;
            found.extend(deleted);
            unused.extend(freed);
        }
        let ids = if by_token { found.clone() } else { ids };
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
        let (ids, by_token) = match target(&state, &body.0.ids, &body.0.selection_token).await? {
            Target::Ids(ids) => (ids, false),
            Target::Matching(filter) => (store::ids_matching(&state.db, &filter).await.map_err(store_failed)?, true),
        };
        let mut found = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            found.extend(store::favorite_many(&state.db, chunk, body.0.favorite).await.map_err(store_failed)?);
        }
        let ids = if by_token { found.clone() } else { ids };
        Ok(Json(result(&ids, &found, 0)?))
    }
}
