//! Month-end projection from daily spend, with a P10-P90 band, and a
//! backtest of its accuracy.
//!
//! Method: an ordinary least-squares line through the last
//! [`FIT_DAYS`] complete days' totals (days without calls count as zero);
//! the days left in the month are the line's values. The band comes from a
//! residual bootstrap: each of [`BOOTSTRAP_RUNS`] runs refits the line on
//! the fitted values plus residuals drawn at random (seeded, so reports are
//! reproducible), then adds a drawn residual to every remaining day,
//! floored at zero; P10 and P90 of the month totals are the band. It
//! carries both the day-to-day noise and the uncertainty of the slope. Today's
//! partial spend counts as spent; the rest of today is projected pro rata.
//!
//! Backtest: for every complete month with data from its first day, the
//! projection made at mid-month (from the days before the 16th) is
//! compared with the month's actual total.

use crate::domain::money::Nanos;
use crate::sim::Rng;

/// Complete days the line is fitted on (at most).
pub const FIT_DAYS: usize = 28;
pub const BOOTSTRAP_RUNS: usize = 2000;
/// The paper's target for forecast accuracy (actual vs projected).
pub const ACCURACY_TARGET_PCT: f64 = 10.0;
/// Fewer complete days of history than this project nothing: a line
/// through a handful of days is noise, and "—" says so.
pub const MIN_HISTORY_DAYS: usize = 7;

/// Least-squares line through `ys` at x = 0, 1, ...: (intercept, slope).
pub fn linear_fit(ys: &[f64]) -> (f64, f64) {
    let n = ys.len() as f64;
    if ys.is_empty() {
        return (0.0, 0.0);
    }
    if ys.len() < 3 {
        return (ys.iter().sum::<f64>() / n, 0.0);
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (y - my);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    (my - slope * mx, slope)
}

/// A month-end projection. The band always contains the point.
#[derive(Clone, Debug, PartialEq)]
pub struct Trend {
    pub method: &'static str,
    /// Complete days the line was fitted on.
    pub fit_days: usize,
    pub slope_per_day: Nanos,
    pub month_to_date: Nanos,
    /// Days after today left in the month, plus the rest of today.
    pub days_left: f64,
    pub projected: Nanos,
    pub p10: Nanos,
    pub p90: Nanos,
    /// Per remaining day: (expected, p10, p90) of that day's spend in
    /// USD, for charts.
    pub daily: Vec<(f64, f64, f64)>,
}

fn usd(v: f64) -> Nanos {
    Nanos::from_usd_f64(v).unwrap_or(Nanos::ZERO)
}

/// Projects the month's total. `history` holds complete days' spend (USD),
/// oldest first, ending yesterday; `month_to_date` is spent this month
/// including today so far; `today_left` is the fraction of today still to
/// come and `days_after_today` the whole days left in the month. `None`
/// with fewer than [`MIN_HISTORY_DAYS`] days of history.
/// The line through the last [`FIT_DAYS`] days of `history` and the
/// expected spend of the rest of the month: (intercept, slope, fitted days,
/// (weight, expected USD) per remaining day, the point projection).
type Line = (f64, f64, usize, Vec<(f64, f64)>, Nanos);

fn line(history: &[f64], month_to_date: Nanos, today_left: f64, days_after_today: usize) -> Option<Line> {
    if history.len() < MIN_HISTORY_DAYS {
        return None;
    }
    let fit = &history[history.len().saturating_sub(FIT_DAYS)..];
    let (a, b) = linear_fit(fit);
    let n = fit.len();
    // x of today = n; remaining days follow.
    let expected: Vec<(f64, f64)> = std::iter::once((today_left, (a + b * n as f64).max(0.0)))
        .chain((1..=days_after_today).map(|k| (1.0, (a + b * (n + k) as f64).max(0.0))))
        .collect();
    let rest: f64 = expected.iter().map(|(w, e)| w * e).sum();
    Some((a, b, n, expected, month_to_date + usd(rest)))
}

/// The point projection alone (what the backtest compares), without the
/// band's bootstrap.
pub fn project_point(history: &[f64], month_to_date: Nanos, today_left: f64, days_after_today: usize) -> Option<Nanos> {
    line(history, month_to_date, today_left, days_after_today).map(|l| l.4)
}

pub fn project_month(history: &[f64], month_to_date: Nanos, today_left: f64, days_after_today: usize) -> Option<Trend> {
    let (a, b, n, expected, point) = line(history, month_to_date, today_left, days_after_today)?;
    let fit = &history[history.len() - n..];
    let residuals: Vec<f64> = fit.iter().enumerate().map(|(i, y)| y - (a + b * i as f64)).collect();
    let mut rng = Rng::new(0x7ea1_d00d ^ history.len() as u64);
    let mut totals = Vec::with_capacity(BOOTSTRAP_RUNS);
    let mut per_day: Vec<Vec<f64>> = vec![Vec::with_capacity(BOOTSTRAP_RUNS); expected.len()];
    let fitted: Vec<f64> = (0..n).map(|i| a + b * i as f64).collect();
    let mut sample = vec![0.0; n];
    for _ in 0..BOOTSTRAP_RUNS {
        // Refit on the fitted line plus resampled residuals (the line's own
        // uncertainty), then add a resampled residual to each day ahead.
        for (s, f) in sample.iter_mut().zip(&fitted) {
            *s = f + residuals[rng.below(n as u64) as usize];
        }
        let (a2, b2) = linear_fit(&sample);
        let mut t = 0.0;
        for (d, (w, _)) in expected.iter().enumerate() {
            let r = residuals[rng.below(n as u64) as usize];
            let v = (a2 + b2 * (n + d) as f64 + r).max(0.0);
            per_day[d].push(v);
            t += w * v;
        }
        totals.push(t);
    }
    let daily =
        expected.iter().zip(per_day.iter_mut()).map(|((_, e), v)| (*e, quantile(v, 0.10), quantile(v, 0.90))).collect();
    // Spend cannot go below zero, so near zero the noise is one-sided and
    // the draws can sit above a line that has reached zero: the band is
    // widened to hold the point.
    let p10 = (month_to_date + usd(quantile(&mut totals, 0.10))).min(point);
    let p90 = (month_to_date + usd(quantile(&mut totals, 0.90))).max(point);
    Some(Trend {
        method: "least-squares line on daily totals, residual bootstrap band",
        fit_days: n,
        slope_per_day: usd(b),
        month_to_date,
        days_left: today_left + days_after_today as f64,
        projected: point,
        p10,
        p90,
        daily,
    })
}

/// The `q` quantile (nearest rank) of `v`; sorts `v`.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let idx = ((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1);
    v[idx]
}

