//! Pricing: resolve a call's model in the catalog and compute its exact cost.

pub mod catalog;
pub mod cost;
pub mod entry;

use std::collections::HashMap;
use std::sync::Arc;

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
}

/// (catalog key, entry, priced from another provider's entry).
type Resolved = Option<(String, Arc<PriceEntry>, bool)>;

impl Pricer {
    pub fn new(catalog: Arc<Catalog>) -> Pricer {
        Pricer { catalog, cache: HashMap::new() }
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
        self.cache.get(model)?.iter().find(|(p, _)| p.as_deref() == provider).map(|(_, r)| r)
    }

    /// Sets `price_key` and `cost` on a record; unpriced records get `None`
    /// for both (never a silent zero).
    pub fn price(&mut self, rec: &mut CallRecord) {
        if self.lookup(rec.provider.as_deref(), &rec.model).is_none() {
            self.resolve(rec.provider.as_deref(), &rec.model);
        }
        let fallback_bit = crate::domain::record::Warning::PriceFallback.bit();
        rec.warnings &= !fallback_bit;
        let Some(Some((key, entry, fallback))) = self.lookup(rec.provider.as_deref(), &rec.model) else {
            rec.price_key = None;
            rec.cost = None;
            return;
        };
        if *fallback {
            rec.warnings |= fallback_bit;
        }
        let input = CostInput {
            tokens: rec.tokens,
            batch: rec.batch,
            service_tier: rec.service_tier.as_deref(),
            inference_geo: rec.inference_geo.as_deref(),
            speed: rec.speed.as_deref(),
            region: rec.region.as_deref(),
            ts_ms: (!rec.ts_inferred).then_some(rec.ts_ms),
        };
        match cost::compute(entry, &input) {
            Some(c) => {
                rec.price_key = Some(key.clone());
                rec.cost = Some(c.total);
            }
            None => {
                rec.price_key = None;
                rec.cost = None;
            }
        }
    }
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
}
