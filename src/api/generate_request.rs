//! The body of `POST /api/generate`, parsed strictly: sizes are `auto` or `WxH` with digits only
//! (multiples of 16, max side 3840, ratio ≤ 3:1, 655,360–8,294,400 pixels).

use poem_openapi::Object;
use serde::{Deserialize, Deserializer};

use super::strict_json::Validate;

fn auto() -> String {
    "auto".into()
}
fn one() -> i64 {
    1
}
fn png() -> String {
    "png".into()
}

/// `response_format`: left out → the preset's default; `null` or `"none"` → not sent upstream.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(deserializer)?))
}

#[derive(Debug, Object, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[oai(deny_unknown_fields)]
pub struct GenerateBody {
    #[oai(validator(min_length = 1, max_length = 4000))]
    pub prompt: String,
    /// `auto` or `WIDTHxHEIGHT` (an `image-size`): both sides multiples of 16, the longer at most
    /// 3840 and at most three times the shorter, 655,360–8,294,400 pixels in all.
    #[serde(default = "auto")]
    #[oai(default = "auto", validator(max_length = 40, pattern = "^(auto|[0-9]{1,6}[xX][0-9]{1,6})$"))]
    pub size: String,
    /// The preset's default model when left out or blank.
    #[oai(nullable, validator(max_length = 200))]
    pub model: Option<String>,
    #[serde(default = "one")]
    #[oai(default = "one", validator(minimum(value = "1"), maximum(value = "10")))]
    pub n: i64,
    #[serde(default = "auto")]
    #[oai(default = "auto", validator(pattern = "^(auto|low|medium|high)$"))]
    pub quality: String,
    #[serde(default = "png")]
    #[oai(default = "png", validator(pattern = "^(png|jpeg|webp)$"))]
    pub output_format: String,
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "100")))]
    pub output_compression: Option<i64>,
    /// `url`, `b64_json`; `null` or `none` to leave it out upstream; omitted → the preset's default.
    #[serde(default, deserialize_with = "present")]
    #[oai(skip)]
    pub response_format: Option<Option<String>>,
    /// A webhook for this job only (HTTPS); overrides the global one. Blank means none.
    #[oai(nullable, validator(max_length = 2048))]
    pub webhook_url: Option<String>,
    /// Per-request upstream path; the preset's when left out.
    #[oai(nullable, validator(pattern = "^(/v1/images/generations|/v1/responses|/v1/chat/completions)$"))]
    pub api_path: Option<String>,
}

const SIZE_SHAPE: &str = "size must be 'auto' or formatted as WIDTHxHEIGHT";

/// The sizes the document gives: `auto`, or both sides multiples of 16 up to 3840 (up to six digits
/// with leading zeros). The rules across the sides (ratio, total pixels) are the handler's alone.
pub fn size_sides_pattern() -> String {
    let side = |digits: usize| {
        let values: Vec<String> =
            (16..=3840).step_by(16).map(|n: u32| n.to_string()).filter(|n| n.len() == digits).collect();
        format!("0{{0,{}}}(?:{})", 6 - digits, values.join("|"))
    };
    let side = format!("(?:{}|{}|{})", side(2), side(3), side(4));
    format!("^(auto|{side}[xX]{side})$")
}

/// Validates a size: `auto`, or `WxH` with plain digits, within the limits.
pub fn parse_size(size: &str) -> Result<String, String> {
    if size == "auto" {
        return Ok(size.to_string());
    }
    let lower = size.to_ascii_lowercase();
    let shape = SIZE_SHAPE;
    let (w, h) = lower.split_once('x').ok_or(shape)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(w) || !digits(h) {
        return Err(shape.into());
    }
    let (w, h): (u64, u64) = (w.parse().map_err(|_| shape)?, h.parse().map_err(|_| shape)?);
    if w == 0 || h == 0 || w.max(h) > 3840 {
        return Err("size width and height must be positive, with max side <= 3840".into());
    }
    if w % 16 != 0 || h % 16 != 0 {
        return Err("size width and height must be multiples of 16".into());
    }
    if w.max(h) > 3 * w.min(h) {
        return Err("size aspect ratio must not exceed 3:1".into());
    }
    let pixels = w * h;
    if !(655_360..=8_294_400).contains(&pixels) {
        return Err("size total pixels must be between 655360 and 8294400".into());
    }
    Ok(format!("{w}x{h}"))
}

impl Validate for GenerateBody {
    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut push = |field: &str, message: &str| problems.push((field.to_string(), message.to_string()));
        // Lengths, ranges and choices are declared on the fields; these are what a schema cannot say.
        // The shape is the declared pattern; the sizes' arithmetic is checked here.
        if let Err(message) = parse_size(&self.size)
            && message != SIZE_SHAPE
            && self.size.chars().count() <= 40
        {
            push("size", &message);
        }
        if let Some(Some(format)) = &self.response_format
            && !["url", "b64_json", "none"].contains(&format.as_str())
        {
            push("response_format", "Input should be 'url' or 'b64_json'");
        }
        if let Some(hook) = &self.webhook_url
            && let Err(message) = crate::api::settings_update::check_webhook_shape(hook)
        {
            push("webhook_url", &message);
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_size, size_sides_pattern};

    #[test]
    fn the_documented_sizes_are_those_whose_sides_pass() {
        let pattern = regex_lite::Regex::new(&size_sides_pattern()).unwrap();
        let sides =
            ["0", "16", "016", "000016", "0000016", "15", "17", "1000", "1008", "3840", "03840", "3856", "4096"];
        for w in sides {
            for h in sides {
                let size = format!("{w}x{h}");
                let sides_ok = match parse_size(&size) {
                    Ok(_) => true,
                    Err(message) => message.contains("aspect") || message.contains("total pixels"),
                };
                assert_eq!(pattern.is_match(&size), sides_ok, "{size}");
            }
        }
        assert!(pattern.is_match("auto") && pattern.is_match("1024X1536"));
    }

    #[test]
    fn sizes_are_strict() {
        assert_eq!(parse_size("auto").unwrap(), "auto");
        assert_eq!(parse_size("1024X1536").unwrap(), "1024x1536");
        assert_eq!(parse_size("1024x0").unwrap_err(), "size width and height must be positive, with max side <= 3840");
        assert_eq!(parse_size("1000x1000").unwrap_err(), "size width and height must be multiples of 16");
        assert_eq!(parse_size("3840x1024").unwrap_err(), "size aspect ratio must not exceed 3:1");
        assert_eq!(parse_size("512x512").unwrap_err(), "size total pixels must be between 655360 and 8294400");
        for bad in ["+1024x1024", "1_024x1024", " 1024x1024", "1024x", "AUTO", "1024*1024"] {
            assert_eq!(parse_size(bad).unwrap_err(), "size must be 'auto' or formatted as WIDTHxHEIGHT", "{bad}");
        }
    }
}
