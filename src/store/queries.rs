//! Read queries behind every report and view.
//!
//! The ledger reads the hourly rollups when the window's bounds fall on UTC
//! hours and (for day/month grouping) the time zone's offsets are whole
//! hours; otherwise it aggregates the calls table directly in 15-minute
//! buckets (every real zone offset is a multiple of 15 minutes). Both paths
//! sum the same integers, so they agree to the nano-dollar.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use rusqlite::{Connection, params};

use super::rollup::{Agg, Dim, PAIR_SEP, RAW_FROM, Unit, agg_from_row, raw_sums, rollup_sums, saturating_retry};
use crate::domain::dims::Dimension;
use crate::domain::time::{self, MS_PER_HOUR};

/// What the ledger groups by: a dimension or a calendar period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupBy {
    Dim(Dimension),
    Day,
    Month,
}

impl GroupBy {
    pub const WORKFLOW: GroupBy = GroupBy::Dim(Dimension::Workflow);

    /// Every grouping: the dimensions, then days and months.
    pub fn all() -> Vec<GroupBy> {
        Dimension::ALL.into_iter().map(GroupBy::Dim).chain([GroupBy::Day, GroupBy::Month]).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Dim(d) => d.name(),
            GroupBy::Day => "day",
            GroupBy::Month => "month",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            GroupBy::Dim(d) => d.title(),
            GroupBy::Day => "Day",
            GroupBy::Month => "Month",
        }
    }

    pub fn dimension(self) -> Option<Dimension> {
        match self {
            GroupBy::Dim(d) => Some(d),
            _ => None,
        }
    }

    pub fn is_time(self) -> bool {
        self.dimension().is_none()
    }

    /// The label for a missing value.
    pub fn missing_label(self) -> &'static str {
        match self {
            GroupBy::Dim(d) => d.missing_label(),
            _ => "(unknown)",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GroupBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupBy::all().into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = GroupBy::all().into_iter().map(GroupBy::as_str).collect();
            format!("cannot group by '{s}'; use one of: {}", names.join(", "))
        })
    }
}

/// A half-open time window `[since, until)` in epoch ms (open ends: `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Window {
    pub fn all() -> Window {
        Window::default()
    }

    fn hour_bounds(&self) -> (i64, i64) {
        (
            self.since.map(|s| s.div_euclid(MS_PER_HOUR)).unwrap_or(i64::MIN),
            self.until.map(|u| u.div_euclid(MS_PER_HOUR)).unwrap_or(i64::MAX),
        )
    }

    fn ms_bounds(&self) -> (i64, i64) {
        (self.since.unwrap_or(i64::MIN), self.until.unwrap_or(i64::MAX))
    }
}

/// Which tables answered a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryPath {
    Rollup,
    Raw,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    /// The group key; empty when the dimension was missing.
    pub key: String,
    /// Model rows: the catalog key(s). Workflow rows: the owning team.
    pub aux: Option<String>,
    pub agg: Agg,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    pub by: GroupBy,
    pub window: Window,
    pub rows: Vec<LedgerRow>,
    pub total: Agg,
    /// Cost and calls of rows that have a workflow.
    pub attributed: Agg,
    pub path: QueryPath,
}

impl Ledger {
    /// Share of cost with a workflow (of calls when nothing has a cost).
    pub fn attribution_coverage(&self) -> f64 {
        if self.total.cost.0 > 0 {
            self.attributed.cost.0 as f64 / self.total.cost.0 as f64
        } else if self.total.calls > 0 {
            self.attributed.calls as f64 / self.total.calls as f64
        } else {
            0.0
        }
    }

    /// Share of calls that have a price.
    pub fn price_coverage(&self) -> f64 {
        if self.total.calls == 0 {
            return 0.0;
        }
        (self.total.calls - self.total.unpriced_calls) as f64 / self.total.calls as f64
    }

    /// A row's share of the total cost.
    pub fn share(&self, row: &LedgerRow) -> f64 {
        if self.total.cost.0 == 0 { 0.0 } else { row.agg.cost.0 as f64 / self.total.cost.0 as f64 }
    }
}

/// The six token classes from consecutive columns starting at `at`, in
/// the calls table's order (uncached input, cache read, 5-minute write,
/// 1-hour write, output, reasoning); a negative count reads as 0.
pub fn tokens_at(r: &rusqlite::Row, at: usize) -> rusqlite::Result<crate::domain::record::Tokens> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(at + i)?.max(0) as u64) };
    Ok(crate::domain::record::Tokens {
        uncached_input: n(0)?,
        cache_read: n(1)?,
        cache_write_5m: n(2)?,
        cache_write_1h: n(3)?,
        output: n(4)?,
        reasoning: n(5)?,
    })
}

/// Time filter over the calls table that can use the dedupe index
/// (`dedupe_ts` is the call time, or 0 when the log had none).
pub const RAW_WHERE: &str =
    "((c.dedupe_ts >= ?1 AND c.dedupe_ts < ?2) OR c.dedupe_ts = 0) AND c.ts >= ?1 AND c.ts < ?2";

