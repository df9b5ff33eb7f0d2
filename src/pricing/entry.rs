//! One catalog entry, read from LiteLLM's key vocabulary into exact prices.
//!
//! A price key is `<base>[_above_<N>[k|m]_tokens][_<variant>]`, for example
//! `input_cost_per_token_above_272k_tokens_batches`. Bases:
//!
//! | base key                                   | class            |
//! |--------------------------------------------|------------------|
//! | `input_cost_per_token`                     | uncached input   |
//! | `cache_read_input_token_cost`              | cache read       |
//! | `cache_creation_input_token_cost`          | cache write, 5 m |
//! | `cache_creation_input_token_cost_above_1hr`| cache write, 1 h |
//! | `output_cost_per_token`                    | output           |
//! | `output_cost_per_reasoning_token`          | reasoning        |
//!
//! Variants are service tiers (`batches`, `priority`, `flex`, ...). Keys
//! outside this grammar (audio, images, per-second, 12-hour writes) are not
//! token prices for text calls and are ignored.

use serde_json::{Map, Value};

use crate::domain::money::{FEMTO_SCALE, Ratio, parse_decimal_scaled};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PriceClass {
    Input,
    CacheRead,
    CacheWrite5m,
    CacheWrite1h,
    Output,
    Reasoning,
}

impl PriceClass {
    pub const ALL: [PriceClass; 6] = [
        PriceClass::Input,
        PriceClass::CacheRead,
        PriceClass::CacheWrite5m,
        PriceClass::CacheWrite1h,
        PriceClass::Output,
        PriceClass::Reasoning,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PriceClass::Input => "input",
            PriceClass::CacheRead => "cache read",
            PriceClass::CacheWrite5m => "cache write 5m",
            PriceClass::CacheWrite1h => "cache write 1h",
            PriceClass::Output => "output",
            PriceClass::Reasoning => "reasoning",
        }
    }
}

/// A service tier with its own prices.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    Batch,
    Priority,
    Flex,
    Other(String),
}

impl Variant {
    fn from_suffix(s: &str) -> Variant {
        match s {
            "batches" | "batch" => Variant::Batch,
            "priority" => Variant::Priority,
            "flex" => Variant::Flex,
            other => Variant::Other(other.to_string()),
        }
    }

    /// The variant a service tier name selects, if any.
    /// LiteLLM's mapping: `fast` is billed at the `_priority` keys;
    /// `balanced` and `ultrafast` have keys of their own; `default`,
    /// `standard`, `auto`, `scale` and unknown names are standard.
    pub fn from_service_tier(tier: &str) -> Option<Variant> {
        match tier.to_ascii_lowercase().as_str() {
            "batch" | "batches" => Some(Variant::Batch),
            "priority" | "fast" => Some(Variant::Priority),
            "flex" => Some(Variant::Flex),
            t @ ("balanced" | "ultrafast") => Some(Variant::Other(t.to_string())),
            _ => None,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Variant::Batch => "batch",
            Variant::Priority => "priority",
            Variant::Flex => "flex",
            Variant::Other(s) => s,
        }
    }
}

/// One price: class, long-context threshold, tier variant, femto-USD/token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub class: PriceClass,
    pub above: Option<u64>,
    pub variant: Option<Variant>,
    pub femtos: i128,
}

/// Where an entry's prices came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryOrigin {
    Catalog,
    /// A private model defined in the config file.
    Config,
    /// A catalog entry with prices overridden in the config file.
    CatalogWithOverrides,
}

impl EntryOrigin {
    pub fn label(self) -> &'static str {
        match self {
            EntryOrigin::Catalog => "catalog",
            EntryOrigin::Config => "config (private model)",
            EntryOrigin::CatalogWithOverrides => "catalog + config overrides",
        }
    }
}

