//! The cost of one call, exact to the femto-dollar, rounded once to nanos.
//!
//! ```text
//! cost = uncached·input + cache_read·cache_read + write_5m·write_5m
//!      + write_1h·write_1h + output·output          (reasoning is output)
//!      × region multiplier (usage.inference_geo) × fast multiplier (speed)
//! ```
//!
//! **Long-context tiers** follow LiteLLM: when the prompt (all input classes,
//! cached included) exceeds a threshold `N` that the entry prices
//! (`*_above_<N>_tokens`), the *whole request* moves to the highest such
//! tier, for every class that has a tier price. (ccusage instead prices each
//! bucket's first 200k at the base rate; aifin deliberately does not.)
//!
//! **Service tiers**: batch calls (and `service_tier` batch/priority/flex)
//! use the entry's `*_batches` / `*_priority` / `*_flex` price of each class.
//! When the entry prices the tier for input but not for some other class,
//! that class gets the same ratio as input (e.g. 50% for batch). When the
//! entry has no price for the tier at all, the standard price is used and
//! the breakdown says so.
//!
//! **Missing classes**: cache reads and writes without their own price are
//! charged at the input price (never silently free); a 1-hour write without
//! its own price uses the 5-minute write price; reasoning without its own
//! price is output.

use super::entry::{PriceClass, PriceEntry, Variant};
use crate::domain::money::{Nanos, Ratio, div_round};
use crate::domain::record::Tokens;

/// The parts of a call that affect its price.
#[derive(Clone, Copy, Debug, Default)]
pub struct CostInput<'a> {
    pub tokens: Tokens,
    pub batch: bool,
    pub service_tier: Option<&'a str>,
    pub inference_geo: Option<&'a str>,
    pub speed: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cost {
    pub total: Nanos,
    /// Femto-dollars per class, before multipliers.
    pub parts: Vec<(PriceClass, u64, i128)>,
    /// The long-context threshold applied, if any.
    pub tier: Option<u64>,
    /// The service-tier variant requested.
    pub variant: Option<Variant>,
    /// False when the variant was requested but the entry has no price for it.
    pub variant_priced: bool,
    pub multiplier: Ratio,
}

/// The unit price of a class under a tier and variant, in femto-USD/token.
pub fn unit_price(
    e: &PriceEntry,
    class: PriceClass,
    tier: Option<u64>,
    variant: Option<&Variant>,
) -> Option<(i128, bool)> {
    let base = base_price(e, class, tier)?;
    let Some(v) = variant else {
        return Some((base, true));
    };
    if let Some(p) = e.lookup(class, tier, Some(v)) {
        return Some((p, true));
    }
    if tier.is_some()
        && e.lookup(class, tier, None).is_none()
        && let Some(p) = e.lookup(class, None, Some(v))
    {
        return Some((p, true));
    }
    // Derive from the input ratio at the same tier.
    let input_v = e.lookup(PriceClass::Input, tier, Some(v)).or_else(|| e.lookup(PriceClass::Input, None, Some(v)));
    let input_b = base_price(e, PriceClass::Input, tier);
    match (input_v, input_b) {
        (Some(iv), Some(ib)) if ib > 0 => Some((div_round(base * iv, ib), true)),
        _ => Some((base, false)),
    }
}

fn base_price(e: &PriceEntry, class: PriceClass, tier: Option<u64>) -> Option<i128> {
    let direct = |c: PriceClass| e.lookup(c, tier, None).or_else(|| tier.and_then(|_| e.lookup(c, None, None)));
    match class {
        PriceClass::Input => direct(PriceClass::Input),
        PriceClass::Output => direct(PriceClass::Output).or(Some(0)),
        PriceClass::CacheRead => direct(PriceClass::CacheRead).or_else(|| direct(PriceClass::Input)),
        PriceClass::CacheWrite5m => direct(PriceClass::CacheWrite5m).or_else(|| direct(PriceClass::Input)),
        PriceClass::CacheWrite1h => direct(PriceClass::CacheWrite1h)
            .or_else(|| direct(PriceClass::CacheWrite5m))
            .or_else(|| direct(PriceClass::Input)),
        PriceClass::Reasoning => direct(PriceClass::Reasoning).or_else(|| direct(PriceClass::Output)).or(Some(0)),
    }
}

/// The long-context tier a prompt of this size falls in.
pub fn tier_for(e: &PriceEntry, prompt_tokens: u64) -> Option<u64> {
    e.thresholds().into_iter().filter(|t| prompt_tokens > *t).max()
}

