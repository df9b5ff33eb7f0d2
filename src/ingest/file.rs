//! Reading one source file from its committed offset to the end.
//!
//! * The file's identity is its path plus a fingerprint of its first bytes
//!   (up to 4 KiB). If the head changed, or the file is shorter than what
//!   was already read, the file was replaced or truncated and is read again
//!   from the start (the dedupe index keeps the ledger exact either way).
//! * Lines end at `\n`; a trailing `\r` is dropped. A last line without a
//!   newline is taken only if it is a complete record; otherwise it waits
//!   (its bytes are not committed) for the writer to finish it.
//! * Lines longer than [`MAX_LINE`] are rejected without being held in
//!   memory; memory stays bounded whatever the file size.
//! * Batches are flushed to the writer with the offset just past their last
//!   complete line; the writer commits rows and offset together.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use super::Pipeline;
use crate::domain::record::{CallRecord, Format};
use crate::domain::sanitize;
use crate::formats::{Detector, Parsed};
use crate::store::writer::{Batch, RejectRow, Writer, WriterError};

/// Lines longer than this are rejected (and skipped without buffering).
pub const MAX_LINE: usize = 64 * 1024 * 1024;
/// Bytes of the file head used as its fingerprint.
pub const FINGERPRINT_LEN: usize = 4096;
/// Lines per batch sent to the writer.
pub const BATCH_LINES: u64 = 8192;
/// Bytes of line data per batch (bounds memory with very long lines).
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Characters of a rejected line kept as an excerpt.
const EXCERPT_CHARS: usize = 160;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read '{path}': {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Writer(#[from] WriterError),
}

/// What reading one file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub lines: u64,
    pub calls: u64,
    pub rejects: u64,
    pub skipped: u64,
    pub bytes: u64,
    /// A final line without a newline is waiting to be completed.
    pub partial_waiting: bool,
    /// The file was replaced or truncated and read from the start.
    pub reset: bool,
    /// Nothing new since the last read.
    pub unchanged: bool,
}

fn io_err(path: &str) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io { path: path.to_string(), source }
}

/// The head fingerprint of `head` over its first `len` bytes.
pub fn fingerprint(head: &[u8], len: usize) -> i64 {
    xxh3_64(&head[..len.min(head.len())]) as i64
}

/// Reads new lines of `path` (canonical) and sends them to the writer.
pub fn read_file(
    path: &Path,
    forced: Option<Format>,
    pipe: &mut Pipeline,
    writer: &Writer,
) -> Result<FileReport, FileError> {
    let path_str = path.to_string_lossy().to_string();
    let err = io_err(&path_str);
    let mut file = File::open(path).map_err(&err)?;
    let meta = file.metadata().map_err(&err)?;
    let size = meta.len();
    let mtime_ms = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or_else(crate::domain::time::now_ms);
    let dev_inode = dev_inode(&meta);

    let state = writer.source(&path_str)?;
    let mut head = vec![0u8; FINGERPRINT_LEN.min(size as usize)];
    file.read_exact(&mut head).map_err(&err)?;

    let replaced = state.fp_len > 0
        && (size < state.fp_len || state.fingerprint != Some(fingerprint(&head, state.fp_len as usize)));
    let truncated = size < state.offset;
    let reset = (replaced || truncated) && (state.offset > 0 || state.line_no > 0);
    let new_fp = (fingerprint(&head, head.len()), head.len() as u64);
    let (start, start_line) = if reset { (0, 0) } else { (state.offset, state.line_no) };

    let mut report = FileReport { path: path_str.clone(), reset, ..FileReport::default() };
    if !reset && start == size && state.fp_len == new_fp.1 {
        report.unchanged = true;
        return Ok(report);
    }

    file.seek(SeekFrom::Start(start)).map_err(&err)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut st = FileState {
        path: path_str.clone(),
        detector: Detector::new(forced),
        batch: Batch {
            source_id: state.id,
            path: path_str.clone(),
            reset,
            fingerprint: Some(new_fp),
            dev_inode,
            size,
            end_offset: start,
            end_line: start_line,
            ..Batch::default()
        },
        batch_bytes: 0,
        pos: start,
        line_no: start_line,
        mtime_ms,
        tmp: Vec::with_capacity(4),
        report,
    };
    let mut long: Vec<u8> = Vec::new();
    let mut discarding: Option<u64> = None; // bytes of an over-long line so far
    let mut line_start = start;

    loop {
        let avail = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        if avail.is_empty() {
            break;
        }
        match memchr::memchr(b'\n', avail) {
            Some(i) => {
                let consumed = i + 1;
                if let Some(n) = discarding.take() {
                    let total = n + i as u64;
                    st.reject_too_long(line_start, &long, total);
                    long.clear();
                } else if long.is_empty() {
                    st.line(&avail[..i], line_start, pipe);
                } else {
                    long.extend_from_slice(&avail[..i]);
                    st.line(&long, line_start, pipe);
                    long.clear();
                }
                reader.consume(consumed);
                st.pos += consumed as u64;
                line_start = st.pos;
                st.batch.end_offset = st.pos;
                st.batch.end_line = st.line_no;
                if st.batch.lines >= BATCH_LINES || st.batch_bytes >= BATCH_BYTES {
                    st.flush(writer)?;
                }
            }
            None => {
                let n = avail.len();
                match discarding.as_mut() {
                    Some(d) => *d += n as u64,
                    None if long.len() + n > MAX_LINE => {
                        // Keep only an excerpt's worth of the line.
                        long.truncate(EXCERPT_CHARS * 4);
                        discarding = Some((long.len() + n) as u64);
                    }
                    None => long.extend_from_slice(avail),
                }
                reader.consume(n);
                st.pos += n as u64;
            }
        }
    }
    // A final line without a newline: take it only if it is a whole record.
    if discarding.is_none() && !long.is_empty() {
        if st.try_partial(&long, line_start, pipe) {
            st.batch.end_offset = st.pos;
            st.batch.end_line = st.line_no;
        } else {
            st.report.partial_waiting = true;
        }
    } else if discarding.is_some() {
        st.report.partial_waiting = true;
    }
    st.report.bytes = st.batch.end_offset - start;
    st.flush(writer)?;
    Ok(st.report)
}

