//! What the cockpit shows, read from the ledger on the query thread.
//!
//! A [`Snapshot`] holds everything the three tabs need, so switching tabs
//! never waits for SQLite; only changing the ledger's grouping, window or
//! drill-down asks for a new one. Everything here is plain data.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use rusqlite::Connection;

use crate::domain::time::{self, MS_PER_DAY, MS_PER_HOUR, end_of_month, start_of_month};
use crate::forecast::drivers::{self, Measured, TrendReport};
use crate::pricing::Pricer;
use crate::store::live::{MS_PER_MINUTE, hours_of_key, minutes_by_workflow, newest_ts, pair_breakdown};
use crate::store::queries::{self, GroupBy, Ledger, QueryPath, RejectView, SourceView, Window};
use crate::store::rollup::{Agg, Dim};

/// Minutes in the live sparklines.
pub const SPARK_MINUTES: usize = 60;
/// The window of the current burn rate.
pub const BURN_MINUTES: i64 = 5;

/// The ledger's time windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowKind {
    Today,
    Days7,
    Days30,
    Month,
}

impl WindowKind {
    pub const ALL: [WindowKind; 4] = [WindowKind::Today, WindowKind::Days7, WindowKind::Days30, WindowKind::Month];

    pub fn label(self) -> &'static str {
        match self {
            WindowKind::Today => "today",
            WindowKind::Days7 => "7 d",
            WindowKind::Days30 => "30 d",
            WindowKind::Month => "month",
        }
    }

    pub fn next(self) -> WindowKind {
        let i = WindowKind::ALL.iter().position(|w| *w == self).unwrap_or(0);
        WindowKind::ALL[(i + 1) % WindowKind::ALL.len()]
    }

    pub fn window(self, now_ms: i64, tz: &TimeZone) -> Window {
        let since = match self {
            WindowKind::Today => time::start_of_local_day(now_ms, tz),
            WindowKind::Days7 => now_ms - 7 * MS_PER_DAY,
            WindowKind::Days30 => now_ms - 30 * MS_PER_DAY,
            WindowKind::Month => start_of_month(now_ms, tz),
        };
        Window { since: Some(since), until: None }
    }
}

/// What a refresh asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryParams {
    pub now_ms: i64,
    pub tz: TimeZone,
    pub group: GroupBy,
    pub window: WindowKind,
    /// The ledger row whose drill-down to load.
    pub drill: Option<String>,
    /// Load the forecast (drivers, trends) too.
    pub forecast: bool,
}

/// One workflow in the Live tab.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveWorkflow {
    pub workflow: String,
    pub team: Option<String>,
    pub today: Agg,
    pub last_hour: Agg,
    /// Cost (nanos) per minute, oldest first, the last entry being the
    /// current minute.
    pub per_minute: Vec<i64>,
    /// Calls and cost in the last [`BURN_MINUTES`] minutes.
    pub recent: Agg,
    /// Cost in the trailing hour before the recent minutes.
    pub trailing_cost: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveData {
    pub workflows: Vec<LiveWorkflow>,
    pub today: Agg,
    pub month: Agg,
    pub last_24h_cost: i64,
    pub month_start_ms: i64,
    pub month_end_ms: i64,
    pub newest_ts: Option<i64>,
}

/// One ledger row opened up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drill {
    pub key: String,
    pub row: Agg,
    /// (title, rows): e.g. ("Models", [(model, sums)]).
    pub breakdowns: Vec<(&'static str, Vec<(String, Agg)>)>,
    /// Cost per local day (whole hours), oldest first.
    pub daily: Vec<(String, Agg)>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourcesData {
    pub sources: Vec<SourceView>,
    /// Each source's size on disk now (`None`: the file is gone).
    pub on_disk: Vec<Option<u64>>,
    pub rejects: Vec<RejectView>,
    pub reject_total: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub params: QueryParams,
    pub live: LiveData,
    pub ledger: Ledger,
    pub drill: Option<Drill>,
    pub sources: SourcesData,
    pub forecast: Option<ForecastData>,
}

/// One row of the forecast tab: a workflow (or all) with its drivers over
/// the ledger's 30 d window (scaled to a [`FORECAST_MONTH_DAYS`]-day month)
/// and its month-end trend.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastItem {
    pub measured: Measured,
    pub trend: TrendReport,
}

/// Everything the forecast tab's sliders work from, in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastData {
    /// All workflows first, then each workflow by cost.
    pub items: Vec<ForecastItem>,
}

pub const FORECAST_MONTH_DAYS: f64 = 30.0;

/// Drivers and trends for all workflows and each one.
pub fn forecast(conn: &Connection, pricer: &mut Pricer, now: i64, tz: &TimeZone) -> rusqlite::Result<ForecastData> {
    // The ledger tab's 30-day window: both views show the same cost.
    let since = WindowKind::Days30.window(now, tz).since.unwrap_or(now);
    let mut items = Vec::new();
    for m in drivers::measure_all(conn, pricer, since, now, FORECAST_MONTH_DAYS)? {
        let trend = drivers::trend_report(conn, m.workflow.as_deref(), now, tz)?;
        items.push(ForecastItem { measured: m, trend });
    }
    Ok(ForecastData { items })
}

