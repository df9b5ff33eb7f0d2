//! The single writer: a thread that owns the only write connection.
//!
//! Readers send [`Batch`]es over a bounded channel (a full channel blocks
//! the sender: back-pressure instead of unbounded memory). The writer folds
//! whatever batches are waiting into one transaction that inserts the calls
//! (duplicates are ignored by the UNIQUE dedupe index and counted), stores
//! rejects, updates the rollups and advances each source's committed offset.
//! A crash at any moment leaves offsets and rows consistent.

use hashbrown::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::rollup::Delta;
use crate::domain::fingerprint::FingerprintKey;
use crate::domain::record::{CallRecord, Format, Parts, TokenSource};
use crate::domain::time::now_ms;

/// The most rows folded into one transaction.
const MAX_TX_ROWS: usize = 100_000;
/// How long a commit waits for more batches to join it.
const LINGER: std::time::Duration = std::time::Duration::from_millis(30);
/// How long it waits once the transaction holds a bulk import's worth of
/// rows (a live tail's few lines still commit after [`LINGER`]).
const BULK_LINGER: std::time::Duration = std::time::Duration::from_millis(200);
/// Rows that make a transaction a bulk import's.
const BULK_ROWS: usize = 8192;

/// A source file's committed state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceState {
    pub id: i64,
    pub fingerprint: Option<i64>,
    pub fp_len: u64,
    pub offset: u64,
    pub line_no: u64,
    pub size: u64,
    pub generation: i64,
}

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectRow {
    pub line_no: u64,
    pub byte_offset: u64,
    pub reason: String,
    pub excerpt: String,
}

/// Rows read from one source, and how far the source was read.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub source_id: i64,
    pub path: String,
    /// The file was replaced or truncated: its offset restarts at zero.
    pub reset: bool,
    /// Head fingerprint (hash, bytes covered).
    pub fingerprint: Option<(i64, u64)>,
    pub dev_inode: Option<(u64, u64)>,
    pub end_offset: u64,
    pub end_line: u64,
    /// The line number the batch starts after.
    pub start_line: u64,
    pub size: u64,
    pub lines: u64,
    pub skipped: u64,
    /// Line numbers of the skipped lines (so that a file read twice at
    /// once, by two runs or two sources, is counted once).
    pub skipped_lines: Vec<u64>,
    /// Those of the skipped lines that carried usage (not calls: shown in
    /// `aifin sources`, as spend the ledger may not see).
    pub skipped_usage_lines: Vec<u64>,
    /// Rejects read again successfully (`ingest --retry-rejects`): removed.
    pub retire_rejects: Vec<i64>,
    pub format: Option<Format>,
    pub records: Vec<CallRecord>,
    pub rejects: Vec<RejectRow>,
    /// Rollup deltas of `records`, computed when the batch is sealed
    /// ([`Batch::seal`]) on the sending thread.
    pub rollup: Delta,
    /// Repeated copies of a message merged before sending (duplicates).
    pub collapsed: u64,
    /// Outcome events read.
    pub outcomes: Vec<crate::domain::outcome::OutcomeEvent>,
}

impl Batch {
    /// Adds a finished record. Consecutive copies of one message (same
    /// dedupe key and message key) are merged here, keeping the copy with
    /// the most tokens, so the writer sees one row.
    pub fn push(&mut self, r: CallRecord) {
        if r.msg_key.is_some()
            && let Some(last) = self.records.last_mut()
            && last.msg_key == r.msg_key
            && last.dedupe_key == r.dedupe_key
        {
            self.collapsed += 1;
            if r.tokens.total() > last.tokens.total() {
                *last = r;
            }
            return;
        }
        if self.records.capacity() == 0 {
            // Room for a typical file's calls at once: growing a vector of
            // these large records copies them over and over.
            self.records.reserve(1024);
        }
        self.records.push(r);
    }

    /// Whether `r` is a later copy of the last record that adds nothing
    /// (same message, no more tokens): counted as merged and dropped, so
    /// the reader need not price and attribute it first.
    pub fn absorbs(&mut self, r: &CallRecord) -> bool {
        let absorbed = r.msg_key.is_some()
            && self.records.last().is_some_and(|last| {
                last.msg_key == r.msg_key && last.dedupe_key == r.dedupe_key && r.tokens.total() <= last.tokens.total()
            });
        self.collapsed += u64::from(absorbed);
        absorbed
    }

    /// Computes the rollup deltas of the records (call before sending, on
    /// the reader's thread, so the writer thread only upserts).
    pub fn seal(&mut self) {
        self.rollup = Delta::of(&self.records);
    }
}

enum Msg {
    Source {
        path: String,
        reply: SyncSender<Result<SourceState, String>>,
    },
    Sources {
        paths: Vec<String>,
        reply: SyncSender<Result<Vec<SourceState>, String>>,
    },
    Batch(Box<Batch>),
    Parts(Box<PartsUpdate>),
    Flush(SyncSender<()>),
    Rename {
        source_id: i64,
        to: String,
        reply: SyncSender<Result<(), String>>,
    },
    /// Pending calls whose text can no longer be read: unpriced, warned.
    GiveUp(Vec<(i64, i64)>),
}

/// Token counts per prompt component for a stored call, from the
/// tokenizer; `fill` replaces a call's missing usage.
#[derive(Clone, Debug, PartialEq)]
pub struct PartsUpdate {
    pub dedupe_ts: i64,
    pub dedupe_key: i64,
    pub parts: Parts,
    pub source: TokenSource,
    pub fill: Option<Fill>,
    /// Keyed fingerprints of the prompt: (stable prefix, whole prompt).
    pub hashes: Option<(Option<i64>, i64)>,
}

/// Usage estimated from the prompt, with its price.
#[derive(Clone, Debug, PartialEq)]
pub struct Fill {
    pub tokens: crate::domain::record::Tokens,
    pub cost: Option<crate::domain::money::Nanos>,
    pub price_key: Option<String>,
}

