//! Upgrading a ledger's dedupe identity. Scheme 1 hashed cleaned ids and
//! the raw bytes of id-less lines; scheme 2 hashes ids byte for byte and
//! id-less lines as canonical JSON. On the first ingest after an upgrade,
//! the id-less calls whose file is still there, unchanged, are re-keyed
//! from their lines; calls with a clean id keep their key (it is the same
//! under both schemes); the rest keep their old key, so a copy of such a
//! file read under another name after the upgrade could be stored again.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::pending::same_file;
use crate::domain::record::Format;
use crate::formats::Detector;
use crate::formats::common::DEDUPE_SCHEME;

/// What an upgrade re-keyed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    pub rekeyed: u64,
    /// Id-less calls whose file is gone or changed: their old key stays.
    pub kept: u64,
}

struct Call {
    id: i64,
    ts: i64,
    key: i64,
    line_no: u64,
    format: Option<Format>,
}

pub fn upgrade(conn: &mut Connection) -> rusqlite::Result<Option<Rekeyed>> {
    let scheme = scheme(conn)?;
    if scheme >= DEDUPE_SCHEME {
        return Ok(None);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (keys, mut done) = plan(&tx, true)?;
    for k in keys {
        let n = tx.execute("UPDATE OR IGNORE calls SET dedupe_key = ?2 WHERE id = ?1", params![k.id, k.new_key])?;
        if n == 1 {
            for table in ["prompt_parts", "pending_counts"] {
                tx.execute(
                    &format!("UPDATE OR IGNORE {table} SET dedupe_key = ?3 WHERE dedupe_ts = ?1 AND dedupe_key = ?2"),
                    params![k.ts, k.old_key, k.new_key],
                )?;
            }
            done.rekeyed += 1;
        } else {
            done.kept += 1;
        }
    }
    tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('dedupe_scheme', ?1)", [DEDUPE_SCHEME.to_string()])?;
    tx.commit()?;
    Ok(Some(done))
}

/// The ledger's dedupe scheme (the current one when it does not say).
pub fn scheme(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = 'dedupe_scheme'", [], |r| r.get::<_, String>(0))
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEDUPE_SCHEME))
}

/// A call whose key the current scheme computes differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub id: i64,
    pub ts: i64,
    pub old_key: i64,
    pub new_key: i64,
}

/// The new keys of the id-less calls of a scheme-1 ledger whose source
/// file is here, unchanged (read from their lines); `kept` counts the
/// others. `own_sources`: only this ledger's own sources (a ledger read
/// for a merge may predate the `machine` column).
pub fn plan(conn: &Connection, own_sources: bool) -> rusqlite::Result<(Vec<NewKey>, Rekeyed)> {
    let mut by_source: BTreeMap<(String, Option<i64>, u64), Vec<Call>> = BTreeMap::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT c.id, c.dedupe_ts, c.dedupe_key, c.line_no, c.format, s.path, s.fingerprint, s.fp_len
             FROM calls c JOIN sources s ON s.id = c.source_id
             WHERE c.request_id IS NULL AND c.msg_key IS NULL{} ORDER BY s.id, c.line_no",
            if own_sources { " AND s.machine = ''" } else { "" }
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                (r.get::<_, String>(5)?, r.get::<_, Option<i64>>(6)?, r.get::<_, i64>(7)? as u64),
                Call {
                    id: r.get(0)?,
                    ts: r.get(1)?,
                    key: r.get(2)?,
                    line_no: r.get::<_, i64>(3)? as u64,
                    format: r.get::<_, Option<i64>>(4)?.and_then(Format::from_code),
                },
            ))
        })?;
        for row in rows {
            let (k, c) = row?;
            by_source.entry(k).or_default().push(c);
        }
    }
    let mut done = Rekeyed::default();
    let mut keys = Vec::new();
    for ((path, fp, fp_len), calls) in by_source {
        let Some(file) = same_file(Path::new(&path), fp, fp_len) else {
            done.kept += calls.len() as u64;
            continue;
        };
        // Stream the file once, picking out the lines of these calls.
        let mut lines = BufReader::new(file).split(b'\n');
        let mut at = 0u64;
        for c in calls {
            let mut line = None;
            while at < c.line_no {
                line = lines.next().and_then(Result::ok);
                at += 1;
            }
            let mut out = Vec::new();
            let new_key = line
                .filter(|_| at == c.line_no)
                .and_then(|l| Detector::new(c.format).parse_line(&l, &mut out).ok())
                .and(out.first().map(|r| r.dedupe_key));
            match new_key {
                Some(k) if k != c.key => keys.push(NewKey { id: c.id, ts: c.ts, old_key: c.key, new_key: k }),
                Some(_) => {}
                None => done.kept += 1,
            }
        }
    }
    Ok((keys, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_less_calls_of_an_old_ledger_are_re_keyed_from_their_lines() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("a.jsonl");
        let line = r#"{"ts": "2026-10-01T00:00:00Z", "model": "gpt-4o", "usage": {"output": 3}}"#;
        std::fs::write(&log, format!("{line}\n")).unwrap();
        let db = d.path().join("l.db");
        let mut conn = crate::store::open_rw(&db).unwrap();
        // A call stored by scheme 1: the hash of the line's bytes.
        let old_key = xxhash_rust::xxh3::xxh3_64(line.as_bytes()) as i64;
        let head = std::fs::read(&log).unwrap();
        let fp = crate::ingest::file::fingerprint(&head, head.len());
        conn.execute_batch(&format!(
            "INSERT INTO sources (id, path, fingerprint, fp_len, first_seen) VALUES (1, '{}', {fp}, {}, 0);
             INSERT INTO calls (ts, dedupe_ts, dedupe_key, source_id, line_no, format, model, uncached_input,
               cache_read, cache_write_5m, cache_write_1h, output, reasoning)
               VALUES (1790812800000, 1790812800000, {old_key}, 1, 1, 1, 'gpt-4o', 0, 0, 0, 0, 3, 0);
             UPDATE meta SET value = '1' WHERE key = 'dedupe_scheme';",
            log.display(),
            head.len()
        ))
        .unwrap();
        let r = upgrade(&mut conn).unwrap().unwrap();
        assert_eq!(r, Rekeyed { rekeyed: 1, kept: 0 });
        let key: i64 = conn.query_row("SELECT dedupe_key FROM calls", [], |r| r.get(0)).unwrap();
        let mut out = Vec::new();
        Detector::new(None).parse_line(line.as_bytes(), &mut out).unwrap();
        assert_eq!(key, out[0].dedupe_key, "the key of scheme 2");
        assert_ne!(key, old_key);
        assert_eq!(upgrade(&mut conn).unwrap(), None, "once");
    }
}
