//! Drivers, daily history, trend and backtest read from the ledger.

use jiff::tz::TimeZone;
use rusqlite::Connection;

use super::trend::{self, Backtest, MonthSeries, Trend};
use super::{DEFAULT_CACHE_PRICE_RATIO, DEFAULT_OUTPUT_PRICE_RATIO, Drivers};
use crate::domain::money::{Nanos, div_round};
use crate::domain::record::{CallRecord, Tokens};
use crate::domain::time::{self, MS_PER_DAY, end_of_month, next_local_day, start_of_local_day, start_of_month};
use crate::pricing::Pricer;
use crate::store::live::hours_of_key;
use crate::store::queries::{self, PairFilter, QueryPath, Window};
use crate::store::rollup::{Agg, Dim, PAIR_SEP};

/// Drivers of one workflow (or all) measured over a base window.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    /// `None`: every workflow together.
    pub workflow: Option<String>,
    pub since_ms: i64,
    pub until_ms: i64,
    pub base_days: f64,
    pub month_days: f64,
    /// What the ledger holds for the window.
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cost: Nanos,
    pub unpriced_calls: i64,
    /// The model with the largest cost.
    pub main_model: Option<String>,
    pub drivers: Drivers,
    /// The average call's tokens (for pricing routed calls).
    pub avg_call: Tokens,
}

fn rec(model: &str, tokens: Tokens) -> CallRecord {
    CallRecord { model: model.to_string(), tokens, ..CallRecord::default() }
}

fn per_call(total: i64, calls: i64) -> u64 {
    if calls > 0 { (total as f64 / calls as f64).round().max(0.0) as u64 } else { 0 }
}

fn avg_tokens(a: &Agg) -> Tokens {
    Tokens {
        uncached_input: per_call(a.uncached_input, a.calls),
        cache_read: per_call(a.cache_read, a.calls),
        cache_write_5m: per_call(a.cache_write, a.calls),
        output: per_call(a.output, a.calls),
        reasoning: per_call(a.reasoning, a.calls),
        ..Tokens::default()
    }
}

/// Cost (nanos) of one call of `model` with `tokens`, if priced.
fn price(pricer: &mut Pricer, model: &str, tokens: Tokens) -> Option<i64> {
    let mut r = rec(model, tokens);
    pricer.price(&mut r);
    r.cost.map(|c| c.0)
}

/// The blended rate per 1K tokens of `model` for a call like `avg`.
pub fn rate_of(pricer: &mut Pricer, model: &str, avg: Tokens) -> Option<f64> {
    let tokens = avg.uncached_input + avg.cache_read + avg.cache_write_5m + avg.cache_write_1h + avg.output;
    let cost = price(pricer, model, avg)?;
    (tokens > 0).then(|| Nanos(cost).to_usd_f64() / tokens as f64 * 1000.0)
}

/// Measures the drivers over `[since, until)`, scaled to a month of
/// `month_days` days. `None` when the window holds no calls.
pub fn measure(
    conn: &Connection,
    pricer: &mut Pricer,
    workflow: Option<&str>,
    since: i64,
    until: i64,
    month_days: f64,
) -> rusqlite::Result<Option<Measured>> {
    let w = Window { since: Some(since), until: Some(until) };
    let (agg, models) = match workflow {
        Some(wf) => {
            let a = queries::group(conn, Dim::Workflow, w, QueryPath::Rollup)?
                .into_iter()
                .find(|(k, _)| k == wf)
                .map(|(_, a)| a)
                .unwrap_or_default();
            let models = queries::group_filtered(
                conn,
                Dim::WorkflowModel,
                w,
                QueryPath::Rollup,
                &PairFilter::First(wf.to_string()),
            )?
            .into_iter()
            .filter_map(|(k, a)| Some((k.split_once(PAIR_SEP)?.1.to_string(), a)))
            .collect();
            (a, models)
        }
        None => total_and_models(conn, w)?,
    };
    Ok(from_aggs(pricer, workflow, &agg, &models, since, until, month_days))
}

fn total_and_models(conn: &Connection, w: Window) -> rusqlite::Result<(Agg, Vec<(String, Agg)>)> {
    let mut total = Agg::default();
    for (_, a) in queries::group(conn, Dim::Total, w, QueryPath::Rollup)? {
        total.add(&a);
    }
    Ok((total, queries::group(conn, Dim::Model, w, QueryPath::Rollup)?))
}

