//! Budgets and their burn-rate alerts: month to date, the month-end
//! projection (the one the header and the Forecast tab show), variance,
//! each alert pair's burn now, and the alerts of the last days replayed
//! from the ledger (the rule lives in [`crate::operate::burn`]).

use std::collections::{BTreeSet, HashMap};

use jiff::tz::TimeZone;
use rusqlite::Connection;
use serde::Serialize;

use super::table::{Cell, Column, Row, Table};
use crate::domain::money::Nanos;
use crate::domain::time::{self, MS_PER_DAY, MS_PER_HOUR, end_of_month, start_of_month};
use crate::forecast::drivers::trend_report_of;
use crate::operate::Operate;
use crate::operate::burn::{self, Alert, Budget, MS_PER_MINUTE, PairState, Scope, Series};
use crate::store::events::Event;
use crate::store::live::{MinuteCache, hourly_costs, minute_costs};
use crate::store::queries::{self, QueryPath, Window};
use crate::store::rollup::Dim;

/// The events table's kind for budget alerts.
pub const BUDGET_ALERT: &str = "budget_alert";
/// Resolved alerts of this many days are listed.
pub const RESOLVED_DAYS: i64 = 7;

/// One budget now.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetRow {
    pub budget: Budget,
    pub spent: Nanos,
    pub projected: Option<Nanos>,
    /// (projected - budget) / budget.
    pub variance: Option<f64>,
    /// Each alert pair judged at the report's time.
    pub pairs: Vec<PairState>,
    pub owner: Option<String>,
    pub oncall: Option<String>,
}

impl BudgetRow {
    /// The burn of the pair with the shortest long window (the last hour
    /// by default), as a multiple of the even burn.
    pub fn burn(&self) -> f64 {
        self.pairs
            .iter()
            .min_by_key(|p| self.budget.rules.get(p.rule).map(|r| r.long_ms).unwrap_or(i64::MAX))
            .map(|p| p.long_burn)
            .unwrap_or(0.0)
    }
}

/// An alert with the people to call.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub alert: Alert,
    pub owner: Option<String>,
    pub oncall: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertsReport {
    pub as_of: i64,
    pub budgets: Vec<BudgetRow>,
    /// Firing first, then resolved, newest first.
    pub alerts: Vec<AlertRow>,
}

/// The rollup dimension and key of a budget's scope.
pub fn dim_key(s: &Scope) -> (Dim, &str) {
    match s {
        Scope::Total => (Dim::Total, ""),
        Scope::Workflow(w) => (Dim::Workflow, w),
        Scope::Team(t) => (Dim::Team, t),
        Scope::Customer(c) => (Dim::Customer, c),
    }
}

fn matches(s: &Scope, m: &crate::store::live::MinuteCost) -> bool {
    match s {
        Scope::Total => true,
        Scope::Workflow(w) => m.workflow == *w,
        Scope::Team(t) => m.team == *t,
        Scope::Customer(c) => m.customer == *c,
    }
}

/// Length of the month containing `t`, in ms.
pub fn month_ms(t: i64, tz: &TimeZone) -> i64 {
    end_of_month(t, tz) - start_of_month(t, tz)
}

/// Hourly spend of every budget's scope over hours `[h0, h1]`.
fn load_hours(conn: &Connection, budgets: &[Budget], h0: i64, h1: i64) -> rusqlite::Result<Vec<Series>> {
    let mut by_dim: HashMap<Dim, Vec<(i64, String, i64)>> = HashMap::new();
    let mut out = Vec::with_capacity(budgets.len());
    for b in budgets {
        let (d, key) = dim_key(&b.scope);
        if let std::collections::hash_map::Entry::Vacant(e) = by_dim.entry(d) {
            e.insert(hourly_costs(conn, d, h0, h1)?);
        }
        let mut s = Series::default();
        for (h, k, c) in &by_dim[&d] {
            if k == key {
                s.hours.insert(*h, Nanos(*c));
            }
        }
        out.push(s);
    }
    Ok(out)
}

