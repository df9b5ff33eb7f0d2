//! Cost per successful outcome (the white paper's section VII): per group,
//! the window's outcomes, successes, spend and spend / successes, with its
//! change month over month and quarter over quarter, and the paper's two
//! named cases:
//!
//! * `succeeding`: spend up (more than +5%) but cost per success down;
//! * `failing_quietly`: spend flat (within ±5%) but cost per success up
//!   (more than +5%).
//!
//! A change compares the period to date (the calendar month or quarter
//! containing the report's time, up to it) with the same stretch of the
//! period before, so a comparison on the 10th is ten days against ten days.

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;

use super::ledger::cost_per_success;
use super::table::{Cell, Column, Row, Table};
use crate::domain::money::Nanos;
use crate::domain::time;
use crate::store::outcomes::{OutcomeAgg, by_group};
use crate::store::queries::{self, GroupBy, Window};

/// How much counts as "up" or "flat": 5%.
pub const FLAT_PCT: f64 = 5.0;

/// The paper's two cases.
pub fn verdict(spend_change_pct: Option<f64>, cps_change_pct: Option<f64>) -> Option<&'static str> {
    let (s, c) = (spend_change_pct?, cps_change_pct?);
    if s > FLAT_PCT && c < 0.0 {
        Some("succeeding")
    } else if s.abs() <= FLAT_PCT && c > FLAT_PCT {
        Some("failing_quietly")
    } else {
        None
    }
}

/// One group's figures in one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub spend: Nanos,
    pub outcomes: Option<OutcomeAgg>,
}

impl Figures {
    pub fn successes(&self) -> Option<i64> {
        self.outcomes.map(|o| o.successes)
    }

    pub fn cost_per_success(&self) -> Option<Nanos> {
        cost_per_success(self.spend, self.successes())
    }
}

/// A change between two windows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Change {
    pub spend_change_pct: Option<f64>,
    pub cost_per_success_change_pct: Option<f64>,
    pub verdict: Option<&'static str>,
}

fn pct_change(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| (now as f64 / before as f64 - 1.0) * 100.0)
}

