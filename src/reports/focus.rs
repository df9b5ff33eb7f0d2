//! A FOCUS 1.2 Cost and Usage export of the ledger: one row per charge
//! period (a UTC day) × provider × model × price key × token class × unit
//! price × workflow × team × customer (a class of one model on one day can
//! carry several unit prices: tiers, batch, service tiers, geo).
//!
//! Quantities and prices are exact decimals: ConsumedQuantity is tokens,
//! PricingQuantity tokens / 1,000,000 (`1000000 Tokens`), ListUnitPrice the
//! shipped catalog's price per million (a private model's configured
//! price), ContractedUnitPrice the price actually charged (the config's
//! overrides included). ListUnitPrice × PricingQuantity = ListCost and
//! ContractedUnitPrice × PricingQuantity = ContractedCost hold exactly on
//! every row; EffectiveCost and BilledCost equal ContractedCost. The
//! ledger rounds each call to the nano-dollar; the rows do not, and the
//! difference is reported. Unpriced calls get no cost of 0: they are left
//! out and counted (or written with `x_Unpriced=true` on request).

use std::collections::BTreeMap;
use std::io::Write;

use rusqlite::{Connection, params};

use crate::domain::money::Nanos;
use crate::domain::record::Tokens;
use crate::domain::time::{self, MS_PER_DAY};
use crate::pricing::cost::{CostInput, compute};
use crate::pricing::entry::PriceClass;
use crate::pricing::{Catalog, Pricer};
use crate::store::queries::{RAW_WHERE, Window};

/// An exact decimal: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dec {
    pub m: i128,
    pub scale: u32,
}

impl Dec {
    pub fn mul(self, o: Dec) -> Dec {
        Dec { m: self.m * o.m, scale: self.scale + o.scale }
    }

    /// Plain decimal text, no exponent, trailing zeros trimmed.
    pub fn text(self) -> String {
        let neg = self.m < 0;
        let digits = self.m.unsigned_abs().to_string();
        let s = self.scale as usize;
        let (int, frac) = if digits.len() > s {
            (digits[..digits.len() - s].to_string(), digits[digits.len() - s..].to_string())
        } else {
            ("0".to_string(), format!("{}{digits}", "0".repeat(s - digits.len())))
        };
        let frac = frac.trim_end_matches('0');
        let sign = if neg { "-" } else { "" };
        if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
    }
}

/// What the export is about and its documented defaults.
#[derive(Clone, Debug, Default)]
pub struct FocusOptions {
    pub window: Window,
    /// `1.3` adds ServiceProviderName and HostProviderName (1.2 otherwise).
    pub version_1_3: bool,
    pub include_unpriced: bool,
    /// `[export.focus]` overrides.
    pub billing_account_id: Option<String>,
    pub billing_account_name: Option<String>,
    pub invoice_issuer_name: Option<String>,
}

/// What the export wrote and what it left out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FocusSummary {
    pub rows: u64,
    pub calls: u64,
    pub unpriced_calls: u64,
    pub pending_calls: u64,
    /// The rows' BilledCost, exact (femto-dollars times the multipliers'
    /// scale, as a decimal).
    pub billed: Dec,
    /// The ledger's cost of the calls written (each rounded to the nano).
    pub ledger: Nanos,
}

/// The FOCUS 1.2 columns written, in order (Mandatory, then the
/// Conditional and Recommended ones a token ledger fills, then aifin's).
pub const COLUMNS: [&str; 38] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "Tags",
    "x_Workflow",
    "x_Team",
    "x_Customer",
    "x_ServiceTier",
    "x_Unpriced",
];

fn meter(c: PriceClass) -> &'static str {
    match c {
        PriceClass::Input => "Input Tokens",
        PriceClass::CacheRead => "Cached Input Tokens",
        PriceClass::CacheWrite5m => "Cache Write Tokens (5m)",
        PriceClass::CacheWrite1h => "Cache Write Tokens (1h)",
        PriceClass::Output => "Output Tokens",
        PriceClass::Reasoning => "Reasoning Tokens",
    }
}

/// Who made a model, from its name (the provider when unknown).
pub fn developer(model: &str, provider: &str) -> String {
    let m = model.to_lowercase();
    let m = m.rsplit('/').next().unwrap_or(&m);
    let known = [
        ("claude", "Anthropic"),
        ("gpt", "OpenAI"),
        ("o1", "OpenAI"),
        ("o3", "OpenAI"),
        ("o4", "OpenAI"),
        ("text-embedding", "OpenAI"),
        ("gemini", "Google"),
        ("gemma", "Google"),
        ("llama", "Meta"),
        ("mistral", "Mistral AI"),
        ("mixtral", "Mistral AI"),
        ("command", "Cohere"),
        ("deepseek", "DeepSeek"),
        ("grok", "xAI"),
        ("qwen", "Alibaba"),
    ];
    known
        .iter()
        .find(|(p, _)| m.starts_with(p) || m.contains(&format!(".{p}")))
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| provider.to_string())
}

