//! The first pass of an export: walk the chosen rows in archive order, decide each image's name inside
//! the archive, and write the entry list and both metadata files to scratch files beside the export,
//! so the archive's exact length is known before its last member is written and memory stays flat.
//! A streamed download also receives each entry as soon as it is planned, so its first bytes do not
//! wait for the whole pass.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use sea_orm::DatabaseConnection;

use super::metadata::{Skipped, header_fields, image_record, ndjson_header, ndjson_line, unique_name};
use super::zip_writer::ArchiveLength;
use crate::media::names::safe_filename;
use crate::media::thumbs::thumbnail_name;
use crate::store::gallery::{self, GalleryFilter, GalleryRow, PageStart};

const PAGE_ROWS: u64 = 500;

/// Which rows an export holds.
#[derive(Debug, Clone)]
pub enum Selection {
    /// The whole gallery, newest first.
    All,
    /// Rows matching filters, newest first.
    Filter(GalleryFilter),
    /// These ids in this order (unknown ids are recorded as skipped).
    Ids(Vec<String>),
}

/// The scratch files of one export, removed together.
#[derive(Debug, Clone)]
pub struct PlanFiles {
    pub entries: PathBuf,
    pub images: PathBuf,
    pub skipped: PathBuf,
    pub ndjson: PathBuf,
    /// The central directory while the archive is written.
    pub spool: PathBuf,
}

impl PlanFiles {
    pub fn new(dir: &Path, job_id: &str) -> PlanFiles {
        let file = |part: &str| dir.join(format!("{job_id}.{part}.tmp"));
        PlanFiles {
            entries: file("entries"),
            images: file("images"),
            skipped: file("skipped"),
            ndjson: file("ndjson"),
            spool: file("central"),
        }
    }

    pub fn remove(&self) {
        for path in [&self.entries, &self.images, &self.skipped, &self.ndjson, &self.spool] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What the first pass found.
#[derive(Debug, Clone)]
pub struct Plan {
    pub files: PlanFiles,
    pub requested: u64,
    pub exported: u64,
    pub missing: u64,
    /// `metadata.json`'s bytes before and after the images list (the skipped list included).
    pub json_prefix: Vec<u8>,
    pub json_suffix_before_skipped: Vec<u8>,
    pub json_suffix: Vec<u8>,
    pub json_len: u64,
    pub ndjson_len: u64,
    pub bytes_total: u64,
}

/// One image entry of the archive, as the entry list stores it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlannedEntry {
    pub size: u64,
    pub filename: String,
    pub name: String,
}

/// Counts of the pass so far, for progress.
pub trait PlanProgress: Send {
    fn rows(&mut self, processed: u64, requested: u64);
}

struct Writers {
    entries: BufWriter<File>,
    images: BufWriter<File>,
    skipped: BufWriter<File>,
    ndjson: BufWriter<File>,
    images_len: u64,
    skipped_len: u64,
    ndjson_len: u64,
    exported: u64,
    missing: u64,
    length: ArchiveLength,
    taken: HashSet<String>,
    live: Option<SyncSender<PlannedEntry>>,
}

impl Writers {
    fn create(files: &PlanFiles, live: Option<SyncSender<PlannedEntry>>) -> std::io::Result<Writers> {
        let open = |path: &Path| File::create(path).map(|f| BufWriter::with_capacity(64 * 1024, f));
        Ok(Writers {
            entries: open(&files.entries)?,
            images: open(&files.images)?,
            skipped: open(&files.skipped)?,
            ndjson: open(&files.ndjson)?,
            images_len: 0,
            skipped_len: 0,
            ndjson_len: 0,
            exported: 0,
            missing: 0,
            length: ArchiveLength::default(),
            taken: HashSet::new(),
            live,
        })
    }

    fn skip(&mut self, skipped: Skipped<'_>) -> std::io::Result<()> {
        let record = skipped.record();
        if self.missing > 0 {
            self.skipped.write_all(b",")?;
            self.skipped_len += 1;
        }
        self.skipped.write_all(&record)?;
        self.skipped_len += record.len() as u64;
        let line = ndjson_line("skipped", &record);
        self.ndjson.write_all(&line)?;
        self.ndjson_len += line.len() as u64;
        self.missing += 1;
        Ok(())
    }

    fn row(&mut self, row: &GalleryRow, images_dir: &Path, thumbnails_dir: &Path, queued: bool) -> std::io::Result<()> {
        let size = safe_filename(&row.filename, false)
            .then(|| std::fs::metadata(images_dir.join(&row.filename)).ok())
            .flatten()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len());
        let Some(size) = size else {
            return self.skip(Skipped::FileMissing { id: &row.id, filename: &row.filename });
        };
        let name = unique_name(&row.filename, &mut self.taken);
        let thumbnail = if thumbnails_dir.join(thumbnail_name(&row.filename)).is_file() {
            "ready"
        } else if queued {
            "queued"
        } else {
            "missing"
        };
        let record = image_record(row, &name, thumbnail, size);
        if self.exported > 0 {
            self.images.write_all(b",")?;
            self.images_len += 1;
        }
        self.images.write_all(&record)?;
        self.images_len += record.len() as u64;
        let line = ndjson_line("image", &record);
        self.ndjson.write_all(&line)?;
        self.ndjson_len += line.len() as u64;
        let entry = PlannedEntry { size, filename: row.filename.clone(), name: format!("images/{name}") };
        self.length.add(entry.name.len() as u64, size);
        serde_json::to_writer(&mut self.entries, &entry)?;
        self.entries.write_all(b"\n")?;
        if let Some(live) = &self.live {
            // The writer stopped (its own error says why).
            live.send(entry).map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        }
        self.exported += 1;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        for writer in [&mut self.entries, &mut self.images, &mut self.skipped, &mut self.ndjson] {
            writer.flush()?;
        }
        Ok(())
    }
}

