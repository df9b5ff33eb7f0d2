//! The eval gate: each configuration's pass rate (with its Wilson
//! interval), cost per call and cost per successful task (with its
//! interval), and each candidate against the baseline on the cases both
//! ran (McNemar's exact and mid-p tests, Tango's interval of the
//! difference, or Newcombe's when nothing is paired), with a decision in
//! words.
//!
//! The rule is the paper's: **promote** a candidate only when its pass
//! rate is at least the baseline's and its cost per success is lower;
//! with a non-inferiority margin Δ, when the lower end of the 95% Tango
//! interval lies above -Δ and its cost per success is lower.

pub mod evals;
pub mod stats;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::domain::money::{Nanos, div_round};
use evals::EvalRow;

/// How the interval of a cost per success is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CiMethod {
    /// Delta method on the log scale.
    #[default]
    DeltaLog,
    /// Seeded percentile bootstrap over cases (2,000 resamples).
    Bootstrap(u64),
}

impl CiMethod {
    pub fn name(self) -> &'static str {
        match self {
            CiMethod::DeltaLog => "delta-log",
            CiMethod::Bootstrap(_) => "bootstrap",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct GateOptions {
    pub baseline: Option<String>,
    pub candidate: Option<String>,
    /// Non-inferiority margin, a fraction (`--margin 2` is 0.02).
    pub margin: Option<f64>,
    pub ci: CiMethod,
}

#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("{0}")]
    Input(String),
}

/// One configuration's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigStats {
    pub name: String,
    pub cases: u64,
    pub passed: u64,
    pub errors: u64,
    pub pass_rate: f64,
    pub pass_rate_ci: (f64, f64),
    /// `None` when some case's cost is unknown.
    pub cost: Option<Nanos>,
    pub cost_unknown: u64,
    pub cost_per_call: Option<Nanos>,
    /// `None` when nothing passed (or the cost is unknown).
    pub cost_per_success: Option<Nanos>,
    pub cost_per_success_ci: Option<(f64, f64)>,
    pub mean_latency_ms: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Promote,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Promote => "promote",
            Decision::Reject => "reject",
        }
    }
}

/// A candidate against the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    pub candidate: String,
    pub paired_cases: u64,
    /// Baseline passed, candidate failed.
    pub baseline_only_passed: u64,
    /// Candidate passed, baseline failed.
    pub candidate_only_passed: u64,
    pub mcnemar_exact_p: Option<f64>,
    pub mcnemar_midp_p: Option<f64>,
    /// Candidate - baseline pass rate (over the paired cases, or over all
    /// when nothing is paired).
    pub pass_rate_diff: f64,
    pub pass_rate_diff_ci: (f64, f64),
    /// "tango" (paired) or "newcombe" (unpaired).
    pub diff_ci_method: &'static str,
    pub cost_per_success_change_pct: Option<f64>,
    pub decision: Decision,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    /// The discordant cases, in the order of the candidate's file: where
    /// the baseline passed and the candidate failed (`lost`), and the
    /// other way round (`gained`).
    pub lost: Vec<CaseDiff>,
    pub gained: Vec<CaseDiff>,
}

/// A case the two configurations disagree on.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseDiff {
    pub case: String,
    pub baseline_score: Option<f64>,
    pub candidate_score: Option<f64>,
    /// The candidate's run ended in an error.
    pub candidate_error: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GateResult {
    pub configs: Vec<ConfigStats>,
    pub comparisons: Vec<Comparison>,
    pub ci_method: CiMethod,
    pub margin: Option<f64>,
}

impl GateResult {
    pub fn all_promoted(&self) -> bool {
        self.comparisons.iter().all(|c| c.decision == Decision::Promote)
    }
}

