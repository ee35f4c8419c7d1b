//! Regular expressions for values the handlers read as text: a setting's number within its range,
//! its boolean words, text free of control characters, and a secret's input (empty, `${NAME}`, or a
//! literal). The OpenAPI document gives them; the tests below hold each to the parser it describes.
//! Same dialect rules as `url_shape`: ASCII classes, no look-around.

use panel_actors::upstream::url_shape::WS;

/// Decimal integers from `lo` to `hi` (both non-negative), without sign or leading zeros.
pub fn int_range(lo: u64, hi: u64) -> String {
    let mut parts = Vec::new();
    let (lo_len, hi_len) = (lo.to_string().len(), hi.to_string().len());
    for len in lo_len..=hi_len {
        let floor = if len == 1 { 0 } else { 10u64.pow(len as u32 - 1) };
        let ceiling = 10u64.checked_pow(len as u32).map_or(u64::MAX, |p| p - 1);
        let (a, b) = (lo.max(floor), hi.min(ceiling));
        if a <= b {
            parts.push(same_length(&a.to_string(), &b.to_string()));
        }
    }
    parts.join("|")
}

/// Numbers from `a` to `b`, both of the same number of digits.
fn same_length(a: &str, b: &str) -> String {
    if a == b {
        return a.to_string();
    }
    let (da, db) = (a.as_bytes()[0] - b'0', b.as_bytes()[0] - b'0');
    let (rest_a, rest_b) = (&a[1..], &b[1..]);
    let n = rest_a.len();
    if da == db {
        return format!("{da}(?:{})", same_length(rest_a, rest_b));
    }
    let any_rest = if n == 0 { String::new() } else { format!("[0-9]{{{n}}}") };
    let low_full = rest_a.chars().all(|c| c == '0');
    let high_full = rest_b.chars().all(|c| c == '9');
    let mut parts = Vec::new();
    let mut first = da;
    let mut last = db;
    if !low_full {
        parts.push(format!("{da}(?:{})", same_length(rest_a, &"9".repeat(n))));
        first += 1;
    }
    if !high_full {
        last -= 1;
    }
    if first <= last {
        let digits = if first == last { first.to_string() } else { format!("[{first}-{last}]") };
        parts.push(format!("{digits}{any_rest}"));
    }
    if !high_full {
        parts.push(format!("{db}(?:{})", same_length(&"0".repeat(n), rest_b)));
    }
    parts.join("|")
}

/// Text `i64::from_str` reads as a number from `lo` to `hi` (signs and leading zeros included),
/// surrounded by white space, or nothing (an empty override).
pub fn int_text(lo: i64, hi: i64) -> String {
    assert!(lo >= 0, "negative setting ranges are not described");
    let zero = if lo == 0 { "|-0+" } else { "" };
    format!("^{WS}*(?:\\+?0*(?:{}){zero})?{WS}*$", int_range(lo as u64, hi as u64))
}

/// Decimal text of at least `min` (settings' floats: 0, 0.1 and 1), no sign but `+`, no exponent,
/// or nothing. The server reads float text only in this shape.
pub fn float_text(min: f64) -> String {
    const INT: &str = "[0-9]{1,100}";
    const FRACTION: &str = r"(?:\.[0-9]{0,100})?";
    let number = if min <= 0.0 {
        format!(r"{INT}{FRACTION}|\.[0-9]{{1,100}}")
    } else if min == 0.1 {
        format!(r"0{{0,100}}[1-9][0-9]{{0,99}}{FRACTION}|0{{0,100}}\.[1-9][0-9]{{0,99}}")
    } else if min == 1.0 {
        format!(r"0{{0,100}}[1-9][0-9]{{0,99}}{FRACTION}")
    } else {
        panic!("no text pattern for floats of at least {min}")
    };
    format!(r"^{WS}*(?:\+?(?:{number}))?{WS}*$")
}

/// `crate::settings::parse_bool`'s words in any case, or nothing.
pub fn bool_text() -> String {
    format!("^{WS}*(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff])?{WS}*$")
}

/// Text whose trimmed value holds no control character.
pub fn plain_text() -> String {
    format!(r"^{WS}*[^\x00-\x1F\x7F-\x9F]*{WS}*$")
}

/// `owner/repo` of letters, digits, `_`, `.` and `-`, or nothing.
pub fn github_repo_text() -> String {
    format!(r"^{WS}*(?:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?{WS}*$")
}

/// A cookie name token (RFC 6265), or nothing (the default name).
pub fn cookie_name_text() -> String {
    format!(r"^{WS}*[A-Za-z0-9!#$%&'*+.^_`|~-]*{WS}*$")
}

