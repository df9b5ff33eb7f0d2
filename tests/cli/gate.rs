//! The eval gate through the binary: the paper's table VI from the sample
//! evals and from a real promptfoo run, checked against values computed by
//! scipy/statsmodels (`scripts/gate-oracle.py`), exit codes for CI, bad
//! input, recording and history.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{Env, repo, u};

fn evals(name: &str) -> String {
    repo().join("sample-data/evals").join(name).display().to_string()
}

fn promptfoo(name: &str) -> String {
    repo().join("tests/fixtures/gate/promptfoo").join(name).display().to_string()
}

fn oracle() -> Value {
    let p: PathBuf = repo().join("tests/fixtures/gate/oracle.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn close(got: &Value, want: &Value, rel: f64, what: &str) {
    let (g, w) = (got.as_f64().unwrap_or_else(|| panic!("{what}: {got}")), want.as_f64().unwrap());
    assert!((g - w).abs() <= rel * w.abs().max(1e-12), "{what}: got {g}, want {w}");
}

/// Runs `aifin gate ARGS --json`; returns (exit code, JSON).
fn gate(env: &Env, args: &[&str]) -> (i32, Value) {
    let out = env.cmd().arg("gate").args(args).arg("--json").output().unwrap();
    let code = out.status.code().unwrap();
    assert!(code != 2, "aifin gate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

fn config<'a>(j: &'a Value, name: &str) -> &'a Value {
    j["configs"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name} in {j:#}"))
}

/// Every figure of the JSON against the oracle's table VI.
fn check_table_vi(j: &Value, candidate: &str) {
    let o = oracle();
    for name in ["Baseline", candidate] {
        let (c, w) = (config(j, name), &o["table_vi"]["configs"][name]);
        assert_eq!(c["cases"], w["cases"], "{name}");
        assert_eq!(c["passed"], w["passed"], "{name}");
        close(&c["pass_rate_ci_low"], &w["pass_rate_ci"][0], 1e-12, "Wilson low");
        close(&c["pass_rate_ci_high"], &w["pass_rate_ci"][1], 1e-12, "Wilson high");
        close(&c["cost_usd"], &w["cost_usd"], 1e-12, "cost");
        close(&c["cost_per_success_usd"], &w["cost_per_success"], 1e-7, "cost per success (to the nano-dollar)");
        close(&c["cost_per_success_ci_low"], &w["cost_per_success_ci"][0], 1e-9, "delta-log low");
        close(&c["cost_per_success_ci_high"], &w["cost_per_success_ci"][1], 1e-9, "delta-log high");
        assert_eq!(c["cost_per_success_ci_method"], "delta-log");
    }
    let cmp = j["comparisons"].as_array().unwrap().iter().find(|c| c["candidate"] == candidate).unwrap();
    let w = &o["table_vi"]["comparisons"][candidate];
    assert_eq!(cmp["baseline"], "Baseline");
    assert_eq!(u(&cmp["paired_cases"]), 500);
    assert_eq!(cmp["baseline_only_passed"], w["baseline_only_passed"]);
    assert_eq!(cmp["candidate_only_passed"], w["candidate_only_passed"]);
    close(&cmp["mcnemar_exact_p"], &w["mcnemar_exact_p"], 1e-9, "McNemar exact");
    close(&cmp["mcnemar_midp_p"], &w["mcnemar_midp_p"], 1e-9, "mid-p");
    close(&cmp["pass_rate_diff_ci_low"], &w["pass_rate_diff_ci"][0], 1e-6, "Tango low");
    close(&cmp["pass_rate_diff_ci_high"], &w["pass_rate_diff_ci"][1], 1e-6, "Tango high");
    assert_eq!(cmp["lost_cases"].as_array().unwrap().len() as u64, u(&cmp["baseline_only_passed"]));
    assert_eq!(cmp["gained_cases"].as_array().unwrap().len() as u64, u(&cmp["candidate_only_passed"]));
}

#[test]
fn sample_evals_give_table_vi_reject_then_promote() {
    let env = Env::new();
    let (code, j) = gate(&env, &["--evals", &evals("baseline.jsonl"), &evals("aggressive-compression.jsonl")]);
    assert_eq!(code, 1, "a rejected candidate fails the CI step");
    check_table_vi(&j, "Aggressive compression");
    assert_eq!(j["comparisons"][0]["decision"], "reject");
    assert_eq!(j["all_promoted"], false);

    let (code, j) = gate(&env, &["--evals", &evals("baseline.jsonl"), &evals("gated-compression-routing.jsonl")]);
    assert_eq!(code, 0, "a promoted candidate passes");
    check_table_vi(&j, "Gated compression + routing");
    assert_eq!(j["comparisons"][0]["decision"], "promote");
    // Rates as fractions, changes in percent: -55.8% as in the paper
    // ($0.0156 against $0.0354).
    let pct = j["comparisons"][0]["cost_per_success_change_pct"].as_f64().unwrap();
    assert!((pct - (7.45 / 477.0 / (16.8 / 475.0) - 1.0) * 100.0).abs() < 1e-6, "{pct}");
}

#[test]
fn the_table_reads_like_the_papers() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["gate", "--evals", &evals("baseline.jsonl"), &evals("aggressive-compression.jsonl")])
        .arg(evals("gated-compression-routing.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "one of the two candidates is rejected");
    let text = String::from_utf8(out.stdout).unwrap();
    // The paper's table VI, row by row: cost per call, pass rate, cost per
    // successful task, decision.
    for (name, per_call, rate, per_success, decision) in [
        ("Baseline ", "$0.0336", "95.0%", "$0.0354", "baseline"),
        ("Aggressive compression", "$0.0121", "88.0%", "$0.0138", "Reject"),
        ("Gated compression + routing", "$0.0149", "95.4%", "$0.0156", "Promote"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(name) && l.contains(per_call))
            .unwrap_or_else(|| panic!("{name}:\n{text}"));
        for want in [rate, per_success, decision] {
            assert!(line.contains(want), "{name}: {want} in {line}");
        }
    }
}

#[test]
fn a_real_promptfoo_run_gives_the_same_table() {
    let env = Env::new();
    let results = promptfoo("results.json");
    let (code, j) = gate(&env, &["--evals", &results, "--candidate", "Aggressive compression"]);
    assert_eq!(code, 1);
    check_table_vi(&j, "Aggressive compression");
    let (code, j) = gate(&env, &["--evals", &results, "--candidate", "Gated compression + routing"]);
    assert_eq!(code, 0);
    check_table_vi(&j, "Gated compression + routing");
    // The first provider of the config is the baseline, whatever order
    // promptfoo finished the rows in.
    assert_eq!(j["configs"][0]["name"], "Baseline");
}

#[test]
fn promptfoo_rows_without_cost_are_priced_and_errors_count_as_failures() {
    let env = Env::new();
    let (code, j) = gate(&env, &["--evals", &promptfoo("priced.json")]);
    assert_eq!(code, 1);
    // Two prompts: configurations are "prompt · provider".
    let mini = config(&j, "short · openai:chat:gpt-4o-mini");
    let haiku = config(&j, "short · anthropic:messages:claude-haiku-4-5");
    assert_eq!(u(&mini["cases"]), 8);
    // gpt-4o-mini at $0.15/M input, $0.075/M cached, $0.60/M output:
    // (1000 x 0.15 + 200 x 0.075 + 300 x 0.60) / 1e6 = $0.000345 a call.
    assert_eq!(u(&mini["cost_nanousd"]), 8 * 345_000);
    // claude-haiku-4-5 at $1/M in, $5/M out: $0.00205 a call; the two
    // errors produced nothing and cost nothing.
    assert_eq!(u(&haiku["cost_nanousd"]), 6 * 2_050_000);
    assert_eq!(u(&haiku["errors"]), 2);
    assert_eq!(u(&haiku["cases"]), 8, "errors stay in the sample");
    // Baseline passes per cases.json: c003 and c007 passed there but the
    // candidate errored on them.
    let cmp = j["comparisons"].as_array().unwrap().iter().find(|c| c["candidate"] == haiku["name"]).unwrap();
    let lost: Vec<&Value> =
        cmp["lost_cases"].as_array().unwrap().iter().filter(|c| c["candidate_error"] == true).collect();
    assert_eq!(lost.len(), 2, "{cmp:#}");
}

#[test]
fn aifin_csv_and_jsonl_rows_with_usage_priced_from_the_catalog() {
    let env = Env::new();
    let csv = env.write(
        "evals.csv",
        "config,case,passed,model,usage.uncached_input,usage.output,error\n\
         base,1,1,gpt-4o-mini,1000,300,\n\
         base,2,0,gpt-4o-mini,1000,300,\n\
         cand,1,1,gpt-4o-mini,500,300,\n\
         cand,2,0,gpt-4o-mini,500,300,timeout\n",
    );
    let (code, j) = gate(&env, &["--evals", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{j:#}");
    // (1000 x 0.15 + 300 x 0.60) / 1e6 = $0.00033 a case.
    assert_eq!(u(&config(&j, "base")["cost_nanousd"]), 2 * 330_000);
    assert_eq!(u(&config(&j, "cand")["cost_nanousd"]), 2 * 255_000);
    assert_eq!(u(&config(&j, "cand")["errors"]), 1);
    let jsonl = env.write(
        "evals.jsonl",
        "{\"config\":\"a\",\"case\":7,\"passed\":true,\"cost_usd\":0.01}\n{\"config\":\"b\",\"case\":\"7\",\"passed\":true,\"cost_usd\":0.02}\n",
    );
    let (code, j) = gate(&env, &["--evals", jsonl.to_str().unwrap()]);
    assert_eq!(code, 1, "a dearer success is rejected");
    assert_eq!(u(&j["comparisons"][0]["paired_cases"]), 1, "case 7 and \"7\" are the same case");
}

#[test]
fn bad_rows_and_too_few_configurations_exit_2_naming_file_and_line() {
    let env = Env::new();
    let bad = env.write(
        "bad.jsonl",
        "{\"config\":\"a\",\"case\":\"c1\",\"passed\":true,\"cost_usd\":0.01}\n{\"config\":\"b\",\"case\":\"c1\",\"passed\":\"maybe\"}\n",
    );
    let err = env.fails(&["gate", "--evals", bad.to_str().unwrap()]);
    assert!(err.contains("bad.jsonl") && err.contains("line 2"), "{err}");
    let err = env.fails(&["gate", "--evals", &evals("baseline.jsonl")]);
    assert!(err.contains("at least two configurations"), "{err}");
    let err = env.fails(&["gate", "--evals", &evals("baseline.jsonl"), &evals("baseline.jsonl")]);
    assert!(err.contains("twice"), "the same file twice is not a bigger sample: {err}");
    let err = env.fails(&[
        "gate",
        "--evals",
        &evals("baseline.jsonl"),
        &evals("aggressive-compression.jsonl"),
        "--baseline",
        "nope",
    ]);
    assert!(err.contains("--baseline 'nope'") && err.contains("Aggressive compression"), "{err}");
    let err = env.fails(&[
        "gate",
        "--evals",
        &evals("baseline.jsonl"),
        &evals("aggressive-compression.jsonl"),
        "--margin",
        "-1",
    ]);
    assert!(err.contains("--margin"), "{err}");
    let err = env.fails(&[
        "gate",
        "--evals",
        &evals("baseline.jsonl"),
        &evals("aggressive-compression.jsonl"),
        "--workflow",
        "x",
    ]);
    assert!(err.contains("--record"), "{err}");
    let err = env.fails(&["gate", "--evals", env.path("missing.jsonl").to_str().unwrap()]);
    assert!(err.contains("missing.jsonl"), "{err}");
}

#[test]
fn a_margin_is_non_inferiority_and_small_samples_are_said() {
    let env = Env::new();
    let files = [evals("baseline.jsonl"), evals("aggressive-compression.jsonl")];
    // Tango's interval for aggressive is -9.7 to -4.9 points: a 10-point
    // margin tolerates it, a 2-point margin does not.
    let (code, j) = gate(&env, &["--evals", &files[0], &files[1], "--margin", "10"]);
    assert_eq!(code, 0, "{j:#}");
    assert!((j["margin"].as_f64().unwrap() - 0.10).abs() < 1e-12, "margins are fractions in JSON");
    let (code, j) = gate(&env, &["--evals", &files[0], &files[1], "--margin", "2"]);
    assert_eq!(code, 1);
    let reasons = j["comparisons"][0]["reasons"].to_string();
    assert!(reasons.contains("falls below the margin of -2.0 points"), "{reasons}");
    // Gated: 16 discordant of 500; (1.96 + 0.84)^2 x 0.032 / 0.02^2 = 628
    // cases would be needed to see a 2-point drop.
    let (code, j) = gate(&env, &["--evals", &files[0], &evals("gated-compression-routing.jsonl"), "--margin", "2"]);
    assert_eq!(code, 0);
    let warnings = j["comparisons"][0]["warnings"].to_string();
    assert!(warnings.contains("500 cases: a 2-point drop would not be detected reliably (about 628"), "{warnings}");
}

#[test]
fn unpaired_configurations_use_newcombe_and_say_so() {
    let env = Env::new();
    // The gated run's cases renamed: no case in common with the baseline.
    let renamed = std::fs::read_to_string(evals("gated-compression-routing.jsonl"))
        .unwrap()
        .replace("\"case\":\"c", "\"case\":\"g");
    let other = env.write("gated.jsonl", renamed);
    let (_, j) = gate(&env, &["--evals", &evals("baseline.jsonl"), other.to_str().unwrap()]);
    let c = &j["comparisons"][0];
    assert_eq!(u(&c["paired_cases"]), 0);
    assert!(c["mcnemar_exact_p"].is_null() && c["mcnemar_midp_p"].is_null());
    assert_eq!(c["pass_rate_diff_ci_method"], "newcombe");
    let want = &oracle()["newcombe"][0];
    assert_eq!((want["x1"].as_u64(), want["x2"].as_u64()), (Some(477), Some(475)));
    close(&c["pass_rate_diff_ci_low"], &want["ci"][0], 1e-9, "Newcombe low");
    close(&c["pass_rate_diff_ci_high"], &want["ci"][1], 1e-9, "Newcombe high");
    assert!(c["warnings"].to_string().contains("no case in common"));
}

#[test]
fn recorded_runs_are_events_listed_by_history() {
    let env = Env::new();
    let base = evals("baseline.jsonl");
    let rec = |cand: &str, lever: &str| {
        env.cmd()
            .args([
                "gate",
                "--evals",
                &base,
                &evals(cand),
                "--record",
                "--workflow",
                "support-copilot",
                "--lever",
                lever,
            ])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(rec("aggressive-compression.jsonl", "compression"), Some(1));
    assert_eq!(rec("gated-compression-routing.jsonl", "routing"), Some(0));
    let h = env.json(&["gate", "--history"]);
    let runs = h["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["candidate"], "Gated compression + routing", "newest first");
    assert_eq!(runs[0]["decision"], "promote");
    assert_eq!(runs[0]["lever"], "routing");
    assert_eq!(runs[1]["decision"], "reject");
    assert_eq!(runs[1]["workflow"], "support-copilot");
    assert_eq!(runs[0]["inputs_hash"].as_str().unwrap().len(), 16);
    assert!(env.json(&["gate", "--history", "--workflow", "other"])["runs"].as_array().unwrap().is_empty());
    let err =
        env.fails(&["gate", "--evals", &base, &evals("aggressive-compression.jsonl"), "--record", "--lever", "magic"]);
    assert!(err.contains("compression, routing, caching, policy"), "{err}");
    // A gate without --record needs no database.
    let fresh = Env::new();
    gate(&fresh, &["--evals", &base, &evals("gated-compression-routing.jsonl")]);
    assert!(!fresh.db().exists());
}

#[test]
fn ingest_skips_eval_rows_with_the_reason() {
    let env = Env::sample();
    let s = env.ingest(&[&repo().join("sample-data/evals")]);
    assert_eq!(u(&s["stored"]), 0);
    assert_eq!(u(&s["rejected"]), 0);
    assert_eq!(u(&s["skipped"]), 1500);
    assert_eq!(u(&s["skipped_by_reason"]["eval results: use aifin gate"]), 1500);
}

#[test]
fn the_readme_shows_what_the_binary_prints() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let cmd = "$ aifin gate --evals sample-data/evals/baseline.jsonl sample-data/evals/aggressive-compression.jsonl sample-data/evals/gated-compression-routing.jsonl\n";
    let start = readme.find(cmd).expect("the README shows the gate") + cmd.len();
    let shown = &readme[start..start + readme[start..].find("```").unwrap()];
    let out = Env::new()
        .cmd()
        .current_dir(repo())
        .args(["gate", "--evals", "sample-data/evals/baseline.jsonl", "sample-data/evals/aggressive-compression.jsonl"])
        .arg("sample-data/evals/gated-compression-routing.jsonl")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), shown);
}
