//! Reading one source file from its committed offset to the end.
//!
//! * A [`SourceReader`] holds the file open, so a file renamed away by
//!   log rotation, or deleted, can still be read to its end.
//! * The file's identity is its path plus a fingerprint of its first bytes
//!   (up to 4 KiB). If the head changed, or the file is shorter than what
//!   was already read, the file was replaced or truncated and is read again
//!   from the start (the dedupe index keeps the ledger exact either way).
//! * Lines end at `\n`; a trailing `\r` is dropped. A last line without a
//!   newline is taken only if it is a complete record; otherwise it waits
//!   (its bytes are not committed) for the writer to finish it.
//! * Lines longer than [`MAX_LINE`] are rejected without being held in
//!   memory; memory stays bounded whatever the file size.
//! * Batches go to the writer with the offset just past their last complete
//!   line; the writer commits rows and offset together.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

use super::Pipeline;
use super::source::SourceOptions;
use crate::domain::record::CallRecord;
use crate::formats::{Detector, Parsed};
use crate::store::writer::{Batch, RejectRow, SourceState, Writer, WriterError};
use crate::tokenize::{Job, TokenizerWorker};

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

/// What one read of a file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub lines: u64,
    pub calls: u64,
    pub rejects: u64,
    pub skipped: u64,
    /// Skipped lines by reason.
    pub skip_reasons: std::collections::BTreeMap<&'static str, u64>,
    pub bytes: u64,
    /// A final line without a newline is waiting to be completed.
    pub partial_waiting: bool,
    /// The file was replaced or truncated and read from the start.
    pub reset: bool,
    /// Nothing new since the last read.
    pub unchanged: bool,
    /// Reading stopped early because a stop was requested.
    pub interrupted: bool,
}

/// Counters shared with a progress display.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: AtomicU64,
    pub lines: AtomicU64,
    /// Set by a follower once it has read every source to its end once
    /// and committed (the catch-up is over).
    pub caught_up: AtomicBool,
}

/// Things a read shares with the rest of the ingest.
pub struct ReadCtx<'a> {
    pub pipe: &'a mut Pipeline,
    pub writer: &'a Writer,
    pub stop: Option<&'a AtomicBool>,
    pub progress: Option<&'a Progress>,
    /// Counts prompt components in the background (`None`: prompts ignored).
    pub tokenizer: Option<&'a TokenizerWorker>,
}

fn io_err(path: &str) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io { path: path.to_string(), source }
}

/// The head fingerprint of `head` over its first `len` bytes.
pub fn fingerprint(head: &[u8], len: usize) -> i64 {
    xxh3_64(&head[..len.min(head.len())]) as i64
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

/// The device and inode a path points to now.
pub fn path_identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().as_ref().and_then(dev_inode)
}

/// An open source file and how far it has been read.
pub struct SourceReader {
    pub path: String,
    file: File,
    pub dev_inode: Option<(u64, u64)>,
    /// Offset, line and fingerprint of what was sent to the writer.
    pub state: SourceState,
    pub options: SourceOptions,
    /// The last read ended on an unterminated line that is waiting.
    pub partial: bool,
    detector: Detector,
}

impl SourceReader {
    /// Opens `path` (canonical) and loads its committed state.
    pub fn open(path: &Path, options: SourceOptions, writer: &Writer) -> Result<SourceReader, FileError> {
        let state = writer.source(&path.to_string_lossy())?;
        SourceReader::open_with_state(path, options, state)
    }

    /// Opens `path` with a state already looked up ([`Writer::sources`]).
    pub fn open_with_state(path: &Path, options: SourceOptions, state: SourceState) -> Result<SourceReader, FileError> {
        let path_str = path.to_string_lossy().to_string();
        let file = File::open(path).map_err(io_err(&path_str))?;
        let meta = file.metadata().map_err(io_err(&path_str))?;
        Ok(SourceReader {
            dev_inode: dev_inode(&meta),
            detector: Detector::new(options.format),
            path: path_str,
            file,
            state,
            options,
            partial: false,
        })
    }

