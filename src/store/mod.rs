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

pub mod events;
pub mod live;
pub mod queries;
pub mod rollup;
pub mod schema;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

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
    #[error("database error: {0}")]
    Query(#[from] rusqlite::Error),
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
    if !path.exists() {
        create_private(path)?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_err(path))?;
    configure(&conn).map_err(sqlite_err(path))?;
    schema::migrate(&conn, path)?;
    Ok(conn)
}

/// Opens an existing database for reading (reports, views).
pub fn open_read(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing { path: path.display().to_string() });
    }
    // Read-write flags without CREATE: a reader may need to create the WAL
    // index, and migrating an older file in place is harmless.
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite_err(path))?;
    configure(&conn).map_err(sqlite_err(path))?;
    schema::migrate(&conn, path)?;
    Ok(conn)
}

/// An in-memory database with the schema (tests).
#[cfg(test)]
pub fn open_memory() -> Result<Connection, StoreError> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    schema::migrate(&conn, Path::new(":memory:"))?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    rollup::register_functions(conn)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
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
    fn missing_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_read(&dir.path().join("none.db")).unwrap_err().to_string();
        assert!(e.contains("aifin ingest"), "{e}");
    }
}