/// Which calls a scan reads: a time range through the time index, or a
/// range of row ids read in table order (the window's filter applied to
/// each row), which is cheaper when the window holds most of the ledger.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    Time(i64, i64),
    Rows(i64, i64),
}

/// How much of the ledger's time span must be in the window for the scan
/// to read the table in order rather than through the time index.
const TABLE_ORDER_SHARE: f64 = 0.7;

/// Splits the window into two parts of about the same number of calls.
pub fn plan_scan(conn: &rusqlite::Connection, since: i64, until: i64) -> rusqlite::Result<Option<(Part, Part)>> {
    let one = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<Option<i64>> {
        conn.query_row(sql, p, |r| r.get(0))
    };
    // Each bound on its own: SQLite answers a lone MIN or MAX from the index.
    let lo = one(
        "SELECT MIN(dedupe_ts) FROM calls WHERE dedupe_ts >= ?1 AND dedupe_ts < ?2",
        rusqlite::params![since.max(1), until],
    )?;
    let hi = one(
        "SELECT MAX(dedupe_ts) FROM calls WHERE dedupe_ts >= ?1 AND dedupe_ts < ?2",
        rusqlite::params![since.max(1), until],
    )?;
    let (Some(lo), Some(hi)) = (lo, hi) else { return Ok(None) };
    if hi <= lo {
        return Ok(None);
    }
    let all_lo = one("SELECT MIN(dedupe_ts) FROM calls WHERE dedupe_ts > 0", &[])?.unwrap_or(lo);
    let all_hi = one("SELECT MAX(dedupe_ts) FROM calls", &[])?.unwrap_or(hi);
    let share = (hi - lo) as f64 / (all_hi - all_lo).max(1) as f64;
    if share >= TABLE_ORDER_SHARE {
        let first = one("SELECT MIN(id) FROM calls", &[])?.unwrap_or(0);
        let last = one("SELECT MAX(id) FROM calls", &[])?.unwrap_or(0);
        if last > first {
            let mid = first + (last - first) / 2 + 1;
            return Ok(Some((Part::Rows(first, mid), Part::Rows(mid, last + 1))));
        }
    }
    let mid = lo + (hi - lo) / 2 + 1;
    Ok(Some((Part::Time(since, mid), Part::Time(mid, until))))
}

/// Splits a window into the whole UTC hours inside it (for the rollups)
/// and the partial hours at its edges (for the calls table).
fn split(w: Window) -> (Option<Window>, Vec<Window>) {
    let ceil =
        |t: i64| t.div_euclid(MS_PER_HOUR) * MS_PER_HOUR + if t.rem_euclid(MS_PER_HOUR) == 0 { 0 } else { MS_PER_HOUR };
    let floor = |t: i64| t.div_euclid(MS_PER_HOUR) * MS_PER_HOUR;
    let inner_since = w.since.map(ceil);
    let inner_until = w.until.map(floor);
    if let (Some(a), Some(b)) = (inner_since, inner_until)
        && a >= b
    {
        return (None, vec![w]);
    }
    let mut edges = Vec::new();
    if let (Some(s), Some(a)) = (w.since, inner_since)
        && s < a
    {
        edges.push(Window { since: Some(s), until: Some(a) });
    }
    if let (Some(u), Some(b)) = (w.until, inner_until)
        && b < u
    {
        edges.push(Window { since: Some(b), until: Some(u) });
    }
    (Some(Window { since: inner_since, until: inner_until }), edges)
}

fn group_rollup(
    conn: &Connection,
    d: Dim,
    w: Window,
    filter: &PairFilter,
    out: &mut Vec<(String, Agg)>,
) -> rusqlite::Result<()> {
    let (h0, h1) = w.hour_bounds();
    let Some((h0, h1)) = clamp_hours(conn, h0, h1)? else { return Ok(()) };
    // The whole UTC days inside come from the day rollups (a row a day per
    // group instead of 24), the hours around them from the hour rollups.
    let (d0, d1) = (h0.div_euclid(24) + i64::from(h0.rem_euclid(24) != 0), h1.div_euclid(24));
    let spans = if d0 < d1 {
        vec![(Unit::Hour, h0, d0 * 24), (Unit::Day, d0, d1), (Unit::Hour, d1 * 24, h1)]
    } else {
        vec![(Unit::Hour, h0, h1)]
    };
    for (unit, a, b) in spans.into_iter().filter(|(_, a, b)| a < b) {
        let rows = saturating_retry(|sum| group_rollup_sql(conn, unit, d, a, b, filter, rollup_sums(sum)))?;
        out.extend(rows);
    }
    Ok(())
}

