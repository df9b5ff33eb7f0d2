//! Merging other aifin ledgers into this one (`aifin merge OTHER.db`).
//!
//! The other ledger is attached read-only and never migrated; its rows are
//! read whatever its schema version (a column it lacks takes the default
//! the migration that added it gave), re-keyed when it was keyed by an
//! older dedupe scheme, and written in one transaction:
//!
//! - calls exactly once by their dedupe identity `(dedupe_ts, dedupe_key)`.
//!   A call already here with the same content is a duplicate; with other
//!   content it is a conflict, settled by a rule that does not depend on
//!   the direction of the merge: the larger token total wins, then the
//!   larger cost (an unpriced call is the smaller), then the call of the
//!   smaller ledger id. Rollups follow the rows that were added or
//!   replaced, in the same transaction.
//! - calls and sources keep the ledger they were first ingested into
//!   (`machine`; '' means this ledger, so a call that comes back home is
//!   this ledger's again).
//! - outcomes by their id (conflicts: the later, then the successful, then
//!   the larger value wins), events by `(kind, subject, start)` (a closed
//!   event wins over an open one, the later end over the earlier), rejects
//!   by their source and position; prompt compositions with their calls.
//! - an outcome waiting for its call (in either ledger) is joined to the
//!   earliest call with its request, trace or session id once the merge
//!   brings that call here, as ingest joins it.
//!
//! Each merge that adds anything is recorded as a `merge` event naming the
//! other ledger's id and host, which also labels `--by machine`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

use crate::domain::outcome::IdKind;
use crate::domain::time::{MS_PER_HOUR, now_ms};
use crate::formats::common::DEDUPE_SCHEME;
use crate::store::rollup::{AGG_COLUMNS, AGG_LEN, Agg, DAY_OF_HOUR, Delta, RAW_EXPRS, Unit};
use crate::store::{StoreError, ledgers, schema};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read ledger '{path}': {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("'{path}' is not an aifin ledger (no calls table); pass a database written by `aifin ingest`")]
    NotALedger { path: String },
    #[error(
        "ledger '{path}' has schema version {found}, newer than this aifin understands ({supported}); merge it with a newer aifin"
    )]
    TooNew { path: String, found: i64, supported: i64 },
    #[error("'{path}' is this ledger itself (ledger id {id}); nothing to merge")]
    SameLedger { path: String, id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("merging: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Rows of one kind: added, already there, and differing copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: u64,
    pub duplicates: u64,
    /// Same identity, other content.
    pub conflicts: u64,
    /// Conflicts the other ledger's row won (it replaced this one's).
    pub replaced: u64,
}

/// What one merge did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    pub path: String,
    pub ledger_id: String,
    pub host: String,
    pub schema_version: i64,
    pub dedupe_scheme: i64,
    pub calls: Counts,
    /// Id-less calls of an older dedupe scheme given their current key.
    pub rekeyed: u64,
    /// Id-less calls of an older scheme whose lines are not here: they keep
    /// their old key.
    pub kept_old_keys: u64,
    pub outcomes: Counts,
    /// Outcomes waiting for their call (in either ledger) joined to a call
    /// the merge brought together with them.
    pub outcomes_joined: u64,
    pub events: Counts,
    pub sources: Counts,
    pub rejects: Counts,
    pub prompt_compositions: u64,
    /// Prompt fingerprints added with their calls.
    pub prompt_fingerprints: u64,
    /// Of those, fingerprints made under another ledger's key: kept apart,
    /// not comparable with this ledger's.
    pub fingerprints_not_comparable: u64,
    /// Cost of the calls added, less the cost of the calls they replaced.
    pub cost_added_nanousd: i64,
}

impl MergeReport {
    pub fn changed(&self) -> bool {
        self.calls.added
            + self.calls.replaced
            + self.outcomes.added
            + self.outcomes.replaced
            + self.outcomes_joined
            + self.events.added
            + self.events.replaced
            + self.sources.added
            + self.rejects.added
            > 0
    }
}

/// A database opened read-only (`immutable` when its directory is
/// read-only and the WAL index cannot be made), as a URI.
fn read_only_uri(path: &Path) -> Result<(Connection, String), MergeError> {
    let err = |source| MergeError::Open { path: path.display().to_string(), source };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let uri = |q: &str| format!("file:{}?{q}", crate::store::percent_path(path));
    let mut last = None;
    for q in ["mode=ro", "immutable=1"] {
        match Connection::open_with_flags(uri(q), flags).and_then(|c| {
            c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))?;
            Ok(c)
        }) {
            Ok(c) => return Ok((c, uri(q))),
            Err(e) => last = Some(e),
        }
    }
    Err(err(last.expect("tried")))
}

fn columns(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<Vec<(String, bool, Option<String>)>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {schema}.table_info({table})"))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(3)? != 0, r.get(4)?)))?;
    rows.collect()
}

/// A column list for copying `table` from `other` into `main`: each of
/// main's columns (but `skip`) as other's column, or the default value the
/// migration that added it gave.
fn copy_exprs(
    conn: &Connection,
    table: &str,
    alias: &str,
    skip: &[&str],
) -> rusqlite::Result<(Vec<String>, Vec<String>)> {
    let theirs: Vec<String> = columns(conn, "other", table)?.into_iter().map(|c| c.0).collect();
    let mut names = Vec::new();
    let mut exprs = Vec::new();
    for (name, _, default) in columns(conn, "main", table)? {
        if skip.contains(&name.as_str()) {
            continue;
        }
        exprs.push(if theirs.contains(&name) {
            format!("{alias}.{name}")
        } else {
            default.unwrap_or_else(|| "NULL".into())
        });
        names.push(name);
    }
    Ok((names, exprs))
}