#[cfg(unix)]
fn dev_inode(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dev_inode(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

struct FileState {
    path: String,
    detector: Detector,
    batch: Batch,
    batch_bytes: usize,
    pos: u64,
    line_no: u64,
    mtime_ms: i64,
    tmp: Vec<CallRecord>,
    report: FileReport,
}

impl FileState {
    fn line(&mut self, bytes: &[u8], offset: u64, pipe: &mut Pipeline) {
        self.line_no += 1;
        self.batch.lines += 1;
        self.report.lines += 1;
        self.batch_bytes += bytes.len();
        match self.detector.parse_line(bytes, &mut self.tmp) {
            Ok(Parsed::Calls(format, _)) => {
                self.batch.format = Some(format);
                self.take_records(pipe);
            }
            Ok(Parsed::Skip(_)) => {
                self.batch.skipped += 1;
                self.report.skipped += 1;
            }
            Err(e) => {
                self.tmp.clear();
                self.batch.rejects.push(RejectRow {
                    line_no: self.line_no,
                    byte_offset: offset,
                    reason: e.reason,
                    excerpt: excerpt(bytes),
                });
                self.report.rejects += 1;
            }
        }
    }

    fn take_records(&mut self, pipe: &mut Pipeline) {
        for mut rec in self.tmp.drain(..) {
            rec.line_no = self.line_no;
            if rec.ts_ms == 0 {
                rec.ts_ms = self.mtime_ms;
                rec.ts_inferred = true;
            }
            pipe.finish(&mut rec, &self.path);
            self.batch.push(rec);
            self.report.calls += 1;
        }
    }

    /// Parses an unterminated last line; consumes it only if it is a record.
    fn try_partial(&mut self, bytes: &[u8], _offset: u64, pipe: &mut Pipeline) -> bool {
        let mut d = self.detector;
        match d.parse_line(bytes, &mut self.tmp) {
            Ok(Parsed::Calls(format, _)) => {
                self.detector = d;
                self.line_no += 1;
                self.batch.lines += 1;
                self.report.lines += 1;
                self.batch.format = Some(format);
                self.take_records(pipe);
                true
            }
            _ => {
                self.tmp.clear();
                false
            }
        }
    }

    fn reject_too_long(&mut self, offset: u64, head: &[u8], len: u64) {
        self.line_no += 1;
        self.batch.lines += 1;
        self.report.lines += 1;
        self.batch.rejects.push(RejectRow {
            line_no: self.line_no,
            byte_offset: offset,
            reason: format!("line is {len} bytes, longer than the {} MiB limit; skipped", MAX_LINE >> 20),
            excerpt: excerpt(head),
        });
        self.report.rejects += 1;
    }

    fn flush(&mut self, writer: &Writer) -> Result<(), WriterError> {
        let next = Batch {
            source_id: self.batch.source_id,
            path: self.batch.path.clone(),
            reset: false,
            fingerprint: self.batch.fingerprint,
            dev_inode: self.batch.dev_inode,
            size: self.batch.size,
            end_offset: self.batch.end_offset,
            end_line: self.batch.end_line,
            ..Batch::default()
        };
        let full = std::mem::replace(&mut self.batch, next);
        self.batch_bytes = 0;
        writer.send(full)
    }
}

/// A short, sanitized excerpt of a line for the rejects table.
pub fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_CHARS * 4)];
    let text = String::from_utf8_lossy(cut);
    sanitize::clean_truncated(&text, EXCERPT_CHARS)
}
