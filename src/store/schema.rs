//! Schema and migrations, versioned with `PRAGMA user_version`.
//! Migrations are append-only: never edit one that has shipped.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Each entry migrates from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the ledger.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    format       TEXT,
    fingerprint  INTEGER,
    fp_len       INTEGER NOT NULL DEFAULT 0,
    dev          INTEGER,
    inode        INTEGER,
    offset       INTEGER NOT NULL DEFAULT 0,
    line_no      INTEGER NOT NULL DEFAULT 0,
    size         INTEGER NOT NULL DEFAULT 0,
    generation   INTEGER NOT NULL DEFAULT 0,
    lines        INTEGER NOT NULL DEFAULT 0,
    calls        INTEGER NOT NULL DEFAULT 0,
    duplicates   INTEGER NOT NULL DEFAULT 0,
    rejects      INTEGER NOT NULL DEFAULT 0,
    skipped      INTEGER NOT NULL DEFAULT 0,
    last_line_ts INTEGER,
    first_seen   INTEGER NOT NULL,
    last_read    INTEGER
);

CREATE TABLE calls (
    id                 INTEGER PRIMARY KEY,
    ts                 INTEGER NOT NULL,
    dedupe_ts          INTEGER NOT NULL,
    dedupe_key         INTEGER NOT NULL,
    source_id          INTEGER,
    line_no            INTEGER,
    format             INTEGER,
    request_id         TEXT,
    provider           TEXT,
    model              TEXT NOT NULL,
    price_key          TEXT,
    workflow           TEXT,
    team               TEXT,
    customer           TEXT,
    user               TEXT,
    project            TEXT,
    session_id         TEXT,
    trace_id           TEXT,
    tags               TEXT,
    uncached_input     INTEGER NOT NULL,
    cache_read         INTEGER NOT NULL,
    cache_write_5m     INTEGER NOT NULL,
    cache_write_1h     INTEGER NOT NULL,
    output             INTEGER NOT NULL,
    reasoning          INTEGER NOT NULL,
    token_source       INTEGER NOT NULL DEFAULT 0,
    batch              INTEGER NOT NULL DEFAULT 0,
    service_tier       TEXT,
    inference_geo      TEXT,
    speed              TEXT,
    latency_ms         INTEGER,
    status             INTEGER NOT NULL DEFAULT 0,
    cost_nano          INTEGER,
    reported_cost_nano INTEGER
);
-- Exactly-once identity, time-led so inserts stay append-mostly; it also
-- serves time-range scans (dedupe_ts = ts unless the log had no time).
CREATE UNIQUE INDEX calls_dedupe ON calls(dedupe_ts, dedupe_key);

CREATE TABLE rejects (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER,
    path        TEXT NOT NULL,
    line_no     INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    excerpt     TEXT NOT NULL,
    at          INTEGER NOT NULL
);

-- Hourly aggregates per dimension (and per pair of dimensions), maintained
-- by the writer in the same transaction as the rows: reports over months
-- of data read thousands of rollup rows instead of millions of calls.
CREATE TABLE rollup_hour (
    dim                INTEGER NOT NULL,
    hour               INTEGER NOT NULL,
    key                TEXT NOT NULL,
    calls              INTEGER NOT NULL,
    uncached_input     INTEGER NOT NULL,
    cache_read         INTEGER NOT NULL,
    cache_write        INTEGER NOT NULL,
    output             INTEGER NOT NULL,
    reasoning          INTEGER NOT NULL,
    cost_nano          INTEGER NOT NULL,
    unpriced_calls     INTEGER NOT NULL,
    error_calls        INTEGER NOT NULL,
    reported_cost_nano INTEGER NOT NULL,
    latency_ms_sum     INTEGER NOT NULL,
    latency_n          INTEGER NOT NULL,
    PRIMARY KEY (dim, hour, key)
) WITHOUT ROWID;

-- Which catalog key each logged model name resolved to.
CREATE TABLE model_keys (
    model     TEXT NOT NULL,
    price_key TEXT NOT NULL,
    PRIMARY KEY (model, price_key)
) WITHOUT ROWID;
"#,
    // 1 -> 2: responses logged several times under one message id (Claude
    // Code); the partial index holds only those rows.
    r#"
ALTER TABLE calls ADD COLUMN msg_key INTEGER;
ALTER TABLE calls ADD COLUMN sidechain INTEGER NOT NULL DEFAULT 0;
CREATE INDEX calls_msg ON calls(msg_key) WHERE msg_key IS NOT NULL;
"#,
    // 2 -> 3: prompt composition (token counts per component; never text).
    r#"