fn has_table(conn: &Connection, schema: &str, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?1"),
        [table],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// The content of a call that must agree for two copies to be the same
/// call (`machine` is where it was read, not what it is).
const CALL_CONTENT: [&str; 24] = [
    "ts",
    "model",
    "provider",
    "price_key",
    "workflow",
    "team",
    "customer",
    "user",
    "project",
    "request_id",
    "session_id",
    "trace_id",
    "uncached_input",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "cost_nano",
    "status",
    "batch",
    "service_tier",
    "pending",
    "region",
];

/// Other ledger's calls read per transaction step.
const CHUNK: i64 = 250_000;

/// The id of a ledger written before ledgers had one: derived from what
/// never changes in it (its first source's first sight and its first
/// call), so every merge of it names it the same.
fn legacy_id(other: &Connection) -> rusqlite::Result<String> {
    let first_seen: Option<i64> = other.query_row("SELECT MIN(first_seen) FROM sources", [], |r| r.get(0))?;
    let first_call: Option<(i64, i64)> = other
        .query_row("SELECT dedupe_ts, dedupe_key FROM calls ORDER BY id LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(b"aifin-ledger");
    h.update(&first_seen.unwrap_or(0).to_le_bytes());
    if let Some((a, b)) = first_call {
        h.update(&a.to_le_bytes());
        h.update(&b.to_le_bytes());
    }
    Ok(format!("{:016x}", h.digest()))
}

/// Merges the ledger at `other` into `conn` (this ledger, opened with
/// [`crate::store::open_rw`]).
pub fn merge(conn: &mut Connection, other: &Path) -> Result<MergeReport, MergeError> {
    let shown = other.display().to_string();
    let own_id = ledgers::own_id(conn)?;
    // Inspect the other ledger on a connection of its own.
    let (probe, uri) = read_only_uri(other)?;
    let open_err = |source| MergeError::Open { path: shown.clone(), source };
    let version: i64 = probe.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(open_err)?;
    if version > schema::SCHEMA_VERSION {
        return Err(MergeError::TooNew { path: shown, found: version, supported: schema::SCHEMA_VERSION });
    }
    if version < 1 || !has_table(&probe, "main", "calls").map_err(open_err)? {
        return Err(MergeError::NotALedger { path: shown });
    }
    let meta = |k: &str| -> rusqlite::Result<Option<String>> {
        probe.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0)).optional()
    };
    let other_id = match meta("ledger_id").map_err(open_err)? {
        Some(id) => id,
        None => legacy_id(&probe).map_err(open_err)?,
    };
    if other_id == own_id {
        return Err(MergeError::SameLedger { path: shown, id: own_id });
    }
    let host = meta("host").map_err(open_err)?.unwrap_or_else(|| "unknown".into());
    let key_id = |k: Option<String>| {
        k.and_then(|k| crate::domain::fingerprint::FingerprintKey::from_hex(&k)).map(|k| k.id()).unwrap_or_default()
    };
    let other_key = key_id(meta("fingerprint_key").map_err(open_err)?);
    let own_key =
        key_id(conn.query_row("SELECT value FROM meta WHERE key = 'fingerprint_key'", [], |r| r.get(0)).optional()?);
    let scheme = crate::ingest::rekey::scheme(&probe).map_err(open_err)?;
    let sources_have_machine = columns(&probe, "main", "sources").map_err(open_err)?.iter().any(|c| c.0 == "machine");
    let (new_keys, kept) = if scheme < DEDUPE_SCHEME {
        crate::ingest::rekey::plan(&probe, sources_have_machine).map_err(open_err)?
    } else {
        (Vec::new(), Default::default())
    };
    drop(probe);

    let mut report = MergeReport {
        path: shown.clone(),
        ledger_id: other_id.clone(),
        host: crate::domain::sanitize::clean(&host).into_owned(),
        schema_version: version,
        dedupe_scheme: scheme,
        rekeyed: new_keys.len() as u64,
        kept_old_keys: kept.kept,
        ..MergeReport::default()
    };
    conn.execute("ATTACH DATABASE ?1 AS other", [&uri])
        .map_err(|source| MergeError::Open { path: shown.clone(), source })?;
    let keys = (own_key.as_str(), other_key.as_str());
    let result = merge_attached(conn, &own_id, &other_id, keys, &new_keys, &mut report);
    let detach = conn.execute("DETACH DATABASE other", []);
    result?;
    detach?;
    Ok(report)
}

