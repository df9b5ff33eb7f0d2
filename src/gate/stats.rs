//! The gate's statistics (see the reference in the README): the Wilson
//! score interval of a pass rate, McNemar's exact and mid-p tests on paired
//! cases, Tango's score interval of a paired difference, Newcombe's hybrid
//! score interval of an unpaired one, and the interval of a cost per
//! success. z is the exact 97.5% normal quantile, as scipy uses.
//!
//! Written here (no statistics crate covers Tango or mid-p); checked
//! against scipy and statsmodels in `tests/fixtures/gate/oracle.json`.

/// The 97.5% quantile of the standard normal distribution.
pub const Z: f64 = 1.959_963_984_540_054;

/// Wilson score interval of `x` passes in `n`, clipped to [0, 1].
pub fn wilson(x: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (n as f64, x as f64 / n as f64);
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// ln C(m, k), exactly enough for any m (via ln Γ).
fn ln_choose(m: u64, k: u64) -> f64 {
    ln_factorial(m) - ln_factorial(k) - ln_factorial(m - k)
}

/// ln n!: exact sums for small n, Stirling's series beyond (error < 1e-13).
fn ln_factorial(n: u64) -> f64 {
    if n < 256 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x) - 1.0 / (360.0 * x.powi(3))
        + 1.0 / (1260.0 * x.powi(5))
}

/// P(X = k) for X ~ Binomial(m, 1/2).
fn half_pmf(m: u64, k: u64) -> f64 {
    (ln_choose(m, k) - m as f64 * std::f64::consts::LN_2).exp()
}

/// McNemar's exact two-sided p: `b` baseline-only passes, `c`
/// candidate-only passes.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let m = b + c;
    if m == 0 || b == c {
        return 1.0;
    }
    let k = b.min(c);
    let tail: f64 = (0..=k).map(|i| half_pmf(m, i)).sum();
    (2.0 * tail).min(1.0)
}

/// McNemar's mid-p (Fagerland, Lydersen and Laake 2013).
pub fn mcnemar_midp(b: u64, c: u64) -> f64 {
    let m = b + c;
    if m == 0 {
        return 1.0;
    }
    if b == c {
        return 1.0 - half_pmf(m, b) / 2.0;
    }
    mcnemar_exact(b, c) - half_pmf(m, b.min(c))
}

/// Tango's score statistic at a trial difference `d`.
fn tango_z(n12: f64, n21: f64, n: f64, d: f64) -> f64 {
    let num = n12 - n21 - n * d;
    if num == 0.0 {
        return 0.0;
    }
    let a = 2.0 * n;
    let b = -n12 - n21 + (2.0 * n - n12 + n21) * d;
    let c = -n21 * d * (1.0 - d);
    let q = ((b * b - 4.0 * a * c).max(0.0).sqrt() - b) / (2.0 * a);
    let var = n * (2.0 * q + d * (1.0 - d));
    if var <= 0.0 {
        return if num > 0.0 { f64::INFINITY } else { f64::NEG_INFINITY };
    }
    num / var.sqrt()
}

