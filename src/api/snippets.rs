//! Prompt snippets: saved prompts with titles and favorites, searchable by title or prompt.

use std::sync::Arc;

use chrono::SecondsFormat;
use panel_actors::store::snippets::{self as store, Model};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::{Deserialize, Deserializer};

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::query_params::{TextParam, raw};
use super::status_message::StatusMessage;
use super::strict_json::{StrictJson, Validate};
use crate::app::AppState;

pub struct SnippetsApi;

const QUERY_MAX: usize = 4000;

#[derive(Debug, Object)]
pub struct Snippet {
    /// `ps_` followed by 16 URL-safe characters.
    pub id: String,
    pub title: String,
    pub prompt: String,
    pub favorite: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Object)]
pub struct SnippetList {
    pub snippets: Vec<Snippet>,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct SnippetCreate {
    #[oai(validator(min_length = 1, max_length = 160, pattern = r"\S"))]
    pub title: String,
    #[oai(validator(min_length = 1, max_length = 4000, pattern = r"\S"))]
    pub prompt: String,
    #[serde(default, deserialize_with = "lax_bool")]
    #[oai(default)]
    pub favorite: bool,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct SnippetPatch {
    #[oai(nullable, validator(min_length = 1, max_length = 160, pattern = r"\S"))]
    pub title: Option<String>,
    #[oai(nullable, validator(min_length = 1, max_length = 4000, pattern = r"\S"))]
    pub prompt: Option<String>,
    #[serde(default, deserialize_with = "lax_optional_bool")]
    #[oai(nullable)]
    pub favorite: Option<bool>,
}

#[derive(Debug, Object, Deserialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct SnippetSearch {
    #[serde(default)]
    #[oai(default, validator(max_length = 4000))]
    pub query: String,
}

impl Validate for SnippetCreate {}

impl Validate for SnippetPatch {}

impl Validate for SnippetSearch {}

/// Booleans as the previous panel accepted them: JSON booleans, 0/1, and yes/no, on/off, true/false text.
fn parse_lax_bool(value: &serde_json::Value) -> Option<bool> {
    match value {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        serde_json::Value::String(s) => crate::settings::parse_bool(s),
        _ => None,
    }
}

fn lax_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    parse_lax_bool(&value).ok_or_else(|| serde::de::Error::custom("Input should be a valid boolean"))
}

fn lax_optional_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    parse_lax_bool(&value).map(Some).ok_or_else(|| serde::de::Error::custom("Input should be a valid boolean"))
}

fn to_snippet(row: Model) -> Snippet {
    let stamp = |text: &str| {
        panel_actors::store::time::from_db(text)
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Micros, false))
            .unwrap_or_else(|| text.to_string())
    };
    Snippet {
        created_at: stamp(&row.created_at),
        updated_at: stamp(&row.updated_at),
        id: row.id,
        title: row.title,
        prompt: row.prompt,
        favorite: row.favorite,
    }
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Prompt snippet not found")
}

fn store_failed(err: panel_actors::store::StoreError) -> ApiError {
    tracing::error!(error = %err, "prompt snippet store");
    ApiError::internal()
}

async fn list(state: &AppState, query: &str) -> ApiResult<Json<SnippetList>> {
    let rows = store::list(&state.db, query).await.map_err(store_failed)?;
    Ok(Json(SnippetList { snippets: rows.into_iter().map(to_snippet).collect() }))
}

#[OpenApi(tag = "ApiTags::Snippets")]
impl SnippetsApi {
    /// Every snippet, or those whose title or prompt contains `query` (case-insensitive).
    #[oai(path = "/api/prompt-snippets", method = "get", operation_id = "list_prompt_snippets")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        query: Query<Option<TextParam<QUERY_MAX>>>,
    ) -> ApiResult<Json<SnippetList>> {
        let query = raw(query.0).unwrap_or_default();
        if let Some((field, message)) =
            super::schema_check::problems::<SnippetSearch>(&serde_json::json!({ "query": query })).pop()
        {
            return Err(ApiError::validation(format!("{field} - {message}")));
        }
        list(&state, &query).await
    }

    /// The same search as `GET ?query=`, with the query in a JSON body.
    #[oai(path = "/api/prompt-snippets/search", method = "post", operation_id = "search_prompt_snippets")]
    async fn search(
        &self,
        state: Data<&Arc<AppState>>,
        body: StrictJson<SnippetSearch>,
    ) -> ApiResult<Json<SnippetList>> {
        list(&state, &body.0.query).await
    }

    /// Save a prompt as a snippet.
    #[oai(path = "/api/prompt-snippets", method = "post", operation_id = "create_prompt_snippet")]
    async fn create(&self, state: Data<&Arc<AppState>>, body: StrictJson<SnippetCreate>) -> ApiResult<Json<Snippet>> {
        use base64::Engine;
        let id = format!("ps_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>()));
        let body = body.0;
        let row = store::create(&state.db, &id, body.title.trim(), body.prompt.trim(), body.favorite)
            .await
            .map_err(store_failed)?;
        Ok(Json(to_snippet(row)))
    }

    /// Change a snippet's title, prompt or favorite flag; omitted or null fields stay as they are.
    #[oai(path = "/api/prompt-snippets/:snippet_id", method = "patch", operation_id = "update_prompt_snippet")]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        snippet_id: Path<String>,
        body: StrictJson<SnippetPatch>,
    ) -> ApiResult<Json<Snippet>> {
        let patch = body.0;
        let row = store::update(
            &state.db,
            &snippet_id.0,
            patch.title.as_deref().map(str::trim),
            patch.prompt.as_deref().map(str::trim),
            patch.favorite,
        )
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
        Ok(Json(to_snippet(row)))
    }

    /// Delete a snippet.
    #[oai(path = "/api/prompt-snippets/:snippet_id", method = "delete", operation_id = "delete_prompt_snippet")]
    async fn delete(&self, state: Data<&Arc<AppState>>, snippet_id: Path<String>) -> ApiResult<Json<StatusMessage>> {
        if !store::delete(&state.db, &snippet_id.0).await.map_err(store_failed)? {
            return Err(not_found());
        }
        Ok(Json(StatusMessage::new("ok", "Deleted prompt snippet")))
    }
}
