//! View models: pure functions from report models and view state to the
//! text the widgets lay out. Numbers and rules come from
//! [`crate::reports`]; here they are only arranged for a screen: columns
//! fitted to the width, names cut with an ellipsis, lists filtered.

use super::app::{App, LedgerState, SLIDERS, SavedScenario, Tab};
use super::data::{Drill, ForecastItem};
use crate::domain::money::Nanos;
use crate::domain::record::PART_NAMES;
use crate::domain::sanitize::{clean, clean_truncated};
use crate::forecast::drivers::TrendReport;
use crate::reports::forecast as freport;
use crate::reports::ledger::LedgerReport;
use crate::reports::live::{self, LiveWorkflow};
use crate::reports::sources::{Detail, SourcesReport};
use crate::reports::table::{Align, Cell, Column, Table, percent, thousands};
use crate::store::queries::GroupBy;
use crate::store::rollup::Agg;

#[derive(Clone, Debug, PartialEq)]
pub struct PaneVm {
    pub title: String,
    pub line1: String,
    pub line2: String,
    /// Cost per minute (nanos), oldest first.
    pub spark: Vec<u64>,
    /// The sparkline's full height.
    pub spark_max: u64,
    /// Why the workflow is flagged.
    pub alert: Option<String>,
    /// A short marker for the pane's border.
    pub badge: Option<String>,
}

/// A pane `width` characters wide inside.
pub fn pane_vm(w: &LiveWorkflow, total_24h: Nanos, wide: bool, width: usize, owner: Option<&str>) -> PaneVm {
    let name = if w.workflow.is_empty() { "(unattributed)".to_string() } else { clean(&w.workflow).into_owned() };
    let mut title = match &w.team {
        Some(t) => format!("{name} · {}", clean(t)),
        None => name,
    };
    if let Some(o) = owner {
        title.push_str(&format!(" · {}", clean(o)));
    }
    let text = live::pane_text(w, total_24h, wide, width);
    let alert = w.runaway_reason();
    let badge = alert.as_ref().map(|_| match w.burn_ratio() {
        Some(r) => format!(" ▲ RUNAWAY {r:.1}× "),
        None => " ▲ RUNAWAY: new spend ".to_string(),
    });
    let spark: Vec<u64> = w.per_minute.iter().map(|v| v.0.max(0) as u64).collect();
    // Steady spend sits at half height; only spikes reach the top.
    let mean = spark.iter().sum::<u64>() / spark.len().max(1) as u64;
    let spark_max = spark.iter().copied().max().unwrap_or(0).max(2 * mean);
    PaneVm { title, line1: text.line1, line2: text.line2, spark, spark_max, alert, badge }
}

/// A table fitted to a width.
#[derive(Clone, Debug, PartialEq)]
pub struct TableVm {
    pub title: String,
    pub headers: Vec<String>,
    pub right: Vec<bool>,
    pub widths: Vec<u16>,
    pub rows: Vec<Vec<String>>,
    pub total: Option<Vec<String>>,
    pub footer: String,
}

/// The widest a name column grows.
const NAME_MAX: usize = 40;
/// Names keep this many characters before any other column does.
const NAME_FIRST: usize = 26;