/// A cloneable handle for other threads (the tokenizer) to send to the writer.
#[derive(Clone)]
pub struct WriterSender(SyncSender<Msg>, Failure, Option<Arc<FingerprintKey>>);

impl WriterSender {
    /// The ledger's fingerprint key (`None` for a ledger without one).
    pub fn fingerprint_key(&self) -> Option<Arc<FingerprintKey>> {
        self.2.clone()
    }

    pub fn parts(&self, u: PartsUpdate) -> Result<(), WriterError> {
        self.0.send(Msg::Parts(Box::new(u))).map_err(|_| stopped(&self.1))
    }
}

/// What one commit changed (sent to observers such as the TUI).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitEvent {
    pub stored: u64,
    pub duplicates: u64,
    pub rejects: u64,
    pub unpriced: u64,
    pub max_ts: Option<i64>,
    pub outcomes: super::outcomes::OutcomeCounts,
}

/// Running totals, readable while the writer works.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub stored: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejects: AtomicU64,
    pub unpriced: AtomicU64,
    pub transactions: AtomicU64,
    pub outcomes_stored: AtomicU64,
    pub outcomes_updated: AtomicU64,
    pub outcomes_joined: AtomicU64,
}

/// Final totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterTotals {
    pub stored: u64,
    pub duplicates: u64,
    pub rejects: u64,
    pub unpriced: u64,
    pub transactions: u64,
    pub outcomes: super::outcomes::OutcomeCounts,
}

impl WriterStats {
    pub fn snapshot(&self) -> WriterTotals {
        WriterTotals {
            stored: self.stored.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            rejects: self.rejects.load(Ordering::Relaxed),
            unpriced: self.unpriced.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            outcomes: super::outcomes::OutcomeCounts {
                stored: self.outcomes_stored.load(Ordering::Relaxed),
                updated: self.outcomes_updated.load(Ordering::Relaxed),
                joined: self.outcomes_joined.load(Ordering::Relaxed),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("{0}")]
    Stopped(String),
    #[error("database write failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the ledger is locked by another writer ({holder}); waited {secs} s. Stop it or wait, then run again (nothing of this run was lost: it resumes where it stopped)"
    )]
    Locked { holder: String, secs: u64 },
    #[error(
        "cannot write the ledger: {0} (the disk is full, a file-size limit was reached, or the disk failed); free space and run again: nothing committed is lost and the run resumes where it stopped"
    )]
    Disk(String),
}

/// Why the writer thread stopped, for whoever finds its channel closed.
type Failure = Arc<std::sync::Mutex<Option<String>>>;

fn stopped(failure: &Failure) -> WriterError {
    match failure.lock().ok().and_then(|f| f.clone()) {
        Some(why) => WriterError::Stopped(why),
        None => WriterError::Stopped("the database writer stopped".into()),
    }
}

/// A handle to the writer thread.
pub struct Writer {
    tx: SyncSender<Msg>,
    join: JoinHandle<Result<(), WriterError>>,
    stats: Arc<WriterStats>,
    failure: Failure,
    key: Option<Arc<FingerprintKey>>,
    spent: Spent,
}

impl Writer {
    /// Starts the writer on `conn`. `capacity` bounds the queued batches.
    pub fn spawn(mut conn: Connection, capacity: usize, events: Option<Sender<CommitEvent>>) -> Writer {
        // A larger page cache (16 MiB) keeps the hot ends of the dedupe
        // index and the rollups in memory across transactions.
        let _ = conn.pragma_update(None, "cache_size", -16_384);
        // Every statement the writer runs stays prepared.
        conn.set_prepared_statement_cache_capacity(64);
        let key = conn
            .query_row("SELECT value FROM meta WHERE key = 'fingerprint_key'", [], |r| r.get::<_, String>(0))
            .ok()
            .and_then(|k| FingerprintKey::from_hex(&k))
            .map(Arc::new);

        let (tx, rx) = sync_channel(capacity.max(1));
        let stats = Arc::new(WriterStats::default());
        let failure: Failure = Arc::default();
        let (s, f) = (Arc::clone(&stats), Arc::clone(&failure));
        // Every queued batch, the one being written and the one being filled.
        let spent = Spent::new(capacity.max(1) + 2);
        let spent_w = spent.clone();
        let db = conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
        if let Some(db) = &db {
            // Say who writes, for another writer kept waiting.
            let cmd: Vec<String> = std::env::args().take(4).collect();
            let _ = std::fs::write(
                super::writer_note_path(db),
                format!(
                    "{} {} (since {})",
                    std::process::id(),
                    cmd.join(" "),
                    crate::domain::time::format_utc(now_ms())
                ),
            );
        }
        let join = std::thread::Builder::new()
            .name("aifin-writer".into())
            .spawn(move || {
                // With a rollback journal (a new ledger's first import)
                // commits write the file itself: nothing to checkpoint.
                let wal = super::in_wal(&conn).unwrap_or(true);
                // `rx` lives until the failure is written down: whoever finds
                // the channel closed can then say why.
                let checkpointer = db.as_deref().filter(|_| wal).and_then(|db| Checkpointer::start(&mut conn, db));
                let r = run(conn, &rx, s, events, &spent_w);
                if let Some(c) = checkpointer {
                    c.stop();
                }
                let r = r.map_err(|e| match (e, &db) {
                    (WriterError::Sqlite(rusqlite::Error::SqliteFailure(c, _)), Some(db))
                        if c.code == rusqlite::ErrorCode::DatabaseBusy =>
                    {
                        WriterError::Locked {
                            holder: super::writer_holder(db).unwrap_or_else(|| "another process".into()),
                            secs: super::BUSY_TIMEOUT.as_secs(),
                        }
                    }
                    (WriterError::Sqlite(rusqlite::Error::SqliteFailure(c, m)), _)
                        if matches!(c.code, rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure) =>
                    {
                        WriterError::Disk(m.unwrap_or_else(|| c.to_string()))
                    }
                    (e, _) => e,
                });
                if let Err(e) = &r
                    && let Ok(mut slot) = f.lock()
                {
                    *slot = Some(e.to_string());
                }
                if let Some(db) = &db {
                    let note = super::writer_note_path(db);
                    if std::fs::read_to_string(&note)
                        .is_ok_and(|t| t.split(' ').next() == Some(&std::process::id().to_string()))
                    {
                        let _ = std::fs::remove_file(note);
                    }
                }
                drop(rx);
                r
            })
            .expect("spawn writer thread");
        Writer { tx, join, stats, failure, key, spent }
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// A handle other threads can send tokenizer results through.
    pub fn sender(&self) -> WriterSender {
        WriterSender(self.tx.clone(), Arc::clone(&self.failure), self.key.clone())
    }

    fn stopped(&self) -> WriterError {
        stopped(&self.failure)
    }

    /// Looks up (creating if needed) a source by path.
    pub fn source(&self, path: &str) -> Result<SourceState, WriterError> {
        let (reply, rx) = sync_channel(1);
        self.tx.send(Msg::Source { path: path.to_string(), reply }).map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())?.map_err(WriterError::Stopped)
    }

