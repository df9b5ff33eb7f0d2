//! `aifin levers`: the stored calls priced again under levers.

use crate::util::{Env, i, repo};

const MONTH: [&str; 6] = ["--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC"];

fn levers(env: &Env, extra: &[&str]) -> serde_json::Value {
    let mut a = vec!["levers"];
    a.extend(MONTH);
    a.extend(extra);
    env.json(&a)
}

fn lever<'a>(g: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    g["levers"].as_array().unwrap().iter().find(|l| l["name"] == name).unwrap_or_else(|| panic!("{name}: {g:#}"))
}

#[test]
fn with_no_lever_the_replay_is_the_ledger_to_the_nano() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let mut args = vec!["ledger"];
    args.extend(MONTH);
    let ledger = env.json(&args);
    let l = levers(&env, &[]);
    assert_eq!(i(&l["total"]["replayed_nanousd"]), i(&ledger["total"]["cost_nanousd"]));
    assert_eq!(i(&l["total"]["spend_nanousd"]), i(&ledger["total"]["cost_nanousd"]));
    assert_eq!(i(&l["total"]["composed_saving_nanousd"]), 0);
}

#[test]
fn levers_report_singles_composed_naive_and_evidence() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let l = levers(
        &env,
        &["--compress", "input=30", "--route", "to=claude-haiku-4-5,share=30%", "--cap", "input=p95,output=2000"],
    );
    let t = &l["total"];
    let (composed, naive) = (i(&t["composed_saving_nanousd"]), i(&t["naive_sum_saving_nanousd"]));
    assert!(composed > 0 && composed < naive, "levers overlap: composed {composed} < naive {naive}");
    let singles: i64 = t["levers"].as_array().unwrap().iter().map(|l| i(&l["saving_nanousd"])).sum();
    assert_eq!(singles, naive);
    let c = lever(t, "compression");
    // Units: saving_pct in percent, the touched share a fraction.
    let pct = c["saving_pct"].as_f64().unwrap();
    let share = c["saving_nanousd"].as_f64().unwrap() / t["replayed_nanousd"].as_f64().unwrap();
    assert!((pct - share * 100.0).abs() < 0.06, "{pct} vs {share}");
    assert!(c["calls_touched_share"].as_f64().unwrap() <= 1.0);
    assert_eq!(c["evidence"]["status"], "unproven");
    assert_eq!(i(&t["proven_saving_nanousd"]), 0);
    // Per workflow figures add up to the total.
    let sum: i64 = l["workflows"].as_array().unwrap().iter().map(|w| i(&w["composed_saving_nanousd"])).sum();
    assert_eq!(sum, composed);

    // A gate run that promoted compression for support-copilot proves it there.
    let evals = |f: &str| repo().join("sample-data/evals").join(f).to_str().unwrap().to_string();
    let code = env
        .cmd()
        .args(["gate", "--evals", &evals("baseline.jsonl"), &evals("gated-compression-routing.jsonl")])
        .args(["--record", "--workflow", "support-copilot", "--lever", "compression"])
        .output()
        .unwrap()
        .status
        .code();
    assert_eq!(code, Some(0));
    let l = levers(&env, &["--compress", "input=30", "--route", "to=claude-haiku-4-5,share=30%"]);
    let sc = l["workflows"].as_array().unwrap().iter().find(|w| w["workflow"] == "support-copilot").unwrap();
    assert_eq!(lever(sc, "compression")["evidence"]["status"], "proven");
    assert_eq!(lever(sc, "routing")["evidence"]["status"], "unproven");
    assert_eq!(i(&sc["proven_saving_nanousd"]), i(&lever(sc, "compression")["saving_nanousd"]));
    assert_eq!(i(&l["total"]["proven_saving_nanousd"]), i(&sc["proven_saving_nanousd"]));
}

