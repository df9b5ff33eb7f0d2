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
use crate::domain::time::{self, MS_PER_DAY};
use crate::pricing::cost::{CostInput, class_counts, unit_prices};
use crate::pricing::entry::PriceClass;
use crate::pricing::{Catalog, Pricer};
use crate::store::queries::{Part, RAW_WHERE, Window};

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

/// Strings to small ids and back (looked up by their bytes, so a column
/// read from the store needs no UTF-8 check per row).
#[derive(Default)]
struct Interner {
    ids: hashbrown::HashMap<Vec<u8>, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        self.id_bytes(s.as_bytes())
    }

    fn id_bytes(&mut self, s: &[u8]) -> u32 {
        if let Some(i) = self.ids.get(s) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(String::from_utf8_lossy(s).into_owned());
        self.ids.insert(s.to_vec(), i);
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

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The aggregated rows of a part of the window.
#[derive(Default)]
struct Scan {
    rows: hashbrown::HashMap<Key, u64>,
    names: Interner,
    calls: u64,
    unpriced_calls: u64,
    pending_calls: u64,
    ledger: Nanos,
}

impl Scan {
    /// Adds another part's rows (its ids translated into this one's).
    fn absorb(&mut self, o: Scan) {
        for (k, n) in o.rows {
            let mut t = |i: u32| self.names.id(o.names.name(i));
            let k = Key {
                provider: t(k.provider),
                model: t(k.model),
                price_key: t(k.price_key),
                workflow: t(k.workflow),
                team: t(k.team),
                customer: t(k.customer),
                tier: t(k.tier),
                ..k
            };
            *self.rows.entry(k).or_insert(0) += n;
        }
        self.calls += o.calls;
        self.unpriced_calls += o.unpriced_calls;
        self.pending_calls += o.pending_calls;
        self.ledger += o.ledger;
    }
}

/// Writes the CSV; returns what it wrote and what it left out. The calls
/// are read and priced on two threads (each half of the window on its own
/// connection) when the ledger is a file.
pub fn export<W: Write>(
    conn: &Connection,
    charged: std::sync::Arc<Catalog>,
    list: std::sync::Arc<Catalog>,
    o: &FocusOptions,
    out: W,
    mut progress: impl FnMut(u64),
) -> Result<FocusSummary, Error> {
    let since = o.window.since.unwrap_or(i64::MIN / 2);
    let until = o.window.until.unwrap_or(i64::MAX / 2);
    let counted = std::sync::atomic::AtomicU64::new(0);
    let path = conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
    let scan = match (crate::store::queries::plan_scan(conn, since, until)?, path) {
        (Some((a, b)), Some(path)) => {
            let (c2, l2, counted2) = (charged.clone(), list.clone(), &counted);
            std::thread::scope(|sc| -> Result<Scan, Error> {
                let other = sc.spawn(move || -> Result<Scan, Error> {
                    let conn = crate::store::open_read(&path)?;
                    scan_calls(&conn, c2, l2, o, (since, until), b, counted2, &mut |_| {})
                });
                let mut first = scan_calls(conn, charged, list, o, (since, until), a, &counted, &mut progress)?;
                let second = other.join().map_err(|_| "a FOCUS worker thread panicked")??;
                first.absorb(second);
                Ok(first)
            })?
        }
        _ => scan_calls(conn, charged, list, o, (since, until), Part::Time(since, until), &counted, &mut progress)?,
    };
    write(scan, o, out)
}

/// Reads and prices the calls of the window `(since, until)` in `part`
/// into FOCUS rows.
#[allow(clippy::too_many_arguments)]
fn scan_calls(
    conn: &Connection,
    charged: std::sync::Arc<Catalog>,
    list: std::sync::Arc<Catalog>,
    o: &FocusOptions,
    (since, until): (i64, i64),
    part: Part,
    counted: &std::sync::atomic::AtomicU64,
    progress: &mut dyn FnMut(u64),
) -> Result<Scan, Error> {
    let mut charged = Pricer::new(charged);
    let mut scan = Scan::default();
    let names = &mut scan.names;
    // The calls come in time order: the rows of the day being read are
    // summed in a small map (it stays in the processor's cache), one
    // lookup per call with its classes side by side, and moved into the
    // window's map when the day changes.
    let mut rows: hashbrown::HashMap<Group, Vec<ClassSum>> = hashbrown::HashMap::new();
    let mut current_day = i64::MIN;
    // Resolved once per (provider, model).
    let mut resolved: hashbrown::HashMap<(u32, u32), Option<Resolved>> = hashbrown::HashMap::new();
    let mut list_pricer = Pricer::new(list);
    let mut sheets: hashbrown::HashMap<PriceKey, Sheet> = hashbrown::HashMap::new();
    let (from, a, b) = match part {
        Part::Time(a, b) => ("calls c WHERE", a, b),
        Part::Rows(a, b) => ("calls c NOT INDEXED WHERE c.id >= ?3 AND c.id < ?4 AND", a, b),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT c.ts, c.provider, c.model, NULL, c.workflow, c.team, c.customer, c.uncached_input, c.cache_read, c.cache_write_5m, c.cache_write_1h, c.output,
                c.reasoning, c.batch, c.service_tier, c.inference_geo, c.speed, c.region, c.cost_nano, c.pending
         FROM {from} {RAW_WHERE}"
    ))?;
    let mut q = match part {
        Part::Time(..) => stmt.query(params![a, b])?,
        Part::Rows(..) => stmt.query(params![since, until, a, b])?,
    };
    let empty = names.id("");
    // The row's strings are interned together: one lookup of their bytes
    // side by side (each length-prefixed) rather than one per column.
    let mut combos: hashbrown::HashMap<Vec<u8>, [u32; 6]> = hashbrown::HashMap::new();
    let mut combo = Vec::with_capacity(128);
    while let Some(r) = q.next()? {
        let ts: i64 = r.get(0)?;
        // A missing provider, workflow, team or customer is the empty name.
        let text = |i: usize| -> Result<&[u8], Error> { Ok(r.get_ref(i)?.as_bytes_or_null()?.unwrap_or_default()) };
        let provider = r.get_ref(1)?.as_str_or_null()?.unwrap_or_default();
        let model = r.get_ref(2)?.as_str()?;
        let batch = r.get::<_, i64>(13)? != 0;
        let tier_bytes: &[u8] = if batch { b"batch" } else { r.get_ref(14)?.as_bytes_or_null()?.unwrap_or_default() };
        let texts = [provider.as_bytes(), model.as_bytes(), text(4)?, text(5)?];
        let customer_bytes = text(6)?;
        combo.clear();
        for t in texts.iter().chain([&customer_bytes, &tier_bytes]) {
            combo.extend_from_slice(&(t.len() as u32).to_le_bytes());
            combo.extend_from_slice(t);
        }
        let ids = match combos.get(combo.as_slice()) {
            Some(ids) => *ids,
            None => {
                let ids = [
                    names.id_bytes(texts[0]),
                    names.id_bytes(texts[1]),
                    names.id_bytes(texts[2]),
                    names.id_bytes(texts[3]),
                    names.id_bytes(customer_bytes),
                    names.id_bytes(tier_bytes),
                ];
                combos.insert(combo.clone(), ids);
                ids
            }
        };
        let [provider_id, model_id, workflow, team, customer, tier_label] = ids;
        let tokens = crate::store::queries::tokens_at(r, 7)?;
        let opt = |i: usize| -> Result<Option<&str>, Error> { Ok(r.get_ref(i)?.as_str_or_null()?) };
        let (tier, geo, speed, region) = (opt(14)?, opt(15)?, opt(16)?, opt(17)?);
        let cost: Option<i64> = r.get(18)?;
        let pending = r.get::<_, i64>(19)? != 0;
        scan.calls += 1;
        if scan.calls.is_multiple_of(1_000_000) {
            let n = counted.fetch_add(1_000_000, std::sync::atomic::Ordering::Relaxed) + 1_000_000;
            progress(n);
        }
        let day = ts.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        if day != current_day {
            drain_day(&mut rows, &mut scan.rows);
            current_day = day;
        }
        let input = CostInput { tokens, batch, service_tier: tier, inference_geo: geo, speed, region, ts_ms: Some(ts) };
        let entry = resolved
            .entry((provider_id, model_id))
            .or_insert_with(|| {
                let p = (!provider.is_empty()).then_some(provider);
                charged.resolve(p, model).map(|(k, e)| Resolved {
                    key: names.id(&k),
                    // The list price: the shipped catalog's entry of the same
                    // name (a private model's own price when the catalog has
                    // none); a catalog entry the config did not touch is its
                    // own list price.
                    list: (e.origin != crate::pricing::entry::EntryOrigin::Catalog)
                        .then(|| list_pricer.resolve(p, model).filter(|(lk, _)| *lk == k).map(|(_, le)| le))
                        .flatten(),
                    entry: e,
                })
            })
            .as_ref();
        // The unit prices of the call's classes, looked up by what they
        // depend on in the charged and the list entry (computed once per
        // combination, as `compute` prices).
        let prices = match (cost, entry) {
            (Some(_), Some(res)) => {
                let opt_id = |v: Option<&str>, names: &mut Interner| v.map_or(0, |v| names.id(v) + 1);
                let prompt = tokens.input_total();
                let stand = |e: &crate::pricing::entry::PriceEntry| {
                    let off_peak = e.off_peak.as_ref().is_some_and(|o| !batch && o.open_at(ts));
                    (crate::pricing::cost::prompt_regime(e, prompt), off_peak)
                };
                let key = PriceKey {
                    entry: res.key,
                    batch,
                    tier: tier_label,
                    geo: opt_id(geo, names),
                    speed: opt_id(speed, names),
                    region: opt_id(region, names),
                    charged: stand(&res.entry),
                    list: res.list.as_deref().map(stand),
                };
                let sheet = *sheets.entry(key).or_insert_with(|| price_sheet(&res.entry, res.list.as_deref(), &input));
                sheet.map(|s| (res.key, s))
            }
            _ => None,
        };
        let counts = class_counts(&tokens);
        let priced = prices.filter(|(_, sheet)| counts.iter().zip(sheet.iter()).all(|(n, p)| *n == 0 || p.is_some()));
        let Some((key_id, sheet)) = priced else {
            if pending {
                scan.pending_calls += 1;
            } else {
                scan.unpriced_calls += 1;
            }
            if o.include_unpriced && !pending {
                let g = Group {
                    day,
                    provider: provider_id,
                    model: model_id,
                    price_key: empty,
                    workflow,
                    team,
                    customer,
                    tier: tier_label,
                    unpriced: true,
                };
                let sums = rows.entry(g).or_default();
                for (i, n) in counts.iter().enumerate() {
                    if *n > 0 {
                        add_class(sums, i as u8, Dec { m: 0, scale: 0 }, Dec { m: 0, scale: 0 }, *n);
                    }
                }
            }
            continue;
        };
        scan.ledger += Nanos(cost.unwrap_or(0));
        let g = Group {
            day,
            provider: provider_id,
            model: model_id,
            price_key: key_id,
            workflow,
            team,
            customer,
            tier: tier_label,
            unpriced: false,
        };
        let sums = rows.entry(g).or_default();
        for (n, p) in counts.iter().zip(sheet.iter()) {
            if let (true, Some((billed, charged_price, list_price))) = (*n > 0, p) {
                add_class(sums, *billed, *charged_price, *list_price, *n);
            }
        }
    }
    drain_day(&mut rows, &mut scan.rows);
    let rest = scan.calls % 1_000_000;
    counted.fetch_add(rest, std::sync::atomic::Ordering::Relaxed);
    Ok(scan)
}