    /// Records that a source file was renamed (log rotation): its row, with
    /// its offsets, moves to the new path. A row already at that path (a
    /// file rotated away before) keeps its history under `path#id`.
    pub fn rename(&self, source_id: i64, to: &str) -> Result<(), WriterError> {
        let (reply, rx) = sync_channel(1);
        self.tx.send(Msg::Rename { source_id, to: to.to_string(), reply }).map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())?.map_err(WriterError::Stopped)
    }

    /// Looks up (creating if needed) many sources in one round trip, so a
    /// reader of many files never waits for the writer between files.
    pub fn sources(&self, paths: Vec<String>) -> Result<Vec<SourceState>, WriterError> {
        let (reply, rx) = sync_channel(1);
        self.tx.send(Msg::Sources { paths, reply }).map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())?.map_err(WriterError::Stopped)
    }

    /// A vector for the next batch's records (see [`Spent`]).
    pub fn records(&self) -> Vec<CallRecord> {
        self.spent.take()
    }

    /// Queues a batch; blocks while the queue is full.
    pub fn send(&self, batch: Batch) -> Result<(), WriterError> {
        self.tx.send(Msg::Batch(Box::new(batch))).map_err(|_| self.stopped())
    }

    /// Gives up on pending calls whose prompt text cannot be read again.
    pub fn give_up(&self, keys: Vec<(i64, i64)>) -> Result<(), WriterError> {
        self.tx.send(Msg::GiveUp(keys)).map_err(|_| self.stopped())
    }

    /// Waits until everything queued so far is committed.
    pub fn flush(&self) -> Result<(), WriterError> {
        let (reply, rx) = sync_channel(1);
        self.tx.send(Msg::Flush(reply)).map_err(|_| self.stopped())?;
        rx.recv().map_err(|_| self.stopped())
    }

    /// Commits what is queued, stops the thread and returns the totals.
    pub fn finish(self) -> Result<WriterTotals, WriterError> {
        let Writer { tx, join, stats, .. } = self;
        drop(tx);
        match join.join() {
            Ok(Ok(())) => Ok(stats.snapshot()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(WriterError::Stopped("writer thread panicked".into())),
        }
    }
}

/// Copies the write-ahead log into the database on a thread of its own,
/// so the writer goes on inserting while committed pages are written back
/// (SQLite would otherwise do it inside the commit that passes the limit).
struct Checkpointer {
    wake: Option<SyncSender<()>>,
    join: JoinHandle<()>,
}

/// Bytes in the log that start a checkpoint: SQLite's own default of 1000
/// pages of 4 KiB, whatever the ledger's page size.
const CHECKPOINT_BYTES: i64 = 1000 * 4096;

impl Checkpointer {
    /// Hooks the writer's connection so that a commit leaving at least
    /// [`CHECKPOINT_BYTES`] in the log wakes the checkpointer. This replaces
    /// SQLite's automatic checkpoint on that connection. `None` (automatic
    /// checkpoints stay) when a second connection cannot be opened.
    fn start(conn: &mut Connection, db: &std::path::Path) -> Option<Checkpointer> {
        let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0)).ok()?;
        let threshold = (CHECKPOINT_BYTES / page.max(512)).max(1) as std::ffi::c_int;
        let other = Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        let (wake, rx) = sync_channel::<()>(1);
        let join = std::thread::Builder::new()
            .name("aifin-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // PASSIVE: copies what no reader still needs and never
                    // waits; whatever it cannot copy is copied next time.
                    let _ = other.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        let hook_wake = wake.clone();
        let hooked = conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
            if pages >= threshold {
                // A wake-up already pending covers this commit too.
                let _ = hook_wake.try_send(());
            }
            Ok(())
        }));
        let c = Checkpointer { wake: Some(wake), join };
        if hooked.is_err() {
            c.stop();
            return None;
        }
        Some(c)
    }

    /// Waits for a checkpoint under way and ends the thread.
    fn stop(mut self) {
        self.wake.take();
        let _ = self.join.join();
    }
}

/// Message keys known to be stored, loaded the first time a record with a
/// message key arrives: a new message needs no lookup at all.
#[derive(Default)]
struct MsgKeys(Option<HashSet<i64>>);

impl MsgKeys {
    fn known(&mut self, tx: &Transaction) -> rusqlite::Result<&mut HashSet<i64>> {
        if self.0.is_none() {
            let mut set = HashSet::new();
            let mut stmt = tx.prepare("SELECT msg_key FROM calls WHERE msg_key IS NOT NULL")?;
            for k in stmt.query_map([], |r| r.get::<_, i64>(0))? {
                set.insert(k?);
            }
            self.0 = Some(set);
        }
        Ok(self.0.get_or_insert_with(HashSet::new))
    }
}

