//! Live spend: per workflow active in the last 24 hours, today, the last
//! 24 hours, the last hour, the burn rate and the runaway rule; for the whole ledger, today, month to date and the one
//! month-end projection. The cockpit's header and Live tab show this
//! model; whatever watches live (the cockpit, `aifin watch`) records its
//! runaways as events.
//!
//! **Burn rate**: spend over the last [`BURN_MS`] (two minutes) as dollars
//! per hour, so it follows a spike up and down within a minute or two.
//! **Baseline**: the mean spend per minute over the hour before the burn
//! window, leaving out minutes that were themselves part of a runaway (a
//! runaway must not raise the bar it is measured against). **Runaway**: a
//! burn rate of at least [`RUNAWAY_FACTOR`] times the baseline, above
//! [`RUNAWAY_FLOOR`] per hour and with at least [`RUNAWAY_MIN_CALLS`]
//! calls in the window. Past minutes are judged by the same rule on whole
//! minutes, replayed oldest first, which is how a runaway's start is found
//! again after a restart.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use rusqlite::Connection;

use super::table::thousands;
use crate::domain::dims::Dimension;
use crate::domain::money::{Nanos, div_round};
use crate::domain::time::{self, MS_PER_HOUR, end_of_month, start_of_month};
use crate::forecast::drivers::{TrendReport, trend_report};
use crate::store::events::{self, Event};
use crate::store::live::{MS_PER_MINUTE, minutes_by_workflow, newest_ts};
use crate::store::queries::{self, QueryPath, Window};
use crate::store::rollup::{Agg, Dim};

/// Minutes in the live sparklines.
pub const SPARK_MINUTES: usize = 60;
/// The window of the current burn rate.
pub const BURN_MS: i64 = 2 * MS_PER_MINUTE;
/// Minutes of the baseline before the burn window.
pub const BASELINE_MINUTES: i64 = 60;
/// A burn rate this many times the baseline is a runaway.
pub const RUNAWAY_FACTOR: f64 = 2.0;
/// Below this burn rate per hour nothing is flagged (noise).
pub const RUNAWAY_FLOOR: Nanos = Nanos(500_000_000);
/// Fewer calls than this in the burn window are never a runaway.
pub const RUNAWAY_MIN_CALLS: i64 = 3;
/// Minutes replayed to find the runaways still in the baseline's reach.
const REPLAY_MINUTES: i64 = 2 * BASELINE_MINUTES + 2;

/// A runaway in progress (or just judged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runaway {
    /// The first flagged minute.
    pub since_ms: i64,
    /// The highest burn rate per hour seen since.
    pub peak_per_hour: Nanos,
    /// Spent since it started.
    pub cost: Nanos,
}

/// One workflow in the Live tab.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveWorkflow {
    pub workflow: String,
    pub team: Option<String>,
    pub today: Agg,
    /// The last 24 hours (what tokens and cost per call and the share are
    /// over, so that they mean the same at 1 am as at 5 pm).
    pub day: Agg,
    /// Cost over the last [`SPARK_MINUTES`] minutes (the spark line's).
    pub last_hour_cost: Nanos,
    /// Cost per minute, oldest first, the last entry being the current
    /// minute.
    pub per_minute: Vec<Nanos>,
    /// Calls and cost in the burn window.
    pub recent: Agg,
    /// The baseline per hour (see the module doc).
    pub baseline_per_hour: Nanos,
    pub runaway: Option<Runaway>,
    /// Successful outcomes in the last 24 hours (where outcomes exist).
    pub successes_24h: Option<i64>,
}

impl LiveWorkflow {
    /// Burn rate per hour now.
    pub fn burn_per_hour(&self) -> Nanos {
        per_hour(self.recent.cost, BURN_MS)
    }

    /// Why the workflow is flagged, in words.
    pub fn runaway_reason(&self) -> Option<String> {
        self.runaway.as_ref()?;
        let now = self.burn_per_hour();
        Some(if self.baseline_per_hour.0 == 0 {
            format!("{now}/h now, nothing in the hour before")
        } else {
            format!("{now}/h now vs {}/h baseline", self.baseline_per_hour)
        })
    }