fn merge_attached(
    conn: &mut Connection,
    own_id: &str,
    other_id: &str,
    fingerprint_keys: (&str, &str),
    new_keys: &[crate::ingest::rekey::NewKey],
    report: &mut MergeReport,
) -> Result<(), MergeError> {
    // A merge touches much of both ledgers in one transaction: a larger
    // page cache keeps it from spilling and re-reading pages.
    conn.pragma_update(None, "cache_size", -262_144)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // The machine of an other ledger's row: its own rows are `other_id`'s,
    // and a row that was first ingested here comes home as ''.
    let machine = |col: Option<&str>| {
        let m = match col {
            Some(c) => format!("CASE {c} WHEN '' THEN :other ELSE {c} END"),
            None => ":other".to_string(),
        };
        format!("(CASE {m} WHEN :own THEN '' ELSE {m} END)")
    };
    let named = |sql: &str| -> Vec<(&str, &dyn rusqlite::ToSql)> {
        let mut p: Vec<(&str, &dyn rusqlite::ToSql)> = Vec::new();
        if sql.contains(":other") {
            p.push((":other", &other_id as &dyn rusqlite::ToSql));
        }
        if sql.contains(":own") {
            p.push((":own", &own_id as &dyn rusqlite::ToSql));
        }
        p
    };

    // Sources.
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS m_src (other_id INTEGER PRIMARY KEY, id INTEGER NOT NULL);
         DELETE FROM m_src;",
    )?;
    {
        let other_has_machine = columns(&tx, "other", "sources")?.iter().any(|c| c.0 == "machine");
        let m = machine(other_has_machine.then_some("s.machine"));
        let (names, exprs) = copy_exprs(&tx, "sources", "s", &["id", "machine"])?;
        let before: i64 = tx.query_row("SELECT COUNT(*) FROM other.sources", [], |r| r.get(0))?;
        let sql = format!(
            "INSERT OR IGNORE INTO main.sources (machine, {}) SELECT {m}, {} FROM other.sources s",
            names.join(", "),
            exprs.join(", ")
        );
        let added = tx.execute(&sql, named(&sql).as_slice())? as u64;
        report.sources = Counts { added, duplicates: before as u64 - added, ..Counts::default() };
        let sql = format!(
            "INSERT INTO m_src (other_id, id) SELECT s.id, t.id FROM other.sources s
             JOIN main.sources t ON t.machine = {m} AND t.path = s.path"
        );
        tx.execute(&sql, named(&sql).as_slice())?;
    }

    // Re-keyed calls of an older scheme.
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS m_rekey (id INTEGER PRIMARY KEY, key INTEGER NOT NULL);
         DELETE FROM m_rekey;",
    )?;
    {
        tx.execute_batch("CREATE INDEX IF NOT EXISTS temp.m_rekey_key ON m_rekey(key);")?;
        let mut ins = tx.prepare("INSERT OR REPLACE INTO m_rekey (id, key) VALUES (?1, ?2)")?;
        for k in new_keys {
            ins.execute(params![k.id, k.new_key])?;
        }
    }

    // Calls, a chunk of the other ledger's rows at a time.
    let (names, exprs) = copy_exprs(&tx, "calls", "c", &["id", "machine", "dedupe_key", "source_id"])?;
    let other_calls_have_machine = columns(&tx, "other", "calls")?.iter().any(|c| c.0 == "machine");
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS temp.m_calls;
         CREATE TEMP TABLE m_calls AS SELECT {cols}, machine, dedupe_key, source_id,
             0 AS other_id, 0 AS old_key, 0 AS ex_id, 0 AS state FROM main.calls LIMIT 0;
         DROP TABLE IF EXISTS temp.m_gone;
         CREATE TEMP TABLE m_gone AS SELECT * FROM main.calls LIMIT 0;",
        cols = names.join(", ")
    ))?;
    // A chunk's calls whose identity is here already go through a temporary
    // table to be compared; the others are inserted straight away.
    let from = "FROM other.calls c LEFT JOIN m_rekey r ON r.id = c.id LEFT JOIN m_src ms ON ms.other_id = c.source_id
                WHERE c.id >= :lo AND c.id < :hi";
    let here = "EXISTS (SELECT 1 FROM main.calls x
                        WHERE x.dedupe_ts = c.dedupe_ts AND x.dedupe_key = COALESCE(r.key, c.dedupe_key))";
    let m = machine(other_calls_have_machine.then_some("c.machine"));
    let fill = format!(
        "INSERT INTO m_calls ({cols}, machine, dedupe_key, source_id, other_id, old_key, ex_id, state)
         SELECT {exprs}, {m}, COALESCE(r.key, c.dedupe_key), ms.id, c.id, c.dedupe_key, NULL, 0 {from} AND {here}",
        cols = names.join(", "),
        exprs = exprs.join(", "),
    );
    // (Two of the other ledger's calls re-keyed onto one identity: the
    // first stays, the other counts as a duplicate.)
    let direct = format!(
        "INSERT OR IGNORE INTO main.calls ({cols}, machine, dedupe_key, source_id)
         SELECT {exprs}, {m}, COALESCE(r.key, c.dedupe_key), ms.id {from} AND NOT {here}",
        cols = names.join(", "),
        exprs = exprs.join(", "),
    );
    let same = CALL_CONTENT.map(|c| format!("m.{c} IS c.{c}")).join(" AND ");
    let tokens = |t: &str| {
        format!(
            "({t}.uncached_input + {t}.cache_read + {t}.cache_write_5m + {t}.cache_write_1h + {t}.output + {t}.reasoning)"
        )
    };
    let resolved = |t: &str| format!("(CASE {t}.machine WHEN '' THEN :own ELSE {t}.machine END)");
    let classify = format!(
        "UPDATE m_calls AS m SET ex_id = c.id, state = CASE
            WHEN {same} THEN 1
            WHEN {tm} > {tc} THEN 3
            WHEN {tm} < {tc} THEN 2
            WHEN COALESCE(m.cost_nano, -1) > COALESCE(c.cost_nano, -1) THEN 3
            WHEN COALESCE(m.cost_nano, -1) < COALESCE(c.cost_nano, -1) THEN 2
            WHEN {rm} < {rc} THEN 3
            ELSE 2 END
         FROM main.calls c WHERE c.dedupe_ts = m.dedupe_ts AND c.dedupe_key = m.dedupe_key",
        tm = tokens("m"),
        tc = tokens("c"),
        rm = resolved("m"),
        rc = resolved("c"),
    );
    let other_parts = has_table(&tx, "other", "prompt_parts")?;
    let hashes = has_table(&tx, "other", "prompt_hashes")?.then_some(fingerprint_keys);
    let bulk = bulk_rollups(&tx, new_keys.is_empty())?;
    if bulk {
        let cols = AGG_COLUMNS.join(", ");
        // Plain sums (a sum that overflows becomes a float in SQLite), then
        // the rare float brought back to the integer bounds: saturating in
        // the upsert itself costs twice as much.
        let sets: Vec<String> = AGG_COLUMNS.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
        // The other ledger's days are summed from its hours (a ledger of an
        // older version has no day rollups).
        let ssums: Vec<String> = AGG_COLUMNS.iter().map(|c| format!("ssum({c})")).collect();
        let clamp = AGG_COLUMNS
            .iter()
            .map(|c| format!("{c} = CAST(MAX(-9223372036854775808, MIN(9223372036854775807, {c})) AS INTEGER)"))
            .collect::<Vec<_>>()
            .join(", ");
        let floats = AGG_COLUMNS.iter().map(|c| format!("typeof({c}) = 'real'")).collect::<Vec<_>>().join(" OR ");
        for (unit, select) in [
            (
                Unit::Hour,
                format!("SELECT dim, hour, key, {cols} FROM other.rollup_hour WHERE true ORDER BY dim, hour, key"),
            ),
            (
                Unit::Day,
                format!(
                    "SELECT dim, {DAY_OF_HOUR} AS d, key, {} FROM other.rollup_hour
                     WHERE true GROUP BY dim, d, key ORDER BY dim, d, key",
                    ssums.join(", ")
                ),
            ),
        ] {
            let (table, t) = (unit.table(), unit.column());
            tx.execute(
                &format!(
                    "INSERT INTO main.{table} (dim, {t}, key, {cols}) {select} ON CONFLICT (dim, {t}, key) DO UPDATE SET {}",
                    sets.join(", ")
                ),
                [],
            )?;
            tx.execute(&format!("UPDATE main.{table} SET {clamp} WHERE {floats}"), [])?;
        }
    }
    let mut subtracted = false;
    let first_merged: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM main.calls", [], |r| r.get(0))?;
    let (lo, hi): (Option<i64>, Option<i64>) =
        tx.query_row("SELECT MIN(id), MAX(id) FROM other.calls", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if let (Some(lo), Some(hi)) = (lo, hi) {
        let mut at = lo;
        while at <= hi {
            let end = at.saturating_add(CHUNK);
            tx.execute("DELETE FROM m_calls", [])?;
            tx.execute("DELETE FROM m_gone", [])?;
            let range = |sql: &str| {
                let mut p = named(sql);
                p.push((":lo", &at));
                p.push((":hi", &end));
                p
            };
            tx.execute(&fill, range(&fill).as_slice())?;
            tx.execute(&classify, named(&classify).as_slice())?;
            let first_new: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM main.calls", [], |r| r.get(0))?;
            let inserted = tx.execute(&direct, range(&direct).as_slice())? as u64;
            let read: i64 =
                tx.query_row("SELECT COUNT(*) FROM other.calls WHERE id >= ?1 AND id < ?2", params![at, end], |r| {
                    r.get(0)
                })?;
            let compared: i64 = tx.query_row("SELECT COUNT(*) FROM m_calls", [], |r| r.get(0))?;
            report.calls.added += inserted;
            report.calls.duplicates += (read - compared) as u64 - inserted;
            subtracted |= chunk(&tx, &names, other_parts, hashes, bulk, first_new, !new_keys.is_empty(), report)?;
            at = end;
        }
    }
    if subtracted {
        // Groups whose calls were all taken out are left empty.
        for unit in [Unit::Hour, Unit::Day] {
            tx.execute(&format!("DELETE FROM {} WHERE calls = 0 AND cost_nano = 0 AND p_calls = 0", unit.table()), [])?;
        }
    }
    tx.execute_batch("DROP TABLE temp.m_calls; DROP TABLE temp.m_gone;")?;

    tx.execute(
        "INSERT OR IGNORE INTO main.model_keys (model, price_key)
         SELECT DISTINCT model, price_key FROM main.calls WHERE price_key IS NOT NULL AND id >= ?1",
        [first_merged],
    )?;
    // Outcomes.
    if has_table(&tx, "other", "outcomes")? {
        merge_outcomes(&tx, report)?;
    }
    if report.calls.added + report.outcomes.added + report.outcomes.replaced > 0 {
        report.outcomes_joined = join_waiting_outcomes(&tx)?;
    }
    // Events.
    if has_table(&tx, "other", "events")? {
        let (names, exprs) = copy_exprs(&tx, "events", "o", &["id"])?;
        let total: i64 = tx.query_row("SELECT COUNT(*) FROM other.events", [], |r| r.get(0))?;
        let replaced = tx.execute(
            "UPDATE main.events AS e SET ended_at = o.ended_at, severity = o.severity, data = o.data
             FROM other.events o
             WHERE e.kind = o.kind AND e.subject = o.subject AND e.started_at = o.started_at
               AND o.ended_at IS NOT NULL AND (e.ended_at IS NULL OR o.ended_at > e.ended_at)",
            [],
        )? as u64;
        let conflicts: i64 = tx.query_row(
            "SELECT COUNT(*) FROM other.events o JOIN main.events e
               ON e.kind = o.kind AND e.subject = o.subject AND e.started_at = o.started_at
             WHERE e.ended_at IS NOT o.ended_at",
            [],
            |r| r.get(0),
        )?;
        let added = tx.execute(
            &format!(
                "INSERT OR IGNORE INTO main.events ({}) SELECT {} FROM other.events o",
                names.join(", "),
                exprs.join(", ")
            ),
            [],
        )? as u64;
        report.events = Counts {
            added,
            duplicates: (total as u64).saturating_sub(added + replaced + conflicts as u64),
            conflicts: conflicts as u64 + replaced,
            replaced,
        };
    }
    // Rejects.
    {
        let (names, exprs) = copy_exprs(&tx, "rejects", "r", &["id", "source_id"])?;
        let total: i64 = tx.query_row("SELECT COUNT(*) FROM other.rejects", [], |r| r.get(0))?;
        let added = tx.execute(
            &format!(
                "INSERT OR IGNORE INTO main.rejects (source_id, {names}) SELECT ms.id, {exprs}
                 FROM other.rejects r LEFT JOIN m_src ms ON ms.other_id = r.source_id
                 WHERE NOT EXISTS (SELECT 1 FROM main.rejects x
                                   WHERE x.source_id IS ms.id AND x.byte_offset = r.byte_offset AND x.path = r.path)",
                names = names.join(", "),
                exprs = exprs.join(", ")
            ),
            [],
        )? as u64;
        report.rejects = Counts { added, duplicates: total as u64 - added, ..Counts::default() };
    }
    if report.changed() {
        let data = serde_json::json!({
            "host": report.host,
            "path": report.path,
            "schema_version": report.schema_version,
            "calls_added": report.calls.added,
            "calls_duplicates": report.calls.duplicates,
            "calls_conflicts": report.calls.conflicts,
            "calls_replaced": report.calls.replaced,
        });
        let now = now_ms();
        tx.execute(
            "INSERT OR IGNORE INTO events (kind, subject, started_at, ended_at, severity, data, recorded_at)
             VALUES ('merge', ?1, ?2, ?2, 'info', ?3, ?2)",
            params![other_id, now, data.to_string()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Whether the rollups of the merge are the other ledger's rollups (added
/// whole, then the calls not taken subtracted) rather than sums of the
/// calls taken: when the other ledger's rollups have this schema's
/// measures and no call is re-keyed, and at most half of its calls are
/// here already. Adding another ledger's hours costs one statement; summing
/// a million calls costs seconds.
fn bulk_rollups(tx: &rusqlite::Transaction, same_keys: bool) -> rusqlite::Result<bool> {
    if !same_keys {
        return Ok(false);
    }
    let theirs: Vec<String> = columns(tx, "other", "rollup_hour")?.into_iter().map(|c| c.0).collect();
    if !AGG_COLUMNS.iter().all(|c| theirs.iter().any(|t| t == c)) {
        return Ok(false);
    }
    // Every 64th call is enough to tell.
    let (total, present): (i64, i64) = tx.query_row(
        "SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM main.calls x
                                    WHERE x.dedupe_ts = c.dedupe_ts AND x.dedupe_key = c.dedupe_key)), 0)
         FROM other.calls c WHERE c.id % 64 = 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(present * 2 <= total)
}

/// Finishes one chunk: the calls inserted straight away have ids from
/// `first_new` on; the compared ones are in `m_calls` (state 1 duplicate,
/// 2 conflict kept, 3 conflict replaced). Writes the replacements, the
/// prompt compositions and the rollups; true when rollups were subtracted.
#[allow(clippy::too_many_arguments)]
fn chunk(
    tx: &rusqlite::Transaction,
    names: &[String],
    other_parts: bool,
    hashes: Option<(&str, &str)>,
    bulk: bool,
    first_new: i64,
    rekeyed: bool,
    report: &mut MergeReport,
) -> rusqlite::Result<bool> {
    {
        let mut stmt = tx.prepare("SELECT state, COUNT(*) FROM m_calls GROUP BY state")?;
        for r in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64)))? {
            let (state, n) = r?;
            match state {
                1 => report.calls.duplicates += n,
                2 => report.calls.conflicts += n,
                _ => {
                    report.calls.conflicts += n;
                    report.calls.replaced += n;
                }
            }
        }
    }
    let mut delta = Delta::default();
    let mut subtracted = false;
    // The calls a conflict replaces leave, with their rollups and parts.
    let replaced = tx.execute(
        "INSERT INTO m_gone SELECT c.* FROM main.calls c JOIN m_calls m ON c.id = m.ex_id WHERE m.state = 3",
        [],
    )?;
    if replaced > 0 {
        groups(tx, "m_gone", "main.prompt_parts", "1", true, &mut delta)?;
        subtracted = true;
        tx.execute_batch(
            "DELETE FROM main.prompt_parts WHERE (dedupe_ts, dedupe_key) IN (SELECT dedupe_ts, dedupe_key FROM m_gone);
             DELETE FROM main.prompt_hashes WHERE (dedupe_ts, dedupe_key) IN (SELECT dedupe_ts, dedupe_key FROM m_gone);
             DELETE FROM main.calls WHERE id IN (SELECT id FROM m_gone);",
        )?;
        // Ids from `first_new` on, even when the call replaced was the
        // newest row (SQLite would reuse its id).
        let cols = names.join(", ");
        tx.execute(
            &format!(
                "INSERT INTO main.calls (id, {cols}, machine, dedupe_key, source_id)
                 SELECT (SELECT MAX(COALESCE(MAX(id), 0) + 1, ?1) FROM main.calls) + ROW_NUMBER() OVER () - 1,
                        {cols}, machine, dedupe_key, source_id FROM m_calls WHERE state = 3"
            ),
            [first_new],
        )?;
    }
    if bulk {
        // The other ledger's rollups were added whole: take out the calls
        // that stay out (with the compositions those rollups counted).
        let parts = if other_parts { "other.prompt_parts" } else { "(SELECT * FROM main.prompt_parts LIMIT 0)" };
        let left = tx.query_row("SELECT COUNT(*) FROM m_calls WHERE state IN (1, 2)", [], |r| r.get::<_, i64>(0))?;
        if left > 0 {
            groups(tx, "m_calls", parts, "c.state IN (1, 2)", true, &mut delta)?;
            subtracted = true;
        }
    }
    // Every call taken (inserted straight away, or a replacement) has an id
    // from `first_new` on.
    if other_parts {
        let old_key = if rekeyed {
            "COALESCE((SELECT oc.dedupe_key FROM m_rekey r JOIN other.calls oc ON oc.id = r.id
                       WHERE r.key = c.dedupe_key AND oc.dedupe_ts = c.dedupe_ts LIMIT 1), c.dedupe_key)"
        } else {
            "c.dedupe_key"
        };
        report.prompt_compositions += tx.execute(
            &format!(
                "INSERT OR REPLACE INTO main.prompt_parts (dedupe_ts, dedupe_key, system, tools, context, history, user, output, source)
                 SELECT c.dedupe_ts, c.dedupe_key, p.system, p.tools, p.context, p.history, p.user, p.output, p.source
                 FROM main.calls c JOIN other.prompt_parts p ON p.dedupe_ts = c.dedupe_ts AND p.dedupe_key = {old_key}
                 WHERE c.id >= ?1"
            ),
            [first_new],
        )? as u64;
    }
    if let Some((own_key, other_key)) = hashes {
        let old_key = if rekeyed {
            "COALESCE((SELECT oc.dedupe_key FROM m_rekey r JOIN other.calls oc ON oc.id = r.id
                       WHERE r.key = c.dedupe_key AND oc.dedupe_ts = c.dedupe_ts LIMIT 1), c.dedupe_key)"
        } else {
            "c.dedupe_key"
        };
        // Fingerprints keep the key that made them: '' when it is this
        // ledger's, else the other key's id (not comparable with ours).
        let kid = "CASE h.key_id WHEN '' THEN ?2 ELSE h.key_id END";
        let n = tx.execute(
            &format!(
                "INSERT OR REPLACE INTO main.prompt_hashes (dedupe_ts, dedupe_key, prefix, prompt, key_id)
                 SELECT c.dedupe_ts, c.dedupe_key, h.prefix, h.prompt, CASE {kid} WHEN ?3 THEN '' ELSE {kid} END
                 FROM main.calls c JOIN other.prompt_hashes h ON h.dedupe_ts = c.dedupe_ts AND h.dedupe_key = {old_key}
                 WHERE c.id >= ?1"
            ),
            params![first_new, other_key, own_key],
        )? as u64;
        report.prompt_fingerprints += n;
        report.fingerprints_not_comparable += tx.query_row(
            "SELECT COUNT(*) FROM main.prompt_hashes h JOIN main.calls c
               ON h.dedupe_ts = c.dedupe_ts AND h.dedupe_key = c.dedupe_key
             WHERE c.id >= ?1 AND h.key_id != ''",
            [first_new],
            |r| r.get::<_, i64>(0),
        )? as u64;
    }
    if !bulk {
        groups(tx, "main.calls", "main.prompt_parts", &format!("c.id >= {first_new}"), false, &mut delta)?;
    }
    delta.flush(tx)?;
    let added: i64 =
        tx.query_row("SELECT COALESCE(SUM(cost_nano), 0) FROM main.calls WHERE id >= ?1", [first_new], |r| r.get(0))?;
    let gone: i64 = tx.query_row("SELECT COALESCE(SUM(cost_nano), 0) FROM m_gone", [], |r| r.get(0))?;
    report.cost_added_nanousd = report.cost_added_nanousd.saturating_add(added - gone);
    Ok(subtracted)
}

