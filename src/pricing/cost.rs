//! The cost of one call, exact to the femto-dollar, rounded once to nanos.
//! The rules are LiteLLM's (its `cost_per_token`), with the exceptions
//! the README's Pricing section lists.
//!
//! ```text
//! cost = uncached·input + cache_read·cache_read + write_5m·write_5m
//!      + write_1h·write_1h + output·output + reasoning·reasoning
//!      × region multiplier (usage.inference_geo) × fast multiplier (speed)
//!      × regional endpoint uplift (a location other than `global`)
//! ```
//!
//! **Long-context thresholds** (`*_above_<N>_tokens`): when the prompt (all
//! input classes, cached included) is above `N`, the whole request moves
//! to the highest such threshold, each class to its own `_above_` price
//! when the entry has one (else its base price). xAI's entries apply a
//! threshold at `N` itself; Perplexity's ignore them.
//!
//! **Tiered pricing** (`tiered_pricing`): the whole request is priced at
//! the tier its prompt falls in (`lo < prompt <= hi`; above the last range,
//! the last tier; an empty prompt, the first); cache reads and writes
//! without a tier price are charged at the tier's input price, output
//! without one at the flat output price. The table replaces flat prices.
//!
//! **Service tiers**: `priority` (and `fast`), `flex`, `balanced`,
//! `ultrafast` use the entry's `*_<tier>` price of each class, and a class
//! without one its standard price.
//!
//! **Batch**: with `*_batches` prices, input at the batch price, cache
//! reads at their batch price else the standard cache-read price, cache
//! writes at their batch price else the batch input price, output at its
//! batch price else half the standard output price; without batch prices,
//! half of every standard price. Geo and speed multipliers do not apply to
//! batch calls.
//!
//! **Missing classes**: cache reads and writes without their own price are
//! charged at the input price (never silently free); a 1-hour write without
//! its own price uses the 5-minute write price; reasoning without its own
//! price is output.

use super::entry::{PriceClass, PriceEntry, ThresholdRule, Tier, Variant};
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
    /// The endpoint's location (Vertex: `us-central1`, `global`, ...).
    pub region: Option<&'a str>,
    /// When the call was made (off-peak windows).
    pub ts_ms: Option<i64>,
}

impl<'a> CostInput<'a> {
    /// What a stored call's price depends on (an inferred time, the file's
    /// modification time, opens no off-peak window).
    pub fn of(rec: &'a crate::domain::record::CallRecord) -> CostInput<'a> {
        CostInput {
            tokens: rec.tokens,
            batch: rec.batch,
            service_tier: rec.service_tier.as_deref(),
            inference_geo: rec.inference_geo.as_deref(),
            speed: rec.speed.as_deref(),
            region: rec.region.as_deref(),
            ts_ms: (!rec.ts_inferred).then_some(rec.ts_ms),
        }
    }
}

/// A call's cost with how it was reached: the reference the price sheets
/// ([`Sheet`]) are checked against.
#[cfg(test)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cost {
    pub total: Nanos,
    /// Femto-dollars per class, before multipliers.
    pub parts: Vec<(PriceClass, u64, i128)>,
    /// The long-context threshold applied, if any.
    pub tier: Option<u64>,
    /// The `tiered_pricing` range applied, if any.
    pub range: Option<(u64, u64)>,
    /// The service-tier variant requested.
    pub variant: Option<Variant>,
    /// False when the variant was requested but the entry has no price for it.
    pub variant_priced: bool,
    pub multiplier: Ratio,
}

/// Whether a prompt of this size is past a threshold under the entry's rule.
fn crosses(e: &PriceEntry, prompt: u64, t: u64) -> bool {
    match e.threshold_rule {
        ThresholdRule::Above => prompt > t,
        ThresholdRule::AtOrAbove => prompt >= t,
        ThresholdRule::Ignored => false,
    }
}

/// The threshold a class's price follows: the highest of the class's own
/// `_above_<N>` prices (standard, or of the requested variant) the prompt
/// is past. Classes select independently (LiteLLM's rule): an output price
/// above 32k applies at 40k even when input has only a 128k threshold.
fn class_threshold(e: &PriceEntry, class: PriceClass, prompt: u64, v: Option<&Variant>) -> Option<u64> {
    e.slots
        .iter()
        .filter(|s| s.class == class && (s.variant.is_none() || s.variant.as_ref() == v))
        .filter_map(|s| s.above)
        .filter(|t| crosses(e, prompt, *t))
        .max()
}