    /// Burn now as a multiple of the baseline (`None`: no baseline).
    pub fn burn_ratio(&self) -> Option<f64> {
        (self.baseline_per_hour.0 > 0).then(|| self.burn_per_hour().0 as f64 / self.baseline_per_hour.0 as f64)
    }

    /// Tokens per call over the last 24 hours.
    pub fn tokens_per_call(&self) -> i64 {
        let t = self.day.input_tokens() + self.day.output;
        if self.day.calls == 0 { 0 } else { div_round(t as i128, self.day.calls as i128) as i64 }
    }

    /// Trend of the burn rate against the baseline.
    pub fn trend_arrow(&self) -> &'static str {
        match self.burn_ratio() {
            None if self.recent.cost.0 > 0 => "↑",
            None => "→",
            Some(r) if r > 1.25 => "↑",
            Some(r) if r < 0.8 => "↓",
            Some(_) => "→",
        }
    }
}

/// `cost` over `window_ms`, per hour.
pub fn per_hour(cost: Nanos, window_ms: i64) -> Nanos {
    Nanos(div_round(cost.0 as i128 * MS_PER_HOUR as i128, window_ms as i128) as i64)
}

/// The runaway rule on one window: burn per hour, its calls, the
/// baseline per hour.
pub fn is_runaway(burn: Nanos, calls: i64, baseline: Nanos) -> bool {
    burn >= RUNAWAY_FLOOR && calls >= RUNAWAY_MIN_CALLS && burn.0 as f64 >= RUNAWAY_FACTOR * baseline.0 as f64
}

/// Whole minutes of one workflow: (cost, calls), oldest first, ending
/// with the current (partial) minute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MinuteSeries {
    pub cost: Vec<Nanos>,
    pub calls: Vec<i64>,
}

/// The verdict of the replay on a series of minutes.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    /// Which minutes were part of a runaway.
    pub flagged: Vec<bool>,
    /// The baseline per hour as of the last minute.
    pub baseline_per_hour: Nanos,
}

/// Judges every minute by the runaway rule, oldest first: minute `m`'s
/// burn is its own spend and the minute before's; its baseline is the
/// mean of the unflagged minutes in the hour before those two. The first
/// hour of the series is history only.
pub fn replay(s: &MinuteSeries) -> Replay {
    let n = s.cost.len();
    let mut flagged = vec![false; n];
    let base = |flagged: &[bool], m: usize| -> Nanos {
        let hi = m.saturating_sub(1);
        let lo = hi.saturating_sub(BASELINE_MINUTES as usize);
        let kept: Vec<i64> = (lo..hi).filter(|i| !flagged[*i]).map(|i| s.cost[i].0).collect();
        // Minutes without calls count as quiet ones; flagged minutes are
        // left out of the mean altogether.
        let minutes = kept.len().max(1) as i128;
        Nanos(div_round(kept.iter().map(|v| *v as i128).sum::<i128>() * 60, minutes) as i64)
    };
    // A minute is judged once a whole baseline hour lies before it.
    for m in (BASELINE_MINUTES as usize + 1)..n {
        let burn = per_hour(s.cost[m] + s.cost[m - 1], 2 * MS_PER_MINUTE);
        let calls = s.calls[m] + s.calls[m - 1];
        flagged[m] = is_runaway(burn, calls, base(&flagged, m));
    }
    let baseline_per_hour = if n > 0 { base(&flagged, n) } else { Nanos::ZERO };
    Replay { flagged, baseline_per_hour }
}

/// The whole ledger, live.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveData {
    pub workflows: Vec<LiveWorkflow>,
    pub today: Agg,
    pub month: Agg,
    pub last_24h: Nanos,
    pub month_end_ms: i64,
    pub newest_ts: Option<i64>,
    /// The one month-end projection (all workflows): the trend and its
    /// band, as the Forecast tab shows it.
    pub projection: TrendReport,
    /// Runaways recorded in the last 24 hours, oldest first.
    pub runaway_events: Vec<Event>,
}

