//! Driver-based forecasting: monthly cost = calls x tokens per call x
//! blended rate per 1K tokens, with scenarios and levers.
//!
//! The drivers come from the ledger ([`drivers`]) or are given outright.
//! A scenario changes them: adoption growth scales calls; tokens per call
//! and the rate are set, scaled, or (the rate) blended with another
//! catalog model's rate for a routed share of calls. Levers then act on
//! the part of the cost they touch and compose multiplicatively:
//!
//! * **input reduction** `r` cuts input tokens: the input part of the cost
//!   (share `a`) shrinks by `r`;
//! * **cache hit rate** `h` moves input from full price to the cache-read
//!   price (ratio `k`) from today's cache share `c0`: the input part is
//!   scaled by `((1-h) + h k) / ((1-c0) + c0 k)`;
//! * **routing** a share `s` of calls to a model whose rate at the same
//!   token mix is `R_t` scales the rate by `((1-s) R + s R_t) / R`.
//!
//! The composed cost is compared with the naive sum of each lever's saving
//! alone (which over-counts, as levers shrink what the others act on).
//!
//! Money stays exact where it is measured: a scenario that changes nothing
//! is today's ledger cost to the nano; projections are rounded to nanos.

pub mod drivers;
pub mod trend;

use crate::domain::money::Nanos;

/// What a month of one workflow (or all) looks like today. Money is exact
/// ([`Nanos`]); the rate is a ratio (USD per 1,000 tokens).
#[derive(Clone, Debug, PartialEq)]
pub struct Drivers {
    /// Calls per month.
    pub calls: f64,
    /// Input plus output tokens per call.
    pub tokens_per_call: f64,
    /// Cost per 1,000 tokens (USD), all classes blended.
    pub rate_per_1k_usd: f64,
    /// Projected monthly cost today, exact.
    pub monthly_cost: Nanos,
    /// Share of tokens that are input.
    pub input_share: f64,
    /// Share of the cost that input tokens cause.
    pub input_cost_share: f64,
    /// Share of input read from the prompt cache today.
    pub cache_share: f64,
    /// Cache-read price / input price of the dominant model.
    pub cache_price_ratio: f64,
}

/// Output tokens cost this many times input tokens when no catalog price
/// says otherwise (typical of current models).
pub const DEFAULT_OUTPUT_PRICE_RATIO: f64 = 4.0;
/// Cache reads cost this share of input when the catalog does not say.
pub const DEFAULT_CACHE_PRICE_RATIO: f64 = 0.1;

