//! Thumbnail file names: deterministic per image file name, so any process can find them.

use sha2::{Digest, Sha256};

/// `<safe stem>-<first 12 hex of sha256(filename)>.webp`.
pub fn thumbnail_name(filename: &str) -> String {
    let stem = std::path::Path::new(filename).file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let safe: String =
        stem.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let safe = safe.trim_matches(['.', '_']);
    let safe: String = if safe.is_empty() { "image".to_string() } else { safe.chars().take(80).collect() };
    let digest: String = crate::hex::encode(&Sha256::digest(filename.as_bytes())[..6]);
    format!("{safe}-{digest}.webp")
}

#[cfg(test)]
mod tests {
    use super::thumbnail_name;

    #[test]
    fn names_are_safe_and_stable() {
        let name = thumbnail_name("gallery accel.png");
        assert!(
            name.starts_with("gallery_accel-")
                && name.ends_with(".webp")
                && name.len() == "gallery_accel-".len() + 12 + 5
        );
        assert_eq!(thumbnail_name("gallery accel.png"), name);
        assert!(thumbnail_name("...png").starts_with("image-"));
    }
}