/// A secret's input: empty, `${NAME}`, or text with neither `${` nor `}` (a literal, taken only
/// with `ALLOW_PLAINTEXT_SECRETS=true`, or `********` where that keeps the stored value).
pub fn secret_input() -> String {
    format!(r"^(?:(?:[^$}}]|\$+[^${{}}])*\$*|{WS}*\$\{{[A-Za-z_][A-Za-z0-9_]*\}}{WS}*)$")
}

#[cfg(test)]
mod tests {
    use regex_lite::Regex;

    use super::*;
    use crate::settings::secrets::Secret;
    use crate::settings::{Kind, SettingDef, TABLE, check_value};

    fn samples() -> Vec<String> {
        let mut out: Vec<String> = [
            "",
            " ",
            "0",
            "00",
            "-0",
            "+0",
            "-1",
            "+7",
            "007",
            "1",
            "9",
            "10",
            "15",
            "16",
            "19",
            "20",
            "21",
            "59",
            "60",
            "63",
            "64",
            "65",
            "99",
            "100",
            "255",
            "256",
            "257",
            "999",
            "1000",
            "4095",
            "4096",
            "4097",
            "9999",
            "10000",
            "65534",
            "65535",
            "65536",
            "99999",
            "9223372036854775806",
            "9223372036854775807",
            "9223372036854775808",
            "99999999999999999999",
            " 12 ",
            "1 2",
            "1.0",
            "0.1",
            "0.09",
            ".1",
            ".05",
            "1.",
            "0.",
            ".",
            "+.5",
            "1e3",
            "inf",
            "NaN",
            "-0.5",
            "2.50",
            "\u{3000}5\u{2003}",
            "\u{1c}5",
            "٣",
            "true",
            "On",
            "yes",
            "nO",
            "t",
            "x",
            "\t",
            "a\tb",
            "\u{85}x",
            "x\u{7f}",
            "owner/repo",
            "a/b/c",
            "/a",
            "gpt_image_access",
            "a b",
            "${X}",
            " ${A_1} ",
            "${1A}",
            "${",
            "}",
            "$",
            "$$x$",
            "a$",
            "********",
            "$}",
            "${X}y",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        out.extend((0..70).map(|n| n.to_string()));
        out
    }

    fn regex(pattern: &str) -> Regex {
        Regex::new(pattern).unwrap()
    }

    fn kind_pattern(def: &SettingDef) -> Option<String> {
        match def.kind {
            Kind::Int { min, max } => Some(int_text(min, max)),
            Kind::Float { min } => Some(float_text(min)),
            Kind::Bool => Some(bool_text()),
            _ => None,
        }
    }

    #[test]
    fn integer_ranges_match_exactly_their_numbers() {
        for (lo, hi) in [(0, 20), (1, 64), (16, 4096), (60, 9_999_999), (0, 65535), (1, u64::MAX)] {
            let pattern = regex(&format!("^(?:{})$", int_range(lo, hi)));
            for n in (0..20_000u64).chain([hi.saturating_sub(1), hi, hi.saturating_add(1)]) {
                assert_eq!(pattern.is_match(&n.to_string()), (lo..=hi).contains(&n), "{lo}..{hi}: {n}");
            }
        }
    }

    #[test]
    fn number_and_boolean_texts_accept_what_the_settings_accept() {
        for def in TABLE {
            let Some(pattern) = kind_pattern(def) else { continue };
            let pattern = regex(&pattern);
            for sample in samples() {
                let server = match def.kind {
                    Kind::Float { .. } => crate::api::overall_config::float_text_ok(def, &sample),
                    _ => check_value(def, &sample).is_ok(),
                };
                assert_eq!(pattern.is_match(&sample), server, "{}: {sample:?}", def.name);
            }
        }
    }

    #[test]
    fn plain_text_is_text_without_control_characters() {
        let pattern = regex(&plain_text());
        let text = TABLE.iter().find(|def| matches!(def.kind, Kind::Text)).unwrap();
        for sample in samples() {
            assert_eq!(pattern.is_match(&sample), check_value(text, &sample).is_ok(), "{sample:?}");
        }
    }

    #[test]
    fn secret_inputs_are_refused_for_their_format_exactly_when_the_pattern_says() {
        let pattern = regex(&secret_input());
        for sample in samples() {
            let formatted = Secret::parse_input(&sample, "API key", true).is_ok();
            assert_eq!(pattern.is_match(&sample), formatted, "{sample:?}");
        }
    }
}