impl Drivers {
    /// Drivers given outright. `input_share` splits tokens into input and
    /// output; output is priced [`DEFAULT_OUTPUT_PRICE_RATIO`] x input.
    pub fn explicit(calls: f64, tokens_per_call: f64, rate_per_1k_usd: f64, input_share: f64) -> Drivers {
        let usd = calls * tokens_per_call * rate_per_1k_usd / 1000.0;
        let i = input_share.clamp(0.0, 1.0);
        let weighted = i + (1.0 - i) * DEFAULT_OUTPUT_PRICE_RATIO;
        Drivers {
            calls,
            tokens_per_call,
            rate_per_1k_usd,
            monthly_cost: Nanos::from_usd_f64(usd).unwrap_or(Nanos::ZERO),
            input_share: i,
            input_cost_share: if weighted > 0.0 { i / weighted } else { 0.0 },
            cache_share: 0.0,
            cache_price_ratio: DEFAULT_CACHE_PRICE_RATIO,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum TokensChange {
    #[default]
    Same,
    To(f64),
    Pct(f64),
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum RateChange {
    #[default]
    Same,
    To(f64),
    Pct(f64),
}

/// A what-if. Percentages are in percent (40 = +40%).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scenario {
    pub growth_pct: f64,
    pub tokens: TokensChange,
    pub rate: RateChange,
    pub input_reduction_pct: f64,
    pub cache_hit_pct: Option<f64>,
    /// Share of calls routed (percent) and the target's rate per 1K.
    pub route: Option<(f64, f64)>,
    /// Levers measured by the lever lab on the base window's calls
    /// (instead of the typed percentages).
    pub replayed: Option<ReplayFactors>,
}

/// Cost factors the lever lab measured: the levers composed and each
/// alone (spend with the levers / spend without).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReplayFactors {
    pub composed: f64,
    pub alone: [Option<(&'static str, f64)>; 4],
}

impl Scenario {
    /// Changes nothing (then the projection is today's cost, exactly).
    pub fn is_identity(&self) -> bool {
        self.growth_pct == 0.0 && self.levers_identity() && self.drivers_identity()
    }

    fn drivers_identity(&self) -> bool {
        matches!(self.tokens, TokensChange::Same | TokensChange::Pct(0.0))
            && matches!(self.rate, RateChange::Same | RateChange::Pct(0.0))
    }

    fn levers_identity(&self) -> bool {
        self.input_reduction_pct == 0.0
            && self.cache_hit_pct.is_none()
            && self.route.is_none_or(|(s, _)| s == 0.0)
            && self.replayed.is_none()
    }

    /// The scenario without its levers (growth, tokens and rate only).
    pub fn without_levers(&self) -> Scenario {
        Scenario { input_reduction_pct: 0.0, cache_hit_pct: None, route: None, replayed: None, ..*self }
    }
}

/// One column of a forecast table: a month under a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub monthly_calls: f64,
    pub tokens_per_call: f64,
    pub rate_per_1k_usd: f64,
    pub cost: Nanos,
    pub delta_vs_today_pct: f64,
}

/// How the levers combine.
#[derive(Clone, Debug, PartialEq)]
pub struct LeverReport {
    /// Cost before levers (growth, tokens and rate changes only).
    pub before_levers: Nanos,
    /// Each lever alone: (name, monthly saving).
    pub alone: Vec<(&'static str, Nanos)>,
    /// The levers together (multiplicative).
    pub composed: Nanos,
    pub composed_saving: Nanos,
    /// Before-levers cost minus the sum of the savings alone.
    pub naive_sum: Nanos,
    pub naive_sum_saving: Nanos,
}

/// Multipliers of one scenario against today.
struct Factors {
    calls: f64,
    tokens: f64,
    /// Cost per token.
    rate: f64,
}

fn factors(d: &Drivers, s: &Scenario) -> Factors {
    let calls = 1.0 + s.growth_pct / 100.0;
    let tpc0 = match s.tokens {
        TokensChange::Same => d.tokens_per_call,
        TokensChange::To(n) => n,
        TokensChange::Pct(p) => d.tokens_per_call * (1.0 + p / 100.0),
    };
    let rate0 = match s.rate {
        RateChange::Same => d.rate_per_1k_usd,
        RateChange::To(r) => r,
        RateChange::Pct(p) => d.rate_per_1k_usd * (1.0 + p / 100.0),
    };
    let (route, input, cache) = lever_factors(d, s);
    let r = (s.input_reduction_pct / 100.0).clamp(0.0, 1.0);
    // Input reduction removes input tokens; the cost per call shrinks by
    // the input part; cache and routing change what a token costs.
    let tokens_f = if d.tokens_per_call > 0.0 { tpc0 / d.tokens_per_call } else { 1.0 } * (1.0 - r * d.input_share);
    let cost_per_call_f = if d.tokens_per_call > 0.0 && d.rate_per_1k_usd > 0.0 {
        (tpc0 * rate0) / (d.tokens_per_call * d.rate_per_1k_usd)
    } else {
        1.0
    } * route
        * composed_input(d, input, cache)
        * s.replayed.map_or(1.0, |r| r.composed);
    let rate_f = if tokens_f > 0.0 { cost_per_call_f / tokens_f } else { 1.0 };
    Factors { calls, tokens: tokens_f, rate: rate_f }
}

/// (routing rate factor, input kept, cache factor on the input part).
fn lever_factors(d: &Drivers, s: &Scenario) -> (f64, f64, f64) {
    let route = match s.route {
        Some((share, target)) if d.rate_per_1k_usd > 0.0 => {
            let sh = (share / 100.0).clamp(0.0, 1.0);
            ((1.0 - sh) * d.rate_per_1k_usd + sh * target) / d.rate_per_1k_usd
        }
        _ => 1.0,
    };
    let input = 1.0 - (s.input_reduction_pct / 100.0).clamp(0.0, 1.0);
    let cache = match s.cache_hit_pct {
        Some(h) => {
            let h = (h / 100.0).clamp(0.0, 1.0);
            let (c0, k) = (d.cache_share, d.cache_price_ratio);
            let now = (1.0 - c0) + c0 * k;
            if h > c0 && now > 0.0 { ((1.0 - h) + h * k) / now } else { 1.0 }
        }
        None => 1.0,
    };
    (route, input, cache)
}

/// The cost factor of input kept `input` and cache factor `cache`.
fn composed_input(d: &Drivers, input: f64, cache: f64) -> f64 {
    let a = d.input_cost_share;
    a * input * cache + (1.0 - a)
}

/// Today's drivers under a scenario.
pub fn project(d: &Drivers, s: &Scenario) -> Projection {
    let f = factors(d, s);
    let cost_f = f.calls * f.tokens * f.rate;
    let cost = if s.is_identity() || cost_f == 1.0 {
        d.monthly_cost
    } else {
        Nanos((d.monthly_cost.0 as f64 * cost_f).round() as i64)
    };
    let today = d.monthly_cost.0;
    Projection {
        monthly_calls: d.calls * f.calls,
        tokens_per_call: d.tokens_per_call * f.tokens,
        rate_per_1k_usd: d.rate_per_1k_usd * f.rate,
        cost,
        delta_vs_today_pct: if today != 0 { (cost.0 as f64 / today as f64 - 1.0) * 100.0 } else { 0.0 },
    }
}

/// Whether a scenario uses any lever.
pub fn has_levers(s: &Scenario) -> bool {
    !s.levers_identity()
}

/// The levers of `s`, alone and together.
pub fn levers(d: &Drivers, s: &Scenario) -> LeverReport {
    let base = s.without_levers();
    let before = project(d, &base).cost;
    let mut alone = Vec::new();
    if s.input_reduction_pct != 0.0 {
        let one = Scenario { input_reduction_pct: s.input_reduction_pct, ..base };
        alone.push(("input reduction", Nanos(before.0 - project(d, &one).cost.0)));
    }
    if s.cache_hit_pct.is_some() {
        let one = Scenario { cache_hit_pct: s.cache_hit_pct, ..base };
        alone.push(("caching", Nanos(before.0 - project(d, &one).cost.0)));
    }
    if s.route.is_some() {
        let one = Scenario { route: s.route, ..base };
        alone.push(("routing", Nanos(before.0 - project(d, &one).cost.0)));
    }
    if let Some(r) = s.replayed {
        for (name, f) in r.alone.into_iter().flatten() {
            let one = Scenario { replayed: Some(ReplayFactors { composed: f, alone: [None; 4] }), ..base };
            alone.push((name, Nanos(before.0 - project(d, &one).cost.0)));
        }
    }
    let composed = project(d, s).cost;
    let sum: Nanos = alone.iter().map(|(_, v)| *v).sum();
    LeverReport {
        before_levers: before,
        alone,
        composed,
        composed_saving: Nanos(before.0 - composed.0),
        naive_sum: Nanos(before.0 - sum.0),
        naive_sum_saving: sum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paper() -> Drivers {
        Drivers::explicit(1_240_000.0, 7010.0, 0.0048, 0.9)
    }

    fn cost(s: Scenario) -> f64 {
        project(&paper(), &s).cost.to_usd_f64()
    }

    #[test]
    fn the_papers_table_within_150_dollars() {
        let today = cost(Scenario::default());
        let growth = cost(Scenario { growth_pct: 40.0, ..Default::default() });
        let unmanaged = cost(Scenario { growth_pct: 40.0, tokens: TokensChange::To(9100.0), ..Default::default() });
        let levers = cost(Scenario {
            growth_pct: 40.0,
            tokens: TokensChange::To(3900.0),
            rate: RateChange::To(0.0042),
            ..Default::default()
        });
        for (got, paper) in [(today, 41_800.0), (growth, 58_500.0), (unmanaged, 75_900.0), (levers, 28_400.0)] {
            assert!((got - paper).abs() <= 150.0, "{got} vs the paper's {paper}");
        }
        assert!(((unmanaged - levers) - 47_500.0).abs() <= 150.0, "swing {}", unmanaged - levers);
        // Exact arithmetic: 1,240,000 x 7,010 x $0.0048 / 1K = $41,723.52.
        assert_eq!(paper().monthly_cost, Nanos(41_723_520_000_000));
        let p = project(&paper(), &Scenario { growth_pct: 40.0, ..Default::default() });
        assert_eq!(p.monthly_calls, 1_736_000.0);
        assert!((p.delta_vs_today_pct - 40.0).abs() < 1e-9);
    }

    #[test]
    fn no_change_is_today_to_the_nano() {
        let d = Drivers { monthly_cost: Nanos(110_000_000_007), ..paper() };
        assert_eq!(project(&d, &Scenario::default()).cost, Nanos(110_000_000_007));
        let zero = Scenario { tokens: TokensChange::Pct(0.0), rate: RateChange::Pct(0.0), ..Default::default() };
        assert_eq!(project(&d, &zero).cost, Nanos(110_000_000_007));
    }

    #[test]
    fn levers_compose_multiplicatively_and_beat_no_lever_but_not_the_naive_sum() {
        let d = Drivers { input_cost_share: 0.6, cache_share: 0.0, cache_price_ratio: 0.1, ..paper() };
        let s = Scenario {
            input_reduction_pct: 50.0,
            cache_hit_pct: Some(40.0),
            route: Some((30.0, 0.0048 / 5.0)),
            ..Default::default()
        };
        let r = levers(&d, &s);
        let before = d.monthly_cost.to_usd_f64();
        assert_eq!(r.before_levers, d.monthly_cost);
        // By hand: route 0.7 + 0.3/5 = 0.76; input part 0.6 x 0.5 x (0.6 + 0.4 x 0.1) + 0.4 = 0.592.
        let want = before * 0.76 * 0.592;
        assert!((r.composed.to_usd_f64() - want).abs() < 0.01, "{:?} vs {want}", r.composed);
        // Alone: input 0.6 x 0.5 = 30%; cache 0.6 x (1 - 0.64) = 21.6%; route 24%.
        let alone: Vec<f64> = r.alone.iter().map(|(_, v)| v.to_usd_f64() / before).collect();
        for (got, want) in alone.iter().zip([0.30, 0.216, 0.24]) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!(r.naive_sum_saving > r.composed_saving, "the naive sum over-counts");
        assert_eq!(r.naive_sum_saving.0, r.alone.iter().map(|(_, v)| v.0).sum::<i64>(), "summed as integers");
        assert!(r.composed_saving.to_usd_f64() > alone.iter().cloned().fold(0.0, f64::max) * before);
        // Input reduction cuts tokens per call by input share x r.
        let p = project(&d, &Scenario { input_reduction_pct: 50.0, ..Default::default() });
        assert!((p.tokens_per_call - 7010.0 * (1.0 - 0.9 * 0.5)).abs() < 1e-6);
    }

    #[test]
    fn a_cache_hit_rate_below_todays_changes_nothing() {
        let d = Drivers { cache_share: 0.5, ..paper() };
        let p = project(&d, &Scenario { cache_hit_pct: Some(30.0), ..Default::default() });
        assert_eq!(p.cost, d.monthly_cost);
    }
}
