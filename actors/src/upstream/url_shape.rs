//! The shapes of the URLs people type (upstream base URLs, webhooks, R2 endpoints), as regular
//! expressions the OpenAPI document gives and the server enforces, so a client generated from the
//! document sends exactly what is accepted. Written for every dialect that reads them (ECMA in
//! browsers, Python in testers, Rust here): ASCII classes, no look-around, no `\s`/`\d`.

use std::sync::LazyLock;

use regex_lite::Regex;

/// What `str::trim` removes (Unicode White_Space), spelled out because `\s` differs by dialect.
pub const WS: &str = r"[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

/// Dot-separated labels of letters, digits and `_`, hyphens inside (never two in a row, so no
/// punycode `xn--` label); the last label starts with a letter or `_`, so it never reads as an IP.
const HOSTNAME: &str = r"(?:[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*\.)*[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*";
const OCTET: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const PORT: &str =
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9][0-9]|6[0-4][0-9][0-9][0-9]|[1-5][0-9][0-9][0-9][0-9]|[0-9]{1,4}))?";
const HTTPS: &str = "[Hh][Tt][Tt][Pp][Ss]://";
/// A path without query or fragment, spaces or ASCII controls.
const PATH: &str = r"(?:/[^?#\x00-\x20\x7F]*)?";

fn ipv4() -> String {
    format!(r"{OCTET}(?:\.{OCTET}){{3}}")
}

/// A bracketed IPv6 address: eight groups, one `::` for a run of zeros, an IPv4 tail in place of
/// the last two groups.
fn ipv6() -> String {
    let h = "[0-9A-Fa-f]{1,4}";
    let hex = [
        format!("(?:{h}:){{7}}{h}"),
        format!("(?:{h}:){{1,7}}:"),
        format!("(?:{h}:){{1,6}}:{h}"),
        format!("(?:{h}:){{1,5}}(?::{h}){{1,2}}"),
        format!("(?:{h}:){{1,4}}(?::{h}){{1,3}}"),
        format!("(?:{h}:){{1,3}}(?::{h}){{1,4}}"),
        format!("(?:{h}:){{1,2}}(?::{h}){{1,5}}"),
        format!("{h}:(?::{h}){{1,6}}"),
        format!(":(?:(?::{h}){{1,7}}|:)"),
    ];
    let v4_heads = [
        format!("(?:{h}:){{6}}"),
        format!("::(?:{h}:){{0,5}}"),
        format!("(?:{h}:){{1}}:(?:{h}:){{0,4}}"),
        format!("(?:{h}:){{2}}:(?:{h}:){{0,3}}"),
        format!("(?:{h}:){{3}}:(?:{h}:){{0,2}}"),
        format!("(?:{h}:){{4}}:(?:{h}:){{0,1}}"),
        format!("(?:{h}:){{5}}:"),
    ];
    format!(r"\[(?:{}|(?:{}){})\]", hex.join("|"), v4_heads.join("|"), ipv4())
}

/// An upstream base URL: `https://`, a host name or IP address, an optional port and path.
pub fn base_url_pattern() -> String {
    format!("^{WS}*{HTTPS}(?:{HOSTNAME}|{ip}|{ip6}){PORT}{PATH}{WS}*$", ip = ipv4(), ip6 = ipv6())
}

/// A webhook URL, or nothing: `https://`, a host, an optional port, path, query and fragment.
pub fn webhook_pattern() -> String {
    // No IPv6 literal here: with one, the tester's rewrite of this pattern for the field's length
    // limit is more than its regex engine takes.
    format!(r"^{WS}*(?:{HTTPS}(?:{HOSTNAME}|{ip}){PORT}(?:[/?#][^\x00-\x20\x7F]*)?)?{WS}*$", ip = ipv4())
}

/// An R2 endpoint, or nothing: `https://`, a host name (never an IP), an optional port and path.
pub fn r2_endpoint_pattern() -> String {
    format!("^{WS}*(?:{HTTPS}{HOSTNAME}{PORT}{PATH})?{WS}*$")
}

