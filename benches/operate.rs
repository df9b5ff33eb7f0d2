//! Budget alerts over a large ledger (default 10 million calls over 60
//! days, 50 budgets: every workflow, team and customer of the ledger, the
//! total, and customers without calls): the evaluation each refresh of the
//! cockpit and `aifin watch` runs (every pair of every budget judged now),
//! the budgets' month to date with it, the full replay `aifin alerts`
//! prints, and the KPI board.
//!
//! ```text
//! cargo bench --bench operate                    # 10M calls
//! cargo bench --bench operate -- --rows 1000000
//! ```

use std::time::Instant;

use aifin::bench::{AlertsReport, ConfigFile, KpiReport, MinuteCache, Operate, Pricer, judge_cached, judge_now};
use jiff::tz::TimeZone;

mod common;
use common::{arg, ledger_db};

/// The median of `runs` timings of `f`, in milliseconds.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let db = ledger_db(rows);
    // The cached ledger may be of an older schema: it is upgraded.
    drop(aifin::bench::open_rw(&db).unwrap());
    let conn = aifin::bench::open_read(&db).unwrap();
    let tz = TimeZone::UTC;
    // Judge at the ledger's newest call, so the last hour is full of calls.
    let at: i64 = conn.query_row("SELECT MAX(dedupe_ts) FROM calls", [], |r| r.get(0)).unwrap();
    let mut toml = String::from("[[budget]]\nmonthly_usd = 500000\n");
    for i in 0..12 {
        toml.push_str(&format!("[[budget]]\nworkflow = \"workflow-{i:02}\"\nmonthly_usd = 40000\n"));
    }
    for i in 0..7 {
        toml.push_str(&format!("[[budget]]\nteam = \"team-{i}\"\nmonthly_usd = 70000\n"));
    }
    for i in 0..30 {
        toml.push_str(&format!("[[budget]]\ncustomer = \"customer-{i:02}\"\nmonthly_usd = 40000\n"));
    }
    let c: ConfigFile = toml::from_str(&toml).unwrap();
    let op = Operate::from_config(&c);
    assert_eq!(op.budgets.len(), 50, "{:?}", op.budget_error);
    // Warm the page cache once.
    judge_now(&conn, &op.budgets, at, &tz).unwrap();
    let ms = median_ms(11, || {
        std::hint::black_box(judge_now(&conn, &op.budgets, at, &tz).unwrap());
    });
    println!("alerts: 50 budgets judged now, the last two hours' minutes read whole: {ms:.2} ms (once a minute)");
    // A refresh: the calls stored since the last one are read (none here,
    // a few in a live ledger) and every pair of every budget judged.
    let mut cache = MinuteCache::default();
    judge_cached(&conn, &op.budgets, at, &tz, &mut cache).unwrap();
    let ms = median_ms(21, || {
        std::hint::black_box(judge_cached(&conn, &op.budgets, at, &tz, &mut cache).unwrap());
    });
    println!("alerts: every pair of 50 budgets judged on a refresh, over {rows} calls: {ms:.2} ms (median of 21)");
    let ms = median_ms(11, || {
        cache.refresh(&conn, at).unwrap();
        std::hint::black_box(AlertsReport::now(&conn, &op, at, &tz, None, &cache, &Default::default()).unwrap());
    });
    println!("alerts: the cockpit's budgets on a refresh (with month to date and people): {ms:.2} ms (median of 11)");
    let ms = median_ms(3, || {
        std::hint::black_box(AlertsReport::build(&conn, &op, at, &tz).unwrap());
    });
    println!("alerts: aifin alerts (8 days replayed minute by minute, projections): {ms:.0} ms (median of 3)");
    let full = AlertsReport::build(&conn, &op, at, &tz).unwrap();
    let mut pricer = Pricer::new(common::catalog());
    let ms = median_ms(3, || {
        std::hint::black_box(KpiReport::build(&conn, &op, &full, &mut pricer, at, &tz).unwrap());
    });
    println!("kpis: the KPI board and the rollout: {ms:.0} ms (median of 3)");
}