#[test]
fn bad_levers_are_errors_that_name_the_flag() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data/openai")]);
    let e = env.fails(&["levers", "--route", "to=no-such-model-x"]);
    assert!(e.contains("no-such-model-x") && e.contains("aifin prices"), "{e}");
    let e = env.fails(&["levers", "--compress", "system=abc"]);
    assert!(e.contains("--compress") && e.contains("percentage"), "{e}");
    let e = env.fails(&["levers", "--cap", "input=p101"]);
    assert!(e.contains("--cap"), "{e}");
}

#[test]
fn the_forecast_takes_the_measured_levers() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let flags = ["--compress", "input=30", "--route", "to=claude-haiku-4-5,share=30%"];
    let l = levers(&env, &flags);
    let mut args = vec!["forecast", "--levers-from-replay"];
    args.extend(MONTH);
    args.extend(flags);
    let f = env.json(&args);
    // The forecast's scenario is today's projection times the replay's
    // composed spend over its spend without levers.
    let ratio =
        l["total"]["composed_spend_nanousd"].as_f64().unwrap() / l["total"]["replayed_nanousd"].as_f64().unwrap();
    let today = f["today"]["projected_monthly_cost_nanousd"].as_f64().unwrap();
    let scenario = f["scenario"]["projected_monthly_cost_nanousd"].as_f64().unwrap();
    assert!((scenario - today * ratio).abs() <= 1.0, "{scenario} vs {today} x {ratio}");
    let alone = f["levers"]["alone"].as_array().unwrap();
    assert_eq!(alone.len(), 2);
    assert_eq!(alone[0][0], "compression");
    // Typed percentages and measured levers do not mix.
    let mut bad = args.clone();
    bad.extend(["--input-reduction", "20"]);
    let e = env.fails(&bad);
    assert!(e.contains("--input-reduction"), "{e}");
}

#[test]
fn the_lab_exports_as_a_snapshot_with_the_same_figures() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let flags = ["--compress", "input=30", "--cap", "input=p95"];
    let l = levers(&env, &flags);
    let mut args = vec!["export", "--format", "json", "--view", "levers"];
    args.extend(MONTH);
    args.extend(flags);
    let snap: serde_json::Value = serde_json::from_str(&env.ok(&args)).unwrap();
    assert_eq!(snap["view"], "levers");
    let t = &snap["report"]["total"];
    assert_eq!(t["composed_saving_nanousd"], l["total"]["composed_saving_nanousd"]);
    let e = env.fails(&["export", "--format", "md", "--view", "levers"]);
    assert!(e.contains("--view levers"), "{e}");
}