fn live(conn: &Connection, now: i64, tz: &TimeZone) -> rusqlite::Result<LiveData> {
    let minute_now = now.div_euclid(MS_PER_MINUTE) * MS_PER_MINUTE;
    let first_minute = minute_now - (SPARK_MINUTES as i64 - 1) * MS_PER_MINUTE;
    let burn_start = minute_now - (BURN_MINUTES - 1) * MS_PER_MINUTE;
    let trailing_start = burn_start - 60 * MS_PER_MINUTE;
    let day = Window { since: Some(time::start_of_local_day(now, tz)), until: None };
    let month_start = start_of_month(now, tz);

    let mut map: HashMap<String, LiveWorkflow> = HashMap::new();
    for (wf, agg) in queries::group(conn, Dim::Workflow, day, QueryPath::Rollup)? {
        map.entry(wf.clone()).or_insert_with(|| LiveWorkflow { workflow: wf, ..Default::default() }).today = agg;
    }
    for (wf, minute, agg) in minutes_by_workflow(conn, trailing_start.min(first_minute), minute_now + MS_PER_MINUTE)? {
        let w = map.entry(wf.clone()).or_insert_with(|| LiveWorkflow { workflow: wf, ..Default::default() });
        if w.per_minute.is_empty() {
            w.per_minute = vec![0; SPARK_MINUTES];
        }
        if minute >= first_minute {
            let i = ((minute - first_minute) / MS_PER_MINUTE) as usize;
            if let Some(slot) = w.per_minute.get_mut(i) {
                *slot += agg.cost_nano;
            }
            w.last_hour.add(&agg);
        }
        if minute >= burn_start {
            w.recent.add(&agg);
        } else if minute >= trailing_start {
            w.trailing_cost += agg.cost_nano;
        }
    }
    let teams = queries::dominant_pair(
        conn,
        Dim::WorkflowTeam,
        Window { since: Some(month_start), until: None },
        QueryPath::Rollup,
    )?;
    let mut workflows: Vec<LiveWorkflow> = map
        .into_values()
        .map(|mut w| {
            if w.per_minute.is_empty() {
                w.per_minute = vec![0; SPARK_MINUTES];
            }
            w.team = teams.get(&w.workflow).cloned().filter(|t| !t.is_empty());
            w
        })
        .collect();
    workflows.sort_by(|a, b| {
        b.today
            .cost_nano
            .cmp(&a.today.cost_nano)
            .then(b.last_hour.cost_nano.cmp(&a.last_hour.cost_nano))
            .then(a.workflow.cmp(&b.workflow))
    });
    let total = |w: Window| -> rusqlite::Result<Agg> {
        Ok(queries::group(conn, Dim::Total, w, QueryPath::Rollup)?.into_iter().map(|(_, a)| a).fold(
            Agg::default(),
            |mut acc, a| {
                acc.add(&a);
                acc
            },
        ))
    };
    Ok(LiveData {
        workflows,
        today: total(day)?,
        month: total(Window { since: Some(month_start), until: None })?,
        last_24h_cost: total(Window { since: Some(now - 24 * MS_PER_HOUR), until: None })?.cost_nano,
        month_start_ms: month_start,
        month_end_ms: end_of_month(now, tz),
        newest_ts: newest_ts(conn)?,
    })
}

/// The breakdowns shown when a row of the ledger grouped by `by` is opened.
fn breakdown_dims(by: GroupBy) -> Vec<(&'static str, Dim, bool)> {
    match by {
        GroupBy::Workflow => vec![("Models", Dim::WorkflowModel, true), ("Customers", Dim::WorkflowCustomer, true)],
        GroupBy::Team => vec![("Models", Dim::TeamModel, true), ("Customers", Dim::TeamCustomer, true)],
        GroupBy::Customer => vec![("Models", Dim::CustomerModel, true), ("Workflows", Dim::WorkflowCustomer, false)],
        GroupBy::Model => vec![("Workflows", Dim::WorkflowModel, false), ("Customers", Dim::CustomerModel, false)],
        _ => vec![],
    }
}

fn drill(conn: &Connection, l: &Ledger, key: &str, w: Window, tz: &TimeZone) -> rusqlite::Result<Option<Drill>> {
    let Some(dim) = l.by.dim() else { return Ok(None) };
    let row = l.rows.iter().find(|r| r.key == key).map(|r| r.agg).unwrap_or_default();
    let mut breakdowns = Vec::new();
    for (title, pair, first) in breakdown_dims(l.by) {
        breakdowns.push((title, pair_breakdown(conn, pair, first, key, w)?));
    }
    let mut days: Vec<(String, Agg)> = Vec::new();
    for (hour, agg) in hours_of_key(conn, dim, key, w)? {
        let label = time::local_day(hour, tz);
        match days.last_mut() {
            Some((d, a)) if *d == label => a.add(&agg),
            _ => days.push((label, agg)),
        }
    }
    Ok(Some(Drill { key: key.to_string(), row, breakdowns, daily: days }))
}

/// Reads everything the cockpit shows.
pub fn snapshot(conn: &Connection, p: &QueryParams, pricer: &mut Pricer) -> rusqlite::Result<Snapshot> {
    let w = p.window.window(p.now_ms, &p.tz);
    let ledger = queries::ledger(conn, p.group, w, &p.tz)?;
    let drill = match &p.drill {
        Some(k) => drill(conn, &ledger, k, w, &p.tz)?,
        None => None,
    };
    Ok(Snapshot {
        params: p.clone(),
        live: live(conn, p.now_ms, &p.tz)?,
        ledger,
        drill,
        sources: {
            let sources = queries::sources(conn)?;
            let on_disk = sources.iter().map(|s| std::fs::metadata(&s.path).ok().map(|m| m.len())).collect();
            SourcesData {
                sources,
                on_disk,
                rejects: queries::rejects(conn, 20, None)?,
                reject_total: queries::reject_count(conn)?,
            }
        },
        forecast: if p.forecast { Some(forecast(conn, pricer, p.now_ms, &p.tz)?) } else { None },
    })
}