/// Loads minute sums for the given hours into every series.
fn load_minutes(
    conn: &Connection,
    budgets: &[Budget],
    series: &mut [Series],
    hours: &BTreeSet<i64>,
) -> rusqlite::Result<()> {
    // Consecutive hours are read in one query.
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for h in hours {
        match ranges.last_mut() {
            Some((_, end)) if *end == *h => *end = h + 1,
            _ => ranges.push((*h, h + 1)),
        }
    }
    for (a, b) in ranges {
        let rows = minute_costs(conn, a * MS_PER_HOUR, b * MS_PER_HOUR)?;
        for (bud, s) in budgets.iter().zip(series.iter_mut()) {
            for m in rows.iter().filter(|m| matches(&bud.scope, m)) {
                *s.minutes.entry(m.minute).or_insert(Nanos::ZERO) += Nanos(m.cost);
            }
            s.minute_hours.extend(a..b);
        }
    }
    Ok(())
}

/// The longest window of any budget's pairs.
fn longest(budgets: &[Budget]) -> i64 {
    budgets.iter().flat_map(|b| b.rules.iter().map(|r| r.long_ms)).max().unwrap_or(MS_PER_HOUR)
}

/// Every budget's pairs judged at `now`, without replaying the past: what
/// `aifin watch` and the cockpit evaluate on each refresh. Reads the
/// minutes of the last hours whole; [`judge_cached`] keeps them between
/// refreshes.
pub fn judge_now(
    conn: &Connection,
    budgets: &[Budget],
    now: i64,
    tz: &TimeZone,
) -> rusqlite::Result<Vec<Vec<PairState>>> {
    let mut cache = MinuteCache::default();
    judge_cached(conn, budgets, now, tz, &mut cache)
}

/// [`judge_now`] with the minutes kept in `cache` (brought up to `now`
/// first: only the calls stored since its last refresh are read).
pub fn judge_cached(
    conn: &Connection,
    budgets: &[Budget],
    now: i64,
    tz: &TimeZone,
    cache: &mut MinuteCache,
) -> rusqlite::Result<Vec<Vec<PairState>>> {
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    cache.refresh(conn, now)?;
    judge_with(conn, budgets, now, tz, cache)
}

/// Every budget's pairs judged at `now` from a minute cache the caller
/// has brought up to `now`.
pub fn judge_with(
    conn: &Connection,
    budgets: &[Budget],
    now: i64,
    tz: &TimeZone,
    cache: &MinuteCache,
) -> rusqlite::Result<Vec<Vec<PairState>>> {
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let h_now = (now - 1).div_euclid(MS_PER_HOUR);
    let h0 = (now - longest(budgets)).div_euclid(MS_PER_HOUR);
    let mut series = load_hours(conn, budgets, h0, h_now)?;
    // The minutes of the current hour and the one before: the short
    // windows and the 1-hour window are exact.
    for (b, s) in budgets.iter().zip(&mut series) {
        let (dim, key) = match &b.scope {
            Scope::Total => (None, ""),
            Scope::Workflow(k) => (Some(0), k.as_str()),
            Scope::Team(k) => (Some(1), k.as_str()),
            Scope::Customer(k) => (Some(2), k.as_str()),
        };
        if let Some(m) = cache.minutes(dim, key) {
            s.minutes = m.iter().map(|(k, v)| (*k, Nanos(*v))).collect();
        }
        s.minute_hours.extend(cache.hours());
    }
    let m = month_ms(now, tz);
    Ok(budgets.iter().zip(&series).map(|(b, s)| burn::judge(b, s, now, m)).collect())
}