CREATE TABLE prompt_parts (
    dedupe_ts  INTEGER NOT NULL,
    dedupe_key INTEGER NOT NULL,
    system     INTEGER NOT NULL,
    tools      INTEGER NOT NULL,
    context    INTEGER NOT NULL,
    history    INTEGER NOT NULL,
    user       INTEGER NOT NULL,
    output     INTEGER NOT NULL,
    source     INTEGER NOT NULL,
    PRIMARY KEY (dedupe_ts, dedupe_key)
) WITHOUT ROWID;
ALTER TABLE rollup_hour ADD COLUMN p_system INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN p_tools INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN p_context INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN p_history INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN p_user INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN p_output INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN p_calls INTEGER NOT NULL DEFAULT 0;
"#,
    // 3 -> 4: events (runaways, budget alerts, gate runs, reviews), one
    // table with a kind; an event's identity is (kind, subject, start).
    r#"
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    severity    TEXT,
    data        TEXT NOT NULL DEFAULT '{}',
    recorded_at INTEGER NOT NULL,
    UNIQUE (kind, subject, started_at)
);
CREATE INDEX events_time ON events(kind, started_at);
"#,
    // 4 -> 5: calls waiting for their usage to be counted from their
    // prompt text (not in the cost, counted apart, found again by their
    // position in the source), and warnings on calls whose fields were
    // out of range.
    r#"
ALTER TABLE calls ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;
CREATE TABLE pending_counts (
    dedupe_ts   INTEGER NOT NULL,
    dedupe_key  INTEGER NOT NULL,
    source_id   INTEGER,
    byte_offset INTEGER NOT NULL,
    PRIMARY KEY (dedupe_ts, dedupe_key)
) WITHOUT ROWID;
ALTER TABLE rollup_hour ADD COLUMN pending_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_hour ADD COLUMN warning_calls INTEGER NOT NULL DEFAULT 0;
"#,
    // 5 -> 6: a line is rejected once, however many runs read it.
    r#"
DELETE FROM rejects WHERE id NOT IN (SELECT MIN(id) FROM rejects GROUP BY source_id, byte_offset);
CREATE UNIQUE INDEX rejects_position ON rejects(source_id, byte_offset);
"#,
    // 6 -> 7: the dedupe identity's version. A ledger with calls was keyed
    // by scheme 1 (cleaned ids, raw bytes of id-less lines): the next
    // ingest re-keys what it can read again.
    r#"
INSERT OR REPLACE INTO meta (key, value)
SELECT 'dedupe_scheme', CASE WHEN EXISTS (SELECT 1 FROM calls) THEN '1' ELSE '2' END;
"#,
    // 7 -> 8: outcomes, one row per (id kind, id), with the dimensions of
    // the call they joined (resolved at ingest, so reports never join).
    r#"
CREATE TABLE outcomes (
    id_kind       INTEGER NOT NULL,
    id            TEXT NOT NULL,
    ts            INTEGER NOT NULL,
    success       INTEGER NOT NULL,
    value_nano    INTEGER,
    workflow      TEXT,
    from_call     INTEGER NOT NULL,
    call_ts       INTEGER,
    call_workflow TEXT,
    team          TEXT,
    customer      TEXT,
    user          TEXT,
    project       TEXT,
    provider      TEXT,
    model         TEXT,
    recorded_at   INTEGER NOT NULL,
    PRIMARY KEY (id_kind, id)
) WITHOUT ROWID;
CREATE INDEX outcomes_time ON outcomes(ts);
CREATE INDEX outcomes_unjoined ON outcomes(id_kind, id) WHERE call_ts IS NULL;
"#,
    // 8 -> 9: outcomes summed per hour and dimension (0-6: workflow, team,
    // customer, user, project, provider, model; 7: all), kept by the writer
    // as outcomes change, so reports read hours, not outcomes.
    r#"
