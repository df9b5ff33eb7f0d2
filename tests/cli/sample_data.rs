//! The sample month reproduces the white paper's ledger (section III) at
//! 1/1000 scale.

use crate::util::{Env, i, repo, row, u};

#[test]
fn sample_month_reproduces_the_papers_ledger() {
    let env = Env::sample();
    let summary = env.ingest(&[&repo().join("sample-data")]);
    assert_eq!(u(&summary["rejected"]), 0);
    let l = env.json(&["ledger", "--by", "workflow", "--since", "2026-10-01", "--until", "2026-10-31"]);
    // (workflow, team, calls, avg input tokens, cost $, share %)
    let paper = [
        ("support-copilot", "CX", 1240, 6800.0, 41.80, 38.0),
        ("contract-extraction", "Legal Ops", 210, 12400.0, 24.20, 22.0),
        ("sales-research-agent", "Revenue", 96, 9100.0, 17.60, 16.0),
        ("internal-knowledge-bot", "IT", 880, 3200.0, 15.40, 14.0),
        ("marketing-drafting", "Brand", 140, 2400.0, 6.60, 6.0),
        ("everything-else", "Various", 320, 1900.0, 4.40, 4.0),
    ];
    assert_eq!(l["rows"].as_array().unwrap().len(), 6);
    for (k, (wf, team, calls, avg_in, cost, share)) in paper.into_iter().enumerate() {
        let r = &l["rows"][k];
        assert_eq!(r["key"], wf, "rows are sorted by cost as in the paper");
        assert_eq!(r["team"], team);
        assert_eq!(u(&r["calls"]), calls);
        let got_avg = r["avg_input_tokens"].as_f64().unwrap();
        assert!((got_avg - avg_in).abs() / avg_in < 0.01, "{wf}: avg input {got_avg}");
        let got_cost = r["cost_usd"].as_f64().unwrap();
        assert!((got_cost - cost).abs() / cost < 0.01, "{wf}: cost {got_cost}");
        let got_share = r["share"].as_f64().unwrap() * 100.0;
        assert_eq!(got_share.round(), share, "{wf}: share {got_share}");
    }
    let total = &l["total"];
    assert_eq!(u(&total["calls"]), 2886);
    assert!((total["cost_usd"].as_f64().unwrap() - 110.0).abs() < 1.1);
    assert_eq!(l["attribution_coverage"], 1.0);
    assert_eq!(l["price_coverage"], 1.0);
    // The total is the exact integer sum of the rows.
    let sum: i64 = l["rows"].as_array().unwrap().iter().map(|r| i(&r["cost_nanousd"])).sum();
    assert_eq!(sum, i(&total["cost_nanousd"]));
}

#[test]
fn sample_config_prices_private_and_negotiated_models() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let by_model = env.ledger("model");
    let llama = row(&by_model, "llama-3.3-70b-internal");
    assert_eq!(llama["price_key"], "llama-3.3-70b-internal");
    assert_eq!(u(&llama["unpriced_calls"]), 0);
    // The dated Anthropic name is aliased to the negotiated entry.
    assert_eq!(row(&by_model, "claude-opus-4-5-20251101")["price_key"], "claude-opus-4-5");
    // The fine-tuned model is priced from the catalog's ft:<base> entry.
    let ft = row(&by_model, "ft:gpt-4o-mini-2024-07-18:acme:support-tone:AbC123");
    assert_eq!(ft["price_key"], "ft:gpt-4o-mini-2024-07-18");
    assert_eq!(u(&ft["unpriced_calls"]), 0);
    // A model the catalog does not know: flagged, never $0.
    let unknown = row(&by_model, "acme-distilled-7b");
    assert_eq!(u(&unknown["unpriced_calls"]), 1);
    assert!(by_model["price_coverage"].as_f64().unwrap() < 1.0);
    let prices = env.ok(&["prices"]);
    assert!(prices.contains("UNPRICED"), "{prices}");
}

#[test]
fn the_readme_tour_shows_what_the_binary_prints() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let cmd = "$ aifin --config sample-data/aifin.toml ledger --since 2026-10-01 --until 2026-10-31\n";
    let start = readme.find(cmd).expect("the README's tour") + cmd.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    assert_eq!(env.ok(&["ledger", "--since", "2026-10-01", "--until", "2026-10-31"]), shown);
    let cmd = "$ aifin --config sample-data/aifin.toml outcomes --as-of 2026-11-01\n";
    let start = readme.find(cmd).expect("the README's outcomes") + cmd.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    assert_eq!(env.ok(&["outcomes", "--as-of", "2026-11-01"]), shown);
}
