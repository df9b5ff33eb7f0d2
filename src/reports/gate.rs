//! The eval gate as a report: the configurations side by side (the
//! paper's table VI, with intervals), each comparison's decision and its
//! reasons, and the JSON CI reads.

use serde::{Deserialize, Serialize};

use super::table::{Cell, Column, Row, Table};
use crate::domain::money::Nanos;
use crate::gate::{CaseDiff, GateResult};

/// Text of an interval of fractions: `92.7%–96.6%`.
fn pct_range(lo: f64, hi: f64) -> String {
    format!("{:.1}%–{:.1}%", lo * 100.0, hi * 100.0)
}

fn usd_range(lo: f64, hi: f64) -> String {
    let f = |v: f64| Nanos::from_usd_f64(v).unwrap_or(Nanos::ZERO).format_usd(4);
    format!("{}–{}", f(lo), f(hi))
}

/// A p-value as people read it: four decimals, `<0.0001` below that.
pub fn p_value(p: f64) -> String {
    if p < 0.0001 { "<0.0001".into() } else { format!("{p:.4}") }
}

/// The title of a gate run.
pub fn title(j: &GateJson) -> String {
    let base = j.comparisons.first().map(|c| c.baseline.as_str()).unwrap_or("-");
    match j.margin {
        Some(m) => format!("Eval gate · baseline {base} · non-inferiority margin {:.1} points", m * 100.0),
        None => format!("Eval gate · baseline {base} · promote when the pass rate holds and a success costs less"),
    }
}

fn usd_cell(v: Option<f64>) -> Cell {
    v.and_then(Nanos::from_usd_f64).map(Cell::UsdFine).unwrap_or(Cell::Empty)
}

/// A decision as people read it.
pub fn decision_label(d: &str) -> &'static str {
    match d {
        "promote" => "Promote",
        "reject" => "Reject",
        _ => "?",
    }
}

/// The configurations side by side (the paper's table VI, with
/// intervals), from the run's JSON: the command line and the cockpit's
/// Gate tab (which reads recorded runs) print this one table.
pub fn table(j: &GateJson) -> Table {
    let columns = vec![
        Column::left("name", "Configuration", 0),
        Column::right("cases", "Cases", 6),
        Column::right("cost_per_call_usd", "Cost / call", 2),
        Column::right("pass_rate", "Pass rate", 1),
        Column::left("pass_rate_ci", "95% CI", 5),
        Column::right("cost_per_success_usd", "Cost / success", 1),
        Column::left("cost_per_success_ci", "95% CI", 7),
        Column::left("decision", "Decision", 0),
        Column::quiet_right("errors", "Errors", 8),
    ];
    let rows = j
        .configs
        .iter()
        .map(|c| {
            let decision = match j.comparisons.iter().find(|x| x.candidate == c.name) {
                Some(d) => Cell::Label(decision_label(&d.decision)),
                None if j.comparisons.iter().any(|x| x.baseline == c.name) => Cell::Label("baseline"),
                None => Cell::Empty,
            };
            let cps_ci = match (c.cost_per_success_ci_low, c.cost_per_success_ci_high) {
                (Some(lo), Some(hi)) => Cell::text(usd_range(lo, hi)),
                _ => Cell::Empty,
            };
            Row {
                id: c.name.clone(),
                cells: vec![
                    Cell::text(&c.name),
                    Cell::Count(c.cases as i64),
                    usd_cell(c.cost_per_call_usd),
                    Cell::Share(c.pass_rate),
                    Cell::text(pct_range(c.pass_rate_ci_low, c.pass_rate_ci_high)),
                    usd_cell(c.cost_per_success_usd),
                    cps_ci,
                    decision,
                    Cell::Tally(c.errors as i64),
                ],
            }
        })
        .collect();
    let mut notes = Vec::new();
    for c in &j.comparisons {
        notes.push(format!(
            "{} vs {}: {} · {}",
            c.candidate,
            c.baseline,
            decision_label(&c.decision),
            c.reasons.join("; ")
        ));
        for w in &c.warnings {
            notes.push(format!("  note: {w}"));
        }
    }
    Table { title: title(j), columns, rows, total: None, notes }
}

