//! Snapshots to share: a view's report models as sections (a table, an
//! optional chart, the model's JSON) under a stamp that says what was
//! read, so anyone with the same ledger can reproduce it. The printers in
//! [`super::export`] render one snapshot as Markdown, HTML, JSON or CSV;
//! every number comes from the same report models the command line and
//! the cockpit print.

use serde::Serialize;

use super::table::Table;
use crate::domain::money::Nanos;

/// What a snapshot was made from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stamp {
    pub generated_at: String,
    /// The window in words, and its bounds (RFC 3339; null: open).
    pub window: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub tz: String,
    pub aifin_version: &'static str,
    pub catalog_version: String,
    /// xxh3 of the config's attribution rules and owners (16 hex digits).
    pub rules_hash: String,
    /// xxh3 over the report rows included, the ledger's call count and its
    /// newest call time.
    pub ledger_fingerprint: String,
    pub ledger_calls: i64,
    pub ledger_newest: Option<String>,
}

/// A chart drawn from a section's data.
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    /// Spend per period stacked by series (e.g. per day by workflow).
    Stacked { labels: Vec<String>, series: Vec<(String, Vec<Nanos>)> },
    /// Actual spend per day, then the projection with its P10-P90 band.
    Projection { actual: Vec<(String, f64)>, ahead: Vec<(String, f64, f64, f64)> },
    /// A value per row with an interval (pass rates): (label, low, point, high).
    Intervals { rows: Vec<(String, f64, f64, f64)> },
    /// A value per row against a limit line (burn as a multiple of budget).
    Bars { rows: Vec<(String, f64)>, limit: f64, unit: &'static str },
}

/// One part of a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub table: Table,
    /// The column keys a Markdown snapshot keeps (None: all of them).
    pub brief: Option<Vec<&'static str>>,
    pub chart: Option<Chart>,
}

/// A view, ready for a printer.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// `ledger`, `budgets`, ...
    pub view: &'static str,
    pub title: String,
    pub stamp: Stamp,
    /// A few lines that say what matters.
    pub summary: Vec<String>,
    pub sections: Vec<Section>,
    /// The view's report models as the CLI's `--json` prints them.
    pub json: serde_json::Value,
}

/// The fingerprint of a snapshot's rows: xxh3 over every section's rows
/// (machine text), the ledger's call count and its newest call.
pub fn fingerprint(sections: &[Section], calls: i64, newest: Option<i64>) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for s in sections {
        for r in s.table.rows.iter().map(|r| &r.cells).chain(s.table.total.iter()) {
            for c in r {
                h.update(c.machine().as_bytes());
                h.update(&[0x1f]);
            }
            h.update(&[0x1e]);
        }
    }
    h.update(&calls.to_le_bytes());
    h.update(&newest.unwrap_or(i64::MIN).to_le_bytes());
    format!("{:016x}", h.digest())
}

use std::sync::Arc;

use jiff::tz::TimeZone;
use rusqlite::Connection;

use super::table::{Cell, Column, Row};
use crate::domain::time;
use crate::operate::Operate;
use crate::pricing::Pricer;
use crate::store::queries::{self, GroupBy, QueryPath, Window};
use crate::store::rollup::Dim;

/// The views a snapshot can show, in `--view all` order.
pub const VIEWS: [&str; 10] =
    ["ledger", "live", "forecast", "outcomes", "budgets", "kpis", "raci", "gate", "sources", "levers"];