/// A class's own price for this prompt: at its threshold (the variant's
/// key first), else its base (the variant's key first).
fn own_price(e: &PriceEntry, class: PriceClass, prompt: u64, v: Option<&Variant>) -> Option<i128> {
    let thr = class_threshold(e, class, prompt, v);
    v.and_then(|v| e.lookup(class, thr, Some(v))).or_else(|| e.lookup(class, thr, None)).or_else(|| {
        // A threshold found only under the variant: the standard base.
        thr.and_then(|_| v.and_then(|v| e.lookup(class, None, Some(v))).or_else(|| e.lookup(class, None, None)))
    })
}

/// The price of a class with the documented fallbacks, for a service
/// tier (or standard): cache reads and writes without a price cost the
/// input price, a 1-hour write the 5-minute one; reasoning is the tier's
/// reasoning price, else the tier's output price, else the standard
/// reasoning price, else output.
fn class_price(e: &PriceEntry, class: PriceClass, prompt: u64, v: Option<&Variant>) -> Option<i128> {
    let own = |c: PriceClass| own_price(e, c, prompt, v);
    match class {
        PriceClass::Input => own(PriceClass::Input),
        PriceClass::Output => own(PriceClass::Output).or(Some(0)),
        PriceClass::CacheRead => own(PriceClass::CacheRead).or_else(|| own(PriceClass::Input)),
        PriceClass::CacheWrite5m => own(PriceClass::CacheWrite5m).or_else(|| own(PriceClass::Input)),
        PriceClass::CacheWrite1h => {
            own(PriceClass::CacheWrite1h).or_else(|| own(PriceClass::CacheWrite5m)).or_else(|| own(PriceClass::Input))
        }
        PriceClass::Reasoning => {
            let variant_only = |c: PriceClass| {
                let v = v?;
                let thr = class_threshold(e, c, prompt, Some(v));
                e.lookup(c, thr, Some(v))
            };
            variant_only(PriceClass::Reasoning)
                .or_else(|| variant_only(PriceClass::Output))
                .or_else(|| own_price(e, PriceClass::Reasoning, prompt, None))
                .or_else(|| own(PriceClass::Output))
                .or(Some(0))
        }
    }
}

fn half(p: i128) -> i128 {
    div_round(p, 2)
}

/// The unit price of a class for a prompt of `prompt` tokens under a
/// variant, in femto-USD/token, and whether the variant had a price of its
/// own (its input price).
pub fn unit_price(e: &PriceEntry, class: PriceClass, prompt: u64, variant: Option<&Variant>) -> Option<(i128, bool)> {
    match variant {
        None => Some((class_price(e, class, prompt, None)?, true)),
        Some(Variant::Batch) => {
            let b = Some(&Variant::Batch);
            let batch_own = |c: PriceClass| {
                let thr = class_threshold(e, c, prompt, b);
                e.lookup(c, thr, b).or_else(|| thr.and_then(|_| e.lookup(c, None, b)))
            };
            let standard = |c: PriceClass| class_price(e, c, prompt, None);
            let batch_input = batch_own(PriceClass::Input);
            let price = match (batch_own(class), class, batch_input) {
                (Some(p), _, _) => Some(p),
                (None, PriceClass::Input, None) => standard(PriceClass::Input).map(half),
                // LiteLLM's batch rules with batch prices: cache reads at the
                // standard cache-read price (else as input), writes as input.
                (None, PriceClass::CacheRead, Some(bi)) => {
                    own_price(e, PriceClass::CacheRead, prompt, None).or(Some(bi))
                }
                (None, PriceClass::CacheWrite5m, Some(bi)) => Some(bi),
                (None, PriceClass::CacheWrite1h, Some(bi)) => batch_own(PriceClass::CacheWrite5m).or(Some(bi)),
                (None, PriceClass::Reasoning, _) => {
                    batch_own(PriceClass::Output).or_else(|| standard(PriceClass::Output).map(half))
                }
                (None, c, _) => standard(c).map(half),
            };
            Some((price?, batch_input.is_some()))
        }
        Some(v) => {
            let has_variant = e.slots.iter().any(|s| s.class == PriceClass::Input && s.variant.as_ref() == Some(v));
            Some((class_price(e, class, prompt, Some(v))?, has_variant))
        }
    }
}

/// The long-context threshold a prompt of this size falls in (of the input
/// price; other classes select their own).
#[cfg(test)]
pub fn tier_for(e: &PriceEntry, prompt_tokens: u64) -> Option<u64> {
    class_threshold(e, PriceClass::Input, prompt_tokens, None)
        .or_else(|| e.thresholds().into_iter().filter(|t| crosses(e, prompt_tokens, *t)).max())
}