/// All workflows together, then each workflow by cost (three queries in
/// all, whatever the number of workflows).
pub fn measure_all(
    conn: &Connection,
    pricer: &mut Pricer,
    since: i64,
    until: i64,
    month_days: f64,
) -> rusqlite::Result<Vec<Measured>> {
    let w = Window { since: Some(since), until: Some(until) };
    let (total, models) = total_and_models(conn, w)?;
    let mut out: Vec<Measured> =
        from_aggs(pricer, None, &total, &models, since, until, month_days).into_iter().collect();
    let mut by_wf: std::collections::HashMap<String, Vec<(String, Agg)>> = std::collections::HashMap::new();
    for (k, a) in queries::group(conn, Dim::WorkflowModel, w, QueryPath::Rollup)? {
        if let Some((wf, m)) = k.split_once(PAIR_SEP) {
            by_wf.entry(wf.to_string()).or_default().push((m.to_string(), a));
        }
    }
    let mut wfs = queries::group(conn, Dim::Workflow, w, QueryPath::Rollup)?;
    wfs.sort_by(|a, b| b.1.cost.0.cmp(&a.1.cost.0).then(a.0.cmp(&b.0)));
    for (wf, agg) in wfs {
        if wf.is_empty() {
            continue;
        }
        let models = by_wf.remove(&wf).unwrap_or_default();
        out.extend(from_aggs(pricer, Some(&wf), &agg, &models, since, until, month_days));
    }
    Ok(out)
}

fn from_aggs(
    pricer: &mut Pricer,
    workflow: Option<&str>,
    agg: &Agg,
    models: &[(String, Agg)],
    since: i64,
    until: i64,
    month_days: f64,
) -> Option<Measured> {
    if agg.calls == 0 {
        return None;
    }
    let base_ms = until - since;
    let month_ms = (month_days * MS_PER_DAY as f64).round() as i64;
    let monthly_cost = div_round(agg.cost.0 as i128 * month_ms as i128, base_ms as i128) as i64;
    let scale = month_ms as f64 / base_ms as f64;
    let input = agg.input_tokens();
    let tokens = input + agg.output;

    // Which part of the cost is input, from catalog prices per model.
    let (mut cin, mut cout) = (0f64, 0f64);
    let mut main: Option<(String, i64)> = None;
    for (model, a) in models {
        let avg = avg_tokens(a);
        let i = price(pricer, model, Tokens { output: 0, reasoning: 0, ..avg });
        let o = price(pricer, model, Tokens { output: avg.output, reasoning: avg.reasoning, ..Tokens::default() });
        if let (Some(i), Some(o)) = (i, o) {
            cin += i as f64 * a.calls as f64;
            cout += o as f64 * a.calls as f64;
        }
        if main.as_ref().is_none_or(|(_, c)| a.cost.0 > *c) {
            main = Some((model.clone(), a.cost.0));
        }
    }
    let input_share = if tokens > 0 { input as f64 / tokens as f64 } else { 0.0 };
    let input_cost_share = if cin + cout > 0.0 {
        cin / (cin + cout)
    } else {
        let weighted = input_share + (1.0 - input_share) * DEFAULT_OUTPUT_PRICE_RATIO;
        if weighted > 0.0 { input_share / weighted } else { 0.0 }
    };
    let cache_price_ratio = main
        .as_ref()
        .and_then(|(m, _)| {
            let full = price(pricer, m, Tokens { uncached_input: 1_000_000, ..Tokens::default() })?;
            let cached = price(pricer, m, Tokens { cache_read: 1_000_000, ..Tokens::default() })?;
            (full > 0).then(|| cached as f64 / full as f64)
        })
        .unwrap_or(DEFAULT_CACHE_PRICE_RATIO);
    let calls = agg.calls as f64 * scale;
    let drivers = Drivers {
        calls,
        tokens_per_call: tokens as f64 / agg.calls as f64,
        rate_per_1k_usd: if tokens > 0 { agg.cost.to_usd_f64() / tokens as f64 * 1000.0 } else { 0.0 },
        monthly_cost: Nanos(monthly_cost),
        input_share,
        input_cost_share,
        cache_share: if input > 0 { agg.cache_read as f64 / input as f64 } else { 0.0 },
        cache_price_ratio,
    };
    Some(Measured {
        workflow: workflow.map(str::to_string),
        since_ms: since,
        until_ms: until,
        base_days: base_ms as f64 / MS_PER_DAY as f64,
        month_days,
        calls: agg.calls,
        input_tokens: input,
        output_tokens: agg.output,
        cost: agg.cost,
        unpriced_calls: agg.unpriced_calls,
        main_model: main.map(|(m, _)| m),
        drivers,
        avg_call: avg_tokens(agg),
    })
}

