//! The ecosystem's formats: LiteLLM, OpenTelemetry GenAI, batch results
//! and Claude Code transcripts, priced against hand-computed costs.

use crate::util::{Env, i, repo, row, u};

const RULES: &str = r#"
[[attribution.rules]]
match = { "tag.service.name" = "*" }
set = { workflow = "{tag.service.name}" }
[[attribution.rules]]
match = { "tag.custom_id" = "*" }
set = { workflow = "{tag.custom_id}" }
"#;

#[test]
fn litellm_otel_and_batch_fixtures_cost_what_the_hand_computation_says() {
    let mut env = Env::new();
    env.config = Some(env.write("aifin.toml", RULES));
    let r = env.ingest(&[&repo().join("tests/fixtures/formats2")]);
    assert_eq!(u(&r["rejected"]), 0, "{r:#}");
    assert_eq!(u(&r["stored"]), 6);
    assert_eq!(u(&r["skipped"]), 2, "a failed and an expired batch request");
    let l = env.ledger("workflow");
    let expect: &[(&str, i64, &str)] = &[
        (
            "ll-anthropic",
            20_664_450,
            "LiteLLM folds cache into prompt_tokens: (18900-16399-2089)*3e-6 + 16399*3e-7 + 2089*3.75e-6 + 445*1.5e-5",
        ),
        ("ll-spendlogs", 10_380_000, "SpendLogs row, JSON-encoded metadata: 904*2.5e-6 + 4096*1.25e-6 + 300*1e-5"),
        ("otel-new", 3_520_000, "OTel v1.40 names: 176*2.5e-6 + 1024*1.25e-6 + 180*1e-5"),
        ("otel-old", 3_350_000, "OTel old names: 1000*1e-6 + 1000*1e-7 + 1000*1.25e-6 + 200*5e-6"),
        ("bx-openai", 1_350_000, "OpenAI batch output at batch rates: 10000*7.5e-8 + 2000*3e-7"),
        ("bx-anthropic", 13_500_000, "Anthropic batch result: 4000*1.5e-6 + 1000*7.5e-6"),
    ];
    for (wf, nanos, how) in expect {
        assert_eq!(i(&row(&l, wf)["cost_nanousd"]), *nanos, "{wf}: {how}");
    }
    let by_team = env.ledger("team");
    assert_eq!(u(&row(&by_team, "CX")["calls"]), 1, "team from the LiteLLM key's team alias");
    assert_eq!(u(&row(&by_team, "team-9")["calls"]), 1, "team from the SpendLogs team_id");
    let by_customer = env.ledger("customer");
    assert_eq!(u(&row(&by_customer, "acme")["calls"]), 1, "customer from end_user / request tags");
    // The LiteLLM-reported cost is kept beside the computed one.
    let ll = row(&l, "ll-anthropic");
    assert!((ll["reported_cost_usd"].as_f64().unwrap() - 0.0208647).abs() < 1e-12);
}

/// Hand-computed per day and model (see the fixture's lines):
/// * 2026-10-07 sonnet: msg_A, the largest of 3 streaming copies (output 250)
///   5*3e-6 + 10000*3e-7 + 2000*3.75e-6 + 250*1.5e-5 = 0.014265
/// * 2026-10-07 opus: msg_B once, although a sidechain replays it with a new
///   request id: 8*5e-6 + 12000*5e-7 + 500*1e-5 (1h write) + 400*2.5e-5 = 0.02104
/// * 2026-10-07 haiku: msg_D (sidechain's own call): 100*1e-6 + 200*5e-6 = 0.0011
/// * 2026-10-08 haiku: msg_C, larger copy: 3*1e-6 + 15000*1.25e-6 + 80*5e-6 = 0.019153
/// * 2026-10-08 sonnet: msg_E, larger copy, plus an exact duplicate line:
///   1000*3e-6 + 500*1.5e-5 = 0.0105
const CLAUDE_EXPECTED: &[(&str, &str, i64, u64)] = &[
    ("2026-10-07", "claude-sonnet-4-5", 14_265_000, 250),
    ("2026-10-07", "claude-opus-4-5", 21_040_000, 400),
    ("2026-10-07", "claude-haiku-4-5", 1_100_000, 200),
    ("2026-10-08", "claude-haiku-4-5", 19_153_000, 80),
    ("2026-10-08", "claude-sonnet-4-5", 10_500_000, 500),
];

