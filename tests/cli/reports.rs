//! Reports: JSON parses, totals equal the sum of rows to the cent, CSV
//! agrees with JSON, every view agrees, and errors exit 2 with a useful
//! message.

use crate::util::{Env, i, repo, u};

fn sample_env() -> Env {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    env
}

#[test]
fn every_grouping_totals_to_the_same_cents() {
    let env = sample_env();
    let mut totals = Vec::new();
    for by in ["workflow", "team", "customer", "model", "provider", "day", "month"] {
        let l = env.ledger(by);
        let rows = l["rows"].as_array().unwrap();
        let sum_nanos: i64 = rows.iter().map(|r| i(&r["cost_nanousd"])).sum();
        let sum_calls: u64 = rows.iter().map(|r| u(&r["calls"])).sum();
        let sum_input: u64 = rows.iter().map(|r| u(&r["input_tokens"])).sum();
        assert_eq!(sum_nanos, i(&l["total"]["cost_nanousd"]), "{by}");
        assert_eq!(sum_calls, u(&l["total"]["calls"]), "{by}");
        assert_eq!(sum_input, u(&l["total"]["input_tokens"]), "{by}");
        // Dollars in JSON agree with the integer nanos to the cent.
        let sum_usd: f64 = rows.iter().map(|r| r["cost_usd"].as_f64().unwrap()).sum();
        assert!((sum_usd - l["total"]["cost_usd"].as_f64().unwrap()).abs() < 0.005, "{by}");
        let share: f64 = rows.iter().map(|r| r["share"].as_f64().unwrap()).sum();
        assert!((share - 1.0).abs() < 1e-9, "{by}: shares sum to {share}");
        totals.push(i(&l["total"]["cost_nanousd"]));
    }
    assert!(totals.windows(2).all(|w| w[0] == w[1]), "views disagree: {totals:?}");
}

#[test]
fn csv_and_table_agree_with_json() {
    let env = sample_env();
    let json = env.ledger("team");
    let csv = env.ok(&["ledger", "--by", "team", "--tz", "UTC", "--csv"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..3], ["key", "calls", "input_tokens"]);
    let cost_col = header.iter().position(|h| *h == "cost_usd").unwrap();
    let body: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    let total = body.last().unwrap();
    assert_eq!(total[0], "TOTAL");
    let csv_total: f64 = total[cost_col].parse().unwrap();
    assert!((csv_total - json["total"]["cost_usd"].as_f64().unwrap()).abs() < 1e-9);
    let table = env.ok(&["ledger", "--by", "team", "--tz", "UTC"]);
    let cents = format!("${:.2}", json["total"]["cost_usd"].as_f64().unwrap());
    assert!(table.contains(&cents), "table total {cents} missing:\n{table}");
}

#[test]
fn time_windows_and_zones() {
    let env = sample_env();
    let oct = env.json(&["ledger", "--by", "day", "--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC"]);
    assert_eq!(oct["rows"].as_array().unwrap().len(), 31);
    assert_eq!(u(&oct["total"]["calls"]), 2886);
    // The same month seen from Tokyo starts 9 hours earlier: different days,
    // same grand total over all time.
    let all_utc = env.json(&["ledger", "--by", "day", "--tz", "UTC"]);
    let all_tokyo = env.json(&["ledger", "--by", "day", "--tz", "Asia/Tokyo"]);
    assert_eq!(all_utc["total"]["cost_nanousd"], all_tokyo["total"]["cost_nanousd"]);
    assert_ne!(all_utc["rows"][0]["calls"], all_tokyo["rows"][0]["calls"]);
    // A half-hour zone is exact too (answered from the calls table).
    let all_kolkata = env.json(&["ledger", "--by", "month", "--tz", "Asia/Kolkata"]);
    assert_eq!(all_kolkata["total"]["cost_nanousd"], all_utc["total"]["cost_nanousd"]);
}

