//! A stored (uncompressed) ZIP writer for exports. Every size is known before writing starts, so the
//! archive's exact length is too ([`archive_len`] and the writer share the same header arithmetic).
//! Entries use data descriptors, so CRCs are computed while streaming and nothing is read twice;
//! ZIP64 records appear only where the format needs them (entries or offsets past 4 GiB, more than
//! 65,535 entries). The central directory is spooled to a file, so memory stays flat however many
//! entries an archive holds.

use std::io::{self, BufWriter, Read, Seek, Write};

/// Sizes and offsets at or above this need ZIP64 fields.
const ZIP64_THRESHOLD: u64 = u32::MAX as u64;
/// More entries than this need the ZIP64 end record.
const ZIP64_ENTRIES: u64 = u16::MAX as u64;
const LOCAL_HEADER: u64 = 30;
const CENTRAL_HEADER: u64 = 46;
const END_RECORD: u64 = 22;
const ZIP64_END_RECORD: u64 = 56;
const ZIP64_LOCATOR: u64 = 20;
/// Bit 3: sizes and CRC follow the data; bit 11: names are UTF-8.
const FLAGS: u16 = (1 << 3) | (1 << 11);
const UNIX_FILE_MODE: u32 = 0o100644;

fn is_large(size: u64) -> bool {
    size >= ZIP64_THRESHOLD
}

fn local_len(name_len: u64, size: u64) -> u64 {
    let zip64_extra = if is_large(size) { 20 } else { 0 };
    let descriptor = if is_large(size) { 24 } else { 16 };
    LOCAL_HEADER + name_len + zip64_extra + size + descriptor
}

fn central_extra_len(size: u64, offset: u64) -> u64 {
    let fields = if is_large(size) { 16 } else { 0 } + if offset >= ZIP64_THRESHOLD { 8 } else { 0 };
    if fields == 0 { 0 } else { 4 + fields }
}

fn end_len(entries: u64, central_start: u64, central_size: u64) -> u64 {
    let zip64 = needs_zip64_end(entries, central_start, central_size);
    END_RECORD + if zip64 { ZIP64_END_RECORD + ZIP64_LOCATOR } else { 0 }
}

fn needs_zip64_end(entries: u64, central_start: u64, central_size: u64) -> bool {
    entries > ZIP64_ENTRIES || central_start >= ZIP64_THRESHOLD || central_size >= ZIP64_THRESHOLD
}

/// The exact length of an archive, entry by entry, in the order they will be written.
#[derive(Debug, Clone, Default)]
pub struct ArchiveLength {
    offset: u64,
    central: u64,
    count: u64,
}

impl ArchiveLength {
    /// An entry whose name is `name_len` bytes long and whose data is `size` bytes.
    pub fn add(&mut self, name_len: u64, size: u64) {
        self.central += CENTRAL_HEADER + name_len + central_extra_len(size, self.offset);
        self.offset += local_len(name_len, size);
        self.count += 1;
    }

    pub fn total(&self) -> u64 {
        self.offset + self.central + end_len(self.count, self.offset, self.central)
    }
}

/// The exact length of an archive of entries given as (name length in bytes, data size), in order.
pub fn archive_len(entries: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    let mut length = ArchiveLength::default();
    for (name_len, size) in entries {
        length.add(name_len, size);
    }
    length.total()
}

/// An MS-DOS date and time, the only timestamp plain ZIP headers hold.
#[derive(Debug, Clone, Copy)]
pub struct DosTime {
    time: u16,
    date: u16,
}

impl DosTime {
    pub fn from_utc(at: chrono::DateTime<chrono::Utc>) -> DosTime {
        use chrono::{Datelike, Timelike};
        let year = at.year().clamp(1980, 2107) as u16;
        DosTime {
            time: ((at.hour() as u16) << 11) | ((at.minute() as u16) << 5) | (at.second() as u16 / 2),
            date: ((year - 1980) << 9) | ((at.month() as u16) << 5) | at.day() as u16,
        }
    }
}

