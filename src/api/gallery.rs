//! The gallery: listing with filters (prompt search in any language, model, preset, size, dates,
//! favorites), page or cursor pagination, counts, total bytes and filter options; one entry,
//! favorite, delete one, delete all.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use panel_actors::store::gallery::{self as store, GalleryFilter, PageStart};
use panel_actors::store::time::to_db;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use sha2::Digest;

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::gallery_view::GalleryEntry;
use super::query_params::{BoolParam, IntParam, TextParam, raw};
use super::status_message::StatusMessage;
use super::strict_json::{StrictJson, Validate};
use crate::app::AppState;

pub struct GalleryApi;

#[derive(Debug, Object)]
pub struct FilterOptions {
    pub models: Vec<String>,
    pub presets: Vec<String>,
    pub sizes: Vec<String>,
}

#[derive(Debug, Object)]
pub struct GalleryResponse {
    /// Matching images; 0 when `include_counts=false`.
    pub total: u64,
    /// Bytes of the matching images' files; 0 unless `include_total_bytes=true`.
    pub total_bytes: u64,
    pub page: u64,
    pub page_size: u64,
    pub total_pages: u64,
    pub has_prev: bool,
    pub has_next: bool,
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    #[oai(nullable)]
    pub prev_cursor: Option<String>,
    pub images: Vec<GalleryEntry>,
    pub filter_options: FilterOptions,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct FavoriteBody {
    pub favorite: bool,
}

impl Validate for FavoriteBody {}

/// A listing request, from query parameters or a JSON body. Lengths and ranges are declared here
/// once; the query parameters of `GET /api/gallery` declare the same (a test keeps them equal).
#[derive(Debug, Default, Object, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
#[oai(deny_unknown_fields)]
pub struct GalleryQuery {
    #[oai(nullable, validator(minimum(value = "1")))]
    pub page: Option<i64>,
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "100")))]
    pub page_size: Option<i64>,
    #[oai(nullable, validator(max_length = 4000))]
    pub prompt: Option<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub model: Option<String>,
    #[oai(nullable, validator(max_length = 200))]
    pub preset: Option<String>,
    #[oai(nullable, validator(max_length = 64))]
    pub size: Option<String>,
    #[oai(nullable, validator(max_length = 64))]
    pub date_from: Option<String>,
    #[oai(nullable, validator(max_length = 64))]
    pub date_to: Option<String>,
    #[oai(nullable)]
    pub favorite: Option<bool>,
    #[oai(nullable)]
    pub include_total_bytes: Option<bool>,
    #[oai(nullable)]
    pub include_counts: Option<bool>,
    #[oai(nullable)]
    pub include_filter_options: Option<bool>,
    #[oai(nullable, validator(max_length = 512))]
    pub cursor: Option<String>,
    /// `next` (default) or `prev`, for cursor paging.
    #[oai(nullable)]
    pub direction: Option<String>,
}

impl Validate for GalleryQuery {}

pub(crate) fn parse_bool(name: &str, value: Option<String>) -> ApiResult<Option<bool>> {
    match value.as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(v) if ["true", "1", "yes", "on", "t", "y"].contains(&v.as_str()) => Ok(Some(true)),
        Some(v) if ["false", "0", "no", "off", "f", "n"].contains(&v.as_str()) => Ok(Some(false)),
        Some(_) => Err(ApiError::validation(format!(
            "query.{name} - Input should be a valid boolean, unable to interpret input"
        ))),
    }
}

fn parse_int(name: &str, value: Option<String>) -> ApiResult<Option<i64>> {
    value
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                ApiError::validation(format!(
                    "query.{name} - Input should be a valid integer, unable to parse string as an integer"
                ))
            })
        })
        .transpose()
}

/// What `date_bound` accepts, for the OpenAPI document: blank, or a calendar date, alone or with a
/// time — `T`/space and seconds with an optional fraction and a `Z`/`±HH:MM` offset, or naive
/// (`THH:MM`, `THH:MM:SS[.f]`, ` HH:MM:SS[.f]`).
pub const DATE_FILTER_PATTERN: &str = concat!(
    r"^\s*(((",
    // Days each month has; 29 February in leap years.
    r"[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))",
    r"|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29",
    r")(",
    r"[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])",
    r"|T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?",
    r"| ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?",
    r")?))?\s*$"
);

