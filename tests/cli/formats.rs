//! Per-format fixtures priced against hand-computed costs: cached tokens,
//! cache writes (5 m / 1 h), reasoning, long-context tiers, batch, service
//! tiers and region multipliers. Each fixture record carries its own
//! workflow name so its cost can be read back from the ledger.

use crate::util::{Env, i, repo, row, u};

/// (workflow, expected nano-dollars, hand computation)
const EXPECTED: &[(&str, i64, &str)] = &[
    // LiteLLM's batch rule: without a batch cache-read price, cache reads
    // stay at the standard cache-read price.
    ("n-batch", 3_000_000, "gpt-4o batch: 1000*1.25e-6 + 1000*1.25e-6 + 100*5e-6"),
    ("n-tier", 405_000_000, "gemini-2.5-pro >200k: 150000*2.5e-6 + 60000*2.5e-7 + 1000*1.5e-5"),
    ("n-cache-write", 14_550_000, "claude-sonnet-4-5: 100*3e-6 + 2000*3.75e-6 + 1000*6e-6 + 50*1.5e-5"),
    ("oa-cached", 649_650, "gpt-4o-mini: 167*1.5e-7 + 4096*7.5e-8 + 529*6e-7"),
    ("oa-priority", 5_950_000, "gpt-4o priority: 1000*4.25e-6 + 100*1.7e-5"),
    ("oa-wrapped", 2_250_000, "gpt-4o: 500*2.5e-6 + 100*1e-5"),
    ("or-reasoning", 9_563_000, "gpt-5: 68*1.25e-6 + 2944*1.25e-7 + 911*1e-5 (640 reasoning inside)"),
    ("or-cache-write", 92_000_000, "gpt-5.6: 4000*4e-6 + 30000*4e-7 + 8000*5e-6 + 1200*2e-5"),
    ("an-ttl", 20_864_700, "claude-sonnet-4-5: 412*3e-6 + 16399*3e-7 + 2000*3.75e-6 + 89*6e-6 + 445*1.5e-5"),
    ("an-batch", 3_675_000, "claude-haiku-4-5 batch: 1000*5e-7 + 1000*5e-8 + 1000*6.25e-7 + 1000*2.5e-6"),
    ("an-geo-us", 33_000_000, "claude-opus-4-6 in the US: (1000*5e-6 + 1000*2.5e-5) * 1.1"),
];

#[test]
fn fixtures_cost_what_the_hand_computation_says() {
    let env = Env::new();
    let r = env.ingest(&[&repo().join("tests/fixtures/formats")]);
    assert_eq!(u(&r["rejected"]), 0, "{r:#}");
    assert_eq!(u(&r["stored"]), EXPECTED.len() as u64);
    let l = env.ledger("workflow");
    for (wf, nanos, how) in EXPECTED {
        assert_eq!(i(&row(&l, wf)["cost_nanousd"]), *nanos, "{wf}: {how}");
    }
}

#[test]
fn token_semantics_per_source() {
    let env = Env::new();
    env.ingest(&[&repo().join("tests/fixtures/formats")]);
    let l = env.ledger("workflow");
    // OpenAI: prompt_tokens includes the cached tokens.
    let oa = row(&l, "oa-cached");
    assert_eq!(u(&oa["input_tokens"]), 4263);
    assert_eq!(u(&oa["uncached_input_tokens"]), 167);
    assert_eq!(u(&oa["cache_read_tokens"]), 4096);
    // Anthropic: input_tokens excludes cache reads and writes.
    let an = row(&l, "an-ttl");
    assert_eq!(u(&an["uncached_input_tokens"]), 412);
    assert_eq!(u(&an["input_tokens"]), 412 + 16399 + 2089);
    assert_eq!(u(&an["cache_write_tokens"]), 2089);
    // Reasoning is part of output.
    let or = row(&l, "or-reasoning");
    assert_eq!(u(&or["output_tokens"]), 911);
    assert_eq!(u(&or["reasoning_tokens"]), 640);
}

#[test]
fn forcing_a_format_rejects_other_lines() {
    let env = Env::new();
    let r = env.ok(&[
        "ingest",
        "--json",
        "--format",
        "anthropic",
        repo().join("tests/fixtures/formats/openai.jsonl").to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&r).unwrap();
    assert_eq!(u(&v["stored"]), 0);
    assert!(u(&v["rejected"]) > 0);
    let rej = env.ok(&["rejects"]);
    assert!(rej.contains("forced with --format"), "{rej}");
}
