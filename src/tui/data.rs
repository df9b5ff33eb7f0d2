//! What the cockpit shows, read from the ledger on the query thread.
//!
//! A [`Snapshot`] holds the report models every tab needs, so switching
//! tabs never waits for SQLite; only changing the ledger's grouping,
//! window or drill-down asks for a new one. Everything here is plain data
//! built by [`crate::reports`].

use jiff::tz::TimeZone;
use rusqlite::Connection;

use crate::domain::money::Nanos;
use crate::domain::time;
use crate::forecast::drivers::{self, Measured, TrendReport};
use crate::operate::Operate;
use crate::pricing::Pricer;
use crate::reports::alerts::{AlertsReport, BUDGET_ALERT};
use crate::reports::gate as gate_report;
use crate::reports::kpis::KpiReport;
use crate::reports::ledger::{LedgerOutcomes, LedgerReport};
use crate::reports::live::{self, LiveData};
use crate::reports::raci::RaciReport;
use crate::reports::sources::{SourceLine, SourcesReport};
use crate::reports::window::WindowKind;
use crate::store::events::Event;
use crate::store::live::{MinuteCache, hours_of_key, pair_breakdown};
use crate::store::queries::{self, GroupBy, RejectView};
use crate::store::rollup::{Agg, Dim};

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
    /// Read the forecast's data ahead after the refresh when it is due
    /// (another tab shows: entering the Forecast tab then draws at once).
    pub forecast_ahead: bool,
    /// Workflows an `[[outcome.rule]]` defines success for.
    pub outcome_rules: Vec<String>,
    /// Load the KPI board too.
    pub kpis: bool,
    /// The RACI, owners, budgets and KPI targets.
    pub operate: std::sync::Arc<Operate>,
}

/// One ledger row opened up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drill {
    pub key: String,
    pub row: Agg,
    /// (title, rows): e.g. ("Models", [(model, sums)]).
    pub breakdowns: Vec<(&'static str, Vec<(String, Agg)>)>,
    /// Cost per local day over the whole window, oldest first, days
    /// without spend included.
    pub daily: Vec<(String, Nanos)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourcesData {
    pub report: SourcesReport,
    pub rejects: Vec<RejectView>,
    pub reject_total: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub params: QueryParams,
    pub live: LiveData,
    pub ledger: LedgerReport,
    pub drill: Option<Drill>,
    pub sources: SourcesData,
    pub forecast: Option<ForecastData>,
    pub gate: GateData,
    pub operate: OperateData,
}

/// The RACI tab, the budgets (header, Live) and the KPI board.
#[derive(Clone, Debug, PartialEq)]
pub struct OperateData {
    pub raci: RaciReport,
    /// Budgets judged now.
    pub budgets: AlertsReport,
    /// Budget alerts recorded as firing (the cockpit's memory across
    /// restarts).
    pub open_alerts: Vec<Event>,
    /// Budget alerts of the last 24 hours, firing or resolved.
    pub recent_alerts: Vec<Event>,
    /// Loaded on the KPIs tab, with the budgets it judged (their own
    /// projections and variance).
    pub kpis: Option<(KpiReport, AlertsReport)>,
}

impl OperateData {
    /// The accountable person of a workflow, when the config names one.
    pub fn owner_of(&self, workflow: &str) -> Option<&str> {
        self.raci.owners.iter().find(|o| o.workflow == workflow).and_then(|o| o.accountable.as_deref())
    }
}

/// Reads the operate views as of `now`.
pub fn operate(
    conn: &Connection,
    p: &QueryParams,
    pricer: &mut Pricer,
    projection: Option<Nanos>,
    minutes: &mut MinuteCache,
    teams: &[crate::reports::live::LiveWorkflow],
) -> rusqlite::Result<OperateData> {
    let op = &p.operate;
    // Month to date without reading a call twice: whole hours from the
    // rollups, this hour from the budgets' minute cache; each workflow's
    // team as the Live tab shows it.
    minutes.refresh(conn, p.now_ms)?;
    let teams: std::collections::HashMap<String, String> =
        teams.iter().filter_map(|w| Some((w.workflow.clone(), w.team.clone()?))).collect();
    let mut by_wf: Vec<(String, Nanos)> =
        crate::reports::alerts::month_to_date(conn, crate::store::rollup::Dim::Workflow, p.now_ms, &p.tz, minutes)?
            .into_iter()
            .collect();
    by_wf.sort();
    let raci = RaciReport::build(op, Some(&(by_wf, teams.clone())));
    let budgets = AlertsReport::now(conn, op, p.now_ms, &p.tz, projection, minutes, &teams)?;
    let alerts = crate::store::events::list(conn, BUDGET_ALERT, p.now_ms - 24 * time::MS_PER_HOUR)?;
    let open_alerts = alerts.iter().filter(|e| e.ended_at.is_none()).cloned().collect();
    let kpis = if p.kpis {
        let full = AlertsReport::build(conn, op, p.now_ms, &p.tz)?;
        Some((KpiReport::build(conn, op, &full, pricer, p.now_ms, &p.tz)?, full))
    } else {
        None
    };
    Ok(OperateData { raci, budgets, open_alerts, recent_alerts: alerts, kpis })
}

/// Recorded gate runs: the history (one row per comparison, newest first)
/// and each run's figures by row id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GateData {
    pub history: Vec<gate_report::RunRow>,
    /// (recorded at, the run's figures).
    pub runs: Vec<(i64, gate_report::GateJson)>,
}