/// Keeps the most important columns that fit in `width` (inside borders,
/// one space between columns), each as wide as its content; the first
/// column (the names) gets what is left, and cut names end with `…`.
pub fn fit(t: &Table, order: &[usize], width: u16) -> TableVm {
    let t = &t.for_people();
    let avail = width.saturating_sub(2) as usize;
    let cells: Vec<Vec<String>> = t
        .columns
        .iter()
        .enumerate()
        .map(|(c, _)| order.iter().map(|r| clean(&t.rows[*r].cells[c].human()).into_owned()).collect())
        .collect();
    let totals: Vec<String> =
        t.total.as_ref().map(|tot| tot.iter().map(|c| clean(&c.human()).into_owned()).collect()).unwrap_or_default();
    let natural = |i: usize, col: &Column| -> usize {
        cells[i]
            .iter()
            .chain(totals.get(i))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(col.title.chars().count())
    };
    let widths_all: Vec<usize> = t.columns.iter().enumerate().map(|(i, c)| natural(i, c)).collect();
    let mut keep: Vec<bool> = vec![true; t.columns.len()];
    // Names get the width first: other columns go before a name is cut
    // below NAME_FIRST characters.
    let need = |keep: &[bool]| -> usize {
        let n = keep.iter().filter(|k| **k).count();
        keep.iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(i, _)| if i == 0 { widths_all[0].min(NAME_FIRST) } else { widths_all[i] })
            .sum::<usize>()
            + n.saturating_sub(1)
    };
    let mut drop_order: Vec<usize> = (1..t.columns.len()).collect();
    drop_order.sort_by_key(|i| std::cmp::Reverse(t.columns[*i].priority));
    for i in drop_order {
        if need(&keep) <= avail || t.columns[i].priority == 0 {
            continue;
        }
        keep[i] = false;
    }
    let kept: Vec<usize> = (0..t.columns.len()).filter(|i| keep[*i]).collect();
    let mut widths: Vec<usize> = kept.iter().map(|i| widths_all[*i]).collect();
    let others: usize = widths.iter().skip(1).sum::<usize>() + kept.len().saturating_sub(1);
    if let Some(w0) = widths.first_mut() {
        *w0 = (*w0).min(NAME_MAX).min(avail.saturating_sub(others)).max(4);
    }
    let cut = |s: &str, w: usize| -> String { clean_truncated(s, w) };
    let rows =
        (0..order.len()).map(|r| kept.iter().zip(&widths).map(|(c, w)| cut(&cells[*c][r], *w)).collect()).collect();
    TableVm {
        title: t.title.clone(),
        headers: kept.iter().map(|i| t.columns[*i].title.to_string()).collect(),
        right: kept.iter().map(|i| t.columns[*i].align == Align::Right).collect(),
        widths: widths.iter().map(|w| *w as u16).collect(),
        rows,
        total: t.total.as_ref().map(|_| kept.iter().zip(&widths).map(|(c, w)| cut(&totals[*c], *w)).collect()),
        footer: t.notes.join(" · "),
    }
}

/// The ledger tab's table: sorted, filtered and fitted.
pub fn ledger_vm(r: &LedgerReport, st: &LedgerState, filter: Option<&str>, width: u16) -> TableVm {
    let t = r.table();
    let col = t.column(st.sort).unwrap_or(0);
    let order: Vec<usize> = t
        .order_by(col, st.descending)
        .into_iter()
        .filter(|i| super::app::filtered(std::iter::once(t.rows[*i].id.as_str()), filter).len() == 1)
        .collect();
    let mut vm = fit(&t, &order, width);
    vm.title = format!(
        "Ledger by {} · {} · sort {} {}",
        r.by(),
        r.window_label,
        t.columns[col].title,
        if st.descending { "↓" } else { "↑" }
    );
    if let Some(f) = filter {
        vm.title.push_str(&format!(" · filter \"{}\" {}/{}", clean(f), order.len(), t.rows.len()));
    }
    vm
}

#[derive(Clone, Debug, PartialEq)]
pub struct DrillVm {
    pub title: String,
    pub summary: String,
    /// (section title, lines): the breakdowns.
    pub sections: Vec<(String, Vec<String>)>,
    pub composition: (String, Vec<String>),
    /// (day label, cost nanos) over the whole window.
    pub daily: Vec<(String, u64)>,
}

