//! The lever lab over a large ledger (default 1 million calls over 60
//! days): the calls of the last 30 days read once, then policy,
//! compression and routing replayed alone and composed; then the replay
//! again with one lever's parameter changed (the calls already in memory).
//!
//! ```text
//! cargo bench --bench levers
//! cargo bench --bench levers -- --rows 10000000
//! ```

use std::time::Instant;

use aifin::bench::{Cache, Cap, Compress, LeverSet, Route, Window, load_lever_calls, replay_levers};

mod common;
use common::{arg, ledger_db, peak_rss_mib};

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let db = ledger_db(rows);
    drop(aifin::bench::open_rw(&db).unwrap());
    let conn = aifin::bench::open_read(&db).unwrap();
    let at: i64 = conn.query_row("SELECT MAX(dedupe_ts) FROM calls", [], |r| r.get(0)).unwrap();
    let window = Window { since: Some(at - 30 * 86_400_000), until: Some(at + 1) };
    let t = Instant::now();
    let mut calls = load_lever_calls(&conn, window, None).unwrap();
    let read = t.elapsed().as_secs_f64();
    // Synthetic fingerprints and compositions (the bench ledger has no
    // prompt text): one system prompt per workflow, prompts drawn from a
    // pool of 50,000 so that some repeat.
    let mut rng = aifin::bench::Rng::new(5);
    for c in &mut calls {
        let input = c.tokens.input_total();
        c.parts = Some([input * 6 / 10, 0, 0, input * 3 / 10, input - input * 9 / 10]);
        c.prefix = Some(c.workflow.len() as i64 * 31 + c.workflow.bytes().map(i64::from).sum::<i64>());
        c.prompt = Some(rng.below(50_000) as i64);
    }
    let set = |share: &str| LeverSet {
        compress: Some(Compress::parse("input=30").unwrap()),
        route: Some(Route::parse(&format!("to=claude-haiku-4-5,share={share}")).unwrap()),
        cap: Some(Cap::parse("input=p95,output=2000").unwrap()),
        cache: Some(Cache::parse("prefix=5m,response=10m").unwrap()),
    };
    let t = Instant::now();
    let r = replay_levers(&calls, &set("30%"), common::catalog(), &|_, _| false).unwrap();
    let first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r2 = replay_levers(&calls, &set("50%"), common::catalog(), &|_, _| false).unwrap();
    let again = t.elapsed().as_secs_f64();
    assert_eq!(r.total.calls, r2.total.calls);
    println!(
        "levers: {} calls (30 d of {rows}): read {read:.2} s, replay of four levers alone and composed {first:.2} s \
         (cold total {:.2} s); one parameter changed {again:.2} s; peak RSS {:.0} MiB",
        calls.len(),
        read + first,
        peak_rss_mib()
    );
}
