//! Request body limits by route group, counting real bytes (chunked bodies included), checked before
//! anything else so an oversized upload costs nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use poem::{Body, Request};

use crate::api::error::ApiError;
use crate::settings::Config;

const MIB: u64 = 1024 * 1024;

/// The byte limit for a request, first matching rule wins.
pub fn limit_for(path: &str, content_type: Option<&str>, config: &Config) -> u64 {
    if path.starts_with("/api/import") {
        return config.import_archive_max_bytes;
    }
    let media_type = content_type.and_then(|ct| ct.split(';').next()).map(|ct| ct.trim().to_ascii_lowercase());
    // Plain form fields are read whole, so they get the JSON limit, not the uploads'.
    if path.starts_with("/api/edits") && media_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return config.max_file_size_bytes.saturating_mul(16).saturating_add(MIB);
    }
    match media_type {
        Some(ct) if ct == "application/json" || ct.ends_with("+json") || ct == "application/x-www-form-urlencoded" => {
            config.max_json_body_bytes
        }
        _ => config.max_file_size_bytes,
    }
}

/// Refuses a declared length over `limit` at once; otherwise wraps the body so reading past `limit`
/// fails. The returned flag tells the caller the limit tripped while the handler read the body.
pub fn enforce(req: &mut Request, limit: u64) -> Result<Arc<AtomicBool>, ApiError> {
    let declared = req.header("content-length").and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::too_large());
    }
    let tripped = Arc::new(AtomicBool::new(false));
    let flag = tripped.clone();
    let mut seen = 0u64;
    let limited = req.take_body().into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > limit {
            flag.store(true, Ordering::SeqCst);
            Err(std::io::Error::other("request body too large"))
        } else {
            Ok(chunk)
        }
    });
    req.set_body(Body::from_bytes_stream(limited));
    Ok(tripped)
}
