//! Live tailing: keep reading sources as they grow, exactly once.
//!
//! File-system events (inotify through `notify`) wake the loop within a
//! millisecond of a write; a periodic rescan is the fallback (and picks up
//! new files that match a glob when no event was seen). Each file is read
//! from its last offset to the end with a [`SourceReader`] that holds the
//! file open, so:
//!
//! * **rotation by rename + create**: the old handle is read to its end
//!   (catching the last lines written before the rename), then the new file
//!   at the path is read from its start;
//! * **copytruncate**: the file is shorter than the offset, so it is read
//!   again from its start;
//! * **deletion**: the open handle is read to its end, then dropped;
//! * **replaced content**: the head fingerprint differs, so the file is
//!   read again from its start (duplicates are dropped by the dedupe index);
//! * **a partial last line** waits for its newline;
//! * **bursts**: events coalesce and every read goes to the end of file;
//!   the writer's bounded queue applies back-pressure.
//!
//! Offsets are committed with the rows, so a `kill -9` at any moment
//! followed by a restart yields the totals of a clean run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use super::file::{FileError, ReadCtx, SourceReader, path_identity};
use super::source::SourceSpec;
use super::{IngestError, IngestReport, Pipeline, Progress, pending};
use crate::attribution::Attributor;
use crate::pricing::Catalog;
use crate::store;
use crate::store::writer::{CommitEvent, Writer, WriterTotals};
use crate::tokenize::{TokenizerStats, TokenizerWorker};

/// Options for [`follow`].
pub struct FollowOptions<'a> {
    pub db: &'a Path,
    pub catalog: Arc<Catalog>,
    pub attributor: Arc<Attributor>,
    /// Set to stop: the loop finishes the current read, the writer commits
    /// what was sent, and `follow` returns.
    pub stop: Arc<AtomicBool>,
    /// How often to rescan sources without an event.
    pub rescan: Duration,
    /// Every commit is sent here (for live views).
    pub events: Option<Sender<CommitEvent>>,
    /// Bytes and lines read, for a progress display.
    pub progress: Option<Arc<Progress>>,
    /// Called after each round that read something, with the running
    /// report and the writer's totals.
    pub on_round: Option<&'a mut dyn FnMut(&IngestReport, &WriterTotals)>,
    /// Count prompt components in the background, reporting here.
    pub tokenizer: Option<Arc<TokenizerStats>>,
}

struct State<'s> {
    specs: &'s [SourceSpec],
    tracked: BTreeMap<PathBuf, SourceReader>,
    report: IngestReport,
}

impl State<'_> {
    fn spec_for(&self, path: &Path) -> Option<usize> {
        self.specs.iter().position(|s| s.matches(path))
    }

    /// Reads whatever is new at `path`, handling rotation and deletion.
    fn visit(&mut self, path: &Path, ctx: &mut ReadCtx) -> Result<bool, IngestError> {
        let mut did = false;
        if let Some(reader) = self.tracked.get_mut(path) {
            // Drain the handle we hold (the old file, if it was rotated).
            did |= read(reader, ctx, &mut self.report)?;
            let now = path_identity(path);
            if now.is_some() && now == reader.dev_inode {
                return Ok(did);
            }
            // Rotated, replaced or deleted. If the file was renamed, its
            // source (and offsets) move with it and it is still read: a
            // writer may append to it until it reopens the new file.
            let Some(mut reader) = self.tracked.remove(path) else { return Ok(did) };
            if let Some(moved) = find_moved(path, reader.dev_inode) {
                if self.tracked.contains_key(&moved) {
                    // Whatever was tracked there has rotated on in turn.
                    did |= self.visit(&moved, ctx)?;
                }
                ctx.writer.rename(reader.state.id, &moved.to_string_lossy())?;
                reader.path = moved.to_string_lossy().to_string();
                did |= read(&mut reader, ctx, &mut self.report)?;
                self.tracked.insert(moved, reader);
            }
        }
        let Some(spec) = self.spec_for(path) else { return Ok(did) };
        if !path.is_file() {
            return Ok(did);
        }
        match SourceReader::open(path, self.specs[spec].options.clone(), ctx.writer) {
            Ok(mut reader) => {
                self.report.files += 1;
                did |= read(&mut reader, ctx, &mut self.report)?;
                self.tracked.insert(path.to_path_buf(), reader);
            }
            Err(FileError::Writer(e)) => return Err(e.into()),
            Err(e) => self.report.file_errors.push(e.to_string()),
        }
        Ok(did)
    }

    /// All files of all sources now, plus everything tracked.
    fn scan(&self) -> BTreeSet<PathBuf> {
        let mut all: BTreeSet<PathBuf> = self.tracked.keys().cloned().collect();
        for s in self.specs {
            all.extend(s.files());
        }
        all
    }
}

/// Where a file with this identity went: a sibling of its old path (log
/// rotation renames within the directory).
fn find_moved(old: &Path, identity: Option<(u64, u64)>) -> Option<PathBuf> {
    let identity = identity?;
    let dir = old.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p != old && path_identity(p) == Some(identity))
        .map(|p| canonical(&p))
}