/// One aggregated row's identity (strings interned as ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    day: i64,
    provider: u32,
    model: u32,
    price_key: u32,
    class: u8,
    charged: Dec,
    list: Dec,
    workflow: u32,
    team: u32,
    customer: u32,
    tier: u32,
    unpriced: bool,
}

/// Strings to small ids and back.
#[derive(Default)]
struct Interner {
    ids: std::collections::HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(i) = self.ids.get(s) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        i
    }

    fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }
}

fn class_of(i: u8) -> PriceClass {
    PriceClass::ALL[i as usize]
}

/// The unit price per million tokens of `femtos_per_token` × `num/den`
/// (den a power of ten).
fn per_million(femtos: i128, num: i128, den: i128) -> Dec {
    let k = den.max(1).to_string().len() as u32 - 1;
    Dec { m: femtos * num, scale: 9 + k }
}

/// Writes the CSV; returns what it wrote and what it left out.
pub fn export<W: Write>(
    conn: &Connection,
    charged: &mut Pricer,
    list: std::sync::Arc<Catalog>,
    o: &FocusOptions,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<FocusSummary, Box<dyn std::error::Error>> {
    let mut summary = FocusSummary::default();
    let mut rows: std::collections::HashMap<Key, u64> = std::collections::HashMap::new();
    let mut names = Interner::default();
    #[allow(clippy::type_complexity)]
    let mut resolved: std::collections::HashMap<
        (u32, u32),
        Option<(u32, String, std::sync::Arc<crate::pricing::entry::PriceEntry>, bool)>,
    > = std::collections::HashMap::new();
    let mut list_pricer = Pricer::new(list);
    let since = o.window.since.unwrap_or(i64::MIN / 2);
    let until = o.window.until.unwrap_or(i64::MAX / 2);
    let mut stmt = conn.prepare(&format!(
        "SELECT c.ts, COALESCE(c.provider, ''), c.model, c.price_key, COALESCE(c.workflow, ''), COALESCE(c.team, ''),
                COALESCE(c.customer, ''), c.uncached_input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output,
                c.reasoning, c.batch, c.service_tier, c.inference_geo, c.speed, c.region, c.cost_nano, c.pending
         FROM calls c WHERE {RAW_WHERE}"
    ))?;
    let mut q = stmt.query(params![since, until])?;
    let mut billed: BTreeMap<u32, i128> = BTreeMap::new();
    while let Some(r) = q.next()? {
        let ts: i64 = r.get(0)?;
        let provider = r.get_ref(1)?.as_str()?;
        let model = r.get_ref(2)?.as_str()?;
        let (provider_id, model_id) = (names.id(provider), names.id(model));
        let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        let tokens = Tokens {
            uncached_input: n(7)?,
            cache_read: n(8)?,
            cache_write_5m: n(9)?,
            cache_write_1h: n(10)?,
            output: n(11)?,
            reasoning: n(12)?,
        };
        let batch = r.get::<_, i64>(13)? != 0;
        let opt =
            |i: usize| -> Result<Option<&str>, Box<dyn std::error::Error>> { Ok(r.get_ref(i)?.as_str_or_null()?) };
        let (tier, geo, speed, region) = (opt(14)?, opt(15)?, opt(16)?, opt(17)?);
        let cost: Option<i64> = r.get(18)?;
        let pending = r.get::<_, i64>(19)? != 0;
        summary.calls += 1;
        if summary.calls.is_multiple_of(1_000_000) {
            progress(summary.calls);
        }
        let day = ts.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        let workflow = names.id(r.get_ref(4)?.as_str()?);
        let team = names.id(r.get_ref(5)?.as_str()?);
        let customer = names.id(r.get_ref(6)?.as_str()?);
        let input = CostInput { tokens, batch, service_tier: tier, inference_geo: geo, speed, region, ts_ms: Some(ts) };
        let tier_label = names.id(if batch { "batch" } else { tier.unwrap_or_default() });
        // Resolved once per (provider, model).
        let entry = resolved
            .entry((provider_id, model_id))
            .or_insert_with(|| {
                charged.resolve((!provider.is_empty()).then_some(provider), model).map(|(k, e)| {
                    let catalog = e.origin == crate::pricing::entry::EntryOrigin::Catalog;
                    (names.id(&k), k, e, catalog)
                })
            })
            .clone();
        let catalog_entry = entry.as_ref().is_some_and(|x| x.3);
        let priced = match (cost, &entry) {
            (Some(_), Some((_, key, e, _))) => compute(e, &input).map(|c| (key.clone(), c)),
            _ => None,
        };
        let Some((key, c)) = priced else {
            if pending {
                summary.pending_calls += 1;
            } else {
                summary.unpriced_calls += 1;
            }
            if o.include_unpriced && !pending {
                for (i, cl) in PriceClass::ALL.iter().enumerate() {
                    let t = class_tokens(&tokens, *cl);
                    if t > 0 {
                        let k = Key {
                            day,
                            provider: provider_id,
                            model: model_id,
                            price_key: names.id(""),
                            class: i as u8,
                            charged: Dec { m: 0, scale: 0 },
                            list: Dec { m: 0, scale: 0 },
                            workflow,
                            team,
                            customer,
                            tier: tier_label,
                            unpriced: true,
                        };
                        *rows.entry(k).or_insert(0) += t;
                    }
                }
            }
            continue;
        };
        summary.ledger += Nanos(cost.unwrap_or(0));
        // The list price: the shipped catalog's entry of the same name (a
        // private model's own price when the catalog has none).
        // (A catalog entry the config did not touch is its own list price.)
        let list_cost = if catalog_entry {
            None
        } else {
            list_pricer
                .resolve((!provider.is_empty()).then_some(provider), model)
                .filter(|(k, _)| *k == key)
                .and_then(|(_, e)| compute(&e, &input))
        };
        let key_id = entry.as_ref().map(|x| x.0).unwrap_or_else(|| names.id(&key));
        for (cl, t, f) in &c.parts {
            if *t == 0 {
                continue;
            }
            let per_token = f / *t as i128;
            let charged_price = per_million(per_token, c.multiplier.num, c.multiplier.den);
            let list_price = list_cost
                .as_ref()
                .and_then(|lc| lc.parts.iter().find(|(k, _, _)| k == cl))
                .map(|(_, lt, lf)| per_million(lf / *lt as i128, lc_mult(&list_cost).0, lc_mult(&list_cost).1))
                .unwrap_or(charged_price);
            let i = PriceClass::ALL.iter().position(|x| x == cl).unwrap_or(0) as u8;
            let k = Key {
                day,
                provider: provider_id,
                model: model_id,
                price_key: key_id,
                class: i,
                charged: charged_price,
                list: list_price,
                workflow,
                team,
                customer,
                tier: tier_label,
                unpriced: false,
            };
            *rows.entry(k).or_insert(0) += t;
        }
    }
    drop(q);
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if o.version_1_3 {
        header.extend(["ServiceProviderName", "HostProviderName"]);
    }
    w.write_record(&header)?;
    let fmt = |ms: i64| time::format_utc(ms).replace(".000Z", "Z");
    let mut rows: Vec<(Key, u64)> = rows.into_iter().collect();
    rows.sort_by(|(a, _), (b, _)| {
        let n = |k: &Key| {
            (k.day, names.name(k.provider), names.name(k.model), k.class, names.name(k.workflow), names.name(k.team))
        };
        n(a).cmp(&n(b)).then(a.cmp(b))
    });
    for (k, tokens) in &rows {
        let (k_provider, k_model, k_price_key) = (names.name(k.provider), names.name(k.model), names.name(k.price_key));
        let (k_workflow, k_team, k_customer, k_tier) =
            (names.name(k.workflow), names.name(k.team), names.name(k.customer), names.name(k.tier));
        let qty = Dec { m: *tokens as i128, scale: 6 };
        let contracted = k.charged.mul(qty);
        let listed = k.list.mul(qty);
        *billed.entry(contracted.scale).or_insert(0) += contracted.m;
        let month = time::start_of_month(k.day, &jiff::tz::TimeZone::UTC);
        let next_month = time::end_of_month(k.day, &jiff::tz::TimeZone::UTC);
        let provider = if k_provider.is_empty() { "unknown".to_string() } else { k_provider.to_string() };
        let dev = developer(k_model, &provider);
        let class = class_of(k.class);
        let details = serde_json::json!({
            "ModelDeveloper": dev,
            "ModelId": k_model,
            "x_PriceKey": k_price_key,
            "x_TokenClass": class.label(),
        });
        let tags = serde_json::json!({ "workflow": k_workflow, "team": k_team, "customer": k_customer });
        let category = if k_tier == "batch" || k_tier == "flex" { "Other" } else { "Standard" };
        let text = |s: &str| super::print::csv_text(s).into_owned();
        let mut record: Vec<String> = vec![
            contracted.text(),
            text(o.billing_account_id.as_deref().unwrap_or(&provider)),
            text(o.billing_account_name.as_deref().unwrap_or(&provider)),
            "USD".into(),
            fmt(next_month),
            fmt(month),
            "Usage".into(),
            String::new(),
            text(&format!("{k_model} {} tokens", class.label())),
            "Usage-Based".into(),
            fmt(k.day + MS_PER_DAY),
            fmt(k.day),
            tokens.to_string(),
            "Tokens".into(),
            contracted.text(),
            k.charged.text(),
            contracted.text(),
            // The provisional invoice the ledger implies: one per provider
            // and billing month.
            text(&format!("aifin-{provider}-{}", &fmt(month)[..7])),
            text(o.invoice_issuer_name.as_deref().unwrap_or(&provider)),
            listed.text(),
            k.list.text(),
            category.into(),
            qty.text(),
            "1000000 Tokens".into(),
            text(&provider),
            text(&dev),
            "AI and Machine Learning".into(),
            text(&format!("{provider} API")),
            "Generative AI".into(),
            text(&format!("{}:{}", if k_price_key.is_empty() { k_model } else { k_price_key }, class.label())),
            meter(class).into(),
            text(&details.to_string()),
            text(&tags.to_string()),
            text(k_workflow),
            text(k_team),
            text(k_customer),
            text(k_tier),
            if k.unpriced { "true".into() } else { String::new() },
        ];
        if o.version_1_3 {
            record.push(text(&provider));
            record.push(host_provider(&provider).into());
        }
        w.write_record(&record)?;
        summary.rows += 1;
    }
    w.flush()?;
    // All row costs as one decimal at the largest scale.
    let scale = billed.keys().copied().max().unwrap_or(0);
    let total: i128 = billed.iter().map(|(s, m)| m * 10i128.pow(scale - s)).sum();
    summary.billed = Dec { m: total, scale };
    Ok(summary)
}

/// FOCUS 1.3's HostProviderName: the cloud a model runs on when the call
/// went through one, else "Not Applicable".
pub fn host_provider(provider: &str) -> &'static str {
    match provider {
        "bedrock" | "bedrock_converse" | "sagemaker" => "Amazon Web Services",
        "azure" | "azure_ai" => "Microsoft",
        "vertex_ai" | "vertex_ai_beta" => "Google Cloud",
        _ => "Not Applicable",
    }
}

