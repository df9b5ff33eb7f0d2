//! The forecast as a report: the current month against a scenario, the
//! levers composed and summed, the one month-end projection (the trend
//! with its band) and its backtested accuracy. The command line and the
//! cockpit's Forecast tab and header print these.

use serde::Serialize;

use super::table::{Cell, Column, Row, Table, percent, thousands};
use crate::domain::money::Nanos;
use crate::domain::time;
use crate::forecast::drivers::{Measured, TrendReport};
use crate::forecast::trend::{Backtest, Trend};
use crate::forecast::{Drivers, LeverReport, Projection};

/// What the "current" column of a forecast describes.
pub fn current_title(measured: Option<&Measured>) -> String {
    match measured {
        Some(m) => format!("Current (last {:.0} d)", m.base_days),
        None => "Current".to_string(),
    }
}

/// The forecast table: calls, tokens per call, rate and cost, current
/// against the scenario.
pub fn projection_table(current: &Projection, scenario: &Projection, current_title: String) -> Table {
    let rate = |p: &Projection| Cell::Rate(p.rate_per_1k_usd);
    let rows: Vec<(&'static str, &'static str, Cell, Cell)> = vec![
        ("monthly_calls", "Calls / month", count(current.monthly_calls), count(scenario.monthly_calls)),
        ("tokens_per_call", "Tokens / call", count(current.tokens_per_call), count(scenario.tokens_per_call)),
        ("rate_per_1k_usd", "Rate / 1K tokens", rate(current), rate(scenario)),
        ("projected_monthly_cost_usd", "Monthly cost", Cell::Usd(current.cost), Cell::Usd(scenario.cost)),
        ("delta_vs_today_pct", "vs current", Cell::Pct(0.0), Cell::Pct(scenario.delta_vs_today_pct)),
    ];
    Table {
        title: String::new(),
        columns: vec![
            Column::left("measure", "", 0),
            Column::titled("current", current_title, super::table::Align::Right, 0),
            Column::right("scenario", "Scenario", 0),
        ],
        rows: rows
            .into_iter()
            .map(|(id, label, a, b)| Row { id: id.to_string(), cells: vec![Cell::Label(label), a, b] })
            .collect(),
        total: None,
        notes: vec![],
    }
}

fn count(v: f64) -> Cell {
    Cell::Count(v.round() as i64)
}

/// The levers composed against their naive sum, in one line.
pub fn levers_line(l: &LeverReport) -> String {
    format!("levers together save {} · naive sum claims {}", l.composed_saving, l.naive_sum_saving)
}

/// The levers in lines, for the command line.
pub fn levers_lines(l: &LeverReport) -> Vec<String> {
    let mut v = vec![format!("Levers: before levers {}", l.before_levers)];
    for (name, saving) in &l.alone {
        v.push(format!("  {name:<16} alone saves {saving}"));
    }
    v.push(format!("  together (composed)  {}, saves {}", l.composed, l.composed_saving));
    v.push(format!("  naive sum            {}, would claim {}", l.naive_sum, l.naive_sum_saving));
    v
}

/// The one month-end projection in words: `month end $310.23 (P10 $290.00
/// – P90 $330.00)`, or a dash when there is too little history.
pub fn month_end_text(t: Option<&Trend>) -> String {
    match t {
        Some(t) => format!("month end {} (P10 {} – P90 {})", t.projected, t.p10, t.p90),
        None => "month end —".to_string(),
    }
}

/// The trend line of the command line.
pub fn trend_line(r: &TrendReport) -> String {
    match &r.trend {
        Some(t) => format!(
            "Trend · {} · month to date {} · {} · slope {}{}/day over {} days",
            r.month,
            t.month_to_date,
            month_end_text(Some(t)),
            if t.slope_per_day.0 < 0 { "-" } else { "+" },
            Nanos(t.slope_per_day.0.abs()),
            t.fit_days
        ),
        None => format!(
            "Trend · {} · month end — (fewer than {} complete days of history)",
            r.month,
            crate::forecast::trend::MIN_HISTORY_DAYS
        ),
    }
}

