//! The upstream protocols, as pure functions: the JSON body for each path, and where the image is in
//! each kind of reply (Images API `data[]`, Responses `output[]`, Chat Completions text or SSE).

use serde_json::{Map, Value, json};

/// What one unit asks for (always one image).
#[derive(Debug, Clone)]
pub struct ImageRequest {
    pub prompt: String,
    pub model: String,
    pub size: String,
    pub quality: String,
    pub output_format: String,
    pub output_compression: Option<i64>,
    pub response_format: Option<String>,
}

/// The body for `/v1/images/generations` (and the text fields of `/v1/images/edits`), in contract order.
pub fn images_fields(request: &ImageRequest) -> Vec<(&'static str, Value)> {
    let mut fields = vec![
        ("model", json!(request.model)),
        ("prompt", json!(request.prompt)),
        ("size", json!(request.size)),
        ("n", json!(1)),
        ("quality", json!(request.quality)),
        ("output_format", json!(request.output_format)),
    ];
    if let Some(format) = &request.response_format {
        fields.push(("response_format", json!(format)));
    }
    if request.output_format != "png"
        && let Some(compression) = request.output_compression
    {
        fields.push(("output_compression", json!(compression)));
    }
    fields
}

/// The JSON body for a generation path.
pub fn generation_body(api_path: &str, request: &ImageRequest) -> Value {
    match api_path {
        "/v1/responses" => json!({"prompt": request.prompt, "model": request.model}),
        "/v1/chat/completions" => json!({
            "model": request.model,
            "messages": [{"role": "user", "content": request.prompt}],
            "stream": false,
        }),
        _ => Value::Object(images_fields(request).into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()),
    }
}

/// Where the image bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Base64(String),
    Url(String),
}

/// `data[0]`: `b64_json` preferred, else `url`.
pub fn extract_images_api(reply: &Value, preview: &str) -> Result<ImageSource, String> {
    let data = match reply.get("data") {
        None | Some(Value::Null) => return Err(format!("No image data in upstream response: {preview}")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err("Upstream image data must be an array".to_string()),
    };
    let first = data.first().ok_or_else(|| format!("No image data in upstream response: {preview}"))?;
    let entry = first.as_object().ok_or_else(|| "Upstream image data entries must be objects".to_string())?;
    let text = |key: &str| entry.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(b64) = text("b64_json") {
        return Ok(ImageSource::Base64(b64));
    }
    text("url")
        .map(ImageSource::Url)
        .ok_or_else(|| format!("No image data (b64_json or url) in upstream response: {preview}"))
}

/// `output[]` items of type `image_generation_call`.
pub fn extract_responses(reply: &Value, preview: &str) -> Result<ImageSource, String> {
    let outputs = reply.get("output").and_then(Value::as_array).cloned().unwrap_or_default();
    outputs
        .iter()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("image_generation_call"))
        .find_map(|item| item.get("result").and_then(result_source))
        .ok_or_else(|| format!("No image data in upstream response: {preview}"))
}

fn result_source(value: &Value) -> Option<ImageSource> {
    match value {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => Some(ImageSource::Url(s.clone())),
        Value::String(s) if !s.trim().is_empty() => Some(ImageSource::Base64(s.clone())),
        Value::Object(map) => {
            ["url", "b64_json", "base64", "data", "result"].iter().find_map(|k| map.get(*k).and_then(result_source))
        }
        Value::Array(items) => items.iter().find_map(result_source),
        _ => None,
    }
}

/// The JSON events of a Chat Completions SSE body (`data:` lines; `[DONE]` skipped).
pub fn parse_chat_sse(body: &str) -> Result<Vec<Value>, String> {
    let mut events = Vec::new();
    let mut data: Vec<&str> = Vec::new();
    let flush = |data: &mut Vec<&str>, events: &mut Vec<Value>| -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        let joined = data.join("\n");
        data.clear();
        if joined.trim() == "[DONE]" {
            return Ok(());
        }
        let value = serde_json::from_str(&joined)
            .map_err(|_| format!("Upstream returned malformed SSE JSON: {}", preview(&joined)))?;
        events.push(value);
        Ok(())
    };
    for line in body.lines() {
        if line.trim().is_empty() {
            flush(&mut data, &mut events)?;
        } else if let Some(rest) = line.strip_prefix("data:") {
            data.push(rest.trim());
        }
    }
    flush(&mut data, &mut events)?;
    if events.is_empty() {
        return Err(format!("No SSE chat completion events in upstream response: {}", preview(body)));
    }
    Ok(events)
}

/// The first image a Chat Completions reply mentions: data URLs, Markdown images or bare URLs in the
/// message text (SSE pieces joined per choice), then any `url`/`b64_json` value anywhere.
pub fn extract_chat(events: &[Value], preview_text: &str) -> Result<ImageSource, String> {
    let mut texts: Vec<(u64, String)> = Vec::new();
    for event in events {
        for choice in event.get("choices").and_then(Value::as_array).into_iter().flatten() {
            let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
            for key in ["message", "delta"] {
                if let Some(content) = choice.get(key).and_then(|m| m.get("content")).and_then(Value::as_str) {
                    match texts.iter_mut().find(|(i, _)| *i == index) {
                        Some((_, text)) => text.push_str(content),
                        None => texts.push((index, content.to_string())),
                    }
                }
            }
        }
    }
    if let Some(found) = texts.iter().find_map(|(_, text)| scan_text(text)) {
        return Ok(found);
    }
    events.iter().find_map(walk).ok_or_else(|| format!("No image data in upstream response: {preview_text}"))
}