/// One backtested period.
#[derive(Clone, Debug, PartialEq)]
pub struct BacktestPeriod {
    pub period: String,
    pub projected: Nanos,
    pub actual: Nanos,
    pub error_pct: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Backtest {
    pub periods: Vec<BacktestPeriod>,
    /// Mean absolute percentage error over the periods.
    pub mean_abs_error_pct: f64,
    pub target_pct: f64,
    pub within_target: bool,
}

/// A month of daily spend: its label and its days, in order. The days
/// before it (oldest first) are history for the fit.
pub struct MonthSeries<'a> {
    pub label: String,
    pub before: &'a [Nanos],
    pub days: &'a [Nanos],
}

fn floats(v: &[Nanos]) -> Vec<f64> {
    v.iter().map(|n| n.to_usd_f64()).collect()
}

/// Projects each month at mid-month (from the days before the 16th plus
/// the history before the month) and compares with the actual total.
pub fn backtest(months: &[MonthSeries]) -> Option<Backtest> {
    let mut periods = Vec::new();
    for m in months {
        let cut = 15.min(m.days.len());
        if cut == 0 || m.days.len() <= cut {
            continue;
        }
        let mut history = floats(m.before);
        history.extend(floats(&m.days[..cut]));
        let mtd: Nanos = m.days[..cut].iter().copied().sum();
        let actual: Nanos = m.days.iter().copied().sum();
        // Made at the start of day 16: nothing of it spent yet.
        let Some(projected) = project_point(&history, mtd, 1.0, m.days.len() - cut - 1) else { continue };
        if actual.0 <= 0 {
            continue;
        }
        periods.push(BacktestPeriod {
            period: m.label.clone(),
            projected,
            actual,
            error_pct: (projected.0 - actual.0).abs() as f64 / actual.0 as f64 * 100.0,
        });
    }
    if periods.is_empty() {
        return None;
    }
    let mape = periods.iter().map(|p| p.error_pct).sum::<f64>() / periods.len() as f64;
    Some(Backtest {
        periods,
        mean_abs_error_pct: mape,
        target_pct: ACCURACY_TARGET_PCT,
        within_target: mape <= ACCURACY_TARGET_PCT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_point_alone_is_the_projections_point() {
        let history: Vec<f64> = (0..20).map(|i| 3.0 + 0.25 * i as f64 + if i % 3 == 0 { 1.0 } else { -0.5 }).collect();
        for (left, after) in [(1.0, 14), (0.4, 3), (0.0, 0)] {
            let t = project_month(&history, Nanos(12_345_678_901), left, after).unwrap();
            assert_eq!(project_point(&history, Nanos(12_345_678_901), left, after), Some(t.projected));
        }
        assert_eq!(project_point(&history[..6], Nanos(0), 1.0, 3), None);
    }

    #[test]
    fn the_fit_recovers_a_known_line() {
        let ys: Vec<f64> = (0..20).map(|x| 100.0 + 2.5 * x as f64).collect();
        let (a, b) = linear_fit(&ys);
        assert!((a - 100.0).abs() < 1e-9 && (b - 2.5).abs() < 1e-9, "{a} {b}");
        assert_eq!(linear_fit(&[5.0, 7.0]), (6.0, 0.0), "too few points: flat at the mean");
    }

    #[test]
    fn a_noisy_line_projects_its_month_end_inside_the_band() {
        // 28 days of 100 + 3/day with deterministic noise (+-10).
        let mut rng = Rng::new(4);
        let history: Vec<f64> = (0..28).map(|x| 100.0 + 3.0 * x as f64 + (rng.f64() - 0.5) * 20.0).collect();
        let t = project_month(&history, usd(1_000.0), 0.5, 10).unwrap();
        assert!((t.slope_per_day.to_usd_f64() - 3.0).abs() < 0.5, "slope {:?}", t.slope_per_day);
        // The point projection is the fitted line over what is left.
        let (a, b) = linear_fit(&history);
        let on_line = 1_000.0 + 0.5 * (a + b * 28.0) + (29..=38).map(|x| a + b * x as f64).sum::<f64>();
        assert!((t.projected.to_usd_f64() - on_line).abs() < 1e-6);
        // Truth: half of day 28 and days 29..38 on the true line.
        let truth = 1_000.0 + 0.5 * (100.0 + 3.0 * 28.0) + (29..=38).map(|x| 100.0 + 3.0 * x as f64).sum::<f64>();
        assert!((t.projected.to_usd_f64() - truth).abs() / truth < 0.05, "{:?} vs {truth}", t.projected);
        assert!(t.p10 < t.projected && t.projected < t.p90);
        // Calibration: over many noisy series, the truth falls inside the
        // P10-P90 band about 80% of the time.
        let mut inside = 0;
        for seed in 0..100 {
            let mut rng = Rng::new(1000 + seed);
            let h: Vec<f64> = (0..28).map(|x| 100.0 + 3.0 * x as f64 + (rng.f64() - 0.5) * 20.0).collect();
            let mut rest = 1_000.0 + 0.5 * (100.0 + 3.0 * 28.0 + (rng.f64() - 0.5) * 20.0);
            for x in 29..=38 {
                rest += 100.0 + 3.0 * x as f64 + (rng.f64() - 0.5) * 20.0;
            }
            let t = project_month(&h, usd(1_000.0), 0.5, 10).unwrap();
            inside += usize::from(t.p10.to_usd_f64() <= rest && rest <= t.p90.to_usd_f64());
        }
        assert!((65..=95).contains(&inside), "truth inside the band {inside} times in 100");
        // The band is about sqrt(10.5) x the residual spread wide, not zero, not huge.
        let width = (t.p90.0 - t.p10.0) as f64 / 1e9;
        assert!(width > 10.0 && width < 200.0, "band width {width}");
        assert_eq!(t.daily.len(), 11);
        assert_eq!(project_month(&history, usd(1_000.0), 0.5, 10), Some(t), "seeded: reproducible");
    }

    #[test]
    fn flat_history_gives_a_zero_width_band() {
        let t = project_month(&[10.0; 14], usd(50.0), 0.0, 5).unwrap();
        assert_eq!(t.projected, usd(100.0));
        assert_eq!((t.p10, t.p90), (usd(100.0), usd(100.0)));
    }

    #[test]
    fn too_little_history_projects_nothing() {
        assert_eq!(project_month(&[10.0; 6], usd(50.0), 0.5, 5), None);
        assert!(project_month(&[10.0; 7], usd(50.0), 0.5, 5).is_some());
    }

    #[test]
    fn the_point_lies_inside_its_band_when_spend_has_stopped() {
        // Spend fell to nothing: the line is below zero, so the point is
        // what was spent, while floored noise would put the draws above it.
        let history = [9.0, 8.0, 6.0, 5.0, 3.0, 0.4, 0.0, 0.0, 0.0, 0.0];
        let t = project_month(&history, Nanos::ZERO, 1.0, 10).unwrap();
        assert_eq!(t.projected, Nanos::ZERO);
        assert!(t.p10 <= t.projected && t.projected <= t.p90, "{t:?}");
    }

    #[test]
    fn backtest_on_known_months() {
        // A steady month: projected exactly. A month whose second half
        // doubles: the mid-month projection misses by a computable amount.
        let ten = usd(10.0);
        let steady = [ten; 30];
        let mut jump = [ten; 30];
        for d in jump.iter_mut().skip(15) {
            *d = usd(20.0);
        }
        let b = backtest(&[
            MonthSeries { label: "2026-09".into(), before: &[], days: &steady },
            MonthSeries { label: "2026-10".into(), before: &steady, days: &jump },
        ])
        .unwrap();
        assert_eq!(b.periods.len(), 2);
        assert!(b.periods[0].error_pct.abs() < 1e-9);
        // Projected 300 (flat 10/day), actual 150 + 300 = 450: 33.3% off.
        assert_eq!(b.periods[1].projected, usd(300.0));
        assert_eq!(b.periods[1].actual, usd(450.0));
        assert!((b.periods[1].error_pct - 100.0 / 3.0).abs() < 1e-6);
        assert!((b.mean_abs_error_pct - 50.0 / 3.0).abs() < 1e-6);
        assert!(!b.within_target);
        assert!(backtest(&[MonthSeries { label: "x".into(), before: &[], days: &[usd(1.0); 10] }]).is_none());
    }
}