/// `YYYY-MM-DD` (whole UTC day) or an ISO datetime (naive means UTC), in stored form.
fn date_bound(value: &str, end_of_day: bool) -> ApiResult<String> {
    let invalid = || ApiError::validation("Gallery date filters must use YYYY-MM-DD or ISO datetime");
    if value.len() == 10 {
        let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid())?;
        let time = if end_of_day { day.and_hms_micro_opt(23, 59, 59, 999_999) } else { day.and_hms_opt(0, 0, 0) };
        return Ok(to_db(time.ok_or_else(invalid)?.and_utc()));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(to_db(at.with_timezone(&Utc)));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(to_db(naive.and_utc()));
        }
    }
    Err(invalid())
}

/// Gallery filters from request text: blanks mean "no filter", dates become stored-form UTC bounds.
pub(super) fn filter_of(
    prompt: &Option<String>,
    model: &Option<String>,
    preset: &Option<String>,
    size: &Option<String>,
    date_from: &Option<String>,
    date_to: &Option<String>,
) -> ApiResult<GalleryFilter> {
    Ok(GalleryFilter {
        prompt: text(prompt),
        model: text(model),
        preset: text(preset),
        size: text(size),
        created_from: text(date_from).map(|d| date_bound(&d, false)).transpose()?,
        created_to: text(date_to).map(|d| date_bound(&d, true)).transpose()?,
        favorite: None,
    })
}

fn text(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn encode_cursor(seq: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!({"sort_seq": seq, "id": id}).to_string())
}

fn decode_cursor(cursor: &str) -> ApiResult<(i64, String)> {
    let invalid = || ApiError::new(StatusCode::BAD_REQUEST, "Invalid gallery cursor");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim().trim_end_matches('=')).map_err(|_| invalid())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let seq = value.get("sort_seq").and_then(|s| s.as_i64()).ok_or_else(invalid)?;
    let id = value.get("id").and_then(|s| s.as_str()).ok_or_else(invalid)?;
    Ok((seq, id.to_string()))
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "gallery store");
    ApiError::internal()
}

