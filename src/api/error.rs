//! The contract's error envelope (E1–E3): every error leaves the server as
//! `{"status":"error","error_code","correlation_id","detail","message","error"}`.
//! Handlers return `ApiError`; the security layer renders it with the request's correlation id.

use poem::http::{HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::{ApiResponse, Object};

#[derive(Debug, Clone, thiserror::Error)]
#[error("{detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Seconds for a `Retry-After` header (lockouts, full queues).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error whose `error_code` follows from its status, as the contract's table says.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError { status, code: code_for(status), detail: detail.into(), retry_after: None }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn validation(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }

    pub fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not found")
    }

    /// An unexpected failure: logged by the caller, never described to the client.
    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    pub fn too_large() -> Self {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
    }

    /// The envelope, with the headers every error carries.
    pub fn render(&self, correlation_id: &str) -> Response {
        let body = ErrorBody {
            status: "error".to_string(),
            error_code: self.code.to_string(),
            correlation_id: correlation_id.to_string(),
            detail: self.detail.clone(),
            message: self.detail.clone(),
            error: self.detail.clone(),
        };
        let mut response = poem::web::Json(body).with_status(self.status).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert("retry-after", HeaderValue::from(seconds));
        }
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        response
    }
}

/// The machine code for a status, as the previous panel's clients expect it.
pub fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "authentication_required",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "request_too_large",
        415 => "unsupported_media_type",
        422 => "validation_error",
        429 => "rate_limited",
        502 => "upstream_error",
        503 => "service_unavailable",
        504 => "upstream_timeout",
        s if s >= 500 => "internal_error",
        _ => "request_rejected",
    }
}

impl From<ApiError> for poem::Error {
    fn from(err: ApiError) -> Self {
        let status = err.status;
        poem::Error::new(err, status)
    }
}

/// Every error response body.
#[derive(Debug, Clone, Object, serde::Serialize)]
pub struct ErrorBody {
    /// Always `error`.
    pub status: String,
    /// Machine-readable code such as `validation_error` or `rate_limited`.
    pub error_code: String,
    /// 32 hex characters, also sent as `X-Correlation-ID`; quote it when reporting a problem.
    pub correlation_id: String,
    /// Human-readable message; `message` and `error` repeat it for older clients.
    pub detail: String,
    pub message: String,
    pub error: String,
}

/// How the common error statuses appear in the OpenAPI document.
#[derive(ApiResponse)]
#[allow(dead_code)]
enum ErrorDocs {
    /// The request is malformed or the Host is not allowed.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The access key is missing, wrong or expired.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The client IP or the request origin is not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Nothing exists at this path.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request body is larger than the configured limit.
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// The request failed validation; `detail` lists `field - problem` pairs joined by `; `.
    #[oai(status = 422)]
    Invalid(Json<ErrorBody>),
    /// Too many attempts or a full queue; see `Retry-After`.
    #[oai(status = 429)]
    TooMany(Json<ErrorBody>),
    /// An unexpected server error.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        ErrorDocs::meta()
    }

    fn register(registry: &mut Registry) {
        ErrorDocs::register(registry);
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Renders framework errors (unknown route, wrong method, unparsable parameters) and handler errors
/// alike. Unexpected errors are logged with the correlation id and described to nobody.
pub fn from_poem_error(err: poem::Error, correlation_id: &str) -> ApiError {
    use poem::error::{MethodNotAllowedError, NotFoundError};
    use poem_openapi::error::{
        ContentTypeError, ParseMultipartError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };

    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone();
    }
    if err.is::<NotFoundError>() {
        return ApiError::not_found();
    }
    if err.is::<MethodNotAllowedError>() {
        return ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    if let Some(param) = err.downcast_ref::<ParseParamError>() {
        return ApiError::validation(format!("{} - {}", param.name, param.reason));
    }
    if let Some(path) = err.downcast_ref::<ParsePathError>() {
        return ApiError::validation(format!("{} - {}", path.name, path.reason));
    }
    if let Some(payload) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::validation(payload.reason.clone());
    }
    if let Some(multipart) = err.downcast_ref::<ParseMultipartError>() {
        return ApiError::validation(multipart.reason.clone());
    }
    if err.is::<ContentTypeError>() {
        return ApiError::validation(err.to_string());
    }
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(%correlation_id, error = %err, "unhandled error");
        return ApiError::internal();
    }
    ApiError::new(status, err.to_string())
}