impl Change {
    fn of(now: &Figures, before: &Figures) -> Change {
        let spend = pct_change(now.spend.0, before.spend.0);
        let cps = match (now.cost_per_success(), before.cost_per_success()) {
            (Some(a), Some(b)) => pct_change(a.0, b.0),
            _ => None,
        };
        Change { spend_change_pct: spend, cost_per_success_change_pct: cps, verdict: verdict(spend, cps) }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeRow {
    pub key: String,
    pub now: Figures,
    pub mom: Change,
    pub qoq: Change,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutcomesReport {
    pub by: GroupBy,
    pub window: Window,
    pub as_of: i64,
    pub tz_name: String,
    pub rows: Vec<OutcomeRow>,
    pub total: Figures,
    /// Share of the window's spend whose workflow has a success definition.
    pub coverage: Option<f64>,
}

/// Figures by group key for a window.
fn figures(
    conn: &Connection,
    by: GroupBy,
    w: Window,
    tz: &jiff::tz::TimeZone,
    rules: &[String],
) -> rusqlite::Result<HashMap<String, Figures>> {
    let mut out: HashMap<String, Figures> = HashMap::new();
    for r in queries::ledger(conn, by, w, tz)?.rows {
        out.entry(r.key).or_default().spend = r.agg.cost;
    }
    for (k, o) in by_group(conn, by, w, tz)? {
        out.entry(k).or_default().outcomes = Some(o);
    }
    if by == GroupBy::WORKFLOW {
        for w in rules {
            out.entry(w.clone()).or_default().outcomes.get_or_insert_with(OutcomeAgg::default);
        }
    }
    Ok(out)
}

/// `[start of the period to date, as_of)` and the same stretch of the
/// period before. At a period's first instant the period to date is the
/// whole period just ended (on 1 November: October against September).
pub fn to_date(as_of: i64, tz: &jiff::tz::TimeZone, months: i8) -> (Window, Window) {
    let start = time::start_of_period(as_of - 1, tz, months, 0);
    let prev = time::start_of_period(as_of - 1, tz, months, -1);
    let now = Window { since: Some(start), until: Some(as_of) };
    let before = Window { since: Some(prev), until: Some((prev + (as_of - start)).min(start)) };
    (now, before)
}

impl OutcomesReport {
    /// The report of `w` (its rows) with changes anchored at `as_of`.
    pub fn build(
        conn: &Connection,
        by: GroupBy,
        w: Window,
        as_of: i64,
        tz: &jiff::tz::TimeZone,
        rules: &[String],
    ) -> rusqlite::Result<OutcomesReport> {
        let now = figures(conn, by, w, tz, rules)?;
        let (m1, m0) = to_date(as_of, tz, 1);
        let (q1, q0) = to_date(as_of, tz, 3);
        let [fm1, fm0, fq1, fq0] = [m1, m0, q1, q0].map(|x| figures(conn, by, x, tz, rules));
        let (fm1, fm0, fq1, fq0) = (fm1?, fm0?, fq1?, fq0?);
        let get = |m: &HashMap<String, Figures>, k: &str| m.get(k).copied().unwrap_or_default();
        let mut rows: Vec<OutcomeRow> = now
            .iter()
            .map(|(k, f)| OutcomeRow {
                key: k.clone(),
                now: *f,
                mom: Change::of(&get(&fm1, k), &get(&fm0, k)),
                qoq: Change::of(&get(&fq1, k), &get(&fq0, k)),
            })
            .collect();
        rows.sort_by(|a, b| b.now.spend.cmp(&a.now.spend).then_with(|| a.key.cmp(&b.key)));
        let total = Figures {
            spend: Nanos(rows.iter().map(|r| r.now.spend.0).fold(0i64, i64::saturating_add)),
            outcomes: rows.iter().filter_map(|r| r.now.outcomes).reduce(|mut a, b| {
                a.outcomes += b.outcomes;
                a.successes += b.successes;
                a.value = Nanos(a.value.0.saturating_add(b.value.0));
                a
            }),
        };
        // Coverage is by workflow whatever the grouping.
        let by_wf = if by == GroupBy::WORKFLOW { now.clone() } else { figures(conn, GroupBy::WORKFLOW, w, tz, rules)? };
        let spend: i64 = by_wf.values().map(|f| f.spend.0).sum();
        let covered: i64 =
            by_wf.iter().filter(|(k, f)| !k.is_empty() && f.outcomes.is_some()).map(|(_, f)| f.spend.0).sum();
        let coverage = (spend > 0).then(|| covered as f64 / spend as f64);
        Ok(OutcomesReport { by, window: w, as_of, tz_name: time::tz_name(tz), rows, total, coverage })
    }

    pub fn title(&self) -> String {
        format!(
            "Cost per successful outcome by {} · {} · changes to {} · time zone {}",
            self.by,
            super::ledger::window_words(self.window.since, self.window.until),
            time::format_utc(self.as_of),
            self.tz_name
        )
    }

    pub fn table(&self) -> Table {
        let columns = vec![
            Column::left("key", self.by.title(), 0),
            Column::right("outcomes", "Outcomes", 5),
            Column::right("successes", "Successes", 1),
            Column::right("success_rate", "Rate", 4),
            Column::right("spend_usd", "Spend", 2),
            Column::right("cost_per_success_usd", "Cost/success", 0),
            Column::quiet_right("value_usd", "Value", 8),
            Column::right("mom_spend_change_pct", "Spend MoM", 6),
            Column::right("mom_cost_per_success_change_pct", "Cost/success MoM", 3),
            Column::right("qoq_cost_per_success_change_pct", "Cost/success QoQ", 7),
            Column::left("verdict", "Verdict", 1),
        ];
        let cells = |f: &Figures, mom: Option<&Change>, qoq: Option<&Change>| {
            let o = f.outcomes;
            vec![
                o.map(|o| Cell::Count(o.outcomes)).unwrap_or(Cell::Empty),
                o.map(|o| Cell::Count(o.successes)).unwrap_or(Cell::Empty),
                o.filter(|o| o.outcomes > 0)
                    .map(|o| Cell::Share(o.successes as f64 / o.outcomes as f64))
                    .unwrap_or(Cell::Empty),
                Cell::Usd(f.spend),
                f.cost_per_success().map(Cell::UsdFine).unwrap_or(Cell::Empty),
                o.filter(|o| o.value.0 > 0).map(|o| Cell::Usd(o.value)).unwrap_or(Cell::Empty),
                mom.and_then(|c| c.spend_change_pct).map(Cell::Pct).unwrap_or(Cell::Empty),
                mom.and_then(|c| c.cost_per_success_change_pct).map(Cell::Pct).unwrap_or(Cell::Empty),
                qoq.and_then(|c| c.cost_per_success_change_pct).map(Cell::Pct).unwrap_or(Cell::Empty),
                mom.and_then(|c| c.verdict).map(|v| Cell::Label(verdict_words(v))).unwrap_or(Cell::Empty),
            ]
        };
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let mut c = vec![Cell::text_or(Some(r.key.as_str()), self.by.missing_label())];
                c.extend(cells(&r.now, Some(&r.mom), Some(&r.qoq)));
                Row { id: r.key.clone(), cells: c }
            })
            .collect();
        let mut total = vec![Cell::Label("Total")];
        // Successes of different workflows are not one unit.
        let mut t = cells(&self.total, None, None);
        t[4] = Cell::Empty;
        total.extend(t);
        let mut notes = vec![match self.coverage {
            Some(c) => format!(
                "outcome coverage {} of spend (workflows with a success definition) · a change compares the month (quarter) to date with the same stretch before",
                super::table::coverage(c)
            ),
            None => "no spend in the window".into(),
        }];
        if self.rows.iter().all(|r| r.now.outcomes.is_none()) {
            notes.push(
                "no outcome is defined: log outcome events or add [[outcome.rule]] (see the README's Outcomes)".into(),
            );
        }
        Table { title: self.title(), columns, rows, total: Some(total), notes }
    }

    pub fn json(&self) -> OutcomesJson {
        let row = |key: Option<String>, f: &Figures, mom: Option<&Change>, qoq: Option<&Change>, per: bool| RowJson {
            key,
            outcomes: f.outcomes.map(|o| o.outcomes),
            successes: f.successes(),
            success_rate: f.outcomes.filter(|o| o.outcomes > 0).map(|o| o.successes as f64 / o.outcomes as f64),
            spend_usd: f.spend.to_usd_f64(),
            spend_nanousd: f.spend.0,
            cost_per_success_usd: f.cost_per_success().filter(|_| per).map(Nanos::to_usd_f64),
            value_usd: f.outcomes.map(|o| o.value.to_usd_f64()),
            mom: mom.map(ChangeJson::of),
            qoq: qoq.map(ChangeJson::of),
            verdict: mom.and_then(|c| c.verdict),
        };
        OutcomesJson {
            by: self.by.to_string(),
            since: self.window.since.map(time::format_utc),
            until: self.window.until.map(time::format_utc),
            as_of: time::format_utc(self.as_of),
            tz: self.tz_name.clone(),
            rows: self
                .rows
                .iter()
                .map(|r| row((!r.key.is_empty()).then(|| r.key.clone()), &r.now, Some(&r.mom), Some(&r.qoq), true))
                .collect(),
            total: row(Some("total".into()), &self.total, None, None, false),
            coverage: self.coverage,
        }
    }
}

fn verdict_words(v: &str) -> &'static str {
    match v {
        "succeeding" => "succeeding",
        _ => "failing quietly",
    }
}

