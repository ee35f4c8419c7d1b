//! Selection tokens: `POST /api/gallery/batch/selection-tokens` turns gallery filters into a token
//! that batch delete, favorite, download and tracked export accept instead of ids, for 15 minutes.
//! The filters are evaluated again when the token is used.

use std::sync::Arc;

use chrono::Utc;
use panel_actors::store::gallery::{self as store, GalleryFilter};
use panel_actors::store::gallery_selections::{self as selections, Lookup};
use panel_actors::store::time::{shown_utc, to_db};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::gallery::filter_of;
use super::strict_json::{StrictJson, Validate};
use crate::app::AppState;

pub struct GallerySelectionApi;

const TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// The same filters as a gallery search; blank strings mean "no filter".
#[derive(Debug, Default, Object, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[oai(deny_unknown_fields)]
pub struct SelectionFilters {
    pub prompt: Option<String>,
    pub model: Option<String>,
    pub preset: Option<String>,
    pub size: Option<String>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    #[oai(nullable)]
    pub favorite: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct SelectionRequest {
    pub filters: SelectionFilters,
}

impl Validate for SelectionRequest {
    fn validate(&self) -> Vec<(String, String)> {
        let f = &self.filters;
        [("prompt", &f.prompt, 4000), ("model", &f.model, 200), ("preset", &f.preset, 200), ("size", &f.size, 64)]
            .into_iter()
            .chain([("date_from", &f.date_from, 64), ("date_to", &f.date_to, 64)])
            .filter(|(_, value, max)| value.as_ref().is_some_and(|v| v.chars().count() > *max))
            .map(|(field, _, max)| (format!("filters.{field}"), format!("String should have at most {max} characters")))
            .collect()
    }
}

#[derive(Debug, Object)]
pub struct SelectionToken {
    /// `sel-<32 hex>`.
    pub selection_token: String,
    /// Images matching now.
    pub count: u64,
    pub expires_at: String,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Token(Json<SelectionToken>),
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "gallery selection");
    ApiError::internal()
}

/// The filters a token stands for, or the contract's 404s.
pub async fn resolve(state: &AppState, token: &str) -> ApiResult<GalleryFilter> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::validation("selection_token is required"));
    }
    match selections::resolve(&state.db, token, &to_db(Utc::now())).await.map_err(store_failed)? {
        Lookup::Found(filter) => Ok(filter),
        Lookup::Expired => Err(ApiError::new(StatusCode::NOT_FOUND, "Gallery selection token expired")),
        Lookup::Unknown => Err(ApiError::new(StatusCode::NOT_FOUND, "Gallery selection token not found")),
    }
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl GallerySelectionApi {
    /// A token for every image matching `filters`, usable by batch actions for 15 minutes.
    #[oai(path = "/api/gallery/batch/selection-tokens", method = "post", operation_id = "create_gallery_selection")]
    async fn create(&self, state: Data<&Arc<AppState>>, body: StrictJson<SelectionRequest>) -> ApiResult<Created> {
        let f = &body.0.filters;
        let filter = filter_of(&f.prompt, &f.model, &f.preset, &f.size, &f.date_from, &f.date_to)
            .map(|filter| GalleryFilter { favorite: f.favorite, ..filter })?;
        let count = store::count(&state.db, &filter).await.map_err(store_failed)?;
        if count == 0 {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "No images match selection"));
        }
        let now = Utc::now();
        let token = format!("sel-{}", panel_actors::hex::encode(&rand::random::<[u8; 16]>()));
        let expires_at = to_db(now + TOKEN_TTL);
        selections::create(&state.db, &token, &filter, count, &to_db(now), &expires_at).await.map_err(store_failed)?;
        Ok(Created::Token(Json(SelectionToken { selection_token: token, count, expires_at: shown_utc(&expires_at) })))
    }
}