/// What a snapshot reads.
#[derive(Clone, Debug)]
pub struct Params {
    pub now: i64,
    pub window: Window,
    pub window_label: String,
    /// The moment the budgets, KPIs and owners are judged at (the window's
    /// end, else now).
    pub as_of: i64,
    pub tz: TimeZone,
    pub by: GroupBy,
    pub catalog_version: String,
    pub rules_hash: String,
    pub outcome_rules: Vec<String>,
    /// The levers of the `levers` view (without them the view is left out).
    pub levers: Option<crate::levers::LeverSet>,
    /// The `levers` view's report when it was already replayed (the
    /// cockpit's last result): not replayed again.
    pub levers_report: Option<Arc<super::levers::LeversReport>>,
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Workflows with the most spend in the window get a series each; the
/// rest are summed as "other".
const STACKED_SERIES: usize = 6;

/// Spend per local day of `w`, stacked by workflow (none for windows over
/// 92 days, or open ones with no data).
fn daily_by_workflow(conn: &Connection, w: Window, tz: &TimeZone, now: i64) -> rusqlite::Result<Option<Chart>> {
    let span: Option<(i64, i64)> =
        conn.query_row("SELECT MIN(hour), MAX(hour) FROM rollup_hour WHERE dim = 0", [], |r| {
            Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
        })?;
    let Some((h0, h1)) = span else { return Ok(None) };
    let since = w.since.unwrap_or(h0 * time::MS_PER_HOUR).max(h0 * time::MS_PER_HOUR);
    let until = w.until.unwrap_or(now).min((h1 + 1) * time::MS_PER_HOUR);
    if until <= since || until - since > 92 * time::MS_PER_DAY {
        return Ok(None);
    }
    let mut days: Vec<(String, i64, i64)> = Vec::new();
    let mut d = time::start_of_local_day(since, tz);
    while d < until {
        let next = time::next_local_day(d, tz);
        days.push((time::local_day(d, tz), d.max(since), next.min(until)));
        d = next;
    }
    let mut per: Vec<std::collections::HashMap<String, Nanos>> = Vec::with_capacity(days.len());
    let mut totals: std::collections::HashMap<String, Nanos> = std::collections::HashMap::new();
    for (_, a, b) in &days {
        let m: std::collections::HashMap<String, Nanos> =
            queries::group(conn, Dim::Workflow, Window { since: Some(*a), until: Some(*b) }, QueryPath::Rollup)?
                .into_iter()
                .map(|(k, a)| (k, a.cost))
                .collect();
        for (k, c) in &m {
            *totals.entry(k.clone()).or_insert(Nanos::ZERO) += *c;
        }
        per.push(m);
    }
    let mut names: Vec<(String, Nanos)> = totals.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<String> = names.iter().take(STACKED_SERIES).map(|(k, _)| k.clone()).collect();
    let mut series: Vec<(String, Vec<Nanos>)> = top
        .iter()
        .map(|k| {
            let label = if k.is_empty() { "(unattributed)".to_string() } else { k.clone() };
            (label, per.iter().map(|m| m.get(k).copied().unwrap_or(Nanos::ZERO)).collect())
        })
        .collect();
    if names.len() > STACKED_SERIES {
        series.push((
            "other".into(),
            per.iter().map(|m| m.iter().filter(|(k, _)| !top.contains(k)).map(|(_, c)| *c).sum()).collect(),
        ));
    }
    Ok(Some(Chart::Stacked { labels: days.into_iter().map(|(l, ..)| l[5..].to_string()).collect(), series }))
}

fn ledger_view(
    conn: &Connection,
    p: &Params,
) -> rusqlite::Result<(String, Vec<String>, Vec<Section>, serde_json::Value)> {
    let ledger = queries::ledger(conn, p.by, p.window, &p.tz)?;
    let outcomes = super::ledger::LedgerOutcomes::load(conn, &ledger, &p.tz, p.outcome_rules.clone())?;
    let r = super::ledger::LedgerReport {
        ledger,
        window_label: p.window_label.clone(),
        tz_name: time::tz_name(&p.tz),
        outcomes,
    };
    let l = &r.ledger;
    let mut summary = vec![format!(
        "{} over {} calls; attribution coverage {}",
        l.total.cost,
        super::table::thousands(l.total.calls),
        super::table::coverage(super::ledger::attribution_coverage(l))
    )];
    let mut rows: Vec<&queries::LedgerRow> = l.rows.iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.agg.cost));
    for row in rows.iter().take(3) {
        summary.push(format!(
            "{}: {} ({})",
            if row.key.is_empty() { l.by.missing_label() } else { row.key.as_str() },
            row.agg.cost,
            super::table::percent(super::ledger::share(row.agg.cost.0, l.total.cost.0), 1)
        ));
    }
    let chart = daily_by_workflow(conn, p.window, &p.tz, p.now)?;
    let section = Section {
        table: r.table(),
        brief: Some(vec!["key", "team", "price_key", "calls", "cost_usd", "share", "cost_per_success_usd"]),
        chart,
    };
    Ok((r.title(), summary, vec![section], to_json(&r.json())))
}