/// One rollup table's sums per key over the units `[t0, t1)`.
fn group_rollup_sql(
    conn: &Connection,
    unit: Unit,
    d: Dim,
    t0: i64,
    t1: i64,
    filter: &PairFilter,
    sums: String,
) -> rusqlite::Result<Vec<(String, Agg)>> {
    let (table, t) = (unit.table(), unit.column());
    let (sql, a, b) = match filter {
        PairFilter::All => (
            format!("SELECT key, {sums} FROM {table} WHERE dim = ?1 AND {t} >= ?2 AND {t} < ?3 GROUP BY key"),
            String::new(),
            String::new(),
        ),
        // Keys "x<SEP>..." sort between "x<SEP>" and "x<SEP + 1>": one
        // primary-key range seek per hour (or day) instead of reading
        // every key.
        PairFilter::First(x) => (
            format!(
                "{HOURS_CTE} SELECT key, {sums} FROM h CROSS JOIN {table} r ON r.dim = ?1 AND r.{t} = h.x AND r.key >= ?4 AND r.key < ?5 GROUP BY key"
            ),
            format!("{x}{PAIR_SEP}"),
            format!("{x}{}", (PAIR_SEP as u8 + 1) as char),
        ),
        PairFilter::Second(y) => (
            format!(
                "SELECT key, {sums} FROM {table} WHERE dim = ?1 AND {t} >= ?2 AND {t} < ?3 AND substr(key, instr(key, ?4) + 1) = ?5 GROUP BY key"
            ),
            PAIR_SEP.to_string(),
            y.clone(),
        ),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let map = |r: &rusqlite::Row| Ok((r.get::<_, String>(0)?, agg_from_row(r, 1)?));
    match filter {
        PairFilter::All => stmt.query_map(params![d.code(), t0, t1], map)?.collect(),
        _ => stmt.query_map(params![d.code(), t0, t1, a, b], map)?.collect(),
    }
}

fn group_raw(conn: &Connection, expr: &str, w: Window, out: &mut Vec<(String, Agg)>) -> rusqlite::Result<()> {
    let (t0, t1) = w.ms_bounds();
    let rows: Vec<(String, Agg)> = saturating_retry(|sum| {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {expr}, {sums} FROM {RAW_FROM} WHERE {RAW_WHERE} GROUP BY 1",
            sums = raw_sums(sum)
        ))?;
        stmt.query_map(params![t0, t1], |r| Ok((r.get::<_, String>(0)?, agg_from_row(r, 1)?)))?.collect()
    })?;
    out.extend(rows);
    Ok(())
}

/// The hours `?2 <= x < ?3` as a table `h(x)`, so that a join seeks the
/// rollup's primary key (dim, hour, key) once per hour.
pub const HOURS_CTE: &str = "WITH RECURSIVE h(x) AS (SELECT ?2 UNION ALL SELECT x + 1 FROM h WHERE x + 1 < ?3)";

/// Hour bounds `[h0, h1)` narrowed to the hours that hold data, or `None`
/// when none do (keeps [`HOURS_CTE`] finite).
pub fn clamp_hours(conn: &Connection, h0: i64, h1: i64) -> rusqlite::Result<Option<(i64, i64)>> {
    let Some((lo, hi)) = data_range(conn)? else { return Ok(None) };
    let (a, b) = (h0.max(lo / MS_PER_HOUR), h1.min(hi / MS_PER_HOUR));
    Ok((a < b).then_some((a, b)))
}

/// Which keys of a pair dimension a query wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PairFilter {
    All,
    /// Pairs whose first part is this key.
    First(String),
    /// Pairs whose second part is this key.
    Second(String),
}

impl PairFilter {
    fn keeps(&self, key: &str) -> bool {
        match self {
            PairFilter::All => true,
            PairFilter::First(x) => key.split_once(PAIR_SEP).is_some_and(|(a, _)| a == x),
            PairFilter::Second(y) => key.split_once(PAIR_SEP).is_some_and(|(_, b)| b == y),
        }
    }
}

/// Sums grouped by a dimension over a window: from its rollup when the
/// writer keeps one, else from the calls table.
pub fn group_dimension(
    conn: &Connection,
    d: Dimension,
    w: Window,
    path: QueryPath,
) -> rusqlite::Result<Vec<(String, Agg)>> {
    match Dim::single(d) {
        Some(rd) => group(conn, rd, w, path),
        None => {
            let mut out = Vec::new();
            group_raw(conn, d.sql(), w, &mut out)?;
            Ok(out)
        }
    }
}

/// Sums grouped by a rollup dimension over a window. Along the rollup
/// path, whole hours come from the rollups and partial edge hours from
/// the calls.
pub fn group(conn: &Connection, d: Dim, w: Window, path: QueryPath) -> rusqlite::Result<Vec<(String, Agg)>> {
    group_filtered(conn, d, w, path, &PairFilter::All)
}