/// Writes entries one after the other into `out`; the central directory waits in `spool` (an empty
/// scratch file the caller owns and removes).
pub struct ZipWriter<W: Write, S: Read + Write + Seek> {
    out: W,
    spool: BufWriter<S>,
    stamp: DosTime,
    offset: u64,
    central_size: u64,
    entries: u64,
}

impl<W: Write, S: Read + Write + Seek> ZipWriter<W, S> {
    pub fn new(out: W, spool: S, stamp: DosTime) -> Self {
        ZipWriter { out, spool: BufWriter::new(spool), stamp, offset: 0, central_size: 0, entries: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.offset
    }

    /// Adds `name` with exactly `size` bytes from `data`; a source that holds more or fewer bytes
    /// than announced (a file changed while exporting) is an error, since the length was promised.
    /// `on_write` sees the running total after each chunk.
    pub fn add(
        &mut self,
        name: &str,
        size: u64,
        data: &mut impl Read,
        buffer: &mut [u8],
        mut on_write: impl FnMut(u64) -> io::Result<()>,
    ) -> io::Result<()> {
        let large = is_large(size);
        let start = self.offset;
        let name_bytes = name.as_bytes();
        let name_len = u16::try_from(name_bytes.len()).map_err(|_| io::Error::other("entry name too long"))?;
        let version = if large { 45u16 } else { 20 };

        let mut header = Vec::with_capacity(LOCAL_HEADER as usize + name_bytes.len() + 20);
        put32(&mut header, 0x0403_4b50);
        put16(&mut header, version);
        put16(&mut header, FLAGS);
        put16(&mut header, 0); // stored
        put16(&mut header, self.stamp.time);
        put16(&mut header, self.stamp.date);
        put32(&mut header, 0); // CRC, in the descriptor
        put32(&mut header, if large { u32::MAX } else { 0 });
        put32(&mut header, if large { u32::MAX } else { 0 });
        put16(&mut header, name_len);
        put16(&mut header, if large { 20 } else { 0 });
        header.extend_from_slice(name_bytes);
        if large {
            put16(&mut header, 0x0001);
            put16(&mut header, 16);
            put64(&mut header, 0);
            put64(&mut header, 0);
        }
        self.emit(&header)?;

        let mut crc = crc32fast::Hasher::new();
        let mut remaining = size;
        while remaining > 0 {
            let want = buffer.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let read = data.read(&mut buffer[..want])?;
            if read == 0 {
                return Err(io::Error::other(format!("{name} is shorter than when the export was planned")));
            }
            crc.update(&buffer[..read]);
            self.emit(&buffer[..read])?;
            remaining -= read as u64;
            on_write(self.offset)?;
        }
        if data.read(&mut buffer[..1])? != 0 {
            return Err(io::Error::other(format!("{name} is longer than when the export was planned")));
        }
        let crc = crc.finalize();

        let mut descriptor = Vec::with_capacity(24);
        put32(&mut descriptor, 0x0807_4b50);
        put32(&mut descriptor, crc);
        if large {
            put64(&mut descriptor, size);
            put64(&mut descriptor, size);
        } else {
            put32(&mut descriptor, size as u32);
            put32(&mut descriptor, size as u32);
        }
        self.emit(&descriptor)?;

        let extra_len = central_extra_len(size, start);
        let mut central = Vec::with_capacity(CENTRAL_HEADER as usize + name_bytes.len() + extra_len as usize);
        put32(&mut central, 0x0201_4b50);
        put16(&mut central, (3 << 8) | 45); // made by: Unix, ZIP 4.5
        put16(&mut central, version);
        put16(&mut central, FLAGS);
        put16(&mut central, 0);
        put16(&mut central, self.stamp.time);
        put16(&mut central, self.stamp.date);
        put32(&mut central, crc);
        put32(&mut central, if large { u32::MAX } else { size as u32 });
        put32(&mut central, if large { u32::MAX } else { size as u32 });
        put16(&mut central, name_len);
        put16(&mut central, extra_len as u16);
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk
        put16(&mut central, 0); // internal attributes
        put32(&mut central, UNIX_FILE_MODE << 16);
        put32(&mut central, if start >= ZIP64_THRESHOLD { u32::MAX } else { start as u32 });
        central.extend_from_slice(name_bytes);
        if extra_len > 0 {
            put16(&mut central, 0x0001);
            put16(&mut central, (extra_len - 4) as u16);
            if large {
                put64(&mut central, size);
                put64(&mut central, size);
            }
            if start >= ZIP64_THRESHOLD {
                put64(&mut central, start);
            }
        }
        self.spool.write_all(&central)?;
        self.central_size += central.len() as u64;
        self.entries += 1;
        Ok(())
    }

    /// Copies the central directory out, writes the end records and returns the sink.
    pub fn finish(mut self, buffer: &mut [u8]) -> io::Result<W> {
        let central_start = self.offset;
        let mut spool = self.spool.into_inner().map_err(io::IntoInnerError::into_error)?;
        spool.seek(io::SeekFrom::Start(0))?;
        let mut copied = 0u64;
        while copied < self.central_size {
            let read = spool.read(buffer)?;
            if read == 0 {
                return Err(io::Error::other("the central directory spool is short"));
            }
            let read = read.min(usize::try_from(self.central_size - copied).unwrap_or(usize::MAX));
            self.out.write_all(&buffer[..read])?;
            copied += read as u64;
        }
        self.offset += self.central_size;

        let mut end = Vec::with_capacity((END_RECORD + ZIP64_END_RECORD + ZIP64_LOCATOR) as usize);
        if needs_zip64_end(self.entries, central_start, self.central_size) {
            let zip64_end_at = self.offset;
            put32(&mut end, 0x0606_4b50);
            put64(&mut end, ZIP64_END_RECORD - 12);
            put16(&mut end, (3 << 8) | 45);
            put16(&mut end, 45);
            put32(&mut end, 0);
            put32(&mut end, 0);
            put64(&mut end, self.entries);
            put64(&mut end, self.entries);
            put64(&mut end, self.central_size);
            put64(&mut end, central_start);
            put32(&mut end, 0x0706_4b50);
            put32(&mut end, 0);
            put64(&mut end, zip64_end_at);
            put32(&mut end, 1);
        }
        let entries16 = self.entries.min(ZIP64_ENTRIES) as u16;
        put32(&mut end, 0x0605_4b50);
        put16(&mut end, 0);
        put16(&mut end, 0);
        put16(&mut end, entries16);
        put16(&mut end, entries16);
        put32(&mut end, self.central_size.min(ZIP64_THRESHOLD) as u32);
        put32(&mut end, central_start.min(ZIP64_THRESHOLD) as u32);
        put16(&mut end, 0);
        self.out.write_all(&end)?;
        self.offset += end.len() as u64;
        self.out.flush()?;
        Ok(self.out)
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// Counts bytes without keeping them.
    struct Counter(u64);

    impl Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn stamp() -> DosTime {
        DosTime::from_utc(chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap())
    }

    fn write_all<W: Write>(out: W, entries: &[(&str, Vec<u8>)]) -> W {
        let mut zip = ZipWriter::new(out, Cursor::new(Vec::new()), stamp());
        let mut buffer = vec![0u8; 4096];
        for (name, data) in entries {
            zip.add(name, data.len() as u64, &mut &data[..], &mut buffer, |_| Ok(())).unwrap();
        }
        zip.finish(&mut buffer).unwrap()
    }

    #[test]
    fn archives_read_back_with_their_promised_length() {
        let entries = vec![
            ("images/a.png", b"first image".to_vec()),
            ("images/图片.png", vec![7u8; 10_000]),
            ("images/empty.png", Vec::new()),
            ("metadata.json", br#"{"schema_version":1}"#.to_vec()),
        ];
        let bytes = write_all(Vec::new(), &entries);
        let promised = archive_len(entries.iter().map(|(n, d)| (n.len() as u64, d.len() as u64)));
        assert_eq!(bytes.len() as u64, promised);
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), entries.len());
        for (index, (name, data)) in entries.iter().enumerate() {
            let mut file = archive.by_index(index).unwrap();
            assert_eq!((file.name().unwrap().as_ref(), file.compression()), (*name, zip::CompressionMethod::Stored));
            let mut read = Vec::new();
            file.read_to_end(&mut read).unwrap();
            assert_eq!(&read, data, "{name} reads back (its CRC checked)");
        }
    }

    #[test]
    fn more_than_65535_entries_get_the_zip64_end_record() {
        let entries: Vec<(String, Vec<u8>)> = (0..65_537).map(|i| (format!("{i}"), vec![1u8])).collect();
        let borrowed: Vec<(&str, Vec<u8>)> = entries.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
        let bytes = write_all(Vec::new(), &borrowed);
        assert_eq!(bytes.len() as u64, archive_len(entries.iter().map(|(n, _)| (n.len() as u64, 1))));
        let archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 65_537);
    }