/// One range of a `tiered_pricing` table: the whole request is priced at
/// the tier its prompt falls in, `lo < prompt <= hi`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tier {
    pub lo: u64,
    pub hi: u64,
    /// Prices the tier lists (femto-USD per token).
    pub prices: Vec<(PriceClass, i128)>,
}

impl Tier {
    pub fn price(&self, class: PriceClass) -> Option<i128> {
        self.prices.iter().find(|(c, _)| *c == class).map(|(_, p)| *p)
    }
}

/// `off_peak_pricing`: prices that replace the standard ones while a window
/// is open. Windows are `HH:MM-HH:MM` in UTC (start inclusive, end
/// exclusive, wrapping past midnight; equal ends: the whole day), every day
/// (`hours_utc`) or on ISO weekdays (1 = Monday) read in `weekday_timezone`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffPeak {
    pub prices: Vec<(PriceClass, i128)>,
    /// Minutes of the UTC day: (start, end).
    pub every_day: Vec<(u16, u16)>,
    pub by_weekday: Vec<(Vec<u8>, Vec<(u16, u16)>)>,
    pub weekday_tz: Option<String>,
}

impl OffPeak {
    fn parse(v: &Value) -> Option<OffPeak> {
        let o = v.as_object()?;
        let windows = |v: Option<&Value>| -> Vec<(u16, u16)> {
            let strings: Vec<&str> = match v {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            strings.into_iter().filter_map(parse_window).collect()
        };
        let weekday = |d: &Value| -> Option<u8> {
            match d {
                Value::Number(n) => n.as_u64().filter(|n| (1..=7).contains(n)).map(|n| n as u8),
                Value::String(s) => {
                    let s = s.trim().to_ascii_lowercase();
                    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                        .iter()
                        .position(|p| s.starts_with(p))
                        .map(|i| i as u8 + 1)
                }
                _ => None,
            }
        };
        let by_weekday = o
            .get("windows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let days: Vec<u8> = match r.get("weekdays") {
                    None => (1..=7).collect(),
                    Some(Value::Array(a)) => a.iter().filter_map(weekday).collect(),
                    Some(_) => return None,
                };
                Some((days, windows(r.get("hours_utc"))))
            })
            .collect();
        let prices = o
            .iter()
            .filter_map(|(k, v)| match parse_price_key(k) {
                Some((class, None, None)) => Some((class, femtos(v)?)),
                _ => None,
            })
            .collect();
        Some(OffPeak {
            prices,
            every_day: windows(o.get("hours_utc")),
            by_weekday,
            weekday_tz: o.get("weekday_timezone").and_then(Value::as_str).map(str::to_string),
        })
    }

    pub fn price(&self, class: PriceClass) -> Option<i128> {
        self.prices.iter().find(|(c, _)| *c == class).map(|(_, p)| *p)
    }

    /// Whether the windows are open at `ms` (epoch milliseconds).
    pub fn open_at(&self, ms: i64) -> bool {
        let minute = (ms.div_euclid(60_000).rem_euclid(24 * 60)) as u16;
        let inside = |w: &[(u16, u16)]| {
            w.iter().any(|&(s, e)| if s < e { s <= minute && minute < e } else { minute >= s || minute < e })
        };
        if inside(&self.every_day) {
            return true;
        }
        let tz =
            self.weekday_tz.as_deref().and_then(|z| jiff::tz::TimeZone::get(z).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
        let Ok(t) = jiff::Timestamp::from_millisecond(ms) else { return false };
        let day = t.to_zoned_datetime(tz).weekday().to_monday_one_offset() as u8;
        self.by_weekday.iter().any(|(days, w)| days.contains(&day) && inside(w))
    }
}

/// `HH:MM-HH:MM` as minutes of the day.
fn parse_window(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-')?;
    let m = |t: &str| -> Option<u16> {
        let (h, mi) = t.trim().split_once(':')?;
        let (h, mi): (u16, u16) = (h.parse().ok()?, mi.parse().ok()?);
        (h < 24 && mi < 60).then_some(h * 60 + mi)
    };
    Some((m(a)?, m(b)?))
}