/// The `tiered_pricing` range a prompt falls in: `lo < prompt <= hi`; above
/// the last range the last; an empty prompt the first.
pub fn range_for(e: &PriceEntry, prompt_tokens: u64) -> Option<&Tier> {
    if prompt_tokens == 0 {
        return e.tiers.first();
    }
    e.tiers.iter().find(|t| t.lo < prompt_tokens && prompt_tokens <= t.hi).or_else(|| e.tiers.last())
}

/// A class's price in a tiered range.
fn range_price(e: &PriceEntry, t: &Tier, class: PriceClass) -> i128 {
    let input = t.price(PriceClass::Input).unwrap_or(0);
    let output = || t.price(PriceClass::Output).or_else(|| e.lookup(PriceClass::Output, None, None)).unwrap_or(0);
    match class {
        PriceClass::Input => input,
        PriceClass::CacheRead => t.price(PriceClass::CacheRead).unwrap_or(input),
        PriceClass::CacheWrite5m => t.price(PriceClass::CacheWrite5m).unwrap_or(input),
        PriceClass::CacheWrite1h => {
            t.price(PriceClass::CacheWrite1h).or_else(|| t.price(PriceClass::CacheWrite5m)).unwrap_or(input)
        }
        PriceClass::Output => output(),
        PriceClass::Reasoning => t.price(PriceClass::Reasoning).unwrap_or_else(output),
    }
}

/// A call's tokens per price class, in `PriceClass::ALL` order. Reasoning
/// is part of output, priced at its own price when the entry has one
/// (which falls back to the output price otherwise).
pub fn class_counts(t: &Tokens) -> [u64; 6] {
    let reasoning = t.reasoning.min(t.output);
    [t.uncached_input, t.cache_read, t.cache_write_5m, t.cache_write_1h, t.output - reasoning, reasoning]
}

/// An open off-peak window at the call's time (never for batch calls).
fn off_peak<'e>(e: &'e PriceEntry, input: &CostInput) -> Option<&'e super::entry::OffPeak> {
    e.off_peak.as_ref().filter(|o| !input.batch && input.ts_ms.is_some_and(|t| o.open_at(t)))
}

/// What a class's price depends on besides the entry and the class.
struct PriceContext<'a> {
    range: Option<&'a Tier>,
    variant: Option<&'a Variant>,
    prompt: u64,
    off_peak: Option<&'a super::entry::OffPeak>,
}

/// The class a token class is billed as and its price per token (femto-
/// dollars, before multipliers), and whether the requested variant had
/// its own price. `None` when the entry cannot price it.
fn class_unit_price(e: &PriceEntry, class: PriceClass, ctx: &PriceContext) -> Option<(PriceClass, i128, bool)> {
    let class = match class {
        // Perplexity bills cache writes as input.
        PriceClass::CacheWrite5m | PriceClass::CacheWrite1h if e.writes_as_input => PriceClass::Input,
        c => c,
    };
    let (standard, priced) = match ctx.range {
        Some(r) => (range_price(e, r, class), true),
        None => unit_price(e, class, ctx.prompt, ctx.variant)?,
    };
    // An open off-peak window replaces the price of the classes it lists.
    let price = match ctx.off_peak {
        Some(o) => match class {
            PriceClass::CacheWrite1h => o.price(PriceClass::CacheWrite5m).unwrap_or(standard),
            PriceClass::Reasoning => o
                .price(PriceClass::Reasoning)
                .or_else(|| {
                    let own = e.lookup(PriceClass::Reasoning, None, None);
                    if own.is_some() { None } else { o.price(PriceClass::Output) }
                })
                .unwrap_or(standard),
            c => o.price(c).unwrap_or(standard),
        },
        None => standard,
    };
    Some((class, price, priced))
}

/// Where a prompt size stands against every boundary the entry prices by
/// (long-context thresholds, tier bounds): two prompts of the same regime
/// get the same price per token in every class, all else equal.
pub fn prompt_regime(e: &PriceEntry, prompt: u64) -> (bool, u32, u32) {
    let (mut below, mut at_or_below) = (0, 0);
    let mut see = |b: u64| {
        below += u32::from(b < prompt);
        at_or_below += u32::from(b <= prompt);
    };
    e.slots.iter().filter_map(|s| s.above).for_each(&mut see);
    for t in &e.tiers {
        see(t.lo);
        see(t.hi);
    }
    (prompt == 0, below, at_or_below)
}

