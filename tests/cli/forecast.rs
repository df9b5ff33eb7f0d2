//! `aifin forecast`: the paper's projection table from its drivers alone,
//! drivers measured from the sample month equal the ledger, levers, trend
//! and backtest.

use serde_json::Value;

use crate::util::{Env, i, repo, row};

fn cost(v: &Value) -> f64 {
    v["projected_monthly_cost_usd"].as_f64().unwrap()
}

#[test]
fn the_papers_projection_table_from_its_drivers() {
    let env = Env::new();
    let base = ["forecast", "--calls", "1240000", "--tokens-per-call", "7010", "--rate-per-1k", "0.0048"];
    let run = |extra: &[&str]| -> Value {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        env.json(&a)
    };
    let today = run(&[]);
    let growth = run(&["--growth", "40"]);
    let unmanaged = run(&["--growth", "40", "--new-tokens-per-call", "9100"]);
    let levers = run(&["--growth", "40", "--new-tokens-per-call", "3900", "--new-rate-per-1k", "0.0042"]);
    for (got, paper) in [
        (cost(&today["scenario"]), 41_800.0),
        (cost(&growth["scenario"]), 58_500.0),
        (cost(&unmanaged["scenario"]), 75_900.0),
        (cost(&levers["scenario"]), 28_400.0),
    ] {
        assert!((got - paper).abs() <= 150.0, "{got} vs the paper's {paper}");
    }
    let swing = cost(&unmanaged["scenario"]) - cost(&levers["scenario"]);
    assert!((swing - 47_500.0).abs() <= 150.0, "swing {swing}");
    assert_eq!(growth["scenario"]["monthly_calls"], 1_736_000.0);
    assert_eq!(growth["today"]["monthly_calls"], 1_240_000.0);
    assert!((growth["scenario"]["delta_vs_today_pct"].as_f64().unwrap() - 40.0).abs() < 1e-9);
    assert!((levers["scenario"]["delta_vs_today_pct"].as_f64().unwrap() - -31.85).abs() < 0.05);
    assert_eq!(today["source"], "flags");
    assert!(today.get("trend").is_none(), "no database, no trend");
    assert!(!env.db().exists(), "explicit drivers need no database");

    let text = env.ok(&[&base[..], &["--growth", "40"]].concat());
    assert!(text.contains("$41,723.52") && text.contains("$58,412.93") && text.contains("+40.0%"), "{text}");
}

#[test]
fn drivers_from_the_sample_month_equal_the_ledger() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let l = env.json(&["ledger", "--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC"]);
    let window = ["--since", "2026-10-01", "--until", "2026-10-31", "--month-days", "31", "--tz", "UTC"];
    for wf in ["support-copilot", "contract-extraction", "everything-else"] {
        let f = env.json(&[&["forecast", "--workflow", wf][..], &window].concat());
        let r = row(&l, wf);
        assert_eq!(f["source"], "ledger");
        assert_eq!(i(&f["today"]["projected_monthly_cost_nanousd"]), i(&r["cost_nanousd"]), "{wf}");
        assert_eq!(f["today"]["monthly_calls"].as_f64().unwrap(), i(&r["calls"]) as f64, "{wf}");
        let tpc = (i(&r["input_tokens"]) + i(&r["output_tokens"])) as f64 / i(&r["calls"]) as f64;
        assert!((f["today"]["tokens_per_call"].as_f64().unwrap() - tpc).abs() < 1e-9, "{wf}");
        assert_eq!(f["scenario"], f["today"], "no scenario flags: the scenario is today");
    }
    let all = env.json(&[&["forecast"][..], &window].concat());
    assert_eq!(i(&all["today"]["projected_monthly_cost_nanousd"]), i(&l["total"]["cost_nanousd"]));
    let cents = (i(&all["today"]["projected_monthly_cost_nanousd"]) + 5_000_000) / 10_000_000;
    assert_eq!(cents, 11_000, "the paper's $110.00");
    // Scaled to a 30-day month, 30/31 of it.
    let scaled = env.json(&["forecast", "--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC"]);
    let total = i(&l["total"]["cost_nanousd"]);
    let want = (total as f64 * 30.0 / 31.0).round() as i64;
    assert_eq!(i(&scaled["today"]["projected_monthly_cost_nanousd"]), want);
}

