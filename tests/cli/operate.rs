//! Operate through the binary: the RACI table and its rules, owners and
//! ownership coverage, budgets and burn-rate alerts (timing worked by
//! hand with the SRE Workbook's arithmetic), the KPI board and the
//! rollout, and `aifin watch` running a command on each transition.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{Env, repo};

fn exit(env: &Env, args: &[&str]) -> (i32, String, String) {
    let out = env.cmd().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_default_raci_is_the_papers_table_repaired() {
    let env = Env::new();
    let j = env.json(&["raci"]);
    assert_eq!(j["functions"], serde_json::json!(["Finance", "Engineering", "Governance", "Product"]));
    let acts = j["activities"].as_array().unwrap();
    assert_eq!(acts.len(), 7);
    // The paper's letters (section VIII), with the one repair.
    let letters = |i: usize| -> String {
        ["Finance", "Engineering", "Governance", "Product"]
            .iter()
            .map(|f| acts[i]["roles"][f].as_str().unwrap())
            .collect()
    };
    assert_eq!(acts[0]["name"], "Set AI budget and forecast");
    assert_eq!(letters(0), "ACIC");
    assert_eq!(acts[1]["name"], "Attribute spend to workflows");
    assert_eq!(letters(1), "CAII", "the paper's C R I I has no A");
    assert_eq!(letters(5), "CRAC");
    assert_eq!(letters(6), "ARCC");
    assert!(j["notes"][0].as_str().unwrap().contains("C R I I"));
    assert!(j["ownership_coverage"].is_null(), "no ledger");
    assert_eq!(j["errors"], serde_json::json!([]));
    let text = env.ok(&["raci"]);
    assert!(text.contains("repaired") && text.contains("Engineering is accountable there"), "{text}");
}

#[test]
fn an_invalid_raci_fails_only_aifin_raci() {
    let mut env = Env::new();
    let cfg = env.write(
        "aifin.toml",
        r#"
[raci]
functions = ["Finance", "Engineering"]
[[raci.activity]]
name = "Set budget"
roles = { Finance = "A", Engineering = "A" }
[[raci.activity]]
name = "Run the gate"
roles = { Finance = "R", Legal = "A" }
[[raci.activity]]
name = "Review"
roles = { Finance = "A", Engineering = "X" }
[[raci.activity]]
name = "Policy"
roles = { Engineering = "A" }
"#,
    );
    env.config = Some(cfg);
    let (code, out, err) = exit(&env, &["raci", "--json"]);
    assert_eq!(code, 2, "{err}");
    let j: Value = serde_json::from_str(&out).unwrap();
    let errors: Vec<&str> = j["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(errors.iter().any(|e| e.contains("'Set budget'") && e.contains("2 accountable")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("'Run the gate'") && e.contains("unknown function 'Legal'")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("'Run the gate'") && e.contains("no accountable")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("'Review'") && e.contains("'X'")), "{errors:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");
    // A row with an A and no R is fine: a note.
    assert!(j["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("'Policy'")));
    assert!(err.contains("error: activity 'Set budget'"), "{err}");
    // Other commands warn in one line and go on.
    let f = env.write("a.jsonl", crate::util::native_lines("x", 2));
    env.ingest(&[&f]);
    let (code, _, err) = exit(&env, &["alerts"]);
    assert_eq!(code, 0);
    assert_eq!(err.lines().filter(|l| l.starts_with("warning:")).count(), 1, "{err}");
    assert!(err.contains("aifin raci"), "{err}");
}

#[test]
fn ownership_coverage_is_the_share_of_spend_with_an_accountable_person() {
    let mut env = Env::new();
    let cfg = env.write(
        "aifin.toml",
        r##"
[attribution.owners]
"a" = "CX"
[[owner]]
team = "CX"
accountable = "lead@x"
oncall = "#cx"
[[owner]]
workflow = "b"
accountable = "bo@x"
contacts = { Finance = "fin@x" }
"##,
    );
    env.config = Some(cfg);
    // gpt-4o input at $2.50 per million: a $2.50, b $1.00, c $1.50.
    let lines = [
        crate::util::native("2026-10-05T10:00:00Z", "r1", "gpt-4o", "a", 1_000_000, 0),
        crate::util::native("2026-10-05T10:01:00Z", "r2", "gpt-4o", "b", 400_000, 0),
        crate::util::native("2026-10-05T10:02:00Z", "r3", "gpt-4o", "c", 600_000, 0),
        // Last month: not in the month to date.
        crate::util::native("2026-09-30T10:00:00Z", "r4", "gpt-4o", "c", 9_000_000, 0),
    ];
    let f = env.write("o.jsonl", lines.join("\n") + "\n");
    env.ingest(&[&f]);
    let j = env.json(&["raci", "--as-of", "2026-10-20"]);
    assert_eq!(j["ownership_coverage"], 0.7, "($2.50 + $1.00) / $5.00");
    let o = |w: &str| j["owners"].as_array().unwrap().iter().find(|o| o["workflow"] == w).unwrap().clone();
    assert_eq!(o("a")["accountable"], "lead@x", "the team's entry");
    assert_eq!(o("a")["team"], "CX");
    assert_eq!(o("a")["oncall"], "#cx");
    assert_eq!(o("a")["spend_share"], 0.5);
    assert_eq!(o("b")["accountable"], "bo@x");
    assert_eq!(o("b")["contacts"]["Finance"], "fin@x");
    assert!(o("c")["accountable"].is_null());
    let w = j["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1);
    assert!(w[0].as_str().unwrap().contains("'c'") && w[0].as_str().unwrap().contains("$1.50"), "{w:?}");
}

/// Six heavy o3-deep-research calls of the sales research agent, 20 s
/// apart from 14:00:00 on 31 October: 27,300 input tokens at $10 and
/// 6,924 output at $40 per million, $0.55 each, $3.30 in all (the demo's
/// runaway).
fn runaway() -> String {
    (0..6)
        .map(|k| {
            format!(
                r#"{{"ts":"2026-10-31T14:0{}:{:02}Z","request_id":"spike{k}","provider":"openai","model":"o3-deep-research","workflow":"sales-research-agent","team":"Revenue","usage":{{"uncached_input":27300,"output":6924}}}}"#,
                k / 3,
                (k % 3) * 20
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn a_runaway_pages_the_owner_and_resolves_after_it() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    // The sample month alone fires nothing.
    let (code, out, _) = exit(&env, &["alerts", "--as-of", "2026-10-31T14:00:00Z", "--json"]);
    assert_eq!(code, 0);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["alerts"], serde_json::json!([]), "steady traffic");
    let f = env.write("spike.jsonl", runaway());
    env.ingest(&[&f]);
    // Budget $100 over October's 744 hours: the page's 1-hour threshold is
    // 14.4 x 100 / 744 = $1.9355; the 5-minute one $0.1613. At 14:01 the
    // last hour holds three calls ($1.65): no page; at 14:02, six ($3.30).
    let (code, out, _) = exit(&env, &["alerts", "--as-of", "2026-10-31T14:03:00Z", "--json"]);
    assert_eq!(code, 1, "{out}");
    let j: Value = serde_json::from_str(&out).unwrap();
    let find = |j: &Value, b: &str| j["alerts"].as_array().unwrap().iter().find(|a| a["budget"] == b).cloned().unwrap();
    let a = &find(&j, "sales-research-agent");
    assert_eq!(a["scope"], "workflow");
    assert_eq!(a["severity"], "page");
    assert_eq!(a["state"], "firing");
    assert_eq!(a["started_at"], "2026-10-31T14:02:00.000Z");
    assert_eq!(a["windows"], serde_json::json!({"long": "1h", "short": "5m", "threshold": 14.4}));
    assert_eq!(a["owner"], "sam@acme.example");
    assert_eq!(a["oncall"], "#revenue-oncall");
    // At 14:03 the last hour holds $3.30 (the sample has no other call of
    // the agent after 13:03): 3.30 x 744 / 100 = 24.55x.
    assert!((a["burn_rate"].as_f64().unwrap() - 24.552).abs() < 0.01, "{a}");
    // The total budget ($200) does not page: its 1-hour threshold is
    // 14.4 x 200 / 744 = $3.87; nor ticket: 3 days at 1x is $19.35.
    assert_eq!(j["alerts"].as_array().unwrap().len(), 1, "{out}");
    // The 6-hour pair needs $4.84 (6 x 6 x 100 / 744): not reached, so the
    // page ends when the 5-minute window no longer holds a spike call: the
    // last is at 14:01:40, so the window [14:02, 14:07) is the first empty.
    let (code, out, _) = exit(&env, &["alerts", "--as-of", "2026-10-31T16:00:00Z", "--json"]);
    assert_eq!(code, 0, "{out}");
    let j: Value = serde_json::from_str(&out).unwrap();
    let a = &find(&j, "sales-research-agent");
    assert_eq!(a["state"], "resolved");
    assert_eq!(a["ended_at"], "2026-10-31T14:07:00.000Z");
    let b = j["budgets"].as_array().unwrap().iter().find(|b| b["budget"] == "sales-research-agent").unwrap();
    assert_eq!(b["monthly_usd"], 100.0);
    assert_eq!(b["scope"], "workflow");
    // October's $17.60 plus the runaway.
    assert_eq!(b["spent_nanousd"], 17_600_000_000i64 + 6 * 549_960_000);
    let text = env.ok(&["alerts", "--as-of", "2026-10-31T16:00:00Z"]);
    assert!(text.contains("resolved") && text.contains("sam@acme.example"), "{text}");
}

#[test]
fn budgets_and_alerts_are_checked() {
    let mut env = Env::new();
    let cfg = env.write("aifin.toml", "[[budget]]\nmonthly_usd = 10\nworkflow = \"a\"\nteam = \"b\"\n");
    env.config = Some(cfg);
    let (code, _, err) = exit(&env, &["raci"]);
    assert_eq!(code, 2);
    assert!(err.contains("[[budget]] #1") && err.contains("at most one"), "{err}");
    let env2 = Env::new();
    let (code, out, _) = exit(&env2, &["alerts", "--json"]);
    assert_eq!(code, 0);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["budgets"], serde_json::json!([]));
}

#[test]
fn the_kpi_board_and_the_rollout_from_the_sample() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let (code, out, _) = exit(&env, &["kpis", "--as-of", "2026-10-31T23:00:00Z", "--json"]);
    let j: Value = serde_json::from_str(&out).unwrap();
    let k = |name: &str| j["kpis"].as_array().unwrap().iter().find(|k| k["name"] == name).unwrap().clone();
    let names: Vec<&str> = j["kpis"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "cost_per_successful_outcome",
            "attribution_coverage",
            "forecast_accuracy",
            "input_share_of_spend",
            "eval_pass_rate_at_promotion",
            "budget_variance",
            "cache_hit_rate"
        ]
    );
    // Every call of the sample is attributed.
    assert_eq!(k("attribution_coverage")["value"], 1.0);
    assert_eq!(k("attribution_coverage")["status"], "ok");
    assert_eq!(k("attribution_coverage")["owner"], "Engineering");
    // Cache reads / all input, from the sample's ledger (table III): its
    // input tokens (15,669,600) count every input class, cache reads
    // (2,278,271) included.
    let cache = k("cache_hit_rate")["value"].as_f64().unwrap();
    assert!((cache - 2_278_271.0 / 15_669_600.0).abs() < 1e-6, "{cache}");
    assert_eq!(k("cache_hit_rate")["target"], Value::Null);
    // No recorded promotion, no earlier quarter: not measured, no number.
    for n in ["eval_pass_rate_at_promotion", "cost_per_successful_outcome", "forecast_accuracy"] {
        assert_eq!(k(n)["status"], "not_measured", "{n}");
        assert!(k(n)["value"].is_null(), "{n}");
    }
    // The total budget is $200; at 23:00 on the 31st the month-end
    // projection is October's $110.00 (the paper's table III) give or take
    // the last hour's spend, under $1: (110 - 200) / 200 = -0.45.
    let v = k("budget_variance")["value"].as_f64().unwrap();
    assert!((v - (110.0 - 200.0) / 200.0).abs() < 0.005, "{v}");
    assert_eq!(k("budget_variance")["status"], "breach");
    assert_eq!(code, 1, "a KPI in breach");
    let share = k("input_share_of_spend");
    assert!(share["by_workflow"].as_array().unwrap().len() >= 5, "{share}");
    assert_eq!(k("attribution_coverage")["trend"].as_array().unwrap().len(), 6);
    // The rollout.
    let steps = j["rollout"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[0]["status"], "done", "31 days of calls");
    assert_eq!(steps[1]["status"], "done");
    assert_eq!(steps[3]["status"], "not_started", "no gate run recorded");
    assert_eq!(steps[4]["status"], "in_progress");
    assert!(j["next_action"].as_str().unwrap().contains("aifin gate"), "{}", j["next_action"]);
    // A recorded review counts.
    let (_, _, _) = exit(&env, &["kpis", "--as-of", "2026-10-31T23:00:00Z", "--record-review"]);
    let (_, out, _) = exit(&env, &["kpis", "--as-of", "2026-12-31", "--json"]);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert!(j["rollout"][4]["evidence"].as_str().unwrap().contains("1 review(s)"), "{}", j["rollout"][4]);
}

#[test]
fn watch_runs_the_command_once_per_transition_and_remembers_across_restarts() {
    let mut env = Env::new();
    let cfg = env.write(
        "aifin.toml",
        r##"
[[owner]]
workflow = "w"
accountable = "dana@x"
oncall = "#w"
[[budget]]
workflow = "w"
monthly_usd = 1
"##,
    );
    env.config = Some(cfg);
    // $1 a month; one call of $0.10 now is far over any burn.
    let now = aifin::bench::now_ms();
    let line = crate::util::native(&aifin::bench::format_utc(now - 30_000), "n1", "gpt-4o", "w", 40_000, 0);
    let logs = env.write("logs/a.jsonl", line + "\n");
    let hook = env.path("hook.jsonl");
    let run = |secs: u64| {
        let child = env
            .std_cmd()
            .args(["watch", logs.to_str().unwrap(), "--every", "0.2", "--exec"])
            .arg(format!("cat >> '{}'", hook.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs)
            && std::fs::read_to_string(&hook).map(|s| s.lines().count()).unwrap_or(0) == 0
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(800));
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        child.wait_with_output().unwrap()
    };
    let out = run(20);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hooked = std::fs::read_to_string(&hook).unwrap();
    let lines: Vec<Value> = hooked.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Page and ticket both fire (a 1-hour, 6-hour and 3-day burn far over).
    assert_eq!(lines.len(), 2, "{hooked}");
    for l in &lines {
        assert_eq!(l["state"], "firing");
        assert_eq!(l["budget"], "w");
        assert_eq!(l["owner"], "dana@x");
        assert_eq!(l["oncall"], "#w");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FIRING page w") && stdout.contains("dana@x"), "{stdout}");
    // A restart neither forgets nor re-fires them.
    let out = run(2);
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&hook).unwrap().lines().count(), 2, "no second firing");
}

/// A hand-built ledger for the KPIs: workflow `w` makes one gpt-4o call a
/// day at noon from 1 July to 19 October 2026, 400,000 input tokens ($1.00
/// at $2.50 per million) and 25,000 output ($0.25 at $10): $1.25 a day.
fn steady_days() -> String {
    let mut out = String::new();
    let mut day = aifin::bench::MS_PER_DAY * 20_635; // 2026-07-01
    let end = aifin::bench::MS_PER_DAY * 20_745; // 2026-10-19
    let mut k = 0;
    while day <= end {
        let ts = aifin::bench::format_utc(day + 12 * 3_600_000);
        out.push_str(&format!(
            r#"{{"ts":"{ts}","request_id":"d{k}","model":"gpt-4o","workflow":"w","usage":{{"uncached_input":400000,"output":25000}}}}"#
        ));
        out.push('\n');
        // Outcomes: 10 of the first 19 July calls succeed, 9 fail; every
        // October call succeeds.
        let july = k < 19;
        let october = day >= aifin::bench::MS_PER_DAY * 20_727;
        if july || october {
            let success = !july || k < 10;
            out.push_str(&format!(r#"{{"type":"outcome","ts":"{ts}","request_id":"d{k}","success":{success}}}"#));
            out.push('\n');
        }
        day += aifin::bench::MS_PER_DAY;
        k += 1;
    }
    out
}

#[test]
fn each_kpi_on_hand_built_data() {
    assert_eq!(aifin::bench::format_utc(aifin::bench::MS_PER_DAY * 20_635), "2026-07-01T00:00:00.000Z");
    assert_eq!(aifin::bench::format_utc(aifin::bench::MS_PER_DAY * 20_727), "2026-10-01T00:00:00.000Z");
    let mut env = Env::new();
    let cfg = env.write(
        "aifin.toml",
        "[report]\ntz = \"UTC\"\n[[budget]]\nmonthly_usd = 38.75\n[kpi.cache_hit_rate]\ntarget = 0.3\n",
    );
    env.config = Some(cfg);
    let f = env.write("days.jsonl", steady_days());
    env.ingest(&[&f]);
    let (code, out, err) = exit(&env, &["kpis", "--as-of", "2026-10-20", "--json"]);
    let j: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let k = |name: &str| j["kpis"].as_array().unwrap().iter().find(|k| k["name"] == name).unwrap().clone();
    // Cost per success: quarter to date (1-19 Oct: $23.75 for 19
    // successes, $1.25) against 1-19 July ($23.75 for 10, $2.375):
    // 1.25 / 2.375 - 1 = -0.473684.
    let cps = k("cost_per_successful_outcome");
    assert!((cps["value"].as_f64().unwrap() - (1.25 / 2.375 - 1.0)).abs() < 1e-6, "{cps}");
    assert_eq!(cps["status"], "ok");
    // Forecast accuracy: flat days are projected exactly at mid-month
    // (July, August, September backtested): error 0.
    let fa = k("forecast_accuracy");
    assert_eq!(fa["value"], 0.0, "{fa}");
    assert_eq!(fa["trend"].as_array().unwrap().len(), 3);
    // Input share: $1.00 of every $1.25.
    let share = k("input_share_of_spend");
    assert!((share["value"].as_f64().unwrap() - 0.8).abs() < 1e-9, "{share}");
    assert!((share["by_workflow"][0]["value"].as_f64().unwrap() - 0.8).abs() < 1e-9);
    // Budget variance: 19 days spent ($23.75) and 12 to come at $1.25
    // project $38.75, the budget.
    let bv = k("budget_variance");
    assert!(bv["value"].as_f64().unwrap().abs() < 1e-6, "{bv}");
    assert_eq!(bv["status"], "ok");
    // Cache hit rate: no cache reads against a 30% floor.
    let ch = k("cache_hit_rate");
    assert_eq!(ch["value"], 0.0);
    assert_eq!(ch["status"], "breach");
    assert_eq!(code, 1, "a breach exits 1");
    // Eval pass rate at promotion: a promoted run (table VI), counted here
    // from the eval files themselves.
    let rate = |file: &str| {
        let text = std::fs::read_to_string(repo().join("sample-data/evals").join(file)).unwrap();
        let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        rows.iter().filter(|r| r["passed"] == true).count() as f64 / rows.len() as f64
    };
    let base = repo().join("sample-data/evals/baseline.jsonl");
    let cand = repo().join("sample-data/evals/gated-compression-routing.jsonl");
    let out = env
        .cmd()
        .args(["gate", "--evals", base.to_str().unwrap(), cand.to_str().unwrap(), "--record", "--workflow", "w"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, out, _) = exit(&env, &["kpis", "--json"]);
    let j: Value = serde_json::from_str(&out).unwrap();
    let e = j["kpis"].as_array().unwrap().iter().find(|k| k["name"] == "eval_pass_rate_at_promotion").unwrap().clone();
    assert!((e["value"].as_f64().unwrap() - rate("gated-compression-routing.jsonl")).abs() < 1e-6, "{e}");
    assert!((e["target"].as_f64().unwrap() - rate("baseline.jsonl")).abs() < 1e-6, "{e}");
    assert_eq!(
        e["status"],
        if rate("gated-compression-routing.jsonl") >= rate("baseline.jsonl") { "ok" } else { "breach" }
    );
    // As of before the run, it was not measured.
    let (_, out, _) = exit(&env, &["kpis", "--as-of", "2026-10-20", "--json"]);
    let j: Value = serde_json::from_str(&out).unwrap();
    let e = j["kpis"].as_array().unwrap().iter().find(|k| k["name"] == "eval_pass_rate_at_promotion").unwrap().clone();
    assert_eq!(e["status"], "not_measured");
    // The rollout: a baseline, coverage, success measured and a forecast
    // for the one top workflow, its lever promoted.
    let steps = j["rollout"].as_array().unwrap();
    assert_eq!(steps[2]["status"], "done", "{}", steps[2]);
}
