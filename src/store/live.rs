//! Queries behind the live views: per-minute series for the last hour,
//! drill-downs of one ledger row, per-key daily trends.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::queries::{QueryPath, Window, group};
use super::rollup::{Agg, Dim, PAIR_SEP};
use crate::domain::time::MS_PER_HOUR;

pub const MS_PER_MINUTE: i64 = 60_000;

/// Per-workflow, per-minute sums over `[since, until)`, straight from the
/// calls table (the last hour is a few thousand rows even in a large
/// ledger, found through the time-led index).
pub fn minutes_by_workflow(conn: &Connection, since: i64, until: i64) -> rusqlite::Result<Vec<(String, i64, Agg)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(workflow, ''), ts / 60000, COUNT(*), SUM(uncached_input), SUM(cache_read),
                SUM(cache_write_5m + cache_write_1h), SUM(output), SUM(reasoning), COALESCE(SUM(cost_nano), 0),
                SUM(cost_nano IS NULL), SUM(status != 0), COALESCE(SUM(reported_cost_nano), 0),
                COALESCE(SUM(latency_ms), 0), COUNT(latency_ms)
         FROM calls
         WHERE ((dedupe_ts >= ?1 AND dedupe_ts < ?2) OR dedupe_ts = 0) AND ts >= ?1 AND ts < ?2
         GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map(params![since, until], |r| {
        let g = |i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)? * MS_PER_MINUTE,
            Agg {
                calls: g(2)?,
                uncached_input: g(3)?,
                cache_read: g(4)?,
                cache_write: g(5)?,
                output: g(6)?,
                reasoning: g(7)?,
                cost_nano: g(8)?,
                unpriced_calls: g(9)?,
                error_calls: g(10)?,
                reported_cost_nano: g(11)?,
                latency_ms_sum: g(12)?,
                latency_n: g(13)?,
            },
        ))
    })?;
    rows.collect()
}

/// The newest call time in the ledger.
pub fn newest_ts(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT MAX(dedupe_ts) FROM calls", [], |r| r.get(0))
}

/// For a pair dimension, the rows whose `side` part equals `key`, keyed by
/// the other part: e.g. the models of one workflow.
pub fn pair_breakdown(
    conn: &Connection,
    pair: Dim,
    key_first: bool,
    key: &str,
    w: Window,
) -> rusqlite::Result<Vec<(String, Agg)>> {
    let mut out: Vec<(String, Agg)> = group(conn, pair, w, QueryPath::Rollup)?
        .into_iter()
        .filter_map(|(k, a)| {
            let (x, y) = k.split_once(PAIR_SEP)?;
            let (mine, other) = if key_first { (x, y) } else { (y, x) };
            (mine == key).then(|| (other.to_string(), a))
        })
        .collect();
    out.sort_by(|a, b| b.1.cost_nano.cmp(&a.1.cost_nano).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// Hourly sums of one key of one dimension over a window (whole hours
/// from the rollups; partial edge hours are left to the caller's window).
pub fn hours_of_key(conn: &Connection, d: Dim, key: &str, w: Window) -> rusqlite::Result<Vec<(i64, Agg)>> {
    let h0 = w.since.map(|s| s.div_euclid(MS_PER_HOUR)).unwrap_or(i64::MIN);
    let h1 = w.until.map(|u| (u + MS_PER_HOUR - 1).div_euclid(MS_PER_HOUR)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT hour, SUM(calls), SUM(uncached_input), SUM(cache_read), SUM(cache_write), SUM(output),
                SUM(reasoning), SUM(cost_nano), SUM(unpriced_calls), SUM(error_calls), SUM(reported_cost_nano),
                SUM(latency_ms_sum), SUM(latency_n)
         FROM rollup_hour WHERE dim = ?1 AND key = ?2 AND hour >= ?3 AND hour < ?4 GROUP BY hour ORDER BY hour",
    )?;
    let rows = stmt.query_map(params![d.code(), key, h0, h1], |r| {
        let g = |i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
        Ok((
            r.get::<_, i64>(0)? * MS_PER_HOUR,
            Agg {
                calls: g(1)?,
                uncached_input: g(2)?,
                cache_read: g(3)?,
                cache_write: g(4)?,
                output: g(5)?,
                reasoning: g(6)?,
                cost_nano: g(7)?,
                unpriced_calls: g(8)?,
                error_calls: g(9)?,
                reported_cost_nano: g(10)?,
                latency_ms_sum: g(11)?,
                latency_n: g(12)?,
            },
        ))
    })?;
    rows.collect()
}

/// Sums per key into a map (for joining lists).
pub fn by_key(rows: Vec<(String, Agg)>) -> HashMap<String, Agg> {
    rows.into_iter().collect()
}