impl GateData {
    pub fn read(conn: &Connection) -> rusqlite::Result<GateData> {
        let events = crate::store::events::list(conn, gate_report::GATE_RUN, i64::MIN)?;
        let history = gate_report::history(&events, None);
        let runs = events
            .iter()
            .filter_map(|e| Some((e.started_at, serde_json::from_value(e.data.get("gate")?.clone()).ok()?)))
            .collect();
        Ok(GateData { history, runs })
    }

    /// The history row with this id and its run's figures.
    pub fn find(&self, id: &str) -> Option<(&gate_report::RunRow, &gate_report::GateJson)> {
        let row = self.history.iter().find(|r| gate_report::run_row_id(r) == id)?;
        let run = self.runs.iter().find(|(at, _)| *at == row.recorded_at).map(|(_, j)| j)?;
        Some((row, run))
    }
}

/// One row of the forecast tab: a workflow (or all) with its drivers over
/// the ledger's 30 d window (scaled to a [`FORECAST_MONTH_DAYS`]-day month)
/// and its month-end trend.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastItem {
    pub measured: Measured,
    pub trend: TrendReport,
}

impl ForecastItem {
    /// The item's identity: its workflow, `None` for all of them.
    pub fn key(&self) -> Option<&str> {
        self.measured.workflow.as_deref()
    }
}

/// Everything the forecast tab's sliders work from, in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastData {
    /// All workflows first, then each workflow by cost.
    pub items: Vec<ForecastItem>,
}

pub const FORECAST_MONTH_DAYS: f64 = 30.0;

/// Drivers and trends for all workflows and each one. The all-workflows
/// trend is the one projection the header shows (`projection`).
pub fn forecast(
    conn: &Connection,
    pricer: &mut Pricer,
    now: i64,
    tz: &TimeZone,
    projection: &TrendReport,
) -> rusqlite::Result<ForecastData> {
    // The ledger tab's 30-day window: both views show the same cost.
    let since = WindowKind::Days30.window(now, tz).since.unwrap_or(now);
    let mut items = Vec::new();
    // Every workflow's trend from one read of the workflow rollups.
    let mut trends = drivers::trend_reports_of_all(conn, Dim::Workflow, now, tz)?;
    for m in drivers::measure_all(conn, pricer, since, now, FORECAST_MONTH_DAYS)? {
        let trend = match m.workflow.as_deref() {
            None => projection.clone(),
            Some(w) => trends.remove(w).unwrap_or_else(|| TrendReport::empty(now, tz)),
        };
        items.push(ForecastItem { measured: m, trend });
    }
    Ok(ForecastData { items })
}