CREATE TABLE outcome_rollup (
    dim        INTEGER NOT NULL,
    hour       INTEGER NOT NULL,
    key        TEXT NOT NULL,
    outcomes   INTEGER NOT NULL,
    successes  INTEGER NOT NULL,
    value_nano INTEGER NOT NULL,
    PRIMARY KEY (dim, hour, key)
) WITHOUT ROWID;
INSERT INTO outcome_rollup (dim, hour, key, outcomes, successes, value_nano)
SELECT d.dim, o.ts / 3600000 - (o.ts < 0 AND o.ts % 3600000 != 0),
       CASE d.dim WHEN 0 THEN COALESCE(o.workflow, o.call_workflow, '') WHEN 1 THEN COALESCE(o.team, '')
         WHEN 2 THEN COALESCE(o.customer, '') WHEN 3 THEN COALESCE(o.user, '') WHEN 4 THEN COALESCE(o.project, '')
         WHEN 5 THEN COALESCE(o.provider, '') WHEN 6 THEN COALESCE(o.model, '') ELSE '' END,
       COUNT(*), SUM(o.success), SUM(CASE WHEN o.success THEN COALESCE(o.value_nano, 0) ELSE 0 END)
FROM outcomes o
JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
      UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) d
  ON d.dim IN (0, 7) OR o.call_ts IS NOT NULL
GROUP BY 1, 2, 3;
"#,
    // 9 -> 10: the endpoint's location (Vertex prices regional endpoints
    // with an uplift).
    r#"
ALTER TABLE calls ADD COLUMN region TEXT;
ALTER TABLE rollup_hour ADD COLUMN price_fallback_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN skipped_usage INTEGER NOT NULL DEFAULT 0;
"#,
    // 10 -> 11: ledgers merged across machines. Every ledger has an id;
    // a call or source keeps the id of the ledger it was first ingested
    // into (`machine`, '' for this one), and sources are unique per
    // machine and path (two laptops may log to the same path).
    r#"
INSERT OR IGNORE INTO meta (key, value) VALUES ('ledger_id', lower(hex(randomblob(8))));
ALTER TABLE calls ADD COLUMN machine TEXT NOT NULL DEFAULT '';
CREATE TABLE sources_v11 (
    id            INTEGER PRIMARY KEY,
    machine       TEXT NOT NULL DEFAULT '',
    path          TEXT NOT NULL,
    format        TEXT,
    fingerprint   INTEGER,
    fp_len        INTEGER NOT NULL DEFAULT 0,
    dev           INTEGER,
    inode         INTEGER,
    offset        INTEGER NOT NULL DEFAULT 0,
    line_no       INTEGER NOT NULL DEFAULT 0,
    size          INTEGER NOT NULL DEFAULT 0,
    generation    INTEGER NOT NULL DEFAULT 0,
    lines         INTEGER NOT NULL DEFAULT 0,
    calls         INTEGER NOT NULL DEFAULT 0,
    duplicates    INTEGER NOT NULL DEFAULT 0,
    rejects       INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    last_line_ts  INTEGER,
    first_seen    INTEGER NOT NULL,
    last_read     INTEGER,
    skipped_usage INTEGER NOT NULL DEFAULT 0,
    UNIQUE (machine, path)
);
INSERT INTO sources_v11 (id, path, format, fingerprint, fp_len, dev, inode, offset, line_no, size, generation, lines,
    calls, duplicates, rejects, skipped, last_line_ts, first_seen, last_read, skipped_usage)
SELECT id, path, format, fingerprint, fp_len, dev, inode, offset, line_no, size, generation, lines,
    calls, duplicates, rejects, skipped, last_line_ts, first_seen, last_read, skipped_usage FROM sources;
DROP TABLE sources;
ALTER TABLE sources_v11 RENAME TO sources;
"#,
    // 11 -> 12: keyed fingerprints of prompts (never text): SipHash-2-4
    // under the ledger's own secret key, of the stable prefix (system and
    // tools) and of the whole prompt. `key_id` names the key that hashed
    // them ('' for this ledger's; hashes merged from a ledger with another
    // key are kept apart: not comparable).
    r#"
INSERT OR IGNORE INTO meta (key, value) VALUES ('fingerprint_key', lower(hex(randomblob(16))));
CREATE TABLE prompt_hashes (
    dedupe_ts  INTEGER NOT NULL,
    dedupe_key INTEGER NOT NULL,
    prefix     INTEGER,
    prompt     INTEGER NOT NULL,
    key_id     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (dedupe_ts, dedupe_key)
) WITHOUT ROWID;
"#,
    // 12 -> 13: the rollups summed per UTC day as well (from the hours
    // already summed): a window of whole days reads one row a day per
    // group instead of 24.
    r#"