/// How an entry's `*_above_<N>_tokens` thresholds compare with the prompt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThresholdRule {
    /// Above means strictly greater (LiteLLM's rule).
    #[default]
    Above,
    /// At or above (xAI's entries).
    AtOrAbove,
    /// Thresholds are not applied (Perplexity's entries).
    Ignored,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceEntry {
    pub key: String,
    /// The alias this entry was reached through (`alias_of` in the catalog).
    pub alias: Option<String>,
    pub provider: Option<String>,
    pub mode: Option<String>,
    pub max_input_tokens: Option<u64>,
    pub slots: Vec<Slot>,
    /// Region multipliers keyed by `usage.inference_geo` (e.g. `us` → 1.1).
    pub geo: Vec<(String, Ratio)>,
    /// Fast-mode multiplier (`usage.speed == "fast"`).
    pub fast: Option<Ratio>,
    /// The `tiered_pricing` table, ascending (it replaces the flat prices).
    pub tiers: Vec<Tier>,
    pub threshold_rule: ThresholdRule,
    /// Vertex's `regional_endpoint_uplift_multiplier` (every location but
    /// `global`).
    pub regional_uplift: Option<Ratio>,
    pub off_peak: Option<OffPeak>,
    /// Perplexity's calculator bills cache writes as input.
    pub writes_as_input: bool,
    pub deprecation_date: Option<String>,
    /// The smallest prompt prefix the provider caches (aifin's own key
    /// `min_cacheable_tokens`, settable under `[pricing.models]`).
    pub min_cacheable_tokens: Option<u64>,
    pub origin: EntryOrigin,
}

/// The catalog key that sets a model's minimum cacheable prefix (not one
/// of LiteLLM's: aifin reads it from `[pricing.models]` and its defaults).
pub const MIN_CACHEABLE_KEY: &str = "min_cacheable_tokens";

/// Providers' published minimum cacheable prompt lengths, by model name
/// (Anthropic's prompt-caching table; OpenAI and the rest: 1,024).
const MIN_CACHEABLE: [(&str, u64); 6] = [
    ("claude-opus-4-6", 4_096),
    ("claude-opus-4-5", 4_096),
    ("claude-haiku-4-5", 4_096),
    ("claude-sonnet-4-6", 2_048),
    ("claude-3-5-haiku", 2_048),
    ("claude-3-haiku", 2_048),
];

/// The minimum cacheable prefix when the catalog does not say.
pub const DEFAULT_MIN_CACHEABLE: u64 = 1_024;

const BASES: [(&str, PriceClass); 6] = [
    ("cache_creation_input_token_cost_above_1hr", PriceClass::CacheWrite1h),
    ("cache_creation_input_token_cost", PriceClass::CacheWrite5m),
    ("cache_read_input_token_cost", PriceClass::CacheRead),
    ("input_cost_per_token", PriceClass::Input),
    ("output_cost_per_reasoning_token", PriceClass::Reasoning),
    ("output_cost_per_token", PriceClass::Output),
];

/// Splits a LiteLLM price key into class, threshold and variant.
pub fn parse_price_key(key: &str) -> Option<(PriceClass, Option<u64>, Option<Variant>)> {
    let (base, class) = BASES.iter().find(|(b, _)| key.starts_with(b))?;
    let mut rest = &key[base.len()..];
    let mut above = None;
    if let Some(r) = rest.strip_prefix("_above_") {
        let end = r.find("_tokens")?;
        above = Some(parse_threshold(&r[..end])?);
        rest = &r[end + "_tokens".len()..];
    }
    let variant = match rest {
        "" => None,
        r => {
            let v = r.strip_prefix('_')?;
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_lowercase()) {
                return None;
            }
            Some(Variant::from_suffix(v))
        }
    };
    Some((*class, above, variant))
}

