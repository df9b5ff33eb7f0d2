//! The SQLite ledger.
//!
//! One writer thread owns the only write connection ([`writer`]); reports
//! and views open their own connections (WAL lets them read while the
//! writer commits). The database file is created owner-only (0600) in an
//! owner-only directory.
//!
//! Exactly-once: the byte offset and line number reached in each source
//! file are committed in the same transaction as the rows read from it, so a
//! restart resumes where the last commit ended; and every call carries a
//! dedupe identity `(dedupe_ts, dedupe_key)` under a UNIQUE index, so an
//! overlapping copy of a file, or the same file under another name, adds
//! nothing. The index is time-led (`dedupe_ts` is the call's timestamp), which
//! keeps inserts append-mostly: a UNIQUE index on a random request id alone
//! costs 3-4x the insert rate.

pub mod bind;
pub mod events;
pub mod ledgers;
pub mod live;
pub mod outcomes;
pub mod queries;
pub mod rollup;
pub mod schema;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// The room to shrink a buffer kept between batches to, when its last
/// use filled less than a quarter of it: a small batch after a bulk import
/// (a tail that has caught up) lets go of what the import grew, but room
/// for at least 1024 entries stays. `None`: keep it as it is.
pub(crate) fn room_to_keep(capacity: usize, used: usize) -> Option<usize> {
    let keep = used.max(1024);
    (capacity > 4 * keep).then_some(keep)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database '{path}': {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create database directory '{path}': {source}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create database file '{path}': {source}")]
    CreateFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no database at '{path}'; run `aifin ingest PATH...` first, or pass --db")]
    Missing { path: String },
    #[error(
        "database '{path}' has schema version {found}, newer than this aifin understands ({supported}); upgrade aifin"
    )]
    TooNew { path: String, found: i64, supported: i64 },
    #[error(
        "ledger '{path}' has schema version {found}, older than this aifin's {supported}; run `aifin ingest` once to upgrade it (reports only read)"
    )]
    TooOld { path: String, found: i64, supported: i64 },
    #[error("database error: {0}")]
    Query(#[from] rusqlite::Error),
}

/// The file where the process writing a ledger says who it is
/// (`<db>.writer`), so that another one kept waiting can name it.
pub fn writer_note_path(db: &Path) -> PathBuf {
    beside(db, ".writer")
}

/// The file named as the ledger's with `suffix` added (`<db>-journal`).
fn beside(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Who holds the ledger's write lock, as its note says (if that process
/// still runs).
pub fn writer_holder(db: &Path) -> Option<String> {
    let text = std::fs::read_to_string(writer_note_path(db)).ok()?;
    let (pid, what) = text.split_once(' ')?;
    let pid: u32 = pid.trim().parse().ok()?;
    std::path::Path::new(&format!("/proc/{pid}")).exists().then(|| format!("pid {pid}: {}", what.trim()))
}

/// The default database location: `$XDG_DATA_HOME/aifin/aifin.db`.
pub fn default_db_path() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("aifin").join("aifin.db")
}

fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite { path: path.display().to_string(), source }
}

/// Opens (creating if needed) the database for writing and migrates it.
pub fn open_rw(path: &Path) -> Result<Connection, StoreError> {
    open_rw_with(path, Journal::Wal)
}

/// [`open_rw`] for a one-off import. A ledger this call creates is written
/// with a rollback journal until the import ends, when the writer puts it
/// in write-ahead-log mode ([`settle_wal`]): the pages of a new ledger are
/// appended to the file, so they are written once instead of twice (to
/// the log, then back into the file). Other processes opening the ledger
/// meanwhile wait for the writer's commits.
pub fn open_rw_import(path: &Path) -> Result<Connection, StoreError> {
    open_rw_with(path, if path.exists() { Journal::Wal } else { Journal::Rollback })
}

/// How a connection journals its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Journal {
    /// The write-ahead log: readers never wait for the writer.
    Wal,
    /// A rollback journal (a new ledger's first import).
    Rollback,
}

fn open_rw_with(path: &Path, journal: Journal) -> Result<Connection, StoreError> {
    if !path.exists() {
        create_private(path)?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_err(path))?;
    configure_with(&conn, journal).map_err(sqlite_err(path))?;
    schema::migrate(&conn, path)?;
    ledgers::label_host(&conn).map_err(sqlite_err(path))?;
    Ok(conn)
}

/// Opens an existing database read-write (the cockpit, which records
/// events), migrating an older one.
pub fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing { path: path.display().to_string() });
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite_err(path))?;
    configure(&conn).map_err(sqlite_err(path))?;
    schema::migrate(&conn, path)?;
    Ok(conn)
}

