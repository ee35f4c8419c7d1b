//! The second pass of an export: stream every planned image from disk, then `metadata.json` and
//! `metadata.ndjson`, into any sink (an HTTP body or a file). Blocking: run it on its own thread.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use super::export_plan::{Plan, PlannedEntry};
use super::zip_writer::{DosTime, ZipWriter};

/// Bytes read and written per step; also how often progress is reported.
const CHUNK: usize = 256 * 1024;

/// Writes the archive `plan` describes; `on_write` sees the running byte count (an error from it
/// stops the export, e.g. when the client went away). Returns the sink after the last byte.
pub fn write_archive<W: Write>(
    plan: &Plan,
    images_dir: &Path,
    stamp: DosTime,
    sink: W,
    mut on_write: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<W> {
    let spool = File::options().read(true).write(true).create(true).truncate(true).open(&plan.files.spool)?;
    let mut zip = ZipWriter::new(sink, spool, stamp);
    let mut buffer = vec![0u8; CHUNK];
    let entries = BufReader::new(File::open(&plan.files.entries)?);
    for line in entries.lines() {
        let entry: PlannedEntry = serde_json::from_str(&line?).map_err(io::Error::other)?;
        let mut file = File::open(images_dir.join(&entry.filename))
            .map_err(|e| io::Error::new(e.kind(), format!("{} is no longer readable: {}", entry.filename, e.kind())))?;
        zip.add(&entry.name, entry.size, &mut file, &mut buffer, &mut on_write)?;
    }
    let mut json = (&plan.json_prefix[..])
        .chain(File::open(&plan.files.images)?)
        .chain(&plan.json_suffix_before_skipped[..])
        .chain(File::open(&plan.files.skipped)?)
        .chain(&plan.json_suffix[..]);
    zip.add("metadata.json", plan.json_len, &mut json, &mut buffer, &mut on_write)?;
    let mut ndjson = File::open(&plan.files.ndjson)?;
    zip.add("metadata.ndjson", plan.ndjson_len, &mut ndjson, &mut buffer, &mut on_write)?;
    let sink = zip.finish(&mut buffer)?;
    on_write(plan.bytes_total)?;
    Ok(sink)
}