/// [`group`] keeping only the pairs that `filter` wants (filtered inside
/// the rollup query, so a drill-down reads a fraction of the rows).
pub fn group_filtered(
    conn: &Connection,
    d: Dim,
    w: Window,
    path: QueryPath,
    filter: &PairFilter,
) -> rusqlite::Result<Vec<(String, Agg)>> {
    let mut parts = Vec::new();
    match path {
        QueryPath::Raw => group_raw(conn, &d.sql(), w, &mut parts)?,
        QueryPath::Rollup => {
            let (inner, edges) = split(w);
            if let Some(i) = inner {
                group_rollup(conn, d, i, filter, &mut parts)?;
            }
            for e in edges {
                group_edge(conn, d, e, filter, &mut parts)?;
            }
        }
    }
    let mut merged: HashMap<String, Agg> = HashMap::with_capacity(parts.len());
    for (k, a) in parts {
        if filter.keeps(&k) {
            merged.entry(k).or_default().add(&a);
        }
    }
    Ok(merged.into_iter().collect())
}

/// Sums per key of a part of one hour (a window's edge): from the calls
/// in it, or, when fewer calls lie in the rest of that hour, as the hour's
/// rollup minus the rest. The part ending now is then read as a rollup
/// row, and a window's far edge never reads more than half an hour of
/// calls.
fn group_edge(
    conn: &Connection,
    d: Dim,
    e: Window,
    filter: &PairFilter,
    out: &mut Vec<(String, Agg)>,
) -> rusqlite::Result<()> {
    let (Some(a), Some(b)) = (e.since, e.until) else { return group_raw(conn, &d.sql(), e, out) };
    let hour = a.div_euclid(MS_PER_HOUR);
    if b > (hour + 1) * MS_PER_HOUR {
        return group_raw(conn, &d.sql(), e, out);
    }
    // The hour and the rest of it are read from one snapshot of the
    // ledger (a call committed in between would be subtracted without
    // having been added).
    conn.execute_batch("SAVEPOINT group_edge")?;
    let r = group_edge_in(conn, d, (a, b), hour, filter, out);
    let released = conn.execute_batch("RELEASE group_edge");
    r.and(released)
}

/// [`group_edge`] for the part `[a, b)` of `hour`.
fn group_edge_in(
    conn: &Connection,
    d: Dim,
    (a, b): (i64, i64),
    hour: i64,
    filter: &PairFilter,
    out: &mut Vec<(String, Agg)>,
) -> rusqlite::Result<()> {
    let e = Window { since: Some(a), until: Some(b) };
    let (h0, h1) = (hour * MS_PER_HOUR, (hour + 1) * MS_PER_HOUR);
    let rest: Vec<Window> = [(h0, a), (b, h1)]
        .into_iter()
        .filter(|(x, y)| x < y)
        .map(|(x, y)| Window { since: Some(x), until: Some(y) })
        .collect();
    // Counted on the time index alone (calls logged without a time, kept
    // apart, are left out of the count: it only picks the cheaper side).
    let count = |w: &Window| -> rusqlite::Result<i64> {
        conn.prepare_cached("SELECT COUNT(*) FROM calls WHERE dedupe_ts >= ?1 AND dedupe_ts < ?2")?
            .query_row(params![w.since, w.until], |r| r.get(0))
    };
    let mut in_rest = 0;
    for w in &rest {
        in_rest += count(w)?;
    }
    if in_rest >= count(&e)? {
        return group_raw(conn, &d.sql(), e, out);
    }
    let whole =
        saturating_retry(|sum| group_rollup_sql(conn, Unit::Hour, d, hour, hour + 1, filter, rollup_sums(sum)))?;
    if whole.iter().any(|(_, a)| a.overflow()) {
        return group_raw(conn, &d.sql(), e, out);
    }
    let mut sums: HashMap<String, Agg> = whole.into_iter().collect();
    let mut taken = Vec::new();
    for w in rest {
        group_raw(conn, &d.sql(), w, &mut taken)?;
    }
    for (k, a) in taken {
        sums.entry(k).or_default().add(&a.negated());
    }
    // A key whose calls all lie in the rest is left with nothing.
    out.extend(sums.into_iter().filter(|(_, a)| a.values().iter().any(|v| *v != 0)));
    Ok(())
}

fn buckets_rollup(conn: &Connection, w: Window, out: &mut Vec<(i64, Agg)>) -> rusqlite::Result<()> {
    let (h0, h1) = w.hour_bounds();
    let rows: Vec<(i64, Agg)> = saturating_retry(|sum| {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT hour, {} FROM rollup_hour WHERE dim = 0 AND hour >= ?1 AND hour < ?2 GROUP BY hour",
            rollup_sums(sum)
        ))?;
        stmt.query_map(params![h0, h1], |r| Ok((r.get::<_, i64>(0)? * MS_PER_HOUR, agg_from_row(r, 1)?)))?.collect()
    })?;
    out.extend(rows);
    Ok(())
}

fn buckets_raw(conn: &Connection, w: Window, out: &mut Vec<(i64, Agg)>) -> rusqlite::Result<()> {
    let (t0, t1) = w.ms_bounds();
    let rows: Vec<(i64, Agg)> = saturating_retry(|sum| {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT c.ts / 900000, {} FROM {RAW_FROM} WHERE {RAW_WHERE} GROUP BY 1",
            raw_sums(sum)
        ))?;
        stmt.query_map(params![t0, t1], |r| Ok((r.get::<_, i64>(0)? * 900_000, agg_from_row(r, 1)?)))?.collect()
    })?;
    out.extend(rows);
    Ok(())
}

