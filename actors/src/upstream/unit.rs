//! One unit of a job: the upstream call, finding the image in the reply, downloading or decoding it,
//! full validation and writing the file. The gallery row is written by the dispatcher afterwards, so a
//! cancelled job never gains an image.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::guard::{Policy, Purpose, vet};
use super::protocols::{self, ImageRequest, ImageSource, preview, status_error};
use super::transport::Transport;
use crate::media::shrink::Preview;
use crate::media::validate::decode;

const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(600);
const MAX_REDIRECTS: usize = 3;

/// A staged edit source, sent upstream with every unit of its job.
#[derive(Debug, Clone)]
pub struct EditSource {
    pub path: PathBuf,
    /// The name the client uploaded (or the gallery file name).
    pub filename: String,
    pub content_type: String,
}

/// Everything a unit needs, resolved when the job was admitted (the key is never stored).
#[derive(Debug, Clone)]
pub struct UnitSpec {
    /// Edit sources; empty for generations.
    pub sources: Vec<EditSource>,
    pub url: String,
    pub api_path: String,
    pub api_key: Option<String>,
    pub socks5_proxy: Option<String>,
    pub request: ImageRequest,
    pub allow_private: bool,
    pub host_allowlist: Vec<String>,
    pub max_upstream_json_bytes: u64,
    pub max_file_bytes: u64,
    /// `MAX_UPSTREAM_IMAGE_BYTES_PER_TASK_MB`: decoded image bytes one task may produce.
    pub max_task_image_bytes: u64,
    pub max_image_pixels: u64,
    pub images_dir: PathBuf,
    /// `THUMBNAIL_MAX_SIDE`: the decoded image is shrunk to this for its thumbnail.
    pub thumbnail_max_side: u32,
}

/// A validated image written to `images_dir`.
#[derive(Debug, Clone)]
pub struct SavedImage {
    pub image_id: String,
    pub filename: String,
    pub path: PathBuf,
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub sha256: String,
    /// The pixels for the thumbnail, so the thumbnailer need not decode the file again.
    pub preview: Option<Arc<Preview>>,
}

/// How a unit failed: `upstream_error` for what the upstream did, `error` for everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitFailure {
    Upstream(String),
    Error(String),
}

pub type Timings = BTreeMap<&'static str, f64>;