fn parse_threshold(s: &str) -> Option<u64> {
    let (num, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1_000),
        b'm' | b'M' => (&s[..s.len() - 1], 1_000_000),
        _ => (s, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// Reads a JSON number (or numeric string) as an exact femto-dollar price.
fn femtos(v: &Value) -> Option<i128> {
    let text = match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                format!("{f:e}")
            } else {
                n.to_string()
            }
        }
        Value::String(s) => s.clone(),
        _ => return None,
    };
    parse_decimal_scaled(&text, FEMTO_SCALE).filter(|v| *v >= 0)
}

impl PriceEntry {
    /// Builds an entry from a LiteLLM-format JSON object.
    pub fn from_map(key: &str, map: &Map<String, Value>, origin: EntryOrigin) -> PriceEntry {
        let mut slots = Vec::new();
        let mut geo = Vec::new();
        let mut fast = None;
        for (k, v) in map {
            if let Some((class, above, variant)) = parse_price_key(k)
                && let Some(f) = femtos(v)
            {
                slots.push(Slot { class, above, variant, femtos: f });
            }
        }
        if let Some(Value::Object(pse)) = map.get("provider_specific_entry") {
            for (k, v) in pse {
                let Some(r) = v.as_f64().and_then(Ratio::from_f64) else { continue };
                if k == "fast" {
                    fast = Some(r);
                } else {
                    geo.push((k.clone(), r));
                }
            }
        }
        slots.sort_by(|a, b| (a.class, a.above, &a.variant).cmp(&(b.class, b.above, &b.variant)));
        geo.sort_by(|a, b| a.0.cmp(&b.0));
        let mut tiers: Vec<Tier> = map
            .get("tiered_pricing")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let range = t.get("range")?.as_array()?;
                let bound = |i: usize| range.get(i).and_then(Value::as_f64).filter(|f| f.is_finite() && *f >= 0.0);
                let (lo, hi) = (bound(0)? as u64, bound(1)? as u64);
                let o = t.as_object()?;
                let prices: Vec<(PriceClass, i128)> = o
                    .iter()
                    .filter_map(|(k, v)| match parse_price_key(k) {
                        Some((class, None, None)) => Some((class, femtos(v)?)),
                        _ => None,
                    })
                    .collect();
                // A tier without a token input price (search ranges) is not one.
                prices.iter().any(|(c, _)| *c == PriceClass::Input).then_some(Tier { lo, hi, prices })
            })
            .collect();
        tiers.sort_by_key(|t| t.lo);
        let provider = map.get("litellm_provider").and_then(Value::as_str).map(str::to_string);
        let threshold_rule = match provider.as_deref() {
            Some("xai") => ThresholdRule::AtOrAbove,
            Some("perplexity") => ThresholdRule::Ignored,
            _ => ThresholdRule::Above,
        };
        PriceEntry {
            key: key.to_string(),
            alias: None,
            tiers,
            threshold_rule,
            regional_uplift: map
                .get("regional_endpoint_uplift_multiplier")
                .and_then(Value::as_f64)
                .and_then(Ratio::from_f64),
            off_peak: map.get("off_peak_pricing").and_then(OffPeak::parse),
            writes_as_input: provider.as_deref() == Some("perplexity"),
            provider,
            mode: map.get("mode").and_then(Value::as_str).map(str::to_string),
            max_input_tokens: map.get("max_input_tokens").and_then(Value::as_u64),
            slots,
            geo,
            fast,
            deprecation_date: map.get("deprecation_date").and_then(Value::as_str).map(str::to_string),
            min_cacheable_tokens: map.get(MIN_CACHEABLE_KEY).and_then(Value::as_u64),
            origin,
        }
    }

    /// The smallest prefix this model caches: the entry's own
    /// `min_cacheable_tokens`, else the provider's published minimum for
    /// the model (named in the key, with or without provider prefix and
    /// date), else 1,024.
    pub fn min_cacheable(&self) -> u64 {
        if let Some(n) = self.min_cacheable_tokens {
            return n;
        }
        MIN_CACHEABLE.iter().find(|(m, _)| self.key.contains(m)).map_or(DEFAULT_MIN_CACHEABLE, |(_, n)| *n)
    }

    /// True when the entry can price some text call: an input price (of
    /// any tier: batch-only and priority-only entries price those calls
    /// only), or a tiered table.
    pub fn is_priced(&self) -> bool {
        self.slots.iter().any(|s| s.class == PriceClass::Input && s.above.is_none()) || !self.tiers.is_empty()
    }

    /// The exact slot, if the catalog has it.
    pub fn lookup(&self, class: PriceClass, above: Option<u64>, variant: Option<&Variant>) -> Option<i128> {
        self.slots
            .iter()
            .find(|s| s.class == class && s.above == above && s.variant.as_ref() == variant)
            .map(|s| s.femtos)
    }

    /// All long-context thresholds, ascending.
    pub fn thresholds(&self) -> Vec<u64> {
        let mut t: Vec<u64> = self.slots.iter().filter_map(|s| s.above).collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// All variants the entry prices, sorted.
    pub fn variants(&self) -> Vec<Variant> {
        let mut v: Vec<Variant> = self.slots.iter().filter_map(|s| s.variant.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_grammar() {
        use PriceClass::*;
        assert_eq!(parse_price_key("input_cost_per_token"), Some((Input, None, None)));
        assert_eq!(
            parse_price_key("input_cost_per_token_above_272k_tokens_batches"),
            Some((Input, Some(272_000), Some(Variant::Batch)))
        );
        assert_eq!(parse_price_key("cache_creation_input_token_cost_above_1hr"), Some((CacheWrite1h, None, None)));
        assert_eq!(
            parse_price_key("cache_creation_input_token_cost_above_1hr_above_200k_tokens"),
            Some((CacheWrite1h, Some(200_000), None))
        );
        assert_eq!(parse_price_key("cache_read_input_token_cost_flex"), Some((CacheRead, None, Some(Variant::Flex))));
        assert_eq!(parse_price_key("output_cost_per_token_above_128000_tokens"), Some((Output, Some(128_000), None)));
        assert_eq!(parse_price_key("output_cost_per_reasoning_token"), Some((Reasoning, None, None)));
        // Not text token prices.
        assert_eq!(parse_price_key("cache_creation_input_token_cost_above_12hr"), None);
        assert_eq!(parse_price_key("input_cost_per_audio_token"), None);
        assert_eq!(parse_price_key("input_cost_per_token_cache_hit"), None);
        assert_eq!(parse_price_key("output_cost_per_second"), None);
    }

    #[test]
    fn builds_entries_with_multipliers() {
        let v: Value = serde_json::json!({
            "litellm_provider": "anthropic", "mode": "chat",
            "input_cost_per_token": 5e-06, "output_cost_per_token": 2.5e-05,
            "cache_read_input_token_cost": 5e-07,
            "input_cost_per_token_batches": 2.5e-06,
            "provider_specific_entry": {"us": 1.1, "fast": 2.0}
        });
        let e = PriceEntry::from_map("claude-opus-4-6", v.as_object().unwrap(), EntryOrigin::Catalog);
        assert_eq!(e.lookup(PriceClass::Input, None, None), Some(5_000_000_000));
        assert_eq!(e.lookup(PriceClass::Input, None, Some(&Variant::Batch)), Some(2_500_000_000));
        assert_eq!(e.geo, vec![("us".to_string(), Ratio::parse("1.1").unwrap())]);
        assert_eq!(e.fast, Ratio::parse("2"));
        assert!(e.is_priced());
        assert_eq!(e.variants(), vec![Variant::Batch]);
    }
}