/// The comparisons as a table (paired statistics).
pub fn comparisons_table(j: &GateJson) -> Table {
    let columns = vec![
        Column::left("candidate", "Candidate", 0),
        Column::right("paired_cases", "Paired", 4),
        Column::right("baseline_only_passed", "Base only", 3),
        Column::right("candidate_only_passed", "Cand. only", 3),
        Column::right("mcnemar_exact_p", "McNemar p", 2),
        Column::right("mcnemar_midp_p", "mid-p", 5),
        Column::right("pass_rate_diff", "Δ pass rate", 1),
        Column::left("pass_rate_diff_ci", "95% CI", 1),
        Column::right("cost_per_success_change_pct", "Δ cost/success", 1),
        Column::left("decision", "Decision", 0),
    ];
    let p = |v: Option<f64>| v.map(|x| Cell::text(p_value(x))).unwrap_or(Cell::Empty);
    let rows = j
        .comparisons
        .iter()
        .map(|c| Row {
            id: c.candidate.clone(),
            cells: vec![
                Cell::text(&c.candidate),
                Cell::Count(c.paired_cases as i64),
                Cell::Count(c.baseline_only_passed as i64),
                Cell::Count(c.candidate_only_passed as i64),
                p(c.mcnemar_exact_p),
                p(c.mcnemar_midp_p),
                Cell::text(format!("{:+.1} pts", c.pass_rate_diff * 100.0)),
                Cell::text(format!(
                    "{:+.1} to {:+.1} pts",
                    c.pass_rate_diff_ci_low * 100.0,
                    c.pass_rate_diff_ci_high * 100.0
                )),
                c.cost_per_success_change_pct.map(Cell::Pct).unwrap_or(Cell::Empty),
                Cell::Label(decision_label(&c.decision)),
            ],
        })
        .collect();
    Table {
        title: "Each candidate against the baseline (paired cases)".into(),
        columns,
        rows,
        total: None,
        notes: vec![],
    }
}