/// A model's charged entry (its key's id) and, when the config changed or
/// added it, the list entry of the same name.
#[derive(Clone)]
struct Resolved {
    key: u32,
    entry: std::sync::Arc<crate::pricing::entry::PriceEntry>,
    list: Option<std::sync::Arc<crate::pricing::entry::PriceEntry>>,
}

/// Where a call stands against an entry: its prompt's regime and whether
/// an off-peak window is open.
type Standing = ((bool, u32, u32), bool);

/// What a call's unit prices depend on besides its entries' prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PriceKey {
    entry: u32,
    /// A Batch API call: no regional or speed multipliers, no off-peak
    /// (a call that only names the `batch` tier keeps them).
    batch: bool,
    /// `batch`, or the service tier.
    tier: u32,
    geo: u32,
    speed: u32,
    region: u32,
    charged: Standing,
    list: Option<Standing>,
}

/// Per token class (in `PriceClass::ALL` order): the class it is billed as
/// and its charged and list prices per million; `None` for a class the
/// entry cannot price. `None` as a whole when the call is unpriced.
type Sheet = Option<[Option<(u8, Dec, Dec)>; 6]>;

/// The price sheet of a call: the charged entry's unit prices and the
/// list entry's (the charged ones when there is none).
fn price_sheet(
    e: &crate::pricing::entry::PriceEntry,
    list: Option<&crate::pricing::entry::PriceEntry>,
    input: &CostInput,
) -> Sheet {
    let (charged, mult) = unit_prices(e, input)?;
    let list = list.and_then(|le| unit_prices(le, input));
    let index = |c: PriceClass| PriceClass::ALL.iter().position(|x| *x == c).unwrap_or(0) as u8;
    Some(charged.map(|p| {
        p.map(|(billed, price)| {
            let charged_price = per_million(price, mult.num, mult.den);
            let list_price = list
                .as_ref()
                .and_then(|(lp, lm)| {
                    lp.iter().flatten().find(|(b, _)| *b == billed).map(|(_, p)| per_million(*p, lm.num, lm.den))
                })
                .unwrap_or(charged_price);
            (index(billed), charged_price, list_price)
        })
    }))
}

