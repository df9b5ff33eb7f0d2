//! Pricing: resolve a call's model in the catalog and compute its exact cost.

pub mod catalog;
pub mod cost;
pub mod entry;

use std::sync::Arc;

use hashbrown::HashMap;

pub use catalog::Catalog;
pub use cost::CostInput;
pub use entry::{PriceClass, PriceEntry, Variant};

use crate::domain::record::CallRecord;

/// Prices records, caching name resolution per (provider, model).
/// One per ingest thread; the catalog itself is shared.
pub struct Pricer {
    catalog: Arc<Catalog>,
    /// model → [(provider, resolution)]; looked up without allocating.
    cache: HashMap<String, Vec<(Option<String>, Resolved)>>,
    /// Price sheets per entry (by address: the entries are held in
    /// `cache`), for each combination of what a sheet depends on.
    sheets: HashMap<usize, Vec<(SheetKey, Option<cost::Sheet>)>>,
}

/// What a call's price sheet depends on besides its entry: the prompt
/// regime ([`cost::prompt_regime`]), whether an off-peak window is open,
/// batch, and the service tier, location and speed.
#[derive(Debug, PartialEq, Eq)]
struct SheetKey {
    regime: (bool, u32, u32),
    off_peak: bool,
    batch: bool,
    service_tier: Option<String>,
    inference_geo: Option<String>,
    speed: Option<String>,
    region: Option<String>,
}

impl SheetKey {
    fn matches(&self, regime: (bool, u32, u32), off_peak: bool, input: &CostInput) -> bool {
        self.regime == regime
            && self.off_peak == off_peak
            && self.batch == input.batch
            && self.service_tier.as_deref() == input.service_tier
            && self.inference_geo.as_deref() == input.inference_geo
            && self.speed.as_deref() == input.speed
            && self.region.as_deref() == input.region
    }
}

/// (catalog key, entry, priced from another provider's entry).
type Resolved = Option<(String, Arc<PriceEntry>, bool)>;

