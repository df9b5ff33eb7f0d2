//! The KPI/SLO board (the white paper's section IX) and the 90-day
//! rollout (section X), judged from the ledger.
//!
//! Every KPI's `value` is a fraction (null when not measured), compared
//! with its target: a **floor** (attribution coverage, cache hit rate,
//! eval pass rate at promotion) is breached below the target and warns
//! within a fifth of the room between the target and 1; a **ceiling**
//! (forecast error, the change in cost per success) is breached above the
//! target and warns within a fifth of the target below it; budget
//! variance is a ceiling on its absolute value. No target: tracked, `ok`.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use rusqlite::Connection;
use serde::Serialize;

use super::alerts::AlertsReport;
use super::table::{Cell, Column, Row, Table};
use crate::domain::money::Nanos;
use crate::domain::time::{self, MS_PER_DAY};
use crate::forecast::drivers;
use crate::operate::Operate;
use crate::pricing::Pricer;
use crate::store::events::{self, Event};
use crate::store::queries::{self, GroupBy, QueryPath, Window};
use crate::store::rollup::{Agg, Dim};

/// The events table's kind for a recorded review.
pub const REVIEW: &str = "review";
/// Months in each KPI's trend.
pub const TREND_MONTHS: i32 = 6;

/// The seven KPIs, in the paper's order: (name, title, what it is,
/// the RACI activity whose accountable function owns it).
pub const KPIS: [(&str, &str, &str, &str); 7] = [
    (
        "cost_per_successful_outcome",
        "Cost per successful outcome",
        "change quarter on quarter (to date)",
        "successful outcome",
    ),
    ("attribution_coverage", "Attribution coverage", "share of spend with a workflow", "attribute spend"),
    (
        "forecast_accuracy",
        "Forecast accuracy",
        "mean absolute error of the mid-month projection",
        "budget and forecast",
    ),
    ("input_share_of_spend", "Input share of spend", "input cost / total cost", "reduction levers"),
    (
        "eval_pass_rate_at_promotion",
        "Eval pass rate at promotion",
        "pass rate of the last promoted candidate",
        "evaluation gate",
    ),
    ("budget_variance", "Budget variance", "(projected - budget) / budget", "budget and forecast"),
    ("cache_hit_rate", "Cache hit rate", "cache-read input tokens / all input tokens", "reduction levers"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// At or above the target.
    Floor,
    /// At or below the target.
    Ceiling,
    /// The absolute value at or below the target.
    AbsCeiling,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warn,
    Breach,
    NotMeasured,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Breach => "breach",
            Status::NotMeasured => "not_measured",
        }
    }
}