/// Adds (or subtracts) the rollup measures of the calls in `table` that
/// match `filter` (summed per group by [`Delta`]: faster than SQL's
/// sorting GROUP BY).
fn groups(
    tx: &rusqlite::Transaction,
    table: &str,
    parts: &str,
    filter: &str,
    negate: bool,
    delta: &mut Delta,
) -> rusqlite::Result<()> {
    let sql = format!(
        "SELECT c.ts / {h} - (c.ts % {h} < 0), COALESCE(c.workflow, ''), COALESCE(c.team, ''), COALESCE(c.customer, ''),
                c.model, COALESCE(c.provider, ''), {sums}
         FROM {table} c LEFT JOIN {parts} p ON p.dedupe_ts = c.dedupe_ts AND p.dedupe_key = c.dedupe_key
         WHERE {filter} GROUP BY c.rowid",
        h = MS_PER_HOUR,
        sums = RAW_EXPRS.join(", "),
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let mut v = [0i64; AGG_LEN];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = r.get::<_, Option<i64>>(6 + i)?.unwrap_or(0);
        }
        let agg = Agg::from_values(v);
        let agg = if negate { agg.negated() } else { agg };
        delta.add_group(
            r.get(0)?,
            r.get_ref(1)?.as_str()?,
            r.get_ref(2)?.as_str()?,
            r.get_ref(3)?.as_str()?,
            r.get_ref(4)?.as_str()?,
            r.get_ref(5)?.as_str()?,
            &agg,
        );
    }
    Ok(())
}