/// The accuracy line: mean error at mid-month against the target.
pub fn accuracy_line(b: Option<&Backtest>) -> String {
    match b {
        Some(b) => format!(
            "accuracy: {} mean error at mid-month over {} month(s) · target {} · {}",
            percent(b.mean_abs_error_pct / 100.0, 1),
            b.periods.len(),
            percent(b.target_pct / 100.0, 0),
            if b.within_target { "met" } else { "missed" }
        ),
        None => "accuracy: no complete month to backtest yet".into(),
    }
}

/// The backtest's periods, for the command line.
pub fn backtest_line(b: &Backtest) -> String {
    let periods: Vec<String> = b
        .periods
        .iter()
        .map(|p| {
            format!("{} projected {} actual {} ({})", p.period, p.projected, p.actual, percent(p.error_pct / 100.0, 1))
        })
        .collect();
    format!("Forecast accuracy (projected at mid-month vs actual): {} · {}", periods.join("; "), accuracy_line(Some(b)))
}

/// Where the drivers came from, for the command line.
pub fn drivers_line(who: &str, m: Option<&Measured>) -> String {
    match m {
        Some(m) => format!(
            "Forecast · {who} · drivers from {} calls between {} and {} ({:.1} days), scaled to a {}-day month",
            thousands(m.calls),
            time::format_utc(m.since_ms),
            time::format_utc(m.until_ms),
            m.base_days,
            m.month_days
        ),
        None => "Forecast · drivers from the command line".to_string(),
    }
}

// JSON: the field names of `aifin forecast --json`.

#[derive(Serialize)]
pub struct ProjectionJson {
    monthly_calls: f64,
    tokens_per_call: f64,
    rate_per_1k_usd: f64,
    projected_monthly_cost_usd: f64,
    projected_monthly_cost_nanousd: i64,
    delta_vs_today_pct: f64,
}

impl From<&Projection> for ProjectionJson {
    fn from(p: &Projection) -> Self {
        ProjectionJson {
            monthly_calls: p.monthly_calls,
            tokens_per_call: p.tokens_per_call,
            rate_per_1k_usd: p.rate_per_1k_usd,
            projected_monthly_cost_usd: p.cost.to_usd_f64(),
            projected_monthly_cost_nanousd: p.cost.0,
            delta_vs_today_pct: p.delta_vs_today_pct,
        }
    }
}

#[derive(Serialize)]
pub struct DriversJson {
    calls: f64,
    tokens_per_call: f64,
    rate_per_1k_usd: f64,
    monthly_cost_usd: f64,
    monthly_cost_nanousd: i64,
    input_share: f64,
    input_cost_share: f64,
    cache_share: f64,
    cache_price_ratio: f64,
}

impl From<&Drivers> for DriversJson {
    fn from(d: &Drivers) -> Self {
        DriversJson {
            calls: d.calls,
            tokens_per_call: d.tokens_per_call,
            rate_per_1k_usd: d.rate_per_1k_usd,
            monthly_cost_usd: d.monthly_cost.to_usd_f64(),
            monthly_cost_nanousd: d.monthly_cost.0,
            input_share: d.input_share,
            input_cost_share: d.input_cost_share,
            cache_share: d.cache_share,
            cache_price_ratio: d.cache_price_ratio,
        }
    }
}

#[derive(Serialize)]
pub struct MeasuredJson {
    workflow: Option<String>,
    since: String,
    until: String,
    base_days: f64,
    month_days: f64,
    calls: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
    cost_nanousd: i64,
    unpriced_calls: i64,
    main_model: Option<String>,
}

