//! The archive-level checks of an import, run before anything is stored: the ZIP's members (count,
//! path safety, duplicates, sizes, compression ratios), then its metadata (size, shape, entry count,
//! references). Every refusal names the limit and the setting behind it. What passes is the list of
//! image records in archive order, each resolved to its member.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;
use zip::ZipArchive;

use super::import_record::{ImportRecord, is_image_name};

/// The `IMPORT_*` limits (and the image limits imports share with uploads) at the time of a request.
#[derive(Debug, Clone)]
pub struct ImportLimits {
    pub max_files: u64,
    pub max_entries: u64,
    pub max_uncompressed_bytes: u64,
    pub max_output_bytes: u64,
    pub max_metadata_bytes: u64,
    pub max_compression_ratio: u64,
    pub max_file_bytes: u64,
    pub max_pixels: u64,
}

/// An archive that passed every archive-level check.
#[derive(Debug)]
pub struct CheckedArchive {
    /// Every image record of the metadata, in archive order.
    pub records: Vec<ImportRecord>,
    /// How many records resolve to an image member (what the import will try).
    pub importable: u64,
}

/// Why an archive is refused (a 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(text: impl Into<String>) -> Refused {
    Refused(text.into())
}

const MIB: u64 = 1024 * 1024;

fn mib(bytes: u64) -> u64 {
    bytes / MIB
}

struct Member {
    size: u64,
}

/// Runs every check of an uploaded archive. Blocking: call it from a blocking task.
pub fn check_archive(path: &Path, limits: &ImportLimits) -> Result<CheckedArchive, Refused> {
    let file = File::open(path).map_err(|_| refused("Import file must be a valid ZIP"))?;
    let listed = central_directory_count(&file);
    let mut archive = ZipArchive::new(file).map_err(|_| refused("Import file must be a valid ZIP"))?;
    let members = check_members(&mut archive, limits, listed)?;
    let records = read_metadata(&mut archive, &members, limits)?;
    let mut referenced = HashSet::new();
    let mut importable = 0u64;
    for record in &records {
        let Some(member) = record.member.as_deref() else { continue };
        if !referenced.insert(member.to_string()) {
            return Err(refused("Import metadata references an image more than once"));
        }
        if is_image_name(member) {
            importable += 1;
        }
    }
    if importable > limits.max_entries {
        return Err(too_many_entries(limits));
    }
    if importable == 0 {
        return Err(refused("No importable images found"));
    }
    Ok(CheckedArchive { records, importable })
}

fn too_many_entries(limits: &ImportLimits) -> Refused {
    refused(format!(
        "Import metadata contains too many entries (more than {}; setting IMPORT_MAX_ENTRIES)",
        limits.max_entries
    ))
}

/// A member name the import accepts: relative, `/`-separated, no `..`, no drive, no backslash.
pub fn safe_member_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.is_empty() || name.contains(['\\', '\0']) || name.starts_with('/') || drive {
        return false;
    }
    let parts: Vec<&str> = name.split('/').filter(|part| !part.is_empty() && *part != ".").collect();
    !parts.is_empty() && !parts.contains(&"..")
}

/// The per-member checks, in the contract's order: count, then for each member name safety,
/// duplicates, image size, running uncompressed total and ratio; then the aggregate ratio.
/// The entry count the end-of-central-directory record declares (ZIP64 included). The reader keeps one
/// entry per name, so more declared entries than it lists means a name appears twice.
fn central_directory_count(file: &File) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(65_557);
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact_at(&mut tail, len - tail_len).ok()?;
    let at = (0..tail.len().saturating_sub(21)).rev().find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])?;
    let count = u64::from(u16::from_le_bytes([tail[at + 10], tail[at + 11]]));
    if count != 0xFFFF {
        return Some(count);
    }
    let locator = at.checked_sub(20).filter(|&l| tail[l..l + 4] == [0x50, 0x4b, 0x06, 0x07])?;
    let record_at = u64::from_le_bytes(tail[locator + 8..locator + 16].try_into().ok()?);
    let mut record = [0u8; 40];
    file.read_exact_at(&mut record, record_at).ok()?;
    (record[..4] == [0x50, 0x4b, 0x06, 0x06]).then(|| u64::from_le_bytes(record[32..40].try_into().unwrap_or_default()))
}