async fn list(state: &AppState, query: GalleryQuery) -> ApiResult<GalleryResponse> {
    let started = Instant::now();
    let config = state.settings.current();
    let direction = query.direction.as_deref().map(|d| d.trim().to_ascii_lowercase()).unwrap_or_else(|| "next".into());
    if direction != "next" && direction != "prev" {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "Invalid gallery cursor direction"));
    }
    let filter = filter_of(&query.prompt, &query.model, &query.preset, &query.size, &query.date_from, &query.date_to)
        .map(|filter| GalleryFilter { favorite: query.favorite, ..filter })?;
    let requested = query.page.unwrap_or(1).max(1) as u64;
    let size = query.page_size.unwrap_or(9).clamp(1, 100) as u64;
    let include_counts = query.include_counts.unwrap_or(true);
    let db = &state.db;

    let version = store::version(db).await.map_err(store_failed)?;
    let cache_key = format!("{filter:?}");
    let mut counted = state.gallery_counts.get(&cache_key, version);
    // Each part's time, for the slow-query log (0 when the part was skipped or cached).
    let (mut count_ms, mut total_bytes_ms, mut filter_options_ms) = (0.0, 0.0, 0.0);
    let total = match (include_counts, counted.total) {
        (false, _) => 0,
        (true, Some(total)) => total,
        (true, None) => {
            let part = Instant::now();
            let total = store::count(db, &filter).await.map_err(store_failed)?;
            count_ms = ms_since(part);
            counted.total = Some(total);
            total
        }
    };
    let counted_pages = total.div_ceil(size).max(1);
    let page = if include_counts { requested.min(counted_pages) } else { requested };
    let cursor = text(&query.cursor).map(|c| decode_cursor(&c)).transpose()?;
    let start = match (&cursor, direction.as_str()) {
        (Some((seq, id)), "prev") => PageStart::Before(*seq, id.clone()),
        (Some((seq, id)), _) => PageStart::After(*seq, id.clone()),
        // A page past any gallery is empty, never an overflow.
        (None, _) => PageStart::Offset((page - 1).saturating_mul(size).min(i64::MAX as u64)),
    };
    let db_started = Instant::now();
    let query_start = match start {
        // A deep page starts at a row remembered for this listing until the gallery changes.
        PageStart::Offset(offset) if offset > 0 => {
            let seq = match state.gallery_counts.anchor(&cache_key, offset, version) {
                Some(seq) => Some(seq),
                None => {
                    let seq = store::seq_at(db, &filter, offset).await.map_err(store_failed)?;
                    if let Some(seq) = seq {
                        state.gallery_counts.put_anchor(cache_key.clone(), offset, version, seq);
                    }
                    seq
                }
            };
            seq.map_or(PageStart::Offset(offset), PageStart::From)
        }
        ref other => other.clone(),
    };
    let part = Instant::now();
    let found = store::page(db, &filter, &query_start, size).await.map_err(store_failed)?;
    let rows_ms = ms_since(part);
    let db_ms = ms_since(db_started);
    let (first, last) =
        (found.rows.first().map(|r| (r.sort_seq, r.id.clone())), found.rows.last().map(|r| (r.sort_seq, r.id.clone())));
    let (has_prev, has_next) = match &start {
        PageStart::Offset(_) | PageStart::From(_) => {
            (page > 1, if include_counts { page < counted_pages } else { found.more })
        }
        PageStart::After(..) => {
            let prev = match &first {
                Some((seq, id)) => store::exists_beyond(db, &filter, *seq, id, true).await.map_err(store_failed)?,
                None => false,
            };
            (prev, found.more)
        }
        PageStart::Before(..) => {
            let next = match &last {
                Some((seq, id)) => store::exists_beyond(db, &filter, *seq, id, false).await.map_err(store_failed)?,
                None => false,
            };
            (found.more, next)
        }
    };
    let total_pages = if include_counts { counted_pages } else { (requested + u64::from(has_next)).max(1) };
    let total_bytes = match (query.include_total_bytes.unwrap_or(false), counted.total_bytes) {
        (false, _) => 0,
        (true, Some(bytes)) => bytes,
        (true, None) => {
            let part = Instant::now();
            let bytes = store::total_bytes(db, &filter).await.map_err(store_failed)?;
            total_bytes_ms = ms_since(part);
            counted.total_bytes = Some(bytes);
            bytes
        }
    };
    state.gallery_counts.put(cache_key, version, counted);
    let include_filter_options = query.include_filter_options.unwrap_or(true);
    let filter_options = if include_filter_options {
        let part = Instant::now();
        let (models, presets, sizes) = store::filter_options(db).await.map_err(store_failed)?;
        filter_options_ms = ms_since(part);
        FilterOptions { models, presets, sizes }
    } else {
        FilterOptions { models: Vec::new(), presets: Vec::new(), sizes: Vec::new() }
    };
    let filenames: Vec<String> = found.rows.iter().map(|r| r.filename.clone()).collect();
    let queued = store::queued_thumbnails(db, &filenames).await.map_err(store_failed)?;
    let images: Vec<GalleryEntry> = found
        .rows
        .into_iter()
        .map(|row| {
            let waiting = queued.contains(&row.filename);
            GalleryEntry::new(row, &config, waiting)
        })
        .collect();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    state.metrics.incr("gallery.requests");
    state.metrics.observe_ms("gallery.request", elapsed_ms);
    state.metrics.observe_ms("gallery.db_query", db_ms);
    state.metrics.observe_ms("gallery.rows", rows_ms);
    for (name, taken) in [("gallery.count", count_ms), ("gallery.total_bytes", total_bytes_ms)] {
        if taken > 0.0 {
            state.metrics.observe_ms(name, taken);
        }
    }
    if include_filter_options {
        state.metrics.observe_ms("gallery.filter_options", filter_options_ms);
    }
    if elapsed_ms >= config.slow_gallery_query_ms as f64 {
        state.metrics.incr("gallery.slow_queries");
        // The prompt itself is never logged: only whether there was one, its length and a hash.
        let prompt = filter.prompt.as_deref();
        let hash = prompt.map(|p| panel_actors::hex::encode(&sha2::Sha256::digest(p.as_bytes())));
        tracing::warn!(
            elapsed_ms, db_query_ms = db_ms, rows_ms, count_ms, total_bytes_ms, filter_options_ms, page,
            page_size = size, total, cursor = cursor.is_some(), %direction, include_counts, include_filter_options,
            prompt_present = prompt.is_some(), prompt_len = prompt.map_or(0, |p| p.chars().count()),
            prompt_hash = hash.as_deref().unwrap_or("null"), model = ?filter.model, preset = ?filter.preset, size_filter = ?filter.size,
            date_from = ?filter.created_from, date_to = ?filter.created_to, favorite = ?filter.favorite,
            "Slow /api/gallery query"
        );
    }
    Ok(GalleryResponse {
        total,
        total_bytes,
        page,
        page_size: size,
        total_pages,
        has_prev,
        has_next,
        next_cursor: if has_next { last.map(|(seq, id)| encode_cursor(seq, &id)) } else { None },
        prev_cursor: if has_prev { first.map(|(seq, id)| encode_cursor(seq, &id)) } else { None },
        images,
        filter_options,
    })
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Gallery entry not found")
}