/// The outcome rollup upsert of the rows of `table` (`sign` 1 or -1).
fn outcome_rollup(tx: &rusqlite::Transaction, table: &str, sign: i64) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO outcome_rollup (dim, hour, key, outcomes, successes, value_nano)
             SELECT d.dim, o.ts / 3600000 - (o.ts < 0 AND o.ts % 3600000 != 0),
                CASE d.dim WHEN 0 THEN COALESCE(o.workflow, o.call_workflow, '') WHEN 1 THEN COALESCE(o.team, '')
                  WHEN 2 THEN COALESCE(o.customer, '') WHEN 3 THEN COALESCE(o.user, '')
                  WHEN 4 THEN COALESCE(o.project, '') WHEN 5 THEN COALESCE(o.provider, '')
                  WHEN 6 THEN COALESCE(o.model, '') ELSE '' END,
                {sign} * COUNT(*), {sign} * SUM(o.success),
                {sign} * SUM(CASE WHEN o.success THEN COALESCE(o.value_nano, 0) ELSE 0 END)
             FROM {table} o
             JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                   UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) d
               ON d.dim IN (0, 7) OR o.call_ts IS NOT NULL
             WHERE true
             GROUP BY 1, 2, 3
             ON CONFLICT (dim, hour, key) DO UPDATE SET outcomes = outcomes + excluded.outcomes,
                successes = successes + excluded.successes, value_nano = value_nano + excluded.value_nano"
        ),
        [],
    )?;
    Ok(())
}

fn merge_outcomes(tx: &rusqlite::Transaction, report: &mut MergeReport) -> rusqlite::Result<()> {
    let (names, exprs) = copy_exprs(tx, "outcomes", "o", &[])?;
    let cols = names.join(", ");
    let same = |cols: &[&str]| cols.iter().map(|c| format!("x.{c} IS o.{c}")).collect::<Vec<_>>().join(" AND ");
    let same_event = same(&["ts", "success", "value_nano", "workflow"]);
    let same_join = same(&["call_ts", "call_workflow", "team", "customer", "model"]);
    // The same event: nothing new when the other has the same join or none;
    // the other's join is taken when this one has none; two different joins
    // are a conflict the earlier call wins (ingest joins the earliest).
    let same_event_cases = format!(
        "{same_event} AND ({same_join} OR o.call_ts IS NULL) THEN 1
         WHEN {same_event} AND x.call_ts IS NULL THEN 3
         WHEN {same_event} THEN CASE WHEN o.call_ts < x.call_ts OR (o.call_ts = x.call_ts
           AND COALESCE(o.call_workflow, '') < COALESCE(x.call_workflow, '')) THEN 3 ELSE 2 END"
    );
    // Another event: the other's row wins when it is later, then
    // successful, then worth more, then (all equal) when its workflow
    // sorts first.
    let wins = "(o.ts > x.ts OR (o.ts = x.ts AND (o.success > x.success OR (o.success = x.success AND
        (COALESCE(o.value_nano, -1) > COALESCE(x.value_nano, -1) OR (COALESCE(o.value_nano, -1) = COALESCE(x.value_nano, -1)
         AND COALESCE(o.workflow, o.call_workflow, '') < COALESCE(x.workflow, x.call_workflow, '')))))))";
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS temp.m_out;
         CREATE TEMP TABLE m_out AS SELECT {named}, 0 AS state FROM other.outcomes o LIMIT 0;
         INSERT INTO m_out SELECT {exprs}, CASE
             WHEN x.id IS NULL THEN 0 WHEN {same_event_cases} WHEN {wins} THEN 3 ELSE 2 END
           FROM other.outcomes o LEFT JOIN main.outcomes x ON x.id_kind = o.id_kind AND x.id = o.id;
         DROP TABLE IF EXISTS temp.m_out_gone;
         CREATE TEMP TABLE m_out_gone AS SELECT x.* FROM main.outcomes x
           JOIN m_out o ON o.id_kind = x.id_kind AND o.id = x.id WHERE o.state = 3;
         UPDATE m_out AS o SET call_ts = x.call_ts, call_workflow = x.call_workflow, team = x.team,
             customer = x.customer, user = x.user, project = x.project, provider = x.provider, model = x.model
           FROM main.outcomes x
           WHERE o.state = 3 AND o.call_ts IS NULL AND x.call_ts IS NOT NULL AND x.id_kind = o.id_kind AND x.id = o.id;",
        exprs = exprs.join(", "),
        named = exprs.iter().zip(&names).map(|(e, n)| format!("{e} AS {n}")).collect::<Vec<_>>().join(", ")
    ))?;
    {
        let mut stmt = tx.prepare("SELECT state, COUNT(*) FROM m_out GROUP BY state")?;
        for r in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64)))? {
            let (state, n) = r?;
            let c = &mut report.outcomes;
            match state {
                0 => c.added += n,
                1 => c.duplicates += n,
                2 => c.conflicts += n,
                _ => {
                    c.conflicts += n;
                    c.replaced += n;
                }
            }
        }
    }
    outcome_rollup(tx, "m_out_gone", -1)?;
    tx.execute_batch(&format!(
        "DELETE FROM main.outcomes WHERE (id_kind, id) IN (SELECT id_kind, id FROM m_out_gone);
         INSERT INTO main.outcomes ({cols}) SELECT {cols} FROM m_out WHERE state IN (0, 3);
         DELETE FROM m_out WHERE state NOT IN (0, 3);"
    ))?;
    outcome_rollup(tx, "m_out", 1)?;
    tx.execute_batch("DROP TABLE temp.m_out; DROP TABLE temp.m_out_gone;")?;
    Ok(())
}