    #[test]
    fn lengths_past_4_gib_are_exact() {
        // Offsets past 4 GiB and one entry of 4 GiB itself, streamed through a counter.
        let sizes = [(5u64, ZIP64_THRESHOLD - 10), (5, 100), (5, ZIP64_THRESHOLD + 1), (13, 3)];
        let mut zip = ZipWriter::new(Counter(0), Cursor::new(Vec::new()), stamp());
        let mut buffer = vec![0u8; 1 << 20];
        for (index, (name_len, size)) in sizes.iter().enumerate() {
            let name = format!("{index:0width$}", width = *name_len as usize);
            zip.add(&name, *size, &mut io::repeat(0).take(*size), &mut buffer, |_| Ok(())).unwrap();
        }
        let counted = zip.finish(&mut buffer).unwrap().0;
        assert_eq!(counted, archive_len(sizes));
    }

    /// A file that skips runs of zeros, so a 4 GiB archive of zeros takes no disk space.
    struct Holes(std::fs::File);

    impl Write for Holes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if bytes.iter().all(|b| *b == 0) {
                self.0.seek(io::SeekFrom::Current(bytes.len() as i64))?;
            } else {
                self.0.write_all(bytes)?;
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn zip64_archives_read_back() {
        let dir = std::env::temp_dir().join(format!("zip64-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.zip");
        let big = ZIP64_THRESHOLD + 5;
        let mut zip = ZipWriter::new(Holes(std::fs::File::create(&path).unwrap()), Cursor::new(Vec::new()), stamp());
        let mut buffer = vec![0u8; 1 << 20];
        zip.add("images/big.png", big, &mut io::repeat(0).take(big), &mut buffer, |_| Ok(())).unwrap();
        zip.add("metadata.json", 4, &mut &b"{}\n\n"[..], &mut buffer, |_| Ok(())).unwrap();
        zip.finish(&mut buffer).unwrap();
        let length = std::fs::metadata(&path).unwrap().len();
        assert_eq!(length, archive_len([(14, big), (13, 4)]));

        let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(archive.by_index(0).unwrap().size(), big);
        let mut tail = String::new();
        archive.by_name("metadata.json").unwrap().read_to_string(&mut tail).unwrap();
        assert_eq!(tail, "{}\n\n", "the entry past 4 GiB is found through its ZIP64 offset");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_source_that_changed_size_is_an_error() {
        let mut zip = ZipWriter::new(Vec::new(), Cursor::new(Vec::new()), stamp());
        let mut buffer = vec![0u8; 64];
        let short = zip.add("a", 10, &mut &b"12345"[..], &mut buffer, |_| Ok(()));
        assert!(short.unwrap_err().to_string().contains("shorter"));
        let mut zip = ZipWriter::new(Vec::new(), Cursor::new(Vec::new()), stamp());
        let long = zip.add("a", 3, &mut &b"12345"[..], &mut buffer, |_| Ok(()));
        assert!(long.unwrap_err().to_string().contains("longer"));
    }
}