/// Runs the unit. `progress(stage, message)` is called at each step.
pub async fn run(
    spec: &UnitSpec,
    transport: &Transport,
    progress: impl Fn(&'static str, String),
) -> (Result<SavedImage, UnitFailure>, Timings) {
    let mut timings = Timings::new();
    let result = execute(spec, transport, &progress, &mut timings).await;
    let result = result.map_err(|failure| match failure {
        UnitFailure::Upstream(m) => UnitFailure::Upstream(redact(&m, spec)),
        UnitFailure::Error(m) => UnitFailure::Error(redact(&m, spec)),
    });
    (result, timings)
}

fn redact(message: &str, spec: &UnitSpec) -> String {
    let mut text = message.to_string();
    if let Some(key) = spec.api_key.as_deref().filter(|k| !k.is_empty()) {
        text = text.replace(key, "[REDACTED]");
    }
    text.chars().take(2000).collect()
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0
}

async fn execute(
    spec: &UnitSpec,
    transport: &Transport,
    progress: &impl Fn(&'static str, String),
    timings: &mut Timings,
) -> Result<SavedImage, UnitFailure> {
    let edit = !spec.sources.is_empty();
    let (stage, message) = match spec.api_path.as_str() {
        _ if edit => ("building_edit_form", "Building multipart edit request"),
        "/v1/responses" => ("building_responses_payload", "Building Responses API payload"),
        "/v1/chat/completions" => ("building_chat_completions_payload", "Building Chat Completions API payload"),
        _ => ("building_generation_payload", "Building image generation payload"),
    };
    progress(stage, message.into());
    let url = url::Url::parse(&spec.url).map_err(|e| UnitFailure::Error(format!("Invalid upstream URL: {e}")))?;
    let policy = Policy {
        purpose: Purpose::UpstreamApi,
        allowlist: spec.host_allowlist.clone(),
        allow_private: spec.allow_private,
    };
    vet(&url, &policy).await.map_err(|refused| UnitFailure::Error(refused.0))?;
    let client = client(spec, transport)?;
    let slot_for = url.clone();

    let mut call = client.post(url).header("user-agent", "opencode");
    if edit {
        let uploading = if spec.sources.len() == 1 {
            "Uploading source image and edit parameters"
        } else {
            "Uploading source images and edit parameters"
        };
        progress("uploading_edit_image", uploading.into());
        call = call.multipart(edit_form(spec).await?);
    } else {
        call = call.json(&protocols::generation_body(&spec.api_path, &spec.request));
        progress("waiting_for_api", "Waiting for upstream API response".into());
    }
    let started = Instant::now();
    if let Some(key) = &spec.api_key {
        call = call.bearer_auth(key);
    }
    // The wait for a connection slot counts as waiting for the upstream.
    let slot = transport.outbound_permit(&slot_for).await;
    let response = call.send().await.map_err(|e| UnitFailure::Error(describe(e)))?;
    // The reply, then at most one image of the task's budget, are held in memory until it is written.
    let reply_bytes =
        response.content_length().map_or(spec.max_upstream_json_bytes, |n| n.min(spec.max_upstream_json_bytes));
    let _memory = transport.memory_permit(reply_bytes.saturating_add(spec.max_task_image_bytes)).await;
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let text = read_text(response, spec.max_upstream_json_bytes, "Upstream JSON response").await?;
    drop(slot);
    progress("received_api_response", "Received upstream API response".into());
    if status >= 400 {
        return Err(UnitFailure::Upstream(status_error(status, &text, edit)));
    }
    let source = if spec.api_path == "/v1/chat/completions" {
        progress("parsing_json_response", "Parsing upstream response".into());
        let events = if looks_json(&content_type, &text) {
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
                UnitFailure::Upstream(format!("Upstream returned non-JSON ({status}): {}", preview(&text)))
            })?;
            if !value.is_object() {
                return Err(UnitFailure::Upstream("Upstream chat response must be an object".into()));
            }
            vec![value]
        } else if content_type.contains("text/event-stream") || text.trim_start().starts_with("data:") {
            protocols::parse_chat_sse(&text).map_err(UnitFailure::Upstream)?
        } else {
            return Err(UnitFailure::Upstream(format!(
                "Upstream returned unsupported content-type ({status}): {}",
                preview(&text)
            )));
        };
        progress("extracting_chat_completion_image_output", "Extracting Chat Completions image output".into());
        protocols::extract_chat(&events, &preview(&text)).map_err(UnitFailure::Upstream)?
    } else {
        progress("parsing_json_response", "Parsing JSON response".into());
        if !looks_json(&content_type, &text) {
            return Err(UnitFailure::Upstream(format!(
                "Upstream returned non-JSON content-type ({status}): {}",
                preview(&text)
            )));
        }
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| UnitFailure::Upstream(format!("Upstream returned non-JSON ({status}): {}", preview(&text))))?;
        if !value.is_object() {
            return Err(UnitFailure::Upstream("Upstream JSON response must be an object".into()));
        }
        if spec.api_path == "/v1/responses" && !edit {
            progress("extracting_response_image_output", "Extracting image_generation_call output".into());
            protocols::extract_responses(&value, &preview(&text)).map_err(UnitFailure::Upstream)?
        } else if edit {
            progress("extracting_edit_data", "Extracting edited image data array".into());
            protocols::extract_images_api(&value, &preview(&text)).map_err(UnitFailure::Upstream)?
        } else {
            progress("extracting_generation_data", "Extracting image data array".into());
            protocols::extract_images_api(&value, &preview(&text)).map_err(UnitFailure::Upstream)?
        }
    };
    timings.insert("upstream_wait", elapsed_ms(started));

    let started = Instant::now();
    let bytes = match source {
        ImageSource::Base64(data) => {
            progress("decoding_b64_json", "Decoding b64_json image (1/1)".into());
            decode_base64(&data, spec.max_file_bytes)?
        }
        ImageSource::Url(image_url) => {
            progress("downloading_image_url", "Downloading image URL (1/1)".into());
            download(&image_url, spec, transport).await?
        }
    };
    timings.insert("download_decode", elapsed_ms(started));
    // One unit makes one image, so the task's decoded bytes are this image's.
    if bytes.len() as u64 > spec.max_task_image_bytes {
        return Err(UnitFailure::Upstream(format!(
            "Decoded images exceed per-task byte budget: {} bytes (max {})",
            bytes.len(),
            spec.max_task_image_bytes
        )));
    }

    progress("validating_image_bytes", "Validating decoded image (1/1)".into());
    let started = Instant::now();
    let saved = save(bytes, spec).await?;
    timings.insert("validate", elapsed_ms(started));
    Ok(saved)
}