/// `col_width` is the width of one breakdown column on screen; names get
/// it first, the share only when there is room left.
pub fn drill_vm(d: &Drill, by: GroupBy, col_width: u16) -> DrillVm {
    let usable = (col_width as usize).saturating_sub(1);
    let with_share = usable >= 40;
    let label_w = usable.saturating_sub(if with_share { 17 } else { 11 }).max(4);
    let name = if d.key.is_empty() { by.missing_label().to_string() } else { clean(&d.key).into_owned() };
    let total = d.row.cost;
    let sections = d
        .breakdowns
        .iter()
        .map(|(title, rows)| {
            let lines = rows
                .iter()
                .take(8)
                .map(|(k, a)| {
                    let label = if k.is_empty() { "(none)".to_string() } else { clean_truncated(k, label_w) };
                    let cost = a.cost.to_string();
                    if with_share {
                        let share = if total.0 > 0 { percent(a.cost.0 as f64 / total.0 as f64, 0) } else { "-".into() };
                        format!("{label:<label_w$} {cost:>10} {share:>5}")
                    } else {
                        format!("{label:<label_w$} {cost:>10}")
                    }
                })
                .collect();
            (title.to_string(), lines)
        })
        .collect();
    let priced = d.row.calls - d.row.unpriced_calls;
    DrillVm {
        title: format!("{} · {name}", by.title()),
        summary: format!(
            "{} calls · {} · {}/call · {} unpriced calls · {} errors",
            thousands(d.row.calls),
            d.row.cost,
            Cell::per(d.row.cost, priced).human(),
            thousands(d.row.unpriced_calls),
            thousands(d.row.error_calls)
        ),
        sections,
        composition: composition_section(&d.row),
        daily: d.daily.iter().map(|(day, c)| (day.get(8..).unwrap_or(day).to_string(), c.0.max(0) as u64)).collect(),
    }
}

/// Token shares per prompt component, with a bar each.
fn composition_section(a: &Agg) -> (String, Vec<String>) {
    let Some(shares) = a.composition() else {
        return ("Prompt".into(), vec!["composition not".into(), "in these logs".into()]);
    };
    let lines = PART_NAMES
        .iter()
        .zip(shares)
        .map(|(name, share)| {
            let filled = (share * 12.0).round() as usize;
            format!("{name:<7} {:>4} {}", percent(share, 0), "█".repeat(filled))
        })
        .collect();
    (format!("Prompt · {} calls", thousands(a.parts_calls)), lines)
}

pub fn sources_vm(s: &SourcesReport, filter: Option<&str>, width: u16) -> TableVm {
    let t = s.table(Detail::Screen);
    let order: Vec<usize> = (0..t.rows.len())
        .filter(|i| super::app::filtered(std::iter::once(t.rows[*i].id.as_str()), filter).len() == 1)
        .collect();
    let mut vm = fit(&t, &order, width);
    if let Some(f) = filter {
        vm.title.push_str(&format!(" · filter \"{}\" {}/{}", clean(f), order.len(), t.rows.len()));
    }
    vm
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

pub fn status_line(app: &App) -> String {
    let st = &app.status;
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
        Tab::Forecast => "30 d".into(),
        _ => "today".into(),
    };
    let paused = if app.paused { "PAUSED (p resumes) · " } else { "" };
    format!(
        " {paused}{ingest} · newest data {} · {tokenizer} · window {window} · tz {} · db {}",
        newest.map(|t| crate::reports::table::ago(app.now_ms - t)).unwrap_or_else(|| "-".into()),
        st.tz_name,
        short_path(&st.db_path, 40),
    )
}

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
    /// The sliders that differ from the current month, e.g. `g+40 i30`.
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
    if parts.is_empty() { "as now".into() } else { parts.join(" ") }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForecastVm {
    /// (name, current monthly cost)
    pub items: Vec<(String, String)>,
    pub selected_item: usize,
    pub title: String,
    pub sliders: Vec<SliderVm>,
    /// The projection table (current against the scenario).
    pub table: Table,
    pub levers: String,
    /// The comparison table: the current month of the selected workflow
    /// first, then each saved scenario.
    pub saved: Vec<SavedVm>,
    pub chart: Option<TrendChartVm>,
}

fn item_name(i: &ForecastItem) -> String {
    i.key().map(|w| clean(w).into_owned()).unwrap_or_else(|| "All workflows".into())
}