/// Everything one transaction accumulates.
#[derive(Default)]
struct TxState {
    ev: CommitEvent,
    rollup: Delta,
    rows: usize,
    flush_replies: Vec<SyncSender<()>>,
}

fn run(
    mut conn: Connection,
    rx: &Receiver<Msg>,
    stats: Arc<WriterStats>,
    events: Option<Sender<CommitEvent>>,
    spent: &Spent,
) -> Result<(), WriterError> {
    let mut seen_keys: HashSet<u64> = HashSet::new();
    let mut msg_keys = MsgKeys::default();
    let mut outcomes = super::outcomes::OutcomeState::default();
    // The rollup sums of a transaction, kept from one to the next with
    // their room: a long import's map grows once instead of every time.
    let mut rollup = Delta::default();
    let mut open = true;
    while open {
        // Wait for work, then keep one transaction open while messages keep
        // coming: it commits when it is big enough, after a short linger,
        // or when a flush is requested. Source lookups are answered inside
        // it (this connection sees its own uncommitted rows), so readers
        // never wait for a commit.
        let Ok(first) = rx.recv() else { break };
        // Take the write lock up front (waiting for another writer, up to
        // the busy timeout) instead of failing to upgrade a read lock.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut st = TxState { rollup: std::mem::take(&mut rollup), ..TxState::default() };
        let started = std::time::Instant::now();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Source { path, reply } => {
                    let r = source_state(&tx, &path).map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
                Msg::Sources { paths, reply } => {
                    let r: Result<Vec<_>, _> = paths.iter().map(|p| source_state(&tx, p)).collect();
                    let _ = reply.send(r.map_err(|e| e.to_string()));
                }
                Msg::Rename { source_id, to, reply } => {
                    let r = rename_source(&tx, source_id, &to).map_err(|e| e.to_string());
                    let _ = reply.send(r);
                }
                Msg::Flush(reply) => st.flush_replies.push(reply),
                Msg::Batch(b) => {
                    st.rows += b.records.len();
                    spent.give(apply_batch(&tx, *b, &mut st, &mut seen_keys, &mut msg_keys, &mut outcomes)?);
                }
                Msg::Parts(u) => {
                    st.rows += 1;
                    apply_parts(&tx, &u, &mut st)?;
                }
                Msg::GiveUp(keys) => {
                    st.rows += keys.len();
                    for (ts, key) in keys {
                        give_up(&tx, ts, key, &mut st)?;
                    }
                }
            }
            if st.rows >= MAX_TX_ROWS || !st.flush_replies.is_empty() {
                break;
            }
            let linger = if st.rows >= BULK_ROWS { BULK_LINGER } else { LINGER };
            let left = (started + linger).saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(m) => next = Some(m),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        st.rollup.flush(&tx)?;
        outcomes.flush(&tx)?;
        tx.commit()?;
        rollup = std::mem::take(&mut st.rollup);
        for r in st.flush_replies.drain(..) {
            let _ = r.send(());
        }
        let ev = st.ev;
        stats.stored.fetch_add(ev.stored, Ordering::Relaxed);
        stats.duplicates.fetch_add(ev.duplicates, Ordering::Relaxed);
        stats.rejects.fetch_add(ev.rejects, Ordering::Relaxed);
        stats.unpriced.fetch_add(ev.unpriced, Ordering::Relaxed);
        stats.transactions.fetch_add(1, Ordering::Relaxed);
        stats.outcomes_stored.fetch_add(ev.outcomes.stored, Ordering::Relaxed);
        stats.outcomes_updated.fetch_add(ev.outcomes.updated, Ordering::Relaxed);
        stats.outcomes_joined.fetch_add(ev.outcomes.joined, Ordering::Relaxed);
        if let Some(tx) = &events
            && (ev.stored > 0 || ev.duplicates > 0 || ev.rejects > 0 || ev.outcomes != Default::default())
        {
            let _ = tx.send(ev);
        }
    }
    // A new ledger's first import leaves it in write-ahead-log mode, like
    // every other ledger.
    let _ = super::settle_wal(&conn);
    // Leave a compact WAL behind for the next reader.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);");
    Ok(())
}

fn source_state(conn: &Connection, path: &str) -> rusqlite::Result<SourceState> {
    conn.prepare_cached("INSERT OR IGNORE INTO sources (path, first_seen) VALUES (?1, ?2)")?
        .execute(params![path, now_ms()])?;
    read_source_state(conn, path)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

fn rename_source(tx: &Transaction, source_id: i64, to: &str) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sources SET path = path || '#' || id WHERE machine = '' AND path = ?1 AND id != ?2",
        params![to, source_id],
    )?;
    tx.execute("UPDATE sources SET path = ?1 WHERE id = ?2", params![to, source_id])?;
    Ok(())
}

/// Reads a source's committed state without creating it.
pub fn read_source_state(conn: &Connection, path: &str) -> rusqlite::Result<Option<SourceState>> {
    conn.prepare_cached(
        "SELECT id, fingerprint, fp_len, offset, line_no, size, generation FROM sources WHERE machine = '' AND path = ?1",
    )?
    .query_row([path], |r| {
            Ok(SourceState {
                id: r.get(0)?,
                fingerprint: r.get(1)?,
                fp_len: r.get::<_, i64>(2)? as u64,
                offset: r.get::<_, i64>(3)? as u64,
                line_no: r.get::<_, i64>(4)? as u64,
                size: r.get::<_, i64>(5)? as u64,
                generation: r.get(6)?,
            })
        })
    .optional()
}