fn pct(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

fn money4(n: Nanos) -> String {
    n.format_usd(4)
}

/// The figures of one configuration's rows.
fn config_stats(name: &str, rows: &[&EvalRow], ci: CiMethod) -> ConfigStats {
    let cases = rows.len() as u64;
    let passed = rows.iter().filter(|r| r.passed).count() as u64;
    let errors = rows.iter().filter(|r| r.error).count() as u64;
    // An errored case that reported no cost cost nothing; any other
    // unknown cost makes the cost unknown.
    let cost_unknown = rows.iter().filter(|r| r.cost.is_none() && !r.error).count() as u64;
    let cost = (cost_unknown == 0).then(|| rows.iter().filter_map(|r| r.cost).sum::<Nanos>());
    let per = |total: Nanos, n: u64| (n > 0).then(|| Nanos(div_round(total.0 as i128, n as i128) as i64));
    let cost_per_success = cost.and_then(|c| per(c, passed));
    let costs: Vec<f64> = rows.iter().map(|r| r.cost.map(|c| c.to_usd_f64()).unwrap_or(0.0)).collect();
    let succ: Vec<bool> = rows.iter().map(|r| r.passed).collect();
    let cost_per_success_ci = cost.and(match ci {
        CiMethod::DeltaLog => stats::cost_per_success(&costs, &succ).map(|(_, lo, hi)| (lo, hi)),
        CiMethod::Bootstrap(seed) => {
            stats::cost_per_success_bootstrap(&costs, &succ, 2000, seed).map(|(lo, hi, _)| (lo, hi))
        }
    });
    let lat: Vec<u64> = rows.iter().filter_map(|r| r.latency_ms).collect();
    ConfigStats {
        name: name.to_string(),
        cases,
        passed,
        errors,
        pass_rate: if cases > 0 { passed as f64 / cases as f64 } else { 0.0 },
        pass_rate_ci: stats::wilson(passed, cases),
        cost,
        cost_unknown,
        cost_per_call: cost.and_then(|c| per(c, cases)),
        cost_per_success,
        cost_per_success_ci,
        mean_latency_ms: (!lat.is_empty()).then(|| lat.iter().sum::<u64>() as f64 / lat.len() as f64),
    }
}

/// Judges every candidate against the baseline.
pub fn evaluate(rows: &[EvalRow], opts: &GateOptions) -> Result<GateResult, GateError> {
    // Configurations in order of first appearance; every case named once
    // (an index), so that pairing is by index, not by string.
    let mut order: Vec<&str> = Vec::new();
    let mut config_of: FxHashMap<&str, usize> = FxHashMap::default();
    let mut case_id: FxHashMap<&str, u32> = FxHashMap::default();
    // Per configuration: its rows and their case indices.
    let mut groups: Vec<(Vec<&EvalRow>, Vec<u32>)> = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    for r in rows {
        let ci = match last {
            Some((name, i)) if name == r.config => i,
            _ => {
                let i = *config_of.entry(&r.config).or_insert_with(|| {
                    order.push(&r.config);
                    groups.push((Vec::new(), Vec::new()));
                    groups.len() - 1
                });
                last = Some((&r.config, i));
                i
            }
        };
        let n = case_id.len() as u32;
        let id = *case_id.entry(&r.case).or_insert(n);
        groups[ci].0.push(r);
        groups[ci].1.push(id);
    }
    let n_cases = case_id.len();
    for (c, (rs, ids)) in order.iter().zip(&groups) {
        let mut seen = vec![false; n_cases];
        for (r, id) in rs.iter().zip(ids) {
            if std::mem::replace(&mut seen[*id as usize], true) {
                return Err(GateError::Input(format!("configuration '{c}' has case '{}' twice", r.case)));
            }
        }
    }
    let by_config: FxHashMap<&str, &(Vec<&EvalRow>, Vec<u32>)> = order.iter().copied().zip(&groups).collect();
    if order.len() < 2 {
        return Err(GateError::Input(format!(
            "the gate needs at least two configurations (a baseline and a candidate); found {}: {}",
            order.len(),
            order.join(", ")
        )));
    }
    let find = |name: &str, flag: &str| -> Result<&str, GateError> {
        order.iter().find(|c| **c == name).copied().ok_or_else(|| {
            GateError::Input(format!("{flag} '{name}': no such configuration; the files have: {}", order.join(", ")))
        })
    };
    let baseline = match &opts.baseline {
        Some(b) => find(b, "--baseline")?,
        None => order[0],
    };
    let candidates: Vec<&str> = match &opts.candidate {
        Some(c) => vec![find(c, "--candidate")?],
        None => order.iter().copied().filter(|c| *c != baseline).collect(),
    };
    if candidates.contains(&baseline) {
        return Err(GateError::Input("the candidate is the baseline".into()));
    }
    let stats_of: BTreeMap<&str, ConfigStats> =
        order.iter().map(|c| (*c, config_stats(c, &by_config[c].0, opts.ci))).collect();
    let mut base_rows: Vec<Option<&EvalRow>> = vec![None; n_cases];
    let (brs, bids) = by_config[baseline];
    for (r, id) in brs.iter().zip(bids) {
        base_rows[*id as usize] = Some(*r);
    }
    let bs = &stats_of[baseline];
    let mut comparisons = Vec::new();
    for cand in &candidates {
        let cs = &stats_of[cand];
        let (mut paired, mut b, mut c, mut both_base, mut both_cand) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let (mut lost, mut gained) = (Vec::new(), Vec::new());
        let (crs, cids) = by_config[cand];
        for (r, id) in crs.iter().zip(cids) {
            if let Some(br) = base_rows[*id as usize] {
                paired += 1;
                both_base += u64::from(br.passed);
                both_cand += u64::from(r.passed);
                let diff = || CaseDiff {
                    case: r.case.clone(),
                    baseline_score: br.score,
                    candidate_score: r.score,
                    candidate_error: r.error,
                };
                match (br.passed, r.passed) {
                    (true, false) => {
                        b += 1;
                        lost.push(diff());
                    }
                    (false, true) => {
                        c += 1;
                        gained.push(diff());
                    }
                    _ => {}
                }
            }
        }
        let mut warnings = Vec::new();
        let (diff, ci, method, mc_exact, mc_mid, base_rate, cand_rate) = if paired > 0 {
            if paired < bs.cases || paired < cs.cases {
                warnings.push(format!(
                    "paired on the {paired} cases both ran ({} ran {}, {} ran {})",
                    baseline, bs.cases, cand, cs.cases
                ));
            }
            (
                (c as f64 - b as f64) / paired as f64,
                stats::tango(c, b, paired),
                "tango",
                Some(stats::mcnemar_exact(b, c)),
                Some(stats::mcnemar_midp(b, c)),
                both_base as f64 / paired as f64,
                both_cand as f64 / paired as f64,
            )
        } else {
            warnings.push("no case in common: compared unpaired (Newcombe's interval; no McNemar test)".into());
            (
                cs.pass_rate - bs.pass_rate,
                stats::newcombe(cs.passed, cs.cases, bs.passed, bs.cases),
                "newcombe",
                None,
                None,
                bs.pass_rate,
                cs.pass_rate,
            )
        };
        // From the exact totals, not the rounded ratios: cost_c / passed_c
        // against cost_b / passed_b, compared by cross-multiplying.
        let exact = match (bs.cost, cs.cost) {
            (Some(bc), Some(cc)) if bs.passed > 0 && cs.passed > 0 && bs.cost_unknown == 0 && cs.cost_unknown == 0 => {
                Some((bc.0 as i128 * cs.passed as i128, cc.0 as i128 * bs.passed as i128))
            }
            _ => None,
        };
        let change = exact.filter(|(b0, _)| *b0 > 0).map(|(b0, c0)| (c0 as f64 / b0 as f64 - 1.0) * 100.0);
        let cheaper = exact.is_some_and(|(b0, c0)| c0 < b0);
        let mut reasons = Vec::new();
        let quality_ok = match opts.margin {
            None => {
                let ok = cand_rate >= base_rate;
                reasons.push(format!(
                    "pass rate {} {} the baseline's {}{}",
                    pct(cand_rate),
                    if ok { "holds against" } else { "is below" },
                    pct(base_rate),
                    match mc_exact {
                        Some(p) if !ok =>
                            format!(" ({:.1} points; McNemar exact p = {p:.2e})", (base_rate - cand_rate) * 100.0),
                        _ => String::new(),
                    }
                ));
                ok
            }
            Some(m) => {
                let ok = ci.0 > -m;
                reasons.push(format!(
                    "the pass rate's difference is {:+.1} points (95% {} interval {:+.1} to {:+.1}); {} the margin of -{:.1} points",
                    diff * 100.0,
                    if method == "tango" { "Tango" } else { "Newcombe" },
                    ci.0 * 100.0,
                    ci.1 * 100.0,
                    if ok { "its lower end stays above" } else { "its lower end falls below" },
                    m * 100.0
                ));
                let (n, needed, how) = if paired > 0 {
                    let psi = ((b + c) as f64 / paired as f64).max(0.5 / paired as f64);
                    (paired, stats::cases_needed_paired(psi, m), "at this discordance")
                } else {
                    (bs.cases.min(cs.cases), stats::cases_needed(base_rate, m), "unpaired")
                };
                if (n as f64) < needed {
                    warnings.push(format!(
                        "{n} cases: a {:.0}-point drop would not be detected reliably (about {:.0} are needed for 80% power, {how})",
                        m * 100.0,
                        needed.ceil()
                    ));
                }
                ok
            }
        };
        match (bs.cost_per_success, cs.cost_per_success) {
            (Some(b0), Some(c0)) => reasons.push(format!(
                "cost per success {} {} the baseline's {} ({:+.1}%)",
                money4(c0),
                if cheaper { "is below" } else { "is not below" },
                money4(b0),
                change.unwrap_or(0.0)
            )),
            (_, None) if cs.passed == 0 => {
                reasons.push("the candidate passed no case: it has no cost per success".into())
            }
            _ => reasons.push("cost per success unknown (some case has no cost): cannot show a saving".into()),
        }
        if cs.errors > 0 {
            warnings.push(format!("{} of the candidate's cases ended in an error (counted as failures)", cs.errors));
        }
        comparisons.push(Comparison {
            baseline: baseline.to_string(),
            candidate: cand.to_string(),
            paired_cases: paired,
            baseline_only_passed: b,
            candidate_only_passed: c,
            mcnemar_exact_p: mc_exact,
            mcnemar_midp_p: mc_mid,
            pass_rate_diff: diff,
            pass_rate_diff_ci: ci,
            diff_ci_method: method,
            cost_per_success_change_pct: change,
            decision: if quality_ok && cheaper { Decision::Promote } else { Decision::Reject },
            reasons,
            warnings,
            lost,
            gained,
        });
    }
    Ok(GateResult {
        configs: order.iter().map(|c| stats_of[c].clone()).collect(),
        comparisons,
        ci_method: opts.ci,
        margin: opts.margin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows: (config, case, passed, cost nanos).
    fn rows(spec: &[(&str, u32, bool, i64)]) -> Vec<EvalRow> {
        spec.iter()
            .map(|(c, k, p, cost)| EvalRow {
                config: c.to_string(),
                case: k.to_string(),
                passed: *p,
                score: None,
                cost: Some(Nanos(*cost)),
                error: false,
                latency_ms: None,
                workflow: None,
                ts: None,
            })
            .collect()
    }

    fn opts() -> GateOptions {
        GateOptions { baseline: None, candidate: None, margin: None, ci: CiMethod::DeltaLog }
    }

    #[test]
    fn the_papers_rule_by_hand() {
        // Baseline passes 3 of 4 at 10 a case; the candidate passes 3 of
        // 4 at 5 a case (cost per success 13.33 vs 6.67); a third passes 2.
        let mut spec = Vec::new();
        for k in 0..4u32 {
            spec.push(("base", k, k != 3, 10));
            spec.push(("cheap", k, k != 2, 5));
            spec.push(("worse", k, k < 2, 1));
        }
        let r = evaluate(&rows(&spec), &opts()).unwrap();
        assert_eq!(r.configs[0].cost_per_success, Some(Nanos(13)));
        assert_eq!(r.configs[1].cost_per_success, Some(Nanos(7)));
        let cheap = &r.comparisons[0];
        assert_eq!((cheap.baseline_only_passed, cheap.candidate_only_passed), (1, 1));
        assert_eq!(cheap.decision, Decision::Promote, "{:?}", cheap.reasons);
        let worse = &r.comparisons[1];
        assert_eq!(worse.decision, Decision::Reject);
        assert!(worse.reasons[0].contains("is below"), "{:?}", worse.reasons);
        assert!(!r.all_promoted());
    }

    #[test]
    fn fewer_than_two_configurations_is_an_error_and_unpaired_is_said() {
        assert!(evaluate(&rows(&[("a", 1, true, 1)]), &opts()).is_err());
        let r =
            evaluate(&rows(&[("a", 1, true, 10), ("a", 2, false, 10), ("b", 3, true, 1), ("b", 4, true, 1)]), &opts())
                .unwrap();
        let c = &r.comparisons[0];
        assert_eq!(c.paired_cases, 0);
        assert_eq!(c.mcnemar_exact_p, None);
        assert_eq!(c.diff_ci_method, "newcombe");
        assert!(c.warnings[0].contains("unpaired"));
    }
}
