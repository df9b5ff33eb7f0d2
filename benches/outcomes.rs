//! Outcomes over a large ledger (default 10 million calls): ingesting 1
//! million outcome events that join their calls by request id (the first
//! one adds the lookup index), then the ledger with its successes and the
//! outcomes report.
//!
//! ```text
//! cargo bench --bench outcomes                        # 10M calls, 1M outcomes
//! cargo bench --bench outcomes -- --rows 1000000 --outcomes 100000
//! ```

use std::io::Write;
use std::time::Instant;

use aifin::bench::{GroupBy, LedgerOutcomes, OutcomesReport, Window, format_utc, ledger, now_ms};
use jiff::tz::TimeZone;

mod common;
use common::{arg, bench_dir, ingest_file, ledger_db, peak_rss_mib};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let rows: u64 = arg("--rows").and_then(|v| v.parse().ok()).unwrap_or(10_000_000);
    let n: u64 = arg("--outcomes").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let base = ledger_db(rows);
    let db = bench_dir().join(format!("outcomes-{rows}.db"));
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    std::fs::copy(&base, &db).unwrap();
    // The cached ledger may be of an older schema: the copy is upgraded.
    drop(aifin::bench::open_rw(&db).unwrap());
    // Outcome events for every (rows / n)-th call, a minute after it.
    let events = bench_dir().join(format!("outcomes-{rows}-{n}.jsonl"));
    if !events.exists() {
        let conn = aifin::bench::open_read(&db).unwrap();
        let step = (rows / n).max(1);
        let mut stmt = conn
            .prepare("SELECT request_id, ts FROM calls WHERE id % ?1 = 0 AND request_id IS NOT NULL LIMIT ?2")
            .unwrap();
        let mut f = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
        let mut k = 0u64;
        let mut q = stmt.query(rusqlite::params![step as i64, n as i64]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let id: String = r.get(0).unwrap();
            let ts: i64 = r.get(1).unwrap();
            writeln!(
                f,
                r#"{{"type":"outcome","ts":"{}","request_id":"{id}","success":{}}}"#,
                format_utc(ts + 60_000),
                !k.is_multiple_of(5)
            )
            .unwrap();
            k += 1;
        }
    }
    // The one-time cost: the first outcome event of a kind indexes the
    // calls by that id (measured apart).
    let t = Instant::now();
    aifin::bench::open_rw(&db)
        .unwrap()
        .execute_batch("CREATE INDEX calls_request_id ON calls(request_id) WHERE request_id IS NOT NULL")
        .unwrap();
    println!("outcomes: indexing {rows} calls by request id (once per ledger): {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let r = ingest_file(&events, &db, false);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "outcomes: ingest of {} outcome events into a ledger of {rows} calls: {secs:.1} s = {:.0} lines/s; {} joined",
        r.lines,
        r.lines as f64 / secs,
        r.totals.outcomes.joined
    );
    let conn = aifin::bench::open_read(&db).unwrap();
    let tz = TimeZone::UTC;
    let now = now_ms();
    let w = Window { since: Some(now - 30 * 86_400_000), until: None };
    for by in [GroupBy::WORKFLOW, GroupBy::Dim(aifin::bench::Dimension::Team), GroupBy::Day] {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let l = ledger(&conn, by, w, &tz).unwrap();
            let o = LedgerOutcomes::load(&conn, &l, &tz, vec![]).unwrap();
            assert!(!o.groups.is_empty());
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("outcomes: ledger by {by} over 30 d with successes: {:.0} ms", best * 1000.0);
    }
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let rep = OutcomesReport::build(&conn, GroupBy::WORKFLOW, w, now, &tz, &[]).unwrap();
        assert!(!rep.rows.is_empty());
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "outcomes: the outcomes report (30 d, MoM and QoQ) : {:.0} ms; peak RSS {:.0} MiB",
        best * 1000.0,
        peak_rss_mib()
    );
}