const INSERT_CALL: &str = "INSERT OR IGNORE INTO calls (
    ts, dedupe_ts, dedupe_key, source_id, line_no, format, request_id, provider, model, price_key,
    workflow, team, customer, user, project, session_id, trace_id, tags,
    uncached_input, cache_read, cache_write_5m, cache_write_1h, output, reasoning,
    token_source, batch, service_tier, inference_geo, speed, latency_ms, status, cost_nano, reported_cost_nano,
    msg_key, sidechain, pending, warnings, region
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
          ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)";

fn model_key_hash(model: &str, key: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(model.as_bytes());
    h.update(&[0]);
    h.update(key.as_bytes());
    h.digest()
}

/// Packs token provenance and the inferred-time flag into one integer.
pub fn token_source_code(r: &CallRecord) -> i64 {
    r.input_source.code() | (r.output_source.code() << 2) | ((r.ts_inferred as i64) << 4)
}

/// Inserts calls with one prepared statement.
pub struct CallInserter<'t> {
    stmt: super::bind::Binder<'t>,
    /// The tags of the call being inserted, as JSON (room reused).
    tags: String,
}

impl<'t> CallInserter<'t> {
    pub fn new(tx: &'t Transaction) -> rusqlite::Result<CallInserter<'t>> {
        Ok(CallInserter { stmt: super::bind::Binder::new(tx.prepare_cached(INSERT_CALL)?), tags: String::new() })
    }

    /// Inserts one call; returns true when it was new (not a duplicate).
    pub fn insert(&mut self, source_id: Option<i64>, r: &CallRecord) -> rusqlite::Result<bool> {
        // Tags are written as JSON here, on the writer's thread: the
        // reading thread has the parsing to do.
        let tags = r.write_tags_json(&mut self.tags).then_some(self.tags.as_str());
        let dedupe_ts = if r.ts_inferred { 0 } else { r.ts_ms };
        // Bound one by one with their own types, and only what changed
        // since the call before: this statement runs once per stored call.
        let s = &mut self.stmt;
        s.int(1, r.ts_ms)?;
        s.int(2, dedupe_ts)?;
        s.int(3, r.dedupe_key)?;
        s.opt_int(4, source_id)?;
        s.int(5, r.line_no as i64)?;
        s.opt_int(6, r.format.map(Format::code))?;
        s.text(7, r.request_id.as_deref())?;
        s.text(8, r.provider.as_deref())?;
        s.text(9, Some(&r.model))?;
        s.text(10, r.price_key.as_deref())?;
        s.text(11, r.workflow.as_deref())?;
        s.text(12, r.team.as_deref())?;
        s.text(13, r.customer.as_deref())?;
        s.text(14, r.user.as_deref())?;
        s.text(15, r.project.as_deref())?;
        s.text(16, r.session_id.as_deref())?;
        s.text(17, r.trace_id.as_deref())?;
        s.text(18, tags)?;
        s.int(19, r.tokens.uncached_input as i64)?;
        s.int(20, r.tokens.cache_read as i64)?;
        s.int(21, r.tokens.cache_write_5m as i64)?;
        s.int(22, r.tokens.cache_write_1h as i64)?;
        s.int(23, r.tokens.output as i64)?;
        s.int(24, r.tokens.reasoning as i64)?;
        s.int(25, token_source_code(r))?;
        s.int(26, r.batch as i64)?;
        s.text(27, r.service_tier.as_deref())?;
        s.text(28, r.inference_geo.as_deref())?;
        s.text(29, r.speed.as_deref())?;
        s.opt_int(30, r.latency_ms.map(|v| v.min(i64::MAX as u64) as i64))?;
        s.int(31, r.status.code())?;
        // A call waiting for its count has no cost yet (never $0).
        s.opt_int(32, r.cost.filter(|_| !r.usage_missing).map(|c| c.0))?;
        s.opt_int(33, r.reported_cost.map(|c| c.0))?;
        s.opt_int(34, r.msg_key)?;
        s.int(35, r.sidechain as i64)?;
        s.int(36, r.usage_missing as i64)?;
        s.int(37, r.warnings as i64)?;
        s.text(38, r.region.as_deref())?;
        let n = s.execute()?;
        Ok(n == 1)
    }
}

/// Stores a call's prompt composition; false when it already had one.
pub fn insert_parts(
    tx: &Transaction,
    dedupe_ts: i64,
    dedupe_key: i64,
    p: &Parts,
    src: TokenSource,
) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO prompt_parts (dedupe_ts, dedupe_key, system, tools, context, history, user, output, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            dedupe_ts,
            dedupe_key,
            p[0] as i64,
            p[1] as i64,
            p[2] as i64,
            p[3] as i64,
            p[4] as i64,
            p[5] as i64,
            src.code()
        ])?;
    Ok(n == 1)
}

/// The columns [`call_from_row`] reads, in its order.
const CALL_COLUMNS: &str = "ts, model, provider, workflow, team, customer, uncached_input, cache_read, cache_write_5m,
    cache_write_1h, output, reasoning, cost_nano, reported_cost_nano, status, latency_ms, pending, warnings";

/// The dimensions, tokens and money of a stored call, from [`CALL_COLUMNS`]
/// starting at column `at`.
fn call_from_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<CallRecord> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(at + i)? as u64) };
    Ok(CallRecord {
        ts_ms: r.get(at)?,
        model: r.get(at + 1)?,
        provider: r.get(at + 2)?,
        workflow: r.get(at + 3)?,
        team: r.get(at + 4)?,
        customer: r.get(at + 5)?,
        tokens: crate::domain::record::Tokens {
            uncached_input: n(6)?,
            cache_read: n(7)?,
            cache_write_5m: n(8)?,
            cache_write_1h: n(9)?,
            output: n(10)?,
            reasoning: n(11)?,
        },
        cost: r.get::<_, Option<i64>>(at + 12)?.map(crate::domain::money::Nanos),
        reported_cost: r.get::<_, Option<i64>>(at + 13)?.map(crate::domain::money::Nanos),
        status: if r.get::<_, i64>(at + 14)? != 0 { crate::domain::record::Status::Error } else { Default::default() },
        latency_ms: r.get::<_, Option<i64>>(at + 15)?.map(|v| v as u64),
        usage_missing: r.get::<_, i64>(at + 16)? != 0,
        warnings: r.get::<_, i64>(at + 17)? as u32,
        ..CallRecord::default()
    })
}