/// Opens an existing database for reading only (reports): it works on a
/// read-only file system and never changes the file. A ledger of an
/// older schema is not upgraded here: the error says to run `aifin
/// ingest` once.
pub fn open_read(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing { path: path.display().to_string() });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let uri = |q: &str| format!("file:{}?{q}", percent_path(path));
    // A write stopped half way (its rollback journal left behind) is undone
    // first, by a moment's read-write open: the file alone may be half
    // written, and is never read as it is.
    let unfinished = std::fs::metadata(beside(path, "-journal")).is_ok_and(|m| m.len() > 0);
    if unfinished {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .and_then(|c| {
                c.busy_timeout(BUSY_TIMEOUT)?;
                c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            })
            .map_err(sqlite_err(path))?;
    }
    // A WAL ledger on a read-only file system cannot get its shared-memory
    // index: read it as an immutable file then. A ledger another process
    // holds is waited for (as long as a writer would wait), never read
    // around its lock: the file alone may lack what was committed to the
    // log, or be half written back.
    let conn = match Connection::open_with_flags(uri("mode=ro"), flags).and_then(|c| {
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) if is_busy(&e) => return Err(sqlite_err(path)(e)),
        Err(_) => {
            let c = Connection::open_with_flags(uri("immutable=1"), flags).map_err(sqlite_err(path))?;
            c.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_err(path))?;
            c
        }
    };
    rollup::register_functions(&conn).map_err(sqlite_err(path))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sqlite_err(path))?;
    if version > schema::SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found: version,
            supported: schema::SCHEMA_VERSION,
        });
    }
    if version < schema::SCHEMA_VERSION {
        return Err(StoreError::TooOld {
            path: path.display().to_string(),
            found: version,
            supported: schema::SCHEMA_VERSION,
        });
    }
    Ok(conn)
}

