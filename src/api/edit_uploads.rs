//! Reading an edit form: text fields, and up to 16 image uploads streamed straight to
//! `DATA_DIR/edit-sources` with a per-file cap (a large request never sits in memory). Each upload is
//! checked by extension, content type and magic bytes, then fully decoded. Any failure deletes every
//! file staged so far.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use panel_actors::media::validate::{InvalidImage, sniff, validate};
use poem::http::StatusCode;
use poem::web::Multipart;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::ApiError;
use super::generate::StagedSource;

pub const MAX_SOURCES: usize = 16;
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, detail)
}

/// Staged files that are deleted unless the job takes them over.
#[derive(Default)]
pub struct Staged(pub Vec<StagedSource>);

impl Staged {
    /// Hands the files to the job; they are no longer deleted here.
    pub fn keep(mut self) -> Vec<StagedSource> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for source in &self.0 {
            let _ = std::fs::remove_file(&source.path);
        }
    }
}

pub struct EditForm {
    pub fields: HashMap<String, String>,
    pub staged: Staged,
}

/// What a file's name, type or bytes say its format is.
fn format_of_extension(name: &str) -> Option<&'static str> {
    panel_actors::media::validate::format_of_extension(Path::new(name).extension()?.to_str()?)
}

fn format_of_content_type(content_type: &str) -> Option<&'static str> {
    Some(match content_type.split(';').next()?.trim().to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/pjpeg" => "jpeg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/tiff" => "tiff",
        "image/x-icon" | "image/vnd.microsoft.icon" | "image/ico" | "image/icon" => "ico",
        "image/avif" => "avif",
        "image/heic" | "image/heif" => "heif",
        _ => return None,
    })
}

pub fn content_type_of(format: &str) -> &'static str {
    match format {
        "png" => "image/png",
        "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tiff" => "image/tiff",
        "ico" => "image/x-icon",
        "avif" => "image/avif",
        _ => "image/heif",
    }
}

/// Replaces an AVIF/HEIC file with its PNG rendering, through `heif-convert` in a subprocess with a
/// cleared environment and a time limit.
async fn convert_to_png(path: &Path) -> Result<(), ApiError> {
    let tool = panel_actors::media::heif::tool().ok_or_else(|| {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "AVIF and HEIC images cannot be decoded by this server")
    })?;
    let output = path.with_extension("converted.png");
    let run = tokio::process::Command::new(tool)
        .arg(path)
        .arg(&output)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    let converted = matches!(tokio::time::timeout(std::time::Duration::from_secs(30), run).await, Ok(Ok(status)) if status.success());
    if !converted || tokio::fs::rename(&output, path).await.is_err() {
        let _ = tokio::fs::remove_file(&output).await;
        return Err(bad("Image data must be a fully decodable supported raster image"));
    }
    Ok(())
}

/// Checks a staged file's bytes: known raster format, agreeing with its name and type, fully decodable.
/// AVIF and HEIC are converted to PNG first; the result says whether that happened.
pub async fn check_staged(
    path: &Path,
    claimed: Option<&str>,
    content_format: Option<&str>,
    max_pixels: u64,
) -> Result<bool, ApiError> {
    let mut head = vec![0u8; 512];
    let mut file = tokio::fs::File::open(path).await.map_err(|_| ApiError::internal())?;
    let read = file.read(&mut head).await.map_err(|_| ApiError::internal())?;
    head.truncate(read);
    let sniffed = sniff(&head).ok_or_else(|| bad("Image data must be a supported raster image format"))?;
    if claimed.is_some_and(|f| f != sniffed) {
        return Err(bad("Image file extension does not match image data"));
    }
    if content_format.is_some_and(|f| f != sniffed) {
        return Err(bad("Image content type does not match image data"));
    }
    let converted = sniffed == "avif" || sniffed == "heif";
    if converted {
        convert_to_png(path).await?;
    }
    let path = path.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).map_err(|_| InvalidImage::Undecodable)?;
        validate(&bytes, max_pixels).map(|_| ())
    })
    .await
    .map_err(|_| ApiError::internal())?;
    checked.map_err(|err| match err {
        InvalidImage::Unsupported => bad("Image data must be a supported raster image format"),
        _ => bad("Image data must be a fully decodable supported raster image"),
    })?;
    Ok(converted)
}

pub fn staged_name(format: Option<&str>, original: &str) -> String {
    let random: String = panel_actors::hex::encode(&rand::random::<[u8; 16]>());
    let suffix = Path::new(original)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 5 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_else(|| format!(".{}", format.unwrap_or("img")));
    format!("edit-source-{random}{suffix}")
}