fn lc_mult(c: &Option<crate::pricing::cost::Cost>) -> (i128, i128) {
    c.as_ref().map(|c| (c.multiplier.num, c.multiplier.den)).unwrap_or((1, 1))
}

fn class_tokens(t: &Tokens, c: PriceClass) -> u64 {
    let reasoning = t.reasoning.min(t.output);
    match c {
        PriceClass::Input => t.uncached_input,
        PriceClass::CacheRead => t.cache_read,
        PriceClass::CacheWrite5m => t.cache_write_5m,
        PriceClass::CacheWrite1h => t.cache_write_1h,
        PriceClass::Output => t.output - reasoning,
        PriceClass::Reasoning => reasoning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_text() {
        assert_eq!(Dec { m: 2_500_000_000, scale: 9 }.text(), "2.5");
        assert_eq!(Dec { m: 5, scale: 3 }.text(), "0.005");
        assert_eq!(Dec { m: 42, scale: 0 }.text(), "42");
        assert_eq!(Dec { m: 0, scale: 7 }.text(), "0");
        // $5 per million (5e9 femto-dollars a token) × 8.4M tokens = $42
        // (the spec's worked example).
        let price = per_million(5_000_000_000, 1, 1);
        assert_eq!(price.text(), "5");
        assert_eq!(price.mul(Dec { m: 8_400_000, scale: 6 }).text(), "42");
        // A 1.1 multiplier (den 10^9) stays exact.
        assert_eq!(per_million(3_000_000_000, 1_100_000_000, 1_000_000_000).text(), "3.3");
    }

    #[test]
    fn developers_from_model_names() {
        assert_eq!(developer("claude-opus-4-5", "anthropic"), "Anthropic");
        assert_eq!(developer("us.anthropic.claude-sonnet-4", "bedrock"), "Anthropic");
        assert_eq!(developer("gpt-4o", "azure"), "OpenAI");
        assert_eq!(developer("vertex_ai/gemini-2.5-pro", "vertex_ai"), "Google");
        assert_eq!(developer("llama-3.3-70b-internal", "self-hosted"), "Meta");
        assert_eq!(developer("acme-distilled-7b", "acme"), "acme");
    }
}