/// Finds `f(d) = 0` on [lo, hi] by bisection (f changes sign there).
fn bisect(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> f64 {
    let flo = f(lo) > 0.0;
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if (f(mid) > 0.0) == flo {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    (lo + hi) / 2.0
}

/// Tango's 95% score interval of a paired difference of pass rates
/// (candidate - baseline): `n12` candidate-only passes, `n21`
/// baseline-only passes, `n` pairs.
pub fn tango(n12: u64, n21: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (-1.0, 1.0);
    }
    let (a, b, nn) = (n12 as f64, n21 as f64, n as f64);
    let est = (a - b) / nn;
    let eps = 1e-12;
    let z = |d: f64| tango_z(a, b, nn, d);
    let lo = if z(-1.0 + eps) <= Z { -1.0 } else { bisect(|d| z(d) - Z, -1.0 + eps, est) };
    let hi = if z(1.0 - eps) >= -Z { 1.0 } else { bisect(|d| z(d) + Z, est, 1.0 - eps) };
    (lo, hi)
}

/// Newcombe's hybrid score interval (method 10) of p1 - p2 for unpaired
/// samples.
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64) -> (f64, f64) {
    if n1 == 0 || n2 == 0 {
        return (-1.0, 1.0);
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson(x1, n1);
    let (l2, u2) = wilson(x2, n2);
    let d = p1 - p2;
    (d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(), d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt())
}

/// Cost per success R = Σcost / Σsuccess and its 95% interval by the delta
/// method on the log scale: R · exp(±z · SE / R), SE = sqrt(Σ(cost_i -
/// R·s_i)² / (n(n-1))) / mean(s). `None` when nothing succeeded.
pub fn cost_per_success(costs: &[f64], successes: &[bool]) -> Option<(f64, f64, f64)> {
    let n = costs.len();
    let s: f64 = successes.iter().filter(|s| **s).count() as f64;
    if s == 0.0 || n < 2 {
        return None;
    }
    let r = costs.iter().sum::<f64>() / s;
    let ss: f64 = costs.iter().zip(successes).map(|(c, ok)| (c - r * f64::from(u8::from(*ok))).powi(2)).sum();
    let se = (ss / (n as f64 * (n as f64 - 1.0))).sqrt() / (s / n as f64);
    if r == 0.0 {
        return Some((0.0, 0.0, 0.0));
    }
    Some((r, r * (-Z * se / r).exp(), r * (Z * se / r).exp()))
}

/// The same interval by a seeded percentile bootstrap over cases;
/// resamples without a success are left out (and counted).
pub fn cost_per_success_bootstrap(
    costs: &[f64],
    successes: &[bool],
    runs: usize,
    seed: u64,
) -> Option<(f64, f64, usize)> {
    let n = costs.len();
    if n == 0 {
        return None;
    }
    let mut rng = crate::sim::Rng::new(seed);
    let mut rs = Vec::with_capacity(runs);
    let mut empty = 0;
    for _ in 0..runs {
        let (mut c, mut s) = (0.0, 0u64);
        for _ in 0..n {
            let i = rng.below(n as u64) as usize;
            c += costs[i];
            s += u64::from(successes[i]);
        }
        if s == 0 {
            empty += 1;
        } else {
            rs.push(c / s as f64);
        }
    }
    if rs.is_empty() {
        return None;
    }
    let lo = crate::forecast::trend::quantile(&mut rs, 0.025);
    let hi = crate::forecast::trend::quantile(&mut rs, 0.975);
    Some((lo, hi, empty))
}

/// Cases needed to see a drop of `margin` (a fraction) at 80% power and 5%
/// two-sided, for a pass rate `p`, unpaired (a conservative bound).
pub fn cases_needed(p: f64, margin: f64) -> f64 {
    const Z80: f64 = 0.841_621_233_572_914_3;
    (Z + Z80).powi(2) * p * (1.0 - p) * 2.0 / (margin * margin)
}

/// The same for paired cases (Connor's approximation): only the discordant
/// share `psi` of the cases carries information about the difference.
pub fn cases_needed_paired(psi: f64, margin: f64) -> f64 {
    const Z80: f64 = 0.841_621_233_572_914_3;
    (Z + Z80).powi(2) * psi / (margin * margin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn oracle() -> Value {
        serde_json::from_str(include_str!("../../tests/fixtures/gate/oracle.json")).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64, what: &str) {
        assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (oracle)");
    }

    fn n(v: &Value) -> u64 {
        v.as_u64().unwrap()
    }

    fn pair(v: &Value) -> (f64, f64) {
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }

    #[test]
    fn wilson_matches_statsmodels() {
        let o = oracle();
        assert_eq!(o["z"].as_f64().unwrap(), Z);
        for c in o["wilson"].as_array().unwrap() {
            let (lo, hi) = wilson(n(&c["x"]), n(&c["n"]));
            let (a, b) = pair(&c["ci"]);
            close(lo, a, 1e-12, &format!("wilson {c}"));
            close(hi, b, 1e-12, &format!("wilson {c}"));
        }
    }

    #[test]
    fn mcnemar_matches_statsmodels_and_scipy() {
        for c in oracle()["mcnemar"].as_array().unwrap() {
            let (b, cc) = (n(&c["b"]), n(&c["c"]));
            close(mcnemar_exact(b, cc), c["exact"].as_f64().unwrap(), 1e-11, &format!("exact {c}"));
            close(mcnemar_midp(b, cc), c["midp"].as_f64().unwrap(), 1e-11, &format!("mid-p {c}"));
        }
    }

    #[test]
    fn tango_matches_an_independent_root_finder() {
        for c in oracle()["tango"].as_array().unwrap() {
            let (lo, hi) = tango(n(&c["n12"]), n(&c["n21"]), n(&c["n"]));
            let (a, b) = pair(&c["ci"]);
            close(lo, a, 1e-9, &format!("tango {c}"));
            close(hi, b, 1e-9, &format!("tango {c}"));
        }
        // By hand, no discordant pairs among 500: d/(1-d) = z²/500.
        let d = Z * Z / (500.0 + Z * Z);
        let (lo, hi) = tango(0, 0, 500);
        close(hi, d, 1e-12, "by hand");
        close(lo, -d, 1e-12, "by hand");
    }

    #[test]
    fn newcombe_matches_its_definition_over_statsmodels_wilson() {
        for c in oracle()["newcombe"].as_array().unwrap() {
            let (lo, hi) = newcombe(n(&c["x1"]), n(&c["n1"]), n(&c["x2"]), n(&c["n2"]));
            let (a, b) = pair(&c["ci"]);
            close(lo, a, 1e-12, &format!("newcombe {c}"));
            close(hi, b, 1e-12, &format!("newcombe {c}"));
        }
    }

    #[test]
    fn cases_needed_by_hand() {
        // (1.959964 + 0.841621)^2 = 7.848879; x 0.95 x 0.05 x 2 / 0.02^2 (by hand).
        close(cases_needed(0.95, 0.02), 1864.11, 0.01, "unpaired");
        // 7.848879 x 0.032 / 0.0004.
        close(cases_needed_paired(0.032, 0.02), 627.91, 0.01, "paired");
    }

    #[test]
    fn cost_per_success_matches_numpy() {
        for c in oracle()["cost_per_success"].as_array().unwrap() {
            let costs: Vec<f64> = c["costs"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            let succ: Vec<bool> = c["successes"].as_array().unwrap().iter().map(|v| v.as_u64() == Some(1)).collect();
            let (r, lo, hi) = cost_per_success(&costs, &succ).unwrap();
            let (a, b) = pair(&c["ci"]);
            close(r, c["r"].as_f64().unwrap(), 1e-12, "R");
            close(lo, a, 1e-12, "low");
            close(hi, b, 1e-12, "high");
            let (blo, bhi, _) = cost_per_success_bootstrap(&costs, &succ, 2000, 1).unwrap();
            assert!(blo < r && r < bhi, "bootstrap {blo} {r} {bhi}");
        }
        assert_eq!(cost_per_success(&[1.0, 2.0], &[false, false]), None, "nothing passed: no cost per success");
    }
}