/// Reads the whole form; `already` counts sources added before (the gallery image).
pub async fn read_form(
    mut multipart: Multipart,
    staging_dir: &Path,
    max_file_bytes: u64,
    max_pixels: u64,
    already: usize,
) -> Result<EditForm, ApiError> {
    let mut fields = HashMap::new();
    let mut single = Staged::default();
    let mut several = Staged::default();
    let too_large = format!("Uploaded image is too large. Max size is {} MB.", max_file_bytes / (1024 * 1024));
    // A body that is not well-formed multipart is a bad request, not a validation failure.
    while let Some(field) = multipart.next_field().await.map_err(|e| bad(format!("Invalid multipart body: {e}")))? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            if name != "image" && name != "image[]" {
                let text = read_text(field).await?;
                fields.insert(name, text);
            }
            continue;
        };
        if name != "image" && name != "image[]" {
            continue;
        }
        if already + single.0.len() + several.0.len() >= MAX_SOURCES {
            return Err(bad("At most 16 edit source images are supported."));
        }
        let claimed = format_of_extension(&file_name);
        let content_type = field.content_type().map(str::to_string);
        let content_format = match content_type.as_deref().filter(|ct| ct.starts_with("image/")) {
            Some(ct) => Some(format_of_content_type(ct).ok_or_else(|| bad("Upload must be an image file."))?),
            None => claimed,
        };
        if claimed.is_none() || content_format.is_none() {
            return Err(bad("Upload must be an image file."));
        }
        let stored_name = staged_name(claimed, &file_name);
        let path = staging_dir.join(&stored_name);
        let bytes = stream_to_file(field, &path, max_file_bytes).await;
        let group = if name == "image" { &mut single } else { &mut several };
        group.0.push(StagedSource {
            path: path.clone(),
            stored_name,
            filename: if file_name.is_empty() { "image.png".into() } else { file_name },
            content_type: content_type_of(content_format.unwrap_or("png")).to_string(),
            bytes: 0,
        });
        let bytes = match bytes {
            Ok(0) => return Err(bad("Uploaded image is empty.")),
            Ok(n) => n,
            Err(Some(_)) => return Err(bad(too_large)),
            Err(None) => return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Failed to read uploaded image")),
        };
        let converted = check_staged(&path, claimed, content_format, max_pixels).await?;
        if let Some(last) = group.0.last_mut() {
            last.bytes = bytes;
            if converted {
                // The upstream gets the PNG rendering, named to match.
                let stem =
                    Path::new(&last.filename).file_stem().and_then(|s| s.to_str()).unwrap_or("image").to_string();
                last.filename = format!("{stem}.png");
                last.content_type = "image/png".into();
                last.bytes = tokio::fs::metadata(&path).await.map(|m| m.len()).unwrap_or(bytes);
            }
        }
    }
    let mut staged = Staged(single.keep());
    staged.0.extend(several.keep());
    Ok(EditForm { fields, staged })
}

async fn read_text(field: poem::web::Field) -> Result<String, ApiError> {
    let mut reader = field.into_async_read().take(MAX_TEXT_FIELD_BYTES as u64 + 1);
    let mut buffer = Vec::new();
    reader.read_to_end(&mut buffer).await.map_err(|e| ApiError::validation(e.to_string()))?;
    if buffer.len() > MAX_TEXT_FIELD_BYTES {
        return Err(ApiError::validation("Form field is too large"));
    }
    String::from_utf8(buffer).map_err(|_| ApiError::validation("Form fields must be UTF-8 text"))
}

/// Copies a part to `path` (mode 0600) with a cap; `Err(Some(n))` when past the cap, `Err(None)` on I/O.
async fn stream_to_file(field: poem::web::Field, path: &Path, max: u64) -> Result<u64, Option<u64>> {
    let mut reader = field.into_async_read();
    let mut file = open_private(path).await.map_err(|_| None)?;
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut buffer).await.map_err(|_| None)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        if total > max {
            return Err(Some(total));
        }
        file.write_all(&buffer[..read]).await.map_err(|_| None)?;
    }
    file.flush().await.map_err(|_| None)?;
    Ok(total)
}

pub async fn open_private(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(0o600);
    options.open(path).await
}

/// Copies a gallery file into staging with the same checks as an upload.
pub async fn stage_gallery_file(
    source: &Path,
    staging_dir: &Path,
    filename: &str,
    max_file_bytes: u64,
    max_pixels: u64,
) -> Result<StagedSource, ApiError> {
    let size = tokio::fs::metadata(source)
        .await
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "Gallery image file not found"))?
        .len();
    if size > max_file_bytes {
        return Err(bad(format!("Gallery image is too large. Max size is {} MB.", max_file_bytes / (1024 * 1024))));
    }
    if size == 0 {
        return Err(bad("Gallery image is empty"));
    }
    let claimed = format_of_extension(filename);
    let stored_name = staged_name(claimed, filename);
    let path: PathBuf = staging_dir.join(&stored_name);
    let staged = StagedSource {
        path: path.clone(),
        stored_name,
        filename: filename.to_string(),
        content_type: content_type_of(claimed.unwrap_or("png")).to_string(),
        bytes: size,
    };
    tokio::fs::copy(source, &path)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Failed to read gallery image"))?;
    let guard = Staged(vec![staged.clone()]);
    check_staged(&path, claimed, None, max_pixels).await?;
    guard.keep();
    Ok(staged)
}
