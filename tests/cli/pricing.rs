//! Prices against LiteLLM's own calculator: a 500-case sample of
//! `scripts/litellm-diff.py` (every log format, every pricing feature of
//! the catalog) with the cost LiteLLM 1.110.2's `cost_per_token` gave each
//! call. Every case must agree to 1e-9 relative or one nano-dollar, except
//! the deliberate differences the README's Pricing section lists.

use serde_json::Value;

use crate::util::{Env, i, repo, u};

/// The README's deliberate differences, by the case's catalog key and kind.
fn deliberate(key: &str, kind: &str) -> Option<&'static str> {
    if key.starts_with("fireworks_ai/") && kind.starts_with("tier_priority") {
        return Some(
            "LiteLLM's Fireworks calculator ignores the service tier; aifin uses the catalog's priority prices",
        );
    }
    if key.contains("twelvelabs.pegasus") {
        return Some("no per-token input price: aifin leaves the call unpriced");
    }
    None
}

#[test]
fn every_sampled_case_costs_what_litellm_says() {
    let env = Env::new();
    let cases = repo().join("tests/fixtures/pricing/litellm-cases.jsonl");
    let s = env.ingest(&[&cases]);
    assert_eq!(u(&s["rejected"]), 0, "{s:#}");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/pricing/litellm-expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(expected["litellm_version"], "1.110.2");
    let l = env.ledger("workflow");
    let rows: std::collections::HashMap<String, &Value> =
        l["rows"].as_array().unwrap().iter().map(|r| (r["key"].as_str().unwrap().to_string(), r)).collect();
    let cases = expected["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 500);
    let (mut agree, mut deliberate_n, mut wrong) = (0, 0, Vec::new());
    for (case, want) in cases {
        let row = rows.get(case).unwrap_or_else(|| panic!("{case} is not in the ledger"));
        assert_eq!(u(&row["calls"]), 1, "{case}");
        let key = want["key"].as_str().unwrap();
        let kind = want["kind"].as_str().unwrap();
        let got = (u(&row["unpriced_calls"]) == 0).then(|| i(&row["cost_nanousd"]));
        let litellm = want["nanousd"].as_i64();
        let same = match (got, litellm, want["usd"].as_f64()) {
            (Some(g), Some(_), Some(usd)) => {
                let diff = (g as f64 / 1e9 - usd).abs();
                diff <= (1e-9 * usd.abs()).max(1e-9)
            }
            (None, None, _) => true,
            _ => false,
        };
        if same {
            agree += 1;
        } else if deliberate(key, kind).is_some() {
            deliberate_n += 1;
        } else {
            wrong.push(format!("{case} {key} {kind} {}: aifin {got:?} nano-USD, LiteLLM {litellm:?}", want["format"]));
        }
    }
    assert!(wrong.is_empty(), "{} of 500 cases differ from LiteLLM:\n{}", wrong.len(), wrong.join("\n"));
    assert!(agree >= 490, "{agree} agree, {deliberate_n} deliberate");
}