/// Removes an image file and its thumbnail; failures are logged (startup GC retries).
fn remove_files(state: &AppState, filename: &str) -> bool {
    let config = state.settings.current();
    let removed = std::fs::remove_file(config.images_dir.join(filename)).is_ok();
    let _ = std::fs::remove_file(config.thumbnails_dir.join(panel_actors::media::thumbs::thumbnail_name(filename)));
    if !removed {
        tracing::warn!(%filename, "image file could not be removed");
    }
    removed
}

async fn entry(state: &AppState, row: store::GalleryRow) -> ApiResult<GalleryEntry> {
    let queued =
        store::queued_thumbnails(&state.db, std::slice::from_ref(&row.filename)).await.map_err(store_failed)?;
    let waiting = queued.contains(&row.filename);
    Ok(GalleryEntry::new(row, &state.settings.current(), waiting))
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl GalleryApi {
    /// Gallery images, newest first, with optional filters and page or cursor pagination.
    #[oai(path = "/api/gallery", method = "get", operation_id = "list_gallery")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        page: Query<Option<IntParam<1, { i64::MAX }>>>,
        page_size: Query<Option<IntParam<1, 100>>>,
        prompt: Query<Option<TextParam<4000>>>,
        model: Query<Option<TextParam<200>>>,
        preset: Query<Option<TextParam<200>>>,
        size: Query<Option<TextParam<64>>>,
        date_from: Query<Option<TextParam<64>>>,
        date_to: Query<Option<TextParam<64>>>,
        favorite: Query<Option<BoolParam>>,
        include_total_bytes: Query<Option<BoolParam>>,
        include_counts: Query<Option<BoolParam>>,
        include_filter_options: Query<Option<BoolParam>>,
        cursor: Query<Option<TextParam<512>>>,
        direction: Query<Option<String>>,
    ) -> ApiResult<Json<GalleryResponse>> {
        let query = GalleryQuery {
            page: parse_int("page", raw(page.0))?,
            page_size: parse_int("page_size", raw(page_size.0))?,
            prompt: raw(prompt.0),
            model: raw(model.0),
            preset: raw(preset.0),
            size: raw(size.0),
            date_from: raw(date_from.0),
            date_to: raw(date_to.0),
            favorite: parse_bool("favorite", raw(favorite.0))?,
            include_total_bytes: parse_bool("include_total_bytes", raw(include_total_bytes.0))?,
            include_counts: parse_bool("include_counts", raw(include_counts.0))?,
            include_filter_options: parse_bool("include_filter_options", raw(include_filter_options.0))?,
            cursor: raw(cursor.0),
            direction: direction.0,
        };
        let as_json = serde_json::to_value(&query).map_err(|_| ApiError::internal())?;
        let problems = super::schema_check::problems::<GalleryQuery>(&as_json);
        if !problems.is_empty() {
            let detail = problems.iter().map(|(f, m)| format!("query.{f} - {m}")).collect::<Vec<_>>().join("; ");
            return Err(ApiError::validation(detail));
        }
        Ok(Json(list(&state, query).await?))
    }

    /// The same listing with the query in a JSON body.
    #[oai(path = "/api/gallery/search", method = "post", operation_id = "search_gallery")]
    async fn search(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<GalleryQuery>,
    ) -> ApiResult<Json<GalleryResponse>> {
        Ok(Json(list(&state, body.0).await?))
    }

    /// Delete every gallery image and its files.
    #[oai(path = "/api/gallery", method = "delete", operation_id = "delete_gallery")]
    async fn delete_all(&self, state: Data<&Arc<AppState>>) -> ApiResult<Json<StatusMessage>> {
        let (rows, filenames) = store::delete_all(&state.db).await.map_err(store_failed)?;
        let files = filenames.iter().filter(|name| remove_files(&state, name)).count();
        Ok(Json(StatusMessage::new("ok", format!("Deleted {files} image file(s) and {rows} gallery entries"))))
    }

    /// One gallery entry.
    #[oai(path = "/api/gallery/:image_id", method = "get", operation_id = "get_gallery_entry")]
    async fn get(&self, state: Data<&Arc<AppState>>, image_id: Path<String>) -> ApiResult<Json<GalleryEntry>> {
        let row = store::get(&state.db, &image_id.0).await.map_err(store_failed)?.ok_or_else(not_found)?;
        Ok(Json(entry(&state, row).await?))
    }

    /// Mark or unmark an image as a favorite; returns the updated entry.
    #[oai(path = "/api/gallery/:image_id/favorite", method = "patch", operation_id = "set_gallery_favorite")]
    async fn favorite(
        &self,
        state: Data<&Arc<AppState>>,
        image_id: Path<String>,
        body: StrictJson<FavoriteBody>,
    ) -> ApiResult<Json<GalleryEntry>> {
        let row = store::set_favorite(&state.db, &image_id.0, body.0.favorite)
            .await
            .map_err(store_failed)?
            .ok_or_else(not_found)?;
        Ok(Json(entry(&state, row).await?))
    }

    /// Delete an image: its row first, then its file and thumbnail (kept while another row uses them).
    #[oai(path = "/api/gallery/:image_id", method = "delete", operation_id = "delete_gallery_entry")]
    async fn delete(&self, state: Data<&Arc<AppState>>, image_id: Path<String>) -> ApiResult<Json<StatusMessage>> {
        let (row, last_user) =
            store::delete(&state.db, &image_id.0).await.map_err(store_failed)?.ok_or_else(not_found)?;
        let files = usize::from(last_user && remove_files(&state, &row.filename));
        Ok(Json(StatusMessage::new("ok", format!("Deleted gallery entry and {files} image file(s)"))))
    }
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_date_pattern_accepts_exactly_what_the_filter_parses() {
        let pattern = regex_lite::Regex::new(DATE_FILTER_PATTERN).unwrap();
        let parses = |v: &str| v.trim().is_empty() || date_bound(v.trim(), false).is_ok();
        for value in [
            "",
            "  ",
            "2026-01-31",
            " 2026-12-06 ",
            "2024-02-29",
            "2000-02-29",
            "2026-01-01T10:00",
            "2026-01-01T10:00:05",
            "2026-01-01T10:00:05.123",
            "2026-01-01 10:00:05.5",
            "2026-01-01T02:00:00+02:00",
            "2026-01-01T02:00:00Z",
            "2026-01-01 02:00:00z",
            "2026-02-30",
            "1900-02-29",
            "2026-13-01",
            "2026-1-01",
            "2026-01-01T24:00",
            "2026-01-01T10:00Z",
            "2026-01-01 10:00",
            "20260101",
            "0000000000",
            "2026-01-01T",
        ] {
            assert_eq!(pattern.is_match(value), parses(value), "{value:?}");
        }
    }
}