fn saved_vm(current: Nanos, saved: &[SavedScenario]) -> Vec<SavedVm> {
    let mut rows: Vec<(String, String, Nanos, f64)> = vec![("current".into(), "as now".into(), current, 0.0)];
    for (k, sv) in saved.iter().enumerate() {
        let delta = if sv.current.0 != 0 { (sv.cost.0 as f64 / sv.current.0 as f64 - 1.0) * 100.0 } else { 0.0 };
        rows.push((format!("{} {}", k + 1, clean(&sv.workflow)), scenario_changes(&sv.values), sv.cost, delta));
    }
    let max = rows.iter().map(|r| r.2.0).max().unwrap_or(0).max(1);
    rows.into_iter()
        .map(|(label, changes, cost, delta)| SavedVm {
            label,
            changes,
            cost: cost.to_string(),
            delta: Cell::Pct(delta).human(),
            frac: cost.0.max(0) as f64 / max as f64,
        })
        .collect()
}

/// The forecast tab from the loaded drivers and the sliders: pure
/// arithmetic, no queries, so it follows every keypress. The all-workflows
/// trend is the header's projection, from the same snapshot.
pub fn forecast_vm(app: &App) -> Option<ForecastVm> {
    let snap = app.snapshot.as_ref()?;
    let data = snap.forecast.as_ref()?;
    let st = &app.forecast;
    let keys = app.forecast_keys();
    let shown: Vec<&ForecastItem> =
        data.items.iter().filter(|i| keys.iter().any(|k| k.as_deref() == i.key())).collect();
    let items: Vec<(String, String)> =
        shown.iter().map(|i| (item_name(i), i.measured.drivers.monthly_cost.to_string())).collect();
    let selected_item = shown.iter().position(|i| i.key() == st.item.as_deref()).unwrap_or(0);
    let item = shown.get(selected_item)?;
    let d = &item.measured.drivers;
    let s = app.forecast_scenario(item.key());
    let current = crate::forecast::project(d, &crate::forecast::Scenario::default());
    let p = crate::forecast::project(d, &s);
    let sliders = SLIDERS
        .iter()
        .enumerate()
        .map(|(k, sl)| {
            let v = st.values[k];
            let span = sl.max - sl.min;
            let note = match k {
                3 => format!("input {} of tokens", percent(d.input_share, 0)),
                4 => format!("now {}", percent(d.cache_share, 0)),
                _ => String::new(),
            };
            SliderVm {
                name: sl.name,
                value: if k >= 3 {
                    format!("{v:.0}%")
                } else if v.abs() < 0.05 {
                    "0%".into()
                } else {
                    format!("{v:+.0}%")
                },
                pos: (v - sl.min) / span,
                zero: (0.0 - sl.min) / span,
                selected: k == st.slider,
                note,
            }
        })
        .collect();
    let levers = if st.replayed && s.replayed.is_none() {
        "levers: replaying them on the Levers tab…".into()
    } else if crate::forecast::has_levers(&s) {
        let line = freport::levers_line(&crate::forecast::levers(d, &s));
        if st.replayed { format!("replayed on the Levers tab (v: sliders) · {line}") } else { line }
    } else {
        "levers: input reduction and cache hit rate (↓ to reach them)".into()
    };
    let trend = if item.key().is_none() { &snap.live.projection } else { &item.trend };
    Some(ForecastVm {
        title: format!(
            "{} · {} calls in {:.0} d{}",
            item_name(item),
            thousands(item.measured.calls),
            item.measured.base_days,
            match item.measured.unpriced_calls {
                0 => String::new(),
                n => format!(" · {} unpriced", thousands(n)),
            }
        ),
        items,
        selected_item,
        sliders,
        table: freport::projection_table(&current, &p, freport::current_title(Some(&item.measured))),
        levers,
        saved: saved_vm(d.monthly_cost, &st.saved),
        chart: trend_chart_vm(trend),
    })
}