/// Daily spend of a workflow (or all), per local day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Daily {
    /// (local day label, start ms, spend), consecutive days, oldest first.
    pub days: Vec<(String, i64, Nanos)>,
}

/// Every local day from `first` (a day's start) to the one containing
/// `until`, with no spend yet.
fn day_slots(first: i64, until: i64, tz: &TimeZone) -> Vec<(String, i64, Nanos)> {
    let mut days = Vec::new();
    let mut d = first;
    while d <= until {
        days.push((time::local_day(d, tz), d, Nanos::ZERO));
        d = next_local_day(d, tz);
    }
    days
}

/// Daily spend from `since` up to `until` (the hour containing it
/// included), every day present (zero when nothing was spent). Whole hours
/// from the rollups, assigned to the local day they start in.
pub fn daily(
    conn: &Connection,
    (dim, key): (Dim, &str),
    since: i64,
    until: i64,
    tz: &TimeZone,
) -> rusqlite::Result<Daily> {
    let first = start_of_local_day(since, tz);
    let mut days = day_slots(first, until, tz);
    // Nothing after `until` (a projection as of a past time must not see
    // the rest of its day).
    let w = Window { since: Some(first), until: Some(until) };
    for (hour_ms, a) in hours_of_key(conn, dim, key, w)? {
        add_to_day(&mut days, hour_ms, a.cost);
    }
    Ok(Daily { days })
}

/// Adds an hour's spend to the day it starts in (days sorted by start:
/// the last one starting at or before it).
fn add_to_day(days: &mut [(String, i64, Nanos)], hour_ms: i64, cost: Nanos) {
    let i = days.partition_point(|(_, s, _)| *s <= hour_ms);
    if i > 0 {
        days[i - 1].2 += cost;
    }
}

/// The month-end trend as of `now` and the backtest over all history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrendReport {
    pub month: String,
    pub trend: Option<Trend>,
    pub backtest: Option<Backtest>,
    /// Daily spend of the history shown (label, spend): the last
    /// [`SHOWN_DAYS`] days up to today.
    pub recent: Vec<(String, Nanos)>,
    /// Days of the month after today (labels), for the chart.
    pub ahead: Vec<String>,
}

impl TrendReport {
    /// The report of a subject without data: the month as of `now`.
    pub fn empty(now: i64, tz: &TimeZone) -> TrendReport {
        TrendReport { month: time::local_month(now, tz), ..TrendReport::default() }
    }
}

pub const SHOWN_DAYS: usize = 30;

/// The first and last call time of a workflow (or all), from the rollups.
fn data_span(conn: &Connection, (dim, key): (Dim, &str)) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.query_row(
        "SELECT MIN(hour), MAX(hour) FROM rollup_hour WHERE dim = ?1 AND key = ?2",
        rusqlite::params![dim.code(), key],
        |r| {
            let a: Option<i64> = r.get(0)?;
            let b: Option<i64> = r.get(1)?;
            Ok(a.zip(b).map(|(a, b)| (a * time::MS_PER_HOUR, (b + 1) * time::MS_PER_HOUR)))
        },
    )
}

/// Projects the month containing `now` and backtests every complete month,
/// for one workflow (or all).
pub fn trend_report(
    conn: &Connection,
    workflow: Option<&str>,
    now: i64,
    tz: &TimeZone,
) -> rusqlite::Result<TrendReport> {
    match workflow {
        Some(w) => trend_report_of(conn, (Dim::Workflow, w), now, tz),
        None => trend_report_of(conn, (Dim::Total, ""), now, tz),
    }
}