/// Sums per time bucket, as (bucket start ms, sums) in time order: UTC
/// hours from the rollups, 15-minute buckets from the calls table (edges of
/// an unaligned window, or the raw path).
pub fn buckets(conn: &Connection, w: Window, path: QueryPath) -> rusqlite::Result<Vec<(i64, Agg)>> {
    let mut out = Vec::new();
    match path {
        QueryPath::Raw => buckets_raw(conn, w, &mut out)?,
        QueryPath::Rollup => {
            let (inner, edges) = split(w);
            if let Some(i) = inner {
                buckets_rollup(conn, i, &mut out)?;
            }
            for e in edges {
                buckets_raw(conn, e, &mut out)?;
            }
        }
    }
    out.sort_by_key(|(t, _)| *t);
    Ok(out)
}

/// The calls stored (from the day rollups: a row a day).
pub fn stored_calls(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(SUM(calls), 0) FROM rollup_day WHERE dim = 0")?.query_row([], |r| r.get(0))
}

/// The first and last call time stored (from the rollups).
pub fn data_range(conn: &Connection) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.query_row("SELECT MIN(hour), MAX(hour) FROM rollup_hour WHERE dim = 0", [], |r| {
        let a: Option<i64> = r.get(0)?;
        let b: Option<i64> = r.get(1)?;
        Ok(a.zip(b).map(|(a, b)| (a * MS_PER_HOUR, (b + 1) * MS_PER_HOUR)))
    })
}

/// Chooses rollup or raw for a ledger query: rollups unless days or
/// months must be cut in a zone whose offset is not a whole number of hours.
pub fn choose_path(conn: &Connection, by: GroupBy, w: Window, tz: &TimeZone) -> rusqlite::Result<QueryPath> {
    if let Some(d) = by.dimension()
        && Dim::single(d).is_none()
    {
        return Ok(QueryPath::Raw);
    }
    if by.is_time() {
        let (lo, hi) = match data_range(conn)? {
            Some((a, b)) => (w.since.unwrap_or(a).max(a), w.until.unwrap_or(b).min(b)),
            None => return Ok(QueryPath::Rollup),
        };
        if !time::tz_is_whole_hour(tz, lo, hi.max(lo)) {
            return Ok(QueryPath::Raw);
        }
    }
    Ok(QueryPath::Rollup)
}

/// The itemized ledger.
pub fn ledger(conn: &Connection, by: GroupBy, w: Window, tz: &TimeZone) -> rusqlite::Result<Ledger> {
    let path = choose_path(conn, by, w, tz)?;
    ledger_with_path(conn, by, w, tz, path)
}

/// The ledger computed along a given path (tests compare both).
pub fn ledger_with_path(
    conn: &Connection,
    by: GroupBy,
    w: Window,
    tz: &TimeZone,
    path: QueryPath,
) -> rusqlite::Result<Ledger> {
    let mut rows: Vec<LedgerRow> = match by.dimension() {
        Some(d) => {
            group_dimension(conn, d, w, path)?.into_iter().map(|(key, agg)| LedgerRow { key, aux: None, agg }).collect()
        }
        None => {
            let mut map: BTreeMap<String, Agg> = BTreeMap::new();
            for (start, agg) in buckets(conn, w, path)? {
                let label = match by {
                    GroupBy::Month => time::local_month(start, tz),
                    _ => time::local_day(start, tz),
                };
                map.entry(label).or_default().add(&agg);
            }
            map.into_iter().map(|(key, agg)| LedgerRow { key, aux: None, agg }).collect()
        }
    };
    let mut total = Agg::default();
    for r in &rows {
        total.add(&r.agg);
    }
    let mut attributed = Agg::default();
    if by == GroupBy::WORKFLOW {
        for r in rows.iter().filter(|r| !r.key.is_empty()) {
            attributed.add(&r.agg);
        }
    } else {
        for (k, a) in group(conn, Dim::Workflow, w, path)? {
            if !k.is_empty() {
                attributed.add(&a);
            }
        }
    }
    match by {
        GroupBy::Dim(Dimension::Model) => {
            let keys = model_price_keys(conn)?;
            for r in &mut rows {
                r.aux = keys.get(&r.key).cloned();
            }
        }
        GroupBy::Dim(Dimension::Workflow) => {
            let teams = dominant_pair(conn, Dim::WorkflowTeam, w, path)?;
            for r in &mut rows {
                r.aux = teams.get(&r.key).cloned().filter(|t| !t.is_empty());
            }
        }
        GroupBy::Dim(Dimension::Machine) => {
            let hosts = super::ledgers::ledger_hosts(conn)?;
            for r in &mut rows {
                r.aux = hosts.get(&r.key).cloned();
            }
        }
        _ => {}
    }
    if by.is_time() {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        rows.sort_by(|a, b| {
            b.agg.cost.0.cmp(&a.agg.cost.0).then(b.agg.calls.cmp(&a.agg.calls)).then(a.key.cmp(&b.key))
        });
    }
    Ok(Ledger { by, window: w, rows, total, attributed, path })
}