/// The dimensions, tokens and money of a stored call.
fn load_call(tx: &Transaction, dedupe_ts: i64, dedupe_key: i64) -> rusqlite::Result<Option<CallRecord>> {
    tx.prepare_cached(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE dedupe_ts = ?1 AND dedupe_key = ?2"))?
        .query_row(params![dedupe_ts, dedupe_key], |r| call_from_row(r, 0))
        .optional()
}

/// Stores tokenizer counts for a call and adds them to the rollups; with
/// `fill`, the counts also become the call's (estimated) usage and price.
fn apply_parts(tx: &Transaction, u: &PartsUpdate, st: &mut TxState) -> Result<(), WriterError> {
    let Some(old) = load_call(tx, u.dedupe_ts, u.dedupe_key)? else { return Ok(()) };
    if let Some((prefix, prompt)) = u.hashes {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO prompt_hashes (dedupe_ts, dedupe_key, prefix, prompt) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![u.dedupe_ts, u.dedupe_key, prefix, prompt])?;
    }
    if !insert_parts(tx, u.dedupe_ts, u.dedupe_key, &u.parts, u.source)? {
        return Ok(());
    }
    st.rollup.add_agg(&old, &crate::store::rollup::Agg::parts_only(&u.parts));
    if let Some(fill) = &u.fill
        && old.usage_missing
    {
        let mut new = old.clone();
        new.tokens = fill.tokens;
        new.cost = fill.cost;
        new.usage_missing = false;
        new.input_source = u.source;
        new.output_source = u.source;
        // The stored time-inferred bit stays (`& 16` below).
        let code = token_source_code(&new);
        tx.prepare_cached(
            "UPDATE calls SET uncached_input = ?3, cache_read = ?4, cache_write_5m = ?5, cache_write_1h = ?6, output = ?7,
                reasoning = ?8, cost_nano = ?9, price_key = COALESCE(?10, price_key), token_source = (token_source & 16) | ?11,
                pending = 0
             WHERE dedupe_ts = ?1 AND dedupe_key = ?2",
        )?
        .execute(params![
            u.dedupe_ts,
            u.dedupe_key,
            fill.tokens.uncached_input as i64,
            fill.tokens.cache_read as i64,
            fill.tokens.cache_write_5m as i64,
            fill.tokens.cache_write_1h as i64,
            fill.tokens.output as i64,
            fill.tokens.reasoning as i64,
            fill.cost.map(|c| c.0),
            fill.price_key,
            code,
        ])?;
        tx.prepare_cached("DELETE FROM pending_counts WHERE dedupe_ts = ?1 AND dedupe_key = ?2")?
            .execute(params![u.dedupe_ts, u.dedupe_key])?;
        st.rollup.sub(&old);
        st.rollup.add(&new);
        if new.cost.is_none() {
            st.ev.unpriced += 1;
        }
    }
    Ok(())
}

/// A pending call whose text is gone: no longer pending, unpriced, with a
/// warning saying why.
fn give_up(tx: &Transaction, dedupe_ts: i64, dedupe_key: i64, st: &mut TxState) -> Result<(), WriterError> {
    let Some(old) = load_call(tx, dedupe_ts, dedupe_key)? else { return Ok(()) };
    tx.prepare_cached("DELETE FROM pending_counts WHERE dedupe_ts = ?1 AND dedupe_key = ?2")?
        .execute(params![dedupe_ts, dedupe_key])?;
    if !old.usage_missing {
        return Ok(());
    }
    let mut new = old.clone();
    new.usage_missing = false;
    new.cost = None;
    new.warnings |= crate::domain::record::Warning::TextGone.bit();
    tx.prepare_cached(
        "UPDATE calls SET pending = 0, cost_nano = NULL, warnings = ?3 WHERE dedupe_ts = ?1 AND dedupe_key = ?2",
    )?
    .execute(params![dedupe_ts, dedupe_key, new.warnings as i64])?;
    st.rollup.sub(&old);
    st.rollup.add(&new);
    st.ev.unpriced += 1;
    Ok(())
}

/// A stored copy of a message (see [`resolve_copy`]).
struct StoredCopy {
    id: i64,
    source_id: Option<i64>,
    dedupe_key: i64,
    sidechain: bool,
    rec: CallRecord,
}

/// What to do with a record whose message may already be stored.
enum CopyAction {
    Insert,
    /// A repeat that adds nothing.
    Duplicate,
    /// A better copy: delete the stored one, insert this.
    Replace(Box<StoredCopy>),
}

fn stored_copies(tx: &Transaction, msg_key: i64) -> rusqlite::Result<Vec<StoredCopy>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT id, source_id, dedupe_key, sidechain, {CALL_COLUMNS} FROM calls WHERE msg_key = ?1"
    ))?;
    let rows = stmt.query_map([msg_key], |r| {
        Ok(StoredCopy {
            id: r.get(0)?,
            source_id: r.get(1)?,
            dedupe_key: r.get(2)?,
            sidechain: r.get::<_, i64>(3)? != 0,
            rec: call_from_row(r, 4)?,
        })
    })?;
    rows.collect()
}