/// A call's identity in the rows but for its token classes and prices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Group {
    day: i64,
    provider: u32,
    model: u32,
    price_key: u32,
    workflow: u32,
    team: u32,
    customer: u32,
    tier: u32,
    unpriced: bool,
}

/// Tokens of one class at one charged and list price.
type ClassSum = (u8, Dec, Dec, u64);

fn add_class(sums: &mut Vec<ClassSum>, class: u8, charged: Dec, list: Dec, tokens: u64) {
    match sums.iter_mut().find(|s| s.0 == class && s.1 == charged && s.2 == list) {
        Some(s) => s.3 += tokens,
        None => sums.push((class, charged, list, tokens)),
    }
}

/// Moves a day's sums into the window's rows.
fn drain_day(day: &mut hashbrown::HashMap<Group, Vec<ClassSum>>, rows: &mut hashbrown::HashMap<Key, u64>) {
    for (g, sums) in day.drain() {
        for (class, charged, list, tokens) in sums {
            let k = Key {
                day: g.day,
                provider: g.provider,
                model: g.model,
                price_key: g.price_key,
                class,
                charged,
                list,
                workflow: g.workflow,
                team: g.team,
                customer: g.customer,
                tier: g.tier,
                unpriced: g.unpriced,
            };
            *rows.entry(k).or_insert(0) += tokens;
        }
    }
}

