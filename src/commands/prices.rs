use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use serde::Serialize;

use super::Env;
use crate::cli::PricesArgs;
use crate::domain::dims::Dimension;
use crate::domain::money::Nanos;
use crate::pricing::cost::unit_price;
use crate::pricing::{PriceClass, PriceEntry, Variant};
use crate::reports::print::{self, OutputFormat};
use crate::reports::table::{Align, Cell, Column, Row, Table, thousands};
use crate::store::queries::{self, QueryPath, Window};

#[derive(Serialize)]
struct PriceJson {
    class: &'static str,
    above_tokens: Option<u64>,
    tier: Option<String>,
    usd_per_mtok: f64,
    derived: bool,
}

#[derive(Serialize)]
struct EntryJson {
    model: String,
    resolved_key: String,
    rule: &'static str,
    /// The entry belongs to another provider than the one asked for.
    fallback: bool,
    origin: &'static str,
    provider: Option<String>,
    mode: Option<String>,
    max_input_tokens: Option<u64>,
    deprecation_date: Option<String>,
    prices: Vec<PriceJson>,
    region_multipliers: Vec<(String, f64)>,
    fast_multiplier: Option<f64>,
    catalog: String,
}

#[derive(Serialize)]
struct ModelJson {
    model: String,
    price_key: Option<String>,
    calls: i64,
    unpriced_calls: i64,
    /// Calls priced from another provider's entry.
    fallback_calls: i64,
    cost_usd: f64,
}

/// Columns of the price table: (threshold, variant) combinations present.
fn columns(e: &PriceEntry) -> Vec<(Option<u64>, Option<Variant>)> {
    let mut cols = vec![(None, None)];
    for v in e.variants() {
        cols.push((None, Some(v)));
    }
    for t in e.thresholds() {
        cols.push((Some(t), None));
        for v in e.variants() {
            if e.slots.iter().any(|s| s.above == Some(t) && s.variant.as_ref() == Some(&v)) {
                cols.push((Some(t), Some(v)));
            }
        }
    }
    cols
}

fn col_title(c: &(Option<u64>, Option<Variant>)) -> String {
    let mut s = match c.0 {
        Some(t) => format!(">{}k", t / 1000),
        None => String::new(),
    };
    match &c.1 {
        Some(v) => {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(v.label());
        }
        None if s.is_empty() => s.push_str("standard"),
        None => {}
    }
    s
}