/// The same for one key of a single dimension (a team, a customer).
pub fn trend_report_of(
    conn: &Connection,
    subject: (Dim, &str),
    now: i64,
    tz: &TimeZone,
) -> rusqlite::Result<TrendReport> {
    let Some((first, _)) = data_span(conn, subject)? else {
        return Ok(TrendReport::empty(now, tz));
    };
    let first = start_of_local_day(first.min(now), tz);
    let series = daily(conn, subject, first, now, tz)?;
    Ok(report_from_daily(series, now, tz))
}

/// The trend reports of every key of a single dimension (the forecast
/// tab's workflows), from one read of the dimension's hourly rollups
/// instead of two queries a key. Each equals [`trend_report_of`] for its
/// key.
pub fn trend_reports_of_all(
    conn: &Connection,
    dim: Dim,
    now: i64,
    tz: &TimeZone,
) -> rusqlite::Result<std::collections::HashMap<String, TrendReport>> {
    let mut by_key: std::collections::HashMap<String, Vec<(i64, i64)>> = std::collections::HashMap::new();
    for (hour, key, cost) in crate::store::live::hourly_costs(conn, dim, i64::MIN, i64::MAX)? {
        by_key.entry(key).or_default().push((hour, cost));
    }
    // The hour containing `now` is the last one read (as `daily` reads).
    let h_end = (now + time::MS_PER_HOUR - 1).div_euclid(time::MS_PER_HOUR);
    let mut out = std::collections::HashMap::with_capacity(by_key.len());
    for (key, mut hours) in by_key {
        hours.sort_unstable_by_key(|(h, _)| *h);
        let first_data = hours[0].0 * time::MS_PER_HOUR;
        let first = start_of_local_day(first_data.min(now), tz);
        let mut days = day_slots(first, now, tz);
        let h0 = first.div_euclid(time::MS_PER_HOUR);
        for (h, cost) in hours.iter().filter(|(h, _)| *h >= h0 && *h < h_end) {
            add_to_day(&mut days, h * time::MS_PER_HOUR, Nanos(*cost));
        }
        out.insert(key, report_from_daily(Daily { days }, now, tz));
    }
    Ok(out)
}

