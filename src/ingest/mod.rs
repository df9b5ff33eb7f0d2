//! Ingest: files in, priced and attributed records out to the writer.
//!
//! ```text
//! files ─► SourceReader (offsets, lines) ─► Detector (format + parse)
//!       ─► Pipeline::finish (provider, price, attribution) ─► Writer thread
//! ```
//! Files are parsed on two threads (a file at a time each) and SQLite
//! writes on the writer thread, so the three overlap. [`follow`] keeps reading as files grow.

pub mod file;
pub mod follow;
pub mod paths;
pub mod pending;
pub mod rekey;
pub mod retry;
pub mod source;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::attribution::Attributor;
use crate::domain::record::{CallRecord, Format};
use crate::formats::claude_code::project_from_path;
use crate::formats::common::infer_provider;
use crate::pricing::{Catalog, Pricer};
use crate::store::writer::{Writer, WriterError, WriterTotals};
use crate::store::{self, StoreError};
use crate::tokenize::TokenizerWorker;

use crate::store::writer::SourceState;
pub use file::{FileError, FileReport, Progress, ReadCtx, read_file_from};
pub use source::{SourceOptions, SourceSpec};

/// Per-thread record finishing: provider, price, attribution.
pub struct Pipeline {
    pricer: Pricer,
    attributor: Arc<Attributor>,
}

impl Pipeline {
    pub fn new(catalog: Arc<Catalog>, attributor: Arc<Attributor>) -> Pipeline {
        Pipeline { pricer: Pricer::new(catalog), attributor }
    }

    /// Completes a parsed record read from `source` with its options.
    pub fn finish(&mut self, rec: &mut CallRecord, source: &str, options: &SourceOptions) {
        if let Some(b) = options.batch {
            rec.batch = b;
        }
        if rec.format == Some(Format::ClaudeCode) && rec.project.is_none() {
            rec.project = project_from_path(source);
        }
        if rec.provider.is_none() {
            rec.provider = infer_provider(&rec.model).map(str::to_string);
        }
        self.pricer.price(rec);
        if rec.usage_missing {
            // Pending until its usage is counted: no cost yet, never $0.
            rec.cost = None;
        }
        if rec.provider.is_none()
            && let Some((_, entry)) = self.pricer.resolve(None, &rec.model)
        {
            rec.provider = entry.provider.clone();
        }
        options.defaults.apply(rec);
        self.attributor.apply(rec, source);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Paths(#[from] paths::PathError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Writer(#[from] WriterError),
    #[error("cannot watch '{path}' for changes: {message}")]
    Watch { path: String, message: String },
}

/// The outcome of an ingest.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    pub files: usize,
    pub unchanged_files: usize,
    pub lines: u64,
    pub calls: u64,
    pub skipped: u64,
    /// Skipped lines by reason.
    pub skip_reasons: std::collections::BTreeMap<&'static str, u64>,
    pub bytes: u64,
    pub partial_waiting: u64,
    pub totals: WriterTotals,
    pub elapsed: Duration,
    /// Files that could not be read, with the reason.
    pub file_errors: Vec<String>,
    /// A stop (Ctrl-C, SIGTERM) ended the run early.
    pub interrupted: bool,
    /// Calls whose prompt components were counted.
    pub tokenized: u64,
    /// Calls logged without usage whose usage was counted from their text.
    pub usage_filled: u64,
    /// Pending calls of earlier runs read again (counted, or given up).
    pub retried: pending::Retried,
}

impl IngestReport {
    pub fn lines_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.lines as f64 / s } else { 0.0 }
    }

    fn add(&mut self, r: &FileReport) {
        self.lines += r.lines;
        self.calls += r.calls;
        self.skipped += r.skipped;
        for (why, n) in &r.skip_reasons {
            *self.skip_reasons.entry(why).or_default() += n;
        }
        self.bytes += r.bytes;
        self.partial_waiting += r.partial_waiting as u64;
        self.unchanged_files += r.unchanged as usize;
        self.interrupted |= r.interrupted;
    }
}

/// Options for [`ingest_files`].
pub struct IngestOptions<'a> {
    pub db: &'a Path,
    pub catalog: Arc<Catalog>,
    pub attributor: Arc<Attributor>,
    /// Checked between batches: stop early, keeping what was committed.
    pub stop: Option<&'a AtomicBool>,
    /// Bytes and lines read so far, for a progress display.
    pub progress: Option<&'a Progress>,
    /// Count prompt components of calls whose logs carry text.
    pub tokenize: bool,
}