/// The edit request: every source first (`image` for one, `image[]` for several), streamed from disk,
/// then the same text fields as a generation.
async fn edit_form(spec: &UnitSpec) -> Result<reqwest::multipart::Form, UnitFailure> {
    let field = if spec.sources.len() == 1 { "image" } else { "image[]" };
    let mut form = reqwest::multipart::Form::new();
    for source in &spec.sources {
        let file = tokio::fs::File::open(&source.path)
            .await
            .map_err(|e| UnitFailure::Error(format!("Edit source is no longer available: {}", e.kind())))?;
        let length = file.metadata().await.map(|m| m.len()).unwrap_or(0);
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::from(file), length)
            .file_name(source.filename.clone())
            .mime_str(&source.content_type)
            .map_err(|e| UnitFailure::Error(describe(e)))?;
        form = form.part(field, part);
    }
    for (name, value) in protocols::images_fields(&spec.request) {
        let text = match value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        form = form.text(name, text);
    }
    Ok(form)
}

fn client(spec: &UnitSpec, transport: &Transport) -> Result<reqwest::Client, UnitFailure> {
    transport
        .upstream_client(spec.socks5_proxy.as_deref(), spec.allow_private, UPSTREAM_TIMEOUT)
        .map_err(|e| UnitFailure::Error(e.to_string()))
}

fn looks_json(content_type: &str, text: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media == "application/json" || media.ends_with("+json") || {
        let head: String = text.chars().take(2048).collect();
        let head = head.trim_start();
        head.starts_with('{') || head.starts_with('[')
    }
}

/// Reads a body as text, refusing more than `max` bytes (declared or streamed).
async fn read_text(response: reqwest::Response, max: u64, what: &str) -> Result<String, UnitFailure> {
    let too_large = |n: u64| UnitFailure::Upstream(format!("{what} too large: {n} bytes (max {max})"));
    if let Some(declared) = response.content_length().filter(|n| *n > max) {
        return Err(too_large(declared));
    }
    let bytes = read_capped(response, max, too_large).await?;
    String::from_utf8(bytes).map_err(|_| UnitFailure::Upstream(format!("{what} is not valid utf-8 text")))
}