#[test]
fn errors_exit_2_and_say_what_to_do() {
    let env = Env::new();
    let e = env.fails(&["ledger"]);
    assert!(e.contains("no database") && e.contains("aifin ingest"), "{e}");
    let e = env.fails(&["ingest", "does-not-exist.jsonl"]);
    assert!(e.contains("does-not-exist.jsonl") && e.contains("no such file"), "{e}");
    let e = env.fails(&["ledger", "--by", "colour"]);
    assert!(e.contains("colour") && e.contains("workflow"), "{e}");
    let f = env.write("x.jsonl", "");
    env.ingest(&[&f]);
    let e = env.fails(&["ledger", "--since", "last tuesday"]);
    assert!(e.contains("--since") && e.contains("YYYY-MM-DD"), "{e}");
    let e = env.fails(&["ledger", "--tz", "Mars/Base"]);
    assert!(e.contains("Mars/Base"), "{e}");
    let cfg = env.write("bad.toml", "[pricing]\ncatalogue = 1\n");
    let e = env.fails(&["--config", cfg.to_str().unwrap(), "ledger"]);
    assert!(e.contains("bad.toml") && e.contains("line 2"), "{e}");
    let e = env.fails(&["ingest", "--format", "xml", f.to_str().unwrap()]);
    assert!(e.contains("xml"), "{e}");
    let e = env.fails(&["prices", "no-such-model-anywhere"]);
    assert!(e.contains("no price") && e.contains("pricing.models"), "{e}");
}

#[test]
fn prices_show_the_resolved_entry() {
    let env = Env::new();
    let j = env.json(&["prices", "claude-sonnet-4-5-20250929"]);
    assert_eq!(j["resolved_key"], "claude-sonnet-4-5-20250929");
    let input = j["prices"].as_array().unwrap().iter().find(|p| p["class"] == "input" && p["tier"].is_null()).unwrap();
    assert_eq!(input["usd_per_mtok"], 3.0);
    let j = env.json(&["prices", "us.anthropic.claude-sonnet-4-20250514-v1:0"]);
    assert_eq!(j["resolved_key"], "us.anthropic.claude-sonnet-4-20250514-v1:0");
    let j = env.json(&["prices", "openrouter/openai/gpt-4o-2024-08-06"]);
    assert_eq!(j["resolved_key"], "gpt-4o-2024-08-06");
    assert_eq!(j["rule"], "routing prefix removed");
    let text = env.ok(&["prices", "gpt-5.4"]);
    assert!(text.contains(">272k"), "{text}");
    assert_eq!(j["fallback"], false);
}

#[test]
fn prices_mark_another_providers_entry_as_a_fallback() {
    let env = Env::new();
    // The catalog has no gemini/ entry for this name, only Vertex's.
    let j = env.json(&["prices", "gemini-2.0-flash", "--provider", "gemini"]);
    assert_eq!(j["resolved_key"], "vertex_ai/gemini-2.0-flash");
    assert_eq!(j["fallback"], true);
    let text = env.ok(&["prices", "gemini-2.0-flash", "--provider", "gemini"]);
    assert!(text.contains("fallback     yes"), "{text}");
    // Asked for Vertex itself, the same entry is no fallback.
    let j = env.json(&["prices", "gemini-2.0-flash", "--provider", "vertex_ai"]);
    assert_eq!(j["fallback"], false);
    // A logged call priced that way counts in the model list and the ledger.
    let f = env.write(
        "g.jsonl",
        r#"{"ts":"2026-10-01T08:00:00Z","provider":"gemini","model":"gemini-2.0-flash","usage":{"uncached_input":1000,"output":10}}
"#,
    );
    env.ingest(&[&f]);
    let models = env.json(&["prices"]);
    assert_eq!(models[0]["fallback_calls"], 1, "{models:#}");
    let text = env.ok(&["prices"]);
    assert!(text.contains("another provider's entry"), "{text}");
}

#[cfg(unix)]
#[test]
fn the_database_is_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let f = env.write("a.jsonl", crate::util::native_lines("p", 3));
    env.ingest(&[&f]);
    let mode = std::fs::metadata(env.db()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn help_lists_every_command() {
    let env = Env::new();
    let h = env.ok(&["--help"]);
    for c in ["ingest", "ledger", "rejects", "prices", "sources"] {
        assert!(h.contains(c), "{h}");
    }
}