impl Pricer {
    pub fn new(catalog: Arc<Catalog>) -> Pricer {
        Pricer { catalog, cache: HashMap::new(), sheets: HashMap::new() }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Resolves a model to its catalog key and entry (cached).
    pub fn resolve(&mut self, provider: Option<&str>, model: &str) -> Option<(String, Arc<PriceEntry>)> {
        if let Some(hit) = self.lookup(provider, model) {
            return hit.clone().map(|(k, e, _)| (k, e));
        }
        let r = self.catalog.resolve(provider, model).map(|r| (r.key, r.entry, r.fallback));
        self.cache.entry(model.to_string()).or_default().push((provider.map(str::to_string), r.clone()));
        r.map(|(k, e, _)| (k, e))
    }

    fn lookup(&self, provider: Option<&str>, model: &str) -> Option<&Resolved> {
        lookup_in(&self.cache, provider, model)
    }

    /// Sets `price_key` and `cost` on a record; unpriced records get `None`
    /// for both (never a silent zero).
    pub fn price(&mut self, rec: &mut CallRecord) {
        if self.lookup(rec.provider.as_deref(), &rec.model).is_none() {
            self.resolve(rec.provider.as_deref(), &rec.model);
        }
        let fallback_bit = crate::domain::record::Warning::PriceFallback.bit();
        rec.warnings &= !fallback_bit;
        let Some(Some((key, entry, fallback))) = lookup_in(&self.cache, rec.provider.as_deref(), &rec.model) else {
            rec.price_key = None;
            rec.cost = None;
            return;
        };
        if *fallback {
            rec.warnings |= fallback_bit;
        }
        let input = CostInput::of(rec);
        // Calls of one entry and regime share a sheet: pricing one is a
        // few multiplications (a sheet totals as `cost::compute` does, to
        // the nano, for every catalog entry: tested in `cost`).
        let regime = cost::prompt_regime(entry, input.tokens.input_total());
        let off_peak =
            entry.off_peak.as_ref().is_some_and(|o| !input.batch && input.ts_ms.is_some_and(|t| o.open_at(t)));
        let sheets = self.sheets.entry(Arc::as_ptr(entry) as usize).or_default();
        let at = match sheets.iter().position(|(k, _)| k.matches(regime, off_peak, &input)) {
            Some(at) => at,
            None => {
                let k = SheetKey {
                    regime,
                    off_peak,
                    batch: input.batch,
                    service_tier: input.service_tier.map(str::to_string),
                    inference_geo: input.inference_geo.map(str::to_string),
                    speed: input.speed.map(str::to_string),
                    region: input.region.map(str::to_string),
                };
                sheets.push((k, cost::Sheet::of(entry, &input)));
                sheets.len() - 1
            }
        };
        match sheets[at].1.as_ref().and_then(|s| s.total(&input.tokens)) {
            Some(total) => {
                rec.price_key = Some(key.clone());
                rec.cost = Some(total);
            }
            None => {
                rec.price_key = None;
                rec.cost = None;
            }
        }
    }
}

fn lookup_in<'c>(
    cache: &'c HashMap<String, Vec<(Option<String>, Resolved)>>,
    provider: Option<&str>,
    model: &str,
) -> Option<&'c Resolved> {
    cache.get(model)?.iter().find(|(p, _)| p.as_deref() == provider).map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Nanos;
    use crate::domain::record::Tokens;

    /// Hand-computed costs against the shipped catalog (litellm 1.110.2):
    /// per-token prices are written out so the arithmetic can be checked.
    #[test]
    fn prices_ten_catalog_models_by_hand() {
        let mut p = Pricer::new(Arc::new(Catalog::embedded()));
        let t = |i, cr, w5, w1, o| Tokens {
            uncached_input: i,
            cache_read: cr,
            cache_write_5m: w5,
            cache_write_1h: w1,
            output: o,
            reasoning: 0,
        };
        // (model, provider, tokens, batch, tier, expected nanos)
        let cases: Vec<(&str, Option<&str>, Tokens, bool, Option<&str>, i64)> = vec![
            // gpt-4o: 167*2.5e-6 + 4096*1.25e-6 + 529*1e-5 = 0.0004175+0.00512+0.00529
            ("gpt-4o-2024-08-06", None, t(167, 4096, 0, 0, 529), false, None, 10_827_500),
            // gpt-4o-mini: 167*1.5e-7 + 4096*7.5e-8 + 529*6e-7 = 0.00002505+0.0003072+0.0003174
            ("gpt-4o-mini-2024-07-18", None, t(167, 4096, 0, 0, 529), false, None, 649_650),
            // gpt-4.1: 1000*2e-6 + 1000*5e-7 + 100*8e-6 = 0.002+0.0005+0.0008
            ("gpt-4.1", None, t(1000, 1000, 0, 0, 100), false, None, 3_300_000),
            // o3 flex: 1000*1e-6 + 100*4e-6
            ("o3", None, t(1000, 0, 0, 0, 100), false, Some("flex"), 1_400_000),
            // gpt-5 batch: 10000*6.25e-7 + 1000*5e-6
            ("gpt-5", None, t(10_000, 0, 0, 0, 1000), true, None, 11_250_000),
            // claude-sonnet-4-5: 412*3e-6 + 16399*3e-7 + 2000*3.75e-6 + 89*6e-6 + 445*1.5e-5
            ("claude-sonnet-4-5-20250929", None, t(412, 16399, 2000, 89, 445), false, None, 20_864_700),
            // claude-haiku-4-5: 1000*1e-6 + 1000*1e-7 + 1000*1.25e-6 + 1000*2e-6 + 1000*5e-6
            ("claude-haiku-4-5", None, t(1000, 1000, 1000, 1000, 1000), false, None, 9_350_000),
            // claude-opus-4-5 batch: 1000*2.5e-6 + 1000*2.5e-7 + 100*1.25e-5
            ("claude-opus-4-5", None, t(1000, 1000, 0, 0, 100), true, None, 4_000_000),
            // gemini-2.5-pro above 200k: 250000*2.5e-6 + 1000*1.5e-5
            ("gemini-2.5-pro", None, t(250_000, 0, 0, 0, 1000), false, None, 640_000_000),
            // gpt-5.4 above 272k: 300000*5e-6 + 1000*2.25e-5
            ("gpt-5.4", None, t(300_000, 0, 0, 0, 1000), false, None, 1_522_500_000),
            // gemini-2.5-flash with a provider given: 1e6*3e-7 + 1e5*2.5e-6
            ("gemini-2.5-flash", Some("google"), t(1_000_000, 0, 0, 0, 100_000), false, None, 550_000_000),
        ];
        for (model, provider, tokens, batch, tier, want) in cases {
            let mut rec = CallRecord {
                model: model.into(),
                provider: provider.map(Into::into),
                tokens,
                batch,
                service_tier: tier.map(Into::into),
                ..Default::default()
            };
            p.price(&mut rec);
            assert_eq!(rec.cost, Some(Nanos(want)), "{model}");
            assert!(rec.price_key.is_some());
        }
    }

    #[test]
    fn unknown_models_are_unpriced_not_free() {
        let mut p = Pricer::new(Arc::new(Catalog::embedded()));
        let mut rec = CallRecord {
            model: "ft:gpt-4o-mini:acme::x1".into(),
            tokens: Tokens { uncached_input: 100, ..Default::default() },
            ..Default::default()
        };
        p.price(&mut rec);
        assert_eq!(rec.cost, None);
        assert_eq!(rec.price_key, None);
    }

    /// One pricer prices calls of every shipped entry in an order that
    /// goes back and forth between prompt regimes, times of day and tiers
    /// (its sheets are reused), and every cost is the class-by-class
    /// reference's (`cost::compute`), to the nano.
    #[test]
    fn reused_sheets_price_as_the_reference_on_the_whole_catalog() {
        let catalog = Arc::new(Catalog::embedded());
        let mut p = Pricer::new(Arc::clone(&catalog));
        let mut checked = 0;
        for round in 0..2 {
            for key in catalog.model_keys() {
                let Some(e) = catalog.entry(key) else { continue };
                let mut prompts = vec![0, 1, 200_001, 999, 128_001, 272_001];
                for t in e.thresholds().into_iter().chain(e.tiers.iter().flat_map(|t| [t.lo, t.hi])) {
                    prompts.extend([t + 1, t.saturating_sub(1), t]);
                }
                for (i, prompt) in prompts.into_iter().enumerate() {
                    let (batch, tier, geo, speed, region) = [
                        (false, None, None, None, None),
                        (true, None, Some("us"), None, None),
                        (false, Some("priority"), Some("us"), Some("fast"), Some("us-east5")),
                        (false, Some("flex"), None, None, Some("global")),
                    ][(i + round) % 4];
                    // Times of day in and out of off-peak windows, turning
                    // independently of the rest.
                    let ts = [0, 18 * 3_600_000, 2 * 3_600_000][(i / 2 + round) % 3];
                    let tokens = Tokens {
                        uncached_input: prompt - prompt / 2,
                        cache_read: prompt / 2,
                        output: 300 + i as u64,
                        ..Default::default()
                    };

                    let mut rec = CallRecord {
                        model: key.to_string(),
                        tokens,
                        batch,
                        service_tier: tier.map(Into::into),
                        inference_geo: geo.map(Into::into),
                        speed: speed.map(Into::into),
                        region: region.map(Into::into),
                        ts_ms: ts,
                        ..Default::default()
                    };
                    let want = cost::compute(&e, &CostInput::of(&rec)).map(|c| c.total);
                    p.price(&mut rec);
                    // Only where the model resolves to this very entry.
                    if rec.price_key.as_deref().is_none_or(|k| k == key) {
                        assert_eq!(
                            rec.cost, want,
                            "{key} at {prompt} ({batch}, {tier:?}, {geo:?}, {speed:?}, {region:?})"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }
}