/// Whether SQLite gave up waiting for another connection's lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// A path as a URI path (percent-encoding what a URI would misread).
pub(crate) fn percent_path(p: &Path) -> String {
    let mut out = String::new();
    for b in p.as_os_str().as_encoded_bytes() {
        match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => out.push(*b as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// An in-memory database with the schema (tests).
#[cfg(test)]
pub fn open_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    schema::migrate(&conn, Path::new(":memory:"))?;
    Ok(conn)
}

/// The page size of a new ledger.
const PAGE_SIZE: i64 = 16_384;

/// How long a writer waits for another to finish before giving up.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    configure_with(conn, Journal::Wal)
}

fn configure_with(conn: &Connection, journal: Journal) -> rusqlite::Result<()> {
    rollup::register_functions(conn)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // A new ledger gets 16 KiB pages (an existing one keeps its own): a
    // quarter of the log writes and page reads for the same rows, which
    // took 10% off an import's CPU time (system time halved).
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    match journal {
        Journal::Wal => set_wal(conn)?,
        // Another process may have opened the new ledger first and put it
        // in the log's mode: it stays in it then.
        Journal::Rollback => match conn.pragma_update(None, "journal_mode", "DELETE") {
            Err(e) if is_busy(&e) => {}
            r => r?,
        },
    }
    set_synchronous(conn)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // 64 MiB of page cache: lookups into a large ledger (outcome joins,
    // message copies) stay in memory.
    conn.pragma_update(None, "cache_size", -65_536)?;
    Ok(())
}

/// How long a switch to the write-ahead log is retried while another
/// connection holds the ledger.
const SWITCH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the connection writes through the write-ahead log.
pub(crate) fn in_wal(conn: &Connection) -> rusqlite::Result<bool> {
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    Ok(mode.eq_ignore_ascii_case("wal"))
}

/// Puts the ledger in write-ahead-log mode. A ledger already in it is left
/// as it is: switching needs an exclusive lock, and SQLite answers "locked"
/// at once (without waiting) while another process closes the ledger and
/// removes its log, so the switch is retried for a while. A ledger another
/// process keeps locked that long (the first import of a new ledger holds
/// it from one transaction to the next) is used in its rollback mode: that
/// process switches it when it is done, or the next one to open it does.
fn set_wal(conn: &Connection) -> rusqlite::Result<()> {
    let started = std::time::Instant::now();
    loop {
        if in_wal(conn)? {
            return Ok(());
        }
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e) if is_busy(&e) => {
                if started.elapsed() >= SWITCH_WAIT {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            r => return r,
        }
    }
}

/// Syncs as the journal mode needs: in the write-ahead log, at checkpoints
/// (a commit survives a crash of the process; power loss may take the
/// last ones back, never the file); with a rollback journal, in full
/// (the only setting that keeps the file whole through power loss).
fn set_synchronous(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", if in_wal(conn)? { "NORMAL" } else { "FULL" })
}

/// Puts a ledger written with a rollback journal (its first import) in
/// write-ahead-log mode, once its writer is done; a ledger another
/// process holds is left for the next one to open it.
pub(crate) fn settle_wal(conn: &Connection) -> rusqlite::Result<()> {
    set_wal(conn)?;
    set_synchronous(conn)
}

/// Creates the database file (and its directory) readable by the owner only.
fn create_private(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir).map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreateFile { path: path.display().to_string(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_kept_unless_its_last_use_filled_less_than_a_quarter() {
        assert_eq!(room_to_keep(8192, 8192), None);
        assert_eq!(room_to_keep(4096, 1), None);
        assert_eq!(room_to_keep(4097, 1), Some(1024));
        assert_eq!(room_to_keep(50_000, 3), Some(1024));
        assert_eq!(room_to_keep(100_000, 5_000), Some(5_000));
        assert_eq!(room_to_keep(100_000, 30_000), None);
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nested").join("aifin.db");
        let conn = open_rw(&db).unwrap();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(db.parent().unwrap()), 0o700);
        let wal = db.with_extension("db-wal");
        assert!(wal.exists());
        assert_eq!(mode(&wal), 0o600, "SQLite gives the WAL the database's permissions");
    }

    #[test]
    fn a_new_ledger_gets_16_kib_pages_and_an_older_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page = |c: &Connection| -> i64 { c.pragma_query_value(None, "page_size", |r| r.get(0)).unwrap() };
        let new = dir.path().join("new.db");
        assert_eq!(page(&open_rw(&new).unwrap()), 16_384);
        // A ledger made with SQLite's default pages (as before) opens,
        // upgrades and keeps them.
        let old = dir.path().join("old.db");
        {
            let c = Connection::open(&old).unwrap();
            c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
            schema::migrate_to(&c, &old, 12).unwrap();
            assert_eq!(page(&c), 4_096);
        }
        let c = open_rw(&old).unwrap();
        assert_eq!(page(&c), 4_096);
        let v: i64 = c.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, schema::SCHEMA_VERSION);
        assert_eq!(page(&open_read(&old).unwrap()), 4_096);
    }

    #[test]
    fn a_report_opened_while_another_connection_holds_the_ledger_waits_and_reads_what_it_committed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("aifin.db");
        drop(open_rw(&db).unwrap());
        // Another connection holds the ledger's lock (exclusive locking
        // mode keeps it after its write, which stays in the log).
        let holder = Connection::open(&db).unwrap();
        holder
            .execute_batch(
                "PRAGMA locking_mode = EXCLUSIVE;
                 INSERT INTO meta (key, value) VALUES ('held', 'yes');",
            )
            .unwrap();
        let reader = std::thread::spawn({
            let db = db.clone();
            move || {
                let c = open_read(&db).unwrap();
                c.query_row("SELECT value FROM meta WHERE key = 'held'", [], |r| r.get::<_, String>(0)).unwrap()
            }
        });
        // Longer than SQLite's default wait (5 s), after which a report
        // used to read the file without the log.
        std::thread::sleep(std::time::Duration::from_millis(5500));
        drop(holder);
        // Not the file as it was without the log, read around the lock.
        assert_eq!(reader.join().unwrap(), "yes");
    }

    fn journal(c: &Connection) -> (String, i64) {
        (
            c.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap(),
            c.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap(),
        )
    }

    #[test]
    fn a_new_ledgers_first_import_writes_with_a_rollback_journal_then_settles_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("aifin.db");
        let conn = open_rw_import(&db).unwrap();
        // Synced in full (2) with a rollback journal.
        assert_eq!(journal(&conn), ("delete".to_string(), 2));
        let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0)).unwrap();
        assert_eq!(page, 16_384);
        // The writer puts the ledger in the log's mode when it is done.
        writer::Writer::spawn(conn, 2, None).finish().unwrap();
        assert_eq!(journal(&Connection::open(&db).unwrap()).0, "wal");
        // An existing ledger is imported into through the log, synced at
        // checkpoints (1).
        assert_eq!(journal(&open_rw_import(&db).unwrap()), ("wal".to_string(), 1));
    }

    #[test]
    fn a_new_ledger_another_process_opened_first_in_the_logs_mode_stays_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("aifin.db");
        // The importer made the file; another process opened it first.
        create_private(&db).unwrap();
        let other = open_rw(&db).unwrap();
        let conn = open_rw_with(&db, Journal::Rollback).unwrap();
        assert_eq!(journal(&conn), ("wal".to_string(), 1));
        drop(other);
    }

    #[test]
    fn a_ledger_opened_during_its_first_import_is_used_in_its_journal_mode_until_the_import_ends() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("aifin.db");
        let importer = open_rw_import(&db).unwrap();
        importer.execute_batch("BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('importing', '1');").unwrap();
        // The cockpit opens it meanwhile: no switch while the import holds
        // the ledger, and no error either.
        let t = std::time::Instant::now();
        let cockpit = open_existing(&db).unwrap();
        assert!(t.elapsed() < SWITCH_WAIT + std::time::Duration::from_secs(2), "{:?}", t.elapsed());
        assert_eq!(journal(&cockpit), ("delete".to_string(), 2));
        importer.execute_batch("COMMIT").unwrap();
        let v: String = cockpit.query_row("SELECT value FROM meta WHERE key = 'importing'", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "1");
        // Once free, the next writer to open it switches it.
        drop((importer, cockpit));
        assert_eq!(journal(&open_rw(&db).unwrap()).0, "wal");
    }

    #[test]
    fn missing_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_read(&dir.path().join("none.db")).unwrap_err().to_string();
        assert!(e.contains("aifin ingest"), "{e}");
    }
}