CREATE TABLE rollup_day (
    dim                  INTEGER NOT NULL,
    day                  INTEGER NOT NULL,
    key                  TEXT NOT NULL,
    calls                INTEGER NOT NULL DEFAULT 0,
    uncached_input       INTEGER NOT NULL DEFAULT 0,
    cache_read           INTEGER NOT NULL DEFAULT 0,
    cache_write          INTEGER NOT NULL DEFAULT 0,
    output               INTEGER NOT NULL DEFAULT 0,
    reasoning            INTEGER NOT NULL DEFAULT 0,
    cost_nano            INTEGER NOT NULL DEFAULT 0,
    unpriced_calls       INTEGER NOT NULL DEFAULT 0,
    error_calls          INTEGER NOT NULL DEFAULT 0,
    reported_cost_nano   INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum       INTEGER NOT NULL DEFAULT 0,
    latency_n            INTEGER NOT NULL DEFAULT 0,
    p_system             INTEGER NOT NULL DEFAULT 0,
    p_tools              INTEGER NOT NULL DEFAULT 0,
    p_context            INTEGER NOT NULL DEFAULT 0,
    p_history            INTEGER NOT NULL DEFAULT 0,
    p_user               INTEGER NOT NULL DEFAULT 0,
    p_output             INTEGER NOT NULL DEFAULT 0,
    p_calls              INTEGER NOT NULL DEFAULT 0,
    pending_calls        INTEGER NOT NULL DEFAULT 0,
    warning_calls        INTEGER NOT NULL DEFAULT 0,
    price_fallback_calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, day, key)
) WITHOUT ROWID;
INSERT INTO rollup_day (dim, day, key, calls, uncached_input, cache_read, cache_write, output, reasoning, cost_nano, unpriced_calls, error_calls, reported_cost_nano, latency_ms_sum, latency_n, p_system, p_tools, p_context, p_history, p_user, p_output, p_calls, pending_calls, warning_calls, price_fallback_calls)
SELECT dim, (hour - ((hour % 24) + 24) % 24) / 24, key, ssum(calls), ssum(uncached_input), ssum(cache_read), ssum(cache_write), ssum(output), ssum(reasoning), ssum(cost_nano), ssum(unpriced_calls), ssum(error_calls), ssum(reported_cost_nano), ssum(latency_ms_sum), ssum(latency_n), ssum(p_system), ssum(p_tools), ssum(p_context), ssum(p_history), ssum(p_user), ssum(p_output), ssum(p_calls), ssum(pending_calls), ssum(warning_calls), ssum(price_fallback_calls)
FROM rollup_hour GROUP BY 1, 2, 3;
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    migrate_to(conn, path, SCHEMA_VERSION)
}