#[test]
fn levers_trend_and_backtest_on_the_sample_month() {
    let env = Env::sample();
    env.ingest(&[&repo().join("sample-data")]);
    let window = ["--since", "2026-10-01", "--until", "2026-10-31", "--month-days", "31", "--tz", "UTC"];
    let levers = ["--growth", "40", "--input-reduction", "40", "--cache-hit", "60"];
    let f = env.json(
        &[&["forecast", "--workflow", "support-copilot", "--as-of", "2026-11-20"][..], &window, &levers[..]].concat(),
    );
    let l = &f["levers"];
    let before = l["before_levers_usd"].as_f64().unwrap();
    assert!((before - 41.80 * 1.4).abs() < 0.01, "{before}");
    let composed = l["composed_usd"].as_f64().unwrap();
    assert!((composed - cost(&f["scenario"])).abs() < 1e-9);
    assert!(composed < before);
    assert!(l["naive_sum_saving_usd"].as_f64().unwrap() > l["composed_saving_usd"].as_f64().unwrap());
    assert_eq!(l["alone"].as_array().unwrap().len(), 2);

    // Routing to a cheaper catalog model lowers the rate; an unknown model is an error.
    let routed = env.json(
        &[
            &["forecast", "--workflow", "support-copilot", "--route-share", "50", "--route-to", "claude-haiku-4-5"][..],
            &window,
        ]
        .concat(),
    );
    assert!(routed["scenario"]["rate_per_1k_usd"].as_f64() < routed["today"]["rate_per_1k_usd"].as_f64());
    let err = env.fails(&[&["forecast", "--route-share", "50", "--route-to", "no-such-model-x"][..], &window].concat());
    assert!(err.contains("no-such-model-x") && err.contains("aifin prices"), "{err}");

    // Trend as of 20 October: month to date is the ledger's first 19 days and a bit.
    let t = &f["trend"];
    assert_eq!(t["month"], "2026-11");
    let oct = env.json(&[&["forecast", "--as-of", "2026-10-20T00:00:00Z"][..], &window].concat());
    let tr = &oct["trend"]["trend"];
    let mtd = env.json(&["ledger", "--since", "2026-10-01", "--until", "2026-10-19", "--tz", "UTC"]);
    let mtd_usd = i(&mtd["total"]["cost_nanousd"]) as f64 / 1e9;
    assert!((tr["month_to_date_usd"].as_f64().unwrap() - mtd_usd).abs() < 0.01, "{tr}");
    let (p10, mid, p90) = (
        tr["p10_usd"].as_f64().unwrap(),
        tr["projected_month_end_usd"].as_f64().unwrap(),
        tr["p90_usd"].as_f64().unwrap(),
    );
    assert!(p10 <= mid && mid <= p90 && mid > mtd_usd, "{tr}");
    assert!((mid - 110.0).abs() / 110.0 < 0.25, "month end {mid} vs the actual $110");
    assert!(oct["trend"]["backtest"].is_null(), "no complete month before 20 October");

    // Backtest as of November: October projected at mid-month vs its actual
    // $110, checked against a least-squares line fitted here on the
    // ledger's own daily totals (a second path to the same number).
    let b = &f["trend"]["backtest"];
    assert_eq!(b["periods"][0]["period"], "2026-10");
    let all_nov = env.json(&[&["forecast", "--as-of", "2026-11-20"][..], &window].concat());
    let p = &all_nov["trend"]["backtest"]["periods"][0];
    let days = env.json(&["ledger", "--by", "day", "--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC"]);
    let ys: Vec<f64> = days["rows"].as_array().unwrap().iter().map(|r| i(&r["cost_nanousd"]) as f64 / 1e9).collect();
    assert_eq!(ys.len(), 31);
    let first: Vec<f64> = ys[..15].to_vec();
    let n = first.len() as f64;
    let (mx, my) = ((n - 1.0) / 2.0, first.iter().sum::<f64>() / n);
    let sxy: f64 = first.iter().enumerate().map(|(x, y)| (x as f64 - mx) * (y - my)).sum();
    let sxx: f64 = (0..15).map(|x| (x as f64 - mx).powi(2)).sum();
    let (a, slope) = (my - sxy / sxx * mx, sxy / sxx);
    let by_hand = first.iter().sum::<f64>() + (15..31).map(|x| (a + slope * x as f64).max(0.0)).sum::<f64>();
    let projected = p["projected_usd"].as_f64().unwrap();
    assert!((projected - by_hand).abs() < 0.01, "projected {projected} vs {by_hand} by hand");
    let actual = p["actual_usd"].as_f64().unwrap();
    assert!((actual - ys.iter().sum::<f64>()).abs() < 1e-6, "{p}");
    let err_pct = (by_hand - actual).abs() / actual * 100.0;
    assert!((p["error_pct"].as_f64().unwrap() - err_pct).abs() < 0.01, "{p}");
    assert_eq!(all_nov["trend"]["backtest"]["within_target"], err_pct <= 10.0);
}

#[test]
fn forecast_errors_name_the_flag() {
    let env = Env::sample();
    let err = env.fails(&[
        "forecast",
        "--calls",
        "10",
        "--tokens-per-call",
        "100",
        "--rate-per-1k",
        "0.01",
        "--input-reduction",
        "120",
    ]);
    assert!(err.contains("--input-reduction") && err.contains("between 0 and 100"), "{err}");
    env.ingest(&[&repo().join("sample-data")]);
    let err = env.fails(&["forecast", "--workflow", "nope", "--since", "2026-10-01", "--until", "2026-10-31"]);
    assert!(err.contains("no calls of workflow 'nope'") && err.contains("--calls"), "{err}");
}