fn read(reader: &mut SourceReader, ctx: &mut ReadCtx, report: &mut IngestReport) -> Result<bool, IngestError> {
    match reader.read(ctx) {
        Ok(r) => {
            let did = !r.unchanged;
            report.add(&r);
            Ok(did)
        }
        Err(FileError::Writer(e)) => Err(e.into()),
        Err(e) => {
            report.file_errors.push(e.to_string());
            Ok(false)
        }
    }
}

/// Follows `specs` until `opts.stop` is set.
pub fn follow(specs: &[SourceSpec], opts: FollowOptions) -> Result<IngestReport, IngestError> {
    let started = Instant::now();
    let mut conn = store::open_rw(opts.db)?;
    super::rekey::upgrade(&mut conn).map_err(store::StoreError::from)?;
    let writer = Writer::spawn(conn, 8, opts.events);
    let tokenizer = opts
        .tokenizer
        .map(|stats| TokenizerWorker::spawn_with_stats(writer.sender(), Arc::clone(&opts.catalog), stats));
    let mut pipe = Pipeline::new(opts.catalog, opts.attributor);
    let retried = match &tokenizer {
        Some(t) => pending::retry(&store::open_read(opts.db)?, &writer, t, &mut pipe)?,
        None => Default::default(),
    };
    let (tx, rx) = std::sync::mpsc::channel::<notify::Result<notify::Event>>();
    // Without a watcher (no inotify, too many watches) the rescan still works.
    let mut watcher = notify::recommended_watcher(move |e| {
        let _ = tx.send(e);
    })
    .ok();
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut watch_roots = |watcher: &mut Option<notify::RecommendedWatcher>| {
        if let Some(w) = watcher.as_mut() {
            for s in specs {
                let (root, recursive) = s.watch_root();
                if !watched.contains(&root) && root.is_dir() {
                    let mode = if recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
                    if w.watch(&root, mode).is_ok() {
                        watched.insert(root);
                    }
                }
            }
        }
    };
    watch_roots(&mut watcher);

    let mut state =
        State { specs, tracked: BTreeMap::new(), report: IngestReport { retried, ..IngestReport::default() } };
    let mut on_round = opts.on_round;
    let progress = opts.progress.clone();
    let mut round = |state: &mut State, paths: BTreeSet<PathBuf>, pipe: &mut Pipeline| -> Result<(), IngestError> {
        let mut ctx = ReadCtx {
            pipe,
            writer: &writer,
            stop: Some(&opts.stop),
            progress: progress.as_deref(),
            tokenizer: tokenizer.as_ref(),
        };
        let mut did = false;
        for p in paths {
            if opts.stop.load(Ordering::Relaxed) {
                break;
            }
            did |= state.visit(&p, &mut ctx)?;
        }
        if did && let Some(cb) = on_round.as_mut() {
            cb(&state.report, &writer.stats().snapshot());
        }
        Ok(())
    };

    // Catch up on everything, then follow.
    let everything = state.scan();
    round(&mut state, everything, &mut pipe)?;
    writer.flush()?;
    if let Some(p) = &opts.progress {
        p.caught_up.store(true, Ordering::Relaxed);
    }
    let mut last_scan = Instant::now();
    while !opts.stop.load(Ordering::Relaxed) {
        let wait = opts.rescan.saturating_sub(last_scan.elapsed()).min(Duration::from_millis(200));
        let mut dirty: BTreeSet<PathBuf> = BTreeSet::new();
        match rx.recv_timeout(wait) {
            Ok(ev) => {
                collect(ev, &mut dirty);
                while let Ok(ev) = rx.try_recv() {
                    collect(ev, &mut dirty);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
        }
        if last_scan.elapsed() >= opts.rescan {
            watch_roots(&mut watcher);
            dirty.extend(state.scan());
            last_scan = Instant::now();
        }
        if !dirty.is_empty() {
            round(&mut state, dirty, &mut pipe)?;
        }
    }
    drop(watcher);
    if let Some(t) = tokenizer {
        t.finish();
    }
    // Report the final state, not every visit of a quiet file.
    state.report.partial_waiting = state.tracked.values().filter(|r| r.partial).count() as u64;
    state.report.unchanged_files = 0;
    state.report.totals = writer.finish()?;
    state.report.elapsed = started.elapsed();
    state.report.interrupted = true;
    Ok(state.report)
}

fn collect(ev: notify::Result<notify::Event>, out: &mut BTreeSet<PathBuf>) {
    if let Ok(ev) = ev {
        for p in ev.paths {
            out.insert(canonical(&p));
        }
    }
}

/// The canonical form of a path, also for a file that no longer exists
/// (its directory is canonicalized), so events and tracked files agree.
pub fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir).map(|d| d.join(name)).unwrap_or_else(|_| p.to_path_buf()),
        _ => p.to_path_buf(),
    }
}