impl From<&Measured> for MeasuredJson {
    fn from(m: &Measured) -> Self {
        MeasuredJson {
            workflow: m.workflow.clone(),
            since: time::format_utc(m.since_ms),
            until: time::format_utc(m.until_ms),
            base_days: m.base_days,
            month_days: m.month_days,
            calls: m.calls,
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost_usd: m.cost.to_usd_f64(),
            cost_nanousd: m.cost.0,
            unpriced_calls: m.unpriced_calls,
            main_model: m.main_model.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct LeversJson {
    before_levers_usd: f64,
    alone: Vec<(&'static str, f64)>,
    composed_usd: f64,
    composed_saving_usd: f64,
    composed_saving_nanousd: i64,
    naive_sum_usd: f64,
    naive_sum_saving_usd: f64,
}

impl From<&LeverReport> for LeversJson {
    fn from(l: &LeverReport) -> Self {
        LeversJson {
            before_levers_usd: l.before_levers.to_usd_f64(),
            alone: l.alone.iter().map(|(n, v)| (*n, v.to_usd_f64())).collect(),
            composed_usd: l.composed.to_usd_f64(),
            composed_saving_usd: l.composed_saving.to_usd_f64(),
            composed_saving_nanousd: l.composed_saving.0,
            naive_sum_usd: l.naive_sum.to_usd_f64(),
            naive_sum_saving_usd: l.naive_sum_saving.to_usd_f64(),
        }
    }
}

#[derive(Serialize)]
pub struct TrendJson {
    method: &'static str,
    fit_days: usize,
    slope_usd_per_day: f64,
    month_to_date_usd: f64,
    days_left: f64,
    projected_month_end_usd: f64,
    projected_month_end_nanousd: i64,
    p10_usd: f64,
    p90_usd: f64,
}

#[derive(Serialize)]
pub struct PeriodJson {
    period: String,
    projected_usd: f64,
    actual_usd: f64,
    error_pct: f64,
}

#[derive(Serialize)]
pub struct BacktestJson {
    periods: Vec<PeriodJson>,
    mean_abs_error_pct: f64,
    target_pct: f64,
    within_target: bool,
}

#[derive(Serialize)]
pub struct TrendReportJson {
    month: String,
    trend: Option<TrendJson>,
    backtest: Option<BacktestJson>,
}

impl From<&TrendReport> for TrendReportJson {
    fn from(r: &TrendReport) -> Self {
        TrendReportJson {
            month: r.month.clone(),
            trend: r.trend.as_ref().map(|t| TrendJson {
                method: t.method,
                fit_days: t.fit_days,
                slope_usd_per_day: t.slope_per_day.to_usd_f64(),
                month_to_date_usd: t.month_to_date.to_usd_f64(),
                days_left: t.days_left,
                projected_month_end_usd: t.projected.to_usd_f64(),
                projected_month_end_nanousd: t.projected.0,
                p10_usd: t.p10.to_usd_f64(),
                p90_usd: t.p90.to_usd_f64(),
            }),
            backtest: r.backtest.as_ref().map(|b| BacktestJson {
                periods: b
                    .periods
                    .iter()
                    .map(|p| PeriodJson {
                        period: p.period.clone(),
                        projected_usd: p.projected.to_usd_f64(),
                        actual_usd: p.actual.to_usd_f64(),
                        error_pct: p.error_pct,
                    })
                    .collect(),
                mean_abs_error_pct: b.mean_abs_error_pct,
                target_pct: b.target_pct,
                within_target: b.within_target,
            }),
        }
    }
}

#[derive(Serialize)]
pub struct ForecastJson {
    pub workflow: Option<String>,
    /// Where the drivers come from: the ledger (with the measured window) or the flags.
    pub source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredJson>,
    pub drivers: DriversJson,
    pub today: ProjectionJson,
    pub scenario: ProjectionJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levers: Option<LeversJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<TrendReportJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_labels_the_current_month_and_shows_the_change() {
        let cur = Projection {
            monthly_calls: 1_240_000.0,
            tokens_per_call: 7010.0,
            rate_per_1k_usd: 0.0048,
            cost: Nanos(41_723_520_000_000),
            delta_vs_today_pct: 0.0,
        };
        let sc = Projection {
            monthly_calls: 1_736_000.0,
            cost: Nanos(58_412_928_000_000),
            delta_vs_today_pct: 40.0,
            ..cur.clone()
        };
        let t = projection_table(&cur, &sc, "Current (last 30 d)".into());
        let text = crate::reports::print::text(&t);
        for want in ["Current (last 30 d)", "1,736,000", "$0.004800", "$41,723.52", "$58,412.93", "+40.0%"] {
            assert!(text.contains(want), "{want} missing:\n{text}");
        }
        assert_eq!(month_end_text(None), "month end —");
    }
}