fn walk(value: &Value) -> Option<ImageSource> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, v)| match (key.as_str(), v) {
            ("url" | "image_url", Value::String(s)) => reference(s),
            ("b64_json" | "base64", Value::String(s)) if !s.is_empty() => Some(ImageSource::Base64(s.clone())),
            (_, Value::String(s)) => scan_text(s),
            _ => walk(v),
        }),
        Value::Array(items) => items.iter().find_map(walk),
        _ => None,
    }
}

fn reference(text: &str) -> Option<ImageSource> {
    let text = text.trim();
    if let Some(found) = data_url(text) {
        return Some(found);
    }
    (text.starts_with("http://") || text.starts_with("https://")).then(|| ImageSource::Url(text.to_string()))
}

fn data_url(text: &str) -> Option<ImageSource> {
    let re = regex_lite::Regex::new(r"(?i)data:image/(?:png|jpeg|jpg|webp|gif|avif|bmp);base64,([A-Za-z0-9+/=\s]+)")
        .expect("static regex");
    re.captures(text).map(|c| ImageSource::Base64(c[1].chars().filter(|ch| !ch.is_whitespace()).collect()))
}

fn scan_text(text: &str) -> Option<ImageSource> {
    if let Some(found) = data_url(text) {
        return Some(found);
    }
    let markdown =
        regex_lite::Regex::new(r#"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#).expect("static regex");
    if let Some(found) = markdown.captures(text).and_then(|c| reference(&c[1])) {
        return Some(found);
    }
    let bare = regex_lite::Regex::new(r#"https?://[^\s)"'<>\]]+"#).expect("static regex");
    bare.find(text).map(|m| ImageSource::Url(m.as_str().trim_end_matches(['.', ',', ';']).to_string()))
}

/// The first 200 characters, for error messages.
pub fn preview(text: &str) -> String {
    text.chars().take(200).collect()
}

/// The user-facing text for an upstream HTTP error status.
pub fn status_error(status: u16, body: &str, edits: bool) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let inner = match &parsed {
        Some(Value::Object(map)) => match map.get("error") {
            Some(Value::Object(error)) => {
                error.get("message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| body.to_string())
            }
            _ => body.to_string(),
        },
        Some(_) => body.to_string(),
        None => format!("HTTP {status}: {}", preview(body)),
    };
    let inner: String = inner.chars().take(2000).collect();
    let unsupported = ["not support", "not_supported", "unsupported", "not found", "unknown endpoint", "no route"];
    if edits && (matches!(status, 404 | 405 | 501) || unsupported.iter().any(|w| inner.to_lowercase().contains(w))) {
        format!("Upstream API does not support /v1/images/edits ({status}): {inner}")
    } else {
        format!("Upstream API error ({status}): {inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ImageRequest {
        ImageRequest {
            prompt: "p".into(),
            model: "m".into(),
            size: "auto".into(),
            quality: "auto".into(),
            output_format: "webp".into(),
            output_compression: Some(80),
            response_format: None,
        }
    }

    #[test]
    fn bodies_follow_the_contract() {
        let body = generation_body("/v1/images/generations", &request()).to_string();
        assert_eq!(
            body,
            r#"{"model":"m","prompt":"p","size":"auto","n":1,"quality":"auto","output_format":"webp","output_compression":80}"#
        );
        assert_eq!(generation_body("/v1/responses", &request()), json!({"prompt": "p", "model": "m"}));
        assert_eq!(generation_body("/v1/chat/completions", &request())["stream"], json!(false));
    }

    #[test]
    fn images_are_found_in_every_reply_kind() {
        assert_eq!(
            extract_images_api(&json!({"data": [{"url": "https://x/a.png", "b64_json": "QUJD"}]}), ""),
            Ok(ImageSource::Base64("QUJD".into()))
        );
        assert_eq!(
            extract_images_api(&json!({"data": []}), "{}"),
            Err("No image data in upstream response: {}".into())
        );
        assert_eq!(
            extract_images_api(&json!({"data": [1]}), ""),
            Err("Upstream image data entries must be objects".into())
        );
        let responses = json!({"output": [{"type": "message"}, {"type": "image_generation_call", "result": {"data": [{"b64_json": "QUJD"}]}}]});
        assert_eq!(extract_responses(&responses, ""), Ok(ImageSource::Base64("QUJD".into())));
        let chat =
            json!({"choices": [{"index": 0, "message": {"content": "see ![img](<https://cdn.example/a.png> \"t\")"}}]});
        assert_eq!(extract_chat(&[chat], ""), Ok(ImageSource::Url("https://cdn.example/a.png".into())));
        let sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"data:image/png;base64,QU\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"JD\"}}]}\n\ndata: [DONE]\n\n";
        assert_eq!(extract_chat(&parse_chat_sse(sse).unwrap(), ""), Ok(ImageSource::Base64("QUJD".into())));
        assert!(parse_chat_sse("data: {bad\n\n").unwrap_err().starts_with("Upstream returned malformed SSE JSON"));
    }

    #[test]
    fn status_errors_read_the_upstream_message() {
        assert_eq!(status_error(401, r#"{"error":{"message":"bad key"}}"#, false), "Upstream API error (401): bad key");
        assert_eq!(status_error(502, "Bad Gateway", false), "Upstream API error (502): HTTP 502: Bad Gateway");
        assert_eq!(status_error(404, "{}", true), "Upstream API does not support /v1/images/edits (404): {}");
    }
}