/// A call's price per token of each token class (in `PriceClass::ALL`
/// order: the class it is billed as, femto-dollars per token before
/// multipliers) and the multiplier applied to its sum, as `compute` prices
/// it. `None` when the entry cannot price the call; a class the entry
/// cannot price is `None` (a call with tokens in it is unpriced).
#[allow(clippy::type_complexity)]
pub fn unit_prices(e: &PriceEntry, input: &CostInput) -> Option<([Option<(PriceClass, i128)>; 6], Ratio)> {
    if !e.is_priced() {
        return None;
    }
    let prompt = input.tokens.input_total();
    let range = range_for(e, prompt);
    let variant =
        if input.batch { Some(Variant::Batch) } else { input.service_tier.and_then(Variant::from_service_tier) };
    if range.is_none() && unit_price(e, PriceClass::Input, prompt, variant.as_ref()).is_none() {
        return None;
    }
    let ctx = PriceContext { range, variant: variant.as_ref(), prompt, off_peak: off_peak(e, input) };
    let prices = PriceClass::ALL.map(|c| class_unit_price(e, c, &ctx).map(|(billed, p, _)| (billed, p)));
    Some((prices, multiplier(e, input)))
}

/// The multipliers a call's sum is scaled by, in the order `compute`
/// applies them (region, speed, regional endpoint); `n` of them are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Steps {
    ratios: [Ratio; 3],
    n: u8,
}

impl Steps {
    fn of(e: &PriceEntry, input: &CostInput) -> Steps {
        let mut s = Steps { ratios: [Ratio::ONE; 3], n: 0 };
        let mut push = |r: Ratio| {
            s.ratios[s.n as usize] = r;
            s.n += 1;
        };
        if !input.batch {
            if let Some(geo) = input.inference_geo
                && let Some((_, r)) = e.geo.iter().find(|(k, _)| k.eq_ignore_ascii_case(geo))
            {
                push(*r);
            }
            if input.speed.is_some_and(|s| s.eq_ignore_ascii_case("fast"))
                && let Some(r) = e.fast
            {
                push(r);
            }
        }
        if let (Some(region), Some(r)) = (input.region, e.regional_uplift)
            && !region.eq_ignore_ascii_case("global")
        {
            push(r);
        }
        s
    }

    fn iter(&self) -> impl Iterator<Item = Ratio> + '_ {
        self.ratios[..self.n as usize].iter().copied()
    }

    /// The femto sum scaled by each multiplier in turn (each step rounded).
    fn apply(&self, sum: i128) -> i128 {
        self.iter().fold(sum, |s, r| r.apply(s))
    }

    /// Their product.
    fn product(&self) -> Ratio {
        self.iter().fold(Ratio::ONE, |m, r| Ratio { num: m.num * r.num, den: m.den * r.den })
    }
}

/// The product of the multipliers a call's sum is scaled by (region,
/// speed, regional endpoint).
fn multiplier(e: &PriceEntry, input: &CostInput) -> Ratio {
    Steps::of(e, input).product()
}

/// Everything `compute` needs to price a call besides its token counts:
/// the unit price of each class and the multipliers. Calls of the same
/// entry, tier, location, prompt regime (`prompt_regime`) and off-peak
/// state share one sheet, so a replay of millions of calls prices each
/// with a few multiplications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sheet {
    prices: [Option<i128>; 6],
    steps: Steps,
}

impl Sheet {
    /// The sheet `compute` would price `input` with (its token counts
    /// only choose the prompt regime).
    pub fn of(e: &PriceEntry, input: &CostInput) -> Option<Sheet> {
        let (prices, _) = unit_prices(e, input)?;
        Some(Sheet { prices: prices.map(|p| p.map(|(_, v)| v)), steps: Steps::of(e, input) })
    }

    /// The total `compute` gives for these tokens (`None`: a class with
    /// tokens has no price).
    pub fn total(&self, t: &Tokens) -> Option<Nanos> {
        let mut sum: i128 = 0;
        for (n, p) in class_counts(t).into_iter().zip(self.prices) {
            if n > 0 {
                sum += p? * n as i128;
            }
        }
        Some(Nanos::from_femtos(self.steps.apply(sum)))
    }
}

