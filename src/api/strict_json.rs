//! `StrictJson<T>`: a JSON request body that refuses unknown keys and reports problems the way the
//! previous panel did (`field - message; field - message`), so its clients keep working.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Checks that serde cannot express (lengths, ranges). Returns `(field, message)` pairs.
pub trait Validate {
    fn validate(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// With `OPTIONAL = true` an empty body reads as `{}`.
pub struct StrictJson<T, const OPTIONAL: bool = false>(pub T);

/// A JSON body that may be left out entirely.
pub type OptionalJson<T> = StrictJson<T, true>;

impl<'a, T, const OPTIONAL: bool> ApiExtractor<'a> for StrictJson<T, OPTIONAL>
where
    T: Type + DeserializeOwned + Validate + Send,
{
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            // An optional body may also be sent as JSON `null`, which reads as `{}`.
            content: vec![MetaMediaType { content_type: "application/json", schema: body_schema::<T, OPTIONAL>() }],
            required: !OPTIONAL,
        })
    }

    async fn from_request(
        _request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // A body cut short by the size limit surfaces here as a read error; the security layer
        // turns it into 413 because it saw the limit trip.
        let bytes = body.take()?.into_vec().await.map_err(|_| ApiError::too_large())?;
        let left_out = bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null";
        let bytes = if OPTIONAL && left_out { b"{}".to_vec() } else { bytes };
        let (value, json) = parse_with_json::<T>(&bytes).map_err(ApiError::validation)?;
        let mut problems = super::schema_check::problems::<T>(&json);
        problems.extend(value.validate());
        if problems.is_empty() {
            Ok(StrictJson(value))
        } else {
            let detail = problems
                .iter()
                .map(|(field, msg)| if field.is_empty() { msg.clone() } else { format!("{field} - {msg}") })
                .collect::<Vec<_>>();
            Err(ApiError::validation(detail.join("; ")).into())
        }
    }
}

fn body_schema<T: Type, const OPTIONAL: bool>() -> MetaSchemaRef {
    if !OPTIONAL {
        return T::schema_ref();
    }
    MetaSchemaRef::Inline(Box::new(MetaSchema { nullable: true, all_of: vec![T::schema_ref()], ..MetaSchema::ANY }))
}

/// Parses a body into `T`, describing the first problem with its field path.
#[cfg(test)]
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    parse_with_json(bytes).map(|(value, _)| value)
}

/// As `parse`, also returning the JSON it read (for the declared-constraint check).
fn parse_with_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, serde_json::Value), String> {
    let json: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(json) => json,
        Err(_) if bytes.iter().all(u8::is_ascii_whitespace) => {
            return Err("Field required".to_string());
        }
        Err(err) => {
            return Err(format!("{} - JSON decode error", byte_offset(bytes, err.line(), err.column())));
        }
    };
    if !json.is_object() {
        return Err("Input should be a valid dictionary or object to extract fields from".to_string());
    }
    let value = serde_path_to_error::deserialize(&json).map_err(|err| {
        let path = err.path().to_string().replace('[', ".").replace(']', "");
        let inner = err.into_inner().to_string();
        describe(path.trim_start_matches('.'), &inner)
    })?;
    Ok((value, json))
}

fn describe(path: &str, serde_message: &str) -> String {
    let named = |field: &str| {
        let field = if path == "." || path.is_empty() { field.to_string() } else { format!("{path}.{field}") };
        field.trim_start_matches('.').to_string()
    };
    if let Some(field) = backticked(serde_message, "missing field `") {
        return format!("{} - Field required", named(field));
    }
    if let Some(field) = backticked(serde_message, "unknown field `") {
        // The path already ends at the unknown key.
        let located = if path.ends_with(field) { path.to_string() } else { named(field) };
        return format!("{located} - Extra inputs are not permitted");
    }
    let message = if serde_message.contains("expected a string") {
        "Input should be a valid string".to_string()
    } else if serde_message.contains("expected a boolean") {
        "Input should be a valid boolean".to_string()
    } else if serde_message.contains("expected i") || serde_message.contains("expected u") {
        "Input should be a valid integer".to_string()
    } else {
        serde_message.split(" at line ").next().unwrap_or(serde_message).to_string()
    };
    if path.is_empty() || path == "." { message } else { format!("{path} - {message}") }
}

fn backticked<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// serde reports the line and the column of the last character read; the previous panel reported
/// the character offset where parsing stopped, which is the same count.
fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let before: usize = text.split('\n').take(line.saturating_sub(1)).map(|l| l.chars().count() + 1).sum();
    before + column
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        access_key: String,
    }

    #[test]
    fn messages_name_the_field() {
        assert_eq!(parse::<Body>(b"{}").unwrap_err(), "access_key - Field required");
        assert_eq!(
            parse::<Body>(br#"{"access_key":"a","foo":1}"#).unwrap_err(),
            "foo - Extra inputs are not permitted"
        );
        assert_eq!(parse::<Body>(br#"{"access_key":1}"#).unwrap_err(), "access_key - Input should be a valid string");
        assert_eq!(
            parse::<Body>(b"[1]").unwrap_err(),
            "Input should be a valid dictionary or object to extract fields from"
        );
        assert_eq!(parse::<Body>(b"{\"a").unwrap_err(), "3 - JSON decode error");
        assert_eq!(parse::<Body>(b"").unwrap_err(), "Field required");
    }
}
