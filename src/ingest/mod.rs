//! Ingest: files in, priced and attributed records out to the writer.
//!
//! ```text
//! files ─► read_file (offsets, lines) ─► Detector (format + parse)
//!       ─► Pipeline::finish (provider, price, attribution) ─► Writer thread
//! ```
//! Parsing runs on the calling thread and SQLite writes on the writer
//! thread, so the two overlap.

pub mod file;
pub mod paths;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::attribution::Attributor;
use crate::domain::record::{CallRecord, Format};
use crate::formats::common::infer_provider;
use crate::pricing::{Catalog, Pricer};
use crate::store::writer::{Writer, WriterError, WriterTotals};
use crate::store::{self, StoreError};

pub use file::{FileError, FileReport, read_file};

/// Per-thread record finishing: provider, price, attribution.
pub struct Pipeline {
    pricer: Pricer,
    attributor: Arc<Attributor>,
}

impl Pipeline {
    pub fn new(catalog: Arc<Catalog>, attributor: Arc<Attributor>) -> Pipeline {
        Pipeline { pricer: Pricer::new(catalog), attributor }
    }

    /// Completes a parsed record read from `source`.
    pub fn finish(&mut self, rec: &mut CallRecord, source: &str) {
        if rec.provider.is_none() {
            rec.provider = infer_provider(&rec.model).map(str::to_string);
        }
        self.pricer.price(rec);
        if rec.provider.is_none()
            && let Some((_, entry)) = self.pricer.resolve(None, &rec.model)
        {
            rec.provider = entry.provider.clone();
        }
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
}

/// The outcome of a one-shot ingest.
#[derive(Clone, Debug, Default)]
pub struct IngestReport {
    pub files: usize,
    pub unchanged_files: usize,
    pub lines: u64,
    pub calls: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub partial_waiting: u64,
    pub totals: WriterTotals,
    pub elapsed: Duration,
    /// Files that could not be read, with the reason.
    pub file_errors: Vec<String>,
}

impl IngestReport {
    pub fn lines_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 { self.lines as f64 / s } else { 0.0 }
    }
}

/// Options for [`ingest_paths`].
pub struct IngestOptions<'a> {
    pub db: &'a Path,
    pub catalog: Arc<Catalog>,
    pub attributor: Arc<Attributor>,
    pub forced: Option<Format>,
    /// Called after each file (for progress output).
    pub on_file: Option<&'a mut dyn FnMut(&FileReport, &WriterTotals)>,
}

/// Reads every file under `inputs` once, to its end.
pub fn ingest_paths(inputs: &[PathBuf], opts: IngestOptions) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let files = paths::expand(inputs)?;
    let conn = store::open_rw(opts.db)?;
    let writer = Writer::spawn(conn, 8, None);
    let mut pipe = Pipeline::new(opts.catalog, opts.attributor);
    let mut report = IngestReport { files: files.len(), ..Default::default() };
    let mut on_file = opts.on_file;
    for f in &files {
        match read_file(f, opts.forced, &mut pipe, &writer) {
            Ok(r) => {
                report.lines += r.lines;
                report.calls += r.calls;
                report.skipped += r.skipped;
                report.bytes += r.bytes;
                report.partial_waiting += r.partial_waiting as u64;
                report.unchanged_files += r.unchanged as usize;
                if let Some(cb) = on_file.as_mut() {
                    cb(&r, &writer.stats().snapshot());
                }
            }
            Err(FileError::Writer(e)) => return Err(e.into()),
            Err(e) => report.file_errors.push(e.to_string()),
        }
    }
    report.totals = writer.finish()?;
    report.elapsed = started.elapsed();
    Ok(report)
}
