//! View models: pure functions from snapshots and view state to the text
//! the widgets lay out. All formatting, sorting and units live here;
//! widgets never compute.

use super::app::{App, LedgerState, SortCol, Status, Tab};
use super::data::{BURN_MINUTES, Drill, LiveData, LiveWorkflow, SourcesData};
use crate::domain::money::{Nanos, div_round};
use crate::domain::record::PART_NAMES;
use crate::domain::sanitize::{clean, clean_truncated};
use crate::domain::time::MS_PER_HOUR;
use crate::output::{bytes, coverage, percent, thousands, usd_f64};
use crate::store::queries::{GroupBy, Ledger};
use crate::store::rollup::Agg;

/// A burn rate this many times the trailing hour's rate is a runaway.
pub const RUNAWAY_FACTOR: f64 = 2.0;
/// Below this burn rate ($/h) nothing is flagged (noise).
pub const RUNAWAY_FLOOR_NANOS_PER_H: i64 = 500_000_000;

pub fn usd(n: i64) -> String {
    Nanos(n).format_usd(2)
}

fn usd4(n: i64) -> String {
    Nanos(n).format_usd(4)
}

fn per_call(cost: i64, calls: i64) -> String {
    if calls == 0 { "-".into() } else { usd4(div_round(cost as i128, calls as i128) as i64) }
}

fn avg(n: i64, d: i64) -> i64 {
    if d == 0 { 0 } else { div_round(n as i128, d as i128) as i64 }
}

/// Burn rates of a workflow in nano-dollars per hour: (now, trailing hour).
pub fn burn(w: &LiveWorkflow) -> (i64, i64) {
    (w.recent.cost_nano * (60 / BURN_MINUTES), w.trailing_cost)
}

/// Why a workflow is flagged, if it is.
pub fn runaway(w: &LiveWorkflow) -> Option<String> {
    let (now, trailing) = burn(w);
    if now < RUNAWAY_FLOOR_NANOS_PER_H || w.recent.calls < 3 {
        return None;
    }
    if trailing == 0 {
        return Some(format!("{}/h now, nothing in the hour before", usd(now)));
    }
    let ratio = now as f64 / trailing as f64;
    (ratio >= RUNAWAY_FACTOR).then(|| format!("{}/h now vs {}/h trailing hour", usd(now), usd(trailing)))
}