impl LiveData {
    /// The last 24 hours' spend as an hourly rate.
    pub fn run_rate_24h(&self) -> Nanos {
        per_hour(self.last_24h, 24 * MS_PER_HOUR)
    }

    pub fn runaways(&self) -> impl Iterator<Item = &LiveWorkflow> {
        self.workflows.iter().filter(|w| w.runaway.is_some())
    }
}

/// The header: today, month to date, the month-end projection (with its
/// band), the last 24 hours' run rate, runaways.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub today: String,
    pub month: String,
    /// `month end $310.23` (or `month end —`).
    pub month_end: String,
    /// `P10 $290.00 – P90 $330.00` (empty without a projection).
    pub band: String,
    pub run_rate: String,
    pub runaways: usize,
}

pub fn header(live: &LiveData) -> Header {
    let t = live.projection.trend.as_ref();
    Header {
        today: live.today.cost.to_string(),
        month: live.month.cost.to_string(),
        month_end: format!("month end {}", t.map(|t| t.projected.to_string()).unwrap_or_else(|| "—".into())),
        band: t.map(|t| format!("P10 {} – P90 {}", t.p10, t.p90)).unwrap_or_default(),
        run_rate: format!("24 h run rate {}/h", live.run_rate_24h()),
        runaways: live.runaways().count(),
    }
}

/// A recorded runaway in one line: `sales-research-agent 14:03–14:05 peak
/// $46.16/h cost $1.42` (times in `tz`; an open end reads "now").
pub fn runaway_line(e: &Event, tz: &TimeZone) -> String {
    let hm = |ms: i64| time::local_hm(ms, tz);
    let money = |k: &str| e.data[k].as_i64().map(|n| Nanos(n).to_string()).unwrap_or_else(|| "-".into());
    format!(
        "{} {}–{} peak {}/h cost {}",
        e.subject,
        hm(e.started_at),
        e.ended_at.map(hm).unwrap_or_else(|| "now".into()),
        money("peak_per_hour_nanousd"),
        money("cost_nanousd")
    )
}

/// A pane's lines of text.
#[derive(Clone, Debug, PartialEq)]
pub struct PaneText {
    pub line1: String,
    pub line2: String,
}

/// The pane's text for a pane `width` characters wide inside (the second
/// line's items closer together when they would not fit apart).
pub fn pane_text(w: &LiveWorkflow, total_24h: Nanos, wide: bool, width: usize) -> PaneText {
    let calls_per_min = w.recent.calls as f64 * MS_PER_MINUTE as f64 / BURN_MS as f64;
    let share = if total_24h.0 > 0 { w.day.cost.0 as f64 / total_24h.0 as f64 } else { 0.0 };
    let line1 = if wide {
        format!(
            "today {}  24 h {}  1 h {}  burn {}/h {}  {:.1} calls/min",
            w.today.cost,
            w.day.cost,
            w.last_hour_cost,
            w.burn_per_hour(),
            w.trend_arrow(),
            calls_per_min
        )
    } else {
        format!(
            "today {}  24h {}  {}/h {}  {:.1}/min",
            w.today.cost,
            w.day.cost,
            w.burn_per_hour(),
            w.trend_arrow(),
            calls_per_min
        )
    };
    let per_call = super::table::Cell::per(w.day.cost, w.day.calls - w.day.unpriced_calls).human();
    let mut items = vec![
        format!("{} tok/call", thousands(w.tokens_per_call())),
        format!("{per_call}/call"),
        format!("{} of 24 h", super::table::percent(share, 0)),
    ];
    if let Some(cps) = super::ledger::cost_per_success(w.day.cost, w.successes_24h) {
        items.push(format!("{}/success", super::table::Cell::UsdFine(cps).human()));
    }
    if w.day.unpriced_calls > 0 {
        items.push(format!("{} unpriced", thousands(w.day.unpriced_calls)));
    }
    let mut line2 = items.join("  ");
    if line2.chars().count() > width {
        line2 = items.join(" ");
    }
    PaneText { line1, line2 }
}