/// The severities holding now, per budget: (budget index, severity, pair).
pub fn holding_now(budgets: &[Budget], judged: &[Vec<PairState>]) -> Vec<(usize, burn::Severity, PairState)> {
    let mut out = Vec::new();
    for (i, (b, pairs)) in budgets.iter().zip(judged).enumerate() {
        let mut h: Vec<(burn::Severity, PairState)> = burn::holding(b, pairs).into_iter().collect();
        h.sort_by_key(|(s, _)| *s);
        out.extend(h.into_iter().map(|(s, p)| (i, s, p)));
    }
    out
}

/// The people of a budget: a workflow's (or its team's) owner entry, a
/// team's entry.
fn people(op: &Operate, scope: &Scope, teams: &HashMap<String, String>) -> People {
    let e = match scope {
        Scope::Workflow(w) => {
            let t = op.owners.team_of(w, teams.get(w).map(String::as_str));
            op.owners.of(w, t)
        }
        Scope::Team(t) => op.owners.of("", Some(t)),
        // No one owns the total or a customer's spend by name: the
        // function the RACI makes accountable for budgets does.
        _ => return (op.raci.accountable_for("budget").map(str::to_string), None),
    };
    (e.and_then(|e| e.accountable.clone()), e.and_then(|e| e.oncall.clone()))
}

/// (accountable, on-call channel).
pub type People = (Option<String>, Option<String>);

/// Month-to-date spend per key of a single dimension (`Dim::Total`: the
/// key ""): whole hours from the rollups, the current hour from the minute
/// cache (brought up to `now` by the caller), so no call is read again;
/// exact from the calls when the month does not start on an hour.
pub fn month_to_date(
    conn: &Connection,
    d: Dim,
    now: i64,
    tz: &TimeZone,
    cache: &MinuteCache,
) -> rusqlite::Result<HashMap<String, Nanos>> {
    let start = start_of_month(now, tz);
    let hc = (now - 1).div_euclid(MS_PER_HOUR);
    let idx = match d {
        Dim::Total => None,
        Dim::Workflow => Some(0),
        Dim::Team => Some(1),
        Dim::Customer => Some(2),
        _ => return exact_month(conn, d, start, now),
    };
    if start % MS_PER_HOUR != 0 || !cache.hours().contains(&hc) || start > hc * MS_PER_HOUR {
        return exact_month(conn, d, start, now);
    }
    let mut out: HashMap<String, Nanos> = HashMap::new();
    for (_, k, c) in hourly_costs(conn, d, start / MS_PER_HOUR, hc - 1)? {
        *out.entry(k).or_insert(Nanos::ZERO) += Nanos(c);
    }
    let mut current = |key: &str, m: &std::collections::BTreeMap<i64, i64>| {
        let n: i64 = m.range(hc * 60..).map(|(_, v)| *v).sum();
        if n != 0 {
            *out.entry(key.to_string()).or_insert(Nanos::ZERO) += Nanos(n);
        }
    };
    match idx {
        None => current("", &cache.total),
        Some(i) => {
            for (k, m) in &cache.by[i] {
                current(k, m);
            }
        }
    }
    Ok(out)
}

fn exact_month(conn: &Connection, d: Dim, start: i64, now: i64) -> rusqlite::Result<HashMap<String, Nanos>> {
    Ok(queries::group(conn, d, Window { since: Some(start), until: Some(now) }, QueryPath::Rollup)?
        .into_iter()
        .map(|(k, a)| (k, a.cost))
        .collect())
}

/// Every budget's people as of `now` (teams as the month's ledger shows
/// them where the config does not say).
pub fn people_now(
    conn: &Connection,
    op: &Operate,
    now: i64,
    tz: &TimeZone,
) -> rusqlite::Result<HashMap<Scope, People>> {
    let teams = queries::dominant_pair(
        conn,
        Dim::WorkflowTeam,
        Window { since: Some(start_of_month(now, tz)), until: None },
        QueryPath::Rollup,
    )?;
    Ok(op.budgets.iter().map(|b| (b.scope.clone(), people(op, &b.scope, &teams))).collect())
}