/// The month-end trend and the backtests from a daily series that starts
/// on the subject's first day of data.
fn report_from_daily(series: Daily, now: i64, tz: &TimeZone) -> TrendReport {
    let month_start = start_of_month(now, tz);
    let month_end = end_of_month(now, tz);
    let mut report = TrendReport::empty(now, tz);
    let today_start = start_of_local_day(now, tz);
    let today_end = next_local_day(today_start, tz);
    // Complete days before today.
    let history: Vec<f64> = series.days.iter().filter(|(_, s, _)| *s < today_start).map(|d| d.2.to_usd_f64()).collect();
    let mtd: Nanos = series.days.iter().filter(|(_, s, _)| *s >= month_start && *s <= now).map(|d| d.2).sum();
    let today_left = (today_end - now).max(0) as f64 / (today_end - today_start).max(1) as f64;
    let mut ahead = Vec::new();
    let mut d = today_end;
    while d < month_end {
        ahead.push(time::local_day(d, tz));
        d = next_local_day(d, tz);
    }
    report.trend = trend::project_month(&history, mtd, today_left, ahead.len());
    report.recent =
        series.days[series.days.len().saturating_sub(SHOWN_DAYS)..].iter().map(|(l, _, v)| (l.clone(), *v)).collect();
    report.ahead = ahead;

    // Complete months whose first day has data.
    let mut months: Vec<(String, usize, usize)> = Vec::new();
    for (i, (_, s, _)) in series.days.iter().enumerate() {
        let label = time::local_month(*s, tz);
        match months.last_mut() {
            Some((l, _, end)) if *l == label => *end = i + 1,
            _ => months.push((label, i, i + 1)),
        }
    }
    let values: Vec<Nanos> = series.days.iter().map(|d| d.2).collect();
    let complete: Vec<MonthSeries> = months
        .iter()
        .filter(|(_, start, end)| {
            let s = series.days[*start].1;
            start_of_month(s, tz) == s && next_local_day(series.days[end - 1].1, tz) <= today_start
        })
        .map(|(label, start, end)| MonthSeries {
            label: label.clone(),
            before: &values[start.saturating_sub(trend::FIT_DAYS)..*start],
            days: &values[*start..*end],
        })
        .collect();
    report.backtest = trend::backtest(&complete);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_ts_str;
    use crate::store::{open_memory, rollup, writer};

    fn call(ts: &str, wf: &str, model: &str, key: i64, cost: i64) -> CallRecord {
        CallRecord {
            ts_ms: parse_ts_str(ts).unwrap(),
            dedupe_key: key,
            model: model.into(),
            workflow: Some(wf.into()),
            tokens: Tokens { uncached_input: 900, cache_read: 100, output: 100, ..Default::default() },
            cost: Some(Nanos(cost)),
            price_key: Some(model.into()),
            ..Default::default()
        }
    }

    fn db(recs: &[CallRecord]) -> Connection {
        let mut conn = open_memory().unwrap();
        let tx = conn.transaction().unwrap();
        let mut d = rollup::Delta::of(recs);
        let mut ins = writer::CallInserter::new(&tx).unwrap();
        for r in recs {
            assert!(ins.insert(None, r).unwrap());
        }
        drop(ins);
        d.flush(&tx).unwrap();
        tx.commit().unwrap();
        conn
    }

    #[test]
    fn drivers_reproduce_the_ledger_exactly() {
        let recs: Vec<CallRecord> = (0..30)
            .map(|i| call(&format!("2026-09-{:02}T12:00:00Z", i % 30 + 1), "wf", "gpt-4o", i, 1_000_000_007 + i))
            .collect();
        let conn = db(&recs);
        let mut pricer = Pricer::new(std::sync::Arc::new(crate::pricing::Catalog::embedded()));
        let since = parse_ts_str("2026-09-01T00:00:00Z").unwrap();
        let until = parse_ts_str("2026-10-01T00:00:00Z").unwrap();
        let m = measure(&conn, &mut pricer, Some("wf"), since, until, 30.0).unwrap().unwrap();
        let total: i64 = recs.iter().map(|r| r.cost.unwrap().0).sum();
        assert_eq!(m.cost, Nanos(total));
        assert_eq!(m.drivers.monthly_cost, Nanos(total), "30-day base, 30-day month: the ledger's cost");
        assert_eq!(m.drivers.calls, 30.0);
        assert_eq!(m.drivers.tokens_per_call, 1100.0);
        assert!((m.drivers.input_share - 1000.0 / 1100.0).abs() < 1e-12);
        assert!((m.drivers.cache_share - 0.1).abs() < 1e-12);
        // gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M.
        let cin = 900.0 * 2.5 + 100.0 * 1.25;
        assert!((m.drivers.input_cost_share - cin / (cin + 1000.0)).abs() < 1e-9, "{}", m.drivers.input_cost_share);
        assert!((m.drivers.cache_price_ratio - 0.5).abs() < 1e-9);
        let p = super::super::project(&m.drivers, &super::super::Scenario::default());
        assert_eq!(p.cost, Nanos(total));
        // A 15-day base doubles to a month.
        let half = parse_ts_str("2026-09-16T00:00:00Z").unwrap();
        let m2 = measure(&conn, &mut pricer, Some("wf"), since, half, 30.0).unwrap().unwrap();
        assert_eq!(m2.drivers.monthly_cost, Nanos(m2.cost.0 * 2));
        assert!(measure(&conn, &mut pricer, Some("nope"), since, until, 30.0).unwrap().is_none());
        // All at once agrees with one at a time, on a ledger with three
        // workflows of different models (and an unattributed call).
        let mut more = recs.clone();
        for (k, (wf, model)) in [("b", "gpt-4o-mini"), ("c", "claude-haiku-4-5"), ("", "gpt-4o")].iter().enumerate() {
            for j in 0..5 {
                let mut r = call(&format!("2026-09-{:02}T08:00:00Z", j + 2), wf, model, 1000 + 10 * k as i64 + j, 5);
                if wf.is_empty() {
                    r.workflow = None;
                }
                more.push(r);
            }
        }
        let conn3 = db(&more);
        let all = measure_all(&conn3, &mut pricer, since, until, 30.0).unwrap();
        let names: Vec<Option<&str>> = all.iter().map(|m| m.workflow.as_deref()).collect();
        assert_eq!(names, [None, Some("wf"), Some("b"), Some("c")], "all first, then by cost");
        assert_eq!(all[0], measure(&conn3, &mut pricer, None, since, until, 30.0).unwrap().unwrap());
        for m in &all[1..] {
            let one = measure(&conn3, &mut pricer, m.workflow.as_deref(), since, until, 30.0).unwrap().unwrap();
            assert_eq!(*m, one, "{:?}", m.workflow);
        }
        assert_eq!(all[1], m, "adding other workflows changes nothing for this one");
        // By hand: the whole is 30 calls of wf + 15 others at 5 nanos each.
        assert_eq!(all[0].cost, Nanos(total + 15 * 5));
        assert_eq!(all[0].calls, 45);
        // gpt-4o-mini: (900 x $0.15 + 100 x $0.075 + 100 x $0.60) / 1M over 1,100 tokens, per 1K.
        let want = (900.0 * 0.15 + 100.0 * 0.075 + 100.0 * 0.6) / 1e6 / 1100.0 * 1000.0;
        let got = rate_of(&mut pricer, "gpt-4o-mini", m.avg_call).unwrap();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn daily_series_fill_gaps_and_the_trend_backtests_complete_months() {
        // September: $10/day every day; October: $10/day to the 20th.
        let mut recs = Vec::new();
        let mut k = 0;
        for (month, days) in [(9, 30), (10, 20)] {
            for d in 1..=days {
                if month == 9 && d == 12 {
                    continue; // a day without calls
                }
                k += 1;
                let cost = if month == 9 && d == 13 { 20_000_000_000 } else { 10_000_000_000 };
                recs.push(call(&format!("2026-{month:02}-{d:02}T10:00:00Z"), "wf", "gpt-4o", k, cost));
            }
        }
        let conn = db(&recs);
        let tz = TimeZone::UTC;
        let now = parse_ts_str("2026-10-20T12:00:00Z").unwrap();
        let s = daily(&conn, (Dim::Workflow, "wf"), parse_ts_str("2026-09-10T00:00:00Z").unwrap(), now, &tz).unwrap();
        let v: Vec<f64> = s.days.iter().map(|d| d.2.to_usd_f64()).collect();
        assert_eq!(s.days[0].0, "2026-09-10");
        assert_eq!(&v[..4], &[10.0, 10.0, 0.0, 20.0]);
        assert_eq!(s.days.len(), 41);
        let r = trend_report(&conn, Some("wf"), now, &tz).unwrap();
        assert_eq!(r.month, "2026-10");
        let t = r.trend.unwrap();
        assert_eq!(t.month_to_date, Nanos(200_000_000_000));
        assert_eq!(r.ahead.len(), 11);
        assert!((t.projected.to_usd_f64() - 310.0).abs() < 15.0, "{:?}", t.projected);
        assert!(t.p10 <= t.projected && t.projected <= t.p90);
        let b = r.backtest.unwrap();
        assert_eq!(b.periods.len(), 1, "September only: October is not complete");
        assert_eq!(b.periods[0].period, "2026-09");
        assert_eq!(b.periods[0].actual, Nanos(300_000_000_000));
        assert!(b.within_target, "{b:?}");
    }

    #[test]
    fn every_workflows_trend_from_one_read_equals_each_read_alone() {
        // Three workflows over two months at odd hours, one starting after
        // `now`, read in a zone with a half-hour offset and at a time inside
        // an hour.
        let mut recs = Vec::new();
        let mut k = 0;
        for (wf, from) in [("a", 1), ("b", 10), ("late", 40)] {
            for d in from..60 {
                k += 1;
                let ts =
                    parse_ts_str("2026-09-01T00:00:00Z").unwrap() + d * MS_PER_DAY + (k * 37 % 24) * time::MS_PER_HOUR;
                let mut r = call("2026-09-01T00:00:00Z", wf, "gpt-4o", k, 1_000_000_000 + k * 7_777);
                r.ts_ms = ts;
                recs.push(r);
            }
        }
        let conn = db(&recs);
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        for now in ["2026-10-12T09:41:00Z", "2026-10-31T23:59:00Z", "2026-10-05T00:00:00Z"] {
            let now = parse_ts_str(now).unwrap();
            let all = trend_reports_of_all(&conn, Dim::Workflow, now, &tz).unwrap();
            assert_eq!(all.len(), 3);
            for wf in ["a", "b", "late"] {
                assert_eq!(all[wf], trend_report(&conn, Some(wf), now, &tz).unwrap(), "{wf} at {now}");
            }
            assert!(!all["a"].recent.is_empty());
        }
    }
}