fn forecast_view(
    conn: &Connection,
    p: &Params,
    pricer: &mut Pricer,
) -> rusqlite::Result<(String, Vec<String>, Vec<Section>, serde_json::Value)> {
    use crate::forecast::drivers;
    let until = p.as_of;
    let since = until - 30 * time::MS_PER_DAY;
    let items = drivers::measure_all(conn, pricer, since, until, 30.0)?;
    let mut rows = Vec::new();
    let mut json = Vec::new();
    let mut chart = None;
    let mut summary = Vec::new();
    for m in &items {
        let t = drivers::trend_report(conn, m.workflow.as_deref(), p.as_of, &p.tz)?;
        let trend = t.trend.as_ref();
        if m.workflow.is_none() {
            summary.push(super::forecast::drivers_line("all workflows", Some(m)));
            summary.push(super::forecast::trend_line(&t));
            summary.push(super::forecast::accuracy_line(t.backtest.as_ref()));
            chart = trend.map(|tr| Chart::Projection {
                actual: t.recent.iter().map(|(l, v)| (l[5..].to_string(), v.to_usd_f64())).collect(),
                ahead: t
                    .ahead
                    .iter()
                    .zip(tr.daily.iter().skip(1))
                    .map(|(l, (e, lo, hi))| (l[5..].to_string(), *e, *lo, *hi))
                    .collect(),
            });
        }
        let d = &m.drivers;
        rows.push(Row {
            id: m.workflow.clone().unwrap_or_default(),
            cells: vec![
                match &m.workflow {
                    Some(w) => Cell::text(w),
                    None => Cell::Label("all workflows"),
                },
                Cell::Avg(d.calls),
                Cell::Avg(d.tokens_per_call),
                Cell::Rate(d.rate_per_1k_usd),
                Cell::Usd(d.monthly_cost),
                trend.map(|t| Cell::Usd(t.projected)).unwrap_or(Cell::Empty),
                trend.map(|t| Cell::Usd(t.p10)).unwrap_or(Cell::Empty),
                trend.map(|t| Cell::Usd(t.p90)).unwrap_or(Cell::Empty),
            ],
        });
        json.push(serde_json::json!({
            "workflow": m.workflow,
            "drivers": to_json(&super::forecast::DriversJson::from(d)),
            "measured": to_json(&super::forecast::MeasuredJson::from(m)),
            "trend": to_json(&super::forecast::TrendReportJson::from(&t)),
        }));
    }
    let table = Table {
        title: format!("Forecast · drivers over the 30 days to {} · month-end trend", time::format_utc(until)),
        columns: vec![
            Column::left("workflow", "Workflow", 0),
            Column::right("calls_per_month", "Calls/month", 2),
            Column::right("tokens_per_call", "Tokens/call", 3),
            Column::right("rate_per_1k_usd", "Rate per 1K", 4),
            Column::right("monthly_cost_usd", "Month at today's rate", 1),
            Column::right("month_end_usd", "Month end", 0),
            Column::right("p10_usd", "P10", 5),
            Column::right("p90_usd", "P90", 5),
        ],
        rows,
        total: None,
        notes: vec![],
    };
    let brief = Some(vec!["workflow", "calls_per_month", "monthly_cost_usd", "month_end_usd"]);
    Ok((
        format!("Forecast · {}", time::local_month(p.as_of, &p.tz)),
        summary,
        vec![Section { table, brief, chart }],
        serde_json::Value::Array(json),
    ))
}