impl AlertsReport {
    /// Budgets as of `as_of`, and the alerts of the last
    /// [`RESOLVED_DAYS`] days replayed from the ledger (nothing written).
    pub fn build(conn: &Connection, op: &Operate, as_of: i64, tz: &TimeZone) -> rusqlite::Result<AlertsReport> {
        let budgets = &op.budgets;
        let month_start = start_of_month(as_of, tz);
        let teams = queries::dominant_pair(
            conn,
            Dim::WorkflowTeam,
            Window { since: Some(month_start), until: Some(as_of) },
            QueryPath::Rollup,
        )?;
        // Replay from a day before the listed span, so an alert already
        // going on when the span starts is seen from its start.
        let from = as_of - (RESOLVED_DAYS + 1) * MS_PER_DAY;
        let h0 = (from - longest(budgets)).div_euclid(MS_PER_HOUR) - 1;
        let h_end = (as_of - 1).div_euclid(MS_PER_HOUR);
        let mut series = load_hours(conn, budgets, h0, h_end)?;
        // Nothing after --as-of: the hour that contains it is read from
        // its minutes only.
        let mut minute_hours: BTreeSet<i64> = BTreeSet::from([h_end - 1, h_end]);
        for (b, s) in budgets.iter().zip(&mut series) {
            s.hours.remove(&h_end);
            let mut h = from.div_euclid(MS_PER_HOUR);
            while h <= h_end {
                if burn::could_fire(b, s, h, month_ms(h * MS_PER_HOUR, tz)) {
                    minute_hours.insert(h - 1);
                    minute_hours.insert(h);
                }
                h += 1;
            }
        }
        load_minutes(conn, budgets, &mut series, &minute_hours)?;
        // Minutes after --as-of are not the report's.
        let last_minute = (as_of - 1).div_euclid(MS_PER_MINUTE);
        for s in &mut series {
            s.minutes.retain(|m, _| *m <= last_minute);
            let h = s.minutes.range(h_end * 60..).map(|(_, n)| *n).sum::<Nanos>();
            s.hours.insert(h_end, h);
        }
        let mut rows = Vec::new();
        let mut alerts = Vec::new();
        for (b, s) in budgets.iter().zip(&series) {
            let (dim, key) = dim_key(&b.scope);
            let spent =
                queries::group(conn, dim, Window { since: Some(month_start), until: Some(as_of) }, QueryPath::Rollup)?
                    .into_iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, a)| a.cost)
                    .sum::<Nanos>();
            let projected = trend_report_of(conn, (dim, key), as_of, tz)?.trend.map(|t| t.projected);
            let variance = projected.map(|p| (p.0 - b.monthly.0) as f64 / b.monthly.0 as f64);
            let pairs = burn::judge(b, s, as_of, month_ms(as_of, tz));
            let (owner, oncall) = people(op, &b.scope, &teams);
            for a in burn::replay(b, s, from, as_of, &|t| month_ms(t, tz)) {
                if a.ended_at.is_none_or(|e| e >= as_of - RESOLVED_DAYS * MS_PER_DAY) {
                    alerts.push(AlertRow { alert: a, owner: owner.clone(), oncall: oncall.clone() });
                }
            }
            rows.push(BudgetRow { budget: b.clone(), spent, projected, variance, pairs, owner, oncall });
        }
        alerts.sort_by(|a, b| {
            b.alert
                .firing()
                .cmp(&a.alert.firing())
                .then(b.alert.started_at.cmp(&a.alert.started_at))
                .then(a.alert.subject().cmp(&b.alert.subject()))
        });
        Ok(AlertsReport { as_of, budgets: rows, alerts })
    }

    /// The budgets judged now, without replaying the past (the cockpit's
    /// refresh, `cache` brought up to `now` by the caller): month to date,
    /// each pair's burn, the people; the total's
    /// projection is the header's (`total_projection`), the others have
    /// none here.
    pub fn now(
        conn: &Connection,
        op: &Operate,
        now: i64,
        tz: &TimeZone,
        total_projection: Option<Nanos>,
        cache: &MinuteCache,
        teams: &HashMap<String, String>,
    ) -> rusqlite::Result<AlertsReport> {
        let judged = judge_with(conn, &op.budgets, now, tz, cache)?;
        let mut spent_by: HashMap<Dim, HashMap<String, Nanos>> = HashMap::new();
        let mut budgets = Vec::new();
        for (b, pairs) in op.budgets.iter().zip(judged) {
            let (dim, key) = dim_key(&b.scope);
            if let std::collections::hash_map::Entry::Vacant(e) = spent_by.entry(dim) {
                e.insert(month_to_date(conn, dim, now, tz, cache)?);
            }
            let spent = spent_by[&dim].get(key).copied().unwrap_or(Nanos::ZERO);
            let projected = if b.scope == Scope::Total { total_projection } else { None };
            let variance = projected.map(|p| (p.0 - b.monthly.0) as f64 / b.monthly.0 as f64);
            let (owner, oncall) = people(op, &b.scope, teams);
            budgets.push(BudgetRow { budget: b.clone(), spent, projected, variance, pairs, owner, oncall });
        }
        Ok(AlertsReport { as_of: now, budgets, alerts: Vec::new() })
    }

    /// The severities holding now, per budget (see [`holding_now`]).
    pub fn holding(&self) -> Vec<(usize, burn::Severity, PairState)> {
        let budgets: Vec<Budget> = self.budgets.iter().map(|b| b.budget.clone()).collect();
        let judged: Vec<Vec<PairState>> = self.budgets.iter().map(|b| b.pairs.clone()).collect();
        holding_now(&budgets, &judged)
    }

    /// Each budget's people.
    pub fn people(&self) -> HashMap<Scope, People> {
        self.budgets.iter().map(|b| (b.budget.scope.clone(), (b.owner.clone(), b.oncall.clone()))).collect()
    }

    pub fn firing(&self) -> impl Iterator<Item = &AlertRow> {
        self.alerts.iter().filter(|a| a.alert.firing())
    }

    pub fn budgets_table(&self) -> Table {
        Table {
            title: format!("Budgets · month to date at {}", time::format_utc(self.as_of)),
            columns: vec![
                Column::left("budget", "Budget", 0),
                Column::left("scope", "Scope", 3),
                Column::right("monthly_usd", "Monthly", 0),
                Column::right("spent_usd", "Spent", 0),
                Column::right("projected_usd", "Projected", 1),
                Column::right("variance_pct", "Variance", 1),
                Column::right("burn", "Burn (x budget)", 2),
                Column::left("accountable", "Accountable", 2),
            ],
            rows: self
                .budgets
                .iter()
                .map(|b| Row {
                    id: b.budget.scope.id(),
                    cells: vec![
                        Cell::text(b.budget.scope.name()),
                        Cell::Label(b.budget.scope.kind()),
                        Cell::Usd(b.budget.monthly),
                        Cell::Usd(b.spent),
                        b.projected.map(Cell::Usd).unwrap_or(Cell::Empty),
                        b.variance.map(|v| Cell::Pct(v * 100.0)).unwrap_or(Cell::Empty),
                        Cell::Num(b.burn(), 1),
                        Cell::text_or(b.owner.as_deref(), "-"),
                    ],
                })
                .collect(),
            total: None,
            notes: vec![
                "Burn: the last hour's spend as a multiple of the even burn (budget / hours in the month)".into(),
            ],
        }
    }

    pub fn alerts_table(&self) -> Table {
        Table {
            title: format!("Alerts · firing, and resolved in the last {RESOLVED_DAYS} days"),
            columns: vec![
                Column::left("state", "State", 0),
                Column::left("severity", "Severity", 0),
                Column::left("budget", "Budget", 0),
                Column::left("started_at", "Started", 1),
                Column::left("ended_at", "Ended", 2),
                Column::right("burn_rate", "Burn (x budget)", 0),
                Column::left("windows", "Windows", 3),
                Column::left("owner", "Accountable", 1),
                Column::left("oncall", "On call", 1),
            ],
            rows: self
                .alerts
                .iter()
                .map(|a| {
                    let r = &a.alert.rule;
                    Row {
                        id: format!("{}@{}", a.alert.subject(), a.alert.started_at),
                        cells: vec![
                            Cell::Label(if a.alert.firing() { "FIRING" } else { "resolved" }),
                            Cell::Label(a.alert.severity.name()),
                            Cell::text(a.alert.scope.name()),
                            Cell::Time(a.alert.started_at),
                            a.alert.ended_at.map(Cell::Time).unwrap_or(Cell::Empty),
                            Cell::Num(if a.alert.firing() { a.alert.burn } else { a.alert.peak_burn }, 1),
                            Cell::text(format!("{} / {} at {}x", r.long, r.short, r.burn())),
                            Cell::text_or(a.owner.as_deref(), "-"),
                            Cell::text_or(a.oncall.as_deref(), "-"),
                        ],
                    }
                })
                .collect(),
            total: None,
            notes: vec![],
        }
    }

    pub fn json(&self) -> AlertsJson {
        AlertsJson {
            as_of: time::format_utc(self.as_of),
            firing: self.firing().count(),
            alerts: self.alerts.iter().map(alert_json).collect(),
            budgets: self
                .budgets
                .iter()
                .map(|b| BudgetJson {
                    budget: b.budget.scope.name().to_string(),
                    scope: b.budget.scope.kind(),
                    monthly_usd: b.budget.monthly.to_usd_f64(),
                    monthly_nanousd: b.budget.monthly.0,
                    spent_usd: b.spent.to_usd_f64(),
                    spent_nanousd: b.spent.0,
                    projected_usd: b.projected.map(Nanos::to_usd_f64),
                    projected_nanousd: b.projected.map(|p| p.0),
                    variance_pct: b.variance.map(|v| (v * 1000.0).round() / 10.0),
                    burn: b
                        .pairs
                        .iter()
                        .map(|p| {
                            let r = &b.budget.rules[p.rule];
                            PairJson {
                                severity: r.severity.name(),
                                windows: WindowsJson {
                                    long: r.long.clone(),
                                    short: r.short.clone(),
                                    threshold: r.burn(),
                                },
                                burn_rate: round3(p.long_burn),
                                short_burn_rate: round3(p.short_burn),
                                holds: p.holds,
                            }
                        })
                        .collect(),
                    owner: b.owner.clone(),
                    oncall: b.oncall.clone(),
                })
                .collect(),
        }
    }
}