#[test]
fn prompt_text_leaves_fingerprints_and_never_text() {
    let env = Env::new();
    let secret = "The launch code is tangerine-42";
    let line = |id: &str, user: &str| {
        format!(
            r#"{{"ts":"2026-10-01T10:00:00Z","request_id":"{id}","model":"gpt-4o","workflow":"w","usage":{{"uncached_input":20,"output":5}},"prompt":{{"system":"{secret}","user":"{user}"}}}}"#
        )
    };
    let f = env.write("p.jsonl", format!("{}\n{}\n", line("a", "hello"), line("b", "hello")));
    env.ingest(&[&f]);
    let db = std::fs::read(env.db()).unwrap();
    let wal = std::fs::read(env.db().with_extension("db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(9).any(|w| w == b"tangerine"), "no prompt text in the ledger");
    }
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    let (n, distinct): (i64, i64) = conn
        .query_row("SELECT COUNT(*), COUNT(DISTINCT prompt) FROM prompt_hashes WHERE key_id = ''", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((n, distinct), (2, 1), "two calls, one repeated prompt");
    // A second ledger hashes the same text to something else.
    let other = Env::new();
    other.ingest(&[&f]);
    let theirs: i64 = rusqlite::Connection::open(other.db())
        .unwrap()
        .query_row("SELECT prompt FROM prompt_hashes LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let ours: i64 = conn.query_row("SELECT prompt FROM prompt_hashes LIMIT 1", [], |r| r.get(0)).unwrap();
    assert_ne!(ours, theirs);
    // The response cache sees the repeat.
    let l = env.json(&[
        "levers",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-02",
        "--tz",
        "UTC",
        "--cache",
        "response=10m",
    ]);
    assert_eq!(l["caching"]["measurable_calls"], 2);
    assert_eq!(l["caching"]["response_hit_rate"], 0.5);
    let c = &l["total"]["levers"][0];
    assert_eq!(c["name"], "caching");
    assert_eq!(c["calls_touched"], 1);
}

/// The sample month's knowledge bot logs its prompts: the response cache's
/// hits, counted here from the log itself (the same model and prompt again
/// within a day of its first sight), are what the lab measures.
#[test]
fn the_sample_months_repeated_questions_are_measured() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let text = std::fs::read_to_string(repo().join("sample-data/gateway/2026-10.jsonl")).unwrap();
    let mut lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    lines.retain(|l| l.get("prompt").is_some());
    let ms = |l: &serde_json::Value| {
        let ts = l["ts"].as_str().unwrap();
        jiff::Timestamp::from_str(ts).unwrap().as_millisecond()
    };
    use std::str::FromStr;
    lines.sort_by_key(ms);
    let (mut first, mut hits) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    for l in &lines {
        let key = (l["model"].to_string(), l["prompt"].to_string());
        let t = ms(l);
        match first.get(&key) {
            Some(t0) if t - t0 <= 86_400_000 => {
                *hits.entry(l["workflow"].as_str().unwrap().to_string()).or_insert(0) += 1
            }
            _ => {
                first.insert(key, t);
            }
        }
    }
    let l = levers(&env, &["--cache", "response=1d"]);
    let c = &l["caching"];
    assert_eq!(c["measurable_calls"].as_u64().unwrap() as usize, lines.len());
    let all: u64 = hits.values().sum();
    assert!(all > 100, "the knowledge bot's questions repeat: {hits:?}");
    let rate = c["response_hit_rate"].as_f64().unwrap();
    assert_eq!((rate * lines.len() as f64).round() as u64, all);
    for g in l["workflows"].as_array().unwrap() {
        let w = g["workflow"].as_str().unwrap();
        assert_eq!(lever(g, "caching")["calls_touched"].as_u64().unwrap(), hits.get(w).copied().unwrap_or(0), "{w}");
    }
}

/// Both prefix TTLs are replayed: the same calls are eligible under each
/// (a write or a read), and the break-even comes from the model's prices.
#[test]
fn the_prefix_cache_is_compared_at_both_ttls() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let l = levers(&env, &["--cache", "prefix=5m"]);
    let t = &l["caching"]["ttl"];
    let calls = |s: &serde_json::Value| s["prefix_writes"].as_u64().unwrap() + s["prefix_hits"].as_u64().unwrap();
    assert_eq!(calls(&t["prefix_5m"]), calls(&t["prefix_1h"]), "{t:#}");
    assert!(calls(&t["prefix_5m"]) > 0);
    assert!(t["prefix_1h"]["prefix_hits"].as_u64() >= t["prefix_5m"]["prefix_hits"].as_u64());
    // The lever's own saving is the 5-minute side.
    let total = lever(&l["total"], "caching");
    assert_eq!(total["saving_nanousd"], t["prefix_5m"]["saving_nanousd"]);
    let better = if i(&t["prefix_1h"]["saving_nanousd"]) > i(&t["prefix_5m"]["saving_nanousd"]) { "1h" } else { "5m" };
    assert_eq!(t["better"], better);
    // claude-sonnet-4-5 writes at 1.25x (5 min) or 2x (1 h) its input price
    // and reads at 0.1x: 1 h pays when it turns 1 - 1.15/1.9 = 39.5% of the
    // 5-minute writes into reads.
    let sonnet = t["models"].as_array().unwrap().iter().find(|m| m["model"] == "claude-sonnet-4-5").unwrap();
    assert_eq!(sonnet["break_even_write_reduction"], 0.395);
    let table = env.ok(&["levers", "--since", "2026-10-01", "--until", "2026-10-31", "--cache", "prefix=1h"]);
    assert!(table.contains("prefix TTL: 5 min saves") && table.contains("claude-sonnet-4-5 39.5%"), "{table}");
}