fn check_claude_totals(env: &Env) {
    for day in ["2026-10-07", "2026-10-08"] {
        let l = env.json(&["ledger", "--by", "model", "--since", day, "--until", day, "--tz", "UTC"]);
        let want: Vec<_> = CLAUDE_EXPECTED.iter().filter(|e| e.0 == day).collect();
        assert_eq!(l["rows"].as_array().unwrap().len(), want.len(), "{day}: {l:#}");
        for (_, model, nanos, output) in want {
            let r = row(&l, model);
            assert_eq!(i(&r["cost_nanousd"]), *nanos, "{day} {model}");
            assert_eq!(u(&r["calls"]), 1, "{day} {model}");
            assert_eq!(u(&r["output_tokens"]), *output, "{day} {model}: the largest copy is kept");
        }
    }
}

#[test]
fn claude_code_tree_keeps_the_largest_copy_and_counts_sidechain_replays_once() {
    let env = Env::new();
    let tree = repo().join("tests/fixtures/claude-code");
    let r = env.ingest(&[&tree]);
    assert_eq!(u(&r["rejected"]), 0, "{r:#}");
    check_claude_totals(&env);
    // Ingesting the tree again, or the sidechain file first, changes nothing.
    env.ingest(&[&tree]);
    check_claude_totals(&env);
    let env2 = Env::new();
    env2.ingest(&[&tree.join("projects/-Users-dev-shop/s1/subagents/agent-a.jsonl")]);
    env2.ingest(&[&tree]);
    check_claude_totals(&env2);
    // Projects and sessions become dimensions.
    let by_model = env.ledger("model");
    assert_eq!(u(&by_model["total"]["calls"]), 5);
    let e = env.json(&["rejects"]);
    assert_eq!(e.as_array().unwrap().len(), 0);
}

#[test]
fn claude_code_dirs_are_default_sources() {
    let env = Env::new();
    let home = env.path("claude-home");
    let src = repo().join("tests/fixtures/claude-code/projects");
    let dst = home.join("projects");
    for entry in walkdir::WalkDir::new(&src).into_iter().flatten().filter(|e| e.file_type().is_file()) {
        let rel = entry.path().strip_prefix(&src).unwrap();
        let to = dst.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(entry.path(), &to).unwrap();
    }
    let out = env.cmd().arg("ingest").arg("--json").env("CLAUDE_CONFIG_DIR", &home).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check_claude_totals(&env);
    let wf = env.ledger("workflow");
    assert_eq!(u(&row(&wf, "claude-code")["calls"]), 5, "default Claude Code sources are attributed to 'claude-code'");
    // With no sources at all, ingest says what to do.
    let e = env.cmd().arg("ingest").env("CLAUDE_CONFIG_DIR", env.path("nowhere")).output().unwrap();
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("[[source]]"));
}

#[test]
fn config_sources_set_format_batch_and_attribution() {
    let mut env = Env::new();
    let log = env.write(
        "logs/plain.jsonl",
        concat!(
            r#"{"id":"chatcmpl-s1","object":"chat.completion","created":1791277320,"model":"gpt-4o-mini","usage":{"prompt_tokens":10000,"completion_tokens":2000}}"#,
            "\n"
        ),
    );
    let cfg = format!(
        "[[source]]\npath = \"{}\"\nformat = \"openai\"\nbatch = true\nset = {{ workflow = \"nightly-batch\", team = \"Data\" }}\n",
        log.parent().unwrap().join("*.jsonl").display()
    );
    env.config = Some(env.write("aifin.toml", cfg));
    let out = env.ok(&["ingest", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(u(&v["stored"]), 1);
    let l = env.ledger("workflow");
    let r = row(&l, "nightly-batch");
    assert_eq!(i(&r["cost_nanousd"]), 1_350_000, "batch rates from the source's batch = true");
    assert_eq!(r["team"], "Data");
}