/// Writes the rows of a scan as the FOCUS CSV.
fn write<W: Write>(scan: Scan, o: &FocusOptions, out: W) -> Result<FocusSummary, Error> {
    let mut summary = FocusSummary {
        calls: scan.calls,
        unpriced_calls: scan.unpriced_calls,
        pending_calls: scan.pending_calls,
        ledger: scan.ledger,
        ..FocusSummary::default()
    };
    let names = scan.names;
    let mut billed: BTreeMap<u32, i128> = BTreeMap::new();
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if o.version_1_3 {
        header.extend(["ServiceProviderName", "HostProviderName"]);
    }
    w.write_record(&header)?;
    let fmt = |ms: i64| time::format_utc(ms).replace(".000Z", "Z");
    // Rows in the order of their names (each name's rank among all).
    let mut order: Vec<u32> = (0..names.names.len() as u32).collect();
    order.sort_unstable_by(|a, b| names.name(*a).cmp(names.name(*b)));
    let mut rank = vec![0u32; order.len()];
    for (r, id) in order.iter().enumerate() {
        rank[*id as usize] = r as u32;
    }
    let r = |i: u32| rank[i as usize];
    let mut rows: Vec<(Key, u64)> = scan.rows.into_iter().collect();
    rows.sort_unstable_by_key(|(k, _)| {
        (
            (k.day, r(k.provider), r(k.model), k.class, r(k.workflow), r(k.team)),
            (r(k.price_key), r(k.customer), r(k.tier), k.charged, k.list, k.unpriced),
        )
    });
    let text = |s: &str| super::print::csv_text(s).into_owned();
    // The text of a row's day, model and attribution, made once each.
    let mut days: hashbrown::HashMap<i64, [String; 5]> = hashbrown::HashMap::new();
    let mut models: hashbrown::HashMap<(u32, u32, u32, u8), ModelText> = hashbrown::HashMap::new();
    let mut owners: hashbrown::HashMap<(u32, u32, u32, u32), [String; 5]> = hashbrown::HashMap::new();
    for (k, tokens) in &rows {
        let [month_end, month_start, day_end, day_start, month] = &*days.entry(k.day).or_insert_with(|| {
            let month = time::start_of_month(k.day, &jiff::tz::TimeZone::UTC);
            let next_month = time::end_of_month(k.day, &jiff::tz::TimeZone::UTC);
            let start = fmt(month);
            let ym = start[..7].to_string();
            [fmt(next_month), start, fmt(k.day + MS_PER_DAY), fmt(k.day), ym]
        });
        let m = models.entry((k.provider, k.model, k.price_key, k.class)).or_insert_with(|| {
            let (k_provider, k_model, k_price_key) =
                (names.name(k.provider), names.name(k.model), names.name(k.price_key));
            let provider = if k_provider.is_empty() { "unknown".to_string() } else { k_provider.to_string() };
            let dev = developer(k_model, &provider);
            let class = class_of(k.class);
            let details = serde_json::json!({
                "ModelDeveloper": dev,
                "ModelId": k_model,
                "x_PriceKey": k_price_key,
                "x_TokenClass": class.label(),
            });
            ModelText {
                account_id: text(o.billing_account_id.as_deref().unwrap_or(&provider)),
                account_name: text(o.billing_account_name.as_deref().unwrap_or(&provider)),
                description: text(&format!("{k_model} {} tokens", class.label())),
                issuer: text(o.invoice_issuer_name.as_deref().unwrap_or(&provider)),
                provider_text: text(&provider),
                dev: text(&dev),
                service: text(&format!("{provider} API")),
                sku: text(&format!("{}:{}", if k_price_key.is_empty() { k_model } else { k_price_key }, class.label())),
                meter: meter(class),
                details: text(&details.to_string()),
                host: host_provider(&provider),
                provider,
            }
        });
        let [tags, workflow, team, customer, tier] =
            &*owners.entry((k.workflow, k.team, k.customer, k.tier)).or_insert_with(|| {
                let (k_workflow, k_team, k_customer) =
                    (names.name(k.workflow), names.name(k.team), names.name(k.customer));
                let tags = serde_json::json!({ "workflow": k_workflow, "team": k_team, "customer": k_customer });
                [text(&tags.to_string()), text(k_workflow), text(k_team), text(k_customer), text(names.name(k.tier))]
            });
        let k_tier = names.name(k.tier);
        let qty = Dec { m: *tokens as i128, scale: 6 };
        let contracted = k.charged.mul(qty);
        let listed = k.list.mul(qty);
        *billed.entry(contracted.scale).or_insert(0) += contracted.m;
        let category = if k_tier == "batch" || k_tier == "flex" { "Other" } else { "Standard" };
        let contracted_text = contracted.text();
        let (charged_text, listed_text, list_text, qty_text, tokens_text) =
            (k.charged.text(), listed.text(), k.list.text(), qty.text(), tokens.to_string());
        // The provisional invoice the ledger implies: one per provider and
        // billing month.
        let invoice = text(&format!("aifin-{}-{month}", m.provider));
        let mut record: Vec<&str> = vec![
            &contracted_text,
            &m.account_id,
            &m.account_name,
            "USD",
            month_end,
            month_start,
            "Usage",
            "",
            &m.description,
            "Usage-Based",
            day_end,
            day_start,
            &tokens_text,
            "Tokens",
            &contracted_text,
            &charged_text,
            &contracted_text,
            &invoice,
            &m.issuer,
            &listed_text,
            &list_text,
            category,
            &qty_text,
            "1000000 Tokens",
            &m.provider_text,
            &m.dev,
            "AI and Machine Learning",
            &m.service,
            "Generative AI",
            &m.sku,
            m.meter,
            &m.details,
            tags,
            workflow,
            team,
            customer,
            tier,
            if k.unpriced { "true" } else { "" },
        ];
        if o.version_1_3 {
            record.push(&m.provider_text);
            record.push(m.host);
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

/// The text of a row's model and token class, made once per combination.
struct ModelText {
    provider: String,
    account_id: String,
    account_name: String,
    description: String,
    issuer: String,
    provider_text: String,
    dev: String,
    service: String,
    sku: String,
    meter: &'static str,
    details: String,
    host: &'static str,
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
