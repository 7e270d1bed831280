//! Reading MCAP files: the summary (what `eshm info` shows), metadata records, and messages
//! in file order (what `eshm play` publishes). Files are read through `std::io` (never
//! mapped: another process may truncate a file it is still writing).
//!
//! A file is *finished* when its writer wrote the summary and footer (`eshm record` does
//! that on Ctrl-C and SIGTERM too). An unfinished one (its recorder was killed with SIGKILL,
//! or the machine stopped) has no summary: its messages up to the last complete chunk are
//! still readable in file order (the recorder closes a chunk every second), and `info` and
//! `play` use those, saying where reading stopped.

use crate::{Exit, Failure};
use mcap::records::{Metadata, Record};
use mcap::sans_io::{LinearReaderOptions, SummaryReadEvent, SummaryReader, SummaryReaderOptions};
use mcap::{McapError, Summary};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A recording, opened.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) path: PathBuf,
    /// File size in bytes.
    pub(crate) len: u64,
    /// The writer's name (`eshm/0.1.0`, `mcap-rust/...`), from the header.
    pub(crate) library: String,
    /// The summary; `None` for an unfinished file.
    pub(crate) summary: Option<Summary>,
    /// Why there is no summary, when there is none.
    pub(crate) unfinished: Option<String>,
}

impl Recording {
    /// Opens `path` and reads its header and summary.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if the file cannot be read or is not MCAP at all.
    pub(crate) fn open(path: &Path) -> Result<Recording, Failure> {
        let shown = crate::show::safe(&path.display().to_string());
        let cannot = |e: std::io::Error| {
            let exit = if e.kind() == std::io::ErrorKind::NotFound {
                Exit::NotFound
            } else {
                Exit::Failure
            };
            Failure::new(exit, format!("cannot open {shown}: {e}"))
        };
        // Looked at before opening: opening a FIFO would block.
        if !std::fs::metadata(path).map_err(cannot)?.is_file() {
            return Err(Failure::usage(format!("{shown} is not a regular file")));
        }
        let mut file = File::open(path).map_err(cannot)?;
        let len = file.metadata()?.len();
        let mut magic = [0u8; 8];
        if file.read_exact(&mut magic).is_err() || magic != mcap::MAGIC {
            return Err(Failure::new(Exit::Corrupt, format!("{shown} is not an MCAP file")));
        }
        let library = header_library(&mut file, len).unwrap_or_default();
        let (summary, unfinished) = match read_summary(&mut file, len) {
            Ok(Some(summary)) => (Some(summary), None),
            Ok(None) => (None, Some("the file has no summary section".to_owned())),
            Err(e) => (None, Some(format!("the file is not finished ({e})"))),
        };
        Ok(Recording { path: path.to_owned(), len, library, summary, unfinished })
    }

    /// The compression of the file's chunks, if any is compressed (this build reads none).
    pub(crate) fn compression(&self) -> Option<&str> {
        let summary = self.summary.as_ref()?;
        summary.chunk_indexes.iter().map(|c| c.compression.as_str()).find(|c| !c.is_empty())
    }

    /// The metadata records the summary indexes (none for an unfinished file).
    ///
    /// # Errors
    ///
    /// A [`Failure`] if one cannot be read.
    pub(crate) fn metadata(&self) -> Result<Vec<Metadata>, Failure> {
        let Some(summary) = &self.summary else { return Ok(Vec::new()) };
        let mut file = File::open(&self.path)?;
        let mut out = Vec::new();
        for index in &summary.metadata_indexes {
            let bad = || {
                Failure::new(
                    Exit::Corrupt,
                    format!("metadata record {:?} is damaged", crate::show::safe(&index.name)),
                )
            };
            // Opcode (1 byte), length (8 bytes), body.
            if index.length < 9 || index.offset.saturating_add(index.length) > self.len {
                return Err(bad());
            }
            let mut buf = vec![0u8; index.length as usize];
            file.seek(SeekFrom::Start(index.offset))?;
            file.read_exact(&mut buf)?;
            match mcap::parse_record(buf[0], &buf[9..]) {
                Ok(Record::Metadata(m)) => out.push(m),
                _ => return Err(bad()),
            }
        }
        Ok(out)
    }

    /// The messages, in file order, each with its channel. For an unfinished file, the
    /// iterator ends with an error where the readable part ends.
    ///
    /// # Errors
    ///
    /// A [`Failure`] if the file cannot be opened again.
    pub(crate) fn messages(&self) -> Result<mcap::io::MessageReader<BufReader<File>>, Failure> {
        let file = BufReader::with_capacity(1 << 20, File::open(&self.path)?);
        // No record is longer than the file: a damaged length never makes the reader
        // allocate more than that.
        let limit = usize::try_from(self.len).unwrap_or(usize::MAX);
        let options = LinearReaderOptions::default()
            .with_record_length_limit(limit)
            .with_skip_end_magic(self.summary.is_none());
        Ok(mcap::io::MessageReader::new_with_options(file, options))
    }

    /// Fails for a file this build cannot read messages from (compressed chunks).
    ///
    /// # Errors
    ///
    /// The [`Failure`] that says how to decompress it.
    pub(crate) fn check_readable(&self) -> Result<(), Failure> {
        match self.compression() {
            Some(c) => Err(compressed(&self.path, c)),
            None => Ok(()),
        }
    }
}

/// The failure for a file with compressed chunks, with the remedy.
pub(crate) fn compressed(path: &Path, compression: &str) -> Failure {
    Failure::new(
        Exit::Corrupt,
        format!(
            "{} has {} compressed chunks, which this eshm does not read (it is built without \
             compression); decompress the file first, e.g. with the mcap CLI: `mcap decompress \
             {} -o uncompressed.mcap`",
            crate::show::safe(&path.display().to_string()),
            crate::show::safe(compression),
            crate::show::safe(&path.display().to_string()),
        ),
    )
}

/// A message-reading error as a failure (compression gets its remedy).
pub(crate) fn read_error(path: &Path, e: McapError) -> Failure {
    match e {
        McapError::UnsupportedCompression(c) => compressed(path, &c),
        e => Failure::new(
            Exit::Corrupt,
            format!("{}: {e}", crate::show::safe(&path.display().to_string())),
        ),
    }
}

/// The `library` of the header record (which follows the magic).
fn header_library(file: &mut File, len: u64) -> Option<String> {
    let mut head = [0u8; 9];
    file.seek(SeekFrom::Start(8)).ok()?;
    file.read_exact(&mut head).ok()?;
    let body_len = u64::from_le_bytes(head[1..9].try_into().ok()?);
    if head[0] != 0x01 || body_len > len.min(1 << 20) {
        return None;
    }
    let mut body = vec![0u8; body_len as usize];
    file.read_exact(&mut body).ok()?;
    match mcap::parse_record(head[0], &body) {
        Ok(Record::Header(h)) => Some(h.library),
        _ => None,
    }
}

fn read_summary(file: &mut File, len: u64) -> mcap::McapResult<Option<Summary>> {
    let mut reader =
        SummaryReader::new_with_options(SummaryReaderOptions::default().with_file_size(len));
    while let Some(event) = reader.next_event() {
        match event? {
            SummaryReadEvent::ReadRequest(n) => {
                let read = file.read(reader.insert(n))?;
                reader.notify_read(read);
            }
            SummaryReadEvent::SeekRequest(to) => {
                let pos = file.seek(to)?;
                reader.notify_seeked(pos);
            }
        }
    }
    Ok(reader.finish())
}