/// Reads each file once, to its end. `files` pairs each file with the
/// options of the source it belongs to.
pub fn ingest_files(
    files: &[(std::path::PathBuf, SourceOptions)],
    opts: IngestOptions,
) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let mut conn = store::open_rw_import(opts.db)?;
    rekey::upgrade(&mut conn).map_err(StoreError::from)?;
    let writer = Writer::spawn(conn, 8, None);
    let tokenizer = opts.tokenize.then(|| TokenizerWorker::spawn(writer.sender(), Arc::clone(&opts.catalog)));
    let (catalog, attributor) = (Arc::clone(&opts.catalog), Arc::clone(&opts.attributor));
    let mut pipe = Pipeline::new(opts.catalog, opts.attributor);
    let mut report = IngestReport { files: files.len(), ..Default::default() };
    if let Some(t) = &tokenizer {
        report.retried = pending::retry(&store::open_read(opts.db)?, &writer, t, &mut pipe)?;
    }
    // One round trip for every file's committed state.
    let states = writer.sources(files.iter().map(|(f, _)| f.to_string_lossy().to_string()).collect())?;
    // Files are independent until the writer: two threads read them, the
    // largest first, each taking the next file when done with one.
    let mut work: Vec<(usize, SourceState, u64)> = states
        .into_iter()
        .enumerate()
        .map(|(i, st)| {
            let size = if files.len() > 1 { std::fs::metadata(&files[i].0).map(|m| m.len()).unwrap_or(0) } else { 0 };
            (i, st, size)
        })
        .collect();
    work.sort_by_key(|(i, _, size)| (std::cmp::Reverse(*size), *i));
    let queue =
        std::sync::Mutex::new(work.into_iter().map(|(i, st, _)| (i, st)).collect::<std::collections::VecDeque<_>>());
    let read = |pipe: &mut Pipeline| -> Vec<(usize, Result<FileReport, FileError>)> {
        let mut done = Vec::new();
        loop {
            if opts.stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::Relaxed)) {
                break;
            }
            let Some((i, state)) = queue.lock().expect("ingest queue").pop_front() else { break };
            let (f, options) = &files[i];
            let mut ctx = ReadCtx {
                pipe: &mut *pipe,
                writer: &writer,
                stop: opts.stop,
                progress: opts.progress,
                tokenizer: tokenizer.as_ref(),
            };
            let r = read_file_from(f, options, state, &mut ctx);
            let failed = matches!(r, Err(FileError::Writer(_)));
            done.push((i, r));
            if failed {
                break;
            }
        }
        done
    };
    let mut results = if files.len() > 1 {
        let mut other = Pipeline::new(Arc::clone(&catalog), Arc::clone(&attributor));
        std::thread::scope(|s| {
            let h = s.spawn(|| read(&mut other));
            let mut mine = read(&mut pipe);
            mine.extend(h.join().expect("an ingest thread panicked"));
            mine
        })
    } else {
        read(&mut pipe)
    };
    if !queue.into_inner().expect("ingest queue").is_empty() {
        report.interrupted = true;
    }
    results.sort_by_key(|(i, _)| *i);
    for (_, r) in results {
        match r {
            Ok(r) => report.add(&r),
            Err(FileError::Writer(e)) => return Err(e.into()),
            Err(e) => report.file_errors.push(e.to_string()),
        }
    }
    if let Some(t) = tokenizer {
        let stats = Arc::clone(t.stats());
        t.finish();
        report.tokenized = stats.counted.load(std::sync::atomic::Ordering::Relaxed);
        report.usage_filled = stats.usage_filled.load(std::sync::atomic::Ordering::Relaxed);
    }
    report.totals = writer.finish()?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Reads every file under `inputs` (files, directories, globs) once, all
/// with the same options.
pub fn ingest_paths(
    inputs: &[std::path::PathBuf],
    options: &SourceOptions,
    opts: IngestOptions,
) -> Result<IngestReport, IngestError> {
    let mut files = Vec::new();
    for i in inputs {
        let p = paths::Pattern::new(i, paths::SymlinkPolicy::default())?;
        files.extend(p.expand_required()?.files.into_iter().map(|f| (f, options.clone())));
    }
    ingest_files(&files, opts)
}
