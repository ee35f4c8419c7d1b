//! The stateless access token: base64url(`{"exp":N,"scope":"access"}`) "." base64url(HMAC-SHA256).
//! Changing `ACCESS_KEY` invalidates every session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Sessions last three hours.
pub const SESSION_SECONDS: i64 = 180 * 60;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length")
}

/// Returns the token and its expiry (unix seconds).
pub fn issue(key: &str, now: i64) -> (String, i64) {
    let exp = now + SESSION_SECONDS;
    let payload = URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp},\"scope\":\"access\"}}"));
    let mut mac = mac(key);
    mac.update(payload.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    (format!("{payload}.{signature}"), exp)
}

/// The expiry of a valid, unexpired token; `None` for anything else.
pub fn verify(key: &str, token: &str, now: i64) -> Option<i64> {
    let (payload, signature) = token.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut mac = mac(key);
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    if claims.get("scope")?.as_str()? != "access" {
        return None;
    }
    let exp = claims.get("exp")?.as_i64()?;
    (exp > now).then_some(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_key_and_before_expiry() {
        let (token, exp) = issue("k1", 1_000);
        assert_eq!(exp, 1_000 + SESSION_SECONDS);
        assert_eq!(verify("k1", &token, 1_001), Some(exp));
        assert_eq!(verify("k2", &token, 1_001), None);
        assert_eq!(verify("k1", &token, exp), None);
        let tampered = token.replacen('.', "x.", 1);
        assert_eq!(verify("k1", &tampered, 1_001), None);
        assert_eq!(verify("k1", "no-dot", 1_001), None);
    }
}