/// For a pair dimension (a, b): each `a`'s `b` with the most cost (then calls).
pub fn dominant_pair(
    conn: &Connection,
    pair: Dim,
    w: Window,
    path: QueryPath,
) -> rusqlite::Result<HashMap<String, String>> {
    let mut best: HashMap<String, (String, i64, i64)> = HashMap::new();
    for (key, agg) in group(conn, pair, w, path)? {
        let (a, b) = key.split_once(PAIR_SEP).unwrap_or((key.as_str(), ""));
        let e = best.entry(a.to_string()).or_insert_with(|| (b.to_string(), -1, -1));
        if (agg.cost.0, agg.calls) > (e.1, e.2) {
            *e = (b.to_string(), agg.cost.0, agg.calls);
        }
    }
    Ok(best.into_iter().map(|(a, (b, _, _))| (a, b)).collect())
}

/// Logged model name → catalog key(s) it resolved to.
pub fn model_price_keys(conn: &Connection) -> rusqlite::Result<HashMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT model, group_concat(price_key, ', ') FROM model_keys GROUP BY model")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.collect()
}

/// One rejected line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectView {
    pub path: String,
    pub line_no: u64,
    pub byte_offset: u64,
    pub reason: String,
    pub excerpt: String,
    pub at_ms: i64,
}