fn trend_arrow(now: i64, trailing: i64) -> &'static str {
    if trailing == 0 {
        return if now > 0 { "↑" } else { "→" };
    }
    let r = now as f64 / trailing as f64;
    if r > 1.25 {
        "↑"
    } else if r < 0.8 {
        "↓"
    } else {
        "→"
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HeaderVm {
    pub today: String,
    pub month: String,
    pub projection: String,
    pub alerts: usize,
}

/// Month-end projection: month to date plus the last 24 hours' hourly rate
/// for the hours left in the month.
pub fn projection(live: &LiveData, now_ms: i64) -> (i64, i64) {
    let rate_per_h = live.last_24h_cost / 24;
    let hours_left = (live.month_end_ms - now_ms).max(0) as i128;
    let rest = div_round(rate_per_h as i128 * hours_left, MS_PER_HOUR as i128) as i64;
    (live.month.cost_nano + rest, rate_per_h)
}

pub fn header_vm(live: &LiveData, now_ms: i64) -> HeaderVm {
    let (proj, rate) = projection(live, now_ms);
    HeaderVm {
        today: usd(live.today.cost_nano),
        month: usd(live.month.cost_nano),
        projection: format!("{} at {}/h", usd(proj), usd(rate)),
        alerts: live.workflows.iter().filter(|w| runaway(w).is_some()).count(),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PaneVm {
    pub title: String,
    pub line1: String,
    pub line2: String,
    /// Cost per minute (nanos), oldest first.
    pub spark: Vec<u64>,
    /// Why the workflow is flagged (replaces `line2` when set).
    pub alert: Option<String>,
    /// A short marker for the pane's border.
    pub badge: Option<String>,
}

pub fn pane_vm(w: &LiveWorkflow, total_today: i64, wide: bool) -> PaneVm {
    let (now, trailing) = burn(w);
    let name = if w.workflow.is_empty() { "(unattributed)".to_string() } else { clean(&w.workflow).into_owned() };
    let title = match &w.team {
        Some(t) => format!("{name} · {}", clean(t)),
        None => name,
    };
    let share = if total_today > 0 { w.today.cost_nano as f64 / total_today as f64 } else { 0.0 };
    let calls_per_min = w.recent.calls as f64 / BURN_MINUTES as f64;
    let tokens = w.today.input_tokens() + w.today.output;
    let line1 = if wide {
        format!(
            "today {}  last hour {}  burn {}/h {}  {:.1} calls/min",
            usd(w.today.cost_nano),
            usd(w.last_hour.cost_nano),
            usd(now),
            trend_arrow(now, trailing),
            calls_per_min
        )
    } else {
        format!(
            "today {}  1h {}  {}/h {}  {:.1}/min",
            usd(w.today.cost_nano),
            usd(w.last_hour.cost_nano),
            usd(now),
            trend_arrow(now, trailing),
            calls_per_min
        )
    };
    let line2 = format!(
        "{} tok/call  {}/call  {}",
        thousands(avg(tokens, w.today.calls)),
        per_call(w.today.cost_nano, w.today.calls),
        percent(share, 0)
    );
    let alert = runaway(w);
    let badge = alert.as_ref().map(|_| {
        if trailing == 0 {
            " ▲ RUNAWAY: new spend ".to_string()
        } else {
            format!(" ▲ RUNAWAY {:.1}× ", now as f64 / trailing as f64)
        }
    });
    PaneVm { title, line1, line2, spark: w.per_minute.iter().map(|v| (*v).max(0) as u64).collect(), alert, badge }
}

/// The display order of ledger rows for a sort.
pub fn ledger_order(l: &Ledger, sort: SortCol, desc: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..l.rows.len()).collect();
    let key = |i: &usize| -> i128 {
        let a = &l.rows[*i].agg;
        match sort {
            SortCol::Cost => a.cost_nano as i128,
            SortCol::Calls => a.calls as i128,
            SortCol::InputTokens => a.input_tokens() as i128,
            SortCol::AvgInput => avg(a.input_tokens(), a.calls) as i128,
            SortCol::CostPerCall => {
                if a.calls == 0 {
                    0
                } else {
                    a.cost_nano as i128 * 1000 / a.calls as i128
                }
            }
            SortCol::Unpriced => a.unpriced_calls as i128,
            SortCol::Key => 0,
        }
    };
    if sort == SortCol::Key {
        idx.sort_by(|a, b| l.rows[*a].key.cmp(&l.rows[*b].key));
        if desc {
            idx.reverse();
        }
    } else {
        idx.sort_by(|a, b| {
            let o = key(a).cmp(&key(b)).then(l.rows[*b].key.cmp(&l.rows[*a].key));
            if desc { o.reverse() } else { o }
        });
    }
    idx
}

#[derive(Clone, Debug, PartialEq)]
pub struct TableVm {
    pub title: String,
    pub headers: Vec<&'static str>,
    /// Right-aligned columns.
    pub right: Vec<bool>,
    pub widths: Vec<u16>,
    pub rows: Vec<Vec<String>>,
    pub total: Option<Vec<String>>,
    pub footer: String,
}

fn group_title(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Workflow => "Workflow",
        GroupBy::Team => "Team",
        GroupBy::Customer => "Customer",
        GroupBy::Model => "Model",
        GroupBy::Provider => "Provider",
        GroupBy::Day => "Day",
        GroupBy::Month => "Month",
    }
}

/// A column before fitting: header, alignment, priority (lower is kept
/// longer), cells and total cell.
struct Column {
    header: &'static str,
    right: bool,
    priority: u8,
    cells: Vec<String>,
    total: String,
}

/// Keeps the most important columns that fit in `width` (inside borders,
/// one space between columns), each as wide as its content.
fn fit(columns: Vec<Column>, width: u16) -> (Vec<&'static str>, Vec<bool>, Vec<u16>, Vec<Vec<String>>, Vec<String>) {
    let natural = |c: &Column| -> u16 {
        c.cells
            .iter()
            .chain(std::iter::once(&c.total))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(c.header.chars().count()) as u16
    };
    let avail = width.saturating_sub(2);
    let mut keep: Vec<bool> = vec![true; columns.len()];
    let total_width = |keep: &[bool]| -> u16 {
        let kept: Vec<&Column> = columns.iter().zip(keep).filter(|(_, k)| **k).map(|(c, _)| c).collect();
        kept.iter().map(|c| natural(c).min(if c.priority == 0 { 22 } else { u16::MAX })).sum::<u16>()
            + kept.len().saturating_sub(1) as u16
    };
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(columns[*i].priority));
    for i in order {
        if total_width(&keep) <= avail || columns[i].priority == 0 {
            continue;
        }
        keep[i] = false;
    }
    let kept: Vec<&Column> = columns.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c).collect();
    let rows = (0..kept.first().map(|c| c.cells.len()).unwrap_or(0))
        .map(|r| kept.iter().map(|c| c.cells[r].clone()).collect())
        .collect();
    let mut widths: Vec<u16> = kept.iter().map(|c| natural(c)).collect();
    // The first (key) column gets what is left, at least 12 columns.
    let others: u16 = widths.iter().skip(1).sum::<u16>() + kept.len().saturating_sub(1) as u16;
    if let Some(w0) = widths.first_mut() {
        *w0 = (*w0).min(avail.saturating_sub(others)).max(12);
    }
    (
        kept.iter().map(|c| c.header).collect(),
        kept.iter().map(|c| c.right).collect(),
        widths,
        rows,
        kept.iter().map(|c| c.total.clone()).collect(),
    )
}