/// Prices a call. `None` when the entry has no input price (unpriced).
pub fn compute(e: &PriceEntry, input: &CostInput) -> Option<Cost> {
    if !e.is_priced() {
        return None;
    }
    let t = &input.tokens;
    let tier = tier_for(e, t.input_total());
    let variant =
        if input.batch { Some(Variant::Batch) } else { input.service_tier.and_then(Variant::from_service_tier) };
    let mut variant_priced = true;
    let mut parts = Vec::with_capacity(6);
    let reasoning_split =
        e.lookup(PriceClass::Reasoning, tier, None).is_some() || e.lookup(PriceClass::Reasoning, None, None).is_some();
    let plain_output = if reasoning_split { t.output - t.reasoning.min(t.output) } else { t.output };
    let counts = [
        (PriceClass::Input, t.uncached_input),
        (PriceClass::CacheRead, t.cache_read),
        (PriceClass::CacheWrite5m, t.cache_write_5m),
        (PriceClass::CacheWrite1h, t.cache_write_1h),
        (PriceClass::Output, plain_output),
        (PriceClass::Reasoning, if reasoning_split { t.reasoning.min(t.output) } else { 0 }),
    ];
    let mut sum: i128 = 0;
    for (class, n) in counts {
        if n == 0 {
            continue;
        }
        let (price, priced) = unit_price(e, class, tier, variant.as_ref())?;
        variant_priced &= priced;
        let f = price * n as i128;
        sum += f;
        parts.push((class, n, f));
    }
    let mut multiplier = Ratio::ONE;
    if let Some(geo) = input.inference_geo
        && let Some((_, r)) = e.geo.iter().find(|(k, _)| k.eq_ignore_ascii_case(geo))
    {
        multiplier = *r;
        sum = r.apply(sum);
    }
    if input.speed.is_some_and(|s| s.eq_ignore_ascii_case("fast"))
        && let Some(r) = e.fast
    {
        multiplier = Ratio { num: multiplier.num * r.num, den: multiplier.den * r.den };
        sum = r.apply(sum);
    }
    Some(Cost { total: Nanos::from_femtos(sum), parts, tier, variant, variant_priced, multiplier })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::entry::EntryOrigin;

    fn entry(v: serde_json::Value) -> PriceEntry {
        PriceEntry::from_map("m", v.as_object().unwrap(), EntryOrigin::Catalog)
    }

    fn tokens(input: u64, cr: u64, w5: u64, w1: u64, out: u64) -> Tokens {
        Tokens {
            uncached_input: input,
            cache_read: cr,
            cache_write_5m: w5,
            cache_write_1h: w1,
            output: out,
            reasoning: 0,
        }
    }

    #[test]
    fn long_context_moves_the_whole_request() {
        let e = entry(serde_json::json!({
            "input_cost_per_token": 1.25e-06, "input_cost_per_token_above_200k_tokens": 2.5e-06,
            "output_cost_per_token": 1e-05, "output_cost_per_token_above_200k_tokens": 1.5e-05,
            "cache_read_input_token_cost": 1.25e-07, "cache_read_input_token_cost_above_200k_tokens": 2.5e-07
        }));
        // 150k uncached + 60k cached = 210k prompt > 200k: everything at the high tier.
        let c = compute(&e, &CostInput { tokens: tokens(150_000, 60_000, 0, 0, 1_000), ..Default::default() }).unwrap();
        assert_eq!(c.tier, Some(200_000));
        // 150000*2.5e-6 + 60000*2.5e-7 + 1000*1.5e-5 = 0.375 + 0.015 + 0.015
        assert_eq!(c.total, Nanos(405_000_000));
        // Exactly at the threshold stays on the base tier.
        let c = compute(&e, &CostInput { tokens: tokens(200_000, 0, 0, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.tier, None);
        assert_eq!(c.total, Nanos(250_000_000));
    }

    #[test]
    fn batch_uses_batch_keys_and_derives_missing_classes() {
        let e = entry(serde_json::json!({
            "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
            "cache_read_input_token_cost": 1.25e-06,
            "input_cost_per_token_batches": 1.25e-06, "output_cost_per_token_batches": 5e-06
        }));
        let c = compute(&e, &CostInput { tokens: tokens(1000, 1000, 0, 0, 100), batch: true, ..Default::default() })
            .unwrap();
        // 1000*1.25e-6 + 1000*(1.25e-6*0.5) + 100*5e-6 = 0.00125 + 0.000625 + 0.0005
        assert_eq!(c.total, Nanos(2_375_000));
        assert!(c.variant_priced);
    }

    #[test]
    fn unpriced_tier_falls_back_to_standard_and_says_so() {
        let e = entry(serde_json::json!({"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}));
        let c = compute(
            &e,
            &CostInput { tokens: tokens(10, 0, 0, 0, 10), service_tier: Some("priority"), ..Default::default() },
        )
        .unwrap();
        assert_eq!(c.total, Nanos(30_000));
        assert!(!c.variant_priced);
    }

    #[test]
    fn missing_cache_prices_never_make_tokens_free() {
        let e = entry(serde_json::json!({"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}));
        let c = compute(&e, &CostInput { tokens: tokens(0, 100, 100, 100, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(300_000));
    }

    #[test]
    fn multipliers_apply_to_the_total() {
        let e = entry(serde_json::json!({
            "input_cost_per_token": 5e-06, "output_cost_per_token": 2.5e-05,
            "provider_specific_entry": {"us": 1.1, "fast": 2.0}
        }));
        let base = CostInput { tokens: tokens(1000, 0, 0, 0, 1000), ..Default::default() };
        assert_eq!(compute(&e, &base).unwrap().total, Nanos(30_000_000));
        let us = CostInput { inference_geo: Some("us"), ..base };
        assert_eq!(compute(&e, &us).unwrap().total, Nanos(33_000_000));
        let fast_us = CostInput { inference_geo: Some("us"), speed: Some("fast"), ..base };
        assert_eq!(compute(&e, &fast_us).unwrap().total, Nanos(66_000_000));
    }

    #[test]
    fn reasoning_price_splits_output_only_when_defined() {
        let e = entry(serde_json::json!({
            "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "output_cost_per_reasoning_token": 3e-06
        }));
        let mut t = tokens(0, 0, 0, 0, 100);
        t.reasoning = 40;
        let c = compute(&e, &CostInput { tokens: t, ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(60 * 2000 + 40 * 3000));
    }

    #[test]
    fn entries_without_input_price_are_unpriced() {
        let e = entry(serde_json::json!({"output_cost_per_image": 0.04}));
        assert!(compute(&e, &CostInput::default()).is_none());
    }
}