/// A fraction to three decimals, as the reports' JSON gives rates.
pub(super) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub fn alert_json(a: &AlertRow) -> AlertJson {
    let r = &a.alert.rule;
    AlertJson {
        budget: a.alert.scope.name().to_string(),
        scope: a.alert.scope.kind().into(),
        severity: a.alert.severity.name().into(),
        state: if a.alert.firing() { "firing" } else { "resolved" }.into(),
        started_at: time::format_utc(a.alert.started_at),
        ended_at: a.alert.ended_at.map(time::format_utc),
        burn_rate: round3(a.alert.burn),
        short_burn_rate: round3(a.alert.short_burn),
        peak_burn_rate: round3(a.alert.peak_burn),
        windows: WindowsJson { long: r.long.clone(), short: r.short.clone(), threshold: r.burn() },
        owner: a.owner.clone(),
        oncall: a.oncall.clone(),
    }
}

#[derive(Serialize, Clone, Debug, PartialEq, serde::Deserialize)]
pub struct WindowsJson {
    pub long: String,
    pub short: String,
    pub threshold: f64,
}

#[derive(Serialize, Clone, Debug, PartialEq, serde::Deserialize)]
pub struct AlertJson {
    pub budget: String,
    pub scope: String,
    pub severity: String,
    pub state: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// Long-window burn of the pair that fired (a multiple of the even
    /// burn): the latest judged; `peak_burn_rate` is the highest.
    pub burn_rate: f64,
    pub short_burn_rate: f64,
    pub peak_burn_rate: f64,
    pub windows: WindowsJson,
    pub owner: Option<String>,
    pub oncall: Option<String>,
}