/// Where the pass reads from and writes to.
pub struct PlanInputs<'a> {
    pub db: &'a DatabaseConnection,
    pub images_dir: &'a Path,
    pub thumbnails_dir: &'a Path,
    pub files: PlanFiles,
    pub exported_at: &'a str,
    pub version: &'a str,
    /// Where each image entry goes as soon as it is planned, for a writer running alongside.
    pub live: Option<SyncSender<PlannedEntry>>,
}

/// Runs the first pass. File checks and scratch writes happen on blocking threads, a page at a time.
pub async fn prepare(
    inputs: PlanInputs<'_>,
    selection: &Selection,
    mut progress: impl PlanProgress + 'static,
) -> Result<Plan, String> {
    let io = |e: std::io::Error| format!("cannot write the export's scratch files: {}", e.kind());
    let db_error = |e: crate::store::StoreError| e.to_string();
    let mut writers = Writers::create(&inputs.files, inputs.live).map_err(io)?;
    let header = ndjson_header(inputs.exported_at, inputs.version);
    writers.ndjson.write_all(header.as_bytes()).map_err(io)?;
    writers.ndjson_len += header.len() as u64;
    let images_dir = inputs.images_dir.to_path_buf();
    let thumbnails_dir = inputs.thumbnails_dir.to_path_buf();
    let mut processed = 0u64;
    let requested;

    match selection {
        Selection::Ids(ids) => {
            requested = ids.len() as u64;
            let mut rows: std::collections::HashMap<String, GalleryRow> = gallery::rows_by_ids(inputs.db, ids)
                .await
                .map_err(db_error)?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect();
            for id in ids.iter().filter(|id| !rows.contains_key(*id)) {
                writers.skip(Skipped::EntryMissing { id }).map_err(io)?;
            }
            let ordered: Vec<GalleryRow> = ids.iter().filter_map(|id| rows.remove(id)).collect();
            let queued = queued_set(inputs.db, &ordered).await?;
            progress.rows(0, requested);
            writers = add_rows(writers, ordered, &images_dir, &thumbnails_dir, queued).await?;
            progress.rows(requested, requested);
        }
        Selection::All | Selection::Filter(_) => {
            let filter = match selection {
                Selection::Filter(filter) => filter.clone(),
                _ => GalleryFilter::default(),
            };
            requested = gallery::count(inputs.db, &filter).await.map_err(db_error)?;
            progress.rows(0, requested);
            let mut start = PageStart::Offset(0);
            loop {
                let page = gallery::page(inputs.db, &filter, &start, PAGE_ROWS).await.map_err(db_error)?;
                let Some(last) = page.rows.last() else { break };
                start = PageStart::After(last.sort_seq, last.id.clone());
                let queued = queued_set(inputs.db, &page.rows).await?;
                processed += page.rows.len() as u64;
                writers = add_rows(writers, page.rows, &images_dir, &thumbnails_dir, queued).await?;
                progress.rows(processed, requested.max(processed));
                if !page.more {
                    break;
                }
            }
        }
    }
    writers.flush().map_err(io)?;
    // The entry list is complete: a writer alongside moves on to the metadata.
    writers.live = None;

    let json_prefix = format!("{{{},\"images\":[", header_fields(inputs.exported_at, inputs.version)).into_bytes();
    let json_suffix_before_skipped: Vec<u8> =
        if writers.missing > 0 { b"],\"skipped\":[".to_vec() } else { b"]".to_vec() };
    let json_suffix: Vec<u8> = if writers.missing > 0 { b"]}".to_vec() } else { b"}".to_vec() };
    let json_len = (json_prefix.len() + json_suffix_before_skipped.len() + json_suffix.len()) as u64
        + writers.images_len
        + writers.skipped_len;
    let mut length = writers.length.clone();
    length.add("metadata.json".len() as u64, json_len);
    length.add("metadata.ndjson".len() as u64, writers.ndjson_len);
    Ok(Plan {
        files: inputs.files,
        requested,
        exported: writers.exported,
        missing: writers.missing,
        json_prefix,
        json_suffix_before_skipped,
        json_suffix,
        json_len,
        ndjson_len: writers.ndjson_len,
        bytes_total: length.total(),
    })
}

/// Checks the rows' files and writes their records on a blocking thread.
async fn add_rows(
    mut writers: Writers,
    rows: Vec<GalleryRow>,
    images_dir: &Path,
    thumbnails_dir: &Path,
    queued: HashSet<String>,
) -> Result<Writers, String> {
    let (images_dir, thumbnails_dir) = (images_dir.to_path_buf(), thumbnails_dir.to_path_buf());
    tokio::task::spawn_blocking(move || {
        for row in &rows {
            writers.row(row, &images_dir, &thumbnails_dir, queued.contains(&row.filename))?;
        }
        Ok::<_, std::io::Error>(writers)
    })
    .await
    .map_err(|_| "the export stopped unexpectedly".to_string())?
    .map_err(|e| format!("cannot write the export's scratch files: {}", e.kind()))
}

async fn queued_set(db: &DatabaseConnection, rows: &[GalleryRow]) -> Result<HashSet<String>, String> {
    let names: Vec<String> = rows.iter().map(|r| r.filename.clone()).collect();
    let mut queued = HashSet::new();
    for chunk in names.chunks(PAGE_ROWS as usize) {
        queued.extend(gallery::queued_thumbnails(db, chunk).await.map_err(|e| e.to_string())?);
    }
    Ok(queued)
}