/// The discordant cases of a comparison where the candidate failed and
/// the baseline passed (the Gate tab's drill-down).
pub fn lost_table(c: &ComparisonJson) -> Table {
    let columns = vec![
        Column::left("case", "Case", 0),
        Column::right("baseline_score", "Baseline score", 1),
        Column::right("candidate_score", "Candidate score", 1),
        Column::left("candidate_error", "Error", 2),
    ];
    let score = |v: Option<f64>| v.map(|x| Cell::Num(x, 2)).unwrap_or(Cell::Empty);
    let rows = c
        .lost_cases
        .iter()
        .map(|d| Row {
            id: d.case.clone(),
            cells: vec![
                Cell::text(&d.case),
                score(d.baseline_score),
                score(d.candidate_score),
                if d.candidate_error { Cell::Label("error") } else { Cell::Empty },
            ],
        })
        .collect();
    Table {
        title: format!(
            "{}: {} cases the baseline passed and the candidate failed ({} the other way)",
            c.candidate,
            c.lost_cases.len(),
            c.gained_cases.len()
        ),
        columns,
        rows,
        total: None,
        notes: vec![],
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigJson {
    pub name: String,
    pub cases: u64,
    pub passed: u64,
    pub errors: u64,
    pub pass_rate: f64,
    pub pass_rate_ci_low: f64,
    pub pass_rate_ci_high: f64,
    pub cost_usd: Option<f64>,
    pub cost_nanousd: Option<i64>,
    pub cost_per_call_usd: Option<f64>,
    pub cost_per_success_usd: Option<f64>,
    pub cost_per_success_ci_low: Option<f64>,
    pub cost_per_success_ci_high: Option<f64>,
    pub cost_per_success_ci_method: String,
    pub cases_without_cost: u64,
    pub mean_latency_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonJson {
    pub baseline: String,
    pub candidate: String,
    pub paired_cases: u64,
    pub baseline_only_passed: u64,
    pub candidate_only_passed: u64,
    pub mcnemar_exact_p: Option<f64>,
    pub mcnemar_midp_p: Option<f64>,
    pub pass_rate_diff: f64,
    pub pass_rate_diff_ci_low: f64,
    pub pass_rate_diff_ci_high: f64,
    pub pass_rate_diff_ci_method: String,
    pub cost_per_success_change_pct: Option<f64>,
    pub decision: String,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    /// Cases the baseline passed and the candidate failed.
    pub lost_cases: Vec<CaseJson>,
    /// Cases the candidate passed and the baseline failed.
    pub gained_cases: Vec<CaseJson>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseJson {
    pub case: String,
    pub baseline_score: Option<f64>,
    pub candidate_score: Option<f64>,
    pub candidate_error: bool,
}

fn cases(v: &[CaseDiff]) -> Vec<CaseJson> {
    v.iter()
        .map(|d| CaseJson {
            case: d.case.clone(),
            baseline_score: d.baseline_score,
            candidate_score: d.candidate_score,
            candidate_error: d.candidate_error,
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateJson {
    pub margin: Option<f64>,
    pub configs: Vec<ConfigJson>,
    pub comparisons: Vec<ComparisonJson>,
    pub all_promoted: bool,
}

pub fn json(r: &GateResult) -> GateJson {
    GateJson {
        margin: r.margin,
        configs: r
            .configs
            .iter()
            .map(|c| ConfigJson {
                name: c.name.clone(),
                cases: c.cases,
                passed: c.passed,
                errors: c.errors,
                pass_rate: c.pass_rate,
                pass_rate_ci_low: c.pass_rate_ci.0,
                pass_rate_ci_high: c.pass_rate_ci.1,
                cost_usd: c.cost.map(Nanos::to_usd_f64),
                cost_nanousd: c.cost.map(|n| n.0),
                cost_per_call_usd: c.cost_per_call.map(Nanos::to_usd_f64),
                cost_per_success_usd: c.cost_per_success.map(Nanos::to_usd_f64),
                cost_per_success_ci_low: c.cost_per_success_ci.map(|x| x.0),
                cost_per_success_ci_high: c.cost_per_success_ci.map(|x| x.1),
                cost_per_success_ci_method: r.ci_method.name().to_string(),
                cases_without_cost: c.cost_unknown,
                mean_latency_ms: c.mean_latency_ms,
            })
            .collect(),
        comparisons: r
            .comparisons
            .iter()
            .map(|c| ComparisonJson {
                baseline: c.baseline.clone(),
                candidate: c.candidate.clone(),
                paired_cases: c.paired_cases,
                baseline_only_passed: c.baseline_only_passed,
                candidate_only_passed: c.candidate_only_passed,
                mcnemar_exact_p: c.mcnemar_exact_p,
                mcnemar_midp_p: c.mcnemar_midp_p,
                pass_rate_diff: c.pass_rate_diff,
                pass_rate_diff_ci_low: c.pass_rate_diff_ci.0,
                pass_rate_diff_ci_high: c.pass_rate_diff_ci.1,
                pass_rate_diff_ci_method: c.diff_ci_method.to_string(),
                cost_per_success_change_pct: c.cost_per_success_change_pct,
                decision: c.decision.as_str().to_string(),
                reasons: c.reasons.clone(),
                warnings: c.warnings.clone(),
                lost_cases: cases(&c.lost),
                gained_cases: cases(&c.gained),
            })
            .collect(),
        all_promoted: r.all_promoted(),
    }
}

/// One comparison of a recorded gate run (the Gate tab's history and
/// `aifin gate --history`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunRow {
    /// When the run was recorded (epoch ms; RFC 3339 in JSON).
    #[serde(serialize_with = "rfc3339")]
    pub recorded_at: i64,
    pub workflow: Option<String>,
    pub lever: Option<String>,
    pub baseline: String,
    pub candidate: String,
    pub decision: String,
    pub candidate_pass_rate: Option<f64>,
    pub baseline_pass_rate: Option<f64>,
    pub cost_per_success_change_pct: Option<f64>,
    pub inputs_hash: Option<String>,
}

/// The comparisons of recorded gate runs, newest first. Reads what
/// `--record` stored; a field an older version did not store is `None`.
pub fn history(events: &[crate::store::events::Event], workflow: Option<&str>) -> Vec<RunRow> {
    use serde_json::Value;
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.kind == GATE_RUN) {
        let d = &e.data;
        let wf = d.get("workflow").and_then(Value::as_str).map(str::to_string);
        if workflow.is_some() && wf.as_deref() != workflow {
            continue;
        }
        let rate = |name: &str| {
            d.pointer("/gate/configs").and_then(Value::as_array).and_then(|cs| {
                cs.iter()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
                    .and_then(|c| c.get("pass_rate"))
                    .and_then(Value::as_f64)
            })
        };
        for c in d.pointer("/gate/comparisons").and_then(Value::as_array).into_iter().flatten() {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            out.push(RunRow {
                recorded_at: e.started_at,
                workflow: wf.clone(),
                lever: d.get("lever").and_then(Value::as_str).map(str::to_string),
                baseline_pass_rate: rate(&s("baseline")),
                candidate_pass_rate: rate(&s("candidate")),
                baseline: s("baseline"),
                candidate: s("candidate"),
                decision: s("decision"),
                cost_per_success_change_pct: c.get("cost_per_success_change_pct").and_then(Value::as_f64),
                inputs_hash: d.get("inputs_hash").and_then(Value::as_str).map(str::to_string),
            });
        }
    }
    out.sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then_with(|| a.candidate.cmp(&b.candidate)));
    out
}

fn rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::domain::time::format_utc(*ms))
}

#[derive(Serialize)]
pub struct HistoryJson<'a> {
    pub runs: &'a [RunRow],
}

/// A gate run as an event of the ledger (`aifin gate --record`).
pub fn run_event(
    r: &GateResult,
    workflow: Option<&str>,
    lever: Option<&str>,
    files: &[String],
    inputs_hash: u64,
    now: i64,
) -> crate::store::events::Event {
    crate::store::events::Event {
        kind: GATE_RUN.into(),
        subject: workflow.unwrap_or("all workflows").to_string(),
        started_at: now,
        ended_at: Some(now),
        severity: None,
        data: serde_json::json!({
            "inputs_hash": format!("{inputs_hash:016x}"),
            "workflow": workflow,
            "lever": lever,
            "files": files,
            "gate": json(r),
        }),
    }
}

/// A history row's identity (its run's time and its candidate).
pub fn run_row_id(r: &RunRow) -> String {
    format!("{}/{}", r.recorded_at, r.candidate)
}

/// The event kind of a recorded gate run.
pub const GATE_RUN: &str = "gate_run";

pub fn history_table(rows: &[RunRow]) -> Table {
    let columns = vec![
        Column::left("candidate", "Candidate", 0),
        Column::left("decision", "Decision", 0),
        Column::right("candidate_pass_rate", "Pass rate", 1),
        Column::right("cost_per_success_change_pct", "Δ cost/success", 1),
        Column::left("workflow", "Workflow", 2),
        Column::left("lever", "Lever", 4),
        Column::left("baseline", "Baseline", 5),
        Column::right("baseline_pass_rate", "Baseline's", 6),
        Column::left("recorded_at", "Recorded", 3),
    ];
    let opt = |v: &Option<String>| v.as_ref().map(Cell::text).unwrap_or(Cell::Empty);
    let notes = if rows.is_empty() { vec!["no gate run recorded yet (aifin gate --record)".into()] } else { vec![] };
    let rows = rows
        .iter()
        .map(|r| Row {
            id: run_row_id(r),
            cells: vec![
                Cell::text(&r.candidate),
                Cell::Label(decision_label(&r.decision)),
                r.candidate_pass_rate.map(Cell::Share).unwrap_or(Cell::Empty),
                r.cost_per_success_change_pct.map(Cell::Pct).unwrap_or(Cell::Empty),
                opt(&r.workflow),
                opt(&r.lever),
                Cell::text(&r.baseline),
                r.baseline_pass_rate.map(Cell::Share).unwrap_or(Cell::Empty),
                Cell::Time(r.recorded_at),
            ],
        })
        .collect();
    Table { title: "Recorded gate runs, newest first".into(), columns, rows, total: None, notes }
}
