use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use serde::Serialize;

use super::Env;
use crate::cli::LedgerArgs;
use crate::domain::money::Nanos;
use crate::domain::record::PART_NAMES;
use crate::domain::time;
use crate::output::{self, Col, OutputFormat, left, percent, right, thousands};
use crate::store::queries::{self, GroupBy, Ledger, Window};
use crate::store::rollup::Agg;

#[derive(Serialize)]
struct RowJson {
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_key: Option<String>,
    calls: i64,
    input_tokens: i64,
    uncached_input_tokens: i64,
    cache_read_tokens: i64,
    cache_write_tokens: i64,
    output_tokens: i64,
    reasoning_tokens: i64,
    avg_input_tokens: f64,
    cost_usd: f64,
    cost_nanousd: i64,
    cost_per_call_usd: f64,
    share: f64,
    unpriced_calls: i64,
    error_calls: i64,
    reported_cost_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    composition: Option<CompositionJson>,
}

/// Prompt composition over the calls whose components are known.
#[derive(Serialize)]
struct CompositionJson {
    calls: i64,
    tokens: BTreeMap<&'static str, i64>,
    share: BTreeMap<&'static str, f64>,
}

#[derive(Serialize)]
struct LedgerJson {
    by: String,
    since: Option<String>,
    until: Option<String>,
    tz: String,
    currency: &'static str,
    rows: Vec<RowJson>,
    total: RowJson,
    attribution_coverage: f64,
    price_coverage: f64,
}

fn row_json(key: Option<String>, aux: Option<String>, by: GroupBy, a: &Agg, total_cost: i64) -> RowJson {
    let (team, price_key) = match by {
        GroupBy::Workflow => (aux, None),
        GroupBy::Model => (None, aux),
        _ => (None, None),
    };
    RowJson {
        key,
        team,
        price_key,
        calls: a.calls,
        input_tokens: a.input_tokens(),
        uncached_input_tokens: a.uncached_input,
        cache_read_tokens: a.cache_read,
        cache_write_tokens: a.cache_write,
        output_tokens: a.output,
        reasoning_tokens: a.reasoning,
        avg_input_tokens: avg(a.input_tokens(), a.calls),
        cost_usd: Nanos(a.cost_nano).to_usd_f64(),
        cost_nanousd: a.cost_nano,
        cost_per_call_usd: if a.calls > 0 { Nanos(a.cost_nano).to_usd_f64() / a.calls as f64 } else { 0.0 },
        share: if total_cost > 0 { a.cost_nano as f64 / total_cost as f64 } else { 0.0 },
        unpriced_calls: a.unpriced_calls,
        error_calls: a.error_calls,
        reported_cost_usd: Nanos(a.reported_cost_nano).to_usd_f64(),
        composition: a.composition().map(|share| CompositionJson {
            calls: a.parts_calls,
            tokens: PART_NAMES.iter().copied().zip(a.parts).collect(),
            share: PART_NAMES.iter().copied().zip(share).collect(),
        }),
    }
}

fn avg(n: i64, d: i64) -> f64 {
    if d > 0 { n as f64 / d as f64 } else { 0.0 }
}