/// Joins the outcomes still waiting for their call to the earliest call
/// with their request, trace or session id, now that the merge may have
/// brought the two together (as the writer joins them at ingest); returns
/// how many were joined. The rollup follows.
fn join_waiting_outcomes(tx: &rusqlite::Transaction) -> rusqlite::Result<u64> {
    let mut joined = 0;
    for (kind, column) in
        [(IdKind::Request, "request_id"), (IdKind::Trace, "trace_id"), (IdKind::Session, "session_id")]
    {
        let waiting: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM main.outcomes WHERE call_ts IS NULL AND id_kind = ?1)",
            [kind.code()],
            |r| r.get(0),
        )?;
        if !waiting {
            continue;
        }
        // The writer's lookup index, made the same way.
        tx.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS main.calls_{column} ON calls({column}) WHERE {column} IS NOT NULL;
             DROP TABLE IF EXISTS temp.m_join;
             CREATE TEMP TABLE m_join AS
               SELECT o.id_kind, o.id, c.ts, c.workflow, c.team, c.customer, c.user, c.project, c.provider, c.model
               FROM main.outcomes o JOIN main.calls c ON c.id = (
                 SELECT c2.id FROM main.calls c2 WHERE c2.{column} = o.id ORDER BY c2.ts, c2.id LIMIT 1)
               WHERE o.call_ts IS NULL AND o.id_kind = {code};
             DROP TABLE IF EXISTS temp.m_join_old;
             CREATE TEMP TABLE m_join_old AS
               SELECT x.* FROM main.outcomes x JOIN m_join j ON j.id_kind = x.id_kind AND j.id = x.id;",
            code = kind.code()
        ))?;
        outcome_rollup(tx, "m_join_old", -1)?;
        let n = tx.execute(
            "UPDATE main.outcomes AS x SET call_ts = j.ts, call_workflow = j.workflow, team = j.team,
               customer = j.customer, user = j.user, project = j.project, provider = j.provider, model = j.model
             FROM m_join j WHERE j.id_kind = x.id_kind AND j.id = x.id",
            [],
        )?;
        tx.execute_batch(
            "DROP TABLE IF EXISTS temp.m_join_new;
             CREATE TEMP TABLE m_join_new AS
               SELECT x.* FROM main.outcomes x JOIN m_join j ON j.id_kind = x.id_kind AND j.id = x.id;",
        )?;
        outcome_rollup(tx, "m_join_new", 1)?;
        tx.execute_batch(
            "DELETE FROM outcome_rollup WHERE outcomes = 0;
             DROP TABLE temp.m_join; DROP TABLE temp.m_join_old; DROP TABLE temp.m_join_new;",
        )?;
        joined += n as u64;
    }
    Ok(joined)
}