/// `aifin prices --check`: the chat, completion and responses entries aifin
/// cannot price, and why.
fn check(env: &Env, args: &PricesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    #[derive(Serialize)]
    struct Unpriceable {
        key: String,
        reason: String,
    }
    let catalog = env.catalog()?;
    let list: Vec<Unpriceable> = catalog
        .unpriceable(&["chat", "completion", "responses"])
        .into_iter()
        .map(|(key, reason)| Unpriceable { key, reason })
        .collect();
    match args.output.format() {
        OutputFormat::Json => print::json(&mut *out, &list)?,
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = list.iter().map(|u| vec![u.key.clone(), u.reason.clone()]).collect();
            print::csv_rows(&mut *out, &["key", "reason"], &rows)?;
        }
        OutputFormat::Table => {
            let mut by_reason: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
            for u in &list {
                let kind = u.reason.split(" (").next().unwrap_or(&u.reason).to_string();
                by_reason.entry(kind).or_default().push(&u.key);
            }
            writeln!(
                out,
                "{} chat/completion/responses catalog entries cannot price a token call ({}):",
                list.len(),
                catalog.version()
            )?;
            for (reason, keys) in &by_reason {
                let shown: Vec<String> =
                    keys.iter().take(4).map(|k| crate::domain::sanitize::clean(k).into_owned()).collect();
                let more = if keys.len() > 4 { format!(", ... ({} more)", keys.len() - 4) } else { String::new() };
                writeln!(out, "  {:>4}  {reason}: {}{more}", keys.len(), shown.join(", "))?;
            }
            writeln!(out, "Every other entry of these modes is priced (`--json` lists each key with its reason).")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(env: &Env, args: &PricesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if args.check {
        return check(env, args, out);
    }
    let catalog = env.catalog()?;
    let Some(model) = &args.model else {
        return list_models(env, args, out);
    };
    let Some(res) = catalog.resolve(args.provider.as_deref(), model) else {
        let hints = catalog.suggest(model, 5);
        let hint =
            if hints.is_empty() { String::new() } else { format!("; similar catalog keys: {}", hints.join(", ")) };
        return Err(anyhow!(
            "no price for model '{}'{hint}. Add it under [pricing.models.\"{}\"] or map it in [pricing.aliases] in aifin.toml",
            crate::domain::sanitize::clean(model),
            crate::domain::sanitize::clean(model)
        ));
    };
    let e = &res.entry;
    let cols = columns(e);
    let mut prices = Vec::new();
    let mut rows = Vec::new();
    for class in PriceClass::ALL {
        if class == PriceClass::Reasoning && e.lookup(class, None, None).is_none() {
            continue;
        }
        let mut row = vec![class.label().to_string()];
        for (tier, variant) in &cols {
            let exact = e.lookup(class, *tier, variant.as_ref()).is_some();
            match unit_price(e, class, tier.map_or(1, |t| t + 1), variant.as_ref()) {
                Some((f, _)) => {
                    row.push(format!("{}{}", Nanos(f as i64).format_usd(4), if exact { "" } else { "*" }));
                    prices.push(PriceJson {
                        class: class.label(),
                        above_tokens: *tier,
                        tier: variant.as_ref().map(|v| v.label().to_string()),
                        usd_per_mtok: Nanos(f as i64).to_usd_f64(),
                        derived: !exact,
                    });
                }
                None => row.push("-".into()),
            }
        }
        rows.push(row);
    }
    let j = EntryJson {
        model: model.clone(),
        resolved_key: res.key.clone(),
        rule: res.rule,
        fallback: res.fallback,
        origin: e.origin.label(),
        provider: e.provider.clone(),
        mode: e.mode.clone(),
        max_input_tokens: e.max_input_tokens,
        deprecation_date: e.deprecation_date.clone(),
        prices,
        region_multipliers: e.geo.iter().map(|(k, r)| (k.clone(), r.num as f64 / r.den as f64)).collect(),
        fast_multiplier: e.fast.map(|r| r.num as f64 / r.den as f64),
        catalog: catalog.version().to_string(),
    };
    match args.output.format() {
        OutputFormat::Json => print::json(&mut *out, &j)?,
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = j
                .prices
                .iter()
                .map(|p| {
                    vec![
                        p.class.to_string(),
                        p.above_tokens.map(|t| t.to_string()).unwrap_or_default(),
                        p.tier.clone().unwrap_or_default(),
                        format!("{}", p.usd_per_mtok),
                        p.derived.to_string(),
                    ]
                })
                .collect();
            print::csv_rows(&mut *out, &["class", "above_tokens", "tier", "usd_per_mtok", "derived"], &rows)?;
        }
        OutputFormat::Table => {
            writeln!(out, "model        {}", crate::domain::sanitize::clean(model))?;
            writeln!(out, "resolved to  {} ({})", res.key, res.rule)?;
            if res.fallback {
                writeln!(out, "fallback     yes: calls are counted in the ledger's price_fallback_calls")?;
            }
            writeln!(out, "from         {} · {}", e.origin.label(), catalog.version())?;
            writeln!(
                out,
                "provider     {} · mode {}{}{}",
                e.provider.as_deref().unwrap_or("-"),
                e.mode.as_deref().unwrap_or("-"),
                e.max_input_tokens.map(|m| format!(" · max input {}", thousands(m as i64))).unwrap_or_default(),
                e.deprecation_date.as_ref().map(|d| format!(" · deprecated {d}")).unwrap_or_default()
            )?;
            let mut columns = vec![Column::left("class", "USD per 1M tokens", 0)];
            columns.extend(cols.iter().map(|c| Column::titled("price", col_title(c), Align::Right, 0)));
            let table = Table {
                title: String::new(),
                columns,
                rows: rows
                    .iter()
                    .map(|r| Row { id: r[0].clone(), cells: r.iter().map(Cell::text).collect() })
                    .collect(),
                total: None,
                notes: vec![],
            };
            out.write_all(print::text(&table).as_bytes())?;
            if rows.iter().flatten().any(|c| c.ends_with('*')) {
                writeln!(out, "* not in the catalog entry: derived by aifin's pricing rules (see README, Pricing)")?;
            }
            for (k, r) in &j.region_multipliers {
                writeln!(out, "region '{k}' ×{r}")?;
            }
            if let Some(f) = j.fast_multiplier {
                writeln!(out, "fast mode ×{f}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list_models(env: &Env, args: &PricesArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let catalog = env.catalog()?;
    if !env.db.exists() {
        writeln!(out, "catalog: {} entries · {}", catalog.len(), catalog.version())?;
        writeln!(out, "No ledger yet at {}; `aifin prices MODEL` looks up one model.", env.db.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let conn = env.read_conn()?;
    let keys = queries::model_price_keys(&conn)?;
    let mut models: Vec<ModelJson> =
        queries::group_dimension(&conn, Dimension::Model, Window::all(), QueryPath::Rollup)?
            .into_iter()
            .map(|(m, a)| ModelJson {
                price_key: keys.get(&m).cloned(),
                model: m,
                calls: a.calls,
                unpriced_calls: a.unpriced_calls,
                fallback_calls: a.price_fallback_calls,
                cost_usd: a.cost.to_usd_f64(),
            })
            .collect();
    models.sort_by(|a, b| b.unpriced_calls.cmp(&a.unpriced_calls).then(b.calls.cmp(&a.calls)));
    match args.output.format() {
        OutputFormat::Json => print::json(&mut *out, &models)?,
        OutputFormat::Csv => {
            let rows: Vec<Vec<String>> = models
                .iter()
                .map(|m| {
                    vec![
                        m.model.clone(),
                        m.price_key.clone().unwrap_or_default(),
                        m.calls.to_string(),
                        m.unpriced_calls.to_string(),
                        m.fallback_calls.to_string(),
                        format!("{}", m.cost_usd),
                    ]
                })
                .collect();
            print::csv_rows(
                &mut *out,
                &["model", "price_key", "calls", "unpriced_calls", "fallback_calls", "cost_usd"],
                &rows,
            )?;
        }
        OutputFormat::Table => {
            let table = Table {
                title: String::new(),
                columns: vec![
                    Column::left("model", "Model (as logged)", 0),
                    Column::left("price_key", "Price key", 0),
                    Column::right("calls", "Calls", 0),
                    Column::right("unpriced_calls", "Unpriced", 0),
                    Column::right("fallback_calls", "Fallback", 0),
                ],
                rows: models
                    .iter()
                    .map(|m| Row {
                        id: m.model.clone(),
                        cells: vec![
                            Cell::text(&m.model),
                            Cell::text_or(m.price_key.as_deref(), "UNPRICED"),
                            Cell::Count(m.calls),
                            Cell::Tally(m.unpriced_calls),
                            Cell::Tally(m.fallback_calls),
                        ],
                    })
                    .collect(),
                total: None,
                notes: vec![],
            };
            out.write_all(print::text(&table).as_bytes())?;
            writeln!(out, "catalog: {} entries · {}", catalog.len(), catalog.version())?;
            if models.iter().any(|m| m.fallback_calls > 0) {
                writeln!(
                    out,
                    "Fallback calls were priced from another provider's entry (the call's provider has none); `aifin prices MODEL --provider P` shows which."
                )?;
            }
            if models.iter().any(|m| m.unpriced_calls > 0) {
                writeln!(
                    out,
                    "Unpriced models are counted but not costed. Price them in aifin.toml ([pricing.models.\"NAME\"] or [pricing.aliases]) and run `aifin ingest` on new data."
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