    /// Reads everything new since the last read and sends it to the writer.
    pub fn read(&mut self, ctx: &mut ReadCtx) -> Result<FileReport, FileError> {
        let err = io_err(&self.path);
        let meta = self.file.metadata().map_err(&err)?;
        let size = meta.len();
        let mtime_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .unwrap_or_else(crate::domain::time::now_ms);
        let mut head = vec![0u8; FINGERPRINT_LEN.min(size as usize)];
        self.file.seek(SeekFrom::Start(0)).map_err(&err)?;
        self.file.read_exact(&mut head).map_err(&err)?;

        let st = &self.state;
        let replaced =
            st.fp_len > 0 && (size < st.fp_len || st.fingerprint != Some(fingerprint(&head, st.fp_len as usize)));
        let truncated = size < st.offset;
        let reset = (replaced || truncated) && (st.offset > 0 || st.line_no > 0);
        let new_fp = (fingerprint(&head, head.len()), head.len() as u64);
        let (start, start_line) = if reset { (0, 0) } else { (st.offset, st.line_no) };
        let mut report = FileReport { path: self.path.clone(), reset, ..FileReport::default() };
        if let Some(p) = ctx.progress {
            // What was read on earlier runs counts as done.
            p.bytes.fetch_add(start, Ordering::Relaxed);
        }
        if !reset && start == size && st.fp_len == new_fp.1 {
            report.unchanged = true;
            return Ok(report);
        }
        if reset {
            self.detector = Detector::new(self.options.format);
        }

        self.file.seek(SeekFrom::Start(start)).map_err(&err)?;
        let mut reader = BufReader::with_capacity(1 << 20, &self.file);
        let mut fs = FileState {
            path: &self.path,
            options: &self.options,
            detector: &mut self.detector,
            batch: Batch {
                records: ctx.writer.records(),
                source_id: self.state.id,
                path: self.path.clone(),
                reset,
                fingerprint: Some(new_fp),
                dev_inode: self.dev_inode,
                size,
                end_offset: start,
                end_line: start_line,
                start_line,
                ..Batch::default()
            },
            batch_bytes: 0,
            pos: start,
            progress_pos: start,
            line_no: start_line,
            mtime_ms,
            tmp: Vec::with_capacity(4),
            jobs: Vec::new(),
            report,
            line_offset: start,
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
                        fs.reject_too_long(line_start, &long, n + i as u64);
                        long.clear();
                    } else if long.is_empty() {
                        fs.line(&avail[..i], line_start, ctx.pipe);
                    } else {
                        long.extend_from_slice(&avail[..i]);
                        fs.line(&long, line_start, ctx.pipe);
                        long.clear();
                    }
                    reader.consume(consumed);
                    fs.pos += consumed as u64;
                    line_start = fs.pos;
                    fs.batch.end_offset = fs.pos;
                    fs.batch.end_line = fs.line_no;
                    if fs.batch.lines >= BATCH_LINES || fs.batch_bytes >= BATCH_BYTES {
                        fs.flush(ctx)?;
                        if ctx.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                            fs.report.interrupted = true;
                            break;
                        }
                    }
                }
                None => {
                    let n = avail.len();
                    match discarding.as_mut() {
                        Some(d) => *d += n as u64,
                        None if long.len() + n > MAX_LINE => {
                            // Keep only an excerpt's worth of the line (its
                            // length so far counted before cutting).
                            let so_far = (long.len() + n) as u64;
                            long.truncate(EXCERPT_CHARS * 4);
                            discarding = Some(so_far);
                        }
                        None => long.extend_from_slice(avail),
                    }
                    reader.consume(n);
                    fs.pos += n as u64;
                }
            }
        }
        if !fs.report.interrupted {
            // A final line without a newline: take it only if it is a whole record.
            if discarding.is_none() && !long.is_empty() {
                if fs.try_partial(&long, line_start, ctx.pipe) {
                    fs.batch.end_offset = fs.pos;
                    fs.batch.end_line = fs.line_no;
                } else {
                    fs.report.partial_waiting = true;
                }
            } else if discarding.is_some() {
                fs.report.partial_waiting = true;
            }
        }
        fs.report.bytes = fs.batch.end_offset - start;
        let (end_offset, end_line) = (fs.batch.end_offset, fs.batch.end_line);
        fs.flush(ctx)?;
        let report = fs.report;
        self.partial = report.partial_waiting;
        self.state.offset = end_offset;
        self.state.line_no = end_line;
        self.state.fingerprint = Some(new_fp.0);
        self.state.fp_len = new_fp.1;
        self.state.size = size;
        Ok(report)
    }
}

/// Reads new lines of `path` once (open, read to the end, close).
/// Reads `path` once from a state already looked up.
pub fn read_file_from(
    path: &Path,
    options: &SourceOptions,
    state: SourceState,
    ctx: &mut ReadCtx,
) -> Result<FileReport, FileError> {
    SourceReader::open_with_state(path, options.clone(), state)?.read(ctx)
}

struct FileState<'r> {
    path: &'r str,
    options: &'r SourceOptions,
    detector: &'r mut Detector,
    batch: Batch,
    batch_bytes: usize,
    pos: u64,
    progress_pos: u64,
    line_no: u64,
    mtime_ms: i64,
    tmp: Vec<CallRecord>,
    /// Prompt texts to count once this batch has gone to the writer.
    jobs: Vec<Job>,
    report: FileReport,
    /// Where the line being read starts.
    line_offset: u64,
}