/// The breakdowns shown when a row of the ledger grouped by `by` is opened.
fn breakdown_dims(by: GroupBy) -> Vec<(&'static str, Dim, bool)> {
    match by.dimension().and_then(Dim::single) {
        Some(Dim::Workflow) => vec![("Models", Dim::WorkflowModel, true), ("Customers", Dim::WorkflowCustomer, true)],
        Some(Dim::Team) => vec![("Models", Dim::TeamModel, true), ("Customers", Dim::TeamCustomer, true)],
        Some(Dim::Customer) => vec![("Models", Dim::CustomerModel, true), ("Workflows", Dim::WorkflowCustomer, false)],
        Some(Dim::Model) => vec![("Workflows", Dim::WorkflowModel, false), ("Customers", Dim::CustomerModel, false)],
        _ => vec![],
    }
}

fn drill(conn: &Connection, l: &queries::Ledger, key: &str, p: &QueryParams) -> rusqlite::Result<Option<Drill>> {
    let Some(dim) = l.by.dimension().and_then(Dim::single) else { return Ok(None) };
    let w = l.window;
    let row = l.rows.iter().find(|r| r.key == key).map(|r| r.agg).unwrap_or_default();
    let mut breakdowns = Vec::new();
    for (title, pair, first) in breakdown_dims(l.by) {
        breakdowns.push((title, pair_breakdown(conn, pair, first, key, w)?));
    }
    // Every local day of the window, empty ones included.
    let first = time::start_of_local_day(w.since.unwrap_or(p.now_ms), &p.tz);
    let end = w.until.unwrap_or(p.now_ms);
    let mut days: Vec<(String, i64, Nanos)> = Vec::new();
    let mut d = first;
    while d < end {
        days.push((time::local_day(d, &p.tz), d, Nanos::ZERO));
        d = time::next_local_day(d, &p.tz);
    }
    for (hour, agg) in hours_of_key(conn, dim, key, w)? {
        let i = days.partition_point(|(_, s, _)| *s <= hour);
        if i > 0 {
            days[i - 1].2 += agg.cost;
        }
    }
    Ok(Some(Drill { key: key.to_string(), row, breakdowns, daily: days.into_iter().map(|(l, _, c)| (l, c)).collect() }))
}

/// Reads everything the cockpit shows.
pub fn snapshot(conn: &Connection, p: &QueryParams, pricer: &mut Pricer) -> rusqlite::Result<Snapshot> {
    snapshot_cached(conn, p, pricer, &mut MinuteCache::default())
}

/// [`snapshot`] with the budgets' minute spend kept between refreshes.
pub fn snapshot_cached(
    conn: &Connection,
    p: &QueryParams,
    pricer: &mut Pricer,
    minutes: &mut MinuteCache,
) -> rusqlite::Result<Snapshot> {
    let w = p.window.window(p.now_ms, &p.tz);
    let ledger = queries::ledger(conn, p.group, w, &p.tz)?;
    let drill = match &p.drill {
        Some(k) => drill(conn, &ledger, k, p)?,
        None => None,
    };
    let live = live::live(conn, p.now_ms, &p.tz)?;
    let forecast = if p.forecast { Some(forecast(conn, pricer, p.now_ms, &p.tz, &live.projection)?) } else { None };
    let operate =
        operate(conn, p, pricer, live.projection.trend.as_ref().map(|t| t.projected), minutes, &live.workflows)?;
    Ok(Snapshot {
        params: p.clone(),
        ledger: LedgerReport {
            outcomes: LedgerOutcomes::load(conn, &ledger, &p.tz, p.outcome_rules.clone())?,
            ledger,
            window_label: p.window.label(),
            tz_name: time::tz_name(&p.tz),
        },
        drill,
        sources: SourcesData {
            report: SourcesReport {
                sources: queries::sources(conn)?.into_iter().map(SourceLine::of).collect(),
                now_ms: p.now_ms,
            },
            rejects: queries::rejects(conn, 20, None)?,
            reject_total: queries::reject_count(conn)?,
        },
        live,
        forecast,
        gate: GateData::read(conn)?,
        operate,
    })
}

/// Lines read per second per source, from two snapshots `dt_ms` apart.
pub fn source_rates(prev: &SourcesReport, cur: &mut SourcesReport) {
    let dt_ms = cur.now_ms - prev.now_ms;
    for s in &mut cur.sources {
        let before = prev.sources.iter().find(|p| p.view.id == s.view.id).map(|p| p.view.lines).unwrap_or(s.view.lines);
        s.rate = (dt_ms > 0).then(|| s.view.lines.saturating_sub(before) as f64 * 1000.0 / dt_ms as f64);
    }
}