/// Prices a call class by class. `None` when the entry cannot price it:
/// no input price for the call's tier (a batch-only entry and a standard
/// call, say). Pricing itself goes through [`Sheet`]; this is the
/// reference it is tested against.
#[cfg(test)]
pub fn compute(e: &PriceEntry, input: &CostInput) -> Option<Cost> {
    if !e.is_priced() {
        return None;
    }
    let t = &input.tokens;
    let prompt = t.input_total();
    let range = range_for(e, prompt);
    let tier = if range.is_some() { None } else { tier_for(e, prompt) };
    let variant =
        if input.batch { Some(Variant::Batch) } else { input.service_tier.and_then(Variant::from_service_tier) };
    if range.is_none() && unit_price(e, PriceClass::Input, prompt, variant.as_ref()).is_none() {
        return None;
    }
    let mut variant_priced = true;
    let mut parts = Vec::with_capacity(6);
    let mut sum: i128 = 0;
    let ctx = PriceContext { range, variant: variant.as_ref(), prompt, off_peak: off_peak(e, input) };
    for (class, n) in PriceClass::ALL.into_iter().zip(class_counts(t)) {
        if n == 0 {
            continue;
        }
        let (class, price, priced) = class_unit_price(e, class, &ctx)?;
        variant_priced &= priced;
        let f = price * n as i128;
        sum += f;
        parts.push((class, n, f));
    }
    let steps = Steps::of(e, input);
    let sum = steps.apply(sum);
    let multiplier = steps.product();
    Some(Cost {
        total: Nanos::from_femtos(sum),
        parts,
        tier,
        range: range.map(|r| (r.lo, r.hi)),
        variant,
        variant_priced,
        multiplier,
    })
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
    fn batch_follows_litellms_batch_rules() {
        let e = entry(serde_json::json!({
            "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
            "cache_read_input_token_cost": 1.25e-06,
            "input_cost_per_token_batches": 1.25e-06, "output_cost_per_token_batches": 5e-06
        }));
        let c = compute(&e, &CostInput { tokens: tokens(1000, 1000, 200, 0, 100), batch: true, ..Default::default() })
            .unwrap();
        // With batch prices, cache reads without a batch price stay at the
        // standard cache-read price and writes without one are batch input
        // (LiteLLM's batch_cost_calculator): 1000*1.25e-6 + 1000*1.25e-6
        // + 200*1.25e-6 + 100*5e-6.
        assert_eq!(c.total, Nanos(3_250_000));
        assert!(c.variant_priced);
        // Without batch prices: half of every standard price.
        let e = entry(serde_json::json!({
            "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "cache_read_input_token_cost": 5e-07
        }));
        let c = compute(&e, &CostInput { tokens: tokens(1000, 1000, 0, 0, 100), batch: true, ..Default::default() })
            .unwrap();
        // (1000*2e-6 + 1000*5e-7 + 100*8e-6) / 2
        assert_eq!(c.total, Nanos(1_650_000));
        // Batch-only entries price batch calls and nothing else.
        let e =
            entry(serde_json::json!({"input_cost_per_token_batches": 1e-06, "output_cost_per_token_batches": 2e-06}));
        assert!(compute(&e, &CostInput { tokens: tokens(1000, 0, 0, 0, 0), ..Default::default() }).is_none());
        let c = compute(&e, &CostInput { tokens: tokens(1000, 0, 0, 0, 1000), batch: true, ..Default::default() });
        assert_eq!(c.unwrap().total, Nanos(3_000_000));
    }

    /// LiteLLM's `cost_per_token` on `dashscope/qwen-plus-latest` (tiers
    /// 0-256k at 4e-7/1.2e-6, 256k-1M at 1.2e-6/3.6e-6): 100k -> 0.04 + 0.0012;
    /// 256,000 -> 0.1024 (the upper bound is in the tier); 256,001 ->
    /// 0.3072012 + 0.0036; 1,000,001 -> the last tier.
    #[test]
    fn tiered_pricing_prices_the_whole_request_at_its_tier() {
        let e = entry(serde_json::json!({
            "litellm_provider": "dashscope",
            "tiered_pricing": [
                {"input_cost_per_token": 4e-07, "output_cost_per_token": 1.2e-06, "range": [0, 256000.0]},
                {"input_cost_per_token": 1.2e-06, "output_cost_per_token": 3.6e-06, "range": [256000.0, 1000000.0]}
            ]
        }));
        let cost = |prompt: u64| {
            compute(&e, &CostInput { tokens: tokens(prompt, 0, 0, 0, 1000), ..Default::default() }).unwrap().total
        };
        assert_eq!(cost(100_000), Nanos(41_200_000));
        assert_eq!(cost(256_000), Nanos(103_600_000));
        assert_eq!(cost(256_001), Nanos(310_801_200));
        assert_eq!(cost(1_000_001), Nanos(1_203_601_200));
        // Cache reads without a tier price are the tier's input price.
        let c = compute(&e, &CostInput { tokens: tokens(200_000, 100_000, 0, 0, 0), ..Default::default() });
        assert_eq!(c.unwrap().total, Nanos(360_000_000));
    }

    #[test]
    fn thresholds_by_provider_and_regional_uplift() {
        // xAI: at the threshold is above (LiteLLM: grok at 200,000 -> the high price).
        let x = entry(serde_json::json!({"litellm_provider": "xai", "input_cost_per_token": 1e-06,
            "input_cost_per_token_above_200k_tokens": 2e-06}));
        let c = compute(&x, &CostInput { tokens: tokens(200_000, 0, 0, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(400_000_000));
        // Perplexity ignores them.
        let p = entry(serde_json::json!({"litellm_provider": "perplexity", "input_cost_per_token": 1e-06,
            "input_cost_per_token_above_200k_tokens": 2e-06}));
        let c = compute(&p, &CostInput { tokens: tokens(300_000, 0, 0, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(300_000_000));
        // Vertex uplift: any location but global (LiteLLM: 0.5 -> 0.55).
        let v = entry(serde_json::json!({"input_cost_per_token": 5e-07, "regional_endpoint_uplift_multiplier": 1.1}));
        let at = |region| {
            compute(&v, &CostInput { tokens: tokens(1_000_000, 0, 0, 0, 0), region, ..Default::default() })
                .unwrap()
                .total
        };
        assert_eq!(at(None), Nanos(500_000_000));
        assert_eq!(at(Some("global")), Nanos(500_000_000));
        assert_eq!(at(Some("us-east5")), Nanos(550_000_000));
        assert_eq!(at(Some("eu")), Nanos(550_000_000));
    }

    /// Ported from LiteLLM's tests
    /// (tests/test_litellm/litellm_core_utils/llm_cost_calc/test_threshold_cost_selection.py):
    /// each class selects its own threshold, and a service tier's key wins
    /// only at the highest threshold crossed.
    #[test]
    fn thresholds_select_per_class_as_litellm_tests_say() {
        let price = |v: serde_json::Value, class, prompt, tier: Option<Variant>| {
            unit_price(&entry(v), class, prompt, tier.as_ref()).unwrap().0
        };
        let femto = |usd: f64| (usd * 1e15).round() as i128;
        let base = || {
            serde_json::json!({"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
            "cache_read_input_token_cost": 5e-7})
        };
        let with = |k: &str, v: f64| {
            let mut m = base();
            m[k] = serde_json::json!(v);
            m
        };
        // test_standalone_threshold_field_selects_tier
        assert_eq!(
            price(with("output_cost_per_token_above_32k_tokens", 18e-6), PriceClass::Output, 40_000, None),
            femto(18e-6)
        );
        assert_eq!(
            price(with("cache_read_input_token_cost_above_32k_tokens", 4e-6), PriceClass::CacheRead, 40_000, None),
            femto(4e-6)
        );
        // test_cost_types_select_thresholds_independently
        let m = serde_json::json!({"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
            "input_cost_per_token_above_128k_tokens": 9e-6, "output_cost_per_token_above_32k_tokens": 18e-6});
        assert_eq!(price(m.clone(), PriceClass::Input, 40_000, None), femto(1e-6));
        assert_eq!(price(m, PriceClass::Output, 40_000, None), femto(18e-6));
        // test_equal_threshold_matching_tier_wins_for_output / _for_cache_read
        let m = serde_json::json!({"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
            "output_cost_per_token_above_200k_tokens": 1e-6, "output_cost_per_token_above_200k_tokens_priority": 1.5e-6,
            "cache_read_input_token_cost": 2e-7, "cache_read_input_token_cost_above_200k_tokens": 3e-7,
            "cache_read_input_token_cost_above_200k_tokens_priority": 4e-7});
        assert_eq!(price(m.clone(), PriceClass::Output, 250_000, Some(Variant::Priority)), femto(1.5e-6));
        assert_eq!(price(m.clone(), PriceClass::CacheRead, 250_000, Some(Variant::Priority)), femto(4e-7));
        // test_equal_threshold_default_tier_keeps_standard / _wrong_tier_keeps_standard
        assert_eq!(price(m.clone(), PriceClass::Output, 250_000, None), femto(1e-6));
        assert_eq!(price(m, PriceClass::Output, 250_000, Some(Variant::Flex)), femto(1e-6));
        // test_unequal_threshold_highest_standard_still_wins
        let m = serde_json::json!({"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
            "output_cost_per_token_above_200k_tokens": 1e-6, "output_cost_per_token_above_128k_tokens_priority": 1.5e-6});
        assert_eq!(price(m, PriceClass::Output, 250_000, Some(Variant::Priority)), femto(1e-6));
        // test_tier_qualified_threshold_field_selects_tier_for_matching_service_tier
        let m = with("output_cost_per_token_above_200k_tokens_priority", 1.5e-6);
        assert_eq!(price(m.clone(), PriceClass::Output, 250_000, Some(Variant::Priority)), femto(1.5e-6));
        // ... _is_ignored_under_the_default_tier / _under_a_different_service_tier
        assert_eq!(price(m.clone(), PriceClass::Output, 250_000, None), femto(2e-6));
        assert_eq!(price(m, PriceClass::Output, 250_000, Some(Variant::Flex)), femto(2e-6));
        let m = with("cache_read_input_token_cost_above_200k_tokens_priority", 4e-7);
        assert_eq!(price(m, PriceClass::CacheRead, 250_000, Some(Variant::Priority)), femto(4e-7));
    }

    /// Ported from LiteLLM's tests (test_tiered_pricing.py): an explicit
    /// zero in a tier is a price, not a missing one.
    #[test]
    fn a_zero_tier_price_is_honoured() {
        let e = entry(serde_json::json!({"tiered_pricing": [
            {"range": [0, 100000], "input_cost_per_token": 1e-6, "cache_read_input_token_cost": 0.0}
        ]}));
        let c = compute(&e, &CostInput { tokens: tokens(0, 10_000, 0, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(0));
        let c = compute(&e, &CostInput { tokens: tokens(0, 150_000, 0, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(0), "the overflow tier too");
        let e = entry(serde_json::json!({"tiered_pricing": [{"range": [0, 100000], "input_cost_per_token": 1e-6}]}));
        let c = compute(&e, &CostInput { tokens: tokens(0, 10_000, 0, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(10_000_000), "no cache price: the tier's input price");
    }

    /// DeepSeek's `off_peak_pricing` block as the catalog writes it: on
    /// weekdays 00:00-01:00, 04:00-06:00 and 10:00-24:00 UTC, all weekend.
    #[test]
    fn off_peak_windows_replace_prices_while_open() {
        let e = entry(serde_json::json!({
            "input_cost_per_token": 3e-07, "output_cost_per_token": 1.2e-06,
            "off_peak_pricing": {"input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07,
                "windows": [{"hours_utc": ["00:00-01:00", "04:00-06:00", "10:00-00:00"], "weekdays": [1, 2, 3, 4, 5]},
                            {"hours_utc": "00:00-00:00", "weekdays": [6, 7]}]}
        }));
        let at = |ts: &str| {
            let ts_ms = crate::domain::time::parse_ts_str(ts);
            compute(&e, &CostInput { tokens: tokens(1000, 0, 0, 0, 1000), ts_ms, ..Default::default() }).unwrap().total
        };
        let (peak, off) = (Nanos(1_500_000), Nanos(750_000));
        assert_eq!(at("2026-10-05T02:00:00Z"), peak, "Monday 02:00");
        assert_eq!(at("2026-10-05T04:00:00Z"), off, "Monday 04:00 (start inclusive)");
        assert_eq!(at("2026-10-05T06:00:00Z"), peak, "Monday 06:00 (end exclusive)");
        assert_eq!(at("2026-10-05T23:59:00Z"), off, "Monday 23:59 (10:00-00:00 wraps to midnight)");
        assert_eq!(at("2026-10-10T02:00:00Z"), off, "Saturday: all day");
        // Perplexity bills cache writes as input.
        let p = entry(serde_json::json!({"litellm_provider": "perplexity", "input_cost_per_token": 1e-06,
            "cache_creation_input_token_cost": 1.25e-06}));
        let c = compute(&p, &CostInput { tokens: tokens(0, 0, 1000, 0, 0), ..Default::default() }).unwrap();
        assert_eq!(c.total, Nanos(1_000_000));
    }

    #[test]
    fn service_tiers_fall_back_class_by_class() {
        // gpt-4.1 style: priority input and output, no priority cache read.
        let e = entry(serde_json::json!({
            "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06, "cache_read_input_token_cost": 5e-07,
            "input_cost_per_token_priority": 3.5e-06, "output_cost_per_token_priority": 1.4e-05
        }));
        let t = tokens(1_000_000, 100_000, 0, 0, 1_000_000);
        let c = compute(&e, &CostInput { tokens: t, service_tier: Some("priority"), ..Default::default() }).unwrap();
        // 3.5 + 0.05 (standard cache read) + 14.0
        assert_eq!(c.total, Nanos(17_550_000_000));
        // `fast` is billed at priority prices; `scale` and `default` at standard.
        let fast = compute(&e, &CostInput { tokens: t, service_tier: Some("fast"), ..Default::default() }).unwrap();
        assert_eq!(fast.total, c.total);
        let std = compute(&e, &CostInput { tokens: t, service_tier: Some("scale"), ..Default::default() }).unwrap();
        assert_eq!(std.total, Nanos(10_050_000_000));
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

    /// `unit_prices` (what the FOCUS export reads) prices every class of
    /// every shipped entry as `compute` does, over prompts around the
    /// thresholds, batch, service tiers, geo, speed, regions and times of
    /// day; and prompts of the same regime get the same unit prices.
    #[test]
    fn unit_prices_agree_with_compute_on_the_whole_catalog() {
        let catalog = crate::pricing::Catalog::embedded();
        let mut checked = 0;
        for key in catalog.model_keys() {
            let Some(e) = catalog.entry(key) else { continue };
            let mut prompts = vec![0, 1, 999, 128_000, 128_001, 200_000, 200_001, 272_001, 1_000_001];
            for t in e.thresholds().into_iter().chain(e.tiers.iter().flat_map(|t| [t.lo, t.hi])) {
                prompts.extend([t.saturating_sub(1), t, t + 1]);
            }
            for prompt in prompts {
                for (batch, tier, geo, speed, region, ts) in [
                    (false, None, None, None, None, 0),
                    (true, None, Some("us"), None, None, 3_600_000),
                    (false, Some("priority"), Some("us"), Some("fast"), Some("us-east5"), 18 * 3_600_000),
                    (false, Some("flex"), None, None, Some("global"), 2 * 3_600_000),
                ] {
                    let split = prompt / 4;
                    let tokens = Tokens {
                        uncached_input: prompt - 3 * split,
                        cache_read: split,
                        cache_write_5m: split,
                        cache_write_1h: split,
                        output: 700,
                        reasoning: 300,
                    };
                    let input = CostInput {
                        tokens,
                        batch,
                        service_tier: tier,
                        inference_geo: geo,
                        speed,
                        region,
                        ts_ms: Some(ts),
                    };
                    let counts = class_counts(&tokens);
                    let direct = compute(&e, &input);
                    let sheet = unit_prices(&e, &input);
                    // A sheet's total is compute's, to the nano.
                    assert_eq!(
                        Sheet::of(&e, &input).and_then(|s| s.total(&tokens)),
                        direct.as_ref().map(|c| c.total),
                        "{key} at {prompt}: {input:?}"
                    );
                    match (&direct, &sheet) {
                        (Some(c), Some((prices, mult))) => {
                            let from_sheet: Vec<(PriceClass, u64, i128)> = counts
                                .iter()
                                .zip(prices.iter())
                                .filter(|(n, _)| **n > 0)
                                .map(|(n, p)| {
                                    let (billed, price) = p.expect("a class compute priced");
                                    (billed, *n, price * *n as i128)
                                })
                                .collect();
                            assert_eq!(from_sheet, c.parts, "{key} at {prompt}: {input:?}");
                            assert_eq!(*mult, c.multiplier, "{key}");
                        }
                        (None, Some((prices, _))) => assert!(
                            counts.iter().zip(prices.iter()).any(|(n, p)| *n > 0 && p.is_none()),
                            "{key} at {prompt}: compute could not price it, the sheet did"
                        ),
                        (Some(_), None) => panic!("{key} at {prompt}: the sheet could not price it"),
                        (None, None) => {}
                    }
                    // The same regime, a prompt one token larger or smaller.
                    for other in [prompt.saturating_sub(1), prompt + 1] {
                        if prompt_regime(&e, other) == prompt_regime(&e, prompt) {
                            let mut t2 = tokens;
                            t2.uncached_input = other - 3 * split.min(other / 3);
                            t2.cache_read = split.min(other / 3);
                            t2.cache_write_5m = split.min(other / 3);
                            t2.cache_write_1h = split.min(other / 3);
                            let again = unit_prices(&e, &CostInput { tokens: t2, ..input });
                            assert_eq!(again, sheet, "{key}: {prompt} and {other} share a regime");
                        }
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