impl FileState<'_> {
    fn line(&mut self, bytes: &[u8], offset: u64, pipe: &mut Pipeline) {
        self.line_offset = offset;
        self.line_no += 1;
        self.batch.lines += 1;
        self.report.lines += 1;
        self.batch_bytes += bytes.len();
        match self.detector.parse_line(bytes, &mut self.tmp) {
            Ok(Parsed::Calls(format, _)) => {
                self.batch.format = Some(format);
                self.take_records(pipe);
            }
            Ok(Parsed::Outcome) => {
                if let Some(mut e) = self.detector.take_outcome() {
                    e.line_no = self.line_no;
                    self.batch.outcomes.push(e);
                }
                // Not a call: counted with the skipped lines, by its reason.
                self.batch.skipped += 1;
                self.batch.skipped_lines.push(self.line_no);
                self.report.skipped += 1;
                *self.report.skip_reasons.entry(crate::formats::OUTCOME_LINE).or_default() += 1;
            }
            Ok(Parsed::Skip(why)) => {
                self.batch.skipped += 1;
                self.batch.skipped_lines.push(self.line_no);
                if why == crate::formats::USAGE_NOT_A_CALL {
                    self.batch.skipped_usage_lines.push(self.line_no);
                }
                self.report.skipped += 1;
                *self.report.skip_reasons.entry(why).or_default() += 1;
            }
            Err(e) => {
                self.tmp.clear();
                self.batch.rejects.push(RejectRow {
                    line_no: self.line_no,
                    byte_offset: offset,
                    reason: crate::domain::privacy::scrub(&e.reason),
                    excerpt: excerpt(bytes),
                });
                self.report.rejects += 1;
            }
        }
    }

    fn take_records(&mut self, pipe: &mut Pipeline) {
        for mut rec in self.tmp.drain(..) {
            rec.line_no = self.line_no;
            rec.byte_offset = self.line_offset;
            if rec.ts_ms == 0 {
                rec.ts_ms = self.mtime_ms;
                rec.ts_inferred = true;
            }
            if rec.prompt.is_none() && self.batch.absorbs(&rec) {
                self.report.calls += 1;
                continue;
            }
            pipe.finish(&mut rec, self.path, self.options);
            let text = rec.prompt.take().filter(|t| !t.is_empty());
            if rec.usage_missing && text.is_none() {
                // No usage and no text to count it from: unpriced, said so.
                rec.usage_missing = false;
                rec.warnings |= crate::domain::record::Warning::TextGone.bit();
            }
            if let Some(text) = text {
                self.jobs.push(Job {
                    dedupe_ts: if rec.ts_inferred { 0 } else { rec.ts_ms },
                    dedupe_key: rec.dedupe_key,
                    model: rec.model.clone(),
                    text,
                    fill: rec.usage_missing.then(|| Box::new(rec.clone())),
                    given: rec.parts,
                });
            }
            self.batch.push(rec);
            self.report.calls += 1;
        }
    }

    /// Parses an unterminated last line; consumes it only if it is a record.
    fn try_partial(&mut self, bytes: &[u8], offset: u64, pipe: &mut Pipeline) -> bool {
        self.line_offset = offset;
        let mut d = self.detector.clone();
        match d.parse_line(bytes, &mut self.tmp) {
            Ok(Parsed::Calls(format, _)) => {
                *self.detector = d;
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

    fn flush(&mut self, ctx: &mut ReadCtx) -> Result<(), WriterError> {
        let next = Batch {
            records: ctx.writer.records(),
            source_id: self.batch.source_id,
            path: self.batch.path.clone(),
            reset: false,
            fingerprint: self.batch.fingerprint,
            dev_inode: self.batch.dev_inode,
            size: self.batch.size,
            end_offset: self.batch.end_offset,
            end_line: self.batch.end_line,
            start_line: self.batch.end_line,
            ..Batch::default()
        };
        let mut full = std::mem::replace(&mut self.batch, next);
        // The file may have grown while it was read.
        full.size = full.size.max(full.end_offset);
        full.seal();
        if let Some(p) = ctx.progress {
            p.lines.fetch_add(full.lines, Ordering::Relaxed);
            p.bytes.fetch_add(self.pos.saturating_sub(self.progress_pos), Ordering::Relaxed);
            self.progress_pos = self.pos;
        }
        self.batch_bytes = 0;
        ctx.writer.send(full)?;
        // After the batch: counts must reach the writer after their calls.
        match ctx.tokenizer {
            Some(t) => self.jobs.drain(..).for_each(|j| t.submit(j)),
            None => self.jobs.clear(),
        }
        Ok(())
    }
}

/// What the rejects table keeps of a line: its structure, never its
/// values (see [`crate::domain::privacy::structure`]).
pub fn excerpt(bytes: &[u8]) -> String {
    crate::domain::privacy::structure(bytes)
}