async fn read_capped(
    response: reqwest::Response,
    max: u64,
    too_large: impl Fn(u64) -> UnitFailure,
) -> Result<Vec<u8>, UnitFailure> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| UnitFailure::Error(describe(e)))?;
        let total = (body.len() + chunk.len()) as u64;
        if total > max {
            return Err(too_large(total));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode_base64(data: &str, max_bytes: u64) -> Result<Vec<u8>, UnitFailure> {
    let limit = max_bytes.div_ceil(3) * 4 + 4;
    if data.len() as u64 > limit {
        return Err(UnitFailure::Upstream(format!(
            "Image too large: base64 payload is {} chars (max {limit})",
            data.len()
        )));
    }
    // Upstreams may wrap lines or add stray characters; copy only when there are some.
    let is_base64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let cleaned: std::borrow::Cow<[u8]> = if data.bytes().all(|b| is_base64(&b)) {
        data.as_bytes().into()
    } else {
        data.bytes().filter(is_base64).collect::<Vec<u8>>().into()
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(cleaned).map_err(|e| UnitFailure::Error(format!("Invalid base64 image data: {e}")))?;
    if bytes.len() as u64 > max_bytes {
        return Err(UnitFailure::Upstream(format!("Image too large: {} bytes (max {max_bytes})", bytes.len())));
    }
    Ok(bytes)
}

/// Downloads an image URL without credentials, re-checking every redirect hop against the SSRF rules.
async fn download(image_url: &str, spec: &UnitSpec, transport: &Transport) -> Result<Vec<u8>, UnitFailure> {
    let client = transport
        .guarded_client(spec.allow_private, UPSTREAM_TIMEOUT)
        .map_err(|e| UnitFailure::Error(e.to_string()))?;
    let policy = Policy { purpose: Purpose::ImageDownload, allowlist: Vec::new(), allow_private: spec.allow_private };
    let mut current = url::Url::parse(image_url)
        .map_err(|_| UnitFailure::Error(format!("Invalid image URL: {}", preview(image_url))))?;
    for _ in 0..=MAX_REDIRECTS {
        vet(&current, &policy).await.map_err(|refused| UnitFailure::Error(refused.0))?;
        let _slot = transport.outbound_permit(&current).await;
        let response = client
            .get(current.clone())
            .header("user-agent", "opencode")
            .send()
            .await
            .map_err(|e| UnitFailure::Error(describe(e)))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers().get("location").and_then(|v| v.to_str().ok());
            let location = location
                .ok_or_else(|| UnitFailure::Upstream(format!("Image URL redirect missing Location: {current}")))?;
            current = current
                .join(location)
                .map_err(|_| UnitFailure::Upstream(format!("Image URL redirect missing Location: {current}")))?;
            continue;
        }
        if status.as_u16() != 200 {
            return Err(UnitFailure::Upstream(format!("Failed to download image from {current}: {}", status.as_u16())));
        }
        let max = spec.max_file_bytes;
        let too_large = |n: u64| UnitFailure::Upstream(format!("Image too large: {n} bytes (max {max})"));
        if let Some(declared) = response.content_length().filter(|n| *n > max) {
            return Err(too_large(declared));
        }
        return read_capped(response, max, too_large).await;
    }
    Err(UnitFailure::Upstream("Image URL redirected too many times".into()))
}

/// Validates off the async runtime, then writes `<uuid>.<ext>` through a temporary name.
async fn save(bytes: Vec<u8>, spec: &UnitSpec) -> Result<SavedImage, UnitFailure> {
    let max_pixels = spec.max_image_pixels;
    let dir = spec.images_dir.clone();
    let thumbnail_side = spec.thumbnail_max_side;
    tokio::task::spawn_blocking(move || {
        let (valid, pixels) = decode(&bytes, max_pixels).map_err(|e| UnitFailure::Error(e.to_string()))?;
        let image_id = uuid::Uuid::new_v4().to_string();
        let filename = format!("{image_id}.{}", valid.extension);
        let path = dir.join(&filename);
        let temp = dir.join(format!(".{filename}.part"));
        std::fs::write(&temp, &bytes).and_then(|()| std::fs::rename(&temp, &path)).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            UnitFailure::Error(format!("Could not save the image: {}", e.kind()))
        })?;
        let sha256 = crate::hex::encode(&Sha256::digest(&bytes));
        Ok(SavedImage {
            image_id,
            filename,
            path,
            format: valid.format,
            width: valid.width,
            height: valid.height,
            bytes: bytes.len() as u64,
            sha256,
            preview: Some(Arc::new(Preview::of(pixels, thumbnail_side))),
        })
    })
    .await
    .map_err(|_| UnitFailure::Error("Image validation stopped unexpectedly".into()))?
}

/// A transport error without URLs (which may carry credentials or query tokens).
pub fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let timeout = err.is_timeout();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    if timeout && !text.to_lowercase().contains("timed out") {
        text.push_str(" (timed out)");
    }
    text
}
