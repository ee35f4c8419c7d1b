//! Edits: `POST /api/edits` (one to 16 uploaded sources) and `POST /api/edits/from-gallery/{image_id}`
//! (a gallery image first, plus optional uploads). Both take a multipart form with the generation
//! fields (`prompt`, `size`, `model`, `n`, `quality`, `output_format`, `output_compression`,
//! `response_format`, `webhook_url`) and file parts named `image` or `image[]`.

use std::sync::Arc;

use panel_actors::store::gallery;
use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;

use super::ApiTags;
use super::edit_multipart::{EditMultipart, GalleryEditBody};
use super::edit_uploads::{EditForm, Staged, read_form, stage_gallery_file};
use super::error::{ApiError, ApiResult};
use super::generate::{GenerateResponse, JobParams, StagedSource, admit_job};
use super::generate_request::GenerateBody;
use super::strict_json::Validate;
use crate::app::AppState;

pub struct EditsApi;

/// The text fields, checked with the same rules and messages as `POST /api/generate`. Empty values
/// count as absent.
fn params(fields: &std::collections::HashMap<String, String>) -> ApiResult<JobParams> {
    let field = |name: &str| fields.get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let prompt = fields
        .get("prompt")
        .filter(|p| !p.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::validation("prompt - Field required"))?;
    let n = match field("n") {
        None => 1,
        Some(text) => text.parse().map_err(|_| {
            ApiError::validation("n - Input should be a valid integer, unable to parse string as an integer")
        })?,
    };
    let output_compression = match field("output_compression") {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            ApiError::validation(
                "output_compression - Input should be a valid integer, unable to parse string as an integer",
            )
        })?),
    };
    let body = GenerateBody {
        prompt,
        size: field("size").unwrap_or_else(|| "auto".into()),
        model: field("model"),
        n,
        quality: field("quality").unwrap_or_else(|| "auto".into()),
        output_format: field("output_format").unwrap_or_else(|| "png".into()),
        output_compression,
        response_format: field("response_format").map(Some),
        webhook_url: field("webhook_url"),
        api_path: None,
    };
    // The form's fields meet the same declared constraints and checks as the JSON body.
    let as_json = serde_json::to_value(&body).map_err(|_| ApiError::internal())?;
    let mut problems = super::schema_check::problems::<GenerateBody>(&as_json);
    problems.extend(body.validate());
    if !problems.is_empty() {
        let detail = problems.iter().map(|(f, m)| format!("{f} - {m}")).collect::<Vec<_>>().join("; ");
        return Err(ApiError::validation(detail));
    }
    Ok(JobParams {
        operation: "edit",
        prompt: body.prompt,
        size: body.size,
        model: body.model,
        n: body.n,
        quality: body.quality,
        output_format: body.output_format,
        output_compression: body.output_compression,
        response_format: body.response_format,
        webhook_url: body.webhook_url,
        api_path: None,
    })
}

async fn start(
    state: &AppState,
    req: &Request,
    form: EditForm,
    first: Option<StagedSource>,
) -> ApiResult<GenerateResponse> {
    // Staged first, so every refusal below removes the files.
    let mut staged = Staged(first.into_iter().collect());
    staged.0.extend(form.staged.keep());
    let params = params(&form.fields)?;
    if staged.0.is_empty() {
        return Err(ApiError::validation("Upload image is required."));
    }
    // The dispatcher takes the files over once the job is admitted; on refusal they are deleted here.
    let queued = admit_job(state, req, params, staged.0.clone()).await?;
    staged.keep();
    Ok(GenerateResponse::Accepted(Json(queued)))
}

#[OpenApi(tag = "ApiTags::Jobs")]
impl EditsApi {
    /// Start an image edit job from uploaded images (multipart: `image` for one, `image[]` for several).
    #[oai(path = "/api/edits", method = "post", operation_id = "edit")]
    async fn edit(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        form: EditMultipart,
    ) -> ApiResult<GenerateResponse> {
        let config = state.settings.current();
        let staging = config.data_dir.join("edit-sources");
        let form = read_form(form.0, &staging, config.max_file_size_bytes, config.max_image_pixels, 0).await?;
        start(&state, req, form, None).await
    }

    /// Start an image edit job from a gallery image, optionally with more uploaded images after it.
    #[oai(path = "/api/edits/from-gallery/:image_id", method = "post", operation_id = "edit_from_gallery")]
    async fn edit_from_gallery(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        image_id: Path<String>,
        body: GalleryEditBody,
    ) -> ApiResult<GenerateResponse> {
        let config = state.settings.current();
        let staging = config.data_dir.join("edit-sources");
        let form = match body {
            GalleryEditBody::Multipart(multipart) => {
                read_form(multipart, &staging, config.max_file_size_bytes, config.max_image_pixels, 1).await?
            }
            GalleryEditBody::Fields(fields) => EditForm { fields, staged: Staged::default() },
        };
        let row = gallery::get(&state.db, &image_id.0)
            .await
            .map_err(|_| ApiError::internal())?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "Gallery entry not found"))?;
        let source = config.images_dir.join(&row.filename);
        let first =
            stage_gallery_file(&source, &staging, &row.filename, config.max_file_size_bytes, config.max_image_pixels)
                .await?;
        start(&state, req, form, Some(first)).await
    }
}