/// Live spend at the snapshot's moment: per workflow, today, the last 24
/// hours, the burn rate against its baseline and the runaway, with the
/// accountable person; the budget alerts firing (the incident paste).
fn live_view(
    conn: &Connection,
    p: &Params,
    op: &Operate,
) -> rusqlite::Result<(String, Vec<String>, Vec<Section>, serde_json::Value)> {
    let live = super::live::live(conn, p.as_of, &p.tz)?;
    let spend = super::raci::month_spend(conn, p.as_of, &p.tz)?;
    let raci = super::raci::RaciReport::build(op, Some(&spend));
    let owner = |w: &str| raci.owners.iter().find(|o| o.workflow == w).and_then(|o| o.accountable.clone());
    let alerts = super::alerts::AlertsReport::build(conn, op, p.as_of, &p.tz)?;
    let mut summary = vec![format!(
        "today {} · month to date {} · last 24 h {} ({}/h)",
        live.today.cost,
        live.month.cost,
        live.last_24h,
        live.run_rate_24h()
    )];
    for w in live.runaways() {
        summary.push(format!(
            "RUNAWAY {}: {}{}",
            w.workflow,
            w.runaway_reason().unwrap_or_default(),
            owner(&w.workflow).map(|o| format!(" · {o}")).unwrap_or_default()
        ));
    }
    for a in alerts.firing() {
        summary.push(format!(
            "{} {} at {:.1}x budget since {}{}",
            a.alert.severity.name().to_uppercase(),
            a.alert.scope.name(),
            a.alert.burn,
            time::format_utc(a.alert.started_at),
            [a.owner.as_deref(), a.oncall.as_deref()]
                .into_iter()
                .flatten()
                .map(|s| format!(" · {s}"))
                .collect::<String>()
        ));
    }
    let rows: Vec<Row> = live
        .workflows
        .iter()
        .map(|w| Row {
            id: w.workflow.clone(),
            cells: vec![
                Cell::text_or(Some(w.workflow.as_str()), "(unattributed)"),
                Cell::text_or(w.team.as_deref(), "-"),
                Cell::text_or(owner(&w.workflow).as_deref(), "-"),
                Cell::Usd(w.today.cost),
                Cell::Usd(w.day.cost),
                Cell::Usd(w.burn_per_hour()),
                Cell::Usd(w.baseline_per_hour),
                Cell::Label(if w.runaway.is_some() { "RUNAWAY" } else { "" }),
            ],
        })
        .collect();
    let table = Table {
        title: format!("Live · as of {}", time::format_utc(p.as_of)),
        columns: vec![
            Column::left("workflow", "Workflow", 0),
            Column::left("team", "Team", 3),
            Column::left("accountable", "Accountable", 2),
            Column::right("today_usd", "Today", 1),
            Column::right("last_24h_usd", "24 h", 0),
            Column::right("burn_per_hour_usd", "Burn $/h", 0),
            Column::right("baseline_per_hour_usd", "Baseline $/h", 2),
            Column::left("runaway", "Runaway", 0),
        ],
        rows,
        total: None,
        notes: vec!["Burn: spend over the last two minutes as dollars per hour".into()],
    };
    let json = serde_json::json!({
        "as_of": time::format_utc(p.as_of),
        "today_nanousd": live.today.cost.0,
        "month_to_date_nanousd": live.month.cost.0,
        "last_24h_nanousd": live.last_24h.0,
        "workflows": live.workflows.iter().map(|w| serde_json::json!({
            "workflow": w.workflow,
            "team": w.team,
            "accountable": owner(&w.workflow),
            "today_usd": w.today.cost.to_usd_f64(),
            "last_24h_usd": w.day.cost.to_usd_f64(),
            "burn_per_hour_usd": w.burn_per_hour().to_usd_f64(),
            "baseline_per_hour_usd": w.baseline_per_hour.to_usd_f64(),
            "runaway": w.runaway.is_some(),
        })).collect::<Vec<_>>(),
        "alerts": alerts.firing().map(super::alerts::alert_json).collect::<Vec<_>>(),
    });
    let brief = Some(vec!["workflow", "accountable", "last_24h_usd", "burn_per_hour_usd", "runaway"]);
    Ok(("Live spend".to_string(), summary, vec![Section { table, brief, chart: None }], json))
}