/// The most recent rejects, newest first, optionally for paths containing
/// `path_filter`.
pub fn rejects(conn: &Connection, limit: usize, path_filter: Option<&str>) -> rusqlite::Result<Vec<RejectView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, line_no, byte_offset, reason, excerpt, at FROM rejects
         WHERE ?1 IS NULL OR instr(path, ?1) > 0 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![path_filter, limit as i64], |r| {
        Ok(RejectView {
            path: r.get(0)?,
            line_no: r.get::<_, i64>(1)? as u64,
            byte_offset: r.get::<_, i64>(2)? as u64,
            reason: r.get(3)?,
            excerpt: r.get(4)?,
            at_ms: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Total number of rejected lines.
pub fn reject_count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM rejects", [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
}

/// One source file as the ledger knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceView {
    pub id: i64,
    pub path: String,
    pub format: Option<String>,
    pub offset: u64,
    pub size: u64,
    pub lines: u64,
    pub calls: u64,
    pub duplicates: u64,
    pub rejects: u64,
    pub skipped: u64,
    /// Skipped lines that carried usage.
    pub skipped_usage: u64,
    pub last_line_ts: Option<i64>,
    pub last_read: Option<i64>,
    /// The ledger that read it, when merged from another ('' for this one).
    pub machine: String,
}

pub fn sources(conn: &Connection) -> rusqlite::Result<Vec<SourceView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, path, format, offset, size, lines, calls, duplicates, rejects, skipped, last_line_ts, last_read,
           skipped_usage, machine
         FROM sources ORDER BY machine, path",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceView {
            id: r.get(0)?,
            path: r.get(1)?,
            format: r.get(2)?,
            offset: r.get::<_, i64>(3)? as u64,
            size: r.get::<_, i64>(4)? as u64,
            lines: r.get::<_, i64>(5)? as u64,
            calls: r.get::<_, i64>(6)? as u64,
            duplicates: r.get::<_, i64>(7)? as u64,
            rejects: r.get::<_, i64>(8)? as u64,
            skipped: r.get::<_, i64>(9)? as u64,
            last_line_ts: r.get(10)?,
            last_read: r.get(11)?,
            skipped_usage: r.get::<_, i64>(12)? as u64,
            machine: r.get(13)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;
    use crate::domain::record::CallRecord;
    use crate::store::{open_memory, rollup, writer};

    fn rec(ts: &str, wf: Option<&str>, model: &str, cost: Option<i64>, key: i64) -> CallRecord {
        CallRecord {
            ts_ms: time::parse_ts_str(ts).unwrap(),
            dedupe_key: key,
            model: model.into(),
            workflow: wf.map(Into::into),
            team: wf.map(|w| format!("team-{w}")),
            cost: cost.map(Nanos),
            price_key: cost.map(|_| model.to_string()),
            tokens: crate::domain::record::Tokens {
                uncached_input: 100,
                cache_read: 10,
                cache_write_5m: 1,
                output: 5,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn seeded() -> Connection {
        let mut conn = open_memory().unwrap();
        let tx = conn.transaction().unwrap();
        let recs = [
            rec("2026-10-01T10:30:00Z", Some("a"), "m1", Some(1_000_000_001), 1),
            rec("2026-10-01T23:45:00Z", Some("a"), "m2", Some(2_000_000_002), 2),
            rec("2026-10-02T00:15:00Z", Some("b"), "m1", Some(3_000_000_003), 3),
            rec("2026-10-03T12:00:00Z", None, "m3", None, 4),
            rec("2026-11-01T00:00:00Z", Some("b"), "m1", Some(4), 5),
        ];
        let mut rb = rollup::Delta::of(&recs);
        let mut ins = writer::CallInserter::new(&tx).unwrap();
        for r in &recs {
            assert!(ins.insert(None, r).unwrap());
        }
        drop(ins);
        rb.flush(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    #[test]
    fn rollup_and_raw_paths_agree_to_the_nano() {
        let conn = seeded();
        let utc = TimeZone::UTC;
        for by in GroupBy::all() {
            let a = ledger_with_path(&conn, by, Window::all(), &utc, QueryPath::Rollup).unwrap();
            let b = ledger_with_path(&conn, by, Window::all(), &utc, QueryPath::Raw).unwrap();
            assert_eq!(a.rows, b.rows, "{by}");
            assert_eq!(a.total, b.total);
        }
    }

    #[test]
    fn ledger_totals_coverage_and_aux() {
        let conn = seeded();
        let l = ledger(&conn, GroupBy::WORKFLOW, Window::all(), &TimeZone::UTC).unwrap();
        assert_eq!(l.path, QueryPath::Rollup);
        assert_eq!(l.total.calls, 5);
        assert_eq!(l.total.cost.0, 6_000_000_010);
        assert_eq!(l.total.unpriced_calls, 1);
        assert_eq!(l.rows[0].key, "b");
        assert_eq!(l.rows[0].aux.as_deref(), Some("team-b"));
        assert_eq!(l.rows.iter().map(|r| r.agg.cost.0).sum::<i64>(), l.total.cost.0);
        assert!((l.price_coverage() - 0.8).abs() < 1e-12);
        assert!((l.attribution_coverage() - 1.0).abs() < 1e-12, "the unattributed call is unpriced");
        assert_eq!(l.total.input_tokens(), 5 * 111);
    }

    #[test]
    fn days_follow_the_time_zone() {
        let conn = seeded();
        let utc = ledger(&conn, GroupBy::Day, Window::all(), &TimeZone::UTC).unwrap();
        let keys: Vec<&str> = utc.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["2026-10-01", "2026-10-02", "2026-10-03", "2026-11-01"]);
        // In Kolkata (+05:30) 23:45 UTC on Oct 1 is Oct 2, and the raw path
        // is used because the offset is not a whole hour.
        let ist = time::resolve_tz(Some("Asia/Kolkata")).unwrap();
        let l = ledger(&conn, GroupBy::Day, Window::all(), &ist).unwrap();
        assert_eq!(l.path, QueryPath::Raw);
        assert_eq!(l.rows[0].key, "2026-10-01");
        assert_eq!(l.rows[0].agg.calls, 1);
        assert_eq!(l.rows[1].agg.calls, 2);
    }

    #[test]
    fn pair_filters_keep_exactly_the_matching_pairs() {
        let conn = seeded();
        let w = Window { since: time::parse_ts_str("2026-10-01T10:40:00Z"), until: None };
        for d in [Dim::WorkflowModel, Dim::TeamModel, Dim::WorkflowCustomer] {
            let all = group(&conn, d, w, QueryPath::Rollup).unwrap();
            for key in ["a", "b", "m1", "m2", "team-a", "", "zz"] {
                for (filter, first) in [(PairFilter::First(key.into()), true), (PairFilter::Second(key.into()), false)]
                {
                    let mut got = group_filtered(&conn, d, w, QueryPath::Rollup, &filter).unwrap();
                    let mut want: Vec<(String, Agg)> = all
                        .iter()
                        .filter(|(k, _)| {
                            let (x, y) = k.split_once(PAIR_SEP).unwrap();
                            if first { x == key } else { y == key }
                        })
                        .cloned()
                        .collect();
                    got.sort_by(|a, b| a.0.cmp(&b.0));
                    want.sort_by(|a, b| a.0.cmp(&b.0));
                    assert_eq!(got, want, "{d:?} {filter:?}");
                }
            }
        }
    }

    #[test]
    fn unaligned_windows_combine_rollups_and_edges_exactly() {
        let conn = seeded();
        let utc = TimeZone::UTC;
        for (since, until) in [
            ("2026-10-01T10:29:00Z", "2026-10-02T00:16:00Z"),
            ("2026-10-01T10:31:00Z", "2026-11-30T00:00:00Z"),
            ("2026-10-01T23:30:00Z", "2026-10-01T23:50:00Z"),
        ] {
            let w = Window { since: time::parse_ts_str(since), until: time::parse_ts_str(until) };
            for by in GroupBy::all() {
                let a = ledger_with_path(&conn, by, w, &utc, QueryPath::Rollup).unwrap();
                let b = ledger_with_path(&conn, by, w, &utc, QueryPath::Raw).unwrap();
                assert_eq!(a.rows, b.rows, "{by} {since}..{until}");
            }
        }
    }

    #[test]
    fn an_edge_read_as_its_hour_less_the_rest_is_exact() {
        let mut conn = open_memory().unwrap();
        let tx = conn.transaction().unwrap();
        let recs = [
            rec("2026-10-01T09:30:00Z", Some("a"), "m1", Some(7), 1),
            rec("2026-10-01T10:01:00Z", Some("d"), "m2", Some(1_000), 2),
            rec("2026-10-01T10:05:00Z", Some("a"), "m1", Some(20_000), 3),
            rec("2026-10-01T10:10:00Z", Some("b"), "m2", Some(300_000), 4),
            rec("2026-10-01T10:20:00Z", Some("a"), "m2", Some(4_000_000), 5),
            rec("2026-10-01T10:50:00Z", Some("c"), "m1", None, 6),
            rec("2026-10-01T11:30:00Z", Some("b"), "m1", Some(50_000_000), 7),
        ];
        let mut ins = writer::CallInserter::new(&tx).unwrap();
        for r in &recs {
            assert!(ins.insert(None, r).unwrap());
        }
        drop(ins);
        rollup::Delta::of(&recs).flush(&tx).unwrap();
        tx.commit().unwrap();
        let utc = TimeZone::UTC;
        let at = |t: &str| time::parse_ts_str(t);
        // From 10:07: three calls in the edge, two in the rest of its hour,
        // so the edge is the hour less 10:00-10:07; `d` drops out.
        let w = Window { since: at("2026-10-01T10:07:00Z"), until: at("2026-10-01T12:00:00Z") };
        let l = ledger_with_path(&conn, GroupBy::WORKFLOW, w, &utc, QueryPath::Rollup).unwrap();
        let got: Vec<(&str, i64, i64)> = l.rows.iter().map(|r| (r.key.as_str(), r.agg.calls, r.agg.cost.0)).collect();
        assert_eq!(got, [("b", 2, 50_300_000), ("a", 1, 4_000_000), ("c", 1, 0)]);
        assert_eq!(l.total.unpriced_calls, 1);
        // Inside a caller's transaction too (the edge's snapshot nests),
        // and the transaction is still open after it.
        let tx = conn.unchecked_transaction().unwrap();
        let inner = ledger_with_path(&tx, GroupBy::WORKFLOW, w, &utc, QueryPath::Rollup).unwrap();
        assert_eq!(inner.rows, l.rows);
        assert!(!tx.is_autocommit());
        tx.commit().unwrap();
        for (since, until) in [
            ("2026-10-01T10:07:00Z", "2026-10-01T12:00:00Z"),
            ("2026-10-01T09:00:00Z", "2026-10-01T10:55:00Z"),
            ("2026-10-01T10:02:00Z", "2026-10-01T10:51:00Z"),
            ("2026-10-01T10:15:00Z", "2026-10-01T11:45:00Z"),
        ] {
            let w = Window { since: at(since), until: at(until) };
            for by in GroupBy::all() {
                let a = ledger_with_path(&conn, by, w, &utc, QueryPath::Rollup).unwrap();
                let b = ledger_with_path(&conn, by, w, &utc, QueryPath::Raw).unwrap();
                assert_eq!(a.rows, b.rows, "{by} {since}..{until}");
                assert_eq!(a.total, b.total, "{by} {since}..{until}");
            }
            for d in [Dim::WorkflowModel, Dim::TeamModel] {
                for f in ["a", "d", "m1", "m2", "team-b"]
                    .into_iter()
                    .flat_map(|k| [PairFilter::First(k.into()), PairFilter::Second(k.into())])
                {
                    let mut x = group_filtered(&conn, d, w, QueryPath::Rollup, &f).unwrap();
                    let mut y = group_filtered(&conn, d, w, QueryPath::Raw, &f).unwrap();
                    x.sort_by(|p, q| p.0.cmp(&q.0));
                    y.sort_by(|p, q| p.0.cmp(&q.0));
                    assert_eq!(x, y, "{d:?} {f:?} {since}..{until}");
                }
            }
        }
    }

    #[test]
    fn windows_filter_calls() {
        let conn = seeded();
        let w = Window {
            since: time::parse_ts_str("2026-10-01T00:00:00Z"),
            until: time::parse_ts_str("2026-10-02T00:00:00Z"),
        };
        let l = ledger(&conn, GroupBy::Dim(Dimension::Model), w, &TimeZone::UTC).unwrap();
        assert_eq!(l.path, QueryPath::Rollup);
        assert_eq!(l.total.calls, 2);
        let w2 = Window { since: time::parse_ts_str("2026-10-01T10:31:00Z"), until: None };
        let l2 = ledger(&conn, GroupBy::Dim(Dimension::Model), w2, &TimeZone::UTC).unwrap();
        assert_eq!(l2.path, QueryPath::Rollup, "edges come from the calls table, the rest from rollups");
        assert_eq!(l2.total.calls, 4);
    }
}