/// The paths given, each once, in order.
pub fn unique_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = std::collections::HashSet::new();
    paths.iter().filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| (*p).clone()))).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;
    use crate::domain::record::{CallRecord, Tokens};
    use crate::store::rollup::agg_from_row;

    const T0: i64 = 1_790_812_800_000; // 2026-10-01T00:00:00Z

    fn call(key: i64, workflow: &str, output: u64, cost: Option<i64>) -> CallRecord {
        CallRecord {
            ts_ms: T0 + key * 600_000,
            dedupe_key: key,
            model: "gpt-4o".into(),
            provider: Some("openai".into()),
            workflow: Some(workflow.into()),
            tokens: Tokens { uncached_input: 100, output, ..Tokens::default() },
            cost: cost.map(Nanos),
            parts: (key % 2 == 0).then_some(([60, 40, 0, 0, 0, 0], crate::domain::record::TokenSource::Reported)),
            ..CallRecord::default()
        }
    }

    /// A ledger file holding `recs`, written as the writer writes them.
    fn ledger(path: &Path, recs: &[CallRecord]) -> Connection {
        let mut conn = crate::store::open_rw(path).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut ins = crate::store::writer::CallInserter::new(&tx).unwrap();
            for r in recs {
                assert!(ins.insert(None, r).unwrap());
                if let Some((p, src)) = &r.parts {
                    crate::store::writer::insert_parts(&tx, r.ts_ms, r.dedupe_key, p, *src).unwrap();
                }
            }
        }
        Delta::of(recs).flush(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    type Dump = Vec<(i64, i64, String, [i64; AGG_LEN])>;

    /// The hour rollups, then the day rollups (their dims + 100).
    fn rollups(conn: &Connection) -> Dump {
        let mut out = Dump::new();
        for (table, t, plus) in [("rollup_hour", "hour", 0), ("rollup_day", "day", 100)] {
            let mut st = conn
                .prepare(&format!("SELECT dim, {t}, key, {} FROM {table} ORDER BY 1, 2, 3", AGG_COLUMNS.join(", ")))
                .unwrap();
            out.extend(
                st.query_map([], |r| {
                    Ok((r.get::<_, i64>(0)? + plus, r.get(1)?, r.get(2)?, agg_from_row(r, 3)?.values()))
                })
                .unwrap()
                .map(Result::unwrap),
            );
        }
        out
    }

    /// The rollups equal a rebuild from the calls (none left stale or empty).
    fn assert_rollups_exact(conn: &mut Connection) {
        let incremental = rollups(conn);
        let tx = conn.transaction().unwrap();
        crate::store::rollup::rebuild(&tx).unwrap();
        let rebuilt = rollups(&tx);
        tx.rollback().unwrap();
        assert_eq!(incremental, rebuilt);
    }

    fn calls(conn: &Connection) -> Vec<(i64, String, i64, Option<i64>, String)> {
        let mut st = conn
            .prepare(
                "SELECT dedupe_key, workflow, output, cost_nano, machine FROM calls ORDER BY dedupe_ts, dedupe_key",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn file_hash(p: &Path) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&std::fs::read(p).unwrap())
    }

    #[test]
    fn merges_exactly_once_and_twice_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.db"), d.path().join("b.db"));
        let mut ca = ledger(&a, &[call(1, "x", 10, Some(100)), call(2, "x", 10, Some(100))]);
        drop(ledger(&b, &[call(2, "x", 10, Some(100)), call(3, "y", 30, Some(300)), call(4, "y", 5, None)]));
        let before = file_hash(&b);
        let r = merge(&mut ca, &b).unwrap();
        assert_eq!(r.calls, Counts { added: 2, duplicates: 1, conflicts: 0, replaced: 0 });
        assert_eq!(r.cost_added_nanousd, 300);
        assert_eq!(r.prompt_compositions, 1, "call 4's composition came with it");
        assert_eq!(file_hash(&b), before, "the other ledger is not changed");
        let b_id = r.ledger_id.clone();
        let rows = calls(&ca);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2].4, b_id, "a merged call keeps the ledger it was first ingested into");
        assert_eq!(rows[1].4, "", "a call already here stays this ledger's");
        assert_rollups_exact(&mut ca);
        let again = merge(&mut ca, &b).unwrap();
        assert_eq!(again.calls, Counts { added: 0, duplicates: 3, conflicts: 0, replaced: 0 });
        assert!(!again.changed());
        assert_eq!(calls(&ca), rows);
        assert_rollups_exact(&mut ca);
        // The merge was recorded once, with the other's host as the label.
        let merges: i64 = ca.query_row("SELECT COUNT(*) FROM events WHERE kind = 'merge'", [], |r| r.get(0)).unwrap();
        assert_eq!(merges, 1);
        assert!(crate::store::ledgers::ledger_hosts(&ca).unwrap().contains_key(&b_id));
    }

    #[test]
    fn conflicts_are_settled_the_same_in_both_directions() {
        let d = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = ["a", "b", "a2", "b2"].iter().map(|n| d.path().join(format!("{n}.db"))).collect();
        // Key 1: more tokens in B. Key 2: same tokens, higher cost in A.
        // Key 3: same tokens and cost, other workflow: the smaller ledger
        // id wins. Key 4: B's only.
        let a_calls = [call(1, "x", 10, Some(100)), call(2, "x", 10, Some(500)), call(3, "x", 10, Some(100))];
        // Keys 5-10: B's only too, so that A takes B's rollups whole (most
        // of B is new to A) while B sums A's calls: both ways must agree.
        let mut b_calls = vec![
            call(1, "y", 20, Some(100)),
            call(2, "y", 10, Some(400)),
            call(3, "y", 10, Some(100)),
            call(4, "y", 1, Some(7)),
        ];
        b_calls.extend((5..=10).map(|k| call(k, "z", k as u64, Some(k))));
        drop(ledger(&paths[0], &a_calls));
        drop(ledger(&paths[1], &b_calls));
        // Copies of each ledger (same ids) to merge the other way.
        std::fs::copy(&paths[0], &paths[2]).unwrap();
        std::fs::copy(&paths[1], &paths[3]).unwrap();
        let mut a = Connection::open(&paths[0]).unwrap();
        crate::store::rollup::register_functions(&a).unwrap();
        let mut b = Connection::open(&paths[3]).unwrap();
        crate::store::rollup::register_functions(&b).unwrap();
        let ab = merge(&mut a, &paths[1]).unwrap();
        let ba = merge(&mut b, &paths[2]).unwrap();
        assert_eq!(ab.calls.conflicts, 3);
        assert_eq!(ba.calls.conflicts, 3);
        assert_eq!(ab.calls.replaced + ba.calls.replaced, 3, "each conflict is won by one side");
        let strip = |v: Vec<(i64, String, i64, Option<i64>, String)>| -> Vec<(i64, String, i64, Option<i64>)> {
            v.into_iter().map(|(k, w, o, c, _)| (k, w, o, c)).collect()
        };
        let (in_a, in_b) = (strip(calls(&a)), strip(calls(&b)));
        assert_eq!(in_a, in_b, "A+B and B+A hold the same calls");
        // Each report names the ledger merged in.
        let (a_id, b_id) = (ba.ledger_id.clone(), ab.ledger_id.clone());
        let want3 = if a_id < b_id { "x" } else { "y" };
        assert_eq!(in_a[0].1, "y", "more tokens win");
        assert_eq!(in_a[1].1, "x", "then the higher cost");
        assert_eq!(in_a[2].1, want3, "then the smaller ledger id");
        assert_rollups_exact(&mut a);
        assert_rollups_exact(&mut b);
        // Machines name where each surviving copy was first ingested.
        let m: Vec<String> = calls(&a).into_iter().map(|c| c.4).collect();
        assert_eq!(m[0], b_id);
        assert_eq!(m[1], "");
    }

    #[test]
    fn calls_that_come_back_home_are_this_ledgers() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.db"), d.path().join("b.db"));
        let mut ca = ledger(&a, &[call(1, "x", 10, Some(100))]);
        let mut cb = ledger(&b, &[call(2, "y", 10, Some(100))]);
        drop(ca);
        merge(&mut cb, &a).unwrap();
        drop(cb);
        ca = Connection::open(&a).unwrap();
        crate::store::rollup::register_functions(&ca).unwrap();
        let r = merge(&mut ca, &b).unwrap();
        assert_eq!((r.calls.added, r.calls.duplicates), (1, 1));
        let m: Vec<String> = calls(&ca).into_iter().map(|c| c.4).collect();
        assert_eq!(m, vec!["".to_string(), r.ledger_id.clone()]);
    }

    #[test]
    fn older_ledgers_are_read_without_being_upgraded_and_newer_ones_refused() {
        let d = tempfile::tempdir().unwrap();
        let (a, old, new) = (d.path().join("a.db"), d.path().join("old.db"), d.path().join("new.db"));
        let mut ca = ledger(&a, &[call(1, "x", 10, Some(100))]);
        {
            // A version-7 ledger (no outcomes, no regions, no ledger id).
            let conn = Connection::open(&old).unwrap();
            schema::migrate_to(&conn, &old, 7).unwrap();
            conn.execute_batch(&format!(
                "INSERT INTO calls (ts, dedupe_ts, dedupe_key, model, workflow, uncached_input, cache_read, cache_write_5m,
                   cache_write_1h, output, reasoning, cost_nano, request_id)
                 VALUES ({t}, {t}, 9, 'gpt-4o', 'old', 5, 0, 0, 0, 5, 0, 77, 'req-9');
                 UPDATE meta SET value = '2' WHERE key = 'dedupe_scheme';",
                t = T0
            ))
            .unwrap();
        }
        let before = file_hash(&old);
        let r = merge(&mut ca, &old).unwrap();
        assert_eq!((r.schema_version, r.calls.added, r.cost_added_nanousd), (7, 1, 77));
        assert_eq!(r.ledger_id.len(), 16, "an id derived for a ledger that had none");
        assert_eq!(file_hash(&old), before);
        let v: i64 = Connection::open(&old).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, 7, "never migrated");
        let again = merge(&mut ca, &old).unwrap();
        assert_eq!((again.ledger_id, again.calls.duplicates), (r.ledger_id, 1), "the derived id is stable");
        assert_rollups_exact(&mut ca);
        {
            let conn = Connection::open(&new).unwrap();
            conn.execute_batch("CREATE TABLE calls (id INTEGER PRIMARY KEY);").unwrap();
            conn.pragma_update(None, "user_version", schema::SCHEMA_VERSION + 1).unwrap();
        }
        let e = merge(&mut ca, &new).unwrap_err();
        assert!(matches!(e, MergeError::TooNew { .. }), "{e}");
        assert!(e.to_string().contains("newer aifin"), "{e}");
        let e = merge(&mut ca, &a).unwrap_err();
        assert!(matches!(e, MergeError::SameLedger { .. }), "{e}");
        std::fs::write(d.path().join("junk.db"), b"not a database at all, not even close........").unwrap();
        assert!(merge(&mut ca, &d.path().join("junk.db")).is_err());
    }

    /// An outcome event for request `id`, written as the writer writes it.
    fn outcome_event(conn: &mut Connection, id: &str) {
        let tx = conn.transaction().unwrap();
        let mut state = crate::store::outcomes::OutcomeState::default();
        let mut counts = crate::store::outcomes::OutcomeCounts::default();
        let e = crate::domain::outcome::OutcomeEvent {
            kind: IdKind::Request,
            id: id.into(),
            ts_ms: T0 + 5_000_000,
            success: true,
            value: Some(Nanos(2_000_000_000)),
            workflow: None,
            line_no: 1,
        };
        state.event(&tx, &e, T0, &mut counts).unwrap();
        state.flush(&tx).unwrap();
        tx.commit().unwrap();
    }

    type OutcomeRollup = Vec<(i64, i64, String, i64, i64, i64)>;

    fn outcome_rollups(conn: &Connection) -> OutcomeRollup {
        let mut st = conn
            .prepare("SELECT dim, hour, key, outcomes, successes, value_nano FROM outcome_rollup ORDER BY 1, 2, 3")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The outcome rollup equals a rebuild from the outcomes.
    fn assert_outcome_rollups_exact(conn: &mut Connection) {
        let incremental = outcome_rollups(conn);
        let tx = conn.transaction().unwrap();
        crate::store::outcomes::rebuild_rollup(&tx).unwrap();
        let rebuilt = outcome_rollups(&tx);
        tx.rollback().unwrap();
        assert_eq!(incremental, rebuilt);
    }

    #[test]
    fn outcomes_waiting_for_a_call_the_merge_brings_are_joined() {
        let d = tempfile::tempdir().unwrap();
        let with_request = |key: i64, team: &str| CallRecord {
            request_id: Some("req-9".into()),
            team: Some(team.into()),
            ..call(key, "checkout", 10, Some(100))
        };
        // Both ways: the outcome here and its call there, and the reverse.
        for outcome_here in [true, false] {
            let (a, b) = (d.path().join(format!("a{outcome_here}.db")), d.path().join(format!("b{outcome_here}.db")));
            let (mut ca, mut cb) = if outcome_here {
                (ledger(&a, &[call(1, "x", 10, Some(100))]), ledger(&b, &[with_request(7, "Payments")]))
            } else {
                (ledger(&a, &[with_request(7, "Payments")]), ledger(&b, &[call(1, "x", 10, Some(100))]))
            };
            outcome_event(if outcome_here { &mut ca } else { &mut cb }, "req-9");
            drop(cb);
            let waiting: Option<i64> = if outcome_here {
                ca.query_row("SELECT call_ts FROM outcomes", [], |r| r.get(0)).unwrap()
            } else {
                None
            };
            assert_eq!(waiting, None, "no call with the id yet");
            let r = merge(&mut ca, &b).unwrap();
            assert_eq!(r.outcomes_joined, 1, "outcome here: {outcome_here}");
            let (call_ts, workflow, team): (Option<i64>, Option<String>, Option<String>) = ca
                .query_row("SELECT call_ts, call_workflow, team FROM outcomes WHERE id = 'req-9'", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            assert_eq!(call_ts, Some(T0 + 7 * 600_000));
            assert_eq!(workflow.as_deref(), Some("checkout"));
            assert_eq!(team.as_deref(), Some("Payments"));
            // The team's rollup now counts the success and its $2 value.
            let team_row: (i64, i64, i64) = ca
                .query_row(
                    "SELECT SUM(outcomes), SUM(successes), SUM(value_nano) FROM outcome_rollup
                     WHERE dim = 1 AND key = 'Payments'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            assert_eq!(team_row, (1, 1, 2_000_000_000));
            assert_outcome_rollups_exact(&mut ca);
            // Merging again changes nothing: the join made here is kept
            // over the other's unjoined copy of the same event.
            let again = merge(&mut ca, &b).unwrap();
            assert_eq!((again.outcomes_joined, again.outcomes.replaced, again.outcomes.conflicts), (0, 0, 0));
            assert!(!again.changed(), "{again:?}");
        }
    }
}

#[cfg(test)]
mod fingerprint_tests {
    use super::*;
    use crate::domain::fingerprint::FingerprintKey;
    use crate::domain::record::PromptText;

    fn key_of(conn: &Connection) -> FingerprintKey {
        let hex: String =
            conn.query_row("SELECT value FROM meta WHERE key = 'fingerprint_key'", [], |r| r.get(0)).unwrap();
        FingerprintKey::from_hex(&hex).unwrap()
    }

    #[test]
    fn fingerprints_of_another_key_are_kept_apart() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a.db"), d.path().join("b.db"));
        let mut text = PromptText::default();
        text.parts[0] = "You are a support agent for Acme.".into();
        text.parts[4] = "Where is my order?".into();
        let mut ca = crate::store::open_rw(&a).unwrap();
        let cb = crate::store::open_rw(&b).unwrap();
        for (conn, key) in [(&ca, 1i64), (&cb, 2)] {
            let (prefix, prompt) = key_of(conn).prompt(&text).unwrap();
            conn.execute_batch(&format!(
                "INSERT INTO calls (ts, dedupe_ts, dedupe_key, model, uncached_input, cache_read, cache_write_5m,
                   cache_write_1h, output, reasoning, cost_nano) VALUES (1000, 1000, {key}, 'gpt-4o', 10, 0, 0, 0, 1, 0, 35);
                 INSERT INTO prompt_hashes (dedupe_ts, dedupe_key, prefix, prompt) VALUES (1000, {key}, {}, {prompt});",
                prefix.unwrap()
            ))
            .unwrap();
        }
        let b_key = key_of(&cb).id();
        drop(cb);
        let r = merge(&mut ca, &b).unwrap();
        assert_eq!((r.prompt_fingerprints, r.fingerprints_not_comparable), (1, 1));
        let rows: Vec<(i64, String)> = ca
            .prepare("SELECT prompt, key_id FROM prompt_hashes ORDER BY dedupe_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows[0].1, "", "this ledger's own");
        assert_eq!(rows[1].1, b_key, "the other's, marked with its key");
        assert_ne!(rows[0].0, rows[1].0, "the same text under two keys: unrelated fingerprints");
        // Nothing in the ledger holds the text.
        let dump: String = ca.query_row("SELECT group_concat(value) FROM meta", [], |r| r.get::<_, String>(0)).unwrap();
        assert!(!dump.contains("Acme"));
        let bytes = std::fs::read(&a).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"Acme"), "no prompt text in the database file");
    }
}
