//! Queries behind the live views: per-minute series for the last hour,
//! drill-downs of one ledger row, per-key daily trends.

use rusqlite::{Connection, params};

use super::queries::{HOURS_CTE, PairFilter, QueryPath, RAW_WHERE, Window, clamp_hours, group_filtered};
use super::rollup::{Agg, Dim, PAIR_SEP, RAW_FROM, agg_from_row, raw_sums, rollup_sums, saturating_retry};
use crate::domain::time::MS_PER_HOUR;

pub const MS_PER_MINUTE: i64 = 60_000;

/// Per-workflow, per-minute sums over `[since, until)`, straight from the
/// calls table (the last hour is a few thousand rows even in a large
/// ledger, found through the time-led index).
pub fn minutes_by_workflow(conn: &Connection, since: i64, until: i64) -> rusqlite::Result<Vec<(String, i64, Agg)>> {
    saturating_retry(|sum| {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT COALESCE(c.workflow, ''), c.ts / 60000, {} FROM {RAW_FROM} WHERE {RAW_WHERE} GROUP BY 1, 2",
            raw_sums(sum)
        ))?;
        stmt.query_map(params![since, until], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? * MS_PER_MINUTE, agg_from_row(r, 2)?))
        })?
        .collect()
    })
}

/// The newest call time in the ledger.
pub fn newest_ts(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    // Through the time-led dedupe index (a max over `ts` would scan).
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
    let filter = if key_first { PairFilter::First(key.to_string()) } else { PairFilter::Second(key.to_string()) };
    let mut out: Vec<(String, Agg)> = group_filtered(conn, pair, w, QueryPath::Rollup, &filter)?
        .into_iter()
        .filter_map(|(k, a)| {
            let (x, y) = k.split_once(PAIR_SEP)?;
            let (mine, other) = if key_first { (x, y) } else { (y, x) };
            (mine == key).then(|| (other.to_string(), a))
        })
        .collect();
    out.sort_by(|a, b| b.1.cost.0.cmp(&a.1.cost.0).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// Hourly sums of one key of one dimension over a window (whole hours
/// from the rollups; partial edge hours are left to the caller's window).
pub fn hours_of_key(conn: &Connection, d: Dim, key: &str, w: Window) -> rusqlite::Result<Vec<(i64, Agg)>> {
    let h0 = w.since.map(|s| s.div_euclid(MS_PER_HOUR)).unwrap_or(i64::MIN);
    let h1 = w.until.map(|u| (u + MS_PER_HOUR - 1).div_euclid(MS_PER_HOUR)).unwrap_or(i64::MAX);
    let Some((h0, h1)) = clamp_hours(conn, h0, h1)? else { return Ok(Vec::new()) };
    saturating_retry(|sum| {
        let mut stmt = conn.prepare_cached(&format!(
            "{HOURS_CTE} SELECT hour, {} FROM h CROSS JOIN rollup_hour r ON r.dim = ?1 AND r.hour = h.x AND r.key = ?4
             GROUP BY hour ORDER BY hour",
            rollup_sums(sum)
        ))?;
        stmt.query_map(params![d.code(), h0, h1, key], |r| {
            Ok((r.get::<_, i64>(0)? * MS_PER_HOUR, agg_from_row(r, 1)?))
        })?
        .collect()
    })
}

/// Hourly spend per key of a single dimension over hours `[h0, h1]`
/// (hour index = UTC ms / 1 h), straight from the rollups.
pub fn hourly_costs(conn: &Connection, d: Dim, h0: i64, h1: i64) -> rusqlite::Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn
        .prepare_cached("SELECT hour, key, cost_nano FROM rollup_hour WHERE dim = ?1 AND hour >= ?2 AND hour <= ?3")?;
    stmt.query_map(params![d.code(), h0, h1], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect()
}

/// One minute's spend of one (workflow, team, customer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinuteCost {
    /// Minute index (UTC ms / 1 min).
    pub minute: i64,
    pub workflow: String,
    pub team: String,
    pub customer: String,
    pub cost: i64,
}

/// Per-minute spend by workflow, team and customer over `[since, until)`,
/// from the calls table.
pub fn minute_costs(conn: &Connection, since: i64, until: i64) -> rusqlite::Result<Vec<MinuteCost>> {
    saturating_retry(|sum| {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT c.ts / 60000, COALESCE(c.workflow, ''), COALESCE(c.team, ''), COALESCE(c.customer, ''), {}
             FROM calls c WHERE {RAW_WHERE} AND c.cost_nano IS NOT NULL GROUP BY 1, 2, 3, 4",
            sum.rewrite("SUM(c.cost_nano)")
        ))?;
        stmt.query_map(params![since, until], |r| {
            Ok(MinuteCost {
                minute: r.get(0)?,
                workflow: r.get(1)?,
                team: r.get(2)?,
                customer: r.get(3)?,
                cost: r.get(4)?,
            })
        })?
        .collect()
    })
}
