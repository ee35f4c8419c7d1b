//! Image bytes: `/api/image/{filename}`, `/api/download/{filename}` (as an attachment) and
//! `/api/thumb/{filename}` (the WebP thumbnail of that image, queued when missing). Only files a
//! gallery row references are served, streamed from disk with ETag, conditional and Range support,
//! or handed to nginx with `X-Accel-Redirect`.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use chrono::Utc;
use panel_actors::media::names::content_type;
use panel_actors::media::thumbs::thumbnail_name;
use panel_actors::store::gallery;
use poem::http::{HeaderValue, StatusCode};
use poem::web::{Data, StaticFileRequest, StaticFileResponse};
use poem::{IntoResponse, Response};
use poem_openapi::param::Path;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use super::error::{ApiError, ApiResult};
use super::gallery_view::safe_filename;
use super::job_view::encode_segment;
use crate::app::AppState;

pub struct MediaApi;

const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// A file response built by hand (status, ranges and validators vary).
pub struct FileReply(Response);

impl IntoResponse for FileReply {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for FileReply {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file's bytes; `Range` requests get 206, a matching `If-None-Match` 304.",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/octet-stream",
                    schema: <poem_openapi::types::Binary<Vec<u8>> as Type>::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// The file under `dir`, refusing anything whose real path (symlinks resolved) leaves `dir`.
fn inside(dir: &FsPath, name: &str) -> Option<PathBuf> {
    let root = dir.canonicalize().ok()?;
    let path = root.join(name).canonicalize().ok()?;
    (path.starts_with(&root) && path.is_file()).then_some(path)
}

fn image_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Image not found")
}

/// Checks the name, the gallery reference and the file; returns the file's path.
async fn referenced_image(state: &AppState, filename: &str) -> ApiResult<PathBuf> {
    if !safe_filename(filename, false) {
        return Err(image_not_found());
    }
    let used = gallery::filename_in_use(&state.db, filename).await.map_err(|_| ApiError::internal())?;
    if !used {
        return Err(image_not_found());
    }
    inside(&state.settings.current().images_dir, filename).ok_or_else(image_not_found)
}

/// Streams `path` (or hands it to nginx), with the media headers.
fn serve(
    state: &AppState,
    file: StaticFileRequest,
    path: &FsPath,
    accel: String,
    kind: &'static str,
) -> ApiResult<Response> {
    let mut response = if state.settings.current().nginx_accel_redirect {
        let mut response = Response::builder().status(StatusCode::OK).body(());
        let value = HeaderValue::from_str(&accel).map_err(|_| ApiError::internal())?;
        response.headers_mut().insert("x-accel-redirect", value);
        response
    } else {
        match file.create_response(path, false, false) {
            Ok(StaticFileResponse::NotModified) => Response::builder().status(StatusCode::NOT_MODIFIED).finish(),
            Ok(ok) => ok.into_response(),
            Err(poem::error::StaticFileError::RangeNotSatisfiable { size }) => {
                let mut response = Response::builder().status(StatusCode::RANGE_NOT_SATISFIABLE).finish();
                response
                    .headers_mut()
                    .insert("content-range", HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"));
                response
            }
            Err(poem::error::StaticFileError::PreconditionFailed) => {
                Response::builder().status(StatusCode::PRECONDITION_FAILED).finish()
            }
            Err(_) => return Err(image_not_found()),
        }
    };
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(kind));
    headers.insert("cache-control", HeaderValue::from_static(IMMUTABLE));
    Ok(response)
}

#[OpenApi(tag = "ApiTags::Gallery")]
impl MediaApi {
    /// A gallery image.
    #[oai(path = "/api/image/:filename", method = "get", operation_id = "get_image")]
    async fn image(
        &self,
        state: Data<&Arc<AppState>>,
        filename: Path<String>,
        file: StaticFileRequest,
    ) -> ApiResult<FileReply> {
        let path = referenced_image(&state, &filename.0).await?;
        let accel = format!("/_protected/images/{}", encode_segment(&filename.0));
        Ok(FileReply(serve(&state, file, &path, accel, content_type(&filename.0))?))
    }

    /// A gallery image as a download (`gpt-image-<UTC time>.<ext>`).
    #[oai(path = "/api/download/:filename", method = "get", operation_id = "download_image")]
    async fn download(
        &self,
        state: Data<&Arc<AppState>>,
        filename: Path<String>,
        file: StaticFileRequest,
    ) -> ApiResult<FileReply> {
        let path = referenced_image(&state, &filename.0).await?;
        let accel = format!("/_protected/images/{}", encode_segment(&filename.0));
        let mut response = serve(&state, file, &path, accel, content_type(&filename.0))?;
        let extension =
            FsPath::new(&filename.0).extension().and_then(|e| e.to_str()).unwrap_or("png").to_ascii_lowercase();
        let name = format!("gpt-image-{}.{extension}", Utc::now().format("%Y%m%d_%H%M%S"));
        let disposition =
            HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).map_err(|_| ApiError::internal())?;
        response.headers_mut().insert("content-disposition", disposition);
        Ok(FileReply(response))
    }

    /// The WebP thumbnail of a gallery image (by the image's file name). A missing thumbnail is queued
    /// and answers 404 until it is ready.
    #[oai(path = "/api/thumb/:filename", method = "get", operation_id = "get_thumbnail")]
    async fn thumbnail(
        &self,
        state: Data<&Arc<AppState>>,
        filename: Path<String>,
        file: StaticFileRequest,
    ) -> ApiResult<FileReply> {
        referenced_image(&state, &filename.0).await?;
        let config = state.settings.current();
        let name = thumbnail_name(&filename.0);
        match inside(&config.thumbnails_dir, &name) {
            Some(path) => {
                let accel = format!("/_protected/thumbs/{}", encode_segment(&name));
                Ok(FileReply(serve(&state, file, &path, accel, "image/webp")?))
            }
            None => {
                gallery::queue_thumbnail(&state.db, &filename.0).await.map_err(|_| ApiError::internal())?;
                state.engine.thumbnail_wanted();
                Err(ApiError::new(StatusCode::NOT_FOUND, "Thumbnail not found"))
            }
        }
    }
}