/// Claude Code's rule: copies with the same message and request id keep
/// the largest token total; a sidechain replay (same message, new request
/// id) loses to the parent's copy. Copies with different request ids where
/// neither is a sidechain are separate calls.
fn resolve_copy(tx: &Transaction, r: &CallRecord) -> rusqlite::Result<CopyAction> {
    let Some(k) = r.msg_key else { return Ok(CopyAction::Insert) };
    for c in stored_copies(tx, k)? {
        let same_request = c.dedupe_key == r.dedupe_key;
        if same_request || c.sidechain || r.sidechain {
            let better = if c.sidechain != r.sidechain {
                // The parent (non-sidechain) copy wins.
                c.sidechain
            } else {
                r.tokens.total() > c.rec.tokens.total()
            };
            return Ok(if better { CopyAction::Replace(Box::new(c)) } else { CopyAction::Duplicate });
        }
    }
    Ok(CopyAction::Insert)
}

fn apply_batch(
    tx: &Transaction,
    mut b: Batch,
    st: &mut TxState,
    seen_keys: &mut HashSet<u64>,
    msg_keys: &mut MsgKeys,
    outcomes: &mut super::outcomes::OutcomeState,
) -> Result<Vec<CallRecord>, WriterError> {
    let now = now_ms();
    let ev = &mut st.ev;
    let rollup = &mut st.rollup;
    let mut ins = CallInserter::new(tx)?;
    if b.reset {
        tx.execute(
            "UPDATE sources SET offset = 0, line_no = 0, generation = generation + 1 WHERE id = ?1",
            [b.source_id],
        )?;
    }
    // What is already counted of this file: another run (or another
    // source covering the same file) may have read these lines already;
    // their lines, skips, rejects and duplicates count once.
    let counted: u64 = tx
        .prepare_cached("SELECT line_no FROM sources WHERE id = ?1")?
        .query_row([b.source_id], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64;
    let new_lines = b.end_line.saturating_sub(counted.max(b.start_line));
    let new_skipped = b.skipped_lines.iter().filter(|l| **l > counted).count() as u64;
    let new_skipped_usage = b.skipped_usage_lines.iter().filter(|l| **l > counted).count() as i64;
    let (mut stored, mut dups, mut max_ts) = (0u64, b.collapsed, None::<i64>);
    for r in &b.records {
        let mut replaced = false;
        let action = match r.msg_key {
            None => CopyAction::Insert,
            Some(k) => {
                if msg_keys.known(tx)?.insert(k) {
                    CopyAction::Insert
                } else {
                    resolve_copy(tx, r)?
                }
            }
        };
        match action {
            CopyAction::Insert => {}
            CopyAction::Duplicate => {
                dups += u64::from(r.line_no > counted || r.line_no == 0);
                b.rollup.sub(r);
                max_ts = Some(max_ts.map_or(r.ts_ms, |m| m.max(r.ts_ms)));
                continue;
            }
            CopyAction::Replace(old) => {
                tx.prepare_cached("DELETE FROM calls WHERE id = ?1")?.execute([old.id])?;
                tx.prepare_cached("UPDATE sources SET calls = calls - 1 WHERE id = ?1")?.execute([old.source_id])?;
                rollup.sub(&old.rec);
                if old.rec.cost.is_none() {
                    ev.unpriced = ev.unpriced.saturating_sub(1);
                }
                replaced = true;
            }
        }
        if ins.insert(Some(b.source_id), r)? {
            stored += 1;
            outcomes.call(tx, r, now, &mut ev.outcomes)?;
            if r.usage_missing {
                // Found again here if its count never arrives.
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO pending_counts (dedupe_ts, dedupe_key, source_id, byte_offset) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![if r.ts_inferred { 0 } else { r.ts_ms }, r.dedupe_key, b.source_id, r.byte_offset as i64])?;
            } else if r.cost.is_none() {
                ev.unpriced += 1;
            }
            if let Some((p, src)) = &r.parts {
                insert_parts(tx, if r.ts_inferred { 0 } else { r.ts_ms }, r.dedupe_key, p, *src)?;
            }
            if let Some(k) = &r.price_key
                && seen_keys.insert(model_key_hash(&r.model, k))
            {
                tx.prepare_cached("INSERT OR IGNORE INTO model_keys (model, price_key) VALUES (?1, ?2)")?
                    .execute(params![r.model, k])?;
            }
        } else {
            dups += u64::from(r.line_no > counted || r.line_no == 0);
            b.rollup.sub(r);
        }
        if replaced {
            // The line repeated a call already counted (with fewer tokens).
            dups += 1;
            stored -= 1;
            tx.prepare_cached("UPDATE sources SET calls = calls + 1 WHERE id = ?1")?.execute([b.source_id])?;
        }
        max_ts = Some(max_ts.map_or(r.ts_ms, |m| m.max(r.ts_ms)));
    }
    // By identity (stable: events about one outcome keep their order), so
    // that lookups walk the indexes in order.
    b.outcomes.sort_by(|x, y| (x.kind, &x.id).cmp(&(y.kind, &y.id)));
    for e in &b.outcomes {
        outcomes.event(tx, e, now, &mut ev.outcomes)?;
    }
    let mut new_rejects = 0u64;
    {
        let mut rej = tx.prepare_cached(
            "INSERT OR IGNORE INTO rejects (source_id, path, line_no, byte_offset, reason, excerpt, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in &b.rejects {
            new_rejects += rej.execute(params![
                b.source_id,
                b.path,
                r.line_no as i64,
                r.byte_offset as i64,
                r.reason,
                r.excerpt,
                now
            ])? as u64;
        }
    }
    tx.prepare_cached(
        "UPDATE sources SET offset = MAX(offset, ?2), line_no = MAX(line_no, ?3), size = MAX(?4, offset, ?2), lines = lines + ?5, calls = calls + ?6,
            duplicates = duplicates + ?7, rejects = rejects + ?8, skipped = skipped + ?9, skipped_usage = skipped_usage + ?17,
            last_line_ts = MAX(COALESCE(last_line_ts, 0), COALESCE(?10, 0)), last_read = ?11,
            format = COALESCE(?12, format), fingerprint = COALESCE(?13, fingerprint),
            fp_len = COALESCE(?14, fp_len), dev = COALESCE(?15, dev), inode = COALESCE(?16, inode)
         WHERE id = ?1",
    )?
    .execute(params![
        b.source_id,
        b.end_offset as i64,
        b.end_line as i64,
        b.size as i64,
        new_lines as i64,
        stored as i64,
        dups as i64,
        new_rejects as i64,
        new_skipped as i64,
        max_ts,
        now,
        b.format.map(Format::as_str),
        b.fingerprint.map(|f| f.0),
        b.fingerprint.map(|f| f.1 as i64),
        b.dev_inode.map(|d| d.0 as i64),
        b.dev_inode.map(|d| d.1 as i64),
        new_skipped_usage,
    ])?;
    let mut retired = 0i64;
    for id in &b.retire_rejects {
        retired += tx.prepare_cached("DELETE FROM rejects WHERE id = ?1")?.execute([id])? as i64;
    }
    if retired > 0 {
        tx.prepare_cached("UPDATE sources SET rejects = MAX(0, rejects - ?2) WHERE id = ?1")?
            .execute(params![b.source_id, retired])?;
    }
    rollup.merge(std::mem::take(&mut b.rollup));
    ev.stored += stored;
    ev.duplicates += dups;
    ev.rejects += new_rejects;
    if let Some(m) = max_ts {
        ev.max_ts = Some(ev.max_ts.map_or(m, |x| x.max(m)));
    }
    Ok(b.records)
}

