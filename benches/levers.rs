//! The lever lab over a large ledger (default 1 million calls over 60
//! days, every call with a synthetic composition and fingerprints): the
//! calls read once (cold), then policy, compression, caching and routing
//! replayed alone and composed; then the replay again with one lever's
//! parameter changed (the calls already in memory), and with the cache's
//! TTL changed (the cache plan made again).
//!
//! ```text
//! cargo bench --bench levers
//! cargo bench --bench levers -- --rows 10000000 [--days 30] [--db LEDGER]
//! ```

use std::time::Instant;

use aifin::bench::{Cache, CallSet, Cap, Compress, LeverSet, Route, Window, replay_levers};

mod common;
use common::{arg, ledger_db, peak_rss_mib};

/// The bench ledger with a composition and fingerprints for every call
/// (built once, beside it): a system prompt of 60% of the input, history
/// 30%, the user's turn the rest; one system prompt per workflow; prompts
/// drawn from a pool of 50,000 (by dedupe key), so that some repeat.
fn fingerprinted(rows: u64) -> std::path::PathBuf {
    let db = common::bench_dir().join(format!("levers-{rows}.db"));
    if db.exists() {
        return common::upgraded(db);
    }
    let tmp = db.with_extension("building");
    std::fs::copy(ledger_db(rows), &tmp).unwrap();
    let conn = aifin::bench::open_rw(&tmp).unwrap();
    let t = Instant::now();
    conn.execute_batch(
        "BEGIN;
         INSERT OR IGNORE INTO prompt_parts (dedupe_ts, dedupe_key, system, tools, context, history, user, output, source)
           SELECT dedupe_ts, dedupe_key, i * 6 / 10, 0, 0, i * 3 / 10, i - i * 6 / 10 - i * 3 / 10, output, 0
           FROM (SELECT dedupe_ts, dedupe_key, uncached_input + cache_read + cache_write_5m + cache_write_1h AS i, output
                 FROM calls ORDER BY dedupe_ts, dedupe_key);
         INSERT OR IGNORE INTO prompt_hashes (dedupe_ts, dedupe_key, prefix, prompt)
           SELECT dedupe_ts, dedupe_key, unicode(substr(workflow, -2, 1)) * 1000 + unicode(substr(workflow, -1)),
                  abs(dedupe_key % 50000)
           FROM calls ORDER BY dedupe_ts, dedupe_key;
         COMMIT;",
    )
    .unwrap();
    drop(conn);
    std::fs::rename(&tmp, &db).unwrap();
    eprintln!("fingerprints for {rows} calls written in {:.0} s", t.elapsed().as_secs_f64());
    db
}

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let days: i64 = arg("--days").and_then(|v| v.parse().ok()).unwrap_or(60);
    let db = arg("--db").map(std::path::PathBuf::from).unwrap_or_else(|| fingerprinted(rows));
    let conn = aifin::bench::open_read(&db).unwrap();
    let at: i64 = conn.query_row("SELECT MAX(dedupe_ts) FROM calls", [], |r| r.get(0)).unwrap();
    let window = Window { since: Some(at - days * 86_400_000), until: Some(at + 1) };
    let t = Instant::now();
    let calls = CallSet::load(&conn, window, None, &|_| {}).unwrap();
    let read = t.elapsed().as_secs_f64();
    let set = |share: &str, ttl: &str| LeverSet {
        compress: Some(Compress::parse("input=30").unwrap()),
        route: Some(Route::parse(&format!("to=claude-haiku-4-5,share={share}")).unwrap()),
        cap: Some(Cap::parse("input=p95,output=2000").unwrap()),
        cache: Some(Cache::parse(&format!("prefix={ttl},response=10m")).unwrap()),
    };
    let t = Instant::now();
    let r = replay_levers(&calls, &set("30%", "5m"), common::catalog(), &|_, _| false).unwrap();
    let first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r2 = replay_levers(&calls, &set("50%", "5m"), common::catalog(), &|_, _| false).unwrap();
    let again = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let r3 = replay_levers(&calls, &set("50%", "1h"), common::catalog(), &|_, _| false).unwrap();
    let ttl = t.elapsed().as_secs_f64();
    assert_eq!(r.total.calls, r2.total.calls);
    assert_eq!(r.total.calls, r3.total.calls);
    assert!(r.cache.is_some_and(|c| c.prefix_hits > 0 && c.response_hits > 0));
    println!(
        "levers: {} calls ({days} d of {rows}): read {read:.2} s, replay of four levers alone and composed {first:.2} s \
         (cold total {:.2} s); route share changed {again:.2} s; prefix TTL changed {ttl:.2} s; peak RSS {:.0} MiB",
        calls.len(),
        read + first,
        peak_rss_mib()
    );
}