static BASE_URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(&base_url_pattern()).expect("base URL pattern"));
static WEBHOOK: LazyLock<Regex> = LazyLock::new(|| Regex::new(&webhook_pattern()).expect("webhook pattern"));
static R2_ENDPOINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&r2_endpoint_pattern()).expect("R2 endpoint pattern"));

pub fn is_base_url(text: &str) -> bool {
    BASE_URL.is_match(text)
}

pub fn is_webhook(text: &str) -> bool {
    WEBHOOK.is_match(text)
}

pub fn is_r2_endpoint(text: &str) -> bool {
    R2_ENDPOINT.is_match(text)
}

/// The refusal for a URL that parses but is outside the shape.
pub fn shape_message(label: &str) -> String {
    format!("{label} must look like https://host[:port][/path] (a host name of letters, digits, '-', '_' and '.')")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_of_every_usual_form_fit_and_odd_ones_do_not() {
        for ok in [
            "https://api.openai.com/v1",
            " HTTPS://Api.Example.com:8443/v1/ ",
            "https://1.2.3.4",
            "https://my_host.internal-1/x",
            "https://a.b:65535",
        ] {
            assert!(is_base_url(ok), "{ok}");
            assert!(url::Url::parse(ok.trim()).is_ok(), "{ok}");
        }
        for bad in [
            "http://a.b",
            "https://",
            "https://a.b/x?y",
            "https://a.b#f",
            "https://u@a.b",
            "https://a..b",
            "https://1.2.3.999",
            "https://a.1",
            "https://xn--a.b",
            "https://a.b:65536",
            "https://a.b/x y",
            "https://a.b.",
            "https://[:::1]",
            "https://[1:2:3:4:5:6:7:8:9]",
            "https://[1::2::3]",
            "https://[::ffff:01.2.3.4]",
        ] {
            assert!(!is_base_url(bad), "{bad}");
        }
        for ip in [
            "::1",
            "::",
            "1::",
            "fd00::1",
            "::ffff:10.0.0.1",
            "1:2:3:4:5:6:7:8",
            "1:2::3:4.4.4.4",
            "1:2:3:4:5:6:1.2.3.4",
        ] {
            let url = format!("https://[{ip}]");
            assert!(is_base_url(&url), "{url}");
            assert!(url::Url::parse(&url).is_ok(), "{url}");
        }
    }

    #[test]
    fn bracketed_addresses_fit_exactly_when_the_url_standard_reads_them() {
        let alphabet = ['0', '1', ':', '.'];
        let mut words = vec![String::new()];
        for _ in 0..8 {
            words = words.iter().flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}"))).collect();
            for word in &words {
                let url = format!("https://[{word}]");
                assert_eq!(is_base_url(&url), url::Url::parse(&url).is_ok(), "{url}");
            }
        }
    }

    #[test]
    fn webhooks_keep_queries_and_r2_endpoints_refuse_addresses() {
        assert!(is_webhook(""));
        assert!(is_webhook("https://hooks.example.com/x?token=1#f"));
        assert!(!is_webhook("https://user:pw@hooks.example.com/"));
        assert!(!is_webhook("http://hooks.example.com/"));
        assert!(is_r2_endpoint("https://acct.r2.cloudflarestorage.com"));
        assert!(is_r2_endpoint(""));
        assert!(!is_r2_endpoint("https://1.2.3.4"));
        assert!(!is_r2_endpoint("https://a.b?x"));
    }

    #[test]
    fn the_white_space_class_is_what_trim_removes() {
        let class = Regex::new(&format!("^{WS}$")).unwrap();
        for c in (0..0x3100u32).filter_map(char::from_u32) {
            assert_eq!(class.is_match(&c.to_string()), c.is_whitespace(), "{:?}", c);
        }
    }
}