/// Reads the live view of the ledger as of `now`.
pub fn live(conn: &Connection, now: i64, tz: &TimeZone) -> rusqlite::Result<LiveData> {
    let minute_now = now.div_euclid(MS_PER_MINUTE) * MS_PER_MINUTE;
    let first_spark = minute_now - (SPARK_MINUTES as i64 - 1) * MS_PER_MINUTE;
    let first_replay = minute_now - (REPLAY_MINUTES - 1) * MS_PER_MINUTE;
    let day = Window { since: Some(time::start_of_local_day(now, tz)), until: None };
    let month_start = start_of_month(now, tz);

    let mut map: HashMap<String, LiveWorkflow> = HashMap::new();
    for (wf, agg) in queries::group_dimension(conn, Dimension::Workflow, day, QueryPath::Rollup)? {
        map.entry(wf.clone()).or_insert_with(|| LiveWorkflow { workflow: wf, ..Default::default() }).today = agg;
    }
    let last_24h = Window { since: Some(now - 24 * MS_PER_HOUR), until: None };
    for (wf, agg) in queries::group_dimension(conn, Dimension::Workflow, last_24h, QueryPath::Rollup)? {
        map.entry(wf.clone()).or_insert_with(|| LiveWorkflow { workflow: wf, ..Default::default() }).day = agg;
    }
    for (wf, o) in crate::store::outcomes::by_group(conn, queries::GroupBy::WORKFLOW, last_24h, tz)? {
        if let Some(w) = map.get_mut(&wf) {
            w.successes_24h = Some(o.successes);
        }
    }
    let n_replay = REPLAY_MINUTES as usize;
    let mut series: HashMap<String, MinuteSeries> = HashMap::new();
    for m in minutes_by_workflow(conn, first_replay, minute_now + MS_PER_MINUTE)? {
        let s = series
            .entry(m.workflow.clone())
            .or_insert_with(|| MinuteSeries { cost: vec![Nanos::ZERO; n_replay], calls: vec![0; n_replay] });
        let i = ((m.minute_ms - first_replay) / MS_PER_MINUTE) as usize;
        if let (Some(c), Some(k)) = (s.cost.get_mut(i), s.calls.get_mut(i)) {
            *c += m.cost;
            *k += m.calls;
        }
        let w = map
            .entry(m.workflow.clone())
            .or_insert_with(|| LiveWorkflow { workflow: m.workflow, ..Default::default() });
        if m.minute_ms >= first_spark {
            w.last_hour_cost += m.cost;
        }
    }
    for (wf, agg) in queries::group_dimension(
        conn,
        Dimension::Workflow,
        Window { since: Some(now - BURN_MS), until: None },
        QueryPath::Rollup,
    )? {
        map.entry(wf.clone()).or_insert_with(|| LiveWorkflow { workflow: wf, ..Default::default() }).recent = agg;
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
            let s = series
                .remove(&w.workflow)
                .unwrap_or_else(|| MinuteSeries { cost: vec![Nanos::ZERO; n_replay], calls: vec![0; n_replay] });
            let r = replay(&s);
            w.per_minute = s.cost[n_replay - SPARK_MINUTES..].to_vec();
            w.baseline_per_hour = r.baseline_per_hour;
            if is_runaway(w.burn_per_hour(), w.recent.calls, w.baseline_per_hour) {
                // The run of flagged minutes that ends now (the current
                // minute counts even when the replay's whole-minute view
                // has not caught up yet).
                let mut start = n_replay - 1;
                while start > 0 && r.flagged[start - 1] {
                    start -= 1;
                }
                let peak = (start..n_replay)
                    .map(|m| per_hour(s.cost[m] + s.cost[m.saturating_sub(1)], 2 * MS_PER_MINUTE))
                    .max()
                    .unwrap_or(Nanos::ZERO)
                    .max(w.burn_per_hour());
                w.runaway = Some(Runaway {
                    since_ms: first_replay + start as i64 * MS_PER_MINUTE,
                    peak_per_hour: peak,
                    cost: s.cost[start..].iter().copied().sum(),
                });
            }
            w.team = teams.get(&w.workflow).cloned().filter(|t| !t.is_empty());
            w
        })
        .collect();
    workflows.sort_by(|a, b| {
        b.day.cost.cmp(&a.day.cost).then(b.today.cost.cmp(&a.today.cost)).then(a.workflow.cmp(&b.workflow))
    });
    let total = |w: Window| -> rusqlite::Result<Agg> {
        let mut acc = Agg::default();
        for (_, a) in queries::group(conn, Dim::Total, w, QueryPath::Rollup)? {
            acc.add(&a);
        }
        Ok(acc)
    };
    Ok(LiveData {
        workflows,
        today: total(day)?,
        month: total(Window { since: Some(month_start), until: None })?,
        last_24h: total(last_24h)?.cost,
        month_end_ms: end_of_month(now, tz),
        newest_ts: newest_ts(conn)?,
        projection: trend_report(conn, None, now, tz)?,
        runaway_events: events::list(conn, "runaway", now - 24 * MS_PER_HOUR)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(costs: &[i64], calls: i64) -> MinuteSeries {
        MinuteSeries { cost: costs.iter().map(|c| Nanos(*c)).collect(), calls: vec![calls; costs.len()] }
    }

    const CENT: i64 = 10_000_000;

    #[test]
    fn a_narrow_pane_keeps_every_item_of_its_second_line() {
        // 24 calls, 455,520 tokens, $9.28 over the day: 18,980 tokens and
        // $0.3867 a call, 24% of $38.67; 120 successes: $0.0773 each.
        let w = LiveWorkflow {
            day: Agg {
                calls: 24,
                uncached_input: 450_000,
                output: 5_520,
                cost: Nanos(9_280_000_000),
                ..Agg::default()
            },
            successes_24h: Some(120),
            ..LiveWorkflow::default()
        };
        let roomy = pane_text(&w, Nanos(38_670_000_000), false, 100).line2;
        assert_eq!(roomy, "18,980 tok/call  $0.3867/call  24% of 24 h  $0.0773/success");
        let narrow = pane_text(&w, Nanos(38_670_000_000), false, 58).line2;
        assert_eq!(narrow, "18,980 tok/call $0.3867/call 24% of 24 h $0.0773/success");
    }

    #[test]
    fn the_rule_by_hand() {
        // $1/h floor is above the $0.50 floor; 2x the baseline.
        assert!(is_runaway(Nanos(1_000_000_000), 3, Nanos(500_000_000)));
        assert!(!is_runaway(Nanos(999_999_999), 3, Nanos(500_000_000)), "just under twice the baseline");
        assert!(!is_runaway(Nanos(1_000_000_000), 2, Nanos(0)), "too few calls");
        assert!(!is_runaway(Nanos(499_999_999), 10, Nanos(0)), "under the floor");
        // $0.02 over two minutes is $0.60/h.
        assert_eq!(per_hour(Nanos(2 * CENT), BURN_MS), Nanos(60 * CENT));
    }

    #[test]
    fn flagged_minutes_do_not_raise_the_baseline() {
        // An hour at 1 cent a minute ($0.60/h), then 20 minutes at 10 cents.
        let mut costs = vec![CENT; 62];
        costs.extend(vec![10 * CENT; 20]);
        let r = replay(&series(&costs, 5));
        // Every spike minute is flagged, the first one included (its burn
        // is half spike, half normal: $3.30/h against $0.60/h).
        assert!(r.flagged[62..].iter().all(|f| *f), "{:?}", &r.flagged[55..]);
        assert!(r.flagged[..62].iter().all(|f| !*f));
        // The baseline is still the quiet hour: 60 cents an hour.
        assert_eq!(r.baseline_per_hour, Nanos(60 * CENT));
    }

    #[test]
    fn without_exclusion_the_spike_would_hide_itself() {
        // The same series judged against a plain trailing mean: after 30
        // spike minutes the mean is (30 x 1 + 30 x 10) / 60 = 5.5 cents a
        // minute, $3.30/h, and a $6/h burn is under twice that. The replay
        // keeps flagging it.
        let mut costs = vec![CENT; 62];
        costs.extend(vec![10 * CENT; 30]);
        let r = replay(&series(&costs, 5));
        assert!(*r.flagged.last().unwrap());
    }
}