pub fn ledger_vm(l: &Ledger, st: &LedgerState, width: u16) -> TableVm {
    let order = ledger_order(l, st.sort, st.descending);
    let rows: Vec<&crate::store::queries::LedgerRow> = order.iter().map(|i| &l.rows[*i]).collect();
    let col = |header: &'static str, right: bool, priority: u8, f: &dyn Fn(&Agg) -> String| Column {
        header,
        right,
        priority,
        cells: rows.iter().map(|r| f(&r.agg)).collect(),
        total: f(&l.total),
    };
    let share = |a: &Agg| {
        if l.total.cost_nano > 0 { percent(a.cost_nano as f64 / l.total.cost_nano as f64, 1) } else { "-".into() }
    };
    let mut columns = vec![Column {
        header: group_title(l.by),
        right: false,
        priority: 0,
        cells: rows
            .iter()
            .map(|r| if r.key.is_empty() { l.by.missing_label().to_string() } else { clean(&r.key).into_owned() })
            .collect(),
        total: "Total".into(),
    }];
    let aux_title = match l.by {
        GroupBy::Workflow => Some("Team"),
        GroupBy::Model => Some("Price key"),
        _ => None,
    };
    if let Some(t) = aux_title {
        columns.push(Column {
            header: t,
            right: false,
            priority: 7,
            cells: rows
                .iter()
                .map(|r| r.aux.as_deref().map(|s| clean(s).into_owned()).unwrap_or_else(|| "-".into()))
                .collect(),
            total: String::new(),
        });
    }
    columns.extend([
        col("Calls", true, 3, &|a| thousands(a.calls)),
        col("Input tok", true, 8, &|a| thousands(a.input_tokens())),
        col("Cache read", true, 10, &|a| thousands(a.cache_read)),
        col("Cache write", true, 11, &|a| thousands(a.cache_write)),
        col("Output", true, 9, &|a| thousands(a.output)),
        col("Avg in", true, 5, &|a| thousands(avg(a.input_tokens(), a.calls))),
        col("Cost", true, 1, &|a| usd(a.cost_nano)),
        col("Cost/call", true, 4, &|a| per_call(a.cost_nano, a.calls)),
        col("Share", true, 2, &share),
        col("Unpriced", true, 6, &|a| if a.unpriced_calls > 0 { thousands(a.unpriced_calls) } else { "-".into() }),
    ]);
    let (headers, right, widths, rows, total) = fit(columns, width);
    TableVm {
        title: format!(
            "Ledger by {} · {} · sort {} {}",
            l.by,
            st.window.label(),
            st.sort.label(),
            if st.descending { "↓" } else { "↑" }
        ),
        headers,
        right,
        widths,
        rows,
        total: Some(total),
        footer: format!(
            "attribution coverage {} · price coverage {}{}",
            coverage(l.attribution_coverage()),
            coverage(l.price_coverage()),
            if l.total.unpriced_calls > 0 {
                format!(" · {} unpriced calls not in the cost", thousands(l.total.unpriced_calls))
            } else {
                String::new()
            }
        ),
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DrillVm {
    pub title: String,
    pub summary: String,
    /// (section title, lines)
    pub sections: Vec<(String, Vec<String>)>,
    /// (day label, cost nanos)
    pub daily: Vec<(String, u64)>,
}

/// `col_width` is the width of one breakdown column on screen.
pub fn drill_vm(d: &Drill, by: GroupBy, col_width: u16) -> DrillVm {
    // One blank column between sections; the share only when it fits.
    let usable = (col_width as usize).saturating_sub(1);
    let with_share = usable >= 28;
    let label_w = usable.saturating_sub(if with_share { 17 } else { 11 }).clamp(4, 40);
    let name = if d.key.is_empty() { by.missing_label().to_string() } else { clean(&d.key).into_owned() };
    let total = d.row.cost_nano;
    let mut sections: Vec<(String, Vec<String>)> = d
        .breakdowns
        .iter()
        .map(|(title, rows)| {
            let lines = rows
                .iter()
                .take(8)
                .map(|(k, a)| {
                    let label = if k.is_empty() { "(none)".to_string() } else { clean_truncated(k, label_w) };
                    if with_share {
                        let share = if total > 0 { percent(a.cost_nano as f64 / total as f64, 0) } else { "-".into() };
                        format!("{label:<label_w$} {:>10} {:>5}", usd(a.cost_nano), share)
                    } else {
                        format!("{label:<label_w$} {:>10}", usd(a.cost_nano))
                    }
                })
                .collect();
            (title.to_string(), lines)
        })
        .collect();
    sections.push(composition_section(&d.row, col_width));
    DrillVm {
        title: format!("{} · {name}", group_title(by)),
        summary: format!(
            "{} calls · {} · {} unpriced calls · {} errors",
            thousands(d.row.calls),
            usd(d.row.cost_nano),
            thousands(d.row.unpriced_calls),
            thousands(d.row.error_calls)
        ),
        sections,
        // Day of the month under each bar.
        daily: d
            .daily
            .iter()
            .map(|(day, a)| (day.get(8..).unwrap_or(day).to_string(), a.cost_nano.max(0) as u64))
            .collect(),
    }
}

/// Token shares per prompt component, with a bar each.
fn composition_section(a: &Agg, col_width: u16) -> (String, Vec<String>) {
    let Some(shares) = a.composition() else {
        return ("Prompt".into(), vec!["composition not".into(), "in these logs".into()]);
    };
    let bar_w = (col_width as usize).saturating_sub(15).clamp(1, 20);
    let lines = PART_NAMES
        .iter()
        .zip(shares)
        .map(|(name, share)| {
            let filled = (share * bar_w as f64).round() as usize;
            format!("{name:<7} {:>4} {}", percent(share, 0), "█".repeat(filled))
        })
        .collect();
    (format!("Prompt · {} calls", thousands(a.parts_calls)), lines)
}

/// Lines read per second per source, from two snapshots `dt_ms` apart.
pub fn source_rates(prev: &SourcesData, cur: &SourcesData, dt_ms: i64) -> Vec<f64> {
    cur.sources
        .iter()
        .map(|s| {
            let before = prev.sources.iter().find(|p| p.id == s.id).map(|p| p.lines).unwrap_or(s.lines);
            if dt_ms > 0 { s.lines.saturating_sub(before) as f64 * 1000.0 / dt_ms as f64 } else { 0.0 }
        })
        .collect()
}

fn age(now_ms: i64, then: Option<i64>) -> String {
    let Some(t) = then else { return "-".into() };
    let s = ((now_ms - t) / 1000).max(0);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A path shortened from the left to fit `max` characters.
pub fn short_path(p: &str, max: usize) -> String {
    let p = clean(p);
    let n = p.chars().count();
    if n <= max {
        return p.into_owned();
    }
    let tail: String = p.chars().skip(n - (max - 1)).collect();
    format!("…{tail}")
}

pub fn sources_vm(s: &SourcesData, rates: &[f64], now_ms: i64, width: u16) -> (TableVm, Vec<String>) {
    let path_w = (width as usize).saturating_sub(62).clamp(16, 80);
    let lag = |i: usize| match s.on_disk.get(i).copied().flatten() {
        None => "missing".to_string(),
        Some(sz) if sz > s.sources[i].offset => bytes(sz - s.sources[i].offset),
        Some(_) => "-".into(),
    };
    let n = s.sources.len();
    let mk = |header: &'static str, right: bool, priority: u8, f: &dyn Fn(usize) -> String| Column {
        header,
        right,
        priority,
        cells: (0..n).map(f).collect(),
        total: String::new(),
    };
    let columns = vec![
        mk("Path", false, 0, &|i| short_path(&s.sources[i].path, path_w)),
        mk("Format", false, 4, &|i| s.sources[i].format.clone().unwrap_or_else(|| "-".into())),
        mk("Lines", true, 2, &|i| thousands(s.sources[i].lines as i64)),
        mk("Calls", true, 3, &|i| thousands(s.sources[i].calls as i64)),
        mk("Rejects", true, 1, &|i| thousands(s.sources[i].rejects as i64)),
        mk("Lag", true, 5, &lag),
        mk("Rate", true, 6, &|i| format!("{:.0}/s", rates.get(i).copied().unwrap_or(0.0))),
        mk("Last line", true, 7, &|i| age(now_ms, s.sources[i].last_line_ts)),
    ];
    let (headers, right, widths, rows, _) = fit(columns, width);
    let table = TableVm {
        title: format!("Sources · {} files", s.sources.len()),
        headers,
        right,
        widths,
        rows,
        total: None,
        footer: String::new(),
    };
    let rejects = s
        .rejects
        .iter()
        .map(|r| {
            let file = r.path.rsplit('/').next().unwrap_or(&r.path);
            format!(
                "{}:{}  {}  · {}",
                clean(file),
                r.line_no,
                clean_truncated(&r.reason, 60),
                clean_truncated(&r.excerpt, 60)
            )
        })
        .collect();
    (table, rejects)
}

pub fn status_line(app: &App) -> String {
    let st: &Status = &app.status;
    let newest = app.snapshot.as_ref().and_then(|s| s.live.newest_ts);
    let tokenizer = if st.tokenizer_queue > 0 {
        format!(
            "tokenizer {} queued · {} counted",
            thousands(st.tokenizer_queue as i64),
            thousands(st.tokenizer_done as i64)
        )
    } else if st.tokenizer_done > 0 {
        format!("tokenizer idle · {} counted", thousands(st.tokenizer_done as i64))
    } else {
        "tokenizer idle".to_string()
    };
    let ingest = if st.following == 0 {
        "not following".to_string()
    } else if st.catching_up {
        format!("catching up {:.0} lines/s", st.ingest_rate)
    } else {
        format!("ingest {:.0} lines/s", st.ingest_rate)
    };
    let window = match app.tab {
        Tab::Ledger => app.ledger.window.label(),
        _ => "today",
    };
    format!(
        " {ingest} · {tokenizer} · db {} · window {window} · tz {} · newest data {} · ? help",
        short_path(&st.db_path, 40),
        st.tz_name,
        age(app.now_ms, newest)
    )
}

/// Help overlay text: every key.
pub const HELP: &[(&str, &str)] = &[
    ("1 2 3 4, Tab, ← →, h l", "switch tab (Live, Ledger, Sources, Forecast)"),
    ("↑ ↓, j k, mouse wheel", "move the selection"),
    ("PgUp PgDn, Home End", "page, first, last"),
    ("Enter", "drill into the row (Live: in the ledger)"),
    ("Esc", "close the drill-down or this help"),
    ("g", "ledger: group by workflow/team/customer/model"),
    ("s, r", "ledger: sort by next column, reverse"),
    ("w", "ledger: window today / 7 d / 30 d / month"),
    ("Forecast: ↑ ↓, j k", "choose a slider"),
    ("Forecast: ← →, h l", "move it (Shift or H L: bigger steps)"),
    ("Forecast: [ ]", "previous / next workflow"),
    ("Forecast: 0, R", "reset the slider, reset all"),
    ("Forecast: a, x", "save the scenario for comparison, clear saved"),
    ("mouse click", "select a tab or a row"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit"),
];

/// One slider as drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct SliderVm {
    pub name: &'static str,
    pub value: String,
    /// Knob position and the zero mark, 0..=1 along the track.
    pub pos: f64,
    pub zero: f64,
    pub selected: bool,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrendChartVm {
    /// (day index, USD) of past days; today is the last index.
    pub actual: Vec<(f64, f64)>,
    /// From today to month end: expected, P10 and P90 per day.
    pub expected: Vec<(f64, f64)>,
    pub p10: Vec<(f64, f64)>,
    pub p90: Vec<(f64, f64)>,
    pub x_max: f64,
    pub y_max: f64,
    pub x_labels: Vec<String>,
    pub y_labels: Vec<String>,
    pub summary: String,
    pub accuracy: String,
}

/// One row of the saved-scenarios comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedVm {
    pub label: String,
    /// The sliders that differ from today, e.g. `g+40 i30`.
    pub changes: String,
    pub cost: String,
    pub delta: String,
    /// Bar length as a share of the largest cost in the table.
    pub frac: f64,
}

/// Compact slider values: growth g, tokens t, rate r, input reduction i,
/// cache hit c; only those set.
pub fn scenario_changes(values: &[f64; 5]) -> String {
    let tags = ["g", "t", "r", "i", "c"];
    let parts: Vec<String> = values
        .iter()
        .zip(tags)
        .filter(|(v, _)| **v != 0.0)
        .map(|(v, t)| if t == "i" || t == "c" { format!("{t}{v:.0}") } else { format!("{t}{v:+.0}") })
        .collect();
    if parts.is_empty() { "as today".into() } else { parts.join(" ") }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForecastVm {
    /// (name, today's monthly cost)
    pub items: Vec<(String, String)>,
    pub selected_item: usize,
    pub title: String,
    pub sliders: Vec<SliderVm>,
    /// (label, today, scenario)
    pub rows: Vec<[String; 3]>,
    pub delta: String,
    pub levers: String,
    /// The comparison table: today's drivers of the selected workflow
    /// first, then each saved scenario.
    pub saved: Vec<SavedVm>,
    pub chart: Option<TrendChartVm>,
}

fn signed_pct(v: f64) -> String {
    if v.abs() < 0.05 { "0%".into() } else { format!("{v:+.0}%") }
}

/// The forecast tab from the loaded drivers and the sliders: pure
/// arithmetic, no queries, so it follows every keypress.
pub fn forecast_vm(app: &App) -> Option<ForecastVm> {
    use super::app::{SLIDERS, scenario_of};
    let data = app.snapshot.as_ref()?.forecast.as_ref()?;
    let st = &app.forecast;
    let items: Vec<(String, String)> = data
        .items
        .iter()
        .map(|i| {
            let name =
                i.measured.workflow.as_deref().map(|w| clean(w).into_owned()).unwrap_or_else(|| "All workflows".into());
            (name, usd(i.measured.drivers.monthly_cost_nanos))
        })
        .collect();
    let selected_item = st.item.min(data.items.len().saturating_sub(1));
    let item = data.items.get(selected_item)?;
    let d = &item.measured.drivers;
    let s = scenario_of(&st.values);
    let today = crate::forecast::project(d, &crate::forecast::Scenario::default());
    let p = crate::forecast::project(d, &s);
    let sliders = SLIDERS
        .iter()
        .enumerate()
        .map(|(k, sl)| {
            let v = st.values[k];
            let span = sl.max - sl.min;
            let note = match k {
                3 => format!("input {} of tokens", percent(d.input_share, 0)),
                4 => format!("today {}", percent(d.cache_share, 0)),
                _ => String::new(),
            };
            SliderVm {
                name: sl.name,
                value: if k >= 3 { format!("{v:.0}%") } else { signed_pct(v) },
                pos: (v - sl.min) / span,
                zero: (0.0 - sl.min) / span,
                selected: k == st.slider,
                note,
            }
        })
        .collect();
    let calls = |v: f64| thousands(v.round() as i64);
    let rows = vec![
        ["Calls / month".into(), calls(today.monthly_calls), calls(p.monthly_calls)],
        ["Tokens / call".into(), calls(today.tokens_per_call), calls(p.tokens_per_call)],
        ["Rate / 1K".into(), format!("${:.6}", today.rate_per_1k_usd), format!("${:.6}", p.rate_per_1k_usd)],
        ["Monthly cost".into(), usd(today.projected_monthly_cost_nanousd), usd(p.projected_monthly_cost_nanousd)],
    ];
    let has_levers = st.values[3] > 0.0 || st.values[4] > 0.0;
    let levers = if has_levers {
        let l = crate::forecast::levers(d, &s);
        format!(
            "levers together save {} · naive sum claims {}",
            usd_f64(l.composed_saving_usd),
            usd_f64(l.naive_sum_saving_usd)
        )
    } else {
        "levers: input reduction and cache hit rate (↓ to reach them)".into()
    };
    let mut rows_saved: Vec<(String, String, i64, f64)> =
        vec![("today".into(), "as today".into(), today.projected_monthly_cost_nanousd, 0.0)];
    for (k, sv) in st.saved.iter().enumerate() {
        let delta =
            if sv.today_nanos != 0 { (sv.cost_nanos as f64 / sv.today_nanos as f64 - 1.0) * 100.0 } else { 0.0 };
        rows_saved.push((
            format!("{} {}", k + 1, clean(&sv.workflow)),
            scenario_changes(&sv.values),
            sv.cost_nanos,
            delta,
        ));
    }
    let max = rows_saved.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let saved = rows_saved
        .into_iter()
        .map(|(label, changes, cost, delta)| SavedVm {
            label,
            changes,
            cost: usd(cost),
            delta: signed_pct(delta),
            frac: cost.max(0) as f64 / max as f64,
        })
        .collect();
    let chart = trend_chart_vm(&item.trend);
    Some(ForecastVm {
        title: format!(
            "{} · last {:.0} d · {} calls{}",
            items[selected_item].0,
            item.measured.base_days,
            thousands(item.measured.calls),
            match item.measured.unpriced_calls {
                0 => String::new(),
                n => format!(" · {} unpriced (not in the cost)", thousands(n)),
            }
        ),
        items,
        selected_item,
        sliders,
        rows,
        delta: format!("{} vs today", signed_pct(p.delta_vs_today_pct)),
        levers,
        saved,
        chart,
    })
}

fn trend_chart_vm(r: &crate::forecast::drivers::TrendReport) -> Option<TrendChartVm> {
    let t = r.trend.as_ref()?;
    let n = r.recent.len();
    if n == 0 {
        return None;
    }
    // Past days, with today last; then the days ahead.
    let actual: Vec<(f64, f64)> = r.recent.iter().enumerate().map(|(i, (_, v))| (i as f64, *v)).collect();
    let today_x = (n - 1) as f64;
    let ahead = |f: &dyn Fn(&(f64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
        t.daily.iter().enumerate().map(|(k, d)| (today_x + k as f64, f(d))).collect()
    };
    let expected = ahead(&|d| d.0);
    let p10 = ahead(&|d| d.1);
    let p90 = ahead(&|d| d.2);
    let x_max = (today_x + t.daily.len().saturating_sub(1) as f64).max(1.0);
    let y_max = actual.iter().chain(&p90).map(|(_, y)| *y).fold(0.0, f64::max).max(0.01) * 1.1;
    let first = r.recent.first().map(|(l, _)| l.get(5..).unwrap_or(l).to_string()).unwrap_or_default();
    let today = r.recent.last().map(|(l, _)| l.get(5..).unwrap_or(l).to_string()).unwrap_or_default();
    let end = r.ahead.last().map(|l| l.get(5..).unwrap_or(l).to_string()).unwrap_or_else(|| today.clone());
    let accuracy = match &r.backtest {
        Some(b) => format!(
            "accuracy: {} mean error at mid-month over {} month(s) · target {} · {}",
            percent(b.mean_abs_error_pct / 100.0, 1),
            b.periods.len(),
            percent(b.target_pct / 100.0, 0),
            if b.within_target { "met" } else { "missed" }
        ),
        None => "accuracy: no complete month to backtest yet".into(),
    };
    Some(TrendChartVm {
        actual,
        expected,
        p10,
        p90,
        x_max,
        y_max,
        x_labels: vec![first, today, end],
        y_labels: vec!["$0".into(), usd_f64(y_max / 2.0), usd_f64(y_max)],
        summary: format!(
            "{} month end {} (P10 {} – P90 {}) · to date {}",
            r.month,
            usd_f64(t.projected_month_end_usd),
            usd_f64(t.p10_usd),
            usd_f64(t.p90_usd),
            usd_f64(t.month_to_date_usd)
        ),
        accuracy,
    })
}