#[derive(Serialize)]
pub struct ChangeJson {
    spend_change_pct: Option<f64>,
    cost_per_success_change_pct: Option<f64>,
    verdict: Option<&'static str>,
}

impl ChangeJson {
    fn of(c: &Change) -> ChangeJson {
        ChangeJson {
            spend_change_pct: c.spend_change_pct,
            cost_per_success_change_pct: c.cost_per_success_change_pct,
            verdict: c.verdict,
        }
    }
}

#[derive(Serialize)]
pub struct RowJson {
    key: Option<String>,
    outcomes: Option<i64>,
    successes: Option<i64>,
    success_rate: Option<f64>,
    spend_usd: f64,
    spend_nanousd: i64,
    cost_per_success_usd: Option<f64>,
    value_usd: Option<f64>,
    mom: Option<ChangeJson>,
    qoq: Option<ChangeJson>,
    verdict: Option<&'static str>,
}

#[derive(Serialize)]
pub struct OutcomesJson {
    by: String,
    since: Option<String>,
    until: Option<String>,
    as_of: String,
    tz: String,
    rows: Vec<RowJson>,
    total: RowJson,
    coverage: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_two_cases() {
        // Spend doubled, cost per success fell: succeeding.
        assert_eq!(verdict(Some(100.0), Some(-10.0)), Some("succeeding"));
        // Spend flat, cost per success up 20%: failing quietly.
        assert_eq!(verdict(Some(2.0), Some(20.0)), Some("failing_quietly"));
        assert_eq!(verdict(Some(-5.0), Some(5.1)), Some("failing_quietly"));
        // Neither.
        assert_eq!(verdict(Some(5.0), Some(-1.0)), None, "+5% is flat, not up");
        assert_eq!(verdict(Some(3.0), Some(5.0)), None, "+5% is not up");
        assert_eq!(verdict(Some(50.0), Some(10.0)), None);
        assert_eq!(verdict(None, Some(10.0)), None);
    }

    #[test]
    fn to_date_windows_by_hand() {
        let tz = jiff::tz::TimeZone::UTC;
        let ms = |s: &str| time::parse_ts_str(s).unwrap();
        let (now, before) = to_date(ms("2026-03-31T12:00:00Z"), &tz, 1);
        assert_eq!(now, Window { since: Some(ms("2026-03-01T00:00:00Z")), until: Some(ms("2026-03-31T12:00:00Z")) });
        // February is shorter: its stretch stops at its end.
        assert_eq!(before, Window { since: Some(ms("2026-02-01T00:00:00Z")), until: Some(ms("2026-03-01T00:00:00Z")) });
        let (_, before) = to_date(ms("2026-11-10T00:00:00Z"), &tz, 3);
        assert_eq!(before, Window { since: Some(ms("2026-07-01T00:00:00Z")), until: Some(ms("2026-08-10T00:00:00Z")) });
        // On the first of the month: the month just ended, against the one before.
        let (now, before) = to_date(ms("2026-11-01T00:00:00Z"), &tz, 1);
        assert_eq!(now, Window { since: Some(ms("2026-10-01T00:00:00Z")), until: Some(ms("2026-11-01T00:00:00Z")) });
        assert_eq!(before, Window { since: Some(ms("2026-09-01T00:00:00Z")), until: Some(ms("2026-10-01T00:00:00Z")) });
    }
}