/// Judges a value against a target (see the module's rules).
pub fn status(value: Option<f64>, target: Option<f64>, bound: Bound, warn_band: bool) -> Status {
    let Some(v) = value else { return Status::NotMeasured };
    let Some(t) = target else { return Status::Ok };
    let (breach, warn) = match bound {
        Bound::Floor => (v < t, v < t + 0.2 * (1.0 - t)),
        Bound::Ceiling => (v > t, v > t - 0.2 * t.abs()),
        Bound::AbsCeiling => (v.abs() > t, v.abs() > 0.8 * t),
    };
    if breach {
        Status::Breach
    } else if warn && warn_band {
        Status::Warn
    } else {
        Status::Ok
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Kpi {
    pub name: &'static str,
    pub title: &'static str,
    pub definition: &'static str,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub bound: Bound,
    pub status: Status,
    /// (month, value) oldest first.
    pub trend: Vec<(String, Option<f64>)>,
    /// The accountable function (from the RACI).
    pub owner: Option<String>,
    pub cadence: String,
    /// What the value is made of, for people.
    pub detail: String,
    /// Per workflow (input share only).
    pub by_workflow: Vec<(String, f64)>,
}

/// One step of the rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub step: u8,
    pub name: &'static str,
    pub status: &'static str,
    pub evidence: String,
    pub next_action: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KpiReport {
    pub as_of: i64,
    pub kpis: Vec<Kpi>,
    pub rollout: Vec<Step>,
}

/// The months of the trend: (label, window), oldest first, the last one
/// to date.
fn months(as_of: i64, tz: &TimeZone) -> Vec<(String, Window)> {
    (0..TREND_MONTHS)
        .rev()
        .map(|k| {
            let s = time::start_of_period(as_of - 1, tz, 1, -k);
            let e = time::start_of_period(as_of - 1, tz, 1, -k + 1).min(as_of);
            (time::local_month(s, tz), Window { since: Some(s), until: Some(e) })
        })
        .collect()
}

fn total(conn: &Connection, w: Window) -> rusqlite::Result<Agg> {
    let mut acc = Agg::default();
    for (_, a) in queries::group(conn, Dim::Total, w, QueryPath::Rollup)? {
        acc.add(&a);
    }
    Ok(acc)
}

fn cache_hit(a: &Agg) -> Option<f64> {
    let input = a.uncached_input + a.cache_read + a.cache_write;
    (input > 0).then(|| a.cache_read as f64 / input as f64)
}

/// Spend and successes of the workflows that have outcomes.
fn cps(conn: &Connection, w: Window, tz: &TimeZone) -> rusqlite::Result<Option<(Nanos, i64)>> {
    let outcomes = crate::store::outcomes::by_group(conn, GroupBy::WORKFLOW, w, tz)?;
    if outcomes.values().all(|o| o.outcomes == 0) {
        return Ok(None);
    }
    let cost: Nanos = queries::group(conn, Dim::Workflow, w, QueryPath::Rollup)?
        .into_iter()
        .filter(|(k, _)| outcomes.get(k).is_some_and(|o| o.outcomes > 0))
        .map(|(_, a)| a.cost)
        .sum();
    let successes = outcomes.values().map(|o| o.successes).sum();
    Ok(Some((cost, successes)))
}

fn per(c: Option<(Nanos, i64)>) -> Option<f64> {
    c.filter(|(_, n)| *n > 0).map(|(c, n)| c.to_usd_f64() / n as f64)
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The smallest set of workflows covering >= 80% of the last 30 days'
/// spend, largest first.
pub fn top_workflows(conn: &Connection, as_of: i64) -> rusqlite::Result<(Vec<String>, Nanos)> {
    let w = Window { since: Some(as_of - 30 * MS_PER_DAY), until: Some(as_of) };
    let mut rows: Vec<(String, Nanos)> = queries::group(conn, Dim::Workflow, w, QueryPath::Rollup)?
        .into_iter()
        .filter(|(k, a)| !k.is_empty() && a.cost.0 > 0)
        .map(|(k, a)| (k, a.cost))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let all: Nanos = total(conn, w)?.cost;
    let mut acc = 0i128;
    let mut top = Vec::new();
    for (k, c) in rows {
        if all.0 > 0 && acc * 5 >= all.0 as i128 * 4 {
            break;
        }
        acc += c.0 as i128;
        top.push(k);
    }
    Ok((top, all))
}

impl KpiReport {
    pub fn build(
        conn: &Connection,
        op: &Operate,
        budgets: &AlertsReport,
        pricer: &mut Pricer,
        as_of: i64,
        tz: &TimeZone,
    ) -> rusqlite::Result<KpiReport> {
        let months = months(as_of, tz);
        let mtd = months.last().map(|m| m.1).unwrap_or_default();
        let cfg = |name: &str| op.kpi.get(name);
        let target = |name: &str, default: Option<f64>| cfg(name).and_then(|c| c.target).or(default);
        let cadence = |name: &str, default: &str| {
            cfg(name).and_then(|c| c.cadence.clone()).unwrap_or_else(|| default.to_string())
        };
        let owner = |words: &str| op.raci.accountable_for(words).map(str::to_string);
        let mut kpis = Vec::new();
        let mut push = |i: usize,
                        value: Option<f64>,
                        tgt: Option<f64>,
                        bound: Bound,
                        warn_band: bool,
                        trend: Vec<(String, Option<f64>)>,
                        cad: &str,
                        detail: String,
                        by_workflow: Vec<(String, f64)>| {
            let (name, title, definition, activity) = KPIS[i];
            kpis.push(Kpi {
                name,
                title,
                definition,
                value: value.map(round6),
                target: tgt,
                bound,
                status: status(value, tgt, bound, warn_band),
                trend: trend.into_iter().map(|(p, v)| (p, v.map(round6))).collect(),
                owner: owner(activity),
                cadence: cadence(name, cad),
                detail,
                by_workflow,
            });
        };

        // 1. Cost per successful outcome, quarter on quarter to date.
        let (q_now, q_before) = super::outcomes::to_date(as_of, tz, 3);
        let (now_c, before_c) = (per(cps(conn, q_now, tz)?), per(cps(conn, q_before, tz)?));
        let change = now_c.zip(before_c).filter(|(_, b)| *b > 0.0).map(|(n, b)| n / b - 1.0);
        let mut trend = Vec::new();
        for (label, w) in &months {
            trend.push((label.clone(), per(cps(conn, *w, tz)?)));
        }
        let detail = match (now_c, before_c) {
            (Some(n), Some(b)) => format!("${n:.4} per success this quarter to date, ${b:.4} the same stretch before"),
            (Some(n), None) => format!("${n:.4} per success; no outcomes the quarter before"),
            _ => "no outcomes recorded: see aifin outcomes".into(),
        };
        push(0, change, target(KPIS[0].0, Some(0.0)), Bound::Ceiling, true, trend, "monthly", detail, vec![]);

        // 2. Attribution coverage, month to date.
        let coverage = |w: Window| -> rusqlite::Result<Option<f64>> {
            let l = queries::ledger(conn, GroupBy::WORKFLOW, w, tz)?;
            Ok((l.total.calls > 0).then(|| l.attribution_coverage()))
        };
        let mut trend = Vec::new();
        for (label, w) in &months {
            trend.push((label.clone(), coverage(*w)?));
        }
        let value = trend.last().and_then(|t| t.1);
        push(
            1,
            value,
            target(KPIS[1].0, Some(0.95)),
            Bound::Floor,
            true,
            trend,
            "monthly",
            "month to date".into(),
            vec![],
        );

        // 3. Forecast accuracy: the backtest's mean absolute error.
        let tr = drivers::trend_report(conn, None, as_of, tz)?;
        let (value, trend, detail) = match &tr.backtest {
            Some(b) => (
                Some(b.mean_abs_error_pct / 100.0),
                b.periods
                    .iter()
                    .rev()
                    .take(TREND_MONTHS as usize)
                    .rev()
                    .map(|p| (p.period.clone(), Some(p.error_pct.abs() / 100.0)))
                    .collect(),
                format!("{} month(s) backtested at mid-month", b.periods.len()),
            ),
            None => (None, vec![], "no complete month to backtest yet".into()),
        };
        push(2, value, target(KPIS[2].0, Some(0.10)), Bound::AbsCeiling, true, trend, "monthly", detail, vec![]);

        // 4. Input share of spend: month to date, total and per workflow.
        let share = |pricer: &mut Pricer, w: Window| -> rusqlite::Result<Vec<drivers::Measured>> {
            let (Some(s), Some(u)) = (w.since, w.until) else { return Ok(vec![]) };
            if u <= s {
                return Ok(vec![]);
            }
            drivers::measure_all(conn, pricer, s, u, 30.0)
        };
        let mut trend = Vec::new();
        for (label, w) in &months {
            let m = share(pricer, *w)?;
            trend.push((label.clone(), m.first().filter(|m| m.cost.0 > 0).map(|m| m.drivers.input_cost_share)));
        }
        let now_m = share(pricer, mtd)?;
        let value = now_m.first().filter(|m| m.cost.0 > 0).map(|m| m.drivers.input_cost_share);
        let by_wf = now_m
            .iter()
            .skip(1)
            .filter(|m| m.cost.0 > 0)
            .filter_map(|m| Some((m.workflow.clone()?, round6(m.drivers.input_cost_share))))
            .collect();
        push(
            3,
            value,
            target(KPIS[3].0, None),
            Bound::Ceiling,
            true,
            trend,
            "monthly",
            "month to date, priced from each model's token mix".into(),
            by_wf,
        );

        // 5. Eval pass rate at promotion: the last promoted candidate.
        let runs: Vec<Event> = events::list(conn, super::gate::GATE_RUN, i64::MIN)?
            .into_iter()
            .filter(|e| e.started_at <= as_of)
            .collect();
        let promoted: Vec<super::gate::RunRow> =
            super::gate::history(&runs, None).into_iter().filter(|r| r.decision == "promote").collect();
        let last = promoted.first();
        let mut trend = Vec::new();
        for (label, w) in &months {
            let r = promoted
                .iter()
                .find(|r| w.since.is_some_and(|s| r.recorded_at >= s) && w.until.is_some_and(|u| r.recorded_at < u));
            trend.push((label.clone(), r.and_then(|r| r.candidate_pass_rate)));
        }
        let detail = match last {
            Some(r) => format!("{} over {} on {}", r.candidate, r.baseline, time::local_day(r.recorded_at, tz)),
            None => "no promotion recorded: aifin gate --record".into(),
        };
        let tgt = cfg(KPIS[4].0).and_then(|c| c.target).or(last.and_then(|r| r.baseline_pass_rate));
        push(
            4,
            last.and_then(|r| r.candidate_pass_rate),
            tgt,
            Bound::Floor,
            false,
            trend,
            "per change",
            detail,
            vec![],
        );

        // 6. Budget variance: the total budget, else the budget furthest off.
        let row = budgets.budgets.iter().find(|b| b.budget.scope == crate::operate::burn::Scope::Total).or_else(|| {
            budgets
                .budgets
                .iter()
                .filter(|b| b.variance.is_some())
                .max_by(|a, b| a.variance.unwrap_or(0.0).abs().total_cmp(&b.variance.unwrap_or(0.0).abs()))
        });
        let mut trend = Vec::new();
        if let Some(r) = row {
            let (dim, key) = super::alerts::dim_key(&r.budget.scope);
            for (i, (label, w)) in months.iter().enumerate() {
                let v = if i + 1 == months.len() {
                    r.variance
                } else {
                    let spent: Nanos = queries::group(conn, dim, *w, QueryPath::Rollup)?
                        .into_iter()
                        .filter(|(k, _)| k == key)
                        .map(|(_, a)| a.cost)
                        .sum();
                    (spent.0 > 0).then(|| (spent.0 - r.budget.monthly.0) as f64 / r.budget.monthly.0 as f64)
                };
                trend.push((label.clone(), v));
            }
        }
        let detail = match row {
            Some(r) => {
                format!("budget {} ({}): {} a month", r.budget.scope.name(), r.budget.scope.kind(), r.budget.monthly)
            }
            None => "no [[budget]] in the config".into(),
        };
        push(
            5,
            row.and_then(|r| r.variance),
            target(KPIS[5].0, Some(0.05)),
            Bound::AbsCeiling,
            true,
            trend,
            "monthly",
            detail,
            vec![],
        );

        // 7. Cache hit rate.
        let mut trend = Vec::new();
        for (label, w) in &months {
            trend.push((label.clone(), cache_hit(&total(conn, *w)?)));
        }
        let value = trend.last().and_then(|t| t.1);
        push(
            6,
            value,
            target(KPIS[6].0, None),
            Bound::Floor,
            true,
            trend,
            "monthly",
            "month to date, tokens".into(),
            vec![],
        );

        let rollout = rollout(conn, op, &kpis, budgets, tr.trend.is_some(), &promoted, as_of, tz)?;
        Ok(KpiReport { as_of, kpis, rollout })
    }

    pub fn breaches(&self) -> usize {
        self.kpis.iter().filter(|k| k.status == Status::Breach).count()
    }

    pub fn table(&self) -> Table {
        Table {
            title: format!("KPIs and SLOs · as of {}", time::format_utc(self.as_of)),
            columns: vec![
                Column::left("kpi", "KPI", 0),
                Column::right("value", "Value", 0),
                Column::left("target", "Target", 0),
                Column::left("status", "Status", 0),
                Column::left("owner", "Owner", 2),
                Column::left("cadence", "Review", 3),
                Column::left("detail", "How measured", 4),
            ],
            rows: self
                .kpis
                .iter()
                .map(|k| Row {
                    id: k.name.to_string(),
                    cells: vec![
                        Cell::Label(k.title),
                        match k.value {
                            Some(v) if k.name == "cost_per_successful_outcome" || k.name == "budget_variance" => {
                                Cell::Pct(v * 100.0)
                            }
                            Some(v) => Cell::Share(v),
                            None => Cell::Empty,
                        },
                        Cell::text(target_text(k)),
                        Cell::Label(k.status.name()),
                        Cell::text_or(k.owner.as_deref(), "-"),
                        Cell::text(&k.cadence),
                        Cell::text(&k.detail),
                    ],
                })
                .collect(),
            total: None,
            notes: vec![],
        }
    }

    pub fn rollout_table(&self) -> Table {
        Table {
            title: "The 90-day rollout, judged from the ledger".into(),
            columns: vec![
                Column::left("step", "Step", 0),
                Column::left("status", "Status", 0),
                Column::left("evidence", "Evidence", 1),
            ],
            rows: self
                .rollout
                .iter()
                .map(|s| Row {
                    id: s.step.to_string(),
                    cells: vec![
                        Cell::text(format!("{}. {}", s.step, s.name)),
                        Cell::Label(s.status),
                        Cell::text(&s.evidence),
                    ],
                })
                .collect(),
            total: None,
            notes: self.next_action().map(|a| format!("next: {a}")).into_iter().collect(),
        }
    }

    /// The next concrete action: the first unmet step's.
    pub fn next_action(&self) -> Option<&str> {
        self.rollout.iter().find(|s| s.status != "done").and_then(|s| s.next_action.as_deref())
    }

    pub fn json(&self) -> KpisJson {
        KpisJson {
            as_of: time::format_utc(self.as_of),
            breaches: self.breaches(),
            kpis: self
                .kpis
                .iter()
                .map(|k| KpiJson {
                    name: k.name,
                    title: k.title,
                    value: k.value,
                    target: k.target,
                    bound: match k.bound {
                        Bound::Floor => "floor",
                        Bound::Ceiling => "ceiling",
                        Bound::AbsCeiling => "abs_ceiling",
                    },
                    status: k.status,
                    trend: k.trend.iter().map(|(p, v)| PointJson { period: p.clone(), value: *v }).collect(),
                    owner: k.owner.clone(),
                    cadence: k.cadence.clone(),
                    detail: k.detail.clone(),
                    by_workflow: (k.name == "input_share_of_spend").then(|| {
                        k.by_workflow
                            .iter()
                            .map(|(w, v)| WorkflowValueJson { workflow: w.clone(), value: *v })
                            .collect()
                    }),
                })
                .collect(),
            rollout: self
                .rollout
                .iter()
                .map(|s| StepJson {
                    step: s.step,
                    name: s.name,
                    status: s.status,
                    evidence: s.evidence.clone(),
                    next_action: s.next_action.clone(),
                })
                .collect(),
            next_action: self.next_action().map(str::to_string),
        }
    }

    /// The review event `--record-review` stores.
    pub fn review_event(&self, now: i64) -> Event {
        let statuses: BTreeMap<&str, &str> = self.kpis.iter().map(|k| (k.name, k.status.name())).collect();
        Event {
            kind: REVIEW.into(),
            subject: "kpis".into(),
            started_at: now,
            ended_at: Some(now),
            severity: None,
            data: serde_json::json!({ "as_of": time::format_utc(self.as_of), "statuses": statuses, "breaches": self.breaches() }),
        }
    }
}

/// The target as people read it.
pub fn target_text(k: &Kpi) -> String {
    let Some(t) = k.target else { return "tracked".into() };
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    match (k.name, k.bound) {
        ("cost_per_successful_outcome", _) if t == 0.0 => "flat or down".into(),
        (_, Bound::Floor) => format!(">= {}", pct(t)),
        (_, Bound::Ceiling) => format!("<= {}", pct(t)),
        (_, Bound::AbsCeiling) => format!("within {}", pct(t)),
    }
}

#[allow(clippy::too_many_arguments)]
fn rollout(
    conn: &Connection,
    op: &Operate,
    kpis: &[Kpi],
    budgets: &AlertsReport,
    forecast: bool,
    promoted: &[super::gate::RunRow],
    as_of: i64,
    tz: &TimeZone,
) -> rusqlite::Result<Vec<Step>> {
    let mut steps = Vec::new();
    // 1. A baseline: 15 days of data for the workflows with recent spend.
    let span = conn.query_row(
        "SELECT MIN(hour), MAX(hour) FROM rollup_hour WHERE dim = 0 AND hour * 3600000 < ?1",
        [as_of],
        |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
    )?;
    let days = span.0.map(|first| (as_of - first * 3_600_000) as f64 / MS_PER_DAY as f64).unwrap_or(0.0);
    let (top, spend30) = top_workflows(conn, as_of)?;
    steps.push(match span.0 {
        None => Step {
            step: 1,
            name: "Route and observe: a baseline",
            status: "not_started",
            evidence: "the ledger is empty".into(),
            next_action: Some("point the workflows at the gateway and run `aifin ingest` on its logs".into()),
        },
        Some(_) if days >= 15.0 => Step {
            step: 1,
            name: "Route and observe: a baseline",
            status: "done",
            evidence: format!("{days:.0} days of calls; {} for the last 30 days", spend30),
            next_action: None,
        },
        Some(_) => Step {
            step: 1,
            name: "Route and observe: a baseline",
            status: "in_progress",
            evidence: format!("{days:.1} of 15 days of calls"),
            next_action: Some(format!(
                "keep observing for {:.0} more days before changing anything",
                (15.0 - days).ceil()
            )),
        },
    });
    // 2. Attribution coverage above 95%.
    let cov = kpis[1].value;
    steps.push(match cov {
        Some(c) if c > 0.95 => Step {
            step: 2,
            name: "Attribute: coverage above 95%",
            status: "done",
            evidence: format!("attribution coverage {}", super::table::coverage(c)),
            next_action: None,
        },
        Some(c) => Step {
            step: 2,
            name: "Attribute: coverage above 95%",
            status: "in_progress",
            evidence: format!("attribution coverage {}", super::table::coverage(c)),
            next_action: Some(
                "tag the unattributed calls: `aifin ledger --by workflow` shows them; add [[attribution.rules]]".into(),
            ),
        },
        None => Step {
            step: 2,
            name: "Attribute: coverage above 95%",
            status: "not_started",
            evidence: "no calls this month".into(),
            next_action: Some("tag every request with a workflow, team and customer".into()),
        },
    });
    // 3. Success defined and measured for the top workflows, and a forecast.
    let w30 = Window { since: Some(as_of - 30 * MS_PER_DAY), until: Some(as_of) };
    let outcomes = crate::store::outcomes::by_group(conn, GroupBy::WORKFLOW, w30, tz)?;
    let measured: Vec<&String> = top.iter().filter(|w| outcomes.get(*w).is_some_and(|o| o.outcomes > 0)).collect();
    let missing: Vec<&str> = top.iter().filter(|w| !measured.contains(w)).map(String::as_str).collect();
    let ev = format!(
        "cost per success measured for {} of {} top workflows; {}",
        measured.len(),
        top.len(),
        if forecast { "a forecast exists" } else { "no forecast yet (7 days of history needed)" }
    );
    steps.push(if !top.is_empty() && missing.is_empty() && forecast {
        Step { step: 3, name: "Define success and forecast", status: "done", evidence: ev, next_action: None }
    } else {
        let status = if measured.is_empty() && !forecast { "not_started" } else { "in_progress" };
        let next = if missing.is_empty() {
            "build the forecast: `aifin forecast` once 7 days of history exist".to_string()
        } else {
            format!(
                "define a successful outcome for {} and log outcome events (see aifin outcomes)",
                missing.join(", ")
            )
        };
        Step { step: 3, name: "Define success and forecast", status, evidence: ev, next_action: Some(next) }
    });
    // 4. A lever promoted through the gate for each top workflow.
    let with_lever: Vec<&String> =
        top.iter().filter(|w| promoted.iter().any(|r| r.workflow.as_deref() == Some(w.as_str()))).collect();
    let missing: Vec<&str> = top.iter().filter(|w| !with_lever.contains(w)).map(String::as_str).collect();
    let ev = format!(
        "{} of {} top workflows have a promoted lever; {} promotion(s) recorded",
        with_lever.len(),
        top.len(),
        promoted.len()
    );
    steps.push(if !top.is_empty() && missing.is_empty() {
        Step { step: 4, name: "Apply levers behind the gate", status: "done", evidence: ev, next_action: None }
    } else {
        let status = if promoted.is_empty() { "not_started" } else { "in_progress" };
        Step {
            step: 4,
            name: "Apply levers behind the gate",
            status,
            evidence: ev,
            next_action: Some(format!(
                "gate a lever for {} with `aifin gate --workflow W --record`",
                if missing.is_empty() { "the top workflows".into() } else { missing.join(", ") }
            )),
        }
    });
    // 5. Operationalize: RACI valid, budgets and KPI targets, a review.
    let reviews = events::list(conn, REVIEW, i64::MIN)?.into_iter().filter(|e| e.started_at <= as_of).count();
    let mut missing = Vec::new();
    if !op.raci.is_valid() {
        missing.push("a valid RACI (`aifin raci`)".to_string());
    }
    if budgets.budgets.is_empty() {
        missing.push("budgets ([[budget]] in aifin.toml)".into());
    }
    if op.kpi.values().all(|k| k.target.is_none()) {
        missing.push("KPI targets ([kpi.<name>] target = ...)".into());
    }
    if reviews == 0 {
        missing.push("a review on record (`aifin kpis --record-review`)".into());
    }
    let ev = format!(
        "RACI {}; {} budget(s); {} KPI target(s) set; {} review(s) recorded",
        if op.raci.is_valid() { "valid" } else { "invalid" },
        budgets.budgets.len(),
        op.kpi.values().filter(|k| k.target.is_some()).count(),
        reviews
    );
    steps.push(if missing.is_empty() {
        Step { step: 5, name: "Operationalize", status: "done", evidence: ev, next_action: None }
    } else {
        let status = if missing.len() == 4 { "not_started" } else { "in_progress" };
        Step {
            step: 5,
            name: "Operationalize",
            status,
            evidence: ev,
            next_action: Some(format!("set up {}", missing.join(", "))),
        }
    });
    Ok(steps)
}

#[derive(Serialize)]
pub struct PointJson {
    pub period: String,
    pub value: Option<f64>,
}

#[derive(Serialize)]
pub struct WorkflowValueJson {
    pub workflow: String,
    pub value: f64,
}

#[derive(Serialize)]
pub struct KpiJson {
    pub name: &'static str,
    pub title: &'static str,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub bound: &'static str,
    pub status: Status,
    pub trend: Vec<PointJson>,
    pub owner: Option<String>,
    pub cadence: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_workflow: Option<Vec<WorkflowValueJson>>,
}

#[derive(Serialize)]
pub struct StepJson {
    pub step: u8,
    pub name: &'static str,
    pub status: &'static str,
    pub evidence: String,
    pub next_action: Option<String>,
}

#[derive(Serialize)]
pub struct KpisJson {
    pub as_of: String,
    pub breaches: usize,
    pub kpis: Vec<KpiJson>,
    pub rollout: Vec<StepJson>,
    pub next_action: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules() {
        // Floor 95%: breach below, warn within a fifth of the room to 100%.
        assert_eq!(status(Some(0.94), Some(0.95), Bound::Floor, true), Status::Breach);
        assert_eq!(status(Some(0.955), Some(0.95), Bound::Floor, true), Status::Warn);
        assert_eq!(status(Some(0.97), Some(0.95), Bound::Floor, true), Status::Ok);
        // Ceiling 10%: warn above 8%.
        assert_eq!(status(Some(0.11), Some(0.10), Bound::AbsCeiling, true), Status::Breach);
        assert_eq!(status(Some(-0.09), Some(0.10), Bound::AbsCeiling, true), Status::Warn);
        assert_eq!(status(Some(0.05), Some(0.10), Bound::AbsCeiling, true), Status::Ok);
        // Flat or down: any rise breaches, flat is fine.
        assert_eq!(status(Some(0.001), Some(0.0), Bound::Ceiling, true), Status::Breach);
        assert_eq!(status(Some(0.0), Some(0.0), Bound::Ceiling, true), Status::Ok);
        assert_eq!(status(Some(-0.3), Some(0.0), Bound::Ceiling, true), Status::Ok);
        // No target: tracked; no value: not measured, never a number.
        assert_eq!(status(Some(0.4), None, Bound::Ceiling, true), Status::Ok);
        assert_eq!(status(None, Some(0.95), Bound::Floor, true), Status::NotMeasured);
        // No warn band: at the baseline is ok, under it a breach.
        assert_eq!(status(Some(0.90), Some(0.90), Bound::Floor, false), Status::Ok);
        assert_eq!(status(Some(0.89), Some(0.90), Bound::Floor, false), Status::Breach);
    }
}