/// Builds one view.
pub fn build(
    conn: &Connection,
    view: &str,
    p: &Params,
    op: &Operate,
    pricer: &mut Pricer,
) -> rusqlite::Result<Option<Snapshot>> {
    let (view, (title, summary, sections, json)): (&'static str, _) = match view {
        "ledger" => ("ledger", ledger_view(conn, p)?),
        "forecast" => ("forecast", forecast_view(conn, p, pricer)?),
        "live" => ("live", live_view(conn, p, op)?),
        "outcomes" => {
            let r = super::outcomes::OutcomesReport::build(conn, p.by, p.window, p.as_of, &p.tz, &p.outcome_rules)?;
            let summary = vec![match r.coverage {
                Some(c) => format!("outcome coverage {} of spend", super::table::coverage(c)),
                None => "no spend in the window".into(),
            }];
            let brief = Some(vec!["key", "successes", "spend_usd", "cost_per_success_usd", "verdict"]);
            (
                "outcomes",
                (r.title(), summary, vec![Section { table: r.table(), brief, chart: None }], to_json(&r.json())),
            )
        }
        "budgets" => {
            let r = super::alerts::AlertsReport::build(conn, op, p.as_of, &p.tz)?;
            let firing = r.firing().count();
            let summary = vec![if op.budgets.is_empty() {
                "no [[budget]] in the config".to_string()
            } else {
                format!(
                    "{} budget(s); {firing} alert(s) firing, {} in the last 7 days",
                    r.budgets.len(),
                    r.alerts.len()
                )
            }];
            // Each budget's month end (projected, else spent so far) as a
            // multiple of the budget: over the line is over budget.
            let bars: Vec<(String, f64)> = r
                .budgets
                .iter()
                .map(|b| {
                    let v = b.projected.unwrap_or(b.spent).0 as f64 / b.budget.monthly.0.max(1) as f64;
                    (b.budget.scope.name().to_string(), v)
                })
                .collect();
            let chart =
                (!bars.is_empty()).then_some(Chart::Bars { rows: bars, limit: 1.0, unit: "× budget at month end" });
            let sections = vec![
                Section { table: r.budgets_table(), brief: None, chart },
                Section { table: r.alerts_table(), brief: None, chart: None },
            ];
            ("budgets", ("Budgets and burn-rate alerts".to_string(), summary, sections, to_json(&r.json())))
        }
        "kpis" => {
            let full = super::alerts::AlertsReport::build(conn, op, p.as_of, &p.tz)?;
            let r = super::kpis::KpiReport::build(conn, op, &full, pricer, p.as_of, &p.tz)?;
            let mut summary = vec![format!("{} KPI(s) in breach", r.breaches())];
            summary.extend(r.next_action().map(|a| format!("next: {a}")));
            let sections = vec![
                Section {
                    table: r.table(),
                    brief: Some(vec!["kpi", "value", "target", "status", "owner"]),
                    chart: None,
                },
                Section { table: r.rollout_table(), brief: None, chart: None },
            ];
            ("kpis", ("KPIs and SLOs".to_string(), summary, sections, to_json(&r.json())))
        }
        "raci" => {
            let spend = super::raci::month_spend(conn, p.as_of, &p.tz)?;
            let r = super::raci::RaciReport::build(op, Some(&spend));
            let mut summary = vec![match r.ownership_coverage {
                Some(c) => format!("ownership coverage {} of month-to-date spend", super::table::coverage(c)),
                None => "ownership coverage: no spend this month".into(),
            }];
            summary.extend(op.errors().into_iter().map(|e| format!("error: {e}")));
            summary.extend(r.warnings.iter().map(|w| format!("warning: {w}")));
            let sections = vec![
                Section { table: r.matrix(), brief: None, chart: None },
                Section { table: r.owners_table(), brief: None, chart: None },
            ];
            ("raci", ("Who owns AI spend".to_string(), summary, sections, to_json(&r.json())))
        }
        "gate" => {
            let events = crate::store::events::list(conn, super::gate::GATE_RUN, i64::MIN)?;
            let rows = super::gate::history(&events, None);
            let mut sections = vec![Section { table: super::gate::history_table(&rows), brief: None, chart: None }];
            let mut summary = Vec::new();
            // The newest run side by side, its pass rates as interval bars.
            if let Some(e) = events.iter().max_by_key(|e| e.started_at)
                && let Some(run) =
                    e.data.get("gate").and_then(|g| serde_json::from_value::<super::gate::GateJson>(g.clone()).ok())
            {
                summary.push(super::gate::title(&run));
                let chart = Chart::Intervals {
                    rows: run
                        .configs
                        .iter()
                        .map(|c| (c.name.clone(), c.pass_rate_ci_low, c.pass_rate, c.pass_rate_ci_high))
                        .collect(),
                };
                sections.push(Section { table: super::gate::table(&run), brief: None, chart: Some(chart) });
            }
            (
                "gate",
                ("Eval gate runs".to_string(), summary, sections, to_json(&super::gate::HistoryJson { runs: &rows })),
            )
        }
        "sources" => {
            let r = super::sources::SourcesReport {
                sources: queries::sources(conn)?.into_iter().map(super::sources::SourceLine::of).collect(),
                now_ms: p.now,
            };
            let summary = vec![format!("{} source file(s)", r.sources.len())];
            let t = r.table(super::sources::Detail::Full);
            let brief = Some(vec!["path", "format", "calls", "rejects", "status"]);
            (
                "sources",
                ("Sources".to_string(), summary, vec![Section { table: t, brief, chart: None }], to_json(&r.json())),
            )
        }
        "levers" => {
            let Some(set) = &p.levers else { return Ok(None) };
            let r = match &p.levers_report {
                Some(r) => Arc::clone(r),
                None => {
                    match super::levers::LeversReport::build(conn, p.window, None, set, Arc::clone(pricer.catalog())) {
                        Ok(r) => Arc::new(r),
                        Err(crate::levers::ReplayError::Store(e)) => return Err(e),
                        // The command checked the routing target before.
                        Err(crate::levers::ReplayError::UnpricedTarget(_)) => return Ok(None),
                    }
                }
            };
            let t = &r.replay.total;
            let summary = vec![format!(
                "levers composed save {} of {} ({}); the naive sum would claim {}; proven by the gate: {}",
                t.composed_saving().format_usd(2),
                t.replayed.format_usd(2),
                if t.replayed.0 > 0 {
                    super::table::percent(t.composed_saving().0 as f64 / t.replayed.0 as f64, 1)
                } else {
                    "-".into()
                },
                t.naive_sum().format_usd(2),
                t.proven_saving().format_usd(2)
            )];
            let brief = Some(vec![
                "workflow",
                "replayed_usd",
                "composed_saving_usd",
                "composed_saving_pct",
                "proven_saving_usd",
            ]);
            (
                "levers",
                (
                    "Lever lab".to_string(),
                    summary,
                    vec![Section { table: r.table(), brief, chart: None }],
                    to_json(&r.json()),
                ),
            )
        }
        _ => return Ok(None),
    };
    let (calls, newest) = ledger_size(conn)?;
    let stamp = Stamp {
        generated_at: time::format_utc(p.now),
        window: p.window_label.clone(),
        since: p.window.since.map(time::format_utc),
        until: p.window.until.map(time::format_utc),
        tz: time::tz_name(&p.tz),
        aifin_version: env!("CARGO_PKG_VERSION"),
        catalog_version: p.catalog_version.clone(),
        rules_hash: p.rules_hash.clone(),
        ledger_fingerprint: fingerprint(&sections, calls, newest),
        ledger_calls: calls,
        ledger_newest: newest.map(time::format_utc),
    };
    Ok(Some(Snapshot { view, title, stamp, summary, sections, json }))
}

/// The ledger's call count (from the hourly totals) and newest call time.
pub fn ledger_size(conn: &Connection) -> rusqlite::Result<(i64, Option<i64>)> {
    let calls: i64 =
        conn.query_row("SELECT COALESCE(SUM(calls), 0) FROM rollup_hour WHERE dim = 0", [], |r| r.get(0))?;
    Ok((calls, crate::store::live::newest_ts(conn)?))
}
