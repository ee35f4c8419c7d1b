//! The second pass of an export: stream every planned image from disk, then `metadata.json` and
//! `metadata.ndjson`, into any sink (an HTTP body or a file). Blocking: run it on its own thread.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::mpsc::Receiver;

use super::export_plan::{Plan, PlanFiles, PlannedEntry};
use super::zip_writer::{DosTime, ZipWriter};

/// Bytes read and written per step; also how often progress is reported.
const CHUNK: usize = 256 * 1024;

/// Writes the archive a finished `plan` describes; `on_write` sees the running byte count (an error
/// from it stops the export, e.g. when the client went away). Returns the sink after the last byte.
pub fn write_archive<W: Write>(
    plan: &Plan,
    images_dir: &Path,
    stamp: DosTime,
    sink: W,
    on_write: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<W> {
    let entries = BufReader::new(File::open(&plan.files.entries)?)
        .lines()
        .map(|line| serde_json::from_str(&line?).map_err(io::Error::other));
    write_members(&plan.files, entries, || Ok(plan.clone()), images_dir, stamp, sink, on_write)
}

/// Writes the archive while its first pass still runs: each image as soon as it is planned, then the
/// metadata once `plan` delivers the finished pass.
pub fn write_while_planned<W: Write>(
    files: &PlanFiles,
    entries: Receiver<PlannedEntry>,
    plan: impl FnOnce() -> io::Result<Plan>,
    images_dir: &Path,
    stamp: DosTime,
    sink: W,
    on_write: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<W> {
    write_members(files, entries.into_iter().map(Ok), plan, images_dir, stamp, sink, on_write)
}

fn write_members<W: Write>(
    files: &PlanFiles,
    entries: impl Iterator<Item = io::Result<PlannedEntry>>,
    plan: impl FnOnce() -> io::Result<Plan>,
    images_dir: &Path,
    stamp: DosTime,
    sink: W,
    mut on_write: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<W> {
    let spool = File::options().read(true).write(true).create(true).truncate(true).open(&files.spool)?;
    let mut zip = ZipWriter::new(sink, spool, stamp);
    let mut buffer = vec![0u8; CHUNK];
    for entry in entries {
        let entry = entry?;
        let mut file = File::open(images_dir.join(&entry.filename))
            .map_err(|e| io::Error::new(e.kind(), format!("{} is no longer readable: {}", entry.filename, e.kind())))?;
        zip.add(&entry.name, entry.size, &mut file, &mut buffer, &mut on_write)?;
    }
    let plan = plan()?;
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