fn trend_chart_vm(r: &TrendReport) -> Option<TrendChartVm> {
    let n = r.recent.len();
    if n == 0 {
        return None;
    }
    let usd = |v: Nanos| v.to_usd_f64();
    // Past days, with today last; then the days ahead.
    let actual: Vec<(f64, f64)> = r.recent.iter().enumerate().map(|(i, (_, v))| (i as f64, usd(*v))).collect();
    let today_x = (n - 1) as f64;
    let daily: &[(f64, f64, f64)] = r.trend.as_ref().map(|t| t.daily.as_slice()).unwrap_or(&[]);
    let ahead = |f: &dyn Fn(&(f64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
        daily.iter().enumerate().map(|(k, d)| (today_x + k as f64, f(d))).collect()
    };
    let expected = ahead(&|d| d.0);
    let p10 = ahead(&|d| d.1);
    let p90 = ahead(&|d| d.2);
    let x_max = (today_x + daily.len().saturating_sub(1) as f64).max(1.0);
    let y_max = actual.iter().chain(&p90).map(|(_, y)| *y).fold(0.0, f64::max).max(0.01) * 1.1;
    let first = r.recent.first().map(|(l, _)| l.get(5..).unwrap_or(l).to_string()).unwrap_or_default();
    let today = r.recent.last().map(|(l, _)| l.get(5..).unwrap_or(l).to_string()).unwrap_or_default();
    let end = r.ahead.last().map(|l| l.get(5..).unwrap_or(l).to_string()).unwrap_or_else(|| today.clone());
    let money = |v: f64| Nanos::from_usd_f64(v).unwrap_or(Nanos::ZERO).to_string();
    let summary = match &r.trend {
        Some(t) => format!("{} {} · to date {}", r.month, freport::month_end_text(Some(t)), t.month_to_date),
        None => format!("{} {} (fewer than 7 complete days)", r.month, freport::month_end_text(None)),
    };
    Some(TrendChartVm {
        actual,
        expected,
        p10,
        p90,
        x_max,
        y_max,
        x_labels: vec![first, today, end],
        y_labels: vec!["$0".into(), money(y_max / 2.0), money(y_max)],
        summary,
        accuracy: freport::accuracy_line(r.backtest.as_ref()),
    })
}

/// The Gate tab.
#[derive(Clone, Debug, PartialEq)]
pub struct GateVm {
    pub history: TableVm,
    pub detail: Option<GateDetailVm>,
}

/// The selected run: its configurations side by side, and its reasons or
/// the cases the candidate lost.
#[derive(Clone, Debug, PartialEq)]
pub struct GateDetailVm {
    pub configs: TableVm,
    /// Per configuration row: promoted (`Some(true)`), rejected, or the baseline.
    pub decisions: Vec<Option<bool>>,
    /// The index of the row of the selected comparison's candidate.
    pub candidate_row: Option<usize>,
    pub reasons: Vec<String>,
    pub cases: Option<TableVm>,
}

/// A 95% interval drawn on a track of `width` characters over
/// `[lo_end, 1]`: `├──●──┤`, the point on the pass rate.
pub fn ci_bar(lo: f64, point: f64, hi: f64, lo_end: f64, width: usize) -> String {
    let pos = |v: f64| -> usize {
        let x = ((v - lo_end) / (1.0 - lo_end)).clamp(0.0, 1.0);
        ((x * (width.saturating_sub(1)) as f64).round() as usize).min(width.saturating_sub(1))
    };
    let (a, p, b) = (pos(lo), pos(point), pos(hi));
    (0..width)
        .map(|i| match i {
            _ if i == p => '●',
            _ if i == a => '├',
            _ if i == b => '┤',
            _ if i > a && i < b => '─',
            _ => '·',
        })
        .collect()
}

pub fn gate_vm(app: &App, width: u16) -> Option<GateVm> {
    let s = app.snapshot.as_ref()?;
    let ids = app.list_ids();
    let rows: Vec<crate::reports::gate::RunRow> = ids
        .iter()
        .filter_map(|id| s.gate.history.iter().find(|r| crate::reports::gate::run_row_id(r) == *id).cloned())
        .collect();
    let t = crate::reports::gate::history_table(&rows);
    let order: Vec<usize> = (0..t.rows.len()).collect();
    let history = fit(&t, &order, width);
    let detail = app.gate.selected.as_deref().and_then(|id| s.gate.find(id)).map(|(row, run)| {
        let mut t = crate::reports::gate::table(run);
        // The pass rate's interval as a bar, on a scale that starts a little
        // below the lowest interval.
        let lo_end = (run.configs.iter().map(|c| c.pass_rate_ci_low).fold(1.0, f64::min) - 0.02).max(0.0);
        const BAR: usize = 16;
        t.columns.insert(5, Column::left("pass_rate_bar", "", 3));
        for (r, c) in t.rows.iter_mut().zip(&run.configs) {
            r.cells.insert(5, Cell::text(ci_bar(c.pass_rate_ci_low, c.pass_rate, c.pass_rate_ci_high, lo_end, BAR)));
        }
        t.columns[5].title = format!("{:.0}% … 100%", lo_end * 100.0).into();
        let notes = std::mem::take(&mut t.notes);
        let order: Vec<usize> = (0..t.rows.len()).collect();
        let configs = fit(&t, &order, width);
        let decisions = run
            .configs
            .iter()
            .map(|c| run.comparisons.iter().find(|x| x.candidate == c.name).map(|x| x.decision == "promote"))
            .collect();
        let candidate_row = run.configs.iter().position(|c| c.name == row.candidate);
        let cases = app.gate.cases.then(|| {
            run.comparisons.iter().find(|c| c.candidate == row.candidate).map(|c| {
                let t = crate::reports::gate::lost_table(c);
                fit(&t, &(0..t.rows.len()).collect::<Vec<_>>(), width)
            })
        });
        GateDetailVm { configs, decisions, candidate_row, reasons: notes, cases: cases.flatten() }
    });
    Some(GateVm { history, detail })
}

/// A trend as one character per period (`▁▃▅█`, `·` where not measured),
/// scaled between the smallest and the largest value.
pub fn trend_text(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = values.iter().flatten().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    values
        .iter()
        .map(|v| match v {
            None => '·',
            Some(v) if hi - lo < 1e-12 => {
                let _ = v;
                BARS[3]
            }
            Some(v) => BARS[(((v - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

/// The firing budget alerts as lines for the top of the Live tab: what
/// burns, how fast, since when, and who to call.
pub fn alert_lines(app: &App) -> Vec<(bool, String)> {
    let Some(s) = &app.snapshot else { return Vec::new() };
    let holding = s.operate.budgets.holding();
    let mut out: Vec<(bool, String)> = app
        .alerts
        .values()
        .filter_map(|e| {
            let j: crate::reports::alerts::AlertJson = serde_json::from_value(e.data.clone()).ok()?;
            // The burn now, when the pair still holds.
            let now = holding.iter().find(|(i, sev, _)| {
                let b = &s.operate.budgets.budgets[*i].budget;
                format!("{}/{}", b.scope.id(), sev.name()) == e.subject
            });
            let (burn, windows) = match now {
                Some((i, _, p)) => {
                    let r = &s.operate.budgets.budgets[*i].budget.rules[p.rule];
                    (p.long_burn, format!("{} / {} ≥ {}×", r.long, r.short, r.burn()))
                }
                None => (j.burn_rate, format!("{} / {} ≥ {}×", j.windows.long, j.windows.short, j.windows.threshold)),
            };
            let page = j.severity == "page";
            let who = [j.owner.as_deref(), j.oncall.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
            Some((
                page,
                format!(
                    "{} {} {:.1}× budget ({windows}) since {}{}",
                    if page { "▲ PAGE" } else { "● TICKET" },
                    clean(&j.budget),
                    burn,
                    crate::domain::time::local_hm(e.started_at, &app.tz),
                    if who.is_empty() { String::new() } else { format!(" · {}", clean(&who)) }
                ),
            ))
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out
}

/// The budget status for the header: pages and tickets firing, or ok.
pub fn budget_status(app: &App) -> Option<(bool, String)> {
    let s = app.snapshot.as_ref()?;
    if s.operate.budgets.budgets.is_empty() {
        return None;
    }
    let pages = app.alerts.keys().filter(|k| k.ends_with("/page")).count();
    let tickets = app.alerts.len() - pages;
    Some(match (pages, tickets) {
        (0, 0) => (false, " budgets ok ".into()),
        (0, t) => (false, format!(" ● {t} ticket{} ", if t == 1 { "" } else { "s" })),
        (p, _) => (true, format!(" ▲ {p} paging ")),
    })
}

/// The RACI tab.
#[derive(Clone, Debug, PartialEq)]
pub struct RaciVm {
    pub matrix: TableVm,
    /// Per matrix row and function: the letter (for colours).
    pub letters: Vec<Vec<Option<&'static str>>>,
    /// (is an error, text): errors first, then warnings and notes.
    pub messages: Vec<(bool, String)>,
    pub owners: TableVm,
}

pub fn raci_vm(app: &App, width: u16) -> Option<RaciVm> {
    let s = app.snapshot.as_ref()?;
    let r = &s.operate.raci;
    let m = r.matrix();
    let matrix = fit(&m, &(0..m.rows.len()).collect::<Vec<_>>(), width);
    let letters =
        r.op.raci.activities.iter().map(|a| a.roles.iter().map(|x| x.map(|x| x.letter())).collect()).collect();
    let mut messages: Vec<(bool, String)> = r.op.errors().into_iter().map(|e| (true, format!("error: {e}"))).collect();
    messages.extend(r.warnings.iter().map(|w| (true, format!("warning: {w}"))));
    messages.extend(r.op.raci.notes.iter().map(|n| (false, format!("note: {n}"))));
    let mut t = r.owners_table();
    let ids = app.list_ids_of_public(super::app::Tab::Raci);
    t.rows.retain(|row| ids.contains(&row.id));
    let owners = fit(&t, &(0..t.rows.len()).collect::<Vec<_>>(), width);
    Some(RaciVm { matrix, letters, messages, owners })
}

/// The KPIs tab.
#[derive(Clone, Debug, PartialEq)]
pub struct KpisVm {
    pub kpis: TableVm,
    pub statuses: Vec<&'static str>,
    pub rollout: TableVm,
    pub steps: Vec<&'static str>,
    pub budgets: Option<TableVm>,
}

pub fn kpis_vm(app: &App, width: u16) -> Option<KpisVm> {
    let s = app.snapshot.as_ref()?;
    let (k, full) = s.operate.kpis.as_ref()?;
    let mut t = k.table();
    // The trend as a row of bars, in place of the long explanation.
    let detail = t.column("detail").unwrap_or(t.columns.len());
    t.columns.insert(detail, Column::left("trend", "6 months", 3));
    for (row, kpi) in t.rows.iter_mut().zip(&k.kpis) {
        let v: Vec<Option<f64>> = kpi.trend.iter().map(|p| p.1).collect();
        row.cells.insert(detail, Cell::text(trend_text(&v)));
    }
    let kpis = fit(&t, &(0..t.rows.len()).collect::<Vec<_>>(), width);
    let r = k.rollout_table();
    let rollout = fit(&r, &(0..r.rows.len()).collect::<Vec<_>>(), width);
    let b = full.budgets_table();
    let budgets = (!b.rows.is_empty()).then(|| fit(&b, &(0..b.rows.len()).collect::<Vec<_>>(), width));
    Some(KpisVm {
        kpis,
        statuses: k.kpis.iter().map(|k| k.status.name()).collect(),
        rollout,
        steps: k.rollout.iter().map(|s| s.status).collect(),
        budgets,
    })
}

/// One lever's line on the Levers tab.
#[derive(Clone, Debug, PartialEq)]
pub struct LeverRowVm {
    pub on: bool,
    pub name: &'static str,
    pub setting: String,
    /// Its saving alone, from the last replay ("" when not replayed on).
    pub saving: String,
    /// `proven`, `rejected` or `unproven`.
    pub evidence: &'static str,
}

/// A bar of the composed-versus-naive chart.
#[derive(Clone, Debug, PartialEq)]
pub struct SavingBarVm {
    pub label: &'static str,
    /// The saving as a fraction of the spend (0 to 1).
    pub share: f64,
    pub text: String,
}

/// The Levers tab.
#[derive(Clone, Debug, PartialEq)]
pub struct LeversVm {
    pub rows: Vec<LeverRowVm>,
    pub selected: usize,
    /// What the replay is doing, or what the result is of.
    pub status: String,
    pub running: bool,
    pub bars: Vec<SavingBarVm>,
    pub table: Option<TableVm>,
}

pub fn levers_vm(app: &App, width: u16) -> LeversVm {
    use crate::levers::Lever;
    let st = &app.levers;
    let set = st.settings.lever_set();
    let result = st.result.as_ref();
    let total = result.map(|r| &r.report.replay.total);
    let rows = Lever::ALL
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let saving = match (total, result.is_some_and(|r| r.settings.on[i])) {
                (Some(t), true) => t
                    .saving(l)
                    .map(|s| {
                        let pct = if t.replayed.0 > 0 { s.0 as f64 / t.replayed.0 as f64 } else { 0.0 };
                        format!("saves {} ({})", s.format_usd(2), percent(pct, 1))
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let evidence =
                result.map_or("unproven", |r| crate::reports::levers::Evidence::of(&r.report.history, l, None).status);
            // The flag's own spelling when the line is short of room.
            let spec = st.settings.spec(i);
            let setting = match (st.settings.on[i], width >= 110) {
                (true, true) => set.describe(l),
                (true, false) => spec,
                (false, _) => format!("off ({spec})"),
            };
            LeverRowVm {
                on: st.settings.on[i],
                name: l.name(),
                setting: clean(&setting).into_owned(),
                saving,
                evidence,
            }
        })
        .collect();
    let status = match (st.running, &st.error, result) {
        (_, Some(e), _) => format!("replay failed: {e}"),
        (true, _, _) if st.read > 0 => format!("replaying… {} calls read", thousands(st.read as i64)),
        (true, _, Some(_)) => "replaying the new setting… (the last result below)".to_string(),
        (true, _, None) => "replaying the last 30 days' calls…".to_string(),
        (false, _, Some(r)) => format!(
            "{} calls{} of the 30 days to {} replayed in {:.1} s{}",
            thousands(r.calls as i64),
            match r.report.replay.total.unpriced_calls {
                0 => String::new(),
                n => format!(" ({} unpriced, left out)", thousands(n as i64)),
            },
            r.report.window.1.map_or_else(|| "now".to_string(), |u| crate::domain::time::local_day(u - 1, &app.tz)),
            r.took_ms as f64 / 1000.0,
            if r.read { " (read from the ledger)" } else { " (from memory)" }
        ),
        (false, _, None) => String::new(),
    };
    let bars = match total {
        Some(t) if t.replayed.0 > 0 => {
            let bar = |label: &'static str, v: Nanos| SavingBarVm {
                label,
                share: (v.0 as f64 / t.replayed.0 as f64).clamp(0.0, 1.0),
                text: format!("{} ({})", v.format_usd(2), percent(v.0 as f64 / t.replayed.0 as f64, 1)),
            };
            vec![
                bar("Composed", t.composed_saving()),
                bar("Naive sum", t.naive_sum()),
                bar("Proven", t.proven_saving()),
            ]
        }
        _ => Vec::new(),
    };
    let table = result.map(|r| {
        let t = r.report.table();
        fit(&t, &(0..t.rows.len()).collect::<Vec<_>>(), width)
    });
    LeversVm { rows, selected: st.row, status, running: st.running, bars, table }
}