pub fn run(env: &Env, args: &LedgerArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let tz = env.tz(args.tz.as_deref())?;
    let now = time::now_ms();
    let since = args
        .since
        .as_deref()
        .map(|s| time::parse_bound(s, &tz, now, false).map_err(|e| anyhow!("--since: {e}")))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| time::parse_bound(s, &tz, now, true).map_err(|e| anyhow!("--until: {e}")))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && u <= s
    {
        return Err(anyhow!("--until must be after --since"));
    }
    let conn = env.read_conn()?;
    let l = queries::ledger(&conn, args.by, Window { since, until }, &tz)?;
    let tz_name = time::tz_name(&tz);
    match args.output.format() {
        OutputFormat::Json => output::json(&mut *out, &to_json(&l, &tz_name))?,
        OutputFormat::Csv => {
            let j = to_json(&l, &tz_name);
            let mut header = vec!["key"];
            match l.by {
                GroupBy::Workflow => header.push("team"),
                GroupBy::Model => header.push("price_key"),
                _ => {}
            }
            header.extend([
                "calls",
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "output_tokens",
                "avg_input_tokens",
                "cost_usd",
                "cost_per_call_usd",
                "share",
                "unpriced_calls",
            ]);
            let mut rows: Vec<Vec<String>> = j
                .rows
                .iter()
                .map(|r| csv_row(r, r.key.clone().unwrap_or_else(|| l.by.missing_label().into()), l.by))
                .collect();
            rows.push(csv_row(&j.total, "TOTAL".into(), l.by));
            output::csv(&mut *out, &header, &rows)?;
        }
        OutputFormat::Table => print_table(out, &l, &tz_name)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn to_json(l: &Ledger, tz_name: &str) -> LedgerJson {
    let total_cost = l.total.cost_nano;
    LedgerJson {
        by: l.by.to_string(),
        since: l.window.since.map(time::format_utc),
        until: l.window.until.map(time::format_utc),
        tz: tz_name.to_string(),
        currency: "USD",
        rows: l
            .rows
            .iter()
            .map(|r| {
                let key = (!r.key.is_empty()).then(|| r.key.clone());
                row_json(key, r.aux.clone(), l.by, &r.agg, total_cost)
            })
            .collect(),
        total: row_json(Some("total".into()), None, l.by, &l.total, total_cost),
        attribution_coverage: l.attribution_coverage(),
        price_coverage: l.price_coverage(),
    }
}

fn csv_row(r: &RowJson, key: String, by: GroupBy) -> Vec<String> {
    let mut v = vec![key];
    match by {
        GroupBy::Workflow => v.push(r.team.clone().unwrap_or_default()),
        GroupBy::Model => v.push(r.price_key.clone().unwrap_or_default()),
        _ => {}
    }
    v.extend([
        r.calls.to_string(),
        r.input_tokens.to_string(),
        r.cache_read_tokens.to_string(),
        r.cache_write_tokens.to_string(),
        r.output_tokens.to_string(),
        format!("{:.1}", r.avg_input_tokens),
        Nanos(r.cost_nanousd).format_plain(9),
        format!("{:.9}", r.cost_per_call_usd),
        format!("{:.6}", r.share),
        r.unpriced_calls.to_string(),
    ]);
    v
}

fn print_table(out: &mut dyn Write, l: &Ledger, tz_name: &str) -> std::io::Result<()> {
    let window = match (l.window.since, l.window.until) {
        (None, None) => "all time".to_string(),
        (s, u) => format!(
            "{} → {}",
            s.map(time::format_utc).unwrap_or_else(|| "start".into()),
            u.map(time::format_utc).unwrap_or_else(|| "now".into())
        ),
    };
    writeln!(out, "Ledger by {} · {} · time zone {}", l.by, window, tz_name)?;
    let mut cols: Vec<Col> = vec![left(match l.by {
        GroupBy::Workflow => "Workflow",
        GroupBy::Team => "Team",
        GroupBy::Customer => "Customer",
        GroupBy::Model => "Model (as logged)",
        GroupBy::Provider => "Provider",
        GroupBy::Day => "Day",
        GroupBy::Month => "Month",
    })];
    match l.by {
        GroupBy::Workflow => cols.push(left("Team")),
        GroupBy::Model => cols.push(left("Price key")),
        _ => {}
    }
    cols.extend([
        right("Calls"),
        right("Input tok"),
        right("Cache read"),
        right("Cache write"),
        right("Output tok"),
        right("Avg input"),
        right("Cost"),
        right("Cost/call"),
        right("Share"),
        right("Unpriced"),
    ]);
    let has_aux = matches!(l.by, GroupBy::Workflow | GroupBy::Model);
    let cells = |label: String, aux: Option<&str>, a: &Agg| -> Vec<String> {
        let mut v = vec![label];
        if has_aux {
            v.push(aux.unwrap_or("-").to_string());
        }
        let share = if l.total.cost_nano > 0 { a.cost_nano as f64 / l.total.cost_nano as f64 } else { 0.0 };
        v.extend([
            thousands(a.calls),
            thousands(a.input_tokens()),
            thousands(a.cache_read),
            thousands(a.cache_write),
            thousands(a.output),
            thousands(avg(a.input_tokens(), a.calls).round() as i64),
            Nanos(a.cost_nano).format_usd(2),
            if a.calls > 0 { format_per_call(a.cost_nano, a.calls) } else { "-".into() },
            percent(share, 1),
            if a.unpriced_calls > 0 { thousands(a.unpriced_calls) } else { "-".into() },
        ]);
        v
    };
    let rows: Vec<Vec<String>> = l
        .rows
        .iter()
        .map(|r| {
            let label = if r.key.is_empty() { l.by.missing_label().to_string() } else { r.key.clone() };
            cells(label, r.aux.as_deref(), &r.agg)
        })
        .collect();
    let total = cells("Total".into(), Some(""), &l.total);
    out.write_all(output::table(&cols, &rows, Some(&total)).as_bytes())?;
    writeln!(
        out,
        "attribution coverage {} of cost · price coverage {} of calls{}",
        crate::output::coverage(l.attribution_coverage()),
        crate::output::coverage(l.price_coverage()),
        if l.total.unpriced_calls > 0 {
            format!(" · {} unpriced calls are not in the cost (see `aifin prices`)", thousands(l.total.unpriced_calls))
        } else {
            String::new()
        }
    )
}

/// Cost per call with four decimals, computed from integers.
fn format_per_call(cost_nano: i64, calls: i64) -> String {
    Nanos(crate::domain::money::div_round(cost_nano as i128, calls as i128) as i64).format_usd(4)
}
