//! Queries behind the live views: per-minute series for the last hour,
//! drill-downs of one ledger row, per-key daily trends.

use rusqlite::{Connection, params};

use super::queries::{HOURS_CTE, PairFilter, QueryPath, RAW_WHERE, Window, clamp_hours, group_filtered};
use super::rollup::{Agg, Dim, PAIR_SEP, agg_from_row, rollup_sums, saturating_retry};
use std::collections::BTreeMap;

use crate::domain::money::Nanos;
use crate::domain::time::MS_PER_HOUR;

pub const MS_PER_MINUTE: i64 = 60_000;

/// Calls and the cost of the priced ones in one workflow's minute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MinuteSum {
    pub workflow: String,
    /// The minute's first millisecond.
    pub minute_ms: i64,
    pub calls: i64,
    pub cost: Nanos,
}

/// Per-workflow, per-minute calls and cost over `[since, until)` (no
/// workflow: `""`), in workflow and minute order. The rows come straight
/// from the calls table through the time-led index (two hours are a few
/// thousand rows even in a large ledger) and are summed here: a `GROUP BY`
/// would sort them first, which took three times as long as reading them.
pub fn minutes_by_workflow(conn: &Connection, since: i64, until: i64) -> rusqlite::Result<Vec<MinuteSum>> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT c.workflow, c.ts, c.cost_nano FROM calls c WHERE {RAW_WHERE}"))?;
    let mut rows = stmt.query(params![since, until])?;
    let mut sums: BTreeMap<String, BTreeMap<i64, (i64, i64)>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let workflow = r.get_ref(0)?.as_str_or_null()?.unwrap_or("");
        let minute = r.get::<_, i64>(1)?.div_euclid(MS_PER_MINUTE) * MS_PER_MINUTE;
        let cost: Option<i64> = r.get(2)?;
        let per = match sums.get_mut(workflow) {
            Some(per) => per,
            None => sums.entry(workflow.to_string()).or_default(),
        };
        let (calls, sum) = per.entry(minute).or_default();
        *calls += 1;
        // Saturating, like every sum of money in the ledger.
        *sum = sum.saturating_add(cost.unwrap_or(0));
    }
    Ok(sums
        .into_iter()
        .flat_map(|(workflow, per)| {
            per.into_iter().map(move |(minute_ms, (calls, cost))| MinuteSum {
                workflow: workflow.clone(),
                minute_ms,
                calls,
                cost: Nanos(cost),
            })
        })
        .collect())
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

/// Per-minute spend of the last two whole hours and the current one, by
/// workflow, team and customer, kept up to date between refreshes: a
/// refresh reads only the calls stored since the last one (by row id), and
/// reads the whole span again once a minute, so that calls priced after
/// they were stored (usage counted later) are caught up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteCache {
    /// The first minute held (minute index).
    from_minute: i64,
    /// The highest call row id read.
    last_id: i64,
    /// When the span was last read whole (0: never).
    full_at: i64,
    /// Minute index → spend, for all calls.
    pub total: std::collections::BTreeMap<i64, i64>,
    /// Per dimension (workflow, team, customer): key → minute → spend.
    pub by: [std::collections::HashMap<String, std::collections::BTreeMap<i64, i64>>; 3],
}

impl MinuteCache {
    /// How often the span is read whole.
    pub const FULL_EVERY_MS: i64 = 60_000;

    /// The whole hours before the current one that are held.
    pub const HOURS_BEFORE: i64 = 1;

    #[cfg(test)]
    fn add(&mut self, m: &MinuteCost) {
        self.add_parts(m.minute, [&m.workflow, &m.team, &m.customer], m.cost);
    }

    /// Adds calls read as (id, ts, workflow, team, customer, cost), those
    /// priced and from `from_minute` on; returns the last id read.
    fn add_rows(&mut self, mut rows: rusqlite::Rows, from_minute: i64) -> rusqlite::Result<Option<i64>> {
        let mut last = None;
        while let Some(r) = rows.next()? {
            last = Some(r.get(0)?);
            let minute = r.get::<_, i64>(1)?.div_euclid(MS_PER_MINUTE);
            let Some(cost) = r.get::<_, Option<i64>>(5)?.filter(|_| minute >= from_minute) else { continue };
            let text = |i: usize| r.get_ref(i).and_then(|v| Ok(v.as_str_or_null()?.unwrap_or("")));
            self.add_parts(minute, [text(2)?, text(3)?, text(4)?], cost);
        }
        Ok(last)
    }

    /// Adds one call's (or one group's) cost to its minute, saturating.
    fn add_parts(&mut self, minute: i64, keys: [&str; 3], cost: i64) {
        let t = self.total.entry(minute).or_insert(0);
        *t = t.saturating_add(cost);
        for (i, k) in keys.into_iter().enumerate() {
            let per = match self.by[i].get_mut(k) {
                Some(per) => per,
                None => self.by[i].entry(k.to_string()).or_default(),
            };
            let v = per.entry(minute).or_insert(0);
            *v = v.saturating_add(cost);
        }
    }