/// Record vectors the writer is done with, handed back to the reading
/// threads: they drop the records they allocated themselves (a free from
/// another thread costs the allocator far more) and refill the vector
/// without growing it again.
#[derive(Clone)]
pub struct Spent {
    pool: Arc<std::sync::Mutex<Vec<Vec<CallRecord>>>>,
    /// Vectors kept at most; more are dropped by the writer.
    keep: usize,
}

impl Spent {
    /// A pool keeping up to `keep` vectors: as many as can be in flight
    /// (queued, being written, being filled), so that a long import stops
    /// allocating record vectors once the queue has filled.
    fn new(keep: usize) -> Spent {
        Spent { pool: Arc::default(), keep }
    }

    fn give(&self, mut v: Vec<CallRecord>) {
        if v.capacity() == 0 {
            return;
        }
        // A small batch (a tail that has caught up) lets go of the room a
        // bulk import left in its vector.
        if let Some(keep) = super::room_to_keep(v.capacity(), v.len()) {
            v.shrink_to(keep);
        }
        let mut pool = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < self.keep {
            pool.push(v);
            return;
        }
        drop(pool);
        drop(v);
    }

    /// An empty vector, with room from an earlier batch when there is one.
    pub fn take(&self) -> Vec<CallRecord> {
        let v = self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let mut v = v.unwrap_or_default();
        v.clear();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spent_record_vectors_come_back_empty_with_their_room_and_only_a_few_are_kept() {
        let spent = Spent::new(4);
        assert_eq!(spent.take().capacity(), 0);
        for n in 1..=6 {
            let mut v = Vec::with_capacity(100 * n);
            v.push(CallRecord { model: format!("m{n}"), ..CallRecord::default() });
            spent.give(v);
        }
        // The first four were kept (the last one given comes back first).
        let mut rooms = Vec::new();
        for _ in 0..4 {
            let v = spent.take();
            assert!(v.is_empty());
            rooms.push(v.capacity());
        }
        assert_eq!(rooms, vec![400, 300, 200, 100]);
        assert_eq!(spent.take().capacity(), 0);
        // An empty vector without room is not worth keeping.
        spent.give(Vec::new());
        assert_eq!(spent.pool.lock().unwrap().len(), 0);
        // A few records in a vector a bulk import grew: most of its room
        // is let go; a full one keeps all of it.
        let mut small = Vec::with_capacity(50_000);
        small.push(CallRecord::default());
        spent.give(small);
        let room = spent.take().capacity();
        assert!((1024..4096).contains(&room), "{room}");
        let mut full = Vec::with_capacity(8192);
        full.resize(6000, CallRecord::default());
        spent.give(full);
        assert_eq!(spent.take().capacity(), 8192);
    }

    /// Sends `batches` batches of `per` calls, each committed on its own.
    fn write(writer: &Writer, source_id: i64, batches: i64, per: i64) {
        for b in 0..batches {
            let mut batch = Batch { source_id, path: "calls.jsonl".into(), ..Batch::default() };
            for i in 0..per {
                let n = b * per + i;
                batch.push(CallRecord {
                    ts_ms: 1_790_000_000_000 + n * 1000,
                    dedupe_key: n,
                    model: "claude-sonnet-4-5".into(),
                    workflow: Some(format!("workflow-{}", n % 7)),
                    request_id: Some(format!("req_{n:032}")),
                    session_id: Some(format!("session-{:032}", n / 10)),
                    ..CallRecord::default()
                });
            }
            batch.seal();
            writer.send(batch).unwrap();
            writer.flush().unwrap();
            // Give the checkpoint a moment, as the time between two
            // commits of a long import does.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn a_long_import_keeps_the_log_short_by_checkpointing_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("ledger.db");
        let writer = Writer::spawn(crate::store::open_rw(&db).unwrap(), 4, None);
        let source = writer.source("calls.jsonl").unwrap();
        write(&writer, source.id, 48, 2_000);
        let wal = std::fs::metadata(db.with_extension("db-wal")).unwrap().len();
        let main = std::fs::metadata(&db).unwrap().len();
        // Without checkpoints (the writer's own automatic ones are replaced
        // by the hook) the log would hold every page written so far.
        assert!(main > 12 << 20, "the import wrote {main} bytes into the database itself");
        assert!(wal < main / 2, "log {wal} bytes, database {main} bytes");
        let totals = writer.finish().unwrap();
        assert_eq!(totals.stored, 96_000);
    }
}