fn check_members(
    archive: &mut ZipArchive<File>,
    limits: &ImportLimits,
    listed: Option<u64>,
) -> Result<HashMap<String, Member>, Refused> {
    let invalid = |_| refused("Import file must be a valid ZIP");
    let mut files = 0u64;
    for index in 0..archive.len() {
        if !archive.by_index_raw(index).map_err(invalid)?.is_dir() {
            files += 1;
        }
    }
    if files > limits.max_files {
        return Err(refused(format!(
            "Import archive contains too many files (more than {}; setting IMPORT_MAX_FILES)",
            limits.max_files
        )));
    }
    if listed.is_some_and(|count| count > archive.len() as u64) {
        return Err(refused("Import archive contains duplicate paths"));
    }
    let ratio = limits.max_compression_ratio as f64;
    let mut members = HashMap::new();
    let (mut total, mut compressed_total) = (0u64, 0u64);
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(invalid)?;
        if entry.is_dir() {
            continue;
        }
        let name = std::str::from_utf8(entry.name_raw()).ok().filter(|n| safe_member_name(n)).map(str::to_string);
        let Some(name) = name.filter(|_| !entry.is_symlink() && !entry.encrypted()) else {
            return Err(refused("Import archive contains unsafe paths"));
        };
        if members.contains_key(&name) {
            return Err(refused("Import archive contains duplicate paths"));
        }
        let (size, compressed) = (entry.size(), entry.compressed_size());
        if is_image_name(&name) && size > limits.max_file_bytes {
            return Err(refused(format!(
                "Imported image is too large (more than {} MB; setting MAX_FILE_SIZE_MB)",
                mib(limits.max_file_bytes)
            )));
        }
        total = total.saturating_add(size);
        compressed_total = compressed_total.saturating_add(compressed);
        if total > limits.max_uncompressed_bytes {
            return Err(refused(format!(
                "Import archive uncompressed size exceeds limit ({} MB; setting IMPORT_MAX_UNCOMPRESSED_MB)",
                mib(limits.max_uncompressed_bytes)
            )));
        }
        if size > 0 && (compressed == 0 || size as f64 / compressed as f64 > ratio) {
            return Err(refused(format!(
                "Import archive compression ratio exceeds limit ({}; setting IMPORT_MAX_COMPRESSION_RATIO)",
                limits.max_compression_ratio
            )));
        }
        members.insert(name, Member { size });
    }
    if total > 0 && (compressed_total == 0 || total as f64 / compressed_total as f64 > ratio) {
        return Err(refused(format!(
            "Import archive aggregate compression ratio exceeds limit ({}; setting IMPORT_MAX_COMPRESSION_RATIO)",
            limits.max_compression_ratio
        )));
    }
    Ok(members)
}

/// The image records of `metadata.ndjson` (preferred) or `metadata.json`, each resolved to a member.
fn read_metadata(
    archive: &mut ZipArchive<File>,
    members: &HashMap<String, Member>,
    limits: &ImportLimits,
) -> Result<Vec<ImportRecord>, Refused> {
    let max = limits.max_metadata_bytes;
    let too_large =
        |name: &str| refused(format!("{name} is too large (more than {max} bytes; setting IMPORT_MAX_METADATA_BYTES)"));
    let resolve = |value: &Value| ImportRecord::from_metadata(value, |name| members.contains_key(name));
    let mut records = Vec::new();
    if let Some(member) = members.get("metadata.ndjson") {
        if member.size > max {
            return Err(too_large("metadata.ndjson"));
        }
        let entry = archive.by_name("metadata.ndjson").map_err(|_| refused("metadata.ndjson is invalid"))?;
        let mut reader = BufReader::new(entry.take(max + 1));
        let (mut line, mut read) = (Vec::new(), 0u64);
        loop {
            line.clear();
            let n = (&mut reader).take(max + 1).read_until(b'\n', &mut line);
            let n = n.map_err(|_| refused("metadata.ndjson is invalid"))? as u64;
            if n == 0 {
                break;
            }
            read += n;
            if read > max {
                return Err(too_large("metadata.ndjson"));
            }
            if n > max {
                return Err(refused(format!(
                    "metadata.ndjson line is too large (more than {max} bytes; setting IMPORT_MAX_METADATA_BYTES)"
                )));
            }
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_slice(text).map_err(|_| refused("metadata.ndjson is invalid"))?;
            if value.get("type").and_then(Value::as_str) != Some("image") {
                continue;
            }
            if let Some(record) = value.get("image").filter(|image| image.is_object()) {
                if records.len() as u64 >= limits.max_entries {
                    return Err(too_many_entries(limits));
                }
                records.push(resolve(record));
            }
        }
        return Ok(records);
    }
    let Some(member) = members.get("metadata.json") else {
        return Err(refused("metadata.json is required"));
    };
    if member.size > max {
        return Err(too_large("metadata.json"));
    }
    let entry = archive.by_name("metadata.json").map_err(|_| refused("metadata.json is invalid"))?;
    let mut bytes = Vec::new();
    entry.take(max + 1).read_to_end(&mut bytes).map_err(|_| refused("metadata.json is invalid"))?;
    if bytes.len() as u64 > max {
        return Err(too_large("metadata.json"));
    }
    let document: Value = serde_json::from_slice(&bytes).map_err(|_| refused("metadata.json is invalid"))?;
    let Value::Object(mut document) = document else {
        return Err(refused("metadata.json is invalid"));
    };
    let images = match document.remove("images") {
        None => Vec::new(),
        Some(Value::Array(images)) => images,
        Some(_) => return Err(refused("metadata.json images must be a list")),
    };
    if images.len() as u64 > limits.max_entries {
        return Err(too_many_entries(limits));
    }
    records.extend(images.iter().filter(|image| image.is_object()).map(resolve));
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_relative_and_contained() {
        for good in ["images/a.png", "metadata.json", "a/./b.png", "a//b.png"] {
            assert!(safe_member_name(good), "{good}");
        }
        for bad in ["../a.png", "a/../../b.png", "/etc/passwd", "C:/x.png", "a\\b.png", "./", ".", "", "a/.."] {
            assert!(!safe_member_name(bad), "{bad}");
        }
    }
}
