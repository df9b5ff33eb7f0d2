//! `aifin merge`: one machine's ledger merged into another's (default two
//! ledgers of 1 million calls each, with no call in common), then merged
//! again (every call a duplicate). Each run merges into a fresh copy of
//! the receiving ledger; the figures are the medians of 3 runs.
//!
//! ```text
//! cargo bench --bench merge
//! cargo bench --bench merge -- --rows 200000
//! ```

use std::time::Instant;

mod common;
use common::{arg, bench_dir, ledger_db_seeded, peak_rss_mib};

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let a = ledger_db_seeded(rows, 9);
    let b = ledger_db_seeded(rows, 11);
    // Cached ledgers may be of an older schema: upgraded once, here.
    drop(aifin::bench::open_rw(&a).unwrap());
    drop(aifin::bench::open_rw(&b).unwrap());
    let target = bench_dir().join("merge-target.db");
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for ext in ["db", "db-wal", "db-shm"] {
            let _ = std::fs::remove_file(target.with_extension(ext));
        }
        std::fs::copy(&b, &target).unwrap();
        let mut conn = aifin::bench::open_rw(&target).unwrap();
        let t = Instant::now();
        let r = aifin::bench::merge(&mut conn, &a).unwrap();
        first.push(t.elapsed().as_secs_f64());
        assert_eq!(r.calls.added, rows, "{r:?}");
        let t = Instant::now();
        let r = aifin::bench::merge(&mut conn, &a).unwrap();
        again.push(t.elapsed().as_secs_f64());
        assert_eq!(r.calls.duplicates, rows, "{r:?}");
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (f, g) = (median(&mut first), median(&mut again));
    println!(
        "merge {rows} calls into a ledger of {rows}: {f:.2} s ({:.0} calls/s); again (all duplicates): {g:.2} s; peak RSS {:.0} MiB",
        rows as f64 / f,
        peak_rss_mib()
    );
}