    /// Brings the cache up to `now`.
    pub fn refresh(&mut self, conn: &Connection, now: i64) -> rusqlite::Result<()> {
        let from_minute = ((now - 1).div_euclid(MS_PER_HOUR) - Self::HOURS_BEFORE) * 60;
        let full = self.full_at == 0 || now - self.full_at >= Self::FULL_EVERY_MS || now < self.full_at;
        let tx = conn.unchecked_transaction()?;
        // The calls are streamed and summed here (a `GROUP BY` in SQL sorts
        // them first: three to four times as long).
        if full {
            *self = MinuteCache::default();
            self.last_id = tx.query_row("SELECT COALESCE(MAX(id), 0) FROM calls", [], |r| r.get(0))?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT c.id, c.ts, c.workflow, c.team, c.customer, c.cost_nano FROM calls c
                 WHERE {RAW_WHERE} AND c.cost_nano IS NOT NULL"
            ))?;
            self.add_rows(stmt.query(params![from_minute * MS_PER_MINUTE, i64::MAX])?, from_minute)?;
            self.full_at = now;
        } else {
            let mut stmt = tx.prepare_cached(
                "SELECT id, ts, workflow, team, customer, cost_nano FROM calls WHERE id > ?1 ORDER BY id",
            )?;
            if let Some(last) = self.add_rows(stmt.query([self.last_id])?, from_minute)? {
                self.last_id = last;
            }
        }
        tx.finish()?;
        // Minutes that left the span.
        self.total = self.total.split_off(&from_minute);
        for d in &mut self.by {
            for v in d.values_mut() {
                *v = v.split_off(&from_minute);
            }
            d.retain(|_, v| !v.is_empty());
        }
        self.from_minute = from_minute;
        Ok(())
    }

    /// The minute spend of one key of a dimension (0 workflow, 1 team,
    /// 2 customer; `None`: all calls).
    pub fn minutes(&self, dim: Option<usize>, key: &str) -> Option<&std::collections::BTreeMap<i64, i64>> {
        match dim {
            None => Some(&self.total),
            Some(d) => self.by.get(d)?.get(key),
        }
    }

    /// The hours whose minutes are all held.
    pub fn hours(&self) -> std::ops::Range<i64> {
        let first = self.from_minute.div_euclid(60);
        first..first + Self::HOURS_BEFORE + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(conn: &Connection, key: i64, ts: i64, wf: &str, cost: Option<i64>) {
        conn.execute(
            "INSERT INTO calls (ts, dedupe_ts, dedupe_key, model, workflow, team, customer, uncached_input, cache_read,
               cache_write_5m, cache_write_1h, output, reasoning, cost_nano)
             VALUES (?1, ?1, ?2, 'm', ?3, 't', 'c', 0, 0, 0, 0, 0, 0, ?4)",
            params![ts, key, wf, cost],
        )
        .unwrap();
    }

    #[test]
    fn minute_sums_per_workflow_agree_with_sql_grouping() {
        let conn = crate::store::open_memory().unwrap();
        let h = 1_000 * MS_PER_HOUR;
        let rows: [(i64, &str, Option<i64>); 9] = [
            (h + 1_000, "a", Some(5)),
            (h + 59_999, "a", Some(7)),
            (h + 60_000, "a", None),
            (h + 61_000, "b", Some(3)),
            (h + 2 * MS_PER_MINUTE, "", Some(1)),
            (h + 2 * MS_PER_MINUTE + 5, "b", Some(i64::MAX)),
            (h + 2 * MS_PER_MINUTE + 6, "b", Some(4)),
            (h - 1, "a", Some(100)),               // before the range
            (h + 3 * MS_PER_MINUTE, "a", Some(9)), // at its end (excluded)
        ];
        for (i, (ts, wf, cost)) in rows.iter().enumerate() {
            insert(&conn, i as i64, *ts, wf, *cost);
        }
        conn.execute("UPDATE calls SET workflow = NULL WHERE workflow = ''", []).unwrap();
        let got = minutes_by_workflow(&conn, h, h + 3 * MS_PER_MINUTE).unwrap();
        // SQLite's own grouping over the same rows; its sum of the two
        // costs that overflow is the largest integer, saturated by hand.
        let mut stmt = conn
            .prepare(
                "SELECT COALESCE(workflow, ''), ts / 60000 * 60000, COUNT(*),
                   MIN(9223372036854775807, COALESCE(SUM(CAST(cost_nano AS REAL)), 0))
                 FROM calls WHERE ts >= ?1 AND ts < ?2 GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .unwrap();
        let want: Vec<MinuteSum> = stmt
            .query_map(params![h, h + 3 * MS_PER_MINUTE], |r| {
                let cost: f64 = r.get(3)?;
                Ok(MinuteSum {
                    workflow: r.get(0)?,
                    minute_ms: r.get(1)?,
                    calls: r.get(2)?,
                    cost: Nanos(if cost >= 9.2e18 { i64::MAX } else { cost as i64 }),
                })
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 5);
        assert!(got.iter().any(|m| m.workflow.is_empty() && m.calls == 1));
    }

    #[test]
    fn the_minute_cache_read_whole_agrees_with_sql_grouping() {
        let conn = crate::store::open_memory().unwrap();
        let h = 1_000 * MS_PER_HOUR;
        let now = h + 30 * MS_PER_MINUTE;
        let rows: [(i64, Option<&str>, Option<&str>, Option<i64>); 8] = [
            (h - 50 * MS_PER_MINUTE, Some("a"), Some("t1"), Some(5)),
            (h - 50 * MS_PER_MINUTE + 1, Some("a"), Some("t2"), Some(7)),
            (h + 1_000, None, Some("t1"), Some(3)),
            (h + 1_001, Some("b"), None, Some(2)),
            (h + 2 * MS_PER_MINUTE, Some("b"), Some("t1"), None), // unpriced
            (h + 3 * MS_PER_MINUTE, Some("a"), Some("t1"), Some(11)),
            (h + 3 * MS_PER_MINUTE + 9, Some("a"), Some("t1"), Some(13)),
            (h - 2 * MS_PER_HOUR, Some("a"), Some("t1"), Some(100)), // before the span
        ];
        for (i, (ts, wf, team, cost)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO calls (ts, dedupe_ts, dedupe_key, model, workflow, team, customer, uncached_input,
                   cache_read, cache_write_5m, cache_write_1h, output, reasoning, cost_nano)
                 VALUES (?1, ?1, ?2, 'm', ?3, ?4, 'c', 0, 0, 0, 0, 0, 0, ?5)",
                params![ts, i as i64, wf, team, cost],
            )
            .unwrap();
        }
        let mut c = MinuteCache::default();
        c.refresh(&conn, now).unwrap();
        // SQLite's grouping of the same span is the reference.
        let mut want = MinuteCache::default();
        for m in minute_costs(&conn, (h / MS_PER_MINUTE - 60) * MS_PER_MINUTE, i64::MAX).unwrap() {
            want.add(&m);
        }
        assert_eq!(c.total, want.total);
        assert_eq!(c.by, want.by);
        assert_eq!(c.total.values().sum::<i64>(), 41);
        assert_eq!(c.minutes(Some(0), "").unwrap().values().sum::<i64>(), 3);
        assert_eq!(c.minutes(Some(1), "t1").unwrap().values().sum::<i64>(), 32);
    }

    #[test]
    fn the_minute_cache_reads_only_new_calls_and_catches_late_prices_once_a_minute() {
        let conn = crate::store::open_memory().unwrap();
        let h = 1_000 * MS_PER_HOUR;
        let now = h + 30 * MS_PER_MINUTE;
        insert(&conn, 1, h - 3 * MS_PER_HOUR, "a", Some(7)); // before the span
        insert(&conn, 2, h - 10 * MS_PER_MINUTE, "a", Some(5));
        insert(&conn, 3, h + 5 * MS_PER_MINUTE, "b", Some(3));
        insert(&conn, 4, h + 6 * MS_PER_MINUTE, "b", None); // waiting for its usage
        let mut c = MinuteCache::default();
        c.refresh(&conn, now).unwrap();
        assert_eq!(c.hours(), 999..1001);
        assert_eq!(c.total.values().sum::<i64>(), 8);
        assert_eq!(c.minutes(Some(0), "a").unwrap().values().sum::<i64>(), 5);
        // New calls are added by row id; an old one outside the span is not.
        insert(&conn, 5, h + 20 * MS_PER_MINUTE, "a", Some(11));
        insert(&conn, 6, h - 5 * MS_PER_HOUR, "a", Some(100));
        conn.execute("UPDATE calls SET cost_nano = 2 WHERE dedupe_key = 4", []).unwrap();
        c.refresh(&conn, now + 1_000).unwrap();
        assert_eq!(c.minutes(Some(0), "a").unwrap().values().sum::<i64>(), 16);
        assert_eq!(c.total.values().sum::<i64>(), 19, "the late price is not seen yet");
        // A minute on, the span is read whole: the late price is in.
        c.refresh(&conn, now + MinuteCache::FULL_EVERY_MS).unwrap();
        assert_eq!(c.total.values().sum::<i64>(), 21);
        assert_eq!(c.minutes(Some(1), "t").unwrap().values().sum::<i64>(), 21);
        // Time moves on: minutes that left the span are dropped.
        c.refresh(&conn, h + MS_PER_HOUR + 30 * MS_PER_MINUTE).unwrap();
        assert_eq!(c.total.values().sum::<i64>(), 16);
        assert!(c.minutes(Some(0), "a").unwrap().keys().all(|m| *m >= 1000 * 60));
    }
}