#[derive(Serialize)]
pub struct PairJson {
    pub severity: &'static str,
    pub windows: WindowsJson,
    pub burn_rate: f64,
    pub short_burn_rate: f64,
    pub holds: bool,
}

#[derive(Serialize)]
pub struct BudgetJson {
    pub budget: String,
    pub scope: &'static str,
    pub monthly_usd: f64,
    pub monthly_nanousd: i64,
    pub spent_usd: f64,
    pub spent_nanousd: i64,
    pub projected_usd: Option<f64>,
    pub projected_nanousd: Option<i64>,
    pub variance_pct: Option<f64>,
    pub burn: Vec<PairJson>,
    pub owner: Option<String>,
    pub oncall: Option<String>,
}

#[derive(Serialize)]
pub struct AlertsJson {
    pub as_of: String,
    pub firing: usize,
    pub alerts: Vec<AlertJson>,
    pub budgets: Vec<BudgetJson>,
}

/// The transitions to record, given the severities holding now and the
/// alerts recorded as open: a start for each new one, an end for each
/// one that stopped holding. The same rule serves the cockpit and
/// `aifin watch`, so a restart neither forgets nor re-fires an alert.
pub fn transitions(
    budgets: &[Budget],
    holding: &[(usize, burn::Severity, PairState)],
    open: &[Event],
    now: i64,
    people: &HashMap<Scope, People>,
) -> Vec<(Event, AlertJson)> {
    let mut out = Vec::new();
    let mut held = BTreeSet::new();
    for (i, sev, p) in holding {
        let b = &budgets[*i];
        let rule = b.rules[p.rule].clone();
        let subject = format!("{}/{}", b.scope.id(), sev.name());
        held.insert(subject.clone());
        if open.iter().any(|e| e.subject == subject && e.ended_at.is_none()) {
            continue;
        }
        let (owner, oncall) = people.get(&b.scope).cloned().unwrap_or_default();
        let a = AlertRow {
            alert: Alert {
                scope: b.scope.clone(),
                severity: *sev,
                started_at: now,
                ended_at: None,
                rule,
                burn: p.long_burn,
                short_burn: p.short_burn,
                peak_burn: p.long_burn,
            },
            owner,
            oncall,
        };
        let j = alert_json(&a);
        out.push((event_of(&subject, &a, &j), j));
    }
    for e in open.iter().filter(|e| e.ended_at.is_none() && !held.contains(&e.subject)) {
        let Ok(mut j) = serde_json::from_value::<AlertJson>(e.data.clone()) else { continue };
        j.state = "resolved".into();
        j.ended_at = Some(time::format_utc(now));
        let mut ended = e.clone();
        ended.ended_at = Some(now);
        ended.data = serde_json::to_value(&j).unwrap_or(serde_json::Value::Null);
        out.push((ended, j));
    }
    out
}

fn event_of(subject: &str, a: &AlertRow, j: &AlertJson) -> Event {
    Event {
        kind: BUDGET_ALERT.into(),
        subject: subject.to_string(),
        started_at: a.alert.started_at,
        ended_at: a.alert.ended_at,
        severity: Some(a.alert.severity.name().into()),
        data: serde_json::to_value(j).unwrap_or(serde_json::Value::Null),
    }
}