/// Migrates up to `target` (tests build older ledgers with it).
pub(crate) fn migrate_to(conn: &Connection, path: &Path, target: i64) -> Result<(), StoreError> {
    let version =
        |c: &Connection| -> rusqlite::Result<i64> { c.pragma_query_value(None, "user_version", |r| r.get(0)) };
    let check = |v: i64| {
        if v > SCHEMA_VERSION {
            return Err(StoreError::TooNew { path: path.display().to_string(), found: v, supported: SCHEMA_VERSION });
        }
        Ok(())
    };
    let v = version(conn)?;
    check(v)?;
    if v >= target {
        return Ok(());
    }
    // Another process may be migrating the same file: take the write lock
    // first (waiting for it), then read the version again under it.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Exclusive)?;
    let v = version(&tx)?;
    // Migrations sum with `ssum` (saturating, as the rollups do).
    super::rollup::register_functions(&tx)?;
    check(v)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().take(target as usize).skip(v as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_is_idempotent() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn, Path::new(":memory:")).unwrap();
        migrate(&conn, Path::new(":memory:")).unwrap();
        let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master WHERE type='table'", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 13);
    }

    #[test]
    fn a_ledger_of_each_older_version_upgrades_with_its_rows() {
        for from in 1..SCHEMA_VERSION {
            let conn = Connection::open_in_memory().unwrap();
            migrate_to(&conn, Path::new(":memory:"), from).unwrap();
            conn.execute_batch(
                "INSERT INTO calls (ts, dedupe_ts, dedupe_key, model, uncached_input, cache_read, cache_write_5m,
                   cache_write_1h, output, reasoning, cost_nano) VALUES (1, 1, 7, 'm', 1, 0, 0, 0, 1, 0, 42);
                 INSERT INTO sources (path, first_seen, offset) VALUES ('/x', 0, 99);",
            )
            .unwrap();
            migrate(&conn, Path::new(":memory:")).unwrap();
            let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
            assert_eq!(v, SCHEMA_VERSION, "from {from}");
            let (cost, offset): (i64, i64) = conn
                .query_row("SELECT c.cost_nano, s.offset FROM calls c, sources s", [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap();
            assert_eq!((cost, offset), (42, 99), "from {from}: rows kept");
            // What each migration added is there: prompt parts (3), events
            // (4), pending calls and warnings (5).
            conn.execute_batch(
                "SELECT msg_key FROM calls; SELECT * FROM prompt_parts; SELECT * FROM events;
                 SELECT pending, warnings FROM calls; SELECT * FROM pending_counts; SELECT pending_calls FROM rollup_hour;
                 SELECT * FROM rejects INDEXED BY rejects_position;",
            )
            .unwrap();
            let scheme: String =
                conn.query_row("SELECT value FROM meta WHERE key = 'dedupe_scheme'", [], |r| r.get(0)).unwrap();
            // Migration 7 found calls (and marked their scheme) only when it
            // ran after they were written.
            let want = if from < 7 { "1" } else { "2" };
            assert_eq!(scheme, want, "from {from}: a ledger with calls keeps its keys until re-keyed");
            // Outcomes (8).
            conn.execute_batch("SELECT * FROM outcomes INDEXED BY outcomes_unjoined WHERE call_ts IS NULL;").unwrap();
            // Ledger ids and machines (11): the rows are this ledger's own.
            let (id, machine): (String, String) = conn
                .query_row("SELECT (SELECT value FROM meta WHERE key = 'ledger_id'), machine FROM calls", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!((id.len(), machine.as_str()), (16, ""), "from {from}");
            let path: String = conn
                .query_row("SELECT path FROM sources WHERE machine = '' AND offset = 99", [], |r| r.get(0))
                .unwrap();
            assert_eq!(path, "/x", "from {from}");
            // Prompt fingerprints (12): a key of 16 random bytes.
            let key: String =
                conn.query_row("SELECT value FROM meta WHERE key = 'fingerprint_key'", [], |r| r.get(0)).unwrap();
            assert_eq!(key.len(), 32, "from {from}");
            conn.execute_batch("SELECT prefix, prompt, key_id FROM prompt_hashes;").unwrap();
        }
    }

    #[test]
    fn the_upgrade_to_day_rollups_sums_each_utc_day_of_hours() {
        let conn = Connection::open_in_memory().unwrap();
        migrate_to(&conn, Path::new(":memory:"), 12).unwrap();
        let max = i64::MAX - 100;
        for (dim, hour, key, calls, cost) in [
            (1, -25, "w", 1, 100),
            (1, -1, "w", 2, 200),
            (1, 0, "w", 3, 300),
            (1, 5, "w", 4, max),
            (1, 23, "w", 5, max),
            (1, 23, "x", 1, 7),
            (11, 24, "w\u{1f}c", 6, 50),
        ] {
            conn.execute(
                "INSERT INTO rollup_hour (dim, hour, key, calls, uncached_input, cache_read, cache_write, output,
                   reasoning, cost_nano, unpriced_calls, error_calls, reported_cost_nano, latency_ms_sum, latency_n, p_calls)
                 VALUES (?1, ?2, ?3, ?4, 10, 0, 0, 5, 0, ?5, 0, 0, 0, 0, 0, 1)",
                rusqlite::params![dim, hour, key, calls, cost],
            )
            .unwrap();
        }
        migrate(&conn, Path::new(":memory:")).unwrap();
        let mut st = conn
            .prepare("SELECT dim, day, key, calls, cost_nano, output, p_calls FROM rollup_day ORDER BY 1, 2, 3")
            .unwrap();
        let days: Vec<(i64, i64, String, i64, i64, i64, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            days,
            [
                (1, -2, "w".to_string(), 1, 100, 5, 1),
                (1, -1, "w".to_string(), 2, 200, 5, 1),
                // Two sums near the largest integer saturate.
                (1, 0, "w".to_string(), 12, i64::MAX, 15, 3),
                (1, 0, "x".to_string(), 1, 7, 5, 1),
                (11, 1, "w\u{1f}c".to_string(), 6, 50, 5, 1),
            ]
        );
    }

    #[test]
    fn refuses_newer_databases() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&conn, Path::new("x.db")), Err(StoreError::TooNew { .. })));
    }
}
